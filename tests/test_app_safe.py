"""Text from data or uploads on Markdown-rendering elements shows literally (security checklist item 1).

Streamlit renders the value of ``st.error``, ``st.success``, captions, titles, progress text and
labels as Markdown. The element values are rendered here with a CommonMark parser (raw HTML
enabled, as the worst case) and must come out as one paragraph of the literal text: no link,
image, emphasis or HTML element, and every ``$`` escaped so no math is typeset.
"""
from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from app_pages.safe import plain
from geo.auth import User
from geo.store import open_store
from geo.testing import make_parcels
from tests.conftest import ROOT

HOSTILE = "**bold** <img src=x onerror=alert(1)> [link](http://x) $x$"
# The importer quotes only a file's base name, so the file-name payload has no slash.
HOSTILE_FILE = "**bold** <img src=x onerror=alert(1)> [link](javascript:alert(1)) $x$ `code` ${x}.geojson"
TIMEOUT = 180
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def html_text(text: str) -> str:
    """``text`` as markdown-it writes literal text into HTML."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def assert_literal(source: str, text: str) -> None:
    """``source`` (an element's Markdown) renders as plain paragraphs that contain ``text`` verbatim."""
    rendered = MARKDOWN.render(source)
    assert html_text(text) in rendered, rendered
    assert set(re.findall(r"<\s*([a-zA-Z][\w-]*)", rendered)) <= {"p", "br"}, rendered
    assert not re.search(r"(?<!\\)\$", source), source  # an unescaped $ starts math in Streamlit


def markdown_values(at: AppTest) -> list[str]:
    """The Markdown source of every element that renders it."""
    values = [e.value for e in (*at.markdown, *at.caption, *at.title, *at.subheader, *at.header,
                                *at.error, *at.warning, *at.info, *at.success)]
    values += [p.proto.text for p in at.get("progress")]
    return values


@pytest.mark.parametrize("text", [HOSTILE, HOSTILE_FILE, "1. list\n    indented code\n# heading\n> quote",
                                  "| a | b |\n|---|---|\n| c | d |", ":red[colour] ~~strike~~ a_b_c"])
def test_plain_renders_as_the_literal_text(text):
    source = plain(text)
    rendered = MARKDOWN.render(source)
    assert set(re.findall(r"<\s*([a-zA-Z][\w-]*)", rendered)) <= {"p", "br"}, rendered
    for line in text.splitlines():
        assert html_text(line.strip()) in rendered
    assert not re.search(r"(?<!\\)\$", source)


def test_plain_does_not_escape_what_is_not_markup():
    assert plain("园区 A1 2026年") == "园区 A1 2026年"


@pytest.fixture()
def app(store_path, monkeypatch):
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["user"] = User("root", "admin")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("app_pages/data.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_rejected_upload_quotes_a_hostile_file_name_literally(app, store_path):
    original = store_path.read_bytes()
    app.file_uploader(key="import_file").set_value((HOSTILE_FILE, b"{not json", "application/geo+json"))
    app.run()
    assert not app.exception
    assert len(app.error) == 1
    assert_literal(app.error[0].value, HOSTILE_FILE)
    assert store_path.read_bytes() == original


def test_blocking_reasons_quote_hostile_parcel_ids_literally(app):
    duplicates = make_parcels([(0, 0, 200, 200), (300, 0, 500, 200)], park_id="zq_hitech",
                              parcel_id=[HOSTILE, HOSTILE])
    app.file_uploader(key="import_file").set_value(("dupes.geojson", duplicates.to_json().encode(),
                                                    "application/geo+json"))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    quoting = [e.value for e in app.error if "onerror" in e.value]
    assert quoting, [e.value for e in app.error]
    for value in quoting:
        assert_literal(value, HOSTILE)
    assert app.button(key="import_commit").disabled


def test_import_preview_and_report_tables_show_hostile_names_and_values_literally(app):
    """``st.table`` renders its cells and headings as Markdown: the file's own column names and
    values in the preview stay the characters they are."""
    parcels = make_parcels([(0, 0, 200, 200), (300, 0, 500, 200)], park_id="zq_hitech", parcel_id=["a", "b"])
    parcels[HOSTILE] = [HOSTILE, "plain"]
    app.file_uploader(key="import_file").set_value(("hostile.geojson", parcels.to_json().encode(),
                                                    "application/geo+json"))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    cells = [str(text) for table in app.table for text in (*table.value.columns, *table.value.to_numpy().ravel())]
    quoting = [text for text in cells if "onerror" in text]
    assert len(quoting) >= 2, cells  # the column's heading and its first value
    for text in quoting:
        assert_literal(text, HOSTILE)
    for text in cells:
        assert set(re.findall(r"<\s*([a-zA-Z][\w-]*)", MARKDOWN.render(text))) <= {"p", "br"}, text


def test_match_page_with_a_hostile_project_name_makes_no_markup(store_path, monkeypatch):
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    at = AppTest.from_file(str(ROOT / "app_pages" / "match.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.session_state["user"] = User("planner1", "planner")
    at.run()
    at.text_input(key="m_name").input(HOSTILE)
    next(b for b in at.button if b.label == "Match").click()
    at.run()
    next(b for b in at.button if b.label.startswith("Reserve for this project")).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success  # the reservation went through under the hostile name
    for value in markdown_values(at):
        assert "onerror" not in value or "<img" not in MARKDOWN.render(value), value


def test_atlas_progress_shows_a_hostile_park_name_literally(store_path, monkeypatch):
    store = open_store(store_path)
    parks = store.read_parks()
    parks["name_en"] = HOSTILE + " " + parks.park_id  # the atlas ends on some park: all carry the payload
    store.import_features("parks", parks, user=User("root", "admin"))
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    at = AppTest.from_file(str(ROOT / "app_pages" / "export.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.run()
    next(b for b in at.button if b.label == "Make the atlas").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    progress = [p.proto.text for p in at.get("progress")]
    assert progress, "the atlas shows a progress bar"
    quoting = [text for text in progress if "onerror" in text]
    assert quoting, progress
    for text in quoting:
        assert_literal(text, HOSTILE)
