"""Land-use intensity metrics, vectorised over parcels and aggregated per park, group and city.

Per parcel (keys as in the CLI's JSON):

``area_m2``, ``area_mu``, ``area_ha``
    Planar area in the parcel's own CGCS2000 Gauss-Krüger zone (never from degrees).
``plot_ratio`` (容积率)
    (floor area + floor area of storeys over 8 m high, counted a second time) / land area.
``building_coefficient`` (建筑系数)
    (building footprint + structures 构筑物 + open storage yards 堆场) / land area.

Both as 《工业项目建设用地控制指标》 (国土资发〔2008〕24号) defines them; a missing structures, yard
or over-8 m figure counts as none.
``investment_per_mu_wan`` (投资强度), ``output_per_mu_wan`` (亩均产值), ``tax_per_mu_wan`` (亩均税收)
    万元 per 亩 of land.

Aggregates use area-weighted ratios (sum of output / sum of land of the enterprises), the way
亩均 figures are published, alongside the mean and median of the per-parcel values.
"""
from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import projected_area_m2
from geo.idle import idle_status
from geo.standards import Standards, load_standards
from geo.units import m2_to_ha, m2_to_mu

PARCEL_METRICS = ["area_m2", "area_mu", "area_ha", "plot_ratio", "building_coefficient",
                  "investment_per_mu_wan", "output_per_mu_wan", "tax_per_mu_wan"]
INTENSITY_INDICATORS = ["plot_ratio", "building_coefficient", "investment_per_mu_wan",
                        "output_per_mu_wan", "tax_per_mu_wan"]
#: Statuses of parcels run by an enterprise whose intensity is measured and graded.
ENTERPRISE_STATUSES = ("occupied", "inefficient")
GRADES = ("A", "B", "C", "D")


#: Parts counted with the floor area and the building footprint, missing read as 0 (2008 definitions).
FLOOR_AREA_EXTRA = ("floor_area_over_8m_m2",)
FOOTPRINT_EXTRA = ("structures_footprint_m2", "yard_area_m2")


def _extra(frame: pd.DataFrame, columns) -> np.ndarray:
    """Sum of the optional columns present in ``frame``, a missing value counting as 0."""
    total = np.zeros(len(frame))
    for col in columns:
        if col in frame.columns:
            total += np.nan_to_num(frame[col].to_numpy(dtype=float, na_value=np.nan))
    return total


def floor_area_counted(frame: pd.DataFrame) -> np.ndarray:
    """容积率 floor area (m²): storeys with a ceiling over 8 m count twice (2008)."""
    return frame["floor_area_m2"].to_numpy(dtype=float, na_value=np.nan) + _extra(frame, FLOOR_AREA_EXTRA)


def footprint_counted(frame: pd.DataFrame) -> np.ndarray:
    """建筑系数 footprint (m²): buildings + structures + open storage yards (2008)."""
    return frame["footprint_m2"].to_numpy(dtype=float, na_value=np.nan) + _extra(frame, FOOTPRINT_EXTRA)


def parcel_metrics(parcels: gpd.GeoDataFrame, area_m2: np.ndarray | None = None) -> pd.DataFrame:
    """Per-parcel area and intensity metrics, aligned with ``parcels.index``.

    ``area_m2`` gives the parcels' planar areas when known (e.g. stored with the parcels, see
    :mod:`geo.store.metrics`); otherwise they are computed from the geometries.
    """
    area_m2 = projected_area_m2(parcels.geometry) if area_m2 is None else np.asarray(area_m2, dtype=float)
    area_mu = m2_to_mu(area_m2)
    def values(col):
        return parcels[col].to_numpy(dtype=float, na_value=np.nan)

    with np.errstate(divide="ignore", invalid="ignore"):
        frame = pd.DataFrame({
            "area_m2": area_m2,
            "area_mu": area_mu,
            "area_ha": m2_to_ha(area_m2),
            "plot_ratio": floor_area_counted(parcels) / area_m2,
            "building_coefficient": footprint_counted(parcels) / area_m2,
            "investment_per_mu_wan": values("investment_wan") / area_mu,
            "output_per_mu_wan": values("output_wan") / area_mu,
            "tax_per_mu_wan": values("tax_wan") / area_mu,
        }, index=parcels.index)
    return frame


