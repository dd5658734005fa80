"""Enterprises: the 亩均 evaluation — enterprises by grade, park, chain and county; one enterprise's parcels,
indicators, reasons and grade history; parks and counties ranked; policy lists; the sensitivity table."""
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from app_pages.safe import plain
from geo import display, i18n
from geo.auth import ANONYMOUS
from geo.chain import read_chain_nodes
from geo.enterprise import (column_label, file_error_text, import_enterprises, problem_text, read_enterprise_file,
                            read_enterprises, read_figures)
from geo.errors import KeyedError, ParkAtlasError
from geo.evaluation import (
    GRADES, enterprise_table, evaluate, grade_history, grading_area_key, indicator_label, list_schemes, policy_list,
    ranking, save_evaluation, sensitivity, year_over_year,
)
from geo.exports import export_bytes

lang = common.lang()
tr = common.tr
st.title(tr("enterprises.heading"))


@st.cache_data(show_spinner=False, max_entries=8)
def _table(loc: str, rev: str, year: int, scheme: str) -> pd.DataFrame:
    return enterprise_table(common.store(), year=year, scheme=scheme)


@st.cache_resource(show_spinner=False, max_entries=8)
def _evaluation(loc: str, rev: str, year: int, scheme: str):
    return evaluate(common.store(), year, scheme)


@st.cache_data(show_spinner=False, max_entries=4)
def _years(loc: str, rev: str) -> list[int]:
    return sorted(int(y) for y in read_figures(common.store()).year.dropna().unique())


loc, rev = common.location(), common.revision()
years = _years(loc, rev)
if not years:
    st.info(tr("enterprises.none"))
    st.stop()
schemes = {s.name: s for s in list_schemes()}
parks = common.parks()
names = common.park_names()
with st.sidebar:
    scheme_name = st.selectbox(tr("enterprises.scheme"), list(schemes), key=common.kept_key("ent_scheme", next(iter(schemes))),
                               format_func=lambda n: schemes[n].label(lang))
    year = st.selectbox(tr("enterprises.year"), years, key=common.kept_key("ent_year", years[-1]))
    grades = st.multiselect(tr("enterprises.grades"), list(GRADES), key=common.kept_key("ent_grades"),
                            placeholder=tr("available.any"))
    park_ids = st.multiselect(tr("available.parks"), parks.park_id.tolist(), key=common.kept_key("ent_parks"),
                              placeholder=tr("available.any"), format_func=lambda pid: str(names[pid]))
    counties = sorted(parks.district_code.dropna().unique())
    districts = common.districts()
    county_names = dict(zip(districts.district_code, districts["name_zh" if lang == "zh" else "name_en"]))
    chosen_counties = st.multiselect(tr("enterprises.counties"), counties, key=common.kept_key("ent_counties"),
                                     placeholder=tr("available.any"),
                                     format_func=lambda c: str(county_names.get(c, c)))
table = _table(loc, rev, year, scheme_name)
chains = sorted(table.chain.dropna().unique())
with st.sidebar:
    chosen_chains = st.multiselect(tr("enterprises.chains"), chains, key=common.kept_key("ent_chains"),
                                   placeholder=tr("available.any"),
                                   format_func=lambda c: display.label(c, "chain", lang))
scheme = schemes[scheme_name]
st.caption(tr("enterprises.scheme_note", label=plain(scheme.label(lang)), kind=tr(f"enterprises.kind.{scheme.kind}"),
              pool=tr(grading_area_key(scheme, common.city().kind))))

shown = table
for column, chosen in (("grade", grades), ("park_id", park_ids), ("district_code", chosen_counties),
                       ("chain", chosen_chains)):
    if chosen:
        shown = shown[shown[column].isin(chosen)]
list_tab, rank_tab, change_tab, policy_tab, sens_tab = st.tabs([
    tr("enterprises.tab.list"), tr("enterprises.tab.ranking"), tr("enterprises.tab.changes"), tr("enterprises.tab.policy"),
    tr("enterprises.tab.sensitivity")])

