"""The project register on the map: each project's parcels coloured by its stage.

Knows nothing of Streamlit: the Projects page passes the projects' parcels (a GeoDataFrame with
``project_id``, ``name`` and ``stage``) and gets :class:`~layers.webmap.MapParts` back.
"""
from __future__ import annotations

from collections.abc import Iterable

import folium
import geopandas as gpd
import pandas as pd

from geo import i18n
from geo.project import ALL_STAGES
from layers.style import Classified, legend_items
from layers.webmap import (CHINA_BOUNDS, FeatureLayer, MapLegend, MapParts, _context_layers, base_map, features_json,
                           lonlat_bounds)

#: Stage → colour: greys before land, then from amber (land) through purple (building) to green
#: (producing); withdrawn in a muted red.
STAGE_COLORS = {"lead": "#d9d9d9", "negotiating": "#bdbdbd", "signed": "#9ecae1", "land_supplied": "#edc948",
                "under_construction": "#b07aa1", "completed": "#8073ac", "in_production": "#59a14f",
                "at_capacity": "#1b7837", "withdrawn": "#e15759"}


def stage_classes(stages: pd.Series, lang: str = i18n.DEFAULT_LANG) -> Classified:
    """Stages as map classes in the order of :data:`geo.project.ALL_STAGES`, labelled in ``lang``."""
    codes = pd.Categorical(stages, categories=list(ALL_STAGES)).codes.astype("int16")
    return Classified("stage", codes, [STAGE_COLORS[s] for s in ALL_STAGES],
                      [i18n.t(f"stage.{s}", lang) for s in ALL_STAGES])


def project_parcels(projects: pd.DataFrame, parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per (project, parcel) with the parcel's shape and the project's id, name and stage."""
    ids = projects.parcel_ids.fillna("").str.split(";")
    links = pd.DataFrame({"project_id": projects.project_id.repeat(ids.str.len()).to_numpy(),
                          "parcel_id": [pid for group in ids for pid in group]})
    links = links[links.parcel_id != ""]
    links = links.merge(projects[["project_id", "name", "stage"]], on="project_id")
    shapes = parcels[["parcel_id", "park_id", "geometry"]].merge(links, on="parcel_id")
    return gpd.GeoDataFrame(shapes, geometry="geometry", crs=parcels.crs)


def project_map_parts(shapes: gpd.GeoDataFrame, *, lang: str = i18n.DEFAULT_LANG,
                      highlight_ids: Iterable[str] | None = None, context=None, bounds=None, home=None,
                      **map_options) -> MapParts:
    """The projects' parcels coloured by stage, with a stage legend; ``highlight_ids`` (project ids) outlined.

    Without shapes the view is ``home`` (the city's ``home_bounds``; China as a whole without it).

    Labels (project name, stage, parcel id) travel as data and are escaped by the feature layer.
    """
    stage_names = {s: i18n.t(f"stage.{s}", lang) for s in ALL_STAGES}
    labels = shapes["name"].astype(str) + " · " + shapes["stage"].map(stage_names) + " · " + shapes["parcel_id"]
    features = features_json(shapes, shapes.project_id, labels.tolist())
    classified = stage_classes(shapes["stage"], lang)
    highlight = None if highlight_ids is None else shapes.project_id.isin(list(highlight_ids)).to_numpy()
    if bounds is None:
        bounds = lonlat_bounds(shapes) if len(shapes) else tuple(home or CHINA_BOUNDS)
    m = base_map(bounds, **map_options)
    _context_layers(m, context)
    overlay = folium.FeatureGroup(name="projects")
    FeatureLayer(features, classes=classified.codes, palette=classified.colors, highlight=highlight,
                 role="projects", no_data_color=classified.no_data_color).add_to(overlay)
    MapLegend(legend_items(classified, lang), i18n.t("projects.map_legend", lang)).add_to(overlay)
    return MapParts(m, overlay)
