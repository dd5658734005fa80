"""Coordinate reference systems used in Chinese park data.

Areas are never measured in degrees: each parcel is measured in the CGCS2000 3° Gauss-Krüger
zone whose central meridian is nearest to it (EPSG:4534 + (CM − 75)/3, e.g. EPSG:4546 for
111°E and EPSG:4547 for 114°E). Zhaoqing straddles 112°30′E, so its parcels fall in two zones.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

#: Geographic CGCS2000 — the CRS of the store (stored lon/lat, GIS axis order).
CGCS2000 = "EPSG:4490"
WGS84 = "EPSG:4326"

_GK3_FIRST_EPSG = 4534  # CGCS2000 / 3-degree Gauss-Kruger CM 75E
_GK3_FIRST_CM = 75
_GK3_ZONE_PREFIXED_FIRST_EPSG = 4513  # CGCS2000 / 3-degree Gauss-Kruger zone 25 (CM 75E)


def gk3_central_meridian(lon):
    """Central meridian (°E) of the 3° zone nearest to each longitude."""
    return np.round(np.asarray(lon, dtype=float) / 3.0) * 3


def gk3_epsg(central_meridian: int, zone_prefixed: bool = False) -> int:
    """EPSG code of the CGCS2000 3° Gauss-Krüger zone with this central meridian.

    Parameters
    ----------
    central_meridian : int
        A multiple of 3 between 75 and 135.
    zone_prefixed : bool
        True for the variant whose false easting carries the zone number
        (e.g. 38,500,000 for CM 114°E, EPSG:4526); False for 500,000 (EPSG:4547).
    """
    cm = int(central_meridian)
    if cm % 3 or not 75 <= cm <= 135:
        raise ValueError(f"{cm}°E is not a CGCS2000 3° zone central meridian (75–135, step 3)")
    first = _GK3_ZONE_PREFIXED_FIRST_EPSG if zone_prefixed else _GK3_FIRST_EPSG
    return first + (cm - _GK3_FIRST_CM) // 3


def projected_crs_for(gdf: gpd.GeoDataFrame) -> str:
    """The Gauss-Krüger zone best suited to the whole frame (by the centre of its bounds)."""
    lon = gdf.to_crs(CGCS2000).total_bounds[[0, 2]].mean()
    return f"EPSG:{gk3_epsg(int(gk3_central_meridian(lon)))}"


def project_by_zone(geoms: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """Project each geometry into its own nearest Gauss-Krüger zone.

    Returns the projected geometries (a shapely array aligned with ``geoms``) and the EPSG
    code used for each. One ``to_crs`` call per zone present — vectorised, no per-parcel loop.
    """
    geographic = geoms.to_crs(CGCS2000)
    lon = shapely.get_x(shapely.centroid(geographic.values))
    cms = gk3_central_meridian(lon)
    projected = np.empty(len(geoms), dtype=object)
    epsg = np.zeros(len(geoms), dtype=int)
    for cm in np.unique(cms[~np.isnan(cms)]):
        mask = cms == cm
        code = gk3_epsg(int(cm))
        projected[mask] = geographic[mask].to_crs(code).values
        epsg[mask] = code
    return projected, epsg


def projected_area_m2(geoms: gpd.GeoSeries) -> np.ndarray:
    """Planar area in m² of each geometry, measured in its own Gauss-Krüger zone."""
    projected, _ = project_by_zone(geoms)
    return shapely.area(projected.astype(object)).astype(float)

