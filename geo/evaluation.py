"""亩均 evaluation (亩均论英雄) of enterprises by a published scheme, read from a file.

A scheme (``data/standards/mu_schemes/*.toml``, see ``docs/evaluation.md``) names the
indicators, their weights and scoring, who is graded (规上 on all indicators, 规下 on its
``below_scale_indicators`` only, each in its own pool; start-ups and public utilities
excluded as classes of their own), the jurisdiction the enterprises are compared within
(``county``: the district of the enterprise's park; ``city``: the whole store) and the grade
rule (shares per grade, or minimum scores).

Scoring, per indicator ``i`` of an enterprise in pool ``p``:

- ``relative_to_mean``: ``score = min(value / average_p, cap) × 100`` where ``average_p`` is
  the pool's aggregate ratio (sum of numerators ÷ sum of denominators, as 亩均 averages are
  published);
- ``percentile``: ``score = 100 × (share of the pool ranked below)``.

An indicator without a value for an enterprise (e.g. emissions not reported) is left out for
that enterprise and its weight spread over the others: ``total = Σ score·w / Σ w`` over the
indicators it has, and ``contribution = score·w / Σ w``. Grades follow from the totals within
each pool. The result is the same whichever parcels or park a view shows: it depends only on
the store's enterprises, figures and parcels and on the scheme.

Everything is vectorised over enterprises (numpy arrays of enterprise × indicator); reasons
are written only when results are shown or stored (:meth:`Evaluation.results`).
"""
from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from geo.auth import User
from geo.city import division_kind
from geo.enterprise import enterprise_land, latest_year, production_years, read_enterprises, read_figures
from geo.errors import NotFoundError, ParkAtlasError, unknown_park
from geo.schema import GRADE_COLUMNS
from geo.standards import DEFAULT_STANDARDS_DIR
from geo.textids import first_occurrences, positions_in
from geo.store.base import now_iso
from geo.store.tables import ENTERPRISE_GRADES, Change, apply_changes, read_table

SCHEMES_DIR = DEFAULT_STANDARDS_DIR / "mu_schemes"
DEFAULT_SCHEME = "zhejiang_style"
GRADES = ("A", "B", "C", "D")
#: Indicator key → (numerator figure, denominator, Chinese name, English name, unit zh, unit en).
#: Denominator ``land`` is the enterprise's land in 亩 (:func:`geo.enterprise.enterprise_land`).
INDICATORS: dict[str, tuple[str, str, str, str, str, str]] = {
    "tax_per_mu": ("tax_wan", "land", "亩均税收", "tax per mu", "万元/亩", "10k yuan/mu"),
    "value_added_per_mu": ("value_added_wan", "land", "亩均增加值", "value added per mu", "万元/亩", "10k yuan/mu"),
    "sales_per_mu": ("sales_wan", "land", "亩均销售收入", "sales per mu", "万元/亩", "10k yuan/mu"),
    "labour_productivity": ("value_added_wan", "employees", "全员劳动生产率", "labour productivity",
                            "万元/人", "10k yuan/person"),
    "value_added_per_energy": ("value_added_wan", "energy_tce", "单位能耗增加值", "value added per unit of energy",
                               "万元/吨标准煤", "10k yuan/tce"),
    "value_added_per_emissions": ("value_added_wan", "emissions_t", "单位排放增加值",
                                  "value added per unit of emissions", "万元/吨", "10k yuan/t"),
    "rd_intensity": ("rd_wan", "sales_wan", "研发经费投入强度", "R&D intensity", "%", "%"),
}
SCORINGS = ("relative_to_mean", "percentile")
#: Classes of an evaluation: the two graded pools, then those not graded.
CLASSES = ("above", "below", "startup", "utility", "no_figures", "no_land")


# ------------------------------------------------------------------------------ schemes
@dataclass(frozen=True)
class Indicator:
    key: str
    weight: float
    scoring: str = "relative_to_mean"
    cap: float | None = None


@dataclass(frozen=True)
class Scheme:
    """An evaluation scheme as read from its file (see the module docstring)."""

    name: str
    label_zh: str
    label_en: str
    kind: str
    source: str
    jurisdiction: str
    startup_years: float
    excluded_industries: tuple[str, ...]
    leased_plot_ratio: float
    below_scale_indicators: tuple[str, ...]
    below_scale_pool: str
    grade_rule: str
    grade_values: dict[str, float]
    indicators: tuple[Indicator, ...]
    path: str = ""

    @property
    def keys(self) -> list[str]:
        return [i.key for i in self.indicators]

    @property
    def weights(self) -> np.ndarray:
        return np.array([i.weight for i in self.indicators], dtype=float)

    def label(self, lang: str = "zh") -> str:
        return self.label_zh if lang == "zh" else self.label_en


def _fail(path, message: str):
    raise ParkAtlasError(f"evaluation scheme {Path(path).name}: {message}")


def scheme_path(name_or_path: str | os.PathLike | None = None) -> Path:
    """The file of a scheme given by name (``data/standards/mu_schemes/NAME.toml``) or path."""
    text = str(name_or_path or DEFAULT_SCHEME)
    path = Path(text)
    if path.suffix.lower() != ".toml":
        path = SCHEMES_DIR / f"{text}.toml"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in SCHEMES_DIR.glob("*.toml")))
        raise NotFoundError(f"no evaluation scheme {text!r}; give a .toml file or one of {names}")
    return path


