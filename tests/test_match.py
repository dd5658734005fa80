"""Matching a project to land: hand-built layouts with known answers."""
from __future__ import annotations

import gc
import json

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.blocks import adjacent_blocks, block_geometries, close_gaps, contiguous_blocks
from geo.errors import NotFoundError, ParkAtlasError
from geo.matching import (EXCLUSION_REASONS, MatchSettings, PreparedParcels, load_weights, match, normalise_weights,
                           what_if)
from geo.metrics import with_metrics
from geo.schema import PARK_COLUMNS
from geo.testing import make_parcels
from geo.units import M2_PER_MU

H = 200.0  # every test parcel is 200 m deep; its width gives the area


def strip(x0: float, mu: float, y0: float = 0.0) -> tuple[float, float, float, float]:
    """A 200 m deep box starting at ``x0`` with an area of ``mu`` 亩."""
    return (x0, y0, x0 + mu * M2_PER_MU / H, y0 + H)


def make_parks(*overrides: dict) -> pd.DataFrame:
    base = {"park_id": "test_park", "name_zh": "测试园", "name_en": "Test park", "group": "platform",
            "district_code": "441284", "characteristic_chain": "electronics", "leading_chains": "electronics",
            "red_line_industries": "", "min_investment_wan_per_mu": 0.0, "min_output_wan_per_mu": 0.0,
            "min_tax_wan_per_mu": 0.0, "min_plot_ratio": 0.5, "contact": "", "data_as_of": "2026-10-31"}
    return pd.DataFrame([{**base, **o} for o in overrides]).astype(PARK_COLUMNS)


def electronics(**changes) -> dict:
    project = {"name": "显示模组项目", "investor": "示例电子", "industry_code": "39", "chain": "electronics",
               "land_mu_min": 80, "land_mu_max": 120, "investment_wan": 30000, "output_wan": 50000,
               "tax_wan": 1500, "plot_ratio": 1.2, "building_coefficient": 0.45}
    return {**project, **changes}


# --------------------------------------------------------------------------- hard checks
def test_plot_ratio_below_national_minimum_is_excluded_everywhere():
    parcels = with_metrics(make_parcels([strip(0, 100), strip(1000, 110), strip(2000, 90)],
                                        park_id=["a", "a", "b"]))
    parks = make_parks({"park_id": "a", "min_plot_ratio": 0.8}, {"park_id": "b", "min_plot_ratio": 0.7})

    low = match(parcels, parks, electronics(plot_ratio=0.9))
    assert len(low.candidates) == 0
    assert low.excluded == {"plot_ratio_below_national_minimum": 3}

    ok = match(parcels, parks, electronics(plot_ratio=1.2))
    assert sorted(sum(ok.candidates.parcel_ids, [])) == ["P1", "P2", "P3"]
    national = next(c for c in ok.candidates.criteria[0] if c["name"] == "plot_ratio_national")
    assert national["threshold"] == 1.0  # 2017 code 39 → 2002 code 40 → 1.0
    assert "40" in national["reason_zh"] and "40" in national["reason_en"]


def test_park_minimum_plot_ratio_is_its_own_reason():
    parcels = with_metrics(make_parcels([strip(0, 100), strip(1000, 100)], park_id=["strict", "loose"]))
    parks = make_parks({"park_id": "strict", "min_plot_ratio": 1.5}, {"park_id": "loose", "min_plot_ratio": 1.0})
    result = match(parcels, parks, electronics(plot_ratio=1.2))
    assert result.excluded == {"plot_ratio_below_park_minimum": 1}
    assert result.candidates.park_id.tolist() == ["loose"]


