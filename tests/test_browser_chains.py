"""The 产业链 Chains page in Debian's Chromium: offline, no exception, the chain's map with the
leader, a click on the tree filtering the map, a hostile prospect name that injects no markup, a
language switch, and a planner's prospects upload (all or nothing)."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.browser import browser, page, settled, sign_in, start_app  # noqa: F401

pytestmark = pytest.mark.browser
HOSTILE = "<img src=x onerror=document.title='owned'>公司"


def _prepare(path) -> None:
    from geo.auth import User
    from geo.chain import read_chain_nodes, set_leader
    from geo.enterprise import read_enterprises
    from geo.prospect import import_prospects
    from geo.store.gpkg import GpkgStore

    store = GpkgStore(path)
    enterprises = read_enterprises(store)
    set_leader(store, "nev", enterprises[enterprises.chain == "nev"].uscc.iloc[0], user=User("pat", "planner"))
    import_prospects(store, pd.DataFrame({"name": [HOSTILE], "node_id": ["nev.up.motor"]}),
                     read_chain_nodes(store).node_id, user=User("pat", "planner"))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from geo.auth import add_user

    directory = tmp_path_factory.mktemp("chains-app")
    add_user("pat", "pat-password-1", "planner", directory / "users.json")
    with pytest.MonkeyPatch.context() as env:  # the app server copies the environment when it starts
        env.setenv("PARKATLAS_USERS", str(directory / "users.json"))
        server = start_app(directory, prepare_store=_prepare)
    server.directory = directory
    yield server
    server.stop()


def test_chains_page(page, app):
    page.goto(f"{app.url}/chains")
    page.get_by_role("heading", name="产业链", exact=True).first.wait_for(timeout=120_000)
    settled(page)
    page.get_by_text("产业链图谱（红色为缺链环节）").wait_for(timeout=60_000)
    frame = page.frame_locator("iframe").first
    frame.locator(".leaflet-container").wait_for(timeout=60_000)
    frame.locator(".leaflet-marker-icon").first.wait_for(timeout=60_000)  # the leader's star (canvas: the rest)
    page.get_by_role("heading", name="目标企业").wait_for(timeout=180_000)  # after the gaps' ready land
    settled(page)
    assert page.locator("img[src='x']").count() == 0 and page.title() != "owned"
    # A click on a node of the tree filters the map (and the gap list) to it and becomes the kept choice.
    page.locator(".js-plotly-plot g.slice").filter(has_text="驱动电机与电控").first.wait_for(timeout=60_000)
    page.locator(".js-plotly-plot g.slice").filter(has_text="动力电池").first.click()
    page.get_by_text("地图只显示：动力电池").wait_for(timeout=120_000)
    page.get_by_text("动力电池 下没有缺链环节。").wait_for(timeout=120_000)
    settled(page)
    chooser = page.get_by_test_id("stSelectbox").filter(has_text="环节（筛选地图）")
    assert chooser.locator("input").input_value() == "动力电池" or "动力电池" in chooser.inner_text()
    chooser.click()
    page.get_by_role("option", name="全部环节", exact=True).click()
    page.get_by_text("地图只显示：").wait_for(state="detached", timeout=120_000)
    settled(page)
    page.get_by_text("English").first.click()
    page.get_by_role("heading", name="Chains", exact=True).first.wait_for(timeout=120_000)
    settled(page)
    page.get_by_text("Chain tree (gaps in red)").wait_for(timeout=60_000)


def test_chains_page_imports_prospects_all_or_nothing(page, app):
    from geo.prospect import read_prospects
    from geo.store.gpkg import GpkgStore

    store = GpkgStore(app.store)
    before = len(read_prospects(store))
    page.goto(f"{app.url}/chains")
    page.get_by_role("heading", name="产业链", exact=True).first.wait_for(timeout=120_000)
    settled(page)
    sign_in(page, "pat", "pat-password-1")
    page.get_by_text("导入目标企业（规划人员）").click()
    bad = app.directory / "bad.csv"
    bad.write_text("企业名称,节点\n好公司,nev.up.motor\n坏公司,nev.nope\n", encoding="utf-8")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(bad))
    page.get_by_text("文件有问题，未写入任何数据").wait_for(timeout=120_000)
    assert len(read_prospects(store)) == before  # the good row was not written either
    good = app.directory / "good.csv"
    good.write_text("企业名称,节点,来源城市,联系状态\n浏览器测试电机有限公司,nev.up.motor,中山,已联系\n", encoding="utf-8")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(good))
    page.get_by_role("button", name="写入目标企业").click()
    page.get_by_text("已写入 1 家目标企业。").wait_for(timeout=120_000)
    written = read_prospects(store)
    assert len(written) == before + 1 and "浏览器测试电机有限公司" in set(written["name"])
