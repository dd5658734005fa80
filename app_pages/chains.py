"""产业链 Chains: the chain as a tree (counts, gaps in red), the map of its enterprises by node with
the leader and the gap radius, the gaps with their ready land, and the prospects. Thin: geo.chain
computes, layers.chain_map draws, geo.display formats."""
import io

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from app_pages.safe import plain
from geo import display
from geo.auth import ANONYMOUS
from geo.chain import ChainMap, county_parks, leaves, node_row, nodes_under, ready_land
from geo.city import read_chain_thresholds
from geo.errors import ParkAtlasError
from geo.prospect import column_label as prospect_column
from geo.prospect import import_prospects, problem_text, prospect_land, prospect_row, read_prospects
from geo.team import read_table_file
from geo.standards import load_standards
from layers.chain_map import chain_map
from layers.chain_tree import chain_tree_figure
from layers.prospect_pack import write_prospect_pack

lang = common.lang()
tr = common.tr
st.title(tr("chains.title"))


@st.cache_resource(show_spinner=False, max_entries=4)
def _chain_map(loc: str, rev: str) -> ChainMap:
    return ChainMap.of_store(common.store(), common.parcels())


@st.cache_resource(show_spinner=False, max_entries=16)
def _ready(loc: str, rev: str, node_id: str, park_id: str | None):
    node = node_row(_chain_map(loc, rev).nodes, node_id)
    frame, prepared = common.prepared_parcels()
    return ready_land(frame, common.parks(), node, top=5, park_id=park_id,
                      chain_thresholds=read_chain_thresholds(common.store()), prepared=prepared)


@st.cache_resource(show_spinner=False, max_entries=32)
def _prospect_ready(loc: str, rev: str, prospect_id: str, park_id: str | None):
    """The matcher's ranking for a prospect: its node's typical demand, or its own land and investment."""
    prospect = prospect_row(common.store(), prospect_id)
    node = node_row(_chain_map(loc, rev).nodes, prospect.node_id)
    frame, prepared = common.prepared_parcels()
    return ready_land(frame, common.parks(), node, top=5, park_id=park_id, name=str(prospect["name"]),
                      land_mu=prospect.land_mu, investment_wan=prospect.investment_wan,
                      chain_thresholds=read_chain_thresholds(common.store()), prepared=prepared)


def _candidates(result) -> None:
    """A match result's candidates as the planner's table."""
    candidates = result.candidates
    st.dataframe(display.format_frame(
        candidates[["rank", "parcel_ids", "park_id", "area_mu", "score"]].assign(
            park_id=candidates.park_id.map(lambda p: names.get(p, p))),
        lang, kinds={"rank": "integer", "parcel_ids": "list", "park_id": "text", "score": "score"}),
        hide_index=True, width="stretch")


def _pack_pdf(loc: str, rev: str, prospect_id: str, language: str) -> bytes:
    store = common.store()
    pack = prospect_land(store, prospect_id, parcels=common.parcels(), chain_map=_chain_map(loc, rev))
    out = io.BytesIO()
    write_prospect_pack(out, pack, parks=common.parks(), districts=common.districts(), chains=load_standards().chains,
                        lang=language, dataset_info=common.dataset_info())
    return out.getvalue()


loc, rev = common.location(), common.revision()
cmap = _chain_map(loc, rev)
chains = cmap.chains()
names = common.park_names()
name_col = "name_zh" if lang == "zh" else "name_en"
with st.sidebar:
    chain = st.selectbox(tr("chains.pick_chain"), chains, key=common.lang_key("ch_chain", chains[0]),
                         format_func=lambda c: display.label(c, "chain", lang))
    parks = common.parks()
    districts = common.districts()
    county_names = dict(zip(districts.district_code, districts[name_col]))
    counties = sorted(parks.district_code.dropna().unique())
    scopes = [""] + parks.park_id.tolist() + [f"county:{c}" for c in counties]
    scope = st.selectbox(tr("chains.pick_park"), scopes, key=common.lang_key("ch_park", ""),
                         format_func=lambda p: common.tr(f"city.whole.{common.city().kind}") if not p else
                         str(county_names.get(p[7:], p[7:])) if p.startswith("county:") else str(names.get(p, p)))
    radius = st.number_input(tr("chains.radius"), min_value=0.5, max_value=50.0, step=0.5,
                             key=common.kept_key("ch_radius", 5.0))
    thin_below = st.number_input(tr("chains.thin_below"), min_value=1, max_value=50, step=1,
                                 key=common.kept_key("ch_thin", 2))

area = county_parks(parks, scope[7:]) if scope.startswith("county:") else (scope or None)
park = scope if scope and not scope.startswith("county:") else None  # ready land: one park, else everywhere
status = cmap.status(chain, area, float(radius), int(thin_below))
leaders = cmap.leaders[cmap.leaders.chain == chain]
if leaders.empty:
    st.info(tr("chains.no_leader", whole=tr(f"city.whole.{common.city().kind}")))
