"""The 产业链 Chains page under AppTest on a private copy of the sample store: tree with counts and
gaps, leader, ready land of a gap, prospects with hostile text kept literal."""
from __future__ import annotations

import logging

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.auth import User
from geo.chain import ChainMap, node_row, read_chain_nodes, ready_land, set_leader
from geo.enterprise import read_enterprises
from geo.prospect import import_prospects
from geo.store.gpkg import GpkgStore
from tests.conftest import ROOT

HOSTILE = "<img src=x onerror=alert(1)>$x$ 公司"


@pytest.fixture()
def app(store_path, monkeypatch):
    store = GpkgStore(store_path)
    enterprises = read_enterprises(store)
    leader = enterprises[enterprises.chain == "nev"].uscc.iloc[0]
    set_leader(store, "nev", leader, user=User("pat", "planner"))
    import_prospects(store, pd.DataFrame({"name": [HOSTILE], "node_id": ["nev.up.motor"]}),
                     read_chain_nodes(store).node_id, user=User("pat", "planner"))
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    monkeypatch.setenv("PARKATLAS_USERS", str(store_path.with_name("users.json")))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.switch_page("app_pages/chains.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at, store


def test_chains_page_tree_gaps_ready_land_and_prospects(app):
    at, store = app
    assert at.title[0].value == "产业链"
    status = ChainMap.of_store(store).status("nev").set_index("node_id")
    tree = at.dataframe[0].value
    assert list(tree.columns[:3]) == ["环节", "企业数", "缺链"]
    motor = tree[tree["环节"].str.strip("　") == "驱动电机与电控"].iloc[0]
    assert motor["缺链"] == "是" and bool(status.at["nev.up.motor", "gap"])
    battery = tree[tree["环节"].str.strip("　") == "动力电池"].iloc[0]
    assert battery["企业数"] == f"{status.at['nev.up.battery', 'enterprise_count']:,}"
    gaps = at.dataframe[1].value
    assert "驱动电机与电控" in set(gaps["环节"])
    motor_node = node_row(read_chain_nodes(store), "nev.up.motor")  # the gap lists its node's typical demand
    motor_gap = gaps[gaps["环节"] == "驱动电机与电控"].iloc[0]
    assert motor_gap["典型容积率"] == f"{motor_node.plot_ratio:.2f}"
    assert motor_gap["用电需求"] == f"{motor_node.power_kva:,.0f} kVA"
    assert motor_gap["污染等级"] == f"{motor_node.nuisance_class}"
    ready = at.dataframe[2].value
    assert len(ready) > 0
    prospects = at.dataframe[3].value
    # The sample's synthetic prospects of the chain, then the hostile one, with the ready land of each.
    assert prospects["目标企业"].tolist() == ["（示例）粤驰电驱科技有限公司", "（示例）华川电机控制有限公司",
                                          "（示例）快充能源设备有限公司", HOSTILE]
    assert prospects["联系状态"].tolist() == ["已联系", "未联系", "已联系", "未联系"]
    first = ready_land(store.read_parcels(), store.read_parks(), node_row(read_chain_nodes(store), "nev.up.motor"),
                       top=5, name="x", land_mu=60.0, investment_wan=45000.0)  # P0001's own demand
    assert prospects["可供地块数"].iloc[0] == f"{first.eligible:,}"
    shown = at.dataframe[4].value  # the chosen prospect's (P0001's) ready land
    assert len(shown) == len(first.candidates) > 0
    assert shown["地块编号"].tolist() == ["、".join(ids) for ids in first.candidates.parcel_ids]
    values = [str(v) for frame in (tree, gaps, ready, prospects, shown) for v in frame.to_numpy().ravel()]
    assert not any(v in ("True", "False", "None", "nan") or "e+0" in v for v in values)


def test_chains_page_uses_no_deprecated_streamlit_argument(app, caplog):
    """Streamlit 1.67 deprecates ``use_container_width`` on its own elements (``width="stretch"``); it says so in
    its log, which does not propagate to pytest's handler."""
    at, _ = app
    logger = logging.getLogger("streamlit.deprecation_util")
    logger.addHandler(caplog.handler)
    try:
        at.run()
    finally:
        logger.removeHandler(caplog.handler)
    assert not at.exception and len(at.dataframe) >= 4  # the tree, gaps, ready land and prospects tables ran
    assert not [r.getMessage() for r in caplog.records if "use_container_width" in r.getMessage()]


def test_chains_page_in_english(app):
    at, _ = app
    next(r for r in at.radio if "English" in r.options).set_value("en").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Chains"
    tree = at.dataframe[0].value
    assert "Drive motors and controls" in set(tree["Node"].str.strip("　")) and set(tree["Gap"]) >= {"Yes"}
    assert at.dataframe[3].value["Prospect"].tolist()[-1] == HOSTILE


def test_chains_page_makes_the_prospect_pack(app):
    at, _ = app
    next(b for b in at.button if b.label == "生成推介包（PDF）").click().run()
    assert not at.exception, [e.value for e in at.exception]
    prospect_id, language, pdf = at.session_state["ch_pack"]
    assert (prospect_id, language) == ("P0001", "zh") and pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_chains_page_scope_of_a_county(app):
    from geo.chain import county_parks

    at, store = app
    parks = store.read_parks()
    county = sorted(parks.district_code.dropna().unique())[0]
    next(s for s in at.selectbox if s.label == "园区或县区（可选）").set_value(f"county:{county}").run()
    assert not at.exception, [e.value for e in at.exception]
    status = ChainMap.of_store(store).status("nev", county_parks(parks, county))
    tree = at.dataframe[0].value
    assert tree["企业数"].tolist() == [f"{c:,}" for c in status.enterprise_count]


def test_chosen_node_filters_the_map_and_gaps_and_survives_navigation(app):
    import json

    at, store = app
    cmap = ChainMap.of_store(store)
    status = cmap.status("nev")
    placed = cmap.placed[cmap.placed.chain == "nev"]
    upstream = status[status.parent == "nev.up"]
    inside = placed[placed.node_id.isin(set(upstream.node_id))].name.iloc[0]
    elsewhere = placed[~placed.node_id.isin(set(upstream.node_id))]
    outside = elsewhere.name[~elsewhere.name.isin(set(cmap.leaders.name) | set(placed.name[
        placed.node_id.isin(set(upstream.node_id))]))].iloc[0]  # on the map by no other role

    def map_script() -> str:
        return json.loads(at.get("component_instance")[0].proto.json_args)["script"]

    assert json.dumps(outside)[1:-1] in map_script()
    at.selectbox(key="ch_node.zh").set_value("nev.up").run()  # a segment: its nodes
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value.startswith("地图只显示：上游") for c in at.caption)
    assert json.dumps(inside)[1:-1] in map_script() and json.dumps(outside)[1:-1] not in map_script()
    gaps = at.dataframe[1].value
    assert set(gaps["环节"]) == set(upstream.name_zh[upstream.gap]) and "驱动电机与电控" in set(gaps["环节"])
    at.selectbox(key="ch_node.zh").set_value("nev.up.battery").run()  # a node without a gap
    assert any(s.value == "动力电池 下没有缺链环节。" for s in at.success)
    at.switch_page("app_pages/guide.py").run()
    at.switch_page("app_pages/chains.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="ch_node.zh").value == "nev.up.battery"
    assert any(c.value.startswith("地图只显示：动力电池") for c in at.caption)
    next(r for r in at.radio if "English" in r.options).set_value("en").run()  # and across a language switch
    assert at.selectbox(key="ch_node.en").value == "nev.up.battery"
    assert any(c.value.startswith("The map shows only: Power batter") for c in at.caption)


def test_chosen_prospect_ready_land_on_the_map(app):
    import json

    from geo.prospect import prospect_row
    from layers.chain_map import candidate_labels

    at, store = app
    result = ready_land(store.read_parcels(), store.read_parks(), node_row(read_chain_nodes(store), "nev.up.motor"),
                        top=5, name="x", land_mu=60.0, investment_wan=45000.0)  # P0001's own demand
    names = dict(zip(store.read_parks().park_id, store.read_parks().name_zh))
    labels = candidate_labels(result.candidates, names, "zh")
    prospect_map = json.loads(at.get("component_instance")[1].proto.json_args)["script"]
    assert all(json.dumps(label)[1:-1] in prospect_map for label in labels) and len(labels) > 0
    assert labels.iloc[0].startswith("第 1 名：")
    at.selectbox(key="ch_prospect").set_value("P0002").run()
    assert not at.exception, [e.value for e in at.exception]
    second = prospect_row(store, "P0002")
    other = ready_land(store.read_parcels(), store.read_parks(), node_row(read_chain_nodes(store), second.node_id),
                       top=5, name=second["name"], land_mu=second.land_mu, investment_wan=second.investment_wan)
    shown = json.loads(at.get("component_instance")[1].proto.json_args)["script"]
    assert all(json.dumps(label)[1:-1] in shown for label in candidate_labels(other.candidates, names, "zh"))


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="ch_import_file").set_value((name, data, "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_planner_uploads_prospects_all_or_nothing_with_a_translated_report(app):
    from geo.prospect import read_prospects

    at, store = app
    assert not [u for u in at.get("file_uploader") if u.key == "ch_import_file"]  # anonymous: read-only
    at.session_state["user"] = User("pat", "planner")
    at.run()
    before = read_prospects(store)
    bad = "企业名称,节点,统一社会信用代码,用地(亩)\n好公司,nev.up.motor,,\n,nev.nope,91441200MA0000001X,-3\n"
    upload(at, "目标企业.csv", bad.encode("utf-8"))
    problems = at.dataframe[-1].value
    assert list(problems.columns) == ["行号", "列", "内容", "问题"]
    assert set(zip(problems["行号"], problems["列"])) == {("3", "企业名称"), ("3", "节点"), ("3", "统一社会信用代码"),
                                                          ("3", "用地(亩)")}
    text = " ".join(problems["问题"])
    assert "未知的产业链节点" in text and "校验位" in text and "大于零" in text
    assert not any(word in text for word in ("unknown", "empty", "number", "check"))  # nothing English on a Chinese page
    assert any("未写入任何数据" in e.value for e in at.error)
    assert "ch_import_commit" not in [b.key for b in at.button]
    pd.testing.assert_frame_equal(read_prospects(store), before)  # the good row was not written either
    upload(at, "坏文件.csv", b"\xff\xfe\x00garbage\x81")
    assert any(e.value == r"坏文件\.csv 既不是 UTF-8 也不是 GBK 编码的文本" for e in at.error)  # Markdown-escaped name
    good = "企业名称,节点,来源城市,联系状态,用地(亩)\n测试电驱有限公司,nev.up.motor,中山,已拜访,45\n"
    upload(at, "目标企业.csv", good.encode("utf-8"))
    assert any(c.value == "检查通过：1 家目标企业。" for c in at.caption)
    next(b for b in at.button if b.key == "ch_import_commit").click().run()
    assert any(s.value == "已写入 1 家目标企业。" for s in at.success)
    written = read_prospects(store).iloc[len(before):]
    assert written[["name", "node_id", "contact_status", "land_mu"]].values.tolist() == [
        ["测试电驱有限公司", "nev.up.motor", "visited", 45.0]]
    assert "prospect_import" in set(store.history().action)


def test_chains_page_on_postgis(postgis_url, monkeypatch, tmp_path):
    from geo.store import open_store

    store = open_store(postgis_url)
    monkeypatch.setenv("PARKATLAS_STORE", postgis_url)
    monkeypatch.setenv("PARKATLAS_USERS", str(tmp_path / "users.json"))  # none: a viewer
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.switch_page("app_pages/chains.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    status = ChainMap.of_store(store).status("nev")
    assert at.dataframe[0].value["企业数"].tolist() == [f"{c:,}" for c in status.enterprise_count]
    assert "驱动电机与电控" in set(at.dataframe[1].value["环节"])  # the sample's gap, from the PostGIS store
    assert at.dataframe[3].value["目标企业"].tolist()[0] == "（示例）粤驰电驱科技有限公司"


def test_leader_and_node_names_stay_literal_in_the_page_text(app):
    """A leader's name (an imported enterprise) and a node's name (a planner's tree file) are Markdown
    in captions and notices unless escaped: they show as the characters they are made of."""
    from app_pages.safe import plain
    from geo.chain import import_chain_nodes, read_leaders
    from geo.store.tables import ENTERPRISES, Change, apply_changes

    at, store = app
    markdown = "**粗体** [链接](http://example.com) $x$"
    admin = User("ad", "admin")
    enterprises = read_enterprises(store)
    leaders = read_leaders(store)
    leader = enterprises[enterprises.uscc == leaders.uscc[leaders.chain == "nev"].iloc[0]].assign(
        name=markdown + "链主")
    apply_changes(store, [Change(ENTERPRISES, upserts=leader)], user=admin, role="planner", action="test_rename")
    nodes = read_chain_nodes(store)
    nodes = nodes[nodes.chain == "nev"].copy()
    nodes.loc[nodes.node_id == "nev.up.battery", "name_zh"] = markdown + "电池"
    import_chain_nodes(store, nodes, user=admin)
    at.run()
    at.selectbox(key="ch_node.zh").set_value("nev.up.battery").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value.startswith("链主：") and plain(markdown + "链主") in c.value.split("：", 1)[1].split("、")
               for c in at.caption)
    assert any(c.value.startswith(f"地图只显示：{plain(markdown + '电池')}（") for c in at.caption)
    assert f"{plain(markdown + '电池')} 下没有缺链环节。" in [s.value for s in at.success]
    next(r for r in at.radio if "English" in r.options).set_value("en").run()  # English words and punctuation
    leaders_line = next(c.value for c in at.caption if c.value.startswith("Chain leaders: "))
    escaped = plain(markdown + "链主")
    assert escaped in leaders_line and not {"：", "、"} & set(leaders_line.replace(escaped, ""))
