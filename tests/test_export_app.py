"""The Export page (Streamlit AppTest): preview, download buttons, atlas with progress, match candidates."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "export.py")
PROJECT = {"name": "储能电池项目", "industry_code": "38", "chain": "energy_storage", "land_mu_min": 30,
           "land_mu_max": 200, "investment_wan": 30000, "output_wan": 40000, "tax_wan": 1500,
           "plot_ratio": 1.2, "building_coefficient": 0.4}


@pytest.fixture()
def page(store_path, monkeypatch):
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["lang"] = "en"
    return at


def download_labels(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_page_previews_the_map_and_offers_every_download(page):
    page.run()
    assert not page.exception
    assert len(page.get("image")) == 1
    assert download_labels(page) == ["Download PDF (vector)", "Download PNG", "Download interactive HTML (offline)",
                                     "Download fact sheets PDF", "Download data"]
    assert page.selectbox(key="export_what.en").options == ["All parcels of the park", "Available land of the park"]
    page.selectbox(key="export_theme.en").set_value("intensity").run()
    assert not page.exception and not page.selectbox(key="export_indicator.en").disabled


def test_atlas_renders_with_progress_into_a_pdf_per_park(page, tmp_path):
    page.run()
    next(b for b in page.button if b.label == "Make the atlas").click()
    page.run()
    assert not page.exception
    atlas = page.session_state["export_atlas"]
    path = tmp_path / "atlas.pdf"
    path.write_bytes(atlas)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+11\n", info)
    assert "Download the atlas PDF" in download_labels(page)
    # Issue 19: a download always matches the current choices — the English atlas is not offered
    # once the language is Chinese (the earlier file was served before), until it is made again.
    page.session_state["lang"] = "zh"
    page.run()
    assert not page.exception
    assert "下载图集 PDF" not in download_labels(page) and "Download the atlas PDF" not in download_labels(page)
    assert any("请重新生成图集" in c.value for c in page.caption)
    page.session_state["lang"] = "en"
    page.run()
    assert "Download the atlas PDF" in download_labels(page)  # the same choices again: the same atlas


def test_a_new_choice_is_a_new_download(page):
    page.run()
    page.selectbox(key="export_format").set_value(".xlsx").run()
    assert not page.exception
    keys = [b.proto.id for b in page.get("download_button")]
    page.selectbox(key="export_what.en").set_value("available").run()
    assert [b.proto.id for b in page.get("download_button")] != keys  # a new choice is a new download
    # The workbook's headings: the imported files' own names by default, ParkAtlas' own on request.
    keys = [b.proto.id for b in page.get("download_button")]
    page.checkbox(key="export_parkatlas_headers").check().run()
    assert not page.exception
    assert [b.proto.id for b in page.get("download_button")] != keys


def test_match_candidates_can_be_outlined_and_exported(page):
    page.session_state["match_request"] = {"project": PROJECT, "top": 5, "park_id": None, "with_blocks": True,
                                           "include_disposal": False, "weights": None}
    page.run()
    assert not page.exception
    assert "Match candidates" in page.selectbox(key="export_what.en").options
    page.checkbox(key="export_highlight").check().run()
    assert not page.exception
    page.checkbox(key="export_sheets_candidates").check().run()
    assert not page.exception
    sheets = next(b for b in page.get("download_button") if b.proto.label == "Download fact sheets PDF")
    assert not sheets.proto.disabled
    # A project of parks the store does not hold (another city's, one gone): said in the page's language,
    # and the page goes on without candidates.
    page.session_state["match_request"] = {**page.session_state["match_request"], "park_id": "atlantis"}
    page.session_state["lang"] = "zh"
    page.run()
    assert not page.exception
    assert [e.value for e in page.error] == ["找不到园区 atlantis（可能来自旧链接或其他城市的数据）：请从园区列表中重新选择。"]
    assert "匹配候选地块" not in page.selectbox(key="export_what.zh").options


def test_language_switch_relabels_the_choices_and_keeps_them(page):
    page.session_state["lang"] = "zh"
    page.run()
    page.selectbox(key="export_theme.zh").set_value("landuse").run()
    page.selectbox(key="export_orientation.zh").set_value("portrait").run()
    assert page.selectbox(key="export_theme.zh").options == ["用地状态", "用地分类", "用地强度指标"]
    page.session_state["lang"] = "en"
    page.run()
    assert not page.exception
    theme = page.selectbox(key="export_theme.en")
    assert theme.value == "landuse" and theme.options == ["Land status", "Land use", "Intensity indicator"]
    orientation = page.selectbox(key="export_orientation.en")
    assert orientation.value == "portrait" and orientation.options == ["Portrait", "Landscape"]
    assert page.title[0].value == "Export"
