"""Streamlit's own interface words ("Choose an option", "Select all", "Upload", "Press Enter to
submit form" …) in the page's language.

Streamlit has no translation of its built-in texts, and passing ``placeholder=`` to each widget
leaves the rest (upload button, multiselect's "Select all", form hints). One small script in
the page instead rewrites those texts — and placeholders and accessible names — wherever they
appear, now and in whatever Streamlit renders later (a ``MutationObserver``). The words come from
``locale/<lang>.json`` (``streamlit.*`` keys); only whole texts equal to Streamlit's are matched,
and never inside Markdown (but for button labels and Streamlit's own dialogs, such as "Page not
found"), tables, code or metrics, where data is shown.
"""
from __future__ import annotations

import json

import streamlit as st

from geo import i18n

#: Streamlit's English text → catalogue key; ``{n}`` parts are carried over.
EXACT = {
    "Choose an option": "streamlit.choose_option",
    "Choose options": "streamlit.choose_options",
    "Select all": "streamlit.select_all",
    "Clear all": "streamlit.clear_all",
    "No results": "streamlit.no_results",
    "Upload": "streamlit.upload",
    "Drag and drop file here": "streamlit.drag_file",
    "Drag and drop files here": "streamlit.drag_files",
    "Press Enter to submit form": "streamlit.enter_submit",
    "Press Enter to apply": "streamlit.enter_apply",
    "Page not found": "streamlit.page_not_found",
    "The page that you have requested does not seem to exist. Running the app's main page.":
        "streamlit.page_not_found_body",
    "Running...": "streamlit.running",
    "Stop": "streamlit.stop",
}
#: Texts with a value inside: a regular expression and the key whose ``{0}`` takes the value.
PATTERNS = [
    (r"^(?:Limit )?(\S+) per file(.*)$", "streamlit.limit_per_file"),
]

_SCRIPT = """<script>
(() => {
  const DATA = '[data-testid="stMarkdownContainer"], [data-testid="stTable"], [data-testid="stDataFrame"], ' +
               '[data-testid="stCode"], [data-testid="stJson"], [data-testid="stMetricValue"], iframe';
  const words = %(words)s, patterns = %(patterns)s.map(([p, w]) => [new RegExp(p), w]);
  window.parkatlasUiWords = words.__lang === "en" ? null : {words, patterns};
  if (window.parkatlasUiObserver) { return; }
  const say = (text) => {
    const table = window.parkatlasUiWords;
    if (!table || !text) { return null; }
    const trimmed = text.trim();
    if (Object.prototype.hasOwnProperty.call(table.words, trimmed)) { return table.words[trimmed]; }
    for (const [pattern, word] of table.patterns) {
      const found = trimmed.match(pattern);
      if (found) { return word.replace("{0}", found[1]).replace("{1}", found[2] || ""); }
    }
    return null;
  };
  const fix = (root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (parent && parent.closest(DATA) && !parent.closest("button, [role=dialog]")) { continue; }
      const word = say(node.nodeValue);
      if (word !== null && word !== node.nodeValue) { node.nodeValue = word; }
    }
    if (root.querySelectorAll) {
      for (const el of root.querySelectorAll("[placeholder], [aria-label]")) {
        for (const name of ["placeholder", "aria-label"]) {
          const word = say(el.getAttribute(name));
          if (word !== null) { el.setAttribute(name, word); }
        }
      }
    }
  };
  const doc = window.parent && window.parent.document ? window.parent.document : document;
  window.parkatlasUiObserver = new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.type === "characterData") { fix(change.target.parentNode || doc.body); }
      for (const node of change.addedNodes) { fix(node.nodeType === 3 ? node.parentNode : node); }
      if (change.type === "attributes") { fix(change.target.parentNode || change.target); }
    }
  });
  window.parkatlasUiObserver.observe(doc.body, {subtree: true, childList: true, characterData: true,
                                              attributes: true, attributeFilter: ["placeholder", "aria-label"]});
  fix(doc.body);
})();
</script>"""


def translate_streamlit_words(lang: str) -> None:
    """Put the script in the sidebar (no space taken); English pages keep Streamlit's words."""
    words = {english: i18n.t(key, lang) for english, key in EXACT.items()}
    words["__lang"] = lang
    patterns = [[pattern, i18n.t(key, lang)] for pattern, key in PATTERNS]
    st.sidebar.html(_SCRIPT % {"words": json.dumps(words, ensure_ascii=False).replace("</", "<\\/"),
                               "patterns": json.dumps(patterns, ensure_ascii=False).replace("</", "<\\/")},
                    unsafe_allow_javascript=True)
