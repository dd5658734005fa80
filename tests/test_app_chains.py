"""The 产业链 Chains page under AppTest on a private copy of the sample store: tree with counts and
gaps, leader, ready land of a gap, prospects with hostile text kept literal."""
from __future__ import annotations

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
