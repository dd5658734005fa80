"""The store interface both backends (GeoPackage, PostGIS) implement and are tested against.

Every write is one transaction: it changes the data and appends its audit rows together, or
changes nothing. Writes take the acting ``user`` (a :class:`geo.auth.User` or user name, see
``geo/auth.py``) so that the role can be checked where the write happens.
"""
from __future__ import annotations

import abc
from datetime import datetime

import geopandas as gpd
import pandas as pd


class Store(abc.ABC):
    """Parks, parcels and district context, read and written transactionally."""

    location: str

    # --- reads -----------------------------------------------------------------------------
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

    def revision(self) -> str:
        """A token that changes whenever the data change (for cache keys)."""
        raise NotImplementedError

    # --- writes (each one transaction, audited) -----------------------------------------------
    def import_features(self, layer: str, frame: gpd.GeoDataFrame, *, user, mode: str = "upsert",
                        report: dict | None = None) -> dict:
        """Write validated ``parcels`` or ``parks`` all-or-nothing; returns counts written.

        ``mode="upsert"`` inserts new ids and replaces existing ones; ``mode="replace"``
        replaces every feature of the parks present in ``frame``. The import ``report`` is
        stored with the audit entry.
        """
        raise NotImplementedError

    def reserve(self, parcel_ids: list[str], *, project: str, user) -> None:
        """Reserve parcels for a project, all or none; ``ConflictError`` if one is taken."""
        raise NotImplementedError

    def release(self, parcel_ids: list[str], *, user) -> None:
        """Undo a reservation (back to the status the parcel had before)."""
        raise NotImplementedError

    def set_status(self, parcel_ids: list[str], status: str, *, user, note: str | None = None) -> None:
        """Change status (occupy, mark idle, ...)."""
        raise NotImplementedError

    def update_attributes(self, parcel_id: str, changes: dict, *, user,
                          expected_version: int | None = None) -> int:
        """Edit attributes with optimistic concurrency; returns the new version."""
        raise NotImplementedError

    # --- history and operations --------------------------------------------------------------
    def history(self, parcel_id: str | None = None, park_id: str | None = None) -> pd.DataFrame:
        """Audit rows (who, when, what, old → new), oldest first."""
        raise NotImplementedError

    def parcels_as_of(self, when: datetime, park_id: str | None = None) -> gpd.GeoDataFrame:
        """Parcels as they were at ``when``, reconstructed from the audit log."""
        raise NotImplementedError

    def integrity_check(self) -> list[str]:
        """Problems found (empty list: the store is sound)."""
        raise NotImplementedError

    def backup(self, destination: str) -> None:
        """A consistent copy while writers keep working."""
        raise NotImplementedError
