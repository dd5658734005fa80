"""The benchmark machinery on tiny cases: row schema, ratios, targets, skips, files. No timed assertions."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.harness import ROW_KEYS, Context, Row, Skip, Target, markdown_table, require, run_cases, write_results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _quiet_context(tmp_path, lines=None):
    lines = [] if lines is None else lines
    return Context(quick=True, repeats=1, size=1_000, cache_dir=tmp_path / "cache", out=lines.append)


def test_row_ratio_and_target_check():
    row = Row.measured("c", "m", 0.5, "s", baseline="b", baseline_value=10.0, target=Target(3.0, 0.1, "s"))
    assert row.ratio == pytest.approx(0.05)
    assert row.met is True
    assert row.target == "≤ 3 s and ≥ 10× faster than baseline"
    slow = Row.measured("c", "m", 2.0, "s", baseline="b", baseline_value=10.0, target=Target(3.0, 0.1, "s"))
    assert slow.met is False  # within 3 s but only 5× faster
    ratio_only = Row.measured("c", "m", 4.0, "s", baseline="b", baseline_value=2.0, target=Target(ratio_at_most=3))
    assert (ratio_only.ratio, ratio_only.met, ratio_only.target) == (2.0, True, "≤ 3× baseline")
    assert Row.measured("c", "m", None, "s", target=Target(1.0)).met is None


def test_require_turns_a_missing_module_into_a_skip():
    with pytest.raises(Skip, match="no_such_module_xyz not available"):
        require("no_such_module_xyz")
    assert require("json") is json
    with pytest.raises(Skip, match="app_pages.no_such_page not available"):
        require("app_pages.no_such_page", load=False)
    assert require("bench.harness", load=False) is None  # found, not imported


def test_run_cases_reports_skips_and_errors_without_stopping(tmp_path):
    def ok(ctx):
        return [Row.measured("ok", "value", 1.0, "s", baseline="base", baseline_value=4.0)]

    def missing(ctx):
        require("not_landed_yet_module")

    def broken(ctx):
        raise ValueError("boom")

    lines = []
    rows = run_cases({"ok": ok, "missing": missing, "broken": broken}, _quiet_context(tmp_path, lines))
    assert [r.case for r in rows] == ["ok", "missing", "broken"]
    assert rows[0].ratio == 0.25
    assert rows[1].note == "skipped: not_landed_yet_module not available"
    assert rows[2].note.startswith("error: ValueError: boom")
    assert any(line.startswith("[bench] broken") for line in lines)  # progress is printed as it goes


def test_markdown_and_json_files(tmp_path):
    rows = [Row.measured("c", "m|x", 1.23456, "s", baseline="b", baseline_value=2.0, target=Target(1.0, unit="s"))]
    info = {"nproc": 2, "ram_gib": 1.0, "cpu": "cpu", "os": "os", "python": "3", "chromium": None,
            "load_average_at_start": [0, 0, 0], "versions": {"geopandas": "1"}}
    text = write_results(rows, info, "python -m bench --quick", json_path=tmp_path / "r.json",
                         md_path=tmp_path / "latest.md")
    assert (tmp_path / "latest.md").read_text(encoding="utf-8") == text
    assert "m\\|x" in markdown_table(rows) and "**no**" in text and "python -m bench --quick" in text
    saved = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert saved["rows"][0]["value"] == 1.235 and saved["rows"][0]["met"] is False
    assert tuple(saved["rows"][0]) == ROW_KEYS


def test_cli_runs_a_real_case_and_writes_the_json_schema(tmp_path):
    out_json = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--only", "kpi_edit,matching,stored_metrics", "--size", "600",
                           "--repeats", "1", "--cache", str(tmp_path / "cache"), "--json", str(out_json),
                           "--markdown", str(tmp_path / "latest.md")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "[bench] kpi_edit" in proc.stderr  # progress on stderr
    assert "| case | metric | value |" in proc.stdout
    assert (tmp_path / "latest.md").read_text(encoding="utf-8") in proc.stdout
    report = json.loads(out_json.read_text(encoding="utf-8"))
    assert {"nproc", "ram_gib", "cpu", "versions"} <= set(report["machine"])
    rows = report["rows"]
    assert {r["case"] for r in rows} == {"kpi_edit", "matching", "stored_metrics"}
    for row in rows:
        assert tuple(row) == ROW_KEYS
        assert isinstance(row["value"], float) or row["note"].startswith("skipped")
        if row["baseline_value"]:
            assert row["ratio"] == pytest.approx(row["value"] / row["baseline_value"], rel=1e-2)


def test_cli_rejects_an_unknown_case():
    proc = subprocess.run([sys.executable, "-m", "bench", "--only", "nope"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: unknown case 'nope'")


@pytest.mark.parametrize("url, external", [
    ("http://127.0.0.1:8501/static/js/main.js", False),
    ("ws://127.0.0.1:8501/_stcore/stream", False),
    ("http://localhost/app/static/leaflet/leaflet.js", False),
    ("http://[::1]:8080/", False),
    ("http://127.0.0.1", False),
    ("data:text/css,x", False),
    ("blob:http://127.0.0.1:8501/3f2a", False),
    ("https://tile.openstreetmap.org/12/3338/1780.png", True),
    ("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js", True),
    ("wss://example.com/socket", True),
    ("http://127.0.0.1.example.com/", True),  # a host that only starts like loopback
    ("http://localhost.example.com/", True),
    ("http://127.0.0.1@example.com/", True),  # userinfo: the host is example.com
    ("http://10.0.0.5/intranet-tiles/1/1/1.png", True),
])
def test_the_network_guard_blocks_exactly_the_non_loopback_urls(url, external):
    from bench.browser import EXTERNAL_URL

    assert bool(EXTERNAL_URL.search(url)) is external


def test_draw_pages_run_every_leaflet_map_without_animations(tmp_path):
    """The draw cases measure every contestant alike: a folium map's fitBounds does not animate."""
    import shutil

    folium = pytest.importorskip("folium")
    browser_mod = pytest.importorskip("bench.browser")
    if not shutil.which(browser_mod.CHROMIUM):
        pytest.skip("no chromium")
    from layers.assets import use_app_assets

    m = folium.Map(location=[23.0, 112.5], zoom_start=5, tiles=None)
    m.fit_bounds([[23.0, 112.4], [23.1, 112.6]])
    (tmp_path / "map.html").write_text(use_app_assets(m, "/static").get_root().render(), encoding="utf-8")
    (tmp_path / "static").symlink_to(os.path.join(ROOT, "static"), target_is_directory=True)
    options = "() => { var m = Object.values(window).find(v => window.L && v instanceof L.Map); " \
              "return [m.options.zoomAnimation, m.options.fadeAnimation, m.getZoom() > 5]; }"
    with browser_mod.serve_directory(tmp_path) as base, browser_mod.chromium() as browser:
        plain = browser_mod.new_page(browser)
        plain.goto(f"{base}/map.html", wait_until="load")
        assert plain.evaluate(options)[:2] == [True, True]  # Leaflet's defaults: animated
        still = browser_mod.new_page(browser)
        browser_mod.without_animations(still)
        still.goto(f"{base}/map.html", wait_until="load")
        assert still.evaluate(options) == [False, False, True]  # none, and fitBounds reached its view
        assert browser_mod.draw_time_s(browser, f"{base}/map.html", timeout_s=120)["seconds"] > 0


def test_a_context_makes_its_cache_folder_so_any_case_may_run_first(tmp_path):
    """On a fresh clone ``bench/results/cache`` does not exist; ``--only load_20`` failed on it."""
    from bench.cases import _store_copy

    ctx = _quiet_context(tmp_path / "fresh")
    assert ctx.cache_dir.is_dir()
    assert _store_copy(ctx, None).is_file()


def test_the_ten_million_parcel_case_runs_only_when_named():
    """Its dataset takes an hour to generate: a plain run leaves it out, ``--only`` runs it with its target."""
    from bench.__main__ import selected_cases
    from bench.harness import CASES

    assert "province_10m" in CASES and "province_10m" not in selected_cases(None)
    assert "province" in selected_cases(None) and list(selected_cases(["province_10m"])) == ["province_10m"]