with list_tab:
    counts = shown.grade.value_counts()
    cells = st.columns(len(GRADES) + 1)
    cells[0].metric(tr("enterprises.count"), i18n.format_number(len(shown), lang, 0))
    for cell, grade in zip(cells[1:], GRADES):
        cell.metric(tr("enterprises.grade_n", grade=grade), i18n.format_number(int(counts.get(grade, 0)), lang, 0))
    columns = ["name", "uscc", "park_id", "chain", "scale", "land_mu", "evaluated_class", "score", "grade", "rank"]
    view = shown[columns].assign(park_id=shown.park_id.map(lambda p: names.get(p, p) if pd.notna(p) else None),
                                 scale=shown.scale.map(lambda s: tr(f"enterprises.scale.{s}") if pd.notna(s) else None),
                                 evaluated_class=shown.evaluated_class.map(
                                     lambda c: tr(f"enterprises.class.{c}") if pd.notna(c) else None))
    st.dataframe(display.format_frame(view, lang, kinds={"park_id": "text", "scale": "text",
                                                         "evaluated_class": "text", "uscc": "id"}),
                 hide_index=True, width="stretch", height=360)
    enterprise_names = dict(zip(table.uscc, table.name))
    picked = st.selectbox(tr("enterprises.pick"), shown.uscc.tolist(), index=None, key=common.kept_key("ent_pick"),
                          placeholder=tr("enterprises.pick_hint"),
                          format_func=lambda u: f"{enterprise_names.get(u, u)}（{u}）")
    if picked:
        row = table.set_index("uscc").loc[picked]
        st.subheader(plain(row["name"]))
        head = st.columns(4)
        head[0].metric(tr("col.grade"), "–" if pd.isna(row.grade) else plain(row.grade))
        head[1].metric(tr("col.score"), display.format_value(row.score, "score", lang))
        head[2].metric(tr("col.rank"), display.format_value(row["rank"], "integer", lang))
        head[3].metric(tr("col.land_mu"), display.format_value(row.land_mu, "area_mu", lang))
        parcel_ids = [p for p in str(row.parcel_ids or "").split(";") if p]
        if parcel_ids and pd.notna(row.park_id):
            _, parts = common.scope_map((row.park_id,), highlight_ids=parcel_ids)
            st_folium(parts.base, key=f"ent_map_{picked}", feature_group_to_add=parts.overlay, height=420,
                      use_container_width=True, returned_objects=[])
        results = _evaluation(loc, rev, year, scheme_name).results(lang).set_index("uscc")
        indicators = pd.DataFrame(results.indicators.get(picked, []))
        if len(indicators):
            indicators["name"] = indicators.name.map(lambda k: indicator_label(k, lang))
            indicators["weight"] = indicators.weight / 100
            st.markdown(f"**{tr('enterprises.indicators')}**")
            st.dataframe(display.format_frame(indicators[["name", "value", "score", "weight", "contribution", "reason"]],
                                              lang, kinds={"value": "number", "reason": "text", "name": "text"},
                                              headers={"name": tr("enterprises.indicator"),
                                                       "reason": tr("enterprises.reason")}),
                         hide_index=True, width="stretch")
        else:
            st.caption(tr(f"enterprises.class.{row.evaluated_class}") if pd.notna(row.evaluated_class) else "–")
        st.markdown(f"**{tr('enterprises.history')}**")
        history = grade_history(common.store(), picked, scheme_name)
        history = history.assign(evaluated_class=history.evaluated_class.map(lambda c: tr(f"enterprises.class.{c}")))
        st.dataframe(display.format_frame(history, lang, kinds={"year": "id", "evaluated_class": "text",
                                                                "jurisdiction": "id"}),
                     hide_index=True, width="stretch")

with rank_tab:
    evaluation = _evaluation(loc, rev, year, scheme_name)
    figures = read_figures(common.store())
    by_park = ranking(evaluation, figures, parks, "park")
    by_park.insert(1, "name", by_park.park_id.map(names))
    st.markdown(f"**{tr('enterprises.rank_parks')}**")
    st.dataframe(display.format_frame(by_park.drop(columns="park_id"), lang), hide_index=True, width="stretch")
    by_county = ranking(evaluation, figures, parks, "county")
    by_county.insert(1, "name", by_county.district_code.map(county_names))
    st.markdown(f"**{tr('enterprises.rank_counties')}**")
    st.dataframe(display.format_frame(by_county, lang), hide_index=True, width="stretch")

with change_tab:
    if year - 1 not in years:
        st.caption(tr("enterprises.no_previous", year=year))
    else:
        changes = year_over_year(table, _table(loc, rev, year - 1, scheme_name))
        changes = changes.merge(table[["uscc", "name", "park_id"]], on="uscc", how="left")
        counts = changes.change.value_counts()
        cells = st.columns(5)
        for cell, change in zip(cells, ("up", "down", "same", "new", "not_graded")):
            cell.metric(tr(f"enterprises.change.{change}"), i18n.format_number(int(counts.get(change, 0)), lang, 0))
        moved = changes[changes.change.isin(["up", "down"])].assign(
            park_id=lambda f: f.park_id.map(lambda p: names.get(p, p) if pd.notna(p) else None),
            change=lambda f: f.change.map(lambda c: tr(f"enterprises.change.{c}")))
        st.dataframe(display.format_frame(moved[["name", "uscc", "park_id", "previous_grade", "grade", "change"]], lang,
                                          kinds={"uscc": "id", "park_id": "text", "previous_grade": "grade",
                                                 "change": "text"},
                                          headers={"previous_grade": tr("enterprises.previous_grade", year=year - 1),
                                                   "change": tr("enterprises.change")}),
                     hide_index=True, width="stretch", height=320)

