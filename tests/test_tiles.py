"""City-scale parcel layer: the binary encoding round-trips, the browser draws it offline and clicks give ids."""
from __future__ import annotations

import base64
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.metrics import with_metrics
from geo.testing import ORIGIN_4547, make_parcels
from layers.tiles import ParcelLocator, city_parcels_map, clicked_parcel_id, encode_parcels

XSS = "<img src=x onerror=alert(1)>`${x}`"


def _decode(encoded: dict) -> dict:
    arrays = {k: np.frombuffer(base64.b64decode(encoded[k]), dtype=np.uint32)
              for k in ("coords", "ring_offsets", "polygon_offsets", "part_of")}
    x0, y0, x1, y1 = encoded["extent"]
    q = arrays["coords"].reshape(-1, 2).astype(float) / (2**32 - 1)
    arrays["xy"] = np.column_stack([x0 + q[:, 0] * (x1 - x0), y0 + q[:, 1] * (y1 - y0)])
    return arrays


def test_encoding_round_trips_to_mercator_within_centimetres():
    parcels = make_parcels([(0, 0, 100, 80), (100, 0, 250, 80), (0, 100, 60, 160)])
    # The third parcel becomes a multipolygon: a square with a hole, and a separate small square.
    ox, oy = ORIGIN_4547
    multi = shapely.MultiPolygon([
        shapely.box(ox, oy + 100, ox + 60, oy + 160).difference(shapely.box(ox + 10, oy + 110, ox + 20, oy + 120)),
        shapely.box(ox + 300, oy + 100, ox + 320, oy + 120)])
    parcels.loc[2, "geometry"] = gpd.GeoSeries([multi], crs=4547).to_crs(parcels.crs).iloc[0]

    encoded = encode_parcels(parcels)
    decoded = _decode(encoded)
    assert encoded["n"] == 3
    assert decoded["part_of"].tolist() == [0, 1, 2, 2]  # parcel row of each polygon part
    assert len(decoded["polygon_offsets"]) == 5 and len(decoded["ring_offsets"]) == 6  # 5 rings, one hole
    merc = parcels.geometry.to_crs(3857)
    expected = shapely.get_coordinates(shapely.get_parts(merc.to_numpy()))
    half = 20037508.342789244
    got = np.column_stack([decoded["xy"][:, 0] * 2 * half - half, half - decoded["xy"][:, 1] * 2 * half])
    np.testing.assert_allclose(got, expected, atol=0.05)  # metres


def test_clicked_parcel_id_uses_the_click_point():
    parcels = make_parcels([(0, 0, 100, 100), (100, 0, 200, 100)], parcel_id=["A", "B"])
    locator = ParcelLocator(parcels)
    inside_b = parcels.geometry.iloc[1].representative_point()
    assert clicked_parcel_id({"last_clicked": {"lat": inside_b.y, "lng": inside_b.x}}, locator) == "B"
    outside = parcels.geometry.iloc[1].centroid
    assert clicked_parcel_id({"last_clicked": {"lat": outside.y + 1.0, "lng": outside.x}}, locator) is None
    assert clicked_parcel_id(None, locator) is None
    assert clicked_parcel_id({"last_clicked": {"lat": "x", "lng": None}}, locator) is None


@pytest.fixture(scope="module")
def city_page(sample_parcels, tmp_path_factory):
    """The sample city's parcels (one id replaced by an XSS payload) in Chromium, network blocked."""
    from bench.browser import CHROMIUM, chromium, new_page, serve_directory
    from layers.assets import standalone_html

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run `bash scripts/setup.sh test`")
    parcels = with_metrics(sample_parcels).reset_index(drop=True)
    parcels.loc[0, "parcel_id"] = XSS
    folder = tmp_path_factory.mktemp("city")
    (folder / "city.html").write_text(standalone_html(city_parcels_map(parcels, lang="en")), encoding="utf-8")
    with serve_directory(folder) as base, chromium() as browser:
        page = new_page(browser)
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/city.html", wait_until="load")
        page.wait_for_function("() => { var l = window.parkatlasLayers && window.parkatlasLayers.city_parcels;"
                               " return !!l && !l._map._animatingZoom && l.drawn > 0; }")
        yield page, parcels


def test_every_parcel_is_drawn_offline_when_the_city_fits(city_page):
    page, parcels = city_page
    drawn = page.evaluate("() => window.parkatlasLayers.city_parcels.drawn")
    assert drawn == len(parcels)  # the fitted view shows the whole city
    assert page.blocked == []


def _click_parcel(page, parcel):
    point = parcel.geometry.representative_point()
    page.evaluate("([lat, lng]) => window.parkatlasLayers.city_parcels._map.setView([lat, lng], 17, {animate: false})",
                  [point.y, point.x])
    xy = page.evaluate("([lat, lng]) => window.parkatlasLayers.city_parcels._map.latLngToContainerPoint([lat, lng])",
                       [point.y, point.x])
    page.mouse.click(xy["x"], xy["y"])
    return point


def test_click_returns_the_parcel_id_in_browser_and_on_the_server(city_page):
    page, parcels = city_page
    parcel = parcels.iloc[len(parcels) // 2]
    point = _click_parcel(page, parcel)
    assert page.evaluate("() => window.parkatlasLayers.city_parcels.lastId") == parcel.parcel_id
    assert parcel.parcel_id in page.locator(".leaflet-popup-content").inner_text()
    assert ParcelLocator(parcels).at(point.y, point.x) == parcel.parcel_id


def test_ids_are_shown_as_text_never_as_html(city_page):
    page, parcels = city_page
    _click_parcel(page, parcels.iloc[0])
    assert page.evaluate("() => window.parkatlasLayers.city_parcels.lastId") == XSS
    popup = page.locator(".leaflet-popup-content")
    assert XSS in popup.inner_text()
    assert popup.locator("img").count() == 0
    assert page.dialogs == []
