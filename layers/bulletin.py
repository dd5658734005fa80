"""The monthly bulletin (招商工作通报) as a PDF, in the print fonts and styles of the other exports.

One weight of the CJK font only (headings differ by size and shade): embedding a subset of each
weight of Noto Sans CJK costs seconds.

A4 portrait pages drawn with matplotlib (:mod:`layers.print_map`'s CJK font, embedded as Type 42
so the text can be searched and copied): the ranking of the teams with their ratios coloured
against the straight-line path and a bar chart of the scores; the month's new signings, land
supplies, starts and productions; the warnings by team and park; a map of the month's projects by
stage on the parks with the land left per park. Every value passes :mod:`geo.display`; user text
is drawn literally (mathtext is off).
"""
from __future__ import annotations

import io
from datetime import date

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from geo import display
from geo.bulletin import COLORS, MONTH_STAGES, Bulletin, ranking_table
from geo.crs import projected_crs_for
from geo.i18n import check_lang, t
from geo.team import load_counting_rules
from layers.print_map import PageSpec, _fit_extent, draw_polygons, print_rc, source_note

ROWS_PER_PAGE = 38
ROW_HEIGHT = 0.02  # of the page, per table row
STAGE_COLORS = {"signed": "#1f77b4", "land_supplied": "#ff7f0e", "under_construction": "#9467bd",
                "in_production": "#2ca02c"}
_TINTS = {"ahead": "#dcedc8", "close": "#fff3c4", "behind": "#ffcdd2", "none": "#ffffff"}
LEVEL_ORDER = ("red", "yellow", "info")


def _rc() -> dict:
    return {**print_rc(), "text.parse_math": False}


def _header(fig: Figure, bulletin: Bulletin, lang: str, printed: date, heading: str) -> None:
    fig.text(0.5, 0.965, t("bulletin.title", lang), ha="center", va="center", fontsize=18,
             gid="title")
    fig.text(0.5, 0.94, t("bulletin.subtitle", lang, year=bulletin.start.year, month=bulletin.start.month,
                          as_of=display.format_value(bulletin.end, "date", lang),
                          printed=display.format_value(printed, "date", lang)),
             ha="center", va="center", fontsize=9, color="#333333", gid="subtitle")
    fig.text(0.06, 0.912, heading, ha="left", va="center", fontsize=12)
    fig.text(0.5, 0.025, source_note(bulletin.dataset_info, lang), ha="center", va="center", fontsize=7,
             color="#444444", gid="notes")


def _fit(text: str, width_pt: float, fontsize: float) -> str:
    """``text`` cut with an ellipsis to about ``width_pt`` (a CJK character is ~1 em, Latin ~0.55 em)."""
    used, out = 0.0, []
    for char in text:
        used += fontsize * (1.0 if ord(char) > 0x2E80 else 0.55)
        if used > width_pt:
            return "".join(out[:-1]) + "…"
        out.append(char)
    return text


def _table(ax, columns: list[str], rows: list[list[str]], lang: str, *, widths=None, tints=None,
           fontsize: float = 7.0, gid: str | None = None) -> None:
    """A table from the top of ``ax``: one text per cell at fixed positions (rows ≈ 2 % of the page
    high), a grey header, thin rules, ``tints`` (row × column colours) shading cells.

    Drawn directly rather than with ``Axes.table``, which measures every cell's text again and
    again to lay itself out (most of a bulletin's drawing time).
    """
    from matplotlib.patches import Rectangle

    ax.axis("off")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    if gid:
        ax.set_gid(gid)
    if not rows:
        ax.text(0, 1, t("bulletin.none", lang), va="top", fontsize=fontsize + 1)
        return
    widths = widths or [1 / len(columns)] * len(columns)
    lefts = [sum(widths[:i]) for i in range(len(widths))]
    box = ax.get_position()
    step = ROW_HEIGHT / box.height
    width_pt = box.width * ax.figure.get_figwidth() * 72
    for r, cells in enumerate([columns, *rows]):
        top = 1 - r * step
        if r == 0 or tints is not None:
            for c, left in enumerate(lefts):
                colour = "#eeeeee" if r == 0 else tints[r - 1][c]
                if colour != "#ffffff":
                    ax.add_patch(Rectangle((left, top - step), widths[c], step, facecolor=colour, linewidth=0))
        ax.plot([0, 1], [top - step, top - step], color="#999999", linewidth=0.3)
        for c, (left, text) in enumerate(zip(lefts, cells)):
            ax.text(left + 0.005, top - step / 2, _fit(str(text), widths[c] * width_pt - 4, fontsize),
                    va="center", ha="left", fontsize=fontsize)


