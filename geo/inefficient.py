"""Inefficient industrial land (低效用地) found by rule, grouped into blocks, with what the park would gain.

The rules and their thresholds are a file (``data/standards/inefficient_land.toml``, each rule
with its source; see ``docs/inefficient.md``). A parcel meeting any enabled rule is a
**candidate**; each candidate lists every rule it meets with the value, the threshold and a
one-line reason. Candidates are grouped into contiguous redevelopment blocks with
:func:`geo.blocks.adjacency` and :func:`geo.blocks.component_labels` (the block assembly of
the available-land search), and each block shows what its park would gain if the block reached
the park's average intensity — the what-if of :func:`geo.matching.what_if` with a project at the
park's average output and tax per 亩, computed for all blocks at once. A planner confirms
candidates (:func:`confirm`): their status becomes ``inefficient`` through the audited status
change, never automatically.

Rules (keys): ``grade_d`` (the enterprise's 亩均 grade is D), ``plot_ratio_below_min``,
``completion_overdue``, ``investment_below_contract``, ``output_below_half_threshold``,
``stopped_production``. Every rule is vectorised over parcels.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.auth import User
from geo.blocks import DEFAULT_GAP_M, adjacency, component_labels
from geo.crs import projected_crs_for
from geo.errors import KeyedConflict, ParkAtlasError, unknown_park
from geo.gcpause import gc_paused
from geo.metrics import ENTERPRISE_STATUSES
from geo.standards import DEFAULT_STANDARDS_DIR, load_standards

RULES_FILE = DEFAULT_STANDARDS_DIR / "inefficient_land.toml"
RULE_KEYS = ("grade_d", "plot_ratio_below_min", "completion_overdue", "investment_below_contract",
             "output_below_half_threshold", "stopped_production")
DONE_STAGES = ("completed", "in_production", "at_capacity", "withdrawn")


@dataclass(frozen=True)
class Rule:
    key: str
    enabled: bool
    threshold: object
    label_zh: str
    label_en: str
    source: str
    construction_years: float = 2.0

    def label(self, lang: str = "zh") -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True)
class RuleSet:
    name: str
    statuses: tuple[str, ...]
    rules: tuple[Rule, ...]

    def enabled(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]


def load_rules(path: str | os.PathLike | None = None) -> RuleSet:
    """Read the rule file (default ``data/standards/inefficient_land.toml``); one-line errors."""
    path = Path(path or RULES_FILE)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParkAtlasError(f"rule file {path} is missing; restore it from data/standards/") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParkAtlasError(f"rule file {path.name}: not valid TOML ({exc})") from None
    rules = []
    for item in raw.get("rules", []):
        if item.get("key") not in RULE_KEYS:
            raise ParkAtlasError(f"rule file {path.name}: unknown rule {item.get('key')!r}; one of {', '.join(RULE_KEYS)}")
        if "source" not in item or "threshold" not in item:
            raise ParkAtlasError(f"rule file {path.name}: rule {item['key']} needs a threshold and a source")
        rules.append(Rule(item["key"], bool(item.get("enabled", True)), item["threshold"], item.get("label_zh", item["key"]),
                          item.get("label_en", item["key"]), item["source"], float(item.get("construction_years", 2))))
    return RuleSet(raw.get("name", path.stem), tuple(raw.get("statuses", ENTERPRISE_STATUSES)), tuple(rules))


def _parse_dates(texts, years: int = 0) -> np.ndarray:
    """Text dates (missing or unreadable → NaT) plus ``years``, as datetime64[s].

    A column repeats a few thousand dates over 100k parcels: each distinct text is parsed once
    (in order of first appearance, so pandas guesses the format from the same first date).
    """
    codes, distinct = pd.factorize(pd.Series(texts) if not isinstance(texts, pd.Series) else texts)
    parsed = pd.to_datetime(pd.Series(np.asarray(distinct, dtype=object), dtype=object), errors="coerce")
    if years:
        parsed = parsed + pd.DateOffset(years=years)
    return np.append(parsed.to_numpy(dtype="datetime64[s]"), np.datetime64("NaT", "s"))[codes]


def _years_since(dates, as_of: date) -> np.ndarray:
    """Whole days from each date (text, or datetime64 values; missing → NaN) to ``as_of``, in years."""
    values = np.asarray(dates)
    when = pd.Series(values if values.dtype.kind == "M" else _parse_dates(dates))
    return ((pd.Timestamp(as_of) - when).dt.days / 365.25).to_numpy(dtype=float, na_value=np.nan)


def rule_checks(parcels: pd.DataFrame, parks: pd.DataFrame, rules: RuleSet, *, as_of: date,
                grades: pd.Series | None = None, projects: pd.DataFrame | None = None,
                stopped_parcels: set | None = None) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each enabled rule's (met, value, threshold) arrays over ``parcels`` (with metrics).

    ``grades`` maps parcel ids to their enterprise's grade; ``projects`` is the register with
    ``parcel_ids``, ``stage``, ``contract_completion``, ``investment_wan`` and optionally
    ``investment_actual_wan`` and ``stopped_since``; ``stopped_parcels`` are parcels whose
    enterprise reported no sales in its latest year.
    """
    n = len(parcels)
    examined = parcels.status.isin(rules.statuses).to_numpy(dtype=bool)
    built = parcels.status.isin(ENTERPRISE_STATUSES).to_numpy(dtype=bool)  # run by an enterprise
    ids = parcels.parcel_id.to_numpy(dtype=object)
    out = {}
    register = _register_by_parcel(projects, ids)
    for rule in rules.enabled():
        met = np.zeros(n, dtype=bool)
        value = np.full(n, np.nan, dtype=object)
        threshold = np.full(n, np.nan, dtype=object)
        if rule.key == "grade_d":
            grade = _aligned(grades, parcels.parcel_id)
            met = examined & (grade == rule.threshold)
            value, threshold = grade, np.full(n, rule.threshold, dtype=object)
        elif rule.key == "plot_ratio_below_min":
            minimum = load_standards().min_plot_ratio_2017().reindex(parcels.industry_code).to_numpy(dtype=float) \
                * float(rule.threshold)
            ratio = parcels.plot_ratio.to_numpy(dtype=float, na_value=np.nan)
            met = examined & built & (ratio < minimum)
            value, threshold = ratio, minimum
        elif rule.key == "completion_overdue":
            due = _parse_dates(parcels.contract_start_date, int(rule.construction_years))
            building = parcels.status.isin(["under_construction", "supplied"]).to_numpy(dtype=bool)
            if register is not None:
                has = register.contract_completion.notna().to_numpy() & ~register.done.to_numpy()
                completion = _parse_dates(register.contract_completion.to_numpy(dtype=object))
                due = np.where(has, completion, due)
                building = np.where(register.stage.notna().to_numpy(), has, building)
            overdue = _years_since(due, as_of)
            met = examined & building & (overdue >= float(rule.threshold))
            value, threshold = overdue, np.full(n, float(rule.threshold))
        elif rule.key == "investment_below_contract":
            contract = parcels.investment_wan.to_numpy(dtype=float, na_value=np.nan)
            actual = parcels.investment_to_date_wan.to_numpy(dtype=float, na_value=np.nan) \
                if "investment_to_date_wan" in parcels.columns else np.full(n, np.nan)
            if register is not None:
                known = register.investment_actual_wan.notna().to_numpy()
                contract = np.where(known, register.investment_wan.to_numpy(dtype=float, na_value=np.nan), contract)
                actual = np.where(known, register.investment_actual_wan.to_numpy(dtype=float, na_value=np.nan), actual)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = actual / contract
            met = examined & (contract > 0) & (share < float(rule.threshold))
            value, threshold = share, np.full(n, float(rule.threshold))
        elif rule.key == "output_below_half_threshold":
            # Parks' thresholds through the parcels' park codes: a look-up per park, not per parcel.
            park_code, park_ids = pd.factorize(parcels.park_id)
            entry = parks.set_index("park_id").min_output_wan_per_mu.reindex(park_ids)
            limit = np.append(entry.to_numpy(dtype=float, na_value=np.nan), np.nan)[park_code] * float(rule.threshold)
            output = parcels.output_per_mu_wan.to_numpy(dtype=float, na_value=np.nan)
            met = examined & built & (output < limit)
            value, threshold = output, limit
        elif rule.key == "stopped_production":
            since = parcels.stopped_since if "stopped_since" in parcels.columns else pd.Series([None] * n)
            years = _years_since(since.reset_index(drop=True), as_of)
            if register is not None and "stopped_since" in register.columns:
                years = np.fmax(years, _years_since(register.stopped_since, as_of))
            no_sales = np.isin(ids, list(stopped_parcels or ()))
            met = examined & ((years >= float(rule.threshold)) | no_sales)
            value = np.where(no_sales & ~(years >= float(rule.threshold)), np.inf, years)
            threshold = np.full(n, float(rule.threshold))
        out[rule.key] = (met, value, threshold)
    return out


