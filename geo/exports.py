"""Data exports: parcels, available land and match candidates for GIS and spreadsheet users.

Formats, chosen by the file extension:

========== ================================ ================================================
extension  format                           notes
========== ================================ ================================================
``.gpkg``  GeoPackage                       EPSG:4490, layer named after what is exported
``.geojson`` GeoJSON (RFC 7946)             EPSG:4326 lon/lat, UTF-8
``.zip``   zipped ESRI Shapefile            EPSG:4490, UTF-8 with ``.cpg``; field names cut to
                                            10 characters by :data:`SHAPEFILE_FIELDS`, the
                                            mapping shipped in the zip as ``fields.csv``
``.kml``   KML (LIBKML)                     EPSG:4326, attributes as ExtendedData, placemark
                                            name from the first column (the id)
``.parquet`` GeoParquet                     EPSG:4490 (CRS in the GeoParquet metadata)
``.csv``   CSV                              UTF-8 with BOM (Excel), geometry as WKT (EPSG:4490)
``.xlsx``  Excel workbook                   one sheet of the features (plus their centroid
                                            lon/lat) and extra sheets (KPIs, exclusions)
========== ================================ ================================================

Text cells of CSV and XLSX that begin with ``=``, ``+``, ``-``, ``@``, tab or carriage return are
neutralised with a leading ``'`` so spreadsheets never run them as formulas; numbers stay numbers.
Vector formats are written through pyogrio to a temporary directory and returned as bytes or
moved to the target path.
"""
from __future__ import annotations

import io
import json
import os
import re
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.crs import CGCS2000, WGS84
from geo.errors import ParkAtlasError
from geo.metrics import PARCEL_METRICS, with_metrics
from geo.schema import PARCEL_COLUMNS
from geo.standards import Standards

#: File extension → format name.
DATA_FORMATS = {".gpkg": "gpkg", ".geojson": "geojson", ".zip": "shapefile", ".kml": "kml",
                ".parquet": "parquet", ".csv": "csv", ".xlsx": "xlsx"}
