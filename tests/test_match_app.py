"""The Match page (Streamlit AppTest): form → ranked candidates; reserving needs a planner."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.safe import plain
from geo.auth import User
from geo.i18n import label_status
from geo.matching import load_weights
from geo.store import open_store

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "match.py")


@pytest.fixture()
def page(store_path, monkeypatch):
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["lang"] = "en"
    return at


def _submit(at):
    next(b for b in at.button if b.label == "Match").click()
    return at.run()


def _planner_matches(at, name: str):
    """A signed-in planner submits the default project named ``name``; returns the candidate table."""
    at.session_state["user"] = User("planner1", "planner")
    at.run()
    at.text_input(key="m_name").input(name)
    _submit(at)
    return at.dataframe[1].value


def test_form_gives_ranked_candidates_read_only_for_anonymous(page):
    page.run()
    assert not page.exception
    assert any("Fill in the project" in i.value for i in page.info)
    page.text_input(key="m_name").input("<img src=x onerror=alert(1)>")
    _submit(page)
    assert not page.exception
    candidates = page.dataframe[1].value
    assert len(candidates) == 10
    assert list(candidates["Rank"]) == [str(r) for r in range(1, 11)]
    assert candidates["Score"].astype(float).is_monotonic_decreasing
    assert not [b for b in page.button if b.label.startswith("Reserve for this project")]
    assert any("read-only" in c.value for c in page.caption)


def test_planner_reserves_and_the_parcel_leaves_the_ranking(page, store_path):
    first = _planner_matches(page, "储能项目")
    best = first.iloc[0, 3]
    button = next(b for b in page.button if b.label.startswith("Reserve for this project"))
    assert button.label == plain(f"Reserve for this project: parcel(s) {best}")
    button.click()
    page.run()
    assert not page.exception
    assert page.success[0].value == plain(f"Reserved: {best} (project “储能项目”)")
    reserved = open_store(store_path).read_parcels()
    row = reserved.loc[reserved.parcel_id == best].iloc[0]
    assert row.status == "reserved" and row.reserved_project == "储能项目" and row.reserved_by == "planner1"
    after = page.dataframe[1].value
    assert best not in list(after.iloc[:, 3])
    page.multiselect(key="m_release_ids").select(best).run()
    next(b for b in page.button if b.label == "Release").click()
    page.run()
    assert not page.exception
    assert open_store(store_path).read_parcels().set_index("parcel_id").at[best, "status"] != "reserved"


def test_language_switch_relabels_the_form_and_keeps_the_choices(page):
    page.session_state["lang"] = "zh"
    page.run()
    page.selectbox(key="m_scope.zh").set_value("zq_hitech")
    page.multiselect(key="m_groups.zh").set_value(["east"])
    next(b for b in page.button if b.label == "匹配").click()  # form values count once submitted
    page.run()
    assert page.title[0].value == "项目匹配"
    page.session_state["lang"] = "en"
    page.run()
    assert not page.exception
    assert page.title[0].value == "Match a project to land"
    scope = page.selectbox(key="m_scope.en")
    assert scope.value == "zq_hitech" and scope.options[0] == "All parks"
    groups = page.multiselect(key="m_groups.en")
    assert groups.value == ["east"] and "肇庆高新区" not in scope.options


def test_reserve_takes_the_parcels_shown_even_if_another_planner_took_one(page, store_path):
    """Issue 21 item 1: the displayed #1 reserved meanwhile (CLI, another tab) → nothing reserved, told by whom."""
    shown = _planner_matches(page, "储能项目")
    best, second = shown.iloc[0, 3], shown.iloc[1, 3]
    open_store(store_path).reserve([best], project="光伏组件厂", user=User("olga", "planner"))
    next(b for b in page.button if b.label.startswith("Reserve for this project")).click()
    page.run()
    assert not page.exception
    assert page.error[0].value == plain(f"Nothing was reserved: parcel {best} was reserved for project “光伏组件厂” "
                                        "meanwhile; choose again.")
    parcels = open_store(store_path).read_parcels().set_index("parcel_id")
    assert parcels.at[best, "reserved_project"] == "光伏组件厂"
    assert parcels.at[second, "status"] != "reserved"  # the new #1 was not taken instead
    assert "储能项目" not in set(parcels.reserved_project.dropna())



