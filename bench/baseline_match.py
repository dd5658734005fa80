"""Baseline of the ``cli_match`` case: what a plain geopandas script does to shortlist land for a project.

``python bench/baseline_match.py STORE.gpkg PROJECT.json --top 10`` reads the GeoPackage's
``parcels`` layer with ``geopandas.read_file``, computes each parcel's area in 亩 in a projected
CRS, keeps available land inside the project's 亩 range that meets its power/gas needs, scores
each parcel with ``DataFrame.apply`` (area fit, infrastructure, distance to a highway) and
prints the top N as JSON — the script a GIS analyst writes without ParkAtlas. It imports only
geopandas (and what it pulls in), and is timed as a whole process like ``cli.py match``.
"""
from __future__ import annotations

import argparse
import json
import sys

import geopandas as gpd

M2_PER_MU = 2000 / 3
#: Statuses that count as available (data/standards/statuses.csv: counts_as_available).
AVAILABLE = {"available", "approved_unsupplied"}


def score(row, project: dict) -> float:
    """A weighted score of one parcel (0–100), the way such scripts usually rank land."""
    low, high = project["land_mu_min"], project["land_mu_max"]
    middle = (low + high) / 2
    area_fit = max(0.0, 1 - abs(row["area_mu"] - middle) / middle)
    needs = project.get("needs", {})
    power = min(1.0, (row["power_kva"] or 0) / needs["power_kva"]) if needs.get("power_kva") else 1.0
    water = min(1.0, (row["water_t_per_day"] or 0) / needs["water_t_per_day"]) if needs.get("water_t_per_day") else 1.0
    road = 1.0 if row["highway_km"] != row["highway_km"] else max(0.0, 1 - row["highway_km"] / 20)
    same_chain = 1.0 if row["chain"] == project.get("chain") else 0.0
    return 100 * (0.35 * area_fit + 0.2 * power + 0.15 * water + 0.15 * road + 0.15 * same_chain)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("project")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    with open(args.project, encoding="utf-8") as file:
        project = json.load(file)
    parcels = gpd.read_file(args.store, layer="parcels")
    parcels["area_mu"] = parcels.to_crs(parcels.estimate_utm_crs()).area / M2_PER_MU
    land = parcels.loc[parcels.status.isin(AVAILABLE)
                       & parcels.area_mu.between(project["land_mu_min"], project["land_mu_max"])].copy()
    if project.get("needs", {}).get("gas"):
        land = land.loc[land.gas.fillna(False).astype(bool)]
    land["score"] = land.apply(score, axis=1, project=project)
    top = land.nlargest(args.top, "score")
    json.dump([{"parcel_id": r.parcel_id, "park_id": r.park_id, "area_mu": round(r.area_mu, 2),
                "score": round(r.score, 2)} for r in top.itertuples()], sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
