"""What the register says about its projects: milestones, warnings, the contract check, counts.

Everything here is computed from the register's tables (:mod:`geo.store.projects`) at an
as-of date and never stored, so it cannot go stale. The functions take frames, not a store,
so the CLI, the app, the benchmark and a Dask worker share them; :func:`read_register`
reads the four tables of a store at once.

Warnings (:func:`project_warnings`), one row per project and finding:

- idle land per 《闲置土地处置办法》 (2012), judged by :func:`geo.idle.idle_status` (the
  same rule as the parcels' idle warning): ``idle_fee``, ``idle_repossession``, and
  ``idle_exempt`` when a delay caused by government action or force majeure is recorded (第八条);
- ``start_overdue``, ``completion_overdue``, ``production_overdue``, ``capacity_overdue``
  against the contract dates, graded by ``data/standards/project_warnings.csv``;
- ``below_promise``: at full production (达产) with less investment, output or tax than promised;
- ``stale``: progress not updated for more than ``stale_days`` (default 31);
- ``late_entry``: a signing entered more than 2 days after ``signed_on`` (the 48-hour rule);
- ``duplicate_signing``: the same ``uscc`` and chain as an earlier project (never counted twice).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from geo import idle
from geo.project import LANDED_STAGES, STAGES, WITHDRAWN
from geo.standards import DEFAULT_STANDARDS_DIR, Standards, _read, load_standards
from geo.textids import positions_in
from geo.units import m2_to_mu

WARNING_KINDS = ("idle_fee", "idle_repossession", "idle_exempt", "start_overdue", "completion_overdue",
                 "production_overdue", "capacity_overdue", "below_promise", "stale", "late_entry",
                 "duplicate_signing")
LEVELS = ("red", "yellow", "info")
WARNING_COLUMNS = ("project_id", "name", "park_id", "parcel_ids", "kind", "level", "days", "rule", "source",
                   "reason_zh", "reason_en")
DEFAULT_STALE_DAYS = 31
#: Milestones: the stage that marks them, the contract date they are held against, the warning.
MILESTONES = {
    "started_on": ("under_construction", "contract_start", "start_overdue", "约定动工", "agreed start"),
    "completed_on": ("completed", "contract_completion", "completion_overdue", "约定竣工", "agreed completion"),
    "producing_on": ("in_production", "contract_production", "production_overdue", "约定投产", "agreed production"),
    "capacity_on": ("at_capacity", "contract_capacity", "capacity_overdue", "约定达产", "agreed full production"),
}
CONTRACT_SOURCE = "投资合同 / 国有建设用地使用权出让合同（约定日期）"
DUPLICATE_SOURCE = "项目台账：同一统一社会信用代码、同一产业链的重复签约"
LEDGER_SOURCE = "项目台账：新签约项目48小时内录入，进度每月更新"
_STAGE_INDEX = {stage: i for i, stage in enumerate(STAGES)}
#: The store's tables behind :class:`Register`'s frames, in its order.
REGISTER_TABLE_NAMES = ("projects", "project_stages", "project_actuals", "project_delays")
#: The columns :func:`project_warnings` reads of each register table (``read_register(store, WARNING_INPUTS)``).
WARNING_INPUTS = {
    "projects": ("project_id", "name", "park_id", "parcel_ids", "stage", "uscc", "chain", "signed_on", "entered_at",
                 "updated_on", "land_mu", "investment_wan", "output_wan", "tax_wan",
                 *(contract for _stage, contract, *_rest in MILESTONES.values())),
    "project_stages": ("project_id", "stage", "date"),
    "project_actuals": ("project_id", "year", "investment_wan", "output_wan", "tax_wan", "developed_area_mu",
                        "stopped_since"),
    "project_delays": ("id", "project_id", "cause", "reason"),
}


@dataclass(frozen=True)
class Register:
    """The four tables of the register, as read from a store."""

    projects: pd.DataFrame
    events: pd.DataFrame
    actuals: pd.DataFrame
    delays: pd.DataFrame


def read_register(store, columns: dict[str, tuple[str, ...]] | None = None) -> Register:
    """The register's tables of ``store`` (projects, stage events, actuals, delays).

    ``columns`` (table → column names, e.g. :data:`WARNING_INPUTS`) reads only those columns, text
    as Python strings (what :func:`project_warnings` works on).
    """
    return Register(*(store.read_register_table(table, (columns or {}).get(table), text_as_objects=columns is not None)
                      for table in REGISTER_TABLE_NAMES))


def load_warning_grades(directory=None) -> pd.DataFrame:
    """``data/standards/project_warnings.csv`` indexed by warning kind (columns yellow, red, unit)."""
    return _read(directory or DEFAULT_STANDARDS_DIR, "project_warnings.csv").set_index("kind")


def milestones(projects: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """When each project first reached each milestone (``started_on`` … ``capacity_on``, Timestamps).

    A milestone counts as reached by any later stage too (a project entered at
    ``in_production`` has started), dated by the first event at or beyond it.
    """
    index = pd.Index(projects.project_id, name="project_id")
    out = pd.DataFrame(index=index)
    ev = events[events.stage != WITHDRAWN]
    rank = ev.stage.map(_STAGE_INDEX).to_numpy(dtype=float)
    when = idle.parse_dates(ev.date).to_numpy()
    # Each event's project looked up once (Arrow), then one running minimum per milestone: a groupby
    # and a reindex per milestone cost ~70 ms per 30,000 events.
    owner = positions_in(ev.project_id, index)
    dated = (owner >= 0) & ~np.isnat(when)
    row = positions_in(index, index)  # a project listed twice takes its first row's dates
    for column, (stage, *_rest) in MILESTONES.items():
        reached = dated & (rank >= _STAGE_INDEX[stage])
        first = np.full(len(index), np.datetime64("NaT"), dtype=when.dtype)
        np.fmin.at(first, owner[reached], when[reached])
        out[column] = first[row]
    return out


def latest_actuals(actuals: pd.DataFrame) -> pd.DataFrame:
    """Each project's latest year of actuals (indexed by project id)."""
    if actuals.empty:
        return actuals.set_index("project_id")
    return actuals.sort_values(["project_id", "year"]).groupby("project_id").tail(1).set_index("project_id")


