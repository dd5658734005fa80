"""Print maps, atlas and fact sheets: rendered, rasterised with pdftoppm and read back with pdftotext."""
from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pytest
import shapely
from matplotlib.figure import Figure
from PIL import Image
from pyproj import Proj

from geo.availability import available_parcels
from geo.crs import projected_crs_for
from geo.errors import NotFoundError, ParkAtlasError
from geo.metrics import park_kpis, with_metrics
from geo.standards import load_standards
from layers.atlas import render_atlas
from layers.factsheet import render_factsheets, sites_from_candidates, sites_from_parcels
from layers.print_map import (PageSpec, draw_polygons, grid_convergence_deg, park_page, polygon_paths, print_rc,
                              render_park_map, theme_style)
from layers.style import theme_colors

PARK = "dz_park"  # a small park keeps the tests quick


def pdf_pages_png(pdf: Path, tmp_path: Path, dpi: int = 30) -> list[np.ndarray]:
    """Every page of ``pdf`` rasterised by poppler, as greyscale arrays."""
    prefix = tmp_path / f"{pdf.stem}-page"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True,
                   capture_output=True, timeout=120)
    pages = sorted(tmp_path.glob(f"{prefix.name}-*.png"))
    return [np.asarray(Image.open(p).convert("L")) for p in pages]


