"""Promotion teams and targets (issue 15): import with English and Chinese headers, all or
nothing, roles and audit, on both stores; the sample's fifteen teams; the CLI."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from geo.auth import User
from geo.errors import ParkAtlasError, PermissionDenied
from geo.store import open_store
from geo.store.tables import TEAMS, table_history
from geo.team import (check_targets, delete_team, import_targets, import_teams, read_table_file, read_targets,
                      read_teams, save_team, set_targets, teams_of_user)
from geo.testing import copy_sample_store
from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parent.parent
PLANNER = User("pat", "planner")
VIEWER = User("vic", "viewer")
TEAMS_ZH = ("队伍编号,队伍名称,成员,所属区县或部门,产业链\n"
            "X1,测试一组,alice;bob,端州区,电子信息;nev\n"
            "X2,测试二组,carol,鼎湖区,food\n")


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    if request.param == "gpkg":
        return open_store(copy_sample_store(tmp_path))
    return open_store(request.getfixturevalue("postgis_url"))


def csv_frame(text: str) -> pd.DataFrame:
    return read_table_file(text.encode("utf-8"), "x.csv")


def test_sample_has_fifteen_teams_with_targets_for_2025_and_2026(store):
    teams = read_teams(store)
    assert len(teams) == 15 and teams.team_id.is_unique
    targets = read_targets(store)
    assert set(targets.year) == {2025, 2026}
    assert set(targets.team_id) == set(teams.team_id)
    assert (read_targets(store, 2026).year == 2026).all()


def test_import_chinese_headers_then_targets_upsert_and_audit(store):
    result = import_teams(store, csv_frame(TEAMS_ZH), user=PLANNER)
    assert result == {"inserted": 2, "replaced": 0, "unchanged": 0, "deleted": 0}
    teams = read_teams(store).set_index("team_id")
    assert teams.at["X1", "chains"] == "electronics;nev"  # the chain's Chinese name became its code
    assert teams.at["X1", "members"] == "alice;bob" and teams.at["X2", "district"] == "鼎湖区"
    assert teams_of_user(read_teams(store), "bob") == ["X1"]
    again = import_teams(store, csv_frame(TEAMS_ZH.replace("carol", "carol;dan")), user=PLANNER)
    assert again == {"inserted": 0, "replaced": 1, "unchanged": 1, "deleted": 0}
    targets = csv_frame("team_id,year,target,value,chain\nX1,2026,签约项目数,6,\n"
                        "X1,2026,signed_count,2,nev\nX2,2026,tax_wan,\"1,200\",\n")
    assert import_targets(store, targets, user=PLANNER)["inserted"] == 3
    mine = read_targets(store, 2026).query("team_id in ['X1', 'X2']").set_index(["team_id", "target", "chain"])
    assert mine.at[("X1", "signed_count", ""), "value"] == 6
    assert mine.at[("X1", "signed_count", "nev"), "value"] == 2
    assert mine.at[("X2", "tax_wan", ""), "value"] == 1200
    log = table_history(store, TEAMS)
    assert len(log) == 3 and set(log.user) == {"pat"}
    assert log.iloc[-1]["new"]["members"] == "carol;dan" and log.iloc[-1]["old"]["members"] == "carol"


def test_bad_rows_reject_the_whole_file_and_write_nothing(store):
    before_teams, before_targets = read_teams(store), read_targets(store)
    revision = store.revision()
    bad = TEAMS_ZH + "X1,重复,eve,端州区,\nX3,,bad name!,端州区,unknown_chain\n"
    with pytest.raises(ParkAtlasError) as err:
        import_teams(store, csv_frame(bad), user=PLANNER)
    message = str(err.value)
    assert "\n" not in message and "row 4: team_id X1 is repeated" in message
    assert "row 5: the team has no name" in message and "unknown chain 'unknown_chain'" in message
    targets = csv_frame("队伍编号,年度,指标,目标值\nT01,2026,signed_count,3\nT01,26,signed_count,-1\nZZ,2026,x,1\n")
    with pytest.raises(ParkAtlasError, match="row 3: year '26'.*row 3: value '-1'.*row 4: unknown team 'ZZ'"):
        import_targets(store, targets, user=PLANNER)
    pd.testing.assert_frame_equal(read_teams(store), before_teams)
    pd.testing.assert_frame_equal(read_targets(store), before_targets)
    assert store.revision() == revision


def test_viewer_reads_only_and_delete_takes_the_targets(store):
    with pytest.raises(PermissionDenied):
        import_teams(store, csv_frame(TEAMS_ZH), user=VIEWER)
    save_team(store, {"team_id": "X9", "name": "新组", "members": "zoe", "chains": "metal"}, user=PLANNER)
    set_targets(store, "X9", 2026, pd.DataFrame({"target": ["signed_count", "tax_wan"], "value": [3, 50]}),
                user=PLANNER)
    assert len(read_targets(store).query("team_id == 'X9'")) == 2
    set_targets(store, "X9", 2026, pd.DataFrame({"target": ["signed_count"], "value": [4]}), user=PLANNER)
    assert read_targets(store).query("team_id == 'X9'").value.tolist() == [4]
    with pytest.raises(PermissionDenied):
        delete_team(store, "X9", user=VIEWER)
    counts = delete_team(store, "X9", user=PLANNER)
    assert counts["teams"]["deleted"] == 1 and counts["team_targets"]["deleted"] == 1
    assert "X9" not in set(read_teams(store).team_id) and "X9" not in set(read_targets(store).team_id)


def test_xlsx_with_english_headers_and_gbk_csv():
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["team_id", "name", "members", "district", "chains"])
    book.active.append(["X1", "测试一组", "alice；bob", "端州区", "metal、food"])
    buffer = io.BytesIO()
    book.save(buffer)
    teams = read_table_file(buffer.getvalue(), "teams.xlsx")
    from geo.team import check_teams

    checked = check_teams(teams)
    assert checked.members.tolist() == ["alice;bob"] and checked.chains.tolist() == ["metal;food"]
    gbk = read_table_file(TEAMS_ZH.encode("gbk"), "teams.csv")
    assert check_teams(gbk).name.tolist() == ["测试一组", "测试二组"]
    with pytest.raises(ParkAtlasError, match="lack column name"):
        check_teams(pd.DataFrame({"team_id": ["X"]}))
    with pytest.raises(ParkAtlasError, match="give a .csv or .xlsx"):
        read_table_file(b"x", "teams.txt")
    with pytest.raises(ParkAtlasError, match="given twice"):
        check_targets(pd.DataFrame({"team_id": ["T", "T"], "year": ["2026"] * 2, "target": ["tax_wan"] * 2,
                                    "value": ["1", "2"]}), ["T"])


def test_cli_import_list_and_one_line_errors(tmp_path):
    env = {"PARKATLAS_STORE": str(copy_sample_store(tmp_path)), "PATH": "/usr/bin:/bin"}
    (tmp_path / "teams.csv").write_text(TEAMS_ZH, encoding="utf-8")
    (tmp_path / "targets.csv").write_text("team_id,year,target,value\nX2,2025,tax_wan,99\n", encoding="utf-8")

    def cli(*args):
        return run_cli(*args, cwd=ROOT, env=env)

    done = cli("teams", "import", str(tmp_path / "teams.csv"), "--user", "pat")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["teams"]["inserted"] == 2
    assert cli("teams", "targets", "import", str(tmp_path / "targets.csv"), "--user", "pat").returncode == 0
    listed = json.loads(cli("teams", "list", "--format", "json").stdout)
    assert len(listed) == 17 and {"team_id", "name", "members", "district", "chains"} == set(listed[0])
    rows = pd.read_csv(io.StringIO(cli("teams", "targets", "list", "--year", "2025", "--format", "csv").stdout))
    assert rows.query("team_id == 'X2'").value.tolist() == [99]
    (tmp_path / "bad.csv").write_text("team_id,year,target,value\nX2,2025,tax_wan,lots\n", encoding="utf-8")
    bad = cli("teams", "targets", "import", str(tmp_path / "bad.csv"), "--user", "pat")
    assert bad.returncode == 2 and bad.stderr.startswith("error: targets rejected") and bad.stderr.count("\n") == 1
    missing = cli("teams", "import", str(tmp_path / "nope.csv"), "--user", "pat")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_reading_a_store_without_the_tables_writes_nothing(tmp_path):
    """A store made before the tables existed reads them as empty and keeps its revision (a read never writes)."""
    import sqlite3

    path = copy_sample_store(tmp_path)
    con = sqlite3.connect(path)
    con.execute("DROP TABLE team_targets")
    con.execute("DELETE FROM gpkg_contents WHERE table_name = 'team_targets'")
    con.commit()
    con.close()
    store = open_store(path)
    revision = store.revision()
    assert read_targets(store).empty and len(read_teams(store)) == 15
    assert store.revision() == revision
    set_targets(store, "T01", 2026, pd.DataFrame({"target": ["tax_wan"], "value": [10]}), user=PLANNER)
    assert read_targets(store).value.tolist() == [10]  # the first write created the table
