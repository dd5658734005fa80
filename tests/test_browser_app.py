"""The app in Debian's Chromium with the network limited to loopback (real browser, real clicks)."""
from __future__ import annotations

import time

import pytest

from geo.availability import available_parcels
from geo.metrics import with_metrics
from geo.store import open_store
from tests.browser import (browser, hover_until_tooltip, layer_feature_count, map_frame,  # noqa: F401
                           map_painted, page, screenshot, set_enterprise, settled, start_app, wait_for_runs)

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
XSS_PARCEL = "zq_hitech-000001"
#: Further payloads from the security checklist, each on its own parcel.
PAYLOADS = {
    "zq_hitech-000002": "</script><script>window.parent.__pwned=1;window.__pwned=1</script>",
    "zq_hitech-000003": "`${document.title=1}` ${window.__pwned=1}",
    "zq_hitech-000004": "{{ 7*7 }}<svg onload=alert(2)>",
}
IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app from the README entry point, on a store copy holding an XSS payload."""
    def prepare(store):
        for parcel_id, text in {XSS_PARCEL: XSS, **PAYLOADS}.items():
            set_enterprise(store, parcel_id, text)

    server = start_app(tmp_path_factory.mktemp("app"), prepare)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def parcels(app):
    return with_metrics(open_store(app.store).read_parcels())


def open_page(page, app, path: str):
    """``path`` opened, its map in place and the page's script runs (the map reports its view) ended."""
    page.goto(app.url + path)
    frame = map_frame(page, timeout=90)
    settled(page)
    return frame


def parcel_point(page, frame, parcel_id: str) -> tuple[float, float]:
    """Page coordinates of a point inside a parcel (its label point projected by Leaflet)."""
    page.locator(IFRAME).first.scroll_into_view_if_needed()
    point = frame.evaluate(
        """(id) => {
            const layer = window.parkatlasLayers.parcels.getLayers().find(l => l.feature.properties.id === id);
            window.map.fitBounds(layer.getBounds(), {maxZoom: 17, animate: false});
            const p = window.map.latLngToContainerPoint(layer.getCenter());
            return [p.x, p.y];
        }""", parcel_id)
    map_painted(frame)
    box = page.locator(IFRAME).first.bounding_box()
    return box["x"] + point[0], box["y"] + point[1]


def details_shown(page, parcel_id: str) -> None:
    """Wait for the details panel (its metrics) and for ``parcel_id`` in the details grid's DOM cells."""
    page.get_by_test_id("stMetricLabel").filter(has_text="数据截至").first.wait_for(timeout=30_000)
    page.get_by_text(parcel_id, exact=True).first.wait_for(state="attached", timeout=30_000)


def highlighted(frame) -> int:
    return frame.evaluate("""() => window.parkatlasLayers.parcels.getLayers()
        .filter(l => l.options.color === '#00e5ff').length""")


def test_park_page_draws_every_parcel_offline(page, app, parcels):
    frame = open_page(page, app, "/park?park=zq_hitech")
    expected = int((parcels.park_id == "zq_hitech").sum())
    assert layer_feature_count(frame, "parcels") == expected == 2600
    # Canvas renderer: no SVG path per parcel.
    assert frame.evaluate("() => document.querySelectorAll('path.leaflet-interactive').length") == 0
    assert frame.evaluate("() => document.querySelectorAll('canvas').length") >= 1
    screenshot(page, "park_zq_hitech")
    assert page.external_requests == []


def test_click_on_a_parcel_shows_its_details(page, app, parcels):
    frame = open_page(page, app, "/park?park=dz_park")
    target = parcels.loc[parcels.park_id == "dz_park"].sort_values("area_mu").iloc[-1]
    x, y = parcel_point(page, frame, target.parcel_id)
    page.mouse.click(x, y)
    details_shown(page, target.parcel_id)
    assert page.get_by_test_id("stMetricValue").filter(has_text=target.data_as_of).count() == 1
    screenshot(page, "park_parcel_details")
    assert page.external_requests == []


def test_xss_payload_is_shown_as_text_and_never_runs(page, app):
    frame = open_page(page, app, "/park?park=zq_hitech")
    x, y = parcel_point(page, frame, XSS_PARCEL)
    hover_until_tooltip(page, frame, x, y, XSS)
    tooltip = frame.locator(".leaflet-tooltip").first
    assert XSS in tooltip.text_content()
    assert tooltip.locator("img").count() == 0
    page.mouse.click(x, y)  # the clicked feature travels back to Python and into the details panel
    details_shown(page, XSS_PARCEL)
    # The details table holds the payload as a cell's text.
    page.get_by_text(XSS, exact=True).first.wait_for(state="attached", timeout=30_000)
    settled(page)  # the run that drew the details has ended, the map has drawn: a payload would have run
    map_painted(frame)
    screenshot(page, "park_xss_as_text")
    assert page.dialogs == []
    for f in page.frames:
        assert f.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.external_requests == []


