"""GeoPackage backend: one file that QGIS opens, the embedded default store.

Reads go through pyogrio with Arrow. The file holds the layers ``parks``, ``parcels`` and
``districts`` plus an attribute table ``dataset_info`` (key/value metadata).
"""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.errors import NotFoundError, ParkAtlasError
from geo.schema import PARCEL_COLUMNS, PARK_COLUMNS, conform_parcels, conform_parks
from geo.store.base import Store


def write_new_gpkg(path: Path, parks, parcels, districts, info: dict[str, str]) -> None:
    """Write a fresh GeoPackage at ``path`` (replacing it atomically if it exists)."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    pyogrio.write_dataframe(conform_parks(parks), tmp, layer="parks", driver="GPKG")
    pyogrio.write_dataframe(conform_parcels(parcels), tmp, layer="parcels", driver="GPKG",
                            layer_options={"SPATIAL_INDEX": "YES"})
    pyogrio.write_dataframe(districts, tmp, layer="districts", driver="GPKG")
    info_frame = pd.DataFrame({"key": list(info), "value": list(info.values())})
    pyogrio.write_dataframe(info_frame, tmp, layer="dataset_info", driver="GPKG")
    tmp.replace(path)


class GpkgStore(Store):
    """A GeoPackage file. Created and seeded from the sample when it does not exist yet."""

    def __init__(self, path: Path):
        from geo.sample import SAMPLE_GPKG

        self.path = Path(path)
        self.location = str(self.path)
        if not self.path.exists():
            if not SAMPLE_GPKG.exists():
                raise ParkAtlasError(f"sample {SAMPLE_GPKG} is missing; run: python -m geo.sample")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".seed")
            shutil.copyfile(SAMPLE_GPKG, tmp)
            tmp.replace(self.path)

    def _read(self, layer: str, **kwargs) -> gpd.GeoDataFrame:
        try:
            return pyogrio.read_dataframe(self.path, layer=layer, use_arrow=True, **kwargs)
        except pyogrio.errors.DataSourceError as exc:
            raise ParkAtlasError(f"cannot open store {self.path}: {exc}") from None

    def read_parks(self) -> gpd.GeoDataFrame:
        return conform_parks(self._read("parks"))

    def read_parcels(self, park_id: str | None = None) -> gpd.GeoDataFrame:
        where = None
        if park_id is not None:
            if park_id not in set(self.read_parks().park_id):
                raise NotFoundError(f"unknown park {park_id!r}; see `python cli.py parks` for the ids")
            where = "park_id = '{}'".format(park_id.replace("'", "''"))
        return conform_parcels(self._read("parcels", where=where))

    def read_districts(self) -> gpd.GeoDataFrame:
        return self._read("districts")

    def dataset_info(self) -> dict[str, str]:
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as con:
            return dict(con.execute("SELECT key, value FROM dataset_info").fetchall())


__all__ = ["GpkgStore", "write_new_gpkg", "PARK_COLUMNS", "PARCEL_COLUMNS"]