def duplicates_of(projects: pd.DataFrame) -> pd.Series:
    """For each project, the earlier project with the same ``uscc`` and chain (else ``<NA>``).

    Earlier means signed first (then entered first); withdrawn projects are neither.
    """
    live = projects[(projects.stage != WITHDRAWN) & projects.uscc.notna()]
    order = live.assign(_chain=live.chain.fillna(""), _signed=live.signed_on.fillna("9999"))
    order = order.sort_values(["_signed", "entered_at", "project_id"])
    first = order.groupby(["uscc", "_chain"]).project_id.transform("first")
    dup = first.where(first != order.project_id)
    return dup.reindex(projects.index).astype("string")


def _level(days: pd.Series, grade: pd.Series) -> pd.Series:
    return pd.Series(np.where(days >= grade.red, "red", "yellow"), index=days.index)


def _as_text(numbers: pd.Series) -> np.ndarray:
    """Whole numbers (days, percentages) as text, as objects: ``180``, never ``180.0`` (a column with a
    missing date makes its day counts floats)."""
    return numbers.astype("Int64").to_numpy(dtype=object).astype(str).astype(object)


def _text(mask: np.ndarray, *parts) -> np.ndarray:
    """``parts`` (text, or columns aligned with the projects) joined on the rows of ``mask``; ``None`` elsewhere.

    Plain Python strings on the flagged rows only: Arrow string arithmetic over every project
    cost ~0.2 s per 10,000 projects (issue 20).
    """
    joined = ""
    for part in parts:
        if isinstance(part, (pd.Series, np.ndarray)):
            part = (part.to_numpy(dtype=object) if isinstance(part, pd.Series) else part.astype(object))[mask]
        joined = joined + part
    out = np.full(len(mask), None, dtype=object)
    out[mask] = joined
    return out


