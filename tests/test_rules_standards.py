"""The rules exactly as published (issue 13): plot ratio at three-digit codes, logistics land,
the 2008 control indicators, editions and their sources — hand-built cases with known answers."""
from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest

from geo.errors import ParkAtlasError
from geo.matching import match
from geo.metrics import city_kpis, park_kpis, with_metrics
from geo.standards import DEFAULT_STANDARDS_DIR, load_standards
from geo.testing import make_parcels
from tests.test_match import electronics, make_parks, strip

SOURCE_2008 = "《工业项目建设用地控制指标》（国土资发〔2008〕24号），2008年版"
SOURCE_2008_EN = "Control Indicators for Construction Land of Industrial Projects (Guotuzifa [2008] No. 24), 2008 edition"


def project(code: str, **changes) -> dict:
    return electronics(**{"industry_code": code, "chain": None, "plot_ratio": 0.9, **changes})


@pytest.fixture(scope="module")
def land():
    parcels = with_metrics(make_parcels([strip(0, 100), strip(1000, 100)], land_use_code="100102"))
    return parcels, make_parks({"min_plot_ratio": 0.5})


def test_plastics_needs_1_0_and_rubber_0_8(land):
    parcels, parks = land
    plastics = match(parcels, parks, project("292"))
    assert plastics.excluded == {"plot_ratio_below_national_minimum": 2} and len(plastics.candidates) == 0
    rubber = match(parcels, parks, project("291"))
    assert len(rubber.candidates) == 2
    national = next(c for c in rubber.candidates.criteria[0] if c["name"] == "plot_ratio_national")
    assert national["threshold"] == 0.8 and national["source"] == SOURCE_2008
    # A bare 29 (rubber and plastics) takes the stricter 1.0 and says why.
    bare = match(parcels, parks, project("29", plot_ratio=1.0))
    national = next(c for c in bare.candidates.criteria[0] if c["name"] == "plot_ratio_national")
    assert national["threshold"] == 1.0 and "291/292" in national["reason_zh"]
    assert match(parcels, parks, project("29")).excluded == {"plot_ratio_below_national_minimum": 2}


def test_logistics_land_is_neither_industrial_nor_a_factory_site():
    # 15 亩 each: one M1 occupied, one W1 (110101) occupied, one M1 available.
    parcels = make_parcels([(0, 0, 100, 100), (100, 0, 200, 100), (200, 0, 300, 100)],
                           land_use_code=["100101", "110101", "100101"], status=["occupied", "occupied", "available"])
    parks = make_parks({})
    kpis = park_kpis(parcels, parks).iloc[0]
    assert kpis.industrial_area_mu == pytest.approx(30.0) and kpis.total_area_mu == pytest.approx(45.0)
    assert kpis.occupancy_rate == pytest.approx(0.5)  # 15 of 30 industrial 亩; W land counts in neither
    standards = load_standards()
    assert "110101" not in standards.industrial_codes
    assert not ((standards.landuse_compat.land_use_code.str.startswith("1101"))).any()
    land_use = standards.land_use.set_index("code")
    assert land_use.at["1207", "name_zh"] == "城镇村道路用地"
    assert not land_use.at["100104", "national"] and "地方" in land_use.at["100104", "name_zh"]
    # An M1 project is not offered W1 land.
    w1 = with_metrics(make_parcels([strip(0, 100)], land_use_code="110101"))
    assert match(w1, parks, electronics()).excluded == {"land_use_incompatible": 1}


def test_green_ratio_above_the_limit_is_excluded_with_its_source(land):
    parcels, parks = land
    result = match(parcels, parks, electronics(green_ratio=0.25))
    assert result.excluded == {"green_ratio_above_maximum": 2}
    reason = result.to_json("zh")["excluded_reasons"]["green_ratio_above_maximum"]
    assert reason == f"绿地率超过 20% 上限（{SOURCE_2008}）"
    ok = match(parcels, parks, electronics(green_ratio=0.15))
    green = next(c for c in ok.candidates.criteria[0] if c["name"] == "green_ratio")
    assert green["threshold"] == 0.2 and green["source"] == SOURCE_2008 and "20%" in green["reason_zh"]