def _aligned(grades: pd.Series | None, parcel_ids: pd.Series) -> np.ndarray:
    """``grades`` (indexed by parcel id) in the order of ``parcel_ids``, ``None`` where missing.

    Grades read from the same parcels are already in their order: compared, not looked up again.
    """
    if grades is None:
        return np.full(len(parcel_ids), None, dtype=object)
    if len(grades) == len(parcel_ids) and grades.index.equals(pd.Index(parcel_ids)):
        grade = grades.to_numpy(dtype=object)
    elif len(grades) and grades.index.is_unique:
        # One Arrow hash look-up of the ids (a quarter of the time of reindex over 100k string ids).
        # Both sides typed: an empty or all-missing object column would otherwise be Arrow's null type.
        found = pc.index_in(pa.array(parcel_ids, type=pa.string(), from_pandas=True),
                            value_set=pa.array(grades.index, type=pa.string(), from_pandas=True))
        found = found.fill_null(-1).to_numpy(zero_copy_only=False)
        grade = np.append(grades.to_numpy(dtype=object), None)[found]
    else:
        grade = pd.Series(parcel_ids.to_numpy()).map(grades).to_numpy(dtype=object)
    grade[pd.isna(grade)] = None
    return grade


def _register_by_parcel(projects: pd.DataFrame | None, ids: np.ndarray) -> pd.DataFrame | None:
    """The register's row of each parcel (its latest project), aligned with ``ids``; None without a register."""
    if projects is None or projects.empty:
        return None
    rows = projects.assign(parcel_id=projects.parcel_ids.fillna("").str.split(";")).explode("parcel_id")
    rows = rows[rows.parcel_id.fillna("") != ""].drop_duplicates("parcel_id", keep="last").set_index("parcel_id")
    for column in ("investment_actual_wan", "stopped_since", "contract_completion", "investment_wan"):
        if column not in rows.columns:
            rows[column] = np.nan
    rows["done"] = rows.stage.isin(DONE_STAGES)
    return rows.reindex(ids).assign(done=lambda f: f.done.fillna(False).astype(bool))