else:
    st.caption(tr("chains.leaders", names=plain(display.format_value(leaders.name.tolist(), "list", lang))))

st.subheader(tr("chains.tree"))
# The node that filters the map and the gap list: chosen by a click on a box of the tree or in the
# select box below it, kept in state like every choice (a segment stands for its nodes).
node_choices = ["", *status.node_id]
node_key = common.lang_key("ch_node", "")
if st.session_state[node_key] not in node_choices:  # another chain's node: show the whole chain
    st.session_state[node_key] = ""
tree_key = f"ch_tree_{chain}_{st.session_state.get('ch_tree_reset', 0)}"


def _tree_clicked() -> None:
    points = st.session_state[tree_key].get("selection", {}).get("points", [])
    clicked = next((p.get("id") for p in points if p.get("id") in node_choices[1:]), None)
    if clicked:
        st.session_state[node_key] = clicked


def _node_picked() -> None:
    # The tree's own selection would otherwise keep showing the node left behind.
    st.session_state["ch_tree_reset"] = st.session_state.get("ch_tree_reset", 0) + 1


st.plotly_chart(chain_tree_figure(status, lang), key=tree_key, on_select=_tree_clicked, selection_mode="points",
                config={"displayModeBar": False})
with st.expander(tr("chains.tree_table")):
    is_leaf = status.parent != ""
    st.dataframe(pd.DataFrame({
        tr("chains.col.node"): [("　　" if leaf else "") + display.format_value(n, "text", lang)
                                for leaf, n in zip(is_leaf, status[name_col])],
        tr("chains.col.enterprise_count"): [display.format_value(int(c), "integer", lang)
                                            for c in status.enterprise_count],
        tr("chains.col.gap"): [display.format_value(bool(g), "bool", lang) if leaf else ""
                               for g, leaf in zip(status.gap, is_leaf)],
        tr("chains.col.thin"): [display.format_value(bool(v), "bool", lang) if leaf else ""
                                for v, leaf in zip(status.thin, is_leaf)],
        tr("chains.col.nearest_km"): [display.format_value(k, "km", lang) for k in status.nearest_km],
        tr("chains.col.node_id"): [display.format_value(n, "id", lang) for n in status.node_id],
    }), hide_index=True, width="stretch")

st.subheader(tr("chains.map"))
node_names = dict(zip(status.node_id, status[name_col]))
picked = st.selectbox(tr("chains.pick_node"), node_choices, key=node_key, on_change=_node_picked,
                      format_func=lambda n: display.format_value(node_names[n], "text", lang) if n
                      else tr("chains.all_nodes"))
placed = cmap.placed[cmap.placed.chain == chain]
shown = nodes_under(cmap.nodes, picked) if picked else status.node_id.tolist()
picked_name = plain(display.format_value(node_names[picked], "text", lang)) if picked else ""  # for Markdown
if picked:
    placed = placed[placed.node_id.isin(shown)]
    st.caption(tr("chains.map_filtered", node=picked_name,
                  count=display.format_value(placed.uscc.nunique(), "integer", lang)))
st_folium(chain_map(placed, leaders, cmap.nodes[cmap.nodes.chain == chain], radius_km=float(radius), lang=lang,
                    **common.map_options()),
          key=f"chain_map_{chain}_{picked}", height=460, use_container_width=True, returned_objects=[])

st.subheader(tr("chains.gaps"))
gaps = status[status.gap & status.node_id.isin(shown)]
if picked:
    st.caption(tr("chains.gaps_of_node", node=picked_name))
if gaps.empty:
    st.success(tr("chains.no_gaps_node", node=picked_name) if picked else tr("chains.no_gaps"))
else:
    demand = cmap.nodes.set_index("node_id")
    st.dataframe(pd.DataFrame({
        tr("chains.col.node"): [display.format_value(n, "text", lang) for n in gaps[name_col]],
        tr("chains.col.demand"): [f"{display.format_value(demand.at[n, 'land_mu_min'], 'area_mu', lang)} – "
                                  f"{display.format_value(demand.at[n, 'land_mu_max'], 'area_mu', lang)}"
                                  for n in gaps.node_id],
        tr("chains.col.plot_ratio"): [display.format_value(demand.at[n, "plot_ratio"], "ratio", lang)
                                      for n in gaps.node_id],
        tr("chains.col.nuisance_class"): [display.format_value(demand.at[n, "nuisance_class"], "integer", lang)
                                          for n in gaps.node_id],
        tr("chains.col.power_kva"): [display.format_value(demand.at[n, "power_kva"], "kva", lang)
                                     for n in gaps.node_id],
        tr("chains.col.nearest_km"): [display.format_value(k, "km", lang) for k in gaps.nearest_km],
    }), hide_index=True, width="stretch")
    gap_key = common.lang_key("ch_gap")
    if st.session_state.get(gap_key) not in set(gaps.node_id):  # a gap of another chain or node
        st.session_state.pop(gap_key, None)
    gap = st.selectbox(tr("chains.ready_land"), gaps.node_id.tolist(), key=gap_key,
                       format_func=lambda n: display.format_value(node_names[n], "text", lang))
    try:
        _candidates(_ready(loc, rev, gap, park))
    except ParkAtlasError as exc:
        common.show_error(exc)

