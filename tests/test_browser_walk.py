"""Issue 19: every page in Chinese shows only the planner's words (Chromium, offline).

Walks every page of the app's navigation in Chinese (the Match page with a matched project) and
fails on any visible raw code of the catalogue, Streamlit's own English strings, a Python repr
(``{``, ``None``, ``True``, ``e+0``) or an ISO timestamp. The text checked is what a planner sees:
the page's rendered text and the cells of its data grids (their accessible tables).
"""
from __future__ import annotations

import re

import pytest

from geo import i18n
from geo.standards import load_standards
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.test_browser_pages import settled

pytestmark = pytest.mark.browser

#: Every page of app.py's navigation, by its url_path there.
PAGES = ["overview", "park", "parcel", "city", "available", "enterprises", "inefficient", "match", "teams",
         "projects", "export", "data", "guide"]
STREAMLIT_ENGLISH = ["Choose an option", "Choose options", "Select all", "Upload", "Press Enter to submit form",
                     "Browse files", "Drag and drop", "No options to select", "No results", "View more",
                     "View less", "Clear all", "Deploy", "Show more", "Show less", "Page not found",
                     "does not seem to exist"]
PYTHON_REPRS = [r"\{", r"\bNone\b", r"\bTrue\b", r"\bFalse\b", r"\bnan\b", r"\bNaN\b", r"\d[eE][+-]0\d"]
ISO_TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d|\+00:00|\d\d:\d\d:\d\d\.\d{3,}"
#: Codes a planner never writes: statuses and chain levels of the catalogue (ids such as parcel ids are data).
RAW_CODES = sorted({*load_standards().statuses.code, "characteristic", "not_ready", "approved_unsupplied"} - {"idle"})
VISIBLE_TEXT_JS = """() => {
    const parts = [document.querySelector('[data-testid="stMain"]')?.innerText || '',
                   document.querySelector('[data-testid="stSidebar"]')?.innerText || ''];
    for (const dialog of document.querySelectorAll('[role="dialog"]')) parts.push(dialog.innerText);
    for (const grid of document.querySelectorAll('[data-testid="stDataFrame"] table'))
        parts.push(grid.textContent);
    for (const input of document.querySelectorAll('input[placeholder], textarea[placeholder]'))
        parts.push(input.getAttribute('placeholder'));
    return parts.join('\\n');
}"""


@pytest.fixture(scope="module")
def app(viewer_app):
    """The shared read-only app (tests/conftest.py): these tests only read, as the anonymous viewer."""
    return viewer_app


def problems_in(text: str) -> list[str]:
    found = [f"Streamlit English {s!r}" for s in STREAMLIT_ENGLISH if s in text]
    found += [f"Streamlit English {m.group(0)!r}" for m in [re.search(r"View \d+ more", text)] if m]
    found += [f"Python repr {m.group(0)!r}" for p in PYTHON_REPRS for m in [re.search(p, text)] if m]
    found += [f"ISO timestamp {m.group(0)!r}" for m in [re.search(ISO_TIMESTAMP, text)] if m]
    found += [f"raw code {c!r}" for c in RAW_CODES if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)]
    return found


def test_every_page_in_chinese_speaks_the_planners_words(page, app):
    found = {}
    for path in PAGES:
        # The Overview is the default page: Streamlit serves it at "/" and answers "/overview" with "Page not found".
        page.goto(f"{app.url}/{'' if path == 'overview' else path}")
        settled(page)
        if path == "match":
            page.get_by_role("button", name=i18n.t("match.submit", "zh"), exact=True).click()
            page.get_by_text(i18n.t("match.what_if", "zh")).wait_for(timeout=90_000)
            settled(page)
        problems = problems_in(page.evaluate(VISIBLE_TEXT_JS))
        if problems:
            screenshot(page, f"walk_{path}")
            found[path] = problems
    assert found == {}, "\n".join(f"{path}: {problems}" for path, problems in found.items())


def test_the_checks_catch_what_a_planner_must_not_see():
    """The walk's checks on hand-built text (so a passing walk means something)."""
    bad = ("状态 approved_unsupplied；是否 True；值 None；{'a': 1}；1.28e+03；2026-12-02T08:14:02.123456+00:00；"
           "Choose an option；View 3 more")
    assert problems_in(bad) == [
        "Streamlit English 'Choose an option'", "Streamlit English 'View 3 more'", "Python repr '{'",
        "Python repr 'None'", "Python repr 'True'", "Python repr '8e+03'", "ISO timestamp '2026-12-02T08:14'",
        "raw code 'approved_unsupplied'"]
    assert problems_in("状态 批而未供；面积 1,280.00 亩；2026-12-02 16:14；地块 zq_hitech-000620") == []
