"""Industrial chains (issue 17): trees, placement by industry code, leaders, gaps at known
distances from the leader, ready land = the match of a node's typical demand; both stores."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from geo.auth import User
from geo.chain import (ChainMap, county_parks, import_chain_nodes, load_chain_nodes, node_row, place_enterprises, read_chain_nodes,
                       read_leaders, ready_land, set_leader)
from geo.enterprise import import_enterprises
from geo.errors import NotFoundError, ParkAtlasError
from geo.matching import match
from geo.metrics import with_metrics
from geo.project import load_project
from geo.schema import ENTERPRISE_COLUMNS, FIGURE_COLUMNS
from geo.store import open_store
from geo.testing import copy_sample_store
from geo.uscc import make_uscc

ADMIN = User("alice", "admin")
PLANNER = User("pat", "planner")
#: A hand-built tree on smart_home (no sample enterprise is on that chain).
TREE = pd.DataFrame([
    {"node_id": "sh.t", "parent": "", "chain": "smart_home", "name_zh": "整机", "name_en": "Assembly"},
    {"node_id": "sh.t.fridge", "parent": "sh.t", "chain": "smart_home", "name_zh": "冰箱", "name_en": "Fridges",
     "industry_codes_2017": "3851", "land_mu_min": "40", "land_mu_max": "120", "plot_ratio": "1.2",
     "nuisance_class": "2", "power_kva": "", "investment_wan_per_mu": "300", "output_wan_per_mu": "500",
     "tax_wan_per_mu": "25"},
    {"node_id": "sh.t.motor", "parent": "sh.t", "chain": "smart_home", "name_zh": "<b>电机</b>", "name_en": "Motors",
     "industry_codes_2017": "3812", "land_mu_min": "20", "land_mu_max": "60", "plot_ratio": "1.2",
     "nuisance_class": "2", "power_kva": "", "investment_wan_per_mu": "300", "output_wan_per_mu": "500",
     "tax_wan_per_mu": "25"},
])
LEADER = make_uscc("91441200MA0000001")
NEAR = make_uscc("91441200MA0000002")
FAR = make_uscc("91441200MA0000003")


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    if request.param == "gpkg":
        return open_store(copy_sample_store(tmp_path))
    return open_store(request.getfixturevalue("postgis_url"))


def _parcels_at(parcels) -> tuple[str, str, str]:
    """The first parcel, and parcels whose centroids lie ~4 km and ~6 km from it (geodesic)."""
    parcels = parcels.sort_values("parcel_id")
    centres = shapely.centroid(parcels.geometry.values)
    x, y = shapely.get_x(centres), shapely.get_y(centres)
    ids = parcels.parcel_id.to_numpy()
    for first in range(0, len(ids), 97):  # the first parcel (in id order) with both neighbours
        _, _, metres = Geod(ellps="GRS80").inv(np.full(len(x), x[first]), np.full(len(y), y[first]), x, y)
        near, far = np.flatnonzero(np.abs(metres - 4000) < 150), np.flatnonzero(np.abs(metres - 6000) < 150)
        if len(near) and len(far):
            return ids[first], ids[near[0]], ids[far[0]]
    raise AssertionError("the sample has no parcels 4 and 6 km apart")


def _enterprise(uscc, name, code, parcel):
    row = {c: None for c in ENTERPRISE_COLUMNS}
    row.update(uscc=uscc, name=name, industry_code=code, chain="smart_home", scale="above", parcel_ids=parcel)
    return row


def _setup(store, with_near: bool):
    import_chain_nodes(store, TREE, user=PLANNER)
    leader_parcel, near, far = _parcels_at(store.read_parcels())
    rows = [_enterprise(LEADER, "链主冰箱", "38", leader_parcel), _enterprise(FAR, "远处电机", "3812", far)]
    if with_near:
        rows.append(_enterprise(NEAR, "近处电机", "3812", near))
    enterprises = pd.DataFrame(rows).astype(ENTERPRISE_COLUMNS)
    import_enterprises(store, enterprises, pd.DataFrame(columns=list(FIGURE_COLUMNS)).astype(FIGURE_COLUMNS),
                       user=ADMIN)
    set_leader(store, "smart_home", LEADER, user=PLANNER)


def test_gap_at_six_km_not_at_four(store):
    _setup(store, with_near=False)
    led = read_leaders(store)
    assert led[led.chain == "smart_home"].to_dict("records") == [{"chain": "smart_home", "uscc": LEADER}]
    status = ChainMap.of_store(store).status("smart_home").set_index("node_id")
    assert bool(status.at["sh.t.motor", "gap"]) and status.at["sh.t.motor", "enterprise_count"] == 0
    assert 5.7 < status.at["sh.t.motor", "nearest_km"] < 6.3
    assert not status.at["sh.t.fridge", "gap"] and status.at["sh.t.fridge", "thin"]  # the leader itself, 1 < 2
    wider = ChainMap.of_store(store).status("smart_home", radius_km=7).set_index("node_id")
    assert not wider.at["sh.t.motor", "gap"]
    gaps = ChainMap.of_store(store).gaps("smart_home")
    assert gaps.node_id.tolist() == ["sh.t.motor"] and gaps.land_mu_max.tolist() == [60.0]
    listed = ChainMap.of_store(store).gaps("smart_home", thin=True)
    assert list(zip(listed.node_id, listed.status, listed.enterprise_count)) == [("sh.t.fridge", "thin", 1),
                                                                                  ("sh.t.motor", "gap", 0)]

    _setup(store, with_near=True)
    status = ChainMap.of_store(store).status("smart_home").set_index("node_id")
    assert not status.at["sh.t.motor", "gap"] and status.at["sh.t.motor", "enterprise_count"] == 1
    assert 3.7 < status.at["sh.t.motor", "nearest_km"] < 4.3
    assert status.at["sh.t", "enterprise_count"] == 2  # the segment adds up its nodes


def test_inside_the_park_counts_without_the_radius(store):
    _setup(store, with_near=False)
    far_park = store.read_parcels().set_index("parcel_id").at[_parcels_at(store.read_parcels())[2], "park_id"]
    status = ChainMap.of_store(store).status("smart_home", park_id=far_park).set_index("node_id")
    assert not status.at["sh.t.motor", "gap"]
    parks = store.read_parks()
    county = parks.set_index("park_id").at[far_park, "district_code"]
    in_county = ChainMap.of_store(store).status("smart_home", park_id=county_parks(parks, county)).set_index("node_id")
    assert not in_county.at["sh.t.motor", "gap"]
    other = parks.park_id[parks.district_code != county].tolist()
    elsewhere = ChainMap.of_store(store).status("smart_home", park_id=other).set_index("node_id")
    assert bool(elsewhere.at["sh.t.motor", "gap"])


def test_placement_by_industry_code_and_explicit():
    nodes = load_chain_nodes()
    enterprises = pd.DataFrame({"uscc": ["A", "B", "C", "D"], "name": list("ABCD"),
                                "industry_code": ["3841", "3612", "38", "3841"],
                                "chain": ["nev", "nev", "nev", "energy_storage"]})
    placed = place_enterprises(enterprises, nodes, pd.DataFrame({"uscc": ["D"], "node_id": ["energy_storage.mid.pcs"]}))
    where = {(r.uscc, r.chain): (r.node_id, r.how) for r in placed.itertuples()}
    assert where[("A", "nev")] == ("nev.up.battery", "industry_code")
    assert where[("B", "nev")] == ("nev.down.vehicle", "industry_code")
    assert where[("C", "nev")] == ("nev.up.battery", "industry_code")  # a division: the first node of that division
    assert where[("D", "energy_storage")] == ("energy_storage.mid.pcs", "explicit")
    assert len(placed) == 4  # each enterprise only on its own chain


def test_shipped_trees_cover_every_chain():
    from geo.standards import load_standards

    nodes = load_chain_nodes()
    assert set(nodes.chain) == set(load_standards().chains.chain)
    assert {"nev", "energy_storage", "electronics"} <= set(nodes.chain)


def test_ready_land_equals_the_match_of_the_typical_demand(store):
    import_chain_nodes(store, TREE, user=PLANNER)
    node = node_row(read_chain_nodes(store), "sh.t.fridge")
    parcels, parks = with_metrics(store.read_parcels()), store.read_parks()
    by_hand = load_project({"name": "冰箱", "industry_code": "38", "chain": "smart_home", "land_mu_min": 40,
                            "land_mu_max": 120, "investment_wan": 300 * 120, "output_wan": 500 * 120,
                            "tax_wan": 25 * 120, "plot_ratio": 1.2, "building_coefficient": 0.4,
                            "nuisance_class": 2})
    expected = match(parcels, parks, by_hand, top=5)
    got = ready_land(parcels, parks, node, top=5)
    assert len(expected.candidates) > 0
    assert got.candidates.parcel_ids.tolist() == expected.candidates.parcel_ids.tolist()
    assert got.candidates.score.tolist() == expected.candidates.score.tolist()


def test_bad_input_is_one_line_and_leaves_the_store(store):
    with pytest.raises(ParkAtlasError, match="unknown chain"):
        import_chain_nodes(store, TREE.assign(chain="nope"), user=PLANNER)
    with pytest.raises(ParkAtlasError, match="parent"):
        import_chain_nodes(store, TREE.assign(parent="missing"), user=PLANNER)
    assert len(read_chain_nodes(store)) == len(load_chain_nodes())
    before = read_leaders(store)
    with pytest.raises(NotFoundError, match="no enterprise"):
        set_leader(store, "nev", make_uscc("91441200MA0000009"), user=PLANNER)
    pd.testing.assert_frame_equal(read_leaders(store), before)


def test_prospects_import_all_or_nothing_with_report(store):
    from geo.prospect import import_prospects, read_prospects

    nodes = read_chain_nodes(store).node_id
    bad = pd.DataFrame({"企业名称": ["甲公司", ""], "节点": ["nev.up.motor", "nev.nope"], "联系状态": ["已联系", "x"]})
    report = import_prospects(store, bad, nodes, user=PLANNER)
    assert not report["accepted"] and report["committed"] is None
    assert {(p["row"], p["column"]) for p in report["problems"]} == {(3, "name"), (3, "node_id"), (3, "contact_status")}
    from geo.i18n import LANGS, catalogue
    from geo.prospect import problem_text

    assert all(p["key"] in catalogue(lang) for p in report["problems"] for lang in LANGS)  # said in both languages
    assert problem_text(report["problems"][0], "zh") == "企业名称为空"
    sample = read_prospects(store)  # the sample's synthetic prospects P0001–P0008
    assert len(sample) == 8
    good = pd.DataFrame({"name": ["<b>甲</b>公司", "乙公司"], "node_id": ["nev.up.motor", "nev.down.vehicle"],
                         "land_mu": ["80", ""], "origin_city": ["宁德", "深圳"]})
    assert import_prospects(store, good, nodes, user=PLANNER, dry_run=True)["committed"] is None
    pd.testing.assert_frame_equal(read_prospects(store), sample)
    report = import_prospects(store, good, nodes, user=PLANNER)
    assert report["committed"]["inserted"] == 2
    stored = read_prospects(store).iloc[len(sample):]
    assert stored.prospect_id.tolist() == ["P0009", "P0010"]
    assert stored.name.tolist()[0] == "<b>甲</b>公司" and stored.contact_status.tolist() == ["not_contacted"] * 2
    assert stored.land_mu.tolist()[0] == 80.0
