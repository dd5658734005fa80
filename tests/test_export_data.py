"""Data exports round-trip: feature count, attributes, CRS and Chinese text; spreadsheets stay inert."""
from __future__ import annotations

import io
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from openpyxl import load_workbook

from geo.errors import ParkAtlasError
from geo.exports import (DATA_FORMATS, SHAPEFILE_FIELDS, candidates_export_frame, export_bytes, format_for,
                         neutralise, parcel_export_frame, read_shapefile_zip, shapefile_field_names, write_export)
from geo.metrics import with_metrics
from geo.testing import make_parcels

FORMULA = '=HYPERLINK("http://evil.example","点我")'
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def frame():
    parcels = make_parcels([(0, 0, 100, 100), (100, 0, 250, 100), (0, 100, 100, 300)],
                           enterprise=["肇庆星辰电子有限公司", FORMULA, XSS], status=["occupied", "available", "idle"],
                           industry_code=["39", None, "-1"], floor_area_m2=[12000.0, None, 500.0],
                           output_wan=[-5.0, None, 20.0])
    return parcel_export_frame(parcels)


def read_back(data: bytes, fmt: str) -> pd.DataFrame:
    if fmt == "shapefile":
        return read_shapefile_zip(data)
    if fmt == "parquet":
        return gpd.read_parquet(io.BytesIO(data))
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"land_use_code": str})
    if fmt == "xlsx":
        return pd.read_excel(io.BytesIO(data), sheet_name="parcels", dtype={"land_use_code": str})
    return pyogrio.read_dataframe(io.BytesIO(data))


EXPECTED_EPSG = {"gpkg": 4490, "shapefile": 4490, "parquet": 4490, "geojson": 4326, "kml": 4326}


@pytest.mark.filterwarnings("ignore:.*non conformant file extension")
@pytest.mark.parametrize("fmt", sorted(set(DATA_FORMATS.values())))
def test_every_format_round_trips(frame, fmt):
    back = read_back(export_bytes(frame, fmt, tables={"kpis": pd.DataFrame({"k": [1]})}), fmt)
    assert len(back) == len(frame)
    missing = {c for c in frame.columns if c != "geometry"} - set(back.columns)
    assert not missing, f"{fmt} lost columns {sorted(missing)}"
    assert back.parcel_id.tolist() == frame.parcel_id.tolist()
    assert back.enterprise.iloc[0] == "肇庆星辰电子有限公司"
    assert back.enterprise.iloc[2] == XSS
    np.testing.assert_allclose(back.area_mu.astype(float), frame.area_mu, rtol=1e-6)
    assert back.land_use_code.astype(str).tolist() == frame.land_use_code.tolist()
    if fmt in EXPECTED_EPSG:
        assert back.crs.to_epsg() == EXPECTED_EPSG[fmt]
        original = frame.to_crs(back.crs).geometry
        # normalize: Shapefiles store rings clockwise, the other formats as given
        assert shapely.equals_exact(shapely.normalize(back.geometry.values), shapely.normalize(original.values),
                                    tolerance=1e-7).all()
    if fmt == "csv":
        geoms = gpd.GeoSeries.from_wkt(back.wkt, crs="EPSG:4490")
        assert shapely.equals_exact(geoms.values, frame.geometry.values, tolerance=1e-7).all()
    if fmt in ("csv", "xlsx"):
        assert back.enterprise.iloc[1] == "'" + FORMULA  # neutralised
        assert back.industry_code.iloc[2] == "'-1"
        assert back.output_wan.iloc[0] == -5.0  # numbers stay numbers
    else:
        assert back.enterprise.iloc[1] == FORMULA  # GIS formats keep the value as it is


