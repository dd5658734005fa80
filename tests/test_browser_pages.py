"""Planner sequences in Debian's Chromium that change data or language and then touch a widget again.

In a real browser Streamlit sends a chosen option back by its label; when a page's labels depend
on data or language, a stale label must neither crash the page nor be written to the store.
Every step waits for the run to finish and checks for an exception box and external requests.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.store import open_store
from tests.browser import browser, page, screenshot, settled, sign_in, start_app_with_users  # noqa: F401

pytestmark = pytest.mark.browser

PLANNER, ADMIN, PASSWORD = "planner1", "admin1", "pages-password-1"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app on a store copy, with a local users file holding a planner and an admin."""
    server = start_app_with_users(tmp_path_factory.mktemp("pages-app"),
                                  {PLANNER: (PASSWORD, "planner"), ADMIN: (PASSWORD, "admin")})
    yield server
    server.stop()


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the select box labelled ``label``."""
    box = page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True))
    box.locator("input").click()
    page.keyboard.press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()
    settled(page)


def to_english(page) -> None:
    page.get_by_text("English").first.click()
    settled(page)


def nav(page, title: str) -> None:
    """Go to another page through the sidebar (the session and its sign-in stay)."""
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    settled(page)


def store_row(app, parcel_id: str):
    return open_store(app.store).read_parcels().set_index("parcel_id").loc[parcel_id]


def test_parcel_edit_then_language_switch_then_save(page, app):
    target = "dz_park-000002"
    page.goto(app.url + f"/parcel?parcel={target}")
    settled(page)
    sign_in(page, PLANNER, PASSWORD)
    page.get_by_label("企业").fill("测试企业甲")
    page.get_by_role("button", name="保存").click()
    page.get_by_text("已保存 1 项修改").wait_for(timeout=30_000)
    settled(page)
    assert store_row(app, target).enterprise == "测试企业甲"
    before = store_row(app, target)
    choose(page, "净地", "否" if before.land_ready is True else "是")
    to_english(page)
    screenshot(page, "pages_parcel_english")
    page.get_by_role("button", name="Save").click()
    settled(page)
    after = store_row(app, target)
    # A label of the other language never reaches the store: the field holds a boolean or nothing.
    assert after.land_ready is pd.NA or isinstance(after.land_ready, (bool, np.bool_))
    assert after.enterprise == "测试企业甲"
    # Change the parcel and the park after the edit.
    choose(page, "Parcel", "dz_park-000003")
    choose(page, "Park", "Dinghu District Industrial Park (illustrative)")
    settled(page)



def test_park_then_theme_then_english(page, app):
    page.goto(app.url + "/park?park=dz_park")
    settled(page)
    choose(page, "选择园区", "鼎湖区产业园(示意)")
    choose(page, "专题", "亩均等级")
    to_english(page)
    choose(page, "Theme", "Status")
    choose(page, "Park", "Zhaoqing High-tech Zone")


def test_available_filters_then_english(page, app):
    page.goto(app.url + "/available")
    settled(page)
    ms = page.get_by_test_id("stMultiSelect")
    for label, option in [("片区", "东部"), ("园区", "鼎湖区产业园(示意)")]:
        ms.filter(has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True)).locator("input").click()
        page.keyboard.press("ArrowDown")
        page.get_by_role("option", name=option).first.click()
        page.keyboard.press("Escape")
        settled(page)
    to_english(page)
    screenshot(page, "pages_available_english")


def test_imported_park_without_parcels_opens_on_every_page(page, app, import_corpus):
    """An admin imports a new park (no parcels yet); the Park, Parcel and Export pages then open it.

    The Park page's hover labels and the Export page's preview crashed on the empty park.
    """
    page.goto(app.url + "/data")
    settled(page)
    sign_in(page, ADMIN, PASSWORD)
    page.get_by_text("园区", exact=True).last.click()
    settled(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(import_corpus["parks.geojson"]))
    settled(page)
    page.get_by_role("button", name="写入数据库").click()
    page.get_by_text("已写入").wait_for(timeout=30_000)
    settled(page)
    assert "zq_new_park" in set(open_store(app.store).read_parks().park_id)
    screenshot(page, "pages_data_import")
    new_park = "肇庆测试产业园"
    nav(page, "园区")
    choose(page, "选择园区", new_park)
    page.get_by_role("heading", name=new_park).wait_for(timeout=30_000)
    screenshot(page, "pages_new_park")
    choose(page, "专题", "亩均等级")
    nav(page, "地块编辑与历史")
    choose(page, "园区", new_park)
    nav(page, "导出")
    choose(page, "园区", new_park)
    page.get_by_test_id("stImage").first.wait_for(timeout=60_000)  # the print preview of the empty park
    settled(page)
    screenshot(page, "pages_export_new_park")
    nav(page, "可供用地")
    nav(page, "总览")
    to_english(page)
    nav(page, "Park")


def test_export_after_a_match_switches_content_format_and_language(page, app):
    page.goto(app.url + "/match")
    settled(page)
    page.get_by_role("button", name="匹配", exact=True).click()
    page.get_by_text("候选").first.wait_for(timeout=60_000)
    settled(page)
    nav(page, "导出")
    choose(page, "内容", "匹配候选地块")
    choose(page, "格式", ".xlsx")
    to_english(page)
    choose(page, "Content", "Available land of the park")
    choose(page, "Format", ".geojson")
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download").last.click()
    assert download.value.suggested_filename.endswith("_available_en.geojson")  # content, language and format of the current choices
    settled(page)
