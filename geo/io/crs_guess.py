"""Which CRS an upload is in: the declared one, the file's own, or a guess with reasons.

Guesses come from the coordinates themselves, in this order:

- values within ±180/±90 are lon/lat in degrees (CGCS2000, EPSG:4490); if they fall outside
  the region but would fall inside with x and y swapped, they are lat/lon and are swapped;
- 8-digit eastings whose first two digits are a zone number (37, 38 …) are CGCS2000 3°
  Gauss-Krüger with the zone prefix (EPSG:4525 for zone 37, EPSG:4526 for zone 38);
- 6–7 digit eastings are CGCS2000 3° Gauss-Krüger without prefix; the central meridian
  (EPSG:4546 for 111°E, EPSG:4547 for 114°E) is the one that puts the data in the region;
  northings in x and eastings in y are swapped first.

Data far outside the region — the extent of the store's city (:meth:`geo.city.City.region`) —
are refused unless the user confirms with ``allow_outside_region``.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np
import shapely

from geo.crs import CGCS2000, WGS84, gk3_central_meridian, gk3_epsg
from geo.errors import KeyedError, ParkAtlasError

_EPSG_OPTION = re.compile(r"^\s*(?:EPSG:)?(\d{4,6})\s*$", re.IGNORECASE)
#: How far (degrees, ≈ 30 km) outside the region's box data still count as inside.
REGION_MARGIN_DEG = 0.3


@dataclass(frozen=True)
class Region:
    """The area imports are expected in: a lon/lat box (EPSG:4490) and a name for messages.

    Normally the store's city's (:meth:`geo.city.City.region`); ``PARKATLAS_REGION_BBOX``
    overrides it (:meth:`from_env`).
    """

    name: str
    bbox: tuple[float, float, float, float]
    margin_deg: float = REGION_MARGIN_DEG

    @classmethod
    def from_env(cls, environ=os.environ) -> "Region | None":
        """``PARKATLAS_REGION_BBOX=minlon,minlat,maxlon,maxlat`` (and ``PARKATLAS_REGION_NAME``);
        ``None`` when unset."""
        text = environ.get("PARKATLAS_REGION_BBOX")
        if not text:
            return None
        try:
            bbox = tuple(float(v) for v in text.split(","))
        except ValueError:
            bbox = ()
        if len(bbox) != 4:
            raise KeyedError("import.refused.region_setting",
                             f"PARKATLAS_REGION_BBOX={text!r} must be minlon,minlat,maxlon,maxlat", value=text[:60])
        return cls(environ.get("PARKATLAS_REGION_NAME", "configured region"), bbox)

    def contains(self, lon, lat) -> np.ndarray:
        minx, miny, maxx, maxy = self.bbox
        m = self.margin_deg
        return (lon >= minx - m) & (lon <= maxx + m) & (lat >= miny - m) & (lat <= maxy + m)


@dataclass
class CrsDecision:
    """The source CRS used and why."""

    crs: str | None = None
    method: str = ""
    swapped_axes: bool = False
    reasons: list[str] = field(default_factory=list)


def parse_crs_option(text: str | None) -> str | None:
    """``--crs`` value → ``EPSG:NNNN``. Only EPSG codes are accepted (no files, URLs or PROJ strings)."""
    if text is None or text == "":
        return None
    match = _EPSG_OPTION.match(str(text))
    if not match:
        raise KeyedError("import.refused.crs_option", f"--crs {str(text)[:40]!r} is not an EPSG code; give e.g. "
                         "EPSG:4547", value=str(text)[:40])
    code = f"EPSG:{match.group(1)}"
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(code)
    except CRSError:
        raise KeyedError("import.refused.crs_option", f"--crs {code} is not a known EPSG code", value=code) from None
    return code


def _bounds(geoms) -> np.ndarray:
    b = shapely.bounds(geoms)
    b = b[~np.isnan(b).any(axis=1)]
    if not len(b):
        raise KeyedError("import.refused.no_coordinates",
                         "the file has no readable coordinates (every geometry is empty or unreadable; "
                             "is the file truncated?)")
    return b


def _centres(geoms) -> tuple[np.ndarray, np.ndarray]:
    b = shapely.bounds(geoms)
    return (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2


def _to_lonlat(x, y, crs: str):
    from pyproj import Transformer

    return Transformer.from_crs(crs, CGCS2000, always_xy=True).transform(x, y)


def _swap(geoms):
    return shapely.transform(geoms, lambda c: c[:, ::-1].copy())


def _share_inside(x, y, crs: str, region: Region) -> float:
    lon, lat = _to_lonlat(np.asarray(x), np.asarray(y), crs)
    return float(np.mean(region.contains(np.asarray(lon), np.asarray(lat))))


def guess_crs(geoms, region: Region) -> tuple[object, CrsDecision]:
    """Guess the CRS of ``geoms`` from their coordinates; may swap axes. Returns (geoms, decision)."""
    b = _bounds(geoms)
    minx, miny, maxx, maxy = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    decision = CrsDecision(method="guessed")
    if max(abs(minx), abs(maxx), abs(miny), abs(maxy)) <= 180 and min(max(abs(minx), abs(maxx)),
                                                                      max(abs(miny), abs(maxy))) <= 90:
        decision.crs = CGCS2000
        decision.reasons.append(f"coordinates are degrees (x {minx:.4f}…{maxx:.4f}, y {miny:.4f}…{maxy:.4f}): "
                                f"lon/lat, taken as CGCS2000 EPSG:4490")
        return _swap_if_latlon(geoms, decision, region), decision
    if 10_000_000 <= minx and maxx < 100_000_000:
        zone = int(np.median(cx) // 1_000_000)
        try:
            code = gk3_epsg(zone * 3, zone_prefixed=True)
        except ValueError:
            raise KeyedError("import.refused.gk_zone", f"8-digit eastings start with {zone}, not a CGCS2000 3° zone "
                             "(25–45); declare the CRS with --crs EPSG:XXXX", zone=zone) from None
        decision.crs = f"EPSG:{code}"
        decision.reasons.append(f"8-digit eastings ({minx:.0f}…{maxx:.0f}) start with zone number {zone}: "
                                f"CGCS2000 3° Gauss-Krüger zone {zone} (CM {zone * 3}°E) with zone prefix, "
                                f"EPSG:{code}")
        return geoms, decision
    swapped = 1_000_000 <= minx and maxx < 10_000_000 and 100_000 <= miny and maxy < 1_000_000
    if swapped:
        geoms, cx, cy = _swap(geoms), cy, cx
        decision.swapped_axes = True
        decision.reasons.append("x holds 7-digit northings and y 6-digit eastings: axes swapped")
    if 100_000 <= cx.min() and cx.max() < 1_000_000 and 0 <= cy.min() and cy.max() < 10_000_000:
        lon_lo, _, lon_hi, _ = region.bbox
        candidates = sorted({int(v) for v in gk3_central_meridian([lon_lo, (lon_lo + lon_hi) / 2, lon_hi])})
        shares = {cm: _share_inside(cx, cy, f"EPSG:{gk3_epsg(cm)}", region) for cm in candidates}
        best = max(candidates, key=lambda cm: (shares[cm], -abs(cm - (lon_lo + lon_hi) / 2)))
        code = gk3_epsg(best)
        decision.crs = f"EPSG:{code}"
        tried = ", ".join(f"CM {cm}°E {shares[cm]:.0%}" for cm in candidates)
        decision.reasons.append(f"6–7 digit eastings ({cx.min():.0f}…{cx.max():.0f}) and northings: CGCS2000 3° "
                                f"Gauss-Krüger without zone prefix; share inside {region.name} by central "
                                f"meridian: {tried} → CM {best}°E, EPSG:{code}")
        return geoms, decision
    raise KeyedError("import.refused.crs_unknown",
                     f"cannot tell the CRS of coordinates x {minx:.6g}…{maxx:.6g}, y {miny:.6g}…{maxy:.6g}; "
                         f"declare it with --crs EPSG:XXXX")


def resolve_crs(geoms, *, declared: str | None, file_crs: str | None, needs_declared: bool,
                region: Region) -> tuple[object, CrsDecision]:
    """Decide the source CRS: declared, else the file's, else a guess (unless ``needs_declared``)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if declared:
        decision = CrsDecision(declared, "declared", reasons=[f"declared by the user: {declared}"])
        if file_crs:
            decision.reasons.append("the file's own CRS was overridden")
    elif file_crs and _beyond_degrees(geoms) and _refuse_crs_text(file_crs) and \
            CRS.from_user_input(file_crs).is_geographic:
        geoms, decision = guess_crs(geoms, region)
        decision.reasons.insert(0, "the file declares lon/lat, but its coordinates do not fit (beyond ±180/±90): CRS guessed instead")
        return geoms, decision
    elif file_crs:
        _refuse_crs_text(file_crs)
        try:
            crs = CRS.from_user_input(file_crs)
        except CRSError:
            raise KeyedError("import.refused.crs_unknown",
                             "the file's CRS definition cannot be understood; declare it with --crs EPSG:XXXX") from None
        epsg = crs.to_epsg(min_confidence=70)
        name = f"EPSG:{epsg}" if epsg else crs.to_wkt()
        decision = CrsDecision(name, "from file", reasons=[f"the file declares {crs.name}"
                                                          + (f" (EPSG:{epsg})" if epsg else "")])
    elif needs_declared:
        raise KeyedError("import.refused.dxf_crs", "DXF drawings carry no CRS: declare it, e.g. --crs EPSG:4547 "
                             "(CGCS2000 3° Gauss-Krüger CM 114°E)")
    else:
        return guess_crs(geoms, region)
    if CRS.from_user_input(decision.crs).is_geographic:
        geoms = _swap_if_latlon(geoms, decision, region)
    return geoms, decision


