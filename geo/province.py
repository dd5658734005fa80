"""Province scale: KPIs and available land over millions of parcels in partitioned GeoParquet, on Dask.

A city store (GeoPackage or PostGIS read into one GeoDataFrame) is the right tool up to about
1–2 million parcels. Beyond that, or when one machine's memory will not hold the parcels, keep
them as GeoParquet partitioned by park (``DIR/parcels/park_id=<id>/part-*.parquet`` plus
``DIR/parks.parquet``) and run the same metric code per partition on a Dask cluster. Each parcel
file stores its parcels' planar areas (:data:`AREA_COLUMN`), so the KPIs, the evaluation and the
available land read only the attribute columns they need and no geometry; the parcels counted under
an earlier, overlapping park (group and city totals) are stored too when a dataset is written
(:func:`store_overlap_duplicates`), computed from the geometries of intersecting parks only if the
dataset's files changed since; matching needs the geometries for blocks. A task reads several
small files (:func:`file_batches`):

- :func:`write_parquet_sample` writes N synthetic parcels in that layout, one chunk at a time;
- :func:`add_store` adds a city's store (its parks and parcels) to a dataset, so one dataset holds
  the parcels of many cities (``parks.parquet`` says each park's ``city``);
- :func:`province_kpis` gives the rows of :func:`geo.metrics.park_kpis` / :func:`geo.metrics.group_kpis`,
  or one row per city;
- :func:`available_land` filters with :func:`geo.availability.available_parcels` per partition;
- :func:`province_match` runs :func:`geo.matching.match` one park per task and ranks across parks.

Additive parts (counts, areas, enterprise sums, grade counts) come from
:func:`geo.metrics.aggregate_sums` per partition and are added; ratios come from
:func:`geo.metrics.finish_aggregate` on the totals. Means and medians of the per-parcel indicators
are :func:`geo.metrics.indicator_stats` over the enterprise rows' key and indicator columns, collected
in the same pass (no shuffle).

The 亩均 grades are those of the city store. A dataset with enterprises
(``DIR/enterprises/*.parquet`` and ``DIR/enterprise_figures/*.parquet``, written by
:func:`write_parquet_sample` and :func:`add_store`) is evaluated by a scheme
(:func:`geo.evaluation.evaluate_frames`, default preset): the enterprises' listed parcels are found
among the dataset's parcels once, when it is written (:func:`store_enterprise_links`: one Dask pass
reads every parcel's id, park and area, and Arrow's hashing matches the ids), and stored as integer
keys — a parcel's position in the dataset — with their areas and parks; the evaluation runs once over
all enterprises (its jurisdictions span partitions) on those keys, and each partition then takes its
parcels' grades and their enterprise's figures shared by area (:func:`geo.enterprise.parcel_figures`)
by position, as :func:`geo.evaluation.parcels_with_metrics` does in memory. Links made stale by a
changed file are made again on the next read. A dataset without enterprises gets the tax-per-亩
illustration ranked over all its parcels, as in memory: one pass collects every enterprise parcel's
tax per 亩 (8 bytes each) to rank them with :func:`geo.metrics.mu_grades`, and the grade boundaries
are applied per partition (equal values that straddle a boundary all get the better grade; in memory
the first in row order does, which only matters for exact ties).

Without a scheduler address the computation runs on Dask's local threads; with
``scheduler="tcp://host:8786"`` it runs on that cluster, whose workers must see ``DIR`` under the
same path (shared filesystem or object store URL).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from geo.availability import available_parcels
from geo.crs import projected_area_m2
from geo.enterprise import (PARCEL_FIGURES, ParcelLinks, latest_year, link_parcels, parcel_figures,
                            place_parcel_figures, read_enterprises, read_figures)
from geo.errors import ParkAtlasError
from geo.metrics import (ENTERPRISE_STATUSES, INTENSITY_INDICATORS, aggregate_sums, finish_aggregate,
                         indicator_stats, mu_grades, overlap_duplicates, parcel_metrics)
from geo.standards import Standards, load_standards
from geo.textids import positions_in
from geo.units import m2_to_mu

PARCELS_DIR = "parcels"
PARKS_FILE = "parks.parquet"
#: Folders of the dataset's enterprises and yearly figures (columns of geo.schema), one file per chunk or city.
ENTERPRISES_DIR = "enterprises"
FIGURES_DIR = "enterprise_figures"
#: Column of each parcel's planar area (m²) in its own CGCS2000 Gauss-Krüger zone
#: (:func:`geo.crs.projected_area_m2`), stored when parcels are written so that no computation but
#: the overlap check and matching reads the geometries.
AREA_COLUMN = "area_m2"
#: Columns the KPIs read from the parcel files, besides the area (:func:`area_columns`).
KPI_COLUMNS = ["status", "land_use_code", "floor_area_m2", "footprint_m2", "structures_footprint_m2",
               "yard_area_m2", "floor_area_over_8m_m2", "investment_wan", "output_wan", "tax_wan"]
KEYS = {"park": "park_id", "group": "group", "city": "city"}
#: The parcels counted under an earlier, overlapping park (:func:`store_overlap_duplicates`), and the
#: key of its metadata saying which parks and files they were computed from.
OVERLAPS_FILE = "overlap_duplicates.parquet"
OVERLAPS_KEY = b"parkatlas.overlaps.fingerprint"
#: The enterprises' parcels found among the dataset's parcels once (:func:`store_enterprise_links`), as
#: integer keys: a parcel's key is its position in the dataset (its file in the order of
#: :func:`parcel_files`, then its row); the keys of the metadata saying which files they were made from
#: and how many rows each parcel file holds.
LINKS_FILE = "enterprise_links.parquet"
LINKS_KEY = b"parkatlas.links.fingerprint"
LINKS_ROWS_KEY = b"parkatlas.links.rows"
#: Columns of ``parks.parquet`` naming each park's city (the store's city: adcode and names).
CITY_COLUMNS = ("city", "city_name_zh", "city_name_en")


def write_parquet_sample(directory, n_parcels: int, *, chunk_size: int = 100_000, seed: int = 344) -> Path:
    """Write ``n_parcels`` synthetic parcels as GeoParquet partitioned by park, chunk by chunk.

    Each chunk is :func:`geo.sample.generate` with its own seed (``seed + chunk``); parcel ids get
    a ``c<chunk>-`` prefix so they stay unique. Only one chunk is in memory at a time.

    Parameters
    ----------
    directory : path
        Created if missing; must not already hold a ``parcels/`` folder.
    n_parcels : int
        Total number of parcels.
    chunk_size : int
        Parcels generated and written per step (memory ≈ 350 bytes × chunk_size × a few).
    seed : int
        Seed of the first chunk.

    Returns
    -------
    Path
        ``directory``.
    """
    from geo.sample import generate

    directory = Path(directory)
    target = directory / PARCELS_DIR
    if target.exists() and any(target.iterdir()):
        raise ParkAtlasError(f"{target} already holds parcels; choose an empty directory")
    if n_parcels < 1 or chunk_size < 1:
        raise ParkAtlasError("the number of parcels and the chunk size must be at least 1")
    staging = directory / (PARCELS_DIR + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for name in (ENTERPRISES_DIR, FIGURES_DIR):
        shutil.rmtree(directory / name, ignore_errors=True)
        (staging / name).mkdir(parents=True)
    parks, seen = None, set()
    for chunk, start in enumerate(range(0, n_parcels, chunk_size)):
        chunk_parks, parcels = generate(min(chunk_size, n_parcels - start), seed=seed + chunk)
        parks = chunk_parks if parks is None else parks
        parcels["parcel_id"] = f"c{chunk:05d}-" + parcels.parcel_id
        for park_id, part in with_stored_area(parcels).groupby("park_id", sort=False):
            folder = staging / f"park_id={park_id}"
            folder.mkdir(parents=True, exist_ok=True)
            # Hive layout: the partition column lives in the folder name, not in the file.
            part.drop(columns="park_id").to_parquet(folder / f"part-{chunk:05d}.parquet", index=False)
        _write_enterprise_chunk(staging, f"part-{chunk:05d}.parquet", parcels, parks, seed + chunk, seen)
    from geo.sample import sample_city

    _with_city(parks, sample_city()).to_parquet(directory / PARKS_FILE, index=False)
    for name in (ENTERPRISES_DIR, FIGURES_DIR):
        (staging / name).rename(directory / name)
    if target.exists():
        target.rmdir()
    staging.rename(target)  # readers never see a half-written dataset
    store_overlap_duplicates(directory)
    store_enterprise_links(directory)
    return directory


def _write_enterprise_chunk(staging: Path, filename: str, parcels, parks, seed: int, seen: set) -> None:
    """The chunk's synthetic enterprises and figures (:func:`geo.sample.generate_enterprises`); an
    enterprise whose USCC an earlier chunk already drew is left out (its parcels have none)."""
    from geo.sample import generate_enterprises

    enterprises, figures = generate_enterprises(parcels, parks, seed=seed)
    fresh = ~enterprises.uscc.isin(seen)
    enterprises = enterprises[fresh]
    seen.update(enterprises.uscc)
    enterprises.to_parquet(staging / ENTERPRISES_DIR / filename, index=False)
    figures[figures.uscc.isin(set(enterprises.uscc))].to_parquet(staging / FIGURES_DIR / filename, index=False)


def with_stored_area(parcels):
    """``parcels`` with :data:`AREA_COLUMN`, as every writer of a dataset's parcel files stores them."""
    return parcels.assign(**{AREA_COLUMN: projected_area_m2(parcels.geometry)})


