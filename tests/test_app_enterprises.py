"""The Enterprises and Inefficient land pages under AppTest, on a private copy of the sample store."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from geo.auth import User
from geo.evaluation import evaluate, year_over_year
from geo.store.gpkg import GpkgStore
from tests.conftest import ROOT

TIMEOUT = 240


@pytest.fixture()
def app(store_path, monkeypatch):
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    monkeypatch.setenv("PARKATLAS_USERS", str(store_path.with_name("users.json")))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    return at


def widget(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_enterprises_page_grades_indicators_and_policy_list(app, store_path):
    goto(app, "enterprises")
    assert app.title[0].value == "企业亩均评价"
    evaluation = evaluate(GpkgStore(store_path))
    graded = evaluation.table.dropna(subset=["grade"])
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["A 类"] == f"{(graded.grade == 'A').sum():,}"
    # Year over year (2025 against 2024): as many up and down as the evaluation of both years says.
    before = evaluate(GpkgStore(store_path), 2024).table
    changes = year_over_year(evaluation.table, before).change.value_counts()
    assert (metrics["上升"], metrics["下降"]) == (f"{changes['up']:,}", f"{changes['down']:,}")
    # Filter to grade D of one park, then open an enterprise: its indicators carry reasons.
    widget(app.multiselect, "等级").set_value(["D"]).run()
    table = app.dataframe[0].value
    assert set(table["亩均等级"]) == {"D"}
    uscc = table["统一社会信用代码"].iloc[0]
    widget(app.selectbox, "查看企业").set_value(uscc).run()
    assert not app.exception, [e.value for e in app.exception]
    indicators = app.dataframe[1].value
    assert "亩均税收" in set(indicators["指标"]) and indicators["说明"].str.contains("权重").all()
    expected = graded.set_index("uscc").grade[uscc]
    assert {m.label: m.value for m in app.metric}["亩均等级"] == expected == "D"
    assert not any("e+0" in str(v) or "None" in str(v) for v in table.to_numpy().ravel())
    # The scheme note says where the chosen scheme grades: county pools (the preset), the whole city (one city's).
    assert any("等级在企业所属县（市、区）范围内评定" in c.value for c in app.caption)
    widget(app.selectbox, "评价方案").set_value("one_city_25_45_25_5").run()
    notes = [c.value for c in app.caption if c.value.startswith("方案：")]
    assert len(notes) == 1 and "等级在全市范围内评定" in notes[0] and "县" not in notes[0]
    app.session_state["lang"] = "en"
    app.run()
    assert any("Grades are set across the whole city" in c.value for c in app.caption)


def test_inefficient_page_lists_candidates_and_a_planner_confirms(app, store_path):
    goto(app, "inefficient")
    assert app.title[0].value == "低效用地"
    candidates = app.dataframe[0].value
    assert len(candidates) > 0 and candidates["说明"].str.len().min() > 0
    app.session_state["user"] = User("pat", "planner")
    app.run()
    pick = candidates[candidates["状态"] != "低效用地"]["地块编号"].iloc[0]
    widget(app.multiselect, "要认定的地块").set_value([pick]).run()
    app.button(key="ineff_confirm").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(pick in s.value for s in app.success)
    store = GpkgStore(store_path)
    assert store.read_parcels().set_index("parcel_id").status[pick] == "inefficient"
    assert store.history(parcel_id=pick).iloc[-1].user == "pat"


# --- importing an enterprise file from the page ------------------------------------------------
def enterprise_csv(rows: list[dict]) -> bytes:
    """A planner's file with Chinese headers, as the bureau's statistics office sends it."""
    import pandas as pd

    from geo.enterprise import enterprise_file_frame, split_file_table

    table = pd.DataFrame(rows)
    enterprises, figures = split_file_table(table)
    return enterprise_file_frame(enterprises, figures, chinese=True).to_csv(index=False).encode("utf-8")


def new_enterprise(store_path, **changes) -> dict:
    from geo.uscc import make_uscc

    parcel = GpkgStore(store_path).read_parcels().parcel_id.iloc[0]
    row = {"uscc": make_uscc("9144120000MA5UTP1"), "name": "测试新能源有限公司", "industry_code": "38",
           "chain": None, "chain_leader": "", "scale": "above", "parcel_ids": parcel, "leased_floor_m2": float("nan"),
           "production_start": "2018-03-01", "year": 2025.0, "sales_wan": 52_000.0, "value_added_wan": 12_000.0,
           "tax_wan": 2_100.0, "energy_tce": 900.0, "emissions_t": float("nan"), "rd_wan": 1_500.0, "employees": 320}
    return {**row, **changes}


def upload(at: AppTest, name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    at.file_uploader(key="ent_import_file").set_value((name, data, mime))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_enterprise_upload_is_admin_only_translated_and_all_or_nothing(app, store_path):
    goto(app, "enterprises")
    assert not [u for u in app.get("file_uploader") if u.key == "ent_import_file"]  # anonymous viewer
    app.session_state["user"] = User("pat", "planner")
    app.run()
    assert not [u for u in app.get("file_uploader") if u.key == "ent_import_file"]  # planners evaluate, admins import
    app.session_state["user"] = User("root", "admin")
    app.run()
    original = store_path.read_bytes()
    # One good row and one with a mistyped code on a parcel the store does not have: nothing is taken.
    good = new_enterprise(store_path)
    bad = new_enterprise(store_path, uscc=good["uscc"][:17] + ("1" if good["uscc"][17] != "1" else "2"),
                         name="错码企业", parcel_ids="NO-SUCH-PARCEL")
    upload(app, "企业数据.csv", enterprise_csv([good, bad]))
    problems = app.dataframe[-1].value
    assert set(problems.columns) == {"行号", "列", "值", "问题"}
    assert {"统一社会信用代码", "地块编号"} <= set(problems["列"])
    text = " ".join(problems["问题"])
    assert "校验位" in text and "数据库中没有地块 NO-SUCH-PARCEL" in text
    assert not any(word in text for word in ("social", "unknown", "parcel"))  # nothing English on a Chinese page
    assert any("未写入任何数据" in e.value for e in app.error)
    assert "ent_import_commit" not in [b.key for b in app.button]
    assert store_path.read_bytes() == original
    # A file without the required columns is refused in one translated line, naming them as the file would.
    upload(app, "缺列.csv", "统一社会信用代码,年度\n9144120000MA5UTP1X,2025\n".encode("utf-8"))
    assert any(e.value.startswith("文件缺少必需的列：企业名称、企业规模") for e in app.error)
    assert store_path.read_bytes() == original


def test_admin_imports_an_enterprise_file_after_reading_the_summary(app, store_path):
    from geo.enterprise import read_enterprises, read_figures

    app.session_state["user"] = User("root", "admin")
    goto(app, "enterprises")
    store = GpkgStore(store_path)
    known = read_enterprises(store).iloc[0]
    year = int(read_figures(store).year.max())
    update = new_enterprise(store_path, uscc=known.uscc, name=known["name"], scale=known.scale,
                            parcel_ids=known.parcel_ids, production_start=known.production_start, year=float(year),
                            tax_wan=4_321.0)
    fresh = new_enterprise(store_path)
    upload(app, "enterprises.csv", enterprise_csv([update, fresh]))
    assert any(c.value == "共 2 行，2 家企业，问题 0 处。" for c in app.caption)
    app.button(key="ent_import_commit").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("已写入" in s.value for s in app.success)
    store = GpkgStore(store_path)
    figures = read_figures(store, year).set_index("uscc")
    assert figures.loc[known.uscc, "tax_wan"] == 4_321.0
    assert fresh["uscc"] in set(read_enterprises(store).uscc)
    audit = store.history()
    assert (audit.action == "enterprise_import").any() and audit[audit.action == "enterprise_import"].user.iloc[-1] == "root"