def _formatted(values: np.ndarray, pattern: str) -> pd.Series:
    """``values`` as text by ``pattern``, each distinct value formatted once (thresholds repeat one
    value per rule or park), as Python floats (formatting a float is faster than a NumPy scalar)."""
    bits = np.ascontiguousarray(values, dtype=float).view(np.int64)  # by bit pattern: -0.0 stays "-0"
    codes, distinct = pd.factorize(bits)
    texts = np.array(list(map(pattern.format, distinct.view(float).tolist())), dtype=object)
    return pd.Series(texts[codes] if len(codes) else np.array([], dtype=object), dtype=object)


def _fmt(values: np.ndarray, digits: int) -> pd.Series:
    """Numbers with thousands separators, ``digits`` decimals."""
    return _formatted(values, f"{{:,.{digits}f}}")


def _pct(values: np.ndarray) -> pd.Series:
    return _formatted(np.asarray(values, dtype=float) * 100, "{:.0f}")


def reasons(rule: Rule, value: np.ndarray, threshold: np.ndarray, lang: str) -> np.ndarray:
    """One line per parcel: what it shows against the rule's threshold (vectorised over the hits)."""
    key, zh, n = rule.key, lang == "zh", len(value)
    if n == 0:
        return np.array([], dtype=object)
    if key == "grade_d":
        line = pd.Series(["企业亩均评价为 D 类" if zh else "its enterprise is graded D"] * n, dtype=object)
    elif key == "plot_ratio_below_min":
        v, t = _fmt(value, 2), _fmt(threshold, 2)
        line = "容积率 " + v + "，低于行业最低 " + t if zh else "plot ratio " + v + ", below the industry minimum " + t
    elif key == "completion_overdue":
        v, t = _fmt(value, 1), _fmt(threshold, 0)
        line = ("超过约定竣工日期 " + v + " 年（标准 " + t + " 年）" if zh
                else "completion " + v + " years overdue (rule: " + t + " years)")
    elif key == "investment_below_contract":
        v, t = _pct(value), _pct(threshold)
        line = ("实际投资为合同约定的 " + v + "%，低于 " + t + "%" if zh
                else "investment at " + v + "% of the contract, below " + t + "%")
    elif key == "output_below_half_threshold":
        v, t = _fmt(value, 1), _fmt(threshold, 1)
        line = ("亩均产值 " + v + " 万元/亩，低于准入标准一半 " + t + " 万元/亩" if zh
                else "output " + v + " (10k yuan/mu), below half the entry threshold " + t)
    else:
        v, t = _fmt(value, 1), _fmt(threshold, 0)
        line = ("停产 " + v + " 年（标准 " + t + " 年）" if zh
                else "production stopped " + v + " years (rule: " + t + " year)")
        no_sales = ~np.isfinite(np.asarray(value, dtype=float))
        line[no_sales] = "企业最近一年无销售收入" if zh else "its enterprise had no sales in its latest year"
    return line.to_numpy(dtype=object)