@lru_cache(maxsize=16)
def _load(path: str, mtime: float) -> Scheme:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        _fail(path, f"not valid TOML ({exc})")
    for key in ("name", "label_zh", "label_en", "source", "jurisdiction", "grades", "indicators"):
        if key not in raw:
            _fail(path, f"lacks {key!r}")
    if raw["jurisdiction"] not in ("county", "city"):
        _fail(path, "jurisdiction must be county or city")
    indicators = []
    for item in raw["indicators"]:
        key, scoring = item.get("key"), item.get("scoring", "relative_to_mean")
        if key not in INDICATORS:
            _fail(path, f"unknown indicator {key!r}; one of {', '.join(INDICATORS)}")
        if scoring not in SCORINGS:
            _fail(path, f"unknown scoring {scoring!r} of {key}; one of {', '.join(SCORINGS)}")
        weight = item.get("weight")
        if not isinstance(weight, (int, float)) or weight < 0:
            _fail(path, f"weight of {key} must be a number ≥ 0")
        indicators.append(Indicator(key, float(weight), scoring, item.get("cap")))
    if not indicators or sum(i.weight for i in indicators) <= 0:
        _fail(path, "needs at least one indicator with a positive weight")
    grades = dict(raw["grades"])
    rule = grades.pop("rule", "shares")
    if rule not in ("shares", "cutoffs") or set(grades) != set(GRADES):
        _fail(path, "[grades] needs rule = shares|cutoffs and a value for each of A, B, C, D")
    if rule == "shares" and abs(sum(grades.values()) - 1.0) > 1e-6:
        _fail(path, f"grade shares add up to {sum(grades.values()):g}, not 1")
    below = tuple(raw.get("below_scale_indicators", []))
    if not set(below) <= {i.key for i in indicators}:
        _fail(path, "below_scale_indicators must be indicators of the scheme")
    return Scheme(name=raw["name"], label_zh=raw["label_zh"], label_en=raw["label_en"],
                  kind=raw.get("kind", "preset"), source=raw["source"], jurisdiction=raw["jurisdiction"],
                  startup_years=float(raw.get("startup_years", 0)),
                  excluded_industries=tuple(str(c) for c in raw.get("excluded_industries", [])),
                  leased_plot_ratio=float(raw.get("leased_plot_ratio", 1.0)), below_scale_indicators=below,
                  below_scale_pool=raw.get("below_scale_pool", "separate"), grade_rule=rule,
                  grade_values={g: float(grades[g]) for g in GRADES}, indicators=tuple(indicators), path=path)


def load_scheme(name_or_path: str | os.PathLike | None = None) -> Scheme:
    """Read a scheme by name or path (default :data:`DEFAULT_SCHEME`); one-line errors for bad files."""
    path = scheme_path(name_or_path)
    return _load(str(path), path.stat().st_mtime)


def list_schemes() -> list[Scheme]:
    """The shipped schemes, the default first."""
    return sorted((load_scheme(p) for p in SCHEMES_DIR.glob("*.toml")), key=lambda s: (s.name != DEFAULT_SCHEME, s.name))


