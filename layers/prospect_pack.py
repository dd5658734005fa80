"""A prospect pack: a cover page (the prospect, its chain, the gap it fills, the chain's
enterprises nearby) followed by one fact sheet per candidate parcel (:mod:`layers.factsheet`)."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
from matplotlib.figure import Figure

from geo.display import format_value
from geo.i18n import t
from layers.factsheet import render_factsheets
from layers.print_map import PageSpec, source_note


def cover_lines(prospect: pd.Series, node: pd.Series, chain_name: str, status: pd.Series | None,
                nearby: pd.DataFrame, lang: str) -> list[tuple[str, str]]:
    """The cover's (label, value) lines, every value through :func:`geo.display.format_value`."""
    name = "name_zh" if lang == "zh" else "name_en"
    demand = (f"{format_value(node.land_mu_min, 'area_mu', lang)} – {format_value(node.land_mu_max, 'area_mu', lang)}")
    lines = [(t("chains.col.prospect", lang), format_value(prospect["name"], "text", lang)),
             (t("chains.col.origin_city", lang), format_value(prospect.origin_city, "text", lang)),
             (t("chains.col.contact_status", lang), t(f"chains.contact.{prospect.contact_status}", lang)),
             (t("chains.col.chain", lang), chain_name),
             (t("chains.col.node", lang), format_value(node[name], "text", lang)),
             (t("chains.col.demand", lang), demand)]
    if status is not None:
        lines.append((t("chains.col.gap", lang), format_value(bool(status.gap), "bool", lang)))
        lines.append((t("chains.col.nearest_km", lang), format_value(status.nearest_km, "km", lang)))
    for row in nearby.itertuples(index=False):
        lines.append((t("chains.col.nearby", lang), f"{format_value(row.name, 'text', lang)}（"
                      f"{format_value(row.node_name if lang == 'zh' else row.node_name_en, 'text', lang)}，"
                      f"{format_value(row.km, 'km', lang)}）"))
    return lines


def render_prospect_pack(out, lines: list[tuple[str, str]], title: str, *, parcels: gpd.GeoDataFrame,
                         parks: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
                         lang: str = "zh", dataset_info: dict | None = None) -> int:
    """Write the pack as a PDF to ``out``; returns its number of pages."""

    def cover(fig: Figure) -> None:
        fig.set_size_inches(*PageSpec("A4", "portrait", 150).size_inches)
        fig.text(0.5, 0.93, title, ha="center", fontsize=18, weight="bold", gid="title")
        fig.text(0.5, 0.9, t("chains.pack.subtitle", lang), ha="center", fontsize=10, color="#444444")
        y = 0.84
        for label, value in lines:
            fig.text(0.1, y, label, fontsize=10, color="#444444")
            fig.text(0.35, y, value, fontsize=10)
            y -= 0.032
        fig.text(0.1, y - 0.02, t("chains.pack.sheets", lang, count=len(sites)), fontsize=10)
        fig.text(0.5, 0.045, source_note(dataset_info, lang), ha="center", fontsize=7, color="#444444")

    if sites.empty:
        sites = None
    return render_factsheets(parcels, parks, districts, out, sites=sites, parcel_ids=[] if sites is None else None,
                             lang=lang, dataset_info=dataset_info, cover=cover)


def write_prospect_pack(out, pack: dict, *, parks: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, chains: pd.DataFrame,
                        lang: str = "zh", dataset_info: dict | None = None) -> int:
    """Write the pack of :func:`geo.prospect.prospect_land`'s ``pack`` to ``out``; ``chains`` is
    ``data/standards/chains.csv`` (names). Returns the number of pages."""
    from layers.factsheet import sites_from_candidates

    node = pack["node"]
    names = chains.set_index("chain")
    chain_name = str(names.at[node.chain, "name_zh" if lang == "zh" else "name_en"]) if node.chain in names.index \
        else str(node.chain)
    lines = cover_lines(pack["prospect"], node, chain_name, pack["status"], pack["nearby"], lang)
    return render_prospect_pack(out, lines, t("chains.pack.title", lang, name=pack["prospect"]["name"]),
                                parcels=pack["parcels"], parks=parks, districts=districts,
                                sites=sites_from_candidates(pack["result"].candidates), lang=lang,
                                dataset_info=dataset_info)
