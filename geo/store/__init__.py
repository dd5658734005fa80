"""Where parks and parcels live: one interface, a GeoPackage backend and a PostGIS backend.

:func:`open_store` takes a path (GeoPackage) or a ``postgresql://`` URL. The store location
comes from ``--store``, else ``PARKATLAS_STORE``, else ``var/parkatlas.gpkg``; a GeoPackage
that does not exist yet is created and seeded from the sample in ``data/parcels/``, which
is itself never written to.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from geo.errors import ParkAtlasError
from geo.standards import REPO_ROOT
from geo.store.base import Store

DEFAULT_STORE = REPO_ROOT / "var" / "parkatlas.gpkg"
STORE_ENV = "PARKATLAS_STORE"


def resolve_store_location(location: str | os.PathLike | None = None) -> str:
    """The store to use: the argument, else ``$PARKATLAS_STORE``, else ``var/parkatlas.gpkg``."""
    return str(location or os.environ.get(STORE_ENV) or DEFAULT_STORE)


POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
#: Connection parameters that carry a secret (libpq's names), masked wherever a location is shown.
SECRET_PARAMETERS = ("password", "sslpassword")
_KEYWORD_SECRET = re.compile(r"\b(" + "|".join(SECRET_PARAMETERS) + r")\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", re.I)


def redact_location(location: str | os.PathLike) -> str:
    """``location`` as it may be shown or logged: every credential replaced by ``***``.

    Masks the password of a URL's userinfo, ``password=``/``sslpassword=`` query parameters and
    the same keywords in a libpq ``key=value`` string. A GeoPackage path is returned unchanged.
    """
    text = str(location)
    if not text.startswith(POSTGRES_SCHEMES):
        return _KEYWORD_SECRET.sub(lambda m: f"{m.group(1)}=***", text) if "=" in text else text
    try:
        parts = urlsplit(text)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
        query = urlencode([(k, "***" if k.lower() in SECRET_PARAMETERS else v)
                           for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:  # an unparsable URL: show only its scheme
        return text.split("://", 1)[0] + "://***"


def check_store_location(target: str) -> None:
    """Refuse anything but a plain path or a ``postgresql://`` URL (GDAL virtual paths, other URLs)."""
    if target.startswith(POSTGRES_SCHEMES):
        return
    if "://" in target or "/vsi" in target.lower() or target.lower().startswith("vsi") or "?" in target:
        raise ParkAtlasError(f"unsupported store {redact_location(target)!r}: give a plain .gpkg path "
                             "or a postgresql:// URL")


def open_store(location: str | os.PathLike | None = None) -> Store:
    """Open (and on first use create and seed) the store at ``location``."""
    target = resolve_store_location(location)
    check_store_location(target)
    if target.startswith(POSTGRES_SCHEMES):
        from geo.store.postgis import PostgisStore

        return PostgisStore(target)
    path = Path(target)
    if path.suffix.lower() != ".gpkg":
        raise ParkAtlasError(f"store path {path} must end in .gpkg (or use a postgresql:// URL)")
    from geo.store.gpkg import GpkgStore

    return GpkgStore(path)
