"""ParkAtlas domain core: data model, CRS and units, I/O, metrics, availability, matching, storage.

Nothing in this package imports Streamlit or folium, so the CLI, the app, the tests and a
Dask worker all run the same code.
"""
from geo.errors import ParkAtlasError

__all__ = ["ParkAtlasError"]
