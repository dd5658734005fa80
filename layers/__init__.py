"""GeoDataFrames to map layers: folium for the screen (``webmap``, ``assets``, ``style``) and
matplotlib for print. Nothing here imports Streamlit."""
