"""Print maps with matplotlib: a park on A4/A3 paper, laid out like a QGIS print layout.

Each page carries a title and subtitle (park, theme, dates), the map in a theme (status, land
use, or an intensity indicator classified with mapclassify, exactly as the app's maps via
``layers.style``; match candidates outlined), a
legend, a scale bar measured in the park's CGCS2000 Gauss-Krüger zone, a north arrow pointing
to true north (the meridian convergence is printed), an inset locator map of the city's
districts, and the data-as-of, source (synthetic flag) and CRS notes.

Chinese text uses Noto Sans CJK SC (Debian ``fonts-noto-cjk``), embedded in PDFs as Type 42 /
CID fonts so that the text is extractable. No browser is involved; drawing is vectorised (one
``PathCollection`` per layer, built from shapely coordinate arrays).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib import font_manager
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.path import Path as MplPath
from matplotlib_scalebar.scalebar import ScaleBar
from pyproj import CRS, Transformer

from geo import i18n
from geo.city import city_name_of, english_district_names
from geo.crs import CGCS2000, projected_crs_for
from geo.errors import ParkAtlasError
from geo.i18n import LANGS, t
from geo.metrics import INTENSITY_INDICATORS, with_metrics
from geo.standards import Standards, load_standards
from layers.print_options import ORIENTATIONS, PAPERS_MM, THEMES  # noqa: F401 (the print API names them)
from layers.style import SCHEMES, theme_colors

FORMATS = ("pdf", "png")
DEFAULT_INDICATOR = "output_per_mu_wan"
MIN_DPI, MAX_DPI = 72, 600

#: Where Debian's fonts-noto-cjk puts the CJK fonts; the first one found is used.
CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)
CJK_FAMILY = "Noto Sans CJK SC"

MM_PER_INCH = 25.4
HIGHLIGHT_COLOR = "#0050d0"


def indicator_name(indicator: str, lang: str) -> str:
    """The printed name of an intensity indicator in ``lang`` (the app's theme label)."""
    return i18n.label_theme(indicator, lang)


def park_name(park: pd.Series, lang: str) -> str:
    return str(park.name_zh if lang == "zh" else park.name_en)


# --- fonts ---------------------------------------------------------------------------------------
def register_cjk_font() -> str:
    """Register the Noto CJK font with matplotlib and return its family name.

    Raises :class:`ParkAtlasError` when no CJK font is installed (Chinese would print as boxes).
    """
    if any(f.name == CJK_FAMILY for f in font_manager.fontManager.ttflist):
        return CJK_FAMILY
    for candidate in CJK_FONT_FILES:
        if Path(candidate).exists():
            font_manager.fontManager.addfont(candidate)
            return CJK_FAMILY
    raise ParkAtlasError("no CJK font found; install Debian's fonts-noto-cjk (bash scripts/setup.sh)")


def print_rc() -> dict:
    """matplotlib settings for print: CJK font first, fonts embedded as Type 42 (extractable text).

    Text is never parsed as mathtext: names and codes from the data print literally (a ``$``
    in a park name would otherwise be parsed, and an unknown macro fails the whole page).
    """
    family = register_cjk_font()
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [family, "DejaVu Sans"],
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "axes.unicode_minus": False,
        "svg.fonttype": "none",
        "text.parse_math": False,
    }


# --- options -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageSpec:
    """Paper, orientation and resolution of a printed page."""

    paper: str = "A4"
    orientation: str = "landscape"
    dpi: int = 200

    def __post_init__(self):
        if self.paper not in PAPERS_MM:
            raise ParkAtlasError(f"unknown paper {self.paper!r}; one of {', '.join(PAPERS_MM)}")
        if self.orientation not in ORIENTATIONS:
            raise ParkAtlasError(f"unknown orientation {self.orientation!r}; one of {', '.join(ORIENTATIONS)}")
        if not MIN_DPI <= int(self.dpi) <= MAX_DPI:
            raise ParkAtlasError(f"dpi {self.dpi} out of range; give {MIN_DPI}–{MAX_DPI} (150–300 for print)")

    @property
    def size_mm(self) -> tuple[float, float]:
        short, long = PAPERS_MM[self.paper]
        return (long, short) if self.orientation == "landscape" else (short, long)

    @property
    def size_inches(self) -> tuple[float, float]:
        w, h = self.size_mm
        return w / MM_PER_INCH, h / MM_PER_INCH

    @property
    def landscape(self) -> bool:
        return self.orientation == "landscape"


