"""Overview: the city map of the parks, KPI cards per city and park group, per-park table and charts."""
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from app_pages.safe import plain_table
from geo import display, i18n
from geo.idle import SOURCE as IDLE_SOURCE
from geo.metrics import idle_land_warnings
from geo.standards import load_standards
from layers import charts, webmap

#: The per-park table's container (its CSS class ``st-key-…`` scopes the table's one-line cells).
OVERVIEW_TABLE = "overview_park_table"

lang = common.lang()
tr = common.tr
city_info = common.city()
st.title(tr("overview.heading", city=city_info.name(lang)) if city_info.name(lang) else tr("overview.heading_plain"))
if str(common.dataset_info().get("synthetic", "")).lower() == "true":
    st.caption(tr("app.synthetic"))

city, groups, park_table = common.kpis()


def kpi_values(row: pd.Series) -> list[tuple[str, str]]:
    """(label, value) of the six KPIs of a city or group row."""
    return [
        (tr("kpi.parks"), i18n.format_number(row.get("park_count"), lang, 0)),
        (tr("kpi.total_area"), i18n.format_number(row.get("total_area_mu"), lang, 0)),
        (tr("kpi.available_area"), i18n.format_number(row.get("available_area_mu"), lang, 0)),
        (tr("kpi.occupancy"), i18n.format_percent_value(row.get("occupancy_rate"), lang)),
        (tr("kpi.output_per_mu"), i18n.format_number(row.get("output_per_mu_wan"), lang, 1)),
        (tr("kpi.tax_per_mu"), i18n.format_number(row.get("tax_per_mu_wan"), lang, 1)),
    ]


def kpi_cards(row: pd.Series, per_row: int = 6) -> None:
    """Six KPI metrics of a city or group row, ``per_row`` to a row."""
    values = kpi_values(row)
    for start in range(0, len(values), per_row):
        for col, (label, value) in zip(st.columns(per_row), values[start:start + per_row]):
            col.metric(label, value)


st.subheader(tr(f"city.whole.{city_info.kind}"))
kpi_cards(city)
st.caption(tr("overview.industrial_classes", codes="、".join(load_standards().industrial_codes)))
for column, group in zip(st.columns(max(len(city_info.groups), 1)), city_info.group_ids):
    row = groups.loc[groups.group == group]
    with column.container(border=True):
        st.subheader(city_info.group_name(group, lang))
        if not row.empty:  # a narrow card: a table shows whole numbers where metrics were cut ("338,…")
            st.table(plain_table(pd.DataFrame(kpi_values(row.iloc[0]), columns=[tr("col.field"), tr("col.value")])),
                     hide_index=True, hide_header=True)

st.caption(tr("overview.map_hint"))
parts = webmap.city_map_parts(common.parks(), common.districts(), lang=lang, city=city_info,
                              district_features=common.district_features(), **common.map_options())
state = st_folium(parts.base, key="overview_map", feature_group_to_add=parts.overlay, height=520,
                  use_container_width=True, returned_objects=["last_active_drawing", "last_object_clicked"])
clicked = webmap.clicked_id(state, common.parks().park_id)
click_key = (clicked, str((state or {}).get("last_object_clicked")))
if clicked and st.session_state.get("overview_click") != click_key:
    st.session_state["overview_click"] = click_key
    common.open_park(clicked)

st.subheader(tr("overview.table"))
name_col = "name_zh" if lang == "zh" else "name_en"
columns = ["name", "group", "parcel_count", "total_area_mu", "available_area_mu", "occupancy_rate", "plot_ratio",
           "output_per_mu_wan", "tax_per_mu_wan", "data_as_of"]
# Text cells from the one formatter (separators, fixed decimals) in a static table: every column shows
# whole, in the parks' own order. Whole 亩 as on the KPI cards, and short headings with the units in a
# caption, so that at a 1400 px window every cell reads on one line (the units in each heading and
# two decimals had wrapped the group names and dates: "三大平/台", "2026-10-/13"); only a park's name
# may wrap, between words (English names run to sixty letters).
table = display.format_frame(park_table.assign(name=park_table[name_col])[columns], lang,
                             kinds={"total_area_mu": "integer", "available_area_mu": "integer"},
                             headers={"name": tr("col.park"), "parcel_count": tr("col.parcels"),
                                      **{c: tr(f"overview.col.{c}") for c in columns if c.endswith(("_mu", "_wan"))}},
                             city=city_info)
