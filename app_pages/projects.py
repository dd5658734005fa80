"""Projects: the register from signing to full production — pipeline, map by stage, warnings, and one
project's parcels, timeline, actuals, contract check; planners change stages and enter actuals."""
from datetime import date

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from app_pages.safe import plain
from geo import display, i18n
from geo.errors import ParkAtlasError
from geo.project import ALL_STAGES, DELAY_CAUSES
from geo.project_review import MILESTONES, contract_check, milestones, pipeline, project_counts
from layers.projects import project_map_parts, project_parcels

#: Warnings listed at most (the list is sorted reddest first; filters narrow it).
WARNINGS_SHOWN = 500
lang = common.lang()
say = common.page_labels("projects")
current_user = common.user()
can_write = current_user.can("planner")
st.title(say("heading"))


@st.cache_resource(show_spinner=False, max_entries=2)
def _shapes(loc: str, rev: str):
    return project_parcels(common.project_register().projects, common.parcels())


loc, rev = common.location(), common.revision()
register = common.project_register()
names = common.park_names()
stage_names = {s: i18n.t(f"stage.{s}", lang) for s in ALL_STAGES}
kind_names = {k: i18n.t(f"warning.{k}", lang) for k in ("idle_fee", "idle_repossession", "idle_exempt",
              "start_overdue", "completion_overdue", "production_overdue", "capacity_overdue", "below_promise",
              "stale", "late_entry", "duplicate_signing")}
level_names = {lv: i18n.t(f"level.{lv}", lang) for lv in ("red", "yellow", "info")}
reason = "reason_zh" if lang == "zh" else "reason_en"

notice = st.session_state.pop("projects_notice", None)
if notice:  # plain text: project names and ids never become markup
    (st.error if notice[0] == "error" else st.success)(plain(notice[1]))

# --- filters ----------------------------------------------------------------------------------------
f1, f2, f3, f4, f5 = st.columns([2, 2, 2, 2, 2])
as_of = f1.date_input(say("as_of"), key=common.kept_key("pj_as_of", date.today()))
stages = f2.multiselect(say("stage"), list(ALL_STAGES), key=common.lang_key("pj_stages", []),
                        format_func=stage_names.get)
park_choice = f3.selectbox(say("park"), [""] + list(names), key=common.lang_key("pj_park", ""),
                           format_func=lambda pid: say("all") if not pid else str(names[pid]))
chains = sorted(register.projects.chain.dropna().unique())
chain_choice = f4.selectbox(say("chain"), [""] + chains, key=common.lang_key("pj_chain", ""),
                            format_func=lambda c: say("all") if not c else display.label(c, "chain", lang))
teams = sorted(register.projects.team.dropna().unique())
team_choice = f5.selectbox(say("team"), [""] + teams, key=common.lang_key("pj_team", ""),
                           format_func=lambda t: say("all") if not t else str(t))
only_warned = st.checkbox(say("only_warnings"), key=common.kept_key("pj_only_warned", False))

warnings = common.project_warnings(as_of)
projects = register.projects
mask = pd.Series(True, index=projects.index)
if stages:
    mask &= projects.stage.isin(stages)
for choice, column in ((park_choice, "park_id"), (chain_choice, "chain"), (team_choice, "team")):
    if choice:
        mask &= projects[column] == choice
if only_warned:
    mask &= projects.project_id.isin(warnings.project_id)
shown = projects[mask.fillna(False).to_numpy()]

# --- pipeline ---------------------------------------------------------------------------------------
st.subheader(say("pipeline"))
flow = pipeline(shown)
flow["label"] = flow.stage.map(stage_names)
p1, p2 = st.columns([3, 2])
p1.bar_chart(flow.set_index("label")[["projects"]].rename(columns={"projects": say("count")}),
             horizontal=True, height=260, sort=False)
p2.dataframe(display.format_frame(flow[["label", "projects", "investment_wan"]], lang,
                                  kinds={"label": "text", "projects": "integer"},
                                  headers={"label": say("stage"), "projects": say("count"),
                                           "investment_wan": say("investment")}),
             hide_index=True, width="stretch")

with st.expander(say("counts")):
    k1, k2, k3 = st.columns(3)
    by = k1.selectbox(say("counts_by"), ["park_id", "group", "chain", "team"], key=common.lang_key("pj_counts_by", "park_id"),
                      format_func=lambda b: say(f"by_{b}"))
    start = k2.date_input(say("from"), key=common.kept_key("pj_counts_from", date(date.today().year, 1, 1)))
    end = k3.date_input(say("to"), key=common.kept_key("pj_counts_to", date.today()))
    counts = project_counts(register, common.parks(), by=by, start=start, end=end)
    if by == "park_id":
        counts[by] = counts[by].map(names).fillna(counts[by])
    elif by == "group":
        counts[by] = counts[by].map(lambda g: i18n.label_group(g, lang) if g else "–")
    elif by == "chain":
        counts[by] = counts[by].map(lambda c: display.label(c, "chain", lang) if c else "–")
    st.dataframe(display.format_frame(counts, lang, kinds={by: "text", **{c: "integer" for c in counts.columns
                                                                           if c.endswith("_count")}},
                                      headers={by: say(f"by_{by}"), **{c: say(f"col_{c}") for c in counts.columns
                                                                        if c != by}}),
                 hide_index=True, width="stretch")

