"""Coordinate reference systems used in Chinese park data.

Areas are never measured in degrees: each parcel is measured in the CGCS2000 3° Gauss-Krüger
zone whose central meridian is nearest to it (EPSG:4534 + (CM − 75)/3, e.g. EPSG:4546 for
111°E and EPSG:4547 for 114°E). A city that straddles a zone border (e.g. 112°30′E) has parcels
in two zones; :attr:`geo.city.City.zones` lists those a store's city needs.
Data confirmed from outside China (``--allow-outside-region``) is measured in its UTM zone
(WGS 84, EPSG:326xx north / 327xx south), and beyond 84° latitude in a polar Lambert
azimuthal equal-area projection, so every stored geometry has an area (:func:`metric_crs`).
"""
from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

from geo.lazy import LazyModule

gpd = LazyModule("geopandas")
pyproj = LazyModule("pyproj")
shapely = LazyModule("shapely")

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


#: Where CGCS2000 Gauss-Krüger zones are used (China's extent, lon/lat °); UTM elsewhere.
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)
#: Beyond this latitude UTM is undefined: polar Lambert azimuthal equal-area.
UTM_MAX_LAT = 84.0


def metric_crs_codes(lon, lat) -> np.ndarray:
    """The metric CRS (a string for ``to_crs``) to measure each lon/lat position in; ``None`` for NaN.

    Gauss-Krüger inside China's extent, the UTM zone elsewhere, polar equal-area near the poles.
    """
    lon, lat = np.atleast_1d(np.asarray(lon, dtype=float)), np.atleast_1d(np.asarray(lat, dtype=float))
    in_china = (lon >= CHINA_LON[0]) & (lon <= CHINA_LON[1]) & (lat >= CHINA_LAT[0]) & (lat <= CHINA_LAT[1])
    cms = np.clip(np.nan_to_num(gk3_central_meridian(lon), nan=_GK3_FIRST_CM), _GK3_FIRST_CM, 135).astype(int)
    gk = _GK3_FIRST_EPSG + (cms - _GK3_FIRST_CM) // 3
    zone = (np.floor((np.nan_to_num(lon) + 180) / 6).astype(int) % 60) + 1
    utm = np.where(lat >= 0, 32600, 32700) + zone
    codes = np.where(in_china, gk, utm).astype(str)
    out = np.char.add("EPSG:", codes).astype(object)
    polar = np.abs(lat) >= UTM_MAX_LAT
    out[polar & (lat > 0)] = _polar_laea(90)
    out[polar & (lat < 0)] = _polar_laea(-90)
    out[np.isnan(lon) | np.isnan(lat)] = None
    return out


def _polar_laea(lat_0: int) -> str:
    return f"+proj=laea +lat_0={lat_0} +lon_0=0 +datum=WGS84 +units=m +no_defs +type=crs"


def metric_crs(lon: float, lat: float) -> str:
    """The metric CRS for one position (see :func:`metric_crs_codes`)."""
    return metric_crs_codes(lon, lat)[0]


@lru_cache(maxsize=32)
def transformer(source, target) -> pyproj.Transformer:
    """The lon/lat-ordered (``always_xy``) transformer from ``source`` to ``target`` (codes or CRS), built once."""
    return pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(source), pyproj.CRS.from_user_input(target),
                                      always_xy=True)


def reproject(geoms, source, target) -> np.ndarray:
    """2-D geometries (a shapely array) from CRS ``source`` to ``target``, as a new shapely array.

    The same coordinates through the same transformer as geopandas' ``to_crs`` (identical output),
    without the series around it: a third of its time at 200,000 parcels. Heights are dropped
    (parcels are 2-D: :mod:`geo.io.validate` drops them on import).
    """
    move = transformer(source, target)
    return shapely.transform(np.asarray(geoms, dtype=object),
                             lambda xy: np.column_stack(move.transform(xy[:, 0], xy[:, 1])))


def projected_crs_for(gdf: gpd.GeoDataFrame) -> str:
    """The metric CRS best suited to the whole frame (by the centre of its bounds).

    Only the bounds' box is transformed to CGCS2000, not the frame (a copy of every column).
    """
    geoms = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    bounds = gpd.GeoSeries([shapely.box(*geoms.total_bounds)], crs=geoms.crs).to_crs(CGCS2000).total_bounds
    return metric_crs(bounds[[0, 2]].mean(), bounds[[1, 3]].mean())


def project_metric(geographic, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """CGCS2000 lon/lat geometries, each projected in the metric CRS of its (``lon``, ``lat``).

    Returns the projected geometries and the CRS used for each (``None`` where there is no
    position). One ``to_crs`` call per CRS present — vectorised, no per-parcel loop.
    """
    geographic = np.asarray(geographic, dtype=object)
    codes = metric_crs_codes(lon, lat)
    projected = np.full(len(geographic), None, dtype=object)
    for code in {c for c in codes if c is not None}:
        mask = codes == code
        projected[mask] = reproject(geographic[mask], CGCS2000, code)
    return projected, codes


def project_by_zone(geoms: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """Project each geometry into the metric CRS of its centroid (:func:`project_metric`)."""
    geographic = geoms.to_crs(CGCS2000).values
    centres = shapely.centroid(geographic)
    return project_metric(geographic, shapely.get_x(centres), shapely.get_y(centres))


#: (digest of geometries and CRS, their areas) of the last call: one command reaches the same parcels
#: on several paths (enterprise figures, the evaluation, the metrics) and projects them only once.
_last_areas: tuple[bytes, np.ndarray] | None = None


def _geometry_digest(geoms: gpd.GeoSeries) -> bytes:
    """A digest of the geometries' WKB (lengths included, so a missing shape is not an empty one) and CRS."""
    wkb = [b"" if w is None else w for w in shapely.to_wkb(np.asarray(geoms.values, dtype=object))]
    digest = hashlib.blake2b(str(getattr(geoms, "crs", None)).encode())
    digest.update(np.fromiter(map(len, wkb), dtype=np.int64, count=len(wkb)).tobytes())
    digest.update(b"".join(wkb))
    return digest.digest()


def projected_area_m2(geoms: gpd.GeoSeries) -> np.ndarray:
    """Planar area in m² of each geometry, measured in its own Gauss-Krüger zone.

    The same geometries (same WKB and CRS) as the previous call reuse its areas instead of
    projecting again; any other input is measured afresh.
    """
    global _last_areas
    key = _geometry_digest(geoms)
    last = _last_areas
    if last is not None and last[0] == key:
        return last[1].copy()
    projected, _ = project_by_zone(geoms)
    areas = shapely.area(projected.astype(object)).astype(float)
    _last_areas = (key, areas)
    return areas.copy()

