"""The store's CLI: reserve, release, status, edit, history, as-of, check, backup, restore, users."""
from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from commands import build_parser, run
from geo import auth
from geo.errors import PermissionDenied
from tests.cli_runner import run_cli
from tests.conftest import ROOT


@pytest.fixture()
def cli(store_path, tmp_path, monkeypatch, capsys):
    """Run the CLI in-process on a private store and users file; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    monkeypatch.setenv("PARKATLAS_USERS", str(tmp_path / "users.json"))

    def call(*argv, stdin: str | None = None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = run(build_parser(), [str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def _available(cli, n=1):
    code, out, _ = cli("available", "--park", "zq_hitech")
    assert code == 0
    return [row["parcel_id"] for row in json.loads(out) if row["status"] == "available"][:n]


def test_reserve_history_release_status_as_of(cli):
    a, b = _available(cli, 2)
    code, out, _ = cli("reserve", a, b, "--project", "电池厂", "--user", "pat")
    assert code == 0 and json.loads(out) == {"reserved": [a, b], "already_yours": [], "project": "电池厂",
                                             "user": "pat"}
    code, _, err = cli("reserve", a, "--project", "other", "--user", "olga")
    assert code == 2 and err.startswith("error: ") and "already reserved" in err and err.count("\n") == 1
    code, out, _ = cli("release", b, "--user", "pat")
    assert code == 0 and json.loads(out)["released"] == {b: "available"}
    code, out, _ = cli("status", b, "--set", "idle", "--note", "no works", "--user", "pat")
    assert json.loads(out) == {"changed": [b], "status": "idle", "user": "pat"}
    code, out, _ = cli("edit", b, "--set", "enterprise=新华", "--set", "employees=7", "--user", "pat",
                       "--expected-version", "4")
    assert code == 0 and json.loads(out)["version"] == 5
    code, out, _ = cli("history", b)
    rows = json.loads(out)
    assert [r["action"] for r in rows] == ["reserve", "release", "status", "edit", "edit", "edit"]
    assert set(rows[0]) == {"id", "at", "user", "role", "action", "parcel_id", "park_id", "field", "old",
                            "new", "project", "detail"}
    assert rows[2]["detail"] == {"note": "no works"} and rows[2]["old"] == "available"
    code, out, _ = cli("history", b, "--format", "csv")
    assert [r["action"] for r in csv.DictReader(io.StringIO(out))][:3] == ["reserve", "release", "status"]
    code, out, _ = cli("as-of", "--park", "zq_hitech", "--date", "2020-01-01")
    past = {r["parcel_id"]: r for r in json.loads(out)}
    assert past[a]["status"] == past[b]["status"] == "available" and past[b]["enterprise"] is None
    code, out, _ = cli("check")
    assert code == 0 and json.loads(out)["ok"] is True
    code, _, err = cli("history", "no-such-parcel")
    assert code == 2 and "unknown parcel" in err


def test_writes_need_a_user_and_the_right_role(cli):
    pid, = _available(cli)
    code, _, err = cli("reserve", pid, "--project", "P")
    assert code == 2 and "--user" in err
    assert cli("users", "add", "vic", "--role", "viewer", "--password-stdin", stdin="correct horse\n")[0] == 0
    assert cli("users", "add", "pat", "--role", "planner", "--password-stdin", stdin="battery staple\n")[0] == 0
    code, _, err = cli("reserve", pid, "--project", "P", "--user", "vic")
    assert code == 2 and "needs the planner role" in err
    code, _, err = cli("reserve", pid, "--project", "P", "--user", "mallory")
    assert code == 2 and "no user 'mallory'" in err
    assert cli("reserve", pid, "--project", "P", "--user", "pat")[0] == 0
    code, _, err = cli("restore", "x.gpkg", "--user", "pat")
    assert code == 2 and "needs the admin role" in err
    code, out, _ = cli("users", "list")
    assert json.loads(out) == [{"name": "pat", "role": "planner"}, {"name": "vic", "role": "viewer"}]
    assert auth.authenticate("pat", "battery staple") == auth.User("pat", "planner")
    with pytest.raises(PermissionDenied):
        auth.authenticate("pat", "wrong password")
    with pytest.raises(PermissionDenied):
        auth.authenticate("nobody", "battery staple")
    stored = json.loads((auth.users_file()).read_text())["users"]["pat"]["password"]
    assert "battery" not in stored and stored.startswith("scrypt$")
    assert cli("users", "remove", "vic")[0] == 0
    assert cli("users", "remove", "vic")[0] == 2
    code, _, err = cli("users", "add", "x", "--role", "admin", "--password-stdin", stdin="short\n")
    assert code == 2 and "at least 8" in err


def test_backup_and_restore(cli, tmp_path):
    pid, = _available(cli)
    cli("reserve", pid, "--project", "kept", "--user", "alice")
    backup = tmp_path / "copy.gpkg"
    code, out, _ = cli("backup", backup)
    assert code == 0 and backup.exists()
    cli("release", pid, "--user", "alice")
    code, out, _ = cli("restore", backup, "--user", "alice")
    assert code == 0 and json.loads(out)["problems"] == []
    code, out, _ = cli("history", pid)
    assert [r["action"] for r in json.loads(out)] == ["reserve"]
    code, out, _ = cli("parcels", "--park", "zq_hitech")
    assert {r["parcel_id"]: r["status"] for r in json.loads(out)}[pid] == "reserved"
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(b"not a database")
    code, _, err = cli("restore", broken, "--user", "alice")
    assert code == 2 and "nothing restored" in err


def test_postgresql_store_url_works_for_the_cli(postgis_url, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PARKATLAS_USERS": str(tmp_path / "none.json"), "HOME": str(tmp_path)}

    def call(*argv):
        return run_cli("--store", postgis_url, *argv, cwd=ROOT, env=env)

    done = call("parcels", "--park", "dh_park")
    pid = next(r["parcel_id"] for r in json.loads(done.stdout) if r["status"] == "available")
    assert json.loads(call("reserve", pid, "--project", "P", "--user", "pat").stdout)["reserved"] == [pid]
    assert [r["action"] for r in json.loads(call("history", pid).stdout)] == ["reserve"]
    again = call("reserve", pid, "--project", "Q", "--user", "olga")
    assert again.returncode == 2 and "already reserved" in again.stderr and "Traceback" not in again.stderr
    assert json.loads(call("check").stdout)["ok"] is True