def with_metrics(parcels: gpd.GeoDataFrame, standards: Standards | None = None,
                 grades: pd.Series | None = None, area_m2: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """``parcels`` with the metric columns and the 亩均 ``grade`` appended.

    ``grades`` maps ``parcel_id`` → grade of the parcel's enterprise from the evaluation over
    the whole jurisdiction (:func:`geo.evaluation.parcel_grades`), so a parcel has one grade in
    every view; without it the grade is the tax-per-亩 illustration ranked among ``parcels``.
    ``area_m2``: the parcels' areas when known (:func:`parcel_metrics`).
    """
    out = parcels.join(parcel_metrics(parcels, area_m2))
    if grades is None:
        out["grade"] = mu_grades(out, standards)
    else:
        out["grade"] = out.parcel_id.map(grades).astype("string")
    return out


def mu_grades(parcels: pd.DataFrame, standards: Standards | None = None) -> pd.Series:
    """Grades A–D by tax per 亩 among enterprises (others get <NA>) — a placeholder, not 亩均论英雄.

    The shares come from ``data/standards/grades.csv`` (one city's class shares, A top 25%, B next 45%,
    C next 25%, D bottom 5%). Needs ``tax_per_mu_wan`` (see :func:`with_metrics`).
    """
    standards = standards or load_standards()
    graded = parcels.status.isin(ENTERPRISE_STATUSES) & parcels.tax_per_mu_wan.notna()
    # Share of graded enterprises ranked above each one: 0 for the best.
    rank = parcels.loc[graded, "tax_per_mu_wan"].rank(ascending=False, method="first")
    position = (rank.to_numpy() - 1) / graded.sum()
    bounds = np.cumsum(standards.grades.share.to_numpy())
    idx = np.searchsorted(bounds, position + 1e-12, side="left")
    labels = standards.grades.grade.to_numpy()[np.minimum(idx, len(bounds) - 1)]
    grades = pd.Series(pd.NA, index=parcels.index, dtype="string")
    grades.loc[graded] = labels
    return grades


def idle_land_warnings(parcels: pd.DataFrame, as_of: date | None = None) -> pd.DataFrame:
    """Idle parcels per 《闲置土地处置办法》 (2012), judged by :func:`geo.idle.idle_status`.

    Returns ``parcel_id, park_id, enterprise, contract_start_date, stopped_since`` and the
    judgement's columns (``idle_case``, ``rule``, ``stage`` = the rule without ``idle_``:
    ``fee`` / ``repossession`` / ``exempt``, anniversaries, ``days_overdue``, cause, source),
    sorted by park and days overdue.
    """
    frame = parcels if "area_mu" in parcels.columns else parcels.join(parcel_metrics(parcels)[["area_mu"]])
    status = idle_status(frame, as_of)
    flagged = status.rule.notna()
    keep = [c for c in ("parcel_id", "park_id", "enterprise", "contract_start_date", "stopped_since")
            if c in frame.columns]
    out = pd.DataFrame(frame.loc[flagged, keep]).join(status.loc[flagged])
    out.insert(out.columns.get_loc("rule") + 1, "stage", out.rule.str.removeprefix("idle_"))
    return out.sort_values(["park_id", "days_overdue"], ascending=[True, False]).reset_index(drop=True)


def aggregate_sums(frame: pd.DataFrame, keys: list[str], standards: Standards) -> pd.DataFrame:
    """Additive parts of the aggregates per group of ``keys``: counts, areas, enterprise sums, grades.

    Sums of two disjoint sets of parcels add up to the sums of their union, so the Dask path
    (:mod:`geo.province`) computes these per partition, adds them and calls :func:`finish_aggregate`.
    """
    s = frame.status
    mu = frame.area_mu
    enterprise = s.isin(ENTERPRISE_STATUSES)
    industrial = frame.land_use_code.isin(standards.industrial_codes)
    parts = pd.DataFrame({
        "parcel_count": 1,
        "total_area_mu": mu,
        "industrial_area_mu": mu.where(industrial, 0.0),
        # Occupancy = occupied industrial land / industrial land: land outside 10 工矿用地 (e.g. 11 仓储
        # logistics) counts in neither.
        "occupied_area_mu": mu.where(s.isin(standards.occupied_statuses) & industrial, 0.0),
        "available_area_mu": mu.where(s.isin(standards.available_statuses), 0.0),
        "available_parcel_count": s.isin(standards.available_statuses).astype(int),
        "idle_area_mu": mu.where(s == "idle", 0.0),
        "inefficient_area_mu": mu.where(s == "inefficient", 0.0),
        "enterprise_area_mu": mu.where(enterprise, 0.0),
        "enterprise_area_m2": frame.area_m2.where(enterprise, 0.0),
        "enterprise_floor_m2": pd.Series(floor_area_counted(frame), index=frame.index).where(enterprise, 0.0).fillna(0.0),
        "enterprise_footprint_m2": pd.Series(footprint_counted(frame), index=frame.index).where(enterprise, 0.0).fillna(0.0),
        "enterprise_investment_wan": frame.investment_wan.where(enterprise, 0.0).fillna(0.0),
        "enterprise_output_wan": frame.output_wan.where(enterprise, 0.0).fillna(0.0),
        "enterprise_tax_wan": frame.tax_wan.where(enterprise, 0.0).fillna(0.0),
    })
    for g in GRADES:
        parts[f"grade_{g}"] = (enterprise & frame.grade.eq(g).fillna(False)).astype(int)
    parts[keys] = frame[keys]
    return parts.groupby(keys, sort=False).sum()


def indicator_stats(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean and median of each intensity indicator among enterprises, per group of ``keys``."""
    enterprise = frame.status.isin(ENTERPRISE_STATUSES)
    stats = frame.loc[enterprise].groupby(keys, sort=False)[INTENSITY_INDICATORS].agg(["mean", "median"])
    stats.columns = [f"{ind}_{stat}" for ind, stat in stats.columns]
    return stats


def finish_aggregate(sums: pd.DataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    """Ratios from the summed parts (see :func:`aggregate_sums`), joined with the indicator stats."""
    sums = sums.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        sums["occupancy_rate"] = sums.occupied_area_mu / sums.industrial_area_mu
        sums["plot_ratio"] = sums.enterprise_floor_m2 / sums.enterprise_area_m2
        sums["building_coefficient"] = sums.enterprise_footprint_m2 / sums.enterprise_area_m2
        for col in ("investment", "output", "tax"):
            sums[f"{col}_per_mu_wan"] = sums[f"enterprise_{col}_wan"] / sums.enterprise_area_mu
    grades = sums[[f"grade_{g}" for g in GRADES]]
    out = sums.drop(columns=[c for c in sums.columns if c.startswith("grade_")
                             or (c.startswith("enterprise_") and c != "enterprise_area_mu")])
    return out.join(stats).join(grades)


def _aggregate(frame: pd.DataFrame, keys: list[str], standards: Standards) -> pd.DataFrame:
    """Sum areas by status class and compute intensity figures per group of ``keys``."""
    return finish_aggregate(aggregate_sums(frame, keys, standards), indicator_stats(frame, keys))


def _prepare(parcels: gpd.GeoDataFrame, parks: pd.DataFrame, standards: Standards) -> pd.DataFrame:
    frame = parcels if "grade" in parcels.columns else with_metrics(parcels, standards)
    return pd.DataFrame(frame.drop(columns="geometry")).merge(
        parks[["park_id", "group"]], on="park_id", how="left")


def park_kpis(parcels: gpd.GeoDataFrame, parks: pd.DataFrame, standards: Standards | None = None) -> pd.DataFrame:
    """One row per park (in the parks' order): identity, areas in 亩, occupancy, intensity, grades."""
    standards = standards or load_standards()
    agg = _aggregate(_prepare(parcels, parks, standards), ["park_id"], standards)
    ident = pd.DataFrame(parks[["park_id", "name_zh", "name_en", "group", "district_code", "data_as_of"]])
    out = ident.merge(agg.reset_index(), on="park_id", how="left")
    return out.fillna({"parcel_count": 0, "total_area_mu": 0.0, "available_area_mu": 0.0})


#: Share of a parcel's area lying on parcels of an earlier-listed park from which it counts as the same land.
SAME_LAND_SHARE = 0.5


def overlap_duplicates(parcels: gpd.GeoDataFrame, parks: pd.DataFrame) -> np.ndarray:
    """Parcels whose land is already counted under a park listed earlier in ``parks``.

    Parks may overlap (the agglomeration area's 高新区片区 is High-tech Zone land): when the same
    land is imported under two parks, city and group totals must count it once. A parcel is a
    duplicate when at least :data:`SAME_LAND_SHARE` of its area lies on parcels of parks listed
    before its own. Returns a boolean array aligned with ``parcels``.
    """
    rank = pd.Series(np.arange(len(parks)), index=parks.park_id.to_numpy())
    own = rank.reindex(parcels.park_id.to_numpy()).to_numpy(dtype=float, na_value=np.inf)
    geoms = np.asarray(parcels.geometry.values, dtype=object)
    left, right = _earlier_park_pairs(geoms, own)
    duplicate = np.zeros(len(parcels), dtype=bool)
    if len(left):
        shared = shapely.area(shapely.intersection(geoms[left], geoms[right]))
        covered = np.bincount(left, weights=shared, minlength=len(parcels))
        with np.errstate(divide="ignore", invalid="ignore"):
            duplicate = covered / shapely.area(geoms) >= SAME_LAND_SHARE
    return duplicate


def _earlier_park_pairs(geoms: np.ndarray, own: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of intersecting parcels (``left``, ``right``) where ``right``'s park comes before
    ``left``'s (``own``: each parcel's park rank), sorted by ``left`` then ``right``.

    Parks are compared two at a time, each earlier park's parcels in a tree queried with a later
    park's parcels: parcels of one park (which touch or, in layered data, overlap by the million)
    are never paired with each other, and parks whose parcels lie apart cost one bounds check.
    """
    _, members = np.unique(own, return_inverse=True)  # by park rank ascending, unknown parks last
    order = np.argsort(members, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(members[order])) + 1)  # one per park: a handful
    bounds = [shapely.total_bounds(geoms[g]) for g in groups]
    lefts, rights = [], []
    for k, earlier in enumerate(groups):
        tree = None
        for j in range(k + 1, len(groups)):
            a, b = bounds[k], bounds[j]
            if a[0] > b[2] or b[0] > a[2] or a[1] > b[3] or b[1] > a[3]:
                continue
            if tree is None:
                tree = shapely.STRtree(geoms[earlier])
            later, found = tree.query(geoms[groups[j]], predicate="intersects")
            lefts.append(groups[j][later])
            rights.append(earlier[found])
    if not lefts:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    left, right = np.concatenate(lefts), np.concatenate(rights)
    order = np.lexsort((right, left))
    return left[order], right[order]


def _counted_once(parcels: gpd.GeoDataFrame, parks: pd.DataFrame) -> gpd.GeoDataFrame:
    """``parcels`` without the land already counted under an earlier park (for group and city totals)."""
    return parcels.loc[~overlap_duplicates(parcels, parks)]


def group_kpis(parcels: gpd.GeoDataFrame, parks: pd.DataFrame, standards: Standards | None = None) -> pd.DataFrame:
    """One row per park group (the store's city's groups, e.g. the sample's "344"); overlapping parks' land counted once."""
    standards = standards or load_standards()
    parcels = _counted_once(parcels, parks)
    agg = _aggregate(_prepare(parcels, parks, standards), ["group"], standards).reset_index()
    agg["park_count"] = agg.group.map(parks.groupby("group").size())
    return agg


def city_kpis(parcels: gpd.GeoDataFrame, parks: pd.DataFrame, standards: Standards | None = None) -> pd.Series:
    """The whole city as one row; land of overlapping parks counted once (:func:`overlap_duplicates`)."""
    standards = standards or load_standards()
    frame = _prepare(_counted_once(parcels, parks), parks, standards).assign(city="city")
    row = _aggregate(frame, ["city"], standards).iloc[0]
    row["park_count"] = len(parks)
    return row


def indicator_distribution(parcels: pd.DataFrame, indicator: str, by: str = "park_id",
                           quantiles=(0.1, 0.25, 0.5, 0.75, 0.9)) -> pd.DataFrame:
    """Quantiles of one intensity indicator among enterprises, per ``by``."""
    if indicator not in INTENSITY_INDICATORS:
        raise ValueError(f"unknown indicator {indicator!r}; one of {', '.join(INTENSITY_INDICATORS)}")
    enterprise = parcels.loc[parcels.status.isin(ENTERPRISE_STATUSES)]
    out = enterprise.groupby(by)[indicator].quantile(list(quantiles)).unstack()
    out.columns = [f"p{int(q * 100)}" for q in quantiles]
    return out


def data_as_of_by_park(parcels: pd.DataFrame, parks: pd.DataFrame) -> pd.DataFrame:
    """How current each park's data are: its parcel count and oldest and newest parcel date.

    Parameters
    ----------
    parcels : DataFrame
        Parcels with ``park_id`` and ``data_as_of`` (ISO dates, which order as text).
    parks : DataFrame
        Parks with ``park_id``, ``name_zh``, ``name_en`` and ``data_as_of``.

    Returns
    -------
    DataFrame
        One row per park, in the parks' order and with their index: ``park_id``, ``name_zh``,
        ``name_en``, ``parcel_count``, ``data_as_of`` (the park's own date), ``oldest`` and
        ``newest`` (over its parcels; missing for a park without dated parcels). Parcels of
        parks not in ``parks`` are left out.
    """
    dates = parcels.groupby("park_id").data_as_of.agg(["size", "min", "max"])
    dates = dates.reindex(parks.park_id).set_axis(parks.index)
    return pd.DataFrame({
        "park_id": parks.park_id,
        "name_zh": parks.name_zh,
        "name_en": parks.name_en,
        "parcel_count": dates["size"].fillna(0).astype(int),
        "data_as_of": parks.data_as_of,
        "oldest": dates["min"],
        "newest": dates["max"],
    })
