"""Match an incoming project to land: hard checks, assembled blocks, an explained ranking.

1. **Hard checks**, vectorised over every parcel at once. A parcel failing one is excluded and
   counted under the first reason it fails, in the order of :data:`EXCLUSION_REASONS`: status
   (available land; idle and inefficient optionally, flagged "needs disposal first"), the
   project's park groups, land use compatible with the nuisance class
   (``data/standards/landuse_compat.csv``), park red lines, the national minimum plot ratio of
   the industry (via the 2017→2002 mapping; three-digit 2017 codes where one two-digit code merges
   several), the park's minimum plot ratio, building coefficient, admin share and green ratio
   (``national_limits.csv``), area within the demand (with a tolerance), and the park's entry
   thresholds per 亩 — computed with the candidate's own area. The national checks use one
   edition of 《工业项目建设用地控制指标》 (``edition``; default the newest loaded) and every
   message names it: its numbers come from the tables, never from code.
2. **Assembled blocks**: in a park where no single parcel passes, adjacent parcels that pass
   every check but area are grown into compact blocks meeting the demand (:mod:`geo.blocks`).
   The entry thresholds are checked again with the block's area; a block failing one is
   counted under ``block_`` + the reason, like a single parcel.
3. **Ranking**: soft criteria rescaled to 0–1 and weighted-summed to a score of 0–100 with the
   weights of ``data/standards/weights.csv`` (normalised to sum 1). Only the top candidates get
   their per-criterion explanation (value, threshold, pass, weight, contribution, one-line
   reason in Chinese and English).

Parameters (tolerance, gap, radius...) live in ``data/standards/matching.csv``; see
``docs/matching.md``. Pass parcels already :func:`geo.metrics.with_metrics` to avoid
recomputing areas on every match.
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.compute as pc
import shapely

from geo import display, i18n
from geo.blocks import close_gaps, grow_blocks
from geo.crs import CGCS2000, metric_crs, reproject, transformer
from geo.errors import KeyedError, KeyedNotFound, NotFoundError, ParkAtlasError, unknown_park
from geo.gcpause import gc_paused
from geo.metrics import ENTERPRISE_STATUSES, PARCEL_METRICS, park_kpis, with_metrics
from geo.project import CAPACITY_NEEDS, DISTANCE_NEEDS, Project, load_project
from geo.schema import split_list
from geo.standards import DEFAULT_STANDARDS_DIR, Standards, _read, load_standards
from geo.textids import arrow_text, positions_in

#: Entry thresholds per 亩: project figure (``<key>_wan``) → park column ``min_<key>_wan_per_mu`` and the reason.
ENTRY_THRESHOLDS = {"investment": "investment_intensity_below_threshold", "output": "output_per_mu_below_threshold",
                    "tax": "tax_per_mu_below_threshold"}
#: Prefix of the reasons counting assembled blocks (not parcels) that fail an entry threshold.
BLOCK_PREFIX = "block_"
#: Exclusion reasons in the order they are checked (parcels, then assembled blocks): code → (zh, en).
EXCLUSION_REASONS: dict[str, tuple[str, str]] = {
    "status_not_available": ("地块状态不可供", "status is not available land"),
    "park_group_not_wanted": ("园区不在项目意向板块内", "park is outside the project's groups"),
    "land_use_incompatible": ("用地类别与项目污染等级不相容", "land-use class incompatible with the nuisance class"),
    "red_line_industry": ("园区禁止该行业入驻（红线）", "industry is red-lined in the park"),
    "plot_ratio_below_national_minimum": ("容积率低于国家行业最低标准", "plot ratio below the national minimum for the industry"),
    "plot_ratio_below_park_minimum": ("容积率低于园区准入标准", "plot ratio below the park's minimum"),
    "building_coefficient_below_minimum": ("建筑系数低于国家下限", "building coefficient below the national minimum"),
    "admin_share_above_maximum": ("行政办公及生活服务设施用地超过国家上限", "admin share above the national maximum"),
    "green_ratio_above_maximum": ("绿地率超过国家上限", "green ratio above the national maximum"),
    "area_out_of_range": ("面积不符合用地需求", "area outside the demand"),
    "investment_intensity_below_threshold": ("投资强度低于准入门槛（园区或产业链）",
                                             "investment intensity below the entry threshold (the park's or the chain's)"),
    "output_per_mu_below_threshold": ("亩均产值低于准入门槛（园区或产业链）",
                                      "output per mu below the entry threshold (the park's or the chain's)"),
    "tax_per_mu_below_threshold": ("亩均税收低于准入门槛（园区或产业链）",
                                   "tax per mu below the entry threshold (the park's or the chain's)"),
}
EXCLUSION_REASONS |= {BLOCK_PREFIX + reason: (f"拼合地块：{EXCLUSION_REASONS[reason][0]}",
                                              f"assembled block: {EXCLUSION_REASONS[reason][1]}")
                      for reason in ENTRY_THRESHOLDS.values()}
#: Exclusion reasons of the national control indicators → (national_limits.csv key, zh, en template).
NATIONAL_LIMIT_REASONS = {
    "building_coefficient_below_minimum": ("building_coefficient_min", "建筑系数低于 {v} 下限", "building coefficient below {v}"),
    "admin_share_above_maximum": ("admin_share_max", "行政办公及生活服务设施用地超过 {v} 上限", "admin share above {v}"),
    "green_ratio_above_maximum": ("green_ratio_max", "绿地率超过 {v} 上限", "green ratio above {v}"),
}


def exclusion_reasons(standards: Standards | None = None) -> dict[str, tuple[str, str]]:
    """:data:`EXCLUSION_REASONS` with the national limits' numbers and source filled in.

    The numbers come from ``national_limits.csv`` and the source from ``editions.csv``, for
    the edition ``standards`` judge with.
    """
    standards = (standards or load_standards()).with_edition(None)
    limits, source, source_en = standards.national_limits, standards.source(), standards.source(lang="en")
    out = dict(EXCLUSION_REASONS)
    for reason, (key, zh, en) in NATIONAL_LIMIT_REASONS.items():
        value = f"{limits[key]:.0%}" if key in limits else "—"
        out[reason] = (f"{zh.format(v=value)}（{source}）", f"{en.format(v=value)} ({source_en})")
    zh, en = EXCLUSION_REASONS["plot_ratio_below_national_minimum"]
    out["plot_ratio_below_national_minimum"] = (f"{zh}（{source}）", f"{en} ({source_en})")
    return out


CRITERIA = ("chain_fit", "cluster", "infrastructure", "area_efficiency", "compactness", "readiness",
            "park_intensity", "preferred_park", "jobs_per_mu")
#: Statuses of parcels whose enterprise counts for "same chain nearby".
CLUSTER_STATUSES = ("occupied", "under_construction", "inefficient")
#: Polsby-Popper of a square; shapes scoring this or more count as fully compact.
_SQUARE_PP = math.pi / 4
COMPACT_TARGET = 0.6
CHAIN_LEVELS = {"characteristic": 1.0, "leading": 0.7, "related": 0.4, "none": 0.0}


@dataclass(frozen=True)
class MatchSettings:
    """Parameters of matching (``data/standards/matching.csv``)."""

    area_tolerance: float = 0.10
    include_disposal: bool = False
    block_gap_m: float = 30.0
    block_max_parcels: int = 12
    block_seeds_per_component: int = 4
    cluster_radius_km: float = 3.0
    cluster_saturation: int = 10
    readiness_not_ready: float = 0.4
    readiness_disposal: float = 0.1
    spread_min_range: float = 0.2


def _file_version(directory: str | os.PathLike | None, name: str) -> tuple:
    """A standards file's path and what an edit of it changes (size, times, inode): the key under which
    its parsed copy is kept (every match reads ``matching.csv`` and ``weights.csv``)."""
    path = (Path(directory) if directory else DEFAULT_STANDARDS_DIR) / name
    try:
        st = path.stat()
    except OSError:
        return (str(path),)  # missing: _read refuses it, and a refusal is not kept
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def load_settings(directory: str | os.PathLike | None = None) -> MatchSettings:
    """Read ``matching.csv`` from ``directory`` (default ``data/standards/``), parsed once per version of the file."""
    return _parsed_settings(*_file_version(directory, "matching.csv"))


@lru_cache(maxsize=8)
def _parsed_settings(path: str, *version) -> MatchSettings:
    table = _read(Path(path).parent, "matching.csv", dtype=str)
    values = dict(zip(table.key.str.strip(), table.value.str.strip()))
    kwargs = {}
    for name, default in MatchSettings.__dataclass_fields__.items():
        if name not in values:
            continue
        text = values[name]
        try:
            if isinstance(default.default, bool):
                if text.lower() not in ("true", "false"):
                    raise ValueError
                kwargs[name] = text.lower() == "true"
            else:
                kwargs[name] = type(default.default)(float(text))
        except ValueError:
            raise ParkAtlasError(f"matching.csv: {name} = {text!r} is not a valid "
                                 f"{type(default.default).__name__}") from None
    return MatchSettings(**kwargs)


def load_weights(directory: str | os.PathLike | None = None) -> pd.DataFrame:
    """The ranking weights table (``criterion, weight, label_zh, label_en``), parsed once per version of the file."""
    return _parsed_weights(*_file_version(directory, "weights.csv")).copy()


@lru_cache(maxsize=8)
def _parsed_weights(path: str, *version) -> pd.DataFrame:
    table = _read(Path(path).parent, "weights.csv")
    unknown = set(table.criterion) - set(CRITERIA)
    if unknown:
        raise ParkAtlasError(f"weights.csv: unknown criterion {sorted(unknown)[0]!r}; one of {', '.join(CRITERIA)}")
    return table


def normalise_weights(weights=None) -> dict[str, float]:
    """Weights as a dict criterion → share (summing to 1).

    ``weights`` may be ``None`` (the CSV defaults), a dict criterion → weight (missing
    criteria keep their default), or a table like :func:`load_weights`.
    """
    table = load_weights()
    raw = dict(zip(table.criterion, table.weight.astype(float)))
    if isinstance(weights, pd.DataFrame):
        weights = dict(zip(weights.criterion, weights.weight))
    for key, value in (weights or {}).items():
        if key not in CRITERIA:
            raise ParkAtlasError(f"unknown weight {key!r}; one of {', '.join(CRITERIA)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ParkAtlasError(f"weight of {key} must be a number ≥ 0, got {value!r}")
        raw[key] = float(value)
    total = sum(raw.get(c, 0.0) for c in CRITERIA)
    if total <= 0:
        raise KeyedError("match.refused.weights_zero", "all ranking weights are 0; give at least one criterion a "
                         "positive weight")
    return {c: raw.get(c, 0.0) / total for c in CRITERIA}


@dataclass
class MatchResult:
    """Ranked candidates, exclusion counts and the inputs that produced them."""

    project: Project
    candidates: gpd.GeoDataFrame
    excluded: dict[str, int]
    considered: int
    weights: dict[str, float] = field(default_factory=dict)
    #: Exclusion reason → (zh, en) with the national limits' numbers and source (:func:`exclusion_reasons`).
    reasons: dict[str, tuple[str, str]] = field(default_factory=lambda: exclusion_reasons())
    #: Edition of 《工业项目建设用地控制指标》 the national checks used, and its citation.
    edition: str = ""
    source: str = ""
    #: How many candidates (parcels and assembled blocks) passed every hard check, before ``top``.
    eligible: int = 0
    #: The citation in English (``source`` is the Chinese one, as the JSON gives it).
    source_en: str = ""

    def to_json(self, lang: str = "zh") -> dict:
        """The CLI's JSON shape; each criterion's ``reason`` in ``lang`` (``zh`` or ``en``)."""
        reason_key = "reason_en" if lang == "en" else "reason_zh"
        name_key = "park_name_en" if lang == "en" else "park_name_zh"
        out = []
        for row in self.candidates.itertuples():
            criteria = [{k: v for k, v in c.items() if k not in ("reason_zh", "reason_en", "source_en")}
                        | {"reason": c[reason_key]}
                        for c in row.criteria]
            out.append({"rank": int(row.rank), "kind": row.kind, "parcel_ids": list(row.parcel_ids),
                        "park_id": row.park_id, "park_name": getattr(row, name_key),
                        "area_mu": round(float(row.area_mu), 2), "score": round(float(row.score), 2),
                        "needs_disposal": bool(row.needs_disposal), "criteria": criteria})
        return {"project": self.project.to_dict(), "considered": self.considered,
                "weights": {k: round(v, 4) for k, v in self.weights.items()},
                "candidates": out, "excluded": dict(self.excluded),
                "excluded_reasons": {k: self.reasons[k][1 if lang == "en" else 0] for k in self.excluded},
                "edition": self.edition, "source": self.source}


# ----------------------------------------------------------------------------- park tables
@dataclass
class _Parks:
    """Per-park arrays aligned with ``ids`` (one row per park)."""

    ids: np.ndarray
    frame: pd.DataFrame

    @classmethod
    def build(cls, parks: pd.DataFrame) -> _Parks:
        frame = pd.DataFrame(parks.drop(columns="geometry", errors="ignore")).reset_index(drop=True)
        return cls(frame.park_id.to_numpy(dtype=object), frame)

    def column(self, name: str) -> np.ndarray:
        return self.frame[name].to_numpy(dtype=float, na_value=np.nan)

    def index_of(self, park_ids: pd.Series) -> np.ndarray:
        """Position of each park id in this table (-1 for an unknown park or none)."""
        return positions_in(park_ids, self.ids)


class _TextCodes:
    """A text column as integer codes into its distinct values (-1: missing), so that a test of
    membership or equality runs over the few distinct values, then one take over the parcels."""

    def __init__(self, column):
        encoded = pc.dictionary_encode(arrow_text(column))
        self.codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
        self.values = pd.Index(encoded.dictionary.to_pylist(), dtype=object)

    def spread(self, per_value: np.ndarray, missing):
        """Each parcel's entry of ``per_value`` (one per distinct value), ``missing`` where it has none."""
        return np.append(per_value, np.asarray([missing], dtype=per_value.dtype))[self.codes]

    def isin(self, values) -> np.ndarray:
        """Like ``column.isin(values)`` with a missing value False."""
        return self.spread(self.values.isin(list(values)), False)

    def equals(self, value) -> np.ndarray:
        """Like ``column == value`` with a missing value False."""
        return self.spread(np.asarray(self.values == value, dtype=bool), False)


