"""Issue 21: exports never follow planted links, fail in one line on a full disk, print data text
literally and never show a traceback (items 8, 9 and the Low export items)."""
from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import tomllib

import pytest

from geo.exports import neutralise, neutralise_frame
from tests.cli_runner import run_cli
from tests.conftest import ROOT
from tests.test_export_print import context, park_parcels, park_row, pdf_text  # noqa: F401 (fixture)

HOSTILE_MATH = r"$\undefinedmacro$ 园区"


def _cli(cli_env, *argv, limit_bytes: int | None = None):
    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, like ENOSPC
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    if not limit_bytes:
        return run_cli(*argv, cwd=ROOT, env=cli_env)
    # The file-size limit is a property of a process: this one runs as a real one.
    return subprocess.run([sys.executable, "cli.py", *argv], cwd=ROOT, env=cli_env, capture_output=True,
                          text=True, timeout=300, preexec_fn=limit_file_size)


@pytest.mark.parametrize("argv", [["export", "data", "--park", "dz_park"], ["export", "map", "--park", "dz_park"]])
def test_a_link_planted_at_the_temporary_name_is_never_followed(cli_env, tmp_path, argv):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    suffix = ".csv" if argv[1] == "data" else ".html"
    out = tmp_path / f"out{suffix}"
    (tmp_path / f".{out.name}.part").symlink_to(victim)  # the name the old code wrote through
    done = _cli(cli_env, *argv, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "keep me"
    assert out.is_file() and not out.is_symlink() and out.stat().st_size > 0


def test_an_out_that_is_a_symlink_is_refused_unless_asked(cli_env, tmp_path):
    victim = tmp_path / "victim.csv"
    victim.write_text("keep me")
    link = tmp_path / "parcels.csv"
    link.symlink_to(victim)
    done = _cli(cli_env, "export", "data", "--park", "dz_park", "--out", str(link))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "symbolic link" in done.stderr and "--follow-symlink" in done.stderr
    assert victim.read_text() == "keep me"
    done = _cli(cli_env, "export", "data", "--park", "dz_park", "--out", str(link), "--follow-symlink")
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and victim.read_text().startswith("\ufeffparcel_id")


@pytest.mark.parametrize("argv, name", [(["export", "data"], "parcels.csv"),
                                        (["export", "map", "--park", "dz_park"], "map.pdf")])
def test_a_full_disk_is_one_line_and_leaves_no_file(cli_env, tmp_path, argv, name):
    assert _cli(cli_env, "info").returncode == 0  # the store is prepared before the disk "fills"
    before = {p.name for p in tmp_path.iterdir()}  # the store, and its -wal/-shm once the reader closes
    done = _cli(cli_env, *argv, "--out", str(tmp_path / name), limit_bytes=64_000)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: cannot write") and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert {p.name for p in tmp_path.iterdir()} - before - {"store.gpkg-wal", "store.gpkg-shm"} == set()


@pytest.mark.parametrize("text", ["＝HYPERLINK(\"http://x\",\"y\")", " =1+1", "\u3000=1+1", "\t=1", "＋1", "－1",
                                  "＠SUM(A1)", "=1", "@x"])
def test_formula_like_text_is_neutralised(text):
    assert neutralise(text) == "'" + text
    assert neutralise_frame(__import__("pandas").DataFrame({"c": [text, "plain"]})).c.tolist() == ["'" + text,
                                                                                                    "plain"]


@pytest.mark.parametrize("text", ["a=b", "园区 =", "1 + 1", "ＡＢＣ"])
def test_ordinary_text_is_not_neutralised(text):
    assert neutralise(text) == text


def test_print_map_shows_mathtext_from_the_data_literally(context, tmp_path):  # noqa: F811
    from layers.print_map import render_park_map

    park = park_row(context).copy()
    park["name_zh"] = HOSTILE_MATH
    parcels = park_parcels(context).copy()
    parcels["land_use_code"] = "$\\frac{a}{$"
    out = tmp_path / "map.pdf"
    render_park_map(parcels, park, parks=context["parks"], districts=context["districts"], fmt="pdf", out=out,
                    theme="landuse", dataset_info=context["info"])
    assert "$\\undefinedmacro$" in pdf_text(out)


def test_shipped_config_hides_error_details():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_an_unexpected_page_error_is_one_translated_line_with_an_id(store_path, monkeypatch, caplog):
    from streamlit.testing.v1 import AppTest

    import layers.print_map

    def broken(*args, **kwargs):
        raise ValueError("internal detail that must not reach the page")

    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    monkeypatch.setenv("PARKATLAS_USERS", str(store_path.with_name("users.json")))
    monkeypatch.setattr(layers.print_map, "render_park_map", broken)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("app_pages/export.py")
    with caplog.at_level("ERROR", logger="parkatlas.app"):
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(e.value for e in at.error)
    assert "出现意外错误" in shown and "internal detail" not in shown and "Traceback" not in shown
    incident = shown.rsplit("：", 1)[1].strip()
    assert any(incident in r.getMessage() and r.exc_info for r in caplog.records)


def test_session_ids_are_kept_out_of_streamlit_logs():
    import logging

    from app_pages.guard import SessionIdFilter

    record = logging.LogRecord("streamlit.runtime", logging.WARNING, __file__, 1,
                               "Session with id %s is already connected!",
                               ("0b7e3c9a-1f2d-4e5f-9a8b-7c6d5e4f3a2b",), None)
    SessionIdFilter().filter(record)
    assert record.getMessage() == "Session with id <session> is already connected!"
    assert json.dumps(record.__dict__, default=str).count("0b7e3c9a") == 0
