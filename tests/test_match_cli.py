"""`python cli.py match`: the documented JSON shape and the exit-2 paths."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"name": "显示模组项目", "investor": "示例电子", "industry_code": "39", "chain": "electronics",
           "land_mu_min": 80, "land_mu_max": 120, "investment_wan": 30000, "output_wan": 50000,
           "tax_wan": 1500, "plot_ratio": 1.2, "building_coefficient": 0.45,
           "needs": {"power_kva": 4000, "gas": True}}
CANDIDATE_KEYS = {"rank", "kind", "parcel_ids", "park_id", "park_name", "area_mu", "score", "needs_disposal",
                  "criteria"}
CRITERION_KEYS = {"name", "kind", "value", "threshold", "pass", "weight", "score", "contribution", "source", "reason"}


def run(args, env) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=ROOT, env=env)


def write(tmp_path, name, content) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False),
                    encoding="utf-8")
    return str(path)


def test_match_json_shape(tmp_path, cli_env):
    done = run(["match", write(tmp_path, "p.json", PROJECT), "--top", "3", "--format", "json"], cli_env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"project", "considered", "weights", "candidates", "excluded", "excluded_reasons",
                        "edition", "source"}
    assert set(out["excluded_reasons"]) == set(out["excluded"])
    assert out["project"]["industry_code_2002"] == "40"
    assert [c["rank"] for c in out["candidates"]] == [1, 2, 3]
    scores = [c["score"] for c in out["candidates"]]
    assert scores == sorted(scores, reverse=True)
    for cand in out["candidates"]:
        assert set(cand) == CANDIDATE_KEYS
        assert cand["kind"] == "parcel" and len(cand["parcel_ids"]) == 1
        assert 80 * 0.9 <= cand["area_mu"] <= 120 * 1.1
        for crit in cand["criteria"]:
            assert set(crit) == CRITERION_KEYS
            assert re.search(r"[\u4e00-\u9fff]", crit["reason"])  # zh by default
        soft = sum(c["contribution"] for c in cand["criteria"] if c["kind"] == "soft")
        assert soft == pytest.approx(cand["score"], abs=0.05)
    assert all(isinstance(v, int) and v > 0 for v in out["excluded"].values())
    assert out["excluded"]["status_not_available"] > 0
    assert sum(out["weights"].values()) == pytest.approx(1.0, abs=1e-3)


def test_match_yaml_english_park_and_weights(tmp_path, cli_env):
    import yaml

    path = write(tmp_path, "p.yaml", yaml.safe_dump(PROJECT, allow_unicode=True))
    done = run(["match", path, "--park", "dh_park", "--lang", "en", "--top", "2", "--weight", "chain_fit=0",
                "--weight", "readiness=50"], cli_env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {c["park_id"] for c in out["candidates"]} == {"dh_park"}
    assert out["weights"]["chain_fit"] == 0
    chain = next(c for c in out["candidates"][0]["criteria"] if c["name"] == "chain_fit")
    assert chain["contribution"] == 0 and re.fullmatch(r"[ -~]+", chain["reason"])  # English, ASCII


def test_blocks_can_be_switched_off(tmp_path, cli_env):
    big = {**PROJECT, "land_mu_min": 400, "land_mu_max": 500, "investment_wan": 200000, "output_wan": 300000,
           "tax_wan": 9000}
    path = write(tmp_path, "big.json", big)
    with_blocks = json.loads(run(["match", path], cli_env).stdout)
    assert "block" in {c["kind"] for c in with_blocks["candidates"]}
    block = next(c for c in with_blocks["candidates"] if c["kind"] == "block")
    assert len(block["parcel_ids"]) >= 2 and 360 <= block["area_mu"] <= 550
    without = json.loads(run(["match", path, "--no-blocks"], cli_env).stdout)
    assert {c["kind"] for c in without["candidates"]} <= {"parcel"}


@pytest.mark.parametrize("content, args, message", [
    (None, [], "does not exist"),
    ('{"name": "x", ', [], "not valid JSON"),
    ({**PROJECT, "land_mu_min": 300}, [], "land_mu_min 300 is larger than land_mu_max 120"),
    ({**PROJECT, "chain": "rockets"}, [], "unknown chain 'rockets'"),
    ({**PROJECT, "industry_code": "07"}, [], "industry_code '07'"),
    (PROJECT, ["--park", "atlantis"], "unknown park 'atlantis'"),
    (PROJECT, ["--top", "0"], "--top must be at least 1"),
    (PROJECT, ["--weight", "chain_fit"], "is not NAME=VALUE"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, cli_env, content, args, message):
    path = str(tmp_path / "missing.json") if content is None else write(tmp_path, "p.json", content)
    done = run(["match", path, *args], cli_env)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]


def test_records_are_json_ready_rows():
    import numpy as np
    import pandas as pd

    from commands.output import records

    frame = pd.DataFrame({"park_id": pd.array(["a", None], dtype="string"), "count": np.array([3, 4], dtype=np.int64),
                          "area_mu": [1.5, np.nan], "ready": pd.array([True, pd.NA], dtype="boolean")})
    rows = records(frame)
    assert rows == [{"park_id": "a", "count": 3, "area_mu": 1.5, "ready": True},
                    {"park_id": None, "count": 4, "area_mu": None, "ready": None}]
    assert [type(v) for v in rows[0].values()] == [str, int, float, bool]
    assert json.loads(json.dumps(rows)) == rows
