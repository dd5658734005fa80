"""Province scale: partitioned GeoParquet on a Dask LocalCluster gives the in-memory results."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo import province
from geo.availability import available_parcels
from geo.crs import projected_area_m2
from geo.enterprise import apply_enterprise_figures
from geo.evaluation import evaluate_frames, grades_by_parcel, load_scheme
from geo.errors import ParkAtlasError
from geo.metrics import group_kpis, park_kpis, with_metrics
from geo.standards import load_standards
from tests.cli_runner import run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """3,000 parcels in three chunks (three seeds), partitioned by park."""
    return province.write_parquet_sample(tmp_path_factory.mktemp("province"), 3_000, chunk_size=1_200, seed=11)


def read_back(dataset) -> gpd.GeoDataFrame:
    """Every parcel file of ``dataset`` in one GeoDataFrame, with park_id from the folder."""
    frames = []
    for path in sorted((dataset / "parcels").rglob("*.parquet")):
        frame = gpd.read_parquet(path)
        frame["park_id"] = path.parent.name.removeprefix("park_id=")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def in_memory(dataset):
    """The same parcels in one GeoDataFrame without their stored areas: the in-memory path measures
    them from the geometries, so the Dask path's stored areas are checked against it."""
    return read_back(dataset).drop(columns=province.AREA_COLUMN), province.read_parks(dataset)


@pytest.fixture(scope="module")
def evaluated(dataset, in_memory):
    """The in-memory parcels as the city store shows them: their enterprise's figures of the latest
    year and the grade of the default scheme's evaluation over all enterprises."""
    parcels, parks = in_memory
    enterprises, figures = province.read_enterprise_tables(dataset)
    evaluation = evaluate_frames(enterprises, figures, parcels, parks, int(figures.year.max()), load_scheme())
    return with_metrics(apply_enterprise_figures(parcels, enterprises, figures),
                        grades=grades_by_parcel(evaluation.table, enterprises))


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield cluster, client


def test_layout_is_partitioned_by_park_with_unique_ids(dataset, in_memory):
    parcels, parks = in_memory
    enterprises, figures = province.read_enterprise_tables(dataset)
    assert enterprises.uscc.is_unique and set(figures.uscc) <= set(enterprises.uscc)
    used = set(";".join(enterprises.parcel_ids.dropna()).split(";")) - {""}
    assert used <= set(parcels.parcel_id) and len(used) > 1_000
    folders = {p.name for p in (dataset / "parcels").iterdir()}
    assert folders == {f"park_id={pid}" for pid in parks.park_id}
    assert len(parcels) == 3_000
    assert parcels.parcel_id.is_unique
    # Three chunks with different seeds: each park folder holds one file per chunk.
    assert len(list((dataset / "parcels" / "park_id=zq_hitech").glob("*.parquet"))) == 3
    assert parcels.crs.to_epsg() == 4490
    # Each file stores its parcels' areas, measured as geo.crs does in their Gauss-Krüger zone.
    stored = read_back(dataset)
    np.testing.assert_array_equal(stored[province.AREA_COLUMN], projected_area_m2(stored.geometry))
    assert province.area_columns(dataset) == [province.AREA_COLUMN]


def test_park_kpis_on_cluster_equal_in_memory(dataset, in_memory, evaluated, cluster):
    _, parks = in_memory
    expected = park_kpis(evaluated, parks)
    got = province.province_kpis(dataset, by="park")
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-9)
    assert got.grade_A.sum() > 0 and got.grade_D.sum() > 0 and got.output_per_mu_wan_median.notna().all()


def test_group_kpis_on_cluster_equal_in_memory(dataset, in_memory, evaluated, cluster):
    _, parks = in_memory
    expected = group_kpis(evaluated, parks).set_index("group").sort_index()
    got = province.province_kpis(dataset, by="group").set_index("group").sort_index()
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False, check_index_type=False,
                                  rtol=1e-9)


