"""``cli.py export ...`` run as a user would (in-process: tests/cli_runner.py), against a private copy of the store."""
from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook
from PIL import Image

from geo.auth import User
from geo.store import open_store
from tests import cli_runner

ROOT = Path(__file__).resolve().parent.parent
XSS = "<img src=x onerror=alert(1)>"
PROJECT = {"name": "储能电池项目", "industry_code": "38", "chain": "energy_storage", "land_mu_min": 30,
           "land_mu_max": 200, "investment_wan": 30000, "output_wan": 40000, "tax_wan": 1500,
           "plot_ratio": 1.2, "building_coefficient": 0.4}


def run_cli(*args, env, expect=0):
    proc = cli_runner.run_cli(*args, env=env, cwd=ROOT)
    assert proc.returncode == expect, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture()
def project_file(tmp_path) -> Path:
    path = tmp_path / "project.json"
    path.write_text(json.dumps(PROJECT, ensure_ascii=False), encoding="utf-8")
    return path


def test_export_map_pdf_summary_and_content(cli_env, tmp_path):
    out = tmp_path / "hitech.pdf"
    summary = json.loads(run_cli("export", "map", "--park", "gn_hitech", "--paper", "A3", "--dpi", "300",
                                 "--out", out, env=cli_env).stdout)
    assert summary["out"] == str(out) and summary["format"] == "pdf" and summary["pages"] == 1
    assert summary["features"] == 300 and summary["paper"] == "A3" and summary["dpi"] == 300
    assert pdf_pages(out) == 1
    assert "广宁县高新工业园二期" in pdf_text(out)


def test_export_map_png_intensity_portrait(cli_env, tmp_path):
    out = tmp_path / "map.png"
    summary = json.loads(run_cli("export", "map", "--park", "dz_park", "--theme", "intensity", "--orientation",
                                 "portrait", "--dpi", "150", "--lang", "en", "--out", out, env=cli_env).stdout)
    assert summary["indicator"] == "output_per_mu_wan"
    assert Image.open(out).size == (int(210 / 25.4 * 150), int(297 / 25.4 * 150))


def test_export_map_html_is_offline_and_escaped(cli_env, store_path, tmp_path):
    open_store(store_path).update_attributes("dz_park-000001", {"enterprise": XSS},
                                             user=User("planner1", "planner"))
    out = tmp_path / "map.html"
    run_cli("export", "map", "--park", "dz_park", "--quiet", "--out", out, env=cli_env)  # --quiet as documented
    page = out.read_text(encoding="utf-8")
    external = re.findall(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)",
                          page, flags=re.IGNORECASE)
    assert external == []
    assert "dz_park-000001" in page
    assert XSS not in page  # the name is embedded escaped (\u003cimg ...), never as markup
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page


@pytest.mark.parametrize("args, message", [
    (["map", "--park", "nowhere", "--out", "{tmp}/x.pdf"], "unknown park 'nowhere'"),
    (["map", "--park", "dz_park", "--out", "{tmp}/x.txt"], "--out must end in"),
    (["map", "--park", "dz_park", "--dpi", "9999", "--out", "{tmp}/x.png"], "dpi 9999"),
    (["map", "--park", "dz_park", "--out", "{tmp}/missing/x.pdf"], "does not exist"),
    (["atlas", "--out", "{tmp}/atlas.png"], "--out must end in .pdf"),
    (["factsheet", "no-such-parcel", "--out", "{tmp}/f.pdf"], "unknown parcel 'no-such-parcel'"),
    (["data", "--out", "{tmp}/x.docx"], "use one of"),
    (["data", "--what", "candidates", "--out", "{tmp}/x.csv"], "needs --project"),
    (["data", "--park", "nowhere", "--out", "{tmp}/x.csv"], "unknown park"),
])
def test_bad_input_exits_2_with_one_line_and_no_file(cli_env, tmp_path, args, message):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = run_cli("export", *[a.format(tmp=out_dir) for a in args], env=cli_env, expect=2)
    assert proc.stderr.startswith("error:") and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not list(out_dir.rglob("*"))


def test_export_atlas_subset_with_progress(cli_env, tmp_path):
    out = tmp_path / "atlas.pdf"
    proc = run_cli("export", "atlas", "--park", "dz_park", "--park", "gn_hitech", "--out", out, env=cli_env)
    summary = json.loads(proc.stdout)
    assert summary["pages"] == 2 and pdf_pages(out) == 2
    assert "[1/2]" in proc.stderr and "[2/2]" in proc.stderr


def test_export_factsheet_by_ids(cli_env, tmp_path):
    available = json.loads(run_cli("available", "--park", "dz_park", "--format", "json", env=cli_env).stdout)
    ids = [row["parcel_id"] for row in available[:2]]
    out = tmp_path / "sheets.pdf"
    summary = json.loads(run_cli("export", "factsheet", *ids, "--quiet", "--out", out, env=cli_env).stdout)
    assert summary["pages"] == 2 and pdf_pages(out) == 2
    text = pdf_text(out)
    assert all(pid in text for pid in ids) and "地块推介单" in text


def test_export_data_gpkg_of_available_land(cli_env, tmp_path):
    out = tmp_path / "available.gpkg"
    summary = json.loads(run_cli("export", "data", "--what", "available", "--park", "dz_park", "--out", out,
                                 env=cli_env).stdout)
    available = json.loads(run_cli("available", "--park", "dz_park", "--format", "json", env=cli_env).stdout)
    assert summary["features"] == len(available) and summary["crs"] == "EPSG:4490"
    back = pyogrio.read_dataframe(out, layer="available")
    assert sorted(back.parcel_id) == sorted(row["parcel_id"] for row in available)
    assert back.crs.to_epsg() == 4490


def test_export_data_candidates_xlsx(cli_env, project_file, tmp_path):
    out = tmp_path / "candidates.xlsx"
    summary = json.loads(run_cli("export", "data", "--what", "candidates", "--project", project_file, "--top", "5",
                                 "--out", out, env=cli_env).stdout)
    assert summary["features"] == 5
    book = load_workbook(out)
    assert book.sheetnames == ["候选用地", "排除原因"]  # a planner's workbook: Chinese by default
    frame = pd.read_excel(io.BytesIO(out.read_bytes()), sheet_name="候选用地")
    assert frame["排名"].tolist() == [1, 2, 3, 4, 5]
    ranked = json.loads(run_cli("match", project_file, "--top", "5", "--format", "json", env=cli_env).stdout)
    # the same parcels, with their enterprises' figures, as `match` and the Match page rank them
    assert frame["地块编号"].tolist() == [";".join(c["parcel_ids"]) if isinstance(c["parcel_ids"], list)
                                      else c["parcel_ids"] for c in ranked["candidates"]]
    assert frame["地块编号"].str.len().gt(0).all() and frame["匹配说明"].str.contains("，|；").all()
    assert "criteria" not in frame.columns and "characteristic" not in " ".join(frame["匹配说明"])
    excluded = pd.read_excel(io.BytesIO(out.read_bytes()), sheet_name="排除原因")
    assert list(excluded.columns) == ["原因", "数量"]  # reasons count parcels or blocks
    assert (excluded["数量"] > 0).all() and not excluded["原因"].str.contains("_").any()
    codes = tmp_path / "codes.xlsx"
    run_cli("export", "data", "--what", "candidates", "--project", project_file, "--top", "5", "--codes",
            "--out", codes, env=cli_env)
    assert load_workbook(codes).sheetnames == ["candidates", "excluded"]
    assert list(pd.read_excel(codes, sheet_name="excluded").columns) == ["reason", "count"]
