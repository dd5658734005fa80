"""Web-map building blocks: i18n, classification, the JS-styled feature layer, offline assets, escaping."""
from __future__ import annotations

import json
import re

import folium
import numpy as np
import pytest

from geo import i18n
from geo.metrics import with_metrics
from geo.testing import make_parcels
from layers import assets, style, webmap

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def hitech(sample_parcels):
    parcels = with_metrics(sample_parcels)
    return parcels.loc[parcels.park_id == "zq_hitech"].reset_index(drop=True)


def embedded_features(page: str) -> dict:
    """The FeatureCollection of the parcels layer as the browser will parse it."""
    match = re.search(r"var data = (\{\"type\":\"FeatureCollection\".*?\});\n\s*var cls", page, re.S)
    assert match, "no embedded feature collection"
    return json.loads(match.group(1))


# --- i18n -------------------------------------------------------------------------------------

def test_catalogues_have_the_same_keys():
    assert set(i18n.catalogue("zh")) == set(i18n.catalogue("en"))


def test_english_catalogue_writes_areas_in_mu_and_money_in_10k_yuan():
    """English labels carry English units (issue 19): "mu" and "10k yuan", never 亩/万元/亿元 or "wan", and the
    亩均 grade is the "per-mu grade" (not "Mu grade")."""
    chinese_units = {k: v for k, v in i18n.catalogue("en").items() if re.search(r"亩|万元|亿元|\bwan\b|\bMu\b", v)}
    assert chinese_units == {}
    assert i18n.t("col.grade", "en") == "Per-mu grade" and i18n.t("unit.wan_per_mu", "en") == "10k yuan/mu"


def test_labels_come_from_the_standards_tables(sample_store):
    assert i18n.label_status("available", "zh") == "可供地"
    assert i18n.label_status("available", "en") == "Available"
    assert i18n.label_land_use("100102", "zh") == "二类工业用地"
    assert sample_store.read_city().group_name("west", "en") == "4 western parks"
    assert i18n.t("park.summary", "en", n=3, area="1.5", as_of="2026-01-01") == \
        "3 parcels, 1.5 mu, data as of 2026-01-01"


def test_every_parcel_column_and_metric_has_a_label():
    from geo.metrics import PARCEL_METRICS
    from geo.schema import PARCEL_COLUMNS

    for lang in i18n.LANGS:
        for column in [*PARCEL_COLUMNS, *PARCEL_METRICS, "grade"]:
            assert i18n.label_field(column, lang) != column


def test_number_formats():
    assert i18n.format_number(1234567.891, "zh", 1) == "1,234,567.9"
    assert i18n.format_area_mu(12.5, "zh") == "12.5 亩"
    assert i18n.format_area_mu(12.5, "en") == "12.5 mu"
    assert i18n.format_wan(3.25, "zh", 2, per_mu=True) == "3.25 万元/亩"
    assert i18n.format_number(float("nan"), "zh") == "–"
    assert i18n.format_percent_value(0.4236, "en") == "42.4%"
    assert list(i18n.format_numbers([1234.56, np.nan], "zh", 1)) == ["1,234.6", "–"]


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="unknown language"):
        i18n.t("page.park", "fr")


# --- classification ---------------------------------------------------------------------------

def test_status_theme_uses_standard_colours(hitech):
    classified = style.theme_colors(hitech, "status", lang="en")
    assert classified.labels[0] == "Occupied" and classified.colors[0] == "#8c8c8c"
    assert len(classified.codes) == len(hitech)
    expected = hitech.status.value_counts()
    counts = dict(zip(style.load_standards().statuses.code, classified.counts()))
    assert all(counts[s] == n for s, n in expected.items())


@pytest.mark.parametrize("scheme", style.SCHEMES)
def test_intensity_theme_is_classified_with_mapclassify(hitech, scheme):
    classified = style.theme_colors(hitech, "output_per_mu_wan", scheme=scheme, k=5)
    values = hitech.output_per_mu_wan.to_numpy(dtype=float, na_value=np.nan)
    assert len(classified.colors) == 5
    assert ((classified.codes == -1) == ~np.isfinite(values)).all()
    # Classes are ordered: a higher class never holds a smaller value than a lower one.
    valid = classified.codes >= 0
    maxima = [values[valid][classified.codes[valid] == c].max() for c in range(5)]
    minima = [values[valid][classified.codes[valid] == c].min() for c in range(5)]
    assert all(maxima[c] <= minima[c + 1] for c in range(4))


