"""Parcel fact sheets (地块推介单): one A4 page per available parcel or candidate block, for investors.

Each page: a map of the site among its neighbours (scale bar, north arrow), a locator, and a
table with the area in 亩, land-use class, status, readiness (净地), infrastructure, the thresholds
that apply (the park's entry thresholds, the national 2008 minimum plot ratio for the park's
leading industries, the national building coefficient) and the park's contact line.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import geopandas as gpd
import matplotlib
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from geo.crs import projected_crs_for
from geo.errors import NotFoundError, ParkAtlasError
from geo.metrics import with_metrics
from geo.schema import split_list
from geo.standards import Standards, load_standards
from layers.print_map import (HIGHLIGHT_COLOR, PageSpec, _fit_extent, _map_axes, add_north_arrow, add_scalebar,
                              draw_locator, draw_polygons, draw_table, grid_convergence_deg, park_name,
                              print_rc, source_note, theme_style)

Progress = Callable[[int, int, str], None]
#: Neighbourhood shown around a site: its size times this, at least ``MIN_CONTEXT_M``.
CONTEXT_FACTOR = 1.2
MIN_CONTEXT_M = 250.0


def sites_from_parcels(parcels: gpd.GeoDataFrame, parcel_ids: Iterable[str]) -> gpd.GeoDataFrame:
    """One site per parcel id (in the order given); ``NotFoundError`` for an unknown id."""
    ids = list(parcel_ids)
    if not ids:
        raise ParkAtlasError("give at least one parcel id")
    unknown = [i for i in ids if i not in set(parcels.parcel_id)]
    if unknown:
        raise NotFoundError(f"unknown parcel {unknown[0]!r}; see `python cli.py available` for parcel ids")
    chosen = parcels.set_index("parcel_id", drop=False).loc[ids]
    return gpd.GeoDataFrame({"site_id": ids, "park_id": chosen.park_id.to_numpy(),
                             "parcel_ids": [[i] for i in ids]}, geometry=chosen.geometry.values, crs=parcels.crs)


def sites_from_candidates(candidates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Sites from match candidates (``parcel_ids`` lists, combined geometry)."""
    ids = [list(p) if not isinstance(p, str) else p.split(";") for p in candidates.parcel_ids]
    labels = [i[0] if len(i) == 1 else f"{i[0]} +{len(i) - 1}" for i in ids]
    return gpd.GeoDataFrame({"site_id": labels, "park_id": candidates.park_id.to_numpy(), "parcel_ids": ids},
                            geometry=candidates.geometry.values, crs=candidates.crs)


def _yes_no(values: pd.Series, lang: str) -> str:
    known = values.dropna()
    if known.empty:
        return "未知" if lang == "zh" else "unknown"
    if known.all():
        return "是" if lang == "zh" else "yes"
    if not known.any():
        return "否" if lang == "zh" else "no"
    return "部分" if lang == "zh" else "partly"


def _fmt(value, digits=0, suffix="") -> str:
    return "–" if value is None or pd.isna(value) else f"{value:,.{digits}f}{suffix}"


