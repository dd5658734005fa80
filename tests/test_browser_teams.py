"""The 队伍 Teams page in Debian's Chromium (issue 15): a member sees the ranking with their team
highlighted, opens another team, makes the month's bulletin with a preview and downloads; a
viewer reads only; English labels after a language switch. Offline: no external request."""
from __future__ import annotations

import pytest

from datetime import date

from geo.project_review import read_register
from geo.store import open_store
from geo.team import load_counting_rules, read_targets, read_teams
from geo.team_progress import team_progress
from tests.browser import browser, page, screenshot, sign_in, start_app_with_users  # noqa: F401
from tests.test_browser_pages import choose, nav, settled, to_english

pytestmark = pytest.mark.browser

PASSWORD = "teams-password-1"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from geo.sample import SAMPLE_GPKG
    from geo.store.gpkg import GpkgStore

    member = read_teams(GpkgStore(SAMPLE_GPKG)).members.iloc[0].split(";")[0]  # a member of T01
    server = start_app_with_users(tmp_path_factory.mktemp("teams-app"), {member: (PASSWORD, "planner")})
    server.member = member
    yield server
    server.stop()


def test_teams_page_ranking_team_and_bulletin(page, app):
    store = open_store(app.store)
    teams = read_teams(store)
    page.goto(f"{app.url}/teams")
    settled(page)
    page.get_by_text("只读：规划人员或管理员登录后可编辑队伍和目标。").wait_for(timeout=30_000)
    sign_in(page, app.member, PASSWORD)
    page.get_by_text("黄色标出的是您所在的队伍：高新区招商一组").wait_for(timeout=30_000)
    ranking = page.get_by_test_id("stDataFrame").first
    ranking.wait_for(timeout=30_000)
    assert page.get_by_text("编辑队伍与目标").count() == 1  # a planner may edit
    second = teams.iloc[1]
    choose(page, "队伍", f"{second['name']} ({second.team_id})")
    page.get_by_text(f"所属：{second.district}").wait_for(timeout=30_000)
    progress = team_progress(read_register(store), teams, read_targets(store, date.today().year), year=date.today().year,
                             as_of=date.today())
    counted = progress.rows[(progress.rows.team_id == second.team_id) & (progress.rows.chain == "")
                            & (progress.rows.actual > 0)].iloc[0]
    label = f"{load_counting_rules().label(counted.target, 'zh')} ({len(counted.project_ids)})"
    choose(page, "查看构成完成值的项目", label)
    page.get_by_text("点选一行查看该项目的阶段记录。").wait_for(timeout=30_000)
    grid = page.locator(".st-key-teams_trace").get_by_test_id("stDataFrame")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the first row's selection marker
    page.get_by_text(f"（{counted.project_ids[0]}）的阶段记录").wait_for(timeout=30_000)
    settled(page)
    page.get_by_text(f"在项目页打开 {counted.project_ids[0]}").click()  # the Projects page opens that project
    page.wait_for_url(f"**/projects?project={counted.project_ids[0]}", timeout=30_000)
    settled(page)
    page.go_back()
    settled(page)
    page.get_by_text(f"所属：{second.district}").wait_for(timeout=30_000)  # the chosen team survived
    page.get_by_label("月份（YYYY-MM）").fill("2026-10")
    page.keyboard.press("Enter")
    settled(page)
    page.get_by_role("button", name="生成通报").click()
    page.get_by_text("2026-10 通报第一页预览").wait_for(timeout=120_000)
    settled(page)
    assert page.get_by_test_id("stImage").count() >= 1
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="下载 PDF").click()
    assert download.value.suggested_filename == "bulletin_2026-10_zh.pdf"
    screenshot(page, "teams-page")
    to_english(page)
    page.get_by_text("Promotion teams · targets and progress").wait_for(timeout=30_000)
    nav(page, "Overview")
    nav(page, "Teams")
    page.get_by_text(f"District: {second.district}").wait_for(timeout=30_000)  # the chosen team survived
