"""An intranet basemap: a government tile server or a 天地图 mirror reachable without internet.

Configured in the settings file (``$PARKATLAS_SETTINGS``, default ``var/settings.json``)::

    {"basemap": {"name": "市政务网地图", "url": "http://10.1.2.3/tiles/{z}/{x}/{y}.png",
                 "crs": "EPSG:3857", "attribution": "市自然资源局"}}

``url`` is an XYZ template (``{z}``, ``{x}``, ``{y}``, optional ``{s}`` with ``subdomains``) or a
WMTS GetTile URL in key-value form whose ``{TileMatrix}``, ``{TileRow}`` and ``{TileCol}``
placeholders are rewritten to ``{z}``, ``{y}`` and ``{x}``. ``crs`` declares the tiles'
coordinate system and must be given: ``EPSG:3857`` (Web Mercator tiles over WGS84 or CGCS2000 —
天地图's ``_w`` layers; the two datums differ by centimetres). Tiles in GCJ-02 (AMap, Tencent) or
BD-09 (Baidu) are offset by hundreds of metres from CGCS2000 parcels and are refused, as are
lon/lat tile matrices (天地图 ``_c``), which the web map cannot draw.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from geo.errors import ParkAtlasError
from geo.standards import REPO_ROOT

SETTINGS_ENV = "PARKATLAS_SETTINGS"
#: Tile coordinate systems the web map draws parcels on without offset.
ACCEPTED_CRS = {"EPSG:3857": "EPSG:3857", "EPSG:900913": "EPSG:3857", "WEBMERCATOR": "EPSG:3857",
                "WEB MERCATOR": "EPSG:3857"}
#: Declared systems refused, with the reason.
REFUSED_CRS = {
    "GCJ-02": "GCJ-02 (AMap/Tencent) tiles are offset by hundreds of metres from CGCS2000 parcels",
    "GCJ02": "GCJ-02 (AMap/Tencent) tiles are offset by hundreds of metres from CGCS2000 parcels",
    "BD-09": "BD-09 (Baidu) tiles are offset by hundreds of metres from CGCS2000 parcels",
    "BD09": "BD-09 (Baidu) tiles are offset by hundreds of metres from CGCS2000 parcels",
    "EPSG:4490": "lon/lat tile matrices (天地图 _c layers) cannot be drawn by the web map; use the _w layer",
    "EPSG:4326": "lon/lat tile matrices (天地图 _c layers) cannot be drawn by the web map; use the _w layer",
}
_WMTS = {"{tilematrix}": "{z}", "{tilerow}": "{y}", "{tilecol}": "{x}"}


class BasemapError(ParkAtlasError):
    """A tile service that cannot be used; ``key`` names the reason (for a translated message)."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(message)


@dataclass(frozen=True)
class IntranetBasemap:
    """A checked tile service: ``url`` (XYZ template), ``crs`` (``EPSG:3857``), a name to show."""

    url: str
    crs: str
    name: str
    attribution: str = ""
    subdomains: str = ""


def settings_path(path: str | os.PathLike | None = None) -> Path:
    """The settings file: ``path``, else ``$PARKATLAS_SETTINGS``, else ``var/settings.json``."""
    return Path(path or os.environ.get(SETTINGS_ENV) or REPO_ROOT / "var" / "settings.json")


def check_basemap(url: str, crs: str, name: str = "", attribution: str = "", subdomains: str = "") -> IntranetBasemap:
    """Validate a tile service; raises ``ParkAtlasError`` (one line) saying what to change."""
    url = str(url or "").strip()
    if not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE):
        raise BasemapError("url", "the basemap URL must start with http:// or https:// and name a server")
    for placeholder, xyz in _WMTS.items():
        url = re.sub(re.escape(placeholder), xyz, url, flags=re.IGNORECASE)
    missing = [p for p in ("{z}", "{x}", "{y}") if p not in url]
    if missing:
        raise BasemapError("placeholders", f"the basemap URL lacks {', '.join(missing)}: give an XYZ template "
                             "(…/{z}/{x}/{y}.png) or a WMTS GetTile URL with {TileMatrix}, {TileRow}, {TileCol}")
    if "{s}" in url and not subdomains:
        raise BasemapError("subdomains", "the basemap URL uses {s}: give its subdomains, e.g. 01234567")
    key = str(crs or "").strip().upper()
    if not key:
        raise BasemapError("crs_missing", "declare the basemap's coordinate system (crs), e.g. EPSG:3857")
    if key in REFUSED_CRS:
        raise BasemapError("geographic" if key.startswith("EPSG") else "offset", f"basemap refused: {REFUSED_CRS[key]}")
    if key not in ACCEPTED_CRS:
        raise BasemapError("crs_unknown", f"basemap coordinate system {crs!r} is not supported; give EPSG:3857 "
                           "(Web Mercator over WGS84/CGCS2000)")
    return IntranetBasemap(url, ACCEPTED_CRS[key], str(name or "").strip() or url.split("/")[2],
                           str(attribution or "").strip(), str(subdomains or "").strip())


def load_basemap(path: str | os.PathLike | None = None) -> IntranetBasemap | None:
    """The configured intranet basemap, ``None`` when none is set; a bad entry raises ``ParkAtlasError``."""
    file = settings_path(path)
    if not file.is_file():
        return None
    try:
        entry = json.loads(file.read_text(encoding="utf-8")).get("basemap")
    except (OSError, ValueError, AttributeError) as exc:
        raise ParkAtlasError(f"settings file {file} is not valid JSON: {exc}") from None
    if not entry:
        return None
    return check_basemap(entry.get("url"), entry.get("crs"), entry.get("name", ""), entry.get("attribution", ""),
                         entry.get("subdomains", ""))


def save_basemap(basemap: IntranetBasemap | None, path: str | os.PathLike | None = None) -> Path:
    """Write (or with ``None`` remove) the basemap entry, keeping the file's other settings."""
    file = settings_path(path)
    settings = {}
    if file.is_file():
        try:
            settings = json.loads(file.read_text(encoding="utf-8"))
        except ValueError:
            settings = {}
    if basemap is None:
        settings.pop("basemap", None)
    else:
        settings["basemap"] = asdict(basemap)
    file.parent.mkdir(parents=True, exist_ok=True)
    scratch = file.with_name(file.name + ".tmp")
    scratch.write_text(json.dumps(settings, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    scratch.replace(file)
    return file


__all__ = ["BasemapError", "IntranetBasemap", "check_basemap", "load_basemap", "save_basemap", "settings_path"]
