"""Parcel edits & history: a parcel's attributes, edits and status changes (planners), its audit
history, table editing of a park's parcels, and a park as it was on a date.

``?parcel=<id>`` opens a parcel. Every write goes through the store with the session's user,
so the store checks the role; the page only hides controls a viewer may not use. Edits carry
the version the form or table was opened with, so someone else's newer change is never
overwritten: the store refuses with a conflict and the page says to reload.
"""
from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from app_pages.safe import plain
from geo import display, i18n
from geo.auth import public_history
from geo.edits import changed_fields, editable_record, table_changes
from geo.errors import ConflictError, ParkAtlasError
from geo.schema import PARCEL_COLUMNS
from geo.standards import load_standards
from geo.store.base import EDITABLE_FIELDS, PARCEL_CHOICES, settable_statuses
from layers import webmap
from layers.style import theme_colors

#: Statuses a planner sets here; ``reserved`` has its own flow (Match page, ``cli.py reserve``).
SETTABLE_STATUSES = settable_statuses()
lang = common.lang()
tr = common.tr
land_uses = i18n.land_use_labels(lang)
# The city's chains by the city's names, as on the Chains page (the reference table's without a city list).
city_chains = {c.chain: c.name(lang) for c in common.city().chains}
#: Coded fields, picked by their labels: field → (its codes, the code as the pickers show it).
CODED_FIELDS = {
    "land_use_code": (list(land_uses), lambda code: f"{code} {land_uses[code]}" if code in land_uses else str(code)),
    "industry_code": (load_standards().industries.code_2017.tolist(),
                      lambda code: display.label(code, "industry", lang)),
    "chain": (list(city_chains) or load_standards().chains.chain.tolist(),
              lambda code: city_chains.get(code) or display.label(code, "chain", lang)),
}
current_user = common.user()
can_edit = current_user.can("planner")


# --- cached reads (store data only, keyed by store location and revision) --------------------
@st.cache_data(show_spinner=False, max_entries=64)
def _history(loc: str, rev: str, parcel_id: str) -> pd.DataFrame:
    return common._store(loc).history(parcel_id=parcel_id)


@st.cache_data(show_spinner=False, max_entries=32)
def _as_of(loc: str, rev: str, when: str, park_id: str):
    return common._store(loc).parcels_as_of(date.fromisoformat(when), park_id)


@st.cache_data(show_spinner=False, max_entries=32)
def _as_of_layer(loc: str, rev: str, when: str, park_id: str, language: str):
    # Every tab runs on every rerun: the past map's classes and GeoJSON are built once, not per click.
    past = _as_of(loc, rev, when, park_id)
    status = past.status.map(i18n.status_labels(language)).fillna(past.status)
    labels = past.parcel_id.astype(str).str.cat(status.astype(str), sep=" · ").tolist()
    return theme_colors(past, "status", lang=language), webmap.features_json(past, past.parcel_id, labels)


def history_table(log: pd.DataFrame, language: str) -> pd.DataFrame:
    """Audit rows in the planner's words: local time to the minute, roles, actions and fields by their
    labels, old and new values formatted as their field (labels, units, 是/否) — never a repr."""
    def label(prefix: str, code) -> str:
        return i18n.catalogue(language).get(f"{prefix}.{code}", as_text(code))

    return pd.DataFrame({
        tr("history.at"): [display.format_value(v, "datetime", language) for v in log["at"]],
        tr("history.user"): [as_text(v) for v in log["user"]],
        tr("history.role"): [label("role", v) for v in log["role"]],
        tr("history.action"): [label("history.action", v) for v in log["action"]],
        tr("history.field"): [label("history.field", f) if f == "*" else i18n.label_field(f, language)
                              for f in log["field"]],
        tr("history.old"): [history_value(f, v, language) for f, v in zip(log["field"], log["old"])],
        tr("history.new"): [history_value(f, v, language) for f, v in zip(log["field"], log["new"])],
        tr("history.project"): [as_text(v) for v in log["project"]],
    })


def history_value(field, value, language: str) -> str:
    """An audit value as its field's value; a whole record (``*``) as its parcel id."""
    if field == "*" and isinstance(value, dict):
        return as_text(value.get("parcel_id"))
    return display.format_field_value(str(field), value, language)


def as_text(value) -> str:
    """A stored value as plain text for a table cell ("–" when empty)."""
    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return "–"
    return str(value)


def write_edit(parcel_id: str, changes: dict, version) -> int:
    """One audited attribute edit with optimistic concurrency (the store checks the role)."""
    return common.store().update_attributes(parcel_id, changes, user=common.user(),
                                            expected_version=int(version))


def flash(message: str) -> None:
    """A success message shown after the rerun that follows a write (this session only)."""
    st.session_state["parcel_flash"] = message


