"""Screenshots for the planner's guide (docs/guide.md), taken in headless Chromium.

Usage: ``.venv/bin/python scripts/guide_screenshots.py`` — starts the app on a copy of the sample
store (as the browser tests do, network limited to loopback), walks the pages a planner uses in
their first week and writes ``docs/guide/*.png``. Re-run it after a change to the pages.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, CHROMIUM_ARGS, start_app_with_users  # noqa: E402

OUT = ROOT / "docs" / "guide"
ADMIN, PASSWORD = "guide-admin", "guide-password-1"


def settled(page) -> None:
    page.wait_for_timeout(400)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=120_000)
    page.wait_for_timeout(1200)  # let maps paint


def shot(page, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"))
    print(OUT / f"{name}.png")


def main() -> None:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests" / "data"))
    from make_corpus import write_corpus

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        corpus = write_corpus(Path(scratch) / "corpus")
        app = start_app_with_users(Path(scratch), {ADMIN: (PASSWORD, "admin")})
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.goto(app.url + "/")
                settled(page)
                shot(page, "1_overview")
                page.goto(app.url + "/park?park=dz_park")
                settled(page)
                shot(page, "2_park")
                page.goto(app.url + "/available")
                settled(page)
                shot(page, "3_available")
                page.goto(app.url + "/match")
                settled(page)
                page.get_by_role("button", name="匹配", exact=True).click()
                page.get_by_text("候选").first.wait_for(timeout=120_000)
                settled(page)
                shot(page, "4_match")
                page.goto(app.url + "/data")
                settled(page)
                page.get_by_text("规划人员登录", exact=True).click()
                page.get_by_label("用户名").fill(ADMIN)
                page.get_by_label("密码").fill(PASSWORD)
                page.get_by_role("button", name="登录", exact=True).click()
                page.get_by_text(f"已登录：{ADMIN}").wait_for(timeout=60_000)
                settled(page)
                page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
                    str(corpus["county_gbk_cpg_no_status.zip"]))
                page.get_by_text("文件内容预览（前 5 行）").wait_for(timeout=120_000)
                settled(page)
                page.get_by_text("导入选项").scroll_into_view_if_needed()
                shot(page, "5_import")
                page.get_by_text("导入检查报告").scroll_into_view_if_needed()
                shot(page, "6_import_report")
                browser.close()
        finally:
            app.stop()


if __name__ == "__main__":
    main()