@pytest.mark.parametrize("scheme", ["zhejiang_style", "one_city_25_45_25_5"])
def test_dataset_grades_by_the_scheme_as_in_memory(dataset, in_memory, scheme):
    parcels, parks = in_memory
    enterprises, figures = province.read_enterprise_tables(dataset)
    year = int(figures.year.max())
    expected = evaluate_frames(enterprises, figures, parcels, parks, year, load_scheme(scheme))
    got = province.evaluate_dataset(dataset, scheme=scheme)
    pd.testing.assert_frame_equal(got.table, expected.table)
    assert set(expected.table.grade.dropna()) == {"A", "B", "C", "D"}
    # The scheme grades differ from the tax-only ranking.
    by_parcel = grades_by_parcel(expected.table, enterprises)
    tax_only = with_metrics(apply_enterprise_figures(parcels, enterprises, figures)).set_index("parcel_id").grade
    assert (tax_only.reindex(by_parcel.index) != by_parcel).sum() > 0


def test_dataset_without_enterprises_grades_by_tax_per_mu_as_in_memory(dataset, in_memory, tmp_path):
    import shutil

    parcels, parks = in_memory
    bare = tmp_path / "bare"
    shutil.copytree(dataset, bare, ignore=shutil.ignore_patterns("enterprise*"))
    assert province.evaluate_dataset(bare) is None
    pd.testing.assert_frame_equal(province.province_kpis(bare, by="park"), park_kpis(parcels, parks),
                                  check_dtype=False, rtol=1e-9)


def test_kpis_and_available_land_read_no_geometry(dataset, in_memory, evaluated, monkeypatch):
    import dask

    read_file, read_table = province._read_parcel_file, province._read_table
    parcel_reads = []  # (path, columns) of every read of a parcel file

    def recording_read_file(path, wanted):
        parcel_reads.append((str(path), wanted))
        return read_file(path, wanted)

    def recording_read_table(path, columns=None):
        if "park_id=" in str(path):
            parcel_reads.append((str(path), columns))
        return read_table(path, columns)

    monkeypatch.setattr(province, "_read_parcel_file", recording_read_file)
    monkeypatch.setattr(province, "_read_table", recording_read_table)
    _, parks = in_memory
    files = province.parcel_files(dataset)
    with dask.config.set(scheduler="synchronous"):  # every read in this process, where it is recorded
        kpis = province.province_kpis(dataset, by="park")
        kpi_reads = list(parcel_reads)
        found = province.available_land(dataset, top=3, min_area_mu=60)
    pd.testing.assert_frame_equal(kpis, park_kpis(evaluated, parks), check_dtype=False, rtol=1e-9)
    assert len(found["largest"]) == 3
    assert {path for path, _ in parcel_reads[len(kpi_reads):]} >= set(files)
    assert all(columns and "geometry" not in columns for _, columns in parcel_reads), parcel_reads
    # The evaluation reads the stored links, not the parcel files; the KPI pass takes grades and shared
    # figures by position: it reads every file once, and no ids.
    kpi_columns = province.KPI_COLUMNS + [province.AREA_COLUMN]
    assert {path for path, columns in kpi_reads if columns == kpi_columns} == set(files)
    assert all(columns in (kpi_columns, kpi_columns + ["park_id"]) for _, columns in kpi_reads), kpi_reads


def test_dataset_written_before_stored_areas_gives_the_same_results(dataset, in_memory, evaluated, tmp_path):
    import shutil

    parcels, parks = in_memory
    old = tmp_path / "old"
    shutil.copytree(dataset, old)
    for path in (old / "parcels").rglob("*.parquet"):
        gpd.read_parquet(path).drop(columns=province.AREA_COLUMN).to_parquet(path, index=False)
    assert province.area_columns(old) == ["geometry"]
    pd.testing.assert_frame_equal(province.province_kpis(old, by="group"), province.province_kpis(dataset, by="group"),
                                  rtol=1e-12)
    pd.testing.assert_frame_equal(province.province_kpis(old, by="park"), park_kpis(evaluated, parks),
                                  check_dtype=False, rtol=1e-9)
    pd.testing.assert_frame_equal(province.evaluate_dataset(old).table, province.evaluate_dataset(dataset).table)
    got, expected = (province.available_land(d, top=5, min_area_mu=60) for d in (old, dataset))
    pd.testing.assert_frame_equal(got["parks"], expected["parks"])
    assert got["largest"].parcel_id.tolist() == expected["largest"].parcel_id.tolist()
    np.testing.assert_array_equal(got["largest"].area_mu, expected["largest"].area_mu)
    # One park's files written before, the others since: the areas come from the geometries.
    (old / "parcels").rename(tmp_path / "old-parcels")
    shutil.copytree(dataset / "parcels", old / "parcels")
    shutil.rmtree(old / "parcels" / "park_id=zq_hitech")
    shutil.copytree(tmp_path / "old-parcels" / "park_id=zq_hitech", old / "parcels" / "park_id=zq_hitech")
    assert province.area_columns(old) == ["geometry"]
    pd.testing.assert_frame_equal(province.province_kpis(old, by="park"), park_kpis(evaluated, parks),
                                  check_dtype=False, rtol=1e-9)


