"""An investment project, from the match form to full production (达产), validated.

One concept: the project a planner matches to land on the Match page is the project the
register follows through its stages (:data:`STAGES`). It comes from the app's form (a dict), a
JSON or YAML file for the CLI, or a row of a ledger file. Every problem is reported as one
:class:`~geo.errors.ParkAtlasError` line that names the key and says what to write instead.
The matching keys are documented in ``docs/matching.md``, the register's in ``docs/projects.md``.

``load_project(source)`` validates what matching needs; ``load_project(source, register=True)``
validates what the register needs (the contract's promises and dates; ``land_mu`` may stand in
for ``land_mu_min``/``land_mu_max``). The register's tables and their stage rules live in
:mod:`geo.store.projects`; warnings and the contract check in :mod:`geo.project_review`.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from geo.errors import KeyedConflict, KeyedError, NotFoundError, ParkAtlasError
from geo.standards import Standards, load_standards
from geo.uscc import validate_uscc

REQUIRED_KEYS = ("name", "industry_code", "land_mu_min", "land_mu_max", "investment_wan",
                 "output_wan", "tax_wan", "plot_ratio", "building_coefficient")
OPTIONAL_KEYS = ("investor", "chain", "jobs", "admin_share", "green_ratio", "nuisance_class", "needs",
                 "preferred_parks", "groups", "latest_start")
NEEDS_KEYS = ("power_kva", "water_t_per_day", "gas", "rail_km", "port_km", "highway_km")
#: Needs that are capacities (the parcel must offer at least this much).
CAPACITY_NEEDS = ("power_kva", "water_t_per_day")
#: Needs that are distances (the parcel must be at most this far, in km).
DISTANCE_NEEDS = ("highway_km", "port_km", "rail_km")
#: The contract's dates, in the order they must come.
CONTRACT_DATES = ("signed_on", "land_supplied_on", "contract_start", "contract_completion",
                  "contract_production", "contract_capacity")
#: Keys the register adds to the match keys.
REGISTER_KEYS = ("project_id", "uscc", "team", "contact", "park_id", "stage", "stage_on", "land_mu", "parcel_ids",
                 *CONTRACT_DATES)
#: Match keys the register requires (the contract's promises); land is ``land_mu`` or min/max.
REGISTER_REQUIRED = ("name", "industry_code", "investment_wan", "output_wan", "tax_wan", "plot_ratio",
                     "building_coefficient")

#: Life-cycle stages in order; ``withdrawn`` (终止) may follow any of them.
STAGES = ("lead", "negotiating", "signed", "land_supplied", "under_construction", "completed",
          "in_production", "at_capacity")
WITHDRAWN = "withdrawn"
ALL_STAGES = (*STAGES, WITHDRAWN)
#: Stages from which a project has land ("landed" counts start here).
LANDED_STAGES = STAGES[STAGES.index("land_supplied"):]
#: The parcel status a stage moves the project's parcels to (stages absent here leave them).
PARCEL_STATUS_OF_STAGE = {"land_supplied": "supplied", "under_construction": "under_construction",
                          "completed": "under_construction", "in_production": "occupied",
                          "at_capacity": "occupied"}
#: Parcel statuses a project holds once its land is supplied (its enterprise's land).
HELD_STATUSES = ("supplied", "under_construction", "occupied", "idle", "inefficient")

#: Columns of the register's ``projects`` table → pandas dtype (dates ISO text, lists ';'-joined).
PROJECT_COLUMNS: dict[str, str] = {
    "project_id": "string", "name": "string", "investor": "string", "uscc": "string",
    "industry_code": "string", "chain": "string", "team": "string", "contact": "string",
    "park_id": "string", "stage": "string", "stage_on": "string",
    "investment_wan": "float64", "output_wan": "float64", "tax_wan": "float64", "jobs": "Int64",
    "land_mu": "float64", "land_mu_min": "float64", "land_mu_max": "float64",
    "plot_ratio": "float64", "building_coefficient": "float64", "nuisance_class": "Int64",
    "admin_share": "float64", "needs": "string", "preferred_parks": "string", "groups": "string",
    "latest_start": "string", "parcel_ids": "string",
    **{key: "string" for key in CONTRACT_DATES},
    "entered_at": "string", "entered_by": "string", "updated_on": "string", "version": "Int64",
}
#: Stage events: one row per stage a project reached (its first row is its starting stage).
STAGE_EVENT_COLUMNS: dict[str, str] = {
    "id": "Int64", "project_id": "string", "stage": "string", "date": "string", "user_name": "string",
    "reason": "string", "at": "string",
}
#: Yearly actuals: ``investment_wan`` is cumulative, the others are the year's.
ACTUAL_VALUES = ("investment_wan", "output_wan", "tax_wan", "jobs", "developed_area_mu", "floor_area_m2",
                 "stopped_since")
ACTUAL_COLUMNS: dict[str, str] = {
    "project_id": "string", "year": "Int64", "investment_wan": "float64", "output_wan": "float64",
    "tax_wan": "float64", "jobs": "Int64", "developed_area_mu": "float64", "floor_area_m2": "float64",
    "stopped_since": "string", "user_name": "string", "at": "string",
}
#: Recorded delays caused by government action or force majeure (闲置土地处置办法 第八条).
DELAY_CAUSES = ("government", "force_majeure")
DELAY_COLUMNS: dict[str, str] = {
    "id": "Int64", "project_id": "string", "cause": "string", "from_date": "string", "to_date": "string",
    "reason": "string", "user_name": "string", "at": "string",
}


@dataclass(frozen=True)
class Needs:
    """Infrastructure the project needs; ``None`` means "no requirement"."""

    power_kva: float | None = None
    water_t_per_day: float | None = None
    gas: bool | None = None
    rail_km: float | None = None
    port_km: float | None = None
    highway_km: float | None = None


@dataclass(frozen=True)
class Project:
    """A validated project. Build it with :func:`load_project`."""

    name: str
    industry_code: str
    industry_code_2002: str
    land_mu_min: float
    land_mu_max: float
    investment_wan: float
    output_wan: float
    tax_wan: float
    plot_ratio: float
    building_coefficient: float
    nuisance_class: int
    investor: str = ""
    chain: str | None = None
    jobs: int = 0
    admin_share: float | None = None
    green_ratio: float | None = None
    needs: Needs = field(default_factory=Needs)
    preferred_parks: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    latest_start: date | None = None
    # The register's keys (None / empty until the project is signed and entered).
    project_id: str | None = None
    uscc: str | None = None
    team: str | None = None
    contact: str | None = None
    park_id: str | None = None
    stage: str | None = None
    stage_on: date | None = None
    land_mu: float | None = None
    parcel_ids: tuple[str, ...] = ()
    signed_on: date | None = None
    land_supplied_on: date | None = None
    contract_start: date | None = None
    contract_completion: date | None = None
    contract_production: date | None = None
    contract_capacity: date | None = None

    def to_dict(self) -> dict:
        """The project as JSON-able input keys (plus the derived ``industry_code_2002``)."""
        out = asdict(self)
        for key in ("preferred_parks", "groups", "parcel_ids"):
            out[key] = list(getattr(self, key))
        for key in ("latest_start", "stage_on", *CONTRACT_DATES):
            out[key] = getattr(self, key).isoformat() if getattr(self, key) else None
        return out

    @property
    def starting_stage(self) -> str:
        """The stage a new register entry starts at: its ``stage``, else ``signed`` when it has
        ``signed_on``, else ``lead``."""
        return self.stage or ("signed" if self.signed_on else "lead")


def _read_file(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NotFoundError(f"project file {path} does not exist") from None
    except UnicodeDecodeError:
        raise ParkAtlasError(f"project file {path} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ParkAtlasError(f"cannot read project file {path}: {exc.strerror}") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParkAtlasError(f"project file {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise ParkAtlasError(f"project file {path} is not valid YAML{where}") from None
    else:
        raise ParkAtlasError(f"project file {path} must end in .json, .yaml or .yml")
    if not isinstance(data, dict):
        raise ParkAtlasError(f"project file {path} must hold one object of keys (name, industry_code, ...)")
    return data


def _number(data: dict, key: str, *, minimum: float = 0.0, strict: bool = False,
            maximum: float | None = None, where: str = "") -> float:
    value = data[key]
    field_key = f"project.key.{where}{key}"  # the key's heading in the catalogue, for pages
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise KeyedError("project.refused.not_a_number", f"{where}{key} must be a number, got {value!r}",
                         field_key=field_key, value=str(value))
    if value < minimum or (strict and value == minimum):
        sign = ">" if strict else "≥"
        raise KeyedError("project.refused.above" if strict else "project.refused.at_least",
                         f"{where}{key} must be {sign} {minimum:g}, got {value:g}", field_key=field_key,
                         value=value, minimum=minimum)
    if maximum is not None and value > maximum:
        raise KeyedError("project.refused.at_most", f"{where}{key} must be ≤ {maximum:g}, got {value:g}",
                         field_key=field_key, value=value, maximum=maximum)
    return float(value)


def _fraction(data: dict, key: str) -> float:
    value = _number(data, key)
    if value > 1:
        raise ParkAtlasError(f"{key} is a fraction of the land: write {value / 100:g} for {value:g}%")
    return value


def _text_list(data: dict, key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if isinstance(value, str):
        value = [item for item in value.replace(";", ",").split(",")]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ParkAtlasError(f"{key} must be a list of ids, got {value!r}")
    return tuple(v.strip() for v in value if v.strip())


def _needs(value) -> Needs:
    if value is None:
        return Needs()
    if not isinstance(value, dict):
        raise ParkAtlasError(f"needs must be an object with keys {', '.join(NEEDS_KEYS)}")
    unknown = sorted(set(value) - set(NEEDS_KEYS))
    if unknown:
        raise ParkAtlasError(f"unknown key needs.{unknown[0]}; known needs: {', '.join(NEEDS_KEYS)}")
    given = {k: v for k, v in value.items() if v is not None}
    out = {}
    for key, v in given.items():
        if key == "gas":
            if not isinstance(v, bool):
                raise ParkAtlasError(f"needs.gas must be true or false, got {v!r}")
            out[key] = v
        else:
            out[key] = _number(given, key, where="needs.")
    return Needs(**out)


def _industry_code(value, standards: Standards) -> tuple[str, str]:
    code = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if code is not None and code.isdigit() and len(code) == 1:
        code = "0" + code
    table = standards.industries.set_index("code_2017")
    if code is None or code not in table.index:
        raise ParkAtlasError(f"industry_code {value!r} is not a GB/T 4754-2017 manufacturing code in "
                             f"data/standards/industries.csv (e.g. 39 for computers and electronics; "
                             f"291 rubber or 292 plastics products)")
    return code, str(table.at[code, "code_2002"])


def _date(data: dict, key: str) -> date | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise KeyedError("project.refused.not_a_date", f"{key} {value!r} is not a date (YYYY-MM-DD)",
                         field_key=f"projects.col_{key}", value=str(value)) from None


def check_date_order(dates: dict[str, date | None]) -> None:
    """Refuse contract dates out of order (signing before supply before start … before capacity)."""
    given = [(key, dates.get(key)) for key in CONTRACT_DATES if dates.get(key) is not None]
    for (key_a, a), (key_b, b) in zip(given, given[1:]):
        if b < a:
            raise KeyedError("project.refused.date_order", f"dates out of order: {key_b} {b.isoformat()} is before "
                             f"{key_a} {a.isoformat()}", later_key=f"projects.col_{key_b}", later=b,
                             earlier_key=f"projects.col_{key_a}", earlier=a)


def _register_keys(data: dict) -> dict:
    """The register's keys validated (identity, stage, land, parcels, contract dates)."""
    out = {}
    for key in ("project_id", "team", "contact", "park_id"):
        value = data.get(key)
        out[key] = str(value).strip() or None if value is not None else None
    uscc = data.get("uscc")
    out["uscc"] = validate_uscc(str(uscc)) if uscc not in (None, "") else None
    stage = data.get("stage") or None
    if stage is not None and stage not in ALL_STAGES:
        raise ParkAtlasError(f"unknown stage {stage!r}; one of {', '.join(ALL_STAGES)}")
    out["stage"] = stage
    out["stage_on"] = _date(data, "stage_on")
    out["land_mu"] = _number(data, "land_mu", strict=True) if data.get("land_mu") is not None else None
    out["parcel_ids"] = _text_list(data, "parcel_ids")
    dates = {key: _date(data, key) for key in CONTRACT_DATES}
    check_date_order(dates)
    out.update(dates)
    return out


