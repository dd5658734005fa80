"""Interactive web maps (folium/Leaflet) of the city and of one park.

Why not folium's per-feature ``style_function`` on ``GeoJson``: folium then ships one style per feature and
Leaflet matches them feature by feature, which grows quadratically in the browser (100k
parcels ≈ 80 s). Here every layer is a :class:`FeatureLayer`: features carry only their row
index ``i``, an ``id`` and a short label ``t``; the browser looks the colour up in a palette by
class index, on Leaflet's canvas renderer (``preferCanvas``). Coordinates are rounded to
1e-5° (≈1 m) and no per-feature bbox is written.

Labels are shown with ``textContent`` (never ``innerHTML``), and the JSON embedded in the
page escapes ``<``, ``>``, ``&`` and backticks, so a value such as
``<img src=x onerror=alert(1)>`` is displayed as text and ``</script>`` cannot end the script.

For Streamlit the map comes in two parts (:class:`MapParts`): a ``base`` map that stays the
same for a park (context outlines, extent) and an ``overlay`` feature group holding the
themed parcels, which streamlit-folium swaps without re-mounting the map, so centre and
zoom survive theme and filter changes.
"""
from __future__ import annotations

import functools
import hashlib
import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from branca.element import Element
from folium.elements import MacroElement
from folium.template import Template

from geo import i18n
from layers.assets import APP_STATIC_URL, use_app_assets
from layers.style import GROUP_PALETTE, Classified, legend_items, theme_colors

