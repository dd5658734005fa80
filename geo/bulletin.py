"""The monthly bulletin (招商工作通报): what the leaders read at the month's meeting.

:func:`build_bulletin` gathers, for a month, everything from the store at the month's last
day: the teams' ranking and ratios (:mod:`geo.team_progress`), the month's new signings, land
supplies, starts and productions, the register's warnings by team and park, the parcels of
the month's projects (for the map) and the land left per park. :func:`bulletin_sheets` turns
it into planner-facing tables (one formatter, :mod:`geo.display`) for the XLSX; the PDF is
drawn by :mod:`layers.bulletin`.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import pandas as pd

from geo import display
from geo.errors import KeyedError
from geo.i18n import t
from geo.metrics import park_kpis, with_metrics
from geo.schema import split_list
from geo.team import load_counting_rules, read_targets, read_teams
from geo.project_review import Register, project_warnings, read_register
from geo.team_progress import Progress, team_ids_of, team_progress

#: The stages whose dates make the month's news, in the bulletin's order.
MONTH_STAGES = ("signed", "land_supplied", "under_construction", "in_production")
#: Targets shown as columns of the ranking (all-chain targets; in the counting rules' order).
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
#: Ratio ahead of the straight-line path (green), within 80 % of it (amber), or behind (red).
AMBER_SHARE = 0.8
COLORS = {"ahead": "#2e7d32", "close": "#f9a825", "behind": "#c62828", "none": "#9e9e9e"}


def parse_month(text: str) -> tuple[date, date]:
    """The first and last day of a month given as ``YYYY-MM``, or a one-line error."""
    found = _MONTH.match(str(text or "").strip())
    if not found or not 1 <= int(found.group(2)) <= 12 or not 2000 <= int(found.group(1)) <= 2100:
        raise KeyedError("teams.refused.month", f"month {text!r} must look like 2026-10 (YYYY-MM)", value=str(text or ""))
    year, month = int(found.group(1)), int(found.group(2))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class Bulletin:
    """A month's bulletin, as data (see the module docstring)."""

    month: str
    start: date
    end: date
    progress: Progress
    teams: pd.DataFrame
    events: pd.DataFrame     # project_id, name, team_id, team, park_id, chain, stage, date, investment_wan, land_mu
    warnings: pd.DataFrame   # project_id, kind, level, days, reason_zh, reason_en, name, team_id, park_id, team
    land: pd.DataFrame       # park_id, available_area_mu, available_parcel_count, supplied_area_mu
    sites: gpd.GeoDataFrame  # parcels of the month's projects: parcel_id, park_id, project_id, stage
    parks: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    dataset_info: dict

    def park_names(self, lang: str) -> dict[str, str]:
        """Park id → the park's name in ``lang``."""
        return dict(zip(self.parks.park_id, self.parks["name_zh" if lang == "zh" else "name_en"]))

    def status(self) -> pd.Series:
        """For each progress row: ``ahead``, ``close`` or ``behind`` the straight-line path."""
        rows = self.progress.rows
        share = rows.expected / rows.target_value.where(rows.target_value > 0)
        state = pd.Series("behind", index=rows.index)
        state[rows.ratio >= share * AMBER_SHARE] = "close"
        state[rows.ratio >= share] = "ahead"
        return state.where(rows.ratio.notna(), "none")


def month_events(register: Register, team_ids: pd.Series, start: date, end: date) -> pd.DataFrame:
    """The register's stage changes of :data:`MONTH_STAGES` dated within the month."""
    events = register.events
    on = pd.to_datetime(events.date, errors="coerce")
    mine = events[events.stage.isin(MONTH_STAGES) & on.between(pd.Timestamp(start), pd.Timestamp(end))]
    projects = register.projects.assign(team_id=team_ids.values).set_index("project_id")
    out = mine[["project_id", "stage", "date"]].join(
        projects[["name", "team_id", "park_id", "chain", "investment_wan", "land_mu"]], on="project_id")
    order = {s: i for i, s in enumerate(MONTH_STAGES)}
    out = out.assign(order=out.stage.map(order)).sort_values(["order", "date", "project_id"])
    return out.drop(columns="order").reset_index(drop=True)


def build_bulletin(store, month: str, *, weights: dict[str, float] | None = None,
                   warnings: pd.DataFrame | None = None) -> Bulletin:
    """Everything the month's bulletin shows, from ``store`` at the month's last day.

    ``warnings`` (the register's warnings at the month's end, columns of
    :data:`geo.project_review.WARNING_COLUMNS`) default to the register's own computation.
    """
    start, end = parse_month(month)
    return assemble_bulletin(
        month, read_register(store), read_teams(store), read_targets(store, start.year),
        parcels=store.parcels_as_of(end), parks=store.read_parks(), districts=store.read_districts(),
        dataset_info=store.dataset_info(), weights=weights,
        warnings=register_warnings(store, end) if warnings is None else warnings)


