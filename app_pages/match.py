"""Project matching: the project form, ranked candidates on the map and in tables, comparison,
what-if, and reserve/release through the store (planners only)."""
import hashlib
from datetime import date

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from app_pages.safe import plain
from geo import i18n
from geo.auth import ANONYMOUS
from geo.errors import ParkAtlasError
from geo.matching import EXCLUSION_REASONS, load_weights, what_if
from geo.schema import GROUPS
from geo.standards import load_standards
from geo.store.base import reserved_for

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

with st.form("match_form"):
    st.subheader(say("project"))
    c1, c2, c3 = st.columns(3)
    name = c1.text_input(say("name"), value="新项目", key="m_name", max_chars=120)
    investor = c2.text_input(say("investor"), key="m_investor", max_chars=120)
    industry_key = common.lang_key("m_industry")
    # A default applies to a fresh widget only (Streamlit warns when state and default are both given).
    industry = c3.selectbox(say("industry"), list(industries.index), key=industry_key,
                            index=0 if industry_key in st.session_state else list(industries.index).index("39"),
                            format_func=lambda c: f"{c} {industries.at[c, 'name_zh' if lang == 'zh' else 'name_en']}")
    chain = c1.selectbox(say("chain"), [""] + list(chains.index), key=common.lang_key("m_chain"),
                         format_func=lambda c: "—" if not c else str(chains.at[c, "name_zh" if lang == "zh" else "name_en"]))
    land_min = c2.number_input(say("land_min"), min_value=1.0, value=80.0, step=10.0, key="m_land_min")
    land_max = c3.number_input(say("land_max"), min_value=1.0, value=120.0, step=10.0, key="m_land_max")
    investment = c1.number_input(say("investment"), min_value=0.0, value=30000.0, step=1000.0, key="m_investment")
    output = c2.number_input(say("output"), min_value=0.0, value=50000.0, step=1000.0, key="m_output")
    tax = c3.number_input(say("tax"), min_value=0.0, value=1500.0, step=100.0, key="m_tax")
    jobs = c1.number_input(say("jobs"), min_value=0, value=300, step=10, key="m_jobs")
    plot_ratio = c2.number_input(say("plot_ratio"), min_value=0.1, value=1.2, step=0.1, key="m_plot_ratio")
    coefficient = c3.number_input(say("building_coefficient"), min_value=0.0, max_value=1.0, value=0.45,
                                  step=0.05, key="m_coefficient")
    admin = c1.number_input(say("admin_share"), min_value=0.0, max_value=1.0, value=0.0, step=0.01, key="m_admin")
    nuisance = c2.selectbox(say("nuisance"), [0, 1, 2, 3], key="m_nuisance",
                            format_func=lambda k: "—" if k == 0 else f"M{k}")
    st.caption(say("needs"))
    n1, n2, n3 = st.columns(3)
    power = n1.number_input(say("power"), min_value=0.0, value=0.0, step=500.0, key="m_power")
    water = n2.number_input(say("water"), min_value=0.0, value=0.0, step=50.0, key="m_water")
    gas = n3.checkbox(say("gas"), key="m_gas")
    highway = n1.number_input(say("highway"), min_value=0.0, value=0.0, step=1.0, key="m_highway")
    port = n2.number_input(say("port"), min_value=0.0, value=0.0, step=5.0, key="m_port")
    rail = n3.number_input(say("rail"), min_value=0.0, value=0.0, step=5.0, key="m_rail")
    p1, p2, p3 = st.columns(3)
    preferred = p1.multiselect(say("preferred"), list(parks.park_id), key=common.lang_key("m_preferred"),
                               format_func=lambda pid: str(park_names[pid]))
    groups = p2.multiselect(say("groups"), list(GROUPS), key=common.lang_key("m_groups"),
                            format_func=lambda g: i18n.label_group(g, lang))
    use_latest = p3.checkbox(say("use_latest"), key="m_use_latest")
    latest = p3.date_input(say("latest_start"), value=date.today(), key="m_latest")

    st.subheader(say("options"))
    o1, o2, o3 = st.columns(3)
    top = o1.number_input(say("top"), min_value=1, max_value=50, value=10, key="m_top")
    scope = o2.selectbox(say("scope"), [""] + list(parks.park_id), key=common.lang_key("m_scope"),
                         format_func=lambda pid: say("all_parks") if not pid else str(park_names[pid]))
    blocks = o3.checkbox(say("blocks"), value=True, key="m_blocks")
    disposal = o3.checkbox(say("disposal"), key="m_disposal")
    with st.expander(say("weights")):
        weights = {row.criterion: st.slider(row.label_zh if lang == "zh" else row.label_en, 0, 100, int(row.weight),
                                            key=f"m_w_{row.criterion}") for row in weights_table.itertuples()}
    submitted = st.form_submit_button(say("submit"), type="primary")

if submitted:
    needs = {"power_kva": power or None, "water_t_per_day": water or None, "gas": True if gas else None,
             "highway_km": highway or None, "port_km": port or None, "rail_km": rail or None}
    st.session_state["match_request"] = {
        "project": {"name": name, "investor": investor, "industry_code": industry, "chain": chain or None,
                    "land_mu_min": land_min, "land_mu_max": land_max, "investment_wan": investment,
                    "output_wan": output, "tax_wan": tax, "jobs": int(jobs), "plot_ratio": plot_ratio,
                    "building_coefficient": coefficient, "admin_share": admin or None,
                    "nuisance_class": nuisance or None, "needs": needs, "preferred_parks": preferred,
                    "groups": groups, "latest_start": latest.isoformat() if use_latest else None},
        "top": int(top), "park_id": scope or None, "with_blocks": blocks, "include_disposal": disposal,
        "weights": weights,
    }

