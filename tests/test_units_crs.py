"""Units and CRS: areas in a projected CRS agree with geodesic areas; zone EPSG codes are right."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Geod

from geo.crs import CGCS2000, gk3_central_meridian, gk3_epsg, projected_area_m2, projected_crs_for, reproject
from geo.testing import make_parcels
from geo.units import M2_PER_MU, m2_to_ha, m2_to_mu, mu_to_m2


def test_mu_is_ten_thousand_fifteenths_of_a_square_metre():
    assert M2_PER_MU == pytest.approx(666.6667, abs=1e-4)
    assert m2_to_mu(10_000.0) == pytest.approx(15.0)
    assert mu_to_m2(15.0) == pytest.approx(10_000.0)
    assert m2_to_ha(10_000.0) == 1.0


@pytest.mark.parametrize(("cm", "prefixed", "epsg"), [(111, False, 4546), (114, False, 4547),
                                                       (111, True, 4525), (114, True, 4526)])
def test_gauss_kruger_zone_codes(cm, prefixed, epsg):
    assert gk3_epsg(cm, zone_prefixed=prefixed) == epsg
    crs = CRS.from_epsg(epsg)
    assert f"CM {cm}E" in crs.name or f"zone {cm // 3}" in crs.name
    assert "CGCS2000" in crs.name


def test_gauss_kruger_rejects_a_non_zone_meridian():
    with pytest.raises(ValueError, match="central meridian"):
        gk3_epsg(112)


def test_central_meridian_of_zhaoqing_longitudes():
    # Zhaoqing straddles 112°30'E: the High-tech Zone is in the 114°E zone, the west in 111°E.
    assert list(gk3_central_meridian([111.6, 112.4, 112.6, 112.83])) == [111, 111, 114, 114]


def test_a_100_m_square_is_15_mu():
    parcels = make_parcels([(0, 0, 100, 100)])
    assert projected_area_m2(parcels.geometry)[0] == pytest.approx(10_000.0, rel=1e-9)
    assert m2_to_mu(projected_area_m2(parcels.geometry)[0]) == pytest.approx(15.0, rel=1e-9)


def _geodesic_area(geoms: gpd.GeoSeries) -> np.ndarray:
    geod = Geod(ellps="GRS80")  # the CGCS2000 ellipsoid
    return np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in geoms.to_crs(CGCS2000)])


@pytest.mark.parametrize("lon", [111.62, 112.2, 112.49, 112.51, 112.83])
def test_projected_area_within_0_1_percent_of_geodesic(lon):
    # A 300-亩 parcel (≈ 450 m square) at several longitudes, incl. both sides of 112.5°E.
    side = 0.0045
    geom = shapely.box(lon, 23.3, lon + side, 23.3 + side)
    series = gpd.GeoSeries([geom], crs=CGCS2000)
    geodesic = _geodesic_area(series)[0]
    assert projected_area_m2(series)[0] == pytest.approx(geodesic, rel=1e-3)
    # UTM 49N (CM 111°E) agrees too within the same tolerance over Zhaoqing.
    assert series.to_crs("EPSG:32649").area.iloc[0] == pytest.approx(geodesic, rel=1e-3)


def test_sample_areas_agree_with_geodesic(sample_parcels):
    subset = sample_parcels.geometry.iloc[::250]
    np.testing.assert_allclose(projected_area_m2(subset), _geodesic_area(subset), rtol=1e-3)


def test_projected_crs_for_a_frame_picks_its_zone():
    west = gpd.GeoDataFrame(geometry=[shapely.box(111.6, 23.5, 111.7, 23.6)], crs=CGCS2000)
    east = gpd.GeoDataFrame(geometry=[shapely.box(112.8, 23.3, 112.9, 23.4)], crs=CGCS2000)
    assert projected_crs_for(west) == "EPSG:4546"
    assert projected_crs_for(east) == "EPSG:4547"


def test_reproject_gives_exactly_what_to_crs_gives(sample_parcels):
    geoms = sample_parcels.geometry.iloc[:500]
    there = reproject(geoms.values, geoms.crs, "EPSG:4547")
    assert shapely.equals_exact(there, np.asarray(geoms.to_crs("EPSG:4547").values), 0).all()
    back = reproject(there, "EPSG:4547", geoms.crs)
    assert shapely.equals_exact(back, np.asarray(gpd.GeoSeries(there, crs="EPSG:4547").to_crs(geoms.crs).values), 0).all()
    assert len(reproject(np.array([], dtype=object), CGCS2000, "EPSG:4547")) == 0
