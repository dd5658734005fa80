"""The Data page's import, without a browser: options the CLI offers, the planner's report in
their language, and field mappings remembered per source on both stores."""
from __future__ import annotations

import re

import pytest

from geo.auth import User
from geo.io import commit_import, read_upload
from geo.io.mappings import recall_mapping, source_signature
from geo.io.report import committed_text, describe_crs, planner_report
from geo.store import open_store

COUNTY = "county_gbk_cpg_no_status.zip"
ADMIN = User("root", "admin")
#: Latin text a Chinese report may hold: ids and codes of the file, EPSG codes, encodings, units.
ALLOWED_LATIN = re.compile(r"XQ-\d+|EPSG:\d+|CGCS2000|GBK|cpg|prj|zip|Shapefile|county_gbk_cpg_no_status|E\b|m²")


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    if request.param == "gpkg":
        return open_store(request.getfixturevalue("store_path"))
    return open_store(request.getfixturevalue("postgis_url"))


def read_county(corpus, store, **options):
    path = corpus[COUNTY]
    return read_upload(path.read_bytes(), path.name, parks=store.read_parks(), **options)


def test_county_shapefile_is_blocked_until_a_default_status_and_reads_gbk(import_corpus, sample_store):
    result = read_county(import_corpus, sample_store)
    assert list(result.preview.columns) == ["地块编号", "用地性质", "面积", "企业名称", "行业"]
    assert result.preview.loc[0, "企业名称"] == "肇庆新能源汽车零部件有限公司"  # GBK decoded via the .cpg
    assert result.report["encoding"]["basis"] == "cpg"
    assert result.report["problem_counts"] == {"missing_status": 3} and not result.accepted

    zh = planner_report(result, "zh", parks=sample_store.read_parks())
    assert zh.verdict.startswith("尚不能写入")
    assert zh.blocking == ["3 个要素缺少状态（例如 XQ-001、XQ-002、XQ-003）：在上方“缺少状态时设为”中选择一个状态，"
                           "或在“字段对应”中选出状态列。"]
    assert zh.counts.to_dict("records") == [{"问题": "缺少状态", "处理": "阻止写入", "数量": "3",
                                              "怎么办": zh.blocking[0].split("：", 1)[1].rstrip("。")}]
    assert list(zh.problems.columns) == ["地块/要素", "问题", "位置", "怎么办"]
    first = zh.problems.iloc[0]
    assert first["地块/要素"] == "XQ-001" and first["问题"] == "没有状态"
    assert first["位置"].startswith("东经 112.") and first["位置"].endswith(" · 肇庆高新区")
    facts = dict(zip(zh.facts["项目"], zh.facts["内容"]))
    assert facts["坐标系"] == "CGCS2000 3度带高斯-克吕格投影，中央经线 114°E（EPSG:4547），取自文件（.prj）"
    assert facts["文字编码"] == "GBK（按 .cpg 文件）" and facts["可导入要素总面积"] == "45.00 亩"
    every_text = " ".join([zh.verdict, *zh.blocking, *zh.facts.astype(str).to_numpy().ravel(),
                           *zh.counts.astype(str).to_numpy().ravel(), *zh.problems.astype(str).to_numpy().ravel(),
                           *map(str, zh.counts.columns), *map(str, zh.problems.columns)])
    leftover = ALLOWED_LATIN.sub("", every_text)
    assert not re.search(r"[A-Za-z]{2,}|[{}]|None|True", leftover), leftover

    en = planner_report(result, "en")
    assert en.counts.iloc[0].to_dict() == {"Problem": "Missing status", "Effect": "blocks writing", "Count": "3",
                                           "What to do": "Choose a status under “Status when missing” above, or map "
                                                         "the status column under “Field mapping”"}
    assert not re.search(r"[\u4e00-\u9fff]", " ".join(en.problems["Problem"]))


def test_every_problem_kind_has_its_words_in_both_languages():
    from geo.i18n import catalogue

    source = open("geo/io/validate.py", encoding="utf-8").read()
    kinds = set(re.findall(r'"(\w+)", "(?:blocking|rejected|repaired|warning)"', source))
    assert {"missing_status", "unknown_park", "overlap"} <= kinds
    for lang in ("zh", "en"):
        for kind in kinds:
            for part in ("kind", "problem", "todo"):
                assert f"import.{part}.{kind}" in catalogue(lang), (lang, part, kind)


