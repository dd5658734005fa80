"""队伍 Teams: the promotion teams' ranking, one team's targets, progress, projects and warnings,
and the monthly bulletin with a preview. Planners and admins edit teams and targets; viewers read."""
from datetime import date

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from app_pages.safe import plain
from geo import display
from geo.bulletin import build_bulletin, bulletin_xlsx, column_headers, register_warnings
from geo.errors import ParkAtlasError
from geo.schema import split_list
from geo.standards import load_standards
from geo.team import load_counting_rules, read_targets, read_teams, save_team, set_targets, teams_of_user
from geo.project_review import read_register
from geo.team_progress import team_progress
from layers import charts
from layers.bulletin import preview_png, render_bulletin

lang = common.lang()
tr = common.tr
say = common.page_labels("teams")
rules = load_counting_rules()
st.title(say("heading"))


def target_label(code: str) -> str:
    return rules.label(code, lang)


@st.cache_data(show_spinner=False, max_entries=16)
def _progress(loc: str, rev: str, year: int, as_of: date, weights: tuple[tuple[str, float], ...]):
    store = common.store()
    return team_progress(read_register(store), read_teams(store), read_targets(store, year), year=year, as_of=as_of,
                         weights=dict(weights))


@st.cache_data(show_spinner=False, max_entries=4)
def _teams(loc: str, rev: str) -> pd.DataFrame:
    return read_teams(common.store())


@st.cache_data(show_spinner=False, max_entries=8)
def _register(loc: str, rev: str):
    return read_register(common.store())


@st.cache_data(show_spinner=False, max_entries=8)
def _warnings(loc: str, rev: str, as_of: date):
    return register_warnings(common.store(), as_of)


teams = _teams(common.location(), common.revision())
if teams.empty:
    st.info(say("no_teams"))
user = common.user()
mine = teams_of_user(teams, user.name if user.can("viewer") and user.name != "anonymous" else None)
today = date.today()
year_col, as_of_col = st.columns(2)
year = year_col.selectbox(say("year"), list(range(today.year + 1, 2018, -1)), key=common.kept_key("teams_year", today.year))
as_of = as_of_col.date_input(say("as_of"), key=common.kept_key("teams_as_of", min(today, date(year, 12, 31))))
with st.expander(say("weights")):
    st.caption(say("weights_hint"))
    weight_columns = st.columns(len(rules.targets))
    weights = tuple((code, float(column.number_input(target_label(code), min_value=0.0, step=5.0,
                                                     key=common.kept_key(f"teams_weight_{code}",
                                                                         float(rules.table.at[code, "weight"])))))
                    for column, code in zip(weight_columns, rules.targets))
progress = _progress(common.location(), common.revision(), int(year), as_of, weights)
names = dict(zip(teams.team_id, teams.name))


# --- ranking -------------------------------------------------------------------------------------
st.subheader(say("ranking"))
rows = progress.rows[progress.rows.chain == ""]
ratios = rows.pivot_table(index="team_id", columns="target", values="ratio", aggfunc="first")
ratios = ratios.reindex(columns=[c for c in rules.targets if c in ratios.columns])
ranking = progress.scores.set_index("team_id")[["rank", "name", "score", "behind"]].join(ratios).reset_index()
shown = display.format_frame(ranking.drop(columns="team_id"), lang, kinds={"score": "percent", **{c: "percent" for c in ratios.columns},
                                                   "behind": "integer", "rank": "integer"},
                             headers={**column_headers(ranking.columns, lang),
                                      **{c: target_label(c) for c in ratios.columns}})
mine_rows = ranking.team_id.isin(mine).tolist()
styled = shown.style.apply(lambda r: ["background-color: #fff3c4" if mine_rows[r.name] else "" for _ in r], axis=1)
st.dataframe(styled, hide_index=True, width="stretch")
if mine:
    st.caption(say("your_team", teams=plain("、".join(names[m] for m in mine))))
chosen_target = st.selectbox(say("chart_target"), ["score", *ratios.columns], key=common.lang_key("teams_chart", "score"),
                             format_func=lambda c: say("score") if c == "score" else target_label(c))
values = (ranking.set_index("name").score if chosen_target == "score" else ranking.set_index("name")[chosen_target])
# In the ranking's order (best on top), tooltips in the planner's words (layers.charts).
st.vega_lite_chart(*charts.bar_chart(values.astype(float).rename(say("ratio_percent")).to_frame(), kind="percent",
                                     lang=lang, category_title=say("team"), value_title=say("ratio_percent")),
                   width="stretch")
if len(progress.duplicates):
    with st.expander(say("duplicates", n=len(progress.duplicates))):
        st.dataframe(display.format_frame(progress.duplicates, lang, headers=column_headers(progress.duplicates.columns,
                                                                                             lang)),
                     hide_index=True, width="stretch")