def check_theme(theme: str, indicator: str | None) -> str | None:
    """Validate a theme (and its indicator); returns the indicator to use (None unless intensity)."""
    if theme not in THEMES:
        raise ParkAtlasError(f"unknown theme {theme!r}; one of {', '.join(THEMES)}")
    if theme != "intensity":
        return None
    indicator = indicator or DEFAULT_INDICATOR
    if indicator not in INTENSITY_INDICATORS:
        raise ParkAtlasError(f"unknown indicator {indicator!r}; one of {', '.join(INTENSITY_INDICATORS)}")
    return indicator


# --- styling -------------------------------------------------------------------------------------
@dataclass
class ThemeStyle:
    """Face colour per parcel and the legend entries (label, colour) of a theme."""

    colors: np.ndarray
    legend: list[tuple[str, str]]
    title: str


def _area_label(label: str, area_mu: float, lang: str) -> str:
    return t("print.legend_area", lang, label=label, area=i18n.format_area_mu(area_mu, lang, 0))


#: Print theme → theme of the app's classifier (:func:`layers.style.theme_colors`).
WEB_THEMES = {"status": "status", "landuse": "land_use"}


def theme_style(parcels: pd.DataFrame, theme: str, *, lang: str = "zh", indicator: str | None = None,
                scheme: str = "quantiles", k: int = 5, area_in_legend: bool = True,
                standards: Standards | None = None) -> ThemeStyle:
    """Colours and legend of ``parcels`` (with metrics) in a theme, as on the app's maps.

    Classification is the app's (:func:`layers.style.theme_colors`): ``status`` and ``landuse``
    take colours and labels from ``data/standards/statuses.csv`` and ``land_use.csv``;
    ``intensity`` classifies ``indicator`` with mapclassify (``scheme`` one of
    :data:`layers.style.SCHEMES`, ``k`` classes). The legend lists the classes present, with their
    area in 亩 unless ``area_in_legend`` is False, then "no data" when some parcels have none.
    """
    indicator = check_theme(theme, indicator)
    if scheme not in SCHEMES:
        raise ParkAtlasError(f"unknown classification {scheme!r}; one of {', '.join(SCHEMES)}")
    classified = theme_colors(parcels, WEB_THEMES.get(theme, indicator), lang=lang, scheme=scheme, k=k,
                              standards=standards or load_standards())
    palette = np.array([*classified.colors, classified.no_data_color], dtype=object)
    codes = classified.codes.astype(int)
    colors = palette[codes]  # code -1 picks the no-data colour at the end
    area = np.bincount(codes[codes >= 0], weights=parcels.area_mu.to_numpy(dtype=float)[codes >= 0],
                       minlength=len(classified.colors))
    counts = np.bincount(codes[codes >= 0], minlength=len(classified.colors))
    legend = [(_area_label(label, a, lang) if area_in_legend else label, color)
              for label, color, a, n in zip(classified.labels, classified.colors, area, counts)
              if n or theme == "intensity"]
    if (codes < 0).any():
        legend.append((t("park.no_data", lang), classified.no_data_color))
    title = indicator_name(indicator, lang) if indicator else t(f"export.themes.{theme}", lang)
    return ThemeStyle(colors, legend, title)


# --- drawing -------------------------------------------------------------------------------------
def polygon_paths(geoms) -> tuple[list[MplPath], np.ndarray]:
    """matplotlib paths (holes kept) for polygons, built from shapely coordinate arrays.

    Returns the paths and, for each path, the position of its source geometry in ``geoms``
    (a MultiPolygon yields one path per part). Empty geometries yield no path.
    """
    geoms = np.asarray(geoms, dtype=object)
    keep = np.flatnonzero(~shapely.is_empty(geoms) & ~shapely.is_missing(geoms))
    parts, part_owner = shapely.get_parts(geoms[keep], return_index=True)
    # Holes must wind against their exterior: matplotlib and PDF fill by the nonzero rule.
    parts = shapely.orient_polygons(parts, exterior_cw=False)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    if not len(coords):
        return [], np.empty(0, dtype=int)
    codes = np.full(len(coords), MplPath.LINETO, dtype=MplPath.code_type)
    ring_start = np.r_[0, np.flatnonzero(np.diff(coord_ring)) + 1]
    codes[ring_start] = MplPath.MOVETO
    codes[np.r_[ring_start[1:] - 1, len(coords) - 1]] = MplPath.CLOSEPOLY
    coord_part = ring_part[coord_ring]
    cuts = np.flatnonzero(np.diff(coord_part)) + 1
    paths = [MplPath(v, c) for v, c in zip(np.split(coords, cuts), np.split(codes, cuts))]
    return paths, keep[part_owner]