def test_a_changed_national_limit_changes_the_check_and_its_message(land, tmp_path):
    parcels, parks = land
    directory = tmp_path / "standards"
    shutil.copytree(DEFAULT_STANDARDS_DIR, directory)
    limits = directory / "national_limits.csv"
    limits.write_text(limits.read_text(encoding="utf-8").replace("2008,building_coefficient_min,0.30",
                                                                 "2008,building_coefficient_min,0.50"), encoding="utf-8")
    standards = load_standards(str(directory))
    result = match(parcels, parks, electronics(), standards=standards)  # building coefficient 0.45
    assert result.excluded == {"building_coefficient_below_minimum": 2}
    assert result.to_json("en")["excluded_reasons"]["building_coefficient_below_minimum"] == \
        f"building coefficient below 50% ({SOURCE_2008_EN})"  # English reasons cite the English title
    assert result.to_json("zh")["excluded_reasons"]["building_coefficient_below_minimum"] == \
        f"建筑系数低于 50% 下限（{SOURCE_2008}）"
    passing = match(parcels, parks, electronics(building_coefficient=0.55), standards=standards)
    coefficient = next(c for c in passing.candidates.criteria[0] if c["name"] == "building_coefficient")
    assert "≥ 50%" in coefficient["reason_en"] and "30%" not in coefficient["reason_en"]
    assert coefficient["reason_en"].endswith(f"({SOURCE_2008_EN})") and "《" not in coefficient["reason_en"]
    assert coefficient["reason_zh"].endswith(f"（{SOURCE_2008}）")


def test_editions_are_chosen_and_an_edition_without_values_is_refused(land):
    parcels, parks = land
    standards = load_standards()
    assert standards.edition == "2008" and standards.loaded_editions() == ["2008"]
    result = match(parcels, parks, electronics(), edition="2008")
    assert (result.edition, result.source) == ("2008", SOURCE_2008)
    assert result.to_json()["source"] == SOURCE_2008
    with pytest.raises(ParkAtlasError, match="edition 2023 .* has no values"):
        match(parcels, parks, electronics(), edition="2023")
    with pytest.raises(ParkAtlasError, match="unknown edition '1999'"):
        match(parcels, parks, electronics(), edition="1999")


