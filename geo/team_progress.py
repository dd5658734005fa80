"""The teams' progress against their targets, computed from the project register at a date.

Pure functions over the register's frames (projects, stage events, yearly actuals), so the
figures are the same in the app, the CLI and the bulletin, and every actual lists the
projects it is made of. The counting rules come from ``data/standards/team_counting.csv``
(:func:`geo.team.load_counting_rules`, documented in ``docs/teams.md``):

- a project counts for the team that owns it (the register's ``team``: a team id or name);
- "signed" needs a valid USCC (GB 32100-2015) and a signing date (``signed_on``) in the period;
- a later stage counts from the first date at or after that stage, so "landed" counts only
  from land supply on, and a project that skipped a recorded stage still counts once;
- a withdrawn project (终止 on or before the as-of date) counts for nothing;
- a second signing with the same USCC and chain is not counted again: it is listed in
  :attr:`Progress.duplicates` with the project it repeats;
- the period is the calendar year up to the as-of date: a project signed on 31 December counts
  in that year only.

The score of a team is the weighted mean of its ratios (each capped at the rule's ``cap``)
over its all-chain targets; the weights come from the CSV or are given per call.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from geo.errors import ParkAtlasError
from geo.project import STAGES
from geo.project_review import Register
from geo.team import CountingRules, load_counting_rules
from geo.uscc import uscc_problem

#: Progress rows, also the stable keys of ``teams progress`` (docs/cli.md).
ROW_COLUMNS = ["team_id", "name", "target", "chain", "target_value", "actual", "ratio", "rank",
               "expected", "behind", "project_ids"]
FACT_COLUMNS = ["project_id", "team_id", "chain", "target", "on", "value"]


@dataclass(frozen=True)
class Progress:
    """Progress of every team for ``year`` as of ``as_of``.

    Attributes
    ----------
    rows
        One row per team and target (and chain): :data:`ROW_COLUMNS`; ``project_ids`` is the
        list of projects making up ``actual``; ``expected`` the straight-line path at the
        as-of date; ``behind`` whether the actual is below it.
    scores
        One row per team: ``team_id``, ``name``, ``score``, ``rank``, ``behind`` (targets behind).
    monthly
        ``team_id``, ``target``, ``chain``, ``month`` (1–12), ``actual`` (cumulative at the
        month's end), ``path`` (target × month / 12), for the months up to the as-of date.
    facts
        What was counted: :data:`FACT_COLUMNS`, one row per project and target.
    duplicates
        Possible duplicate signings: ``project_id``, ``duplicate_of``, ``uscc``, ``chain``,
        ``team_id``, ``signed_on``.
    """

    year: int
    as_of: date
    rows: pd.DataFrame
    scores: pd.DataFrame
    monthly: pd.DataFrame
    facts: pd.DataFrame
    duplicates: pd.DataFrame


def _dates(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype="object"), errors="coerce", format="mixed").dt.normalize()


def team_ids_of(projects: pd.DataFrame, teams: pd.DataFrame) -> pd.Series:
    """The team id owning each project: its ``team`` is a team id or a team name."""
    lookup = {**dict(zip(teams.name.astype(str), teams.team_id)), **dict(zip(teams.team_id, teams.team_id))}
    return projects["team"].astype("object").map(lambda v: lookup.get(str(v).strip()) if pd.notna(v) else None)


def withdrawn_by(projects: pd.DataFrame, events: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Whether each project was withdrawn on or before ``as_of`` (by its events or its stage)."""
    quit_events = events[(events.stage == "withdrawn") & (_dates(events.date).values <= as_of)]
    by_event = projects.project_id.isin(quit_events.project_id)
    by_stage = (projects.stage == "withdrawn") & (_dates(projects.stage_on).values <= as_of)
    return (by_event | by_stage.fillna(False)).astype(bool)


def stage_dates(projects: pd.DataFrame, events: pd.DataFrame, stage: str, as_of: pd.Timestamp) -> pd.Series:
    """For each project, the first date on or before ``as_of`` at which it reached ``stage`` or later."""
    later = set(STAGES[STAGES.index(stage):])
    mine = events[events.stage.isin(later)].assign(on=lambda e: _dates(e.date))
    mine = mine[mine.on <= as_of]
    first = mine.groupby("project_id").on.min().to_dict()
    return pd.to_datetime(projects.project_id.map(first))


def signing_dates(projects: pd.DataFrame, events: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Each project's signing date: the contract's ``signed_on``, else its first stage event at or after
    ``signed``; missing when later than ``as_of``."""
    signed = _dates(projects.signed_on).fillna(stage_dates(projects, events, "signed", as_of))
    return signed.where(signed <= as_of)


def duplicate_signings(projects: pd.DataFrame, signed: pd.Series, team_ids: pd.Series, counted: pd.Series,
                       as_of: pd.Timestamp) -> pd.DataFrame:
    """Signings repeating an earlier one's USCC and chain (among ``counted`` projects signed by ``as_of``)."""
    frame = pd.DataFrame({"project_id": projects.project_id.values, "uscc": projects.uscc.values,
                          "chain": projects.chain.fillna("").values, "team_id": team_ids.values,
                          "signed_on": signed.values})
    frame = frame[counted.values & frame.uscc.notna().values & (frame.signed_on <= as_of).values]
    frame = frame.sort_values(["signed_on", "project_id"])
    first = frame.groupby(["uscc", "chain"]).project_id.transform("first")
    dups = frame[frame.project_id != first].assign(duplicate_of=first[frame.project_id != first])
    dups = dups.assign(signed_on=dups.signed_on.dt.strftime("%Y-%m-%d"))
    return dups[["project_id", "duplicate_of", "uscc", "chain", "team_id", "signed_on"]].reset_index(drop=True)


def _facts(register: Register, team_ids: pd.Series, rules: CountingRules, year: int,
           as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    projects, events = register.projects, register.events
    withdrawn = withdrawn_by(projects, events, as_of)
    valid_uscc = projects.uscc.map(lambda v: pd.notna(v) and uscc_problem(v) is None).astype(bool)
    owned = team_ids.notna()
    signed = signing_dates(projects, events, as_of)
    duplicates = duplicate_signings(projects.assign(uscc=projects.uscc.where(valid_uscc)), signed, team_ids,
                                    owned & ~withdrawn, as_of)
    is_duplicate = projects.project_id.isin(duplicates.project_id)
    start, end = pd.Timestamp(year, 1, 1), min(as_of, pd.Timestamp(year, 12, 31))
    facts = []
    for target, rule in rules.table.iterrows():
        keep = owned.copy()
        if not rule.withdrawn_counts:
            keep &= ~withdrawn
        if rule.requires_uscc:
            keep &= valid_uscc
        if rule.dedupe:
            keep &= ~is_duplicate
        if rule.counts_from == "actuals":
            facts.append(_actual_facts(register.actuals, projects[keep], team_ids[keep], target,
                                       rule.value, year, as_of))
            continue
        if rule.counts_from == "signed":
            on = signed
        else:
            on = stage_dates(projects, events, rule.counts_from, as_of)
        inside = keep & on.between(start, end).fillna(False).astype(bool)
        value = (pd.Series(1.0, index=projects.index) if rule.value == "count"
                 else pd.to_numeric(projects[rule.value], errors="coerce").fillna(0.0))
        facts.append(pd.DataFrame({"project_id": projects.project_id[inside], "team_id": team_ids[inside],
                                   "chain": projects.chain[inside].fillna(""), "target": target,
                                   "on": on[inside], "value": value[inside]}))
    frame = pd.concat(facts, ignore_index=True) if facts else pd.DataFrame(columns=FACT_COLUMNS)
    return frame[FACT_COLUMNS], duplicates


def _actual_facts(actuals, projects, team_ids, target, column, year, as_of) -> pd.DataFrame:
    """The year's actuals (e.g. tax) entered by ``as_of``, dated at entry (December at the latest)."""
    rows = actuals[(actuals.year == year) & actuals.project_id.isin(projects.project_id)]
    entered = _dates(rows["at"].astype(str).str[:10]) if "at" in rows else pd.Series(pd.NaT, index=rows.index)
    entered = entered.fillna(pd.Timestamp(year, 12, 31))
    rows = rows[(entered <= as_of).values]
    on = entered[(entered <= as_of).values].clip(upper=pd.Timestamp(year, 12, 31))
    owner = dict(zip(projects.project_id, team_ids))
    chain = dict(zip(projects.project_id, projects.chain.fillna("")))
    value = pd.to_numeric(rows[column], errors="coerce").fillna(0.0)
    return pd.DataFrame({"project_id": rows.project_id.values, "team_id": rows.project_id.map(owner).values,
                         "chain": rows.project_id.map(chain).values, "target": target,
                         "on": on.values, "value": value.values})


def _elapsed(year: int, as_of: pd.Timestamp) -> float:
    """Share of ``year`` gone by the end of ``as_of`` (0 before it starts, 1 after it ends)."""
    days = 366 if calendar.isleap(year) else 365
    gone = (min(as_of, pd.Timestamp(year, 12, 31)) - pd.Timestamp(year, 1, 1)).days + 1
    return float(np.clip(gone / days, 0.0, 1.0))


def team_progress(register: Register, teams: pd.DataFrame, targets: pd.DataFrame, *, year: int,
                  as_of: date | None = None, rules: CountingRules | None = None,
                  weights: dict[str, float] | None = None) -> Progress:
    """Every team's progress for ``year`` at ``as_of`` (default: today, or the year's end if past).

    Parameters
    ----------
    register
        The project register (:func:`geo.project_review.read_register` or hand-built frames).
    teams, targets
        :func:`geo.team.read_teams` and :func:`geo.team.read_targets`.
    weights
        Score weights by target overriding the counting rules' (≥ 0; 0 leaves a target out).
    """
    rules = rules or load_counting_rules()
    if as_of is None:
        as_of = min(date.today(), date(year, 12, 31))
    as_of_ts = pd.Timestamp(as_of)
    weight = rules.weights(weights)
    team_ids = team_ids_of(register.projects, teams)
    facts, duplicates = _facts(register, team_ids, rules, year, as_of_ts)
    names = dict(zip(teams.team_id, teams.name))
    mine = targets[(targets.year == year) & targets.team_id.isin(teams.team_id)].reset_index(drop=True)
    keys = ["team_id", "target", "chain"]
    # A fact counts for its team's all-chain target and for the target of its own chain.
    keyed = pd.concat([facts.assign(chain=""), facts[facts.chain != ""]], ignore_index=True)
    table = mine[keys].assign(target_value=mine.value.astype(float))
    if len(keyed):
        sums = keyed.groupby(keys, as_index=False).agg(actual=("value", "sum"),
                                                       project_ids=("project_id", lambda s: sorted(set(s))))
        table = table.merge(sums, on=keys, how="left")
    else:
        table = table.assign(actual=np.nan, project_ids=None)
    table["actual"] = table.actual.astype(float).fillna(0.0)
    table["project_ids"] = [v if isinstance(v, list) else [] for v in table.project_ids]
    table["name"] = table.team_id.map(names)
    table["ratio"] = table.actual / table.target_value.where(table.target_value > 0)
    table["expected"] = table.target_value * _elapsed(year, as_of_ts)
    table["behind"] = (table.actual < table.expected - 1e-9).astype(bool)
    table["rank"] = (table.groupby(["target", "chain"]).ratio.rank(ascending=False, method="min")
                     .astype("Int64") if len(table) else pd.Series(dtype="Int64"))
    return Progress(year, as_of, table[ROW_COLUMNS], _scores(table, teams, weight, rules),
                    _monthly(table, keyed, year, as_of_ts), facts, duplicates)


def _monthly(table: pd.DataFrame, keyed: pd.DataFrame, year: int, as_of: pd.Timestamp) -> pd.DataFrame:
    """Cumulative actual at each month's end against the straight-line path, up to the as-of month."""
    keys = ["team_id", "target", "chain"]
    last = 12 if as_of >= pd.Timestamp(year, 12, 31) else as_of.month if as_of.year == year else 0
    grid = table[[*keys, "target_value"]].merge(pd.DataFrame({"month": range(1, last + 1)}), how="cross")
    per_month = (keyed.assign(month=pd.to_datetime(keyed.on).dt.month).groupby([*keys, "month"], as_index=False)
                 .value.sum() if len(keyed) else pd.DataFrame(columns=[*keys, "month", "value"]))
    grid = grid.merge(per_month.astype({"month": "int64"}), on=[*keys, "month"], how="left")
    grid["actual"] = grid.value.astype(float).fillna(0.0).groupby([grid[k] for k in keys]).cumsum()
    grid["path"] = grid.target_value * grid.month / 12
    return grid[[*keys, "month", "actual", "path"]]


def _scores(table: pd.DataFrame, teams: pd.DataFrame, weight: pd.Series, rules: CountingRules) -> pd.DataFrame:
    """Weighted mean of each team's capped ratios over its all-chain targets, and the rank."""
    whole = table[(table.chain == "") & table.ratio.notna()]
    w = whole.target.map(weight).astype(float)
    capped = np.minimum(whole.ratio.astype(float), whole.target.map(rules.table["cap"]).astype(float))
    parts = pd.DataFrame({"team_id": whole.team_id, "wr": w * capped, "w": w})
    sums = parts.groupby("team_id")[["wr", "w"]].sum()
    score = (sums.wr / sums.w.where(sums.w > 0)).reindex(teams.team_id)
    behind = table.groupby("team_id").behind.sum().reindex(teams.team_id).fillna(0).astype(int)
    out = pd.DataFrame({"team_id": teams.team_id.values, "name": teams.name.values, "score": score.values,
                        "behind": behind.values})
    out["rank"] = out.score.rank(ascending=False, method="min").astype("Int64")
    return out.sort_values(["rank", "team_id"], na_position="last").reset_index(drop=True)


def check_year(year) -> int:
    """A year like 2026, or a one-line error."""
    try:
        value = int(year)
    except (TypeError, ValueError):
        raise ParkAtlasError(f"year {year!r} is not a year like 2026") from None
    if not 2000 <= value <= 2100:
        raise ParkAtlasError(f"year {year!r} is not a year like 2026")
    return value


__all__ = ["Progress", "team_progress", "stage_dates", "withdrawn_by", "signing_dates", "duplicate_signings",
           "check_year", "team_ids_of", "ROW_COLUMNS"]