_CRS_TEXT = re.compile(r"^\s*(\{|(EPSG|OGC|ESRI|IAU_2015):[\w.]+\s*$|[A-Z_]+(CRS|CS)\s*[\[(]|COMPD_CS|PROJCRS|GEOGCRS)",
                       re.IGNORECASE)


def _refuse_crs_text(text: str) -> bool:
    """Only PROJJSON, WKT or AUTHORITY:CODE from a file reach PROJ (a PROJ string's ``+init=`` reads files)."""
    if not _CRS_TEXT.match(str(text)) or re.search(r"\+init|EXTENSION\s*\[", str(text), re.IGNORECASE):
        raise KeyedError("import.refused.crs_unknown",
                         "the file's CRS is given in an unsupported form; declare it with --crs EPSG:XXXX")
    return True


def _beyond_degrees(geoms) -> bool:
    b = _bounds(geoms)
    return bool((np.abs(b[:, [0, 2]]) > 180).any() or (np.abs(b[:, [1, 3]]) > 90).any())


def _swap_if_latlon(geoms, decision: CrsDecision, region: Region):
    """Swap lat/lon data stored as lon/lat when only the swapped reading lies in the region."""
    x, y = _centres(geoms)
    valid = ~np.isnan(x)
    if not valid.any():
        return geoms
    inside = region.contains(x[valid], y[valid]).mean()
    inside_swapped = region.contains(y[valid], x[valid]).mean()
    if inside_swapped > 0.5 and inside_swapped > inside:
        decision.swapped_axes = True
        decision.reasons.append(f"x looks like latitude and y like longitude ({inside_swapped:.0%} of features "
                                f"fall in {region.name} only when swapped): lat/lon swapped to lon/lat")
        return _swap(geoms)
    return geoms