st.html(f"<style>.st-key-{OVERVIEW_TABLE} :is(th, td):not(:first-child) p {{ white-space: nowrap; }}</style>")
with st.container(key=OVERVIEW_TABLE):
    st.table(plain_table(table), hide_index=True)
st.caption(tr("overview.table_units"))

park_choice = st.selectbox(tr("park.choose"), park_table.park_id.tolist(), index=None,
                           format_func=lambda pid, names=common.park_names(): str(names[pid]),
                           key=common.lang_key("overview_open_park"))
if park_choice:
    common.open_park(park_choice)

chart_area, chart_output = st.columns(2)
chart = park_table.set_index("park_id")  # bars by park (names may repeat), labelled by name
bar_names = chart[name_col]
# Bars in the order of their value (largest on top), not in the code-point order of the names.
by_area = chart.assign(_total=chart.available_area_mu + chart.occupied_area_mu).sort_values("_total", ascending=False)
by_output = chart.sort_values("output_per_mu_wan", ascending=False)
with chart_area:
    st.caption(tr("overview.chart_area"))
    st.vega_lite_chart(*charts.bar_chart(by_area[["available_area_mu", "occupied_area_mu"]].rename(columns={
        "available_area_mu": tr("col.available_area_mu"), "occupied_area_mu": tr("col.occupied_area_mu")}),
        kind="area_mu", lang=lang, category_title=tr("col.park"), value_title=tr("overview.chart_area"),
        labels=bar_names),
        width="stretch")
with chart_output:
    st.caption(tr("overview.chart_output"))
    st.vega_lite_chart(*charts.bar_chart(by_output[["output_per_mu_wan"]], kind="wan_per_mu", lang=lang,
                                         category_title=tr("col.park"), value_title=tr("col.output_per_mu_wan"),
                                         labels=bar_names),
                       width="stretch")

# Idle land (闲置土地处置办法): every parcel idle today, by park, the longest overdue first.
st.subheader(tr("overview.idle"))
warnings = idle_land_warnings(common.parcels())
st.caption(tr("overview.idle_caption", n=i18n.format_number(len(warnings), lang, 0), source=IDLE_SOURCE))
if not warnings.empty:
    shown = warnings[["park_id", "parcel_id", "enterprise", "idle_case", "rule", "clock_start", "one_year_on",
                      "days_overdue", "delay_reason"]].assign(
        park_id=warnings.park_id.map(common.park_names()),
        idle_case=warnings.idle_case.map(lambda c: tr(f"idle.case.{c}")),
        rule=warnings.rule.map(lambda r: tr(f"idle.rule.{r}")))
    st.dataframe(display.format_frame(shown, lang, {"park_id": "text", "clock_start": "date", "one_year_on": "date",
                                                    "days_overdue": "integer", "delay_reason": "text"},
                                        headers={"park_id": tr("col.park")}),
                 hide_index=True, width="stretch")

# The project register's warnings (docs/projects.md): the reddest first, each opening its project.
register_warnings = common.project_warnings()
st.subheader(tr("overview.project_warnings"))
if register_warnings.empty:
    st.caption(tr("projects.no_warnings"))
else:
    levels = register_warnings.level.value_counts()
    cards = st.columns(3)
    for card, level in zip(cards, ("red", "yellow", "info")):
        card.metric(tr(f"level.{level}"), i18n.format_number(int(levels.get(level, 0)), lang, 0))
    top = register_warnings.head(10)
    st.dataframe(display.format_frame(pd.DataFrame({
        "level": top.level.map(lambda v: tr(f"level.{v}")), "kind": top.kind.map(lambda k: tr(f"warning.{k}")),
        "project": "/projects?project=" + top.project_id, "name": top["name"],
        "reason": top.reason_zh if lang == "zh" else top.reason_en}), lang,
        kinds={"level": "text", "kind": "text", "project": "text"},
        headers={"level": tr("projects.col_level"), "kind": tr("projects.col_kind"), "project": tr("projects.col_project_id"),
                 "name": tr("projects.col_name"), "reason": tr("projects.col_reason")}),
        hide_index=True, width="stretch",
        column_config={tr("projects.col_project_id"): st.column_config.LinkColumn(display_text=r"project=(.*)")})
