"""Parcel fact sheets (地块推介单): one A4 page per available parcel or candidate block, for investors.

Each page: a map of the site among its neighbours (scale bar, north arrow), a locator, and a
table with the area in 亩, land-use class, status, readiness (净地), infrastructure, the thresholds
that apply (the park's entry thresholds, the national minimum plot ratio for the park's
leading industries, the national building coefficient, and the source and edition of those national
figures) and the park's contact line.
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

from geo import i18n
from geo.city import city_name_of
from geo.crs import projected_crs_for
from geo.errors import KeyedNotFound, ParkAtlasError
from geo.i18n import t
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
        raise KeyedNotFound("store.not_found.parcel", f"unknown parcel {unknown[0]!r}; see `python cli.py available` "
                            "for parcel ids", ids=unknown[:5])
    chosen = parcels.set_index("parcel_id", drop=False).loc[ids]
    return gpd.GeoDataFrame({"site_id": ids, "park_id": chosen.park_id.to_numpy(),
                             "parcel_ids": [[i] for i in ids]}, geometry=chosen.geometry.values, crs=parcels.crs)


def factsheet_file_name(park_ids, lang: str) -> str:
    """A download name naming the parks the sheets cover: one, up to three joined by '+', else their count."""
    parks = list(dict.fromkeys(str(p) for p in park_ids))
    if not parks:
        return f"factsheets_{lang}.pdf"
    what = "+".join(parks) if len(parks) <= 3 else f"{len(parks)}_parks"
    return f"factsheets_{what}_{lang}.pdf"


def sites_from_candidates(candidates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Sites from match candidates (``parcel_ids`` lists, combined geometry)."""
    ids = [list(p) if not isinstance(p, str) else p.split(";") for p in candidates.parcel_ids]
    labels = [i[0] if len(i) == 1 else f"{i[0]} +{len(i) - 1}" for i in ids]
    return gpd.GeoDataFrame({"site_id": labels, "park_id": candidates.park_id.to_numpy(), "parcel_ids": ids},
                            geometry=candidates.geometry.values, crs=candidates.crs)


def _yes_no(values: pd.Series, lang: str) -> str:
    known = values.dropna()
    if known.empty:
        return t("factsheet.unknown", lang)
    if known.all():
        return t("parcel.bool.True", lang)
    if not known.any():
        return t("parcel.bool.False", lang)
    return t("factsheet.partly", lang)


def _with_unit(value, unit_key: str, lang: str, digits: int = 0) -> str:
    return f"{i18n.format_number(value, lang, digits)} {t(unit_key, lang)}"


def fact_rows(site: pd.Series, members: pd.DataFrame, park: pd.Series, lang: str,
              standards: Standards) -> list[tuple[str, str]]:
    """(label, value) rows of a fact sheet."""
    land_use = i18n.land_use_labels(lang, standards)
    statuses = i18n.status_labels(lang, standards)
    uses = ", ".join(f"{land_use.get(c, c)} ({c})" for c in members.land_use_code.dropna().unique())
    status = ", ".join(str(statuses.get(s, s)) for s in members.status.dropna().unique())
    chains = standards.chains.set_index("chain")["name_zh" if lang == "zh" else "name_en"]
    leading = t("print.list_sep", lang).join(str(chains.get(c, c)) for c in split_list(park.leading_chains))
    nat = standards.min_plot_ratio_range(split_list(park.leading_chains))

    def number(value, digits=0) -> str:
        return i18n.format_number(value, lang, digits)

    def at_least(value: str) -> str:
        return t("print.at_least", lang, value=value)

    def wan_per_mu(value, digits=0) -> str:
        return at_least(i18n.format_wan(value, lang, digits, per_mu=True))

    if nat is None:
        national_plot_ratio = "–"
    else:
        national_plot_ratio = at_least(number(nat[0], 1) if nat[0] == nat[1] else
                                       f"{number(nat[0], 1)} – {number(nat[1], 1)}")
    ids = site.parcel_ids
    values = {
        "parcels": ", ".join(ids[:4]) + (" …" if len(ids) > 4 else ""),
        "park": park_name(park, lang),
        "area": t("factsheet.area", lang, mu=i18n.format_area_mu(members.area_mu.sum(), lang, 1),
                  ha=_with_unit(members.area_ha.sum(), "unit.ha", lang, 2)),
        "land_use": uses or "–",
        "status": status or "–",
        "ready": _yes_no(members.land_ready, lang),
        "power": _with_unit(members.power_kva.min(), "unit.kva", lang),
        "water": _with_unit(members.water_t_per_day.min(), "unit.t_per_day", lang),
        "gas": _yes_no(members.gas, lang),
        "distances": t("factsheet.distances", lang, highway=number(members.highway_km.min(), 1),
                       port=number(members.port_km.min(), 1), rail=number(members.rail_km.min(), 1),
                       unit=t("unit.km", lang)),
        "entry_investment": wan_per_mu(park.min_investment_wan_per_mu),
        "entry_output": wan_per_mu(park.min_output_wan_per_mu),
        "entry_tax": wan_per_mu(park.min_tax_wan_per_mu, 1),
        "entry_plot_ratio": at_least(number(park.min_plot_ratio, 1)),
        "national_plot_ratio": national_plot_ratio,
        "national_building_coefficient": at_least(
            i18n.format_percent_value(standards.national_limits["building_coefficient_min"], lang, 0)),
        "national_source": standards.source(lang=lang, short=True),
        "leading_chains": leading or "–",
        "contact": str(park.contact) if pd.notna(park.contact) else "–",
    }
    return [(t(f"factsheet.row.{key}", lang), value) for key, value in values.items()]


