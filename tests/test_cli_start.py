"""CLI cold start: a command imports only the modules it needs (issue 20); no timings here, see bench/."""
from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from commands import _COMMAND_MODULES, _COMMANDS, build_parser, command_of

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("matplotlib", "dask", "openpyxl", "folium", "branca", "streamlit")
GEOMETRY = ("geopandas", "shapely", "pyogrio", "pyproj")
PROJECT = {"name": "显示模组项目", "industry_code": "39", "chain": "electronics", "land_mu_min": 80,
           "land_mu_max": 120, "investment_wan": 30000, "output_wan": 50000, "tax_wan": 1500, "plot_ratio": 1.2,
           "building_coefficient": 0.45, "needs": {"power_kva": 4000}}


def test_every_command_is_mapped_to_the_module_that_registers_it():
    registered = {}
    for name in _COMMAND_MODULES:
        subparsers = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(name).register(subparsers)
        registered.update(dict.fromkeys(subparsers.choices, name))
    assert _COMMANDS == registered


@pytest.mark.parametrize("argv, command", [
    (["match", "p.json", "--top", "3"], "match"),
    (["--store", "x.gpkg", "parks", "--format", "csv"], "parks"),
    (["--store=x.gpkg", "as-of", "2025-01-01"], "as-of"),
    (["--help"], None),
    (["--store", "x.gpkg"], None),
    ([], None),
])
def test_command_of(argv, command):
    assert command_of(argv) == command


def test_a_command_line_registers_only_its_command_and_help_lists_all():
    assert set(build_parser(["--store", "x.gpkg", "match", "p.json"])._subparsers._group_actions[0].choices) \
        == {"match"}
    every = set(build_parser(["--help"])._subparsers._group_actions[0].choices)
    assert every == set(_COMMANDS) == set(build_parser()._subparsers._group_actions[0].choices)
    # an unknown command still gets argparse's one-line error listing every command
    with pytest.raises(SystemExit) as exit_:
        build_parser(["nope"]).parse_args(["nope"])
    assert exit_.value.code == 2


def _run_cli_noting_heavy_modules(argv: list[str], env: dict, watched=HEAVY) -> tuple[str, list[str]]:
    """Run ``cli.py ARGV`` as a process; its output and which of ``watched`` (:data:`HEAVY`) it imported."""
    script = ("import runpy, sys, json\n"
              f"sys.argv = ['cli.py', *{argv!r}]\n"
              "try:\n    runpy.run_path('cli.py', run_name='__main__')\n"
              "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
              f"print(json.dumps(sorted(m for m in {tuple(watched)!r} if m in sys.modules)), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


def test_match_as_a_process_imports_no_drawing_dask_or_workbook_module(tmp_path, cli_env):
    project = tmp_path / "p.json"
    project.write_text(json.dumps(PROJECT, ensure_ascii=False), encoding="utf-8")
    out, heavy = _run_cli_noting_heavy_modules(["match", str(project), "--top", "3"], cli_env)
    assert len(json.loads(out)["candidates"]) == 3
    assert heavy == []


def test_help_as_a_process_lists_every_command_without_drawing_dask_or_workbook_modules(cli_env):
    out, heavy = _run_cli_noting_heavy_modules(["--help"], cli_env)
    assert all(command in out for command in _COMMANDS)
    assert heavy == []


def test_projects_warnings_as_a_process_reads_the_register_without_the_geometry_stack(cli_env):
    out, loaded = _run_cli_noting_heavy_modules(["projects", "warnings", "--as-of", "2026-10-31"], cli_env,
                                                watched=HEAVY + GEOMETRY)
    warnings = json.loads(out)
    assert warnings and {"project_id", "kind", "level", "reason"} <= set(warnings[0])
    assert loaded == []
    # the same helper sees the stack when a command does load it
    _, loaded = _run_cli_noting_heavy_modules(["parks"], cli_env, watched=GEOMETRY)
    assert "geopandas" in loaded and "shapely" in loaded
