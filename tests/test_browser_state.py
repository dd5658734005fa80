"""Issue 19: choices and results survive navigation and language switches (per session), in Chromium.

The Match page's form, results and reserve button stay one project after leaving the page and
coming back; Available land's group filter and the Park page's theme are kept across pages.
"""
from __future__ import annotations

import pytest

from geo import i18n
from tests.browser import browser, page  # noqa: F401
from tests.test_browser_pages import choose, nav, settled, to_english

pytestmark = pytest.mark.browser
EAST = "东部"  # the sample city's eastern group of parks (its name comes from the store's city)


@pytest.fixture(scope="module")
def app(viewer_app):
    """The shared read-only app (tests/conftest.py): these tests only read, as the anonymous viewer."""
    return viewer_app


def zh(key: str, **values) -> str:
    return i18n.t(key, "zh", **values)


def test_match_leave_and_return_keeps_form_and_results_together(page, app):
    page.goto(app.url + "/match")
    settled(page)
    page.get_by_label(zh("match.name")).fill("电池项目")
    land_min = page.get_by_label(zh("match.land_min"))
    land_min.fill("150")
    page.get_by_label(zh("match.land_max")).fill("300")
    page.get_by_role("button", name=zh("match.submit"), exact=True).click()
    page.get_by_text(zh("match.results_for", name="电池项目")).wait_for(timeout=60_000)
    settled(page)

    nav(page, zh("page.park"))
    nav(page, zh("page.match"))
    page.get_by_text(zh("match.results_for", name="电池项目")).wait_for(timeout=60_000)
    assert page.get_by_label(zh("match.name")).input_value() == "电池项目"
    assert float(page.get_by_label(zh("match.land_min")).input_value()) == 150.0
    assert float(page.get_by_label(zh("match.land_max")).input_value()) == 300.0
    assert page.get_by_test_id("stDataFrame").count() >= 2  # candidates shown with the form's project

    to_english(page)
    page.get_by_text(i18n.t("match.results_for", "en", name="电池项目")).wait_for(timeout=60_000)
    assert page.get_by_label(i18n.t("match.name", "en")).input_value() == "电池项目"
    assert float(page.get_by_label(i18n.t("match.land_min", "en")).input_value()) == 150.0


def test_filters_and_themes_survive_navigation(page, app):
    page.goto(app.url + "/available")
    settled(page)
    groups = page.get_by_test_id("stMultiSelect").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text(zh("available.groups"), exact=True))
    groups.locator("input").click()
    page.get_by_role("option", name=EAST).first.click()
    page.keyboard.press("Escape")
    settled(page)
    nav(page, zh("page.park"))
    choose(page, zh("park.theme"), zh("theme.grade"))
    nav(page, zh("page.available"))
    assert groups.get_by_text(EAST).count() == 1  # the group filter came back
    nav(page, zh("page.park"))
    theme = page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text(zh("park.theme"), exact=True))
    shown = theme.inner_text() + " ".join(theme.locator("input").evaluate_all("els => els.map(e => e.value)"))
    assert zh("theme.grade") in shown  # the theme came back