def load_project(source, standards: Standards | None = None, *, register: bool = False) -> Project:
    """Read and validate a project.

    Parameters
    ----------
    source : dict, Project, str or path-like
        The project keys as a dict (e.g. from the app's form), an existing :class:`Project`
        (returned unchanged), or the path of a ``.json``, ``.yaml`` or ``.yml`` file.
    standards : Standards, optional
        Reference tables (industries, chains); default ``data/standards/``.
    register : bool
        Validate for the register: the contract's promises are required, ``land_mu`` may
        replace ``land_mu_min``/``land_mu_max`` (and defaults to ``land_mu_max``), and the
        register's keys (``uscc``, ``stage``, contract dates …) are checked.

    Returns
    -------
    Project

    Raises
    ------
    ParkAtlasError
        One line naming the offending key, e.g. ``land_mu_min 300 is larger than land_mu_max 200``.
    """
    if isinstance(source, Project):
        return source
    standards = standards or load_standards()
    if isinstance(source, (str, os.PathLike)):
        data = _read_file(Path(source))
    elif isinstance(source, dict):
        data = dict(source)
    else:
        raise ParkAtlasError(f"a project is a dict or a .json/.yaml file, not {type(source).__name__}")

    known = REQUIRED_KEYS + OPTIONAL_KEYS + REGISTER_KEYS
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ParkAtlasError(f"unknown project key {unknown[0]!r}; known keys: "
                             f"{', '.join(known)} (see docs/matching.md, docs/projects.md)")
    required = REQUIRED_KEYS
    if register:
        required = REGISTER_REQUIRED
        land = data.get("land_mu")
        if land not in (None, "") and data.get("land_mu_min") in (None, "") and data.get("land_mu_max") in (None, ""):
            data["land_mu_min"] = data["land_mu_max"] = land
        if data.get("land_mu_min") in (None, "") or data.get("land_mu_max") in (None, ""):
            raise ParkAtlasError("project lacks its land: give land_mu (the contract's 亩) or land_mu_min and "
                                 "land_mu_max")
    missing = [k for k in required if data.get(k) is None or data.get(k) == ""]
    if missing:
        raise KeyedError("project.refused.missing", f"project lacks {missing[0]!r}; required keys: {', '.join(required)}",
                         field_key=f"project.key.{missing[0]}")
    extra = _register_keys(data)
    if register and extra["land_mu"] is None:
        extra["land_mu"] = _number(data, "land_mu_max", strict=True)

    name = str(data["name"]).strip()
    if not name:
        raise KeyedError("project.refused.name_empty", "project name must not be empty")
    code, code_2002 = _industry_code(data["industry_code"], standards)
    land_min = _number(data, "land_mu_min", strict=True)
    land_max = _number(data, "land_mu_max", strict=True)
    if land_min > land_max:
        raise KeyedError("project.refused.land_range", f"land_mu_min {land_min:g} is larger than land_mu_max "
                         f"{land_max:g}; swap them", min=f"{land_min:,.1f}", max=f"{land_max:,.1f}")

    chain = data.get("chain") or None
    if chain is not None:
        chain = str(chain).strip()
        if chain not in set(standards.chains.chain):
            raise ParkAtlasError(f"unknown chain {chain!r}; one of {', '.join(standards.chains.chain)} "
                                 f"(data/standards/chains.csv)")

    default_class = int(standards.industries.set_index("code_2017").at[code, "nuisance_class"])
    nuisance = data.get("nuisance_class", default_class)
    if nuisance is None:
        nuisance = default_class
    if isinstance(nuisance, bool) or nuisance not in (1, 2, 3):
        raise ParkAtlasError(f"nuisance_class must be 1, 2 or 3 (M1/M2/M3), got {nuisance!r}")

    jobs = data.get("jobs") or 0
    if isinstance(jobs, bool) or not isinstance(jobs, (int, float)) or jobs < 0 or jobs != int(jobs):
        raise ParkAtlasError(f"jobs must be a whole number ≥ 0, got {jobs!r}")

    groups = _text_list(data, "groups")  # checked against the store's parks by geo.matching.match

    latest = data.get("latest_start")
    if latest is not None and not isinstance(latest, date):
        try:
            latest = date.fromisoformat(str(latest))
        except ValueError:
            raise ParkAtlasError(f"latest_start {latest!r} is not a date (YYYY-MM-DD)") from None

    return Project(
        name=name,
        investor=str(data.get("investor") or "").strip(),
        industry_code=code,
        industry_code_2002=code_2002,
        chain=chain,
        land_mu_min=land_min,
        land_mu_max=land_max,
        investment_wan=_number(data, "investment_wan"),
        output_wan=_number(data, "output_wan"),
        tax_wan=_number(data, "tax_wan"),
        jobs=int(jobs),
        plot_ratio=_number(data, "plot_ratio", strict=True, maximum=20),
        building_coefficient=_fraction(data, "building_coefficient"),
        admin_share=_fraction(data, "admin_share") if data.get("admin_share") is not None else None,
        green_ratio=_fraction(data, "green_ratio") if data.get("green_ratio") is not None else None,
        nuisance_class=int(nuisance),
        needs=_needs(data.get("needs")),
        preferred_parks=_text_list(data, "preferred_parks"),
        groups=groups,
        latest_start=latest,
        **extra,
    )


