"""The Data page's import finished in Debian's Chromium: a county's zipped GBK shapefile with a
.cpg, CGCS2000 Gauss-Krüger coordinates and no status column (issue 19, blocker 1 and 2)."""
from __future__ import annotations

import pytest

from geo.store import open_store
from tests.browser import browser, page, screenshot, sign_in, start_app_with_users  # noqa: F401
from tests.test_browser_pages import ADMIN, PASSWORD, choose, settled

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    server = start_app_with_users(tmp_path_factory.mktemp("import-app"), {ADMIN: (PASSWORD, "admin")})
    yield server
    server.stop()


def upload(page, path) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    page.get_by_text("文件内容预览（前 5 行）").wait_for(timeout=60_000)
    settled(page)


def test_county_shapefile_imported_on_the_page_and_its_mapping_remembered(page, app, import_corpus):
    page.goto(app.url + "/data")
    settled(page)
    sign_in(page, ADMIN, PASSWORD)
    upload(page, import_corpus["county_gbk_cpg_no_status.zip"])
    body = page.inner_text("body")
    assert "肇庆新能源汽车零部件有限公司" in body  # the preview shows the GBK text decoded
    assert "GBK（按 .cpg 文件）" in body and "中央经线 114°E（EPSG:4547）" in body
    assert "3 个要素缺少状态" in body and "missing" not in body and "{" not in body
    commit = page.get_by_role("button", name="写入数据库")
    assert commit.is_disabled()
    screenshot(page, "import_county_blocked")

    choose(page, "缺少状态时设为", "可供地")
    choose(page, "行业", "行业代码")  # a column no alias knows, mapped by the planner
    page.get_by_text("检查通过：3 个要素可以写入。").wait_for(timeout=60_000)
    commit.click()
    page.get_by_text("已写入：新增 3 个").wait_for(timeout=60_000)
    settled(page)
    stored = open_store(app.store).read_parcels().set_index("parcel_id")
    assert stored.loc["XQ-001", ["status", "park_id", "industry_code", "enterprise"]].tolist() == \
        ["available", "zq_hitech", "3670", "肇庆新能源汽车零部件有限公司"]

    # The same source again, in a new session: its mapping comes back without choosing.
    page.goto(app.url + "/data")
    settled(page)
    if page.get_by_text("规划人员登录", exact=True).count():
        sign_in(page, ADMIN, PASSWORD)
    upload(page, import_corpus["county_gbk_cpg_no_status.zip"])
    page.get_by_text("已沿用上次导入同一来源", exact=False).wait_for(timeout=30_000)
    box = page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text("行业", exact=True))
    shown = box.evaluate("(b) => Array.from(b.querySelectorAll('input')).map(i => i.getAttribute('aria-label')"
                         " + ' ' + i.value).join(' ') + b.textContent")
    assert "行业代码" in shown
    screenshot(page, "import_county_recalled")
