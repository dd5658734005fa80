"""What may reach GDAL: the GDAL configuration, upload limits, and the format sniffer.

GDAL picks a driver from a file's content, not its extension, so a VRT saved as ``.geojson``
could read ``/etc/passwd`` or fetch a URL. Three layers keep uploads to what they claim to be:

1. :data:`GDAL_CONFIG` is put into ``os.environ`` when :mod:`geo` is imported, before pyogrio
   registers its drivers, so VRT and the network drivers are never registered in this process;
2. each upload's format is decided here from its magic bytes *and* its extension, and only an
   allow-list of formats is accepted; names that look like paths or URLs (``/vsi…``,
   ``http://``) are refused before anything else sees them;
3. the parsing subprocess (:mod:`geo.io.sandbox`) registers only the one GDAL driver that the
   sniffed format needs and has the network switched off.

This module imports nothing but the standard library (and :mod:`geo.errors`), because
:mod:`geo` imports it first.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from geo.errors import KeyedError

#: Drivers that open further files or the network. Skipped in every ParkAtlas process.
SKIPPED_DRIVERS = (
    "VRT", "OGR_VRT", "GTI", "DERIVED", "GDALG", "HTTP", "WFS", "OAPIF", "OGCAPI", "CSW", "WMS",
    "WMTS", "WCS", "Elasticsearch", "Carto", "AmigoCloud", "NGW", "PLSCENES", "EEDA", "EEDAI",
    "GPSBabel", "ADBC", "STACIT", "STACTA", "DAAS", "PLMOSAIC",
)

#: Put into ``os.environ`` (without overriding an operator's explicit setting) on import of geo.
GDAL_CONFIG = {
    "GDAL_SKIP": ",".join(SKIPPED_DRIVERS),
    # /vsicurl/ only opens names with these extensions: none that a real URL would carry.
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".parkatlas-network-disabled",
}

#: Extra configuration of the parsing subprocess only (its environment is built from scratch).
SANDBOX_GDAL_CONFIG = {
    **GDAL_CONFIG,
    "GDAL_HTTP_PROXY": "127.0.0.1:9",  # discard port: any HTTP attempt fails at once
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "LIBKML_RESOLVE_STYLE": "NO",
    "DXF_CLOSED_LINE_AS_POLYGON": "TRUE",
    "OGR_GEOJSON_MAX_OBJ_SIZE": "500",  # MB, GDAL's own default cap made explicit
}


def apply_gdal_config(environ=os.environ) -> None:
    """Set :data:`GDAL_CONFIG` in ``environ`` unless already set (call before importing pyogrio)."""
    for key, value in GDAL_CONFIG.items():
        environ.setdefault(key, value)
    skip = set(environ["GDAL_SKIP"].split(","))
    if not {"VRT", "OGR_VRT"} <= skip:  # an operator's own GDAL_SKIP still skips VRT
        environ["GDAL_SKIP"] = ",".join(s for s in sorted(skip | {"VRT", "OGR_VRT"}) if s)


apply_gdal_config()


# --- user-supplied strings -------------------------------------------------------------------
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(//|\\\\)")
_GDAL_PREFIX = re.compile(r"^\s*(/vsi|\\vsi|[A-Za-z0-9_ ]+:(/vsi|\\vsi))", re.IGNORECASE)


class UnsafeInput(KeyedError):
    """A refused upload: a path or URL where bytes belong, a forbidden type, over a limit."""


def refuse_path_like(text: str, what: str = "file name") -> str:
    """Return ``text`` unless it is a GDAL virtual path (``/vsi…``) or a URL; then raise.

    GDAL opens ``/vsicurl/https://…``, ``/vsizip/…`` and ``DRIVER:/vsi…`` strings as
    datasets, so such strings are refused wherever a name could be passed on.
    """
    if not isinstance(text, str):
        raise UnsafeInput("import.refused.name_not_text", f"{what} must be text")
    stripped = text.strip()
    if _GDAL_PREFIX.match(stripped) or "/vsi" in stripped.lower():
        raise UnsafeInput("import.refused.virtual_path", f"{what} {stripped[:60]!r} is a GDAL virtual path; "
                          "upload the file itself", name=stripped[:60])
    if _URL_SCHEME.match(stripped):
        raise UnsafeInput("import.refused.url", f"{what} {stripped[:60]!r} is a URL; download the file and upload it",
                          name=stripped[:60])
    return text


# --- limits ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """Upload and archive limits. Defaults come from ``PARKATLAS_IMPORT_*`` variables."""

    max_upload_bytes: int = 200 * 2 ** 20
    max_members: int = 200
    max_total_uncompressed: int = 1024 * 2 ** 20
    max_ratio: float = 100.0
    timeout_s: float = 300.0
    memory_bytes: int = 6 * 2 ** 30

    @classmethod
    def from_env(cls, environ=os.environ) -> "Limits":
        mb = 2 ** 20
        try:
            return cls._from_env(environ, mb)
        except ValueError:
            raise UnsafeInput("import.refused.limits_setting",
                              "PARKATLAS_IMPORT_MAX_MB, _TIMEOUT_S and _MEMORY_MB must be numbers") from None

    @classmethod
    def _from_env(cls, environ, mb: int) -> "Limits":
        return cls(
            max_upload_bytes=int(float(environ.get("PARKATLAS_IMPORT_MAX_MB", 200)) * mb),
            timeout_s=float(environ.get("PARKATLAS_IMPORT_TIMEOUT_S", 300)),
            memory_bytes=int(float(environ.get("PARKATLAS_IMPORT_MEMORY_MB", 6144)) * mb),
        )


def too_large(filename: str, size: int, limits: Limits) -> UnsafeInput:
    """The refusal of a file of ``size`` bytes over the upload limit (the app's and the CLI's)."""
    name, megabytes, limit = os.path.basename(filename), f"{size / 2 ** 20:.1f}", f"{limits.max_upload_bytes / 2 ** 20:.0f}"
    return UnsafeInput("import.refused.too_large", f"{name} is {megabytes} MB; the limit is {limit} MB", file=name,
                       size=megabytes, limit=limit)


# --- formats ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Format:
    """An accepted upload format: how it is recognised and which reader/driver parses it."""

    key: str
    label: str
    extensions: tuple[str, ...]
    drivers: tuple[str, ...]  # GDAL drivers registered in the sandbox for it ("" for none)


FORMATS = {f.key: f for f in (
    Format("gpkg", "GeoPackage", (".gpkg",), ("GPKG",)),
    Format("shapefile", "zipped Shapefile", (".zip",), ("ESRI Shapefile",)),
    Format("geojson", "GeoJSON", (".geojson", ".json"), ("GeoJSON",)),
    Format("parquet", "GeoParquet", (".parquet", ".geoparquet"), ()),
    Format("flatgeobuf", "FlatGeobuf", (".fgb",), ("FlatGeobuf",)),
    Format("kml", "KML", (".kml",), ("LIBKML", "KML")),
    Format("kmz", "KMZ", (".kmz",), ("LIBKML", "KML")),
    Format("dxf", "DXF", (".dxf",), ("DXF",)),
    Format("osm", "OpenStreetMap", (".osm.pbf", ".pbf", ".osm"), ("OSM",)),
    Format("csv", "CSV", (".csv", ".txt"), ()),
    Format("xlsx", "Excel workbook", (".xlsx",), ()),
)}

ACCEPTED_EXTENSIONS = tuple(sorted({e for f in FORMATS.values() for e in f.extensions}))


def extension_of(filename: str) -> str:
    """Lower-case extension, keeping the double one of ``.osm.pbf``."""
    name = os.path.basename(filename.replace("\\", "/")).lower()
    if name.endswith(".osm.pbf"):
        return ".osm.pbf"
    return os.path.splitext(name)[1]


def _text_head(data: bytes, size: int = 4096) -> str:
    head = data[:size]
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            head = head[len(bom):]
            break
    return head.decode("latin-1").lstrip()


def _looks_like_vrt(head: str) -> bool:
    lowered = head.lower()
    return "<ogrvrtdatasource" in lowered or "<vrtdataset" in lowered


def sniff(data: bytes, filename: str) -> Format:
    """The :class:`Format` of an upload, from its extension confirmed by its content.

    Raises :class:`UnsafeInput` for an unaccepted extension, for content of another kind than
    the extension says (e.g. a VRT named ``.geojson``), and for any VRT.
    """
    ext = extension_of(filename)
    matches = [f for f in FORMATS.values() if ext in f.extensions]
    if not matches:
        accepted = ", ".join(ACCEPTED_EXTENSIONS)
        raise UnsafeInput("import.refused.extension" if ext else "import.refused.no_extension",
                          f"{ext or 'files without an extension'} is not accepted; give one of {accepted}",
                          file=os.path.basename(filename), ext=ext, accepted=accepted)
    fmt = matches[0]
    head = _text_head(data)
    if _looks_like_vrt(head):
        raise UnsafeInput("import.refused.vrt", f"{os.path.basename(filename)} is a GDAL VRT, which can read "
                          "other files or URLs; VRTs are not accepted", file=os.path.basename(filename))
    ok = {
        "gpkg": data[:16] == b"SQLite format 3\x00" and data[68:72] in (b"GPKG", b"GP10", b"GP11"),
        "shapefile": data[:4] == b"PK\x03\x04",
        "kmz": data[:4] == b"PK\x03\x04",
        "xlsx": data[:4] == b"PK\x03\x04",
        "geojson": head.startswith("{"),
        "parquet": data[:4] == b"PAR1",
        "flatgeobuf": data[:3] == b"fgb" and data[3:4] == b"\x03",
        "kml": head.startswith("<") and "<kml" in head.lower(),
        "dxf": re.match(r"0\s*\r?\n\s*SECTION", head) is not None,
        "osm": (b"OSMHeader" in data[:64]) or (head.startswith("<") and "<osm" in head),
        "csv": b"\x00" not in data[:4096] and not head.startswith(("<", "{")),
    }[fmt.key]
    if not ok:
        raise UnsafeInput("import.refused.content", f"{os.path.basename(filename)} is not a valid {fmt.label} file "
                          f"(its content does not match its extension {ext})", file=os.path.basename(filename),
                          ext=ext)
    return fmt
