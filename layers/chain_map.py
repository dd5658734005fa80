"""The map of a chain: its enterprises coloured by node, the leaders starred, the gap radius
drawn around each leader, and optionally a prospect's ready land (the matcher's candidates,
outlined and labelled by rank). Names are escaped before they reach a tooltip (hostile text literal)."""
from __future__ import annotations

import html
import json

import folium
import pandas as pd
from matplotlib import colormaps
from folium.utilities import JsCode
from matplotlib.colors import to_hex

from geo.display import format_value
from geo.i18n import t
from layers.webmap import CHINA_BOUNDS, base_map

GAP_COLOR = "#d62728"
CANDIDATE_COLOR = "#1f4e9c"
STYLE_FROM_PROPERTIES = JsCode(
    "function(feature, layer) { layer.setStyle({color: feature.properties.color, fillColor: feature.properties.color}); }")


def node_colors(node_ids) -> dict[str, str]:
    """One colour per node (tab10, cycling), in the given order."""
    palette = colormaps["tab10"]
    return {node: to_hex(palette(i % 10)) for i, node in enumerate(node_ids)}


def _points(frame: pd.DataFrame, label: pd.Series, colors: pd.Series) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
         "properties": {"label": html.escape(str(text)), "color": color}}
        for x, y, text, color in zip(frame.lon, frame.lat, label, colors)]}


def candidate_labels(candidates: pd.DataFrame, park_names: dict, lang: str = "zh") -> pd.Series:
    """Each candidate's tooltip text (rank, park, area, parcels), formatted and escaped."""
    return pd.Series([html.escape(t("chains.candidate_label", lang, rank=format_value(rank, "integer", lang),
                                    park=format_value(park_names.get(park, park), "text", lang),
                                    area=format_value(area, "area_mu", lang),
                                    parcels=format_value(list(ids), "list", lang)))
                      for rank, park, area, ids in zip(candidates["rank"], candidates.park_id, candidates.area_mu,
                                                       candidates.parcel_ids)],
                     index=candidates.index, dtype=object)


def chain_map(placed: pd.DataFrame, leaders: pd.DataFrame, nodes: pd.DataFrame, *, radius_km: float,
              lang: str = "zh", candidates=None, park_names: dict | None = None, **map_options) -> folium.Map:
    """A folium map of ``placed`` enterprises (``lon``, ``lat``, ``name``, ``node_id``) and ``leaders``;
    with ``candidates`` (a :class:`~geo.matching.MatchResult`'s, lon/lat) their outlines, labelled by
    rank and ``park_names``."""
    everything = pd.concat([placed[["lon", "lat"]], leaders[["lon", "lat"]]])
    if candidates is not None and len(candidates):
        minx, miny, maxx, maxy = candidates.total_bounds
        everything = pd.concat([everything, pd.DataFrame({"lon": [minx, maxx], "lat": [miny, maxy]})])
    if everything.empty:
        bounds = CHINA_BOUNDS
    else:
        pad = 0.02
        bounds = (everything.lon.min() - pad, everything.lat.min() - pad, everything.lon.max() + pad,
                  everything.lat.max() + pad)
    m = base_map(bounds, **map_options)
    if candidates is not None and len(candidates):
        outlines = candidates[["geometry"]].assign(label=candidate_labels(candidates, park_names or {}, lang))
        folium.GeoJson(
            outlines.to_json(), name="ready_land",
            style_function=lambda _: {"color": CANDIDATE_COLOR, "weight": 3, "fillColor": CANDIDATE_COLOR,
                                      "fillOpacity": 0.25},
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False)).add_to(m)
    names = nodes.set_index("node_id")["name_zh" if lang == "zh" else "name_en"]
    colors = node_colors(nodes.node_id)
    label = placed.name.astype(str) + " · " + placed.node_id.map(names).astype(str)
    points = _points(placed, label, placed.node_id.map(colors).fillna("#777777"))
    folium.GeoJson(
        json.dumps(points), name="enterprises",
        marker=folium.CircleMarker(radius=4, fill=True, fill_opacity=0.85, weight=1),
        # Coloured in the browser from each point's property: a Python style_function ships one style per feature.
        on_each_feature=STYLE_FROM_PROPERTIES,
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False)).add_to(m)
    for row in leaders.itertuples(index=False):
        text = html.escape(f"{t('chains.leader_mark', lang)}：{row.name}")
        folium.Circle([row.lat, row.lon], radius=radius_km * 1000, color=GAP_COLOR, weight=2, fill=False,
                      tooltip=html.escape(format_value(radius_km, "km", lang))).add_to(m)
        folium.Marker([row.lat, row.lon], tooltip=text,
                      icon=folium.DivIcon(html='<div style="font-size:22px;color:#d4a017">★</div>')).add_to(m)
    return m
