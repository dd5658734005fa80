"""The project register in both stores: entry, stage changes and their parcel effects, refusals
that leave everything unchanged, actuals, delays and two planners racing on one project."""
from __future__ import annotations

import threading

import pytest

from geo.auth import User
from geo.errors import ConflictError, ParkAtlasError, PermissionDenied
from geo.testing import copy_sample_store
from geo.uscc import make_uscc

PLANNER = User("pat", "planner")
OTHER = User("olga", "planner")
VIEWER = User("vic", "viewer")
USCC = make_uscc("91441200MA4UJ8FX7")


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    from geo.store import open_store

    if request.param == "gpkg":
        return open_store(copy_sample_store(tmp_path))
    return open_store(request.getfixturevalue("postgis_url"))


def available(store, n: int) -> list[str]:
    parcels = store.read_parcels()
    return sorted(parcels.loc[parcels.status == "available", "parcel_id"])[:n]


def project_file(**keys) -> dict:
    base = {"name": "储能电池项目", "investor": "示例储能科技", "industry_code": "38", "land_mu": 60,
            "investment_wan": 30000, "output_wan": 45000, "tax_wan": 1500, "plot_ratio": 1.2,
            "building_coefficient": 0.45, "uscc": USCC, "signed_on": "2024-01-10",
            "contract_start": "2024-06-01", "contract_completion": "2025-06-01"}
    return {**base, **keys}


def snapshot(store):
    parcels = store.read_parcels().drop(columns="geometry")
    return (store.read_projects(), parcels, len(store.history()), store.read_stage_events())


def assert_unchanged(store, before):
    projects, parcels, audit, events = before
    now = snapshot(store)
    assert now[0].equals(projects)
    assert now[1].equals(parcels)
    assert now[2] == audit
    assert now[3].equals(events)


def test_project_from_signing_to_production_moves_its_parcels(store):
    ids = available(store, 2)
    store.reserve(ids[:1], project="储能电池项目", user=PLANNER)  # reserved on the Match page under its name
    added = store.add_project(project_file(parcel_ids=ids), user=PLANNER)
    pid = added["project_id"]
    assert added["stage"] == "signed" and added["stage_on"] == "2024-01-10"
    assert added["park_id"] == store.read_parcels().set_index("parcel_id").at[ids[0], "park_id"]

    result = store.set_stage(pid, "land_supplied", on="2024-03-01", user=PLANNER)
    assert result["parcels_moved"] == ids
    parcels = store.read_parcels().set_index("parcel_id").loc[ids]
    assert list(parcels.status) == ["supplied", "supplied"]
    assert list(parcels.enterprise) == ["示例储能科技"] * 2
    assert list(parcels.contract_start_date) == ["2024-06-01"] * 2
    assert parcels.reserved_project.isna().all()
    assert store.read_project(pid)["land_supplied_on"] == "2024-03-01"

    store.set_stage(pid, "under_construction", on="2024-07-15", user=OTHER)
    parcels = store.read_parcels().set_index("parcel_id").loc[ids]
    assert list(parcels.status) == ["under_construction"] * 2
    assert list(parcels.actual_start_date) == ["2024-07-15"] * 2

    store.set_stage(pid, "in_production", on="2025-09-01", user=PLANNER)
    assert list(store.read_parcels().set_index("parcel_id").loc[ids, "status"]) == ["occupied"] * 2

    events = store.read_stage_events(pid)
    assert list(events.stage) == ["signed", "land_supplied", "under_construction", "in_production"]
    assert list(events.date) == ["2024-01-10", "2024-03-01", "2024-07-15", "2025-09-01"]
    assert list(events.user_name) == ["pat", "pat", "olga", "pat"]
    history = store.project_history(pid)
    assert list(history.loc[history.action == "project_stage", "new"]) == [
        "land_supplied", "under_construction", "in_production"]
    status_rows = history[(history.action == "stage") & (history.field == "status")]
    assert len(status_rows) == 6 and set(status_rows.parcel_id) == set(ids)
    assert store.integrity_check() == []


def test_refused_stage_changes_leave_everything_unchanged(store):
    ids = available(store, 1)
    bare = store.add_project(project_file(name="无地项目"), user=PLANNER)["project_id"]
    landed = store.add_project(project_file(parcel_ids=ids, stage="land_supplied",
                                            land_supplied_on="2024-02-01"), user=PLANNER)["project_id"]
    other_ids = available(store, 2)[1:]
    store.reserve(other_ids, project="别的项目", user=OTHER)
    before = snapshot(store)
    refusals = [
        (dict(project_id=bare, stage="land_supplied", on="2024-03-01"), ParkAtlasError, "needs the project's parcels"),
        (dict(project_id=landed, stage="signed", on="2024-03-01"), ParkAtlasError, "needs a reason"),
        (dict(project_id=landed, stage="under_construction", on="2024-01-15"), ParkAtlasError, "before 2024-02-01"),
        (dict(project_id=landed, stage="land_supplied", on="2024-03-01"), ConflictError, "already at stage"),
        (dict(project_id=landed, stage="under_construction", on="2999-01-01"), ParkAtlasError, "in the future"),
        (dict(project_id=landed, stage="built", on="2024-03-01"), ParkAtlasError, "unknown stage"),
        (dict(project_id=landed, stage="under_construction", on="2024-05-01", parcel_ids=other_ids),
         ConflictError, "reserved for project 别的项目"),
    ]
    for kwargs, error, message in refusals:
        with pytest.raises(error, match=message):
            store.set_stage(user=PLANNER, **kwargs)
        assert_unchanged(store, before)
    with pytest.raises(PermissionDenied):
        store.set_stage(landed, "under_construction", on="2024-05-01", user=VIEWER)
    with pytest.raises(ParkAtlasError, match="check character"):
        store.add_project(project_file(uscc=USCC[:-1] + ("0" if USCC[-1] != "0" else "1")), user=PLANNER)
    with pytest.raises(ParkAtlasError, match="dates out of order"):
        store.add_project(project_file(contract_start="2023-01-01"), user=PLANNER)
    assert_unchanged(store, before)
    # Backwards with a reason is allowed and recorded; the parcels stay where they are.
    store.set_stage(landed, "signed", on="2024-03-01", reason="出让合同被撤销重签", user=PLANNER)
    event = store.read_stage_events(landed).iloc[-1]
    assert (event.stage, event.reason) == ("signed", "出让合同被撤销重签")
    assert store.read_parcels().set_index("parcel_id").at[ids[0], "status"] == "supplied"