def test_red_lined_industry_is_excluded_only_where_banned():
    parcels = with_metrics(make_parcels([strip(0, 100), strip(1000, 100), strip(2000, 100), strip(3000, 100)],
                                        park_id=["bans", "bans", "allows", "other"], land_use_code="100103"))
    parks = make_parks({"park_id": "bans", "red_line_industries": "25;26"},
                       {"park_id": "allows", "red_line_industries": "25"},
                       {"park_id": "other", "red_line_industries": ""})
    chemicals = {"name": "精细化工", "industry_code": "26", "chain": "fine_chemicals", "land_mu_min": 90,
                 "land_mu_max": 110, "investment_wan": 20000, "output_wan": 30000, "tax_wan": 900,
                 "plot_ratio": 0.8, "building_coefficient": 0.4}
    result = match(parcels, parks, chemicals)
    assert result.excluded == {"red_line_industry": 2}
    assert sorted(result.candidates.park_id) == ["allows", "other"]
    # The same parcels take a project of an industry no park bans.
    assert len(match(parcels, parks, {**chemicals, "industry_code": "30", "chain": None}).candidates) == 4


def test_land_use_must_suit_the_nuisance_class():
    parcels = with_metrics(make_parcels([strip(0, 100), strip(1000, 100), strip(2000, 100)],
                                        land_use_code=["100101", "100102", "100103"]))
    parks = make_parks({})
    heavy = match(parcels, parks, electronics(nuisance_class=3))
    assert heavy.candidates.parcel_ids.tolist() == [["P3"]]
    assert heavy.excluded == {"land_use_incompatible": 2}
    light = match(parcels, parks, electronics())  # electronics default to class 1 (industries.csv)
    assert len(light.candidates) == 3


def test_entry_thresholds_use_the_candidates_own_area():
    # 30,000 万元 on 80 亩 is 375 万元/亩; on 125 亩 only 240 万元/亩 (< 300).
    parcels = with_metrics(make_parcels([strip(0, 80), strip(1000, 125)]))
    parks = make_parks({"min_investment_wan_per_mu": 300.0})
    result = match(parcels, parks, electronics(land_mu_min=75, land_mu_max=130), with_blocks=False)
    assert result.candidates.parcel_ids.tolist() == [["P1"]]
    assert result.excluded == {"investment_intensity_below_threshold": 1}
    crit = {c["name"]: c for c in result.candidates.criteria[0]}
    assert crit["investment_per_mu"]["value"] == pytest.approx(375.0, rel=1e-4)
    assert crit["investment_per_mu"]["threshold"] == 300.0


def test_status_area_and_disposal_flags():
    parcels = with_metrics(make_parcels([strip(0, 100), strip(1000, 100), strip(2000, 100), strip(3000, 30)],
                                        status=["available", "occupied", "idle", "available"]))
    parks = make_parks({})
    result = match(parcels, parks, electronics(), with_blocks=False)
    assert result.candidates.parcel_ids.tolist() == [["P1"]]
    assert result.excluded == {"status_not_available": 2, "area_out_of_range": 1}
    with_idle = match(parcels, parks, electronics(), with_blocks=False, include_disposal=True)
    flagged = dict(zip(with_idle.candidates.parcel_ids.str[0], with_idle.candidates.needs_disposal))
    assert flagged == {"P1": False, "P3": True}
    assert with_idle.candidates.parcel_ids.tolist()[0] == ["P1"]  # ready land ranks first


def test_building_coefficient_and_admin_share_limits():
    parcels = with_metrics(make_parcels([strip(0, 100)]))
    parks = make_parks({})
    assert match(parcels, parks, electronics(building_coefficient=0.25)).excluded == {
        "building_coefficient_below_minimum": 1}
    assert match(parcels, parks, electronics(admin_share=0.09)).excluded == {"admin_share_above_maximum": 1}
    assert len(match(parcels, parks, electronics(admin_share=0.07)).candidates) == 1


# --------------------------------------------------------------------------- blocks
def _block_layout():
    # Park "a": P1 (120 亩) and P2 (100 亩) touch; P3 (100 亩) lies across a 24 m road; P4 is occupied.
    # Park "b" has only a lone 120-亩 parcel. No single parcel reaches a 300-亩 demand.
    w120 = 120 * M2_PER_MU / H
    w100 = 100 * M2_PER_MU / H
    boxes = [strip(0, 120), strip(w120, 100), strip(w120 + w100 + 24, 100), strip(0, 120, y0=H),
             strip(10_000, 120)]
    return with_metrics(make_parcels(boxes, park_id=["a", "a", "a", "a", "b"],
                                     status=["available", "available", "approved_unsupplied", "occupied",
                                             "available"]))


