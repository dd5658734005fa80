"""Export: print maps (PDF/PNG preview), offline HTML, the atlas, parcel fact sheets and data files.

Thin: widgets here, rendering in ``layers.print_map`` / ``layers.atlas`` / ``layers.factsheet``,
data files in ``geo.exports``. Downloads are generated when clicked (callable ``data``); the atlas
is rendered on request with ``st.progress``. Nothing user-specific is cached across sessions.
"""
import hashlib
import io
from datetime import date

import streamlit as st

from app_pages import common
from app_pages.safe import plain
from geo import i18n
from geo.availability import available_parcels
from geo.errors import ParkAtlasError
from geo.exports import (DATA_FORMATS, MEDIA_TYPES, candidates_export_frame, excluded_table, export_bytes,
                         parcel_export_frame)
from geo.metrics import INTENSITY_INDICATORS
from geo.store.tables import imported_field_names
from layers.atlas import render_atlas
from layers.factsheet import factsheet_file_name, render_factsheets, sites_from_candidates
from layers.print_map import (ORIENTATIONS, PAPERS_MM, THEMES, indicator_name, render_park_html,
                              render_park_map)

lang = common.lang()
say = common.page_labels("export")


@st.cache_data(show_spinner=False, max_entries=32)
def _preview(location: str, revision: str, park_id: str, theme: str, indicator, paper: str, orientation: str,
             language: str, highlight: tuple) -> bytes:
    """A low-resolution PNG of the page (store data only: shared safely between sessions)."""
    return render_park_map(common.park_parcels(park_id), park_row(park_id), parks=common.parks(),
                           districts=common.districts(), fmt="png", paper=paper, orientation=orientation, dpi=72,
                           theme=theme, indicator=indicator, lang=language, highlight_ids=list(highlight),
                           dataset_info=common.dataset_info())


def choice_key(choices) -> str:
    """A short key naming a set of choices: download buttons keyed by it never serve an earlier file."""
    return hashlib.sha1(repr(choices).encode()).hexdigest()[:12]


def park_row(park_id: str):
    parks = common.parks()
    return parks.loc[parks.park_id == park_id].iloc[0]


st.title(say("title"))
parks = common.parks()
names = common.park_names()
try:
    result = common.match_result()
except ParkAtlasError as exc:
    common.show_error(exc)
    result = None

c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 1, 1])
indicator_key, orientation_key = common.lang_key("export_indicator"), common.lang_key("export_orientation")
park_id = c1.selectbox(say("park"), list(parks.park_id), key=common.lang_key("export_park"),
                       format_func=lambda p: str(names[p]))
theme = c2.selectbox(say("theme"), THEMES, key=common.lang_key("export_theme"),
                     format_func=lambda t: say(f"themes.{t}"))
# Defaults apply to fresh widgets only (Streamlit warns when state and default are both given).
indicator = c3.selectbox(say("indicator"), INTENSITY_INDICATORS, key=indicator_key,
                         index=0 if indicator_key in st.session_state else 3,
                         disabled=theme != "intensity", format_func=lambda i: indicator_name(i, lang))
paper = c4.selectbox(say("paper"), list(PAPERS_MM), key="export_paper")
orientation = c5.selectbox(say("orientation"), ORIENTATIONS, key=orientation_key,
                           index=0 if orientation_key in st.session_state else 1, format_func=say)
dpi = st.select_slider(say("dpi"), options=[150, 200, 300], value=200, key="export_dpi")
highlight: tuple = ()
if result is not None and not result.candidates.empty:
    if st.checkbox(say("highlight"), key="export_highlight"):
        in_park = result.candidates.loc[result.candidates.park_id == park_id]
        highlight = tuple(sorted({pid for ids in in_park.parcel_ids for pid in ids}))
chosen_indicator = indicator if theme == "intensity" else None
options = {"theme": theme, "indicator": chosen_indicator, "lang": lang, "highlight_ids": list(highlight),
           "dataset_info": common.dataset_info()}
stem = f"{park_id}_{theme}_{date.today().isoformat()}"

st.subheader(say("map"))
preview_col, buttons_col = st.columns([3, 1])
with preview_col:
    try:
        st.image(_preview(common.location(), common.revision(), park_id, theme, chosen_indicator, paper, orientation,
                          lang, highlight), caption=say("preview"), width="stretch")
    except ParkAtlasError as exc:
        common.show_error(exc)


def page_bytes(fmt: str):
    return lambda: render_park_map(common.park_parcels(park_id), park_row(park_id), parks=common.parks(),
                                   districts=common.districts(), fmt=fmt, paper=paper, orientation=orientation,
                                   dpi=dpi, **options)


def html_bytes():
    html = render_park_html(common.park_parcels(park_id), theme=theme, indicator=chosen_indicator, lang=lang,
                            highlight_ids=list(highlight), context=parks.loc[parks.park_id == park_id])
    return html.encode("utf-8")