def _plain(values: np.ndarray) -> list:
    """A rule's values or thresholds for JSON (plain Python; NaN and infinity → None)."""
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.number):
        return values.tolist()
    floats = values.astype(float)
    return np.where(np.isfinite(floats), floats.astype(object), None).tolist()


def find_candidates(parcels: gpd.GeoDataFrame, parks: pd.DataFrame, rules: RuleSet | None = None, *,
                    as_of: date | None = None, grades: pd.Series | None = None, projects: pd.DataFrame | None = None,
                    stopped_parcels: set | None = None, lang: str = "zh", gap_m: float = DEFAULT_GAP_M) -> gpd.GeoDataFrame:
    """Candidate parcels with the rules they meet and their block.

    Parameters
    ----------
    parcels : GeoDataFrame
        Parcels with metrics (:func:`geo.evaluation.parcels_with_metrics`); blocks are formed among
        the candidates of each park.
    parks : DataFrame
        Parks with ``park_id`` and ``min_output_wan_per_mu``.

    Returns
    -------
    GeoDataFrame
        One row per candidate: ``parcel_id``, ``park_id``, ``enterprise``, ``status``, ``area_mu``,
        ``rules`` (list of {``rule``, ``value``, ``threshold``, ``reason``}), ``rule_count``,
        ``block_id`` and the geometry.
    """
    rules = rules or load_rules()
    as_of = as_of or date.today()
    checks = rule_checks(parcels, parks, rules, as_of=as_of, grades=grades, projects=projects,
                         stopped_parcels=stopped_parcels)
    met = np.column_stack([c[0] for c in checks.values()]) if checks else np.zeros((len(parcels), 0), dtype=bool)
    positions = np.flatnonzero(met.any(axis=1))
    by_key = {r.key: r for r in rules.rules}
    slot = np.full(len(parcels), -1)
    slot[positions] = np.arange(len(positions))
    with gc_paused():  # tens of thousands of new lists and geometries (geo.gcpause)
        lists = [[] for _ in range(len(positions))]
        for key, (hit, value, threshold) in checks.items():  # per rule, over its hits only, in the rule order
            where = np.flatnonzero(hit)
            value, threshold = value[where], threshold[where]
            lines = reasons(by_key[key], value, threshold, lang).tolist()
            for p, v, t, line in zip(slot[where].tolist(), _plain(value), _plain(threshold), lines):
                lists[p].append({"rule": key, "value": v, "threshold": t, "reason": line})
        columns = ["parcel_id", "park_id", "enterprise", "status", "area_mu", "output_wan", "tax_wan"]
        found = pd.DataFrame(parcels[columns]).iloc[positions].reset_index(drop=True)
        found[["output_wan", "tax_wan"]] = found[["output_wan", "tax_wan"]].astype(float)
        out = gpd.GeoDataFrame(found.assign(rules=lists, rule_count=met[positions].sum(axis=1)),
                               geometry=parcels.geometry.values[positions], crs=parcels.crs)
        out["block_id"] = block_ids(out, gap_m)
    return out


