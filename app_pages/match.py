"""Project matching: the project form, ranked candidates on the map and in tables, comparison,
what-if, and reserve/release through the store (planners only)."""
import hashlib
from datetime import date

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from app_pages.safe import plain
from geo import display
from geo.auth import ANONYMOUS
from geo.errors import ParcelTaken, ParkAtlasError
from geo.matching import (criteria_frame, criterion_label, criterion_value, load_weights, what_if,
                          what_if_frame)
from geo.standards import load_standards
from geo.store.base import reserved_for
from layers import webmap

lang = common.lang()
pick = 0 if lang == "zh" else 1
say = common.page_labels("match")

standards = load_standards()
parks = common.parks()
parcels = common.parcels()
park_names = common.park_names()
industries = standards.industries.set_index("code_2017")
chains = standards.chains.set_index("chain")
weights_table = load_weights()
current_user = common.user()
st.title(say("heading"))


def kept(name: str, default=None, per_language: bool = False) -> str:
    return common.kept_key(name, default, per_language=per_language)


# Every field is a kept widget (common.kept_key): the form shows the project whose results are below,
# after leaving the page and after a language switch; it changes only when the planner submits.
with st.form("match_form"):
    st.subheader(say("project"))
    c1, c2, c3 = st.columns(3)
    name = c1.text_input(say("name"), key=kept("m_name", "新项目"), max_chars=120)
    investor = c2.text_input(say("investor"), key=kept("m_investor", ""), max_chars=120)
    industry = c3.selectbox(say("industry"), list(industries.index), key=kept("m_industry", "39", True),
                            format_func=lambda c: display.format_value(c, "industry", lang))
    chain = c1.selectbox(say("chain"), [""] + list(chains.index), key=kept("m_chain", "", True),
                         format_func=lambda c: "—" if not c else display.format_value(c, "chain", lang))
    land_min = c2.number_input(say("land_min"), min_value=1.0, step=10.0, key=kept("m_land_min", 80.0))
    land_max = c3.number_input(say("land_max"), min_value=1.0, step=10.0, key=kept("m_land_max", 120.0))
    investment = c1.number_input(say("investment"), min_value=0.0, step=1000.0, key=kept("m_investment", 30000.0))
    output = c2.number_input(say("output"), min_value=0.0, step=1000.0, key=kept("m_output", 50000.0))
    tax = c3.number_input(say("tax"), min_value=0.0, step=100.0, key=kept("m_tax", 1500.0))
    jobs = c1.number_input(say("jobs"), min_value=0, step=10, key=kept("m_jobs", 300))
    plot_ratio = c2.number_input(say("plot_ratio"), min_value=0.1, step=0.1, key=kept("m_plot_ratio", 1.2))
    coefficient = c3.number_input(say("building_coefficient"), min_value=0.0, max_value=1.0, step=0.05,
                                  key=kept("m_coefficient", 0.45))
    admin = c1.number_input(say("admin_share"), min_value=0.0, max_value=1.0, step=0.01, key=kept("m_admin", 0.0))
    green = c2.number_input(say("green_ratio"), min_value=0.0, max_value=1.0, step=0.01, key=kept("m_green", 0.0))
    nuisance = c2.selectbox(say("nuisance"), [0, 1, 2, 3], key=kept("m_nuisance", 0),
                            format_func=lambda k: "—" if k == 0 else f"M{k}")
    st.caption(say("needs"))
    n1, n2, n3 = st.columns(3)
    power = n1.number_input(say("power"), min_value=0.0, step=500.0, key=kept("m_power", 0.0))
    water = n2.number_input(say("water"), min_value=0.0, step=50.0, key=kept("m_water", 0.0))
    gas = n3.checkbox(say("gas"), key=kept("m_gas", False))
    highway = n1.number_input(say("highway"), min_value=0.0, step=1.0, key=kept("m_highway", 0.0))
    port = n2.number_input(say("port"), min_value=0.0, step=5.0, key=kept("m_port", 0.0))
    rail = n3.number_input(say("rail"), min_value=0.0, step=5.0, key=kept("m_rail", 0.0))
    p1, p2, p3 = st.columns(3)
    preferred = p1.multiselect(say("preferred"), list(parks.park_id), key=kept("m_preferred", [], True),
                               format_func=lambda pid: str(park_names[pid]))
    city = common.city()
    groups = p2.multiselect(say("groups"), list(city.group_ids), key=kept("m_groups", [], True),
                            format_func=lambda g, city=city: city.group_name(g, lang))
    use_latest = p3.checkbox(say("use_latest"), key=kept("m_use_latest", False))
    latest = p3.date_input(say("latest_start"), key=kept("m_latest", date.today()))

    st.subheader(say("options"))
    o1, o2, o3 = st.columns(3)
    top = o1.number_input(say("top"), min_value=1, max_value=50, key=kept("m_top", 10))
    scope = o2.selectbox(say("scope"), [""] + list(parks.park_id), key=kept("m_scope", "", True),
                         format_func=lambda pid: say("all_parks") if not pid else str(park_names[pid]))
    blocks = o3.checkbox(say("blocks"), key=kept("m_blocks", True))
    disposal = o3.checkbox(say("disposal"), key=kept("m_disposal", False))
    editions = load_standards().loaded_editions()
    edition = o2.selectbox(say("edition"), editions, key=kept("m_edition", editions[-1]))
    with st.expander(say("weights")):
        weights = {row.criterion: st.slider(row.label_zh if lang == "zh" else row.label_en, 0, 100,
                                            key=kept(f"m_w_{row.criterion}", int(row.weight)))
                   for row in weights_table.itertuples()}
    submitted = st.form_submit_button(say("submit"), type="primary")