map_key = choice_key((park_id, theme, chosen_indicator, paper, orientation, dpi, lang, highlight, common.revision()))
with buttons_col:
    st.download_button(say("pdf"), page_bytes("pdf"), file_name=f"{stem}.pdf", mime="application/pdf",
                       key=f"export_pdf_{map_key}", type="primary", width="stretch")
    st.download_button(say("png"), page_bytes("png"), file_name=f"{stem}.png", mime="image/png",
                       key=f"export_png_{map_key}", width="stretch")
    st.download_button(say("html"), html_bytes, file_name=f"{stem}.html", mime="text/html",
                       key=f"export_html_{map_key}", width="stretch")

st.subheader(say("atlas"))
# The atlas is made on request and kept with the choices it was made for: a download offered is
# always the atlas of the current theme, paper, language and data (never an earlier one).
atlas_choices = (theme, chosen_indicator, paper, orientation, lang, common.revision())
if st.button(say("atlas_make"), key="export_atlas_make"):
    bar = st.progress(0.0)
    buffer = io.BytesIO()
    render_atlas(common.parcels(), parks, common.districts(), buffer, theme=theme, indicator=chosen_indicator,
                 paper=paper, orientation=orientation, lang=lang, dataset_info=common.dataset_info(),
                 progress=lambda done, total, label: bar.progress(done / total, text=plain(f"{done}/{total} {label}")))
    st.session_state["export_atlas"] = buffer.getvalue()
    st.session_state["export_atlas_choices"] = atlas_choices
if st.session_state.get("export_atlas") and st.session_state.get("export_atlas_choices") == atlas_choices:
    st.download_button(say("atlas_get"), st.session_state["export_atlas"],
                       file_name=f"parkatlas_atlas_{lang}_{theme}_{date.today().isoformat()}.pdf",
                       mime="application/pdf", key=f"export_atlas_get_{choice_key(atlas_choices)}")
elif st.session_state.get("export_atlas"):
    st.caption(say("atlas_stale"))

st.subheader(say("sheets"))
available = available_parcels(common.park_parcels(park_id))
use_candidates = result is not None and not result.candidates.empty and st.checkbox(
    say("sheets_candidates"), key="export_sheets_candidates")
if not use_candidates:
    labels = dict(zip(available.parcel_id, available.area_mu))
    picked = st.multiselect(say("sheets_pick"), list(available.parcel_id[:300]),
                            key=common.lang_key("export_sheets_ids"),
                            format_func=lambda pid: f"{pid} · {i18n.format_area_mu(labels[pid], lang)}")
else:
    picked = []


def sheet_bytes():
    buffer = io.BytesIO()
    sites = sites_from_candidates(result.candidates) if use_candidates else None
    render_factsheets(common.parcels(), parks, common.districts(), buffer,
                      parcel_ids=None if use_candidates else picked, sites=sites, lang=lang,
                      dataset_info=common.dataset_info())
    return buffer.getvalue()


sheet_parks = result.candidates.park_id if use_candidates else [park_id]
st.download_button(say("sheets_get"), sheet_bytes, file_name=factsheet_file_name(sheet_parks, lang),
                   mime="application/pdf", disabled=not (picked or use_candidates),
                   key=f"export_sheets_get_{choice_key((park_id, tuple(picked), use_candidates, lang, common.revision()))}")

st.subheader(say("data"))
d1, d2 = st.columns(2)
whats = ["parcels", "available"] + (["candidates"] if result is not None and not result.candidates.empty else [])
what = d1.selectbox(say("what"), whats, key=common.lang_key("export_what"), format_func=say)
extension = d2.selectbox(say("format"), list(DATA_FORMATS), key="export_format")
fmt = DATA_FORMATS[extension]
# A workbook of parcels is headed with the planner's own column names where they were imported from a file.
own_headers = fmt == "xlsx" and what != "candidates" and st.checkbox(
    say("parkatlas_headers"), key=common.kept_key("export_parkatlas_headers", False), help=say("parkatlas_headers_help"))


def data_bytes():
    if what == "candidates":
        frame = candidates_export_frame(result.candidates, lang)
        tables = {"excluded": excluded_table(result.excluded)}
    else:
        source = common.park_parcels(park_id)
        frame = parcel_export_frame(available_parcels(source) if what == "available" else source)
        _, _, park_kpis = common.kpis()
        tables = {"park_kpis": park_kpis}
    names = None
    if fmt == "xlsx" and what != "candidates" and not own_headers:
        names = imported_field_names(common.store(), frame.park_id.unique())
    # A workbook is the planner's (headings, labels and rounding in the page's language); GIS files keep codes.
    return export_bytes(frame, fmt, layer=what, tables=tables, lang=lang if fmt == "xlsx" else None,
                        field_names=names, city=common.city(), parks=parks)


prefix = "match" if what == "candidates" else park_id
data_choices = (what, fmt, park_id, lang, own_headers, common.revision(), st.session_state.get("match_request") and repr(
    st.session_state["match_request"]))
st.download_button(say("data_get"), data_bytes, file_name=f"{prefix}_{what}_{lang}{extension}", mime=MEDIA_TYPES[fmt],
                   key=f"export_data_get_{choice_key(data_choices)}")
