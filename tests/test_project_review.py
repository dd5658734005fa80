"""Warnings, the contract check and the counts of the register, on hand-built registers with known answers."""
from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest

from geo.project import ACTUAL_COLUMNS, DELAY_COLUMNS, PROJECT_COLUMNS, STAGE_EVENT_COLUMNS
from geo.project_review import Register, contract_check, project_counts, project_warnings

USCC = "91441200MA4UJ8FX75"


def frame(rows: list[dict], columns: dict) -> pd.DataFrame:
    return pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=list(columns)).astype(
        object).astype(columns)


def project(pid: str, stage: str, **keys) -> dict:
    base = {"project_id": pid, "name": f"项目{pid}", "investor": "示例", "industry_code": "39", "park_id": "zq_hitech",
            "stage": stage, "investment_wan": 60000.0, "output_wan": 90000.0, "tax_wan": 3000.0, "jobs": 300,
            "land_mu": 60.0, "plot_ratio": 1.2, "building_coefficient": 0.45, "parcel_ids": "A;B",
            "signed_on": "2022-12-01", "contract_start": "2023-03-01", "entered_at": "2022-12-02T01:00:00+00:00",
            "updated_on": "2099-01-01", "version": 1, "uscc": None, "chain": "electronics"}
    return {**base, **keys}


def register(projects, events=(), actuals=(), delays=()) -> Register:
    events = [{"id": i + 1, **e} for i, e in enumerate(events)]
    delays = [{"id": i + 1, **d} for i, d in enumerate(delays)]
    return Register(frame(projects, PROJECT_COLUMNS), frame(events, STAGE_EVENT_COLUMNS),
                    frame(list(actuals), ACTUAL_COLUMNS), frame(delays, DELAY_COLUMNS))


def kinds(warnings: pd.DataFrame, pid: str) -> dict:
    mine = warnings[warnings.project_id == pid]
    return dict(zip(mine.kind, zip(mine.level, mine.days)))


def test_idle_not_started_counts_calendar_anniversaries_from_29_february():
    reg = register([project("P1", "land_supplied", contract_start="2024-02-29")],
                   [{"project_id": "P1", "stage": "land_supplied", "date": "2023-12-01"}])
    assert "idle_fee" not in kinds(project_warnings(reg, date(2025, 2, 27)), "P1")
    at_fee = project_warnings(reg, date(2025, 2, 28))
    assert kinds(at_fee, "P1")["idle_fee"] == ("red", 365)  # 2024-02-29 → 2025-02-28 is one full year
    row = at_fee[at_fee.kind == "idle_fee"].iloc[0]
    assert row.parcel_ids == ["A", "B"] and "闲置土地处置办法" in row.source and "2025-02-28" in row.reason_zh
    assert "idle_repossession" not in kinds(project_warnings(reg, date(2026, 2, 27)), "P1")
    assert kinds(project_warnings(reg, date(2026, 2, 28)), "P1")["idle_repossession"][0] == "red"
    # A project without land (signed only) cannot lie idle, but its start is overdue.
    signed = register([project("P2", "signed", contract_start="2024-02-29")])
    found = kinds(project_warnings(signed, date(2025, 3, 1)), "P2")
    assert "idle_fee" not in found and found["start_overdue"] == ("red", 366)


def test_idle_second_case_and_the_article_8_exemption():
    events = [{"project_id": pid, "stage": "under_construction", "date": "2023-05-01"} for pid in ("S1", "S2", "S3")]
    stopped = {"year": 2024, "stopped_since": "2024-01-10", "investment_wan": 20000.0}
    reg = register(
        [project("S1", "under_construction"), project("S2", "under_construction"),
         project("S3", "under_construction")],
        events,
        [{"project_id": "S1", "developed_area_mu": 10.0, **stopped},   # < 1/3 of 60 亩 developed
         {"project_id": "S2", "developed_area_mu": 30.0, **stopped},   # half developed, 1/3 invested
         {"project_id": "S3", "developed_area_mu": 10.0, **stopped}],
        [{"project_id": "S3", "cause": "government", "from_date": "2024-01-10", "to_date": None,
          "reason": "规划调整<b>", "user_name": "pat", "at": "x"}])
    assert "idle_fee" not in kinds(project_warnings(reg, date(2025, 1, 9)), "S1")
    warnings = project_warnings(reg, date(2025, 1, 10))
    assert kinds(warnings, "S1")["idle_fee"] == ("red", 366)
    assert not any(k.startswith("idle") for k in kinds(warnings, "S2"))
    assert kinds(warnings, "S3") == {"idle_exempt": ("info", 366)}
    exempt = warnings[warnings.kind == "idle_exempt"].iloc[0]
    assert "第八条" in exempt.rule and exempt.reason_zh.endswith("规划调整<b>")