@pytest.mark.parametrize("parcel_id", sorted(PAYLOADS))
def test_other_payloads_are_text_in_tooltips(page, app, parcel_id):
    frame = open_page(page, app, "/park?park=zq_hitech")
    x, y = parcel_point(page, frame, parcel_id)
    hover_until_tooltip(page, frame, x, y, PAYLOADS[parcel_id])
    tooltip = frame.locator(".leaflet-tooltip").first
    assert PAYLOADS[parcel_id] in tooltip.text_content()
    assert tooltip.locator("div *").count() == 0  # the label div holds text only, no element from the value
    page.mouse.click(x, y)
    details_shown(page, parcel_id)
    settled(page)
    map_painted(frame)
    assert page.dialogs == []
    for f in page.frames:
        assert f.evaluate("() => [window.__pwned, document.title === '1']") == [None, False]
    assert page.external_requests == []


def test_filter_changes_the_highlighted_set_and_keeps_the_view(page, app, parcels):
    frame = open_page(page, app, "/available")
    before = len(available_parcels(parcels))
    ready = len(available_parcels(parcels, ready_only=True))
    assert 0 < ready < before
    page.wait_for_function("() => true")
    frame.wait_for_function(f"() => window.parkatlasLayers.parcels.getLayers().filter("
                            f"l => l.options.color === '#00e5ff').length === {before}", timeout=30_000)
    frame.wait_for_function("() => !window.map._animatingZoom")
    frame.evaluate("() => { window.map.setView([23.33, 112.83], 14, {animate: false}); window.__kept = 1; }")
    page.get_by_text("仅净地").first.click()
    frame.wait_for_function(f"() => window.parkatlasLayers.parcels.getLayers().filter("
                            f"l => l.options.color === '#00e5ff').length === {ready}", timeout=30_000)
    assert highlighted(frame) == ready
    # The map was not re-mounted: same window, same view.
    assert frame.evaluate("() => [window.__kept, window.map.getZoom()]") == [1, 14]
    target = frame.evaluate("""() => window.parkatlasLayers.parcels.getLayers()
        .find(l => l.options.color === '#00e5ff').feature.properties.id""")
    assert target in set(available_parcels(parcels, ready_only=True).parcel_id)
    x, y = parcel_point(page, frame, target)
    page.mouse.click(x, y)
    details_shown(page, target)
    screenshot(page, "available_ready_only")
    assert page.external_requests == []


def test_overview_click_on_a_park_opens_it(page, app):
    page.goto(app.url + "/")
    frame = map_frame(page, timeout=90, role="parks")
    page.locator(IFRAME).first.scroll_into_view_if_needed()
    assert layer_feature_count(frame, "parks") == 11
    assert layer_feature_count(frame, "context0") == 8  # the real district boundaries
    screenshot(page, "overview")
    point = frame.evaluate("""() => {
        const layer = window.parkatlasLayers.parks.getLayers().find(l => l.feature.properties.id === 'zq_hitech');
        window.map.fitBounds(layer.getBounds(), {animate: false});
        const p = window.map.latLngToContainerPoint(layer.getCenter());
        return [p.x, p.y];
    }""")
    map_painted(frame)
    box = page.locator(IFRAME).first.bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    page.wait_for_url("**/park?park=zq_hitech", timeout=30_000)
    page.get_by_role("heading", name="肇庆高新区").first.wait_for(timeout=30_000)
    assert layer_feature_count(map_frame(page, timeout=60, role="parcels"), "parcels") == 2600
    screenshot(page, "overview_to_park")
    assert page.external_requests == []


def test_layer_reports_its_paint_timing(page, app):
    frame = open_page(page, app, "/park?park=zq_hitech")
    frame.wait_for_function("() => window.parkatlasTimings && window.parkatlasTimings.parcels", timeout=30_000)
    timing = frame.evaluate("() => window.parkatlasTimings.parcels")
    assert timing["features"] == 2600
    assert 0 <= timing["build_ms"] <= timing["paint_ms"] <= timing["painted_at"]
    assert timing["painted_at"] <= frame.evaluate("() => performance.now()")


