"""Overview and Park pages in Debian's Chromium, in English and Chinese (issue 19 minors)."""
from __future__ import annotations

import pytest

from tests.browser import (browser, layer_feature_count, map_frame, map_painted, page,  # noqa: F401
                           parcel_on_screen, screenshot)
from tests.test_browser_pages import settled, to_english

pytestmark = pytest.mark.browser
IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


@pytest.fixture(scope="module")
def app(viewer_app):
    """The shared read-only app (tests/conftest.py): these tests only read, as the anonymous viewer."""
    return viewer_app


def test_english_overview_click_opens_the_park_in_english(page, app):
    page.goto(app.url + "/")
    settled(page)
    to_english(page)
    frame = map_frame(page, timeout=90, role="parks")
    page.locator(IFRAME).first.scroll_into_view_if_needed()
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
    page.get_by_role("heading", name="Zhaoqing High-tech Zone").first.wait_for(timeout=30_000)
    settled(page)
    assert page.get_by_test_id("stSidebarNav").get_by_text("Overview").count() == 1
    screenshot(page, "overview_english_to_park")


#: The Overview's per-park table: [text, lines it takes, column] of every heading and cell taking more than one line.
WRAPPED_CELLS = """() => {
    const table = document.querySelector('.st-key-overview_park_table [data-testid="stTable"]');
    const lines = (cell) => { const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT); const tops = new Set();
        while (walk.nextNode()) { const range = document.createRange(); range.selectNodeContents(walk.currentNode);
            for (const rect of range.getClientRects()) tops.add(Math.round(rect.top)); }
        return tops.size; };
    return [...table.querySelectorAll('th, td')].map(c => [c.innerText, lines(c), c.cellIndex]).filter(c => c[1] > 1);
}"""


def test_overview_table_cells_read_on_one_line_at_1400_px(page, app):
    """Issue 19: at a 1400 px window no cell of the park table wraps ("三大平/台", "2026-10-/13"); in English
    only the long park names (first column) wrap, between words."""
    assert page.viewport_size["width"] == 1400
    page.goto(app.url + "/")
    settled(page)
    page.locator(".st-key-overview_park_table td").first.wait_for(timeout=60_000)
    assert page.evaluate(WRAPPED_CELLS) == []
    screenshot(page, "overview_table_zh")
    to_english(page)
    page.get_by_text("Areas in mu; output and tax per mu in 10k yuan per mu.").wait_for(timeout=60_000)
    wrapped = page.evaluate(WRAPPED_CELLS)
    assert {column for _, _, column in wrapped} <= {0}, wrapped
    assert "2026-" not in " ".join(text for text, _, _ in wrapped)


def test_park_page_outline_labels_and_a_clicked_parcel_outlined_beside_its_details(page, app):
    page.goto(app.url + "/park?park=dz_park")
    settled(page)
    frame = map_frame(page, timeout=90, role="parcels")
    # Opened by its own address, the page reached the server on the first try (app_pages/shell.py:
    # Streamlit asked /park/_stcore/health first and waited), and the map frame asked for Leaflet
    # in its HTML (a preload), not after its own bundle had run.
    asked = page.evaluate("() => performance.getEntriesByType('resource').map(r => new URL(r.name).pathname)")
    assert "/_stcore/health" in asked and "/park/_stcore/health" not in asked
    assert frame.evaluate("""() => performance.getEntriesByType('resource')
        .filter(r => r.name.endsWith('/leaflet/leaflet.js')).map(r => r.initiatorType)""") == ["link"]
    assert layer_feature_count(frame, "context1") == 1  # the park's own boundary
    labels = frame.evaluate("() => window.parkatlasLabels")
    assert "端州区" in labels["district"] and labels["park"] == ["端州区产业园(示意)"]
    target = "dz_park-000010"
    x, y = parcel_on_screen(frame, target)
    box = page.locator(IFRAME).first.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    frame.wait_for_function("""(id) => { const l = window.parkatlasLayers.selected;
        return !!l && l.getLayers().length === 1 && l.getLayers()[0].feature.properties.id === id; }""",
                            arg=target, timeout=60_000)
    settled(page)
    # The details stand next to the map, on screen without scrolling.
    metric = page.get_by_test_id("stMetric").first
    metric.wait_for(timeout=30_000)
    top = metric.bounding_box()["y"]
    assert 0 <= top < page.viewport_size["height"]
    assert page.get_by_role("strong").get_by_text(target, exact=True).bounding_box()["y"] < page.viewport_size["height"]
    screenshot(page, "park_clicked_parcel")


def test_city_map_has_district_outlines_and_names(page, app):
    page.goto(app.url + "/city")
    settled(page)
    frame = map_frame(page, timeout=120, role="districts")
    assert layer_feature_count(frame, "districts") == 8
    assert "鼎湖区" in frame.evaluate("() => window.parkatlasLabels.district")


def test_available_land_click_outlines_the_parcel_beside_its_details(page, app):
    page.goto(app.url + "/available")
    settled(page)
    frame = map_frame(page, timeout=90, role="parcels")
    target = frame.evaluate("() => window.parkatlasLayers.parcels.getLayers()[0].feature.properties.id")
    x, y = parcel_on_screen(frame, target)
    box = page.locator(IFRAME).first.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    frame.wait_for_function("""(id) => { const l = window.parkatlasLayers.selected;
        return !!l && l.getLayers()[0].feature.properties.id === id; }""", arg=target, timeout=60_000)
    settled(page)
    shown = page.get_by_role("strong").get_by_text(target, exact=True)
    assert shown.bounding_box()["y"] < page.viewport_size["height"]