try:
    result = common.match_result()
except ParkAtlasError as exc:
    st.error(plain(exc))
    st.stop()
if result is None:
    st.info(say("no_project"))
    st.stop()
project = result.project

with st.expander(say("excluded"), expanded=result.candidates.empty):
    st.dataframe(pd.DataFrame({say("reason"): [EXCLUSION_REASONS[k][pick] for k in result.excluded],
                               say("count"): list(result.excluded.values())}), hide_index=True, width="stretch")

cands = result.candidates
if cands.empty:
    st.warning(say("none"))
    st.stop()

st.subheader(say("candidates"))
labels = {int(r.rank): f"#{r.rank} · {park_names.get(r.park_id, r.park_id)} · "
                      f"{i18n.format_area_mu(r.area_mu, lang)} · {r.score:.1f}"
          for r in cands.itertuples()}
st.dataframe(pd.DataFrame({
    say("rank"): cands["rank"], say("kind"): cands.kind.map(lambda k: say(k)),
    common.tr("col.park"): cands.park_id.map(park_names),
    common.tr("col.parcel_id"): cands.parcel_ids.map(lambda ids: ", ".join(ids)),
    common.tr("col.area_mu"): cands.area_mu.round(1), say("score"): cands.score.round(1),
    say("disposal_flag"): cands.needs_disposal,
}), hide_index=True, width="stretch")

candidate_ids = [pid for ids in cands.parcel_ids for pid in ids]
map_parks = tuple(dict.fromkeys(cands.park_id))
_, parts = common.scope_map(map_parks, highlight_ids=candidate_ids)
st_folium(parts.base, key="match_map", feature_group_to_add=parts.overlay, height=480,
          use_container_width=True, returned_objects=[])

st.subheader(say("detail"))
# Choice widgets per ranking: the browser sends chosen options back by their labels, and after a
# reservation (or another project) the labels of the old ranking match no option any more.
ranking = hashlib.sha1("|".join(map(";".join, cands.parcel_ids)).encode()).hexdigest()[:12]
chosen_rank = st.selectbox(say("rank"), list(labels), format_func=labels.get,
                           key=common.lang_key(f"m_detail_{ranking}"))
chosen = cands.loc[cands["rank"] == chosen_rank].iloc[0]
reason_key = "reason_zh" if lang == "zh" else "reason_en"
weight_labels = dict(zip(weights_table.criterion, weights_table.label_zh if lang == "zh" else weights_table.label_en))


def criterion_label(name: str) -> str:
    return weight_labels.get(name) or i18n.catalogue(lang).get(f"match.criterion.{name}", name)


def shown(value) -> str:
    return "—" if value is None else (f"{value:,.3g}" if isinstance(value, float) else str(value))


st.dataframe(pd.DataFrame({
    say("criterion"): [criterion_label(c["name"]) for c in chosen.criteria],
    say("value"): [shown(c["value"]) for c in chosen.criteria],
    say("threshold"): [shown(c["threshold"]) for c in chosen.criteria],
    say("pass"): [c["pass"] for c in chosen.criteria],
    say("weight"): [round(c["weight"], 3) for c in chosen.criteria],
    say("contribution"): [c["contribution"] for c in chosen.criteria],
    say("reason"): [c[reason_key] for c in chosen.criteria],
}), hide_index=True, width="stretch")

compare_key = common.lang_key(f"m_compare_{ranking}")
compare = st.multiselect(say("compare"), list(labels), max_selections=4, format_func=labels.get, key=compare_key,
                         default=None if compare_key in st.session_state else list(labels)[:min(2, len(labels))])
if len(compare) >= 2:
    rows = cands.set_index("rank").loc[compare]
    names = [c["name"] for c in rows.criteria.iloc[0]]
    table = {say("criterion"): [say("score")] + [criterion_label(n) for n in names]}
    for rank, row in rows.iterrows():
        by_name = {c["name"]: c for c in row.criteria}
        table[f"#{rank}"] = [f"{row.score:.1f}"] + [
            f"{shown(by_name[n]['value'])} (+{by_name[n]['contribution']:.1f})" if n in by_name else "—" for n in names]
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")

st.subheader(say("what_if"))
effect = what_if(parcels, parks, chosen, project, standards)
st.dataframe(pd.DataFrame({
    say("indicator"): [say(f"what_if.{k}") for k in effect["before"]],
    say("before"): [shown(v) for v in effect["before"].values()],
    say("after"): [shown(v) for v in effect["after"].values()],
}), hide_index=True, width="stretch")

if current_user is ANONYMOUS or not current_user.can("planner"):
    st.caption(say("read_only"))
else:
    if st.button(say("reserve"), key="m_reserve", type="primary"):
        try:
            common.store().reserve(list(chosen.parcel_ids), project=project.name, user=current_user)
        except ParkAtlasError as exc:
            st.error(plain(exc))
        else:
            st.session_state["match_notice"] = ("reserved_ok", list(chosen.parcel_ids))
            st.rerun()
    mine = reserved_for(parcels, project.name)
    if mine:
        to_release = st.multiselect(say("reserved_for"), mine, key="m_release_ids")
        if st.button(say("release"), key="m_release", disabled=not to_release):
            try:
                common.store().release(to_release, user=current_user)
            except ParkAtlasError as exc:
                st.error(plain(exc))
            else:
                st.session_state["match_notice"] = ("released_ok", list(to_release))
                st.rerun()
notice = st.session_state.pop("match_notice", None)
if notice:
    st.success(say(notice[0]))
    st.text(", ".join(notice[1]))  # parcel ids as plain text, never markdown