def block_ids(candidates: gpd.GeoDataFrame, gap_m: float = DEFAULT_GAP_M) -> np.ndarray:
    """Contiguous block of each candidate (same park, closer than ``gap_m``): ids B1, B2… by area."""
    if len(candidates) == 0:
        return np.array([], dtype=object)
    geoms = candidates.geometry.to_crs(projected_crs_for(candidates.geometry)).values
    labels = component_labels(len(candidates), *adjacency(geoms, candidates.park_id.to_numpy(dtype=object), gap_m))
    area = np.bincount(labels, candidates.area_mu.to_numpy(dtype=float))
    order = np.lexsort((np.arange(len(area)), -area))
    names = np.empty(len(area), dtype=object)
    names[order] = [f"B{k + 1}" for k in range(len(area))]
    return names[labels]


def block_gains(candidates: pd.DataFrame, parcels: pd.DataFrame) -> pd.DataFrame:
    """What each block's park would gain if the block reached the park's average intensity.

    The same arithmetic as :func:`geo.matching.what_if` with a project at the park's area-weighted
    average output and tax per 亩 on the block (the block's parcels then count as enterprise land).
    Returns one row per block: ``block_id``, ``park_id``, ``parcel_ids``, ``parcel_count``,
    ``area_mu``, ``gain_output_wan``, ``gain_tax_wan``, and the park's ``output_per_mu_wan`` and
    ``tax_per_mu_wan`` ``_before`` and ``_after``. Sums are ``bincount`` over block codes.
    """
    enterprise = parcels.status.isin(ENTERPRISE_STATUSES).to_numpy(dtype=bool)

    def counted(column: str) -> np.ndarray:
        return np.where(enterprise, np.nan_to_num(parcels[column].to_numpy(dtype=float, na_value=np.nan)), 0.0)

    sums = pd.DataFrame({"land": counted("area_mu"), "output": counted("output_wan"), "tax": counted("tax_wan")},
                        index=pd.Index(parcels.park_id.to_numpy(dtype=object), name="park_id")).groupby(level=0).sum()
    land, output, tax = sums.land, sums.output, sums.tax
    code, names = pd.factorize(candidates.block_id.to_numpy(dtype=object))
    first = np.full(len(names), len(code))
    np.minimum.at(first, code, np.arange(len(code)))
    counted = candidates.status.isin(ENTERPRISE_STATUSES).to_numpy(dtype=bool)
    area = candidates.area_mu.to_numpy(dtype=float)

    def per_block(values: np.ndarray) -> np.ndarray:
        return np.bincount(code, np.nan_to_num(values), minlength=len(names))

    ids = candidates.parcel_id.to_numpy(dtype=object)[np.argsort(code, kind="stable")].tolist()
    ends = np.cumsum(np.bincount(code, minlength=len(names))).tolist()
    with gc_paused():  # one list per block (geo.gcpause)
        members = [ids[start:end] for start, end in zip([0, *ends[:-1]], ends)]
    blocks = pd.DataFrame({
        "block_id": names, "park_id": candidates.park_id.to_numpy(dtype=object)[first],
        "parcel_ids": members, "parcel_count": np.bincount(code, minlength=len(names)),
        "area_mu": per_block(area),
    })
    output_now = per_block(np.where(counted, candidates.output_wan.to_numpy(dtype=float), 0.0))
    tax_now = per_block(np.where(counted, candidates.tax_wan.to_numpy(dtype=float), 0.0))
    new_land = per_block(np.where(counted, 0.0, area))
    park = blocks.park_id
    with np.errstate(divide="ignore", invalid="ignore"):
        out_avg = (output / land).reindex(park).to_numpy()
        tax_avg = (tax / land).reindex(park).to_numpy()
        blocks["gain_output_wan"] = out_avg * blocks.area_mu - output_now
        blocks["gain_tax_wan"] = tax_avg * blocks.area_mu - tax_now
        land_after = land.reindex(park).to_numpy() + new_land
        blocks["output_per_mu_wan_before"] = out_avg
        blocks["output_per_mu_wan_after"] = (output.reindex(park).to_numpy() + blocks.gain_output_wan) / land_after
        blocks["tax_per_mu_wan_before"] = tax_avg
        blocks["tax_per_mu_wan_after"] = (tax.reindex(park).to_numpy() + blocks.gain_tax_wan) / land_after
    return blocks.sort_values("area_mu", ascending=False, ignore_index=True, kind="stable")