def test_the_legend_is_on_the_map_and_follows_the_theme(page, app):
    frame = open_page(page, app, "/park?park=zq_hitech")
    legend = frame.locator(".parkatlas-legend")
    legend.first.wait_for(timeout=30_000)
    assert legend.count() == 1
    assert legend.first.locator("b").text_content() == "用地状态"
    assert "已投产" in legend.first.text_content()
    frame.evaluate("() => { window.__kept = 1; }")
    page.get_by_test_id("stSelectbox").filter(has_text="专题").click()
    page.get_by_role("option", name="亩均等级").click()
    frame.wait_for_function("() => Array.from(document.querySelectorAll('.parkatlas-legend b'))"
                            ".map(b => b.textContent).join('|') === '亩均等级'", timeout=30_000)
    labels = legend.first.locator("div").all_text_contents()
    assert [label.split(" ")[0] for label in labels][:4] == ["A", "B", "C", "D"]
    assert frame.evaluate("() => window.__kept") == 1  # the overlay was swapped, the map kept
    screenshot(page, "park_grade_legend")
    assert page.external_requests == []


def test_an_online_basemap_is_blocked_offline_and_the_parcels_still_draw(page, app):
    """The guard the other tests rely on: OpenStreetMap tiles are refused and recorded, nothing else."""
    open_page(page, app, "/park?park=dz_park")
    assert page.external_requests == []
    page.get_by_test_id("stSelectbox").filter(has_text="底图").click()
    page.get_by_role("option", name="OpenStreetMap（需联网）").click()
    # The new base map re-mounts the component frame: once the rerun has ended, the frame there asks for tiles.
    wait_for_runs(page)  # not settled(): the tiles asked for off-host are what this test looks for
    map_frame(page, timeout=60, role="parcels").wait_for_function(
        "() => document.querySelectorAll('img.leaflet-tile').length > 0", timeout=60_000)
    deadline = time.monotonic() + 30
    while not page.external_requests and time.monotonic() < deadline:
        page.evaluate("() => 0")  # a round trip lets Playwright hand over the request events it holds
    assert page.external_requests
    assert all(url.startswith("https://tile.openstreetmap.org/") for url in page.external_requests)
    frame = map_frame(page, role="parcels")
    assert frame.evaluate("() => document.querySelectorAll('img.leaflet-tile-loaded').length") == 0
    assert layer_feature_count(frame, "parcels") > 0
    screenshot(page, "park_osm_blocked")


def test_language_switch_relabels_the_chosen_options(page, app):
    open_page(page, app, "/park?park=dz_park")
    values = '[data-testid="stSelectbox"] input'
    shown = page.locator(values).evaluate_all("els => els.map(e => e.value)")
    assert "端州区产业园(示意)" in shown and "用地状态" in shown
    page.get_by_text("English").first.click()
    page.get_by_role("heading", name="Duanzhou District Industrial Park (illustrative)").wait_for(timeout=30_000)
    # Until the rerun finishes Streamlit may still show the previous (stale) widgets.
    page.wait_for_function(
        "() => { const v = Array.from(document.querySelectorAll('[data-testid=\"stSelectbox\"] input'))"
        ".map(e => e.value); return v.includes('Duanzhou District Industrial Park (illustrative)')"
        " && !v.includes('用地状态'); }", timeout=30_000)
    shown = page.locator(values).evaluate_all("els => els.map(e => e.value)")
    assert "Status" in shown and "用地状态" not in shown
    tooltip_text = map_frame(page, role="parcels").evaluate(
        "() => window.parkatlasLayers.parcels.getLayers()[0].feature.properties.t")
    assert "mu" in tooltip_text and "亩" not in tooltip_text
    screenshot(page, "park_english")
    assert page.external_requests == []


def test_city_view_draws_every_parcel_and_a_click_shows_its_details(page, app, parcels):
    page.goto(app.url + "/city")
    frame = map_frame(page, timeout=90, role="city_parcels")
    frame.wait_for_function(f"() => window.parkatlasLayers.city_parcels.drawn === {len(parcels)}", timeout=30_000)
    screenshot(page, "city_all_parcels")
    target = parcels.loc[parcels.park_id == "dz_park"].sort_values("area_mu").iloc[-1]
    inner = parcels.loc[[target.name]].to_crs(4326).representative_point().iloc[0]
    page.locator(IFRAME).first.scroll_into_view_if_needed()
    xy = frame.evaluate("([lat, lng]) => { const m = window.parkatlasLayers.city_parcels._map;"
                        " m.setView([lat, lng], 17, {animate: false}); return m.latLngToContainerPoint([lat, lng]); }",
                        [inner.y, inner.x])
    map_painted(frame)
    box = page.locator(IFRAME).first.bounding_box()
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
    assert frame.evaluate("() => window.parkatlasLayers.city_parcels.lastId") == target.parcel_id
    details_shown(page, target.parcel_id)
    screenshot(page, "city_parcel_details")
    assert page.external_requests == []
