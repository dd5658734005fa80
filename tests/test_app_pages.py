"""The Streamlit pages under AppTest, against a private copy of the sample store."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app_pages.safe import plain
from geo import i18n
from geo.auth import User
from geo.availability import available_parcels
from geo.metrics import city_kpis, with_metrics
from tests.browser import set_enterprise
from tests.conftest import ROOT, vega_chart

XSS = "<img src=x onerror=alert(1)>"
TIMEOUT = 120


@pytest.fixture()
def app(store_path, monkeypatch):
    """The app on a private store; the Overview page has run once."""
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    monkeypatch.setenv("PARKATLAS_USERS", str(store_path.with_name("users.json")))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(table) -> pd.DataFrame:
    """An ``st.table``'s frame as it reads on the page (its cells are escaped Markdown)."""
    def unescape(text):
        return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)

    frame = table.value.map(unescape)
    frame.columns = [unescape(c) for c in frame.columns]
    return frame


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """Everything rendered as markdown, captions, titles or metrics (the places that parse markup)."""
    parts = [e.value for e in (*at.markdown, *at.caption, *at.title, *at.subheader)]
    parts += [str(m.value) for m in at.metric]
    return "\n".join(parts)


def test_a_store_that_cannot_be_opened_is_said_in_chinese(tmp_path, monkeypatch):
    """The database's failure (English for the CLI) is one Chinese line naming the store, the driver's
    words quoted for the administrator; no page runs on it."""
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not a database" * 100)
    monkeypatch.setenv("PARKATLAS_STORE", str(junk))
    monkeypatch.setenv("PARKATLAS_USERS", str(tmp_path / "users.json"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"无法打开数据库 {plain(str(junk))}：请把数据库的报错"
                                           f"“{plain('file is not a database')}”告知系统管理员。"]
    assert not at.title


def test_a_refusal_a_page_does_not_catch_is_one_line_in_chinese(app, monkeypatch):
    """app.py's last line of defence says a user error in the page's language (not "unexpected error")."""
    import geo.inefficient
    from geo.errors import unknown_park

    def gone(store, park_id, **kwargs):
        raise unknown_park(park_id)

    monkeypatch.setattr(geo.inefficient, "inefficient_land", gone)
    goto(app, "inefficient")
    park = app.selectbox(key="ineff_park").value
    assert [e.value for e in app.error] == [f"找不到园区 {plain(str(park))}（可能来自旧链接或其他城市的数据）：请从园区列表中重新选择。"]


def test_overview_shows_city_kpis_and_every_park(app, sample_parcels, sample_parks):
    assert app.title[0].value == "肇庆市园区总览"  # the store's city names the page
    city = city_kpis(with_metrics(sample_parcels), sample_parks)
    metrics = {m.label: m.value for m in app.metric[:6]}
    assert metrics["园区数"] == "11"
    assert metrics["可供地（亩）"] == i18n.format_number(city.available_area_mu, "zh", 0)
    assert metrics["用地率"] == i18n.format_percent_value(city.occupancy_rate, "zh")
    table = next(shown(t) for t in app.table if "园区" in t.value.columns)  # after the groups' KPI tables
    assert len(table) == 11 and set(table["园区"]) == set(sample_parks.name_zh)
    # One formatter: separators, fixed decimals, percentages; every cell text.
    hitech = table.set_index("园区").loc["肇庆高新区"]
    assert hitech["地块数"] == "2,600" and hitech["用地率"].endswith("%")
    # Whole 亩 as on the KPI cards, short headings, the units said once under the table.
    assert hitech["总面积"] == i18n.format_number(city_kpis(with_metrics(sample_parcels.loc[
        sample_parcels.park_id == "zq_hitech"]), sample_parks).total_area_mu, "zh", 0)
    assert all("." not in v for v in table["总面积"]) and all(len(v.split(".")[1]) == 1 for v in table["亩均产值"])
    assert any(c.value == "面积单位：亩；亩均产值、亩均税收单位：万元/亩。" for c in app.caption)
    # One set of KPI cards for the city and one per park group of the store's city, in its order.
    assert [s.value for s in app.subheader[:4]] == ["全市", "三大平台", "东部四园", "西部四园"]


def test_overview_charts_say_the_planners_words_largest_first(app):
    """Issue 19: the Overview's charts in value order (not the names' code points), their tooltips
    titled from the catalogue with the formatter's numbers, never a column name or a raw float."""
    (area_spec, area), (output_spec, output) = (vega_chart(c) for c in app.get("vega_lite_chart"))
    for spec in (area_spec, output_spec):
        assert spec["encoding"]["y"]["sort"] is None  # the data's order
        assert [t["title"] for t in spec["encoding"]["tooltip"]][0] == "园区"
    assert [t["title"] for t in output_spec["encoding"]["tooltip"]] == ["园区", "亩均产值（万元/亩）"]
    assert output.value.is_monotonic_decreasing and len(output) == 11
    assert output.shown.iloc[0] == f"{output.value.iloc[0]:,.1f}"
    occupied = area.loc[area.series == "已用地（亩）"].reset_index(drop=True)
    available = area.loc[area.series == "可供地（亩）"].reset_index(drop=True)
    assert (occupied.value + available.value).is_monotonic_decreasing
    assert available.shown.iloc[0] == f"可供地（亩）：{available.value.iloc[0]:,.2f}"


def test_overview_charts_keep_two_parks_of_one_name_apart(app, store_path):
    """Bars are keyed by park id and labelled by name: a park renamed like another is its own bar (keyed
    by name, Vega-Lite had stacked both parks into one bar), its axis label and tooltip the shared name."""
    from geo.store import open_store

    store = open_store(store_path)
    parks = store.read_parks().set_index("park_id")
    store.update_park("dz_park", {"name_zh": parks.at["zq_hitech", "name_zh"]}, user=User("root", "admin"))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    for spec, data in (vega_chart(c) for c in app.get("vega_lite_chart")):
        assert spec["encoding"]["y"]["field"] == "category" and spec["encoding"]["tooltip"][0]["field"] == "label"
        bars = data.drop_duplicates("category").set_index("category").label
        assert len(bars) == 11 and set(bars.index) == set(parks.index)
        assert bars["dz_park"] == bars["zq_hitech"] == parks.at["zq_hitech", "name_zh"]
        lookup, tail = spec["encoding"]["y"]["axis"]["labelExpr"].rsplit("[", 1)
        assert tail == "datum.value]" and json.loads(lookup) == bars.to_dict()


def test_overview_lists_idle_land_warnings(app, sample_parcels):
    from datetime import date

    from geo.metrics import idle_land_warnings

    expected = idle_land_warnings(sample_parcels, date.today())
    heading = next(i for i, s in enumerate(app.subheader) if s.value == "闲置土地预警")
    assert heading and any(f"共 {len(expected):,} 宗闲置土地" in c.value and "国土资源部令第53号" in c.value
                           for c in app.caption)
    table = next(d.value for d in app.dataframe if "处置" in d.value.columns)
    assert len(table) == len(expected)
    assert set(table["处置"]) == {i18n.t(f"idle.rule.{r}", "zh") for r in set(expected.rule)}
    assert "idle_fee" not in table.to_string() and "government" not in table.to_string()


def test_language_switch_to_english(app):
    app.radio(key="lang").set_value("en").run()
    assert app.title[0].value == "Zhaoqing parks overview"
    assert any("Park" in t.value.columns for t in app.table)
    assert app.metric[0].label == "Parks"


def test_language_switch_keeps_choices_and_relabels_them(app):
    goto(app, "park")
    app.selectbox(key="park_select.zh").set_value("dz_park").run()
    app.selectbox(key="park_theme.zh").set_value("grade").run()
    app.radio(key="lang").set_value("en").run()
    assert not app.exception and not app.warning
    park, theme = app.selectbox(key="park_select.en"), app.selectbox(key="park_theme.en")
    assert (park.value, theme.value) == ("dz_park", "grade")
    assert park.options[park.index] == "Duanzhou District Industrial Park (illustrative)"
    assert theme.options[theme.index] == "Per-mu grade"
    goto(app, "available")
    app.multiselect(key="avail_statuses.en").set_value(["idle"]).run()
    app.radio(key="lang").set_value("zh").run()
    assert app.multiselect(key="avail_statuses.zh").value == ["idle"]
    assert not app.warning


def test_overview_park_choice_opens_the_park_page(app):
    app.selectbox(key="overview_open_park.zh").set_value("dz_park").run()
    assert not app.exception
    assert app.title[0].value == plain("端州区产业园(示意)")  # a park name is data: Markdown-escaped
    assert app.query_params["park"] == ["dz_park"] or app.query_params["park"] == "dz_park"


def legend_labels(at: AppTest) -> list[str]:
    """Labels of the Park page's legend: the items of the map legend in the map's themed overlay."""
    args = json.loads(at.get("component_instance")[0].proto.json_args)
    items = re.search(r"var items = (\[.*?\]);", args["feature_group"])
    return [label for _, label in json.loads(items.group(1))]


def test_park_page_themes_and_legend(app):
    goto(app, "park")
    assert app.selectbox(key="park_select.zh").value == "zq_hitech"
    assert any(label.startswith("已投产") for label in legend_labels(app))
    app.selectbox(key="park_theme.zh").set_value("output_per_mu_wan").run()
    assert len(legend_labels(app)) in (5, 6)  # five classes, plus "no data" for parcels without an enterprise
    assert not app.selectbox(key="park_scheme.zh").disabled
    app.selectbox(key="park_scheme.zh").set_value("natural_breaks").run()
    assert not app.exception
    app.selectbox(key="park_theme.zh").set_value("grade").run()
    assert [label.split(" ")[0] for label in legend_labels(app)][:4] == ["A", "B", "C", "D"]


def test_park_page_sends_its_parcels_once_in_a_carrier_not_with_every_theme(app):
    import html

    goto(app, "park")
    carrier = next(h.proto.body for h in app.get("html") if "data-parkatlas-features" in h.proto.body)
    features = [json.loads(html.unescape(v)) for v in re.findall(r'data-parkatlas-features="[0-9a-f]+">([^<]*)<', carrier)]
    assert len(features[0]["features"]) == 2600  # the park's parcels (then the districts' outlines)
    for theme in ("land_use", "grade"):
        app.selectbox(key="park_theme.zh").set_value(theme).run()
        args = json.loads(app.get("component_instance")[0].proto.json_args)
        assert "zq_hitech-000001" not in args["script"] + args["feature_group"]  # only classes travel
        assert len(args["script"]) + len(args["feature_group"]) < 60_000
        # Same features, same element: Streamlit sends its reference, not the element again.
        assert next(h.proto.body for h in app.get("html") if "data-parkatlas-features" in h.proto.body) == carrier


def test_park_page_switches_park(app):
    goto(app, "park")
    app.selectbox(key="park_select.zh").set_value("gn_hitech").run()
    assert app.title[0].value == "广宁县高新工业园二期"
    assert "300 个地块" in app.caption[-1].value or any("300 个地块" in c.value for c in app.caption)


def test_parcel_details_show_hostile_text_as_data(store_path, monkeypatch):
    set_enterprise(store_path, "zq_hitech-000001", XSS)
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    goto(at, "park")
    # The search over the park's 2,600 parcels is drawn only when asked for (it slowed every page load).
    assert "park_pick_zq_hitech" not in [s.key for s in at.selectbox]
    at.toggle(key="park_pick_open").set_value(True).run()
    assert len(at.selectbox(key="park_pick_zq_hitech").options) == 2600
    at.selectbox(key="park_pick_zq_hitech").set_value("zq_hitech-000001").run()
    assert not at.exception
    details = at.dataframe[-1].value
    values = dict(zip(details["字段"], details["值"]))
    assert values["企业"] == XSS  # shown verbatim in a dataframe cell (rendered as text)
    assert values["地块编号"] == "zq_hitech-000001"
    assert {"亩均等级", "面积（亩）", "容积率", "数据截至"} <= set(values)
    assert XSS not in texts(at)


def test_city_page_holds_every_parcel_and_shows_details_by_id(app, store_path, sample_parcels):
    from app_pages import common
    from geo.store import open_store
    from layers.tiles import CanvasParcelLayer

    goto(app, "city")
    assert app.title[0].value == "全市地块"
    assert any(i18n.format_number(len(sample_parcels), "zh", 0) in c.value for c in app.caption)
    # The page's cached map (shared in this process): one canvas layer with every parcel of the store.
    m, locator, n = common._city_view(str(store_path), str(open_store(store_path).revision()), "zh", "none",
                                      "/app/static")
    layers = [child for child in m._children.values() if isinstance(child, CanvasParcelLayer)]
    assert n == len(sample_parcels) and len(layers) == 1
    assert json.loads(layers[0].encoded)["n"] == len(sample_parcels)
    target = sample_parcels.iloc[len(sample_parcels) // 2]
    inner = sample_parcels.iloc[[len(sample_parcels) // 2]].to_crs(4326).representative_point().iloc[0]
    assert locator.at(inner.y, inner.x) == target.parcel_id
    # The details panel for a parcel id (what a click fills in).
    app.text_input(key="city_parcel_id").input(target.parcel_id).run()
    assert not app.exception
    values = dict(zip(app.dataframe[-1].value["字段"], app.dataframe[-1].value["值"]))
    assert values["地块编号"] == target.parcel_id
    app.text_input(key="city_parcel_id").input("no-such-parcel").run()
    assert app.warning[0].value == i18n.t("city.unknown", "zh")
    app.radio(key="lang").set_value("en").run()
    assert app.title[0].value == "All parcels of the city"


def test_available_land_filters(app, sample_parcels):
    goto(app, "available")
    parcels = with_metrics(sample_parcels)
    expected = available_parcels(parcels)
    table = app.dataframe[0].value
    assert len(table) == len(expected)
    app.checkbox(key="avail_ready").check().run()
    ready = available_parcels(parcels, ready_only=True)
    assert len(app.dataframe[0].value) == len(ready) < len(expected)
    app.multiselect(key="avail_parks.zh").set_value(["zq_hitech"]).run()
    table = app.dataframe[0].value
    assert len(table) == len(available_parcels(parcels, ready_only=True, park_ids=["zq_hitech"]))
    assert set(table["园区"]) == {"肇庆高新区"}


def test_available_land_statuses_and_area(app, sample_parcels):
    goto(app, "available")
    parcels = with_metrics(sample_parcels)
    app.multiselect(key="avail_statuses.zh").set_value(["idle"]).run()
    app.number_input(key="avail_min_area").set_value(10.5).run()
    app.number_input(key="avail_max_area").set_value(50.0).run()
    expected = available_parcels(parcels, statuses=["idle"], min_area_mu=10.5, max_area_mu=50)
    assert len(app.dataframe[0].value) == len(expected) > 0
    # "All industrial" is one choice: every class of 1001.
    app.multiselect(key="avail_land_use.zh").set_value(["1001"]).run()
    industrial = available_parcels(parcels, statuses=["idle"], min_area_mu=10.5, max_area_mu=50,
                                   land_use_codes=["1001"])
    assert len(app.dataframe[0].value) == len(industrial) > 0
    assert set(industrial.land_use_code.str[:4]) == {"1001"}
    # A minimum above the maximum is said in the page's language, not the core's English (the
    # markdown escapes of plain() removed).
    app.number_input(key="avail_min_area").set_value(60.0).run()
    assert [e.value.replace("\\", "") for e in app.error] == [
        "最小面积 60.0 亩大于最大面积 50.0 亩：请调小最小面积或调大最大面积（0 表示不限）。"]


def test_available_land_blocks(app):
    goto(app, "available")
    app.multiselect(key="avail_parks.zh").set_value(["dz_park"]).run()
    matches, blocks = app.dataframe[0].value, app.dataframe[1].value
    assert blocks["地块"].str.split("、").map(len).sum() == len(matches)
    def mu(column):  # shown as planners write them: "1,234.56"
        return column.str.replace(",", "").astype(float).sum()

    assert mu(blocks["面积（亩）"]) == pytest.approx(mu(matches["面积（亩）"]), abs=0.01 * len(blocks))


def test_data_page_summary_and_import_is_admin_only(app, sample_parks):
    goto(app, "data")
    summary = shown(app.table[0]).set_index("字段")["值"]
    assert summary["合成示例数据"] == "是" and summary["地块数"] == "10,000"
    assert {"城市行政区划代码", "城市名称（中文）"} <= set(summary.index)  # no raw keys such as city_adcode
    assert not any("_" in str(key) for key in summary.index)
    assert summary["说明"] == i18n.t("dataset.sample_note", "zh") and "SYNTHETIC" not in summary["说明"]
    as_of = app.dataframe[0].value
    assert len(as_of) == len(sample_parks)
    assert "2,600" in set(as_of["地块数"])  # counts grouped like every count (the High-tech Zone's 2,600)
    assert any(i18n.t("data.import_admin_only", "zh") in e.value for e in app.info)
    assert not app.get("file_uploader")


def upload_geojson(at: AppTest, frame) -> AppTest:
    at.file_uploader(key="import_file").set_value(("new.geojson", frame.to_json().encode(), "application/geo+json"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_admin_imports_a_file_after_reading_the_report(app, store_path):
    from geo.store import open_store
    from geo.testing import make_parcels

    app.session_state["user"] = User("root", "admin")
    goto(app, "data")
    new = make_parcels([(0, 0, 200, 200), (300, 0, 500, 200)], park_id="zq_hitech",
                       parcel_id=["NEW-1", "NEW-2"], enterprise=[XSS, "{{ 7*7 }}"])
    upload_geojson(app, new)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["读取要素"] == "2" and metrics["可导入"] == "2"
    before = len(open_store(store_path).read_parcels())
    app.button(key="import_commit").click().run()
    assert not app.exception and app.success
    stored = open_store(store_path).read_parcels().set_index("parcel_id")
    assert len(stored) == before + 2
    assert stored.loc["NEW-1", "enterprise"] == XSS and stored.loc["NEW-2", "enterprise"] == "{{ 7*7 }}"


def test_rejected_upload_is_one_line_and_changes_nothing(app, store_path):
    app.session_state["user"] = User("root", "admin")
    goto(app, "data")
    original = store_path.read_bytes()
    app.file_uploader(key="import_file").set_value(("broken.geojson", b"{not json", "application/geo+json"))
    app.run()
    assert not app.exception
    assert len(app.error) == 1 and "\n" not in app.error[0].value
    assert "import_commit" not in [b.key for b in app.button]
    assert store_path.read_bytes() == original
    # The refusal in the planner's words: a broken file and a zip missing a shapefile part, in Chinese.
    from tests.test_import_refusals_zh import english_words

    assert plain("broken.geojson") in app.error[0].value
    assert not english_words(app.error[0].value, {"file": plain("broken.geojson")}), app.error[0].value
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("县界.shp", b"x")
        archive.writestr("县界.dbf", b"x")
    app.file_uploader(key="import_file").set_value(("县.zip", buffer.getvalue(), "application/zip"))
    app.run()
    assert [e.value for e in app.error] == [i18n.t("import.refused.zip_shapefile_part", "zh", name=plain("县界.shp"),
                                                   part=plain(".shx"))]
    assert store_path.read_bytes() == original


def test_viewer_cannot_import_even_with_a_forged_session(app, store_path):
    # A viewer never gets the uploader; the store refuses the write anyway (role checked there).
    from geo.errors import PermissionDenied
    from geo.io import commit_import, read_upload
    from geo.store import open_store
    from geo.testing import make_parcels

    goto(app, "data")
    assert not app.get("file_uploader")
    result = read_upload(make_parcels([(0, 0, 100, 100)], park_id="zq_hitech").to_json().encode(), "x.geojson")
    with pytest.raises(PermissionDenied):
        commit_import(open_store(store_path), result, User("guest", "viewer"))


def test_login_panel_signs_in_a_planner(app, store_path):
    from geo.auth import add_user

    add_user("li", "s3cret-pass", "planner", path=store_path.with_name("users.json"))
    app.run()
    app.text_input[0].input("li")
    app.text_input[1].input("wrong")
    app.button[0].click().run()
    assert any(i18n.t("sidebar.login_failed", "zh") in e.value for e in app.error)
    app.text_input[0].input("li")
    app.text_input[1].input("s3cret-pass")
    app.button[0].click().run()
    assert app.session_state["user"] == User("li", "planner")
    assert any("li" in c.value and "planner" in c.value for c in app.sidebar.caption)


def test_an_upload_stays_in_its_own_session(app, store_path):
    from geo.testing import make_parcels

    app.session_state["user"] = User("a", "admin")
    goto(app, "data")
    upload_geojson(app, make_parcels([(0, 0, 200, 200)], park_id="zq_hitech", parcel_id=["A-ONLY"]))
    assert "import_commit" in [b.key for b in app.button]
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    other.session_state["user"] = User("b", "admin")
    other.run()
    goto(other, "data")
    assert "import_commit" not in [b.key for b in other.button]
    assert "读取要素" not in [m.label for m in other.metric]


def test_a_bad_store_location_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PARKATLAS_STORE", str(tmp_path / "parks.txt"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and ".gpkg" in at.error[0].value


def test_planner_guide_page_shows_the_guide_and_its_screenshots(app):
    goto(app, "guide")
    assert app.markdown[0].value.startswith("# ParkAtlas 规划人员使用指南")
    assert len(app.get("image")) == 6
