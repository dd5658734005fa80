"""``cli.py import`` as a user runs it (in-process: tests/cli_runner.py): reports, one-line refusals, and a store that stays byte-identical."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from geo.errors import ParkAtlasError
from geo.io import commit_import, read_upload
from geo.store.gpkg import GpkgStore
from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parent.parent
XSS_PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "`backtick`",
                "${document.title=1}", "</script><b>bold</b>"]


def cli(env, *args):
    return run_cli(*args, env=env, cwd=ROOT)


def digest(path: Path) -> str:
    """The store's bytes, write-ahead log included."""
    sha = hashlib.sha256(Path(path).read_bytes())
    wal = Path(f"{path}-wal")
    if wal.exists():
        sha.update(wal.read_bytes())
    return sha.hexdigest()


REJECTED = [
    ("vrt_passwd.geojson", [], "VRT"),
    ("vrt_member.zip", [], "VRT"),
    ("zip_slip_dotdot.zip", [], "leaves the archive"),
    ("zip_bomb_ratio.zip", [], "zip bomb"),
    ("zip_nested.zip", [], "nested"),
    ("truncated.gpkg", [], "cannot read truncated.gpkg"),
    ("truncated.parquet", [], "truncated or corrupt"),
    ("duplicate_ids.geojson", [], "duplicate id"),
    ("outside_region.geojson", [], "--allow-outside-region"),
    ("parcels.dxf", [], "DXF drawings carry no CRS"),
    ("gcj02.geojson", ["--crs", "+proj=longlat"], "not an EPSG code"),
]


def test_rejected_files_exit_2_with_one_line_and_leave_the_store_byte_identical(cli_env, store_path,
                                                                               import_corpus):
    first = cli(cli_env, "import", str(import_corpus["parcels.geojson"]), "--dry-run")
    assert first.returncode == 0, first.stderr
    before = digest(store_path)
    for name, options, fragment in REJECTED:
        done = cli(cli_env, "import", str(import_corpus[name]), *options)
        assert done.returncode == 2, (name, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], (name, lines)
        assert "Traceback" not in done.stderr and "root:" not in done.stderr + done.stdout
        assert digest(store_path) == before, name


def test_gdal_paths_and_urls_are_refused_on_the_command_line(cli_env, store_path):
    before = digest(store_path)
    for target in ("/vsicurl/http://127.0.0.1:9/parcels.gpkg", "http://127.0.0.1:9/parcels.geojson"):
        done = cli(cli_env, "import", target)
        assert done.returncode == 2 and done.stderr.startswith("error: FILE") and "Traceback" not in done.stderr
    assert digest(store_path) == before


def test_dry_run_reports_in_json_and_writes_nothing(cli_env, store_path, import_corpus):
    cli(cli_env, "info")
    before = digest(store_path)
    done = cli(cli_env, "import", str(import_corpus["invalid_geometries.gpkg"]), "--dry-run", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "ok" and report["dry_run"] is True and "committed" not in report
    # The corpus lies on the sample's land, so it also overlaps parcels already in the store.
    assert report["problem_counts"].pop("overlap_existing") == report["geometry"]["overlaps_with_store"] > 0
    assert report["problem_counts"] == {"repaired": 3, "multipart_split": 2}
    geometry_problems = [p for p in report["problems"] if p["kind"] != "overlap_existing"]
    assert {p["parcel_id"] for p in geometry_problems} == {"BOWTIE", "SELFTOUCH", "SPIKE"}
    assert all(isinstance(p["lon"], float) and 112 < p["lon"] < 113 for p in report["problems"])
    assert digest(store_path) == before


def test_text_report_for_a_person(cli_env, import_corpus):
    done = cli(cli_env, "import", str(import_corpus["gbk_no_cpg.zip"]), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "encoding: gbk — no .cpg file" in done.stdout
    assert "dry run: nothing written" in done.stdout


def test_import_commits_every_feature_with_text_stored_verbatim(cli_env, store_path, import_corpus):
    done = cli(cli_env, "import", str(import_corpus["xss.geojson"]), "--format", "json", "--user", "alice")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["committed"]["inserted"] == 5 and report["dry_run"] is False
    stored = GpkgStore(store_path).read_parcels("zq_hitech").set_index("parcel_id")
    assert sorted(stored.loc[[f"ZQ-{i:03d}" for i in range(1, 6)], "enterprise"]) == sorted(XSS_PAYLOADS)
    history = GpkgStore(store_path).history(parcel_id="ZQ-001")
    assert len(history) == 1


def test_a_blocked_result_cannot_be_committed(store_path, import_corpus, sample_parks):
    store = GpkgStore(store_path)
    store.read_parcels()
    before = digest(store_path)
    result = read_upload(import_corpus["duplicate_ids.geojson"].read_bytes(), "duplicate_ids.geojson",
                         parks=sample_parks)
    with pytest.raises(ParkAtlasError, match="blocked"):
        commit_import(store, result, "alice")
    assert digest(store_path) == before


def test_api_commit_returns_counts(store_path, import_corpus, sample_parks):
    from geo.auth import User

    store = GpkgStore(store_path)
    result = read_upload(import_corpus["gk_zone_prefixed_no_prj.zip"].read_bytes(), "zone38.zip", parks=sample_parks)
    counts = commit_import(store, result, User("alice", "admin"))
    assert counts["inserted"] == 3 and result.report["committed"] == counts
    assert set(store.read_parcels("zq_hitech").parcel_id) >= {"ZQ-001", "ZQ-002", "ZQ-003"}