def pdf_text(pdf: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-layout"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60).stdout


def assert_not_blank(page: np.ndarray) -> None:
    inked = (page < 200).mean()
    assert 0.05 < inked < 0.9, f"page looks blank or solid: {inked:.3f} inked"
    assert len(np.unique(page)) > 20


@pytest.fixture(scope="module")
def context(sample_store):
    parks = sample_store.read_parks()
    return {"parks": parks, "districts": sample_store.read_districts(), "info": sample_store.dataset_info(),
            "parcels": with_metrics(sample_store.read_parcels())}


def park_row(context, park_id=PARK):
    parks = context["parks"]
    return parks.loc[parks.park_id == park_id].iloc[0]


def park_parcels(context, park_id=PARK):
    parcels = context["parcels"]
    return parcels.loc[parcels.park_id == park_id]


def test_status_map_pdf_has_title_legend_scalebar_and_cjk_text(context, tmp_path):
    out = tmp_path / "map.pdf"
    render_park_map(park_parcels(context), park_row(context), parks=context["parks"],
                    districts=context["districts"], fmt="pdf", paper="A3", orientation="landscape", dpi=300,
                    out=out, theme="status", dataset_info=context["info"])
    pages = pdf_pages_png(out, tmp_path)
    assert len(pages) == 1
    assert_not_blank(pages[0])
    text = pdf_text(out)
    assert "端州区产业园(示意)" in text  # the park's Chinese name, extractable (no tofu)
    assert "用地状态" in text and "图例" in text
    present = set(park_parcels(context).status)
    statuses = load_standards().statuses.set_index("code").label_zh
    for code in present:
        assert statuses[code] in text, f"legend lacks {statuses[code]}"
    assert re.search(r"\b\d+(\.\d+)? (m|km)\b", text), "no scale bar label"
    assert "合成示例数据" in text  # the synthetic flag from dataset_info
    assert "EPSG:4546" in text  # CRS note: Duanzhou lies in the CM 111°E zone
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    assert "NotoSansCJK" in fonts


def test_png_page_size_follows_paper_orientation_and_dpi(context):
    data = render_park_map(park_parcels(context), park_row(context), parks=context["parks"],
                           districts=context["districts"], fmt="png", paper="A4", orientation="portrait", dpi=150)
    image = Image.open(io.BytesIO(data))
    assert image.size == (int(210 / 25.4 * 150), int(297 / 25.4 * 150))  # matplotlib truncates
    assert_not_blank(np.asarray(image.convert("L")))


def test_page_furniture_is_there_and_the_map_is_in_projected_metres(context):
    parcels = park_parcels(context)
    fig = Figure()
    with matplotlib.rc_context(print_rc()):  # as render_park_map draws it: Chinese names in the CJK font
        park_page(fig, parcels, park_row(context), parks=context["parks"], districts=context["districts"],
                  spec=PageSpec("A4", "landscape", 150), theme="landuse", dataset_info=context["info"])
    gids = {a.get_gid() for a in fig.findobj() if a.get_gid()}
    assert {"title", "map", "legend", "scalebar", "north_arrow", "locator", "notes", "crs_note"} <= gids
    # The scale bar uses dx = 1 m, so the map's data units must be metres of the Gauss-Krüger zone.
    crs = projected_crs_for(gpd.GeoDataFrame(geometry=gpd.GeoSeries([park_row(context).geometry],
                                                                    crs=context["parks"].crs)))
    collection = next(a for a in fig.findobj() if a.get_gid() == "parcels")
    drawn = collection.get_datalim(collection.axes.transData).bounds  # x0, y0, width, height
    expected = parcels.to_crs(crs).total_bounds
    np.testing.assert_allclose([drawn[0], drawn[1], drawn[0] + drawn[2], drawn[1] + drawn[3]], expected, atol=1)
    bar = next(a for a in fig.findobj() if a.get_gid() == "scalebar")
    assert bar.dx == 1 and bar.units == "m"


def test_intensity_theme_classes_and_highlighted_candidates(context, tmp_path):
    parcels = park_parcels(context)
    style = theme_style(parcels, "intensity", indicator="tax_per_mu_wan", k=5)
    # the same classes as the app's map (layers.style), highest values in the darkest class
    classified = theme_colors(parcels, "tax_per_mu_wan", scheme="quantiles", k=5)
    no_data = classified.codes < 0
    assert no_data.any() and len(style.legend) == 6  # five classes + no data
    assert (style.colors[no_data] == classified.no_data_color).all()
    values = parcels.tax_per_mu_wan.to_numpy(dtype=float, na_value=np.nan)
    assert style.colors[np.nanargmax(values)] == classified.colors[-1]
    assert style.colors[np.nanargmin(values)] == classified.colors[0]
    out = tmp_path / "intensity.pdf"
    render_park_map(parcels, park_row(context), parks=context["parks"], districts=context["districts"], out=out,
                    theme="intensity", indicator="tax_per_mu_wan", lang="en",
                    highlight_ids=list(parcels.parcel_id[:3]))
    text = pdf_text(out)
    assert "Duanzhou District Industrial Park" in text and "Match candidates" in text
    assert "Tax per mu" in text


def test_status_colours_come_from_the_standards_table(context):
    parcels = park_parcels(context)
    style = theme_style(parcels, "status")
    table = load_standards().statuses.set_index("code").color
    np.testing.assert_array_equal(style.colors, parcels.status.map(table).to_numpy())


def test_bad_page_options_are_one_line_errors(context):
    with pytest.raises(ParkAtlasError, match="paper"):
        PageSpec("A5")
    with pytest.raises(ParkAtlasError, match="dpi"):
        PageSpec("A4", "portrait", 5000)
    with pytest.raises(ParkAtlasError, match="theme"):
        theme_style(park_parcels(context), "heat")


def test_polygon_paths_keep_holes_and_split_multipolygons():
    square = shapely.box(0, 0, 10, 10)
    holed = shapely.Polygon(square.exterior.coords, [shapely.box(2, 2, 4, 4).exterior.coords])
    multi = shapely.MultiPolygon([shapely.box(20, 0, 21, 1), shapely.box(30, 0, 31, 1)])
    paths, owner = polygon_paths([holed, shapely.Polygon(), multi])
    assert owner.tolist() == [0, 2, 2]
    assert len(paths) == 3
    assert (paths[0].codes == 1).sum() == 2  # two MOVETOs: exterior and hole
    fig = Figure(figsize=(1, 1), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1), xlim=(0, 10), ylim=(0, 10))
    draw_polygons(ax, [holed], facecolor=["#000000"], edgecolor="none")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    pixels = np.asarray(Image.open(buffer).convert("L"))
    assert pixels[100 - 50, 50] == 0  # filled
    assert pixels[100 - 30, 30] == 255  # the hole stays empty