def assemble_bulletin(month: str, register: Register, teams: pd.DataFrame, targets: pd.DataFrame, *,
                      parcels: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, districts: gpd.GeoDataFrame,
                      dataset_info: dict, warnings: pd.DataFrame,
                      weights: dict[str, float] | None = None) -> Bulletin:
    """The bulletin from the register, teams, targets and the parcels at the month's end (no store)."""
    start, end = parse_month(month)
    progress = team_progress(register, teams, targets, year=start.year, as_of=end, weights=weights)
    team_ids = team_ids_of(register.projects, teams)
    names = dict(zip(teams.team_id, teams.name))
    events = month_events(register, team_ids, start, end)
    events.insert(3, "team", events.team_id.map(names))
    owner = register.projects.assign(team_id=team_ids.values).set_index("project_id")
    warnings = warnings[["project_id", "kind", "level", "days", "reason_zh", "reason_en"]].join(
        owner[["name", "team_id", "park_id"]], on="project_id")
    warnings = warnings.assign(team=warnings.team_id.map(names))
    parcels = with_metrics(parcels)
    kpis = park_kpis(parcels, parks)
    supplied = events[events.stage == "land_supplied"].groupby("park_id").land_mu.sum()
    land = pd.DataFrame({"park_id": kpis.park_id, "available_area_mu": kpis.available_area_mu,
                         "available_parcel_count": kpis.available_parcel_count,
                         "supplied_area_mu": kpis.park_id.map(supplied).fillna(0.0)})
    parcel_ids = owner.parcel_ids.map(split_list)
    site_rows = [(pid, row.project_id, row.stage) for row in events.itertuples()
                 for pid in parcel_ids.get(row.project_id, [])]
    sites_ix = pd.DataFrame(site_rows, columns=["parcel_id", "project_id", "stage"]).drop_duplicates(
        "parcel_id", keep="last")
    sites = parcels[["parcel_id", "park_id", "geometry"]].merge(sites_ix, on="parcel_id")
    return Bulletin(month=f"{start:%Y-%m}", start=start, end=end, progress=progress, teams=teams, events=events,
                    warnings=warnings.reset_index(drop=True), land=land.reset_index(drop=True),
                    sites=gpd.GeoDataFrame(sites, geometry="geometry", crs=parcels.crs), parks=parks,
                    districts=districts, dataset_info=dataset_info)


def register_warnings(store, as_of: date) -> pd.DataFrame:
    """The register's warnings at ``as_of`` (:func:`geo.project_review.project_warnings`)."""
    return project_warnings(read_register(store), as_of)


def ranking_table(bulletin: Bulletin, lang: str) -> pd.DataFrame:
    """One row per team: rank, name, score and the ratio of each all-chain target (wide)."""
    rules = load_counting_rules()
    rows = bulletin.progress.rows[bulletin.progress.rows.chain == ""]
    ratios = rows.pivot_table(index="team_id", columns="target", values="ratio", aggfunc="first")
    ratios = ratios.reindex(columns=[c for c in rules.targets if c in ratios.columns])
    scores = bulletin.progress.scores.set_index("team_id")
    table = scores[["rank", "name", "score", "behind"]].join(ratios).reset_index()
    return table.rename(columns={c: rules.label(c, lang) for c in ratios.columns})


def column_headers(columns, lang: str) -> dict[str, str]:
    """Headings of the teams' and bulletin's columns (``teams.col.<name>``; others from the catalogue)."""
    from geo.i18n import catalogue

    cat = catalogue(lang)
    return {c: cat[f"teams.col.{c}"] for c in columns if f"teams.col.{c}" in cat}


def bulletin_sheets(bulletin: Bulletin, lang: str) -> dict[str, pd.DataFrame]:
    """The bulletin's tables for a workbook: every value through :func:`geo.display.format_frame`."""
    rules = load_counting_rules()
    ranking = ranking_table(bulletin, lang)
    ratio_kinds = {rules.label(c, lang): "percent" for c in rules.targets}
    progress = bulletin.progress.rows.assign(target=bulletin.progress.rows.target.map(lambda c: rules.label(c, lang)))
    stage_label = {s: t(f"stage.{s}", lang) for s in MONTH_STAGES}
    parks = bulletin.park_names(lang)
    events = bulletin.events.assign(stage=bulletin.events.stage.map(stage_label),
                                    park_id=bulletin.events.park_id.map(parks))
    warnings = bulletin.warnings.assign(kind=bulletin.warnings.kind.map(lambda k: t(f"warning.{k}", lang)),
                                        level=bulletin.warnings.level.map(lambda v: t(f"level.{v}", lang)),
                                        park_id=bulletin.warnings.park_id.map(parks))

    def frame(table, kinds=None):
        return display.format_frame(table, lang, kinds=kinds or {}, for_export=True,
                                    headers=column_headers(table.columns, lang))

    return {
        t("bulletin.sheet.ranking", lang): frame(ranking, {**ratio_kinds, "score": "percent", "behind": "integer"}),
        t("bulletin.sheet.progress", lang): frame(progress, {"target_value": "number", "actual": "number",
                                                             "expected": "number", "ratio": "percent"}),
        t("bulletin.sheet.events", lang): frame(events, {"stage": "text", "date": "date", "park_id": "text"}),
        t("bulletin.sheet.warnings", lang): frame(warnings, {"days": "integer", "kind": "text", "level": "text",
                                                             "park_id": "text"}),
        t("bulletin.sheet.land", lang): frame(bulletin.land.assign(park_id=bulletin.land.park_id.map(parks)),
                                              {"available_parcel_count": "integer", "park_id": "text"}),
        t("bulletin.sheet.duplicates", lang): frame(bulletin.progress.duplicates, {"signed_on": "date"}),
    }


def bulletin_xlsx(bulletin: Bulletin, lang: str = "zh") -> bytes:
    """The bulletin as an Excel workbook (text neutralised: no cell runs as a formula)."""
    from geo.exports import xlsx_bytes

    return xlsx_bytes(bulletin_sheets(bulletin, lang))


__all__ = ["Bulletin", "build_bulletin", "bulletin_sheets", "bulletin_xlsx", "month_events", "parse_month",
           "ranking_table", "assemble_bulletin", "column_headers", "MONTH_STAGES", "COLORS"]
