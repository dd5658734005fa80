"""Park: every parcel of one park, themed by status, land use or an intensity indicator, with details on click."""
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from app_pages.safe import plain
from geo import i18n
from layers import webmap
from layers.style import CATEGORICAL_THEMES, SCHEMES, THEMES

lang = common.lang()
tr = common.tr
parks = common.parks()
park_ids = parks.park_id.tolist()
names = common.park_names()

requested = common.requested_park_id()
select_key = common.lang_key("park_select")
if requested:
    st.session_state[select_key] = requested
elif st.session_state.get(select_key) not in park_ids:
    remembered = st.session_state.get("park_current")
    st.session_state[select_key] = remembered if remembered in park_ids else park_ids[0]

# Layout first, map next, controls last: the map component's delta reaches the browser before the
# secondary elements, so its iframe loads while they render. Widget values are in session state
# before the script runs, so the map can be drawn from them before the widgets are placed. The
# title and the summary are written in place at once (each delta makes the browser render the
# page again: a placeholder filled later cost two).
theme_key, scheme_key = common.lang_key("park_theme"), common.lang_key("park_scheme")
park_id = st.session_state[select_key]
theme = st.session_state.get(theme_key) or THEMES[0]
scheme = st.session_state.get(scheme_key) or SCHEMES[0]
k = int(common.kept("park_k", 5))

parcels = common.park_parcels(park_id)
park = parks.set_index("park_id").loc[park_id]
st.title(plain(names[park_id]))
controls = st.columns([3, 3, 2, 1])
st.caption(tr("park.summary", n=i18n.format_number(len(parcels), lang, 0),
              area=i18n.format_number(parcels.area_mu.sum(), lang, 1), as_of=plain(park.data_as_of)))
classified = common.classified(park_id, theme, scheme, k)
# A click reaches the script as the map's value before the map is drawn again: the parcel it
# chose is outlined in this very run, and its details stand next to the map, not below it.
map_key, picked_key = f"park_map_{park_id}", f"park_pick_{park_id}"
clicked = webmap.clicked_id(st.session_state.get(map_key), parcels.parcel_id)
if clicked and st.session_state.get(f"park_last_click_{park_id}") != clicked:
    st.session_state[f"park_last_click_{park_id}"] = clicked
    st.session_state[picked_key] = clicked
picked = st.session_state.get(picked_key)
this_park = parks.loc[parks.park_id == park_id]
# The legend is drawn on the map (it travels with the themed overlay): as escaped HTML on the
# page it loaded Streamlit's HTML-Markdown scripts first and delayed the map by ~0.08 s.
features_ref, features_carrier, district_ref = common.park_features_carrier(park_id)
parts = webmap.park_map_parts(parcels, theme=theme, lang=lang, features_ref=features_ref,
                              classified=classified, context=[district_ref, this_park],
                              labels={"district": common.district_labels(),
                                      "park": webmap.name_labels(this_park, lang)},
                              selected_ids=[picked] if picked else None, home=common.city().home_bounds,
                              **common.map_options())
map_column, detail_column = st.columns([3, 2])
with map_column:
    st.html(features_carrier)  # the parcels, sent once: a theme change sends only their classes
    st_folium(parts.base, key=map_key, feature_group_to_add=parts.overlay,
              height=600, use_container_width=True, returned_objects=["last_active_drawing"])

controls[0].selectbox(tr("park.choose"), park_ids, key=select_key, format_func=lambda pid: str(names[pid]))
st.session_state["park_current"] = park_id
st.query_params["park"] = park_id
numeric = theme not in CATEGORICAL_THEMES
controls[1].selectbox(tr("park.theme"), THEMES, key=theme_key, format_func=lambda th: i18n.label_theme(th, lang))
controls[2].selectbox(tr("park.scheme"), SCHEMES, key=scheme_key, disabled=not numeric,
                      format_func=lambda s: i18n.t(f"scheme.{s}", lang))
controls[3].number_input(tr("park.classes"), min_value=3, max_value=7, key=common.kept_key("park_k", 5),
                         disabled=not numeric)

with detail_column:
    st.subheader(tr("park.parcel"))
    if not picked:
        st.caption(tr("park.click_hint"))
    # Search by id behind a switch: a select box over every parcel of the park, even in a collapsed
    # expander, built its list of 2,600 options in the browser on every page load (issue 20: the
    # page's main thread ~0.1 s busier, the map painted ~0.4 s later on the busy 2-core machine).
    parcel_id = picked
    if st.toggle(tr("park.pick"), key=common.kept_key("park_pick_open", False)):
        parcel_id = st.selectbox(tr("col.parcel_id"), parcels.parcel_id.tolist(), index=None, key=picked_key,
                                 placeholder=tr("park.click_hint"))
    if parcel_id:
        st.markdown(f"**{plain(parcel_id)}**")
        common.parcel_details(parcels.loc[parcels.parcel_id == parcel_id].iloc[0], per_row=2)
