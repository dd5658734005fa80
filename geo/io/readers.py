"""Format readers. They run inside the parsing subprocess (:mod:`geo.io.sandbox`), never in the app.

Each reader takes the upload's bytes (never a path) and returns an Arrow table whose geometry,
if any, is a WKB column named ``geometry``, plus a JSON-able ``meta`` dict (driver, layers,
CRS text, encoding). GDAL formats go through ``pyogrio.read_arrow`` from memory; GeoParquet
through pyarrow (this GDAL build has no Parquet driver); CSV and XLSX through pandas/openpyxl.
"""
from __future__ import annotations

import io
import json

#: GDAL geometry types accepted when picking layers of a multi-layer source.
_POLYGONAL_TYPES = ("Polygon", "MultiPolygon", "Unknown", "GeometryCollection")
#: Layer to read per format when there is no better hint (GDAL's fixed layer names).
_FIXED_LAYERS = {"osm": "multipolygons", "dxf": "entities"}


class ReadError(Exception):
    """The file could not be parsed; the message is safe to show (no file content).

    ``key`` (under ``import.refused.read.``) and ``values`` say it in the catalogue's languages; they
    cross the process boundary as JSON (:func:`geo.io.sandbox.worker_main`).
    """

    def __init__(self, key: str, message: str, **values):
        self.key, self.values = key, values
        super().__init__(message)


def read_upload_bytes(data: bytes, request: dict):
    """Dispatch on ``request["format"]``; returns ``(pyarrow.Table, meta)``."""
    fmt = request["format"]
    if fmt == "parquet":
        return _read_geoparquet(data)
    if fmt == "csv":
        return _read_csv(data, request.get("encoding"))
    if fmt == "xlsx":
        return _read_xlsx(data)
    return _read_gdal(data, request)


def _choose_layers(layers, fmt: str, hint: str | None) -> list[int]:
    """Indexes of the layers to read (indexes: each bytes read gets a new in-memory name)."""
    names = [str(name) for name, _ in layers]
    if not names:
        raise ReadError("no_layers", "the file holds no layers")
    if fmt in _FIXED_LAYERS and _FIXED_LAYERS[fmt] in names:
        return [names.index(_FIXED_LAYERS[fmt])]
    if hint:
        named = [i for i, n in enumerate(names) if n.lower() == hint.lower()]
        if named:
            return named[:1]
    if len(names) == 1:
        return [0]
    polygonal = [i for i, (_, kind) in enumerate(layers) if any(str(kind).startswith(t) for t in _POLYGONAL_TYPES)]
    if not polygonal:
        raise ReadError("no_polygon_layer", f"no polygon layer among: {', '.join(names)}", layers=", ".join(names))
    return polygonal


def _read_gdal(data: bytes, request: dict):
    import pyarrow as pa
    import pyogrio

    fmt, allowed = request["format"], set(request["drivers"])
    try:
        layers = pyogrio.list_layers(data)
        chosen = _choose_layers(layers, fmt, request.get("layer_hint"))
        names = [str(layers[i][0]) for i in chosen]
        tables, crs_texts, driver = [], set(), None
        for layer, name in zip(chosen, names):
            driver = pyogrio.read_info(data, layer=layer).get("driver")
            if driver not in allowed:
                raise ReadError("driver", f"the file opened with GDAL driver {driver}, which is not allowed for "
                                f"{fmt} uploads", driver=driver)
            meta, table = pyogrio.read_arrow(data, layer=layer, encoding=request.get("gdal_encoding"))
            geometry_name = meta.get("geometry_name") or "wkb_geometry"
            if geometry_name not in table.column_names:
                raise ReadError("no_geometry", f"layer {name} has no geometry", layer=name)
            column = table.column(geometry_name)
            wkb = pa.chunked_array([getattr(c, "storage", c) for c in column.chunks], type=pa.binary())
            table = table.drop_columns([c for c in (geometry_name, "geometry") if c in table.column_names])
            table = table.append_column("geometry", wkb)
            if len(chosen) > 1:
                table = table.append_column("source_layer", pa.array([name] * table.num_rows, pa.string()))
            tables.append(table)
            crs_texts.add(meta.get("crs"))
    except ReadError:
        raise
    except Exception as exc:  # GDAL's own errors: keep the message, not the file
        detail = _gdal_message(exc)
        raise ReadError("damaged", detail, detail=detail) from None
    if len(crs_texts) > 1:
        raise ReadError("mixed_crs", f"layers {', '.join(names)} have different CRSs; import them one at a time",
                        layers=", ".join(names))
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    if fmt not in ("gpkg", "osm", "dxf") and len(layers) == 1:
        names = []  # an in-memory file name, not a layer the user named
    return table, {"driver": driver, "layers_read": names,
                   "layers_available": [str(n) for n, _ in layers], "crs": crs_texts.pop()}