def draw_polygons(ax, geoms, *, facecolor="none", edgecolor="#555555", linewidth=0.2,
                  zorder=2, gid: str | None = None) -> PathCollection:
    """Draw polygons as one ``PathCollection`` (per-polygon colours allowed)."""
    paths, owner = polygon_paths(geoms)

    def per_path(color):
        if isinstance(color, str):
            return color
        return to_rgba_array(np.asarray(color, dtype=object)[owner].tolist()) if len(owner) else "none"

    collection = PathCollection(paths, facecolors=per_path(facecolor), edgecolors=per_path(edgecolor),
                                linewidths=linewidth, zorder=zorder)
    collection.set_gid(gid)
    ax.add_collection(collection)
    return collection


def grid_convergence_deg(lon: float, lat: float, projected_crs) -> float:
    """Clockwise angle (°) from grid north to true north at (lon, lat) in ``projected_crs``."""
    to_grid = Transformer.from_crs(CGCS2000, projected_crs, always_xy=True)
    x0, y0 = to_grid.transform(lon, lat)
    x1, y1 = to_grid.transform(lon, lat + 0.01)
    return math.degrees(math.atan2(x1 - x0, y1 - y0))


def add_north_arrow(ax, convergence_deg: float, lang: str, *, xy=(0.94, 0.90), length_pt: float = 26):
    """A north arrow at axes fraction ``xy``, rotated from grid up to true north."""
    theta = math.radians(convergence_deg)
    dx, dy = length_pt * math.sin(theta), length_pt * math.cos(theta)
    arrow = ax.annotate("", xy=xy, xycoords="axes fraction", xytext=(-dx, -dy), textcoords="offset points",
                        arrowprops={"arrowstyle": "-|>,head_width=0.5,head_length=0.9", "lw": 1.6,
                                    "color": "black", "shrinkA": 0, "shrinkB": 0}, zorder=20)
    arrow.set_gid("north_arrow")
    label = ax.annotate(t("print.north", lang), xy=xy, xycoords="axes fraction", xytext=(dx * 0.25, 4 + dy * 0.1),
                        textcoords="offset points", ha="center", va="bottom", fontsize=11,
                        fontweight="bold", zorder=20)
    label.set_gid("north_arrow")
    return arrow


def add_scalebar(ax, lang: str) -> ScaleBar:
    """A scale bar for axes in metres of a projected CRS (dx = 1 m per data unit)."""
    bar = ScaleBar(1, "m", location="lower left", box_alpha=0.85, border_pad=0.6, length_fraction=0.25,
                   font_properties={"size": 8},
                   scale_formatter=lambda value, unit: t("print.scale", lang, value=value, unit=unit))
    bar.set_gid("scalebar")
    ax.add_artist(bar)
    return bar


def _fit_extent(ax, bounds, pad: float = 0.06) -> None:
    """Show ``bounds`` (plus padding) at equal scale, widening one axis to fill the axes box."""
    minx, miny, maxx, maxy = bounds
    span = max(maxx - minx, maxy - miny, 200.0)
    w, h = maxx - minx + 2 * pad * span, maxy - miny + 2 * pad * span
    box = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    box_ratio = (box.width * fig_w) / (box.height * fig_h)
    if w / h < box_ratio:
        w = h * box_ratio
    else:
        h = w / box_ratio
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    ax.set_xlim(cx - w / 2, cx + w / 2)
    ax.set_ylim(cy - h / 2, cy + h / 2)
    ax.set_aspect("equal", adjustable="box")


def _map_axes(fig, rect):
    ax = fig.add_axes(rect)
    ax.set_gid("map")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
    return ax