def _rows(base: pd.DataFrame, mask, kind: str, level, days, rule, source, zh, en) -> pd.DataFrame:
    picked = base[mask]

    def pick(value):
        if isinstance(value, pd.Series):
            return value.to_numpy()[mask]
        return value[mask] if isinstance(value, np.ndarray) else value

    return pd.DataFrame({
        "project_id": picked.project_id.to_numpy(), "name": picked["name"].to_numpy(),
        "park_id": picked.park_id.to_numpy(), "parcel_ids": picked.parcel_ids.to_numpy(), "kind": pick(kind),
        "level": pick(level), "days": pick(days), "rule": pick(rule), "source": pick(source),
        "reason_zh": pick(zh), "reason_en": pick(en)})


def project_warnings(register: Register, as_of: date | None = None, *, stale_days: int | None = None,
                     grades: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every warning of every project at ``as_of`` (default today), reddest first.

    Parameters
    ----------
    register : Register
        The register's tables (:func:`read_register`).
    as_of : date, optional
        The day to judge on; anniversaries and days behind are counted to it.
    stale_days : int, optional
        Days without a progress update before a project is stale (default the ``stale`` row of
        ``project_warnings.csv``, shipped as 31).
    grades : DataFrame, optional
        The grading table (default :func:`load_warning_grades`).

    Returns
    -------
    DataFrame
        Columns :data:`WARNING_COLUMNS`: ``parcel_ids`` is a list, ``days`` how many days
        behind (or since), ``rule`` the rule applied, ``source`` where it is published.
    """
    as_of = as_of or date.today()
    today = pd.Timestamp(as_of)
    grades = load_warning_grades() if grades is None else grades
    stale_after = stale_days if stale_days is not None else int(grades.at["stale", "yellow"])
    p = register.projects.reset_index(drop=True)
    live = (p.stage != WITHDRAWN).to_numpy()
    # Text as plain objects: Arrow-backed strings cost a copy per selection and concatenation below.
    p = p[live].reset_index(drop=True).astype({c: object for c, t in p.dtypes.items() if t == "string"})
    if p.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in WARNING_COLUMNS})
    base = p[["project_id", "name", "park_id"]].assign(
        parcel_ids=[ids.split(";") if isinstance(ids, str) and ids else [] for ids in p.parcel_ids.tolist()])
    base["name"] = base["name"].astype(object)
    rank = p.stage.map(_STAGE_INDEX).to_numpy()
    marks = milestones(p, register.events).reset_index(drop=True)
    latest = latest_actuals(register.actuals).reindex(p.project_id).reset_index(drop=True)
    parts = []

    # Idle land: only land that was supplied can lie idle.
    delays = register.delays.sort_values("id").groupby("project_id").tail(1).set_index("project_id")
    judged = pd.DataFrame({
        "contract_start_date": p.contract_start,
        "actual_start_date": marks.started_on.dt.strftime("%Y-%m-%d"),
        "stopped_since": latest.stopped_since.to_numpy(),
        "developed_area_mu": latest.developed_area_mu.to_numpy(),
        "investment_to_date_wan": latest.investment_wan.to_numpy(),
        "delay_cause": delays.cause.reindex(p.project_id).to_numpy(),
        "delay_reason": delays.reason.reindex(p.project_id).to_numpy(),
        "area_mu": p.land_mu, "investment_wan": p.investment_wan,
    })
    landed = p.stage.isin(LANDED_STAGES).to_numpy()
    status = idle.idle_status(judged, as_of)
    flagged = status.rule.notna().to_numpy() & landed
    if flagged.any():
        s = status
        level = s.rule.map({"idle_fee": "red", "idle_repossession": "red", "idle_exempt": "info"})
        zh = _text(flagged, "闲置土地：", s.article, "，起算 ", s.clock_start, "，满一年于 ", s.one_year_on,
                   "，满两年于 ", s.two_years_on, s.rule.map({"idle_fee": "，应征收土地闲置费（土地价款20%）",
                                                          "idle_repossession": "，可无偿收回土地使用权",
                                                          "idle_exempt": "，政府原因或不可抗力（第八条）："}).fillna(""),
                   s.delay_reason.fillna(""))
        en = _text(flagged, "idle land: ",
                   s.idle_case.map({"not_started": "not started", "stopped": "stopped"}).fillna(""),
                   " since ", s.clock_start, ", one full year on ", s.one_year_on, ", two on ", s.two_years_on,
                   s.rule.map({"idle_fee": ": idle-land fee of 20% of the land price",
                               "idle_repossession": ": the land may be taken back without compensation",
                               "idle_exempt": ": exempt, delay by government action or force majeure (art. 8): "
                               }).fillna(""), s.delay_reason.fillna(""))
        parts.append(_rows(base, flagged, s.rule, level, s.days_idle, s.article, s.source, zh, en))

    # Overdue milestones against the contract dates.
    for column, (stage, contract, kind, zh_name, en_name) in MILESTONES.items():
        due = idle.parse_dates(p[contract])
        days = (today - due).dt.days
        grade = grades.loc[kind]
        late = ((rank < _STAGE_INDEX[stage]) & (days >= grade.yellow)).fillna(False).to_numpy()
        if late.any():
            days_text = _as_text(days)
            parts.append(_rows(base, late, kind, _level(days, grade), days, contract, CONTRACT_SOURCE,
                               _text(late, f"{zh_name} ", p[contract], " 已过 ", days_text, " 天，尚未达到该阶段"),
                               _text(late, f"{en_name} ", p[contract], " passed ", days_text,
                                     " days ago; the stage is not reached")))

    # Below promise at full production.
    grade = grades.loc["below_promise"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = pd.DataFrame({key: latest[key].to_numpy() / p[key].where(p[key] > 0).to_numpy()
                               for key in ("investment_wan", "output_wan", "tax_wan")})
    worst = ratios.min(axis=1, skipna=True)
    below = ((p.stage == "at_capacity").to_numpy() & (worst < grade.yellow).fillna(False).to_numpy())
    if below.any():
        pct = _as_text((worst * 100).round().astype("Int64"))
        parts.append(_rows(base, below, "below_promise", np.where(worst < grade.red, "red", "yellow"), None,
                           "contract_promise", CONTRACT_SOURCE,
                           _text(below, "达产后未达承诺：投资/产值/税收最低仅为承诺的 ", pct, "%"),
                           _text(below, "at full production below promise: investment/output/tax as low as ", pct,
                                 "% of the promise")))

    # Stale progress and late entry (the ledger's 48-hour and monthly rules).
    updated = idle.parse_dates(p.updated_on)
    days = (today - updated).dt.days
    grade = grades.loc["stale"]
    stale = (days > stale_after).fillna(False).to_numpy() & (p.stage != "lead").to_numpy()
    if stale.any():
        parts.append(_rows(base, stale, "stale", np.where(days > grade.red, "red", "yellow"), days,
                           f"stale_after_{stale_after}_days", LEDGER_SOURCE,
                           _text(stale, "进度 ", _as_text(days), f" 天未更新（超过 {stale_after} 天）"),
                           _text(stale, "progress not updated for ", _as_text(days), f" days (over {stale_after})")))
    entered = pd.to_datetime(p.entered_at.str.slice(0, 10), errors="coerce")
    late_days = (entered - idle.parse_dates(p.signed_on)).dt.days
    late = (late_days > grades.at["late_entry", "yellow"]).fillna(False).to_numpy()
    if late.any():
        parts.append(_rows(base, late, "late_entry", "info", late_days, "entry_within_2_days", LEDGER_SOURCE,
                           _text(late, "签约后 ", _as_text(late_days), " 天才录入（应在2天内）"),
                           _text(late, "entered ", _as_text(late_days), " days after signing (due within 2)")))

    dup = duplicates_of(p)
    is_dup = dup.notna().to_numpy()
    if is_dup.any():
        parts.append(_rows(base, is_dup, "duplicate_signing", "yellow", None, "same_uscc_and_chain",
                           DUPLICATE_SOURCE, _text(is_dup, "可能重复签约：与 ", dup, " 统一社会信用代码和产业链相同"),
                           _text(is_dup, "possible duplicate signing of ", dup, " (same USCC and chain)")))

    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in WARNING_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["days"] = pd.array(out["days"], dtype="Int64")
    out["_level"] = out.level.map({level: i for i, level in enumerate(LEVELS)})
    out = out.sort_values(["_level", "days", "project_id"], ascending=[True, False, True], na_position="last")
    return out.drop(columns="_level").reset_index(drop=True)[list(WARNING_COLUMNS)]


def parcel_warning_levels(warnings: pd.DataFrame) -> pd.Series:
    """Each parcel's worst warning level among the warnings of the projects holding it (parcel id → level)."""
    if warnings.empty:
        return pd.Series(dtype=object, name="project_warning")
    rows = warnings[["parcel_ids", "level"]].explode("parcel_ids").dropna(subset=["parcel_ids"])
    rank = rows.level.map({level: i for i, level in enumerate(LEVELS)})
    worst = rank.groupby(rows.parcel_ids.to_numpy()).min()
    return worst.map(dict(enumerate(LEVELS))).rename("project_warning")


# --- the contract check (履约 / 达产 review) ----------------------------------------------------
def _criterion(name, value, promised, threshold, passed, zh, en, ratio=None) -> dict:
    def plain(v):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return None
        if isinstance(v, (float, np.floating)):
            return round(float(v), 3)
        return v.item() if isinstance(v, np.generic) else v
    return {"name": name, "value": plain(value), "promised": plain(promised), "threshold": plain(threshold),
            "ratio": plain(ratio), "pass": None if passed is None else bool(passed), "reason_zh": zh, "reason_en": en}


def _num(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{v:,.1f}"


def contract_check(project: dict, events: pd.DataFrame, actuals: pd.DataFrame, park: dict | None,
                   standards: Standards | None = None, as_of: date | None = None) -> dict:
    """Compare a project's actuals with its contract and the park's entry thresholds, per 亩.

    Returns ``{"project_id", "stage", "year", "below_promise", "criteria": [...]}``; each
    criterion has ``name, value, promised, threshold, ratio`` (actual / promised), ``pass``
    (``None``: not judged yet, e.g. no actuals) and a one-line ``reason_zh`` / ``reason_en``,
    like a match explanation. At ``at_capacity``, less than promised fails and sets ``below_promise``.
    """
    standards = standards or load_standards()
    as_of = as_of or date.today()
    park = park or {}
    mine = actuals[actuals.project_id == project["project_id"]].sort_values("year")
    last = mine.iloc[-1].to_dict() if len(mine) else {}
    land = project.get("land_mu") or None
    full = project["stage"] == "at_capacity"
    criteria = []
    labels = {"investment": ("投资强度", "investment intensity", "investment_wan"),
              "output": ("亩均产值", "output per mu", "output_wan"),
              "tax": ("亩均税收", "tax per mu", "tax_wan")}
    below = False
    for key, (zh, en, column) in labels.items():
        actual = last.get(column)
        value = actual / land if land and actual is not None and not pd.isna(actual) else None
        promised = project[column] / land if land else None
        threshold = park.get(f"min_{key}_wan_per_mu")
        threshold = None if threshold is None or pd.isna(threshold) else float(threshold)
        ratio = value / promised if value is not None and promised else None
        if value is None:
            passed = None
            reason = (f"{zh}：尚无实绩（承诺 {_num(promised)} 万元/亩）", f"{en}: no actuals yet (promised {_num(promised)} 10k yuan/mu)")
        else:
            passed = (threshold is None or value >= threshold) and (not full or ratio is None or ratio >= 1)
            below = below or (full and ratio is not None and ratio < 1)
            reason = (f"{zh} {_num(value)} 万元/亩，承诺 {_num(promised)}（{ratio:.0%}），园区门槛 {_num(threshold)}",
                      f"{en} {_num(value)} 10k yuan/mu, promised {_num(promised)} ({ratio:.0%}), park threshold {_num(threshold)}")
        criteria.append(_criterion(f"{key}_per_mu", value, promised, threshold, passed, *reason, ratio=ratio))

    national = standards.min_plot_ratio_2017().get(project["industry_code"])
    park_min = park.get("min_plot_ratio")
    floors = [v for v in (national, park_min) if v is not None and not pd.isna(v)]
    pr_threshold = max(floors) if floors else None
    floor_area = last.get("floor_area_m2")
    plot_ratio = floor_area / (land / m2_to_mu(1.0)) if land and floor_area is not None and not pd.isna(floor_area) else None
    if plot_ratio is None:
        criteria.append(_criterion("plot_ratio", None, project["plot_ratio"], pr_threshold, None,
                                   f"容积率：尚无建筑面积实绩（承诺 {project['plot_ratio']:g}，下限 {_num(pr_threshold)}）",
                                   f"plot ratio: no floor area yet (promised {project['plot_ratio']:g}, minimum {_num(pr_threshold)})"))
    else:
        passed = (pr_threshold is None or plot_ratio >= pr_threshold) and (not full or plot_ratio >= project["plot_ratio"])
        criteria.append(_criterion("plot_ratio", plot_ratio, project["plot_ratio"], pr_threshold, passed,
                                   f"容积率 {plot_ratio:.2f}，承诺 {project['plot_ratio']:g}，下限 {_num(pr_threshold)}",
                                   f"plot ratio {plot_ratio:.2f}, promised {project['plot_ratio']:g}, minimum {_num(pr_threshold)}",
                                   ratio=plot_ratio / project["plot_ratio"]))
    bc_min = standards.national_limits.get("building_coefficient_min")
    developed = last.get("developed_area_mu")
    share = developed / land if land and developed is not None and not pd.isna(developed) else None
    criteria.append(_criterion(
        "building_coefficient", project["building_coefficient"], project["building_coefficient"], bc_min,
        project["building_coefficient"] >= (bc_min or 0),
        f"建筑系数（承诺）{project['building_coefficient']:.0%} ≥ {bc_min or 0:.0%}；已开发 {_num(developed)} 亩"
        + (f"（{share:.0%}）" if share is not None else ""),
        f"building coefficient (promised) {project['building_coefficient']:.0%} ≥ {bc_min or 0:.0%}; developed "
        f"{_num(developed)} mu" + (f" ({share:.0%})" if share is not None else "")))
    jobs = last.get("jobs")
    has_jobs = jobs is not None and not pd.isna(jobs)
    promised_jobs = project.get("jobs") or None
    criteria.append(_criterion(
        "jobs", jobs if has_jobs else None, promised_jobs, None,
        None if not has_jobs else (not full or not promised_jobs or jobs >= promised_jobs),
        f"就业 {int(jobs) if has_jobs else '—'} 人，承诺 {promised_jobs or '—'} 人",
        f"jobs {int(jobs) if has_jobs else '—'}, promised {promised_jobs or '—'}",
        ratio=jobs / promised_jobs if has_jobs and promised_jobs else None))

    marks = milestones(pd.DataFrame({"project_id": [project["project_id"]]}),
                       events[events.project_id == project["project_id"]]).iloc[0]
    for column, (stage, contract, kind, zh, en) in MILESTONES.items():
        due = project.get(contract)
        reached = marks[column]
        reached_text = None if pd.isna(reached) else reached.strftime("%Y-%m-%d")
        if not due:
            passed, reason = None, (f"{zh}：合同未约定", f"{en}: not in the contract")
        elif reached_text:
            passed = reached_text <= due
            reason = (f"{zh} {due}，实际 {reached_text}" + ("，按期" if passed else "，逾期"),
                      f"{en} {due}, reached {reached_text}" + (": on time" if passed else ": late"))
        else:
            passed = as_of.isoformat() <= due
            reason = (f"{zh} {due}，尚未达到" + ("" if passed else "，已逾期"),
                      f"{en} {due}, not reached yet" + ("" if passed else ": overdue"))
        criteria.append(_criterion(kind.replace("_overdue", "_date"), reached_text, due, None, passed, *reason))
    year = last.get("year")
    return {"project_id": project["project_id"], "stage": project["stage"],
            "year": None if year is None or pd.isna(year) else int(year), "below_promise": bool(below),
            "criteria": criteria}


def pipeline(projects: pd.DataFrame) -> pd.DataFrame:
    """Projects and promised investment per stage (every stage, in order, zeros included)."""
    from geo.project import ALL_STAGES

    grouped = projects.groupby("stage").investment_wan
    return pd.DataFrame({"stage": list(ALL_STAGES),
                         "projects": grouped.size().reindex(ALL_STAGES, fill_value=0).to_numpy(),
                         "investment_wan": grouped.sum().reindex(ALL_STAGES, fill_value=0.0).to_numpy()})


# --- the planners' counts ------------------------------------------------------------------------
COUNT_STAGES = {"signed": "signed", "land_supplied": "land_supplied", "started": "under_construction",
                "producing": "in_production"}


def project_counts(register: Register, parks: pd.DataFrame, *, by: str = "park_id", start: date | None = None,
                   end: date | None = None) -> pd.DataFrame:
    """Projects signed / land supplied / started / producing in a period and their investment, per group.

    A project counts for a milestone when it first reached it (or a later stage) within
    ``start``–``end`` (inclusive; open ends: all time). "Landed" counts start at
    ``land_supplied``. Possible duplicate signings (:func:`duplicates_of`) are not counted.

    Parameters
    ----------
    by : str
        ``park_id``, ``group`` (the park's group, one of the store's city's), ``chain`` or ``team``.

    Returns
    -------
    DataFrame
        One row per group value: ``<milestone>_count`` and ``<milestone>_investment_wan`` for
        ``signed``, ``land_supplied``, ``started``, ``producing``.
    """
    if by not in ("park_id", "group", "chain", "team"):
        raise ValueError(f"cannot count projects by {by!r}; use park_id, group, chain or team")
    p = register.projects
    p = p[(p.stage != WITHDRAWN) & duplicates_of(p).isna()].reset_index(drop=True)
    ev = register.events[register.events.stage != WITHDRAWN]
    rank = ev.stage.map(_STAGE_INDEX)
    when = idle.parse_dates(ev.date)
    key = p[by] if by != "group" else p.park_id.map(dict(zip(parks.park_id, parks["group"])))
    out = {}
    for name, stage in COUNT_STAGES.items():
        reached = rank >= _STAGE_INDEX[stage]
        first = when[reached].groupby(ev.project_id[reached].to_numpy()).min().reindex(p.project_id).to_numpy()
        first = pd.Series(first, dtype="datetime64[ns]")
        inside = first.notna()
        if start is not None:
            inside &= first >= pd.Timestamp(start)
        if end is not None:
            inside &= first <= pd.Timestamp(end)
        grouped = p.investment_wan.where(inside.to_numpy()).groupby(key.fillna("").to_numpy())
        out[f"{name}_count"] = grouped.count()
        out[f"{name}_investment_wan"] = grouped.sum()
    frame = pd.DataFrame(out).fillna(0)
    frame.index.name = by
    counts = [c for c in frame.columns if c.endswith("_count")]
    frame[counts] = frame[counts].astype("int64")
    return frame.reset_index()


__all__ = ["Register", "read_register", "project_warnings", "contract_check", "project_counts", "milestones",
           "duplicates_of", "latest_actuals", "pipeline", "parcel_warning_levels", "WARNING_KINDS", "WARNING_COLUMNS", "LEVELS"]