def test_map_legend_carries_labels_as_script_safe_text(hitech):
    classified = style.Classified("status", np.array([0, -1]), ["#000000"], [XSS])
    items = style.legend_items(classified, "en")
    assert items == [("#000000", f"{XSS} (1)"), ("#e8e8e8", "No data (1)")]
    many = style.Classified("status", np.zeros(1302, dtype=int), ["#000000"], ["已投产"])
    assert style.legend_items(many, "zh") == [("#000000", "已投产 (1,302)")]  # counts grouped like every count
    m = folium.Map()
    webmap.MapLegend(items, "</script><b>{{ 7*7 }}</b>").add_to(m)
    page = m.get_root().render()
    assert XSS not in page and "</b>" not in page  # no markup from the labels
    assert "{{ 7*7 }}" in page  # the title reached the page verbatim: Jinja did not evaluate it
    assert "\\u003cimg src=x onerror=alert(1)\\u003e (1)" in page
    script = page[page.index("var title = "):]
    assert ".textContent = title" in script and "innerHTML" not in script


def test_park_map_parts_put_the_theme_legend_in_the_overlay(hitech):
    parts = webmap.park_map_parts(hitech, theme="status", lang="en")
    legends = [c for c in parts.overlay._children.values() if isinstance(c, webmap.MapLegend)]
    assert len(legends) == 1  # swapped with the themed parcels, not pinned to the base map
    assert legends[0].title == '"Status"'
    assert not [c for c in parts.base._children.values() if isinstance(c, webmap.MapLegend)]


# --- feature layer ----------------------------------------------------------------------------

def test_features_are_rounded_minimal_and_indexed(hitech):
    data = json.loads(webmap.features_json(hitech, hitech.parcel_id, hitech.parcel_id))
    features = data["features"]
    assert len(features) == len(hitech)
    assert [f["properties"]["i"] for f in features[:3]] == [0, 1, 2]
    assert set(features[0]["properties"]) == {"i", "id", "t"}
    assert "bbox" not in features[0] and "bbox" not in data
    coords = np.array(features[0]["geometry"]["coordinates"][0])
    assert np.allclose(coords, coords.round(5), atol=0)


def test_hostile_values_cannot_break_out_of_the_script():
    hostile = "</script><script>alert(1)</script>`${document.title=1}`" + XSS
    parcels = with_metrics(make_parcels([(0, 0, 100, 100)], enterprise=hostile, parcel_id=["P<1>"]))
    m = webmap.park_map(parcels, theme="status", lang="en")
    page = assets.standalone_html(m)
    assert "</script><script>alert(1)" not in page
    assert XSS not in page and "`${" not in page
    features = embedded_features(page)["features"]
    # The browser still gets the exact text, to show with textContent.
    assert hostile in features[0]["properties"]["t"]
    assert features[0]["properties"]["id"] == "P<1>"
    own_script = m.get_root().render()  # without the inlined Leaflet
    assert "textContent" in own_script and "innerHTML" not in own_script


def parse_elements(markup: str) -> list[tuple[str, dict, str]]:
    """``(tag, attributes, text)`` of each element of ``markup``, as a browser's parser reads them."""
    from html.parser import HTMLParser

    found = []

    class Reader(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs), ""))

        def handle_data(self, data):
            tag, attrs, text = found[-1]
            found[-1] = (tag, attrs, text + data)

    Reader(convert_charrefs=True).feed(markup)
    return found


def test_features_travel_in_a_page_carrier_that_hostile_values_cannot_break():
    hostile = '"><script>alert(1)</script>' + XSS
    parcels = with_metrics(make_parcels([(0, 0, 100, 100)], enterprise=hostile, parcel_id=['P"1'],
                                        park_id="p1"))
    features = webmap.features_json(parcels, parcels.parcel_id, webmap.parcel_labels(parcels, "en"))
    key, carrier = webmap.features_carrier(features)
    assert re.fullmatch(r"[0-9a-f]{24}", key) and webmap.features_carrier(features)[0] == key
    # One element whose text is the features: nothing in them can open markup or close the element.
    assert carrier.count("<") == 2 and carrier.count(">") == 2 and "<script" not in carrier
    parsed = parse_elements(carrier)
    assert [(tag, attrs) for tag, attrs, _ in parsed] == [
        ("div", {"hidden": None, "style": "display:none", webmap.CARRIER_ATTR: key})]
    assert json.loads(parsed[0][2]) == json.loads(features)
    assert hostile in json.loads(parsed[0][2])["features"][0]["properties"]["t"]
    assert carrier._repr_html_() == carrier  # handed to st.html verbatim (no dedent of 1 MB per run)
    # The overlay refers to the carrier by key instead of carrying the features.
    parts = webmap.park_map_parts(parcels, features=features, features_ref=key, lang="en")
    overlay = parts.combined().get_root().render()
    assert f'var ref = "{key}";' in overlay and 'var data = null;' in overlay and "P\\\"1" not in overlay
    assert webmap.CARRIER_ATTR in overlay