# --- the register: records, stage rules, parcel effects ------------------------------------------
def project_record(project: Project) -> dict:
    """The ``projects`` table row of a validated project (store-managed columns left out)."""
    out = {}
    for column in PROJECT_COLUMNS:
        if column in ("stage", "stage_on", "entered_at", "entered_by", "updated_on", "version"):  # the store's
            continue
        value = getattr(project, column)
        if column == "needs":
            value = json.dumps({k: v for k, v in asdict(value).items() if v is not None}, sort_keys=True)
        elif isinstance(value, tuple):
            value = ";".join(value) if value else None
        elif isinstance(value, date):
            value = value.isoformat()
        out[column] = value
    return out


#: Columns a planner edits with :meth:`~geo.store.projects.ProjectRegister.update_project`; the stage,
#: parcels and dates of stages have their own audited operation, ids and versions are the store's.
EDITABLE_PROJECT_FIELDS = tuple(c for c in PROJECT_COLUMNS if c not in (
    "project_id", "stage", "stage_on", "parcel_ids", "land_supplied_on", "entered_at", "entered_by", "updated_on",
    "version", "needs", "preferred_parks", "groups"))


def record_source(row: dict) -> dict:
    """A stored ``projects`` row as the keys :func:`load_project` reads (to validate an edit of it)."""
    keys = {}
    for key in (*REQUIRED_KEYS, *OPTIONAL_KEYS, *REGISTER_KEYS):
        value = row.get(key)
        if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)) or value == "":
            continue
        if key == "needs":
            value = json.loads(value) if isinstance(value, str) else value
        elif key in ("preferred_parks", "groups", "parcel_ids") and isinstance(value, str):
            value = [v for v in value.split(";") if v]
        elif hasattr(value, "item"):
            value = value.item()
        keys[key] = value
    keys.pop("stage", None)
    keys.pop("stage_on", None)
    return keys