def parcel_file_columns(directory) -> list[str]:
    """Columns that every parcel file of the dataset holds, in the first file's order (read from the
    files' footers only).

    A dataset written before :data:`AREA_COLUMN` was stored, or one whose parcels were added partly
    before and partly since, lacks it in some files: its areas are then computed from the geometries.
    """
    import pyarrow.parquet as pq

    files = sorted((Path(directory) / PARCELS_DIR).rglob("*.parquet"))
    if not files:
        return []
    names = [pq.read_schema(f).names for f in files]
    common = set.intersection(*map(set, names))
    return [name for name in names[0] if name in common]


def area_columns(directory) -> list[str]:
    """What the parcels' areas are read from: the stored :data:`AREA_COLUMN`, else the geometry."""
    return [AREA_COLUMN] if AREA_COLUMN in parcel_file_columns(directory) else ["geometry"]


def parcel_areas_m2(part) -> np.ndarray:
    """Planar areas (m²) of a partition's parcels: stored if the partition has them, else computed."""
    if AREA_COLUMN in part.columns:
        return part[AREA_COLUMN].to_numpy(dtype=float)
    return projected_area_m2(part.geometry)


def _with_city(parks, city):
    """``parks`` with the columns of :data:`CITY_COLUMNS` for ``city`` (a :class:`geo.city.City`)."""
    return parks.assign(city=city.adcode or city.name_en or city.name_zh, city_name_zh=city.name_zh,
                        city_name_en=city.name_en)