def test_north_arrow_convergence_matches_pyproj():
    for lon, lat, crs in [(112.47, 23.05, "EPSG:4546"), (112.83, 23.33, "EPSG:4547"), (114.0, 23.0, "EPSG:4547")]:
        expected = Proj(crs).get_factors(lon, lat).meridian_convergence
        assert abs(abs(grid_convergence_deg(lon, lat, crs)) - abs(expected)) < 0.01
    assert abs(grid_convergence_deg(114.0, 23.0, "EPSG:4547")) < 1e-6


def test_atlas_has_a_page_per_park_with_kpis_and_reports_progress(context, tmp_path):
    chosen = ["dz_park", "gn_hitech", "fk_changgang"]
    calls = []
    out = tmp_path / "atlas.pdf"
    pages = render_atlas(context["parcels"], context["parks"], context["districts"], out, park_ids=chosen,
                         dataset_info=context["info"], progress=lambda *a: calls.append(a))
    assert pages == 3
    names = context["parks"].set_index("park_id").name_zh
    order = context["parks"].park_id[context["parks"].park_id.isin(chosen)].tolist()
    assert calls == [(i + 1, 3, names[p]) for i, p in enumerate(order)]
    rasters = pdf_pages_png(out, tmp_path)
    assert len(rasters) == 3
    kpis = park_kpis(context["parcels"], context["parks"]).set_index("park_id")
    for number, park_id in enumerate(order, start=1):
        assert_not_blank(rasters[number - 1])
        text = pdf_text(out, number)
        assert names[park_id] in text and "园区指标" in text
        assert f"{int(kpis.loc[park_id, 'parcel_count']):,}" in text
        assert f"{kpis.loc[park_id, 'available_area_mu']:,.0f} 亩" in text


def test_atlas_rejects_an_unknown_park(context, tmp_path):
    with pytest.raises(NotFoundError, match="nowhere"):
        render_atlas(context["parcels"], context["parks"], context["districts"], tmp_path / "a.pdf",
                     park_ids=["nowhere"])


def test_factsheets_one_page_per_parcel_with_area_thresholds_and_contact(context, tmp_path):
    available = available_parcels(park_parcels(context))
    ids = available.parcel_id[:2].tolist()
    out = tmp_path / "sheets.pdf"
    assert render_factsheets(context["parcels"], context["parks"], context["districts"], out, parcel_ids=ids,
                             dataset_info=context["info"]) == 2
    park = park_row(context)
    rasters = pdf_pages_png(out, tmp_path)
    for number, pid in enumerate(ids, start=1):
        assert_not_blank(rasters[number - 1])
        text = pdf_text(out, number)
        row = available.set_index("parcel_id").loc[pid]
        assert "地块推介单" in text and pid in text
        assert f"{row.area_mu:,.1f} 亩" in text
        assert f"≥ {park.min_investment_wan_per_mu:,.0f} 万元/亩" in text
        assert str(park.contact) in text and "净地" in text and "国家最低容积率" in text


def test_factsheet_for_a_candidate_block_and_unknown_parcel(context, tmp_path):
    parcels = park_parcels(context)
    block = parcels.iloc[:2]
    candidates = gpd.GeoDataFrame({"parcel_ids": [block.parcel_id.tolist()], "park_id": [PARK]},
                                  geometry=[block.union_all()], crs=parcels.crs)
    sites = sites_from_candidates(candidates)
    assert sites.site_id.tolist() == [f"{block.parcel_id.iloc[0]} +1"]
    out = tmp_path / "block.pdf"
    assert render_factsheets(context["parcels"], context["parks"], context["districts"], out, sites=sites) == 1
    text = pdf_text(out)
    assert f"{block.area_mu.sum():,.1f} 亩" in text
    with pytest.raises(NotFoundError, match="no-such-parcel"):
        sites_from_parcels(parcels, ["no-such-parcel"])