def test_overlaps_and_repairs_are_told_with_the_other_parcel_and_areas(import_corpus, sample_store):
    path = import_corpus["overlaps_slivers.gpkg"]
    result = read_upload(path.read_bytes(), path.name, parks=sample_store.read_parks(), default_status="available")
    view = planner_report(result, "zh")
    overlap = result.problems[result.problems.kind == "overlap"].iloc[0]
    text = view.problems.loc[view.problems["地块/要素"] == overlap.parcel_id, "问题"]
    assert f"与 {overlap.value} 重叠" in " ".join(text)


def test_options_finish_the_import_and_the_mapping_is_remembered_per_source(import_corpus, store):
    result = read_county(import_corpus, store, default_status="available", park_id="zq_hitech",
                         encoding="gbk", mapping={"行业": "industry_code"})
    assert result.accepted, result.blocking
    counts = commit_import(store, result, ADMIN)
    assert committed_text(counts, "zh") == "已写入：新增 3 个，更新 0 个，未变 0 个，删除 0 个。"
    stored = store.read_parcels().set_index("parcel_id").loc["XQ-002"]
    assert (stored.status, stored.park_id, stored.industry_code, stored.enterprise) == \
        ("available", "zq_hitech", "3670", "广东储能材料科技股份公司")
    columns = ["地块编号", "用地性质", "面积", "企业名称", "行业"]
    assert recall_mapping(store, list(reversed(columns)), "parcels") == {
        "地块编号": "parcel_id", "用地性质": "land_use_code", "面积": "area", "企业名称": "enterprise",
        "行业": "industry_code"}
    assert recall_mapping(store, columns, "parks") is None
    assert recall_mapping(store, columns[:4], "parcels") is None
    assert source_signature(columns) == source_signature([c + " " for c in reversed(columns)])


def test_two_columns_mapped_to_one_field_is_a_one_line_error(import_corpus, sample_store):
    from geo.errors import ParkAtlasError

    with pytest.raises(ParkAtlasError, match="both map to enterprise"):
        read_county(import_corpus, sample_store, mapping={"企业名称": "enterprise", "行业": "enterprise"})


def test_outside_region_error_carries_its_numbers(import_corpus):
    from geo.io.crs_guess import OutsideRegion

    path = import_corpus["outside_region.geojson"]
    with pytest.raises(OutsideRegion) as caught:
        read_upload(path.read_bytes(), path.name)
    assert (caught.value.outside, caught.value.total) == (1, 1) and round(caught.value.lon) == 116


def test_describe_crs_names_zone_and_datum():
    assert describe_crs("EPSG:4526", "en") == "CGCS2000 3° Gauss-Krüger, central meridian 114°E (EPSG:4526)"
    assert describe_crs("EPSG:4490", "zh") == "CGCS2000 经纬度（EPSG:4490）"
    assert describe_crs("EPSG:4546", "zh") == "CGCS2000 3度带高斯-克吕格投影，中央经线 111°E（EPSG:4546）"


def test_every_mapping_target_has_a_label_in_both_languages():
    from geo.io.attributes import mapping_targets
    from geo.io.mappings import target_label

    for layer in ("parcels", "parks"):
        for lang in ("zh", "en"):
            labels = [target_label(t, lang) for t in ["ignore", *mapping_targets(layer)]]
            assert not [t for t, label in zip(mapping_targets(layer), labels[1:]) if label == t], (layer, lang)
            assert len(set(labels)) == len(labels)


def test_every_refusal_reason_has_words_in_both_languages():
    from pathlib import Path

    from geo.i18n import catalogue

    keys = set()
    for path in Path("geo/io").glob("*.py"):
        keys |= set(re.findall(r'KeyedError\(\s*"(import\.refused\.\w+)"', path.read_text(encoding="utf-8")))
    assert len(keys) >= 6
    for lang in ("zh", "en"):
        assert not keys - set(catalogue(lang)), lang


def test_a_refused_file_is_told_in_the_planners_words_on_the_data_page(import_corpus, store_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.test_app_pages import ROOT, TIMEOUT, goto

    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["user"] = ADMIN
    at.run()
    goto(at, "data")
    at.file_uploader(key="import_file").set_value(("parcels.dxf", import_corpus["parcels.dxf"].read_bytes(),
                                                   "application/dxf"))
    at.run()
    assert [e.value for e in at.error] == ["DXF 图纸不带坐标系：请在“坐标系”中填写，例如 EPSG:4547。"]
