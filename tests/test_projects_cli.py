"""`projects` commands end to end on both stores, and the ledger round trip (XLSX → store → XLSX)."""
from __future__ import annotations

import io
import json
import sys

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from commands import build_parser, run
from geo.project_ledger import LEDGER_HEADERS
from geo.testing import copy_sample_store
from geo.uscc import make_uscc

USCC = make_uscc("91441200MA4UJ8FX7")
OTHER_USCC = make_uscc("91441284MA55ABCD1")


@pytest.fixture(params=["gpkg", "postgis"])
def cli(request, tmp_path, monkeypatch, capsys):
    """Run the CLI in-process on a private store; returns (exit code, stdout, stderr)."""
    location = (str(copy_sample_store(tmp_path)) if request.param == "gpkg"
                else request.getfixturevalue("postgis_url"))
    monkeypatch.setenv("PARKATLAS_STORE", location)
    monkeypatch.setenv("PARKATLAS_USERS", str(tmp_path / "users.json"))

    def call(*argv):
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        code = run(build_parser(), [str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def available(cli, n: int) -> list[str]:
    code, out, _ = cli("available", "--park", "zq_hitech")
    assert code == 0
    return [row["parcel_id"] for row in json.loads(out) if row["status"] == "available"][:n]


def test_match_file_to_full_production(cli, tmp_path):
    match_file = tmp_path / "project.yaml"
    match_file.write_text(
        "name: 储能电池项目\ninvestor: 示例储能科技\nindustry_code: '38'\nchain: energy_storage\nland_mu_min: 100\n"
        "land_mu_max: 150\ninvestment_wan: 60000\noutput_wan: 90000\ntax_wan: 3000\nplot_ratio: 1.1\n"
        f"building_coefficient: 0.42\nneeds: {{power_kva: 8000}}\nsigned_on: 2024-01-10\nuscc: {USCC}\n"
        "contract_start: 2024-06-01\ncontract_production: 2025-06-01\n", encoding="utf-8")
    code, out, _ = cli("match", match_file, "--top", "1")   # the same file matches …
    assert code == 0 and json.loads(out)["candidates"]
    code, out, _ = cli("projects", "add", match_file, "--user", "pat")  # … and enters the register
    assert code == 0
    added = json.loads(out)
    pid = added["project_id"]
    assert (added["stage"], added["land_mu"], added["duplicate_of"]) == ("signed", 150.0, None)

    ids = available(cli, 2)
    assert cli("projects", "stage", pid, "land_supplied", "--on", "2024-03-01", "--parcels", *ids,
               "--user", "pat")[0] == 0
    code, _, err = cli("projects", "stage", pid, "lead", "--on", "2024-03-02", "--user", "pat")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and "needs a reason" in err
    for stage, on in (("under_construction", "2024-05-20"), ("in_production", "2025-05-01"),
                      ("at_capacity", "2025-10-01")):
        assert cli("projects", "stage", pid, stage, "--on", on, "--user", "olga")[0] == 0
    assert cli("projects", "actuals", pid, "--year", "2025", "--investment-wan", "61000", "--output-wan", "45000",
               "--tax-wan", "3100", "--jobs", "120", "--user", "pat")[0] == 0
    code, out, _ = cli("parcels", "--park", "zq_hitech")
    statuses = {row["parcel_id"]: (row["status"], row["enterprise"]) for row in json.loads(out)}
    assert [statuses[p] for p in ids] == [("occupied", "示例储能科技")] * 2

    code, out, _ = cli("projects", "show", pid)
    shown = json.loads(out)
    assert [s["stage"] for s in shown["stages"]] == ["signed", "land_supplied", "under_construction",
                                                     "in_production", "at_capacity"]
    assert [s["user_name"] for s in shown["stages"]][-1] == "olga"
    assert shown["project"]["parcel_ids"] == ids and len(shown["parcels"]) == 2
    assert shown["actuals"][0]["output_wan"] == 45000

    code, out, _ = cli("projects", "check", pid, "--lang", "en")
    check = json.loads(out)
    output = next(c for c in check["criteria"] if c["name"] == "output_per_mu")
    assert check["below_promise"] is True and output["ratio"] == 0.5 and output["pass"] is False
    assert set(output) >= {"value", "promised", "threshold", "pass", "reason"}

    code, out, _ = cli("projects", "warnings", "--as-of", "2026-01-01")
    mine = [w for w in json.loads(out) if w["project_id"] == pid]
    assert {w["kind"] for w in mine} >= {"below_promise"}
    assert set(mine[0]) >= {"project_id", "parcel_ids", "kind", "level", "days", "rule", "reason"}
    code, out, _ = cli("projects", "list", "--stage", "at_capacity", "--warnings", "--as-of", "2026-01-01",
                       "--format", "csv")
    table = pd.read_csv(io.StringIO(out), dtype=str)
    assert pid in set(table.project_id) and "below_promise" in table.set_index("project_id").at[pid, "warnings"]


def test_counts_by_team_for_a_period(cli, monkeypatch):
    import os

    from geo.store import open_store

    code, out, _ = cli("projects", "counts", "--by", "team", "--from", "2024-01-01", "--to", "2024-12-31")
    assert code == 0
    rows = {r["team"]: r for r in json.loads(out)}
    # Landed in 2024 per team, recomputed from the stage events (withdrawn and duplicates excluded).
    code, out, _ = cli("projects", "list")
    projects = {p["project_id"]: p for p in json.loads(out) if p["stage"] != "withdrawn" and not p["duplicate_of"]}
    events = open_store(os.environ["PARKATLAS_STORE"]).read_stage_events()
    landed = events[events.stage.isin(["land_supplied", "under_construction", "completed", "in_production",
                                       "at_capacity"])].groupby("project_id").date.min()
    expected = {}
    for pid, first in landed.items():
        if pid in projects and "2024-01-01" <= first <= "2024-12-31":
            expected[projects[pid]["team"]] = expected.get(projects[pid]["team"], 0) + 1
    assert sum(expected.values()) > 0
    assert {t: r["land_supplied_count"] for t, r in rows.items() if r["land_supplied_count"]} == expected


def test_bad_input_is_one_line_and_changes_nothing(cli, tmp_path):
    code, before, _ = cli("projects", "list")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "industry_code": "38", "land_mu": 10, "investment_wan": 1,
                               "output_wan": 1, "tax_wan": 1, "plot_ratio": 1, "building_coefficient": 0.4,
                               "uscc": USCC[:-1] + ("0" if USCC[-1] != "0" else "1")}), encoding="utf-8")
    code, _, err = cli("projects", "add", bad, "--user", "pat")
    assert code == 2 and err.count("\n") == 1 and "GB 32100-2015" in err
    code, _, err = cli("projects", "stage", "PJ999999", "signed", "--on", "2024-01-01", "--user", "pat")
    assert code == 2 and "unknown project" in err
    code, _, err = cli("projects", "actuals", "PJ999999", "--year", "2024", "--jobs", "3", "--user", "pat")
    assert code == 2
    assert cli("projects", "list")[1] == before


