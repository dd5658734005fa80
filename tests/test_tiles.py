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
from layers.tiles import ParcelLocator, city_parcels_map, clicked_parcel_id, encode_ids, encode_parcels
from tests.conftest import unavailable

XSS = "<img src=x onerror=alert(1)>`${x}`"


def _array(encoded: dict | None):
    if encoded is None:
        return None
    return np.frombuffer(base64.b64decode(encoded["data"]), dtype=encoded["type"])


def _decode(encoded: dict) -> dict:
    """Vertices in Web-Mercator metres, ring sizes and parts, decoded independently of the JS."""
    starts = _array(encoded["starts"]).reshape(-1, 2).astype(np.int64)
    deltas = _array(encoded["deltas"]).reshape(-1, 2).astype(np.int64)
    sizes = _array(encoded["ring_sizes"]).astype(int)
    rings, d = [], 0
    for r, size in enumerate(sizes):
        steps = np.vstack([starts[r], deltas[d:d + size - 1]])
        d += size - 1
        rings.append(np.cumsum(steps, axis=0))
    xy = np.vstack(rings) * encoded["resolution"] + np.array(encoded["origin"])
    return {"xy": xy, "ring_sizes": sizes, "poly_rings": _array(encoded["poly_rings"]),
            "part_of": _array(encoded["part_of"])}


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
    assert decoded["poly_rings"].tolist() == [1, 1, 2, 1]  # the hole is the third polygon's second ring
    assert decoded["ring_sizes"].tolist() == [4, 4, 4, 4, 4]  # closing vertices are not sent
    assert encoded["deltas"]["type"] == "int16"
    rings = shapely.get_rings(shapely.get_parts(parcels.geometry.to_crs(3857).to_numpy()))
    expected = np.vstack([shapely.get_coordinates(ring)[:-1] for ring in rings])
    np.testing.assert_allclose(decoded["xy"], expected, atol=0.051)  # half the 0.1 m grid


def test_one_part_parcels_and_patterned_ids_travel_compactly():
    parcels = make_parcels([(0, 0, 100, 80), (100, 0, 250, 80)], parcel_id=["zq-000009", "zq-000010"])
    encoded = encode_parcels(parcels)
    assert encoded["part_of"] is None and encoded["poly_rings"] is None
    ids = encode_ids(["zq-000009", "zq-000010", "dh-7"])
    assert ids["prefixes"] == ["zq-", "dh-"] and ids["widths"] == [6, 1]
    assert _array(ids["number"]).tolist() == [9, 10, 7] and _array(ids["prefix"]).tolist() == [0, 0, 1]
    assert encode_ids(["a-1", "a-22"]) == {"list": ["a-1", "a-22"]}  # widths differ: sent as they are
    assert encode_ids([XSS, "P1"]) == {"list": [XSS, "P1"]}


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
def chromium_browser():
    from bench.browser import CHROMIUM, chromium

    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing: run `bash scripts/setup.sh test`")
    with chromium() as browser:
        yield browser


def _open_city(browser, parcels, folder):
    """The parcels' city map as a standalone page in Chromium, network blocked; yields the page."""
    from bench.browser import new_page, serve_directory
    from layers.assets import standalone_html

    (folder / "city.html").write_text(standalone_html(city_parcels_map(parcels, lang="en")), encoding="utf-8")
    with serve_directory(folder) as base:
        page = new_page(browser)
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/city.html", wait_until="load")
        page.wait_for_function("() => { var l = window.parkatlasLayers && window.parkatlasLayers.city_parcels;"
                               " return !!l && !l._map._animatingZoom && l.drawn > 0; }")
        yield page
        page.context.close()


@pytest.fixture(scope="module")
def city_page(chromium_browser, sample_parcels, tmp_path_factory):
    """The sample city's parcels (ids like ``zq_hitech-000123``: sent as prefix + number tables)."""
    parcels = with_metrics(sample_parcels).reset_index(drop=True)
    yield from ((page, parcels) for page in _open_city(chromium_browser, parcels, tmp_path_factory.mktemp("city")))


@pytest.fixture(scope="module")
def xss_city_page(chromium_browser, sample_parcels, tmp_path_factory):
    """The same with one id replaced by an XSS payload (ids then sent as a plain list)."""
    parcels = with_metrics(sample_parcels).reset_index(drop=True)
    parcels.loc[0, "parcel_id"] = XSS
    yield from ((page, parcels) for page in _open_city(chromium_browser, parcels, tmp_path_factory.mktemp("xss")))


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


def test_ids_are_shown_as_text_never_as_html(xss_city_page):
    page, parcels = xss_city_page
    _click_parcel(page, parcels.iloc[0])
    assert page.evaluate("() => window.parkatlasLayers.city_parcels.lastId") == XSS
    popup = page.locator(".leaflet-popup-content")
    assert XSS in popup.inner_text()
    assert popup.locator("img").count() == 0
    assert page.dialogs == []