def test_starting_stage_and_actuals_and_delays(store):
    lead = store.add_project(project_file(name="线索项目", signed_on=None), user=PLANNER)
    assert lead["stage"] == "lead" and lead["stage_on"] is None
    pid = store.add_project(project_file(), user=PLANNER)["project_id"]
    store.record_actuals(pid, 2024, {"investment_wan": 5000, "developed_area_mu": 10}, user=PLANNER)
    store.record_actuals(pid, 2024, {"output_wan": 800}, user=OTHER)  # the rest of the year is kept
    store.record_actuals(pid, 2025, {"investment_wan": 9000, "stopped_since": "2025-03-01"}, user=PLANNER)
    actuals = store.read_actuals(pid)
    assert list(actuals.year) == [2024, 2025]
    assert actuals.iloc[0][["investment_wan", "output_wan", "developed_area_mu"]].tolist() == [5000, 800, 10]
    assert actuals.iloc[1].stopped_since == "2025-03-01"
    with pytest.raises(ParkAtlasError, match="must be ≥ 0"):
        store.record_actuals(pid, 2024, {"tax_wan": -1}, user=PLANNER)
    store.record_delay(pid, cause="government", from_date="2024-05-01", to_date="2024-11-01",
                       reason="规划调整<script>", user=PLANNER)
    delays = store.read_delays(pid)
    assert delays[["cause", "from_date", "to_date", "reason"]].iloc[0].tolist() == [
        "government", "2024-05-01", "2024-11-01", "规划调整<script>"]
    with pytest.raises(ParkAtlasError, match="unknown delay cause"):
        store.record_delay(pid, cause="weather", from_date="2024-05-01", reason="x", user=PLANNER)
    assert len(store.project_history(pid)) == 1 + 3 + 1


def test_two_planners_changing_one_stage_at_once(store):
    ids = available(store, 1)
    pid = store.add_project(project_file(parcel_ids=ids), user=PLANNER)["project_id"]
    version = int(store.read_project(pid)["version"])
    barrier = threading.Barrier(2)
    results: list = []

    def planner(user: User, stage: str):
        barrier.wait()
        try:
            results.append(store.set_stage(pid, stage, on="2024-03-01", user=user, expected_version=version))
        except ConflictError as exc:
            results.append(exc)

    threads = [threading.Thread(target=planner, args=(PLANNER, "land_supplied")),
               threading.Thread(target=planner, args=(OTHER, "withdrawn"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wins = [r for r in results if isinstance(r, dict)]
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    assert len(wins) == 1 and len(conflicts) == 1
    assert "changed by someone else" in str(conflicts[0])
    history = store.project_history(pid)
    assert len(history[history.action == "project_stage"]) == 1
    assert store.read_project(pid)["stage"] == wins[0]["to"]
    assert len(store.read_stage_events(pid)) == 2


def test_planner_edits_a_project_validated_and_audited(store):
    pid = store.add_project(project_file(), user=PLANNER)["project_id"]
    version = int(store.read_project(pid)["version"])
    changed = store.update_project(pid, {"contact": "李四 <script>", "output_wan": 50000, "team": "T03"},
                                   user=OTHER, expected_version=version)
    assert changed == {"contact": "李四 <script>", "output_wan": 50000.0, "team": "T03"}
    row = store.read_project(pid)
    assert (row["contact"], row["output_wan"], row["version"]) == ("李四 <script>", 50000.0, version + 1)
    edits = store.project_history(pid).query("action == 'project_edit'")
    assert sorted(edits.field) == ["contact", "output_wan", "team"] and set(edits.user) == {"olga"}
    before = snapshot(store)
    for changes, seen, error, message in (
            ({"contract_start": "2023-01-01"}, version + 1, ParkAtlasError, "dates out of order"),
            ({"uscc": "91441200MA4UJ8FX7Z"}, version + 1, ParkAtlasError, "GB 32100-2015"),
            ({"stage": "at_capacity"}, version + 1, ParkAtlasError, "cannot edit stage"),
            ({"name": "x"}, version, ConflictError, "changed by someone else")):
        with pytest.raises(error, match=message):
            store.update_project(pid, changes, user=PLANNER, expected_version=seen)
        assert_unchanged(store, before)
    with pytest.raises(PermissionDenied):
        store.update_project(pid, {"name": "y"}, user=VIEWER)