if submitted:
    needs = {"power_kva": power or None, "water_t_per_day": water or None, "gas": True if gas else None,
             "highway_km": highway or None, "port_km": port or None, "rail_km": rail or None}
    st.session_state["match_request"] = {
        "project": {"name": name, "investor": investor, "industry_code": industry, "chain": chain or None,
                    "land_mu_min": land_min, "land_mu_max": land_max, "investment_wan": investment,
                    "output_wan": output, "tax_wan": tax, "jobs": int(jobs), "plot_ratio": plot_ratio,
                    "building_coefficient": coefficient, "admin_share": admin or None, "green_ratio": green or None,
                    "nuisance_class": nuisance or None, "needs": needs, "preferred_parks": preferred,
                    "groups": groups, "latest_start": latest.isoformat() if use_latest else None},
        "top": int(top), "park_id": scope or None, "with_blocks": blocks, "include_disposal": disposal,
        "weights": weights, "edition": edition,
    }


def reserve(parcel_ids: tuple[str, ...], project_name: str) -> None:
    """The Reserve button's click: exactly the parcels the button showed (their ids travel with the click)."""
    try:
        common.store().reserve(list(parcel_ids), project=project_name, user=common.user())
    except ParcelTaken as exc:
        key = "taken_by" if exc.project else "taken_status"
        st.session_state["match_notice"] = ("error", say(key, parcel=exc.parcel_id, project=exc.project or "",
                                                         status=display.format_value(exc.status, "status", lang)))
    except ParkAtlasError as exc:
        st.session_state["match_notice"] = ("error", common.error_text(exc))
    else:
        st.session_state["match_notice"] = ("success", say("reserved_ids", ids=display.format_value(
            list(parcel_ids), "list", lang), project=project_name))


def create_project(parcel_ids: tuple[str, ...], area_mu: float) -> None:
    """Enter the matched project in the register, signed today, on the parcels the button showed."""
    keys = {**st.session_state["match_request"]["project"], "parcel_ids": list(parcel_ids),
            "land_mu": round(area_mu, 2), "signed_on": date.today().isoformat()}
    try:
        added = common.store().add_project(keys, user=common.user())
    except ParkAtlasError as exc:
        st.session_state["match_notice"] = ("error", common.error_text(exc))
    else:
        st.session_state["match_notice"] = ("success", say("project_created", project=added["project_id"]))
        st.session_state[common.KEPT_PREFIX + "pj_selected"] = added["project_id"]  # the Projects page opens on it


def release(parcel_ids: list[str]) -> None:
    try:
        common.store().release(list(parcel_ids), user=common.user())
    except ParkAtlasError as exc:
        st.session_state["match_notice"] = ("error", common.error_text(exc))
    else:
        st.session_state["match_notice"] = ("success", say("released_ids", ids=display.format_value(
            list(parcel_ids), "list", lang)))


notice = st.session_state.pop("match_notice", None)
if notice:  # st.error/st.success of plain text: ids and project names never become markup
    (st.error if notice[0] == "error" else st.success)(plain(notice[1]))

try:
    result = common.match_result()
except ParkAtlasError as exc:
    common.show_error(exc)
    st.stop()
if result is None:
    st.info(say("no_project"))
    st.stop()
project = result.project
st.subheader(plain(say("results_for", name=project.name)))
st.caption(say("national_source", source=(result.source_en if lang == "en" else None) or result.source))

with st.expander(say("excluded"), expanded=result.candidates.empty):
    st.dataframe(pd.DataFrame({say("reason"): [result.reasons[k][pick] for k in result.excluded],
                               say("count"): [display.format_value(v, "integer", lang)
                                              for v in result.excluded.values()]}),
                 hide_index=True, width="stretch")

