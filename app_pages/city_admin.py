"""Sidebar panel for admins: register another city's store in this deployment (``geo.city.register_store``).

The registered stores appear in the sidebar's city choice; each keeps its own users file. The
registry is the deployment's (``PARKATLAS_STORES`` or ``var/stores.json``), shared by every session.
"""
from __future__ import annotations

import streamlit as st

from app_pages import common
from app_pages.safe import plain
from geo.city import register_store
from geo.errors import ParkAtlasError


def register_panel() -> None:
    """A form: name, store location, users file; one line of error for a refused store."""
    tr = common.tr
    with st.expander(tr("city_admin.register")), st.form("city_register", clear_on_submit=False):
        name = st.text_input(tr("city_admin.name"), key="city_register_name")
        location = st.text_input(tr("city_admin.location"), key="city_register_location",
                                 placeholder="var/pengjiang.gpkg")
        users = st.text_input(tr("city_admin.users"), key="city_register_users",
                              placeholder="var/users-pengjiang.json")
        if st.form_submit_button(tr("city_admin.submit")):
            try:
                entry = register_store(name, location.strip(), users=users.strip() or None)
            except ParkAtlasError as exc:
                common.show_error(exc)
            else:
                st.success(tr("city_admin.done", name=plain(entry.name)))
