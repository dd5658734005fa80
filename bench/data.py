"""Benchmark datasets: synthetic parcels from :func:`geo.sample.generate`, cached in ``bench/results/cache``.

Every case at a given size uses the same parcels (same seed), so baselines and ParkAtlas are
measured on identical data within a run and across runs.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd

BENCH_SEED = 2026


def parcels(cache_dir: Path, n: int, seed: int = BENCH_SEED) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(parks, parcels) with ``n`` synthetic parcels, generated once and cached as GeoParquet."""
    from geo.sample import generate

    cache_dir.mkdir(parents=True, exist_ok=True)
    parks_path = cache_dir / f"parks_{n}_{seed}.parquet"
    parcels_path = cache_dir / f"parcels_{n}_{seed}.parquet"
    if parks_path.exists() and parcels_path.exists():
        return gpd.read_parquet(parks_path), gpd.read_parquet(parcels_path)
    parks, frame = generate(n, seed=seed)
    parks.to_parquet(parks_path, index=False)
    frame.to_parquet(parcels_path, index=False)
    return parks, frame


def store(cache_dir: Path, n: int, seed: int = BENCH_SEED) -> Path:
    """A GeoPackage store with ``n`` synthetic parcels (cached; copy it before writing to it)."""
    from geo.sample import write_sample

    path = cache_dir / f"store_{n}_{seed}.gpkg"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.gpkg")
        partial.unlink(missing_ok=True)
        write_sample(partial, n, seed)
        shutil.move(partial, path)
    return path


def parquet_dataset(cache_dir: Path, n: int, seed: int = BENCH_SEED) -> Path:
    """A partitioned GeoParquet dataset of ``n`` parcels for :mod:`geo.province` (cached)."""
    from geo.province import write_parquet_sample

    path = cache_dir / f"province_{n}_{seed}"
    if not (path / "parks.parquet").exists():
        shutil.rmtree(path, ignore_errors=True)
        write_parquet_sample(path, n, chunk_size=min(n, 100_000), seed=seed)
    return path


def largest_park(frame: gpd.GeoDataFrame) -> str:
    """The park with the most parcels."""
    return str(frame.park_id.value_counts().idxmax())
