"""Print outputs take their words from the locale catalogue, in both languages.

Each output (print map, atlas page, fact sheet) is rendered in Chinese and English and read back
with pdftotext: the English pages carry no Chinese character apart from data values that are
Chinese by nature (the park's Chinese name in the bilingual subtitle, the contact line), the
Chinese pages carry the Chinese labels and no stray English word, and no page shows a raw
catalogue key (what :func:`geo.i18n.t` returns for a missing translation).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from pyproj import CRS

from geo import i18n
from geo.availability import available_parcels
from geo.metrics import INTENSITY_INDICATORS, park_kpis, with_metrics
from geo.schema import split_list
from geo.standards import load_standards
from layers.atlas import render_atlas
from layers.factsheet import render_factsheets
from layers.print_map import THEMES, render_park_map, theme_style
from tests.conftest import ROOT
from tests.test_export_print import pdf_text

PARK = "dz_park"
PRINT_MODULES = [ROOT / "layers" / name for name in ("print_map.py", "atlas.py", "factsheet.py")]
#: CJK ideographs, CJK and full-width punctuation (、（）：), kana and Hangul.
CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
#: A stand-alone word of Latin letters (not part of an id, a path, a code or "EPSG:4546").
LATIN_WORD = re.compile(r"(?<![\w/.:-])[A-Za-z]{2,}(?![\w/.:-])")
#: Unit symbols and the product name, the same in both languages.
LANGUAGE_NEUTRAL_WORDS = {"ParkAtlas", "ha", "km", "kVA"}
RAW_KEY = re.compile(r"\b(?:print|factsheet|atlas|export|park|unit|col|overview|parcel|theme)\.[a-z_.]+\b")


@pytest.fixture(scope="module")
def data(sample_store):
    parks = sample_store.read_parks()
    parcels = with_metrics(sample_store.read_parcels())
    park_parcels = parcels.loc[parcels.park_id == PARK]
    return {"parks": parks, "districts": sample_store.read_districts(), "info": sample_store.dataset_info(),
            "parcels": parcels, "park_parcels": park_parcels, "park": parks.loc[parks.park_id == PARK].iloc[0],
            "site": available_parcels(park_parcels).parcel_id.iloc[0]}


@pytest.fixture(scope="module")
def rendered(data, tmp_path_factory):
    """``rendered(lang)``: the text of a print map, an atlas page and a fact sheet (rendered once per language)."""
    cache = {}

    def pages(lang: str) -> dict:
        if lang not in cache:
            cache[lang] = render_pages(data, lang, tmp_path_factory.mktemp(f"print-{lang}"))
        return cache[lang]

    return pages


def render_pages(data, lang: str, out: Path) -> dict:
    render_park_map(data["park_parcels"], data["park"], parks=data["parks"], districts=data["districts"],
                    out=out / "map.pdf", theme="status", lang=lang, highlight_ids=[data["site"]],
                    dataset_info=data["info"])
    render_atlas(data["parcels"], data["parks"], data["districts"], out / "atlas.pdf", park_ids=[PARK], lang=lang,
                 dataset_info=data["info"])
    render_factsheets(data["parcels"], data["parks"], data["districts"], out / "sheets.pdf",
                      parcel_ids=[data["site"]], lang=lang, dataset_info=data["info"])
    return {"lang": lang, **{name: pdf_text(out / f"{name}.pdf") for name in ("map", "atlas", "sheets")}}


def without_chinese_data(text: str, park) -> str:
    """``text`` minus the values that are Chinese whatever the language (the park's name, its contact)."""
    return text.replace(str(park.name_zh), "").replace(str(park.contact), "")


def test_english_pages_have_no_chinese_text(rendered, data):
    pages = rendered("en")
    for name in ("map", "atlas", "sheets"):
        text = without_chinese_data(pages[name], data["park"])
        stray = [line.strip() for line in text.splitlines() if CJK.search(line)]
        assert not stray, f"Chinese text on the English {name}: {stray}"


def test_chinese_pages_have_no_english_words(rendered, data):
    pages = rendered("zh")
    park = data["park"]
    crs = CRS.from_user_input("EPSG:4546").name  # Duanzhou lies in the CM 111°E zone
    allowed = LANGUAGE_NEUTRAL_WORDS | set(LATIN_WORD.findall(f"{park.name_en} {crs}"))
    for name in ("map", "atlas", "sheets"):
        stray = sorted(set(LATIN_WORD.findall(pages[name])) - allowed)
        assert not stray, f"English words on the Chinese {name}: {stray}"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_no_page_shows_a_raw_catalogue_key(rendered, lang):
    pages = rendered(lang)
    for name in ("map", "atlas", "sheets"):
        assert not RAW_KEY.findall(pages[name]), f"untranslated key on the {pages['lang']} {name}"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_print_map_labels_in_each_language(rendered, data, lang):
    pages = rendered(lang)
    zh = pages["lang"] == "zh"
    text = pages["map"]
    expected = (["端州区产业园(示意) · 用地状态", "图例 · 用地状态", "园区范围", "匹配候选地块", "肇庆市位置图",
                 "数据截至", "制图日期", "数据来源：ParkAtlas", "合成示例数据，非官方数据", "坐标系：",
                 "指北针指向真北", "子午线收敛角", "亩）"] if zh else
                ["Duanzhou District Industrial Park (illustrative) · Land status", "Legend · Land status",
                 "Park boundary", "Match candidates", "Zhaoqing locator", "Data as of", "Printed",
                 "Source: ParkAtlas", "SYNTHETIC sample data, not official", "CRS: ",
                 "North arrow points to true north", "meridian convergence", " mu)"])
    for label in expected:
        assert label in text, f"{label!r} missing from the {pages['lang']} print map"
    for code in set(data["park_parcels"].status):
        assert i18n.label_status(code, pages["lang"]) in text
    assert re.search(r"\b\d+(\.\d+)? (m|km)\b", text), "no scale bar label"
    assert re.search(r"^\s*N\s*$", text, re.MULTILINE), "no north arrow letter"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_atlas_kpi_table_in_each_language(rendered, data, lang):
    pages = rendered(lang)
    zh = pages["lang"] == "zh"
    kpis = park_kpis(data["parcels"], data["parks"]).set_index("park_id").loc[PARK]
    text = pages["atlas"]
    labels = (["园区指标", "地块数", "总面积", "工业用地", "已用地", "可供地", "闲置 / 低效", "土地利用率",
               "容积率", "建筑系数", "投资强度（万元/亩）", "亩均产值（万元/亩）", "亩均税收（万元/亩）",
               "亩均评价 A/B/C/D"] if zh else
              ["Park indicators", "Parcels", "Total area", "Industrial", "Occupied", "Available",
               "Idle / inefficient", "Occupancy", "Plot ratio", "Building coefficient", "Investment intensity",
               "Output per mu", "Tax per mu", "Grades A/B/C/D"])
    for label in labels:
        assert label in text, f"{label!r} missing from the {pages['lang']} atlas"
    unit = "亩" if zh else "mu"
    assert f"{kpis.available_area_mu:,.0f} {unit}" in text
    assert f"{100 * kpis.occupancy_rate:.1f}%" in text


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_fact_sheet_labels_in_each_language(rendered, data, lang):
    pages = rendered(lang)
    zh = pages["lang"] == "zh"
    park, site = data["park"], data["site"]
    text = pages["sheets"]
    labels = ([f"地块推介单 · {site}", "地块信息", "地块编号", "所在园区", "面积", "用地分类", "现状",
               "净地（可即供）", "供电容量", "供水能力", "吨/日", "天然气", "距高速出口 / 港口 / 铁路货站",
               "园区准入：投资强度", "园区准入：亩均产值", "园区准入：亩均税收", "园区准入：容积率",
               "国家最低容积率（主导产业）", "国家指标出处（版本）", "国土资发〔2008〕24号", "国家建筑系数", "≥ 30%", "主导产业", "联系方式", "推介地块",
               "图例", "肇庆市位置图", "本单仅供招商参考", f"≥ {park.min_investment_wan_per_mu:,.0f} 万元/亩"]
              if zh else
              [f"Parcel fact sheet · {site}", "Site facts", "Parcel(s)", "Park", "Area", "Land use", "Status",
               "Ready (cleared land)", "Power", "Water", "t/d", "Gas", "Highway exit / port / rail (km)",
               "Entry: investment", "Entry: output", "Entry: tax", "Entry: plot ratio",
               "National min plot ratio (leading industries)", "Source (edition)",
               "Guotuzifa [2008] No. 24", "National building coefficient", "≥ 30%", "Leading chains",
               "Contact", "Site", "Legend", "Zhaoqing locator", "For information only",
               f"≥ {park.min_investment_wan_per_mu:,.0f} 10k yuan/mu"])
    for label in labels:
        assert label in text, f"{label!r} missing from the {pages['lang']} fact sheet"
    chains = load_standards().chains.set_index("chain")["name_zh" if zh else "name_en"]
    leading = ("、" if zh else ", ").join(chains[c] for c in split_list(park.leading_chains))
    assert leading in text


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_theme_and_indicator_has_a_printed_title(data, lang):
    for theme in THEMES:
        indicators = INTENSITY_INDICATORS if theme == "intensity" else [None]
        for indicator in indicators:
            style = theme_style(data["park_parcels"], theme, lang=lang, indicator=indicator)
            assert not RAW_KEY.search(style.title), f"no {lang} title for {theme}/{indicator}"
            assert bool(CJK.search(style.title)) == (lang == "zh")


def _code_strings(path: Path):
    """String literals of a module, docstrings left out (they document, nobody prints them)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node


@pytest.mark.parametrize("path", PRINT_MODULES, ids=lambda p: p.name)
def test_print_modules_hold_no_chinese_string(path):
    found = [(node.lineno, node.value) for node in _code_strings(path) if CJK.search(node.value)]
    assert not found, f"hard-coded Chinese in {path.name}: {found}"


@pytest.mark.parametrize("path", PRINT_MODULES, ids=lambda p: p.name)
def test_every_catalogue_key_of_the_print_modules_exists_in_both_languages(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    keys = {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "t"}
    assert keys, f"{path.name} uses no catalogue key"
    for lang in i18n.LANGS:
        missing = keys - set(i18n.catalogue(lang))
        assert not missing, f"{path.name}: keys missing from locale/{lang}.json: {sorted(missing)}"


def test_every_refusal_key_of_the_core_is_in_both_catalogues_with_the_same_placeholders():
    """A page says a refusal of ``geo/`` by its key: the key must exist in both languages and take the
    values the error carries (a field's name is the one placeholder spelt per language)."""
    keys = {key: path.relative_to(ROOT) for path in (ROOT / "geo").rglob("*.py")
            for key in re.findall(r'Keyed\w*\(\s*"([a-z_][\w.]+)"', path.read_text(encoding="utf-8"))}
    assert len(keys) > 80 and "auth.users_file.identity_role" in keys
    placeholders = re.compile(r"{(\w+)}")
    catalogues = {lang: i18n.catalogue(lang) for lang in i18n.LANGS}
    for key, path in sorted(keys.items()):
        names = []
        for lang, catalogue in catalogues.items():
            assert key in catalogue, f"{path}: {key} missing from locale/{lang}.json"
            names.append({re.sub(r"_(zh|en)$", "", name) for name in placeholders.findall(catalogue[key])})
        assert names[0] == names[1], f"{key}: placeholders differ between languages"
