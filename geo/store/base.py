"""The store interface both backends implement."""
from __future__ import annotations

import abc

import geopandas as gpd
import pandas as pd


class Store(abc.ABC):
    """Parks, parcels and district context, read and written transactionally."""

    location: str

    @abc.abstractmethod
    def read_parks(self) -> gpd.GeoDataFrame:
        """All parks (CGCS2000), conforming to :data:`geo.schema.PARK_COLUMNS`."""

    @abc.abstractmethod
    def read_parcels(self, park_id: str | None = None) -> gpd.GeoDataFrame:
        """Parcels (CGCS2000), all or of one park, conforming to :data:`geo.schema.PARCEL_COLUMNS`."""

    @abc.abstractmethod
    def read_districts(self) -> gpd.GeoDataFrame:
        """District boundaries for map context."""

    @abc.abstractmethod
    def dataset_info(self) -> dict[str, str]:
        """Key/value metadata of the dataset (source, synthetic flag, seed...)."""

    def summary(self) -> pd.Series:
        """Counts for a quick look at the store."""
        parcels = self.read_parcels()
        return pd.Series({"parks": len(self.read_parks()), "parcels": len(parcels)})