def draw_locator(ax, districts: gpd.GeoDataFrame, highlight: gpd.GeoSeries, crs, lang: str,
                 city_name: str = "") -> None:
    """Inset locator: the city's districts (from the store), the park (or parcel) in red, titled
    with the city's name."""
    ax.set_gid("locator")
    ax.set_xticks([])
    ax.set_yticks([])
    projected = districts.to_crs(crs)
    draw_polygons(ax, projected.geometry.values, facecolor="#f2efe9", edgecolor="#7a7a7a", linewidth=0.4)
    target = highlight.to_crs(crs)
    draw_polygons(ax, target.values, facecolor="#d62728", edgecolor="#d62728", linewidth=1.2, zorder=5)
    centre = target.union_all().centroid
    ax.plot([centre.x], [centre.y], marker="o", ms=7, mfc="none", mec="#d62728", mew=1.2, zorder=6)
    _fit_extent(ax, projected.total_bounds, pad=0.02)
    if lang == "zh":
        if "name_zh" in projected.columns:
            place_labels(ax, projected, "name_zh")
    else:  # a store made before pinyin names, or a boundary file without name_en, still gets English labels
        place_labels(ax, projected.assign(label_en=english_district_names(projected)), "label_en")
    title = t("print.locator", lang, city=city_name) if city_name else t("print.locator_plain", lang)
    ax.set_title(title, fontsize=8, pad=2)


#: Offsets (in label heights) tried, in order, for a label that would overlap one already placed.
_LABEL_SHIFTS = [(0, 0), (0, 1.1), (0, -1.1), (0, 2.2), (0, -2.2), (1.2, 0), (-1.2, 0), (1.2, 1.1), (-1.2, -1.1)]


def place_labels(ax, areas: gpd.GeoDataFrame, column: str, *, fontsize: float = 5) -> list:
    """Write each area's name inside it, the largest first; a name that would overlap one already
    written moves up or down (with a leader line) or, if nothing fits, is left out.

    Long English names ("Duanzhou District") over small neighbouring districts overlapped.
    """
    order = np.argsort(-areas.geometry.area.to_numpy())
    points = areas.geometry.representative_point().to_numpy()
    placed, texts = [], []
    for i in order:
        point, name = points[i], str(areas[column].iloc[i])
        text = ax.annotate(name, (point.x, point.y), xytext=(0, 0), textcoords="offset points", fontsize=fontsize,
                           color="#555555", ha="center", va="center", zorder=4)
        box = text.get_window_extent()  # the figure's own renderer (Agg, PDF …)
        height_pt = box.height * 72 / ax.figure.dpi
        for dx, dy in _LABEL_SHIFTS:
            text.xyann = (dx * box.width * 72 / ax.figure.dpi, dy * height_pt)
            box = text.get_window_extent().expanded(1.05, 1.1)
            if not any(box.overlaps(other) for other in placed):
                break
        else:
            text.remove()
            continue
        if text.xyann != (0, 0):  # a leader line from the area to its moved name
            ax.annotate("", (point.x, point.y), xytext=text.xyann, textcoords="offset points", zorder=4,
                        arrowprops={"arrowstyle": "-", "color": "#999999", "lw": 0.3, "shrinkA": 2, "shrinkB": 0})
        placed.append(box)
        texts.append(text)
    return texts


def draw_legend(ax, style: ThemeStyle, *, highlight: bool, lang: str, fontsize: float = 8) -> None:
    """Legend of the theme in a panel axes."""
    ax.axis("off")
    handles = [Patch(facecolor=c, edgecolor="#555555", linewidth=0.4) for _, c in style.legend]
    labels = [label for label, _ in style.legend]
    handles.append(Patch(facecolor="none", edgecolor="black", linewidth=1.2))
    labels.append(t("print.park_boundary", lang))
    if highlight:
        handles.append(Patch(facecolor="none", edgecolor=HIGHLIGHT_COLOR, linewidth=2))
        labels.append(t("export.candidates", lang))
    legend = ax.legend(handles, labels, loc="upper left", frameon=False, fontsize=fontsize,
                       title=t("print.legend_title", lang, theme=style.title), title_fontsize=fontsize + 1,
                       alignment="left", borderaxespad=0)
    legend.set_gid("legend")


def available_label(lang: str) -> str:
    """"Available land" defined once, by the statuses it sums (those counting as available in
    data/standards/statuses.csv): the status "available" alone is a legend entry on the same page."""
    from geo.standards import load_standards

    statuses = [i18n.label_status(code, lang) for code in load_standards().available_statuses]
    return t("print.kpi.available", lang, statuses=t("print.kpi.available_join", lang).join(statuses))


