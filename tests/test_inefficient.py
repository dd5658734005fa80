"""Inefficient land by rule: each rule found on a hand-built parcel and not on its neighbour, blocks,
gains equal to the what-if, confirmation audited on both stores."""
from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from geo.auth import User
from geo.errors import ParkAtlasError
from geo.inefficient import RULES_FILE, block_gains, confirm, find_candidates, inefficient_land, load_rules
from geo.matching import what_if
from geo.metrics import with_metrics
from geo.testing import copy_sample_store, make_parcels

AS_OF = date(2026, 10, 31)
PARKS = pd.DataFrame({"park_id": ["test_park"], "min_output_wan_per_mu": [200.0], "group": ["east"],
                      "name_zh": ["测试园"], "name_en": ["Test park"], "district_code": ["441201"],
                      "data_as_of": ["2026-10-31"]})


def hand_parcels():
    """Twelve 100 m × 100 m parcels (15 亩) in pairs: the first of each pair meets one rule, its
    neighbour does not. P1 and P2 touch (one block); every other parcel stands 100 m apart."""
    boxes = [(0, 0, 100, 100), (100, 0, 200, 100)] + [(200 * k, 300, 200 * k + 100, 400) for k in range(10)]
    n = len(boxes)
    columns = {"status": ["occupied"] * n, "industry_code": ["39"] * n, "floor_area_m2": [15_000.0] * n,
               "output_wan": [2250.0] * n, "tax_wan": [150.0] * n, "investment_wan": [None] * n,
               "contract_start_date": ["2015-01-01"] * n, "enterprise": [f"E{i + 1}" for i in range(n)]}
    columns["floor_area_m2"][2] = 5_000.0                      # P3: plot ratio 0.5 < 1.0 (industry 39)
    for i, start in ((4, "2020-01-01"), (5, "2023-06-01")):    # P5 due 2022: 4.8 years overdue; P6 1.4
        columns["status"][i], columns["contract_start_date"][i] = "under_construction", start
        columns["output_wan"][i] = columns["tax_wan"][i] = None
        columns["floor_area_m2"][i] = 0.0
    columns["investment_wan"][6] = columns["investment_wan"][7] = 1000.0
    columns["output_wan"][8] = 750.0                           # P9: 50 万元/亩 < half of 200
    columns["output_wan"][9] = 1650.0                          # P10: 110 万元/亩
    parcels = make_parcels(boxes, **columns)
    parcels["investment_to_date_wan"] = [None] * 6 + [400.0, 600.0] + [None] * 4      # P7 40 %, P8 60 %
    parcels["stopped_since"] = [None] * 10 + ["2025-06-01", "2026-06-01"]             # P11 1.4 y, P12 0.4 y
    return with_metrics(parcels, grades=pd.Series({"P1": "D", "P2": "C"}))


def rules_of(candidates) -> dict[str, list[str]]:
    return {row.parcel_id: [r["rule"] for r in row.rules] for row in candidates.itertuples()}


def test_each_rule_finds_its_parcel_and_not_the_neighbour():
    parcels = hand_parcels()
    found = rules_of(find_candidates(parcels, PARKS, as_of=AS_OF, grades=parcels.set_index("parcel_id").grade))
    assert found == {"P1": ["grade_d"], "P3": ["plot_ratio_below_min"], "P5": ["completion_overdue"],
                     "P7": ["investment_below_contract"], "P9": ["output_below_half_threshold"],
                     "P11": ["stopped_production"]}


def test_values_thresholds_and_reasons():
    parcels = hand_parcels()
    candidates = find_candidates(parcels, PARKS, as_of=AS_OF, lang="en").set_index("parcel_id")
    ratio = candidates.loc["P3", "rules"][0]
    assert (round(ratio["value"], 3), ratio["threshold"]) == (0.5, 1.0)
    assert ratio["reason"] == "plot ratio 0.50, below the industry minimum 1.00"
    invest = candidates.loc["P7", "rules"][0]
    assert (invest["value"], invest["threshold"]) == (pytest.approx(0.4), 0.5)
    assert candidates.loc["P5", "rules"][0]["value"] == pytest.approx(4.83, abs=0.01)


