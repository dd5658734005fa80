"""Team progress from hand-built registers with known counts (issue 15): duplicate USCC counted
once and listed, withdrawn counts nothing, a December signing counts in its year only,
"landed" only from land supply on, the ranking follows the weights, the straight-line path."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from geo.project_review import Register
from geo.team_progress import team_progress
from geo.uscc import make_uscc

A, B, C = make_uscc("91441200MA4UA0011"), make_uscc("91441200MA4UB0011"), make_uscc("91441200MA4UC0011")
TEAMS = pd.DataFrame({"team_id": ["T1", "T2"], "name": ["一组", "二组"], "members": ["amy", "bob"],
                      "district": ["端州区", "鼎湖区"], "chains": ["nev", "food"]})


def project(pid, team, uscc, chain="nev", signed_on=None, investment_wan=1000.0, stage="signed", stage_on=None):
    return {"project_id": pid, "name": f"项目{pid}", "team": team, "uscc": uscc, "chain": chain,
            "signed_on": signed_on, "investment_wan": investment_wan, "stage": stage, "stage_on": stage_on}


def register(projects, events=(), actuals=()):
    return Register(pd.DataFrame(projects),
                    pd.DataFrame(list(events), columns=["project_id", "stage", "date"]),
                    pd.DataFrame(list(actuals), columns=["project_id", "year", "tax_wan", "at"]),
                    pd.DataFrame(columns=["id", "project_id", "cause", "from_date", "to_date", "reason"]))


def targets(rows):
    return pd.DataFrame(rows, columns=["team_id", "year", "target", "chain", "value"])


def row(progress, team, target, chain=""):
    table = progress.rows.set_index(["team_id", "target", "chain"])
    return table.loc[(team, target, chain)]


@pytest.fixture()
def hand_built():
    projects = [
        project("P1", "T1", A, signed_on="2025-03-01", investment_wan=5000),
        project("P2", "T1", A, signed_on="2025-06-01", investment_wan=7000),   # same USCC + chain: duplicate
        project("P3", "一组", A, chain="food", signed_on="2025-07-01"),         # same USCC, other chain: counts
        project("P4", "T1", B, signed_on="2025-04-01", stage="withdrawn", stage_on="2025-09-01"),
        project("P5", "T1", C, signed_on="2025-12-31", investment_wan=2000),    # December signing
        project("P6", "T1", None, signed_on="2025-05-01"),                      # no USCC: not "signed"
        project("P7", "T2", make_uscc("91441200MA4UD0011"), signed_on="2024-11-01", stage="under_construction"),
        project("P8", "T9", make_uscc("91441200MA4UE0011"), signed_on="2025-02-01"),  # unknown team
    ]
    events = [("P1", "signed", "2025-03-01"), ("P1", "land_supplied", "2025-08-15"),
              ("P4", "signed", "2025-04-01"), ("P4", "land_supplied", "2025-05-01"), ("P4", "withdrawn", "2025-09-01"),
              ("P7", "signed", "2024-11-01"), ("P7", "under_construction", "2025-02-10"),  # skipped land supply
              ("P6", "negotiating", "2025-01-01")]
    actuals = [("P7", 2025, 300.0, "2025-10-05T02:00:00+00:00"), ("P7", 2024, 99.0, "2024-12-01T00:00:00+00:00")]
    goals = targets([("T1", 2025, "signed_count", "", 4), ("T1", 2025, "signed_investment_wan", "", 10000),
                     ("T1", 2025, "landed_count", "", 2), ("T1", 2025, "signed_count", "food", 1),
                     ("T2", 2025, "signed_count", "", 2), ("T2", 2025, "landed_count", "", 1),
                     ("T2", 2025, "started_count", "", 1), ("T2", 2025, "tax_wan", "", 600),
                     ("T1", 2026, "signed_count", "", 5)])
    return register(projects, events, actuals), goals


def test_counts_duplicates_withdrawn_december_and_landed(hand_built):
    reg, goals = hand_built
    p = team_progress(reg, TEAMS, goals, year=2025, as_of=date(2025, 12, 31))
    signed = row(p, "T1", "signed_count")
    assert signed.actual == 3 and signed.project_ids == ["P1", "P3", "P5"]  # not P2, P4, P6
    assert signed.ratio == pytest.approx(0.75)
    assert row(p, "T1", "signed_investment_wan").actual == 5000 + 1000 + 2000
    assert row(p, "T1", "signed_count", "food").project_ids == ["P3"]
    assert p.duplicates[["project_id", "duplicate_of"]].values.tolist() == [["P2", "P1"]]
    landed = row(p, "T1", "landed_count")
    assert landed.project_ids == ["P1"]  # P4 was supplied land but withdrew
    assert row(p, "T2", "signed_count").actual == 0  # P7 signed in 2024
    assert row(p, "T2", "landed_count").project_ids == ["P7"]  # land supply skipped: counts from its start
    assert row(p, "T2", "started_count").project_ids == ["P7"]
    assert row(p, "T2", "tax_wan").actual == 300
    next_year = team_progress(reg, TEAMS, goals, year=2026, as_of=date(2026, 1, 31))
    assert row(next_year, "T1", "signed_count").actual == 0  # the 31 December signing stays in 2025
    assert "P8" not in set(p.facts.project_id)


def test_as_of_date_sees_only_what_had_happened(hand_built):
    reg, goals = hand_built
    p = team_progress(reg, TEAMS, goals, year=2025, as_of=date(2025, 6, 30))
    assert row(p, "T1", "signed_count").project_ids == ["P1", "P4"]  # P4 not withdrawn yet; P2 duplicate
    assert row(p, "T1", "landed_count").project_ids == ["P4"]
    assert row(p, "T2", "tax_wan").actual == 0  # the 2025 tax was entered in October
    half = 181 / 365
    assert row(p, "T1", "signed_count").expected == pytest.approx(4 * half)
    assert bool(row(p, "T1", "signed_count").behind) is False  # 2 ≥ 1.98
    assert bool(row(p, "T2", "signed_count").behind) is True  # 0 < 0.99
    assert p.scores.set_index("team_id").behind.to_dict() == {"T1": 1, "T2": 2}  # T1: food-chain signing; T2: signing, tax
    months = p.monthly.query("team_id == 'T1' and target == 'signed_count' and chain == ''")
    assert months.month.tolist() == [1, 2, 3, 4, 5, 6]
    assert months.actual.tolist() == [0, 0, 1, 2, 2, 2]
    assert months.path.tolist() == pytest.approx([4 * m / 12 for m in range(1, 7)])


def test_ranking_follows_the_weights(hand_built):
    reg, goals = hand_built
    by_signing = team_progress(reg, TEAMS, goals, year=2025, as_of=date(2025, 12, 31),
                               weights={"signed_count": 1, "landed_count": 0, "started_count": 0,
                                        "tax_wan": 0, "signed_investment_wan": 0})
    assert by_signing.scores.team_id.tolist() == ["T1", "T2"]  # T1 signed 3/4, T2 0/2
    assert by_signing.scores.score.tolist() == pytest.approx([0.75, 0.0])
    by_landing = team_progress(reg, TEAMS, goals, year=2025, as_of=date(2025, 12, 31),
                               weights={"signed_count": 0, "landed_count": 1, "started_count": 1,
                                        "tax_wan": 0, "signed_investment_wan": 0})
    assert by_landing.scores.team_id.tolist() == ["T2", "T1"]  # T2 landed 1/1 and started 1/1, T1 landed 1/2
    assert by_landing.scores.set_index("team_id").score.to_dict() == pytest.approx({"T2": 1.0, "T1": 0.5})
    assert by_landing.scores["rank"].tolist() == [1, 2]
    ranks = by_landing.rows.set_index(["team_id", "target", "chain"])["rank"]
    assert ranks[("T1", "signed_count", "")] == 1 and ranks[("T2", "signed_count", "")] == 2


def test_unknown_weight_is_one_line_error(hand_built):
    from geo.errors import ParkAtlasError

    reg, goals = hand_built
    with pytest.raises(ParkAtlasError, match="unknown target 'speed'"):
        team_progress(reg, TEAMS, goals, year=2025, weights={"speed": 1})


# --- from a real store, both backends, and through the CLI ----------------------------------------
def fill_register(store):
    """Two test teams with 2026 targets and three projects entered through the register: a signing that
    landed, its duplicate, and the other team's (named by the team's name)."""
    from geo.auth import User

    from geo.team import import_targets, import_teams

    user = User("pat", "planner")
    import_teams(store, pd.DataFrame({"team_id": ["X1", "X2"], "name": ["测试一组", "测试二组"]}), user=user)
    import_targets(store, pd.DataFrame({"team_id": ["X1", "X1", "X2"], "year": ["2026"] * 3,
                                        "target": ["signed_count", "landed_count", "signed_count"],
                                        "value": ["2", "1", "1"]}), user=user)
    base = dict(industry_code="36", land_mu_min=10, land_mu_max=50, investment_wan=5000, output_wan=8000,
                tax_wan=300, plot_ratio=1.2, building_coefficient=0.4, chain="nev")
    first = store.add_project(dict(base, name="甲", team="X1", uscc=A, signed_on="2026-03-02"), user=user)
    again = store.add_project(dict(base, name="甲二次", team="X1", uscc=A, signed_on="2026-04-01"), user=user)
    other = store.add_project(dict(base, name="乙", team="测试二组", uscc=B, signed_on="2026-10-10"), user=user)
    parcels = store.read_parcels()
    free = parcels[parcels.status == "available"].parcel_id.iloc[0]
    store.set_stage(first["project_id"], "land_supplied", on="2026-05-01", user=user, parcel_ids=[free])
    return first["project_id"], again["project_id"], other["project_id"]


@pytest.fixture(params=["gpkg", "postgis"])
def filled_store(request, tmp_path):
    from geo.store import open_store
    from geo.testing import copy_sample_store

    location = (str(copy_sample_store(tmp_path)) if request.param == "gpkg"
                else request.getfixturevalue("postgis_url"))
    store = open_store(location)
    return store, fill_register(store)


def test_progress_from_the_store(filled_store):
    from geo.project_review import read_register
    from geo.team import read_targets, read_teams

    store, (first, again, other) = filled_store
    p = team_progress(read_register(store), read_teams(store), read_targets(store, 2026), year=2026,
                      as_of=date(2026, 10, 31))
    assert row(p, "X1", "signed_count").project_ids == [first] and row(p, "X1", "signed_count").ratio == 0.5
    assert row(p, "X1", "landed_count").project_ids == [first]
    assert row(p, "X2", "signed_count").project_ids == [other]
    assert p.duplicates.set_index("project_id").at[again, "duplicate_of"] == first
    assert len(p.scores) == 17 and p.scores["rank"].iloc[0] == 1


def test_cli_progress_and_bulletin(tmp_path):
    import io
    import json

    from geo.store import open_store
    from geo.testing import copy_sample_store
    from tests.cli_runner import run_cli
    from tests.conftest import ROOT

    path = copy_sample_store(tmp_path)
    first, again, _ = fill_register(open_store(path))
    env = {"PARKATLAS_STORE": str(path), "PATH": "/usr/bin:/bin"}

    def cli(*args):
        return run_cli(*args, cwd=ROOT, env=env)

    done = cli("teams", "progress", "--year", "2026", "--as-of", "2026-10-31", "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert list(rows[0]) == ["team_id", "name", "target", "chain", "target_value", "actual", "ratio", "rank",
                             "expected", "behind", "project_ids"]
    signed = next(r for r in rows if r["team_id"] == "X1" and r["target"] == "signed_count" and not r["chain"])
    assert signed["actual"] == 1 and signed["project_ids"] == [first]
    csv = pd.read_csv(io.StringIO(cli("teams", "progress", "--year", "2026", "--as-of", "2026-10-31",
                                      "--format", "csv").stdout), keep_default_na=False)
    assert csv.query("team_id == 'X1' and target == 'landed_count'").project_ids.tolist() == [first]
    for suffix in ("pdf", "xlsx"):
        made = cli("report", "bulletin", "--month", "2026-05", "--out", str(tmp_path / f"b.{suffix}"))
        assert made.returncode == 0, made.stderr
        report = json.loads(made.stdout)
        assert report["format"] == suffix and report["teams"] == 17 and (tmp_path / f"b.{suffix}").stat().st_size
    for bad in (["teams", "progress", "--year", "20x6"], ["report", "bulletin", "--month", "2026-13", "--out",
                                                             str(tmp_path / "c.pdf")],
                ["report", "bulletin", "--month", "2026-10", "--out", str(tmp_path / "c.doc")],
                ["teams", "progress", "--year", "2026", "--weight", "speed=1"]):
        failed = cli(*bad)
        assert failed.returncode == 2 and failed.stderr.startswith("error:") and failed.stderr.count("\n") == 1, bad


def test_sample_targets_give_a_spread_and_a_duplicate(sample_store):
    from geo.project_review import read_register
    from geo.team import read_targets, read_teams

    p = team_progress(read_register(sample_store), read_teams(sample_store), read_targets(sample_store, 2025),
                      year=2025, as_of=date(2025, 12, 31))
    assert p.scores.score.max() >= 1.0 and p.scores.score.min() < 0.6  # some teams ahead, some behind
    assert p.rows.actual.sum() > 0 and p.scores["rank"].tolist() == sorted(p.scores["rank"].tolist())
    later = team_progress(read_register(sample_store), read_teams(sample_store), read_targets(sample_store, 2026),
                          year=2026, as_of=date(2026, 10, 31))
    assert len(later.duplicates) >= 1
    assert not set(later.duplicates.project_id) & set(later.facts.project_id)  # listed, never counted