#: Decimal places kept in coordinates: 1e-5° is about 1 m at southern China's latitudes.
COORD_PRECISION = 5
BACKGROUND = "#f4f3ee"
#: Outline of highlighted parcels (match candidates, available land).
HIGHLIGHT_COLOR = "#00e5ff"
#: The view of a map with nothing to fit and no city home view (lon/lat).
CHINA_BOUNDS = (73.5, 18.0, 135.0, 53.5)
BASEMAPS = ("none", "osm", "tianditu", "intranet")
_TILE_URLS = {
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors", None),
    "tianditu": ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                 "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
                 "&TILECOL={x}&tk={tk}", "© 天地图 Tianditu", "01234567"),
}
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "`": "\\u0060",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value) -> str:
    """``value`` (any JSON-able value, strings included) as JSON safe inside an inline ``<script>``."""
    return _script_safe(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _script_safe(text: str) -> str:
    """Escape JSON text so that it cannot close a ``<script>`` or open markup."""
    for char, escaped in _JSON_ESCAPES.items():
        text = text.replace(char, escaped)
    return text


def features_json(frame: gpd.GeoDataFrame, ids: Sequence[str], labels: Sequence[str]) -> str:
    """A script-safe GeoJSON FeatureCollection with properties ``i`` (row), ``id`` and ``t`` (label).

    Coordinates are rounded to :data:`COORD_PRECISION` decimals; no bbox is written.
    """
    lonlat = frame.geometry if _leaflet_ready(frame.crs) else frame.geometry.to_crs(4326)
    geoms = shapely.transform(lonlat.to_numpy(), lambda xy: np.round(xy, COORD_PRECISION))
    geometry = shapely.to_geojson(geoms)
    props = [json.dumps({"i": i, "id": pid, "t": label}, ensure_ascii=False, separators=(",", ":"))
             for i, (pid, label) in enumerate(zip(map(str, ids), map(str, labels)))]
    body = ",".join(f'{{"type":"Feature","properties":{p},"geometry":{g}}}'
                    for p, g in zip(props, geometry))
    return _script_safe('{"type":"FeatureCollection","features":[' + body + "]}")


#: Attribute naming the page element that carries a layer's features (:func:`features_carrier`).
CARRIER_ATTR = "data-parkatlas-features"


def features_carrier(data: str) -> tuple[str, str]:
    """``(key, html)``: a hidden element holding ``data`` (:func:`features_json`) under ``key``.

    A :class:`FeatureLayer` given ``data_ref=key`` reads its features from that element, in its
    own document or in the page that frames it, instead of carrying them in its script. Why:
    streamlit-folium sends the map's whole script again on every rerun that changes the overlay
    (a theme, a filter), and the park's features were nearly all of it (1 MB for 2,600 parcels):
    a page that puts the carrier element next to the map sends the features once, and a rerun
    with the same features sends Streamlit's reference to the element it already has.
    ``key`` is a digest of ``data``, so other features get another element. The features are
    the element's text (HTML-escaped; the JSON has no ``<``, ``>`` or ``&`` left, see
    :func:`features_json`), not an attribute value: an attribute escaped every quote of the
    JSON as ``&quot;``, 1.19 MB instead of 0.88 MB for the largest park and its districts, which
    the server, the WebSocket, Streamlit's sanitiser and the browser's parser all went through.
    """
    key = hashlib.blake2b(data.encode("utf-8"), digest_size=12).hexdigest()
    return key, PageHtml(f'<div hidden style="display:none" {CARRIER_ATTR}="{key}">'
                         f'{html.escape(data, quote=False)}</div>')


class PageHtml(str):
    """HTML text to be shown as it is.

    Its ``_repr_html_`` (the IPython rich-display protocol) hands it over unchanged, so a
    front end that would otherwise dedent and strip a plain string (``st.html`` does: 20 ms per
    run on the park's 1 MB carrier) takes it verbatim.
    """

    def _repr_html_(self) -> str:
        return str(self)


@dataclass(frozen=True)
class CarrierRef:
    """Context features that the page shows in a :func:`features_carrier` element with this ``key``."""

    key: str


class RawHtml(Element):
    """Text added to a page verbatim.

    branca's ``Element(text)`` compiles ``text`` as a Jinja template, and
    ``MacroElement.render`` wraps every rendered script that way: data containing ``{{ … }}``
    would be evaluated on the server (template injection) and a large layer would be lexed
    by Jinja on every render. Everything here that carries data goes through this class.
    """

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


class VerbatimScript(MacroElement):
    """A ``MacroElement`` whose rendered script is added to the page verbatim (see :class:`RawHtml`)."""

    def render(self, **kwargs) -> None:
        script = self._template.module.__dict__["script"]
        self.get_root().script.add_child(RawHtml(script(self, kwargs)), name=self.get_name())


class FeatureLayer(VerbatimScript):
    """GeoJSON features styled in the browser by class index (see the module docstring).

    Parameters
    ----------
    data : str
        Output of :func:`features_json`.
    classes : sequence of int, optional
        Class per feature row (``-1``: no data); ``None`` draws every feature in ``palette[0]``.
    palette : list of str
        Fill colour per class.
    highlight : sequence of bool, optional
        Features to outline and bring to the front; the others are dimmed.
    role : str
        Name under which the layer is registered in ``window.parkatlasLayers`` (tests, exports);
        ``window.parkatlasTimings[role]`` gets ``{features, build_ms, paint_ms, painted_at}`` once
        painted (``painted_at``: ``performance.now()`` of the frame that paints it).
    interactive : bool
        Tooltip on hover and clicks reported to the app; context layers are not interactive.
    data_ref : str, optional
        Instead of ``data``: the key of a :func:`features_carrier` element on the page (or the
        page framing the map); the layer fills once the element is there and keeps the parsed
        features in its window for the next overlay with the same key.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
    var started = performance.now();
    var data = {{ this.data }};
    var cls = {{ this.classes }};
    var palette = {{ this.palette }};
    var hl = {{ this.highlight }};
    var o = {{ this.options }};
    var layer = L.geoJSON(data, {
        interactive: o.interactive,
        style: function (f) {
            var i = f.properties.i, c = cls ? cls[i] : 0;
            var s = {color: o.color, weight: o.weight, opacity: o.opacity, fill: o.fill,
                     fillColor: c >= 0 ? palette[c] : o.noData, fillOpacity: o.fillOpacity};
            if (hl) {
                if (hl[i]) { s.color = o.highlightColor; s.weight = o.highlightWeight; s.opacity = 1; }
                else { s.fillOpacity = o.dimOpacity; s.opacity = o.dimOpacity; }
            }
            return s;
        }
    });
    if (o.interactive) {
        layer.bindTooltip(function (l) {
            var div = document.createElement("div");
            div.style.whiteSpace = "pre";
            div.textContent = l.feature.properties.t;
            return div;
        }, {sticky: true});
    }
    layer.addTo({{ this._parent.get_name() }});
    function ready() {
        if (hl) { layer.eachLayer(function (l) { if (hl[l.feature.properties.i]) { l.bringToFront(); } }); }
        window.parkatlasLayers = window.parkatlasLayers || {};
        window.parkatlasLayers[{{ this.role_json }}] = layer;  // registered with its features
        // Build and first-paint times (ms) for benchmarks: the canvas paints on the next frame.
        // painted_at is on this page's clock, so navigation start → paint needs no polling.
        var built = performance.now() - started;
        window.parkatlasTimings = window.parkatlasTimings || {};
        requestAnimationFrame(function () {
            var now = performance.now();
            window.parkatlasTimings[{{ this.role_json }}] = {
                features: layer.getLayers().length, build_ms: built, paint_ms: now - started, painted_at: now};
        });
    }
    var ref = {{ this.data_ref }};  // features carried by the page (features_carrier), not in data
    if (ref === null) {
        ready();
    } else {
        (function fromCarrier(tries) {
            var kept = window.parkatlasFeatures || {};
            if (!kept[ref] && Object.keys(kept).length > 8) { kept = {}; }  // other data revisions
            if (!kept[ref]) {
                var docs = [document];
                try { if (window.parent !== window) { docs.push(window.parent.document); } } catch (e) {}
                for (var d = 0; d < docs.length && !kept[ref]; d++) {
                    var carrier = docs[d].querySelector("[{{ this.carrier_attr }}='" + ref + "']");
                    if (carrier) { kept[ref] = JSON.parse(carrier.textContent); }
                }
                window.parkatlasFeatures = kept;
            }
            if (kept[ref]) { layer.addData(kept[ref]); ready(); }
            else if (tries < 1200) { setTimeout(function () { fromCarrier(tries + 1); }, 25); }
        })(0);
    }
    return layer;
})();
{% endmacro %}
""")

    def __init__(self, data: str | None, *, classes: Sequence[int] | None = None,
                 palette: Sequence[str] = ("#3388ff",), highlight: Sequence[bool] | None = None,
                 role: str = "features", interactive: bool = True, color: str = "#555555",
                 weight: float = 0.6, opacity: float = 1.0, fill: bool = True,
                 fill_opacity: float = 0.75, no_data_color: str = "#e8e8e8", data_ref: str | None = None):
        super().__init__()
        self._name = "FeatureLayer"
        if (data is None) == (data_ref is None):
            raise ValueError("give a FeatureLayer either data or data_ref")
        self.data = "null" if data is None else data
        self.data_ref = script_json(data_ref)
        self.carrier_attr = CARRIER_ATTR
        self.classes = "null" if classes is None else script_json(np.asarray(classes, dtype=int).tolist())
        self.palette = script_json(list(palette))
        self.highlight = "null" if highlight is None else script_json(
            np.asarray(highlight, dtype=bool).astype(int).tolist())
        self.role_json = script_json(role)
        self.options = script_json({
            "interactive": interactive, "color": color, "weight": weight, "opacity": opacity,
            "fill": fill, "fillOpacity": fill_opacity, "noData": no_data_color,
            "highlightColor": HIGHLIGHT_COLOR, "highlightWeight": 2.5, "dimOpacity": 0.25,
        })