def ledger_book(path, rows: list[dict]) -> None:
    book = Workbook()
    sheet = book.active
    headers = list(LEDGER_HEADERS.values())
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(column) for column in LEDGER_HEADERS])
    book.save(path)


def test_ledger_round_trip_and_all_or_nothing_import(cli, tmp_path):
    ids = available(cli, 1)
    rows = [
        {"project_id": "ZQ-2024-001", "name": "+肇庆“新能源”<b>项目</b>（一期）", "investor": "广东示例新能源有限公司",
         "uscc": USCC, "industry_code": "38", "chain": "energy_storage", "team": "T01", "contact": "张三 0758-1234567",
         "stage": "供地", "stage_on": "2024-04-01", "investment_wan": 52000.5, "output_wan": 80000, "tax_wan": 2600,
         "jobs": 320, "land_mu": 88.5, "plot_ratio": 1.3, "building_coefficient": 0.45, "parcel_ids": ids[0],
         "signed_on": "2024-01-15", "land_supplied_on": "2024-04-01", "contract_start": "2024-09-01",
         "contract_completion": "2025-09-01", "contract_production": "2025-12-01", "contract_capacity": "2027-12-01"},
        {"project_id": "ZQ-2024-002", "name": "端州食品加工", "investor": "示例食品", "uscc": OTHER_USCC,
         "industry_code": "14", "stage": "洽谈", "investment_wan": 8000, "output_wan": 12000, "tax_wan": 400,
         "land_mu": 30, "plot_ratio": 1.0, "building_coefficient": 0.4},
    ]
    source = tmp_path / "ledger.xlsx"
    ledger_book(source, rows)
    code, out, err = cli("projects", "import", source, "--user", "pat")
    assert code == 0, err
    assert json.loads(out)["added"] == ["ZQ-2024-001", "ZQ-2024-002"]
    code, out, _ = cli("parcels", "--park", "zq_hitech")
    assert {r["parcel_id"]: r["status"] for r in json.loads(out)}[ids[0]] == "supplied"

    exported = tmp_path / "out.xlsx"
    assert cli("projects", "export", "--out", exported)[0] == 0
    sheet = load_workbook(exported).active
    values = list(sheet.values)
    assert list(values[0]) == list(LEDGER_HEADERS.values())
    by_id = {row[0]: dict(zip(LEDGER_HEADERS, row)) for row in values[1:]}
    for row in rows:
        got = by_id[row["project_id"]]
        for column, value in row.items():
            if column == "name" and value.startswith("+"):
                assert got[column] == "'" + value   # neutralised, text intact
            else:
                assert got[column] == value, column
    # The export imports again as unchanged; a changed row or a bad row rejects the whole file.
    code, out, _ = cli("projects", "import", exported, "--user", "pat")
    report = json.loads(out)
    assert code == 0 and report["new"] == 0 and report["problems"] == []
    assert len(report["unchanged"]) == len(values) - 1 >= 302   # the sample's register too
    assert {"ZQ-2024-001", "ZQ-2024-002"} <= set(report["unchanged"])
    code, before, _ = cli("projects", "list")
    bad_rows = [
        {**rows[1], "project_id": "N1", "uscc": "91441200MA4UJ8FX7Z"},
        {**rows[1], "project_id": "N2", "uscc": None, "parcel_ids": "NO-SUCH-PARCEL"},
        {**rows[1], "project_id": "N3", "uscc": None, "signed_on": "2024-05-01", "land_supplied_on": "2024-02-01"},
        {**rows[1], "project_id": "N4", "uscc": None, "stage": "已开工吗"},
        {**rows[1], "project_id": "N5", "uscc": None},
    ]
    rejected = tmp_path / "bad.xlsx"
    ledger_book(rejected, bad_rows)
    code, out, err = cli("projects", "import", rejected, "--user", "pat")
    report = json.loads(out)
    assert code == 2 and err.startswith("error: ledger rejected, nothing written")
    assert [p["row"] for p in report["problems"]] == [2, 3, 4, 5]
    messages = " | ".join(p["message"] for p in report["problems"])
    for text in ("GB 32100-2015", "unknown parcel NO-SUCH-PARCEL", "dates out of order", "unknown stage"):
        assert text in messages
    assert cli("projects", "list")[1] == before


