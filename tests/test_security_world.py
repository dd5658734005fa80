"""Issue 21 item 2: parcels from several continents, accepted with --allow-outside-region, have an
area, and no stored row makes a read command fail (GeoPackage and PostGIS)."""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.crs import CGCS2000, metric_crs_codes, projected_area_m2

#: A 100 m × 100 m square (1 ha = 15 亩) around each place: lon, lat, expected metric CRS.
PLACES = {
    "EU-BERLIN": (13.40, 52.52, "EPSG:32633"),
    "SA-SAOPAULO": (-46.63, -23.55, "EPSG:32723"),
    "AF-NAIROBI": (36.82, -1.29, "EPSG:32737"),
    "NA-ANCHORAGE": (-149.90, 61.22, "EPSG:32606"),
    "DATELINE-FIJI": (179.99, -17.0, "EPSG:32760"),
    "ANTARCTICA": (20.0, -85.5, "+proj=laea +lat_0=-90"),
    "CN-ZHAOQING": (112.47, 23.05, "EPSG:4546"),
}


def _squares() -> gpd.GeoDataFrame:
    """Squares of 100 m built in each place's own metric CRS, then stored as CGCS2000 lon/lat."""
    rows = []
    for pid, (lon, lat, _) in PLACES.items():
        code = metric_crs_codes(lon, lat)[0]
        centre = gpd.GeoSeries([shapely.Point(lon, lat)], crs=CGCS2000).to_crs(code).iloc[0]
        square = shapely.box(centre.x - 50, centre.y - 50, centre.x + 50, centre.y + 50)
        rows.append({"parcel_id": pid, "status": "available", "land_use_code": "100101",
                     "geometry": gpd.GeoSeries([square], crs=code).to_crs(CGCS2000).iloc[0]})
    return gpd.GeoDataFrame(rows, crs=CGCS2000)


def test_every_position_has_a_metric_crs_and_a_true_area():
    codes = metric_crs_codes([p[0] for p in PLACES.values()], [p[1] for p in PLACES.values()])
    for code, (_, _, expected) in zip(codes, PLACES.values()):
        assert code.startswith(expected), (code, expected)
    area = projected_area_m2(_squares().geometry)
    assert np.allclose(area, 10_000, rtol=0.001), area


@pytest.fixture(params=["gpkg", "postgis"])
def store_url(request, store_path):
    return str(store_path) if request.param == "gpkg" else request.getfixturevalue("postgis_url")


def test_an_import_from_several_continents_keeps_every_read_command_working(store_url, tmp_path, capsys,
                                                                          monkeypatch):
    from commands import build_parser, run

    source = tmp_path / "world.geojson"
    _squares().to_file(source, driver="GeoJSON")
    monkeypatch.setenv("PARKATLAS_USERS", str(tmp_path / "none.json"))

    def cli(*argv):
        capsys.readouterr()
        code = run(build_parser(), ["--store", store_url, *argv])
        out, err = capsys.readouterr()
        assert code == 0, (argv, err)
        return out

    report = json.loads(cli("import", str(source), "--park", "dz_park", "--allow-outside-region", "--user", "admin",
                            "--format", "json"))
    assert "EPSG:32633" in report["geometry"]["area_crs"] and "EPSG:4546" in report["geometry"]["area_crs"]

    parcels = json.loads(cli("parcels", "--park", "dz_park"))
    areas = {p["parcel_id"]: p["area_m2"] for p in parcels if p["parcel_id"] in PLACES}
    assert set(areas) == set(PLACES)
    assert all(abs(a - 10_000) < 10 for a in areas.values()), areas

    for argv in ([["parks"], ["parcels"], ["available"], ["idle"], ["info"], ["check"], ["history", "EU-BERLIN"],
                  ["as-of", "--park", "dz_park", "--date", "2099-01-01"],
                  ["export", "data", "--park", "dz_park", "--out", str(tmp_path / "world.gpkg")],
                  ["export", "map", "--park", "dz_park", "--out", str(tmp_path / "world.html")]]):
        cli(*argv)