def test_grades_by_id_in_any_order_and_dates_read_once_each_give_the_same_candidates():
    parcels = hand_parcels()
    aligned = find_candidates(parcels, PARKS, as_of=AS_OF, grades=parcels.set_index("parcel_id").grade)
    # Grades of the evaluation come keyed by parcel id in their own order, with parcels missing.
    by_id = pd.Series({"P2": "C", "P1": "D", "P99": "D"}, dtype="string")
    assert rules_of(find_candidates(parcels, PARKS, as_of=AS_OF, grades=by_id)) == rules_of(aligned)
    assert rules_of(find_candidates(parcels, PARKS, as_of=AS_OF, grades=by_id.astype(object))) == rules_of(aligned)
    # Ids in a plain object column look up alike; none at all is no candidate, not an Arrow type error.
    plain_ids = parcels.astype({"parcel_id": object})
    assert rules_of(find_candidates(plain_ids, PARKS, as_of=AS_OF, grades=by_id)) == rules_of(aligned)
    assert find_candidates(plain_ids.iloc[:0], PARKS, as_of=AS_OF, grades=by_id).empty
    # Dates repeat, go missing or are unreadable: each distinct text is read once, missing and unreadable → not overdue.
    dated = parcels.copy()
    dated["status"] = "under_construction"
    dated["contract_start_date"] = ["2020-01-01", "2020-01-01", None, "", "not a date", "2023-06-01"] * 2
    overdue = {row.parcel_id: row.rules for row in find_candidates(dated, PARKS, as_of=AS_OF).itertuples()
               if any(r["rule"] == "completion_overdue" for r in row.rules)}
    assert sorted(overdue) == ["P1", "P2", "P7", "P8"]
    assert [r["value"] for r in overdue["P1"] if r["rule"] == "completion_overdue"] == \
        [pytest.approx((AS_OF - date(2022, 1, 1)).days / 365.25)]


def test_garbage_collection_paused_inside_and_restored_after():
    import gc

    from geo.gcpause import gc_paused

    assert gc.isenabled()
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("a failing step")
    assert gc.isenabled()