def test_one_file_per_task_gives_the_same_kpis(dataset, in_memory, evaluated, monkeypatch):
    _, parks = in_memory
    files = province.parcel_files(dataset)
    assert province.file_batches(files) == [files]  # the test set is small: all its files go to one task
    monkeypatch.setattr(province, "TASK_BYTES", 1)
    assert province.file_batches(files) == [[f] for f in files]
    expected = group_kpis(evaluated, parks).set_index("group").sort_index()
    got = province.province_kpis(dataset, by="group").set_index("group").sort_index()
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False, check_index_type=False,
                                  rtol=1e-9)
    pd.testing.assert_frame_equal(province.province_kpis(dataset, by="park"), park_kpis(evaluated, parks),
                                  check_dtype=False, rtol=1e-9)


def test_a_file_changed_between_the_passes_is_one_line_error(dataset):
    # The KPI pass takes grades and shared figures by position, as the evaluation's pass read the files.
    gradings = province.dataset_grading(dataset, load_standards(), None, None, province.area_columns(dataset))
    assert len(gradings) == 1 and gradings[0].size == 3_000 and len(gradings[0].rows) > 1_000
    part = province._read_parcel_files(province.parcel_files(dataset), province.KPI_COLUMNS + ["area_m2", "park_id",
                                                                                               "parcel_id"])
    frame = province._metric_frame(part, {}, gradings[0])
    assert frame.grade.notna().sum() > 1_000
    with pytest.raises(ParkAtlasError, match="changed while they were read"):
        province._metric_frame(part.iloc[1:], {}, gradings[0])


def parcel_ids_in_key_order(dataset) -> np.ndarray:
    """Every parcel id of ``dataset`` in the order its files are read (a parcel's key is its position)."""
    return np.concatenate([pd.read_parquet(f, columns=["parcel_id"]).parcel_id.to_numpy(dtype=object)
                           for f in province.parcel_files(dataset)])


def test_links_are_stored_with_the_dataset_and_kpis_hash_no_parcel_id(dataset, in_memory, evaluated, monkeypatch):
    from geo.enterprise import enterprise_parcels

    _, parks = in_memory
    stored = province._stored_links(dataset, province._links_fingerprint(dataset))
    assert stored is not None  # written by generate
    links, rows = stored
    assert rows.tolist() == [len(pd.read_parquet(f, columns=["parcel_id"])) for f in province.parcel_files(dataset)]
    # Each pair's key is its parcel's position among the dataset's parcels, in the order they are read.
    enterprises, _ = province.read_enterprise_tables(dataset)
    pairs = enterprise_parcels(enterprises)
    assert len(links.parcel) == len(pairs) > 1_000 and (links.parcel >= 0).all()
    assert (parcel_ids_in_key_order(dataset)[links.parcel] == pairs.parcel_id.to_numpy(dtype=object)).all()
    assert (enterprises.uscc.to_numpy(dtype=object)[links.enterprise] == pairs.uscc.to_numpy(dtype=object)).all()

    def refused(*args, **kwargs):
        raise AssertionError("the parcels' text ids were hashed again")

    # KPIs read them: no parcel id is matched again, and the enterprises' lists are not read.
    monkeypatch.setattr(province, "link_parcels", refused)
    monkeypatch.setattr("geo.enterprise.enterprise_parcels", refused)
    pd.testing.assert_frame_equal(province.province_kpis(dataset, by="park"), park_kpis(evaluated, parks),
                                  check_dtype=False, rtol=1e-9)


