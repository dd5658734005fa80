"""Text from data or an upload, made safe for the Streamlit elements that render Markdown.

``st.error``, ``st.warning``, ``st.info``, ``st.success``, ``st.markdown``, ``st.caption``,
``st.title``/``st.subheader``, widget and metric labels, ``st.progress`` text and ``st.table``'s cells and headings all parse
GitHub-flavoured Markdown plus Streamlit's extras (``$math$``, ``:red[...]`` directives). A park
name, parcel id, project name, file name or an error message quoting any of them goes through
:func:`plain` first, so it shows as the characters it is made of.
"""
from __future__ import annotations

import re
import string

import pandas as pd

# CommonMark lets a backslash escape every ASCII punctuation character, and an escaped
# character is always literal: no emphasis, link, image, HTML, code, math or directive.
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_LINE_BREAK = re.compile(r"[ \t]*\r?\n\s*")


def plain(text) -> str:
    """``text`` (any value, via ``str``) as Markdown source that renders as exactly that text.

    Every ASCII punctuation character is backslash-escaped, which also neutralises raw HTML
    (``\\<img ...>`` is literal). Line breaks become Markdown hard breaks and indentation after
    them is dropped, so a multi-line message cannot start a code block, list or heading.

    Examples
    --------
    >>> plain("**bold** <b>")
    '\\\\*\\\\*bold\\\\*\\\\* \\\\<b\\\\>'
    """
    escaped = _PUNCTUATION.sub(r"\\\1", str(text).strip())
    return _LINE_BREAK.sub("  \n", escaped)


def plain_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` for ``st.table``, which renders every cell and heading as Markdown: each one
    through :func:`plain` (missing cells empty), so a park name or an imported attribute value
    shows as its characters."""
    shown = frame.astype("string").fillna("").map(plain)
    shown.columns = [plain(column) for column in frame.columns]
    return shown
