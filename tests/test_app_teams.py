"""The 队伍 Teams page under AppTest: a viewer reads only; a planner renames a team through the
form (audited), and a hostile team name stays literal."""
from __future__ import annotations

import json

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from app_pages.safe import plain
from geo.auth import User
from geo.store import open_store
from geo.store.tables import TEAMS, table_history
from geo.team import read_targets, read_teams
from tests.conftest import ROOT, vega_chart

HOSTILE = "**粗体** <img src=x onerror=alert(1)> $x$"


@pytest.fixture()
def teams_page(store_path, monkeypatch):
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    monkeypatch.setenv("PARKATLAS_USERS", str(store_path.with_name("users.json")))

    def open_as(user: User | None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        if user is not None:
            at.session_state["user"] = user
        at.switch_page("app_pages/teams.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_as


def test_viewer_reads_only(teams_page):
    at = teams_page(None)
    assert at.title[0].value == "招商队伍 · 目标与完成情况"
    assert any(c.value == "只读：规划人员或管理员登录后可编辑队伍和目标。" for c in at.caption)
    assert not [e for e in at.expander if e.label == "编辑队伍与目标"]
    assert len(at.dataframe[0].value) == 15
    # The chart in the ranking's order, its tooltips in the planner's words (not name, value, 0.751).
    spec, bars = vega_chart(at.get("vega_lite_chart")[0])
    assert [t["title"] for t in spec["encoding"]["tooltip"]] == ["队伍", "完成率（%）"]
    assert bars.category.tolist() == at.dataframe[0].value.iloc[:, 1].tolist()
    assert bars.shown.iloc[0] == at.dataframe[0].value.iloc[0, 2]  # the score as the table shows it
    # One team's figures, each row in its kind: a count whole, a sum in 万元 (never "2.00" projects).
    figures = next(d.value for d in at.dataframe if "目标值" in d.value.columns).set_index("指标")
    assert figures.at["落地项目数", "目标值"].isdigit() and figures.at["落地投资额", "目标值"].endswith(" 万元")
    spec, months = vega_chart(at.get("vega_lite_chart")[1])  # one team's months against the straight line
    assert spec["encoding"]["x"]["title"] == "月份" and set(months.series) == {"累计完成", "时间进度（直线）"}
    assert months.category.str.fullmatch(r"20\d\d-\d\d").all()
    assert months.shown.str.fullmatch(r"(累计完成|时间进度（直线）)：[\d,]+\.\d( 万元)?").all(), months.shown.tolist()
    # A month written another way is refused in the page's words (the CLI keeps its English line).
    at.text_input(key="teams_month").set_value("2026/10")
    next(b for b in at.button if b.label == "生成通报").click()
    at.run()
    assert [e.value for e in at.error] == [f"月份“{plain('2026/10')}”的写法不对：请按 年-月 填写（如 2026-10）。"]


def test_planner_renames_a_team_and_hostile_text_stays_literal(teams_page, store_path):
    at = teams_page(User("pat", "planner"))
    # A team without its name, a target given twice: refused in the page's words, nothing written.
    targets_before = read_targets(open_store(store_path))
    next(t for t in at.text_input if t.label == "队伍名称").set_value("")
    next(b for b in at.button if b.label == "保存队伍").click()
    at.run()
    assert [e.value for e in at.error] == ["队伍名称不能为空：请填写队伍名称，未保存。"]
    editor = next(e for e in at.data_editor if e.key.startswith("targets_T01_"))
    first = editor.value.iloc[0]

    def save_targets_with(row: dict) -> list[str]:
        states = at._tree.get_widget_states()
        states.widgets.append(WidgetState(id=editor.proto.id, string_value=json.dumps(
            {"edited_rows": {}, "added_rows": [row], "deleted_rows": []})))
        states.widgets.append(WidgetState(id=next(b for b in at.button if b.label == "保存本年度目标").id,
                                          trigger_value=True))
        at._run(states)
        return [e.value for e in at.error]

    chains = "（全部产业链）" if first.chain == "全部产业链" else f"（产业链：{first.chain}）"
    assert save_targets_with({"target": first.target, "chain": first.chain, "value": 7}) == [
        f"目标指标“{first.target}”{chains}填了两次：每个指标只能填一次，未保存。"]
    assert save_targets_with({"value": 3}) == ["有一行没有选择目标指标：请为每一行选择目标指标，未保存。"]
    assert read_targets(open_store(store_path)).equals(targets_before)
    name = next(t for t in at.text_input if t.label == "队伍名称")
    name.set_value(HOSTILE)
    next(b for b in at.button if b.label == "保存队伍").click()
    at.run()
    assert not at.exception
    store = open_store(store_path)
    assert read_teams(store).set_index("team_id").at["T01", "name"] == HOSTILE
    assert table_history(store, TEAMS).iloc[-1]["user"] == "pat"
    at.run()
    assert HOSTILE in at.dataframe[0].value.iloc[:, 1].tolist()  # shown as data, not markup
    assert all("<img" not in c.value or "\\<img" in c.value for c in at.caption)


def test_weights_on_the_page_change_the_ranking(teams_page):
    at = teams_page(None)
    before = at.dataframe[0].value.iloc[:, 1].tolist()
    for box in at.number_input:
        box.set_value(0.0)
    next(b for b in at.number_input if b.label == "投产项目数").set_value(1.0)
    at.run()
    assert not at.exception
    after = at.dataframe[0].value
    assert after.iloc[:, 1].tolist() != before
    assert after.iloc[0, 2] == max(after.iloc[:, 2], key=lambda text: float(text.rstrip("%").replace(",", "")))


def test_english_page_has_no_error_and_distinct_headings(teams_page):
    at = teams_page(None)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception and not [e for e in at.error]
    assert at.title[0].value == "Promotion teams · targets and progress"
    for frame in at.dataframe:
        assert frame.value.columns.is_unique
    assert any({"Target", "Target value", "Actual", "Ratio"} <= set(f.value.columns) for f in at.dataframe)


def test_planner_edits_chains_by_name(teams_page, store_path):
    at = teams_page(User("pat", "planner"))
    chains = next(m for m in at.multiselect if m.label == "产业链")
    assert chains.value == ["nev", "energy_storage"]  # T01's, shown by their names
    assert chains.format_func("nev") == "新能源汽车及零部件"
    chains.set_value(["metal"])
    next(b for b in at.button if b.label == "保存队伍").click()
    at.run()
    assert not at.exception
    assert read_teams(open_store(store_path)).set_index("team_id").at["T01", "chains"] == "metal"