def add_store(directory, store) -> dict:
    """Add a city's store to a dataset (created if missing): its parks to ``parks.parquet`` with
    their city, its parcels to ``parcels/park_id=<id>/``, its enterprises and their figures to
    ``enterprises/`` and ``enterprise_figures/`` (one file per city).

    Park ids and USCCs must be unique across the cities of a dataset; a clash is refused before
    anything is written. Each park's files are written next to the dataset and moved in whole, so a reader sees
    a park with all its parcels or not at all.

    Returns
    -------
    dict
        ``city`` (its key), ``parks``, ``parcels`` and ``enterprises`` added.
    """
    import geopandas as gpd

    directory = Path(directory)
    city = store.read_city()
    parks = _with_city(store.read_parks(), city)
    if not len(parks):
        raise ParkAtlasError(f"{store.location} holds no parks to add")
    existing = read_parks(directory) if (directory / PARKS_FILE).exists() else None
    if existing is not None:
        clash = sorted(set(parks.park_id) & set(existing.park_id))
        if clash:
            raise ParkAtlasError(f"park {clash[0]} is already in {directory}; park ids must be unique across "
                                 "the cities of a dataset")
    enterprises, figures = read_enterprises(store), read_figures(store)
    if len(enterprises):
        known, _ = read_enterprise_tables(directory)
        clash = sorted(set(enterprises.uscc) & set(known.uscc))
        if clash:
            raise ParkAtlasError(f"enterprise {clash[0]} is already in {directory}; an enterprise belongs to one "
                                 "city of a dataset")
    parcels = store.read_parcels()
    staging = directory / (PARCELS_DIR + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for park_id, part in with_stored_area(parcels).groupby("park_id", sort=False):
        folder = staging / f"park_id={park_id}"
        folder.mkdir(parents=True)
        part.drop(columns="park_id").to_parquet(folder / "part-00000.parquet", index=False)
    target = directory / PARCELS_DIR
    target.mkdir(parents=True, exist_ok=True)
    for folder in sorted(staging.glob("park_id=*")):
        folder.rename(target / folder.name)
    shutil.rmtree(staging, ignore_errors=True)
    if len(enterprises):
        filename = f"city-{parks.city.iloc[0]}.parquet"
        for name, table in ((ENTERPRISES_DIR, enterprises), (FIGURES_DIR, figures)):
            (directory / name).mkdir(exist_ok=True)
            partial = directory / name / (filename + ".partial")
            table.to_parquet(partial, index=False)
            partial.replace(directory / name / filename)
    both = parks if existing is None else gpd.GeoDataFrame(pd.concat([existing, parks], ignore_index=True),
                                                            geometry="geometry", crs=parks.crs)
    partial = directory / (PARKS_FILE + ".partial")
    both.to_parquet(partial, index=False)
    partial.replace(directory / PARKS_FILE)
    store_overlap_duplicates(directory)
    store_enterprise_links(directory)
    return {"city": str(parks.city.iloc[0]), "parks": int(len(parks)), "parcels": int(len(parcels)),
            "enterprises": int(len(enterprises))}


def read_parks(directory) -> pd.DataFrame:
    """The parks table stored next to the partitioned parcels."""
    import geopandas as gpd

    path = Path(directory) / PARKS_FILE
    if not path.exists():
        raise ParkAtlasError(f"{path} not found; write a dataset with `cli.py province generate`")
    return gpd.read_parquet(path)


def read_enterprise_tables(directory, *, parcel_lists: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dataset's enterprises and yearly figures (empty tables of the store's columns if it has none),
    the enterprises without their ``parcel_ids`` unless ``parcel_lists``."""
    from geo.store.tables import ENTERPRISE_FIGURES, ENTERPRISES

    tables = []
    for name, table in ((ENTERPRISES_DIR, ENTERPRISES), (FIGURES_DIR, ENTERPRISE_FIGURES)):
        files = sorted((Path(directory) / name).glob("*.parquet"))
        columns = None if parcel_lists or name != ENTERPRISES_DIR else [c for c in table.columns if c != "parcel_ids"]
        tables.append(_read_frames(files, columns) if files else table.empty()[columns or list(table.columns)])
    return tables[0], tables[1]


def open_parcels(directory, columns: list[str] | None = None):
    """The parcels as a lazy Dask DataFrame, one partition per file, ``park_id`` (str) from the folder.

    Partitions are GeoDataFrames when the geometry is read (``columns`` None or naming it), plain
    DataFrames otherwise. Each task reads its own file: nothing about the other files travels with it
    (dask-geopandas' reader puts the whole dataset's description in every task, which costs more
    than the read itself when the files are many and small).
    """
    import dask.dataframe as dd

    files = parcel_files(directory)
    meta = _read_parcel_file(files[0], columns).iloc[:0]
    return dd.from_map(_read_parcel_files, file_batches(files), wanted=columns, meta=meta, label="read-parcels",
                       enforce_metadata=False)


def parcel_files(directory) -> list[str]:
    """The dataset's parcel files, sorted (the order of :func:`open_parcels`' partitions)."""
    path = Path(directory) / PARCELS_DIR
    files = sorted(str(f) for f in path.glob("park_id=*/*.parquet"))
    if not files:
        raise ParkAtlasError(f"no parcels under {path}; write a dataset with `cli.py province generate`")
    return files


#: Parquet bytes of parcel files one task reads (about 70,000 parcels of the generated data): each
#: pandas call in a task costs tens of microseconds whatever its size, which per file of a few
#: thousand parcels came to more than the work (1,101 files at 10M parcels).
TASK_BYTES = 8_000_000


def file_batches(files: list[str]) -> list[list[str]]:
    """``files`` in order, cut into runs of about :data:`TASK_BYTES` on disk (at least one file each)."""
    batches: list[list[str]] = [[]]
    size = 0
    for path in files:  # files, not parcels: a thousand at ten million parcels
        file_size = os.path.getsize(path)
        if batches[-1] and size + file_size > TASK_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(path)
        size += file_size
    return batches


def _read_parcel_files(paths: list[str], wanted: list[str] | None) -> pd.DataFrame:
    """The parcel files ``paths`` (:func:`_read_parcel_file`) as one frame; without geometries, joined
    by Arrow and converted once (:func:`_joined_frame`)."""
    if wanted is None or "geometry" in wanted:
        frames = [_read_parcel_file(path, wanted) for path in paths]
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    tables = [_read_table(path, [c for c in wanted if c != "park_id"]) for path in paths]
    frame = _joined_frame(tables)
    frame["park_id"] = np.repeat(np.array([_park_of(path) for path in paths], dtype=object),
                                 [table.num_rows for table in tables])
    return frame[wanted]


def _read_frame(path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file's ``columns`` as a frame (:func:`_read_table`)."""
    return _read_table(path, columns).to_pandas(use_threads=False)


def _read_frames(files, columns: list[str] | None = None) -> pd.DataFrame:
    """The Parquet ``files`` of one table as one frame (:func:`_joined_frame`)."""
    return _joined_frame([_read_table(path, columns) for path in files])


def _joined_frame(tables) -> pd.DataFrame:
    """Arrow tables of one table's files as one frame: joined by Arrow and converted to pandas once
    when their schemas agree (a thousand enterprise files: ~3× faster than a frame per file), else
    frame by frame, as pandas aligns them."""
    import pyarrow as pa

    try:
        return pa.concat_tables(tables).to_pandas(use_threads=False)
    except pa.ArrowInvalid:  # files written with other types (a column all empty in one of them, say)
        return pd.concat([table.to_pandas(use_threads=False) for table in tables], ignore_index=True)


