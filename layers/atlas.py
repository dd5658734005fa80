"""The atlas: one multi-page PDF with a page per park (like a QGIS atlas), each with its KPI table.

Progress is reported through a callback ``progress(done, total, label)`` called after each page,
so the CLI can print progress and the app can drive ``st.progress``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import geopandas as gpd
import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from geo.errors import unknown_park
from geo.i18n import t
from geo.metrics import park_kpis, with_metrics
from geo.standards import Standards, load_standards
from layers.print_map import PageSpec, park_name, park_page, print_rc

Progress = Callable[[int, int, str], None]


def render_atlas(parcels: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, out, *,
                 park_ids: Iterable[str] | None = None, theme: str = "status", indicator: str | None = None,
                 paper: str = "A4", orientation: str = "landscape", lang: str = "zh",
                 dataset_info: dict | None = None, progress: Progress | None = None,
                 printed: date | None = None, standards: Standards | None = None) -> int:
    """Write the atlas PDF to ``out`` (a path or binary file) and return the number of pages.

    Parameters
    ----------
    parcels, parks, districts : GeoDataFrame
        All parcels (metrics added when missing; grades are city-wide), the parks in page
        order, and the city's districts for the locator maps.
    out : path or file
        Where the PDF goes (``io.BytesIO`` for a download button).
    park_ids : iterable of str, optional
        The parks to include (default: all, in the parks' order).
    progress : callable, optional
        ``progress(done, total, label)`` after each page; ``label`` is the park's name.
    theme, indicator, paper, orientation, lang, dataset_info, printed, standards
        As for :func:`layers.print_map.park_page`.
    """
    standards = standards or load_standards()
    spec = PageSpec(paper, orientation, 150)
    chosen = parks
    if park_ids is not None:
        wanted = list(park_ids)
        unknown = sorted(set(wanted) - set(parks.park_id))
        if unknown:
            raise unknown_park(unknown[0])
        chosen = parks.loc[parks.park_id.isin(wanted)]
    frame = parcels if "grade" in parcels.columns else with_metrics(parcels, standards)
    kpis = park_kpis(frame, parks, standards).set_index("park_id", drop=False)
    by_park = dict(tuple(frame.groupby("park_id", sort=False)))
    total = len(chosen)
    with matplotlib.rc_context(print_rc()), PdfPages(out, metadata={"Title": t("atlas.pdf_title", lang),
                                                                    "Creator": "ParkAtlas"}) as pdf:
        for done, (_, row) in enumerate(chosen.iterrows(), start=1):
            fig = Figure(figsize=spec.size_inches)
            park_parcels = by_park.get(row.park_id, frame.iloc[:0])
            park_page(fig, park_parcels, row, parks=parks, districts=districts, spec=spec, theme=theme,
                      indicator=indicator, lang=lang, dataset_info=dataset_info, kpis=kpis.loc[row.park_id],
                      printed=printed, standards=standards)
            pdf.savefig(fig)
            if progress is not None:
                progress(done, total, park_name(row, lang))
    return total