# --- one team ------------------------------------------------------------------------------------
st.subheader(say("team_page"))
if teams.empty:
    st.stop()
default_team = mine[0] if mine else teams.team_id.iloc[0]
team_id = st.selectbox(say("team"), teams.team_id.tolist(), key=common.kept_key("teams_team", default_team),
                       format_func=lambda tid: f"{names.get(tid, tid)} ({tid})")
team = teams.set_index("team_id").loc[team_id]
st.caption(say("team_line", district=plain(team.district or "–"),
               members=plain("、".join(split_list(team.members)) or "–"),
               chains=plain("、".join(display.format_value(c, "chain", lang) for c in split_list(team.chains)) or "–")))
own = progress.rows[progress.rows.team_id == team_id]
# Counts and sums of 万元 share the figure columns: each row in its own kind (2 projects, not 2.00).
counted = (own.target.map(rules.table["value"]) == "count").tolist()


def figures(column: str, count_kind: str) -> list[str]:
    return [display.format_value(v, count_kind if count else "wan", lang) for v, count in zip(own[column], counted)]


table = own.assign(target=own.target.map(target_label), project_ids=own.project_ids.map(len),
                   target_value=figures("target_value", "integer"), actual=figures("actual", "integer"),
                   expected=figures("expected", "score"))
st.dataframe(display.format_frame(table.drop(columns=["team_id", "name"]), lang,
                                  kinds={"target_value": "text", "actual": "text", "expected": "text",
                                         "ratio": "percent", "project_ids": "integer", "target": "text"},
                                  headers=column_headers(table.columns, lang)),
             hide_index=True, width="stretch")

register = _register(common.location(), common.revision())
projects = register.projects.set_index("project_id")
trace = st.selectbox(say("trace"), own.index.tolist(), key=common.lang_key("teams_trace"), index=None,
                     format_func=lambda i: f"{target_label(own.at[i, 'target'])}"
                                           f"{' · ' + display.format_value(own.at[i, 'chain'], 'chain', lang) if own.at[i, 'chain'] else ''}"
                                           f" ({len(own.at[i, 'project_ids'])})")
if trace is not None:
    ids = own.at[trace, "project_ids"]
    listed = projects.reindex(ids).reset_index()[["project_id", "name", "stage", "chain", "signed_on", "investment_wan",
                                                  "park_id"]]
    listed = listed.assign(park_id=listed.park_id.map(common.park_names()),
                           stage=listed.stage.map(lambda code: tr(f"stage.{code}")))
    st.caption(say("trace_hint"))
    picked = st.container(key="teams_trace").dataframe(display.format_frame(listed, lang, kinds={"stage": "text"},
                                               headers=column_headers(listed.columns, lang)),
                          hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                          key=f"teams_trace_rows_{team_id}_{trace}")
    if picked.selection.rows:
        chosen = listed.project_id.iloc[picked.selection.rows[0]]
        st.caption(say("project_stages", project=plain(projects.at[chosen, "name"]), id=plain(chosen)))
        stages = register.events[register.events.project_id == chosen][["stage", "date", "user_name", "reason"]]
        stages = stages.assign(stage=stages.stage.map(lambda code: tr(f"stage.{code}")))
        st.dataframe(display.format_frame(stages, lang, kinds={"stage": "text", "user_name": "text"},
                                          headers={**column_headers(stages.columns, lang),
                                                   "user_name": say("user_name")}),
                     hide_index=True, width="stretch")
        st.page_link("app_pages/projects.py", label=say("open_project", id=plain(chosen)),
                     query_params={"project": str(chosen)})

monthly = progress.monthly[(progress.monthly.team_id == team_id) & (progress.monthly.chain == "")]
if len(monthly):
    month_target = st.selectbox(say("monthly_target"), list(dict.fromkeys(monthly.target)),
                                key=common.lang_key("teams_month_target"), format_func=target_label)
    line = monthly[monthly.target == month_target].set_index("month")[["actual", "path"]]
    line.index = [f"{int(year)}-{month:02d}" for month in line.index]
    counted = rules.table.at[month_target, "value"]
    st.vega_lite_chart(*charts.line_chart(line.rename(columns={"actual": say("actual"), "path": say("path")}),
                                          kind="score" if counted == "count" else "wan", lang=lang,
                                          x_title=say("chart_month"), value_title=target_label(month_target)),
                       width="stretch")

team_projects = register.projects[register.projects.team.isin([team_id, team["name"]])]
parcel_ids = sorted({pid for ids in team_projects.parcel_ids for pid in split_list(ids)})
if parcel_ids:
    park_ids = sorted(set(team_projects.park_id.dropna()))
    in_scope, parts = common.scope_map(park_ids, highlight_ids=parcel_ids)
    st.caption(say("map_caption", n=len(parcel_ids)))
    st_folium(parts.base, key="teams_map", feature_group_to_add=parts.overlay, height=460, use_container_width=True,
              returned_objects=[])

