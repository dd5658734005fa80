"""GCJ-02/BD-09 control points and CRS guessing from coordinates."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.errors import ParkAtlasError
from geo.io import datum
from geo.io.crs_guess import Region, check_region, guess_crs, parse_crs_option, resolve_crs
from geo.sample import sample_city

#: The bundled sample's region (its city's extent).
ZHAOQING = sample_city().region()


def test_gcj02_matches_the_published_control_point():
    # WGS84 (121.5272106, 31.1774276) → GCJ-02 (121.531541859215, 31.17530398364597): the test vector
    # of the widely used open implementations of the published algorithm.
    lon, lat = datum.wgs84_to_gcj02(121.5272106, 31.1774276)
    assert (float(lon), float(lat)) == pytest.approx((121.531541859215, 31.17530398364597), abs=1e-9)


def test_gcj02_and_bd09_round_trip_within_a_centimetre_in_zhaoqing():
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(111.3, 112.9, 1000), rng.uniform(22.7, 24.4, 1000)
    back = datum.gcj02_to_wgs84(*datum.wgs84_to_gcj02(lon, lat))
    assert np.abs(back[0] - lon).max() < 1e-7 and np.abs(back[1] - lat).max() < 1e-7
    back = datum.bd09_to_wgs84(*datum.wgs84_to_bd09(lon, lat))
    assert np.abs(back[0] - lon).max() < 1e-7 and np.abs(back[1] - lat).max() < 1e-7


def test_offsets_have_the_known_size_and_stop_outside_china():
    glon, glat = datum.wgs84_to_gcj02(112.47, 23.05)  # Zhaoqing: a few hundred metres
    metres = np.hypot((glon - 112.47) * 102_000, (glat - 23.05) * 110_800)
    assert 200 < metres < 800
    blon, blat = datum.gcj02_to_bd09(glon, glat)
    assert blon - glon == pytest.approx(0.0065, abs=0.0015) and blat - glat == pytest.approx(0.006, abs=0.0015)
    assert datum.wgs84_to_gcj02(24.94, 60.17) == (24.94, 60.17)  # Helsinki: unchanged


@pytest.mark.parametrize("text", ["+proj=longlat +init=/etc/passwd", "/etc/passwd", "http://x/crs", "EPSG:abc", "4547; x"])
def test_crs_option_accepts_only_epsg_codes(text):
    with pytest.raises(ParkAtlasError):
        parse_crs_option(text)


def test_crs_option_normalises_epsg_codes():
    assert parse_crs_option("epsg:4547") == parse_crs_option("4547") == "EPSG:4547"
    with pytest.raises(ParkAtlasError, match="not a known"):
        parse_crs_option("EPSG:999999")


def _square(x, y, size=100.0):
    return np.array([shapely.box(x, y, x + size, y + size)])


@pytest.mark.parametrize("x, y, epsg", [
    (37_560_000, 2_560_000, "EPSG:4525"),  # zone 37 prefix (CM 111°E)
    (38_380_000, 2_581_000, "EPSG:4526"),  # zone 38 prefix (CM 114°E)
    (380_000, 2_581_000, "EPSG:4547"),  # High-tech Zone, east of 112°30′
    (560_000, 2_560_000, "EPSG:4546"),  # western counties
])
def test_gauss_kruger_zone_from_eastings(x, y, epsg):
    _, decision = guess_crs(_square(x, y), ZHAOQING)
    assert decision.crs == epsg and decision.method == "guessed" and decision.reasons


def test_northings_in_x_are_swapped():
    geoms, decision = guess_crs(_square(2_581_000, 380_000), ZHAOQING)
    assert decision.swapped_axes and decision.crs == "EPSG:4547"
    assert shapely.bounds(geoms)[0][0] == 380_000


def test_unknown_coordinates_ask_for_a_crs():
    with pytest.raises(ParkAtlasError, match="--crs"):
        guess_crs(_square(5_000, 5_000), ZHAOQING)


def test_declared_lonlat_with_swapped_axes_is_swapped_back():
    geoms, decision = resolve_crs(np.array([shapely.box(23.0, 112.5, 23.01, 112.51)]), declared=None,
                                  file_crs="EPSG:4326", needs_declared=False, region=ZHAOQING)
    assert decision.swapped_axes
    assert shapely.bounds(geoms)[0][0] == pytest.approx(112.5)


def test_region_is_configurable(monkeypatch):
    monkeypatch.setenv("PARKATLAS_REGION_BBOX", "116,39,117,40")
    monkeypatch.setenv("PARKATLAS_REGION_NAME", "Beijing")
    region = Region.from_env()
    beijing = np.array([shapely.box(116.39, 39.9, 116.4, 39.91)])
    assert check_region(beijing, region, False)["features_outside"] == 0
    with pytest.raises(ParkAtlasError, match="outside Zhaoqing"):
        check_region(beijing, ZHAOQING, False)


@pytest.mark.parametrize("text", ["+init=/etc/passwd:x", "+proj=longlat +datum=WGS84",
                                  'GEOGCS["x",EXTENSION["PROJ4","+init=/etc/passwd:x"]]', "/etc/passwd"])
def test_a_files_crs_text_that_could_read_files_never_reaches_proj(text):
    with pytest.raises(ParkAtlasError, match="unsupported form"):
        resolve_crs(_square(112.8, 23.3, 0.01), declared=None, file_crs=text, needs_declared=False, region=ZHAOQING)


def test_a_files_wkt_and_projjson_are_understood():
    from pyproj import CRS

    for text in (CRS("EPSG:4547").to_wkt(), CRS("EPSG:4547").to_json()):
        _, decision = resolve_crs(_square(380_000, 2_581_000), declared=None, file_crs=text,
                                  needs_declared=False, region=ZHAOQING)
        assert decision.crs == "EPSG:4547" and decision.method == "from file"