# --- map by stage -----------------------------------------------------------------------------------
selected_key = common.kept_key("pj_selected")
requested = st.query_params.get("project")  # /projects?project=ID opens that project (links from other pages)
if requested and requested != st.session_state.get("pj_requested") and requested in set(projects.project_id):
    st.session_state["pj_requested"] = requested
    st.session_state[selected_key] = requested
selected = st.session_state.get(selected_key)
shapes = _shapes(loc, rev)
in_view = shapes[shapes.project_id.isin(shown.project_id)]
st.subheader(say("map"))
parts = project_map_parts(in_view, lang=lang, highlight_ids=[selected] if selected else None,
                          context=common.district_features(), home=common.city().home_bounds,
                          **common.map_options())
st_folium(parts.base, key="projects_map", feature_group_to_add=parts.overlay, height=460,
          use_container_width=True, returned_objects=[])

# --- the register -----------------------------------------------------------------------------------
st.subheader(say("register", n=i18n.format_number(len(shown), lang, 0)))
counts = warnings.groupby("project_id").size()
table = pd.DataFrame({
    "project_id": shown.project_id, "name": shown["name"], "investor": shown.investor,
    "park": shown.park_id.map(names).fillna("–"), "stage": shown.stage.map(stage_names),
    "chain": shown.chain, "team": shown.team, "investment_wan": shown.investment_wan, "land_mu": shown.land_mu,
    "signed_on": shown.signed_on, "warnings": shown.project_id.map(counts).fillna(0)})
picked = st.dataframe(display.format_frame(table, lang, kinds={"park": "text", "stage": "text", "team": "text",
                                                               "warnings": "integer", "land_mu": "area_mu"},
                                           headers={c: say(f"col_{c}") for c in table.columns}),
                      hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                      key="pj_table")
rows = picked.selection.rows if picked else []
if rows and st.session_state.get("pj_table_seen") != rows[0]:
    st.session_state["pj_table_seen"] = rows[0]
    st.session_state[selected_key] = shown.project_id.iloc[rows[0]]
    st.rerun()

# --- warnings ---------------------------------------------------------------------------------------
st.subheader(say("warnings"))
mine = warnings[warnings.project_id.isin(shown.project_id)]
if mine.empty:
    st.caption(say("no_warnings"))
else:
    if len(mine) > WARNINGS_SHOWN:  # reddest first: a planner narrows the filters to see the rest
        st.caption(say("warnings_shown", shown=i18n.format_number(WARNINGS_SHOWN, lang, 0),
                       n=i18n.format_number(len(mine), lang, 0)))
        mine = mine.head(WARNINGS_SHOWN)
    st.dataframe(display.format_frame(pd.DataFrame({
        "level": mine.level.map(level_names), "kind": mine.kind.map(kind_names), "project_id": mine.project_id,
        "name": mine["name"], "days": mine.days, "reason": mine[reason], "source": mine.source}), lang,
        kinds={"level": "text", "kind": "text", "days": "integer"},
        headers={c: say(f"col_{c}") for c in ("level", "kind", "project_id", "name", "days", "reason", "source")}),
        hide_index=True, width="stretch")

# --- one project ------------------------------------------------------------------------------------
st.subheader(say("project"))
ids = projects.project_id.tolist()
if not ids:
    st.info(say("empty"))
    st.stop()
labels = dict(zip(projects.project_id, projects.project_id + " · " + projects["name"].astype(str)))
if st.session_state.get(selected_key) not in labels:
    st.session_state[selected_key] = ids[0]
project_id = st.selectbox(say("choose"), ids, key=selected_key, format_func=labels.get)
project = projects.set_index("project_id", drop=False).loc[project_id].astype(object)
project = project.where(project.notna(), None).to_dict()

st.markdown(f"**{plain(project['name'])}** · {plain(stage_names[project['stage']])} · "
            f"{plain(names.get(project['park_id'], project['park_id'] or '–'))}")
