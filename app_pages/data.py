"""Data: what the store holds, how current each park is, and the import of planners' files (admins)."""
import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from app_pages.safe import plain
from geo import i18n
from geo.errors import ParkAtlasError
from geo.metrics import data_as_of_by_park
from layers import webmap

lang = common.lang()
tr = common.tr
st.title(tr("data.heading"))

st.subheader(tr("data.summary"))
info = common.dataset_info()
st.dataframe(pd.DataFrame({tr("col.field"): list(info), tr("col.value"): [str(v) for v in info.values()]}),
             hide_index=True, width="stretch")

st.subheader(tr("data.as_of"))
parks = common.parks()
as_of = data_as_of_by_park(common.parcels(), parks)
st.dataframe(pd.DataFrame({
    tr("col.park"): as_of.name_zh if lang == "zh" else as_of.name_en,
    tr("col.parcels"): as_of.parcel_count,
    tr("col.data_as_of"): as_of.data_as_of,
    tr("col.oldest"): as_of.oldest,
    tr("col.newest"): as_of.newest,
}), hide_index=True, width="stretch")

st.subheader(tr("data.import"))
if not common.user().can("admin"):
    st.info(tr("data.import_admin_only"))
    st.stop()
try:
    from geo.io import commit_import, read_upload
except ImportError:
    st.info(tr("data.import_unavailable"))
    st.stop()

layer = st.radio(tr("data.layer"), ["parcels", "parks"], horizontal=True, key=common.lang_key("import_layer"),
                 format_func=lambda name: i18n.t(f"layer.{name}", lang))
options = st.columns(3)
declared_crs = options[0].text_input(tr("data.crs"), key="import_crs", placeholder="EPSG:4490").strip() or None
datum = options[1].selectbox(tr("data.datum"), [None, "gcj02", "bd09"], key=common.lang_key("import_datum"),
                             format_func=lambda d: i18n.t(f"data.datum_{d or 'none'}", lang))
allow_outside = options[2].checkbox(tr("data.allow_outside"), key="import_outside")
upload = st.file_uploader(tr("data.upload"), key="import_file")
if upload is None:
    st.session_state.pop("import_result", None)
    st.session_state.pop("import_token", None)
    st.stop()

# The parsed upload belongs to this session only (never to a shared cache).
token = (upload.file_id, layer, declared_crs, datum, allow_outside)
if st.session_state.get("import_token") != token:
    st.session_state["import_token"] = token
    st.session_state.pop("import_result", None)
    try:
        with st.spinner(tr("data.checking")):
            st.session_state["import_result"] = read_upload(
                upload.getvalue(), upload.name, layer=layer, crs=declared_crs, source_datum=datum,
                allow_outside_region=allow_outside, parks=parks)
    except ParkAtlasError as exc:
        st.error(tr("data.rejected", error=plain(exc)))
        st.stop()
result = st.session_state.get("import_result")
if result is None:
    st.stop()

report = result.report
st.markdown(f"**{tr('data.report')}**")
counts = st.columns(4)
counts[0].metric(tr("data.read"), i18n.format_number(report.get("features_read"), lang, 0))
counts[1].metric(tr("data.accepted"), i18n.format_number(report.get("features_accepted"), lang, 0))
counts[2].metric(tr("data.rejected_count"), i18n.format_number(report.get("features_rejected"), lang, 0))
counts[3].metric(tr("data.problem_count"), i18n.format_number(len(result.problems), lang, 0))
facts = {key: report.get(key) for key in ("file", "format", "crs", "datum", "encoding", "layer")}
st.dataframe(pd.DataFrame({tr("col.field"): list(facts), tr("col.value"): [str(v) for v in facts.values()]}),
             hide_index=True, width="stretch")
for reason in result.blocking:
    st.error(plain(reason))  # quotes ids from the file

problems = result.problems
st.markdown(f"**{tr('data.problems')}**")
if problems is None or len(problems) == 0:
    st.success(tr("data.no_problems"))
else:
    st.dataframe(pd.DataFrame(problems.drop(columns="geometry", errors="ignore")).astype(str),
                 hide_index=True, width="stretch")
    located = problems.loc[problems.geometry.notna() & ~problems.geometry.is_empty].reset_index(drop=True)
    if len(located):
        # fillna after astype(str): it keeps missing values as NaN (pandas 3), which join cannot take
        ids = located["parcel_id"].astype(str).fillna("") if "parcel_id" in located else located.index.astype(str)
        labels = located.drop(columns="geometry").astype(str).fillna("").agg(" · ".join, axis=1)
        parts = webmap.MapParts(webmap.base_map(webmap.lonlat_bounds(located), **common.map_options()),
                                folium.FeatureGroup(name="problems"))
        webmap.FeatureLayer(webmap.features_json(located, ids, labels), palette=["#e15759"],
                            role="problems").add_to(parts.overlay)
        st_folium(parts.base, key="import_problems_map", feature_group_to_add=parts.overlay, height=420,
                  use_container_width=True, returned_objects=[])

if st.button(tr("data.commit"), type="primary", key="import_commit", disabled=not result.accepted):
    try:
        written = commit_import(common.store(), result, common.user())
    except ParkAtlasError as exc:
        common.show_error(exc)
    else:
        st.session_state.pop("import_result", None)
        st.success(tr("data.committed", counts=plain(", ".join(f"{k}: {v}" for k, v in dict(written or {}).items()))))
