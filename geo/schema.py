"""The data model: parks and parcels, their columns, types and meaning.

Stored geometries are CGCS2000 geographic (EPSG:4490, lon/lat). Areas are never stored:
they are derived in a Gauss-Krüger zone by :mod:`geo.metrics`. Money is in 万元, floor
areas in m², distances in km. See ``docs/data-model.md`` for the full description.
"""
from __future__ import annotations

import pandas as pd

from geo.crs import CGCS2000
from geo.errors import ParkAtlasError
from geo.lazy import LazyModule

gpd = LazyModule("geopandas")

#: Park columns → pandas dtype. Lists (chains, red lines) are ';'-separated strings so that
#: every format (GeoPackage, Shapefile, CSV) can hold them.
PARK_COLUMNS: dict[str, str] = {
    "park_id": "string",
    "name_zh": "string",
    "name_en": "string",
    "group": "string",
    "district_code": "string",
    "characteristic_chain": "string",
    "leading_chains": "string",
    "red_line_industries": "string",
    "min_investment_wan_per_mu": "float64",
    "min_output_wan_per_mu": "float64",
    "min_tax_wan_per_mu": "float64",
    "min_plot_ratio": "float64",
    "contact": "string",
    "data_as_of": "string",
}

#: Parcel columns → pandas dtype. Dates are ISO strings (YYYY-MM-DD), empty when unknown.
PARCEL_COLUMNS: dict[str, str] = {
    "parcel_id": "string",
    "park_id": "string",
    "land_use_code": "string",
    "status": "string",
    "enterprise": "string",
    "industry_code": "string",
    "chain": "string",
    "floor_area_m2": "float64",
    "footprint_m2": "float64",
    "structures_footprint_m2": "float64",
    "yard_area_m2": "float64",
    "floor_area_over_8m_m2": "float64",
    "investment_wan": "float64",
    "output_wan": "float64",
    "tax_wan": "float64",
    "employees": "Int64",
    "land_ready": "boolean",
    "contract_date": "string",
    "contract_start_date": "string",
    "actual_start_date": "string",
    "stopped_since": "string",
    "developed_area_mu": "float64",
    "investment_to_date_wan": "float64",
    "delay_cause": "string",
    "delay_reason": "string",
    "power_kva": "float64",
    "water_t_per_day": "float64",
    "gas": "boolean",
    "highway_km": "float64",
    "port_km": "float64",
    "rail_km": "float64",
    "reserved_project": "string",
    "reserved_by": "string",
    "reserved_at": "string",
    "data_as_of": "string",
    "version": "Int64",
}


def _conform(frame: gpd.GeoDataFrame, columns: dict[str, str], what: str) -> gpd.GeoDataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParkAtlasError(f"{what} lack required columns: {', '.join(missing)}")
    out = frame[list(columns) + ["geometry"]].astype(columns)
    if out.crs is None:
        raise ParkAtlasError(f"{what} have no CRS; declare one (e.g. --crs EPSG:4490)")
    return out.to_crs(CGCS2000) if not out.crs.equals(CGCS2000) else out


def conform_parks(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``frame`` with exactly the park columns, typed, in CGCS2000."""
    return _conform(frame, PARK_COLUMNS, "parks")


def conform_parcels(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``frame`` with exactly the parcel columns, typed, in CGCS2000."""
    return _conform(frame, PARCEL_COLUMNS, "parcels")


def split_list(value: str | None) -> list[str]:
    """Split a ';'-separated list column value."""
    if value is None or pd.isna(value) or not str(value).strip():
        return []
    return [item.strip() for item in str(value).split(";") if item.strip()]


#: Promotion team columns (:mod:`geo.team`). ``members`` (user names) and ``chains`` (chain
#: codes of ``data/standards/chains.csv``) are ';'-separated like the park lists.
TEAM_COLUMNS: dict[str, str] = {
    "team_id": "string",
    "name": "string",
    "members": "string",
    "district": "string",
    "chains": "string",
}

#: A team's target for a year: one row per team, year, target and chain (empty: all chains).
TEAM_TARGET_COLUMNS: dict[str, str] = {
    "team_id": "string",
    "year": "Int64",
    "target": "string",
    "chain": "string",
    "value": "float64",
}

#: Enterprise columns (:mod:`geo.enterprise`): column → pandas dtype. ``parcel_ids`` is ';'-separated.
ENTERPRISE_COLUMNS: dict[str, str] = {
    "uscc": "string",
    "name": "string",
    "industry_code": "string",
    "chain": "string",
    "scale": "string",
    "parcel_ids": "string",
    "leased_floor_m2": "float64",
    "production_start": "string",
}
#: The enterprise_figures table (one row per enterprise and year), money in 万元.
FIGURE_COLUMNS: dict[str, str] = {
    "uscc": "string",
    "year": "Int64",
    "sales_wan": "float64",
    "value_added_wan": "float64",
    "tax_wan": "float64",
    "energy_tce": "float64",
    "emissions_t": "float64",
    "rd_wan": "float64",
    "employees": "Int64",
}
#: The enterprise_grades table: an evaluation's result per year, scheme and enterprise
#: (``indicators`` is JSON text: a list of {name, value, score, weight, contribution, reason_zh, reason_en}).
GRADE_COLUMNS: dict[str, str] = {
    "year": "Int64",
    "scheme": "string",
    "uscc": "string",
    "jurisdiction": "string",
    "evaluated_class": "string",
    "score": "float64",
    "grade": "string",
    "rank": "Int64",
    "indicators": "string",
    "evaluated_at": "string",
}


#: Industrial chain tree nodes (:mod:`geo.chain`; ``data/standards/chain_nodes.csv``). A node
#: without ``parent`` is a segment (upstream, midstream, downstream); codes are GB/T 4754-2017,
#: ';'-separated; land in 亩, power in kVA, per-亩 figures in 万元 (a typical plant, illustrative).
CHAIN_NODE_COLUMNS: dict[str, str] = {
    "node_id": "string",
    "parent": "string",
    "chain": "string",
    "name_zh": "string",
    "name_en": "string",
    "industry_codes_2017": "string",
    "land_mu_min": "float64",
    "land_mu_max": "float64",
    "plot_ratio": "float64",
    "nuisance_class": "Int64",
    "power_kva": "float64",
    "investment_wan_per_mu": "float64",
    "output_wan_per_mu": "float64",
    "tax_wan_per_mu": "float64",
}
#: The chain leaders (链主): one row per chain and enterprise.
CHAIN_LEADER_COLUMNS: dict[str, str] = {"chain": "string", "uscc": "string"}
#: Enterprises placed on nodes explicitly (otherwise placed by industry code).
CHAIN_PLACEMENT_COLUMNS: dict[str, str] = {"uscc": "string", "node_id": "string"}
#: Entry thresholds of a chain (万元 per 亩), set by the city for its chains (:mod:`geo.city`); the
#: matcher applies the higher of a park's and the project's chain's threshold.
CHAIN_THRESHOLD_COLUMNS: dict[str, str] = {
    "chain": "string",
    "min_investment_wan_per_mu": "float64",
    "min_output_wan_per_mu": "float64",
    "min_tax_wan_per_mu": "float64",
}
#: Prospects: target companies to approach for a node (no scraping: imported by planners).
PROSPECT_COLUMNS: dict[str, str] = {
    "prospect_id": "string",
    "name": "string",
    "uscc": "string",
    "node_id": "string",
    "origin_city": "string",
    "notes": "string",
    "contact_status": "string",
    "land_mu": "float64",
    "investment_wan": "float64",
}
