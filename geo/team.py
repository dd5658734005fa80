"""Investment-promotion teams (招商队伍), their members and chains, and their annual targets.

Every year each team signs a target letter (军令状): projects signed, investment signed,
projects landed, started, in production and tax, optionally per chain. This module keeps the
teams and targets in the store (tables ``teams`` and ``team_targets``, see
:mod:`geo.store.tables`), validates them, and reads them from the bureaus' CSV/XLSX files
with English or Chinese headers (:data:`TEAM_HEADERS`, :data:`TARGET_HEADERS`). Progress
against the targets is computed from the project register by :mod:`geo.team_progress`.

Imports are all or nothing: every row is checked first and the first problems are reported
in one line naming the row; nothing is written unless all rows are good.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from geo.auth import User
from geo.errors import KeyedError, NotFoundError, ParkAtlasError
from geo.schema import TEAM_COLUMNS, TEAM_TARGET_COLUMNS, split_list
from geo.standards import DEFAULT_STANDARDS_DIR, _read, load_standards
from geo.store.tables import TEAM_TARGETS, TEAMS, Change, apply_changes, read_table

COUNTING_CSV = "team_counting.csv"
#: Chinese headers accepted on import (docs/teams.md), next to the English column names.
TEAM_HEADERS = {"队伍编号": "team_id", "队伍名称": "name", "名称": "name", "成员": "members",
                "所属区县或部门": "district", "区县": "district", "部门": "district", "产业链": "chains"}
TARGET_HEADERS = {"队伍编号": "team_id", "年度": "year", "指标": "target", "目标值": "value",
                  "产业链": "chain"}
LIST_SEPARATORS = re.compile(r"[;；、]")
_USER_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_TEAM_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
MAX_REPORTED = 5
YEARS = (2000, 2100)


@dataclass(frozen=True)
class CountingRules:
    """The counting rules of ``data/standards/team_counting.csv``, one row per target."""

    table: pd.DataFrame  # indexed by target

    @property
    def targets(self) -> list[str]:
        return self.table.index.tolist()

    def weights(self, overrides: dict[str, float] | None = None) -> pd.Series:
        """Score weights by target, ``overrides`` replacing those of the CSV."""
        weights = self.table["weight"].astype(float).copy()
        for target, weight in (overrides or {}).items():
            if target not in weights.index:
                raise ParkAtlasError(f"unknown target {target!r} in the weights; one of {', '.join(self.targets)}")
            if not weight >= 0:
                raise ParkAtlasError(f"weight of {target} must be a number ≥ 0, not {weight!r}")
            weights[target] = float(weight)
        return weights

    def label(self, target: str, lang: str) -> str:
        return str(self.table.at[target, "label_zh" if lang == "zh" else "label_en"])


@lru_cache(maxsize=4)
def load_counting_rules(directory: str | None = None) -> CountingRules:
    """Read and check the counting rules (default ``data/standards/team_counting.csv``)."""
    table = _read(Path(directory) if directory else DEFAULT_STANDARDS_DIR, COUNTING_CSV)
    expected = {"target", "counts_from", "value", "requires_uscc", "dedupe", "withdrawn_counts",
                "weight", "cap", "label_zh", "label_en"}
    missing = expected - set(table.columns)
    if missing:
        raise ParkAtlasError(f"{COUNTING_CSV} lacks columns {', '.join(sorted(missing))}")
    if (table.weight < 0).any() or table.weight.isna().any():
        raise ParkAtlasError(f"{COUNTING_CSV}: every weight must be a number ≥ 0")
    for flag in ("requires_uscc", "dedupe", "withdrawn_counts"):
        table[flag] = table[flag].astype(str).str.lower().eq("true")
    return CountingRules(table.set_index("target"))


# --- files ---------------------------------------------------------------------------------------
def read_table_file(data: bytes, filename: str) -> pd.DataFrame:
    """A CSV (UTF-8 or GBK) or XLSX file as a frame of text cells (empty cells → ``''``); an unreadable
    file raises a :class:`~geo.errors.KeyedError` (catalogue ``enterprises.file.*``: a page says it translated)."""
    from geo.io.readers import ReadError, decode_text

    suffix = Path(filename).suffix.lower()
    try:
        if suffix == ".csv":
            text, _ = decode_text(data, None)
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        elif suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=str, engine="openpyxl")
        else:
            raise KeyedError("enterprises.file.type", f"cannot read {Path(filename).name!r}: give a .csv or .xlsx file",
                             file=Path(filename).name)
    except ReadError as exc:
        raise KeyedError("enterprises.file.encoding", f"{Path(filename).name}: {exc}",
                         file=Path(filename).name) from None
    except (ValueError, KeyError, OSError) as exc:  # pandas/openpyxl on a damaged file
        raise KeyedError("enterprises.file.unreadable", f"{Path(filename).name} cannot be read ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:100] if str(exc) else ''})", file=Path(filename).name) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.fillna("").astype(str).apply(lambda col: col.str.strip())


def _renamed(frame: pd.DataFrame, headers: dict[str, str], columns: dict[str, str], required, what) -> pd.DataFrame:
    renamed = frame.rename(columns={c: headers.get(c, c) for c in frame.columns})
    duplicated = renamed.columns[renamed.columns.duplicated()].unique().tolist()
    if duplicated:
        raise ParkAtlasError(f"{what}: column {', '.join(duplicated)} is given twice (English and Chinese header?)")
    missing = [c for c in required if c not in renamed.columns]
    if missing:
        zh = {v: k for k, v in reversed(list(headers.items()))}
        raise ParkAtlasError(f"{what} lack column {', '.join(f'{c} ({zh.get(c, c)})' for c in missing)}; "
                             "see docs/teams.md for the headers")
    for column in columns:
        if column not in renamed.columns:
            renamed[column] = ""
    return renamed[list(columns)].fillna("").astype(str)


@dataclass(frozen=True)
class Problem:
    """A row's problem: the CLI's English ``text`` ("row 3: …") and, for pages, its catalogue ``key`` with
    ``values`` (a page edits one team or one team's targets, so its line names no row)."""

    text: str
    key: str
    values: dict


def _fail(problems: list[Problem], what: str) -> None:
    """Refuse the whole file or form: the CLI lists the first problems; a page says the first one in its
    language (fixing it shows the next)."""
    if problems:
        more = f" (and {len(problems) - MAX_REPORTED} more)" if len(problems) > MAX_REPORTED else ""
        first = problems[0]
        raise KeyedError(first.key, f"{what} rejected, nothing written: "
                         f"{'; '.join(p.text for p in problems[:MAX_REPORTED])}{more}", **first.values)


def _joined(items: list[str]) -> str:
    return ";".join(dict.fromkeys(items))


def check_teams(frame: pd.DataFrame) -> pd.DataFrame:
    """Teams (English or Chinese headers) checked row by row, typed as :data:`TEAM_COLUMNS`.

    Raises
    ------
    ParkAtlasError
        One line naming the first problem rows (missing or repeated ``team_id``, no name,
        a member that is not a valid user name, an unknown chain code).
    """
    table = _renamed(frame, TEAM_HEADERS, TEAM_COLUMNS, ("team_id", "name"), "teams")
    if table.empty:
        raise ParkAtlasError("teams: the file has no rows")
    standards = load_standards()
    chains = set(standards.chains.chain)
    chain_names = dict(zip(standards.chains.name_zh, standards.chains.chain))
    problems, seen = [], set()
    members_out, chains_out = [], []
    for number, row in enumerate(table.itertuples(index=False), start=2):
        where = f"row {number}"
        if not _TEAM_ID.match(row.team_id):
            problems.append(Problem(f"{where}: team_id {row.team_id!r} must be 1–32 letters, digits or _ . -",
                                    "teams.problem.team_id", {"value": row.team_id}))
        elif row.team_id in seen:
            problems.append(Problem(f"{where}: team_id {row.team_id} is repeated", "teams.problem.team_repeated",
                                    {"value": row.team_id}))
        seen.add(row.team_id)
        if not row.name:
            problems.append(Problem(f"{where}: the team has no name", "teams.problem.no_name", {}))
        members = [m.strip() for m in LIST_SEPARATORS.split(row.members) if m.strip()]
        problems += [Problem(f"{where}: member {m!r} is not a user name (letters, digits, _ . @ -)",
                             "teams.problem.member", {"value": m})
                     for m in members if not _USER_NAME.match(m)]
        codes = [chain_names.get(c.strip(), c.strip()) for c in LIST_SEPARATORS.split(row.chains) if c.strip()]
        problems += [Problem(f"{where}: unknown chain {c!r}; one of {', '.join(sorted(chains))}",
                             "teams.problem.chain", {"value": c})
                     for c in codes if c not in chains]
        members_out.append(_joined(members))
        chains_out.append(_joined(codes))
    _fail(problems, "teams")
    table = table.assign(members=members_out, chains=chains_out)
    return table.astype(TEAM_COLUMNS)


def check_targets(frame: pd.DataFrame, team_ids, rules: CountingRules | None = None) -> pd.DataFrame:
    """Targets (English or Chinese headers) checked row by row, typed as :data:`TEAM_TARGET_COLUMNS`.

    ``target`` is a code of the counting rules or its Chinese/English label; ``chain`` empty
    means all chains. ``team_ids`` are the teams that exist.
    """
    rules = rules or load_counting_rules()
    table = _renamed(frame, TARGET_HEADERS, TEAM_TARGET_COLUMNS, ("team_id", "year", "target", "value"), "targets")
    if table.empty:
        raise ParkAtlasError("targets: the file has no rows")
    labels = {**{rules.label(t, "zh"): t for t in rules.targets}, **{rules.label(t, "en"): t for t in rules.targets}}
    standards = load_standards()
    chains = set(standards.chains.chain)
    chain_names = dict(zip(standards.chains.name_zh, standards.chains.chain))
    known = set(team_ids)
    problems, out, seen = [], [], set()
    for number, row in enumerate(table.itertuples(index=False), start=2):
        where = f"row {number}"
        target = labels.get(row.target, row.target)
        chain = chain_names.get(row.chain, row.chain)
        if row.team_id not in known:
            problems.append(Problem(f"{where}: unknown team {row.team_id!r}; import the teams first",
                                    "teams.problem.unknown_team", {"value": row.team_id}))
        try:
            year = int(float(row.year))
            if not (YEARS[0] <= year <= YEARS[1]) or float(row.year) != year:
                raise ValueError
        except ValueError:
            problems.append(Problem(f"{where}: year {row.year!r} is not a year like 2026", "teams.problem.year",
                                    {"value": row.year}))
            year = None
        if target not in rules.targets:
            problems.append(Problem(f"{where}: unknown target {row.target!r}; one of {', '.join(rules.targets)}",
                                    "teams.problem.target" if row.target else "teams.problem.no_target",
                                    {"value": row.target} if row.target else {}))
        try:
            value = float(row.value.replace(",", ""))
            if not value >= 0 or value == float("inf"):
                raise ValueError
        except ValueError:
            problems.append(Problem(f"{where}: value {row.value!r} must be a number ≥ 0", "teams.problem.value",
                                    {"value": row.value}))
            value = None
        if chain and chain not in chains:
            problems.append(Problem(f"{where}: unknown chain {row.chain!r}; one of {', '.join(sorted(chains))} or "
                                    "empty", "teams.problem.chain", {"value": row.chain}))
        key = (row.team_id, year, target, chain)
        if key in seen:
            # Both languages' labels travel with the refusal: each catalogue line uses its own.
            labels = {f"target_{lang}": rules.label(target, lang) if target in rules.targets else target
                      for lang in ("zh", "en")}
            problems.append(Problem(f"{where}: target {target} of {row.team_id} for {year}"
                                    f"{' / ' + chain if chain else ''} is given twice",
                                    "teams.problem.twice_chain" if chain else "teams.problem.twice",
                                    {**labels, **({"chain": chain} if chain else {})}))
        seen.add(key)
        out.append({"team_id": row.team_id, "year": year, "target": target, "chain": chain, "value": value})
    _fail(problems, "targets")
    return pd.DataFrame(out, columns=list(TEAM_TARGET_COLUMNS)).astype(TEAM_TARGET_COLUMNS)


# --- store ---------------------------------------------------------------------------------------
def read_teams(store) -> pd.DataFrame:
    """All teams, by ``team_id`` (columns :data:`~geo.schema.TEAM_COLUMNS`)."""
    return read_table(store, TEAMS)


def read_targets(store, year: int | None = None) -> pd.DataFrame:
    """Targets of all teams (of one ``year``), by team, year, target and chain."""
    return read_table(store, TEAM_TARGETS, {"year": int(year)} if year is not None else None)


def import_teams(store, frame: pd.DataFrame, *, user: User) -> dict:
    """Check and write teams (insert new ids, replace changed ones), all or nothing (planner)."""
    teams = check_teams(frame)
    return apply_changes(store, [Change(TEAMS, upserts=teams)], user=user, role="planner",
                         action="team_import")["teams"]


def import_targets(store, frame: pd.DataFrame, *, user: User) -> dict:
    """Check and write targets (insert or replace by team, year, target, chain), all or nothing (planner)."""
    targets = check_targets(frame, read_teams(store).team_id)
    return apply_changes(store, [Change(TEAM_TARGETS, upserts=targets)], user=user, role="planner",
                         action="target_import")["team_targets"]


def save_team(store, team: dict, *, user: User) -> dict:
    """Create or replace one team from a form (keys of :data:`~geo.schema.TEAM_COLUMNS`)."""
    teams = check_teams(pd.DataFrame([{c: str(team.get(c) or "") for c in TEAM_COLUMNS}]))
    return apply_changes(store, [Change(TEAMS, upserts=teams)], user=user, role="planner",
                         action="team_edit")["teams"]


def delete_team(store, team_id: str, *, user: User) -> dict:
    """Delete a team and its targets in one transaction (planner)."""
    if team_id not in set(read_teams(store).team_id):
        raise NotFoundError(f"unknown team {team_id!r}; see `python cli.py teams list`")
    return apply_changes(store, [Change(TEAM_TARGETS, delete_where={"team_id": team_id}),
                                 Change(TEAMS, deletes=[(team_id,)])], user=user, role="planner",
                         action="team_delete")


def set_targets(store, team_id: str, year: int, targets: pd.DataFrame, *, user: User) -> dict:
    """Replace one team's targets for ``year`` (columns ``target``, ``value``, optional ``chain``)."""
    frame = pd.DataFrame(targets).astype(str).assign(team_id=team_id, year=str(year))
    frame = frame[frame["value"].str.strip().ne("") & frame["value"].ne("nan") & frame["value"].ne("<NA>")]
    checked = check_targets(frame, read_teams(store).team_id) if len(frame) else TEAM_TARGETS.empty()
    return apply_changes(store, [Change(TEAM_TARGETS, upserts=checked,
                                        deletes=[k for k in _target_keys(store, team_id, year)
                                                 if k not in set(map(TEAM_TARGETS.key_of,
                                                                     TEAM_TARGETS.records(checked)))])],
                         user=user, role="planner", action="target_edit")["team_targets"]


def _target_keys(store, team_id: str, year: int) -> list[tuple]:
    current = read_table(store, TEAM_TARGETS, {"team_id": team_id, "year": int(year)})
    return [TEAM_TARGETS.key_of(r) for r in TEAM_TARGETS.records(current)]


def teams_of_user(teams: pd.DataFrame, user_name: str | None) -> list[str]:
    """The ids of the teams ``user_name`` is a member of."""
    if not user_name:
        return []
    return [row.team_id for row in teams.itertuples() if user_name in split_list(row.members)]


__all__ = ["CountingRules", "load_counting_rules", "read_table_file", "check_teams", "check_targets",
           "read_teams", "read_targets", "import_teams", "import_targets", "save_team", "delete_team",
           "set_targets", "teams_of_user", "TEAM_HEADERS", "TARGET_HEADERS"]