def test_300_mu_demand_is_met_by_an_assembled_block():
    parcels = _block_layout()
    parks = make_parks({"park_id": "a"}, {"park_id": "b"})
    project = electronics(land_mu_min=300, land_mu_max=330, investment_wan=100000, output_wan=150000)
    result = match(parcels, parks, project)
    assert result.candidates.kind.tolist() == ["block"]
    block = result.candidates.iloc[0]
    assert sorted(block.parcel_ids) == ["P1", "P2", "P3"]
    assert block.park_id == "a"
    assert block.area_mu == pytest.approx(320.0, rel=1e-4)
    # The road gap is closed: the block reads as one polygon.
    assert block.geometry.geom_type == "Polygon"

    singles = match(parcels, parks, project, with_blocks=False)
    assert len(singles.candidates) == 0
    assert singles.excluded == {"status_not_available": 1, "area_out_of_range": 4}


@pytest.mark.parametrize("thresholds, reason", [
    ({"min_investment_wan_per_mu": 350.0}, "block_investment_intensity_below_threshold"),  # 100,000 / 320 = 312.5
    ({"min_output_wan_per_mu": 500.0}, "block_output_per_mu_below_threshold"),  # 150,000 / 320 = 468.75
    ({"min_investment_wan_per_mu": 350.0, "min_tax_wan_per_mu": 10.0}, "block_investment_intensity_below_threshold"),
])
def test_assembled_block_failing_an_entry_threshold_is_counted(thresholds, reason):
    parcels = _block_layout()
    parks = make_parks({"park_id": "a", **thresholds}, {"park_id": "b"})
    project = electronics(land_mu_min=300, land_mu_max=330, investment_wan=100000, output_wan=150000, tax_wan=1500)
    result = match(parcels, parks, project)
    assert len(result.candidates) == 0
    # The parcels still count under their own first reason; the dropped block under its first one.
    assert result.excluded == {"status_not_available": 1, "area_out_of_range": 4, reason: 1}
    assert reason in EXCLUSION_REASONS and "block" in EXCLUSION_REASONS[reason][1]
    assert result.to_json()["excluded"][reason] == 1


def test_block_does_not_jump_a_wider_gap():
    parcels = _block_layout()
    parks = make_parks({"park_id": "a"}, {"park_id": "b"})
    narrow = MatchSettings(block_gap_m=10.0)
    project = electronics(land_mu_min=300, land_mu_max=330, investment_wan=100000, output_wan=150000)
    assert len(match(parcels, parks, project, settings=narrow).candidates) == 0


def test_adjacent_blocks_groups_contiguous_parcels_of_one_park():
    parcels = _block_layout()
    available = parcels.loc[parcels.status != "occupied"]
    blocks = adjacent_blocks(available, gap_m=30)
    assert [sorted(ids) for ids in blocks.parcel_ids] == [["P1", "P2", "P3"], ["P5"]]
    assert blocks.area_mu.tolist() == pytest.approx([320.0, 120.0], rel=1e-4)
    assert blocks.parcel_count.tolist() == [3, 1]
    assert blocks.park_id.tolist() == ["a", "b"]
    assert blocks.crs == parcels.crs
    # Touching parcels of different parks stay apart.
    two_parks = make_parcels([strip(0, 50), strip(50 * M2_PER_MU / H, 50)], park_id=["a", "b"])
    assert len(adjacent_blocks(two_parks, gap_m=30)) == 2
    assert len(adjacent_blocks(available, gap_m=30, min_area_mu=200)) == 1
    assert gc.isenabled()  # the collector paused while the blocks were built is back on