def _gdal_message(exc: Exception) -> str:
    """GDAL's message in one short line with in-memory paths removed."""
    import re

    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = re.sub(r"/vsi\w+/+\S*", "the upload", text)
    text = re.sub(r"\S+\.(cpp|c|h):?,? *\d*:? *", "", text)  # GDAL source locations
    text = text.split("; It might help")[0]
    return text[:160]


def _read_geoparquet(data: bytes):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as exc:
        raise ReadError("parquet_corrupt", f"the Parquet file is truncated or corrupt ({str(exc)[:120]})") from None
    metadata = (table.schema.metadata or {}).get(b"geo")
    if not metadata:
        raise ReadError("parquet_no_geo", "the Parquet file has no GeoParquet 'geo' metadata; export it as GeoParquet")
    geo = json.loads(metadata)
    primary = geo.get("primary_column", "geometry")
    column_meta = geo.get("columns", {}).get(primary, {})
    if column_meta.get("encoding", "WKB").upper() != "WKB" or primary not in table.column_names:
        raise ReadError("parquet_encoding", "only WKB-encoded GeoParquet geometry is supported; re-export with WKB "
                        "encoding")
    crs = column_meta.get("crs", "OGC:CRS84")  # GeoParquet: absent means OGC:CRS84
    wkb = table.column(primary).cast(pa.binary())
    others = {c for c in geo.get("columns", {}) if c in table.column_names}
    table = table.drop_columns(sorted(others | ({"geometry"} & set(table.column_names))))
    table = table.append_column("geometry", wkb)
    return table, {"driver": "GeoParquet (pyarrow)", "layers_read": [],
                   "crs": crs if crs is None or isinstance(crs, str) else json.dumps(crs)}


def decode_text(data: bytes, encoding: str | None) -> tuple[str, dict]:
    """Decode a text upload: the given encoding, else UTF-8, else GB18030 (a superset of GBK)."""
    if encoding:
        try:
            return data.decode(encoding), {"encoding": encoding, "method": "declared"}
        except (UnicodeDecodeError, LookupError) as exc:
            raise ReadError("not_encoding", f"the file is not valid {encoding} ({type(exc).__name__})",
                            encoding=encoding.upper()) from None
    try:
        return data.decode("utf-8-sig"), {"encoding": "utf-8", "method": "valid UTF-8"}
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), {"encoding": "gb18030",
                                        "method": "not valid UTF-8; decoded as GB18030 (superset of GBK)"}
    except UnicodeDecodeError:
        raise ReadError("unknown_text", "the text is neither UTF-8 nor GBK/GB18030; give --encoding") from None


def _strings_table(frame):
    import pyarrow as pa

    frame.columns = [str(c) for c in frame.columns]
    return pa.Table.from_pandas(frame.astype(object).where(frame.notna(), None), preserve_index=False)


def _read_csv(data: bytes, encoding: str | None):
    import pandas as pd

    text, info = decode_text(data, encoding)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=None, engine="python")
    except Exception as exc:
        raise ReadError("csv", f"the CSV cannot be parsed ({str(exc)[:120]})") from None
    return _strings_table(frame.replace("", None)), {"driver": "CSV (pandas)", "encoding": info}


def _read_xlsx(data: bytes):
    import pandas as pd

    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=str, engine="openpyxl")
    except Exception as exc:
        raise ReadError("xlsx", f"the workbook cannot be read ({type(exc).__name__}: {str(exc)[:100]})") from None
    return _strings_table(frame), {"driver": "XLSX (openpyxl)"}