def test_links_made_stale_by_a_changed_file_are_made_again_and_stored(dataset, in_memory, evaluated, tmp_path,
                                                                      monkeypatch):
    import shutil

    _, parks = in_memory
    expected = park_kpis(evaluated, parks)
    changed = tmp_path / "changed"
    shutil.copytree(dataset, changed)
    before = province._links_fingerprint(changed)
    # The same parcels with one file's rows in reverse order: their keys are no longer those stored.
    path = province.parcel_files(changed)[0]
    gpd.read_parquet(path).iloc[::-1].to_parquet(path, index=False)
    assert province._stored_links(changed, province._links_fingerprint(changed)) is None
    with monkeypatch.context() as patched:  # read as if still fresh, the old keys grade other parcels
        patched.setattr(province, "_links_fingerprint", lambda directory: before)
        stale = province.province_kpis(changed, by="park")
    assert not np.allclose(stale.tax_per_mu_wan, expected.tax_per_mu_wan, rtol=1e-9)
    pd.testing.assert_frame_equal(province.province_kpis(changed, by="park"), expected, check_dtype=False, rtol=1e-9)
    links, _ = province._stored_links(changed, province._links_fingerprint(changed))  # stored again
    original, _ = province._stored_links(dataset, province._links_fingerprint(dataset))
    assert links.parcel.tolist() != original.parcel.tolist()
    # A links file cut short is made again too, with no traceback.
    (changed / province.LINKS_FILE).write_bytes((changed / province.LINKS_FILE).read_bytes()[:100])
    pd.testing.assert_frame_equal(province.province_kpis(changed, by="park"), expected, check_dtype=False, rtol=1e-9)
    assert province._stored_links(changed, province._links_fingerprint(changed)) is not None
    # An enterprise file rewritten makes them stale too.
    enterprise_file = sorted((changed / province.ENTERPRISES_DIR).glob("*.parquet"))[0]
    pd.read_parquet(enterprise_file).to_parquet(enterprise_file, index=False)
    assert province._stored_links(changed, province._links_fingerprint(changed)) is None


def test_table_files_read_as_one_frame_whatever_their_types(dataset, tmp_path):
    files = sorted((dataset / province.ENTERPRISES_DIR).glob("*.parquet"))
    assert len(files) == 3
    each = [pd.read_parquet(f) for f in files]
    pd.testing.assert_frame_equal(province._read_frames(files), pd.concat(each, ignore_index=True))
    # One file whose chain column is all empty (Arrow's null type): Arrow cannot join it, pandas can.
    odd = tmp_path / "odd.parquet"
    each[1].assign(chain=None).to_parquet(odd, index=False)
    both = province._read_frames([files[0], odd])
    pd.testing.assert_frame_equal(both, pd.concat([each[0], pd.read_parquet(odd)], ignore_index=True))
    assert both.chain.iloc[len(each[0]):].isna().all() and both.chain.iloc[:len(each[0])].notna().any()


def test_available_land_equals_in_memory_filter(dataset, in_memory, cluster):
    parcels, _ = in_memory
    expected = available_parcels(with_metrics(parcels), min_area_mu=60, land_use_codes=["1001"])
    got = province.available_land(dataset, top=7, min_area_mu=60, land_use_codes=["1001"])
    per_park = expected.groupby("park_id").area_mu.agg(["size", "sum"])
    got_parks = got["parks"].set_index("park_id").sort_index()
    assert got_parks.parcel_count.to_dict() == per_park["size"].to_dict()
    np.testing.assert_allclose(got_parks.area_mu, per_park["sum"].loc[got_parks.index], rtol=1e-12)
    top = expected.sort_values(["area_mu", "parcel_id"], ascending=[False, True]).head(7)
    assert got["largest"].parcel_id.tolist() == top.parcel_id.tolist()


PROJECT = {"name": "储能电池项目", "investor": "示例", "industry_code": "38", "chain": "energy_storage",
           "land_mu_min": 60, "land_mu_max": 150, "investment_wan": 60000, "output_wan": 90000, "tax_wan": 3000,
           "jobs": 600, "plot_ratio": 1.1, "building_coefficient": 0.42, "admin_share": 0.05,
           "needs": {"power_kva": 8000, "gas": True}}