def test_blocks_without_geometries_are_the_same_blocks_and_draw_the_same(sample_parcels):
    """contiguous_blocks is adjacent_blocks' table without the unions; block_geometries draws any of
    its rows exactly as adjacent_blocks does (the sample: blocks of one to many parcels)."""
    available = with_metrics(sample_parcels).query("status == 'available'")
    for kwargs in ({"gap_m": 30.0}, {"gap_m": 0.0, "min_area_mu": 50.0}):
        drawn = adjacent_blocks(available, **kwargs)
        table = contiguous_blocks(available, **kwargs)
        assert "geometry" not in table.columns and len(table) > 10
        pd.testing.assert_frame_equal(table, pd.DataFrame(drawn.drop(columns="geometry")))
        shown = table.iloc[[0, 3, len(table) - 1]]
        geoms = block_geometries(available, shown, gap_m=kwargs["gap_m"])
        assert geoms.index.tolist() == shown.index.tolist() and geoms.crs == drawn.crs
        assert [g.wkb for g in geoms] == [g.wkb for g in drawn.geometry.iloc[shown.index]]
        assert table.parcel_count.max() > 1  # unions of several parcels among them
    assert contiguous_blocks(available.iloc[:0]).columns.tolist() == drawn.columns.drop("geometry").tolist()
    stranger = table.iloc[[0]].assign(parcel_ids=[["NO-SUCH-PARCEL"]], parcel_count=1)
    with pytest.raises(ValueError, match="parcel_ids"):
        block_geometries(available, stranger)


def test_close_gaps_equals_one_union_per_group():
    """Groups of one, two and three pieces (unioned size by size) give exactly the geometry of one
    buffer–union–buffer per group, and a piece in no group is not needed."""
    boxes = shapely.box(np.arange(8) * 120.0, 0, np.arange(8) * 120.0 + 100, np.arange(8) * 7.0 + 90)
    groups = [np.array([3]), np.array([0, 1]), np.array([5, 4, 6]), np.array([2])]  # piece 7 in none
    expected = [shapely.buffer(shapely.union_all(shapely.buffer(boxes[g], 15, join_style="mitre")), -15,
                               join_style="mitre") for g in groups]
    got = close_gaps(boxes, groups, 30.0)
    assert [g.wkb for g in got] == [g.wkb for g in expected]
    assert [len(shapely.get_parts(g)) for g in got] == [1, 1, 1, 1]  # the 20 m gaps are closed
    assert len(close_gaps(boxes, [], 30.0)) == 0


# --------------------------------------------------------------------------- ranking
def test_ranking_explains_every_criterion_and_prefers_the_characteristic_park():
    parcels = with_metrics(make_parcels([strip(0, 100), strip(1000, 100)], park_id=["fits", "elsewhere"]))
    parks = make_parks({"park_id": "fits", "characteristic_chain": "electronics"},
                       {"park_id": "elsewhere", "characteristic_chain": "food", "leading_chains": "food"})
    result = match(parcels, parks, electronics())
    assert result.candidates.park_id.tolist() == ["fits", "elsewhere"]
    for row in result.candidates.itertuples():
        soft = [c for c in row.criteria if c["kind"] == "soft"]
        assert {c["name"] for c in soft} == set(normalise_weights())
        assert sum(c["contribution"] for c in soft) == pytest.approx(row.score, abs=0.05)
        for c in row.criteria:
            assert set(c) >= {"name", "value", "threshold", "pass", "weight", "contribution", "reason_zh", "reason_en"}
            assert c["reason_zh"] and c["reason_en"]
    chain = [{c["name"]: c for c in row.criteria}["chain_fit"] for row in result.candidates.itertuples()]
    assert [c["value"] for c in chain] == ["characteristic", "none"]
    assert result.candidates.score.iloc[0] - result.candidates.score.iloc[1] == pytest.approx(
        100 * normalise_weights()["chain_fit"], abs=0.01)
    json.dumps(result.to_json("en"), ensure_ascii=False)  # JSON-able


