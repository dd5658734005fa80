"""Data text on a Markdown-rendering element, in Debian's Chromium: shown literally, nothing executes.

The atlas progress bar of the Export page shows each park's name as it renders, the Overview its
table of parks; every park here carries a hostile name (Markdown emphasis, raw HTML, a link and math).
"""
from __future__ import annotations

import pytest

from geo.auth import User
from geo.store import open_store
from tests.browser import browser, page, screenshot, start_app  # noqa: F401

pytestmark = pytest.mark.browser

HOSTILE = "**bold** <img src=x onerror=alert(1)> [link](http://x) [js](javascript:alert(1)) $x$"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    def prepare(path):
        store = open_store(path)
        parks = store.read_parks()
        parks["name_zh"] = HOSTILE + " " + parks.park_id
        store.import_features("parks", parks, user=User("root", "admin"))

    server = start_app(tmp_path_factory.mktemp("app"), prepare)
    yield server
    server.stop()


def test_atlas_progress_shows_hostile_park_names_as_text(app, page):
    page.goto(f"{app.url}/export")
    page.get_by_role("button", name="生成图集").click(timeout=90_000)
    download = page.get_by_role("button", name="下载图集 PDF")
    download.wait_for(timeout=180_000)
    progress = page.locator('[data-testid="stProgress"]').first
    text = progress.inner_text()
    screenshot(page, "export-atlas-hostile-park-names")
    assert HOSTILE in text
    markup = progress.locator("img, a, strong, em, .katex, script")
    assert markup.count() == 0, progress.inner_html()
    assert page.dialogs == [] and page.external_requests == []


def test_overview_table_shows_hostile_park_names_as_text(app, page):
    """``st.table`` renders cells as Markdown: the park table's names stay the characters they are."""
    page.goto(app.url)
    table = page.locator('.st-key-overview_park_table [data-testid="stTable"]')
    table.get_by_text(HOSTILE + " zq_hitech", exact=True).wait_for(timeout=120_000)
    screenshot(page, "overview-table-hostile-park-names")
    assert table.locator("img, a, strong, em, .katex, script").count() == 0, table.inner_html()
    assert page.dialogs == [] and page.external_requests == []
