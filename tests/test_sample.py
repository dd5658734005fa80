"""The synthetic "344" sample: deterministic, realistic, inside real districts, marked synthetic."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.metrics import with_metrics
from geo.sample import (generate, generate_enterprises, generate_register, load_districts,
                        parcels_following_register)
from geo.schema import PARCEL_COLUMNS


def test_same_seed_same_data_and_committed_sample_is_current(sample_parcels, sample_parks):
    parks, parcels = generate()
    enterprises, _ = generate_enterprises(parcels, parks)
    parcels = parcels_following_register(parcels, generate_register(parks, parcels, enterprises))
    # The committed GeoPackage is what the generator makes today (rebuild: python -m geo.sample).
    pd.testing.assert_frame_equal(parcels.drop(columns="geometry"), sample_parcels.drop(columns="geometry"))
    assert shapely.equals_exact(parcels.geometry.values, sample_parcels.geometry.values, tolerance=1e-9).all()
    assert list(parks.park_id) == list(sample_parks.park_id)


def test_another_seed_gives_other_data():
    _, a = generate(n_parcels=500, seed=1)
    _, b = generate(n_parcels=500, seed=2)
    assert len(a) == len(b) == 500
    assert not a.status.equals(b.status)


def test_eleven_parks_in_groups_3_4_4(sample_parks):
    assert len(sample_parks) == 11
    assert sample_parks.group.value_counts().to_dict() == {"platform": 3, "east": 4, "west": 4}
    assert sample_parks.park_id.is_unique


def test_parcels_are_realistic(sample_parcels):
    m = with_metrics(sample_parcels)
    assert len(m) == 10_000 and m.parcel_id.is_unique
    assert list(sample_parcels.columns) == [*PARCEL_COLUMNS, "geometry"]
    assert m.area_mu.between(5, 300).all()
    shares = m.status.value_counts(normalize=True)
    assert 0.4 < shares["occupied"] < 0.65 and 0.1 < shares["available"] < 0.25
    enterprises = m.loc[m.status == "occupied"]
    assert 120 < enterprises.output_wan.sum() / enterprises.area_mu.sum() < 190  # ≈ 153 万元/亩 baseline
    assert shapely.is_valid(sample_parcels.geometry.values).all()


def test_industries_follow_each_parks_chains(sample_parcels, sample_parks):
    chains = sample_parks.set_index("park_id").leading_chains.str.split(";")
    has_chain = sample_parcels.dropna(subset=["chain"])
    allowed = has_chain.apply(lambda row: row.chain in chains[row.park_id], axis=1)  # 11-park lookup
    assert allowed.all()


def test_parcels_lie_in_their_parks_district(sample_parcels, sample_parks):
    districts = load_districts().to_crs(sample_parcels.crs).set_index("district_code").geometry
    district_of = sample_parcels.park_id.map(sample_parks.set_index("park_id").district_code)
    inside = shapely.within(shapely.centroid(sample_parcels.geometry.values), districts.loc[district_of].values)
    assert inside.mean() > 0.99


def test_parks_do_not_overlap_each_other(sample_parks):
    # Neighbouring parks may share an edge; any overlap beyond float noise (1 m²) is a layout bug.
    geoms = sample_parks.to_crs("EPSG:32649").geometry.values
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left != right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert (overlap < 1.0).all()


def test_dataset_says_it_is_synthetic(sample_store):
    info = sample_store.dataset_info()
    assert info["synthetic"] == "true" and "SYNTHETIC" in info["note"]
    assert isinstance(sample_store.read_districts(), gpd.GeoDataFrame) and len(sample_store.read_districts()) == 8


def test_sample_is_read_with_its_stored_metrics_and_leaves_no_files(sample_store):
    from geo.evaluation import parcels_with_metrics
    from geo.sample import SAMPLE_GPKG
    from geo.store import metrics

    assert metrics.current(sample_store)  # read, never computed, by the app on the default data
    assert len(parcels_with_metrics(sample_store)) == 10_000
    assert SAMPLE_GPKG.read_bytes()[18:20] == b"\x01\x01"  # a rollback journal: no -wal/-shm next to it
    assert not SAMPLE_GPKG.with_name(SAMPLE_GPKG.name + "-wal").exists()


def test_generator_scales_for_benchmarks():
    _, parcels = generate(n_parcels=30_000, seed=7)
    assert len(parcels) == 30_000 and parcels.parcel_id.is_unique
    assert np.isfinite(shapely.area(parcels.geometry.values)).all()


def test_sample_chains_have_leaders_classes_gaps_and_prospects(sample_store):
    from geo.chain import ChainMap, read_leaders, read_placements
    from geo.enterprise import read_enterprises
    from geo.prospect import read_prospects
    from geo.sample import SAMPLE_DISTANT_NODES, SAMPLE_MISSING_NODES

    enterprises = read_enterprises(sample_store)
    parcels = sample_store.read_parcels().set_index("parcel_id")
    # Each enterprise's class lies in its largest parcel's division; the chains with finer trees get 3–4 digits.
    first = enterprises.parcel_ids.str.split(";").str[0]
    division = parcels.industry_code.reindex(first).to_numpy()
    assert (enterprises.industry_code.str[:2].to_numpy() == division).all()
    nev = enterprises[enterprises.chain == "nev"]
    assert nev.industry_code.str.len().min() == 4 and nev.industry_code.nunique() >= 5
    # A leader for every chain of the city that has enterprises; placements on nodes of the tree.
    leaders = read_leaders(sample_store)
    city_chains = {c.chain for c in sample_store.read_city().chains}
    assert set(leaders.chain) == city_chains & set(enterprises.chain.dropna())
    assert set(read_placements(sample_store).uscc) <= set(nev.uscc)
    # Out of the box, each leading chain shows the gap the generator leaves, and prospects for it.
    chain_map = ChainMap.of_store(sample_store)
    gaps = set(chain_map.gaps(thin=False).node_id)
    assert set(SAMPLE_MISSING_NODES) <= gaps
    for chain in ("nev", "energy_storage", "electronics"):
        status = chain_map.status(chain)
        assert (status.enterprise_count[status.parent != ""] > 0).sum() >= 3  # most nodes are placed
    # A gap relative to the leader: the city has the node's enterprises, none within the leader's 5 km.
    for node in SAMPLE_DISTANT_NODES:
        chain = node.split(".")[0]
        near = chain_map.status(chain).set_index("node_id").loc[node]
        assert near.gap and near.nearest_km > 5.0
        assert chain_map.status(chain, radius_km=20.0).set_index("node_id").at[node, "enterprise_count"] > 0
        assert (chain_map.placed.node_id == node).sum() > 0
    prospects = read_prospects(sample_store)
    assert set(SAMPLE_MISSING_NODES) | set(SAMPLE_DISTANT_NODES) <= set(prospects.node_id)
    assert prospects.name.str.contains("示例").all()