def test_xlsx_formula_stays_text_and_numbers_stay_numbers(frame):
    book = load_workbook(io.BytesIO(export_bytes(frame, "xlsx", tables={"notes": pd.DataFrame(
        {"note": ["@SUM(A1:A2)", "+1", "plain"], "value": [1.5, -2, 3]})})))
    assert book.sheetnames == ["parcels", "notes"]
    sheet = book["parcels"]
    header = [c.value for c in sheet[1]]
    enterprise = sheet.cell(row=3, column=header.index("enterprise") + 1)
    assert enterprise.data_type == "s" and enterprise.value == "'" + FORMULA
    area = sheet.cell(row=2, column=header.index("area_mu") + 1)
    assert area.data_type == "n" and area.value == pytest.approx(frame.area_mu.iloc[0])
    notes = book["notes"]
    assert [notes.cell(row=r, column=1).value for r in (2, 3, 4)] == ["'@SUM(A1:A2)", "'+1", "plain"]
    assert all(notes.cell(row=r, column=1).data_type == "s" for r in (2, 3, 4))
    assert [notes.cell(row=r, column=2).value for r in (2, 3, 4)] == [1.5, -2, 3]


def test_neutralise_only_touches_risky_text():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("\t=cmd") == "'\t=cmd"
    assert neutralise("肇庆") == "肇庆"
    assert neutralise(-3) == -3


def test_shapefile_zip_has_utf8_cpg_short_fields_and_mapping(frame):
    data = export_bytes(frame, "shapefile", layer="parcels")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        assert {"parcels.shp", "parcels.shx", "parcels.dbf", "parcels.prj", "parcels.cpg", "fields.csv"} <= names
        assert zf.read("parcels.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
    raw = pyogrio.read_dataframe(io.BytesIO(data))
    assert all(len(c) <= 10 for c in raw.columns)
    assert "inv_per_mu" in raw.columns and "landuse" in raw.columns


def test_shapefile_field_names_are_unique_and_short():
    mapping = shapefile_field_names(["investment_per_mu_wan", "very_long_column_a", "very_long_column_b"])
    assert mapping["investment_per_mu_wan"] == SHAPEFILE_FIELDS["investment_per_mu_wan"]
    assert len(set(v.lower() for v in mapping.values())) == 3
    assert all(len(v) <= 10 for v in mapping.values())


@pytest.mark.filterwarnings("ignore:.*non conformant file extension")
def test_candidates_flatten_lists_and_criteria():
    parcels = with_metrics(make_parcels([(0, 0, 100, 100), (100, 0, 200, 100)]))
    candidates = gpd.GeoDataFrame({
        "rank": [1], "kind": ["block"], "parcel_ids": [["P1", "P2"]], "park_id": ["test_park"],
        "area_mu": [parcels.area_mu.sum()], "score": [88.5],
        "criteria": [[{"name": "area", "passed": True, "reason_zh": "面积合适", "reason_en": "area fits"}]],
    }, geometry=[parcels.union_all()], crs=parcels.crs)
    flat = candidates_export_frame(candidates)
    assert flat.parcel_ids.iloc[0] == "P1;P2" and flat.reasons.iloc[0] == "面积合适"
    back = read_back(export_bytes(flat, "gpkg", layer="candidates"), "gpkg")
    assert back.parcel_ids.iloc[0] == "P1;P2" and '"面积合适"' in back.criteria.iloc[0]


def test_write_export_to_path_and_bad_extension(frame, tmp_path):
    summary = write_export(frame, tmp_path / "out.geojson")
    assert summary == {"out": str(tmp_path / "out.geojson"), "format": "geojson", "features": 3,
                       "bytes": (tmp_path / "out.geojson").stat().st_size}
    with pytest.raises(ParkAtlasError, match="use one of"):
        format_for("parcels.docx")
    with pytest.raises(ParkAtlasError, match="does not exist"):
        write_export(frame, tmp_path / "missing" / "out.gpkg")
    assert not list(tmp_path.glob(".*part"))


def test_excluded_table_counts_parcels_and_blocks_under_one_header():
    from geo.exports import excluded_table

    table = excluded_table({"not_available": 2400, "block_tax_per_mu_below_threshold": np.int64(3)})
    assert list(table.columns) == ["reason", "count"]
    assert table.to_dict("records") == [{"reason": "not_available", "count": 2400},
                                        {"reason": "block_tax_per_mu_below_threshold", "count": 3}]
    assert table["count"].dtype.kind == "i"