class MapLegend(VerbatimScript):
    """A legend box in a corner of the map, added to the map or to a feature group.

    It is a Leaflet layer: added to the overlay feature group, it comes and goes with the
    themed parcels when streamlit-folium swaps the overlay. Title and labels are set with
    ``textContent`` (never ``innerHTML``), colours through the style API, so a label such as
    ``<img src=x onerror=alert(1)>`` is shown as text.

    Parameters
    ----------
    items : sequence of (str, str)
        ``(colour, label)`` pairs, e.g. :func:`layers.style.legend_items`.
    title : str
        Shown above the items.
    position : str
        Leaflet control corner.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
    var title = {{ this.title }};
    var items = {{ this.items }};
    var control = L.control({position: {{ this.position }}});
    control.onAdd = function () {
        var box = L.DomUtil.create("div", "leaflet-control parkatlas-legend");
        box.style.cssText = "background:white;padding:6px 8px;border:1px solid #999;font:12px sans-serif;"
            + "line-height:18px;max-height:40vh;overflow:auto";
        L.DomUtil.create("b", "", box).textContent = title;
        items.forEach(function (item) {
            var row = L.DomUtil.create("div", "", box);
            var swatch = L.DomUtil.create("span", "", row);
            swatch.style.cssText = "display:inline-block;width:12px;height:12px;margin-right:6px;"
                + "vertical-align:-2px;border:1px solid #666";
            swatch.style.background = item[0];
            row.appendChild(document.createTextNode(item[1]));
        });
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
    };
    var Legend = L.Layer.extend({
        onAdd: function (map) { control.addTo(map); },
        onRemove: function () { control.remove(); }
    });
    var legend = new Legend();
    legend.addTo({{ this._parent.get_name() }});
    return legend;
})();
{% endmacro %}
""")

    def __init__(self, items: Sequence[tuple[str, str]], title: str, *, position: str = "bottomright"):
        super().__init__()
        self._name = "MapLegend"
        self.items = script_json([[str(color), str(label)] for color, label in items])
        self.title = script_json(str(title))
        self.position = script_json(position)


