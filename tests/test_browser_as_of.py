"""The 历史时点 (as-of) map of the Parcel page, in Debian's Chromium (issue 19).

Streamlit renders every tab at once and hides the others, so the as-of map's page loads in a
zero-sized frame when the planner waits on the first tab: Leaflet fitted the park to a 0 × 0
map (world zoom) and never re-fitted it once the tab was shown. The map now fits its park the
first time it has a size.
"""
from __future__ import annotations

import time

import pytest

from tests.browser import browser, page, screenshot  # noqa: F401
from tests.test_browser_pages import settled

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(viewer_app):
    """The shared read-only app (tests/conftest.py): these tests only read, as the anonymous viewer."""
    return viewer_app


def hidden_map_frames(page, timeout: float = 60.0) -> list:
    """Frames whose Leaflet map is loaded while its container has no size (a hidden tab)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = []
        for frame in page.frames:
            try:
                if frame.evaluate("() => !!(window.map && window.map.getContainer().clientWidth === 0)"):
                    found.append(frame)
            except Exception:  # a frame still navigating
                pass
        if found:
            return found
        page.wait_for_timeout(250)
    raise AssertionError("no map loaded in a hidden tab")


def test_as_of_map_shows_the_park_after_waiting_on_the_first_tab(page, app):
    page.goto(app.url + "/parcel?parcel=dz_park-000002")
    settled(page)
    frames = hidden_map_frames(page)  # the as-of map has loaded, hidden, before its tab is chosen
    page.get_by_role("tab", name="历史时点").click()
    settled(page)
    frame = frames[-1]
    frame.wait_for_function("() => window.map.getContainer().clientWidth > 0", timeout=30_000)
    frame.wait_for_function("() => window.map.getZoom() >= 12", timeout=30_000)
    inside = frame.evaluate("""() => {
        const layer = window.parkatlasLayers && window.parkatlasLayers.parcels;
        const bounds = window.map.getBounds();
        return layer.getLayers().filter(l => bounds.intersects(l.getBounds())).length;
    }""")
    assert inside > 0
    # Metric scale only, and an attribution without Leaflet's flag icon.
    scale = frame.eval_on_selector_all(".leaflet-control-scale-line", "els => els.map(e => e.textContent)")
    assert len(scale) == 1 and scale[0].split()[-1] in ("m", "km"), scale
    assert frame.eval_on_selector(".leaflet-control-attribution", "e => e.querySelectorAll('svg, img').length") == 0
    screenshot(page, "parcel_as_of_map")