def _read_table(path, columns: list[str] | None = None):
    """A Parquet file's ``columns`` as an Arrow table, opened by Arrow itself and read on the calling thread.

    Two Dask tasks reading with ``pandas.read_parquet`` hung in the test suite: pandas hands Arrow a
    Python file object, so Arrow's I/O threads need the GIL, which one task held while its scanner
    waited for them, and the other task's conversion to pandas queued on Arrow's thread pool behind
    them (apache/arrow#50482 is the single-thread form). A path and no nested Arrow threads (Dask
    already runs one task per core) leave nothing to wait on. One file is read as one file
    (``ParquetFile``, not ``read_table``'s dataset discovery: ~20% less CPU over a thousand files)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(str(path)).read(columns=columns, use_threads=False)


def _read_parcel_file(path: str, wanted: list[str] | None) -> pd.DataFrame:
    """One parcel file with the ``wanted`` columns (all if None), ``park_id`` from its Hive folder."""
    import geopandas as gpd

    from_file = None if wanted is None else [c for c in wanted if c != "park_id"]
    if from_file is None or "geometry" in from_file:
        frame = gpd.read_parquet(path, columns=from_file)
    else:
        frame = _read_frame(path, from_file)
    frame["park_id"] = _park_of(path)
    return frame if wanted is None else frame[wanted]


@contextlib.contextmanager
def dask_client(scheduler: str | None = None):
    """Connect to ``scheduler`` (``tcp://host:8786``) for the block, or use local threads if None."""
    if scheduler is None:
        yield None
        return
    from distributed import Client

    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise ParkAtlasError(f"cannot reach the Dask scheduler at {scheduler}: {exc}; "
                             "start it with `dask scheduler` or leave --scheduler out") from None
    try:
        yield client
    finally:
        client.close()


def overlap_duplicate_ids(directory, parks: pd.DataFrame) -> set[str]:
    """Ids of parcels whose land is already counted under an earlier park (:func:`geo.metrics.overlap_duplicates`),
    computed from the geometries.

    Only parks whose outlines intersect are compared, two at a time, reading just their parcels'
    ids and geometries (each park once): the other partitions are never loaded.
    """
    return set(_computed_overlaps(directory, parks).parcel_id)


def _overlapping_parks(parks: pd.DataFrame) -> list[tuple[int, int]]:
    """Positions in ``parks`` of the pairs of parks whose outlines intersect, earlier park first."""
    import geopandas as gpd

    outlines = gpd.GeoSeries(parks.geometry.to_numpy(), crs=parks.crs).reset_index(drop=True)
    left, right = outlines.sindex.query(outlines.values, predicate="intersects")
    return [(int(a), int(b)) for a, b in zip(left, right) if a < b]


def _computed_overlaps(directory, parks: pd.DataFrame) -> pd.DataFrame:
    """``park_id`` and ``parcel_id`` of the parcels counted under an earlier park (see :func:`overlap_duplicate_ids`)."""
    import geopandas as gpd

    pairs = _overlapping_parks(parks)
    uses = pd.Series([i for pair in pairs for i in pair]).value_counts().to_dict()
    loaded: dict[int, pd.DataFrame] = {}
    found = [pd.DataFrame({"park_id": pd.Series(dtype=object), "parcel_id": pd.Series(dtype=object)})]
    for a, b in pairs:  # pairs of overlapping parks: a handful, not parcels
        for i in (a, b):
            if i not in loaded:
                pid = parks.park_id.iat[i]
                loaded[i] = gpd.read_parquet(Path(directory) / PARCELS_DIR / f"park_id={pid}",
                                             columns=["parcel_id", "geometry"]).assign(park_id=pid)
        pair = parks.iloc[[a, b]]
        both = gpd.GeoDataFrame(pd.concat([loaded[a], loaded[b]], ignore_index=True), geometry="geometry",
                                crs=loaded[a].crs)
        duplicate = overlap_duplicates(both, pair)
        found.append(pd.DataFrame({"park_id": both.park_id.to_numpy(dtype=object)[duplicate],
                                   "parcel_id": both.parcel_id.astype(str).to_numpy(dtype=object)[duplicate]}))
        for i in (a, b):  # a park's geometries are kept only while a pair still needs them
            uses[i] -= 1
            if not uses[i]:
                del loaded[i]
    return pd.concat(found, ignore_index=True).drop_duplicates(ignore_index=True)


def _overlap_fingerprint(directory, parks: pd.DataFrame) -> str:
    """What the overlaps depend on: the pairs of overlapping parks and their parcel files (name,
    size, modification time) — a park added or a file rewritten changes it."""
    import json

    pairs = _overlapping_parks(parks)
    involved = sorted({parks.park_id.iat[i] for pair in pairs for i in pair})
    files = []
    for pid in involved:
        for path in sorted((Path(directory) / PARCELS_DIR / f"park_id={pid}").glob("*.parquet")):
            stat = path.stat()
            files.append([pid, path.name, stat.st_size, stat.st_mtime_ns])
    return json.dumps({"pairs": [[parks.park_id.iat[a], parks.park_id.iat[b]] for a, b in pairs], "files": files})


def store_overlap_duplicates(directory) -> int:
    """Compute the dataset's overlaps from the geometries (:func:`overlap_duplicate_ids`) and store
    them in :data:`OVERLAPS_FILE` with what they depend on, so that group and city KPIs read no
    geometry. Writers of a dataset call it; returns the number of parcels counted under another park."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parks = read_parks(directory)
    table = pa.Table.from_pandas(_computed_overlaps(directory, parks), preserve_index=False)
    table = table.replace_schema_metadata({OVERLAPS_KEY: _overlap_fingerprint(directory, parks)})
    partial = Path(directory) / (OVERLAPS_FILE + ".partial")
    pq.write_table(table, partial)
    partial.replace(Path(directory) / OVERLAPS_FILE)
    return table.num_rows


def overlap_duplicates_by_park(directory, parks: pd.DataFrame) -> dict[str, frozenset]:
    """Park id → ids of its parcels whose land is counted under an earlier park: as stored by
    :func:`store_overlap_duplicates` while the parks and their files are those it saw, else
    computed from the geometries (:func:`overlap_duplicate_ids`)."""
    import pyarrow.parquet as pq

    path = Path(directory) / OVERLAPS_FILE
    found = None
    if path.exists():
        stored = pq.read_table(path)
        if (stored.schema.metadata or {}).get(OVERLAPS_KEY) == _overlap_fingerprint(directory, parks).encode():
            found = stored.to_pandas()
    if found is None:
        found = _computed_overlaps(directory, parks)
    return {str(park): frozenset(ids.astype(str)) for park, ids in found.groupby("park_id", sort=False).parcel_id}


@dataclass(frozen=True)
class Grading:
    """How one partition gets its parcels' grades: from the evaluation or, without enterprises, from
    the tax-per-亩 boundaries ``bounds`` of :func:`grade_bounds`.

    From the evaluation, by position in the partition (``size`` parcels, read in the order of the
    first pass): ``rows`` of the parcels that enterprises use, their enterprise's grade (``grades``,
    None if not graded) and figures shared by area (``shared``: column of
    :data:`geo.enterprise.PARCEL_FIGURES` → values, NaN if none). The ids were matched once, in
    memory, so no task hashes a parcel id.
    """

    rows: np.ndarray | None = None
    grades: np.ndarray | None = None
    shared: dict | None = None
    size: int = 0
    bounds: tuple | None = None
    token: str = field(default_factory=lambda: uuid.uuid4().hex, compare=False, repr=False)

    def __dask_tokenize__(self) -> str:
        """A token made once: Dask would otherwise hash every enterprise parcel's grade and figures
        each time a pass takes the grading (seconds at a million parcels)."""
        return self.token


def _metric_frame(part, park_labels: dict[str, dict], grading: Grading | None,
                  leave_out: dict[str, frozenset] | None = None) -> pd.DataFrame:
    """Attributes (no geometry) with per-parcel metrics, the park's group and city
    (``park_labels``: column → park id → value) and, given a grading, the 亩均 grade; parcels in
    ``leave_out`` (park id → ids of its land counted under another park) are dropped."""
    grades = None
    if grading is not None and grading.rows is not None:
        if len(part) != grading.size:
            raise ParkAtlasError("the dataset's parcel files changed while they were read; run the command again")
        part = place_parcel_figures(part, grading.rows, grading.shared)
        grades = np.full(len(part), None, dtype=object)
        grades[grading.rows] = grading.grades
    codes, parks = pd.factorize(part.park_id.astype(str))
    counted_elsewhere = set().union(*((leave_out or {}).get(park, ()) for park in parks))
    if counted_elsewhere:
        kept = positions_in(part.parcel_id, list(counted_elsewhere)) < 0
        part, codes = part.loc[kept], codes[kept]
        grades = None if grades is None else grades[kept]
    frame = pd.DataFrame(part.drop(columns=["geometry", "parcel_id", AREA_COLUMN], errors="ignore")).join(
        parcel_metrics(part, parcel_areas_m2(part)))
    frame["park_id"] = frame.park_id.astype(str)
    for column, by_park in park_labels.items():  # the partition's parks: a handful
        labels = np.array([by_park.get(park, np.nan) for park in parks] + [np.nan], dtype=object)
        frame[column] = pd.Series(labels[codes], index=frame.index, dtype=object)
    if grades is not None:
        frame["grade"] = pd.array(grades, dtype="string")
    elif grading is not None:
        frame["grade"] = _apply_grade_bounds(frame, *grading.bounds)
    return frame


def _metric_batch(paths: list[str], grading: Grading | None, leave_out: dict[str, frozenset], wanted: list[str],
                  park_labels: dict[str, dict]) -> pd.DataFrame:
    """:func:`_metric_frame` of the parcel files ``paths`` (one partition) with their own grading and
    the land of their parks counted elsewhere (``leave_out``; their ids are read only then)."""
    wanted = wanted + ["parcel_id"] if leave_out else wanted
    return _metric_frame(_read_parcel_files(paths, wanted), park_labels, grading, leave_out)


def _park_of(path: str) -> str:
    """The park of a parcel file, from its Hive folder."""
    return Path(path).parent.name.removeprefix("park_id=")


def _parcel_areas_mu(part) -> pd.DataFrame:
    """``parcel_id``, ``park_id`` and ``area_mu`` of a partition's parcels."""
    return pd.DataFrame({"parcel_id": part.parcel_id.array, "park_id": part.park_id.array,
                         "area_mu": m2_to_mu(parcel_areas_m2(part))})


