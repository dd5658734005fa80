"""The Projects page under AppTest: a viewer reads the register (both languages, hostile text literal),
?project=ID opens one project, and planners' forms are absent for viewers."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from app_pages.safe import plain
from geo import i18n
from geo.auth import User
from geo.store import open_store
from geo.uscc import make_uscc
from tests.conftest import ROOT

XSS = "<img src=x onerror=alert(1)>**粗体**"


def test_projects_page_for_a_viewer(store_path, monkeypatch):
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    monkeypatch.setenv("PARKATLAS_USERS", str(store_path.with_name("users.json")))
    added = open_store(store_path).add_project({
        "name": XSS, "industry_code": "39", "land_mu": 50, "investment_wan": 20000, "output_wan": 30000,
        "tax_wan": 900, "plot_ratio": 1.2, "building_coefficient": 0.4, "signed_on": "2020-01-02",
        "contract_start": "2020-06-01"}, user=User("pat", "planner"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("app_pages/projects.py")
    at.query_params["project"] = added["project_id"]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "项目台账：从签约到达产"
    assert at.selectbox(key="pj_selected").value == added["project_id"]
    # The hostile name is escaped where markdown renders it and shown verbatim in tables.
    rendered = "\n".join(m.value for m in at.markdown)
    assert "\\<img" in rendered and "<img" not in rendered.replace("\\<img", "")
    assert "签约项目" in at.dataframe[1].value.columns and "园区" in at.dataframe[1].value.columns
    register = at.dataframe[2].value
    assert XSS in set(register["项目名称"]) and register.set_index("项目编号").at[added["project_id"], "阶段"] == "签约"
    warnings = at.dataframe[3].value
    assert "逾期未开工" in set(warnings.loc[warnings["项目编号"] == added["project_id"], "预警"])
    assert not [f for f in at.get("form")]             # viewers get no write forms
    assert "只有规划人员" in "\n".join(c.value for c in at.caption)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception and at.title[0].value == "Project register: signing to full production"
    assert "Signed" in set(at.dataframe[2].value["Stage"])


def _planner_on_first_project(store_path, monkeypatch):
    """The Projects page (Chinese) opened by planner pat on the register's first project: (page, store, id)."""
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    monkeypatch.setenv("PARKATLAS_USERS", str(store_path.with_name("users.json")))
    store = open_store(store_path)
    pid = store.read_projects().project_id.iloc[0]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["user"] = User("pat", "planner")
    at.switch_page("app_pages/projects.py")
    at.query_params["project"] = pid
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at, store, pid


def test_planner_edits_a_project_on_the_page(store_path, monkeypatch):
    at, store, pid = _planner_on_first_project(store_path, monkeypatch)
    version = int(store.read_project(pid)["version"])
    at.text_input(key=f"pj_e_contact_{pid}_{version}").set_value("王五 0758-000")
    at.number_input(key=f"pj_e_tax_wan_{pid}_{version}").set_value(1234.0)
    next(b for b in at.button if b.label == "保存修改").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    row = open_store(store_path).read_project(pid)
    assert (row["contact"], row["tax_wan"], row["version"]) == ("王五 0758-000", 1234.0, version + 1)
    assert any("已修改 2 项" in s.value for s in at.success)
    # A mistyped credit code is refused in the page's words (GB 32100-2015 check character), nothing saved.
    good = make_uscc("91441200MA4X00001")
    typo = good[:-1] + next(c for c in "0123456789" if c != good[-1])
    at.text_input(key=f"pj_e_uscc_{pid}_{version + 1}").set_value(typo)
    next(b for b in at.button if b.label == "保存修改").click()
    at.run()
    assert [e.value for e in at.error] == [plain(f"统一社会信用代码校验位为 {typo[-1]}，按 GB 32100-2015 应为 {good[-1]}："
                                                 "可能录入有误")]
    at.text_input(key=f"pj_e_uscc_{pid}_{version + 1}").set_value(good)
    at.text_input(key=f"pj_e_contract_start_{pid}_{version + 1}").set_value("2026/3/1")  # not how a date is written
    next(b for b in at.button if b.label == "保存修改").click()
    at.run()
    assert [e.value for e in at.error] == [plain("约定动工日期“2026/3/1”不是日期：请按 年-月-日 填写（如 2026-03-01）。")]
    row = open_store(store_path).read_project(pid)
    earlier, on = ("供地日期", row["land_supplied_on"]) if row["land_supplied_on"] else ("签约日期", row["signed_on"])
    at.text_input(key=f"pj_e_contract_start_{pid}_{version + 1}").set_value("2000-01-01")  # before the signing
    next(b for b in at.button if b.label == "保存修改").click()
    at.run()
    assert [e.value for e in at.error] == [plain(f"日期先后有误：约定动工日期 2000-01-01 早于{earlier} {on}。")]
    # An emptied name and no land: the project checks' own lines (the CLI keeps "project lacks 'name'").
    at.text_input(key=f"pj_e_contract_start_{pid}_{version + 1}").set_value(row["contract_start"] or "")
    at.text_input(key=f"pj_e_name_{pid}_{version + 1}").set_value("")
    next(b for b in at.button if b.label == "保存修改").click()
    at.run()
    assert [e.value for e in at.error] == ["请填写项目名称：项目缺少此项。"]
    at.text_input(key=f"pj_e_name_{pid}_{version + 1}").set_value(row["name"])
    at.number_input(key=f"pj_e_land_mu_{pid}_{version + 1}").set_value(0.0)
    next(b for b in at.button if b.label == "保存修改").click()
    at.run()
    assert [e.value for e in at.error] == ["用地面积必须大于 0（现为 0）。"]
    assert open_store(store_path).read_project(pid)["version"] == version + 1


def test_a_stale_stage_change_and_a_delay_without_reason_are_said_in_chinese(store_path, monkeypatch):
    """Another planner edits the project while the page is open: the stage change is refused in the page's
    language, naming the project's stage by its label and its version; nothing changes. A delay without
    its reason is refused in Chinese too (the CLI's line names --reason)."""
    at, store, pid = _planner_on_first_project(store_path, monkeypatch)
    store.update_project(pid, {"contact": "另一位规划人员"}, user=User("olga", "planner"))
    before = store.read_project(pid)
    next(b for b in at.button if b.label == "变更阶段").click()
    at.run()
    assert not at.exception
    stage = i18n.t(f"stage.{before['stage']}", "zh")
    assert [e.value for e in at.error] == [plain(f"项目 {pid} 已被他人修改（现为“{stage}”阶段，第 {before['version']} 版），"
                                                 "未作更改；请刷新后重试。")]
    assert store.read_project(pid)["stage"] == before["stage"]
    delays = len(store.read_delays(pid))
    next(b for b in at.button if b.label == "登记延误").click()
    at.run()
    assert [e.value for e in at.error] == [plain("请填写延误原因：第八条的免责须有原因在案。")]
    assert len(store.read_delays(pid)) == delays