def test_overdue_grades_below_promise_stale_late_entry_and_duplicates():
    projects = [
        project("O1", "under_construction", contract_completion="2025-01-01"),
        project("C1", "at_capacity", contract_start=None),
        project("C2", "at_capacity", contract_start=None),
        project("D1", "signed", uscc=USCC, contract_start=None, signed_on="2024-01-05",
                entered_at="2024-01-05T02:00:00+00:00"),
        project("D2", "signed", uscc=USCC, contract_start=None, signed_on="2024-03-01",
                entered_at="2024-03-20T02:00:00+00:00", updated_on="2025-05-01"),
        project("D3", "signed", uscc=USCC, chain="nev", contract_start=None),
        project("W1", "withdrawn", contract_start="2020-01-01"),
    ]
    events = [{"project_id": "O1", "stage": "under_construction", "date": "2023-03-01"}]
    actuals = [{"project_id": "C1", "year": 2025, "investment_wan": 60000.0, "output_wan": 27000.0, "tax_wan": 3000.0},
               {"project_id": "C2", "year": 2025, "investment_wan": 60000.0, "output_wan": 90000.0, "tax_wan": 2700.0}]
    warnings = project_warnings(register(projects, events, actuals), date(2025, 6, 30))
    assert kinds(warnings, "O1") == {"completion_overdue": ("red", 180)}
    # whole days in the reasons, though the other projects' missing dates make the day counts floats
    o1 = warnings[warnings.project_id == "O1"].iloc[0]
    assert o1.reason_zh == "约定竣工 2025-01-01 已过 180 天，尚未达到该阶段"
    assert o1.reason_en == "agreed completion 2025-01-01 passed 180 days ago; the stage is not reached"
    assert kinds(project_warnings(register(projects, events, actuals), date(2025, 6, 29)), "O1") == {
        "completion_overdue": ("yellow", 179)}
    assert kinds(warnings, "C1")["below_promise"][0] == "red"      # output at 30% of the promise
    assert kinds(warnings, "C2")["below_promise"][0] == "yellow"   # tax at 90%
    assert "30%" in warnings[(warnings.project_id == "C1") & (warnings.kind == "below_promise")].reason_zh.iloc[0]
    d2 = kinds(warnings, "D2")
    assert set(d2) == {"stale", "late_entry", "duplicate_signing"}
    assert d2["stale"] == ("yellow", 60) and d2["late_entry"] == ("info", 19)
    assert set(warnings[warnings.project_id == "D2"].reason_zh) >= {"进度 60 天未更新（超过 31 天）",
                                                                    "签约后 19 天才录入（应在2天内）"}
    assert d2["duplicate_signing"][0] == "yellow" and pd.isna(d2["duplicate_signing"][1])
    assert kinds(project_warnings(register(projects, events, actuals), date(2025, 6, 30), stale_days=90),
                 "D2").keys() == {"late_entry", "duplicate_signing"}
    assert "D1" in warnings[(warnings.project_id == "D2") & (warnings.kind == "duplicate_signing")].reason_en.iloc[0]
    assert "duplicate_signing" not in kinds(warnings, "D1") and "duplicate_signing" not in kinds(warnings, "D3")
    assert kinds(warnings, "W1") == {}
    assert list(warnings.level) == sorted(warnings.level, key=["red", "yellow", "info"].index)
    parks = pd.DataFrame({"park_id": ["zq_hitech"], "group": ["platform"]})
    counts = project_counts(register(projects, [
        {"project_id": pid, "stage": "signed", "date": on} for pid, on in
        (("D1", "2024-01-05"), ("D2", "2024-03-01"), ("D3", "2024-03-02"))]), parks, by="chain",
        start=date(2024, 1, 1), end=date(2024, 12, 31)).set_index("chain")
    assert counts.at["electronics", "signed_count"] == 1    # D2 duplicates D1: counted once
    assert counts.at["nev", "signed_count"] == 1
    assert counts.at["electronics", "land_supplied_count"] == 0