def test_match_per_park_on_cluster_equals_in_memory_match(dataset, in_memory, cluster):
    from geo.matching import match

    parcels, parks = in_memory
    expected = match(with_metrics(parcels), parks, PROJECT, top=8)
    got = province.province_match(dataset, PROJECT, top=8)
    assert len(expected.candidates) == 8
    assert got.candidates.parcel_ids.tolist() == expected.candidates.parcel_ids.tolist()
    np.testing.assert_allclose(got.candidates.score, expected.candidates.score, rtol=1e-9)
    assert got.candidates["rank"].tolist() == list(range(1, 9))
    assert got.excluded == expected.excluded and got.considered == expected.considered == 3_000
    assert got.to_json()["candidates"] == expected.to_json()["candidates"]


def test_grade_bounds_follow_the_standards_shares():
    values = np.arange(100, 0, -1, dtype=float)  # 100 enterprises, best first
    labels, lowest = province.grade_bounds(values, load_standards())
    shares = load_standards().grades.set_index("grade").share
    assert list(labels) == list(shares.index)
    # Lowest value in A is the one at the end of the top share, and so on down.
    assert lowest[0] == 100 - round(shares.iloc[0] * 100) + 1
    frame = pd.DataFrame({"status": "occupied", "tax_per_mu_wan": values})
    grades = province._apply_grade_bounds(frame, labels, lowest)
    assert grades.value_counts().reindex(labels).tolist() == [round(s * 100) for s in shares]


def test_refuses_to_overwrite_a_dataset(dataset):
    before = sorted(p.stat().st_mtime_ns for p in (dataset / "parcels").rglob("*.parquet"))
    with pytest.raises(ParkAtlasError, match="already holds parcels"):
        province.write_parquet_sample(dataset, 10)
    assert sorted(p.stat().st_mtime_ns for p in (dataset / "parcels").rglob("*.parquet")) == before


def test_unknown_grouping_and_missing_dataset_are_one_line_errors(tmp_path, dataset):
    with pytest.raises(ParkAtlasError, match="unknown grouping"):
        province.province_kpis(dataset, by="district")
    with pytest.raises(ParkAtlasError, match="province generate"):
        province.province_kpis(tmp_path)


def test_cli_kpis_through_a_scheduler_address(dataset, in_memory, evaluated, cluster):
    _, parks = in_memory
    address = cluster[0].scheduler_address
    assert address.startswith("tcp://")
    out = subprocess.run([sys.executable, "cli.py", "province", "kpis", "--parquet", str(dataset),
                          "--scheduler", address], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = {row["park_id"]: row for row in json.loads(out.stdout)}
    expected = park_kpis(evaluated, parks).set_index("park_id")
    assert set(rows) == set(expected.index)
    for pid, row in rows.items():
        assert row["parcel_count"] == expected.loc[pid, "parcel_count"]
        assert row["tax_per_mu_wan"] == pytest.approx(expected.loc[pid, "tax_per_mu_wan"], rel=1e-9)
        assert row["grade_B"] == expected.loc[pid, "grade_B"]
    by_other = run_cli("province", "kpis", "--parquet", dataset, "--scheme", "one_city_25_45_25_5", "--format", "csv",
                       cwd=ROOT)
    assert by_other.returncode == 0, by_other.stderr
    assert "grade_A" in by_other.stdout.splitlines()[0] and by_other.stdout != out.stdout


def test_cli_match_prints_the_match_json(dataset, tmp_path):
    (tmp_path / "p.json").write_text(json.dumps(PROJECT, ensure_ascii=False), encoding="utf-8")
    out = run_cli("province", "match", "--parquet", dataset, "--project", tmp_path / "p.json", "--top", "3",
                  "--lang", "en", cwd=ROOT)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    ranked = report["candidates"]
    assert report["considered"] == 3_000
    assert [c["rank"] for c in ranked] == [1, 2, 3]
    assert ranked[0]["score"] >= ranked[1]["score"] >= ranked[2]["score"]
    assert all(c["criteria"] for c in ranked)


def test_cli_bad_input_exits_2_with_one_line(tmp_path):
    out = subprocess.run([sys.executable, "cli.py", "province", "kpis", "--parquet", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1
