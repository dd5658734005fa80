"""Where parks and parcels live: one interface, a GeoPackage backend and a PostGIS backend.

:func:`open_store` takes a path (GeoPackage) or a ``postgresql://`` URL. The store location
comes from ``--store``, else ``PARKATLAS_STORE``, else ``var/parkatlas.gpkg``; a GeoPackage
that does not exist yet is created and seeded from the sample in ``data/parcels/``, which
is itself never written to.
"""
from __future__ import annotations

import os
from pathlib import Path

from geo.errors import ParkAtlasError
from geo.standards import REPO_ROOT
from geo.store.base import Store

DEFAULT_STORE = REPO_ROOT / "var" / "parkatlas.gpkg"
STORE_ENV = "PARKATLAS_STORE"


def resolve_store_location(location: str | os.PathLike | None = None) -> str:
    """The store to use: the argument, else ``$PARKATLAS_STORE``, else ``var/parkatlas.gpkg``."""
    return str(location or os.environ.get(STORE_ENV) or DEFAULT_STORE)


def open_store(location: str | os.PathLike | None = None) -> Store:
    """Open (and on first use create and seed) the store at ``location``."""
    target = resolve_store_location(location)
    if target.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from geo.store.postgis import PostgisStore

        return PostgisStore(target)
    if "://" in target:
        raise ParkAtlasError(f"unsupported store {target!r}: give a .gpkg path or a postgresql:// URL")
    path = Path(target)
    if path.suffix.lower() != ".gpkg":
        raise ParkAtlasError(f"store path {path} must end in .gpkg (or use a postgresql:// URL)")
    from geo.store.gpkg import GpkgStore

    return GpkgStore(path)