def kpi_rows(kpis: pd.Series, lang: str) -> list[tuple[str, str]]:
    """(label, value) rows of a park's KPI table (``geo.metrics.park_kpis`` row)."""
    def num(value, digits=0):
        return i18n.format_number(value, lang, digits)

    def area(value):
        return i18n.format_area_mu(value, lang, 0)

    grades = " / ".join(str(int(kpis.get(f"grade_{g}", 0) or 0)) for g in "ABCD")
    return [
        (t("col.parcels", lang), num(kpis.parcel_count)),
        (t("print.kpi.total_area", lang), area(kpis.total_area_mu)),
        (t("print.kpi.industrial", lang), area(kpis.industrial_area_mu)),
        (t("print.kpi.occupied", lang), area(kpis.occupied_area_mu)),
        (available_label(lang), area(kpis.available_area_mu)),
        (t("print.kpi.idle_inefficient", lang), f"{num(kpis.idle_area_mu)} / {area(kpis.inefficient_area_mu)}"),
        (t("print.kpi.occupancy", lang), i18n.format_percent_value(kpis.occupancy_rate, lang)),
        (indicator_name("plot_ratio", lang), num(kpis.plot_ratio, 2)),
        (indicator_name("building_coefficient", lang), num(kpis.building_coefficient, 2)),
        (indicator_name("investment_per_mu_wan", lang), num(kpis.investment_per_mu_wan, 1)),
        (indicator_name("output_per_mu_wan", lang), num(kpis.output_per_mu_wan, 1)),
        (indicator_name("tax_per_mu_wan", lang), num(kpis.tax_per_mu_wan, 1)),
        (t("print.kpi.grades", lang), grades),
    ]


def draw_table(ax, rows: list[tuple[str, str]], title: str, *, fontsize: float = 7.5, gid: str = "kpi_table"):
    """A two-column label/value table filling a panel axes."""
    ax.axis("off")
    table = ax.table(cellText=[[a, b] for a, b in rows], colWidths=[0.58, 0.42], bbox=[0, 0, 1, 1],
                     cellLoc="left", edges="horizontal")
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize)
    for (_, col), cell in table.get_celld().items():
        cell.set_linewidth(0.3)
        if col == 1:
            cell.set_text_props(ha="right")
            cell._loc = "right"
    table.set_gid(gid)
    ax.set_title(title, fontsize=fontsize + 1.5, loc="left", pad=3)
    return table


# --- page ----------------------------------------------------------------------------------------
@dataclass
class Layout:
    """Figure-fraction rectangles of the page furniture."""

    title_y: float
    subtitle_y: float
    map: tuple
    locator: tuple
    legend: tuple
    table: tuple | None
    notes_y: float


def page_layout(spec: PageSpec, *, with_table: bool) -> Layout:
    """Where title, map, locator, legend, table and notes go on the page."""
    w, h = spec.size_mm
    m = 10.0
    header, footer = 24.0, 16.0
    fx, fy = (lambda v: v / w), (lambda v: v / h)
    body_top, body_bottom = h - header, footer
    if spec.landscape:
        panel_w = 0.29 * (w - 2 * m)
        map_rect = (fx(m), fy(body_bottom), fx(w - 2 * m - panel_w - 5), fy(body_top - body_bottom))
        px = fx(w - m - panel_w)
        pw = fx(panel_w)
        body = body_top - body_bottom
        loc_h = min(0.36 * body, panel_w * 0.8)
        locator = (px, fy(body_top - loc_h), pw, fy(loc_h))
        rest = body - loc_h - 6
        legend_h = rest * (0.48 if with_table else 1.0)
        legend = (px, fy(body_top - loc_h - 6 - legend_h), pw, fy(legend_h))
        table = (px, fy(body_bottom), pw, fy(rest - legend_h - 3)) if with_table else None
    else:
        panel_h = 0.30 * (h - header - footer)
        map_rect = (fx(m), fy(body_bottom + panel_h + 4), fx(w - 2 * m), fy(body_top - body_bottom - panel_h - 4))
        col = (w - 2 * m - 8) / 3
        locator = (fx(m), fy(body_bottom), fx(col), fy(panel_h - 4))
        if with_table:
            legend = (fx(m + col + 4), fy(body_bottom), fx(col), fy(panel_h))
            table = (fx(m + 2 * col + 8), fy(body_bottom), fx(col), fy(panel_h - 4))
        else:
            legend = (fx(m + col + 6), fy(body_bottom), fx(2 * col), fy(panel_h))
            table = None
    return Layout(title_y=fy(h - 10), subtitle_y=fy(h - 17), map=map_rect, locator=locator, legend=legend,
                  table=table, notes_y=fy(footer - 5))


