"""ParkAtlas domain core: data model, CRS and units, I/O, metrics, availability, matching, storage.

Nothing in this package imports Streamlit or folium, so the CLI, the app, the tests and a
Dask worker all run the same code.
"""
import geo.io.safety  # noqa: F401  — first: sets GDAL_SKIP (no VRT, no network drivers) before pyogrio loads
from geo.errors import ParkAtlasError

__all__ = ["ParkAtlasError"]
