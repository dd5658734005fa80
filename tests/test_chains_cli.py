"""Chains CLI (issue 17): show/gaps/land/leader JSON, prospects import (all or nothing) and the
prospect pack PDF (rendered with pdftoppm; the prospect's Chinese name is in its text)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parent.parent


def cli(env, *args, ok=True):
    done = run_cli(*args, env=env, cwd=ROOT)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def test_show_gaps_land_and_leader(cli_env):
    show = json.loads(cli(cli_env, "chains", "show", "nev").stdout)
    assert set(show[0]) == {"node_id", "parent", "name", "enterprise_count", "gap", "thin", "nearest_km"}
    motor = next(n for n in show if n["node_id"] == "nev.up.motor")
    assert motor["gap"] is True and motor["name"] == "驱动电机与电控"
    gaps = json.loads(cli(cli_env, "chains", "gaps", "--chain", "nev", "--lang", "en").stdout)
    assert "nev.up.motor" in {g["node_id"] for g in gaps} and all(g["chain"] == "nev" for g in gaps)
    assert {g["status"] for g in gaps} <= {"gap", "thin"} and all(g["ready_land"] >= 0 for g in gaps)
    assert all((g["enterprise_count"] == 0) == (g["status"] == "gap") for g in gaps)
    motor_gap = next(g for g in gaps if g["node_id"] == "nev.up.motor")
    land = json.loads(cli(cli_env, "chains", "land", "nev.up.motor", "--top", "1").stdout)
    assert land["node_id"] == "nev.up.motor" and len(land["candidates"]) == 1
    # The gap's ready land is the match of its typical demand: the same best candidate.
    assert motor_gap["ready_land"] >= 1
    assert motor_gap["best_parcel_ids"] == ";".join(land["candidates"][0]["parcel_ids"])
    bad = cli(cli_env, "chains", "leader", "nev", "91441200MA00000099", "--user", "alice", ok=False)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error:") and len(bad.stderr.strip().splitlines()) == 1


def test_prospects_import_and_pack(cli_env, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("企业名称,节点\n甲公司,nev.nope\n", encoding="utf-8")
    done = cli(cli_env, "prospects", "import", str(bad), "--user", "alice", ok=False)
    assert done.returncode == 2 and "rejected" in done.stderr and json.loads(done.stdout)["problems"][0]["row"] == 2
    sample = json.loads(cli(cli_env, "prospects", "list").stdout)  # the sample's synthetic prospects, untouched
    assert [p["prospect_id"] for p in sample] == [f"P{i:04d}" for i in range(1, 9)]
    good = tmp_path / "good.csv"
    good.write_text("企业名称,节点,来源城市,联系状态\n宁德时新电机有限公司,nev.up.motor,宁德,已联系\n", encoding="utf-8")
    cli(cli_env, "prospects", "import", str(good), "--user", "alice")
    listed = json.loads(cli(cli_env, "prospects", "list").stdout)
    assert [(p["prospect_id"], p["contact_status"]) for p in listed[len(sample):]] == [("P0009", "contacted")]
    out = tmp_path / "pack.pdf"
    report = json.loads(cli(cli_env, "export", "prospect-pack", "P0009", "--out", str(out), "--top", "2").stdout)
    assert report["pages"] == 3  # the cover and two fact sheets
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "1", str(out), str(tmp_path / "cover")],
                   check=True, timeout=120)
    assert (tmp_path / "cover-1.png").stat().st_size > 1000
    text = subprocess.run(["pdftotext", "-l", "1", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "宁德时新电机有限公司" in text and "驱动电机与电控" in text
    missing = cli(cli_env, "export", "prospect-pack", "P0099", "--out", str(tmp_path / "x.pdf"), ok=False)
    assert missing.returncode == 2 and "unknown prospect" in missing.stderr
