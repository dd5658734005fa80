"""The floor of any Streamlit page: one line of text. ``streamlit_park`` measures it as its baseline."""
import streamlit as st

st.write("ParkAtlas bench: empty page")
