"""Geometry and attribute checks of an import, all vectorised (shapely 2 arrays, STRtree, pandas).

Every finding is one row of a problems table (kind, severity, id, detail, area_m2, value, geometry):

- ``rejected`` — the feature is dropped: empty or null geometry, not a polygon, repair collapsed it;
- ``repaired`` — invalid polygons made valid with ``make_valid`` keeping only polygonal parts
  (reason and location from GEOS, area change in m²), GeometryCollections reduced to their
  polygons, multi-part parcels split into one parcel per part (ids ``ID-1``, ``ID-2`` …);
- ``blocking`` — the import cannot be committed: duplicate ids, statuses the store does not
  know or lack, parcels whose park is unknown;
- ``warning`` — committed but worth a look: overlaps between features and slivers (with areas),
  unknown land-use codes, a declared area that differs from the geometry's.

Areas are measured in each feature's Gauss-Krüger zone (:func:`area_m2`).
"""
from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import CGCS2000, project_metric
from geo.idle import DELAY_CAUSES
from geo.units import M2_PER_HA, M2_PER_MU

#: Features smaller than this (m²) are slivers.
SLIVER_MAX_AREA_M2 = 20.0
#: Features thinner than this (4πA/P², 1 for a circle, ~0.1 for a 1:30 strip) are slivers.
SLIVER_MAX_COMPACTNESS = 0.05
#: Overlaps smaller than this (m²) are coordinate rounding along shared edges: counted, not listed.
OVERLAP_MIN_AREA_M2 = 1.0
#: A declared area differing from the geometry's by more than this share is reported.
AREA_MISMATCH_SHARE = 0.05
_LOCATION = re.compile(r"\[\s*([-\d.eE+]+)\s+([-\d.eE+]+)\s*\]")
_POLYGONAL = (3, 6)  # shapely type ids: Polygon, MultiPolygon

PROBLEM_COLUMNS = ["kind", "severity", "parcel_id", "detail", "area_m2", "value"]


class Problems:
    """Collects problem rows as arrays (one ``add`` per kind, never per feature)."""

    def __init__(self):
        self._parts: list[pd.DataFrame] = []
        self._geoms: list[np.ndarray] = []

    def add(self, kind: str, severity: str, ids, details, geoms, area_m2=None, values=None) -> None:
        """One kind of finding for ``ids``; ``values`` is the one fact a translated report quotes
        (the unknown code, the other parcel, the number of parts, GEOS's reason)."""
        n = len(ids)
        if not n:
            return
        self._parts.append(pd.DataFrame({
            "kind": kind, "severity": severity, "parcel_id": pd.array(list(ids), dtype="string"),
            "detail": pd.array(list(details) if not isinstance(details, str) else [details] * n, dtype="string"),
            "area_m2": np.asarray(area_m2, dtype=float) if area_m2 is not None else np.full(n, np.nan),
            "value": pd.array([None] * n if values is None else [None if v is None else str(v) for v in values],
                              dtype="string")}))
        self._geoms.append(np.asarray(geoms, dtype=object))

    def frame(self) -> gpd.GeoDataFrame:
        if not self._parts:
            return gpd.GeoDataFrame({c: pd.Series(dtype="string" if c != "area_m2" else float)
                                     for c in PROBLEM_COLUMNS}, geometry=gpd.GeoSeries([], crs=CGCS2000), crs=CGCS2000)
        table = pd.concat(self._parts, ignore_index=True)
        return gpd.GeoDataFrame(table, geometry=np.concatenate(self._geoms), crs=CGCS2000)


