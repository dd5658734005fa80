"""Import planners' own files safely (GeoPackage, zipped Shapefile, GeoJSON, GeoParquet, FlatGeobuf,
KML/KMZ, CSV/XLSX, DXF, OpenStreetMap), split by concern like geopandas' ``io/``:

- :mod:`~geo.io.safety` — GDAL configuration (``GDAL_SKIP``), limits, format sniffing;
- :mod:`~geo.io.archives` — zip checks from the central directory before decompression;
- :mod:`~geo.io.sandbox` / :mod:`~geo.io.readers` — parsing in a limited subprocess;
- :mod:`~geo.io.encoding`, :mod:`~geo.io.crs_guess`, :mod:`~geo.io.datum` — text and coordinates;
- :mod:`~geo.io.attributes`, :mod:`~geo.io.validate`, :mod:`~geo.io.report` — schema, checks, report.

Contract: ``read_upload(data, filename, ...) -> ImportResult`` and
``commit_import(store, result, user)``. Heavy modules load on first use, so that importing
:mod:`geo` (which imports :mod:`geo.io.safety` first of all) stays cheap.
"""
from geo.io import safety  # noqa: F401  — sets GDAL_SKIP before anything imports pyogrio

_LAZY = {"read_upload": "geo.io.upload", "commit_import": "geo.io.upload", "ImportResult": "geo.io.report"}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'geo.io' has no attribute {name!r}")
