"""The app in Debian's Chromium on another city's store: Pengjiang's names and groups, no Zhaoqing."""
from __future__ import annotations

import pytest

from geo.city import init_city, load_example
from tests.browser import AppServer, browser, map_frame, page, screenshot, settled  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pengjiang_app(tmp_path_factory):
    """The app on a Pengjiang store made by the example's settings (fewer synthetic parcels)."""
    folder = tmp_path_factory.mktemp("pengjiang-app")
    settings = load_example("pengjiang")
    store = folder / "pengjiang.gpkg"
    init_city(store, parks=settings["parks"], adcode=settings["adcode"], name_zh=settings["name_zh"],
              name_en=settings["name_en"], groups=settings["groups"], chains=settings["chains"],
              synthetic_parcels=600, seed=settings["seed"], company_prefix=settings["company_prefix"])
    server = AppServer(store, folder / "streamlit.log")
    server.wait_ready()
    yield server
    server.stop()


def test_the_app_on_pengjiang_shows_pengjiang_and_no_zhaoqing(page, pengjiang_app):
    page.goto(pengjiang_app.url)
    page.get_by_role("heading", name="江门市蓬江区园区总览").wait_for(timeout=90_000)
    settled(page)
    for group in ("重点发展平台", "镇街工业园区"):
        page.get_by_role("heading", name=group).wait_for(timeout=30_000)
    frame = map_frame(page, role="parks")
    legend = frame.locator(".parkatlas-legend").first.inner_text()
    assert "重点发展平台" in legend and "镇街工业园区" in legend
    body = page.inner_text("body")
    assert "肇庆" not in body and "Zhaoqing" not in body and "344" not in body
    assert "肇庆" not in frame.inner_text("body")
    # English: the city's English name and group names.
    page.get_by_text("English", exact=True).click()
    page.get_by_role("heading", name="Pengjiang District, Jiangmen parks overview").wait_for(timeout=60_000)
    settled(page)
    page.get_by_role("heading", name="Town and street industrial areas").wait_for(timeout=30_000)
    assert "Zhaoqing" not in page.inner_text("body")
    assert page.external_requests == []
    screenshot(page, "pengjiang-overview")


def test_the_sidebar_switches_between_registered_cities(page, tmp_path, pengjiang_app):
    """One app, two cities: the deployment's own store (a copy of the sample) and Pengjiang's."""
    from geo.city import register_store
    from geo.testing import copy_sample_store

    registry = tmp_path / "stores.json"
    register_store("蓬江", pengjiang_app.store, path=registry)
    with pytest.MonkeyPatch.context() as env:  # the app server copies the environment when it starts
        env.setenv("PARKATLAS_STORES", str(registry))
        server = AppServer(copy_sample_store(tmp_path), tmp_path / "streamlit.log")
    try:
        server.wait_ready()
        page.goto(server.url)
        page.get_by_role("heading", name="肇庆市园区总览").wait_for(timeout=90_000)
        settled(page)
        box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text("城市 / 区县", exact=True))
        box.locator("input").click()
        page.get_by_role("option", name="蓬江", exact=True).click()
        page.get_by_role("heading", name="江门市蓬江区园区总览").wait_for(timeout=90_000)
        settled(page)
        page.get_by_role("heading", name="重点发展平台").wait_for(timeout=30_000)
        assert "肇庆" not in page.inner_text("body")
        assert page.external_requests == []
    finally:
        server.stop()