def test_records_written_column_by_column_are_the_bytes_of_the_json_encoder():
    """`projects warnings --format json` writes with emit_records: the same text as emit_object(records(...))."""
    import math

    import numpy as np

    from commands.output import emit_object, emit_records, records

    frame = pd.DataFrame({
        "text": pd.array(["a", None, '引号"\n\t\\ \u2028 é', ""], dtype="string"),
        "objects": pd.Series(["x", np.nan, None, pd.NA], dtype=object),
        "floats": [0.1 + 0.2, np.nan, math.inf, -0.0],
        "masked_floats": pd.array([1.25, None, 3.0, 1e20], dtype="Float64"),
        "days": pd.array([1, None, -3, 2**40], dtype="Int64"),
        "ints": np.array([1, 2, 3, 4], dtype=np.int64),
        "flags": [True, False, True, False],
        "masked_flags": pd.array([True, None, False, True], dtype="boolean"),
        "parcel_ids": [["p1", "p2"], [], ["一"], ["x", "y", "z"]],
        "nested": [[1, 2], {"k": [1, {"z": None}]}, (1, "a"), {"t": pd.Timestamp("2024-01-02")}],
        "when": pd.to_datetime(["2024-01-01", None, "2024-03-01 12:30", "2024-01-01"], format="mixed"),
        "numpy_scalars": [np.float64(2.5), np.int32(7), np.bool_(True), 1e-7],
    })
    for table in (frame, frame.iloc[:1], frame.iloc[:0], frame.assign(**{"7": 1}).rename(columns={"7": 7})):
        expected, written = io.StringIO(), io.StringIO()
        emit_object(records(table), expected)
        emit_records(table, written)
        assert written.getvalue() == expected.getvalue()
