"""Parcel metrics stored with the parcels (geo.store.metrics), on both stores.

After every write path — parcel import (changed geometry, new and deleted parcels), attribute
edit, status change, reservation and release, park edit, project stage change, enterprise
figure import, stored evaluation, restore — the stored metrics are current (a read uses them
without recomputing) and equal to a fresh recomputation from the geometries and tables. A
store without stored metrics gets them on its first read, without changing its revision; a
failed write leaves them as they were.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.auth import User
from geo.enterprise import import_enterprises, read_enterprises, read_figures
from geo.errors import ConflictError
from geo.evaluation import evaluate, metrics_from_frames, parcels_with_metrics, read_grades, save_evaluation
from geo.store import metrics as stored
from geo.testing import copy_sample_store

ADMIN = User("alice", "admin")
PLANNER = User("pat", "planner")


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    from geo.store import open_store

    if request.param == "gpkg":
        return open_store(copy_sample_store(tmp_path))
    return open_store(request.getfixturevalue("postgis_url"))


def fresh(store) -> pd.DataFrame:
    """The metrics recomputed from scratch: areas from the geometries, grades evaluated."""
    return metrics_from_frames(store.read_parcels(), read_enterprises(store), read_figures(store), read_grades(store),
                               store.read_parks())


def assert_stored_equal_fresh(store, step: str) -> None:
    assert stored.current(store), f"stored metrics outdated after {step}"
    kept = stored.read_parcels_with_metrics(store)
    assert kept is not None
    pd.testing.assert_frame_equal(kept, fresh(store), rtol=1e-9, obj=f"metrics after {step}")


def test_every_write_path_leaves_stored_metrics_equal_to_a_recomputation(store, tmp_path):
    revision = store.revision()
    first = parcels_with_metrics(store)  # the first read stores them (the migration of an older store)
    assert store.revision() == revision, "storing the metrics is no change of the store's data"
    assert_stored_equal_fresh(store, "the first read")
    pd.testing.assert_frame_equal(first, fresh(store), rtol=1e-9)

    parcels = store.read_parcels()
    enterprises = read_enterprises(store)
    owned = enterprises.parcel_ids.str.split(";").str[0]
    occupied = parcels[parcels.parcel_id.isin(owned) & (parcels.status == "occupied")].iloc[0]

    store.update_attributes(occupied.parcel_id, {"floor_area_m2": 12345.0, "investment_wan": 999.0}, user=PLANNER)
    assert_stored_equal_fresh(store, "an attribute edit")

    available = sorted(parcels.loc[parcels.status == "available", "parcel_id"])
    store.reserve(available[:2], project="电池厂", user=PLANNER)
    assert_stored_equal_fresh(store, "a reservation")
    store.release(available[:1], user=PLANNER)
    assert_stored_equal_fresh(store, "a release")
    store.set_status([occupied.parcel_id], "inefficient", user=PLANNER)
    assert_stored_equal_fresh(store, "a status change")

    park = store.read_parks().iloc[0]
    store.update_park(park.park_id, {"district_code": "441299"}, user=ADMIN)
    assert_stored_equal_fresh(store, "a park edit (its county)")

    project = store.add_project({"name": "储能电池项目", "investor": "示例储能科技", "industry_code": "38",
                                 "land_mu": 60, "investment_wan": 30000, "output_wan": 45000, "tax_wan": 1500,
                                 "plot_ratio": 1.2, "building_coefficient": 0.45, "signed_on": "2024-01-10",
                                 "contract_start": "2024-06-01", "contract_completion": "2025-06-01",
                                 "parcel_ids": available[2:4]}, user=PLANNER)
    assert_stored_equal_fresh(store, "a project entered")
    store.set_stage(project["project_id"], "land_supplied", on="2024-03-01", user=PLANNER)
    assert_stored_equal_fresh(store, "a project stage change")

    # An import: one parcel's geometry grows, one parcel is new, the others of its park are deleted.
    mine = store.read_parcels().query("park_id == @occupied.park_id").head(3).copy()
    mine.geometry = [shapely.affinity.scale(mine.geometry.iloc[0], 1.5, 1.5), *mine.geometry.iloc[1:]]
    mine.iloc[2, mine.columns.get_loc("parcel_id")] = "NEW-1"
    store.import_features("parcels", mine, user=ADMIN, mode="replace")
    assert_stored_equal_fresh(store, "a parcel import")
    assert "NEW-1" in set(stored.read_metrics(store).parcel_id)

    figures = read_figures(store)
    year = int(figures.year.max())
    best = figures[figures.year == year].iloc[:5].copy()
    best["tax_wan"] = best.tax_wan * 50
    import_enterprises(store, enterprises[enterprises.uscc.isin(best.uscc)], best, user=ADMIN)
    assert_stored_equal_fresh(store, "an enterprise figure import")

    save_evaluation(store, evaluate(store), user=PLANNER)
    assert_stored_equal_fresh(store, "a stored evaluation")

    before = stored.read_metrics(store)
    with pytest.raises(ConflictError):
        store.update_attributes(mine.parcel_id.iloc[0], {"tax_wan": 1.0}, user=PLANNER, expected_version=-1)
    pd.testing.assert_frame_equal(stored.read_metrics(store), before)
    assert_stored_equal_fresh(store, "a refused edit")


def test_restore_and_outdated_metrics_are_recomputed_once(store, tmp_path):
    parcels_with_metrics(store)
    backup = tmp_path / ("backup.gpkg" if hasattr(store, "path") else "backup.dump")
    store.backup(str(backup))
    pid = store.read_parcels().parcel_id.iloc[0]
    store.update_attributes(pid, {"output_wan": 77777.0}, user=PLANNER)
    store.restore(str(backup), user=ADMIN)
    assert_stored_equal_fresh(store, "a restore")
    # Metrics of another version (an older ParkAtlas) are outdated: the next read stores them anew.
    store._transaction(lambda cur: cur.execute(store._sql("UPDATE parcel_metrics_state SET metrics_version = ?"),
                                               (stored.METRICS_VERSION - 1,)), metrics=stored.SKIP)
    assert not stored.current(store)
    parcels_with_metrics(store)
    assert_stored_equal_fresh(store, "a metrics version change")


def test_writes_to_vacant_land_rewrite_only_their_rows(tmp_path, monkeypatch):
    from geo.store.gpkg import GpkgStore

    store = GpkgStore(copy_sample_store(tmp_path))
    parcels = parcels_with_metrics(store)
    listed = {p.strip() for ids in read_enterprises(store).parcel_ids.dropna() for p in ids.split(";")}
    free = sorted(parcels.loc[(parcels.status == "available") & ~parcels.parcel_id.isin(listed), "parcel_id"])[:2]
    monkeypatch.setattr(stored, "refresh", lambda *args, **kwargs: pytest.fail("every metric recomputed"))
    store.reserve(free, project="电池厂", user=PLANNER)
    store.update_attributes(free[0], {"investment_wan": 5.0, "floor_area_m2": 800.0}, user=PLANNER)
    monkeypatch.undo()
    assert_stored_equal_fresh(store, "writes to vacant land")


PROJECT = {"name": "显示模组项目", "investor": "示例电子", "industry_code": "39", "chain": "electronics",
           "land_mu_min": 80, "land_mu_max": 120, "investment_wan": 30000, "output_wan": 50000, "tax_wan": 1500,
           "plot_ratio": 1.2, "building_coefficient": 0.45, "needs": {"power_kva": 4000, "gas": True}}


def test_a_match_in_the_store_reads_only_what_it_uses_with_the_same_results(store, monkeypatch):
    """``match_store`` (``cli.py match``) reads the parcels' attributes with their stored metrics and the
    geometries of the land in question, never the whole layer, and gives exactly what a match over
    every parcel read with its metrics gives: parcels, blocks, a park, another language."""
    from geo.matching import match, match_store

    whole, parks = parcels_with_metrics(store), store.read_parks()
    requests = [(PROJECT, {}), ({**PROJECT, "land_mu_min": 400, "land_mu_max": 500, "investment_wan": 200000,
                                "output_wan": 300000, "tax_wan": 9000}, {"include_disposal": True, "top": 15}),
                ({**PROJECT, "chain": "nev"}, {"park_id": "zq_hitech", "with_blocks": False, "top": 3})]
    expected = [match(whole, parks, project, **kwargs) for project, kwargs in requests]
    asked = []
    read_geometries = store.read_parcel_geometries
    monkeypatch.setattr(store, "read_parcel_geometries", lambda ids: asked.append(len(ids)) or read_geometries(ids))
    monkeypatch.setattr(store, "read_parcels", lambda *a, **k: pytest.fail("the whole layer was read"))
    for (project, kwargs), full in zip(requests, expected):
        fast = match_store(store, project, **kwargs)
        assert len(fast.candidates) > 0
        for lang in ("zh", "en"):
            assert fast.to_json(lang) == full.to_json(lang)
        assert [g.wkb for g in fast.candidates.geometry] == [g.wkb for g in full.candidates.geometry]
    assert "block" in set(expected[1].candidates.kind)
    assert asked and sum(asked) < len(requests) * len(whole) / 2
    ids = [*whole.parcel_id.iloc[::7], "no-such-parcel"]  # the GeoPackage reads bounds from the blobs' headers
    geometries = read_geometries(ids)
    assert shapely.is_missing(geometries[-1]) and not shapely.is_missing(geometries[:-1]).any()
    assert shapely.equals_exact(geometries[:-1], whole.set_index("parcel_id").geometry[ids[:-1]].array, 0).all()
    bounds = store.read_parcel_bounds(ids)
    assert np.array_equal(bounds, shapely.bounds(geometries), equal_nan=True) and np.isnan(bounds[-1]).all()


def test_a_match_in_the_store_is_made_again_when_a_write_lands_during_it(store, monkeypatch):
    """A reservation committed between the match's read of the attributes and of the geometries: the
    result is the one on the data after the write, not a mix of both states."""
    from geo.matching import match, match_store

    parks = store.read_parks()
    best = match(parcels_with_metrics(store), parks, PROJECT, top=1).candidates.parcel_ids.iloc[0]
    read_geometries = store.read_parcel_geometries

    def reserve_then_read(ids):
        monkeypatch.setattr(store, "read_parcel_geometries", read_geometries)
        store.reserve(best, project="电池厂", user=PLANNER)
        return read_geometries(ids)

    monkeypatch.setattr(store, "read_parcel_geometries", reserve_then_read)
    during = match_store(store, PROJECT)
    after = match(parcels_with_metrics(store), parks, PROJECT)
    assert best not in [pid for ids in during.candidates.parcel_ids for pid in ids]
    assert during.to_json() == after.to_json()