with policy_tab:
    grade = st.selectbox(tr("enterprises.policy_grade"), list(GRADES), key=common.kept_key("ent_policy_grade", "D"))
    listed = policy_list(table, read_enterprises(common.store()), grade)
    st.caption(tr("enterprises.policy_note", n=i18n.format_number(len(listed), lang, 0), grade=grade))
    export = display.format_frame(listed, lang, kinds={"uscc": "id", "jurisdiction": "id"}, for_export=True)
    st.download_button(tr("enterprises.policy_download"), export_bytes(export, "xlsx", layer=f"grade_{grade}"),
                       file_name=f"policy_{year}_{grade}.xlsx", key=f"policy_{year}_{grade}_{scheme_name}",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    st.dataframe(display.format_frame(listed, lang, kinds={"uscc": "id", "jurisdiction": "id"}),
                 hide_index=True, width="stretch", height=300)

with sens_tab:
    table_s = sensitivity(_evaluation(loc, rev, year, scheme_name))
    table_s["indicator"] = table_s.indicator.map(lambda k: indicator_label(k, lang))
    for column in ("weight", "new_weight"):
        table_s[column] = table_s[column] / 100
    st.dataframe(display.format_frame(table_s, lang, kinds={"indicator": "text", "new_weight": "percent",
                                                            "changed": "integer", "up": "integer", "down": "integer",
                                                            "changed_share": "percent"}),
                 hide_index=True, width="stretch")

user = common.user()
if user is not ANONYMOUS and user.can("planner"):
    if st.button(tr("enterprises.save", year=year), key=f"ent_save_{year}_{scheme_name}"):
        try:
            save_evaluation(common.store(), _evaluation(loc, rev, year, scheme_name), user=user)
            st.success(tr("enterprises.saved", year=year))
        except ParkAtlasError as exc:
            common.show_error(exc)

if user is not ANONYMOUS and user.can("admin"):
    with st.expander(tr("enterprises.import")):
        st.caption(tr("enterprises.import_help"))
        upload = st.file_uploader(tr("enterprises.import_file"), type=["csv", "xlsx"], key="ent_import_file")
        if upload is not None:
            try:
                checked = read_enterprise_file(upload.getvalue(), upload.name, common.parcels().parcel_id,
                                               chains=read_chain_nodes(common.store()).chain.unique())
            except KeyedError as exc:  # the file as a whole, in the planner's words
                st.error(plain(file_error_text(exc, lang)))
                st.stop()
            except ParkAtlasError as exc:
                common.show_error(exc)
                st.stop()
            report = checked.report()
            st.caption(tr("enterprises.import_summary", rows=i18n.format_number(report["rows"], lang, 0),
                          enterprises=i18n.format_number(report["enterprises"], lang, 0),
                          problems=i18n.format_number(report["problem_count"], lang, 0)))
            if checked.problems:
                problems = pd.DataFrame({"row": [p["row"] for p in checked.problems],
                                         "column": [column_label(p["column"], lang) for p in checked.problems],
                                         "value": [p["value"] for p in checked.problems],
                                         "problem": [problem_text(p, lang) for p in checked.problems]})
                st.dataframe(display.format_frame(problems, lang, kinds={"row": "integer", "column": "text",
                                                                         "value": "text", "problem": "text"},
                                                  headers={"row": tr("enterprises.problem_row"),
                                                           "column": tr("enterprises.problem_column"),
                                                           "value": tr("enterprises.problem_value"),
                                                           "problem": tr("enterprises.problem")}),
                             hide_index=True, width="stretch")
                st.error(tr("enterprises.import_rejected"))
            elif st.button(tr("enterprises.import_commit"), key="ent_import_commit"):
                try:
                    done = import_enterprises(common.store(), checked.enterprises, checked.figures, user=user,
                                              leaders=checked.leaders)
                    st.success(tr("enterprises.imported",
                                  inserted=done["enterprises"]["inserted"] + done["enterprise_figures"]["inserted"],
                                  replaced=done["enterprises"]["replaced"] + done["enterprise_figures"]["replaced"]))
                except ParkAtlasError as exc:
                    common.show_error(exc)