# --- choose the park and parcel -------------------------------------------------------------
st.title(tr("page.parcel"))
if message := st.session_state.pop("parcel_flash", None):
    st.success(message)

parcels = common.parcels()
parks = common.parks()
park_ids = parks.park_id.tolist()
park_names = common.park_names()

requested = st.query_params.get("parcel")
park_key, parcel_key = common.lang_key("parcel_park"), "parcel_pick"
if requested and st.session_state.get("parcel_requested") != requested:
    # Looked up only when the URL names another parcel, not on every rerun (it scans the city).
    requested_park = parcels.loc[parcels.parcel_id == requested, "park_id"]
    if len(requested_park):
        st.session_state["parcel_requested"] = requested
        st.session_state[park_key] = requested_park.iloc[0]
        st.session_state[parcel_key] = requested
if st.session_state.get(park_key) not in park_ids:
    st.session_state[park_key] = park_ids[0]

choose = st.columns(2)
park_id = choose[0].selectbox(tr("parcel.park"), park_ids, key=park_key,
                              format_func=lambda pid: str(park_names[pid]))
park_parcels = common.park_parcels(park_id)  # cached per revision; shared, read-only
if park_parcels.empty:
    st.info(tr("parcel.no_parcels"))
    st.stop()
if st.session_state.get(parcel_key) not in set(park_parcels.parcel_id):
    st.session_state[parcel_key] = park_parcels.parcel_id.iloc[0]
parcel_id = choose[1].selectbox(tr("parcel.parcel"), park_parcels.parcel_id.tolist(), key=parcel_key)
st.query_params["parcel"] = parcel_id
st.session_state["parcel_requested"] = parcel_id
row = park_parcels.loc[park_parcels.parcel_id == parcel_id].iloc[0]
version = int(row.version)

if not can_edit:
    st.info(tr("parcel.read_only"))

tabs = st.tabs([tr("parcel.tab_parcel"), tr("parcel.tab_history"), tr("parcel.tab_table"), tr("parcel.tab_as_of")])

# --- the parcel: attributes, edit form, status --------------------------------------------------
with tabs[0]:
    st.caption(tr("parcel.version", version=version))
    common.parcel_details(row)
    if can_edit:
        # The form shows the parcel as it was when opened (``base``) and writes with that
        # version: a change someone made meanwhile is a conflict, not silently overwritten.
        base_key = f"parcel_base.{parcel_id}"
        base = st.session_state.get(base_key)
        if base is None:
            base = st.session_state[base_key] = {"version": version, "values": editable_record(row)}
        if base["version"] != version:
            st.warning(tr("parcel.conflict"))
        if st.button(tr("parcel.reload"), key="parcel_reload", disabled=base["version"] == version):
            st.session_state.pop(base_key, None)
            st.rerun()
        st.subheader(tr("parcel.edit"))
        values = {}
        with st.form(f"parcel_edit.{parcel_id}.{base['version']}"):
            cols = st.columns(3)
            for i, field in enumerate(EDITABLE_FIELDS):
                label, kind, shown = i18n.label_field(field, lang), PARCEL_COLUMNS[field], base["values"][field]
                key = f"pe.{parcel_id}.{base['version']}.{field}"
                slot = cols[i % 3]
                if kind == "float64":
                    values[field] = slot.number_input(label, value=shown, key=key, format="%.2f")
                elif kind == "Int64":
                    values[field] = slot.number_input(label, value=shown, step=1, key=key)
                elif kind == "boolean":
                    values[field] = slot.selectbox(label, [None, True, False], index=[None, True, False].index(shown),
                                                   key=key, format_func=lambda v: tr(f"parcel.bool.{v}"))
                elif field in PARCEL_CHOICES:
                    options = [None, *PARCEL_CHOICES[field]]
                    values[field] = slot.selectbox(label, options, index=options.index(shown) if shown in options else 0,
                                                   key=key, format_func=lambda v, f=field: tr("parcel.bool.None")
                                                   if v is None else tr(f"{f}.{v}"))
                elif field in CODED_FIELDS:
                    # Chosen by name from the reference table; a code the table lacks (from an import) stays
                    # choosable as it is, so that saving another field never changes it.
                    codes, option = CODED_FIELDS[field]
                    options = [None, *codes, *([shown] if shown and shown not in codes else [])]
                    values[field] = slot.selectbox(label, options, index=options.index(shown) if shown in options else 0,
                                                   key=key, format_func=lambda v, o=option: tr("parcel.bool.None")
                                                   if v is None else o(v))
                else:
                    values[field] = slot.text_input(label, value=shown or "", key=key)
            submitted = st.form_submit_button(tr("parcel.save"))
        if submitted:
            changes = changed_fields(base["values"], values)
            if not changes:
                st.info(tr("parcel.no_changes"))
            else:
                try:
                    new_version = write_edit(parcel_id, changes, base["version"])
                except ConflictError:
                    st.error(tr("parcel.conflict"))
                except ParkAtlasError as exc:
                    common.show_error(exc)
                else:
                    st.session_state.pop(base_key, None)
                    flash(tr("parcel.saved", n=len(changes), version=new_version))
                    st.rerun()

        st.subheader(tr("parcel.status_change"))
        status_cols = st.columns([2, 3, 1])
        new_status = status_cols[0].selectbox(tr("col.status"), SETTABLE_STATUSES, key=f"parcel_status.{parcel_id}",
                                              index=SETTABLE_STATUSES.index(row.status)
                                              if row.status in SETTABLE_STATUSES else 0,
                                              format_func=lambda code: i18n.label_status(code, lang))
        note = status_cols[1].text_input(tr("parcel.note"), key=f"parcel_note.{parcel_id}")
        if status_cols[2].button(tr("parcel.set_status"), key=f"parcel_set_status.{parcel_id}",
                                 disabled=new_status == row.status):
            try:
                common.store().set_status([parcel_id], new_status, user=common.user(), note=note or None)
            except ParkAtlasError as exc:
                common.show_error(exc)
            else:
                flash(tr("parcel.status_set", status=i18n.label_status(new_status, lang)))
                st.rerun()