def check_stage_change(current: str, current_on: str | None, new: str, on: date, *, today: date,
                       has_parcels: bool, reason: str | None, project_id: str) -> None:
    """Refuse a stage change that makes no sense, in one line.

    Parameters
    ----------
    current, current_on
        The project's stage and the date it was reached (ISO text, may be ``None``).
    new, on
        The stage asked for and the date it happened.
    today
        Dates after today are refused (a stage is a fact, not a plan).
    has_parcels
        Whether the project has parcels once the change is made.
    reason
        Why: required to move backwards or to reopen a withdrawn project.
    """
    if new not in ALL_STAGES:
        raise ParkAtlasError(f"unknown stage {new!r}; one of {', '.join(ALL_STAGES)}")
    if on > today:
        raise KeyedError("project.refused.stage_future", f"stage date {on.isoformat()} is in the future; give the "
                         "date it happened", date=on)
    if new == current:
        raise KeyedConflict("store.conflict.same_stage", f"project {project_id} is already at stage {current}; "
                            "reload to see who changed it", project=project_id, stage=current)
    if current_on and on.isoformat() < current_on:
        raise KeyedError("project.refused.stage_before", f"stage date {on.isoformat()} is before {current_on}, the "
                         f"date of the previous stage ({current}); give a later date", date=on,
                         previous_date=current_on, stage=current)
    has_reason = bool(reason and str(reason).strip())
    if current == WITHDRAWN and not has_reason:
        raise KeyedError("project.refused.reopen_reason", f"project {project_id} was withdrawn; reopening it needs "
                         "a reason (--reason)", project=project_id)
    if new != WITHDRAWN and current != WITHDRAWN and STAGES.index(new) < STAGES.index(current) and not has_reason:
        raise KeyedError("project.refused.back_reason", f"moving project {project_id} back from {current} to {new} "
                         "needs a reason (--reason)", project=project_id, from_stage=current, to_stage=new)
    if new in LANDED_STAGES and not has_parcels:
        raise KeyedError("project.refused.stage_parcels", f"stage {new} needs the project's parcels: give them "
                         "(--parcels) first", stage=new)


def check_parcel_takeover(pid: str, row: dict, target: str, holders: set[str], available: list[str]) -> None:
    """Refuse moving a parcel that is not this project's to take.

    ``row`` holds the parcel's ``status``, ``reserved_project`` and ``enterprise``; ``holders``
    the names this project goes by (its id, name and investor). A parcel may move when it is
    available, reserved for this project, or held by this project's enterprise (or nobody's).
    """
    status = row["status"]
    if status == target or status in available:
        return
    if status == "reserved":
        if row["reserved_project"] in holders:
            return
        raise KeyedConflict("store.conflict.reserved_for", f"parcel {pid} is reserved for project "
                            f"{row['reserved_project']}; release it first or choose another parcel", parcel=pid,
                            project=row["reserved_project"])
    if status in HELD_STATUSES and (not row.get("enterprise") or row["enterprise"] in holders):
        return
    owner = f" by {row['enterprise']}" if row.get("enterprise") else ""
    raise KeyedConflict("store.conflict.not_takeable", f"parcel {pid} is {status}{owner}, not land this project "
                        "can take; choose another parcel", parcel=pid, status=status)
