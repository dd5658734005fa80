"""Which land is available for incoming projects.

"Available" is a set of statuses (default from ``data/standards/statuses.csv``: available and
approved-but-unsupplied); idle and inefficient land can be included explicitly, as land that
needs disposal first.
"""
from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd

from geo.errors import KeyedError, ParkAtlasError
from geo.metrics import with_metrics
from geo.standards import Standards, load_standards


#: Land-use groups a planner can pick as one choice; a code filter matches by prefix, so the group's
#: code selects every class in it (1001 → 100101–100104 industrial, 1101 → 110101–110103 logistics).
LAND_USE_GROUPS = ("1001", "1101")


def available_parcels(
    parcels: gpd.GeoDataFrame,
    *,
    statuses: Iterable[str] | None = None,
    park_ids: Iterable[str] | None = None,
    min_area_mu: float | None = None,
    max_area_mu: float | None = None,
    land_use_codes: Iterable[str] | None = None,
    ready_only: bool = False,
    min_power_kva: float | None = None,
    gas: bool | None = None,
    max_highway_km: float | None = None,
    standards: Standards | None = None,
) -> gpd.GeoDataFrame:
    """Filter parcels (with metrics) down to the available land matching the criteria.

    A land-use code filter matches by prefix, so ``1001`` selects 100101–100104.
    Returns the matching parcels with metric columns, largest first.
    """
    standards = standards or load_standards()
    statuses = list(statuses) if statuses is not None else standards.available_statuses
    unknown = set(statuses) - set(standards.statuses.code)
    if unknown:
        raise ParkAtlasError(f"unknown status {sorted(unknown)[0]!r}; one of {', '.join(standards.statuses.code)}")
    if min_area_mu is not None and max_area_mu is not None and min_area_mu > max_area_mu:
        raise KeyedError("available.area_range", f"minimum area {min_area_mu} 亩 is larger than the maximum "
                         f"{max_area_mu} 亩", min=f"{min_area_mu:,.1f}", max=f"{max_area_mu:,.1f}")
    frame = parcels if "area_mu" in parcels.columns else with_metrics(parcels, standards)
    mask = frame.status.isin(statuses)
    if park_ids is not None:
        mask &= frame.park_id.isin(list(park_ids))
    if min_area_mu is not None:
        mask &= frame.area_mu >= min_area_mu
    if max_area_mu is not None:
        mask &= frame.area_mu <= max_area_mu
    if land_use_codes:
        mask &= frame.land_use_code.str.startswith(tuple(land_use_codes)).fillna(False)
    if ready_only:
        mask &= frame.land_ready.fillna(False)
    if min_power_kva is not None:
        mask &= frame.power_kva >= min_power_kva
    if gas is not None:
        mask &= frame.gas.fillna(False) == gas
    if max_highway_km is not None:
        mask &= frame.highway_km <= max_highway_km
    return frame.loc[mask.fillna(False)].sort_values("area_mu", ascending=False)
