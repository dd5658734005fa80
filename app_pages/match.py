"""Placeholder: the Match page is owned by the MATCH engineer, who replaces this file."""
import streamlit as st

from app_pages import common

st.title(common.tr("page.match"))
st.info(common.tr("placeholder.match"))