def inefficient_land(store, park_id: str | None = None, *, as_of: date | None = None, lang: str = "zh",
                     rules: RuleSet | None = None) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Candidates and blocks of the store (all parks or one), from its parcels, enterprises,
    evaluation and projects register. Returns ``(candidates, blocks)``."""
    from geo.enterprise import enterprise_parcels, latest_year, read_enterprises, read_figures
    from geo.evaluation import parcels_with_metrics

    parks = store.read_parks()
    if park_id is not None and park_id not in set(parks.park_id):
        raise unknown_park(park_id)
    parcels = parcels_with_metrics(store)
    enterprises, figures = read_enterprises(store), read_figures(store)
    stopped = set()
    year = latest_year(figures)
    if year is not None:
        zero = figures[(figures.year == year) & (figures.sales_wan == 0)].uscc
        pairs = enterprise_parcels(enterprises)
        stopped = set(pairs[pairs.uscc.isin(zero) & ~pairs.leased].parcel_id)
    grades = parcels.set_index("parcel_id").grade  # the enterprise's grade from the evaluation
    candidates = find_candidates(parcels, parks, rules, as_of=as_of, grades=grades,
                                 projects=_register(store), stopped_parcels=stopped, lang=lang)
    blocks = block_gains(candidates, parcels)
    if park_id is not None:
        candidates = candidates[candidates.park_id == park_id].reset_index(drop=True)
        blocks = blocks[blocks.park_id == park_id].reset_index(drop=True)
    return candidates, blocks


def _register(store) -> pd.DataFrame | None:
    """The projects register with each project's latest cumulative investment and stop, if the store has one."""
    if not hasattr(store, "read_projects"):
        return None
    projects = store.read_projects()
    if projects.empty:
        return None
    actuals = store.read_actuals().sort_values(["project_id", "year"]).drop_duplicates("project_id", keep="last")
    latest = actuals.set_index("project_id")
    return projects.assign(investment_actual_wan=projects.project_id.map(latest.investment_wan),
                           stopped_since=projects.project_id.map(latest.stopped_since))


def confirm(store, parcel_ids: list[str], *, user: User, as_of: date | None = None) -> dict:
    """Set confirmed candidates' status to ``inefficient`` (planner), audited with the rules they meet.

    Parcels that meet no rule are refused (one line naming them): the status is a finding, not a label.
    """
    candidates, _ = inefficient_land(store, as_of=as_of, lang="zh")
    found = candidates.set_index("parcel_id")
    refused = [pid for pid in parcel_ids if pid not in found.index]
    if refused:
        raise KeyedConflict("inefficient.refused.not_candidate", f"parcel {', '.join(refused[:5])} meets no "
                            "inefficiency rule; only candidates can be confirmed (see `python cli.py inefficient`)",
                            ids=refused[:5])
    ids = list(dict.fromkeys(parcel_ids))
    note = "低效用地认定 confirmed inefficient: " + "; ".join(
        f"{pid}: {', '.join(r['rule'] for r in found.loc[pid, 'rules'])}" for pid in ids)
    result = store.set_status(ids, "inefficient", user=user, note=note)  # one audited transaction
    return {"changed": result["changed"], "status": "inefficient", "user": user.name}


__all__ = ["Rule", "RuleSet", "RULE_KEYS", "load_rules", "rule_checks", "find_candidates", "block_ids", "block_gains",
           "inefficient_land", "confirm", "reasons"]