def factsheet_page(fig: Figure, site: pd.Series, parcels: gpd.GeoDataFrame, park: pd.Series, *,
                   parks: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, lang: str = "zh",
                   dataset_info: dict | None = None, printed: date | None = None,
                   standards: Standards | None = None) -> Figure:
    """Lay out one fact sheet (A4 portrait) on ``fig``."""
    standards = standards or load_standards()
    spec = PageSpec("A4", "portrait", 150)
    fig.set_size_inches(*spec.size_inches)
    members = parcels.loc[parcels.parcel_id.isin(site.parcel_ids)]
    site_geom = gpd.GeoSeries([site.geometry], crs=parcels.crs)
    crs = projected_crs_for(gpd.GeoDataFrame(geometry=site_geom))
    site_proj = site_geom.to_crs(crs)

    fig.text(0.5, 0.955, t("factsheet.title", lang, site=site.site_id), ha="center", va="center", fontsize=17,
             fontweight="bold", gid="title")
    printed = printed or date.today()
    as_of = members.data_as_of.dropna().max() if members.data_as_of.notna().any() else "–"
    fig.text(0.5, 0.927, t("factsheet.subtitle", lang, name_zh=park.name_zh, name_en=park.name_en, as_of=as_of,
                           printed=printed.isoformat()),
             ha="center", va="center", fontsize=9, color="#333333", gid="subtitle")

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
    add_scalebar(ax, lang)
    centre = site_geom.iloc[0].centroid
    add_north_arrow(ax, grid_convergence_deg(centre.x, centre.y, crs), lang)

    draw_table(fig.add_axes((0.06, 0.085, 0.56, 0.40)), fact_rows(site, members, park, lang, standards),
               t("factsheet.table", lang), fontsize=7.5, gid="facts")
    park_geom = gpd.GeoSeries([park.geometry], crs=parks.crs)
    draw_locator(fig.add_axes((0.66, 0.27, 0.30, 0.20)), districts, park_geom, crs, lang,
                 city_name_of(dataset_info, lang))
    legend_ax = fig.add_axes((0.66, 0.085, 0.30, 0.16))
    legend_ax.axis("off")
    handles = [Patch(facecolor=c, edgecolor="#555555", linewidth=0.4) for _, c in style.legend]
    handles.append(Patch(facecolor="none", edgecolor=HIGHLIGHT_COLOR, linewidth=2))
    legend = legend_ax.legend(handles, [label for label, _ in style.legend] + [t("factsheet.site", lang)],
                              loc="upper left", frameon=False, fontsize=7,
                              ncols=2, title=t("park.legend", lang), title_fontsize=8, alignment="left")
    legend.set_gid("legend")
    fig.text(0.5, 0.045, source_note(dataset_info, lang), ha="center", fontsize=7, color="#444444", gid="notes")
    fig.text(0.5, 0.028, t("factsheet.crs_note", lang, crs=crs), ha="center", fontsize=6.5, color="#444444",
             gid="crs_note")
    return fig


def render_factsheets(parcels: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, out, *,
                      parcel_ids: Iterable[str] | None = None, sites: gpd.GeoDataFrame | None = None,
                      lang: str = "zh", dataset_info: dict | None = None, progress: Progress | None = None,
                      printed: date | None = None, standards: Standards | None = None,
                      cover: Callable[[Figure], None] | None = None) -> int:
    """Write fact sheets (one page per site) as a PDF to ``out``; returns the number of pages.

    ``cover`` draws a first page (e.g. a prospect pack's, :mod:`layers.prospect_pack`), counted.

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
    with matplotlib.rc_context(print_rc()), PdfPages(out, metadata={"Title": t("factsheet.pdf_title", lang),
                                                                    "Creator": "ParkAtlas"}) as pdf:
        if cover is not None:
            fig = Figure()
            cover(fig)
            pdf.savefig(fig)
        for done, (_, site) in enumerate(sites.iterrows(), start=1):
            fig = Figure()
            factsheet_page(fig, site, frame, park_rows.loc[site.park_id], parks=parks, districts=districts,
                           lang=lang, dataset_info=dataset_info, printed=printed, standards=standards)
            pdf.savefig(fig)
            if progress is not None:
                progress(done, total, str(site.site_id))
    return total + (cover is not None)