def fact_rows(site: pd.Series, members: pd.DataFrame, park: pd.Series, lang: str,
              standards: Standards) -> list[tuple[str, str]]:
    """(label, value) rows of a fact sheet."""
    zh = lang == "zh"
    land_use = standards.land_use.set_index("code")["name_zh" if zh else "name_en"]
    statuses = standards.statuses.set_index("code")["label_zh" if zh else "label_en"]
    area_mu = members.area_mu.sum()
    uses = ", ".join(f"{land_use.get(c, c)} ({c})" for c in members.land_use_code.dropna().unique())
    status = ", ".join(str(statuses.get(s, s)) for s in members.status.dropna().unique())
    limits = standards.national_limits
    mu = "亩" if zh else "mu"
    wan = "万元/亩" if zh else "10k yuan/mu"
    nat = standards.min_plot_ratio_range(split_list(park.leading_chains))
    chains = standards.chains.set_index("chain")["name_zh" if zh else "name_en"]
    leading = "、".join(str(chains.get(c, c)) for c in split_list(park.leading_chains))
    return [
        ("地块编号" if zh else "Parcel(s)", ", ".join(site.parcel_ids[:4]) + (" …" if len(site.parcel_ids) > 4 else "")),
        ("所在园区" if zh else "Park", park_name(park, lang)),
        ("面积" if zh else "Area", f"{area_mu:,.1f} {mu}（{members.area_ha.sum():,.2f} ha）"),
        ("用地分类" if zh else "Land use", uses or "–"),
        ("现状" if zh else "Status", status or "–"),
        ("净地（可即供）" if zh else "Ready (净地)", _yes_no(members.land_ready, lang)),
        ("供电容量" if zh else "Power", _fmt(members.power_kva.min(), 0, " kVA")),
        ("供水能力" if zh else "Water", _fmt(members.water_t_per_day.min(), 0, " t/d" if not zh else " 吨/日")),
        ("天然气" if zh else "Gas", _yes_no(members.gas, lang)),
        ("距高速出口 / 港口 / 铁路货站" if zh else "Highway exit / port / rail (km)",
         f"{_fmt(members.highway_km.min(), 1)} / {_fmt(members.port_km.min(), 1)} / {_fmt(members.rail_km.min(), 1)} km"),
        ("园区准入：投资强度" if zh else "Entry: investment", f"≥ {_fmt(park.min_investment_wan_per_mu)} {wan}"),
        ("园区准入：亩均产值" if zh else "Entry: output", f"≥ {_fmt(park.min_output_wan_per_mu)} {wan}"),
        ("园区准入：亩均税收" if zh else "Entry: tax", f"≥ {_fmt(park.min_tax_wan_per_mu, 1)} {wan}"),
        ("园区准入：容积率" if zh else "Entry: plot ratio", f"≥ {_fmt(park.min_plot_ratio, 1)}"),
        ("国家最低容积率（2008，主导产业）" if zh else "National min plot ratio (2008)",
         "–" if nat is None else (f"≥ {nat[0]:.1f}" if nat[0] == nat[1] else f"≥ {nat[0]:.1f} – {nat[1]:.1f}")),
        ("国家建筑系数" if zh else "National building coefficient",
         f"≥ {limits['building_coefficient_min']:.0%}"),
        ("主导产业" if zh else "Leading chains", leading or "–"),
        ("联系方式" if zh else "Contact", str(park.contact) if pd.notna(park.contact) else "–"),
    ]


