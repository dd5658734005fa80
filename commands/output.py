"""Printing frames as JSON, GeoJSON or CSV — the CLI's stable output formats."""
from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd

from geo.crs import WGS84

FORMATS = ("json", "csv")
GEO_FORMATS = ("json", "geojson", "csv")


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows of ``frame`` as JSON-ready dicts, as the CLI prints them.

    Parameters
    ----------
    frame : DataFrame
        Any table (drop ``geometry`` first: shapes are not JSON).

    Returns
    -------
    list of dict
        One dict per row, keys in column order; missing values (NaN, NA, None) become
        ``None`` (JSON ``null``) and numpy scalars plain Python numbers and booleans.
    """
    plain = pd.DataFrame(frame).astype(object).where(pd.notna(frame), None)
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in plain.to_dict(orient="records")]


def emit(frame: pd.DataFrame, fmt: str, out=None) -> None:
    """Print ``frame`` as a JSON array of objects, a GeoJSON FeatureCollection or CSV."""
    out = out or sys.stdout
    if fmt == "geojson":
        import geopandas as gpd  # only GeoJSON needs the geometry stack (a cold start without it: issue 20)

        geo = gpd.GeoDataFrame(frame, geometry="geometry").to_crs(WGS84)
        out.write(geo.to_json(drop_id=True, ensure_ascii=False, na="null"))
        out.write("\n")
        return
    table = frame.drop(columns="geometry", errors="ignore")
    if fmt == "json":
        json.dump(records(table), out, ensure_ascii=False, indent=1)
        out.write("\n")
    else:
        table.to_csv(out, index=False)


def emit_object(obj, out=None) -> None:
    """Print a JSON object (reports, match results)."""
    out = out or sys.stdout
    json.dump(obj, out, ensure_ascii=False, indent=1, default=str)
    out.write("\n")