class PreparedParcels:
    """What matching needs from the parcels that no project changes, kept for one data revision.

    Text columns as integer codes (park, status, land use, chain, industry), the numbers and flags
    the candidates are built from as arrays, the parks' enterprise land, output and head counts, and
    — filled as matches ask for them — the parcels' bounds, the parcels projected to a metric zone
    and the same-chain enterprises as a tree. Each part is computed at its first use, so a single
    match (the CLI) pays only for what it uses, and the app, which keeps one object beside the
    parcels frame it caches per store revision (``app_pages/common.py``), pays for it once.

    It belongs to the frame it was built from: :func:`match` refuses it with any other frame (such
    as the next revision's after an edit), and that frame must not be modified in place.
    """

    #: Projected geometries and enterprise trees kept per metric zone and chain (a city uses one or two zones).
    MAX_ZONES = 4
    MAX_CLUSTERS = 16

    def __init__(self, parcels: gpd.GeoDataFrame, standards: Standards | None = None, geometries=None,
                 bounds=None):
        """``geometries`` and ``bounds``: for a frame without its geometry column (:data:`MATCH_COLUMNS`
        and metrics), functions from positions in it to those parcels' geometries (CGCS2000) and their
        ``shapely.bounds``, read at their first use."""
        self.parcels = parcels
        self.frame = parcels if "area_mu" in parcels.columns else with_metrics(parcels, standards)
        self._read_geometries = geometries
        self._read_bounds = bounds
        self._geometries = None if geometries is None else np.full(len(self.frame), None, dtype=object)
        self._projected: dict[str, np.ndarray] = {}
        self._clusters: dict[tuple, tuple] = {}
        self._bounds = np.full((len(self.frame), 4), np.nan)
        self._has_bounds = np.zeros(len(self.frame), dtype=bool)

    def __len__(self) -> int:
        return len(self.frame)

    def belongs_to(self, parcels) -> bool:
        """Whether this was prepared from ``parcels`` (the very frame, not an equal one)."""
        return parcels is self.parcels

    def _codes(self, column: str) -> _TextCodes:
        return _TextCodes(self.frame[column])

    def _floats(self, column: str) -> np.ndarray:
        return self.frame[column].to_numpy(dtype=float, na_value=np.nan)

    def _flags(self, column: str) -> np.ndarray:
        return self.frame[column].to_numpy(dtype=bool, na_value=False)

    park = cached_property(lambda self: self._codes("park_id"))
    status = cached_property(lambda self: self._codes("status"))
    land_use = cached_property(lambda self: self._codes("land_use_code"))
    chain = cached_property(lambda self: self._codes("chain"))
    industry = cached_property(lambda self: self._codes("industry_code"))
    area_mu = cached_property(lambda self: self._floats("area_mu"))
    land_ready = cached_property(lambda self: self._flags("land_ready"))
    gas = cached_property(lambda self: self._flags("gas"))

    @cached_property
    def _frame_geometries(self) -> np.ndarray:
        return np.asarray(self.frame.geometry.array)

    def geometries(self, positions: np.ndarray) -> np.ndarray:
        """The geometries of the parcels at ``positions``: the frame's, or read when first asked for."""
        if self._read_geometries is None:
            return self._frame_geometries[positions]
        missing = positions[shapely.is_missing(self._geometries[positions])]
        if len(missing):
            self._geometries[missing] = self._read_geometries(missing)
        return self._geometries[positions]

    @cached_property
    def needs(self) -> dict[str, np.ndarray]:
        """Utility capacities and distances, one float array per need."""
        return {c: self._floats(c) for c in (*CAPACITY_NEEDS, *DISTANCE_NEEDS)}

    @cached_property
    def enterprise_totals(self) -> dict[str, np.ndarray]:
        """Per distinct park id: land and output of its enterprises (occupied, inefficient), and the
        land and employees of those with a head count; each sum in the parcels' order."""
        codes, n = self.park.codes, len(self.park.values)
        ent = self.status.isin(ENTERPRISE_STATUSES) & (codes >= 0)
        employees = self._floats("employees")
        counted = ent & ~np.isnan(employees)
        area = self.area_mu
        return {"land": np.bincount(codes[ent], weights=area[ent], minlength=n),
                "output": np.bincount(codes[ent], weights=self.frame.output_wan.to_numpy(
                    dtype=float, na_value=0.0)[ent], minlength=n),
                "staffed_land": np.bincount(codes[counted], weights=area[counted], minlength=n),
                "staff": np.bincount(codes[counted], weights=employees[counted], minlength=n)}

    def park_positions(self, parks: _Parks) -> np.ndarray:
        """Each parcel's position in ``parks`` (-1 for an unknown park or none)."""
        return self.park.spread(parks.index_of(pd.Series(self.park.values, dtype=object)), -1)

    def park_totals(self, parks: _Parks) -> dict[str, np.ndarray]:
        """:attr:`enterprise_totals` per row of ``parks`` (0 for a park without parcels)."""
        where = parks.index_of(pd.Series(self.park.values, dtype=object))
        known = where >= 0
        out = {}
        for key, per_value in self.enterprise_totals.items():
            out[key] = np.zeros(len(parks.ids))
            out[key][where[known]] = per_value[known]
        return out

    def bounds(self, mask: np.ndarray) -> np.ndarray:
        """``shapely.bounds`` of the parcels in ``mask`` (each parcel's computed once, when first asked:
        a single match needs those of the land in question and the enterprises, not of every parcel)."""
        missing = mask & ~self._has_bounds
        if missing.any():
            positions = np.flatnonzero(missing)
            self._bounds[missing] = (shapely.bounds(self.geometries(positions)) if self._read_bounds is None
                                     else self._read_bounds(positions))
            self._has_bounds |= missing  # after the bounds: a concurrent match never reads unset ones
        return self._bounds[mask]

    def metric(self, positions: np.ndarray, crs_m: str) -> np.ndarray:
        """The parcels at ``positions`` projected to ``crs_m`` (each parcel projected once per zone)."""
        kept = self._projected.get(crs_m)
        if kept is None:
            if len(self._projected) >= self.MAX_ZONES:
                self._projected.clear()
            kept = self._projected[crs_m] = np.full(len(self.frame), None, dtype=object)
        missing = positions[shapely.is_missing(kept[positions])]
        if len(missing):
            kept[missing] = _metric(self.geometries(missing), crs_m)
        return kept[positions]

    def enterprise_points(self, project: Project, crs_m: str):
        """Same-chain enterprises (occupied, under construction, inefficient) as points in ``crs_m``
        (their bounding-box centres) and an STRtree of them; ``None`` when there are none."""
        key = (project.chain, None if project.chain else project.industry_code, crs_m)
        if key not in self._clusters:
            same = self.chain.equals(project.chain) if project.chain else self.industry.equals(project.industry_code)
            ent = self.status.isin(CLUSTER_STATUSES) & same
            found = None
            if ent.any():
                b = self.bounds(ent)
                ex, ey = transformer(CGCS2000, crs_m).transform((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)
                found = (ex, ey, shapely.STRtree(shapely.points(ex, ey)))
            if len(self._clusters) >= self.MAX_CLUSTERS:
                self._clusters.clear()
            self._clusters[key] = found
        return self._clusters[key]


def _chain_levels(parks: _Parks, project: Project, standards: Standards) -> np.ndarray:
    """Per park: characteristic / leading / related / none fit of the project's chain."""
    codes = standards.chain_codes()
    out = []
    # One pair per park (a dozen), not per parcel; plain lists, not itertuples (a frame per call).
    for characteristic, leading_chains in zip(parks.frame.characteristic_chain.tolist(),
                                              parks.frame.leading_chains.tolist()):
        leading = split_list(leading_chains)
        if project.chain and project.chain == characteristic:
            out.append("characteristic")
        elif project.chain and project.chain in leading:
            out.append("leading")
        elif any(project.industry_code[:2] in codes.get(c, []) for c in leading + [characteristic]):
            out.append("related")
        else:
            out.append("none")
    return np.array(out, dtype=object)


# ----------------------------------------------------------------------------- matching
#: The parcel columns matching reads (with the stored metrics ``area_mu``, ``output_wan`` and ``employees``).
MATCH_COLUMNS = ("parcel_id", "park_id", "status", "land_use_code", "chain", "industry_code", "land_ready", "gas",
                 *CAPACITY_NEEDS, *DISTANCE_NEEDS, "output_wan", "employees", "area_mu")


class _ParcelGone(Exception):
    """A parcel left the store while a match was reading its geometry (the match is made again)."""


def match_store(store, project, *, attempts: int = 3, **options) -> MatchResult:
    """:func:`match` on the parcels of ``store`` as :func:`geo.evaluation.parcels_with_metrics` gives
    them, reading only what matching uses: :data:`MATCH_COLUMNS` of every parcel with their stored
    metrics, and the geometries of the parcels the match looks at (the land still in question after
    the hard checks, the same-chain enterprises) rather than the whole layer (``cli.py match``;
    issue 20). When the store changes during a match, it is made again on the new data; a store
    keeping no metrics (the bundled sample) is read whole. ``options`` are :func:`match`'s."""
    from geo.store.metrics import read_parcel_columns

    parks = store.read_parks()
    for _ in range(attempts):
        read = read_parcel_columns(store, MATCH_COLUMNS)
        if read is None:
            break
        frame, revision = read
        ids = frame.parcel_id.to_numpy(dtype=object)

        def geometries(positions: np.ndarray) -> np.ndarray:
            found = store.read_parcel_geometries(ids[positions])
            if shapely.is_missing(found).any():
                raise _ParcelGone
            return found

        prepared = PreparedParcels(frame, geometries=geometries,
                                   bounds=lambda positions: store.read_parcel_bounds(ids[positions]))
        try:
            result = match(frame, parks, project, prepared=prepared, **options)
        except _ParcelGone:
            continue
        if store.revision() == revision:  # the geometries were read from the state of the attributes
            return result
    from geo.evaluation import parcels_with_metrics

    return match(parcels_with_metrics(store), parks, project, **options)


#: Columns of :attr:`MatchResult.candidates` besides the geometry.
RESULT_COLUMNS = ["rank", "kind", "parcel_ids", "park_id", "park_name_zh", "park_name_en", "area_mu", "score",
                  "needs_disposal", "criteria"]


def match(parcels: gpd.GeoDataFrame, parks: pd.DataFrame, project, *, top: int = 10,
          park_id: str | None = None, weights=None, standards: Standards | None = None,
          with_blocks: bool = True, settings: MatchSettings | None = None,
          include_disposal: bool | None = None, edition: str | None = None,
          chain_thresholds: pd.DataFrame | None = None, prepared: PreparedParcels | None = None) -> MatchResult:
    """Find and rank land for ``project``.

    Parameters
    ----------
    parcels : GeoDataFrame
        All parcels, preferably with metrics (:func:`geo.metrics.with_metrics`).
    parks : DataFrame
        The parks with their chains, red lines and entry thresholds.
    project : Project, dict or path
        Anything :func:`geo.project.load_project` accepts.
    top : int
        How many candidates to return (ranked, explained).
    park_id : str, optional
        Only this park.
    weights : dict or DataFrame, optional
        Ranking weights overriding ``data/standards/weights.csv``.
    with_blocks : bool
        Assemble blocks of adjacent parcels in parks where no single parcel fits.
    settings : MatchSettings, optional
        Default :func:`load_settings`.
    include_disposal : bool, optional
        Also consider idle and inefficient land (flagged ``needs_disposal``); overrides settings.
    edition : str, optional
        Edition of 《工业项目建设用地控制指标》 for the national checks (``editions.csv``);
        default the one ``standards`` use (the newest loaded).
    chain_thresholds : DataFrame, optional
        The city's entry thresholds per chain (``chain``, ``min_investment_wan_per_mu``,
        ``min_output_wan_per_mu``, ``min_tax_wan_per_mu``; :func:`geo.city.read_chain_thresholds`):
        for a project of a listed chain, each park's threshold is the higher of its own and the chain's.
    prepared : PreparedParcels, optional
        :class:`PreparedParcels` of this very ``parcels`` frame, kept by the caller across matches of
        one data revision (the app); built here when not given. One of another frame is refused.

    Returns
    -------
    MatchResult
    """
    standards = (standards or load_standards()).with_edition(edition)
    settings = settings or load_settings()
    project = load_project(project, standards)
    share = normalise_weights(weights)
    cited = {"reasons": exclusion_reasons(standards), "edition": standards.edition, "source": standards.source(),
             "source_en": standards.source(lang="en")}
    if top < 1:
        raise ParkAtlasError(f"top must be at least 1, got {top}")
    if prepared is None:
        prepared = PreparedParcels(parcels, standards)
    elif not prepared.belongs_to(parcels):
        raise ValueError("prepared parcels of another frame (another data revision): prepare these parcels")
    frame = prepared.frame
    pk = _Parks.build(with_chain_thresholds(parks, chain_thresholds, project.chain))
    known = set(pk.ids)
    park_groups = sorted(set(pk.frame.group.dropna()))
    unknown_groups = [g for g in project.groups if g not in park_groups]
    if unknown_groups:
        raise KeyedNotFound("match.refused.unknown_group", f"unknown group {unknown_groups[0]!r}; one of "
                            f"{', '.join(park_groups)}", group_id=unknown_groups[0])
    if park_id is not None and park_id not in known:
        raise unknown_park(park_id)
    for pid in project.preferred_parks:
        if pid not in known:
            raise unknown_park(pid, f"preferred park {pid!r} does not exist; see `python cli.py parks` for the ids")
    disposal = settings.include_disposal if include_disposal is None else include_disposal

    pidx = prepared.park_positions(pk)
    scope = pidx >= 0 if park_id is None else prepared.park.equals(park_id)
    safe = np.where(pidx >= 0, pidx, 0)
    area = prepared.area_mu
    checks = _hard_checks(prepared, pk, safe, area, project, standards, settings, disposal)
    reasons = list(checks)
    cut = reasons.index("area_out_of_range")
    excluded, before_area = _first_failures({r: checks[r] for r in reasons[:cut]}, scope)
    later, remaining = _first_failures({r: checks[r] for r in reasons[cut:]}, before_area)
    excluded |= later

    # One metric CRS for the whole match: the Gauss-Krüger zone of the land that may still qualify.
    crs_m = _metric_crs(prepared.bounds(before_area))
    # The candidates' member lists, projected geometries and points are tens of thousands of new objects
    # at 1M parcels: built with the collector paused (geo.gcpause), a seventh of a match's time saved.
    with gc_paused():
        cands = _single_candidates(prepared, remaining, pidx, standards, crs_m)
        if with_blocks:
            parks_with_single = np.zeros(len(pk.ids), dtype=bool)
            parks_with_single[pidx[remaining]] = True
            fits_block = (before_area & ~parks_with_single[safe]
                          & (area <= project.land_mu_max * (1 + settings.area_tolerance)))
            blocks, failed_blocks = _block_candidates(prepared, fits_block, pidx, pk, project, standards, settings,
                                                      crs_m)
            excluded |= failed_blocks
            cands = pd.concat([cands, blocks], ignore_index=True) if len(blocks) else cands

    if len(cands) == 0:
        empty = gpd.GeoDataFrame(columns=RESULT_COLUMNS, geometry=[], crs=CGCS2000)
        return MatchResult(project, empty, excluded, int(scope.sum()), share, **cited)

    with gc_paused():
        scores = _soft_scores(prepared, cands, pk, project, standards, settings, crs_m)
    total = 100.0 * sum(share[c] * scores[c]["score"] for c in CRITERIA)
    order = rank_order(total, cands.kind, cands.area_mu, meets_demand(cands.area_mu, project))[:top]
    # Only the top candidates are described: ids, statuses, names and the explanations, each column an
    # array and the frame made once (setting a column on a frame cost more than its ten values).
    chosen = {c: cands[c].to_numpy()[order] for c in ("kind", "members", "pidx", "area_mu", "needs_disposal",
                                                       "geometry_m")}
    members, park_at = chosen["members"].tolist(), chosen["pidx"]
    used = np.unique(np.concatenate(members))  # only the chosen parcels' texts leave Arrow
    described = frame.iloc[used, frame.columns.get_indexer(["parcel_id", "status", "land_use_code"])]
    ids, status, land_use = (described[c].to_numpy(dtype=object) for c in described.columns)
    rows = [np.searchsorted(used, m) for m in members]  # each candidate's rows of ``described``
    statuses = [sorted(set(status[r])) for r in rows]
    land_use_codes = [sorted(set(land_use[r])) for r in rows]
    national = standards.min_plot_ratio_2017().get(project.industry_code, np.nan)
    park_rows = pk.frame.to_dict("records")
    criteria = [
        _hard_explanations(SimpleNamespace(area_mu=chosen["area_mu"][i], needs_disposal=chosen["needs_disposal"][i],
                                           statuses=statuses[i], land_use_codes=land_use_codes[i]),
                           park_rows[park_at[i]], project, standards, settings, national)
        + _soft_explanations(scores, k, share, project, standards, settings)
        for i, k in enumerate(order)
    ]
    out = gpd.GeoDataFrame({
        "rank": np.arange(1, len(order) + 1), "kind": chosen["kind"], "parcel_ids": [ids[r].tolist() for r in rows],
        "park_id": pk.ids[park_at], "park_name_zh": pk.frame.name_zh.to_numpy(dtype=object)[park_at],
        "park_name_en": pk.frame.name_en.to_numpy(dtype=object)[park_at], "area_mu": chosen["area_mu"],
        "score": total[order], "needs_disposal": chosen["needs_disposal"], "criteria": criteria,
    }, geometry=reproject(chosen["geometry_m"], crs_m, CGCS2000), crs=CGCS2000)  # as GeoSeries.to_crs, no series
    return MatchResult(project, spread_scores(out, project, settings), excluded, int(scope.sum()), share, **cited,
                       eligible=len(cands))


def meets_demand(area_mu, project: Project) -> np.ndarray:
    """True where the area is within the stated demand (``land_mu_min``–``land_mu_max``), without the
    tolerance: land admitted only by the tolerance ranks after all land that meets the demand."""
    area = np.asarray(area_mu, dtype=float)
    return (area >= project.land_mu_min - 1e-9) & (area <= project.land_mu_max + 1e-9)


def rank_order(score, kind, area_mu, meets=None) -> np.ndarray:
    """Positions of candidates in ranking order: land meeting the demand first (``meets``, when
    given), then higher score (equal to 1e-9), then single parcels before blocks, then the smaller area."""
    score, area = np.asarray(score, dtype=float), np.asarray(area_mu, dtype=float)
    keys = [area, np.asarray(kind) == "block", -np.round(score, 9)]
    if meets is not None:
        keys.append(~np.asarray(meets, dtype=bool))
    return np.lexsort(keys)


def spread_scores(candidates: gpd.GeoDataFrame, project: Project,
                  settings: MatchSettings | None = None) -> gpd.GeoDataFrame:
    """Score the shortlisted candidates against each other, re-rank them, and fill ``score``/``rank``.

    A soft criterion on which the shortlist differs is rescaled across it: the best candidate gets 1,
    the others ``1 − gap / max(range, spread_min_range)`` (a difference smaller than the minimum range
    is magnified at most 1/``spread_min_range`` times, never blown up to the full weight). A criterion
    on which every candidate is equal keeps its own 0–1 score. The score is ``100 × Σ weight × that``
    and each soft criterion's ``contribution`` its share of it; the order is: meets the demand, score,
    single before block, smaller area. The same function serves the city and the province match.
    """
    if candidates.empty:
        return candidates
    settings = settings or load_settings()
    soft = [[c for c in criteria if c["kind"] == "soft"] for criteria in candidates.criteria]
    names = [c["name"] for c in soft[0]]
    raw = np.array([[c["score"] for c in row] for row in soft], dtype=float)
    weight = np.array([c["weight"] for c in soft[0]], dtype=float)
    best, worst = raw.max(axis=0), raw.min(axis=0)
    varies = best - worst > 1e-6
    spread = np.where(varies, 1 - (best - raw) / np.maximum(best - worst, settings.spread_min_range), raw)
    contributions = 100 * spread * weight
    out = candidates.copy()
    out["score"] = contributions.sum(axis=1)
    out["criteria"] = [
        [c | {"contribution": round(float(contributions[i, names.index(c["name"])]), 2)} if c["kind"] == "soft" else c
         for c in criteria] for i, criteria in enumerate(candidates.criteria)]
    order = rank_order(out.score, out.kind, out.area_mu, meets_demand(out.area_mu, project))
    out = out.iloc[order].reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def _first_failures(checks: dict[str, np.ndarray], candidates: np.ndarray,
                    prefix: str = "") -> tuple[dict[str, int], np.ndarray]:
    """Apply ``checks`` in order to ``candidates``: counts by first failed reason, and the survivors."""
    counts: dict[str, int] = {}
    remaining = candidates.copy()
    for reason, ok in checks.items():
        failed = remaining & ~ok
        if failed.any():
            counts[prefix + reason] = int(failed.sum())
        remaining &= ok
    return counts, remaining


def with_chain_thresholds(parks: pd.DataFrame, chain_thresholds: pd.DataFrame | None, chain) -> pd.DataFrame:
    """``parks`` whose entry thresholds are raised to ``chain``'s where the city sets higher ones;
    ``chain_threshold_<key>`` says where the chain's applies (the explanation cites it)."""
    if chain_thresholds is None or not chain or not (chain_thresholds.chain == chain).any():
        return parks
    row = chain_thresholds[chain_thresholds.chain == chain].iloc[0]
    raised = {}
    for key in ENTRY_THRESHOLDS:
        column = f"min_{key}_wan_per_mu"
        value = float(row[column]) if pd.notna(row[column]) else np.nan
        own = parks[column].to_numpy(dtype=float, na_value=np.nan)
        raised[column] = np.fmax(own, value)
        raised[f"chain_threshold_{key}"] = ~np.isnan(value) & ~(own >= value)
    return parks.assign(**raised)


def _at_least(value, threshold) -> np.ndarray:
    return np.logical_not(np.less(value, threshold))  # a missing threshold (NaN) passes


def _entry_checks(project: Project, pk: _Parks, park_positions: np.ndarray, area: np.ndarray) -> dict[str, np.ndarray]:
    """The park's entry thresholds per 亩, with each candidate's own ``area`` (True: passes)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return {reason: _at_least(getattr(project, f"{key}_wan") / area,
                                  pk.column(f"min_{key}_wan_per_mu")[park_positions])
                for key, reason in ENTRY_THRESHOLDS.items()}


def _hard_checks(prepared: PreparedParcels, pk: _Parks, safe, area, project: Project, standards: Standards,
                 settings: MatchSettings, disposal: bool) -> dict[str, np.ndarray]:
    """One boolean array per exclusion reason (True: passes), in checking order."""
    n = len(prepared)
    statuses = list(standards.available_statuses) + (list(standards.disposal_statuses) if disposal else [])
    compat = standards.landuse_compat
    allowed = compat.loc[(compat.nuisance_class.astype(int) == project.nuisance_class)
                         & compat.allowed.astype(str).str.lower().eq("true"), "land_use_code"]
    # A red-lined two-digit code bans its three-digit codes too (292 under 29).
    red = np.array([bool({project.industry_code, project.industry_code[:2]} & set(split_list(v)))
                    for v in pk.frame.red_line_industries], dtype=bool)
    groups_ok = (pk.frame.group.isin(project.groups).to_numpy(dtype=bool) if project.groups
                 else np.ones(len(pk.ids), dtype=bool))
    national = standards.min_plot_ratio_2017().get(project.industry_code, np.nan)
    limits = standards.national_limits
    tol = settings.area_tolerance
    ones = np.ones(n, dtype=bool)
    return {
        "status_not_available": prepared.status.isin(statuses),
        "park_group_not_wanted": groups_ok[safe],
        "land_use_incompatible": prepared.land_use.isin(allowed),
        "red_line_industry": ~red[safe],
        "plot_ratio_below_national_minimum": ones & _at_least(project.plot_ratio, national),
        "plot_ratio_below_park_minimum": _at_least(project.plot_ratio, pk.column("min_plot_ratio"))[safe],
        "building_coefficient_below_minimum": ones & _at_least(
            project.building_coefficient, limits.get("building_coefficient_min", np.nan)),
        "admin_share_above_maximum": ones & bool(
            project.admin_share is None or not project.admin_share > limits.get("admin_share_max", np.inf)),
        "green_ratio_above_maximum": ones & bool(
            project.green_ratio is None or not project.green_ratio > limits.get("green_ratio_max", np.inf)),
        "area_out_of_range": (area >= project.land_mu_min * (1 - tol)) & (area <= project.land_mu_max * (1 + tol)),
        **_entry_checks(project, pk, safe, area),
    }


_CAND_COLUMNS = ["kind", "members", "pidx", "area_mu", "land_ready", "needs_disposal", *CAPACITY_NEEDS, "gas",
                 *DISTANCE_NEEDS, "geometry_m"]


def _metric_crs(bounds: np.ndarray) -> str:
    """The Gauss-Krüger zone (EPSG code) nearest to the middle of the geometries of ``bounds`` (one
    row per geometry, CGCS2000 lon/lat: nothing to transform), their total bounds as
    ``shapely.total_bounds`` takes them."""
    if len(bounds) == 0:
        return "EPSG:4547"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: only empty geometries
        west, south = np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1])
        east, north = np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])
    return metric_crs((west + east) / 2, (south + north) / 2)


def _metric(geoms, crs_m: str) -> np.ndarray:
    """Geometries (CGCS2000) in the metric CRS ``crs_m``, as a shapely array."""
    return reproject(geoms, CGCS2000, crs_m)


def _single_candidates(prepared: PreparedParcels, mask, pidx, standards: Standards, crs_m: str) -> pd.DataFrame:
    """One candidate per parcel in ``mask``; ``members`` are positions in the parcels."""
    positions = np.flatnonzero(mask)
    columns = {
        "kind": "parcel",
        "members": positions[:, None].tolist(),
        "pidx": pidx[positions],
        "area_mu": prepared.area_mu[positions],
        "land_ready": prepared.land_ready[positions],
        "needs_disposal": prepared.status.isin(standards.disposal_statuses)[positions],
        "gas": prepared.gas[positions],
        "geometry_m": prepared.metric(positions, crs_m),
        **{col: values[positions] for col, values in prepared.needs.items()},
    }
    return pd.DataFrame({c: columns[c] for c in _CAND_COLUMNS})  # one frame, in the candidates' column order


def _block_candidates(prepared: PreparedParcels, mask, pidx, pk: _Parks, project: Project, standards: Standards,
                      settings: MatchSettings, crs_m: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Blocks of adjacent parcels (each passing all checks but area) that meet the demand.

    Returns the blocks passing the park's entry thresholds with their own area, and the
    assembled blocks that fail one, counted by ``block_`` + the first reason they fail.
    """
    positions = np.flatnonzero(mask)
    if len(positions) < 2:
        return pd.DataFrame(columns=_CAND_COLUMNS), {}
    geoms_m = prepared.metric(positions, crs_m)
    tol = settings.area_tolerance
    grown = grow_blocks(geoms_m, prepared.park.codes[positions], prepared.area_mu[positions],
                        min_mu=project.land_mu_min * (1 - tol), max_mu=project.land_mu_max * (1 + tol),
                        gap_m=settings.block_gap_m, max_parcels=settings.block_max_parcels,
                        seeds_per_component=settings.block_seeds_per_component)
    if not grown:
        return pd.DataFrame(columns=_CAND_COLUMNS), {}
    members = [np.asarray(b.members) for b in grown]
    flat = np.concatenate(members)
    owner = np.repeat(np.arange(len(grown)), [len(m) for m in members])
    at = positions[flat]  # the blocks' parcels, block by block
    agg = pd.DataFrame({"owner": owner, **{c: values[at] for c, values in prepared.needs.items()},
                        "ready": prepared.land_ready[at], "gas": prepared.gas[at],
                        "disposal": prepared.status.isin(standards.disposal_statuses)[at]})
    g = agg.groupby("owner")
    # A block connects to the best utility of any of its parcels and is as near as its nearest one.
    caps, dists = g[list(CAPACITY_NEEDS)].max(), g[list(DISTANCE_NEEDS)].min()
    out = pd.DataFrame({
        "kind": "block",
        "members": [positions[m].tolist() for m in members],
        "pidx": pidx[positions[[m[0] for m in members]]],
        "area_mu": [b.area_mu for b in grown],
        "land_ready": g.ready.all().to_numpy(),
        "needs_disposal": g.disposal.any().to_numpy(),
        "gas": g.gas.any().to_numpy(),
        "geometry_m": close_gaps(geoms_m, members, settings.block_gap_m),
    })
    for col in CAPACITY_NEEDS:
        out[col] = caps[col].to_numpy()
    for col in DISTANCE_NEEDS:
        out[col] = dists[col].to_numpy()
    # Entry thresholds per 亩 with the block's own area.
    checks = _entry_checks(project, pk, out.pidx.to_numpy(), out.area_mu.to_numpy(dtype=float))
    failed, ok = _first_failures(checks, np.ones(len(out), dtype=bool), prefix=BLOCK_PREFIX)
    return out.loc[ok, _CAND_COLUMNS].reset_index(drop=True), failed


def _soft_scores(prepared: PreparedParcels, cands: pd.DataFrame, pk: _Parks, project: Project,
                 standards: Standards, settings: MatchSettings, crs_m: str) -> dict[str, dict[str, np.ndarray]]:
    """Per criterion: ``score`` (0–1) and the raw values the explanation needs, all vectorised."""
    p = cands.pidx.to_numpy(dtype=int)
    area = cands.area_mu.to_numpy(dtype=float)
    geoms_m = cands.geometry_m.to_numpy()
    out: dict[str, dict[str, np.ndarray]] = {}

    park_levels = _chain_levels(pk, project, standards)
    park_scores = np.array([CHAIN_LEVELS[v] for v in park_levels])
    out["chain_fit"] = {"score": park_scores[p], "level": park_levels[p]}

    enterprises = prepared.enterprise_points(project, crs_m)
    counts = np.zeros(len(cands), dtype=int)
    if enterprises is not None:
        # Enterprises and candidates as points (bounding-box centres: the radius is kilometres,
        # parcels are hundreds of metres); an R-tree counts the neighbours within the radius.
        # The tree pairs each candidate with the enterprises in the square around it, and the distance
        # (computed as GEOS computes it for dwithin) is tested on the pairs at once: a third faster
        # than a dwithin query at 1M parcels, where the pairs run to hundreds of thousands.
        ex, ey, tree = enterprises
        c = shapely.bounds(geoms_m)
        cx, cy = (c[:, 0] + c[:, 2]) / 2, (c[:, 1] + c[:, 3]) / 2
        radius = settings.cluster_radius_km * 1000
        near, found = tree.query(shapely.box(cx - radius, cy - radius, cx + radius, cy + radius))
        dx, dy = ex[found] - cx[near], ey[found] - cy[near]
        counts = np.bincount(near[np.sqrt(dx * dx + dy * dy) <= radius], minlength=len(cx))
    out["cluster"] = {"score": np.minimum(counts / max(settings.cluster_saturation, 1), 1.0), "count": counts}

    needs = project.needs
    met, asked = [], []
    for key in CAPACITY_NEEDS:
        if getattr(needs, key) is not None:
            met.append(~(cands[key].to_numpy(dtype=float) < getattr(needs, key)))
            asked.append(key)
    if needs.gas:
        met.append(cands.gas.to_numpy(dtype=bool, na_value=False))
        asked.append("gas")
    for key in DISTANCE_NEEDS:
        if getattr(needs, key) is not None:
            met.append(~(cands[key].to_numpy(dtype=float) > getattr(needs, key)))
            asked.append(key)
    met_arr = np.vstack(met) if met else np.ones((0, len(cands)), dtype=bool)
    out["infrastructure"] = {"score": met_arr.mean(axis=0) if met else np.ones(len(cands)),
                             "met": met_arr, "asked": asked}

    used = np.minimum(area, project.land_mu_min) / np.maximum(area, project.land_mu_min)
    out["area_efficiency"] = {"score": used}

    with np.errstate(divide="ignore", invalid="ignore"):
        pp = 4 * math.pi * shapely.area(geoms_m) / shapely.length(geoms_m) ** 2
    out["compactness"] = {"score": np.clip(np.nan_to_num(pp / _SQUARE_PP), 0, 1), "pp": pp}

    ready = cands.land_ready.to_numpy(dtype=bool)
    disposal = cands.needs_disposal.to_numpy(dtype=bool)
    readiness = np.where(disposal, settings.readiness_disposal, np.where(ready, 1.0, settings.readiness_not_ready))
    out["readiness"] = {"score": readiness, "ready": ready & ~disposal, "disposal": disposal}

    totals = prepared.park_totals(pk)
    land, output = totals["land"], totals["output"]
    with np.errstate(divide="ignore", invalid="ignore"):
        before = (output / land)[p]
        after = (output[p] + project.output_wan) / (land[p] + area)
        relative = (project.output_wan / area) / before
    out["park_intensity"] = {"score": np.where(np.isfinite(relative), np.clip(relative / 2, 0, 1), 0.5),
                             "before": before, "after": after}

    preferred_park = np.isin(pk.ids, list(project.preferred_parks)) if project.preferred_parks else np.ones(len(pk.ids), dtype=bool)
    preferred = preferred_park[p]
    out["preferred_park"] = {"score": preferred.astype(float), "preferred": preferred}

    # Jobs per 亩 against the park's enterprises (those with a head count), like park_intensity.
    staffed_land, staff = totals["staffed_land"], totals["staff"]
    with np.errstate(divide="ignore", invalid="ignore"):
        park_density = np.where(staffed_land > 0, staff / staffed_land, np.nan)[p]
        density = project.jobs / area
        ratio = density / park_density
    # Jobs not stated, or a park without head counts: nothing to judge, full marks (like a missing threshold).
    judged = (project.jobs > 0) & np.isfinite(ratio)
    out["jobs_per_mu"] = {"score": np.where(judged, np.clip(ratio, 0, 1), 1.0), "density": density,
                          "park": park_density}
    return out


# ----------------------------------------------------------------------------- explanations
def _criterion(name, kind, value, threshold, passed, weight, score, zh, en, source=(None, None)) -> dict:
    def plain(v):
        if v is None or (np.ndim(v) == 0 and not isinstance(v, str) and pd.isna(v)):
            return None
        if isinstance(v, (np.floating, float)):
            return None if not math.isfinite(v) else round(float(v), 3)
        return v.item() if isinstance(v, np.generic) else v
    return {"name": name, "kind": kind, "value": plain(value), "threshold": plain(threshold),
            "pass": bool(passed), "weight": round(weight, 4), "score": round(float(score), 3),
            "contribution": round(100.0 * weight * float(score), 2), "source": source[0], "source_en": source[1],
            "reason_zh": zh, "reason_en": en}


def _fmt(v, digits=1) -> str:
    return "—" if v is None or pd.isna(v) else f"{v:,.{digits}f}"


#: Where a chain's entry threshold comes from: the city's own table, set by `city init` / `city chains`.
#: Sources of the local checks, (zh, en): the park's own entry standards and the city's chain thresholds.
PARK_SOURCE = ("园区准入标准（parks）", "park entry standards (parks)")
CHAIN_THRESHOLD_SOURCE = ("城市产业链准入门槛（chain_thresholds）", "the city's chain entry thresholds (chain_thresholds)")


def _hard_explanations(row, park: dict, project: Project, standards: Standards, settings: MatchSettings,
                       national: float) -> list[dict]:
    red_lines = park["red_line_industries"] if isinstance(park["red_line_industries"], str) else ""
    park_min_pr = park["min_plot_ratio"] if pd.notna(park["min_plot_ratio"]) else None
    limits = standards.national_limits
    source, source_en = standards.source(), standards.source(lang="en")
    cited = (source, source_en)
    note = standards.plot_ratio_note(project.industry_code)
    note_zh, note_en = (f"；{note[0]}", f"; {note[1]}") if note else ("", "")
    codes_2002 = project.industry_code_2002.replace(";", "/")
    lo, hi, tol = project.land_mu_min, project.land_mu_max, settings.area_tolerance
    disposal = bool(row.needs_disposal)
    statuses = "/".join(row.statuses)
    names = {lang: {name: display.format_value(values, kind, lang) for name, kind, values in
                    (("status", "status", list(row.statuses)), ("land_use", "land_use", list(row.land_use_codes)),
                     ("industry", "industry", project.industry_code),
                     ("red_lines", "industry", split_list(red_lines)))}
             for lang in ("zh", "en")}
    banned = {"zh": names["zh"]["red_lines"] if red_lines else "无", "en": names["en"]["red_lines"] if red_lines else "none"}
    out = [
        _criterion("status", "hard", statuses, "/".join(standards.available_statuses), True, 0.0, 1.0,
                   f"地块状态：{names['zh']['status']}" + ("，需先处置（闲置/低效用地）" if disposal else ""),
                   f"status: {names['en']['status']}" + (", needs disposal first (idle/inefficient land)" if disposal else "")),
        _criterion("land_use", "hard", "/".join(row.land_use_codes), f"M{project.nuisance_class}", True, 0.0, 1.0,
                   f"用地类别 {names['zh']['land_use']} 允许 {project.nuisance_class} 类污染等级项目",
                   f"land use {names['en']['land_use']} allows nuisance class {project.nuisance_class}",
                   tuple(f"{standards.source('land_use', lang=lang)}; data/standards/landuse_compat.csv"
                         for lang in ("zh", "en"))),
        _criterion("red_line", "hard", project.industry_code, red_lines, True, 0.0, 1.0,
                   f"行业 {names['zh']['industry']} 不在园区禁止类行业（{banned['zh']}）之列",
                   f"industry {names['en']['industry']} is not red-lined in the park ({banned['en']})"),
        _criterion("plot_ratio_national", "hard", project.plot_ratio, national, True, 0.0, 1.0,
                   f"容积率 {project.plot_ratio:g} ≥ 国家标准 {_fmt(national)}（2002 行业代码 {codes_2002}"
                   f"{note_zh}；{source}）",
                   f"plot ratio {project.plot_ratio:g} ≥ national minimum {_fmt(national)} (2002 code "
                   f"{codes_2002}{note_en}; {source_en})", cited),
        _criterion("plot_ratio_park", "hard", project.plot_ratio, park_min_pr, True, 0.0, 1.0,
                   f"容积率 {project.plot_ratio:g} ≥ 园区标准 {_fmt(park_min_pr)}",
                   f"plot ratio {project.plot_ratio:g} ≥ park minimum {_fmt(park_min_pr)}", PARK_SOURCE),
        _criterion("building_coefficient", "hard", project.building_coefficient,
                   limits.get("building_coefficient_min"), True, 0.0, 1.0,
                   f"建筑系数 {project.building_coefficient:.0%} ≥ {limits.get('building_coefficient_min', 0):.0%}（{source}）",
                   f"building coefficient {project.building_coefficient:.0%} ≥ "
                   f"{limits.get('building_coefficient_min', 0):.0%} ({source_en})", cited),
    ]
    if project.admin_share is not None:
        out.append(_criterion("admin_share", "hard", project.admin_share, limits.get("admin_share_max"), True, 0.0, 1.0,
                              f"行政办公及生活服务设施用地 {project.admin_share:.0%} ≤ "
                              f"{limits.get('admin_share_max', 1):.0%}（{source}）",
                              f"admin share {project.admin_share:.0%} ≤ {limits.get('admin_share_max', 1):.0%} ({source_en})",
                              cited))
    if project.green_ratio is not None:
        out.append(_criterion("green_ratio", "hard", project.green_ratio, limits.get("green_ratio_max"), True, 0.0, 1.0,
                              f"绿地率 {project.green_ratio:.0%} ≤ {limits.get('green_ratio_max', 1):.0%}（{source}）",
                              f"green ratio {project.green_ratio:.0%} ≤ {limits.get('green_ratio_max', 1):.0%} ({source_en})",
                              cited))
    out.append(_criterion("area", "hard", row.area_mu, f"{lo:g}–{hi:g}", True, 0.0, 1.0,
                          f"面积 {row.area_mu:.1f} 亩，需求 {lo:g}–{hi:g} 亩（容差 {tol:.0%}）",
                          f"area {row.area_mu:.1f} mu for a demand of {lo:g}–{hi:g} mu (tolerance {tol:.0%})"))
    labels = {"investment": ("投资强度", "investment intensity"), "output": ("亩均产值", "output per mu"),
              "tax": ("亩均税收", "tax per mu")}
    for key, (zh, en) in labels.items():
        value = getattr(project, f"{key}_wan") / row.area_mu
        threshold = park[f"min_{key}_wan_per_mu"]
        by_chain = bool(park.get(f"chain_threshold_{key}", False))
        chain = {lang: display.format_value(project.chain, "chain", lang) for lang in ("zh", "en")}
        whose_zh, whose_en = (f"产业链（{chain['zh']}）门槛", f"{chain['en']} chain threshold") if by_chain else \
            ("园区门槛", "park threshold")
        out.append(_criterion(f"{key}_per_mu", "hard", value, threshold, True, 0.0, 1.0,
                              f"{zh} {_fmt(value)} 万元/亩 ≥ {whose_zh} {_fmt(threshold)} 万元/亩",
                              f"{en} {_fmt(value)} 10k yuan/mu ≥ {whose_en} {_fmt(threshold)} 10k yuan/mu",
                              CHAIN_THRESHOLD_SOURCE if by_chain else PARK_SOURCE))
    return out


_NEED_TEXT = {
    "power_kva": ("电力", "power", "kVA"), "water_t_per_day": ("供水", "water", "t/d"), "gas": ("燃气", "gas", ""),
    "highway_km": ("距高速出入口", "highway exit", "km"), "port_km": ("距港口", "port", "km"),
    "rail_km": ("距铁路货站", "rail freight", "km"),
}


def _soft_explanations(scores, k: int, share: dict[str, float], project: Project, standards: Standards,
                       settings: MatchSettings) -> list[dict]:
    if project.chain:
        chain_zh, chain_en = standards.chain_name(project.chain)
    else:
        chain_zh, chain_en = (f"行业 {display.format_value(project.industry_code, 'industry', 'zh')} ",
                              f"industry {display.format_value(project.industry_code, 'industry', 'en')}")
    out = []

    s = scores["chain_fit"]
    level = s["level"][k]
    text = {"characteristic": ("是园区特色产业（一县一园一特色）", "is the park's characteristic industry"),
            "leading": ("属园区主导产业链", "is one of the park's leading chains"),
            "related": ("行业属园区主导产业链相关行业", "shares its industry with a leading chain of the park"),
            "none": ("与园区特色及主导产业链均不相符", "fits neither the park's characteristic nor its leading chains")}[level]
    out.append(_criterion("chain_fit", "soft", level, "characteristic", level in ("characteristic", "leading"),
                          share["chain_fit"], s["score"][k], f"{chain_zh}{text[0]}", f"{chain_en} {text[1]}"))

    s = scores["cluster"]
    n = int(s["count"][k])
    radius, sat = settings.cluster_radius_km, settings.cluster_saturation
    out.append(_criterion("cluster", "soft", n, sat, n >= sat, share["cluster"], s["score"][k],
                          f"{radius:g} 公里内有同链企业 {n} 家（{sat} 家及以上得满分）",
                          f"{n} enterprises of the same chain within {radius:g} km ({sat} or more score full marks)"))

    s = scores["infrastructure"]
    asked = s["asked"]
    missing = [a for a, ok in zip(asked, s["met"][:, k]) if not ok]
    if not asked:
        zh, en = "项目未提出基础设施要求", "the project states no infrastructure needs"
    elif not missing:
        zh = "满足全部基础设施需求：" + "、".join(_NEED_TEXT[a][0] for a in asked)
        en = "meets every infrastructure need: " + ", ".join(_NEED_TEXT[a][1] for a in asked)
    else:
        zh = "未满足：" + "、".join(_NEED_TEXT[a][0] for a in missing)
        en = "not met: " + ", ".join(_NEED_TEXT[a][1] for a in missing)
    out.append(_criterion("infrastructure", "soft", f"{len(asked) - len(missing)}/{len(asked)}", f"{len(asked)}/{len(asked)}",
                          not missing, share["infrastructure"], s["score"][k], zh, en))

    s = scores["area_efficiency"]
    out.append(_criterion("area_efficiency", "soft", s["score"][k], 1.0, s["score"][k] >= 0.9, share["area_efficiency"],
                          s["score"][k], f"项目最少需 {project.land_mu_min:g} 亩，用地匹配度 {s['score'][k]:.0%}",
                          f"the project needs at least {project.land_mu_min:g} mu; area fit {s['score'][k]:.0%}"))

    s = scores["compactness"]
    pp = float(s["pp"][k])
    shape_zh, shape_en = ("规整", "compact") if pp >= COMPACT_TARGET else ("狭长或不规则", "elongated or irregular")
    out.append(_criterion("compactness", "soft", pp, COMPACT_TARGET, pp >= COMPACT_TARGET, share["compactness"],
                          s["score"][k], f"形状指数（Polsby-Popper）{pp:.2f}，{shape_zh}",
                          f"shape index (Polsby-Popper) {pp:.2f}: {shape_en}"))

    s = scores["readiness"]
    score = float(s["score"][k])
    if s["ready"][k]:
        zh, en = "净地，可即供地", "ready land (净地), can be supplied now"
    elif s["disposal"][k]:
        zh, en = "闲置/低效用地，需先处置", "idle or inefficient land: needs disposal first"
    else:
        zh, en = "非净地，需先完成征拆平整", "not yet ready: clearing and servicing needed first"
    if project.latest_start and not s["ready"][k]:
        zh += f"，注意最迟开工 {project.latest_start.isoformat()}"
        en += f"; latest start {project.latest_start.isoformat()}"
    out.append(_criterion("readiness", "soft", "ready" if s["ready"][k] else "not_ready", "ready", bool(s["ready"][k]),
                          share["readiness"], score, zh, en))

    s = scores["park_intensity"]
    before, after = float(s["before"][k]), float(s["after"][k])
    out.append(_criterion("park_intensity", "soft", after, before, not after < before, share["park_intensity"],
                          s["score"][k], f"落地后园区亩均产值 {_fmt(before)} → {_fmt(after)} 万元/亩",
                          f"park output per mu {_fmt(before)} → {_fmt(after)} 10k yuan/mu after landing"))

    s = scores["preferred_park"]
    pref = bool(s["preferred"][k])
    if not project.preferred_parks:
        zh, en = "项目未指定意向园区", "the project names no preferred park"
    else:
        zh, en = ("位于项目意向园区", "in a preferred park") if pref else ("不在项目意向园区", "not in a preferred park")
    out.append(_criterion("preferred_park", "soft", pref, True, pref, share["preferred_park"], s["score"][k], zh, en))

    s = scores["jobs_per_mu"]
    density, park = float(s["density"][k]), float(s["park"][k])
    if not project.jobs:
        density = None
        zh, en = "项目未填报就业人数", "the project states no jobs"
    elif not math.isfinite(park):
        zh = f"就业密度 {_fmt(density)} 人/亩（{project.jobs} 人），园区无企业就业数据，不作比较"
        en = f"{_fmt(density)} jobs per mu ({project.jobs} jobs); the park has no enterprise head counts to compare"
    else:
        zh = f"就业密度 {_fmt(density)} 人/亩（{project.jobs} 人），园区企业平均 {_fmt(park)} 人/亩"
        en = f"{_fmt(density)} jobs per mu ({project.jobs} jobs); the park's enterprises average {_fmt(park)}"
    out.append(_criterion("jobs_per_mu", "soft", density, park, density is None or not density < park,
                          share["jobs_per_mu"], s["score"][k], zh, en))
    return out


# ----------------------------------------------------------------------------- what-if
WHAT_IF_KEYS = ("occupancy_rate", "occupied_area_mu", "available_area_mu", "plot_ratio",
                "investment_per_mu_wan", "output_per_mu_wan", "tax_per_mu_wan")


def what_if(parcels: gpd.GeoDataFrame, parks: pd.DataFrame, candidate, project,
            standards: Standards | None = None) -> dict:
    """The park's occupancy and area-weighted intensity before and after landing the project.

    Parameters
    ----------
    parcels : GeoDataFrame
        Parcels (with or without metrics); only the candidate's park is used.
    parks : DataFrame
        The parks.
    candidate : mapping, row or list of parcel ids
        A row of :attr:`MatchResult.candidates` (anything with ``parcel_ids``) or the ids.
    project : Project, dict or path

    Returns
    -------
    dict
        ``park_id``, ``parcel_ids``, ``before`` and ``after`` (each: :data:`WHAT_IF_KEYS`).
        The project's investment, output and tax are spread over its parcels by area; its
        floor area and footprint follow its plot ratio and building coefficient.
    """
    standards = standards or load_standards()
    project = load_project(project, standards)
    ids = list(candidate["parcel_ids"] if not isinstance(candidate, (list, tuple)) else candidate)
    frame = parcels if "area_mu" in parcels.columns else with_metrics(parcels, standards)
    rows = frame.loc[frame.parcel_id.isin(ids)]
    if len(rows) != len(set(ids)):
        missing = sorted(set(ids) - set(rows.parcel_id))
        raise NotFoundError(f"parcel {missing[0]!r} does not exist")
    park_ids = rows.park_id.unique()
    if len(park_ids) != 1:
        raise ParkAtlasError("a candidate's parcels must all belong to one park")
    park_id = park_ids[0]
    park = parks.loc[parks.park_id == park_id]
    before = frame.loc[frame.park_id == park_id]
    after = before.copy()
    land = after.parcel_id.isin(ids)
    area_m2 = after.loc[land, "area_m2"]
    weight = area_m2 / area_m2.sum()
    after.loc[land, "status"] = "occupied"
    for key in ("investment_wan", "output_wan", "tax_wan"):
        after.loc[land, key] = getattr(project, key) * weight
    after.loc[land, "floor_area_m2"] = project.plot_ratio * area_m2
    after.loc[land, "footprint_m2"] = project.building_coefficient * area_m2
    after.loc[land, "enterprise"] = project.investor or project.name
    after.loc[land, "chain"] = project.chain
    after.loc[land, "industry_code"] = project.industry_code
    metric_columns = [*PARCEL_METRICS, "grade"]
    after = with_metrics(after.drop(columns=[c for c in after.columns if c in metric_columns]), standards)

    def kpis(f):
        row = park_kpis(f, park, standards).iloc[0]
        return {k: (None if pd.isna(row[k]) else float(row[k])) for k in WHAT_IF_KEYS}

    return {"park_id": park_id, "parcel_ids": ids, "before": kpis(before), "after": kpis(after)}


# ----------------------------------------------------------------------------- planner's tables
#: How each criterion's ``value`` and ``threshold`` are shown (kinds of :mod:`geo.display`).
CRITERION_KINDS = {
    "status": "status", "land_use": "land_use", "red_line": "industry", "plot_ratio_national": "ratio",
    "plot_ratio_park": "ratio", "building_coefficient": "percent", "admin_share": "percent", "area": "area_mu",
    "investment_per_mu": "wan_per_mu", "output_per_mu": "wan_per_mu", "tax_per_mu": "wan_per_mu",
    "chain_fit": "level", "cluster": "integer", "infrastructure": "text", "area_efficiency": "percent",
    "compactness": "number", "readiness": "level", "park_intensity": "wan_per_mu", "preferred_park": "bool",
    "jobs_per_mu": "number",
}
#: What-if indicators → display kinds.
WHAT_IF_KINDS = {"occupancy_rate": "percent", "occupied_area_mu": "area_mu", "available_area_mu": "area_mu",
                 "plot_ratio": "ratio", "investment_per_mu_wan": "wan_per_mu", "output_per_mu_wan": "wan_per_mu",
                 "tax_per_mu_wan": "wan_per_mu"}


def criterion_value(name: str, value, lang: str = "zh") -> str:
    """A criterion's value or threshold in the planner's words (labels, units, percentages)."""
    kind = CRITERION_KINDS.get(name, "text")
    if kind == "level":
        return "–" if value is None else i18n.t(f"match.level.{value}", lang)
    if isinstance(value, str) and kind in ("status", "land_use", "industry"):
        parts = [p for p in value.replace(";", "/").split("/") if p]
        return display.format_value(parts, kind, lang) if parts else "–"
    if isinstance(value, str) and kind in display.NUMERIC_KINDS:  # a range such as "80–120"
        unit = display.NUMERIC_KINDS[kind][1]
        return f"{value} {i18n.t(unit, lang)}" if unit else value
    return display.format_value(value, kind, lang)


def criterion_label(name: str, lang: str = "zh") -> str:
    """The criterion's name in ``lang`` (weights table for soft criteria, catalogue for hard checks)."""
    return display.label(name, "criterion", lang)


def criteria_frame(criteria: list[dict], lang: str = "zh") -> pd.DataFrame:
    """A candidate's explanation as a planner's table: criterion, value, threshold, pass, weight,
    contribution and reason, every cell formatted (no codes, no reprs)."""
    say = lambda key: i18n.t(f"match.{key}", lang)  # noqa: E731
    return pd.DataFrame({
        say("criterion"): [criterion_label(c["name"], lang) for c in criteria],
        say("value"): [criterion_value(c["name"], c["value"], lang) for c in criteria],
        say("threshold"): [criterion_value(c["name"], c["threshold"], lang) for c in criteria],
        say("pass"): [display.format_bool(c["pass"], lang) for c in criteria],
        say("weight"): [display.format_percent(c["weight"], lang) if c["kind"] == "soft" else "–" for c in criteria],
        say("contribution"): [display.format_value(c["contribution"], "score", lang) if c["kind"] == "soft" else "–"
                              for c in criteria],
        say("reason"): [c["reason_en" if lang == "en" else "reason_zh"] for c in criteria],
        say("source"): [(c.get("source_en") if lang == "en" else None) or c.get("source") or "–" for c in criteria],
    })


def what_if_frame(effect: dict, lang: str = "zh") -> pd.DataFrame:
    """:func:`what_if`'s before/after as a planner's table with the signed change and unit."""
    keys = list(effect["before"])
    before, after = effect["before"], effect["after"]
    return pd.DataFrame({
        i18n.t("match.indicator", lang): [i18n.t(f"match.what_if.{k}", lang) for k in keys],
        i18n.t("match.before", lang): [display.format_value(before[k], WHAT_IF_KINDS[k], lang) for k in keys],
        i18n.t("match.after", lang): [display.format_value(after[k], WHAT_IF_KINDS[k], lang) for k in keys],
        i18n.t("match.change", lang): [display.format_delta(before[k], after[k], WHAT_IF_KINDS[k], lang)
                                        for k in keys],
    })

