"""The import report: one JSON-able dict per import, and the :class:`ImportResult` around it.

Keys (all documented in ``docs/import.md`` and ``docs/cli.md``): ``status`` (``ok`` or
``blocked``), ``file``, ``format``, ``driver``, ``layer``, ``layers_read``, ``features_read``,
``features_accepted``, ``features_rejected``, ``crs``, ``datum``, ``encoding``, ``region``,
``attributes``, ``geometry``, ``problem_counts``, ``problems`` (at most
:data:`MAX_LISTED_PROBLEMS` rows, each with ``lon``/``lat``), ``problems_listed``,
``blocking``, ``dry_run`` and, after a commit, ``committed``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Problems listed one by one in the JSON report (all of them stay in ``ImportResult.problems``).
MAX_LISTED_PROBLEMS = 1000


@dataclass
class ImportResult:
    """A read and validated upload, ready to commit (or not).

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        The features to import, conformed to the layer's schema, in EPSG:4490.
    report : dict
        The JSON-able import report (see the module docstring).
    problems : geopandas.GeoDataFrame
        One row per finding: ``kind``, ``severity`` (rejected/repaired/blocking/warning),
        ``parcel_id`` (the feature's id; a park id for the parks layer), ``detail``,
        ``area_m2`` and a geometry (EPSG:4490) to draw.
    layer : str
        ``parcels`` or ``parks``.
    """

    frame: gpd.GeoDataFrame
    report: dict
    problems: gpd.GeoDataFrame
    layer: str = "parcels"
    blocking: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """True when nothing blocks committing the import."""
        return not self.blocking


def problem_records(problems: gpd.GeoDataFrame, limit: int = MAX_LISTED_PROBLEMS) -> list[dict]:
    """Problems as JSON rows with a representative lon/lat instead of a geometry."""
    head = problems.head(limit)
    points = shapely.point_on_surface(head.geometry.values.to_numpy() if len(head) else np.empty(0, dtype=object))
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    table = pd.DataFrame(head.drop(columns="geometry")).astype(object)
    table["lon"] = np.round(lon, 6)
    table["lat"] = np.round(lat, 6)
    table["area_m2"] = np.round(head["area_m2"].to_numpy(dtype=float), 2)
    table = table.astype(object).where(table.notna(), None)
    return table.to_dict(orient="records")


def summary_lines(report: dict) -> list[str]:
    """The report for a person, a few lines (the CLI's default output)."""
    crs = report.get("crs", {})
    lines = [f"{report['file']}: {report['format']} ({report.get('driver')}) → {report['layer']}",
             f"features: {report['features_read']} read, {report['features_accepted']} accepted, "
             f"{report['features_rejected']} rejected",
             f"CRS: {crs.get('source')} ({crs.get('method')})" + "".join(f"\n  - {r}" for r in crs.get("reasons", []))]
    if report.get("encoding"):
        lines.append(f"encoding: {report['encoding'].get('encoding')} — {report['encoding'].get('method')}")
    if report.get("datum", {}).get("converted_from"):
        lines.append(f"datum: converted from {report['datum']['converted_from']} to WGS84/CGCS2000")
    counts = report.get("problem_counts", {})
    if counts:
        lines.append("problems: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for row in report.get("problems", [])[:20]:
        lines.append(f"  [{row['severity']}] {row['kind']} {row['parcel_id']}: {row['detail']}")
    for message in report.get("blocking", []):
        lines.append(f"BLOCKED: {message}")
    if report.get("committed"):
        lines.append("committed: " + ", ".join(f"{k} {v}" for k, v in report["committed"].items()))
    elif report.get("dry_run"):
        lines.append("dry run: nothing written")
    return lines
