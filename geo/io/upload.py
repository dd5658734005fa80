"""The import pipeline: bytes → checks → sandboxed parse → encoding → CRS → attributes → validation.

:func:`read_upload` writes nothing; :func:`commit_import` hands an accepted result to
``store.import_features``, which commits every feature with the report in one transaction
or nothing at all.
"""
from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import CGCS2000, WGS84
from geo.errors import KeyedError
from geo.io import archives, attributes, crs_guess, datum, encoding, mappings, validate
from geo.io.report import ImportResult, problem_records
from geo.io.safety import FORMATS, Limits, UnsafeInput, refuse_path_like, sniff, too_large
from geo.io.sandbox import parse_in_sandbox
from geo.schema import conform_parcels, conform_parks

LAYERS = ("parcels", "parks")
#: Rows of the file's own attribute values kept for the preview (``ImportResult.preview``).
PREVIEW_ROWS = 5


def _unpack_zip(data: bytes, filename: str, layer: str, limits: Limits):
    """A .zip upload: a shapefile (repacked flat) or a single file of another accepted format.

    Only the members needed are decompressed, and only after the whole zip passed its checks.
    """
    members = archives.inspect_zip(data, filename, limits)
    by_name = {m.filename: m for m in members}
    if any(name.lower().endswith(".shp") for name in by_name):
        parts = archives.shapefile_members(list(by_name), prefer=layer)
        content = archives.read_members(data, [by_name[name] for name in parts.values()])
        bundle, found = archives.shapefile_bundle({ext: content[name] for ext, name in parts.items()},
                                                  parts[".shp"])
        return bundle, FORMATS["shapefile"], found
    candidates = [n for n in by_name if not os.path.basename(n).startswith(".")
                  and os.path.splitext(n.lower())[1] in (".gpkg", ".geojson", ".json", ".fgb", ".kml",
                                                         ".parquet", ".csv", ".dxf")]
    if len(candidates) != 1:
        raise KeyedError("import.refused.zip_one_file", f"{filename} must hold one shapefile or one data file; "
                         f"found {len(candidates)} candidate members", file=filename, count=len(candidates))
    member = candidates[0]
    content = archives.read_members(data, [by_name[member]])[member]
    return content, sniff(content, member), {"member": os.path.basename(member)}


def _parse(data: bytes, filename: str, layer: str, user_encoding: str | None, limits: Limits):
    fmt = sniff(data, filename)
    extra: dict = {}
    if fmt.key == "shapefile":
        data, fmt, extra = _unpack_zip(data, filename, layer, limits)
    elif fmt.key == "kmz":
        members = archives.inspect_zip(data, filename, limits)
        kml = sorted((m for m in members if m.filename.lower().endswith(".kml")),
                     key=lambda m: (m.filename.lower() != "doc.kml", m.filename))
        if not kml:
            raise KeyedError("import.refused.kmz_no_kml", f"{filename} holds no .kml document", file=filename)
        data = archives.read_members(data, kml[:1])[kml[0].filename]
        fmt, extra = sniff(data, kml[0].filename), {"member": kml[0].filename}
    elif fmt.key == "xlsx":
        archives.inspect_zip(data, filename, limits, max_members=1000)
    is_shapefile = fmt.key == "shapefile"
    parsed = parse_in_sandbox(data, fmt, limits=limits, encoding=user_encoding, layer_hint=layer,
                              gdal_encoding="latin1" if is_shapefile else None,
                              display_name=os.path.basename(filename))
    parsed.meta.update(extra)
    if is_shapefile:
        parsed.frame, parsed.meta["encoding"] = encoding.redecode_dbf(
            parsed.frame, cpg=extra.get("cpg"), user_encoding=user_encoding)
    else:
        encoding.refuse_damaged_text(parsed.frame)
    return fmt, parsed


def _osm_reference(frame: pd.DataFrame) -> pd.DataFrame:
    """OpenStreetMap multipolygons: an id from the relation or way they come from."""
    if "osm_id" in frame.columns and "osm_way_id" in frame.columns:
        relation = "r" + frame["osm_id"].astype("string")
        way = "w" + frame["osm_way_id"].astype("string")
        frame = frame.assign(osm_ref=relation.fillna(way))
    return frame


