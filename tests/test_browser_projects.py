"""The Projects page in Chromium: a planner enters a matched project in the register from the Match page,
opens it on the Projects page, changes its stage, and the map follows (network limited to loopback)."""
from __future__ import annotations

import pytest

from geo.store import open_store
from layers.projects import STAGE_COLORS
from tests.browser import browser, map_frame, page, screenshot, sign_in, start_app_with_users  # noqa: F401

pytestmark = pytest.mark.browser

PLANNER, PASSWORD = "planner1", "planner-password-1"
XSS = "<img src=x onerror=alert(1)>储能"
FILLS_JS = """(pid) => window.parkatlasLayers.projects.getLayers()
    .filter(l => l.feature.properties.id === pid).map(l => l.options.fillColor)"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    server = start_app_with_users(tmp_path_factory.mktemp("projects-app"), {PLANNER: (PASSWORD, "planner")})
    yield server
    server.stop()


def project_fills(page, pid: str, color: str) -> list[str]:
    """The fills of the project's parcels on a Projects-page map, once they are ``color``."""
    deadline_ms = 60_000
    frame = map_frame(page, timeout=60, role="projects")
    handle = frame.wait_for_function(f"(pid) => {{ const f = ({FILLS_JS})(pid);"
                                     f" return f.length && f.every(c => c === '{color}') ? f : null; }}",
                                     arg=pid, timeout=deadline_ms)
    return handle.json_value()


def test_planner_takes_a_matched_project_into_the_register_and_changes_its_stage(page, app):
    from playwright.sync_api import expect

    page.goto(app.url + "/match")
    sign_in(page, PLANNER, PASSWORD)
    page.get_by_label("项目名称").fill(XSS)
    page.get_by_role("button", name="匹配", exact=True).click()
    create = page.get_by_role("button", name="将此方案录入项目台账", exact=False)
    create.wait_for(timeout=90_000)
    create.click()
    page.get_by_text("已录入项目台账：").wait_for(timeout=30_000)

    store = open_store(app.store)
    added = store.read_projects().iloc[-1]
    assert added["name"] == XSS and added.stage == "signed"   # the hostile name is stored verbatim
    parcel_ids = added.parcel_ids.split(";")
    assert parcel_ids and (store.read_parcels().set_index("parcel_id").loc[parcel_ids, "status"] == "available").all()

    page.get_by_role("link", name="项目", exact=True).click()   # in-app navigation keeps the session
    expect(page.get_by_label("选择项目")).to_have_value(f"{added.project_id} · {XSS}", timeout=60_000)
    assert project_fills(page, added.project_id, STAGE_COLORS["signed"])
    screenshot(page, "projects_signed")

    chooser = page.get_by_test_id("stSelectbox").filter(has_text="新阶段")
    option = page.get_by_role("option", name="供地", exact=True)
    for _ in range(6):  # a map's first render may rerun the page once, closing the list
        chooser.click()
        try:
            option.wait_for(timeout=10_000)
            break
        except Exception:
            page.keyboard.press("Escape")
    option.click()
    expect(page.get_by_label("新阶段")).to_have_value("供地", timeout=30_000)
    page.get_by_role("button", name="变更阶段", exact=True).click()
    page.get_by_text(f"项目 {added.project_id} 已变更为：供地").wait_for(timeout=60_000)
    assert project_fills(page, added.project_id, STAGE_COLORS["land_supplied"])
    parcels = open_store(app.store).read_parcels().set_index("parcel_id").loc[parcel_ids]
    assert (parcels.status == "supplied").all()
    events = open_store(app.store).read_stage_events(added.project_id)
    assert list(events.stage) == ["signed", "land_supplied"] and list(events.user_name) == [PLANNER, PLANNER]
    screenshot(page, "projects_land_supplied")
    assert page.dialogs == [] and page.external_requests == []
    for frame in page.frames:
        assert frame.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