# --- history ------------------------------------------------------------------------------------
with tabs[1]:
    log = public_history(_history(common.location(), common.revision(), parcel_id), common.user())
    if log.empty:
        st.info(tr("parcel.no_history"))
    else:
        st.dataframe(history_table(log.iloc[::-1], lang), hide_index=True, width="stretch")

# --- table editing of the park's parcels --------------------------------------------------------
with tabs[2]:
    if not can_edit:
        st.info(tr("parcel.read_only"))
    else:
        table_key = f"parcel_table_base.{park_id}"
        base_table = st.session_state.get(table_key)
        if base_table is None:
            base_table = park_parcels[["parcel_id", "version", *EDITABLE_FIELDS]].copy()
            base_table = st.session_state[table_key] = pd.DataFrame(base_table)
        token = int(base_table.version.sum())
        edited = common.table_editor(
            base_table, key=f"parcel_table.{park_id}.{token}", hide_index=True, num_rows="fixed", width="stretch",
            disabled=["parcel_id", "version"],
            column_config={c: i18n.label_field(c, lang) for c in EDITABLE_FIELDS}
            | {"parcel_id": tr("col.parcel_id"), "version": tr("parcel.version_col"),
               # Codes are picked by their labels (a typed code outside the lists is refused by the store).
               "delay_cause": st.column_config.SelectboxColumn(
                   i18n.label_field("delay_cause", lang), options=list(PARCEL_CHOICES["delay_cause"]),
                   format_func=lambda c: tr(f"delay_cause.{c}"))}
            | {field: st.column_config.SelectboxColumn(i18n.label_field(field, lang), options=codes,
                                                       format_func=option)
               for field, (codes, option) in CODED_FIELDS.items()})
        pending = table_changes(base_table, edited)
        st.caption(tr("parcel.table_pending", n=len(pending)))
        if st.button(tr("parcel.table_save"), key=f"parcel_table_save.{park_id}", disabled=not pending):
            versions = dict(zip(base_table.parcel_id, base_table.version))
            saved, problems = 0, []
            for pid, changes in pending.items():
                try:
                    write_edit(pid, changes, versions[pid])
                except ConflictError:
                    problems.append(tr("parcel.table_conflict", parcel=pid))
                except ParkAtlasError as exc:
                    problems.append(f"{pid}: {common.error_text(exc)}")
                else:
                    saved += 1
            st.session_state.pop(table_key, None)
            if problems:
                for problem in problems:
                    st.error(plain(problem))
                st.caption(tr("parcel.table_saved", n=saved))
            else:
                flash(tr("parcel.table_saved", n=saved))
                st.rerun()

# --- a park as it was on a date ------------------------------------------------------------------
with tabs[3]:
    when = st.date_input(tr("parcel.as_of"), value=date.today(), max_value=date.today(), key="parcel_as_of")
    past = _as_of(common.location(), common.revision(), when.isoformat(), park_id)
    table = display.format_frame(past[["parcel_id", "status", "enterprise", "data_as_of"]], lang)
    st.dataframe(table, hide_index=True, width="stretch")
    if len(past):
        classified, features = _as_of_layer(common.location(), common.revision(), when.isoformat(), park_id, lang)
        parts = webmap.park_map_parts(past, theme="status", lang=lang, classified=classified, features=features,
                                      context=common.district_features(), **common.map_options())
        st_folium(parts.base, key=f"parcel_as_of_map.{park_id}", feature_group_to_add=parts.overlay,
                  height=480, use_container_width=True, returned_objects=[])