facts = {say("col_investor"): display.format_value(project["investor"], "text", lang),
         say("col_uscc"): display.format_value(project["uscc"], "id", lang),
         say("col_team"): display.format_value(project["team"], "text", lang),
         say("col_investment_wan"): display.format_value(project["investment_wan"], "wan", lang),
         say("col_output_wan"): display.format_value(project["output_wan"], "wan", lang),
         say("col_tax_wan"): display.format_value(project["tax_wan"], "wan", lang),
         say("col_land_mu"): display.format_value(project["land_mu"], "area_mu", lang),
         say("col_parcels"): display.format_value((project["parcel_ids"] or "").split(";") if project["parcel_ids"]
                                                  else [], "list", lang)}
st.dataframe(pd.DataFrame({say("fact"): list(facts), say("value"): list(facts.values())}), hide_index=True,
             width="stretch")

own = shapes[shapes.project_id == project_id]
if len(own):
    own_parts = project_map_parts(own, lang=lang, highlight_ids=[project_id], context=common.district_features(),
                                  **common.map_options())
    st_folium(own_parts.base, key=f"project_map_{project_id}", feature_group_to_add=own_parts.overlay, height=320,
              use_container_width=True, returned_objects=[])
else:
    st.caption(say("no_parcels"))

events = register.events[register.events.project_id == project_id]
reached = milestones(pd.DataFrame({"project_id": [project_id]}), events).iloc[0]
st.markdown(f"**{plain(say('timeline'))}**")
timeline = pd.DataFrame({
    "stage": [stage_names[MILESTONES[m][0]] for m in MILESTONES],
    "contract": [project[MILESTONES[m][1]] for m in MILESTONES],
    "actual": [None if pd.isna(reached[m]) else reached[m].strftime("%Y-%m-%d") for m in MILESTONES]})
st.dataframe(display.format_frame(timeline, lang, kinds={"stage": "text", "contract": "date", "actual": "date"},
                                  headers={"stage": say("stage"), "contract": say("contract_date"),
                                           "actual": say("actual_date")}), hide_index=True, width="stretch")
st.dataframe(display.format_frame(pd.DataFrame({
    "stage": events.stage.map(stage_names), "date": events.date, "user_name": events.user_name,
    "reason": events.reason}), lang, kinds={"stage": "text", "date": "date", "user_name": "text", "reason": "text"},
    headers={"stage": say("stage"), "date": say("date"), "user_name": say("user"), "reason": say("reason")}),
    hide_index=True, width="stretch")

actuals = register.actuals[register.actuals.project_id == project_id]
st.markdown(f"**{plain(say('actuals'))}**")
if actuals.empty:
    st.caption(say("no_actuals"))
else:
    st.dataframe(display.format_frame(actuals.drop(columns=["project_id", "user_name", "at"]), lang,
                                      kinds={"year": "id", "stopped_since": "date"},
                                      headers={"year": say("year"), "stopped_since": say("stopped_since"),
                                               "developed_area_mu": say("developed_area_mu")}),
                 hide_index=True, width="stretch")

parks_table = common.parks().drop(columns="geometry").set_index("park_id", drop=False)
park_row = parks_table.loc[project["park_id"]].to_dict() if project["park_id"] in parks_table.index else None
check = contract_check(project, events, actuals, park_row, as_of=as_of)
st.markdown(f"**{plain(say('check'))}**")
criteria = pd.DataFrame(check["criteria"])
st.dataframe(display.format_frame(pd.DataFrame({
    "criterion": criteria.name.map(lambda n: say(f"criterion_{n}")),
    "pass": criteria["pass"], "ratio": criteria.ratio, "reason": criteria[reason]}), lang,
    kinds={"criterion": "text", "pass": "bool", "ratio": "percent", "reason": "text"},
    headers={"criterion": say("criterion"), "pass": say("pass"), "ratio": say("ratio"), "reason": say("col_reason")}),
    hide_index=True, width="stretch")

# --- planner's actions ------------------------------------------------------------------------------
if not can_write:
    st.caption(say("read_only"))
    st.stop()


def change_stage(pid: str, version: int) -> None:
    values = st.session_state
    try:
        result = common.store().set_stage(pid, values["pj_new_stage"], on=values["pj_stage_on"], user=common.user(),
                                          parcel_ids=values.get("pj_stage_parcels") or None,
                                          reason=values.get("pj_stage_reason") or None, expected_version=version)
    except ParkAtlasError as exc:
        st.session_state["projects_notice"] = ("error", common.error_text(exc))
    else:
        st.session_state["projects_notice"] = ("success", say("stage_done", project=pid, stage=stage_names[result["to"]]))


def enter_actuals(pid: str) -> None:
    values = st.session_state
    given = {"investment_wan": values["pj_a_investment"], "output_wan": values["pj_a_output"],
             "tax_wan": values["pj_a_tax"], "jobs": int(values["pj_a_jobs"]),
             "developed_area_mu": values["pj_a_developed"]}
    try:
        common.store().record_actuals(pid, int(values["pj_a_year"]), given, user=common.user())
    except ParkAtlasError as exc:
        st.session_state["projects_notice"] = ("error", common.error_text(exc))
    else:
        st.session_state["projects_notice"] = ("success", say("actuals_done", project=pid))


