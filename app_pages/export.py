"""Placeholder: the Export page is owned by the EXPORT engineer, who replaces this file."""
import streamlit as st

from app_pages import common

st.title(common.tr("page.export"))
st.info(common.tr("placeholder.export"))
