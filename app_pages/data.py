"""Data: what the store holds, how current each park is, and the import of planners' files (admins)."""
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from geo import i18n
from geo.errors import ParkAtlasError
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
parcels = common.parcels()
newest = parcels.groupby("park_id").data_as_of.max()
oldest = parcels.groupby("park_id").data_as_of.min()
st.dataframe(pd.DataFrame({
    tr("col.park"): parks.name_zh if lang == "zh" else parks.name_en,
    tr("col.parcels"): parks.park_id.map(parcels.park_id.value_counts()).fillna(0).astype(int),
    tr("col.data_as_of"): parks.data_as_of,
    "min": parks.park_id.map(oldest),
    "max": parks.park_id.map(newest),
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

layer = st.radio(tr("data.layer"), ["parcels", "parks"], horizontal=True, key="import_layer",
                 format_func=lambda name: tr(f"layer.{name}"))
upload = st.file_uploader(tr("data.upload"), key="import_file")
if upload is None:
    st.session_state.pop("import_result", None)
    st.stop()

# The parsed upload belongs to this session only (never to a shared cache).
token = (upload.file_id, layer)
if st.session_state.get("import_token") != token:
    st.session_state["import_token"] = token
    st.session_state.pop("import_result", None)
    try:
        st.session_state["import_result"] = read_upload(upload.getvalue(), upload.name, layer=layer)
    except ParkAtlasError as exc:
        st.error(tr("data.rejected", error=str(exc)))
        st.stop()
result = st.session_state.get("import_result")
if result is None:
    st.stop()

st.markdown(f"**{tr('data.report')}**")
st.json(result.report, expanded=False)
problems = result.problems
st.markdown(f"**{tr('data.problems')}**")
if problems is None or len(problems) == 0:
    st.success(tr("data.no_problems"))
else:
    st.dataframe(pd.DataFrame(problems.drop(columns="geometry", errors="ignore")).astype(str),
                 hide_index=True, width="stretch")
    located = (problems if isinstance(problems, gpd.GeoDataFrame) else gpd.GeoDataFrame())
    if "geometry" in located and located.geometry.notna().any() and located.crs is not None:
        located = located.loc[located.geometry.notna() & ~located.geometry.is_empty].reset_index(drop=True)
        labels = located.drop(columns="geometry").astype(str).agg(" · ".join, axis=1)
        ids = located.get("feature_id", located.index.astype(str)).astype(str)
        parts = webmap.MapParts(webmap.base_map(located.to_crs(4326).total_bounds, **common.map_options()),
                                webmap.folium.FeatureGroup(name="problems"))
        webmap.FeatureLayer(webmap.features_json(located, ids, labels), palette=["#e15759"],
                            role="problems").add_to(parts.overlay)
        st_folium(parts.base, key="import_problems_map", feature_group_to_add=parts.overlay, height=420,
                  use_container_width=True, returned_objects=[])

if st.button(tr("data.commit"), type="primary", key="import_commit"):
    try:
        counts = commit_import(common.store(), result, common.user())
    except ParkAtlasError as exc:
        common.show_error(exc)
    else:
        st.session_state.pop("import_result", None)
        st.success(tr("data.committed", counts=", ".join(f"{k}: {v}" for k, v in dict(counts or {}).items())))