def _polygonal_parts(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygons of each geometry (a MultiPolygon, a Polygon, or None if none)."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    keep = np.isin(shapely.get_type_id(parts), _POLYGONAL)
    parts, index = parts[keep], index[keep]
    flat, flat_index = shapely.get_parts(parts, return_index=True)  # MultiPolygon → polygons
    owners = index[flat_index]
    out = np.full(len(geoms), None, dtype=object)
    if len(flat):
        shapely.multipolygons(flat, indices=owners, out=out)
    single = shapely.get_num_geometries(out) == 1
    out[single] = shapely.get_geometry(out[single], 0)
    return out


def project_gk(geoms: np.ndarray) -> np.ndarray:
    """Each geometry in its metric CRS (:func:`geo.crs.metric_crs_codes`: Gauss-Krüger in China,
    UTM or polar equal-area elsewhere), one transform per CRS.

    The position comes from the bounding box, not the centroid, which is meaningless for an
    invalid ring such as a bow-tie. Empty geometries stay empty.
    """
    return project_metric_by_bounds(geoms)[0]


def project_metric_by_bounds(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`project_gk` and the CRS used for each geometry."""
    geoms = np.asarray(geoms, dtype=object)
    bounds = shapely.bounds(geoms)
    return project_metric(geoms, (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2)


def area_m2(geoms: np.ndarray) -> np.ndarray:
    """Area in m² of each geometry in its Gauss-Krüger zone (NaN if empty)."""
    return shapely.area(project_gk(geoms))


def _locations(reasons: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    coords = pd.Series(reasons, dtype="string").str.extract(_LOCATION).astype(float).to_numpy()
    points = shapely.points(coords)
    missing = np.isnan(coords).any(axis=1)
    points[missing] = shapely.point_on_surface(fallback[missing])
    return points


def check_geometry(frame: gpd.GeoDataFrame, id_column: str, problems: Problems, *,
                   split_multipart: bool) -> gpd.GeoDataFrame:
    """Reject, repair and split geometries; returns the surviving features (EPSG:4490)."""
    geoms = frame.geometry.to_numpy().copy()  # edited below; the caller's frame stays as it was
    if shapely.has_z(geoms).any():  # KML, DXF: heights are dropped (parcels are 2-D)
        geoms = shapely.force_2d(geoms)
    ids = frame[id_column].to_numpy(dtype=object)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    problems.add("empty_geometry", "rejected", ids[empty], "null or empty geometry", np.full(empty.sum(), None))
    types = shapely.get_type_id(geoms)
    collection = (types == 7) & ~empty
    if collection.any():
        reduced = _polygonal_parts(geoms[collection])
        before = shapely.get_num_geometries(geoms[collection])
        after = shapely.get_num_geometries(reduced)
        kept = ~shapely.is_missing(reduced)
        geoms[collection] = reduced
        rows = np.flatnonzero(collection)
        problems.add("collection_split", "repaired", ids[rows[kept]],
                     [f"GeometryCollection of {b} parts: kept {a} polygon part(s), dropped the rest"
                      for b, a in zip(before[kept], after[kept])], reduced[kept], values=after[kept])
        types = shapely.get_type_id(geoms)
    not_polygon = ~empty & ~np.isin(types, _POLYGONAL)
    type_names = pd.Series(shapely.get_type_id(geoms[not_polygon])).map(
        {-1: "nothing", 0: "Point", 1: "LineString", 2: "LinearRing", 4: "MultiPoint", 5: "MultiLineString",
         7: "GeometryCollection"}).fillna("other").to_numpy()
    problems.add("not_polygon", "rejected", ids[not_polygon],
                 [f"{t} is not a polygon" for t in type_names], geoms[not_polygon], values=type_names)
    keep = ~empty & ~not_polygon
    geoms, ids, frame = geoms[keep], ids[keep], frame.loc[keep].copy()

    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        bad = geoms[invalid]
        reasons = shapely.is_valid_reason(bad)
        repaired = _polygonal_parts(shapely.make_valid(bad, method="structure", keep_collapsed=False))
        collapsed = shapely.is_missing(repaired) | shapely.is_empty(repaired)
        area_after = np.nan_to_num(area_m2(repaired))
        area_before = area_m2(bad)
        locations = _locations(reasons, bad)
        problems.add("repaired", "repaired", ids[invalid][~collapsed],
                     [f"{r.split('[')[0].strip()}: made valid, area {b:,.1f} → {a:,.1f} m²"
                      for r, b, a in zip(reasons[~collapsed], area_before[~collapsed], area_after[~collapsed])],
                     locations[~collapsed], (area_after - area_before)[~collapsed],
                     values=[r.split('[')[0].strip() for r in reasons[~collapsed]])
        problems.add("collapsed", "rejected", ids[invalid][collapsed],
                     [f"{r.split('[')[0].strip()}: nothing polygonal left after repair" for r in reasons[collapsed]],
                     locations[collapsed], values=[r.split('[')[0].strip() for r in reasons[collapsed]])
        geoms = geoms.copy()
        geoms[invalid] = repaired
        drop = np.zeros(len(geoms), dtype=bool)
        drop[np.flatnonzero(invalid)[collapsed]] = True
        geoms, ids, frame = geoms[~drop], ids[~drop], frame.loc[~drop].copy()
    frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=CGCS2000))
    if split_multipart:
        frame = _split_multipart(frame, id_column, problems)
    return frame


def _split_multipart(frame: gpd.GeoDataFrame, id_column: str, problems: Problems) -> gpd.GeoDataFrame:
    parts_count = shapely.get_num_geometries(frame.geometry.values)
    multi = parts_count > 1
    if not multi.any():
        return frame
    exploded = frame.explode(index_parts=True)
    part_no = exploded.index.get_level_values(-1).to_numpy()
    owner_multi = np.repeat(multi, parts_count)
    new_ids = exploded[id_column].astype("string").to_numpy(dtype=object)
    new_ids[owner_multi] = [f"{i}-{p + 1}" for i, p in zip(new_ids[owner_multi], part_no[owner_multi])]
    exploded[id_column] = pd.array(new_ids, dtype="string")
    problems.add("multipart_split", "repaired", frame[id_column][multi],
                 [f"{n} separate parts: imported as {i}-1 … {i}-{n}" for i, n in
                  zip(frame[id_column][multi], parts_count[multi])], frame.geometry.values[multi],
                 values=parts_count[multi])
    return exploded.reset_index(drop=True)


def _interior_pairs(geoms: np.ndarray) -> np.ndarray:
    """Index pairs (i < j) whose interiors intersect: overlapping, containing or equal.

    Bounding-box candidates from an STRtree, then ``intersects`` and ``touches``: intersecting
    but not touching means the interiors meet. Cheaper than an ``overlaps`` plus ``contains``
    tree query, which computes the full DE-9IM matrix per pair. Parcels have a handful of
    vertices: preparing them costs more than it saves (and freeing 100,000 prepared parcels
    another 0.2 s), so they are not prepared.
    """
    tree = shapely.STRtree(geoms)
    pairs = tree.query(geoms)
    pairs = pairs[:, pairs[0] < pairs[1]]
    pairs = pairs[:, _threaded(shapely.intersects, geoms[pairs[0]], geoms[pairs[1]])]
    return pairs[:, ~_threaded(shapely.touches, geoms[pairs[0]], geoms[pairs[1]])]


def _threaded(func, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``func(left, right)`` over halves in two threads: shapely releases the GIL in GEOS calls."""
    if len(left) < 20_000:
        return func(left, right)
    from concurrent.futures import ThreadPoolExecutor

    half = len(left) // 2
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(func, (left[:half], left[half:]), (right[:half], right[half:]))
    return np.concatenate([first, second])


def _approx_area_m2(geoms: np.ndarray) -> np.ndarray:
    """Area from degrees² with the local scale (within 1 % at these latitudes): a cheap pre-filter."""
    lat = np.radians(shapely.get_y(shapely.centroid(geoms)))
    return np.nan_to_num(shapely.area(geoms) * (111_320.0 ** 2) * np.cos(lat))


def check_overlaps_and_slivers(frame: gpd.GeoDataFrame, id_column: str, projected: np.ndarray,
                               problems: Problems) -> dict:
    """Report overlapping pairs (with the overlap area) and sliver features; returns totals."""
    geoms = frame.geometry.to_numpy()
    ids = frame[id_column].to_numpy(dtype=object)
    pairs = _interior_pairs(geoms)
    overlap_total, tiny, listed = 0.0, 0, 0
    if pairs.size:
        shared = _threaded(shapely.intersection, geoms[pairs[0]], geoms[pairs[1]])
        shared_area = _approx_area_m2(shared)
        candidate = shared_area >= OVERLAP_MIN_AREA_M2 / 2  # exact areas only for these
        shared_area[candidate] = area_m2(shared[candidate])
        real = shared_area >= OVERLAP_MIN_AREA_M2
        overlap_total = float(shared_area[real].sum())
        tiny, listed = int((~real).sum()), int(real.sum())
        problems.add("overlap", "warning", ids[pairs[0][real]],
                     [f"overlaps {b} by {a:,.2f} m²" for b, a in zip(ids[pairs[1][real]], shared_area[real])],
                     shared[real], shared_area[real], values=ids[pairs[1][real]])
    areas, perimeter_m = shapely.area(projected), shapely.length(projected)
    compactness = np.where(perimeter_m > 0, 4 * np.pi * areas / np.maximum(perimeter_m, 1e-9) ** 2, 0)
    sliver = (areas < SLIVER_MAX_AREA_M2) | (compactness < SLIVER_MAX_COMPACTNESS)
    problems.add("sliver", "warning", ids[sliver],
                 [f"sliver: {a:,.2f} m², compactness {c:.3f}" for a, c in zip(areas[sliver], compactness[sliver])],
                 geoms[sliver], areas[sliver])
    return {"overlaps": listed, "overlap_area_m2": round(overlap_total, 2),
            "tiny_overlaps_ignored": tiny, "slivers": int(sliver.sum())}


#: Problem kinds that reject a source feature in :func:`check_geometry` (one row per feature).
GEOMETRY_REJECTIONS = ("empty_geometry", "not_polygon", "collapsed")


def check_overlaps_with_existing(frame: gpd.GeoDataFrame, id_column: str, existing: gpd.GeoDataFrame | None,
                                 problems: Problems) -> dict:
    """Report features overlapping parcels already in the store (other ids; same id is an update)."""
    if existing is None or existing.empty or frame.empty:
        return {"overlaps_with_store": 0, "overlap_with_store_area_m2": 0.0}
    geoms, ids = frame.geometry.to_numpy(), frame[id_column].to_numpy(dtype=object)
    stored, stored_ids = existing.geometry.to_numpy(), existing[id_column].to_numpy(dtype=object)
    new, old = shapely.STRtree(stored).query(geoms, predicate="intersects")
    keep = ids[new] != stored_ids[old]
    new, old = new[keep], old[keep]
    new_old = ~shapely.touches(geoms[new], stored[old])
    new, old = new[new_old], old[new_old]
    shared = shapely.intersection(geoms[new], stored[old])
    shared_area = area_m2(shared) if len(shared) else np.zeros(0)
    real = shared_area >= OVERLAP_MIN_AREA_M2
    problems.add("overlap_existing", "warning", ids[new[real]],
                 [f"overlaps {b} already in the store by {a:,.2f} m²"
                  for b, a in zip(stored_ids[old[real]], shared_area[real])],
                 shared[real], shared_area[real], values=stored_ids[old[real]])
    return {"overlaps_with_store": int(real.sum()),
            "overlap_with_store_area_m2": round(float(shared_area[real].sum()), 2)}


def check_ids(frame: pd.DataFrame, id_column: str, problems: Problems) -> int:
    """Duplicate ids are blocking; returns how many features share an id."""
    duplicated = frame[id_column].duplicated(keep=False).to_numpy()
    problems.add("duplicate_id", "blocking", frame[id_column][duplicated],
                 "this id occurs more than once in the file", frame.geometry.values[duplicated])
    return int(duplicated.sum())


def _flag_unknown(frame: gpd.GeoDataFrame, id_column: str, column: str, known, problems: Problems, kind: str,
                  severity: str, detail: str, *, missing_too: bool = False) -> None:
    """One problem per value of ``column`` outside ``known`` (empty values too with ``missing_too``);
    ``detail`` formats ``{v!r}``, an empty value as ``'(empty)'``."""
    values = frame[column]
    unknown = (~values.isin(known) & (values.notna() | missing_too)).to_numpy()
    problems.add(kind, severity, frame[id_column][unknown],
                 [detail.format(v=v if pd.notna(v) else "(empty)") for v in values[unknown]],
                 frame.geometry.values[unknown], values=[v if pd.notna(v) else None for v in values[unknown]])


def check_codes(frame: gpd.GeoDataFrame, standards, problems: Problems, *, parks_known: set[str] | None) -> None:
    """Land-use codes (warning), statuses and parks (blocking: the store refuses them)."""
    ids, geoms = frame["parcel_id"], frame.geometry.values

    def flag_unknown(column: str, known, kind: str, severity: str, detail: str) -> None:
        _flag_unknown(frame, "parcel_id", column, known, problems, kind, severity, detail)

    flag_unknown("land_use_code", set(standards.land_use.code), "unknown_land_use", "warning",
                 "land-use code {v!r} is not in data/standards/land_use.csv")
    known_status = set(standards.statuses.code)
    flag_unknown("status", known_status, "unknown_status", "blocking",
                 f"status {{v!r}} is not one of {', '.join(sorted(known_status))}")
    missing_status = frame["status"].isna().to_numpy()
    problems.add("missing_status", "blocking", ids[missing_status],
                 "no status; add a status column or give a default status", geoms[missing_status])
    flag_unknown("delay_cause", DELAY_CAUSES, "unknown_delay_cause", "blocking",
                 f"delay cause {{v!r}} is not one of {', '.join(DELAY_CAUSES)} (闲置土地处置办法 第八条)")
    if parks_known is not None:
        flag_unknown("park_id", parks_known, "unknown_park", "blocking",
                     "park {v!r} is not in the store; import the park first")
        no_park = frame["park_id"].isna().to_numpy()
        problems.add("no_park", "blocking", ids[no_park],
                     "lies in no park and has no park_id; give park_id or --park", geoms[no_park])


def check_park_groups(frame: gpd.GeoDataFrame, groups, problems: Problems) -> None:
    """Every park belongs to one of the city's park groups (``groups``: their ids): blocking otherwise."""
    _flag_unknown(frame, "park_id", "group", groups, problems, "unknown_group", "blocking",
                  f"group {{v!r}} is not one of {', '.join(groups)}", missing_too=True)


def check_declared_area(frame: gpd.GeoDataFrame, id_column: str, declared, unit: str | None,
                        area_m2: np.ndarray, problems: Problems) -> str | None:
    """Compare a declared area column with the geometry's area; guess its unit when not given."""
    values = pd.to_numeric(declared, errors="coerce").to_numpy(dtype=float)
    present = ~np.isnan(values) & (area_m2 > 0)
    if not present.any():
        return None
    if unit is None:  # as m², 亩 or ha: the reading closest to the geometry wins
        factors = {"平方米": 1.0, "亩": M2_PER_MU, "公顷": M2_PER_HA}
        errors = {u: np.nanmedian(np.abs(np.log(values[present] * f / area_m2[present]))) for u, f in factors.items()}
        unit = min(errors, key=errors.get)
        declared_m2 = values * factors[unit]
    else:
        declared_m2 = values  # already converted to m² by the attribute step
    share = np.abs(declared_m2 - area_m2) / np.maximum(area_m2, 1e-9)
    off = present & (share > AREA_MISMATCH_SHARE)
    problems.add("area_mismatch", "warning", frame[id_column][off],
                 [f"declared {d:,.1f} m², geometry {a:,.1f} m² ({s:+.0%})"
                  for d, a, s in zip(declared_m2[off], area_m2[off], (declared_m2[off] - area_m2[off]) / area_m2[off])],
                 frame.geometry.values[off], declared_m2[off] - area_m2[off],
                 values=[f"{d:.1f}" for d in declared_m2[off]])
    return unit


def summarise_area(area_m2: np.ndarray) -> dict:
    total = float(np.nansum(area_m2))
    return {"total_area_m2": round(total, 1), "total_area_mu": round(total / M2_PER_MU, 2)}


__all__ = ["Problems", "check_geometry", "check_overlaps_and_slivers", "check_overlaps_with_existing", "check_ids", "check_codes",
           "check_declared_area", "summarise_area", "CGCS2000"]
