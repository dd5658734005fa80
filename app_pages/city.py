"""All parcels (全市地块): every parcel of the city on one pannable map; a click shows the parcel's details."""
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from geo import i18n
from layers.tiles import clicked_parcel_id

lang = common.lang()
tr = common.tr
st.title(tr(f"city.heading.{common.city().kind}"))

basemap = common.map_options()["basemap"]
if basemap == "tianditu":
    st.caption(tr("city.basemap_note"))
    basemap = "none"
m, locator, n = common.city_view(basemap)
st.caption(tr("city.summary", n=i18n.format_number(n, lang, 0)))
state = st_folium(m, key="city_map", height=640, use_container_width=True, render=False,
                  returned_objects=["last_clicked"])

clicked = clicked_parcel_id(state, locator)
if clicked and st.session_state.get("city_last_click") != clicked:
    st.session_state["city_last_click"] = clicked
    st.session_state["city_parcel_id"] = clicked

st.subheader(tr("park.parcel"))
parcel_id = st.text_input(tr("city.parcel_id"), key="city_parcel_id", placeholder=tr("park.click_hint")).strip()
if parcel_id:
    parcels = common.parcels()
    match = parcels.loc[parcels.parcel_id == parcel_id]
    if match.empty:
        st.warning(tr("city.unknown"))  # the typed text is not echoed as markdown
    else:
        common.parcel_details(match.iloc[0])
