"""City scale: every parcel of a city (~100k) on one pannable web map, drawn in a few seconds.

Measured in ``bench/`` (see docs/benchmarks.md): a GeoJSON layer of 100k parcels costs tens of
seconds to build, ship and parse, whether styled per feature (folium ``GeoJson``, leafmap
``add_gdf``) or in the browser (:class:`layers.webmap.FeatureLayer`). This module ships the
parcels once as a compact binary block instead and draws them on one canvas:

- coordinates are Web-Mercator metres on a 0.1 m grid, each ring sent without its closing vertex
  as one absolute start and 16-bit steps (:func:`encode_parcels`); ids like ``zq_hitech-000123``
  travel as prefix and number tables (:func:`encode_ids`) — about 30 bytes per parcel in all,
  base64 in the page, against ~370 bytes of GeoJSON;
- the browser decodes it once into typed arrays, and on each ``moveend`` redraws only the parcels
  whose bounding box is in view, in colour order and in batches of 256 (one huge canvas path
  fills in quadratic time), sub-pixel parcels as one-pixel squares, outlines from zoom 14 on;
- a click shows the parcel id (set with ``textContent``, never as HTML) and streamlit-folium
  returns the clicked point, which :func:`clicked_parcel_id` turns into the parcel id on the server
  with a spatial index — so clicks return parcel ids without shipping ids through every event.

In Streamlit, build the map once per data revision (``st.cache_resource``), call ``m.render()``
there, and pass ``render=False`` and ``returned_objects=["last_clicked"]`` to ``st_folium``
(see ``app_pages.common.city_view`` and ``app_pages/city.py``). The app calls
:func:`city_parcels_map` (or adds :func:`city_parcels_layer` to its own map); no network access
is needed — Leaflet comes from :mod:`layers.assets`.
"""
from __future__ import annotations

import base64

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.elements import MacroElement
from folium.template import Template

from geo import i18n
from layers.style import Classified, legend_items, theme_colors
from layers.webmap import (FeatureLayer, MapLabels, MapLegend, base_map, context_features, lonlat_bounds,
                           name_labels, script_json)

#: Grid of the encoded coordinates, in Web-Mercator metres (≈0.09 m on the ground at 23°N).
RESOLUTION_M = 0.1


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _array(values: np.ndarray, dtypes) -> dict:
    """``values`` in the smallest of ``dtypes`` that holds them, base64 encoded, with its type name."""
    for dtype in dtypes:
        info = np.iinfo(dtype)
        if values.size == 0 or (values.min() >= info.min and values.max() <= info.max):
            return {"type": np.dtype(dtype).name, "data": _b64(values.astype(dtype))}
    raise ValueError("values out of range for the layer encoding")


def encode_parcels(parcels: gpd.GeoDataFrame) -> dict:
    """The parcels' rings as compact quantised Web-Mercator coordinates, base64 encoded.

    Coordinates are Web-Mercator metres on a :data:`RESOLUTION_M` grid relative to ``origin``;
    each ring is stored without its closing vertex as one absolute start (``starts``, uint32
    pairs) and deltas from the previous vertex (``deltas``, int16 pairs unless a step is too long).
    ``ring_sizes`` gives each ring's vertex count, ``poly_rings`` each polygon's ring count
    (``None`` when every polygon has one ring) and ``part_of`` each polygon's parcel row
    (``None`` when no parcel has several parts). ``n`` is the parcel count.
    """
    merc = parcels.geometry.to_crs(3857)
    parts, part_of = shapely.get_parts(merc.to_numpy(), return_index=True)
    kind, coords, (ring_offsets, polygon_offsets) = shapely.to_ragged_array(parts)
    if kind != shapely.GeometryType.POLYGON:
        raise ValueError("the city layer draws polygons only")
    closing = np.zeros(len(coords), dtype=bool)
    closing[ring_offsets[1:] - 1] = True
    coords = coords[~closing]
    ring_sizes = np.diff(ring_offsets) - 1
    origin = coords.min(axis=0) if len(coords) else np.zeros(2)
    grid = np.round((coords - origin) / RESOLUTION_M).astype(np.int64)
    first = np.zeros(len(grid), dtype=bool)
    first[np.concatenate([[0], np.cumsum(ring_sizes)[:-1]]).astype(int)] = len(grid) > 0
    steps = np.diff(grid, axis=0, prepend=grid[:1])[~first]
    poly_rings = np.diff(polygon_offsets)
    return {
        "origin": [float(origin[0]), float(origin[1])],
        "resolution": RESOLUTION_M,
        "starts": _array(grid[first].ravel(), [np.uint32]),
        "deltas": _array(steps.ravel(), [np.int16, np.int32]),
        "ring_sizes": _array(ring_sizes, [np.uint16, np.uint32]),
        "poly_rings": None if (poly_rings == 1).all() else _array(poly_rings, [np.uint16, np.uint32]),
        "part_of": None if len(part_of) == len(parcels) else _array(part_of, [np.uint32]),
        "n": int(len(parcels)),
    }