def _file_stats(files) -> list[list]:
    """Name, size and modification time of each of ``files`` (paths)."""
    stats = []
    for path in files:  # files, not parcels: a thousand at ten million parcels
        stat = os.stat(path)
        stats.append([Path(path).parent.name + "/" + Path(path).name, stat.st_size, stat.st_mtime_ns])
    return stats


def _links_fingerprint(directory) -> str:
    """What the stored links depend on: every parcel file (their order gives the parcels' keys) and
    every enterprise file (name, size, modification time) — a file added, removed or rewritten changes it."""
    import json

    enterprise_files = sorted((Path(directory) / ENTERPRISES_DIR).glob("*.parquet"))
    return json.dumps({"parcels": _file_stats(parcel_files(directory)),
                       "enterprises": _file_stats(enterprise_files)})


def store_enterprise_links(directory, *, enterprises: pd.DataFrame | None = None, area: list[str] | None = None,
                           fingerprint: str | None = None) -> tuple[ParcelLinks, np.ndarray] | None:
    """Find the dataset's enterprises' parcels among its parcels and store them in :data:`LINKS_FILE`
    with what they depend on (:func:`_links_fingerprint`) and each parcel file's number of rows.

    The one step that hashes the parcels' text ids: a Dask pass reads every parcel's id, park and
    area, and :func:`geo.enterprise.link_parcels` matches them with the enterprises' lists. Writers
    of a dataset call it; KPIs call it when the stored links are missing or stale, so a dataset
    written before they were stored gains them on its first read. A dataset that cannot be written
    to keeps them for the one run. Returns the links and the rows of each file of
    :func:`parcel_files` (None without enterprises). ``enterprises``, ``area`` (:func:`area_columns`)
    and ``fingerprint``: when the caller has them (the fingerprint taken before they were read).
    """
    import json

    import dask
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory = Path(directory)
    # Taken before anything is read: a file changed meanwhile leaves the links stale, never wrong.
    fingerprint = _links_fingerprint(directory) if fingerprint is None else fingerprint
    enterprises = read_enterprise_tables(directory)[0] if enterprises is None else enterprises
    if enterprises.empty:
        return None
    files = parcel_files(directory)
    ddf = open_parcels(directory, columns=["parcel_id", "park_id", *(area or area_columns(directory))])
    parts = dask.compute(*ddf.map_partitions(_parcel_areas_mu, meta=_parcel_areas_mu(ddf._meta)).to_delayed())
    links = link_parcels(enterprises, pd.concat(parts, ignore_index=True))
    rows = np.array([pq.read_metadata(f).num_rows for f in files], dtype=np.int64)
    table = pa.table({"enterprise": pa.array(links.enterprise, pa.int32()),
                      "parcel": pa.array(links.parcel, pa.int64()), "leased": pa.array(links.leased),
                      "area_mu": pa.array(links.area_mu, pa.float64()),
                      "park_id": pa.array(links.park_id, pa.string()).dictionary_encode()})
    table = table.replace_schema_metadata({LINKS_KEY: fingerprint, LINKS_ROWS_KEY: json.dumps(rows.tolist())})
    partial = directory / f"{LINKS_FILE}.{uuid.uuid4().hex}.partial"  # two writers never share a partial file
    try:
        pq.write_table(table, partial)
        partial.replace(directory / LINKS_FILE)
    except OSError:  # a read-only dataset: the links serve this run
        partial.unlink(missing_ok=True)
    return links, rows