def _ranking_page(fig: Figure, bulletin: Bulletin, lang: str) -> None:
    rules = load_counting_rules()
    table = ranking_table(bulletin, lang)
    ratio_columns = [rules.label(c, lang) for c in rules.targets if rules.label(c, lang) in table.columns]
    rows = bulletin.progress.rows
    status = bulletin.status()
    state = {(r.team_id, r.target): s for r, s in zip(rows.itertuples(), status) if r.chain == ""}
    label_to_code = {rules.label(c, lang): c for c in rules.targets}
    text_rows, tints = [], []
    for record in table.to_dict(orient="records"):
        text_rows.append([display.format_value(record["rank"], "integer", lang), str(record["name"]),
                          display.format_value(record["score"], "percent", lang),
                          *[display.format_value(record[c], "percent", lang) for c in ratio_columns],
                          display.format_value(record["behind"], "integer", lang)])
        tints.append(["#ffffff"] * 3 + [_TINTS[state.get((record["team_id"], label_to_code[c]), "none")]
                                        for c in ratio_columns] + ["#ffffff"])
    columns = [t("bulletin.col.rank", lang), t("bulletin.col.team", lang), t("bulletin.col.score", lang),
               *ratio_columns, t("bulletin.col.behind", lang)]
    widths = [0.05, 0.24, 0.08] + [0.55 / max(len(ratio_columns), 1)] * len(ratio_columns) + [0.08]
    ax = fig.add_axes((0.06, 0.47, 0.88, 0.43))
    _table(ax, columns, text_rows, lang, widths=widths, tints=tints, fontsize=6.5, gid="ranking_table")
    fig.text(0.06, 0.455, t("bulletin.legend_colours", lang), fontsize=7, color="#444444", va="top")
    chart = fig.add_axes((0.30, 0.07, 0.62, 0.33))
    chart.set_gid("score_chart")
    ranked = bulletin.progress.scores.dropna(subset=["score"]).iloc[::-1]
    elapsed = _elapsed_share(bulletin)
    colours = [COLORS["ahead"] if s >= elapsed else COLORS["close"] if s >= elapsed * 0.8 else COLORS["behind"]
               for s in ranked.score]
    chart.barh(range(len(ranked)), ranked.score * 100, color=colours)
    chart.set_yticks(range(len(ranked)), [str(n) for n in ranked.name], fontsize=7)
    chart.axvline(elapsed * 100, color="#333333", linewidth=0.8, linestyle="--")
    chart.text(elapsed * 100, len(ranked) - 0.4, t("bulletin.path", lang), fontsize=6.5, ha="left", va="bottom")
    chart.set_xlabel(t("bulletin.score_axis", lang), fontsize=8)
    chart.tick_params(axis="x", labelsize=7)
    chart.set_title(t("bulletin.chart_title", lang), fontsize=9, loc="left")
    for side in ("top", "right"):
        chart.spines[side].set_visible(False)


def _elapsed_share(bulletin: Bulletin) -> float:
    rows = bulletin.progress.rows
    valid = rows[rows.target_value > 0]
    return float((valid.expected / valid.target_value).iloc[0]) if len(valid) else 0.0


def _chunks(rows: list, size: int = ROWS_PER_PAGE):
    for start in range(0, max(len(rows), 1), size):
        yield rows[start:start + size]