def encode_ids(ids) -> dict:
    """Parcel ids compactly: ``prefix + zero-padded number`` tables when every id has that form.

    Returns ``{"list": [...]}`` or ``{"prefixes": [...], "widths": [...], "prefix": array,
    "number": array}`` (arrays as in :func:`encode_parcels`).
    """
    ids = pd.Series([str(i) for i in ids], dtype=object)
    parts = ids.str.extract(r"^(.*?)(\d{1,9})$")
    if len(ids) and parts.notna().all().all():
        codes, prefixes = pd.factorize(parts[0])
        widths = parts[1].str.len().groupby(codes)
        if (widths.nunique() == 1).all():
            return {"prefixes": [str(p) for p in prefixes], "widths": widths.first().astype(int).tolist(),
                    "prefix": _array(codes, [np.uint8, np.uint16, np.uint32]),
                    "number": _array(parts[1].astype(np.int64).to_numpy(), [np.uint32])}
    return {"list": ids.tolist()}


class CanvasParcelLayer(MacroElement):
    """Parcels from :func:`encode_parcels` drawn on one canvas, coloured by class index.

    Registered as ``window.parkatlasLayers[role]`` with ``drawn`` (number of parcels drawn in
    the last frame), ``firstDrawnAt`` (``performance.now()`` when parcels were first drawn) and
    ``lastId`` (id of the last clicked parcel) for tests and benchmarks.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
    var enc = {{ this.encoded }}, idEnc = {{ this.ids }}, cls = {{ this.classes }};
    var palette = {{ this.palette }}, names = {{ this.names }}, o = {{ this.options }};
    var TYPES = {uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, int16: Int16Array, int32: Int32Array};
    function dec(a) {
        var s = atob(a.data), n = s.length, u8 = new Uint8Array(n);
        for (var i = 0; i < n; i++) { u8[i] = s.charCodeAt(i); }
        return new TYPES[a.type](u8.buffer);
    }
    function prefixSums(sizes) {
        var out = new Uint32Array(sizes.length + 1);
        for (var i = 0; i < sizes.length; i++) { out[i + 1] = out[i] + sizes[i]; }
        return out;
    }
    var starts = dec(enc.starts), deltas = dec(enc.deltas), ringSizes = dec(enc.ring_sizes);
    var ringOff = prefixSums(ringSizes), nRing = ringSizes.length;
    var polyOff = enc.poly_rings ? prefixSums(dec(enc.poly_rings)) : null;
    if (!polyOff) { polyOff = new Uint32Array(nRing + 1); for (var r0 = 0; r0 <= nRing; r0++) polyOff[r0] = r0; }
    var partOf = enc.part_of ? dec(enc.part_of) : null;
    if (!partOf) { partOf = new Uint32Array(enc.n); for (var p0 = 0; p0 < enc.n; p0++) partOf[p0] = p0; }
    // Vertices to normalised Web Mercator (0..1, y down), Leaflet's pixel space at zoom 0 / 256.
    var H = 20037508.342789244, res = enc.resolution, nv = ringOff[nRing];
    var xs = new Float64Array(nv), ys = new Float64Array(nv), d = 0;
    for (var r1 = 0; r1 < nRing; r1++) {
        var gx = starts[2 * r1], gy = starts[2 * r1 + 1];
        for (var v = ringOff[r1]; v < ringOff[r1 + 1]; v++) {
            if (v > ringOff[r1]) { gx += deltas[2 * d]; gy += deltas[2 * d + 1]; d++; }
            xs[v] = (enc.origin[0] + gx * res + H) / (2 * H);
            ys[v] = (H - (enc.origin[1] + gy * res)) / (2 * H);
        }
    }
    var idOf = idEnc.list ? function (row) { return idEnc.list[row]; } : (function () {
        var pre = dec(idEnc.prefix), num = dec(idEnc.number);
        return function (row) {
            return idEnc.prefixes[pre[row]] + String(num[row]).padStart(idEnc.widths[pre[row]], "0");
        };
    })();
    var nPoly = polyOff.length - 1, bb = new Float64Array(4 * nPoly);
    for (var p = 0; p < nPoly; p++) {
        var a = ringOff[polyOff[p]], b = ringOff[polyOff[p] + 1];
        var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        for (v = a; v < b; v++) {
            if (xs[v] < x0) x0 = xs[v]; if (xs[v] > x1) x1 = xs[v];
            if (ys[v] < y0) y0 = ys[v]; if (ys[v] > y1) y1 = ys[v];
        }
        bb[4 * p] = x0; bb[4 * p + 1] = y0; bb[4 * p + 2] = x1; bb[4 * p + 3] = y1;
    }
    var order = new Uint32Array(nPoly);
    for (p = 0; p < nPoly; p++) { order[p] = p; }
    order.sort(function (a, b) { return cls[partOf[a]] - cls[partOf[b]] || a - b; });
    var Layer = L.Layer.extend({
        onAdd: function (map) {
            this._map = map;
            this._canvas = L.DomUtil.create("canvas", "leaflet-zoom-hide parkatlas-city-canvas");
            map.getPanes().overlayPane.appendChild(this._canvas);
            map.on("moveend resize", this._redraw, this);
            map.on("click", this._click, this);
            this._redraw();
        },
        onRemove: function (map) {
            L.DomUtil.remove(this._canvas);
            map.off("moveend resize", this._redraw, this);
            map.off("click", this._click, this);
        },
        _redraw: function () {
            var map = this._map, size = map.getSize(), ratio = window.devicePixelRatio || 1;
            var topLeft = map.containerPointToLayerPoint([0, 0]);
            L.DomUtil.setPosition(this._canvas, topLeft);
            var c = this._canvas;
            c.width = size.x * ratio; c.height = size.y * ratio;
            c.style.width = size.x + "px"; c.style.height = size.y + "px";
            var ctx = c.getContext("2d");
            ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
            var scale = 256 * Math.pow(2, map.getZoom()), origin = map.getPixelOrigin();
            var ox = origin.x + topLeft.x, oy = origin.y + topLeft.y;
            var vx0 = ox / scale, vy0 = oy / scale, vx1 = (ox + size.x) / scale, vy1 = (oy + size.y) / scale;
            var outline = map.getZoom() >= o.outlineZoom, drawn = 0, last = -1, batch = 0, current = -2;
            ctx.lineWidth = o.weight; ctx.strokeStyle = o.color;
            function flush() {
                if (!batch) return;
                ctx.globalAlpha = o.fillOpacity; ctx.fill("evenodd");
                if (outline) { ctx.globalAlpha = 1; ctx.stroke(); }
                ctx.beginPath(); batch = 0;
            }
            ctx.beginPath();
            // Polygons in colour order, flushed in small batches: one huge path is quadratic to fill.
            for (var n = 0; n < nPoly; n++) {
                var p = order[n];
                if (bb[4 * p + 2] < vx0 || bb[4 * p] > vx1 || bb[4 * p + 3] < vy0 || bb[4 * p + 1] > vy1) continue;
                var row = partOf[p], k = cls[row];
                if (k !== current) { flush(); current = k; ctx.fillStyle = k >= 0 ? palette[k] : o.noData; }
                if (row !== last) { drawn++; last = row; }
                var w = (bb[4 * p + 2] - bb[4 * p]) * scale, h = (bb[4 * p + 3] - bb[4 * p + 1]) * scale;
                if (w < 2 && h < 2) {  // sub-pixel at this zoom: a pixel-sized square is enough
                    ctx.rect(bb[4 * p] * scale - ox, bb[4 * p + 1] * scale - oy, Math.max(w, 1), Math.max(h, 1));
                } else {
                    for (var r = polyOff[p]; r < polyOff[p + 1]; r++) {
                        var a = ringOff[r], b = ringOff[r + 1];
                        ctx.moveTo(xs[a] * scale - ox, ys[a] * scale - oy);
                        for (var v = a + 1; v < b; v++) { ctx.lineTo(xs[v] * scale - ox, ys[v] * scale - oy); }
                        ctx.closePath();
                    }
                }
                if (++batch >= 256) { flush(); }
            }
            flush();
            this.drawn = drawn;
            if (drawn && this.firstDrawnAt === undefined) { this.firstDrawnAt = performance.now(); }
        },
        _hit: function (mx, my) {
            for (var p = nPoly - 1; p >= 0; p--) {
                if (mx < bb[4 * p] || mx > bb[4 * p + 2] || my < bb[4 * p + 1] || my > bb[4 * p + 3]) continue;
                var inside = false;
                for (var r = polyOff[p]; r < polyOff[p + 1]; r++) {
                    for (var a = ringOff[r], b = ringOff[r + 1], i = a, j = b - 1; i < b; j = i++) {
                        if ((ys[i] > my) !== (ys[j] > my) &&
                            mx < (xs[j] - xs[i]) * (my - ys[i]) / (ys[j] - ys[i]) + xs[i]) inside = !inside;
                    }
                }
                if (inside) return partOf[p];
            }
            return -1;
        },
        _click: function (ev) {
            var pt = this._map.project(ev.latlng, 0);
            var row = this._hit(pt.x / 256, pt.y / 256);
            if (row < 0) return;
            this.lastId = idOf(row);
            var div = document.createElement("div");
            div.style.whiteSpace = "pre-line";
            div.textContent = this.lastId + (cls[row] >= 0 ? "\\n" + names[cls[row]] : "");
            this._popup = this._popup || L.popup();  // one popup, reused
            this._popup.setLatLng(ev.latlng).setContent(div).openOn(this._map);
        }
    });
    var layer = new Layer();
    layer.addTo({{ this._parent.get_name() }});
    window.parkatlasLayers = window.parkatlasLayers || {};
    window.parkatlasLayers[{{ this.role_json }}] = layer;
    return layer;
})();
{% endmacro %}
""")

    def __init__(self, encoded: dict, ids, classes, palette, names, *, role: str = "city_parcels",
                 color: str = "#555555", weight: float = 0.5, fill_opacity: float = 0.75,
                 no_data_color: str = "#e8e8e8", outline_zoom: int = 14):
        super().__init__()
        self._name = "CanvasParcelLayer"
        self.encoded = script_json(encoded)
        self.ids = script_json(encode_ids(ids))
        self.classes = script_json(np.asarray(classes, dtype=int).tolist())
        self.palette = script_json(list(palette))
        self.names = script_json([str(n) for n in names])
        self.role_json = script_json(role)
        self.options = script_json({"color": color, "weight": weight, "fillOpacity": fill_opacity,
                                    "noData": no_data_color, "outlineZoom": outline_zoom})