st.subheader(tr("chains.prospects"))
prospects = read_prospects(common.store())
prospects = prospects[prospects.node_id.isin(set(cmap.nodes.node_id[cmap.nodes.chain == chain]))]
if prospects.empty:
    st.info(tr("chains.no_prospects"))
else:
    prospect_nodes = cmap.nodes.set_index("node_id")[name_col]
    with st.spinner(tr("chains.prospect_matching")):
        ready = {p: _prospect_ready(loc, rev, p, park) for p in prospects.prospect_id}
    st.dataframe(pd.DataFrame({
        tr("chains.col.prospect"): [display.format_value(v, "text", lang) for v in prospects["name"]],
        tr("chains.col.node"): [display.format_value(prospect_nodes.get(v, v), "text", lang) for v in prospects.node_id],
        tr("chains.col.origin_city"): [display.format_value(v, "text", lang) for v in prospects.origin_city],
        tr("chains.col.contact_status"): [tr(f"chains.contact.{v}") for v in prospects.contact_status],
        tr("chains.col.ready_land"): [display.format_value(ready[p].eligible, "integer", lang)
                                      for p in prospects.prospect_id],
    }), hide_index=True, width="stretch")
    chosen = st.selectbox(tr("chains.pack.pick"), prospects.prospect_id.tolist(), key=common.kept_key("ch_prospect"),
                          format_func=lambda p: display.format_value(
                              prospects.set_index("prospect_id").at[p, "name"], "text", lang))
    st.caption(tr("chains.prospect_land"))
    _candidates(ready[chosen])
    st.caption(tr("chains.prospect_map"))
    st_folium(chain_map(cmap.placed[cmap.placed.chain == chain], leaders, cmap.nodes[cmap.nodes.chain == chain],
                        radius_km=float(radius), lang=lang, candidates=ready[chosen].candidates, park_names=names,
                        **common.map_options()),
              key=f"chain_prospect_map_{chosen}_{park}", height=400, use_container_width=True, returned_objects=[])
    if st.button(tr("chains.pack.make"), key="ch_make_pack"):
        try:
            with st.spinner(tr("chains.pack.making")):
                st.session_state["ch_pack"] = (chosen, lang, _pack_pdf(loc, rev, chosen, lang))
        except ParkAtlasError as exc:
            common.show_error(exc)
    made = st.session_state.get("ch_pack")
    if made and made[0] == chosen and made[1] == lang:
        st.download_button(tr("chains.pack.download"), made[2], file_name=f"prospect_pack_{chosen}.pdf",
                           mime="application/pdf", key="ch_pack_download")


def _prospects_upload(user) -> None:
    """A planner's prospects file: every problem listed with its row, written only when all rows pass."""
    upload = st.file_uploader(tr("chains.import_file"), type=["csv", "xlsx"], key="ch_import_file")
    if upload is None:
        return
    leaf_ids = cmap.nodes.node_id[leaves(cmap.nodes)]
    try:
        frame = read_table_file(upload.getvalue(), upload.name)
        checked = import_prospects(common.store(), frame, leaf_ids, user=None, dry_run=True)
    except ParkAtlasError as exc:
        common.show_error(exc)
        return
    if checked["problems"]:
        st.dataframe(display.format_frame(
            pd.DataFrame({"row": [p["row"] for p in checked["problems"]],
                          "column": [prospect_column(p["column"], lang) for p in checked["problems"]],
                          "value": [p["value"] for p in checked["problems"]],
                          "problem": [problem_text(p, lang) for p in checked["problems"]]}), lang,
            kinds={"row": "integer", "column": "text", "value": "text", "problem": "text"},
            headers={"row": tr("chains.problem_row"), "column": tr("chains.problem_column"),
                     "value": tr("chains.problem_value"), "problem": tr("chains.problem")}),
            hide_index=True, width="stretch")
        st.error(tr("chains.import_rejected"))
        return
    st.caption(tr("chains.import_ready", rows=display.format_value(checked["rows"], "integer", lang)))
    if st.button(tr("chains.import_commit"), key="ch_import_commit"):
        try:
            done = import_prospects(common.store(), frame, leaf_ids, user=user)
            st.success(tr("chains.imported", count=display.format_value(
                done["committed"]["inserted"] + done["committed"]["replaced"], "integer", lang)))
        except ParkAtlasError as exc:
            common.show_error(exc)


user = common.user()
if user is not ANONYMOUS and user.can("planner"):
    with st.expander(tr("chains.import")):
        st.caption(tr("chains.import_help"))
        _prospects_upload(user)