def _floor_area_from_plot_ratio(features: gpd.GeoDataFrame, area_m2: np.ndarray) -> int:
    """容积率 given but no floor area: floor area = plot ratio × the geometry's area."""
    ratio = features.pop("_plot_ratio").to_numpy(dtype=float)
    fill = features["floor_area_m2"].isna().to_numpy() & ~np.isnan(ratio)
    features.loc[fill, "floor_area_m2"] = ratio[fill] * area_m2[fill]
    return int(fill.sum())


def _assign_parks(frame: gpd.GeoDataFrame, parks: gpd.GeoDataFrame | None, park_id: str | None) -> int:
    """Fill missing park ids: ``park_id`` if given, else the park containing the feature."""
    missing = frame["park_id"].isna()
    if not missing.any():
        return 0
    if park_id:
        frame.loc[missing, "park_id"] = park_id
        return int(missing.sum())
    if parks is None or parks.empty:
        return 0
    points = gpd.GeoDataFrame(geometry=frame.geometry[missing].representative_point(), crs=CGCS2000)
    joined = gpd.sjoin(points, parks[["park_id", "geometry"]].to_crs(CGCS2000), how="left", predicate="within")
    found = joined[~joined.index.duplicated()]["park_id_right" if "park_id_right" in joined else "park_id"]
    frame.loc[found.index, "park_id"] = found.astype("string")
    return int(found.notna().sum())


def _sample_city():
    from geo.sample import sample_city

    return sample_city()


