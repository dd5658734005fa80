"""Print and export details of issue 19: locator names that do not overlap, the offline HTML
map's title and candidate legend, fact-sheet file names, one meaning of 可供地 on an atlas page."""
from __future__ import annotations

import itertools
import re

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from geo.metrics import with_metrics  # noqa: E402
from layers.factsheet import factsheet_file_name  # noqa: E402
from layers.print_map import draw_locator, kpi_rows, print_rc, render_park_html  # noqa: E402


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_locator_names_do_not_overlap(sample_store, sample_parks, lang):
    districts = sample_store.read_districts()
    with matplotlib.rc_context(print_rc()):
        fig = plt.figure(figsize=(1.9, 1.6), dpi=200)  # the atlas's inset size
        ax = fig.add_axes([0, 0, 1, 1])
        park = sample_parks.loc[sample_parks.park_id == "zq_hitech"].geometry
        draw_locator(ax, districts, park, "EPSG:4547", lang)
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    names = [a for a in ax.texts if a.get_text()]
    boxes = [a.get_window_extent(renderer) for a in names]
    assert len(names) >= 6  # at most a couple left out where nothing fits
    assert not [(a.get_text(), b.get_text()) for (a, x), (b, y) in itertools.combinations(zip(names, boxes), 2)
                if x.overlaps(y)]
    plt.close(fig)


def test_english_locator_names_zhaoqing_districts_in_english(sample_store, sample_parks):
    from geo.city import pinyin_name

    districts = sample_store.read_districts()
    park = sample_parks.loc[sample_parks.park_id == "zq_hitech"].geometry
    # A store whose districts carry no English names (made before them) gets pinyin names instead.
    for frame in (districts, districts.assign(name_en=None)):
        with matplotlib.rc_context(print_rc()):
            fig = plt.figure(figsize=(6, 5), dpi=100)
            ax = fig.add_axes([0, 0, 1, 1])
            draw_locator(ax, frame, park, "EPSG:4547", "en")
        labels = {a.get_text() for a in ax.texts}
        assert {"Duanzhou District", "Dinghu District", "Sihui City", "Huaiji County"} <= labels
        assert not [t for t in labels if re.search(r"[\u4e00-\u9fff]", t)]
        plt.close(fig)
    assert pinyin_name("东城区") == "Dongcheng District" and pinyin_name("西安市", prefecture=True) == "Xi'an"


def test_offline_html_map_has_a_title_and_a_legend_entry_for_candidates(sample_store, sample_parks):
    parcels = with_metrics(sample_store.read_parcels("dz_park"))
    park = sample_parks.loc[sample_parks.park_id == "dz_park"]
    page = render_park_html(parcels, lang="en", highlight_ids=list(parcels.parcel_id[:3]), context=park)
    assert re.findall(r"<title>(.*?)</title>", page) == [
        "Duanzhou District Industrial Park (illustrative) · Status · ParkAtlas"]
    assert "Match candidates (3)" in page


def test_fact_sheet_file_names_name_every_park_covered():
    assert factsheet_file_name(["dz_park"], "zh") == "factsheets_dz_park_zh.pdf"
    assert factsheet_file_name(["dz_park", "zq_hitech", "dz_park", "gn_hitech"], "en") == \
        "factsheets_dz_park+zq_hitech+gn_hitech_en.pdf"
    assert factsheet_file_name([f"p{i}" for i in range(5)], "zh") == "factsheets_5_parks_zh.pdf"


def test_available_on_an_atlas_page_says_which_statuses_it_sums(sample_store, sample_parks):
    from geo.metrics import park_kpis

    kpis = park_kpis(with_metrics(sample_store.read_parcels()), sample_parks).iloc[0]
    labels = [label for label, _ in kpi_rows(kpis, "zh")]
    assert "可供地＋批而未供" in labels and "可供地" not in labels  # the status alone is a legend entry
    assert "Available + Approved not supplied" in [label for label, _ in kpi_rows(kpis, "en")]


def test_atlas_and_fact_sheets_refuse_unknown_ids_in_the_pages_words(sample_parcels, sample_parks):
    """The Export page shows these refusals through the catalogue (keyed), not the CLI's English line."""
    import io

    from geo.errors import KeyedNotFound
    from layers.atlas import render_atlas
    from layers.factsheet import sites_from_parcels

    with pytest.raises(KeyedNotFound, match="unknown park 'nowhere'") as park:
        render_atlas(sample_parcels, sample_parks, None, io.BytesIO(), park_ids=["nowhere"])
    assert (park.value.key, park.value.values) == ("store.not_found.park", {"park": "nowhere"})
    with pytest.raises(KeyedNotFound, match="unknown parcel 'nope'") as parcel:
        sites_from_parcels(sample_parcels, ["nope"])
    assert (parcel.value.key, parcel.value.values) == ("store.not_found.parcel", {"ids": ["nope"]})