def test_weights_change_the_order():
    # P1: ready but elongated; P2: compact but not ready (净地 missing).
    parcels = with_metrics(make_parcels([(0, 0, 1000, 66.667), strip(2000, 100)], land_ready=[True, False]))
    parks = make_parks({})
    readiness_first = match(parcels, parks, electronics(), weights={"readiness": 100, "compactness": 0})
    shape_first = match(parcels, parks, electronics(), weights={"readiness": 0, "compactness": 100})
    assert readiness_first.candidates.parcel_ids.str[0].tolist() == ["P1", "P2"]
    assert shape_first.candidates.parcel_ids.str[0].tolist() == ["P2", "P1"]
    with pytest.raises(ParkAtlasError, match="unknown weight"):
        normalise_weights({"beauty": 1})
    assert list(load_weights().criterion) == list(normalise_weights())


def test_an_edited_standards_file_is_read_again(tmp_path):
    """matching.csv and weights.csv are parsed once per version of the file (every match reads them):
    an edit is seen at the next read, a caller's change to the table is not kept, a missing file is refused."""
    from geo.matching import load_settings
    from geo.standards import DEFAULT_STANDARDS_DIR

    for name in ("matching.csv", "weights.csv"):
        (tmp_path / name).write_text((DEFAULT_STANDARDS_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    assert load_settings(tmp_path).area_tolerance == pytest.approx(0.10)
    text = (tmp_path / "matching.csv").read_text(encoding="utf-8")
    (tmp_path / "matching.csv").write_text(text.replace("area_tolerance,0.10", "area_tolerance,0.25"), encoding="utf-8")
    assert load_settings(tmp_path).area_tolerance == pytest.approx(0.25)
    table = load_weights(tmp_path)
    table.loc[0, "weight"] = 999
    assert load_weights(tmp_path).weight.iloc[0] != 999
    (tmp_path / "weights.csv").write_text("criterion,weight\nbeauty,1\n", encoding="utf-8")
    with pytest.raises(ParkAtlasError, match="unknown criterion 'beauty'"):
        load_weights(tmp_path)
    (tmp_path / "matching.csv").unlink()
    with pytest.raises(ParkAtlasError, match="is missing"):
        load_settings(tmp_path)


def test_cluster_counts_enterprises_within_the_radius_not_the_square_around_it():
    # Centres 2.8 km east (counted), and 2.5 km east and 2.6 km north (3.6 km: in the 6 km square, not the 3 km circle).
    w = 50 * M2_PER_MU / H
    boxes = [strip(0, 100), strip(50 + 2900 - w / 2, 50), strip(50 + 2600 - w / 2, 50, y0=2600)]
    parcels = with_metrics(make_parcels(boxes, status=["available", "occupied", "occupied"],
                                        chain=[None, "electronics", "electronics"]))
    (row,) = match(parcels, make_parks({}), electronics()).candidates.itertuples()
    assert {c["name"]: c for c in row.criteria}["cluster"]["value"] == 1


def test_same_chain_enterprises_nearby_and_infrastructure_needs():
    # P1 has two electronics enterprises next door; P2 stands alone and lacks gas.
    boxes = [strip(0, 100), strip(0, 50, y0=300), strip(600, 50, y0=300), strip(20_000, 100)]
    parcels = with_metrics(make_parcels(boxes, status=["available", "occupied", "occupied", "available"],
                                        chain=[None, "electronics", "electronics", None],
                                        gas=[True, True, True, False]))
    result = match(parcels, make_parks({}), electronics(needs={"gas": True, "power_kva": 4000}))
    crit = {row.parcel_ids[0]: {c["name"]: c for c in row.criteria} for row in result.candidates.itertuples()}
    assert crit["P1"]["cluster"]["value"] == 2 and crit["P4"]["cluster"]["value"] == 0
    assert crit["P1"]["infrastructure"]["value"] == "2/2" and crit["P1"]["infrastructure"]["pass"]
    assert crit["P4"]["infrastructure"]["value"] == "1/2" and not crit["P4"]["infrastructure"]["pass"]
    assert "燃气" in crit["P4"]["infrastructure"]["reason_zh"] and "gas" in crit["P4"]["infrastructure"]["reason_en"]
    assert result.candidates.parcel_ids.str[0].tolist() == ["P1", "P4"]


def _jobs_layout():
    # Park "dense": an enterprise of 100 亩 with 800 jobs (8/亩) and an unstaffed one (no head count);
    # park "sparse": 100 亩 with 200 jobs (2/亩); park "unknown": no head counts. 100 亩 available in each.
    boxes = [strip(0, 100), strip(1000, 100), strip(2000, 100), strip(5000, 100), strip(6000, 100),
             strip(9000, 100)]
    return with_metrics(make_parcels(boxes, park_id=["dense", "dense", "dense", "sparse", "sparse", "unknown"],
                                     status=["occupied", "occupied", "available", "occupied", "available",
                                             "available"],
                                     employees=[800, None, None, 200, None, None]))


def test_jobs_per_mu_is_judged_against_the_parks_enterprises():
    parks = make_parks({"park_id": "dense"}, {"park_id": "sparse"}, {"park_id": "unknown"})
    only_jobs = {c: 0 for c in normalise_weights()} | {"jobs_per_mu": 1}
    result = match(_jobs_layout(), parks, electronics(jobs=400), weights=only_jobs)
    crit = {row.park_id: {c["name"]: c for c in row.criteria}["jobs_per_mu"] for row in result.candidates.itertuples()}
    # 400 jobs on 100 亩 = 4 per 亩: half the dense park's 8 (the unstaffed enterprise is not counted), twice the sparse's 2.
    assert crit["dense"]["value"] == pytest.approx(4.0, rel=1e-3)
    assert crit["dense"]["threshold"] == pytest.approx(8.0, rel=1e-3)
    assert crit["dense"]["score"] == pytest.approx(0.5, abs=1e-3) and not crit["dense"]["pass"]
    assert crit["sparse"]["threshold"] == pytest.approx(2.0, rel=1e-3)
    assert crit["sparse"]["score"] == 1.0 and crit["sparse"]["pass"]
    assert crit["unknown"]["threshold"] is None and crit["unknown"]["score"] == 1.0 and crit["unknown"]["pass"]
    assert "8.0 人/亩" in crit["dense"]["reason_zh"] and "no enterprise head counts" in crit["unknown"]["reason_en"]
    # Scored against each other (spread_scores): the worst on the only weighted criterion gets 0 of it.
    assert crit["dense"]["kind"] == "soft" and crit["dense"]["contribution"] == pytest.approx(0.0, abs=0.1)
    assert result.candidates.set_index("park_id").score.to_dict() == pytest.approx(
        {"dense": 0.0, "sparse": 100.0, "unknown": 100.0}, abs=0.1)
    assert result.candidates.park_id.iloc[-1] == "dense"
    shown = result.to_json("en")["candidates"]
    assert all(any(c["name"] == "jobs_per_mu" for c in cand["criteria"]) for cand in shown)


def test_jobs_not_stated_are_not_judged():
    parks = make_parks({"park_id": "dense"}, {"park_id": "sparse"}, {"park_id": "unknown"})
    result = match(_jobs_layout(), parks, electronics())
    for row in result.candidates.itertuples():
        jobs = {c["name"]: c for c in row.criteria}["jobs_per_mu"]
        assert jobs["value"] is None and jobs["score"] == 1.0 and jobs["reason_en"] == "the project states no jobs"
    assert normalise_weights()["jobs_per_mu"] > 0  # a ranked criterion with a default weight (weights.csv)


def test_scope_and_unknown_parks():
    parcels = with_metrics(make_parcels([strip(0, 100), strip(1000, 100)], park_id=["a", "b"]))
    parks = make_parks({"park_id": "a"}, {"park_id": "b"})
    only_b = match(parcels, parks, electronics(), park_id="b")
    assert only_b.candidates.park_id.tolist() == ["b"] and only_b.considered == 1
    with pytest.raises(NotFoundError, match="unknown park 'c'"):
        match(parcels, parks, electronics(), park_id="c")
    with pytest.raises(NotFoundError, match="preferred park 'zz'"):
        match(parcels, parks, electronics(preferred_parks=["zz"]))
    preferred = match(parcels, parks, electronics(preferred_parks=["b"]))
    assert preferred.candidates.park_id.tolist() == ["b", "a"]
    grouped = match(parcels, make_parks({"park_id": "a", "group": "west"}, {"park_id": "b"}),
                    electronics(groups=["west"]))
    assert grouped.candidates.park_id.tolist() == ["a"] and grouped.excluded == {"park_group_not_wanted": 1}
    # Parks looked up by Arrow: plain object columns as a caller builds them (one park's files read
    # and tagged, geo.province) match alike, and an empty one is no candidate rather than a type error.
    tagged = parcels.astype({"park_id": object})
    assert match(tagged, parks, electronics()).candidates.park_id.tolist() == \
        match(parcels, parks, electronics()).candidates.park_id.tolist()
    nothing = match(tagged.iloc[:0], parks, electronics())
    assert len(nothing.candidates) == 0 and nothing.considered == 0


# --------------------------------------------------------------------------- what-if
def test_what_if_by_hand():
    # One enterprise of 100 亩 producing 10,000 万元 (100/亩) next to 100 亩 of available land.
    parcels = with_metrics(make_parcels([strip(0, 100), strip(1000, 100)], status=["occupied", "available"],
                                        output_wan=[10_000.0, None], investment_wan=[20_000.0, None],
                                        tax_wan=[500.0, None], floor_area_m2=[100 * M2_PER_MU, None]))
    parks = make_parks({})
    result = what_if(parcels, parks, {"parcel_ids": ["P2"]}, electronics(output_wan=30_000, investment_wan=40_000))
    before, after = result["before"], result["after"]
    assert before["occupancy_rate"] == pytest.approx(0.5)
    assert after["occupancy_rate"] == pytest.approx(1.0)
    assert before["output_per_mu_wan"] == pytest.approx(100.0, rel=1e-4)
    assert after["output_per_mu_wan"] == pytest.approx(200.0, rel=1e-4)  # (10,000 + 30,000) / 200
    assert after["investment_per_mu_wan"] == pytest.approx(300.0, rel=1e-4)
    assert after["plot_ratio"] == pytest.approx((1.0 + 1.2) / 2, rel=1e-4)
    assert after["available_area_mu"] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(NotFoundError, match="P9"):
        what_if(parcels, parks, ["P9"], electronics())


# --------------------------------------------------------------------------- reservation
def test_reserving_through_the_store_removes_the_parcel_from_the_next_match(store_path):
    from geo.auth import User
    from geo.store import open_store

    store = open_store(store_path)
    project = electronics(land_mu_min=30, land_mu_max=200, investment_wan=20000, output_wan=40000, tax_wan=2000)
    first = match(with_metrics(store.read_parcels()), store.read_parks(), project, top=3, with_blocks=False)
    best = first.candidates.parcel_ids.iloc[0]
    store.reserve(best, project=project["name"], user=User("planner1", "planner"))
    second = match(with_metrics(store.read_parcels()), store.read_parks(), project, top=3, with_blocks=False)
    assert best not in list(second.candidates.parcel_ids)
    assert second.candidates.parcel_ids.iloc[0] == first.candidates.parcel_ids.iloc[1]
    assert second.excluded["status_not_available"] == first.excluded["status_not_available"] + 1
    store.release(best, user=User("planner1", "planner"))
    third = match(with_metrics(store.read_parcels()), store.read_parks(), project, top=3, with_blocks=False)
    assert third.candidates.parcel_ids.iloc[0] == best


def test_prepared_parcels_serve_only_the_revision_they_were_made_from(store_path):
    """The app keeps one PreparedParcels per store revision: it is refused with the next revision's
    frame (or an equal copy), and one made from that frame sees the reservation."""
    from geo.auth import User
    from geo.store import open_store

    store = open_store(store_path)
    project = electronics(land_mu_min=30, land_mu_max=200, investment_wan=20000, output_wan=40000, tax_wan=2000)
    before = with_metrics(store.read_parcels())
    prepared = PreparedParcels(before)
    first = match(before, store.read_parks(), project, top=3, prepared=prepared)
    best = first.candidates.parcel_ids.iloc[0]
    store.reserve(best, project=project["name"], user=User("planner1", "planner"))
    after = with_metrics(store.read_parcels())
    for other in (after, before.copy()):
        with pytest.raises(ValueError, match="another data revision"):
            match(other, store.read_parks(), project, top=3, prepared=prepared)
    second = match(after, store.read_parks(), project, top=3, prepared=PreparedParcels(after))
    assert best not in list(second.candidates.parcel_ids)
    assert second.excluded["status_not_available"] == first.excluded["status_not_available"] + 1


def test_one_prepared_parcels_serves_many_matches_with_the_results_of_fresh_ones(sample_parcels, sample_parks):
    """Projects of other chains, sizes, scopes and statuses in turn on one PreparedParcels (its kept
    projections and enterprise trees reused) give exactly what a match preparing its own gives;
    parcels without metrics are prepared with them."""
    parcels = with_metrics(sample_parcels)
    prepared = PreparedParcels(parcels)
    requests = [
        (electronics(), {}),
        (electronics(land_mu_min=400, land_mu_max=500, investment_wan=200000, output_wan=300000, tax_wan=9000), {}),
        (electronics(chain=None, industry_code="38", land_mu_min=20, land_mu_max=60, jobs=200,
                     needs={"power_kva": 2000, "gas": True}), {"include_disposal": True, "top": 15}),
        (electronics(chain="nev", groups=["west", "platform"], preferred_parks=["zq_hitech"]),
         {"park_id": "zq_hitech", "weights": {"cluster": 60}}),
        (electronics(), {}),
    ]
    for project, kwargs in requests:
        kept = match(parcels, sample_parks, project, prepared=prepared, **kwargs)
        fresh = match(parcels, sample_parks, project, **kwargs)
        assert len(fresh.candidates) > 0
        for lang in ("zh", "en"):
            assert kept.to_json(lang) == fresh.to_json(lang)
        assert [g.wkb for g in kept.candidates.geometry] == [g.wkb for g in fresh.candidates.geometry]
    assert "block" in set(match(parcels, sample_parks, requests[1][0], prepared=prepared).candidates.kind)
    raw = PreparedParcels(sample_parcels)  # no metric columns: computed once, as match would
    assert raw.belongs_to(sample_parcels) and not raw.belongs_to(parcels)
    assert (match(sample_parcels, sample_parks, electronics(), prepared=raw).to_json()
            == match(parcels, sample_parks, electronics()).to_json())


def test_parcels_missing_a_status_land_use_or_park_are_excluded_like_before():
    parcels = with_metrics(make_parcels([strip(0, 100), strip(2000, 100), strip(4000, 100), strip(6000, 100)],
                                        park_id=["test_park", "test_park", None, "test_park"],
                                        status=["available", None, "available", "available"],
                                        land_use_code=["100101", "100101", "100101", None], chain=[None, "electronics", None, None]))
    result = match(parcels, make_parks({}), electronics())
    assert result.candidates.parcel_ids.tolist() == [["P1"]]
    assert result.considered == 3  # the parcel of no park is outside every park's scope
    assert result.excluded == {"status_not_available": 1, "land_use_incompatible": 1}


def test_match_on_the_sample_finds_explained_candidates(sample_parcels, sample_parks):
    parcels = with_metrics(sample_parcels)
    result = match(parcels, sample_parks, electronics(land_mu_min=400, land_mu_max=500,
                                                      investment_wan=200000, output_wan=300000, tax_wan=9000))
    assert len(result.candidates) > 0
    assert (result.candidates.score.diff().dropna() <= 1e-9).all()
    assert result.considered == len(parcels)
    assert sum(result.excluded.values()) <= result.considered
    for row in result.candidates.itertuples():
        members = parcels.loc[parcels.parcel_id.isin(row.parcel_ids)]
        assert (members.park_id == row.park_id).all()
        assert members.status.isin(["available", "approved_unsupplied"]).all()
        assert row.area_mu == pytest.approx(members.area_mu.sum())
        assert 400 * 0.9 <= row.area_mu <= 500 * 1.1
        if row.kind == "block":
            assert shapely.get_num_geometries(row.geometry) == 1