def test_garbage_collection_pauses_of_two_threads_overlapping_never_leave_it_off():
    """Sessions are threads: a pause ending while another thread's lasts keeps the collector off,
    and the last one to end turns it on again, whichever thread began first."""
    import gc
    import threading

    from geo.gcpause import gc_paused

    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with gc_paused():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second():
        first_in.wait(10)
        with gc_paused():
            second_in.set()
            first_out.wait(10)
            seen["after the first ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert seen == {"after the first ended": False}
    assert gc.isenabled()


def test_register_and_no_sales_and_disabled_rules(tmp_path):
    parcels = hand_parcels()
    # The register says P5's project is completed and P6's was due in 2023: overdue goes to P6.
    projects = pd.DataFrame({"parcel_ids": ["P5", "P6"], "stage": ["completed", "under_construction"],
                             "contract_completion": ["2021-01-01", "2023-06-30"], "investment_wan": [None, None]})
    found = rules_of(find_candidates(parcels, PARKS, as_of=AS_OF, projects=projects, stopped_parcels={"P12"}))
    assert "P5" not in found and found["P6"] == ["completion_overdue"]
    assert found["P12"] == ["stopped_production"]  # its enterprise sold nothing in its latest year
    text = RULES_FILE.read_text(encoding="utf-8")  # the shipped file, with one rule switched off
    path = tmp_path / "rules.toml"
    path.write_text(text.replace('key = "plot_ratio_below_min"\nenabled = true',
                                 'key = "plot_ratio_below_min"\nenabled = false'), encoding="utf-8")
    assert "P3" not in rules_of(find_candidates(parcels, PARKS, load_rules(path), as_of=AS_OF))


def test_candidates_form_blocks_and_gains_match_the_what_if():
    parcels = hand_parcels()
    parcels.loc[parcels.parcel_id == "P2", "floor_area_m2"] = 3000.0  # P2 touches P1: both candidates now
    parcels = with_metrics(parcels.drop(columns=["area_m2", "area_mu", "area_ha", "plot_ratio", "building_coefficient",
                                                 "investment_per_mu_wan", "output_per_mu_wan", "tax_per_mu_wan",
                                                 "grade"]), grades=pd.Series({"P1": "D"}))
    candidates = find_candidates(parcels, PARKS, as_of=AS_OF,
                                 grades=parcels.set_index("parcel_id").grade).set_index("parcel_id")
    assert candidates.loc["P1", "block_id"] == candidates.loc["P2", "block_id"]
    assert candidates.loc["P3", "block_id"] != candidates.loc["P1", "block_id"]
    blocks = block_gains(candidates.reset_index(), parcels).set_index("block_id")
    block = blocks.loc[candidates.loc["P1", "block_id"]]
    assert sorted(block.parcel_ids) == ["P1", "P2"] and block.area_mu == pytest.approx(30.0, rel=1e-3)
    # The what-if with a project at the park's average output and tax per 亩 on the same parcels.
    project = {"name": "average", "industry_code": "39", "land_mu_min": 30, "land_mu_max": 30,
               "investment_wan": 1.0, "output_wan": block.output_per_mu_wan_before * block.area_mu,
               "tax_wan": block.tax_per_mu_wan_before * block.area_mu, "plot_ratio": 1.0, "building_coefficient": 0.4}
    result = what_if(parcels, PARKS, ["P1", "P2"], project)
    assert block.output_per_mu_wan_after == pytest.approx(result["after"]["output_per_mu_wan"], rel=1e-6)
    assert block.tax_per_mu_wan_after == pytest.approx(result["after"]["tax_per_mu_wan"], rel=1e-6)
    assert block.output_per_mu_wan_before == pytest.approx(result["before"]["output_per_mu_wan"], rel=1e-6)


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    if request.param == "gpkg":
        from geo.store.gpkg import GpkgStore

        return GpkgStore(copy_sample_store(tmp_path))
    from geo.store.postgis import PostgisStore

    return PostgisStore(request.getfixturevalue("postgis_url"))


def test_confirmed_candidate_is_inefficient_and_in_history(store):
    candidates, blocks = inefficient_land(store, "fk_changgang", as_of=AS_OF)
    assert len(candidates) and set(candidates.park_id) == {"fk_changgang"} and len(blocks)
    pid = candidates[candidates.status == "occupied"].parcel_id.iloc[0]
    planner = User("pat", "planner")
    with pytest.raises(ParkAtlasError, match="meets no inefficiency rule") as refused:
        confirm(store, [pid, "fk_changgang-999999"], user=planner, as_of=AS_OF)
    assert (refused.value.key, refused.value.values) == ("inefficient.refused.not_candidate", {"ids": ["fk_changgang-999999"]})
    assert store.read_parcels("fk_changgang").set_index("parcel_id").status[pid] == "occupied"
    assert confirm(store, [pid], user=planner, as_of=AS_OF)["changed"] == [pid]
    assert store.read_parcels("fk_changgang").set_index("parcel_id").status[pid] == "inefficient"
    row = store.history(parcel_id=pid).iloc[-1]
    assert (row.action, row.old, row.new, row.user) == ("status", "occupied", "inefficient", "pat")
    assert "低效用地认定" in row.detail["note"] and pid in row.detail["note"]


def test_cli_lists_candidates_with_rules_and_refuses_a_bad_date(store_path, monkeypatch, capsys):
    from commands import build_parser, run

    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    code = run(build_parser(), ["inefficient", "--park", "dz_park", "--as-of", "2026-10-31", "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0 and rows and {row["park_id"] for row in rows} == {"dz_park"}
    assert all(rule["rule"] and "threshold" in rule for row in rows for rule in row["rules"])
    code = run(build_parser(), ["inefficient", "--park", "dz_park", "--as-of", "2026-10-31", "--format", "geojson"])
    features = json.loads(capsys.readouterr().out)["features"]
    assert code == 0 and [f["properties"]["rules"] for f in features] == [row["rules"] for row in rows]
    code = run(build_parser(), ["inefficient", "--as-of", "2026-13-01"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "error: --as-of '2026-13-01' is not a date (YYYY-MM-DD)"