def test_cli_match_names_source_and_edition(cli_env, tmp_path):
    from tests.test_cli_core import run_cli

    path = tmp_path / "p.json"
    path.write_text(json.dumps(electronics(green_ratio=0.1, admin_share=0.05)), encoding="utf-8")
    out = json.loads(run_cli("match", str(path), "--top", "2", "--edition", "2008", env=cli_env).stdout)
    assert out["edition"] == "2008" and out["source"] == SOURCE_2008
    national = {c["name"]: c["source"] for c in out["candidates"][0]["criteria"] if c["kind"] == "hard"}
    assert {national[k] for k in ("plot_ratio_national", "building_coefficient", "admin_share", "green_ratio")} \
        == {SOURCE_2008}
    bad = run_cli("match", str(path), "--edition", "2023", env=cli_env, check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: edition 2023")


def test_city_and_group_totals_count_overlapping_parks_land_once():
    from geo.metrics import group_kpis, overlap_duplicates

    # The High-tech Zone has two 15 亩 parcels; the agglomeration area was imported with one of
    # them again (its 高新区片区, here 90 % the same land) and one parcel of its own.
    hitech = make_parcels([(0, 0, 100, 100), (100, 0, 200, 100)], park_id="zq_hitech", parcel_id=["H1", "H2"])
    agglo = make_parcels([(10, 0, 110, 100), (500, 0, 600, 100)], park_id="zq_agglomeration",
                         parcel_id=["A1", "A2"])
    parcels = with_metrics(pd.concat([hitech, agglo], ignore_index=True))
    parks = make_parks({"park_id": "zq_hitech"}, {"park_id": "zq_agglomeration"})
    assert overlap_duplicates(parcels, parks).tolist() == [False, False, True, False]
    assert city_kpis(parcels, parks).total_area_mu == pytest.approx(45.0)  # not 60
    assert group_kpis(parcels, parks).set_index("group").at["platform", "total_area_mu"] == pytest.approx(45.0)
    per_park = park_kpis(parcels, parks).set_index("park_id").total_area_mu
    assert per_park.to_dict() == pytest.approx({"zq_hitech": 30.0, "zq_agglomeration": 30.0})


def test_overlap_compares_only_parcels_of_an_earlier_park():
    from geo.metrics import overlap_duplicates

    # H1 and H1b lie on each other but are one park's: neither is a duplicate. A1 is 70 % on H2 and
    # D1 (an unknown park, counted last) lies on A2; B1's 30 % on H1 and 30 % on A2 add up to 60 %.
    hitech = make_parcels([(0, 0, 100, 100), (0, 0, 100, 100), (100, 0, 200, 100)], park_id="zq_hitech",
                          parcel_id=["H1", "H1b", "H2"])
    agglo = make_parcels([(130, 0, 230, 100), (500, 0, 600, 100)], park_id="zq_agglomeration",
                         parcel_id=["A1", "A2"])
    third = make_parcels([(70, 200, 170, 300)], park_id="zq_newdistrict", parcel_id=["N1"])
    split = make_parcels([(-30, 400, 70, 500)], park_id="zq_newdistrict", parcel_id=["B1"])
    unknown = make_parcels([(500, 0, 600, 100)], park_id="elsewhere", parcel_id=["D1"])
    edge_h = make_parcels([(-30, 400, 0, 500)], park_id="zq_hitech", parcel_id=["H3"])
    edge_a = make_parcels([(40, 400, 70, 500)], park_id="zq_agglomeration", parcel_id=["A3"])
    parcels = pd.concat([hitech, agglo, third, split, unknown, edge_h, edge_a], ignore_index=True)
    parks = make_parks({"park_id": "zq_hitech"}, {"park_id": "zq_agglomeration"}, {"park_id": "zq_newdistrict"})
    duplicate = dict(zip(parcels.parcel_id, overlap_duplicates(parcels, parks)))
    assert duplicate == {"H1": False, "H1b": False, "H2": False, "A1": True, "A2": False, "N1": False,
                         "B1": True, "D1": True, "H3": False, "A3": False}


def test_province_group_and_city_totals_count_overlapping_parks_land_once(tmp_path):
    import geopandas as gpd

    from geo import province
    from geo.metrics import group_kpis

    hitech = make_parcels([(0, 0, 100, 100), (100, 0, 200, 100)], park_id="zq_hitech", parcel_id=["H1", "H2"])
    agglo = make_parcels([(10, 0, 110, 100), (500, 0, 600, 100)], park_id="zq_agglomeration",
                         parcel_id=["A1", "A2"])
    parcels = gpd.GeoDataFrame(pd.concat([hitech, agglo], ignore_index=True), crs=hitech.crs)
    parks = make_parks({"park_id": "zq_hitech"}, {"park_id": "zq_agglomeration"}).assign(city="zq")
    outlines = [parcels[parcels.park_id == p].union_all().buffer(1e-4) for p in parks.park_id]
    parks = gpd.GeoDataFrame(parks, geometry=outlines, crs=parcels.crs)
    for park_id, part in parcels.groupby("park_id"):
        folder = tmp_path / "parcels" / f"park_id={park_id}"
        folder.mkdir(parents=True)
        part.drop(columns="park_id").to_parquet(folder / "part-00000.parquet", index=False)
    parks.to_parquet(tmp_path / "parks.parquet", index=False)

    assert province.overlap_duplicate_ids(tmp_path, parks) == {"A1"}
    by_group = province.province_kpis(tmp_path, by="group").set_index("group")
    assert by_group.at["platform", "total_area_mu"] == pytest.approx(45.0)
    expected = group_kpis(with_metrics(parcels), parks).set_index("group")
    assert by_group.at["platform", "total_area_mu"] == pytest.approx(expected.at["platform", "total_area_mu"])

    # Writers store the overlaps; readers then read no geometry, until a park's file changes.
    assert province.store_overlap_duplicates(tmp_path) == 1
    computed = []
    real = province._computed_overlaps
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(province, "_computed_overlaps", lambda *a: computed.append(a) or real(*a))
        assert province.overlap_duplicates_by_park(tmp_path, parks) == {"zq_agglomeration": frozenset({"A1"})}
        assert computed == []
        assert province.province_kpis(tmp_path, by="city").total_area_mu.iat[0] == pytest.approx(45.0)
        assert computed == []
        written = tmp_path / "parcels" / "park_id=zq_agglomeration" / "part-00000.parquet"
        stat = written.stat()
        os.utime(written, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the file rewritten since
        assert province.overlap_duplicates_by_park(tmp_path, parks) == {"zq_agglomeration": frozenset({"A1"})}
        assert len(computed) == 1
    by_park = province.province_kpis(tmp_path, by="park").set_index("park_id").total_area_mu
    assert by_park.to_dict() == pytest.approx({"zq_hitech": 30.0, "zq_agglomeration": 30.0})