def factsheet_page(fig: Figure, site: pd.Series, parcels: gpd.GeoDataFrame, park: pd.Series, *,
                   parks: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, lang: str = "zh",
                   dataset_info: dict | None = None, printed: date | None = None,
                   standards: Standards | None = None) -> Figure:
    """Lay out one fact sheet (A4 portrait) on ``fig``."""
    standards = standards or load_standards()
    spec = PageSpec("A4", "portrait", 150)
    fig.set_size_inches(*spec.size_inches)
    zh = lang == "zh"
    members = parcels.loc[parcels.parcel_id.isin(site.parcel_ids)]
    site_geom = gpd.GeoSeries([site.geometry], crs=parcels.crs)
    crs = projected_crs_for(gpd.GeoDataFrame(geometry=site_geom))
    site_proj = site_geom.to_crs(crs)

    fig.text(0.5, 0.955, f"{'地块推介单' if zh else 'Parcel fact sheet'} · {site.site_id}", ha="center",
             va="center", fontsize=17, fontweight="bold", gid="title")
    printed = printed or date.today()
    as_of = members.data_as_of.dropna().max() if members.data_as_of.notna().any() else "–"
    fig.text(0.5, 0.927, f"{park.name_zh}  {park.name_en}  ·  {'数据截至' if zh else 'Data as of'} {as_of}  ·  "
             f"{'制图日期' if zh else 'Printed'} {printed.isoformat()}", ha="center", va="center", fontsize=9,
             color="#333333", gid="subtitle")

    ax = _map_axes(fig, (0.06, 0.52, 0.88, 0.385))
    minx, miny, maxx, maxy = site_proj.total_bounds
    reach = max(CONTEXT_FACTOR * max(maxx - minx, maxy - miny), MIN_CONTEXT_M)
    neighbourhood = parcels.loc[parcels.park_id == park.park_id].to_crs(crs)
    near = neighbourhood.loc[neighbourhood.intersects(site_proj.iloc[0].buffer(reach * 1.5))]
    style = theme_style(near, "status", lang=lang, standards=standards, area_in_legend=False)
    draw_polygons(ax, near.geometry.values, facecolor=style.colors, edgecolor="#777777", linewidth=0.3,
                  gid="parcels")
    draw_polygons(ax, site_proj.values, facecolor="none", edgecolor=HIGHLIGHT_COLOR, linewidth=2.4, zorder=6,
                  gid="site")
    for row in near.loc[near.parcel_id.isin(site.parcel_ids)].itertuples():
        point = row.geometry.representative_point()
        ax.text(point.x, point.y, row.parcel_id.split("-")[-1], fontsize=7, ha="center", va="center", zorder=7)
    _fit_extent(ax, (minx - reach, miny - reach, maxx + reach, maxy + reach), pad=0)
    add_scalebar(ax)
    centre = site_geom.iloc[0].centroid
    add_north_arrow(ax, grid_convergence_deg(centre.x, centre.y, crs))

    draw_table(fig.add_axes((0.06, 0.085, 0.56, 0.40)), fact_rows(site, members, park, lang, standards),
               "地块信息" if zh else "Site facts", fontsize=7.5, gid="facts")
    park_geom = gpd.GeoSeries([park.geometry], crs=parks.crs)
    draw_locator(fig.add_axes((0.66, 0.27, 0.30, 0.20)), districts, park_geom, crs, lang)
    legend_ax = fig.add_axes((0.66, 0.085, 0.30, 0.16))
    legend_ax.axis("off")
    handles = [Patch(facecolor=c, edgecolor="#555555", linewidth=0.4) for _, c in style.legend]
    handles.append(Patch(facecolor="none", edgecolor=HIGHLIGHT_COLOR, linewidth=2))
    legend = legend_ax.legend(handles, [label for label, _ in style.legend] + ["推介地块" if zh else "Site"],
                              loc="upper left", frameon=False, fontsize=7,
                              ncols=2, title="图例" if zh else "Legend", title_fontsize=8, alignment="left")
    legend.set_gid("legend")
    fig.text(0.5, 0.045, source_note(dataset_info, lang), ha="center", fontsize=7, color="#444444", gid="notes")
    fig.text(0.5, 0.028, (f"坐标系：{crs}（CGCS2000 高斯-克吕格）；面积按该投影平面计算。本单仅供招商参考。" if zh else
                          f"CRS: {crs} (CGCS2000 Gauss-Krüger); areas measured in this plane. For information only."),
             ha="center", fontsize=6.5, color="#444444", gid="crs_note")
    return fig


def render_factsheets(parcels: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, out, *,
                      parcel_ids: Iterable[str] | None = None, sites: gpd.GeoDataFrame | None = None,
                      lang: str = "zh", dataset_info: dict | None = None, progress: Progress | None = None,
                      printed: date | None = None, standards: Standards | None = None) -> int:
    """Write fact sheets (one page per site) as a PDF to ``out``; returns the number of pages.

    Give either ``parcel_ids`` (one sheet per parcel) or ``sites`` (e.g.
    :func:`sites_from_candidates` of a match result). ``parcels`` are the parcels around the
    sites (metrics added when missing).
    """
    standards = standards or load_standards()
    if (parcel_ids is None) == (sites is None):
        raise ParkAtlasError("give either parcel ids or candidate sites for the fact sheets")
    frame = parcels if "area_mu" in parcels.columns else with_metrics(parcels, standards)
    if sites is None:
        sites = sites_from_parcels(frame, parcel_ids)
    park_rows = parks.set_index("park_id", drop=False)
    total = len(sites)
    with matplotlib.rc_context(print_rc()), PdfPages(out, metadata={"Title": "ParkAtlas fact sheets",
                                                                    "Creator": "ParkAtlas"}) as pdf:
        for done, (_, site) in enumerate(sites.iterrows(), start=1):
            fig = Figure()
            factsheet_page(fig, site, frame, park_rows.loc[site.park_id], parks=parks, districts=districts,
                           lang=lang, dataset_info=dataset_info, printed=printed, standards=standards)
            pdf.savefig(fig)
            if progress is not None:
                progress(done, total, str(site.site_id))
    return total