def test_releasing_a_parcel_released_meanwhile_is_said_in_chinese(page, store_path):
    """The store's conflict (English for the CLI) reaches the Chinese page as its catalogue line, status labelled."""
    store = open_store(store_path)
    parcels = store.read_parcels()
    best = parcels.loc[parcels.status == "available", "parcel_id"].iloc[0]
    store.reserve([best], project="储能项目", user=User("planner1", "planner"))
    page.session_state["lang"] = "zh"
    page.session_state["user"] = User("planner1", "planner")
    page.run()
    page.text_input(key="m_name").input("储能项目")
    next(b for b in page.button if b.label == "匹配").click()
    page.run()
    page.multiselect(key="m_release_ids").select(best).run()
    store.release([best], user=User("admin", "admin"))  # another tab released it meanwhile
    status = store.read_parcels().set_index("parcel_id").at[best, "status"]
    next(b for b in page.button if b.label == "解除预留").click()
    page.run()
    assert not page.exception
    assert [e.value for e in page.error] == [plain(f"地块 {best} 未被预留（当前状态：{label_status(status, 'zh')}），"
                                                   "无需解除；请刷新页面。")]


def test_national_checks_name_their_source_and_edition_and_green_ratio_excludes(page):
    page.run()
    page.text_input(key="m_name").input("绿地项目")
    page.number_input(key="m_green").set_value(0.25)
    _submit(page)
    assert not page.exception
    source = "Control Indicators for Construction Land of Industrial Projects (Guotuzifa [2008] No. 24), 2008 edition"
    assert any(c.value == f"National checks: {source}" for c in page.caption)  # the English page cites in English
    excluded = page.dataframe[0].value
    assert f"green ratio above 20% ({source})" in set(excluded["Reason"])
    page.number_input(key="m_green").set_value(0.1)
    _submit(page)
    explanation = page.dataframe[2].value
    rows = explanation.set_index("Source (edition)", drop=False)
    assert source in set(explanation["Source (edition)"]) and len(rows.loc[source]) == 3  # plot ratio, building coefficient, green ratio


def test_a_form_the_core_refuses_is_said_in_chinese(page):
    """A minimum land above the maximum, an emptied name: one Chinese line each, not the core's English."""
    page.session_state["lang"] = "zh"
    page.run()
    page.number_input(key="m_land_min").set_value(150.0)
    next(b for b in page.button if b.label == "匹配").click()
    page.run()
    assert [e.value.replace("\\", "") for e in page.error] == ["最小用地 150.0 亩大于最大用地 120.0 亩：请对调两者。"]
    assert not page.dataframe  # no results of another project below the refused form
    page.number_input(key="m_land_min").set_value(80.0)
    page.text_input(key="m_name").input(" ")
    next(b for b in page.button if b.label == "匹配").click()
    page.run()
    assert [e.value.replace("\\", "") for e in page.error] == ["项目名称不能为空：请填写项目名称。"]
    # An emptied name, a plot ratio above the core's limit, every weight at 0: each its catalogue line.
    page.text_input(key="m_name").input("")
    next(b for b in page.button if b.label == "匹配").click()
    page.run()
    assert [e.value for e in page.error] == ["请填写项目名称：项目缺少此项。"]
    page.text_input(key="m_name").input("储能项目")
    page.number_input(key="m_plot_ratio").set_value(25.0)
    next(b for b in page.button if b.label == "匹配").click()
    page.run()
    assert [e.value for e in page.error] == ["容积率不能大于 20（现为 25）：请核对后重新填写。"]
    page.number_input(key="m_plot_ratio").set_value(1.2)
    for criterion in load_weights().criterion:
        page.slider(key=f"m_w_{criterion}").set_value(0)
    next(b for b in page.button if b.label == "匹配").click()
    page.run()
    assert [e.value for e in page.error] == ["排序权重全部为 0：请至少给一项标准设一个大于 0 的权重。"]


def test_a_project_of_another_citys_parks_is_said_in_chinese(page):
    """The session's project names a park group and a park the store does not hold (the planner switched
    the city's store, or the park went away): one Chinese line each, the ids quoted, no results."""
    page.session_state["lang"] = "zh"
    page.run()
    next(b for b in page.button if b.label == "匹配").click()
    page.run()
    assert not page.error and page.dataframe
    request = page.session_state["match_request"]
    page.session_state["match_request"] = {**request, "project": {**request["project"], "groups": ["north"]}}
    page.run()
    assert [e.value for e in page.error] == ["园区组团“north”不在当前数据中（可能来自其他城市的数据）：请重新选择组团后再匹配。"]
    assert not page.dataframe
    page.session_state["match_request"] = {**request, "park_id": "atlantis"}
    page.run()
    assert [e.value for e in page.error] == ["找不到园区 atlantis（可能来自旧链接或其他城市的数据）：请从园区列表中重新选择。"]
    page.session_state["match_request"] = {**request, "project": {**request["project"], "preferred_parks": ["atlantis"]}}
    page.run()
    assert [e.value for e in page.error] == ["找不到园区 atlantis（可能来自旧链接或其他城市的数据）：请从园区列表中重新选择。"]