def _stored_links(directory, fingerprint: str) -> tuple[ParcelLinks, np.ndarray] | None:
    """The links of :func:`store_enterprise_links` and the rows of each parcel file, if stored for
    exactly the dataset's current files (``fingerprint``)."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = Path(directory) / LINKS_FILE
    try:
        if not path.exists() or (pq.read_schema(path).metadata or {}).get(LINKS_KEY) != fingerprint.encode():
            return None
        table = pq.read_table(path)
    except (OSError, pa.ArrowException):  # unreadable (truncated by hand, say): made again like stale ones
        return None
    park = table.column("park_id").combine_chunks()
    codes = pc.fill_null(park.indices, -1).to_numpy()
    links = ParcelLinks(enterprise=table.column("enterprise").to_numpy(), parcel=table.column("parcel").to_numpy(),
                        leased=table.column("leased").to_numpy(), area_mu=table.column("area_mu").to_numpy(),
                        park_id=np.append(park.dictionary.to_numpy(zero_copy_only=False).astype(object), None)[codes])
    return links, np.array(json.loads(table.schema.metadata[LINKS_ROWS_KEY]), dtype=np.int64)


@dataclass(frozen=True)
class DatasetEvaluation:
    """A dataset's 亩均 evaluation (:func:`evaluate_dataset`) with what it was made from."""

    evaluation: object  # geo.evaluation.Evaluation
    enterprises: pd.DataFrame
    figures: pd.DataFrame
    links: ParcelLinks
    file_rows: np.ndarray  # rows of each file of parcel_files()


def _evaluate(directory, year, scheme, area) -> DatasetEvaluation | None:
    """:func:`evaluate_dataset` with its inputs; None without enterprises or figures."""
    from geo.evaluation import Scheme, evaluate_frames, load_scheme

    fingerprint = _links_fingerprint(directory)
    stored = _stored_links(directory, fingerprint)
    # With the links stored, nothing needs the enterprises' parcel lists (the longest text they hold).
    enterprises, figures = read_enterprise_tables(directory, parcel_lists=stored is None)
    year = latest_year(figures) if year is None else int(year)
    if enterprises.empty or year is None:
        return None
    links, rows = stored or store_enterprise_links(directory, enterprises=enterprises, area=area,
                                                   fingerprint=fingerprint)
    scheme = scheme if isinstance(scheme, Scheme) else load_scheme(scheme)
    evaluation = evaluate_frames(enterprises, figures, None, read_parks(directory), year, scheme, links=links)
    return DatasetEvaluation(evaluation, enterprises, figures, links, rows)


def evaluate_dataset(directory, year: int | None = None, scheme=None):
    """Evaluate the dataset's enterprises by ``scheme`` (default preset) for ``year`` (default: latest).

    The evaluation is :func:`geo.evaluation.evaluate_frames` over all enterprises, so grades and
    ranks are those the city store gives for the same data; their parcels' areas and parks come
    from the stored links (:func:`store_enterprise_links`, made first if missing or stale), so no
    parcel file is read. Returns the :class:`geo.evaluation.Evaluation`, or None without
    enterprises or figures.
    """
    evaluated = _evaluate(directory, year, scheme, None)
    return None if evaluated is None else evaluated.evaluation


def dataset_grading(directory, standards: Standards, year: int | None, scheme, area: list[str]) -> list[Grading]:
    """The grading of each partition of :func:`open_parcels`: by the scheme when the dataset has
    enterprises, else by tax per 亩.

    ``area``: the columns areas are read from (:func:`area_columns`).
    """
    from geo.evaluation import grades_by_parcel

    evaluated = _evaluate(directory, year, scheme, area)
    if evaluated is None:
        ddf = open_parcels(directory, columns=KPI_COLUMNS + area)
        taxes = ddf.map_partitions(_enterprise_tax_per_mu, meta=pd.Series(dtype=float, name="tax_per_mu_wan"))
        return [Grading(bounds=grade_bounds(taxes.compute().to_numpy(), standards))] * ddf.npartitions
    links, enterprises = evaluated.links, evaluated.enterprises
    # Both by the parcels' keys, their positions among all parcels in the order the partitions read them.
    grades = grades_by_parcel(evaluated.evaluation.table, enterprises, links=links)
    shared = parcel_figures(enterprises, evaluated.figures, None, evaluated.evaluation.year, links=links)
    graded, figured = grades.index.to_numpy(), shared.index.to_numpy()
    # The parcels with either, in key order, by a table over all keys (sorting millions of keys costs more).
    slot = np.full(int(evaluated.file_rows.sum()), -1, dtype=np.int64)
    slot[graded] = 0
    slot[figured] = 0
    rows = np.flatnonzero(slot == 0)
    slot[rows] = np.arange(len(rows))
    labels = np.full(len(rows), None, dtype=object)
    labels[slot[graded]] = grades.to_numpy(dtype=object)
    values = {}
    for column in PARCEL_FIGURES:
        values[column] = np.full(len(rows), np.nan)
        values[column][slot[figured]] = shared[column].to_numpy(dtype=float)
    batches = file_batches(parcel_files(directory))
    starts = np.cumsum([0] + [len(batch) for batch in batches])
    bounds = np.cumsum(np.r_[0, np.add.reduceat(evaluated.file_rows, starts[:-1])])
    cuts = np.searchsorted(rows, bounds)
    return [Grading(rows=rows[a:b] - start, grades=labels[a:b], shared={c: v[a:b] for c, v in values.items()},
                    size=int(end - start))
            for a, b, start, end in zip(cuts[:-1], cuts[1:], bounds[:-1], bounds[1:])]