class RankMarks(VerbatimScript):
    """Candidates' ranks drawn on the map: a numbered disc at each candidate (the chosen one red).

    Ranks are integers and positions numbers (JSON), set with ``textContent``: no data becomes markup.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
    var marks = {{ this.marks }};
    var group = L.layerGroup();
    marks.forEach(function (m) {
        var box = document.createElement("div");
        box.textContent = String(m[2]);
        box.style.cssText = "width:22px;height:22px;border-radius:11px;text-align:center;font:bold 12px/20px "
            + "sans-serif;border:2px solid white;box-shadow:0 0 3px #333;color:white;background:"
            + (m[3] ? "#d62728" : "#1f4e9c");
        var icon = L.divIcon({html: box, className: "parkatlas-rank", iconSize: [22, 22], iconAnchor: [11, 11]});
        L.marker([m[0], m[1]], {icon: icon, interactive: false, keyboard: false,
                                zIndexOffset: m[3] ? 1000 : 0}).addTo(group);
    });
    group.addTo({{ this._parent.get_name() }});
    return group;
})();
{% endmacro %}
""")

    def __init__(self, lat, lon, ranks, chosen=None):
        super().__init__()
        self._name = "RankMarks"
        self.marks = script_json([[round(float(y), 6), round(float(x), 6), int(r), bool(int(r) == chosen)]
                                  for y, x, r in zip(lat, lon, ranks)])


def candidate_marks(candidates: gpd.GeoDataFrame, overlay, *, lang: str = i18n.DEFAULT_LANG,
                    chosen: int | None = None) -> None:
    """Add ranked candidates to a map ``overlay``: a rank disc on each and a legend entry for them."""
    points = candidates.geometry.representative_point().to_crs(4326)
    RankMarks(points.y, points.x, candidates["rank"], chosen).add_to(overlay)
    MapLegend([(HIGHLIGHT_COLOR, i18n.t("map.candidates", lang)), ("#d62728", i18n.t("map.chosen", lang))],
              i18n.t("map.candidates_title", lang), position="bottomleft").add_to(overlay)


def focus_bounds(frame: gpd.GeoDataFrame, margin: float = 0.15) -> tuple[float, float, float, float]:
    """Lon/lat bounds of ``frame`` widened by ``margin`` of their size (at least ~300 m) for a map view."""
    minx, miny, maxx, maxy = lonlat_bounds(frame)
    dx, dy = max((maxx - minx) * margin, 0.003), max((maxy - miny) * margin, 0.003)
    return minx - dx, miny - dy, maxx + dx, maxy + dy