def _events_pages(pdf, bulletin: Bulletin, lang: str, printed: date) -> None:
    events = bulletin.events
    counts = events.stage.value_counts()
    summary = "  ·  ".join(f"{t(f'stage.{s}', lang)} {int(counts.get(s, 0))}" for s in MONTH_STAGES)
    parks = bulletin.park_names(lang)
    rows = [[t(f"stage.{r.stage}", lang), str(r.name), display.format_value(r.team, "text", lang),
             display.format_value(parks.get(r.park_id), "text", lang), display.format_value(r.date, "date", lang),
             display.format_value(r.investment_wan, "wan", lang, unit=False)] for r in events.itertuples()]
    columns = [t("bulletin.col.stage", lang), t("bulletin.col.project", lang), t("bulletin.col.team", lang),
               t("bulletin.col.park", lang), t("bulletin.col.date", lang), t("bulletin.col.investment", lang)]
    for chunk in _chunks(rows):
        fig = _figure()
        _header(fig, bulletin, lang, printed, t("bulletin.events_heading", lang))
        fig.text(0.06, 0.89, summary, fontsize=9, va="center")
        _table(fig.add_axes((0.06, 0.06, 0.88, 0.81)), columns, chunk, lang,
               widths=[0.11, 0.29, 0.17, 0.15, 0.11, 0.17])
        pdf.savefig(fig)


