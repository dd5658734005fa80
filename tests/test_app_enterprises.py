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
