"""Planner-facing workbooks (issue 19): headings in Chinese (English on request), labels instead of
codes, rounded numbers, the planner's own imported field names kept; GIS formats keep codes."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from geo.exports import export_bytes, parcel_export_frame
from geo.metrics import with_metrics
from geo.testing import make_parcels


def _frame():
    parcels = make_parcels([(0, 0, 200, 150), (400, 0, 600, 150)], status=["approved_unsupplied", "occupied"],
                           land_use_code=["100101", "100102"], output_wan=[1280.456, None])
    frame = parcel_export_frame(with_metrics(parcels))
    frame["用地性质"] = ["工业", "=1+1"]  # a field of the planner's own, imported under this name
    return frame


def _sheet(data: bytes, sheet: str | int = 0) -> pd.DataFrame:
    return pd.read_excel(io.BytesIO(data), sheet_name=sheet, dtype=object)


def test_chinese_workbook_has_labels_headings_and_rounded_numbers():
    data = export_bytes(_frame(), "xlsx", layer="parcels", lang="zh")
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["地块"]
    sheet = _sheet(data)
    assert {"地块编号", "状态", "用地类型", "面积（亩）", "年产值（万元）", "燃气", "用地性质", "经度", "纬度"} <= set(sheet.columns)
    assert sheet["状态"].tolist() == ["批而未供", "已投产"]
    assert sheet["用地类型"].tolist() == ["一类工业用地", "二类工业用地"]
    assert sheet["年产值（万元）"].iloc[0] == 1280.5 and pd.isna(sheet["年产值（万元）"].iloc[1])
    assert sheet["面积（亩）"].iloc[0] == 45.0  # 200 m × 150 m = 30,000 m² = 45 亩, two decimals
    assert sheet["用地性质"].tolist() == ["工业", "'=1+1"]  # own name kept, formula neutralised
    cells = book["地块"]
    area_col = [c.value for c in cells[1]].index("面积（亩）") + 1
    assert cells.cell(row=2, column=area_col).number_format == "#,##0.00"
    text = " ".join(str(v) for v in sheet.to_numpy().ravel())
    for raw in ("approved_unsupplied", "True", "False", "None", "e+0", "+00:00"):
        assert raw not in text


def test_english_on_request_and_headings_given_for_imported_fields():
    data = export_bytes(_frame(), "xlsx", layer="parcels", lang="en")
    sheet = _sheet(data, "Parcels")
    assert sheet["Status"].tolist() == ["Approved not supplied", "Occupied"]
    renamed = export_bytes(_frame(), "xlsx", layer="parcels", lang="zh",
                           field_names={"land_use_code": "用地性质代码（来源）"})
    assert "用地性质代码（来源）" in _sheet(renamed).columns


def test_the_parcels_sheet_names_the_park_and_heads_its_id_as_an_id():
    """A planner reads the park's name under 园区; the id column, kept, is headed 园区编号 (Park id)."""
    frame = parcel_export_frame(with_metrics(make_parcels([(0, 0, 200, 150), (400, 0, 600, 150)],
                                                          park_id=["pj_huanshi", "zq_hitech"])))
    parks = pd.DataFrame({"park_id": ["pj_huanshi", "zq_hitech"], "name_zh": ["环市工业园", "肇庆高新区"],
                          "name_en": ["Huanshi Industrial Park", None]})
    for lang, layer, sheet, (name, park_id), names in (
            ("zh", "parcels", "地块", ("园区", "园区编号"), ["环市工业园", "肇庆高新区"]),
            ("en", "available", "Available land", ("Park", "Park id"), ["Huanshi Industrial Park", "肇庆高新区"])):
        book = load_workbook(io.BytesIO(export_bytes(frame, "xlsx", layer=layer, lang=lang, parks=parks)))
        rows = list(book[sheet].iter_rows(values_only=True))
        headers = list(rows[0])
        assert headers.count(name) == 1 and headers.index(park_id) + 1 == headers.index(name)
        assert [r[headers.index(name)] for r in rows[1:]] == names  # the English name, else the Chinese one
        assert [r[headers.index(park_id)] for r in rows[1:]] == ["pj_huanshi", "zq_hitech"]


def test_gis_and_raw_exports_keep_the_codes():
    raw = _sheet(export_bytes(_frame(), "xlsx", layer="parcels"), "parcels")
    assert raw["status"].tolist() == ["approved_unsupplied", "occupied"]


@pytest.fixture(params=["gpkg", "postgis"])
def store_location(request, tmp_path):
    """A fresh store seeded from the sample: a GeoPackage file, or a database on the PostGIS test server."""
    if request.param == "gpkg":
        from geo.testing import copy_sample_store

        return str(copy_sample_store(tmp_path))
    return request.getfixturevalue("postgis_url")


def _cli(*argv) -> None:
    from commands import build_parser, run

    argv = [str(a) for a in argv]
    assert run(build_parser(argv), argv) == 0


def _headers(path, sheet: str = "地块") -> list[str]:
    return list(next(load_workbook(path, read_only=True)[sheet].iter_rows(max_row=1, values_only=True)))


def test_a_workbook_keeps_the_imported_files_column_names_in_both_stores(store_location, import_corpus, tmp_path,
                                                                        capsys):
    """A county's GBK shapefile (地块编号, 用地性质 …, and 行业, which the planner maps to the industry
    code) imported through the CLI into either store: the names are stored with its parcels, so the
    park's workbook is headed with them, in Chinese and in English; ParkAtlas' own on request."""
    source = import_corpus["county_gbk_cpg_no_status.zip"]
    mapping = tmp_path / "对照.json"
    mapping.write_text('{"columns": {"行业": "industry_code"}}', encoding="utf-8")
    _cli("--store", store_location, "import", source, "--mapping", mapping, "--park", "zq_hitech",
         "--default-status", "available", "--user", "admin")
    out = tmp_path / "park.xlsx"
    _cli("--store", store_location, "export", "data", "--park", "zq_hitech", "--out", out)
    headers = _headers(out)
    assert {"地块编号", "用地性质", "行业"} <= set(headers)
    assert not {"parcel_id", "land_use_code", "industry_code", "行业代码（GB/T 4754-2017）"} & set(headers)
    english_out = tmp_path / "park_en.xlsx"
    _cli("--store", store_location, "export", "data", "--what", "available", "--park", "zq_hitech", "--lang", "en",
         "--out", english_out)  # the imported parcels are available: a smaller workbook, the same names
    english = _headers(english_out, "Available land")
    assert {"地块编号", "用地性质", "行业", "Status"} <= set(english)  # the file's names; English otherwise
    assert headers.count("地块编号") == 1
    book = load_workbook(out, read_only=True)
    rows = list(book["地块"].iter_rows(min_row=2, values_only=True))
    assert {row[headers.index("园区")] for row in rows} == {"肇庆高新区"}  # the store's park name, not its id
    assert {row[headers.index("园区编号")] for row in rows} == {"zq_hitech"}
    ids = [row[headers.index("地块编号")] for row in book["地块"].iter_rows(min_row=2, values_only=True)]
    assert {"XQ-001", "XQ-002", "XQ-003"} <= set(ids)
    _cli("--store", store_location, "export", "data", "--park", "zq_hitech", "--parkatlas-headers", "--out", out)
    own = _headers(out)
    assert "用地性质" not in own and "用地类型" in own  # ParkAtlas' own heading of land_use_code
    # A park never imported from a file keeps ParkAtlas' headings.
    _cli("--store", store_location, "export", "data", "--park", "zq_newdistrict", "--out", out)
    assert "用地性质" not in _headers(out)
    capsys.readouterr()