def to_cgcs2000(geoms, crs: str):
    """Transform a shapely array from ``crs`` to EPSG:4490 (lon/lat order)."""
    import geopandas as gpd

    series = gpd.GeoSeries(geoms, crs=crs)
    return series.values if series.crs.equals(CGCS2000) else series.to_crs(CGCS2000).values


def check_region(geoms, region: Region, allow_outside_region: bool) -> dict:
    """Count features outside the region; refuse them unless ``allow_outside_region``."""
    lon, lat = _centres(geoms)
    present = ~np.isnan(lon)
    outside = int((~region.contains(lon[present], lat[present])).sum())
    summary = {"region": region.name, "bbox": list(region.bbox), "features_outside": outside}
    if outside and not allow_outside_region:
        far = np.nanmedian(lon[present]), np.nanmedian(lat[present])
        raise OutsideRegion(outside, int(present.sum()), region.name, float(far[0]), float(far[1]))
    return summary


class OutsideRegion(ParkAtlasError):
    """Features lie outside the configured region and the user has not confirmed them.

    The numbers travel as attributes so a page can say it in the planner's language.
    """

    def __init__(self, outside: int, total: int, region: str, lon: float, lat: float):
        self.outside, self.total, self.region, self.lon, self.lat = outside, total, region, lon, lat
        super().__init__(f"{outside} of {total} features lie outside {region} (median position {lon:.3f}°E "
                         f"{lat:.3f}°N); check the CRS or confirm with --allow-outside-region")


__all__ = ["Region", "CrsDecision", "OutsideRegion", "parse_crs_option", "guess_crs", "resolve_crs", "to_cgcs2000",
           "check_region", "WGS84"]