def _enterprise_tax_per_mu(part) -> pd.Series:
    frame = pd.DataFrame({"status": part.status, "tax_wan": part.tax_wan}).join(
        parcel_metrics(part, parcel_areas_m2(part)))
    graded = frame.status.isin(ENTERPRISE_STATUSES) & frame.tax_per_mu_wan.notna()
    return frame.loc[graded, "tax_per_mu_wan"].reset_index(drop=True)


def grade_bounds(tax_per_mu: np.ndarray, standards: Standards) -> tuple[np.ndarray, np.ndarray]:
    """Grade labels and the lowest tax per 亩 in each, from every enterprise's tax per 亩.

    The ranking itself is :func:`geo.metrics.mu_grades`, so the shares are those of
    ``data/standards/grades.csv``.
    """
    frame = pd.DataFrame({"status": ENTERPRISE_STATUSES[0], "tax_per_mu_wan": tax_per_mu})
    lowest = frame.tax_per_mu_wan.groupby(mu_grades(frame, standards)).min().sort_values(ascending=False)
    return lowest.index.to_numpy(dtype=object), lowest.to_numpy(dtype=float)


def _apply_grade_bounds(frame: pd.DataFrame, labels: np.ndarray, lowest: np.ndarray) -> pd.Series:
    graded = frame.status.isin(ENTERPRISE_STATUSES) & frame.tax_per_mu_wan.notna()
    grades = pd.Series(pd.NA, index=frame.index, dtype="string")
    if len(labels):
        # First grade (A, B, ...) whose lowest value is at or below the parcel's value.
        idx = np.searchsorted(-lowest, -frame.loc[graded, "tax_per_mu_wan"].to_numpy(), side="left")
        grades.loc[graded] = labels[np.minimum(idx, len(labels) - 1)]
    return grades


def province_kpis(directory, *, by: str = "park", standards: Standards | None = None, year: int | None = None,
                  scheme=None) -> pd.DataFrame:
    """KPIs per park (or per group, or per city) over a partitioned GeoParquet dataset.

    Runs on the active Dask client if any (see :func:`dask_client`), else on local threads.

    Parameters
    ----------
    directory : path
        Dataset written by :func:`write_parquet_sample` (or any data in that layout).
    by : {"park", "group", "city"}
        One row per park, in the parks' order (columns of :func:`geo.metrics.park_kpis`), per
        group (columns of :func:`geo.metrics.group_kpis`; a group id shared by two cities counts
        both), or per city (``city``, ``city_name_zh``, ``city_name_en``, ``park_count`` and the
        group columns).
    year, scheme
        The 亩均 evaluation's year (default: the latest with figures) and scheme (name, path or
        :class:`geo.evaluation.Scheme`; default preset), for a dataset with enterprises; the grade
        counts and the enterprise figures on parcels are then those of the city store.

    Returns
    -------
    DataFrame
    """
    import dask

    if by not in KEYS:
        raise ParkAtlasError(f"unknown grouping {by!r}; one of {', '.join(KEYS)}")
    key = KEYS[by]
    standards = standards or load_standards()
    parks = read_parks(directory)
    cities = parks["city"] if "city" in parks else pd.Series("", index=parks.index)
    groups = {"group": dict(zip(parks.park_id, parks.group)), "city": dict(zip(parks.park_id, cities))}
    import dask.dataframe as dd

    area = area_columns(directory)  # every file's footer: read once for all the passes below
    # Group and city totals count the land of overlapping parks once; park rows keep their own land.
    leave_out = {} if by == "park" else overlap_duplicates_by_park(directory, parks)
    # Grades and shared figures go by position: ids are read only where overlapping land is left out.
    columns = KPI_COLUMNS + area + ["park_id"]

    gradings = dataset_grading(directory, standards, year, scheme, area)

    files = parcel_files(directory)
    first = gradings[0]
    no_rows = first if first.rows is None else Grading(rows=first.rows[:0], grades=first.grades[:0],
                                                       shared={c: v[:0] for c, v in first.shared.items()})
    metric_meta = _metric_frame(_read_parcel_file(files[0], columns).iloc[:0], groups, no_rows)
    batches = file_batches(files)
    # Each task gets the left-out ids of its own parks only (a few parks have any).
    leave_outs = [{park: leave_out[park] for park in {_park_of(path) for path in batch} if park in leave_out}
                  for batch in batches]
    with dask.config.set({"dataframe.convert-string": False}):  # the frames as _metric_frame makes them
        metrics = dd.from_map(_metric_batch, batches, gradings, leave_outs, wanted=columns, park_labels=groups,
                              meta=metric_meta, label="kpi-metrics", enforce_metadata=False)
    sums_meta = aggregate_sums(metric_meta, [key], standards)
    partial = metrics.map_partitions(aggregate_sums, [key], standards, meta=sums_meta)
    # The enterprises' indicator columns come back whole (a few numbers per parcel) and the means and
    # medians are taken in memory: a Dask group-by median would shuffle them between workers, which
    # costs more than the transfer, and the in-memory function gives the city store's numbers.
    enterprise = metrics.loc[metrics.status.isin(list(ENTERPRISE_STATUSES)),
                             [key, "status", *INTENSITY_INDICATORS]]
    partial, enterprise = dask.compute(partial, enterprise)

    sums = partial.groupby(level=0, sort=False).sum()
    agg = finish_aggregate(sums, indicator_stats(enterprise, [key]))
    agg.index.name = key
    if by == "park":
        ident = pd.DataFrame(parks[["park_id", "name_zh", "name_en", "group", "district_code", "data_as_of"]])
        out = ident.merge(agg.reset_index(), on="park_id", how="left")
        return out.fillna({"parcel_count": 0, "total_area_mu": 0.0, "available_area_mu": 0.0})
    out = agg.reset_index()
    out["park_count"] = out[key].map(parks.assign(city=cities).groupby(key).size())
    if by == "city":
        names = parks.assign(city=cities).drop_duplicates("city").set_index("city")
        for column in CITY_COLUMNS[1:]:
            out.insert(out.columns.get_loc("park_count"), column,
                       out.city.map(names[column]) if column in names else "")
    return out