# ------------------------------------------------------------------------------ evaluating
def grade_positions(scores: np.ndarray, pools: np.ndarray) -> np.ndarray:
    """Each enterprise's 0-based rank within its pool (integer codes), best (highest score) first;
    ties keep the enterprises' order (the store reads them by USCC)."""
    order = np.lexsort((np.arange(len(scores)), -scores, pools))
    ranks = np.empty(len(scores), dtype=np.int64)
    sorted_pools = pools[order]
    starts = np.r_[0, np.flatnonzero(sorted_pools[1:] != sorted_pools[:-1]) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    ranks[order] = np.arange(len(order)) - first
    return ranks


def assign_grades(scores: np.ndarray, pools: np.ndarray, scheme: Scheme) -> tuple[np.ndarray, np.ndarray]:
    """Grades and 1-based ranks of enterprises within their pools (integer codes), by the scheme's rule."""
    ranks = grade_positions(scores, pools)
    if scheme.grade_rule == "cutoffs":
        cut = np.array([scheme.grade_values[g] for g in GRADES[:-1]])
        idx = (scores[:, None] < cut[None, :]).sum(axis=1)
    else:
        counts = np.bincount(pools)
        position = ranks / counts[pools]
        bounds = np.cumsum([scheme.grade_values[g] for g in GRADES])
        idx = np.minimum(np.searchsorted(bounds, position + 1e-12, side="right"), len(GRADES) - 1)
    return np.array(GRADES)[idx], ranks + 1


@dataclass
class Evaluation:
    """One year's evaluation of every enterprise by one scheme.

    Attributes
    ----------
    table : DataFrame
        One row per enterprise: ``uscc``, ``name``, ``park_id``, ``jurisdiction``,
        ``evaluated_class`` (:data:`CLASSES`), ``score``, ``grade`` and ``rank`` (within its
        jurisdiction and class; ``<NA>`` when not graded).
    values, scores, weights : ndarray
        Enterprise × indicator: the indicator values, the scores (0 where not used) and the
        effective weights in % (0 where the indicator is not used for the enterprise).
    averages : ndarray
        Enterprise × indicator: the average of the enterprise's pool the score compares with.
    area_kind : str
        What the store's whole area is (:attr:`geo.city.City.kind`): a city-wide jurisdiction's
        reasons compare with 全市 / 全区 / 全县 averages accordingly.
    county_kinds : dict
        District code → what that county-level division is (:func:`geo.city.division_kind`): a
        county jurisdiction's reasons compare with its 全区 / 全县 / 全市 average (全县 when unknown).
    """

    year: int
    scheme: Scheme
    table: pd.DataFrame
    values: np.ndarray
    scores: np.ndarray
    weights: np.ndarray
    averages: np.ndarray
    pools: np.ndarray = field(repr=False, default=None)
    usable: np.ndarray = field(repr=False, default=None)
    land: np.ndarray = field(repr=False, default=None)
    area_kind: str = "city"
    county_kinds: dict[str, str] = field(default_factory=dict)

    def regrade(self, base_weights: np.ndarray) -> np.ndarray:
        """Grades under other scheme weights (same scores): for the sensitivity table."""
        w = self.usable * base_weights[None, :]
        total = np.round(np.divide((self.scores * w).sum(axis=1), w.sum(axis=1), out=np.zeros(len(w)),
                                   where=w.sum(axis=1) > 0), 4)
        graded = self.table.grade.notna().to_numpy()
        grades = np.full(len(total), None, dtype=object)
        grades[graded], _ = assign_grades(total[graded], self.pools[graded], self.scheme)
        return grades

    def indicator_rows(self, i: int, lang: str = "zh") -> list[dict]:
        """Enterprise ``i``'s indicators: name, value, score, weight, contribution, reason."""
        if self.scheme.jurisdiction == "city":
            pool_kind = self.area_kind
        else:
            pool_kind = self.county_kinds.get(self.table.jurisdiction.iat[i], "county")
        rows = []
        for k, indicator in enumerate(self.scheme.indicators):
            value, score, weight = self.values[i, k], self.scores[i, k], self.weights[i, k]
            rows.append({"name": indicator.key, "value": _num(value), "score": round(float(score), 2),
                         "weight": round(float(weight), 2), "contribution": round(float(score * weight / 100), 2),
                         "reason": reason(indicator, value, score, weight, self.averages[i, k], pool_kind,
                                          lang)})
        return rows

    def results(self, lang: str = "zh") -> pd.DataFrame:
        """The CLI's rows: ``uscc``, ``name``, ``jurisdiction``, ``evaluated_class``, ``score``,
        ``grade``, ``rank``, ``indicators`` (list of dicts; empty for enterprises not graded)."""
        out = self.table[["uscc", "name", "park_id", "jurisdiction", "evaluated_class", "score", "grade", "rank"]].copy()
        graded = out.grade.notna().to_numpy()
        out["indicators"] = [self.indicator_rows(i, lang) if graded[i] else [] for i in range(len(out))]
        return out

    def stored_rows(self) -> pd.DataFrame:
        """The rows for the ``enterprise_grades`` table (reasons in both languages)."""
        out = self.table.assign(year=self.year, scheme=self.scheme.name, evaluated_at=now_iso())
        graded = out.grade.notna().to_numpy()
        out["indicators"] = [json.dumps(_both_languages(self, i), ensure_ascii=False) if graded[i] else "[]"
                             for i in range(len(out))]
        return out[list(GRADE_COLUMNS)].astype(GRADE_COLUMNS)


def _both_languages(evaluation: Evaluation, i: int) -> list[dict]:
    rows = evaluation.indicator_rows(i, "zh")
    for row, en in zip(rows, evaluation.indicator_rows(i, "en")):
        row["reason_zh"] = row.pop("reason")
        row["reason_en"] = en["reason"]
    return rows


def _num(value) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 4)


def _fmt(value: float) -> str:
    return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"


#: How a reason names the division an enterprise is compared within, by its kind (:func:`geo.city.division_kind`):
#: its county-level division, or the store's whole area.
WHOLE_AREA = {"county": ("全县", "the county"), "district": ("全区", "the district"), "city": ("全市", "the city")}


def grading_area_key(scheme: Scheme, area_kind: str) -> str:
    """The catalogue key saying where ``scheme`` grades, for a store whose area is of ``area_kind``
    (:attr:`geo.city.City.kind`): each county-level division's own pool (``county`` jurisdiction in a
    city's store), else the store's whole area — a ``city`` jurisdiction, or a district's or county's
    store, whose county pool is the store itself."""
    if scheme.jurisdiction == "county" and area_kind == "city":
        return "enterprises.pool.counties"
    return f"enterprises.pool.whole.{area_kind if area_kind in WHOLE_AREA else 'city'}"


