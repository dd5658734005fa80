"""A command measures its parcels' areas once (issue 20): same geometries reuse the areas, others never do."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

import geo.crs
from geo.crs import projected_area_m2


@pytest.fixture()
def projections(monkeypatch):
    """Count the projections projected_area_m2 really does; starts without a remembered result."""
    calls = []
    real = geo.crs.project_by_zone

    def counting(geoms):
        calls.append(len(geoms))
        return real(geoms)

    monkeypatch.setattr(geo.crs, "project_by_zone", counting)
    monkeypatch.setattr(geo.crs, "_last_areas", None)
    return calls


def test_same_geometries_are_projected_once_and_anything_else_afresh(sample_store, projections):
    parcels = sample_store.read_parcels().iloc[:200]
    first = projected_area_m2(parcels.geometry)
    first[:] = -1.0  # a caller changing its copy does not change what is remembered
    again = projected_area_m2(sample_store.read_parcels().iloc[:200].geometry)  # a new read, same shapes
    assert projections == [200]
    assert (again > 0).all()

    moved = parcels.geometry.copy()
    moved.iloc[3] = shapely.affinity.scale(moved.iloc[3], 2.0, 2.0)  # one parcel twice as wide and high
    grown = projected_area_m2(moved)
    assert projections == [200, 200]
    assert grown[3] == pytest.approx(4 * again[3], rel=1e-3)
    assert np.array_equal(np.delete(grown, 3), np.delete(again, 3))

    web = parcels.geometry.to_crs(3857)  # other coordinates and CRS, same land: measured again, same areas
    assert projected_area_m2(web) == pytest.approx(again, rel=1e-6)
    assert projections == [200, 200, 200]


def test_a_missing_shape_is_not_mistaken_for_another_frame(sample_store, projections):
    shapes = sample_store.read_parcels().iloc[:3].geometry.reset_index(drop=True)
    with_gap = shapes.copy()
    with_gap.iloc[1] = None
    assert np.isnan(projected_area_m2(with_gap)[1]) or projected_area_m2(with_gap)[1] == 0
    assert projected_area_m2(shapes)[1] > 0
    assert len(projections) == 2


def test_parcels_with_metrics_projects_the_parcels_once(store_path, projections):
    from geo.enterprise import latest_year, read_enterprises, read_figures
    from geo.evaluation import parcels_with_metrics
    from geo.store import open_store

    store = open_store(str(store_path))
    assert len(read_enterprises(store))  # the sample's enterprises: figures, evaluation and metrics all need areas
    parcels_with_metrics(store)
    assert projections == []  # the latest year's metrics are stored with the sample's parcels: nothing projected
    frame = parcels_with_metrics(store, year=latest_year(read_figures(store)))  # a year asked for: computed
    assert len(projections) == 1
    assert frame.area_mu.notna().all() and (frame.area_mu > 0).all()
