"""A one-page Streamlit app showing every parcel of a city with :func:`layers.tiles.city_parcels_map`.

Run it on any parcels file (``streamlit run bench/city_app.py``); the ``city_streamlit`` benchmark
times the app's own All-parcels page (``app_pages/city.py``), which does the same over the store.
It shows how a page uses the layer: the map is built once per dataset (cached), only clicks come back
(``returned_objects=["last_clicked"]``), and the clicked point becomes a parcel id on the server.
Data: the GeoParquet file in ``$PARKATLAS_CITY_PARQUET`` (parcels with the store's columns). Streamlit
serves ``static/`` next to the script, hence the ``bench/static`` link to the vendored Leaflet.
"""
import os

import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

from geo.metrics import with_metrics
from layers.tiles import ParcelLocator, city_parcels_map, clicked_parcel_id

st.set_page_config(page_title="ParkAtlas city layer", layout="wide")
PATH = os.environ["PARKATLAS_CITY_PARQUET"]


@st.cache_resource(show_spinner=False)
def city(path: str):
    parcels = with_metrics(gpd.read_parquet(path))
    m = city_parcels_map(parcels, theme="status", asset_url="/app/static")
    m.render()  # once: every rerun then reuses the rendered map (st_folium(render=False))
    return m, ParcelLocator(parcels)


m, locator = city(PATH)
state = st_folium(m, key="city", height=700, use_container_width=True, returned_objects=["last_clicked"],
                  render=False)
parcel_id = clicked_parcel_id(state, locator)
st.text(f"parcel: {parcel_id or '–'}")