def read_upload(data: bytes, filename: str, *, layer: str = "parcels", crs: str | None = None,
                source_datum: str | None = None, encoding: str | None = None, mapping=None,
                allow_outside_region: bool = False, parks: gpd.GeoDataFrame | None = None,
                park_id: str | None = None, default_status: str | None = None,
                region: crs_guess.Region | None = None, city=None, limits: Limits | None = None,
                standards=None, existing: gpd.GeoDataFrame | None = None) -> ImportResult:
    """Read, check and validate an uploaded file's bytes. Writes nothing.

    Parameters
    ----------
    data : bytes
        The file's content (never a path or URL).
    filename : str
        The upload's name, used only for its extension and in messages.
    layer : {"parcels", "parks"}
        What the file holds.
    crs : str, optional
        ``EPSG:NNNN`` declared by the user (required for DXF); overrides the file's own CRS.
    source_datum : {"gcj02", "bd09"}, optional
        Lon/lat coordinates in the AMap/Tencent (GCJ-02) or Baidu (BD-09) datum, converted to WGS84.
    encoding : str, optional
        Text encoding of a shapefile DBF or CSV (default: detected).
    mapping : dict or path, optional
        ``{source header: schema column}`` for headers the aliases do not know.
    allow_outside_region : bool
        Confirm data lying outside the region.
    parks : GeoDataFrame, optional
        The store's parks: parcels without ``park_id`` get the park containing them, and
        unknown park ids are reported. ``park_id`` gives all such parcels one park instead.
    default_status : str, optional
        Status for parcels without one.
    city : City, optional
        The store's city (``store.read_city()``): its region (where the data are expected)
        and its park groups. Default: the bundled sample's city.
    region : Region, optional
        Overrides the city's region; ``PARKATLAS_REGION_BBOX`` does too.
    existing : GeoDataFrame, optional
        The store's parcels: imported parcels overlapping one of them (under another id) are
        reported as ``overlap_existing`` warnings, with the shared area.

    The report's ``source`` (the file's columns and their :func:`geo.io.mappings.source_signature`)
    lets the next import of the same source recall the mapping used
    (:func:`geo.io.mappings.recall_mapping`).

    Raises
    ------
    ParkAtlasError
        For a file that is refused: unsafe, unreadable, of unknown CRS, outside the region.
        Problems with single features (duplicates, repairs …) are in the result instead.
    """
    limits = limits or Limits.from_env()
    city = city or _sample_city()
    region = region or crs_guess.Region.from_env() or city.region()
    if layer not in LAYERS:
        raise KeyedError("import.refused.layer", f"unknown layer {layer!r}: give parcels or parks", layer=layer)
    if source_datum not in (None, *datum.SOURCE_DATUMS):
        raise KeyedError("import.refused.datum", f"unknown source datum {source_datum!r}: give gcj02 or bd09",
                         datum=source_datum)
    if isinstance(data, str) or not isinstance(data, (bytes, bytearray, memoryview)):
        raise KeyedError("import.refused.not_bytes", "read_upload takes the file's bytes, not a path or URL")
    data = bytes(data)
    refuse_path_like(filename)
    if len(data) > limits.max_upload_bytes:
        raise too_large(filename, len(data), limits)
    if not data:
        raise UnsafeInput("import.refused.empty", f"{os.path.basename(filename)} is empty",
                          file=os.path.basename(filename))
    declared = crs_guess.parse_crs_option(crs)
    mapping_dict = attributes.load_mapping(mapping)
    fmt, parsed = _parse(data, filename, layer, encoding, limits)
    frame = _osm_reference(parsed.frame) if fmt.key == "osm" else parsed.frame
    geometry_note = None
    if parsed.geometry is None:
        frame, geoms, geometry_note = attributes.table_geometry(frame, layer, mapping_dict)
    else:
        geoms = parsed.geometry
    if not len(geoms):
        raise KeyedError("import.refused.no_features", f"{os.path.basename(filename)} holds no features")
    geoms, decision = crs_guess.resolve_crs(geoms, declared=declared, file_crs=parsed.meta.get("crs"),
                                            needs_declared=fmt.key == "dxf", region=region)
    source = decision.crs
    datum_info = {"converted_from": None}
    if source_datum:
        from pyproj import CRS

        if not CRS.from_user_input(source).is_geographic:
            raise KeyedError("import.refused.datum_projected", f"--source-datum {source_datum} needs lon/lat coordinates, "
                             f"but the data are in {source}")
        geoms = datum.to_wgs84_geometries(geoms, source_datum)
        datum_info = {"converted_from": source_datum, "method": "vectorised inverse of the published offset "
                      "(fixed-point iteration)" if source_datum == "gcj02" else "BD-09 → GCJ-02 → WGS84"}
        source = WGS84
    geoms = crs_guess.to_cgcs2000(geoms, source)
    region_info = crs_guess.check_region(geoms, region, allow_outside_region)

    stem = os.path.splitext(os.path.basename(filename))[0][:40] or "import"
    source_columns = [str(c) for c in frame.columns if str(c) != "source_layer"]
    preview = pd.DataFrame(frame[source_columns].head(PREVIEW_ROWS)).reset_index(drop=True)
    table, helpers, attr_info = attributes.conform_attributes(frame.reset_index(drop=True), layer,
                                                                    mapping=mapping_dict, id_prefix=stem,
                                                                    standards=standards)
    if geometry_note:
        attr_info["geometry_from"] = geometry_note
    id_column = "parcel_id" if layer == "parcels" else "park_id"
    features = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms, crs=CGCS2000), crs=CGCS2000)
    for column in helpers.columns:
        features[f"_{column}"] = helpers[column].to_numpy(dtype=float, na_value=np.nan)
    problems = validate.Problems()
    features = validate.check_geometry(features, id_column, problems, split_multipart=layer == "parcels")
    report_geometry: dict = {}
    if len(features):
        projected, area_crs = validate.project_metric_by_bounds(features.geometry.values)
        report_geometry = validate.check_overlaps_and_slivers(features, id_column, projected, problems)
        # Areas are measured in Gauss-Krüger zones in China, UTM or polar equal-area elsewhere.
        report_geometry["area_crs"] = sorted({str(code) for code in pd.unique(area_crs) if code is not None})
        if layer == "parcels":
            report_geometry.update(validate.check_overlaps_with_existing(features, id_column, existing, problems))
        area_m2 = shapely.area(projected)
        report_geometry.update(validate.summarise_area(area_m2))
        if "_area" in features:
            attr_info["declared_area"]["unit_used"] = validate.check_declared_area(
                features, id_column, features.pop("_area"), attr_info["declared_area"]["unit"], area_m2, problems)
        if "_plot_ratio" in features:
            attr_info["floor_area_from_plot_ratio"] = _floor_area_from_plot_ratio(features, area_m2)
        validate.check_ids(features, id_column, problems)
        if layer == "parcels":
            if default_status:
                features["status"] = features["status"].fillna(default_status)
            attr_info["parks_assigned"] = _assign_parks(features, parks, park_id)
            if standards is None:
                from geo.standards import load_standards

                standards = load_standards()
            known = set(parks["park_id"]) if parks is not None else None
            validate.check_codes(features, standards, problems, parks_known=known)
        else:
            validate.check_park_groups(features, city.group_ids, problems)
    problem_frame = problems.frame()
    blocking = _blocking_messages(problem_frame, len(features), id_column)
    if len(features):
        features = conform_parcels(features) if layer == "parcels" else conform_parks(features)
    counts = problem_frame.groupby("kind").size().to_dict() if len(problem_frame) else {}
    # Counted per source feature: a split multipart is one feature read and several accepted.
    rejected = sum(counts.get(kind, 0) for kind in validate.GEOMETRY_REJECTIONS)
    report = {
        "status": "blocked" if blocking else "ok",
        "file": os.path.basename(filename), "format": fmt.key, "driver": parsed.meta.get("driver"),
        "layer": layer, "layers_read": parsed.meta.get("layers_read", []),
        "features_read": int(len(geoms)), "features_accepted": int(len(features)) if not blocking else 0,
        "features_rejected": int(rejected),
        "parts_added_by_split": int(len(features) - (len(geoms) - rejected)) if not blocking else 0,
        "unreadable_geometries": parsed.meta.get("unreadable_geometries", 0),
        "crs": {"source": decision.crs, "method": decision.method, "swapped_axes": decision.swapped_axes,
                "reasons": decision.reasons, "stored": CGCS2000},
        "datum": datum_info, "encoding": parsed.meta.get("encoding"), "region": region_info,
        "attributes": attr_info, "geometry": report_geometry,
        "problem_counts": {str(k): int(v) for k, v in counts.items()},
        "problems": problem_records(problem_frame), "problems_listed": int(min(len(problem_frame), 1000)),
        "blocking": blocking, "dry_run": True,
        "source": {"name": stem, "columns": source_columns, "signature": mappings.source_signature(source_columns),
                   "mapping": mapping_dict},
    }
    for key in ("shapefile", "member"):
        if key in parsed.meta:
            report[key] = parsed.meta[key]
    return ImportResult(features, report, problem_frame, layer=layer, blocking=blocking, preview=preview)


def _blocking_messages(problems: gpd.GeoDataFrame, accepted: int, id_column: str) -> list[str]:
    messages = []
    if not accepted:
        messages.append("no polygon features left to import")
    blocking = problems[problems["severity"] == "blocking"]
    for kind, rows in blocking.groupby("kind", sort=True):
        examples = ", ".join(pd.unique(rows["parcel_id"].astype(str))[:5])
        messages.append(f"{len(rows)} features with {kind.replace('_', ' ')} ({id_column} e.g. {examples})")
    return messages


def commit_import(store, result: ImportResult, user, *, mode: str = "upsert") -> dict:
    """Write an accepted import with its report in one store transaction; returns the counts.

    Raises ``ParkAtlasError`` (and writes nothing) when the result has blocking problems.
    """
    if not result.accepted:
        raise KeyedError("import.refused.blocked", f"import of {result.report['file']} is blocked: "
                         f"{'; '.join(result.blocking)}", file=result.report["file"])
    report = {**result.report, "dry_run": False}
    counts = store.import_features(result.layer, result.frame, user=user, mode=mode, report=report)
    result.report.update(dry_run=False, committed=counts)
    return counts


__all__ = ["read_upload", "commit_import", "ImportResult"]
