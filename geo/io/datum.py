"""GCJ-02 and BD-09 (the offset datums of AMap/Tencent and Baidu) to WGS84, vectorised.

GCJ-02 is WGS84 plus a published non-linear obfuscation (ellipsoid a = 6378245.0,
ee = 0.00669342162296594323) applied only inside China's rough bounding box; BD-09 adds a
further rotation-like offset. The forward transforms are closed-form; the inverse of GCJ-02 is
found by fixed-point iteration of the forward transform, converging to well below a
centimetre (the offset's gradient is tiny). Round trips leave at most metre-level error
against the official (unpublished) implementation. Coordinates are numpy arrays of lon, lat.
"""
from __future__ import annotations

import numpy as np

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
#: Where the obfuscation is applied (outside: GCJ-02 equals WGS84).
CHINA_LON = (72.004, 137.8347)
CHINA_LAT = (0.8293, 55.8271)
_INVERSE_ITERATIONS = 8


def _in_china(lon, lat):
    return (lon >= CHINA_LON[0]) & (lon <= CHINA_LON[1]) & (lat >= CHINA_LAT[0]) & (lat <= CHINA_LAT[1])


def _offset(lon, lat):
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS84 ``lon``, ``lat``."""
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat):
    """WGS84 → GCJ-02 (unchanged outside China's box)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _offset(lon, lat)
    inside = _in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 → WGS84 by fixed-point iteration of :func:`wgs84_to_gcj02`."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(_INVERSE_ITERATIONS):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (glon - lon), wlat - (glat - lat)
    inside = _in_china(lon, lat)
    return np.where(inside, wlon, lon), np.where(inside, wlat, lat)


def bd09_to_gcj02(lon, lat):
    """BD-09 → GCJ-02: the published approximate inverse (cm-level error), refined by iterating
    :func:`gcj02_to_bd09` to well below a millimetre."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(3):
        blon, blat = gcj02_to_bd09(glon, glat)
        glon, glat = glon - (blon - lon), glat - (blat - lat)
    return glon, glat


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_wgs84(lon, lat):
    """BD-09 → WGS84 (via GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon, lat):
    """WGS84 → BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


SOURCE_DATUMS = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


def to_wgs84_geometries(geoms, source_datum: str):
    """Convert a shapely geometry array from ``source_datum`` (``gcj02``/``bd09``) to WGS84."""
    import shapely

    convert = SOURCE_DATUMS[source_datum]

    def transform(coords):
        lon, lat = convert(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, transform)
