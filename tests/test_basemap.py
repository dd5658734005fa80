"""The intranet basemap (issue 19): a configured XYZ/WMTS service with its coordinate system
declared; GCJ-02/BD-09 and lon/lat tile matrices refused; drawn by the app in Chromium."""
from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from geo.basemap import BasemapError, check_basemap, load_basemap, save_basemap
from tests.browser import browser, map_frame, page, screenshot, start_app  # noqa: F401


def test_xyz_and_wmts_urls_are_accepted_with_web_mercator():
    xyz = check_basemap("http://10.1.2.3/tiles/{z}/{x}/{y}.png", "EPSG:3857", "政务网地图")
    assert (xyz.url, xyz.crs, xyz.name) == ("http://10.1.2.3/tiles/{z}/{x}/{y}.png", "EPSG:3857", "政务网地图")
    wmts = check_basemap("http://gis.gov.local/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=vec&TILEMATRIXSET=w"
                         "&TILEMATRIX={TileMatrix}&TILEROW={TileRow}&TILECOL={TileCol}", "web mercator")
    assert wmts.url.endswith("TILEMATRIX={z}&TILEROW={y}&TILECOL={x}") and wmts.name == "gis.gov.local"


@pytest.mark.parametrize("url, crs, key", [
    ("http://10.0.0.1/{z}/{x}/{y}.png", "GCJ-02", "offset"),
    ("http://10.0.0.1/{z}/{x}/{y}.png", "bd09", "offset"),
    ("http://10.0.0.1/{z}/{x}/{y}.png", "EPSG:4490", "geographic"),
    ("http://10.0.0.1/{z}/{x}/{y}.png", "", "crs_missing"),
    ("http://10.0.0.1/{z}/{x}/{y}.png", "EPSG:2383", "crs_unknown"),
    ("file:///etc/passwd/{z}/{x}/{y}", "EPSG:3857", "url"),
    ("http://10.0.0.1/tiles/{z}.png", "EPSG:3857", "placeholders"),
    ("http://t{s}.10.0.0.1/{z}/{x}/{y}.png", "EPSG:3857", "subdomains"),
])
def test_unusable_services_are_refused_with_a_reason(url, crs, key):
    with pytest.raises(BasemapError) as caught:
        check_basemap(url, crs)
    assert caught.value.key == key and "\n" not in str(caught.value)


def test_settings_keep_other_entries_and_can_remove_the_basemap(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"other": 1}))
    save_basemap(check_basemap("http://10.0.0.1/{z}/{x}/{y}.png", "EPSG:3857", "内网"), path)
    assert load_basemap(path).name == "内网" and json.loads(path.read_text())["other"] == 1
    path.write_text(json.dumps({"basemap": {"url": "http://10.0.0.1/{z}/{x}/{y}.png", "crs": "GCJ-02"}}))
    with pytest.raises(BasemapError):
        load_basemap(path)  # a hand-edited GCJ-02 entry is refused on reading too
    save_basemap(None, path)
    assert load_basemap(path) is None


class _Tiles(BaseHTTPRequestHandler):
    requested: list[str] = []
    png = b""

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).requested.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.png)))
        self.end_headers()
        self.wfile.write(self.png)

    def log_message(self, *args):
        pass


@pytest.mark.browser
def test_app_draws_the_intranet_tiles(page, tmp_path_factory, monkeypatch):
    from PIL import Image

    from tests.test_browser_pages import choose, settled

    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), "#cfe8cf").save(buffer, "PNG")
    _Tiles.png, _Tiles.requested = buffer.getvalue(), []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    folder = tmp_path_factory.mktemp("basemap-app")
    settings = folder / "settings.json"
    save_basemap(check_basemap(f"http://127.0.0.1:{server.server_port}/tiles/{{z}}/{{x}}/{{y}}.png", "EPSG:3857",
                               "测试内网底图"), settings)
    monkeypatch.setenv("PARKATLAS_SETTINGS", str(settings))
    app = start_app(folder)
    try:
        page.goto(app.url + "/park?park=dz_park")
        settled(page)
        choose(page, "底图", "内网底图：测试内网底图")
        frame = map_frame(page, timeout=90, role="parcels")
        frame.wait_for_function("() => document.querySelectorAll('img.leaflet-tile-loaded').length > 0",
                                timeout=60_000)
        assert _Tiles.requested and all(p.startswith("/tiles/") for p in _Tiles.requested)
        screenshot(page, "park_intranet_basemap")
    finally:
        app.stop()
        server.shutdown()
