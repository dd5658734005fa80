"""An incoming investment project: what it needs from the land, validated.

A project comes from the app's form (a dict), or from a JSON or YAML file for the CLI. Every
problem is reported as one :class:`~geo.errors.ParkAtlasError` line that names the key and says
what to write instead. The keys are documented in ``docs/matching.md``.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from geo.errors import NotFoundError, ParkAtlasError
from geo.schema import GROUPS
from geo.standards import Standards, load_standards

REQUIRED_KEYS = ("name", "industry_code", "land_mu_min", "land_mu_max", "investment_wan",
                 "output_wan", "tax_wan", "plot_ratio", "building_coefficient")
OPTIONAL_KEYS = ("investor", "chain", "jobs", "admin_share", "nuisance_class", "needs",
                 "preferred_parks", "groups", "latest_start")
NEEDS_KEYS = ("power_kva", "water_t_per_day", "gas", "rail_km", "port_km", "highway_km")
#: Needs that are capacities (the parcel must offer at least this much).
CAPACITY_NEEDS = ("power_kva", "water_t_per_day")
#: Needs that are distances (the parcel must be at most this far, in km).
DISTANCE_NEEDS = ("highway_km", "port_km", "rail_km")


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
    needs: Needs = field(default_factory=Needs)
    preferred_parks: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    latest_start: date | None = None

    def to_dict(self) -> dict:
        """The project as JSON-able input keys (plus the derived ``industry_code_2002``)."""
        out = asdict(self)
        out["preferred_parks"] = list(self.preferred_parks)
        out["groups"] = list(self.groups)
        out["latest_start"] = self.latest_start.isoformat() if self.latest_start else None
        return out


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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParkAtlasError(f"{where}{key} must be a number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        sign = ">" if strict else "≥"
        raise ParkAtlasError(f"{where}{key} must be {sign} {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ParkAtlasError(f"{where}{key} must be ≤ {maximum:g}, got {value:g}")
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
        raise ParkAtlasError(f"industry_code {value!r} is not a GB/T 4754-2017 two-digit manufacturing code "
                             f"in data/standards/industries.csv (e.g. 39 for computers and electronics)")
    return code, str(table.at[code, "code_2002"])


def load_project(source, standards: Standards | None = None) -> Project:
    """Read and validate a project.

    Parameters
    ----------
    source : dict, Project, str or path-like
        The project keys as a dict (e.g. from the app's form), an existing :class:`Project`
        (returned unchanged), or the path of a ``.json``, ``.yaml`` or ``.yml`` file.
    standards : Standards, optional
        Reference tables (industries, chains); default ``data/standards/``.

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

    unknown = sorted(set(data) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise ParkAtlasError(f"unknown project key {unknown[0]!r}; known keys: "
                             f"{', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)} (see docs/matching.md)")
    missing = [k for k in REQUIRED_KEYS if data.get(k) is None or data.get(k) == ""]
    if missing:
        raise ParkAtlasError(f"project lacks {missing[0]!r}; required keys: {', '.join(REQUIRED_KEYS)}")

    name = str(data["name"]).strip()
    if not name:
        raise ParkAtlasError("project name must not be empty")
    code, code_2002 = _industry_code(data["industry_code"], standards)
    land_min = _number(data, "land_mu_min", strict=True)
    land_max = _number(data, "land_mu_max", strict=True)
    if land_min > land_max:
        raise ParkAtlasError(f"land_mu_min {land_min:g} is larger than land_mu_max {land_max:g}; swap them")

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

    groups = _text_list(data, "groups")
    bad_group = [g for g in groups if g not in GROUPS]
    if bad_group:
        raise ParkAtlasError(f"unknown group {bad_group[0]!r}; one of {', '.join(GROUPS)}")

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
        nuisance_class=int(nuisance),
        needs=_needs(data.get("needs")),
        preferred_parks=_text_list(data, "preferred_parks"),
        groups=groups,
        latest_start=latest,
    )
