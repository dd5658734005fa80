"""The self-contained map page (``layers.assets.standalone_html``) opened from disk with no network."""
from __future__ import annotations

import pytest

from geo.metrics import with_metrics
from geo.testing import make_parcels
from layers import assets, webmap
from tests.browser import (browser, hover_until_tooltip, layer_feature_count, page,  # noqa: F401
                           parcel_on_screen, screenshot)

pytestmark = pytest.mark.browser

PAYLOADS = ["<img src=x onerror=alert(1)>", "</script><script>window.__pwned=1</script>",
            "`${document.title=1}`", "{{ 7*7 }}"]


def test_standalone_map_works_offline_and_shows_payloads_as_text(page, tmp_path, sample_store):
    boxes = [(i * 150, 0, i * 150 + 120, 120) for i in range(len(PAYLOADS))]
    parcels = with_metrics(make_parcels(boxes, enterprise=PAYLOADS, status="occupied",
                                        output_wan=[100.0, 200.0, 300.0, 400.0], tax_wan=[5.0, 6.0, 7.0, 8.0]))
    m = webmap.park_map(parcels, theme="output_per_mu_wan", lang="en", scheme="quantiles",
                        context=sample_store.read_districts())
    path = tmp_path / "park.html"
    path.write_text(assets.standalone_html(m), encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_function("() => window.parkatlasLayers && window.parkatlasLayers.parcels")
    assert layer_feature_count(page.main_frame, "parcels") == len(PAYLOADS)
    for i, payload in enumerate(PAYLOADS):
        parcel_id = page.evaluate("(i) => window.parkatlasLayers.parcels.getLayers()[i].feature.properties.id", i)
        point = parcel_on_screen(page.main_frame, parcel_id)
        hover_until_tooltip(page, page.main_frame, *point, payload)
    assert page.locator("text=Output per mu").count() == 1  # the legend, escaped but readable
    screenshot(page, "standalone_park")
    assert page.dialogs == []
    assert page.evaluate("() => [window.__pwned, document.title === '1']") == [None, False]
    assert page.external_requests == []