def reason(indicator: Indicator, value: float, score: float, weight: float, average: float, jurisdiction: str,
           lang: str) -> str:
    """One line: the value, what it is compared with, the score and what it adds. ``jurisdiction``
    is the kind of the division the enterprise is compared within (:data:`WHOLE_AREA`)."""
    _, _, zh, en, unit_zh, unit_en = INDICATORS[indicator.key]
    scale = 100.0 if indicator.key == "rd_intensity" else 1.0
    where_zh, where_en = WHOLE_AREA.get(jurisdiction, WHOLE_AREA["city"])
    if weight == 0 or not np.isfinite(value):
        return f"{zh}：未填报，不计分，权重分给其他指标" if lang == "zh" else \
            f"{en}: not reported, not scored; its weight goes to the other indicators"
    contribution = score * weight / 100
    if indicator.scoring == "percentile":
        if lang == "zh":
            return f"{zh} {_fmt(value * scale)} {unit_zh}，排名超过同类 {score:.1f}% 的企业，得 {score:.1f} 分 × 权重 {weight:.0f}% = {contribution:.1f}"
        return (f"{en} {_fmt(value * scale)} {unit_en}, ahead of {score:.1f}% of its pool: {score:.1f} points × "
                f"weight {weight:.0f}% = {contribution:.1f}")
    share = value / average * 100 if average > 0 else 0.0
    capped = indicator.cap is not None and share > indicator.cap * 100
    if lang == "zh":
        cap = f"（封顶 {indicator.cap * 100:.0f}%）" if capped else ""
        return (f"{zh} {_fmt(value * scale)} {unit_zh}，为{where_zh}同类平均 {_fmt(average * scale)} 的 {share:.0f}%{cap}，"
                f"得 {score:.1f} 分 × 权重 {weight:.0f}% = {contribution:.1f}")
    cap = f" (capped at {indicator.cap * 100:.0f}%)" if capped else ""
    return (f"{en} {_fmt(value * scale)} {unit_en}, {share:.0f}% of {where_en}'s average {_fmt(average * scale)}{cap}: "
            f"{score:.1f} points × weight {weight:.0f}% = {contribution:.1f}")