cands = result.candidates
if cands.empty:
    st.warning(say("none"))
    st.stop()

st.subheader(say("candidates"))
labels = {int(r.rank): f"#{r.rank} · {park_names.get(r.park_id, r.park_id)} · "
                      f"{display.format_value(r.area_mu, 'area_mu', lang)} · {display.format_value(r.score, 'score', lang)}"
          for r in cands.itertuples()}
# Choice widgets per ranking: the browser sends chosen options back by their labels, and after a
# reservation (or another project) the labels of the old ranking match no option any more.
ranking = hashlib.sha1("|".join(map(";".join, cands.parcel_ids)).encode()).hexdigest()[:12]
picked_rows = st.dataframe(display.format_frame(pd.DataFrame({
    "rank": cands["rank"], "kind": cands.kind.map(lambda k: say(k)), "park": cands.park_id.map(park_names),
    "parcel_ids": cands.parcel_ids, "area_mu": cands.area_mu, "score": cands.score,
    "needs_disposal": cands.needs_disposal,
}), lang, kinds={"kind": "text", "park": "text"}, headers={
    "rank": say("rank"), "kind": say("kind"), "park": common.tr("col.park"), "parcel_ids": common.tr("col.parcel_id"),
    "score": say("score"), "needs_disposal": say("disposal_flag")}),
    hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key=f"m_table_{ranking}")
detail_key = common.lang_key(f"m_detail_{ranking}")
rows = picked_rows.selection.rows if picked_rows else []
if rows and st.session_state.get(f"m_table_seen_{ranking}") != rows[0]:
    # A row clicked in the table: show that candidate below and on the map.
    st.session_state[f"m_table_seen_{ranking}"] = rows[0]
    st.session_state[detail_key] = int(cands["rank"].iloc[rows[0]])
map_slot = st.container()

st.subheader(say("detail"))
chosen_rank = st.selectbox(say("rank"), list(labels), format_func=labels.get, key=detail_key)
chosen = cands.loc[cands["rank"] == chosen_rank].iloc[0]

with map_slot:
    candidate_ids = [pid for ids in cands.parcel_ids for pid in ids]
    focus = cands.loc[cands["rank"] == chosen_rank] if rows else cands
    _, parts = common.scope_map(tuple(dict.fromkeys(cands.park_id)), highlight_ids=candidate_ids,
                                bounds=webmap.focus_bounds(focus))
    webmap.candidate_marks(cands, parts.overlay, lang=lang, chosen=chosen_rank)
    st_folium(parts.base, key="match_map", feature_group_to_add=parts.overlay, height=480,
              use_container_width=True, returned_objects=[])

st.dataframe(criteria_frame(chosen.criteria, lang), hide_index=True, width="stretch")

compare_key = common.lang_key(f"m_compare_{ranking}", list(labels)[:min(2, len(labels))])
compare = st.multiselect(say("compare"), list(labels), max_selections=4, format_func=labels.get, key=compare_key)
if len(compare) >= 2:
    rows_compared = cands.set_index("rank").loc[compare]
    names = [c["name"] for c in rows_compared.criteria.iloc[0]]
    table = {say("criterion"): [say("score")] + [criterion_label(n, lang) for n in names]}
    for rank, row in rows_compared.iterrows():
        by_name = {c["name"]: c for c in row.criteria}

        def cell(n):
            c = by_name.get(n)
            if c is None:
                return "–"
            value = criterion_value(n, c["value"], lang)
            return f"{value}（+{display.format_value(c['contribution'], 'score', lang)}）" if c["kind"] == "soft" else value

        table[f"#{rank}"] = [display.format_value(row.score, "score", lang)] + [cell(n) for n in names]
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")

st.subheader(say("what_if"))
st.dataframe(what_if_frame(what_if(parcels, parks, chosen, project, standards), lang), hide_index=True, width="stretch")

if current_user is ANONYMOUS or not current_user.can("planner"):
    st.caption(say("read_only"))
else:
    shown_ids = tuple(chosen.parcel_ids)
    st.button(plain(say("reserve_ids", ids=display.format_value(list(shown_ids), "list", lang))),
              key=f"m_reserve_{ranking}", type="primary", on_click=reserve, args=(shown_ids, project.name))
    st.button(say("create_project", ids=display.format_value(list(shown_ids), "list", lang)),
              key=f"m_create_{ranking}", on_click=create_project, args=(shown_ids, float(chosen.area_mu)))
    mine = reserved_for(parcels, project.name)
    if mine:
        to_release = st.multiselect(say("reserved_for"), mine, key="m_release_ids")
        st.button(say("release"), key="m_release", disabled=not to_release, on_click=release, args=(list(to_release),))