class _FitBounds(MacroElement):
    """Fit the map to bounds at once (folium's FitBounds animates, and a view set by the user
    during that animation would be overridden when it ends).

    A map in a hidden Streamlit tab loads in a frame of no size: fitted then, it sits at world
    zoom. So a map that has no size yet is fitted again the first time it gets one.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function (map, bounds) {
    const container = map.getContainer();
    const sized = () => container.clientWidth > 0 && container.clientHeight > 0;
    map.fitBounds(bounds, {animate: false});
    if (sized() || !window.ResizeObserver) { return; }
    const watch = new ResizeObserver(() => {
        if (!sized()) { return; }
        watch.disconnect();
        map.invalidateSize({animate: false});
        map.fitBounds(bounds, {animate: false});
    });
    watch.observe(container);
})({{ this._parent.get_name() }}, {{ this.bounds }});
{% endmacro %}
""")

    def __init__(self, bounds):
        super().__init__()
        self._name = "FitBounds"
        self.bounds = script_json([[float(v) for v in corner] for corner in bounds])


class _MapControls(MacroElement):
    """A metric-only scale bar, and the attribution's prefix without Leaflet's flag icon."""

    _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
if ({{ this._parent.get_name() }}.attributionControl) {
    {{ this._parent.get_name() }}.attributionControl.setPrefix("Leaflet");
}
{% endmacro %}
""")

    def __init__(self):
        super().__init__()
        self._name = "MapControls"


@dataclass
class MapParts:
    """A map for streamlit-folium: a ``base`` that stays put and an ``overlay`` that changes."""

    base: folium.Map
    overlay: folium.FeatureGroup

    def combined(self) -> folium.Map:
        """The base with the overlay added (for a standalone page)."""
        self.overlay.add_to(self.base)
        return self.base


def basemap_layer(name: str = "none", *, tianditu_key: str | None = None) -> folium.TileLayer | None:
    """An XYZ basemap: ``none`` (offline default), ``osm``, ``tianditu`` (needs a ``tk`` key) or
    ``intranet`` (the tile server configured in the settings, :mod:`geo.basemap`).

    AMap/Gaode tiles are deliberately not offered: they are GCJ-02 and misalign with
    CGCS2000 parcels by hundreds of metres (an intranet service declared GCJ-02 is refused).
    """
    if name not in BASEMAPS:
        raise ValueError(f"unknown basemap {name!r}; one of {', '.join(BASEMAPS)}")
    if name == "none":
        return None
    if name == "intranet":
        from geo.basemap import load_basemap

        service = load_basemap()
        if service is None:
            raise ValueError("no intranet basemap is configured (see docs/app.md, 'Intranet basemap')")
        extra = {"subdomains": service.subdomains} if service.subdomains else {}
        return folium.TileLayer(tiles=service.url, attr=service.attribution or service.name, name="intranet",
                                max_zoom=19, **extra)
    url, attribution, subdomains = _TILE_URLS[name]
    if name == "tianditu":
        if not tianditu_key:
            raise ValueError("the Tianditu basemap needs a tk key (register at console.tianditu.gov.cn)")
        url = url.replace("{tk}", tianditu_key)
    extra = {"subdomains": subdomains} if subdomains else {}
    return folium.TileLayer(tiles=url, attr=attribution, name=name, max_zoom=19, **extra)


def base_map(bounds, *, basemap: str = "none", tianditu_key: str | None = None,
             asset_url: str | None = None) -> folium.Map:
    """An empty canvas-rendered map fitted to ``bounds`` (minx, miny, maxx, maxy in lon/lat).

    Leaflet comes from the app (``asset_url``, default ``/app/static``); for a file use
    :func:`layers.assets.standalone_html`.
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=12, tiles=None,
                   prefer_canvas=True, control_scale=False)
    _MapControls().add_to(m)
    use_app_assets(m, asset_url or APP_STATIC_URL)
    tiles = basemap_layer(basemap, tianditu_key=tianditu_key)
    if tiles is not None:
        tiles.add_to(m)
    m.get_root().header.add_child(RawHtml(
        f"<style>.leaflet-container {{ background: {BACKGROUND}; }}</style>"), name="parkatlas_bg")
    _FitBounds([[miny, minx], [maxy, maxx]]).add_to(m)
    return m


#: Lon/lat CRSs that Leaflet can take as they are: CGCS2000 and WGS 84 differ by far less than
#: a screen pixel (PROJ's own CGCS2000 → WGS 84 step is a no-op "ballpark" transformation).
_LEAFLET_READY = {"EPSG:4326", "EPSG:4490", "OGC:CRS84"}