def record_delay(pid: str) -> None:
    values = st.session_state
    try:
        common.store().record_delay(pid, cause=values["pj_d_cause"], from_date=values["pj_d_from"],
                                    reason=values["pj_d_reason"], user=common.user())
    except ParkAtlasError as exc:
        st.session_state["projects_notice"] = ("error", common.error_text(exc))
    else:
        st.session_state["projects_notice"] = ("success", say("delay_done", project=pid))


EDIT_TEXT = ("name", "investor", "uscc", "team", "contact")
EDIT_NUMBERS = ("investment_wan", "output_wan", "tax_wan", "land_mu")
EDIT_DATES = ("signed_on", "contract_start", "contract_completion", "contract_production", "contract_capacity")


def edit_project(pid: str, version: int) -> None:
    values = st.session_state
    suffix = f"{pid}_{version}"
    changes = {f: values[f"pj_e_{f}_{suffix}"].strip() or None for f in EDIT_TEXT}
    changes.update({f: values[f"pj_e_{f}_{suffix}"] for f in EDIT_NUMBERS})
    changes.update({f: values[f"pj_e_{f}_{suffix}"].strip() or None for f in EDIT_DATES})
    try:
        changed = common.store().update_project(pid, changes, user=common.user(), expected_version=version)
    except ParkAtlasError as exc:
        st.session_state["projects_notice"] = ("error", common.error_text(exc))
    else:
        st.session_state["projects_notice"] = ("success", say("edit_done", project=pid, n=len(changed)))


version = int(project["version"])
with st.expander(say("edit")):
    with st.form("pj_edit_form"):
        suffix = f"{project_id}_{version}"
        columns = st.columns(3)
        for i, field in enumerate((*EDIT_TEXT, *EDIT_DATES)):
            columns[i % 3].text_input(say(f"col_{field}"), value=project[field] or "", key=f"pj_e_{field}_{suffix}",
                                      max_chars=200)
        for i, field in enumerate(EDIT_NUMBERS):
            columns[i % 3].number_input(say(f"col_{field}"), min_value=0.0, value=float(project[field] or 0.0),
                                        key=f"pj_e_{field}_{suffix}")
        st.form_submit_button(say("save_edit"), on_click=edit_project, args=(project_id, version))

with st.form("pj_stage_form"):
    st.markdown(f"**{plain(say('change_stage'))}**")
    s1, s2 = st.columns(2)
    s1.selectbox(say("new_stage"), [s for s in ALL_STAGES if s != project["stage"]], key="pj_new_stage",
                 format_func=stage_names.get)
    s2.date_input(say("date"), value=date.today(), max_value=date.today(), key="pj_stage_on")
    park_parcels = common.parcels()
    if project["park_id"]:
        park_parcels = park_parcels[park_parcels.park_id == project["park_id"]]
    free = park_parcels.loc[park_parcels.status.isin(["available", "approved_unsupplied", "reserved"]), "parcel_id"]
    st.multiselect(say("add_parcels"), free.tolist(), key="pj_stage_parcels")
    st.text_input(say("reason"), key="pj_stage_reason", max_chars=200)
    st.form_submit_button(say("apply_stage"), type="primary", on_click=change_stage, args=(project_id, version))

with st.form("pj_actuals_form"):
    st.markdown(f"**{plain(say('enter_actuals'))}**")
    a1, a2, a3 = st.columns(3)
    a1.number_input(say("year"), min_value=2000, max_value=date.today().year, value=date.today().year, key="pj_a_year")
    a2.number_input(say("col_investment_wan"), min_value=0.0, step=100.0, key="pj_a_investment")
    a3.number_input(say("col_output_wan"), min_value=0.0, step=100.0, key="pj_a_output")
    a1.number_input(say("col_tax_wan"), min_value=0.0, step=10.0, key="pj_a_tax")
    a2.number_input(say("jobs"), min_value=0, step=10, key="pj_a_jobs")
    a3.number_input(say("developed_area_mu"), min_value=0.0, step=1.0, key="pj_a_developed")
    st.form_submit_button(say("save_actuals"), on_click=enter_actuals, args=(project_id,))

with st.form("pj_delay_form"):
    st.markdown(f"**{plain(say('record_delay'))}**")
    d1, d2 = st.columns(2)
    d1.selectbox(say("cause"), list(DELAY_CAUSES), key="pj_d_cause", format_func=lambda c: say(f"cause_{c}"))
    d2.date_input(say("date"), value=date.today(), key="pj_d_from")
    st.text_input(say("reason"), key="pj_d_reason", max_chars=200)
    st.form_submit_button(say("save_delay"), on_click=record_delay, args=(project_id,))