def source_note(info: dict | None, lang: str) -> str:
    """The source line: dataset note and the synthetic flag from ``store.dataset_info()``."""
    info = info or {}
    synthetic = str(info.get("synthetic", "")).lower() in ("true", "1", "yes")
    parts = [t("print.source", lang, source="ParkAtlas")]
    if info.get("generator"):
        parts.append(str(info["generator"]))
    if synthetic:
        parts.append(t("print.synthetic", lang))
    return " · ".join(parts)


def crs_note(crs, convergence_deg: float, lang: str) -> str:
    """The CRS line: the map's projected CRS, the storage CRS and the meridian convergence."""
    return t("print.crs_note", lang, name=CRS.from_user_input(crs).name, crs=crs, deg=abs(convergence_deg))


def park_page(fig: Figure, parcels: gpd.GeoDataFrame, park: pd.Series, *, parks: gpd.GeoDataFrame,
              districts: gpd.GeoDataFrame, spec: PageSpec, theme: str = "status", indicator: str | None = None,
              scheme: str = "quantiles", k: int = 5, lang: str = "zh", highlight_ids=None,
              dataset_info: dict | None = None, kpis: pd.Series | None = None, title: str | None = None,
              printed: date | None = None, standards: Standards | None = None) -> Figure:
    """Lay out one park map page on ``fig`` (sized to ``spec``)."""
    if lang not in LANGS:
        raise ParkAtlasError(f"unknown language {lang!r}; one of {', '.join(LANGS)}")
    standards = standards or load_standards()
    frame = parcels if "area_mu" in parcels.columns else with_metrics(parcels, standards)
    style = theme_style(frame, theme, lang=lang, indicator=indicator, scheme=scheme, k=k, standards=standards)
    park_geom = gpd.GeoSeries([park.geometry], crs=parks.crs)
    crs = projected_crs_for(gpd.GeoDataFrame(geometry=park_geom))
    layout = page_layout(spec, with_table=kpis is not None)

    fig.set_size_inches(*spec.size_inches)
    name = park_name(park, lang)
    fig.text(0.5, layout.title_y, title or t("print.title", lang, park=name, theme=style.title),
             ha="center", va="center", fontsize=16 if spec.paper == "A4" else 20, fontweight="bold", gid="title")
    as_of = park.get("data_as_of")
    as_of = "–" if pd.isna(as_of) or as_of == "" else as_of  # NA for a park without parcels yet
    printed = printed or date.today()
    subtitle = t("print.subtitle", lang, name_zh=park.name_zh, name_en=park.name_en, theme=style.title, as_of=as_of,
                 printed=printed.isoformat())
    fig.text(0.5, layout.subtitle_y, subtitle, ha="center", va="center", fontsize=9, color="#333333",
             gid="subtitle")

    ax = _map_axes(fig, layout.map)
    projected = frame.to_crs(crs)
    draw_polygons(ax, projected.geometry.values, facecolor=style.colors, edgecolor="#6b6b6b",
                  linewidth=0.15, gid="parcels")
    park_proj = park_geom.to_crs(crs)
    draw_polygons(ax, park_proj.values, facecolor="none", edgecolor="black", linewidth=1.0, zorder=4,
                  gid="park_boundary")
    ids = list(highlight_ids) if highlight_ids is not None else []
    if ids:
        chosen = projected.loc[projected.parcel_id.isin(ids)]
        draw_polygons(ax, chosen.geometry.values, facecolor="none", edgecolor=HIGHLIGHT_COLOR, linewidth=1.6,
                      zorder=5, gid="candidates")
    context = districts.to_crs(crs)
    draw_polygons(ax, context.geometry.values, facecolor="none", edgecolor="#9a9a9a", linewidth=0.6,
                  zorder=1, gid="districts")
    _fit_extent(ax, park_proj.total_bounds)
    add_scalebar(ax, lang)
    centre = park_geom.union_all().centroid
    convergence = grid_convergence_deg(centre.x, centre.y, crs)
    add_north_arrow(ax, convergence, lang)

    draw_locator(fig.add_axes(layout.locator), districts, park_geom, crs, lang, city_name_of(dataset_info, lang))
    draw_legend(fig.add_axes(layout.legend), style, highlight=bool(ids), lang=lang,
                fontsize=8 if spec.paper == "A4" else 9)
    if kpis is not None:
        draw_table(fig.add_axes(layout.table), kpi_rows(kpis, lang), t("overview.table", lang))
    fig.text(0.5, layout.notes_y, source_note(dataset_info, lang), ha="center", va="center", fontsize=7,
             color="#444444", gid="notes")
    fig.text(0.5, layout.notes_y - 4.5 / spec.size_mm[1], crs_note(crs, convergence, lang), ha="center",
             va="center", fontsize=6.5, color="#444444", gid="crs_note")
    return fig