def evaluate_frames(enterprises: pd.DataFrame, figures: pd.DataFrame, parcels: pd.DataFrame | None,
                    parks: pd.DataFrame, year: int, scheme: Scheme, *, pairs: pd.DataFrame | None = None,
                    links=None) -> Evaluation:
    """Evaluate ``enterprises`` on their ``figures`` of ``year`` (see the module docstring).

    Parameters
    ----------
    enterprises, figures : DataFrame
        As :func:`geo.enterprise.read_enterprises` and :func:`geo.enterprise.read_figures` give them.
    parcels : DataFrame
        All parcels (``parcel_id``, ``park_id`` and geometry or ``area_mu``).
    parks : DataFrame
        Parks with ``park_id`` and ``district_code`` (the county of a county jurisdiction).
    pairs : DataFrame, optional
        :func:`geo.enterprise.enterprise_parcels` of ``enterprises``, when the caller has them.
    links : geo.enterprise.ParcelLinks, optional
        The enterprises' parcels already found among all parcels (``parcels`` is then not read, and
        ``enterprises`` need not hold ``parcel_ids``).
    """
    n = len(enterprises)
    # Text columns as plain objects once: every step below would otherwise convert Arrow strings again.
    enterprises = enterprises.astype({c: object for c in ("uscc", "name", "scale", "industry_code", "parcel_ids",
                                                          "production_start") if c in enterprises.columns})
    figures = figures.astype({"uscc": object})
    land = enterprise_land(enterprises, parcels, scheme.leased_plot_ratio, pairs=pairs, links=links)
    of_year = figures[figures.year == year].drop_duplicates("uscc")
    rows = positions_in(enterprises.uscc, of_year.uscc)
    park_id = land.park_id.to_numpy()
    if scheme.jurisdiction == "county":
        jurisdiction = pd.Series(park_id, dtype=object).map(parks.set_index("park_id").district_code)
    elif "city" in parks.columns:  # parks of several cities (geo.province): each city is its own jurisdiction
        jurisdiction = pd.Series(park_id, dtype=object).map(parks.set_index("park_id").city)
    else:
        jurisdiction = pd.Series(np.where(pd.isna(park_id), None, "city"), dtype=object)
    jurisdiction = jurisdiction.to_numpy(dtype=object)
    columns = {"land": land.land_mu.to_numpy(dtype=float, na_value=np.nan)}
    for col in ("tax_wan", "value_added_wan", "sales_wan", "employees", "energy_tce", "emissions_t", "rd_wan"):
        values = of_year[col].to_numpy(dtype=float, na_value=np.nan)
        columns[col] = np.where(rows >= 0, values[rows] if len(values) else np.nan, np.nan)

    # Classes, in order of precedence.
    years_producing = production_years(enterprises, date(year, 12, 31)).to_numpy()
    klass = np.where(enterprises.scale.to_numpy(dtype=object) == "below", "below", "above").astype(object)
    klass[~(columns["land"] > 0) | pd.isna(jurisdiction)] = "no_land"
    klass[np.isnan(columns["tax_wan"]) & np.isnan(columns["sales_wan"])] = "no_figures"
    klass[~(years_producing >= scheme.startup_years) | np.isnan(years_producing)] = "startup"
    klass[enterprises.industry_code.fillna("").str[:2].isin(scheme.excluded_industries).to_numpy()] = "utility"
    graded = np.isin(klass, ("above", "below"))
    pool_class = klass if scheme.below_scale_pool == "separate" else np.where(graded, "all", klass)
    # Pools as integer codes: (jurisdiction, class) pairs.
    jurisdiction_code = pd.factorize(pd.Series(jurisdiction, dtype=object).fillna(""))[0]
    pools = pd.factorize(jurisdiction_code * len(CLASSES) + pd.Index(CLASSES + ("all",)).get_indexer(pool_class))[0]

    keys = scheme.keys
    m = len(keys)
    numer = np.column_stack([columns[INDICATORS[k][0]] for k in keys]) if m else np.empty((n, 0))
    denom = np.column_stack([columns[INDICATORS[k][1]] for k in keys]) if m else np.empty((n, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(denom > 0, numer / denom, np.nan)
    usable = np.isfinite(values) & graded[:, None]
    below_only = np.isin(keys, scheme.below_scale_indicators)
    usable[klass == "below"] &= below_only[None, :]

    # Pool averages (aggregate ratios) and scores, per indicator, vectorised over pools.
    pool_index, n_pools = pools, int(pools.max()) + 1 if n else 0
    scores = np.zeros((n, m))
    averages = np.full((n, m), np.nan)
    for k, indicator in enumerate(scheme.indicators):  # a handful of indicators; each step is vectorised
        use = usable[:, k]
        if indicator.scoring == "relative_to_mean":
            top = np.bincount(pool_index[use], numer[use, k], minlength=n_pools)
            bottom = np.bincount(pool_index[use], denom[use, k], minlength=n_pools)
            with np.errstate(divide="ignore", invalid="ignore"):
                average = np.where(bottom > 0, top / bottom, np.nan)[pool_index]
                ratio = values[:, k] / average
            cap = indicator.cap if indicator.cap is not None else np.inf
            scores[:, k] = np.where(use, np.minimum(np.nan_to_num(ratio, nan=0.0), cap) * 100, 0.0)
            averages[:, k] = average
        else:
            sizes = np.bincount(pool_index[use], minlength=n_pools)
            candidates = np.where(use, values[:, k], -np.inf)
            rank = grade_positions(candidates, pool_index)
            below = sizes[pool_index] - 1 - rank
            with np.errstate(divide="ignore", invalid="ignore"):
                scores[:, k] = np.where(use, np.where(sizes[pool_index] > 1, below / (sizes[pool_index] - 1), 1.0) * 100, 0.0)
    weights = usable * scheme.weights[None, :]
    total_w = weights.sum(axis=1)
    weights = np.divide(weights * 100, total_w[:, None], out=np.zeros_like(weights), where=total_w[:, None] > 0)
    # Rounded before ranking, so that equal scores tie (then USCC order) instead of float noise deciding.
    score = np.round((scores * weights).sum(axis=1) / 100, 4)
    graded &= total_w > 0
    grade = np.full(n, None, dtype=object)
    rank = np.full(n, -1, dtype=np.int64)
    grade[graded], rank[graded] = assign_grades(score[graded], pools[graded], scheme)
    table = pd.DataFrame({
        "uscc": enterprises.uscc.to_numpy(), "name": enterprises.name.to_numpy(), "park_id": park_id,
        "jurisdiction": jurisdiction, "evaluated_class": klass, "score": np.where(graded, score, np.nan),
        "grade": pd.array(grade, dtype="string"), "rank": pd.array(np.where(graded, rank, None), dtype="Int64"),
    })
    return Evaluation(year, scheme, table, values, scores, weights, averages, pools, usable, columns["land"])


# ------------------------------------------------------------------------------ with a store
def evaluation_year(store, year: int | None = None) -> int:
    """``year`` or the latest year with figures; one-line error without figures."""
    if year is not None:
        return int(year)
    found = latest_year(read_figures(store))
    if found is None:
        raise NotFoundError("no enterprise figures in the store; import them first (`enterprises import`)")
    return found


def evaluate(store, year: int | None = None, scheme: str | os.PathLike | Scheme | None = None) -> Evaluation:
    """Evaluate every enterprise of ``store`` for ``year`` (default: latest) by ``scheme`` (default preset)."""
    scheme = scheme if isinstance(scheme, Scheme) else load_scheme(scheme)
    year = evaluation_year(store, year)
    evaluation = evaluate_frames(read_enterprises(store), read_figures(store), store.read_parcels(),
                                 store.read_parks(), year, scheme)
    evaluation.area_kind = store.read_city().kind
    districts = store.read_districts()
    evaluation.county_kinds = dict(zip(districts.district_code, map(division_kind, districts.district_code,
                                                                     districts.name_zh)))
    return evaluation


def save_evaluation(store, evaluation: Evaluation, *, user: User) -> dict:
    """Store the evaluation's grades for its year and scheme, replacing earlier ones (planner, audited)."""
    rows = evaluation.stored_rows()
    return apply_changes(store, [Change(ENTERPRISE_GRADES, upserts=rows,
                                        delete_where={"year": evaluation.year, "scheme": evaluation.scheme.name})],
                         user=user, role="planner", action="evaluate")


def read_grades(store, year: int | None = None, scheme: str | None = None) -> pd.DataFrame:
    """Stored grades (:data:`~geo.schema.GRADE_COLUMNS`), filtered by year and scheme name."""
    where = {k: v for k, v in (("year", year), ("scheme", scheme)) if v is not None}
    return read_table(store, ENTERPRISE_GRADES, where or None)


def current_grades(store, year: int | None = None, scheme: str | None = None) -> pd.DataFrame:
    """Each enterprise's grade for the year by the scheme: stored if the evaluation was stored, else computed.

    Both come from the whole store (the jurisdiction), so every view shows the same grade.
    Returns ``uscc``, ``jurisdiction``, ``evaluated_class``, ``score``, ``grade``, ``rank``
    (empty without figures).
    """
    columns = ["uscc", "jurisdiction", "evaluated_class", "score", "grade", "rank"]
    scheme_obj = load_scheme(scheme)
    try:
        year = evaluation_year(store, year)
    except NotFoundError:
        return pd.DataFrame({c: pd.Series(dtype=GRADE_COLUMNS[c]) for c in columns})
    stored = read_grades(store, year, scheme_obj.name)
    if len(stored):
        return stored[columns]
    return evaluate(store, year, scheme_obj).table[columns]


def grades_by_parcel(grades: pd.DataFrame, enterprises: pd.DataFrame, *, pairs: pd.DataFrame | None = None,
                     links=None) -> pd.Series:
    """Parcel id → grade of the enterprise using the parcel (tenants excluded), from a results
    table with ``uscc`` and ``grade``; ``pairs``: as for :func:`geo.enterprise.enterprise_land`.
    Given ``links`` (:func:`geo.enterprise.link_parcels`): parcel key → grade, for the parcels found."""
    from geo.enterprise import listed_parcels

    # By position (a map, dropna and drop_duplicates on the ids' text cost seconds per million pairs).
    row, keys, leased = listed_parcels(enterprises, grades.uscc, pairs=pairs, links=links)
    graded = np.append(grades.grade.notna().to_numpy(), False)  # row -1: not in the results
    use = ~leased & graded[row]
    use[use] = first_occurrences(keys[use])  # the first enterprise's grade
    kept = np.flatnonzero(use)
    if links is None:
        index = pd.Index(keys.iloc[kept], name="parcel_id")
    else:
        kept = kept[keys[kept] >= 0]
        index = pd.Index(keys[kept], name="parcel_key")
    return pd.Series(grades.grade.to_numpy(dtype=object)[row[kept]], name="grade", dtype="string", index=index)


def current_results(store, year: int | None = None, scheme: str | None = None, lang: str = "zh") -> pd.DataFrame:
    """Like :meth:`Evaluation.results`, from the stored results of the year and scheme when stored
    (the ``indicators`` with the reason in ``lang``), else computed."""
    scheme_obj = load_scheme(scheme)
    year = evaluation_year(store, year)
    stored = read_grades(store, year, scheme_obj.name)
    if not len(stored):
        return evaluate(store, year, scheme_obj).results(lang)
    out = stored[["uscc", "jurisdiction", "evaluated_class", "score", "grade", "rank"]].copy()
    names = read_enterprises(store).set_index("uscc").name
    out.insert(1, "name", out.uscc.map(names))
    out["indicators"] = [[{**{k: v for k, v in row.items() if not k.startswith("reason")},
                           "reason": row.get(f"reason_{lang}")} for row in json.loads(text or "[]")]
                         for text in stored.indicators]
    return out.reset_index(drop=True)


def enterprise_table(store, park_id: str | None = None, year: int | None = None,
                     scheme: str | None = None) -> pd.DataFrame:
    """Enterprises with the park of their largest parcel, its county (``district_code``), their land
    in 亩 and their current grade (:func:`current_grades`: over the jurisdiction, so the same with or
    without ``park_id``, which only filters the rows)."""
    from geo.enterprise import enterprise_land

    enterprises = read_enterprises(store)
    parks = store.read_parks()
    land = enterprise_land(enterprises, store.read_parcels())
    grades = current_grades(store, year, scheme).set_index("uscc")
    table = enterprises.join(land, on="uscc").join(grades, on="uscc")
    table["district_code"] = table.park_id.map(parks.set_index("park_id").district_code)
    if park_id is not None:
        table = table[table.park_id == park_id]
    return table.reset_index(drop=True)


def indicator_label(key: str, lang: str = "zh") -> str:
    """The indicator's name in the language (亩均税收 / tax per mu)."""
    return INDICATORS[key][2] if lang == "zh" else INDICATORS[key][3]


def parcel_grades(store, year: int | None = None, scheme: str | None = None) -> pd.Series:
    """The grade of each parcel of ``store``: its enterprise's current grade (:func:`current_grades`)."""
    return grades_by_parcel(current_grades(store, year, scheme), read_enterprises(store))


def _grades_from_frames(enterprises: pd.DataFrame, figures: pd.DataFrame, stored: pd.DataFrame, parcels: pd.DataFrame,
                        parks: pd.DataFrame, year: int | None, scheme: Scheme) -> pd.DataFrame:
    """:func:`current_grades` from the store's tables as frames (``stored``: its stored grades)."""
    columns = ["uscc", "jurisdiction", "evaluated_class", "score", "grade", "rank"]
    year = latest_year(figures) if year is None else int(year)
    if year is None:
        return pd.DataFrame({c: pd.Series(dtype=GRADE_COLUMNS[c]) for c in columns})
    stored = stored[(stored.year == year) & (stored.scheme == scheme.name)]
    if len(stored):
        return stored[columns]
    return evaluate_frames(enterprises, figures, parcels, parks, year, scheme).table[columns]


def metrics_from_frames(parcels: pd.DataFrame, enterprises: pd.DataFrame, figures: pd.DataFrame,
                        grades: pd.DataFrame, parks: pd.DataFrame, year: int | None = None,
                        scheme: str | Scheme | None = None, area_m2: np.ndarray | None = None) -> pd.DataFrame:
    """``parcels`` with metrics, their enterprise's figures of ``year`` and their enterprise's
    grade, from a store's tables as frames (what :func:`parcels_with_metrics` reads).

    Parameters
    ----------
    parcels : DataFrame
        Every parcel of the store (the grades depend on all of them), with geometry or ``area_m2``.
    enterprises, figures, grades : DataFrame
        The store's enterprises, figures and stored grades (:data:`~geo.schema.GRADE_COLUMNS`).
    parks : DataFrame
        Parks with ``park_id`` and ``district_code``.
    year, scheme
        The figures' year (default: the latest) and the evaluation scheme (default preset).
    area_m2 : array, optional
        The parcels' planar areas when known (otherwise computed from the geometries).
    """
    from geo.crs import projected_area_m2
    from geo.enterprise import apply_enterprise_figures
    from geo.metrics import with_metrics
    from geo.units import m2_to_mu

    area_m2 = projected_area_m2(parcels.geometry) if area_m2 is None else np.asarray(area_m2, dtype=float)
    if enterprises.empty:
        return with_metrics(parcels, area_m2=area_m2)
    scheme = scheme if isinstance(scheme, Scheme) else load_scheme(scheme)
    area_mu = m2_to_mu(area_m2)
    land = pd.DataFrame({"parcel_id": parcels.parcel_id.to_numpy(), "park_id": parcels.park_id.to_numpy(),
                         "area_mu": area_mu})
    table = _grades_from_frames(enterprises, figures, grades, land, parks, year, scheme)
    applied = apply_enterprise_figures(parcels, enterprises, figures, year, area_mu=area_mu)
    return with_metrics(applied, grades=grades_by_parcel(table, enterprises), area_m2=area_m2)


def parcels_with_metrics(store, park_id: str | None = None, year: int | None = None,
                         scheme: str | None = None) -> pd.DataFrame:
    """The store's parcels (all or one park's) with metrics, their enterprise's figures of the year
    (:func:`geo.enterprise.apply_enterprise_figures`) and their enterprise's grade from the evaluation
    over the jurisdiction — the same in the app, the CLI and the exports, with or without a park.

    For the latest year and the default scheme they are the metrics stored with the parcels
    (:mod:`geo.store.metrics`, maintained by every write); other years and schemes are computed.
    """
    if year is None and (scheme is None or load_scheme(scheme).name == DEFAULT_SCHEME):
        from geo.store.metrics import read_parcels_with_metrics

        stored = read_parcels_with_metrics(store, park_id)
        if stored is not None:
            return stored
    out = metrics_from_frames(store.read_parcels(), read_enterprises(store), read_figures(store), read_grades(store),
                              store.read_parks(), year, scheme)
    if park_id is None:
        return out
    if park_id not in set(store.read_parks().park_id):
        raise unknown_park(park_id)
    return out[out.park_id == park_id].reset_index(drop=True)


# ------------------------------------------------------------------------------ views of results
def sensitivity(evaluation: Evaluation, step: float = 5.0) -> pd.DataFrame:
    """How many graded enterprises change grade when one weight moves by ±``step`` points.

    The other weights keep their values (totals are divided by the sum of weights, so they
    keep their proportions). Returns ``indicator``, ``weight``, ``new_weight``, ``changed``,
    ``up``, ``down`` and ``changed_share`` of the graded enterprises.
    """
    base = evaluation.table.grade.to_numpy(dtype=object)
    graded = evaluation.table.grade.notna().to_numpy()
    order = {g: i for i, g in enumerate(GRADES)}
    rows = []
    for k, indicator in enumerate(evaluation.scheme.indicators):
        for delta in (+step, -step):
            weights = evaluation.scheme.weights.copy()
            weights[k] = max(weights[k] + delta, 0.0)
            new = evaluation.regrade(weights)
            before = np.array([order.get(g, -1) for g in base[graded]])
            after = np.array([order.get(g, -1) for g in new[graded]])
            rows.append({"indicator": indicator.key, "weight": indicator.weight, "new_weight": weights[k],
                         "changed": int((before != after).sum()), "up": int((after < before).sum()),
                         "down": int((after > before).sum()),
                         "changed_share": float((before != after).mean()) if graded.any() else 0.0})
    return pd.DataFrame(rows)


def year_over_year(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Grade changes between two years' results (tables with ``uscc`` and ``grade``).

    Returns ``uscc``, ``grade``, ``previous_grade`` and ``change``: ``up``, ``down``, ``same``,
    ``new`` (not graded the year before) or ``not_graded`` (graded before, not now).
    """
    merged = current[["uscc", "grade"]].merge(previous[["uscc", "grade"]].rename(columns={"grade": "previous_grade"}),
                                              on="uscc", how="left")
    order = {g: i for i, g in enumerate(GRADES)}
    now = merged.grade.astype(object).map(order).to_numpy(dtype=float)
    before = merged.previous_grade.astype(object).map(order).to_numpy(dtype=float)
    change = np.select([np.isnan(now) & ~np.isnan(before), ~np.isnan(now) & np.isnan(before), now < before,
                        now > before, now == before], ["not_graded", "new", "up", "down", "same"], default=None)
    merged["change"] = pd.array(change, dtype="string")
    return merged[merged.grade.notna() | merged.previous_grade.notna()].reset_index(drop=True)


def ranking(evaluation: "Evaluation", figures: pd.DataFrame, parks: pd.DataFrame, by: str = "park") -> pd.DataFrame:
    """Parks (``by="park"``) or counties (``by="county"``) ranked by their graded enterprises' 亩均 figures.

    Returns one row per park or county: ``park_id`` or ``district_code``, ``enterprise_count``
    (graded), ``land_mu``, ``tax_per_mu_wan`` and ``value_added_per_mu_wan`` (sums ÷ land, as
    published), ``sales_per_mu_wan``, ``grade_A`` … ``grade_D`` and ``rank`` (by tax per 亩).
    """
    if by not in ("park", "county"):
        raise ParkAtlasError(f"rank by park or county, not {by!r}")
    table = evaluation.table
    graded = table.grade.notna().to_numpy()
    land = np.where(graded, np.nan_to_num(evaluation.land), 0.0)
    of_year = figures[figures.year == evaluation.year].drop_duplicates("uscc").set_index("uscc")
    sums = {c: of_year[c].reindex(table.uscc).to_numpy(dtype=float, na_value=np.nan) for c in
            ("tax_wan", "value_added_wan", "sales_wan")}
    key = table.park_id if by == "park" else table.park_id.map(parks.set_index("park_id").district_code)
    frame = pd.DataFrame({"key": key.to_numpy(dtype=object), "land_mu": land, "graded": graded.astype(int),
                          **{c: np.where(graded, np.nan_to_num(v), 0.0) for c, v in sums.items()},
                          **{f"grade_{g}": (table.grade == g).fillna(False).to_numpy(dtype=int) for g in GRADES}})
    out = frame[frame.key.notna()].groupby("key").sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        result = pd.DataFrame({
            "enterprise_count": out.graded, "land_mu": out.land_mu,
            "tax_per_mu_wan": out.tax_wan / out.land_mu, "value_added_per_mu_wan": out.value_added_wan / out.land_mu,
            "sales_per_mu_wan": out.sales_wan / out.land_mu, **{f"grade_{g}": out[f"grade_{g}"] for g in GRADES}})
    result = result[result.enterprise_count > 0].sort_values("tax_per_mu_wan", ascending=False)
    result["rank"] = np.arange(1, len(result) + 1)
    return result.rename_axis("park_id" if by == "park" else "district_code").reset_index()


def grade_history(store, uscc: str, scheme: str | None = None) -> pd.DataFrame:
    """One enterprise's grade in every year with figures: ``year``, ``grade``, ``score``, ``rank``,
    ``jurisdiction``, ``evaluated_class`` (stored results where stored, else computed), oldest first."""
    years = sorted(int(y) for y in read_figures(store).year.dropna().unique())
    rows = []
    for year in years:  # a handful of years
        grades = current_grades(store, year, scheme)
        row = grades[grades.uscc == uscc]
        if len(row):
            rows.append({"year": year, **row.iloc[0][["grade", "score", "rank", "jurisdiction",
                                                       "evaluated_class"]].to_dict()})
    return pd.DataFrame(rows, columns=["year", "grade", "score", "rank", "jurisdiction", "evaluated_class"])


def policy_list(evaluation_table: pd.DataFrame, enterprises: pd.DataFrame, grade: str) -> pd.DataFrame:
    """The enterprises of one grade for the utilities and the tax office: ``uscc``, ``name``,
    ``parcel_ids``, ``jurisdiction``, ``grade``, ``score``, ``rank``, best first."""
    if grade not in GRADES:
        raise ParkAtlasError(f"unknown grade {grade!r}; one of {', '.join(GRADES)}")
    rows = evaluation_table[evaluation_table.grade == grade][["uscc", "jurisdiction", "grade", "score", "rank"]]
    rows = rows.merge(enterprises[["uscc", "name", "parcel_ids"]], on="uscc", how="left")
    return rows[["uscc", "name", "parcel_ids", "jurisdiction", "grade", "score", "rank"]].sort_values(
        ["jurisdiction", "rank"]).reset_index(drop=True)


__all__ = ["Scheme", "Indicator", "Evaluation", "INDICATORS", "GRADES", "CLASSES", "DEFAULT_SCHEME", "SCHEMES_DIR",
           "load_scheme", "list_schemes", "evaluate_frames", "evaluate", "save_evaluation", "read_grades",
           "current_grades", "current_results", "grading_area_key", "enterprise_table", "indicator_label", "grades_by_parcel", "parcel_grades", "metrics_from_frames", "parcels_with_metrics", "sensitivity", "year_over_year", "policy_list", "ranking", "grade_history", "assign_grades"]