def test_parcels_are_styled_in_javascript_on_canvas(hitech):
    m = webmap.park_map(hitech, theme="status", lang="zh")
    page = m.get_root().render()
    assert '"preferCanvas": true' in page
    assert "L.geoJSON(data" in page and "palette[c]" in page
    # One style function for all features, not one style per feature.
    assert page.count("fillColor") == 1
    classes = re.search(r"var cls = (\[.*?\]);", page).group(1)
    assert len(json.loads(classes)) == len(hitech)


def test_highlight_marks_exactly_the_given_parcels(hitech):
    ids = hitech.parcel_id.iloc[[3, 5]].tolist()
    parts = webmap.park_map_parts(hitech, theme="status", highlight_ids=ids)
    page = parts.combined().get_root().render()
    flags = json.loads(re.search(r"var hl = (\[.*?\]);", page).group(1))
    assert [i for i, f in enumerate(flags) if f] == [3, 5]


def test_clicked_id_is_validated():
    state = {"last_active_drawing": {"type": "Feature", "properties": {"id": "P1", "i": 0}}}
    assert webmap.clicked_id(state, ["P1", "P2"]) == "P1"
    assert webmap.clicked_id(state, ["P2"]) is None
    assert webmap.clicked_id({"last_active_drawing": None}) is None
    assert webmap.clicked_id(None) is None


def test_city_map_colours_parks_by_group(sample_parks, sample_store):
    m = webmap.city_map(sample_parks, sample_store.read_districts(), lang="en", city=sample_store.read_city())
    page = m.get_root().render()
    classes = json.loads(re.search(r'var cls = (\[.*?\]);\s*var palette = \["#d62728"', page).group(1))
    assert classes == [("platform", "east", "west").index(g) for g in sample_parks.group]


def test_basemaps():
    assert webmap.basemap_layer("none") is None
    assert "openstreetmap" in webmap.basemap_layer("osm").tiles
    assert "tk=KEY" in webmap.basemap_layer("tianditu", tianditu_key="KEY").tiles
    with pytest.raises(ValueError, match="tk key"):
        webmap.basemap_layer("tianditu")
    with pytest.raises(ValueError, match="unknown basemap"):
        webmap.basemap_layer("amap")


# --- offline assets ---------------------------------------------------------------------------

def test_app_maps_load_leaflet_from_the_app_only(hitech):
    m = webmap.park_map(hitech)
    urls = [url for _, url in m.default_js + m.default_css]
    assert urls == ["/app/static/leaflet/leaflet.js", "/app/static/leaflet/leaflet.css"]
    assert all((assets.STATIC_DIR / url.removeprefix("/app/static/")).exists() for url in urls)


def test_standalone_html_is_self_contained(hitech):
    page = assets.standalone_html(webmap.park_map(hitech, theme="grade"))
    outside_leaflet = page.replace(assets._inline_leaflet(), "")
    assert assets.external_urls(outside_leaflet) == []
    assert "<script src=" not in page and 'rel="stylesheet" href' not in page
    assert "Leaflet 1.9.4" in page and "data:image/png;base64," in page


def test_standalone_html_refuses_unknown_external_assets(hitech):
    m = webmap.park_map(hitech)
    m.default_js = m.default_js + [("plugin", "https://cdn.example.com/plugin.js")]
    with pytest.raises(assets.ParkAtlasError, match="external asset"):
        assets.standalone_html(m)


def test_data_is_never_evaluated_as_a_template():
    # branca compiles rendered scripts as Jinja templates; data must not reach that path.
    hostile = "{{ 7*7 }}{% for x in range(3) %}loop{% endfor %}"
    parcels = with_metrics(make_parcels([(0, 0, 100, 100)], enterprise=hostile))
    page = assets.standalone_html(webmap.park_map(parcels, theme="status", lang="zh"))
    assert embedded_features(page)["features"][0]["properties"]["t"].split("\n")[1] == hostile
