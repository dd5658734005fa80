"""Inefficient land (低效用地): candidates found by rule on the map with their reasons, blocks with what the
park would gain, and the planner's confirmation (status inefficient, audited)."""
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from geo import display, i18n
from geo.auth import ANONYMOUS
from geo.errors import ParkAtlasError
from geo.inefficient import confirm, inefficient_land, load_rules

lang = common.lang()
tr = common.tr
st.title(tr("inefficient.heading"))
parks = common.parks()
names = common.park_names()
park_ids = parks.park_id.tolist()


@st.cache_resource(show_spinner=False, max_entries=16)
def _found(loc: str, rev: str, park_id: str, language: str):
    return inefficient_land(common.store(), park_id, lang=language)


park_id = st.selectbox(tr("park.choose"), park_ids, key=common.kept_key("ineff_park", park_ids[0]),
                       format_func=lambda pid: str(names[pid]))
with st.spinner(tr("inefficient.working")):
    candidates, blocks = _found(common.location(), common.revision(), park_id, lang)
rules = {r.key: r for r in load_rules().rules}
st.caption(tr("inefficient.summary", n=i18n.format_number(len(candidates), lang, 0),
              area=i18n.format_number(candidates.area_mu.sum(), lang, 1),
              blocks=i18n.format_number(len(blocks), lang, 0)))

_, parts = common.scope_map((park_id,), highlight_ids=candidates.parcel_id.tolist())
st_folium(parts.base, key=f"ineff_map_{park_id}", feature_group_to_add=parts.overlay, height=520,
          use_container_width=True, returned_objects=[])

st.subheader(tr("inefficient.candidates"))
view = pd.DataFrame({
    "parcel_id": candidates.parcel_id, "enterprise": candidates.enterprise, "status": candidates.status,
    "area_mu": candidates.area_mu, "block_id": candidates.block_id,
    "rules": ["；".join(rules[r["rule"]].label(lang) for r in rs) for rs in candidates.rules],
    "reasons": ["；".join(r["reason"] for r in rs) for rs in candidates.rules],
})
st.dataframe(display.format_frame(view, lang, kinds={"rules": "text", "reasons": "text"},
                                  headers={"rules": tr("inefficient.rules"), "reasons": tr("inefficient.reasons")}),
             hide_index=True, width="stretch", height=320)

st.subheader(tr("inefficient.blocks"))
st.dataframe(display.format_frame(blocks.drop(columns="park_id"), lang), hide_index=True, width="stretch", height=260)

with st.expander(tr("inefficient.rule_sources")):
    st.dataframe(pd.DataFrame({tr("inefficient.rule"): [r.label(lang) for r in rules.values()],
                               tr("inefficient.enabled"): [display.format_value(r.enabled, "bool", lang)
                                                           for r in rules.values()],
                               tr("inefficient.source"): [r.source for r in rules.values()]}),
                 hide_index=True, width="stretch")

user = common.user()
st.subheader(tr("inefficient.confirm"))
if user is ANONYMOUS or not user.can("planner"):
    st.caption(tr("inefficient.read_only"))
else:
    open_ids = candidates.loc[candidates.status != "inefficient", "parcel_id"].tolist()
    chosen = st.multiselect(tr("inefficient.confirm_pick"), open_ids, key=common.kept_key(f"ineff_pick_{park_id}"),
                            placeholder=tr("available.any"))
    if st.button(tr("inefficient.confirm_button", n=len(chosen)), disabled=not chosen, key="ineff_confirm"):
        try:
            result = confirm(common.store(), chosen, user=user)
            st.success(tr("inefficient.confirmed", ids="、".join(result["changed"])))
        except ParkAtlasError as exc:
            common.show_error(exc)
