"""Offline map assets: Leaflet served by the app or inlined, never fetched from a CDN.

folium points every map at jsDelivr, code.jquery.com and cdnjs (Leaflet, jQuery, Bootstrap,
awesome-markers), which leaves a blank map offline or behind the Great Firewall. ParkAtlas
needs only Leaflet: it is vendored under ``static/leaflet/`` (Leaflet 1.9.4 from npm, BSD-2,
licence alongside) and either

- served by Streamlit's static file serving (``server.enableStaticServing`` in
  ``.streamlit/config.toml``) under ``/app/static/`` — :func:`use_app_assets`, for the app; or
- inlined into one self-contained HTML file — :func:`standalone_html`, for exports.
"""
from __future__ import annotations

import base64
import re
from functools import lru_cache

import folium
import folium.folium

from geo.errors import ParkAtlasError
from geo.standards import REPO_ROOT

STATIC_DIR = REPO_ROOT / "static"
LEAFLET_DIR = STATIC_DIR / "leaflet"
LEAFLET_JS = LEAFLET_DIR / "leaflet.js"
LEAFLET_CSS = LEAFLET_DIR / "leaflet.css"
LEAFLET_VERSION = "1.9.4"
#: Where Streamlit serves ``static/`` (relative to the server root).
APP_STATIC_URL = "/app/static"

_FOLIUM_DEFAULT_URLS = {url for _, url in folium.folium._default_js + folium.folium._default_css}
_APP_LEAFLET_FILES = ("/leaflet/leaflet.js", "/leaflet/leaflet.css")
_SCRIPT_TAG = re.compile(r'<script src="([^"]*)"></script>\s*')
_CSS_TAG = re.compile(r'<link rel="stylesheet" href="([^"]*)"/>\s*')
_URL_ATTR = re.compile(r'\b(?:src|href)\s*=\s*["\']((?:https?:)?//[^"\']+)', re.IGNORECASE)


def use_app_assets(m: folium.Map, base_url: str = APP_STATIC_URL) -> folium.Map:
    """Point ``m`` at the Leaflet copy the app serves under ``base_url`` (and nothing else)."""
    base = base_url.rstrip("/")
    m.default_js = [("leaflet", f"{base}/leaflet/leaflet.js")]
    m.default_css = [("leaflet_css", f"{base}/leaflet/leaflet.css")]
    return m


@lru_cache(maxsize=1)
def _inline_leaflet() -> str:
    """Leaflet's CSS (images as data URIs) and JS as inline tags."""
    css = LEAFLET_CSS.read_text(encoding="utf-8")
    for image in sorted((LEAFLET_DIR / "images").glob("*.png")):
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{image.name})", f"url(data:image/png;base64,{data})")
    js = LEAFLET_JS.read_text(encoding="utf-8").replace("</script", "<\\/script")
    return f"<style>{css}</style>\n<script>{js}</script>\n"


def external_urls(page: str) -> list[str]:
    """Absolute ``http(s)://`` or protocol-relative URLs in ``src``/``href`` attributes of ``page``."""
    return _URL_ATTR.findall(page)


def standalone_html(m: folium.Map) -> str:
    """The map as one self-contained HTML page that works offline (Leaflet inlined).

    Links to folium's CDN defaults and to the app-served copy are replaced by the vendored
    Leaflet; any other external script or stylesheet is refused rather than left to fail
    offline. Basemap tile URLs (an explicitly chosen online basemap) are kept.
    """
    page = m.get_root().render()

    def drop(match: re.Match) -> str:
        url = match.group(1)
        app_served = not external_urls(f'src="{url}"') and url.endswith(_APP_LEAFLET_FILES)
        if url in _FOLIUM_DEFAULT_URLS or app_served:
            return ""
        raise ParkAtlasError(f"map needs an external asset {url!r} that cannot work offline; "
                             "vendor it under static/ first")

    page = _CSS_TAG.sub(drop, _SCRIPT_TAG.sub(drop, page))
    head = page.index("<head>") + len("<head>")
    return page[:head] + "\n" + _inline_leaflet() + page[head:]