def _available_part(part, filters: dict, top: int, standards: Standards):
    """Per-park count and area of the matching parcels, and the ``top`` largest of them."""
    frame = part.drop(columns=AREA_COLUMN, errors="ignore").join(parcel_metrics(part, parcel_areas_m2(part)))
    found = pd.DataFrame(available_parcels(frame, standards=standards, **filters).drop(columns="geometry",
                                                                                         errors="ignore"))
    summary = found.groupby("park_id").area_mu.agg(parcel_count="size", area_mu="sum")
    return summary, found.head(top)


def available_land(directory, *, top: int = 20, standards: Standards | None = None, **filters) -> dict:
    """Available land over a partitioned dataset, filtered as :func:`geo.availability.available_parcels`.

    Runs on the active Dask client if any, else on local threads. Only per-partition summaries and
    the ``top`` largest parcels of each partition travel back, so memory does not grow with matches.

    Returns
    -------
    dict
        ``parks``: DataFrame of ``park_id, parcel_count, area_mu`` of the matching parcels;
        ``largest``: the ``top`` largest matching parcels (attributes and metrics, no geometry).
    """
    import dask

    standards = standards or load_standards()
    columns = parcel_file_columns(directory)
    # The filters and the listed parcels need attributes and areas only: the geometry is read for
    # datasets written without stored areas.
    ddf = open_parcels(directory, columns=[c for c in columns if c != "geometry"] + ["park_id"]
                       if AREA_COLUMN in columns else None)
    tasks = [dask.delayed(_available_part)(part, filters, top, standards) for part in ddf.to_delayed()]
    results = dask.compute(*tasks)
    summaries = pd.concat([summary for summary, _ in results])
    per_park = summaries.groupby(level=0).sum().rename_axis("park_id").reset_index()
    found = pd.concat([rows for _, rows in results], ignore_index=True)
    largest = found.sort_values(["area_mu", "parcel_id"], ascending=[False, True]).head(top)
    return {"parks": per_park, "largest": largest.reset_index(drop=True)}


def _match_park(paths: list[str], park_id: str, parks: pd.DataFrame, project, top: int, with_blocks: bool,
                inputs: dict):
    """:func:`geo.matching.match` on one park's parcels (all its files): ranked candidates and counts.

    ``inputs`` holds ``standards``, ``settings`` and ``weights``, read once for every park.
    """
    import geopandas as gpd

    from geo.matching import match
    from geo.metrics import with_metrics

    frame = pd.concat([gpd.read_parquet(p) for p in paths], ignore_index=True)
    frame["park_id"] = park_id
    area_m2 = parcel_areas_m2(frame)
    parcels = with_metrics(frame.drop(columns=AREA_COLUMN, errors="ignore"), inputs["standards"], area_m2=area_m2)
    return match(parcels, parks, project, top=top, with_blocks=with_blocks, **inputs)


def province_match(directory, project, *, top: int = 10, with_blocks: bool = True):
    """Match a project against every park of a partitioned dataset, one Dask task per park.

    Each task runs :func:`geo.matching.match` on all of one park's parcels (so park-level figures
    and blocks of adjacent parcels are complete), and the candidates of all parks are ranked
    together by score. Enterprises of *another* park within the cluster radius are not counted
    (parks are kilometres apart; the city store's in-memory match counts them).

    Returns
    -------
    geo.matching.MatchResult
        Ranked ``top`` candidates; ``excluded`` and ``considered`` summed over parks.
    """
    import dask

    from geo.matching import MatchResult, load_settings, meets_demand, normalise_weights, rank_order, spread_scores
    from geo.project import load_project

    standards = load_standards()
    project = load_project(project, standards)
    folders = sorted(p for p in (Path(directory) / PARCELS_DIR).glob("park_id=*") if p.is_dir())
    if not folders:
        raise ParkAtlasError(f"no parcels under {Path(directory) / PARCELS_DIR}")
    # Read once and shipped once (not per park): matching needs the parks' table, not their outlines.
    parks = dask.delayed(pd.DataFrame(read_parks(directory).drop(columns="geometry")), pure=True)
    inputs = dask.delayed({"standards": standards, "settings": load_settings(), "weights": normalise_weights()},
                          pure=True)
    tasks = [dask.delayed(_match_park)([str(f) for f in sorted(folder.glob("*.parquet"))],
                                       folder.name.removeprefix("park_id="), parks, project, top, with_blocks, inputs)
             for folder in folders]
    results = dask.compute(*tasks)
    excluded: dict[str, int] = {}
    for result in results:
        for reason, count in result.excluded.items():
            excluded[reason] = excluded.get(reason, 0) + count
    frames = [r.candidates for r in results if len(r.candidates)]
    first = results[0]
    if not frames:
        return MatchResult(project, first.candidates, excluded, sum(r.considered for r in results), first.weights,
                           first.reasons, first.edition, first.source)
    both = pd.concat(frames, ignore_index=True)
    # Each park's shortlist is ranked by its own spread scores; the city's shortlist is chosen by the
    # weighted fit (the sum of the criteria's own scores), as in geo.matching.match, then spread once.
    fit = [100 * sum(c["weight"] * c["score"] for c in row if c["kind"] == "soft") for row in both.criteria]
    both = both.iloc[rank_order(fit, both.kind, both.area_mu, meets_demand(both.area_mu, project))[:top]]
    both = spread_scores(both.reset_index(drop=True), project, load_settings())
    return MatchResult(project, both, excluded, sum(r.considered for r in results), first.weights,
                       first.reasons, first.edition, first.source)