def _warnings_pages(pdf, bulletin: Bulletin, lang: str, printed: date) -> None:
    parks = bulletin.park_names(lang)
    warnings = bulletin.warnings.assign(park=bulletin.warnings.park_id.map(parks))
    fig = _figure()
    _header(fig, bulletin, lang, printed, t("bulletin.warnings_heading", lang))
    for rect, key, title in (((0.06, 0.55, 0.42, 0.33), "team", t("bulletin.by_team", lang)),
                             ((0.52, 0.55, 0.42, 0.33), "park", t("bulletin.by_park", lang))):
        pivot = (warnings.assign(key=warnings[key].fillna("–")).pivot_table(
            index="key", columns="level", values="project_id", aggfunc="count", fill_value=0)
            .reindex(columns=list(LEVEL_ORDER), fill_value=0))
        rows = [[str(k), *[display.format_value(v, "integer", lang) for v in row]] for k, row in pivot.iterrows()]
        ax = fig.add_axes(rect)
        ax.set_title(title, fontsize=9, loc="left")
        _table(ax, [title, *[t(f"level.{lv}", lang) for lv in LEVEL_ORDER]], rows[:ROWS_PER_PAGE // 2], lang,
               widths=[0.52, 0.16, 0.16, 0.16])
    red = warnings[warnings.level == "red"]
    rows = [[str(r.name), display.format_value(r.team, "text", lang), display.format_value(r.park, "text", lang),
             t(f"warning.{r.kind}", lang), display.format_value(r.days, "integer", lang)]
            for r in red.itertuples()]
    ax = fig.add_axes((0.06, 0.06, 0.88, 0.44))
    ax.set_title(t("bulletin.red_list", lang, count=len(rows)), fontsize=9, loc="left")
    _table(ax, [t("bulletin.col.project", lang), t("bulletin.col.team", lang), t("bulletin.col.park", lang),
                t("bulletin.col.warning", lang), t("bulletin.col.days", lang)], rows[:ROWS_PER_PAGE // 2], lang,
           widths=[0.32, 0.2, 0.16, 0.2, 0.12])
    if len(rows) > ROWS_PER_PAGE // 2:
        fig.text(0.06, 0.045, t("bulletin.more_in_xlsx", lang, count=len(rows) - ROWS_PER_PAGE // 2), fontsize=7)
    pdf.savefig(fig)


def _map_page(pdf, bulletin: Bulletin, lang: str, printed: date) -> None:
    fig = _figure()
    _header(fig, bulletin, lang, printed, t("bulletin.map_heading", lang))
    crs = projected_crs_for(bulletin.parks)
    ax = fig.add_axes((0.06, 0.42, 0.88, 0.47))
    ax.set_gid("map")
    ax.set_xticks([])
    ax.set_yticks([])
    districts = bulletin.districts.to_crs(crs)
    draw_polygons(ax, districts.geometry.values, facecolor="#f7f5f0", edgecolor="#9a9a9a", linewidth=0.5)
    parks = bulletin.parks.to_crs(crs)
    draw_polygons(ax, parks.geometry.values, facecolor="#e6e6e6", edgecolor="#333333", linewidth=0.6, zorder=3)
    name_col = "name_zh" if lang == "zh" else "name_en"
    for name, point in zip(parks[name_col], parks.geometry.representative_point()):
        ax.text(point.x, point.y, str(name), fontsize=5, ha="center", va="top", color="#333333", zorder=6)
    sites = bulletin.sites.to_crs(crs)
    handles = []
    for stage in MONTH_STAGES:
        mine = sites[sites.stage == stage]
        if len(mine):
            points = mine.geometry.representative_point()
            ax.scatter(points.x, points.y, s=14, color=STAGE_COLORS[stage], edgecolors="white", linewidths=0.4,
                       zorder=5)
        handles.append(Patch(color=STAGE_COLORS[stage], label=t("bulletin.map_count", lang,
                                                                stage=t(f"stage.{stage}", lang),
                                                                mapped=mine.project_id.nunique(),
                                                                total=int((bulletin.events.stage == stage).sum()))))
    ax.legend(handles=handles, loc="lower left", fontsize=7, frameon=True, title=t("bulletin.map_legend", lang),
              title_fontsize=7)
    _fit_extent(ax, parks.total_bounds, pad=0.08)
    land = bulletin.land.assign(park=bulletin.land.park_id.map(bulletin.park_names(lang)))
    rows = [[str(r.park), display.format_value(r.available_area_mu, "area_mu", lang, unit=False),
             display.format_value(r.available_parcel_count, "integer", lang),
             display.format_value(r.supplied_area_mu, "area_mu", lang, unit=False)] for r in land.itertuples()]
    table_ax = fig.add_axes((0.06, 0.06, 0.88, 0.32))
    table_ax.set_title(t("bulletin.land_heading", lang), fontsize=9, loc="left")
    _table(table_ax, [t("bulletin.col.park", lang), t("bulletin.col.available_mu", lang),
                      t("bulletin.col.available_count", lang), t("bulletin.col.supplied_mu", lang)], rows, lang,
           widths=[0.46, 0.18, 0.18, 0.18])
    pdf.savefig(fig)


def _figure() -> Figure:
    return Figure(figsize=PageSpec("A4", "portrait").size_inches)


def render_bulletin(bulletin: Bulletin, out=None, *, lang: str = "zh", printed: date | None = None) -> bytes | None:
    """Write the bulletin PDF to ``out`` (path or binary file), or return its bytes.

    Pages: ranking and scores; the month's news (as many pages as needed); warnings; the map of
    the month's projects and the land left per park.
    """
    lang = check_lang(lang)
    printed = printed or date.today()
    target = out if out is not None else io.BytesIO()
    title = f"{t('bulletin.title', lang)} {bulletin.month}"
    with matplotlib.rc_context(_rc()), PdfPages(target, metadata={"Title": title, "Creator": "ParkAtlas"}) as pdf:
        fig = _figure()
        _header(fig, bulletin, lang, printed, t("bulletin.ranking_heading", lang))
        _ranking_page(fig, bulletin, lang)
        pdf.savefig(fig)
        _events_pages(pdf, bulletin, lang, printed)
        _warnings_pages(pdf, bulletin, lang, printed)
        _map_page(pdf, bulletin, lang, printed)
    return None if out is not None else target.getvalue()


def preview_png(bulletin: Bulletin, *, lang: str = "zh", dpi: int = 80) -> bytes:
    """The bulletin's first page (ranking and scores) as a PNG, for a preview on screen."""
    lang = check_lang(lang)
    with matplotlib.rc_context(_rc()):
        fig = _figure()
        _header(fig, bulletin, lang, date.today(), t("bulletin.ranking_heading", lang))
        _ranking_page(fig, bulletin, lang)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


__all__ = ["render_bulletin", "preview_png", "STAGE_COLORS"]