def _leaflet_ready(crs) -> bool:
    # Checked by the CRS's own text: a pyproj transformer is rebuilt in every new thread, and
    # Streamlit runs each rerun in a new thread, which cost ~0.25 s per transform on a rerun.
    return crs is None or str(getattr(crs, "srs", "")).upper() in _LEAFLET_READY \
        or crs.equals(pyproj.CRS.from_epsg(4326))


def lonlat_bounds(frame: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of ``frame`` in lon/lat, transforming only the corners."""
    bounds = frame.total_bounds
    if _leaflet_ready(frame.crs):
        return tuple(bounds)
    return _lonlat_transformer(frame.crs).transform_bounds(*bounds)


@functools.lru_cache(maxsize=8)
def _lonlat_transformer(crs: pyproj.CRS) -> pyproj.Transformer:
    # Building a transformer costs ~50 ms; a page asks for the same one on every rerun.
    return pyproj.Transformer.from_crs(crs, 4326, always_xy=True)


def context_features(frame: gpd.GeoDataFrame) -> str:
    """Outlines for map context (districts, park boundaries) as :func:`features_json` output."""
    return features_json(frame, [""] * len(frame), [""] * len(frame))


def _context_layers(m: folium.Map, context) -> None:
    """Draw context outlines: GeoDataFrames, precomputed :func:`context_features` strings or
    :class:`CarrierRef` to such strings carried by the page."""
    if context is None:
        return
    items = context if isinstance(context, (list, tuple)) else [context]
    for n, item in enumerate(items):
        if item is None or (isinstance(item, gpd.GeoDataFrame) and item.empty):
            continue
        carried = isinstance(item, CarrierRef)
        data = None if carried else item if isinstance(item, str) else context_features(item)
        FeatureLayer(data, data_ref=item.key if carried else None, role=f"context{n}", interactive=False,
                     fill=False, color="#7a7a7a", weight=1.2 if n == 0 else 2.0).add_to(m)


class MapLabels(VerbatimScript):
    """Names written on the map (districts, parks): plain text (``textContent``), not clickable.

    Parameters
    ----------
    items : sequence of (lon, lat, text)
        Where each name goes and what it says.
    kind : {"district", "park"}
        The style: districts grey, parks dark and bold; both with a white halo.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function (map) {
    if (!document.getElementById("parkatlas-label-style")) {
        var style = document.createElement("style");
        style.id = "parkatlas-label-style";
        style.textContent = ".parkatlas-label{position:absolute;transform:translate(-50%,-50%);"
            + "white-space:nowrap;pointer-events:none;font:12px sans-serif;"
            + "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff}"
            + ".parkatlas-label-district{color:#666;font-size:13px;letter-spacing:1px}"
            + ".parkatlas-label-park{color:#222;font-weight:bold}";
        document.head.appendChild(style);
    }
    var items = {{ this.items }}, kind = {{ this.kind }};
    var group = L.layerGroup();
    items.forEach(function (item) {
        var label = document.createElement("div");
        label.className = "parkatlas-label parkatlas-label-" + kind;
        label.textContent = item[2];
        L.marker([item[1], item[0]], {icon: L.divIcon({html: label, className: "", iconSize: null}),
                                      interactive: false, keyboard: false}).addTo(group);
    });
    group.addTo(map);
    window.parkatlasLabels = window.parkatlasLabels || {};
    window.parkatlasLabels[kind] = items.map(function (item) { return item[2]; });
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, items, kind: str):
        super().__init__()
        self._name = "MapLabels"
        self.items = script_json([[round(float(x), 6), round(float(y), 6), str(text)] for x, y, text in items])
        self.kind = script_json(kind)


def name_labels(frame: gpd.GeoDataFrame, lang: str = i18n.DEFAULT_LANG) -> list[tuple[float, float, str]]:
    """(lon, lat, name) of each district or park, at a point inside it, in ``lang``."""
    if frame is None or frame.empty:
        return []
    geometry = frame.geometry if _leaflet_ready(frame.crs) else frame.geometry.to_crs(4326)
    points = geometry.representative_point()
    names = (frame.name_zh if lang == "zh" else frame.name_en).fillna(frame.name_zh).astype(str)
    return list(zip(points.x, points.y, names))


def parcel_labels(parcels: pd.DataFrame, lang: str = i18n.DEFAULT_LANG) -> pd.Series:
    """Short hover label per parcel: id, enterprise, status and area in 亩 (plain text)."""
    status = parcels.status.map(i18n.status_labels(lang)).fillna(parcels.status).fillna("")
    area = (i18n.format_numbers(parcels.area_mu.to_numpy(), lang).to_numpy()
            + " " + i18n.t("unit.mu", lang))
    enterprise = parcels.enterprise.fillna("").astype(str)
    first = parcels.parcel_id.astype(str)
    second = enterprise.where(enterprise != "", "—")
    return first + "\n" + second + "\n" + status.astype(str) + " · " + area


def park_map_parts(parcels: gpd.GeoDataFrame, *, theme: str = "status", lang: str = i18n.DEFAULT_LANG,
                   scheme: str | None = None, k: int = 5, highlight_ids: Iterable[str] | None = None,
                   context=None, features: str | None = None, classified: Classified | None = None,
                   basemap: str = "none", tianditu_key: str | None = None,
                   asset_url: str | None = None, bounds=None, labels=None,
                   selected_ids: Iterable[str] | None = None, highlight_label: str | None = None,
                   home=None, features_ref: str | None = None) -> MapParts:
    """The parcels of a park themed by ``theme``, as :class:`MapParts`.

    ``bounds`` (lon/lat) sets the view; default: all the parcels, or ``home`` (lon/lat bounds,
    e.g. the city's ``home_bounds``) when there are none (China as a whole without it).
    ``context``: outlines (districts, the park's boundary); ``labels``: ``{kind: [(lon, lat,
    name), …]}`` written on the map (:func:`name_labels`); ``selected_ids``: parcels outlined as
    the current choice (a click); ``highlight_label``: the legend's entry for the
    ``highlight_ids`` outlines (e.g. match candidates).

    ``features`` (from :func:`features_json` over ``parcels`` in the same row order, with
    :func:`parcel_labels`) and ``classified`` may be passed precomputed, so a page can cache
    the heavy parts per data revision and per theme. ``features_ref``: the key of a
    :func:`features_carrier` of those features that the page shows next to the map; the overlay
    then refers to it instead of carrying them (and ``features`` is neither needed nor built).
    """
    if features is None and features_ref is None:
        features = features_json(parcels, parcels.parcel_id, parcel_labels(parcels, lang))
    classified = classified or theme_colors(parcels, theme, lang=lang, scheme=scheme, k=k)
    highlight = None
    if highlight_ids is not None:
        highlight = parcels.parcel_id.isin(list(highlight_ids)).to_numpy()
    if bounds is None:
        bounds = lonlat_bounds(parcels) if len(parcels) else tuple(home or CHINA_BOUNDS)
    m = base_map(bounds, basemap=basemap, tianditu_key=tianditu_key, asset_url=asset_url)
    _context_layers(m, context)
    overlay = folium.FeatureGroup(name="parcels")
    FeatureLayer(None if features_ref else features, data_ref=features_ref, classes=classified.codes,
                 palette=classified.colors, highlight=highlight, role="parcels",
                 no_data_color=classified.no_data_color).add_to(overlay)
    items = legend_items(classified, lang)
    if highlight_label and highlight is not None and highlight.any():
        items.append((HIGHLIGHT_COLOR, f"{highlight_label} ({i18n.format_number(int(highlight.sum()), lang, 0)})"))
    MapLegend(items, i18n.label_theme(theme, lang)).add_to(overlay)
    for kind, items in (labels or {}).items():
        MapLabels(items, kind).add_to(m)
    if selected_ids is not None:
        chosen = parcels.loc[parcels.parcel_id.isin(list(selected_ids))]
        if len(chosen):
            FeatureLayer(features_json(chosen, chosen.parcel_id, chosen.parcel_id), role="selected",
                         interactive=False, fill=False, color=HIGHLIGHT_COLOR, weight=4).add_to(overlay)
    return MapParts(m, overlay)


def park_map(parcels: gpd.GeoDataFrame, *, theme: str = "status", lang: str = i18n.DEFAULT_LANG,
             scheme: str | None = None, highlight_ids: Iterable[str] | None = None, context=None,
             **kwargs) -> folium.Map:
    """One park's parcels themed by status, land use, an intensity indicator or 亩均 grade.

    A legend is drawn on the map (escaped). For an offline file pass the result to
    :func:`layers.assets.standalone_html`.
    """
    return park_map_parts(parcels, theme=theme, lang=lang, scheme=scheme, highlight_ids=highlight_ids,
                          context=context, **kwargs).combined()


def _group_ids(parks: pd.DataFrame, city) -> list[str]:
    """The city's group order, then any other group the parks carry."""
    known = list(city.group_ids) if city is not None else []
    return known + [g for g in pd.unique(parks.group.dropna()) if g not in known]


def _group_name(city, group, lang: str) -> str:
    return city.group_name(group, lang) if city is not None else ("" if pd.isna(group) else str(group))


def park_labels(parks: pd.DataFrame, lang: str = i18n.DEFAULT_LANG, city=None) -> pd.Series:
    """Hover label per park: name and group (named by ``city``, a :class:`geo.city.City`)."""
    name = parks.name_zh if lang == "zh" else parks.name_en
    group = parks.group.map(lambda g: _group_name(city, g, lang))
    return name.fillna(parks.park_id).astype(str) + "\n" + group.fillna("").astype(str)


def city_map_parts(parks: gpd.GeoDataFrame, districts: gpd.GeoDataFrame | None = None, *,
                   lang: str = i18n.DEFAULT_LANG, basemap: str = "none",
                   tianditu_key: str | None = None, asset_url: str | None = None,
                   district_features: str | None = None, city=None) -> MapParts:
    """Every park outlined and filled by group over the district boundaries.

    ``district_features`` (:func:`context_features` of ``districts``) may be passed precomputed.
    ``city`` (:class:`geo.city.City`) names and orders the groups and gives the home view.
    """
    extent = districts if districts is not None and not districts.empty else parks
    bounds = city.home_bounds if city is not None else lonlat_bounds(extent)
    m = base_map(bounds, basemap=basemap, tianditu_key=tianditu_key, asset_url=asset_url)
    _context_layers(m, district_features or districts)
    overlay = folium.FeatureGroup(name="parks")
    group_ids = _group_ids(parks, city)
    classes = pd.Categorical(parks.group, categories=group_ids).codes
    palette = [GROUP_PALETTE[i % len(GROUP_PALETTE)] for i in range(len(group_ids))]
    FeatureLayer(features_json(parks, parks.park_id, park_labels(parks, lang, city)), classes=classes,
                 palette=palette, role="parks", color="#222222", weight=1.5,
                 fill_opacity=0.55).add_to(overlay)
    groups = Classified("group", np.asarray(classes, dtype=np.int16), palette,
                        [_group_name(city, g, lang) for g in group_ids])
    MapLegend(legend_items(groups, lang), i18n.t("col.group", lang)).add_to(m)
    if districts is not None:
        MapLabels(name_labels(districts, lang), "district").add_to(m)
    MapLabels(name_labels(parks, lang), "park").add_to(m)
    return MapParts(m, overlay)


def city_map(parks: gpd.GeoDataFrame, districts: gpd.GeoDataFrame | None = None, *,
             lang: str = i18n.DEFAULT_LANG, **kwargs) -> folium.Map:
    """The city: district boundaries and every park coloured by group."""
    return city_map_parts(parks, districts, lang=lang, **kwargs).combined()


def clicked_id(map_state: dict | None, valid_ids: Iterable[str] | None = None) -> str | None:
    """The ``id`` of the feature last clicked in a streamlit-folium return value, if valid.

    streamlit-folium reports the clicked feature as ``last_active_drawing`` (its GeoJSON);
    the id is checked against ``valid_ids`` because it comes back from the browser.
    """
    feature = (map_state or {}).get("last_active_drawing") or {}
    value = (feature.get("properties") or {}).get("id")
    if not isinstance(value, str) or not value:
        return None
    if valid_ids is not None and value not in set(valid_ids):
        return None
    return value
