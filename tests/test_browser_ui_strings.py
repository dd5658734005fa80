"""Streamlit's own English words on Chinese pages, in Debian's Chromium (issue 19): the
multiselect's placeholder and "Select all", the uploader's "Upload", a form's "Press Enter to
submit form" are in Chinese; English pages keep them."""
from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser import browser, page, screenshot, sign_in, start_app_with_users  # noqa: F401
from tests.test_browser_pages import ADMIN, PASSWORD, settled, to_english

pytestmark = pytest.mark.browser
ENGLISH = ["Choose an option", "Choose options", "Select all", "Upload", "Drag and drop", "Press Enter",
           "per file", "No results", "Page not found", "does not seem to exist"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    server = start_app_with_users(tmp_path_factory.mktemp("ui-strings-app"), {ADMIN: (PASSWORD, "admin")})
    yield server
    server.stop()


def english_words(page) -> list[str]:
    text = page.inner_text("body") + " ".join(page.eval_on_selector_all(
        "[placeholder], [aria-label]", "els => els.map(e => (e.getAttribute('placeholder') || '') + ' ' + "
        "(e.getAttribute('aria-label') || ''))"))
    return [word for word in ENGLISH if word in text]


def open_first_multiselect(page, attempts: int = 6) -> None:
    """Open the page's first multiselect until its options show.

    The map's first report reruns the page once after it settles; that rerun closes a dropdown
    opened in between, so the click is repeated (each attempt waits on the option, not a clock).
    """
    for attempt in range(attempts):
        page.get_by_test_id("stMultiSelect").first.locator("input").click()
        try:
            page.get_by_role("option", name="全选").wait_for(timeout=10_000)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")
            settled(page)


def test_streamlit_words_follow_the_page_language(page, app):
    page.goto(app.url + "/available")
    settled(page)
    open_first_multiselect(page)
    assert english_words(page) == []
    page.keyboard.press("Escape")

    page.get_by_text("规划人员登录", exact=True).click()
    page.get_by_label("用户名").fill("someone")  # a form field typed in may show its hint (if wide enough)
    page.get_by_label("用户名").press("End")
    settled(page)
    assert english_words(page) == []

    page.get_by_label("用户名").fill("")
    page.goto(app.url + "/data")
    settled(page)
    sign_in(page, ADMIN, PASSWORD)
    page.get_by_test_id("stFileUploaderDropzone").get_by_text("上传").wait_for(timeout=30_000)
    assert english_words(page) == []
    screenshot(page, "ui_strings_data_zh")

    to_english(page)
    page.get_by_test_id("stFileUploaderDropzone").get_by_text("Upload").wait_for(timeout=30_000)


def test_the_press_enter_hint_of_a_form_is_chinese(page, app):
    """A field typed into in a form shows Streamlit's hint under it: in Chinese on a Chinese page (the
    English words nowhere), Streamlit's own on an English page — so the hint is really there. Streamlit's
    "Page not found" dialog (a mistyped address) is Chinese too."""
    from playwright.sync_api import expect

    from geo import i18n

    page.goto(app.url + "/overview")  # a page address that does not exist (the Overview is at /)
    expect(page.get_by_role("dialog")).to_contain_text(i18n.t("streamlit.page_not_found_body", "zh"), timeout=60_000)
    assert english_words(page) == []

    page.goto(app.url + "/match")
    settled(page)
    field = page.get_by_label("项目名称")
    field.fill("新项目")
    hint = page.get_by_test_id("InputInstructions")
    expect(hint.first).to_contain_text(i18n.t("streamlit.enter_submit", "zh"), timeout=30_000)
    assert english_words(page) == []
    screenshot(page, "ui_strings_enter_hint_zh")

    field.fill("")
    to_english(page)
    field = page.get_by_label("Project name")
    field.fill("new project")
    expect(page.get_by_test_id("InputInstructions").first).to_contain_text("Press Enter to submit form",
                                                                      timeout=30_000)
