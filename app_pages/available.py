"""Available land: filter parcels that can take a project; matches highlighted, listed, and grouped into blocks."""
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from app_pages.safe import plain
from geo import display, i18n
from geo.availability import LAND_USE_GROUPS, available_parcels
from geo.blocks import DEFAULT_GAP_M
from geo.errors import ParkAtlasError
from geo.standards import load_standards
from layers import webmap

lang = common.lang()
tr = common.tr
standards = load_standards()
parks = common.parks()
parcels = common.parcels()
names = common.park_names()
st.title(tr("available.heading"))

with st.sidebar:
    city = common.city()
    groups = st.multiselect(tr("available.groups"), list(city.group_ids), key=common.lang_key("avail_groups"),
                            placeholder=tr("available.any"),
                            format_func=lambda g, city=city: city.group_name(g, lang))
    in_groups = parks.loc[parks.group.isin(groups) if groups else slice(None), "park_id"].tolist()
    chosen_parks = st.multiselect(tr("available.parks"), in_groups, key=common.lang_key("avail_parks"),
                                  placeholder=tr("available.any"),
                                  format_func=lambda pid: str(names[pid]))
    status_names = i18n.status_labels(lang, standards)
    countable = standards.countable_statuses
    statuses_key = common.lang_key("avail_statuses")
    # The default applies to a fresh widget only (Streamlit warns when both are given).
    statuses = st.multiselect(tr("available.statuses"), countable, key=statuses_key,
                              default=None if statuses_key in st.session_state else standards.available_statuses,
                              format_func=lambda s: status_names.get(s, s))
    area_columns = st.columns(2)
    min_area = area_columns[0].number_input(tr("available.min_area"), min_value=0.0, step=5.0, format="%.1f",
                                            key=common.kept_key("avail_min_area", 0.0))
    max_area = area_columns[1].number_input(tr("available.max_area"), min_value=0.0, step=5.0, format="%.1f",
                                            key=common.kept_key("avail_max_area", 0.0),
                                            help=tr("available.max_area_help"))
    land_uses = {**{g: tr(f"available.land_use_group.{g}") for g in LAND_USE_GROUPS},
                 **{c: f"{c} {n}" for c, n in i18n.land_use_labels(lang, standards).items()}}
    codes = st.multiselect(tr("available.land_use"), list(land_uses), key=common.lang_key("avail_land_use"),
                           placeholder=tr("available.any"), format_func=lambda c: land_uses[c])
    ready = st.checkbox(tr("available.ready"), key=common.kept_key("avail_ready", False))
    gas = st.checkbox(tr("available.gas"), key=common.kept_key("avail_gas", False))
    min_power = st.number_input(tr("available.min_power"), min_value=0.0, step=100.0,
                                key=common.kept_key("avail_power", 0.0))
    max_highway = st.number_input(tr("available.max_highway"), min_value=0.0, step=1.0,
                                  key=common.kept_key("avail_highway", 0.0), help="0 = —")

scope = tuple(chosen_parks or in_groups)
try:
    matches = available_parcels(
        parcels, statuses=statuses, park_ids=scope, min_area_mu=min_area or None,
        max_area_mu=max_area or None,
        land_use_codes=codes or None, ready_only=ready, gas=True if gas else None,
        min_power_kva=min_power or None, max_highway_km=max_highway or None, standards=standards)
except ParkAtlasError as exc:
    common.show_error(exc)
    st.stop()

st.caption(tr("available.result", n=i18n.format_number(len(matches), lang, 0),
              area=i18n.format_number(matches.area_mu.sum(), lang, 1)))

# A click is the map's value before the map is drawn again: the parcel is outlined in this run
# and its details stand beside the map (below the table they were off-screen).
in_scope = common.scope_parcels(scope)
clicked = webmap.clicked_id(st.session_state.get("available_map"), in_scope.parcel_id)
if clicked:
    st.session_state["avail_clicked"] = clicked
picked = st.session_state.get("avail_clicked")
picked = picked if picked in set(in_scope.parcel_id) else None
in_scope, parts = common.scope_map(scope, highlight_ids=matches.parcel_id, selected_ids=[picked] if picked else None)
map_column, detail_column = st.columns([3, 2])
with map_column:
    st_folium(parts.base, key="available_map", feature_group_to_add=parts.overlay, height=520,
              use_container_width=True, returned_objects=["last_active_drawing"])
with detail_column:
    st.subheader(tr("park.parcel"))
    if picked:
        st.markdown(f"**{plain(picked)}**")
        common.parcel_details(in_scope.loc[in_scope.parcel_id == picked].iloc[0], per_row=2)
    else:
        st.caption(tr("park.click_hint"))

table = display.format_frame(matches[["parcel_id", "park_id", "status", "land_use_code", "area_mu", "land_ready",
                                     "power_kva", "highway_km"]].assign(park_id=matches.park_id.map(names)),
                             lang, kinds={"park_id": "text"},
                             headers={"park_id": tr("col.park"), "land_use_code": tr("col.land_use"),
                                      "land_ready": tr("available.ready"), "power_kva": tr("col.power_kva"),
                                      "highway_km": tr("col.highway_km")})
st.dataframe(table, hide_index=True, width="stretch", height=320)

st.subheader(tr("available.blocks"))
gap = st.number_input(tr("available.blocks_gap"), min_value=0.0, max_value=200.0,
                      step=5.0, key=common.kept_key("avail_gap", float(DEFAULT_GAP_M)))
if matches.empty:
    st.info(tr("available.no_match"))
else:
    blocks = common.blocks(matches.parcel_id, gap)
    st.dataframe(display.format_frame(pd.DataFrame({
        "block_id": blocks.block_id, "park": blocks.park_id.map(names), "parcel_count": blocks.parcel_count,
        "area_mu": blocks.area_mu, "parcel_ids": blocks.parcel_ids.map(list),
    }), lang, kinds={"park": "text"}, headers={"block_id": tr("col.block"), "park": tr("col.park"),
                                               "parcel_count": tr("col.parcels"), "parcel_ids": tr("col.block_parcels")}),
        hide_index=True, width="stretch")
