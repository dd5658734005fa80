"""The CLI contract of the core commands, run as a user would (in-process: tests/cli_runner.py; a real
process where the process boundary is the point)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from pathlib import Path

import pytest

from geo.sample import SAMPLE_GPKG
from tests import cli_runner
from tests.cli_runner import run_cli_process

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, env=None, check=True, process=False):
    proc = (run_cli_process if process else cli_runner.run_cli)(*args, env=env, cwd=ROOT, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_parks_json_lists_the_344_layout(cli_env):
    parks = json.loads(run_cli("parks", "--format", "json", env=cli_env, process=True).stdout)
    assert len(parks) == 11
    assert sorted(p["group"] for p in parks).count("platform") == 3
    assert [p["group"] for p in parks].count("east") == 4 and [p["group"] for p in parks].count("west") == 4
    keys = {"park_id", "name_zh", "name_en", "group", "district_code", "parcel_count", "total_area_mu",
            "available_area_mu", "occupancy_rate", "plot_ratio", "output_per_mu_wan", "tax_per_mu_wan"}
    for park in parks:
        assert keys <= park.keys()
        assert park["available_area_mu"] > 0 and 0 < park["occupancy_rate"] < 1
    assert any(p["name_zh"] == "肇庆高新区" for p in parks)


def test_parks_csv(cli_env):
    rows = list(csv.DictReader(io.StringIO(run_cli("parks", "--format", "csv", env=cli_env).stdout)))
    assert len(rows) == 11 and rows[0]["park_id"] == "zq_hitech"


def test_parcels_geojson_in_wgs84_with_metrics(cli_env):
    fc = json.loads(run_cli("parcels", "--park", "gy_jinli", "--format", "geojson", env=cli_env).stdout)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 450
    props = fc["features"][0]["properties"]
    for key in ("parcel_id", "area_m2", "area_mu", "plot_ratio", "building_coefficient",
                "investment_per_mu_wan", "output_per_mu_wan", "tax_per_mu_wan"):
        assert key in props
    lon, lat = fc["features"][0]["geometry"]["coordinates"][0][0]
    assert 111 < lon < 113 and 22 < lat < 25  # lon/lat order, Zhaoqing


def test_parcels_json_metrics_match_the_area(cli_env):
    rows = json.loads(run_cli("parcels", "--park", "dz_park", "--format", "json", env=cli_env).stdout)
    assert len(rows) == 350
    for row in rows[:20]:
        assert row["area_mu"] == pytest.approx(row["area_m2"] / (10_000 / 15))


def test_available_filters(cli_env):
    rows = json.loads(run_cli("available", "--park", "zq_hitech", "--min-area-mu", "50",
                              "--max-area-mu", "200", "--land-use", "1001", env=cli_env).stdout)
    assert rows, "the sample has mid-sized available land in the High-tech Zone"
    assert all(50 <= r["area_mu"] <= 200 for r in rows)
    assert all(r["land_use_code"].startswith("1001") for r in rows)
    assert all(r["status"] in ("available", "approved_unsupplied") for r in rows)
    assert [r["area_mu"] for r in rows] == sorted((r["area_mu"] for r in rows), reverse=True)


def test_idle_warnings(cli_env):
    rows = json.loads(run_cli("idle", "--as-of", "2026-10-31", env=cli_env).stdout)
    assert {r["stage"] for r in rows} == {"fee", "repossession", "exempt"}
    assert {r["idle_case"] for r in rows} == {"not_started", "stopped"}
    exempt = next(r for r in rows if r["rule"] == "idle_exempt")
    assert exempt["delay_cause"] == "government" and exempt["delay_reason"]
    assert all(r["source"] == "《闲置土地处置办法》（国土资源部令第53号，2012年）" for r in rows)


@pytest.mark.parametrize(("args", "message"), [
    (["parcels", "--park", "no_such_park"], "unknown park"),
    (["available", "--min-area-mu", "abc"], "not a number"),
    (["available", "--min-area-mu", "-5"], "must not be negative"),
    (["available", "--min-area-mu", "90", "--max-area-mu", "10"], "larger than the maximum"),
    (["available", "--status", "sold"], "unknown status"),
    (["idle", "--as-of", "31/10/2026"], "not a date"),
    (["--store", "/tmp/store.txt", "parks"], "must end in .gpkg"),
    (["--store", "http://example.org/x.gpkg", "parks"], "unsupported store"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(cli_env, args, message):
    proc = run_cli(*args, env=cli_env, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_new_store_is_created_and_seeded_and_sample_untouched(tmp_path, cli_env):
    before = hashlib.sha256(SAMPLE_GPKG.read_bytes()).hexdigest()
    target = tmp_path / "nested" / "new.gpkg"
    parks = json.loads(run_cli("--store", str(target), "parks", env=cli_env).stdout)
    assert target.exists() and len(parks) == 11
    info = json.loads(run_cli("--store", str(target), "info", env=cli_env).stdout)
    assert info["synthetic"] == "true" and info["store"] == str(target)
    assert hashlib.sha256(SAMPLE_GPKG.read_bytes()).hexdigest() == before


def test_store_from_environment(cli_env, store_path):
    info = json.loads(run_cli("info", env=cli_env).stdout)
    assert info["store"] == str(store_path)


def test_repeated_single_park_is_refused_not_the_last_kept(cli_env):
    proc = run_cli("available", "--park", "zq_hitech", "--park", "dz_park", env=cli_env, check=False, process=True)
    assert proc.returncode == 2 and "--park given twice" in proc.stderr and proc.stdout == ""


def test_available_by_group(cli_env):
    parks = {p["park_id"]: p["group"] for p in json.loads(run_cli("parks", env=cli_env).stdout)}
    east = json.loads(run_cli("available", "--group", "east", env=cli_env).stdout)
    every = json.loads(run_cli("available", env=cli_env).stdout)
    assert east and {parks[r["park_id"]] for r in east} == {"east"}
    assert len(east) == sum(parks[r["park_id"]] == "east" for r in every)


def test_users_add_as_in_the_readme_asks_at_a_terminal(cli_env, tmp_path):
    """`users add NAME --role planner` typed at a terminal asks for the password twice (a pty)."""
    import os
    import pty

    env = dict(cli_env, PARKATLAS_USERS=str(tmp_path / "users.json"))
    env.pop("PARKATLAS_PASSWORD", None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the README's command on a terminal
        os.execve(sys.executable, [sys.executable, str(ROOT / "cli.py"), "users", "add", "li", "--role", "planner"],
                  env)
    output = b""
    for answer in (b"s3cret-pass\n", b"s3cret-pass\n"):
        while b"password" not in output.split(b"\n")[-1]:
            output += os.read(fd, 1024)
        os.write(fd, answer)
        output = output + b"\n"
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert b'"role": "planner"' in output and b"s3cret-pass" not in output


def test_available_by_a_group_the_city_does_not_have(cli_env):
    proc = run_cli("available", "--group", "north", env=cli_env, check=False)
    assert proc.returncode == 2 and "unknown group 'north'; one of platform, east, west" in proc.stderr