def test_contract_check_per_mu_against_promise_and_threshold():
    reg = register([project("C1", "at_capacity", contract_production="2025-01-01")],
                   [{"project_id": "C1", "stage": "under_construction", "date": "2023-02-20"},
                    {"project_id": "C1", "stage": "in_production", "date": "2025-03-01"},
                    {"project_id": "C1", "stage": "at_capacity", "date": "2025-09-01"}],
                   [{"project_id": "C1", "year": 2025, "investment_wan": 66000.0, "output_wan": 60000.0,
                     "tax_wan": 3000.0, "jobs": 350, "floor_area_m2": 40000.0, "developed_area_mu": 50.0}])
    park = {"min_investment_wan_per_mu": 300.0, "min_output_wan_per_mu": 1200.0, "min_tax_wan_per_mu": 40.0,
            "min_plot_ratio": 1.0}
    result = contract_check(reg.projects.iloc[0].to_dict(), reg.events, reg.actuals, park, as_of=date(2025, 10, 1))
    by = {c["name"]: c for c in result["criteria"]}
    assert result["below_promise"] is True
    assert by["investment_per_mu"]["value"] == 1100.0 and by["investment_per_mu"]["pass"] is True
    assert by["output_per_mu"]["value"] == 1000.0 and by["output_per_mu"]["ratio"] == pytest.approx(0.667, abs=1e-3)
    assert by["output_per_mu"]["pass"] is False and by["output_per_mu"]["threshold"] == 1200.0
    assert by["tax_per_mu"]["pass"] is True and by["tax_per_mu"]["ratio"] == 1.0
    assert by["plot_ratio"]["value"] == pytest.approx(40000 / 40000, abs=1e-3)  # 60 亩 = 40,000 m²
    assert by["plot_ratio"]["pass"] is False                                     # promised 1.2
    assert by["start_date"]["pass"] is True and by["production_date"]["pass"] is False
    assert "逾期" in by["production_date"]["reason_zh"] and by["jobs"]["pass"] is True
    # English reasons carry English units (issue 19).
    assert by["output_per_mu"]["reason_en"].startswith("output per mu 1,000.0 10k yuan/mu, promised")
    assert not [c["reason_en"] for c in result["criteria"] if re.search("[亩万]", c["reason_en"])]


def test_sample_register_is_consistent_with_its_parcels(sample_store):
    from geo.project import ALL_STAGES
    from geo.project_review import WARNING_INPUTS, read_register

    reg = read_register(sample_store)
    projects = reg.projects
    assert 200 <= len(projects) <= 400 and set(projects.stage) == set(ALL_STAGES)
    assert projects.signed_on.dropna().between("2019-01-01", "2026-12-31").all()
    parcels = sample_store.read_parcels().set_index("parcel_id")
    producing = projects[projects.stage.isin(["in_production", "at_capacity"])]
    for row in producing.itertuples():
        mine = parcels.loc[row.parcel_ids.split(";")]
        assert (mine.status == "occupied").all() and (mine.enterprise == row.investor).all()
    # Stage events are in order and end at the project's stage.
    last = reg.events.sort_values("id").groupby("project_id").tail(1).set_index("project_id")
    assert (last.stage.reindex(projects.project_id).to_numpy() == projects.stage.to_numpy()).all()
    warnings = project_warnings(reg, date(2026, 10, 31))
    for kind in ("idle_fee", "idle_exempt", "start_overdue", "below_promise", "duplicate_signing"):
        assert kind in set(warnings.kind), kind
    # the CLI reads only the columns the warnings need, with the same result
    narrow = read_register(sample_store, WARNING_INPUTS)
    assert len(narrow.projects.columns) < len(reg.projects.columns) and len(narrow.projects) == len(projects)
    pd.testing.assert_frame_equal(project_warnings(narrow, date(2026, 10, 31)), warnings)


def test_park_map_theme_of_project_warnings():
    from geo.project_review import parcel_warning_levels
    from layers.style import WARNING_LEVEL_COLORS, theme_colors

    warnings = pd.DataFrame({"parcel_ids": [["A", "B"], ["B"], ["C"], []], "level": ["yellow", "red", "info", "red"]})
    levels = parcel_warning_levels(warnings)
    assert levels.to_dict() == {"A": "yellow", "B": "red", "C": "info"}
    parcels = pd.DataFrame({"parcel_id": ["A", "B", "C", "D"]})
    classified = theme_colors(parcels.assign(project_warning=parcels.parcel_id.map(levels)), "project_warnings",
                              lang="en")
    assert classified.codes.tolist() == [1, 0, 2, -1]
    assert classified.colors == list(WARNING_LEVEL_COLORS.values()) and classified.labels == ["Red", "Yellow", "Info"]
