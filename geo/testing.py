"""Helpers for tests: hand-built parcels with known answers, and store fixtures.

``make_parcels`` lays out rectangles given in metres in a Gauss-Krüger zone (default
EPSG:4547, CM 114°E — the sample's High-tech Zone) and fills every schema column with a
neutral default, so a test states only the attributes it is about.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo.crs import CGCS2000
from geo.schema import PARCEL_COLUMNS, conform_parcels

#: A point inside the High-tech Zone (EPSG:4547 metres), used as the origin of test layouts.
ORIGIN_4547 = (380_000.0, 2_581_000.0)

_DEFAULTS = {
    "park_id": "test_park", "land_use_code": "100101", "status": "available", "version": 1,
    "data_as_of": "2026-10-31", "land_ready": True, "gas": True, "power_kva": 5000.0,
    "water_t_per_day": 500.0, "highway_km": 2.0, "port_km": 20.0, "rail_km": 10.0,
}


def make_parcels(boxes_m: list[tuple[float, float, float, float]], epsg: int = 4547,
                 origin: tuple[float, float] = ORIGIN_4547, **columns) -> gpd.GeoDataFrame:
    """Parcels from (minx, miny, maxx, maxy) boxes in metres relative to ``origin``.

    Keyword arguments give columns (a scalar or one value per box); ``parcel_id`` defaults
    to P1, P2, ... The result conforms to the schema and is in CGCS2000 like the store.
    """
    n = len(boxes_m)
    ox, oy = origin
    geoms = [shapely.box(ox + a, oy + b, ox + c, oy + d) for a, b, c, d in boxes_m]
    data = {col: [None] * n for col in PARCEL_COLUMNS}
    data["parcel_id"] = [f"P{i + 1}" for i in range(n)]
    for key, value in {**_DEFAULTS, **columns}.items():
        data[key] = value if isinstance(value, list) else [value] * n
    frame = gpd.GeoDataFrame(pd.DataFrame(data), geometry=geoms, crs=f"EPSG:{epsg}")
    return conform_parcels(frame).to_crs(CGCS2000)


def copy_sample_store(directory: Path, name: str = "store.gpkg") -> Path:
    """A private copy of the sample GeoPackage, for tests that write."""
    from geo.sample import SAMPLE_GPKG

    target = Path(directory) / name
    shutil.copyfile(SAMPLE_GPKG, target)
    return target