warnings = _warnings(common.location(), common.revision(), as_of)
if warnings is not None:
    theirs = warnings[warnings.project_id.isin(team_projects.project_id)]
    st.markdown(f"**{say('warnings', n=len(theirs))}**")
    if len(theirs):
        listed = theirs.assign(kind=theirs.kind.map(lambda k: tr(f"warning.{k}")),
                               level=theirs.level.map(lambda v: tr(f"level.{v}")))
        reason = "reason_zh" if lang == "zh" else "reason_en"
        listed = listed[["project_id", "kind", "level", "days", reason]].rename(columns={reason: "reason"})
        st.dataframe(display.format_frame(listed, lang, kinds={"days": "integer", "kind": "text", "level": "text"},
                                          headers=column_headers(listed.columns, lang)), hide_index=True, width="stretch")

# --- editing (planner, admin) ---------------------------------------------------------------------
if user.can("planner"):
    chain_codes = list(load_standards().chains.chain)
    chain_names = {"": say("all_chains"), **{c: display.format_value(c, "chain", lang) for c in chain_codes}}
    target_names = {code: target_label(code) for code in rules.targets}
    with st.expander(say("edit")):
        with st.form("team_form"):
            fields = {c: st.text_input(say(f"field.{c}"), value=str(team.get(c) or "") if c != "team_id" else team_id)
                      for c in ("team_id", "name", "members", "district")}
            fields["chains"] = ";".join(st.multiselect(say("field.chains"), chain_codes,
                                                       default=[c for c in split_list(team.chains) if c in chain_codes],
                                                       format_func=chain_names.get))
            if st.form_submit_button(say("save_team")):
                try:
                    save_team(common.store(), fields, user=user)
                    st.success(say("saved"))
                except ParkAtlasError as exc:
                    common.show_error(exc)
        current = read_targets(common.store(), int(year))
        current = current[current.team_id == team_id][["target", "chain", "value"]].reset_index(drop=True)
        shown = current.assign(target=current.target.map(target_names), chain=current.chain.map(chain_names))
        edited = common.table_editor(
            shown, num_rows="dynamic", key=f"targets_{team_id}_{year}_{lang}", hide_index=True,
            column_config={"target": st.column_config.SelectboxColumn(say("field.target"),
                                                                      options=list(target_names.values())),
                           "chain": st.column_config.SelectboxColumn(say("field.chain"),
                                                                     options=list(chain_names.values())),
                           "value": st.column_config.NumberColumn(say("field.value"), min_value=0.0)})
        if st.button(say("save_targets")):
            codes = {v: k for k, v in target_names.items()}
            chains = {v: k for k, v in chain_names.items()}
            back = edited.assign(target=edited.target.map(lambda v: codes.get(v, v)),
                                 chain=edited.chain.map(lambda v: chains.get(v, "")))
            try:
                set_targets(common.store(), team_id, int(year), back.fillna(""), user=user)
                st.success(say("saved"))
            except ParkAtlasError as exc:
                common.show_error(exc)
else:
    st.caption(say("read_only"))

# --- bulletin ------------------------------------------------------------------------------------
st.subheader(say("bulletin"))
month_col, lang_col = st.columns(2)
month = month_col.text_input(say("month"), key=common.kept_key("teams_month", f"{today:%Y-%m}"))
bulletin_lang = lang_col.radio(say("bulletin_lang"), ("zh", "en"), horizontal=True,
                               key=common.kept_key("teams_bulletin_lang", lang),
                               format_func=lambda code: {"zh": "中文", "en": "English"}[code])
if st.button(say("make_bulletin"), type="primary"):
    try:
        with st.spinner(say("making")):
            bulletin = build_bulletin(common.store(), month, weights=dict(weights))
            st.session_state["teams_bulletin"] = {
                "month": bulletin.month, "lang": bulletin_lang,
                "pdf": render_bulletin(bulletin, lang=bulletin_lang), "xlsx": bulletin_xlsx(bulletin, bulletin_lang),
                "preview": preview_png(bulletin, lang=bulletin_lang)}
    except ParkAtlasError as exc:
        common.show_error(exc)
made = st.session_state.get("teams_bulletin")
if made:
    st.image(made["preview"], caption=say("preview", month=made["month"]))
    pdf_col, xlsx_col = st.columns(2)
    pdf_col.download_button(say("download_pdf"), made["pdf"], file_name=f"bulletin_{made['month']}_{made['lang']}.pdf",
                            mime="application/pdf")
    xlsx_col.download_button(say("download_xlsx"), made["xlsx"],
                             file_name=f"bulletin_{made['month']}_{made['lang']}.xlsx",
                             mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