def save_figure(fig: Figure, fmt: str, dpi: int, out=None) -> bytes | None:
    """Save ``fig`` as PDF (vector, fonts embedded) or PNG; to ``out`` (path/file) or return bytes."""
    if fmt not in FORMATS:
        raise ParkAtlasError(f"unknown print format {fmt!r}; one of {', '.join(FORMATS)}")
    with matplotlib.rc_context(print_rc()):
        target = out if out is not None else io.BytesIO()
        fig.savefig(target, format=fmt, dpi=dpi, metadata=_metadata(fig, fmt))
    return None if out is not None else target.getvalue()


def _metadata(fig: Figure, fmt: str) -> dict:
    title = next((txt.get_text() for txt in fig.texts if txt.get_gid() == "title"), "ParkAtlas")
    return {"Title": title, "Creator": "ParkAtlas"} if fmt == "pdf" else {"Title": title, "Software": "ParkAtlas"}


def render_park_map(parcels: gpd.GeoDataFrame, park: pd.Series, *, parks: gpd.GeoDataFrame,
                    districts: gpd.GeoDataFrame, fmt: str = "pdf", paper: str = "A4",
                    orientation: str = "landscape", dpi: int = 200, out=None, **options) -> bytes | None:
    """Render a park map page to PDF or PNG.

    Parameters
    ----------
    parcels : GeoDataFrame
        The park's parcels (store schema; metrics added when missing).
    park : Series
        The park's row of ``store.read_parks()``.
    parks, districts : GeoDataFrame
        All parks and the city's districts (context and locator).
    fmt : {"pdf", "png"}
    paper, orientation, dpi
        A4/A3, portrait/landscape, 72–600 dpi.
    out : path or file, optional
        Where to write; bytes are returned when omitted.
    **options
        ``theme``, ``indicator``, ``scheme``, ``k``, ``lang``, ``highlight_ids``, ``dataset_info``,
        ``kpis``, ``title``, ``printed``, ``standards`` — see :func:`park_page`.
    """
    spec = PageSpec(paper, orientation, dpi)
    with matplotlib.rc_context(print_rc()):
        fig = Figure(figsize=spec.size_inches)
        park_page(fig, parcels, park, parks=parks, districts=districts, spec=spec, **options)
        return save_figure(fig, fmt, spec.dpi, out)


def render_park_html(parcels: gpd.GeoDataFrame, *, theme: str = "status", indicator: str | None = None,
                     lang: str = "zh", highlight_ids=None, context=None) -> str:
    """The park as one self-contained, offline interactive HTML page (the app's web map, assets inlined).

    Values are escaped by the app's map builder (:func:`layers.webmap.park_map`); the page
    loads no external script or stylesheet (:func:`layers.assets.standalone_html`). ``context``
    (the park's row) names the page; outlined candidates have their own legend entry.
    """
    from layers.assets import standalone_html
    from layers.webmap import park_map

    web_theme = {"status": "status", "landuse": "land_use"}.get(theme) or check_theme(theme, indicator)
    m = park_map(parcels, theme=web_theme, lang=lang, highlight_ids=highlight_ids, context=context,
                 highlight_label=t("export.candidates", lang))
    # The page's title (browser tab, bookmarks): the park — ``context`` is its row — and the theme.
    names = [] if context is None or not len(context) else \
        list((context.name_zh if lang == "zh" else context.name_en).fillna(context.name_zh).astype(str))
    m.get_root().title = " · ".join([*names[:1], i18n.label_theme(web_theme, lang), "ParkAtlas"])
    return standalone_html(m)
