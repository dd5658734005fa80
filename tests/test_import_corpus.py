"""Every case of the import corpus (tests/data/make_corpus.py) gives its documented outcome."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.errors import ParkAtlasError
from geo.io import ImportResult, read_upload

XSS_PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "`backtick`",
                "${document.title=1}", "</script><b>bold</b>"]
NAMES = ["肇庆新能源汽车零部件有限公司", "广东储能材料科技股份公司", "电子信息产业园管理中心"]


@pytest.fixture(scope="module")
def read(import_corpus, sample_parks):
    """read_upload of a corpus file; each (file, options) is parsed once per module (a subprocess each)."""
    done: dict = {}

    def _read(name: str, **kwargs) -> ImportResult:
        key = (name, tuple(sorted((k, str(v)) for k, v in kwargs.items())))
        if key not in done:
            done[key] = read_upload(import_corpus[name].read_bytes(), name, parks=sample_parks, **kwargs)
        return done[key]
    return _read


def _coords(frame) -> np.ndarray:
    """Vertices in a canonical order (ring orientation differs between formats)."""
    return shapely.get_coordinates(shapely.normalize(frame.sort_values("parcel_id").geometry.values))


def _refused(read, name, fragment, **kwargs):
    with pytest.raises(ParkAtlasError) as info:
        read(name, **kwargs)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    return str(info.value)


# --- formats -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, driver", [
    ("parcels.gpkg", "GPKG"), ("parcels.geojson", "GeoJSON"), ("parcels.fgb", "FlatGeobuf"),
    ("parcels.kml", None), ("parcels.kmz", None), ("parcels.parquet", "GeoParquet (pyarrow)"),
    ("utf8_with_cpg.zip", "ESRI Shapefile"), ("nested_folder_shp.zip", "ESRI Shapefile"),
    ("parcels_wkt.csv", "CSV (pandas)"), ("parcels_lonlat_points.csv", "CSV (pandas)"),
    ("parcels_lonlat.xlsx", "XLSX (openpyxl)"),
])
def test_every_format_gives_the_same_three_parcels(read, name, driver):
    result = read(name)
    assert result.accepted, result.blocking
    assert driver is None and result.report["driver"] in ("LIBKML", "KML") or result.report["driver"] == driver
    frame = result.frame.sort_values("parcel_id")
    assert frame.crs == "EPSG:4490"
    assert frame.parcel_id.tolist() == ["ZQ-001", "ZQ-002", "ZQ-003"]
    assert frame.park_id.tolist() == ["zq_hitech"] * 3
    if "lonlat" in name:  # boundary-point tables: id, status and park repeated on every vertex row
        assert frame.status.tolist() == ["available"] * 3
    else:
        assert frame.enterprise.tolist() == NAMES
        assert frame.land_use_code.tolist() == ["100101", "100102", "100103"]  # M2 recoded
        assert frame.status.tolist() == ["occupied", "available", "available"]  # 已投产/可供地 recoded
    # 100 m × 100 m squares, whatever the format and CRS they came in
    assert np.allclose(result.report["geometry"]["total_area_m2"], 30_000, rtol=1e-3)


def test_a_zip_may_hold_one_file_of_another_format(read):
    result = read("gpkg_in_zip.zip")
    assert result.report["member"] == "parcels.gpkg" and result.report["driver"] == "GPKG"
    assert len(result.frame) == 3


def test_parks_import_keeps_multipolygons(read):
    result = read("parks.geojson", layer="parks")
    assert result.accepted
    park = result.frame.iloc[0]
    assert (park.park_id, park.name_zh, park.name_en, park.group, park.district_code) == \
        ("zq_new_park", "肇庆测试产业园", "Test Park", "east", "441204")
    assert park.geometry.geom_type == "MultiPolygon" and len(park.geometry.geoms) == 2
    assert result.report["geometry"]["total_area_m2"] == pytest.approx(500_000, rel=1e-3)


def test_a_park_outside_the_344_groups_is_blocked(import_corpus):
    import geopandas as gpd

    frame = gpd.read_file(import_corpus["parks.geojson"])
    frame["分组"] = "north"
    result = read_upload(frame.to_json(ensure_ascii=False).encode(), "parks.geojson", layer="parks")
    assert not result.accepted
    assert result.problems.kind.tolist() == ["unknown_group"] and "'north'" in result.problems.detail.iloc[0]


def test_dxf_needs_a_declared_crs_and_keeps_only_closed_polylines(read):
    _refused(read, "parcels.dxf", "DXF drawings carry no CRS")
    result = read("parcels.dxf", crs="EPSG:4547", default_status="available", park_id="zq_hitech")
    assert result.accepted
    assert len(result.frame) == 3
    assert result.report["crs"] == {**result.report["crs"], "source": "EPSG:4547", "method": "declared"}
    assert result.report["problem_counts"] == {"not_polygon": 1}  # the road line
    assert np.allclose(result.report["geometry"]["total_area_m2"], 30_000, rtol=1e-3)


def test_real_world_openstreetmap_extract_through_gdal_osm_driver(read):
    from importlib.resources import files

    data = (files("pyrosm") / "data" / "test.osm.pbf").read_bytes()
    with pytest.raises(ParkAtlasError, match="outside Zhaoqing"):
        read_upload(data, "test.osm.pbf")
    result = read_upload(data, "test.osm.pbf", allow_outside_region=True, default_status="available",
                         park_id="zq_hitech")
    report = result.report
    assert report["driver"] == "OSM" and report["layers_read"] == ["multipolygons"]
    assert report["features_read"] > 2000
    assert result.accepted
    assert set(shapely.get_type_id(result.frame.geometry.values)) == {3}  # polygons only
    assert result.frame.parcel_id.str.match(r"^[rw]\d+(-\d+)?$").all()
    assert result.frame.parcel_id.is_unique
    counts = report["problem_counts"]
    assert counts["overlap"] > 0 and counts["repaired"] > 0 and counts["empty_geometry"] == \
        report["unreadable_geometries"]
    # buildings inside landuse areas overlap: each reported pair carries a positive area
    assert (result.problems.query("kind == 'overlap'").area_m2 >= 1.0).all()


# --- encodings -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, encoding, method", [
    ("gbk_no_cpg.zip", "gbk", "no .cpg"),
    ("gbk_wrong_cpg.zip", "gbk", "the .cpg says UTF-8"),
    ("utf8_with_cpg.zip", "utf-8", "as the .cpg says"),
])
def test_shapefile_encoding_is_detected_and_stored_as_unicode(read, name, encoding, method):
    result = read(name)
    assert result.report["encoding"]["encoding"] == encoding
    assert method in result.report["encoding"]["method"]
    assert sorted(result.frame.enterprise) == sorted(NAMES)
    assert not result.frame.enterprise.str.contains("\ufffd").any()
    assert set(result.report["attributes"]["mapped"]) >= {"parcel_id", "enterprise", "status", "land_use_code"}


def test_gbk_csv_is_decoded_as_gb18030(read):
    result = read("parcels_wkt_gbk.csv")
    assert result.report["encoding"]["encoding"] == "gb18030"
    assert sorted(result.frame.enterprise) == sorted(NAMES)


def test_text_with_replacement_characters_is_refused(read):
    _refused(read, "replacement_chars.geojson", "U+FFFD")


# --- CRS and datums ----------------------------------------------------------------------------------
def test_zone_prefixed_gauss_kruger_eastings_without_prj(read):
    result = read("gk_zone_prefixed_no_prj.zip")
    assert result.report["crs"]["source"] == "EPSG:4526"
    assert "zone number 38" in result.report["crs"]["reasons"][0]
    assert np.allclose(_coords(result.frame), _coords(read("parcels.gpkg").frame), atol=1e-7)


def test_plain_gauss_kruger_eastings_pick_the_zone_inside_the_region(read, sample_parks):
    east = read("gk_plain_no_prj.zip")
    assert east.report["crs"]["source"] == "EPSG:4547"
    west = read("gk_plain_west.csv", park_id=sample_parks.query("group == 'west'").park_id.iloc[0])
    assert west.report["crs"]["source"] == "EPSG:4546"
    assert "CM 111°E 100%" in west.report["crs"]["reasons"][0]
    assert west.accepted


def test_swapped_lat_lon_is_detected_and_swapped(read):
    result = read("swapped_latlon.geojson")
    assert result.report["crs"]["swapped_axes"] is True
    assert np.allclose(_coords(result.frame), _coords(read("parcels.geojson").frame), atol=1e-7)


def test_declared_gcj02_is_converted_back_to_wgs84(read):
    reference = _coords(read("parcels.geojson").frame)
    converted = read("gcj02.geojson", source_datum="gcj02")
    assert converted.report["datum"]["converted_from"] == "gcj02"
    # undeclared, the GCJ-02 offset (hundreds of metres) stays in the data ...
    assert np.abs(_coords(read("gcj02.geojson").frame) - reference).max() > 1e-3
    # ... declared, it is removed to well below a metre (1e-6° ≈ 0.1 m)
    assert np.abs(_coords(converted.frame) - reference).max() < 1e-6


def test_bd09_boundary_point_table_becomes_polygons_in_wgs84(read):
    result = read("bd09_boundary_points.csv", source_datum="bd09")
    assert result.report["attributes"]["geometry_from"].startswith("boundary points")
    reference = read("parcels.geojson").frame.sort_values("parcel_id").head(2)
    assert result.frame.parcel_id.tolist() == ["BD-1", "BD-2"]
    assert np.abs(_coords(result.frame) - _coords(reference)).max() < 1e-6


def test_data_outside_the_region_need_confirmation(read):
    _refused(read, "outside_region.geojson", "--allow-outside-region")
    result = read("outside_region.geojson", allow_outside_region=True)
    assert result.report["region"]["features_outside"] == 1


# --- geometry ---------------------------------------------------------------------------------------
def test_bow_tie_self_touching_ring_and_spike_are_repaired_and_reported(read):
    result = read("invalid_geometries.gpkg")
    repaired = result.problems.query("kind == 'repaired'").set_index("parcel_id")
    assert set(repaired.index) == {"BOWTIE", "SELFTOUCH", "SPIKE"}
    assert repaired.detail.str.contains("Self-intersection").all()
    assert repaired.loc["BOWTIE", "area_m2"] == pytest.approx(5_000, rel=1e-3)  # 0 (cancelling) → two triangles
    assert repaired.loc["SPIKE", "area_m2"] == pytest.approx(0, abs=0.01)  # the spike had no area
    # the location is where GEOS found the problem, inside the parcel's extent
    assert shapely.get_type_id(repaired.geometry.values).tolist() == [0, 0, 0]
    assert set(shapely.get_type_id(result.frame.geometry.values)) == {3}
    assert shapely.is_valid(result.frame.geometry.values).all()
    assert sorted(result.frame.parcel_id) == ["BOWTIE-1", "BOWTIE-2", "SELFTOUCH-1", "SELFTOUCH-2", "SPIKE", "VALID"]
    assert result.accepted


def test_mixed_types_and_collections_are_split_or_rejected_explicitly(read):
    result = read("mixed_types.geojson")
    kinds = result.problems.set_index("parcel_id").kind.to_dict()
    assert kinds == {"GC": "collection_split", "POINT": "not_polygon", "LINE": "not_polygon", "NULL": "empty_geometry"}
    assert sorted(result.frame.parcel_id) == ["GC", "OK"]
    assert result.report["features_rejected"] == 3


def test_overlaps_and_slivers_are_reported_with_areas(read):
    result = read("overlaps_slivers.gpkg")
    overlap = result.problems.query("kind == 'overlap'")
    assert overlap.parcel_id.tolist() == ["A"] and "overlaps B" in overlap.detail.iloc[0]
    assert overlap.area_m2.iloc[0] == pytest.approx(1_000, rel=1e-3)
    sliver = result.problems.query("kind == 'sliver'")
    assert sliver.parcel_id.tolist() == ["SLIVER"] and sliver.area_m2.iloc[0] == pytest.approx(100, rel=1e-3)
    assert result.accepted  # warnings do not block
    assert result.problems.crs == "EPSG:4490"
    assert list(result.problems.columns[:5]) == ["kind", "severity", "parcel_id", "detail", "area_m2"]


def test_duplicate_ids_block_the_import(read):
    result = read("duplicate_ids.geojson")
    assert not result.accepted
    assert result.report["status"] == "blocked"
    assert result.problems.query("kind == 'duplicate_id'").parcel_id.tolist() == ["ZQ-001", "ZQ-001"]


def test_one_point_per_row_is_not_a_parcel(read):
    result = read("centroids_lonlat.csv")
    assert not result.accepted
    assert result.problems.kind.tolist() == ["not_polygon"]


def test_truncated_files_give_a_clear_error(read):
    assert "GeoPackage" in _refused(read, "truncated.gpkg", "cannot read truncated.gpkg")
    _refused(read, "truncated.parquet", "truncated or corrupt")
    _refused(read, "truncated.dxf", "cannot read truncated.dxf as DXF", crs="EPSG:4547")
    _refused(read, "truncated_shp.zip", "truncated")
    _refused(read, "not_a_zip.zip", "not a readable zip")


# --- attributes -----------------------------------------------------------------------------------
def test_xss_payloads_are_stored_verbatim_in_every_format(read):
    for name in ("xss.geojson", "parcels_wkt.xlsx"):
        result = read(name)
        assert sorted(result.frame.enterprise) == sorted(XSS_PAYLOADS), name


def test_aliases_and_units_are_converted(read):
    result = read("aliases_units.geojson")
    frame = result.frame.sort_values("parcel_id")
    # 公顷 → m²; the third has only 容积率 2.0: floor area = 2.0 × its 10,000 m²
    assert frame.floor_area_m2.tolist() == pytest.approx([12_000, 5_000, 20_000], rel=1e-3)
    assert result.report["attributes"]["floor_area_from_plot_ratio"] == 1
    assert frame.investment_wan.tolist() == pytest.approx([15_000, 2_000, 30_000])  # 亿元 → 万元
    conversions = " ".join(result.report["attributes"]["unit_conversions"])
    assert "公顷" in conversions and "亿元" in conversions
    # declared 面积(亩): 15 亩 = 10,000 m² matches; the third parcel claims 30 亩
    mismatch = result.problems.query("kind == 'area_mismatch'")
    assert mismatch.parcel_id.tolist() == ["ZQ-003"]


def test_dates_codes_flags_and_labels_convert_the_same_in_a_large_file_as_one_by_one():
    """Each distinct value is converted once and spread back: order, missing values and spellings kept."""
    import pandas as pd

    from geo.io.attributes import conform_attributes

    rng = np.random.default_rng(7)
    spellings = {
        "出让日期": ["2023-05-01", "2023年5月1日", "2023/5/1", " 2024.12.31 ", "2023-02-30", "不详", "", None],
        "用地性质": ["M1", "m2", "100101", "100101.0", " 1001 ", "工业用地", None],
        "净地": ["是", "否", "yes", "N", "√", "maybe", None],
        "状态": ["可供地", "已投产", "Available", "available", "unknown", None],
        "延迟原因类别": ["政府原因", "不可抗力", "government", "其他", None],
    }
    n = 300
    table = pd.DataFrame({column: pd.array(rng.choice(np.array(values, dtype=object), n), dtype="str")
                          for column, values in spellings.items()})
    table["地块编号"] = [f"P{i}" for i in range(n)]
    whole, _, info = conform_attributes(table, "parcels")
    rows = [conform_attributes(table.iloc[[i]], "parcels")[0] for i in range(40)]
    pd.testing.assert_frame_equal(whole.iloc[:40], pd.concat(rows), check_exact=True)
    assert info["recoded"]["land_use_code"] > 0 and info["recoded"]["status"] > 0


def test_user_mapping_file_maps_unknown_headers(read, import_corpus):
    unmapped = read("custom_headers.geojson")
    assert unmapped.report["attributes"]["generated_ids"] == 3
    result = read("custom_headers.geojson", mapping=import_corpus["custom_headers_mapping.json"])
    assert sorted(result.frame.parcel_id) == ["ZQ-001", "ZQ-002", "ZQ-003"]
    assert sorted(result.frame.enterprise) == sorted(NAMES)
    assert result.report["attributes"]["mapped"]["parcel_id"] == "DKBM_X"


def test_report_is_json_serialisable(read):
    import json

    for name in ("invalid_geometries.gpkg", "duplicate_ids.geojson", "gbk_no_cpg.zip", "mixed_types.geojson"):
        text = json.dumps(read(name).report, ensure_ascii=False, allow_nan=False)
        assert json.loads(text)["file"] == name


def test_parcels_without_park_get_the_park_containing_them(import_corpus, sample_parks):
    import geopandas as gpd

    frame = gpd.read_file(import_corpus["parcels.geojson"]).drop(columns=["园区编号"])
    data = frame.to_json(ensure_ascii=False).encode()
    result = read_upload(data, "no_park.geojson", parks=sample_parks)
    assert result.frame.park_id.tolist() == ["zq_hitech"] * 3
    assert result.report["attributes"]["parks_assigned"] == 3
    unplaced = read_upload(data, "no_park.geojson", parks=sample_parks.query("park_id != 'zq_hitech'"))
    assert not unplaced.accepted and set(unplaced.problems.kind) == {"no_park"}