def city_parcels_layer(parcels: gpd.GeoDataFrame, *, theme: str = "status", lang: str = i18n.DEFAULT_LANG,
                       scheme: str | None = None, classified: Classified | None = None) -> CanvasParcelLayer:
    """Every parcel of ``parcels`` as one canvas layer themed like the park map (see module doc).

    ``classified`` (``theme_colors`` of ``parcels``) may be passed when the caller has it already.
    """
    classified = classified or theme_colors(parcels, theme, lang=lang, scheme=scheme)
    return CanvasParcelLayer(encode_parcels(parcels), parcels.parcel_id, classified.codes,
                             classified.colors, classified.labels, no_data_color=classified.no_data_color)


def city_parcels_map(parcels: gpd.GeoDataFrame, *, theme: str = "status", lang: str = i18n.DEFAULT_LANG,
                     scheme: str | None = None, basemap: str = "none", asset_url: str | None = None,
                     legend: bool = True, districts: gpd.GeoDataFrame | None = None) -> folium.Map:
    """A map with every parcel of the city (see :func:`city_parcels_layer`) and the theme's legend,
    over the outlines and names of ``districts`` when given."""
    classified = theme_colors(parcels, theme, lang=lang, scheme=scheme)
    m = base_map(lonlat_bounds(parcels), basemap=basemap, asset_url=asset_url)
    if districts is not None and not districts.empty:
        FeatureLayer(context_features(districts), role="districts", interactive=False, fill=False,
                     color="#7a7a7a", weight=1.2).add_to(m)
        MapLabels(name_labels(districts, lang), "district").add_to(m)
    city_parcels_layer(parcels, classified=classified).add_to(m)
    if legend:
        MapLegend(legend_items(classified, lang), i18n.label_theme(theme, lang)).add_to(m)
    return m


class ParcelLocator:
    """Parcel id at a clicked point, with a spatial index built once per parcel set."""

    def __init__(self, parcels: gpd.GeoDataFrame):
        self._ids = parcels.parcel_id.astype(str).to_numpy()
        self._tree = shapely.STRtree(parcels.geometry.to_crs(4326).to_numpy())

    def at(self, lat: float, lng: float) -> str | None:
        """The id of the parcel containing (lat, lng), or None."""
        hits = self._tree.query(shapely.Point(lng, lat), predicate="intersects")
        return str(self._ids[hits.min()]) if len(hits) else None


def clicked_parcel_id(map_state: dict | None, locator: ParcelLocator) -> str | None:
    """The parcel under the last click of a streamlit-folium return value (``last_clicked``)."""
    point = (map_state or {}).get("last_clicked") or {}
    lat, lng = point.get("lat"), point.get("lng")
    if not isinstance(lat, (int, float)) or not isinstance(lng, (int, float)):
        return None
    return locator.at(float(lat), float(lng))