MEDIA_TYPES = {
    "gpkg": "application/geopackage+sqlite3", "geojson": "application/geo+json", "shapefile": "application/zip",
    "kml": "application/vnd.google-earth.kml+xml", "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Spreadsheets skip leading blanks before a formula and read full-width ＝＋－＠ as the ASCII signs.
_FORMULA_START = re.compile(r"^[\s\u3000\u00a0]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r]")

#: Export column → Shapefile (DBF) field name of at most 10 characters. Columns not listed
#: here and longer than 10 characters are cut and numbered; ``fields.csv`` in the zip holds
#: the mapping actually used.
SHAPEFILE_FIELDS = {
    "land_use_code": "landuse",
    "industry_code": "industry",
    "floor_area_m2": "floor_m2",
    "footprint_m2": "footpr_m2",
    "structures_footprint_m2": "struct_m2",
    "floor_area_over_8m_m2": "floor8m_m2",
    "developed_area_mu": "devel_mu",
    "investment_to_date_wan": "inv_to_dat",
    "delay_cause": "delay_caus",
    "delay_reason": "delay_rsn",
    "investment_wan": "invest_wan",
    "contract_date": "contr_date",
    "contract_start_date": "contr_strt",
    "actual_start_date": "act_start",
    "water_t_per_day": "water_tpd",
    "reserved_project": "res_proj",
    "reserved_by": "res_by",
    "reserved_at": "res_at",
    "building_coefficient": "build_coef",
    "investment_per_mu_wan": "inv_per_mu",
    "output_per_mu_wan": "out_per_mu",
    "tax_per_mu_wan": "tax_per_mu",
    "output_per_mu_wan_median": "out_mu_med",
    "tax_per_mu_wan_median": "tax_mu_med",
    "available_area_mu": "avail_mu",
}

#: Parcel export columns: the stored attributes, then the derived metrics and grade.
PARCEL_EXPORT_COLUMNS = [c for c in PARCEL_COLUMNS if c != "version"] + PARCEL_METRICS + ["grade"]


def format_for(path: str | os.PathLike) -> str:
    """The export format of a file name, from its extension; one-line error for others."""
    suffix = Path(str(path)).suffix.lower()
    if suffix not in DATA_FORMATS:
        raise ParkAtlasError(f"cannot export to {Path(str(path)).name!r}: use one of {', '.join(DATA_FORMATS)}")
    return DATA_FORMATS[suffix]


# --- spreadsheet safety ----------------------------------------------------------------------------
def is_formula_like(value) -> bool:
    """True for text a spreadsheet would run as a formula (after blanks, with full-width signs too)."""
    return isinstance(value, str) and _FORMULA_START.match(value) is not None


def neutralise(value):
    """``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula."""
    return "'" + value if is_formula_like(value) else value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text columns are neutralised (numeric columns untouched)."""
    out = frame.copy()
    for col in out.columns:
        if col == "geometry" or pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col]):
            continue
        values = out[col].astype(object)
        risky = values.map(is_formula_like)
        if risky.any():
            out[col] = values.where(~risky, "'" + values[risky].astype(str))
    return out


# --- frames to export --------------------------------------------------------------------------------
def parcel_export_frame(parcels: gpd.GeoDataFrame, standards: Standards | None = None) -> gpd.GeoDataFrame:
    """Parcels (or available land) with their metrics, in export column order, EPSG:4490."""
    frame = parcels if "grade" in parcels.columns else with_metrics(parcels, standards)
    columns = [c for c in PARCEL_EXPORT_COLUMNS if c in frame.columns]
    return gpd.GeoDataFrame(frame[columns], geometry=frame.geometry, crs=frame.crs).to_crs(CGCS2000)


def _flat_value(value):
    if isinstance(value, dict) or (isinstance(value, (list, tuple)) and any(isinstance(v, dict) for v in value)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, (list, tuple, np.ndarray)):
        return ";".join(map(str, value))
    return value


def flatten_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists become ``;``-joined text, dicts and lists of dicts JSON text, so every format holds them."""
    out = frame.copy()
    for col in out.columns:
        if col != "geometry" and out[col].dtype == object:
            out[col] = out[col].map(_flat_value)
    return out


def candidates_export_frame(candidates: gpd.GeoDataFrame, lang: str = "zh") -> gpd.GeoDataFrame:
    """Match candidates (``MatchResult.candidates``) flattened for export, EPSG:4490.

    ``parcel_ids`` become ``;``-joined text, ``criteria`` JSON text, and a ``reasons`` column
    lists each criterion's explanation in ``lang``.
    """
    frame = pd.DataFrame(candidates)
    if "criteria" in frame.columns:
        key = "reason_en" if lang == "en" else "reason_zh"
        frame["reasons"] = frame.criteria.map(
            lambda crits: "; ".join(str(c.get(key, "")) for c in crits) if isinstance(crits, (list, tuple)) else None)
    flat = flatten_frame(frame)
    return gpd.GeoDataFrame(flat, geometry="geometry", crs=candidates.crs).to_crs(CGCS2000)


def excluded_table(excluded: dict) -> pd.DataFrame:
    """``MatchResult.excluded`` (reason → count) as a table with columns ``reason`` and ``count``.

    The count is of parcels, or of assembled blocks for the ``block_*`` reasons.
    """
    return pd.DataFrame({"reason": list(excluded), "count": [int(v) for v in excluded.values()]})


# --- writers -------------------------------------------------------------------------------------------
def shapefile_field_names(columns) -> dict[str, str]:
    """Column → DBF field name (≤ 10 characters, unique), by :data:`SHAPEFILE_FIELDS` then cutting."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        name = SHAPEFILE_FIELDS.get(col, col)[:10]
        stem, n = name, 1
        while name.lower() in used:
            suffix = f"_{n}"
            name, n = stem[: 10 - len(suffix)] + suffix, n + 1
        used.add(name.lower())
        mapping[col] = name
    return mapping


def _vector_ready(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Types every OGR driver writes: nullable booleans and integers as plain values or null."""
    out = frame.copy()
    for col in out.columns:
        if col == "geometry":
            continue
        dtype = out[col].dtype
        if isinstance(dtype, pd.BooleanDtype):
            out[col] = out[col].astype("Int8")
        elif isinstance(dtype, pd.StringDtype):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def _write_vector(frame: gpd.GeoDataFrame, fmt: str, layer: str, workdir: Path) -> Path:
    frame = _vector_ready(frame)
    if fmt == "gpkg":
        path = workdir / f"{layer}.gpkg"
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG")
    elif fmt == "geojson":
        path = workdir / f"{layer}.geojson"
        pyogrio.write_dataframe(frame.to_crs(WGS84), path, driver="GeoJSON", RFC7946="YES")
    elif fmt == "kml":
        path = workdir / f"{layer}.kml"
        placemarks = frame.to_crs(WGS84)
        if "Name" not in placemarks.columns:  # LIBKML shows the field "Name" as the placemark's name
            placemarks.insert(0, "Name", placemarks.iloc[:, 0].astype(str))
        pyogrio.write_dataframe(placemarks, path, layer=layer, driver="LIBKML")
    elif fmt == "parquet":
        path = workdir / f"{layer}.parquet"
        frame.to_parquet(path, index=False)
    elif fmt == "shapefile":
        shp_dir = workdir / "shp"
        shp_dir.mkdir()
        mapping = shapefile_field_names([c for c in frame.columns if c != "geometry"])
        renamed = frame.rename(columns=mapping)
        pyogrio.write_dataframe(renamed, shp_dir / f"{layer}.shp", driver="ESRI Shapefile", encoding="UTF-8")
        pd.DataFrame({"field": list(mapping.values()), "column": list(mapping)}).to_csv(
            shp_dir / "fields.csv", index=False, encoding="utf-8")
        path = workdir / f"{layer}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for member in sorted(shp_dir.iterdir()):
                zf.write(member, member.name)
    else:
        raise ParkAtlasError(f"{fmt} is not a vector format")
    return path


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    table = pd.DataFrame(frame).copy()
    if "geometry" in table.columns:
        geo = gpd.GeoSeries(table.pop("geometry"), crs=getattr(frame, "crs", None))
        table["wkt"] = shapely.to_wkt(geo.to_crs(CGCS2000).values, rounding_precision=8)
    return neutralise_frame(table).to_csv(index=False).encode("utf-8-sig")


def _sheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    table = pd.DataFrame(frame).copy()
    if "geometry" in table.columns:
        geo = gpd.GeoSeries(table.pop("geometry"), crs=getattr(frame, "crs", None))
        points = geo.to_crs(CGCS2000).representative_point()
        table["lon"], table["lat"] = points.x.round(7), points.y.round(7)
    return flatten_frame(table)


def park_names(parks: pd.DataFrame, lang: str = "zh") -> dict[str, str]:
    """Park id → the park's name in ``lang`` (the Chinese name where an English one is missing)."""
    names = parks[f"name_{lang}"].where(parks[f"name_{lang}"].fillna("").astype(str).str.strip() != "",
                                         parks["name_zh"])
    return dict(zip(parks.park_id.astype(str), names))


def planner_sheet(frame: pd.DataFrame, lang: str = "zh", field_names: dict[str, str] | None = None,
                  city=None, parks: pd.DataFrame | None = None) -> pd.DataFrame:
    """A table as a planner reads it (:func:`geo.display.format_frame`): headings in ``lang``, catalogue
    labels instead of codes (statuses, land use, groups, chains, candidate kinds, exclusion reasons),
    areas and money rounded to their fixed decimals, dates and times local, booleans 是/否.

    Columns the catalogue does not know (a planner's own imported fields) keep their names;
    ``field_names`` (column → heading) overrides headings, e.g. the source's own names of an import.
    A geometry becomes the ``lon``/``lat`` of an interior point; the machine-readable ``criteria``
    of candidates give way to their ``reasons``, and names in the other language are dropped.
    Park groups are named by ``city`` (the store's :class:`geo.city.City`; without it, by their ids).
    A planner reads a park by its name: the ``park_id`` column is headed as the park's id (园区编号),
    and with ``parks`` (the store's parks table) a sheet that names no park gets the park's name
    (园区) beside it.
    """
    from geo import display, i18n
    from geo.matching import EXCLUSION_REASONS

    table = pd.DataFrame(frame).copy()
    if "geometry" in table.columns:
        geo = gpd.GeoSeries(table.pop("geometry"), crs=getattr(frame, "crs", None))
        points = geo.to_crs(CGCS2000).representative_point()
        table["lon"], table["lat"] = points.x, points.y
    other = "en" if lang == "zh" else "zh"
    table = table.drop(columns=[c for c in ("criteria", f"name_{other}", f"park_name_{other}") if c in table.columns])
    if "kind" in table.columns:
        table["kind"] = table["kind"].map(lambda k: i18n.t(f"match.{k}", lang))
    if "reason" in table.columns:
        table["reason"] = table["reason"].map(lambda r: EXCLUSION_REASONS.get(r, (r, r))[0 if lang == "zh" else 1])
    if "criteria" in frame.columns:  # as matched, or flattened to JSON text by candidates_export_frame
        key = "reason_en" if lang == "en" else "reason_zh"
        table["reasons"] = frame["criteria"].map(lambda crits: ("；" if lang == "zh" else "; ").join(
            c[key] for c in (json.loads(crits) if isinstance(crits, str) else crits)))
    if "parcel_ids" in table.columns:
        table["parcel_ids"] = table["parcel_ids"].map(lambda ids: ids.split(";") if isinstance(ids, str) else ids)
    named = {f"park_name_{lang}", f"name_{lang}"} & set(table.columns)
    if "park_id" in table.columns and parks is not None and not named:
        names = table["park_id"].astype(str).map(park_names(parks, lang))
        table.insert(table.columns.get_loc("park_id") + 1, f"park_name_{lang}", names.fillna(table["park_id"]))
    kinds = {"kind": "text", "reason": "text", "reasons": "text"}
    headings = {"park_id": i18n.label_field("park_id", lang), **(field_names or {})}
    out = display.format_frame(table, lang, kinds=kinds, headers=headings, for_export=True, city=city)
    out.attrs["number_formats"] = {heading: NUMBER_FORMATS[kind] for heading, kind in
                                   zip(out.columns, (kinds.get(c) or display.column_kind(str(c)) for c in table.columns))
                                   if kind in NUMBER_FORMATS}
    return out


#: Excel number formats of a planner's workbook, by display kind (values stay numbers).
NUMBER_FORMATS = {"area_mu": "#,##0.00", "area_m2": "#,##0", "area_ha": "#,##0.00", "wan": "#,##0.0",
                  "wan_per_mu": "#,##0.0", "percent": "0.0%", "ratio": "0.00", "number": "#,##0.00",
                  "integer": "#,##0", "score": "0.0", "km": "#,##0.0", "kva": "#,##0", "t_per_day": "#,##0"}


def xlsx_bytes(sheets: dict[str, pd.DataFrame], lang: str | None = None,
               field_names: dict[str, str] | None = None, city=None, parks: pd.DataFrame | None = None) -> bytes:
    """An Excel workbook with one sheet per frame; text neutralised, numbers kept numeric.

    With ``lang`` the workbook is a planner's (:func:`planner_sheet`: headings, sheet names and
    values in ``lang``); without, the columns and codes as stored (for further processing).
    ``field_names`` head the first sheet's columns (the exported features'; the planner's own names
    of an import, :func:`geo.store.tables.imported_field_names`), not the summary sheets after it;
    ``city`` names the park groups of a planner's workbook, ``parks`` (the store's parks table) its parks.
    """
    import xlsxwriter

    if not sheets:
        raise ParkAtlasError("nothing to write to the workbook")
    buffer = io.BytesIO()
    # No string becomes a formula, a link or a number: a cell holds exactly the text it was given.
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False, "nan_inf_to_errors": True})
    bold = book.add_format({"bold": True})
    for number, (name, frame) in enumerate(sheets.items()):
        if lang:
            from geo import i18n

            title = i18n.catalogue(lang).get(f"sheet.{name}", str(name))
            table = planner_sheet(frame, lang, field_names if number == 0 else None, city, parks)
        else:
            title, table = str(name), _sheet_frame(frame)
        sheet = book.add_worksheet(title[:31])
        formats = table.attrs.get("number_formats", {})
        for col, heading in enumerate(table.columns):
            heading = str(heading)
            sheet.write_string(0, col, heading, bold)
            sheet.set_column(col, col, max(10, min(40, len(heading) + 2)))
            cell_format = book.add_format({"num_format": formats[heading]}) if heading in formats else None
            sheet.write_column(1, col, [_cell(v) for v in table.iloc[:, col].tolist()], cell_format)
        sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def _cell(value):
    """A cell value stored as a number, boolean, literal text (never a formula) or nothing."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float)):
        return value
    return neutralise(str(value))


def export_bytes(frame: gpd.GeoDataFrame, fmt: str, *, layer: str = "parcels",
                 tables: dict[str, pd.DataFrame] | None = None, lang: str | None = None,
                 field_names: dict[str, str] | None = None, city=None, parks: pd.DataFrame | None = None) -> bytes:
    """``frame`` in format ``fmt`` (see :data:`DATA_FORMATS`) as bytes.

    ``layer`` names the layer/sheet/file inside; ``tables`` are extra sheets for ``xlsx``
    (e.g. ``{"kpis": park_kpis(...)}``), ignored by the other formats. ``lang`` makes an ``xlsx``
    a planner's workbook (:func:`planner_sheet`, ``field_names`` its headings, ``city`` its park
    groups' names, ``parks`` its parks' names); GIS formats and CSV keep the stored columns and codes.
    """
    if fmt not in MEDIA_TYPES:
        raise ParkAtlasError(f"unknown export format {fmt!r}; one of {', '.join(MEDIA_TYPES)}")
    if fmt == "csv":
        return _csv_bytes(frame)
    if fmt == "xlsx":
        return xlsx_bytes({layer: frame, **(tables or {})}, lang, field_names, city, parks)
    if frame.crs is None:
        raise ParkAtlasError("features have no CRS; nothing can be exported without one")
    with tempfile.TemporaryDirectory(prefix="parkatlas-export-") as tmp:
        return _write_vector(frame, fmt, layer, Path(tmp)).read_bytes()


def output_path(path: str | os.PathLike, *, follow_symlink: bool = False) -> Path:
    """Where an export goes: ``path`` itself, refused when it is a symbolic link unless asked.

    A link planted at the output name would otherwise redirect the write to any file the user
    may write; with ``follow_symlink`` the link's target is written (the caller asked for it).
    """
    path = Path(path)
    if path.is_symlink():
        if not follow_symlink:
            raise ParkAtlasError(f"{path} is a symbolic link; choose another --out, or pass --follow-symlink "
                                 "to overwrite the file it points to")
        path = path.resolve()
    if not path.parent.is_dir():
        raise ParkAtlasError(f"folder {path.parent} does not exist; create it or choose another --out")
    return path


def write_file(path: Path, write) -> None:
    """Write ``path`` through ``write(binary_file)`` atomically: a new temporary file, then a rename.

    The temporary file is created exclusively (``mkstemp``: a fresh name, never an existing file
    or link) in the target folder; a failed write (a full disk) leaves no file and is one line.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        os.replace(tmp, path)
    except OSError as exc:
        raise ParkAtlasError(f"cannot write {path}: {exc.strerror or exc}; free some space or choose "
                             "another --out (nothing was written)") from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def write_export(frame: gpd.GeoDataFrame, path: str | os.PathLike, *, layer: str = "parcels",
                 tables: dict[str, pd.DataFrame] | None = None, follow_symlink: bool = False,
                 lang: str | None = None, field_names: dict[str, str] | None = None, city=None,
                 parks: pd.DataFrame | None = None) -> dict:
    """Write ``frame`` to ``path`` in the format of its extension (atomically, see :func:`write_file`).

    Returns ``{"out", "format", "features", "bytes"}``.
    """
    fmt = format_for(path)
    path = output_path(path, follow_symlink=follow_symlink)
    data = export_bytes(frame, fmt, layer=layer, tables=tables, lang=lang, field_names=field_names, city=city,
                        parks=parks)
    write_file(path, lambda out: out.write(data))
    return {"out": str(path), "format": fmt, "features": int(len(frame)), "bytes": len(data)}


def read_shapefile_zip(data_or_path) -> gpd.GeoDataFrame:
    """Read a zip written by this module back with the long column names (for checks and tests)."""
    raw = Path(data_or_path).read_bytes() if isinstance(data_or_path, (str, os.PathLike)) else data_or_path
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        mapping = pd.read_csv(zf.open("fields.csv"), dtype=str)
    frame = pyogrio.read_dataframe(io.BytesIO(raw))
    return frame.rename(columns=dict(zip(mapping.field, mapping.column)))
