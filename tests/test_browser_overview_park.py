"""Overview and Park pages in Debian's Chromium, in English and Chinese (issue 19 minors)."""
from __future__ import annotations

import pytest

from tests.browser import browser, layer_feature_count, map_frame, page, screenshot, start_app  # noqa: F401
from tests.test_browser_pages import settled, to_english

pytestmark = pytest.mark.browser
IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    server = start_app(tmp_path_factory.mktemp("overview-app"))
    yield server
    server.stop()


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
    page.wait_for_timeout(500)
    box = page.locator(IFRAME).first.bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    page.wait_for_url("**/park?park=zq_hitech", timeout=30_000)
    page.get_by_role("heading", name="Zhaoqing High-tech Zone").first.wait_for(timeout=30_000)
    settled(page)
    assert page.get_by_test_id("stSidebarNav").get_by_text("Overview").count() == 1
    screenshot(page, "overview_english_to_park")
