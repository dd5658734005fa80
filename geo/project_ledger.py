"""The project ledger (项目台账): the register as the XLSX/CSV files bureaus exchange today.

Headers are Chinese (:data:`LEDGER_HEADERS`, documented in ``docs/projects.md``); English column
names are accepted too. An import is checked row by row first — bad unified social credit code,
unknown parcel, dates out of order, unknown stage, missing promise — and the report lists every
problem with its row number; only when no row has a problem are the projects written, all in one
transaction (:meth:`~geo.store.projects.ProjectRegister.add_projects`). A row whose
``项目编号`` is already in the register with the same values is left alone; with other values it is
refused (edit it in the app or with the CLI: a ledger never rewrites history). Exports neutralise
text a spreadsheet would run as a formula.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo import i18n
from geo.errors import ParkAtlasError
from geo.exports import neutralise_frame, output_path, write_file, xlsx_bytes
from geo.project import ALL_STAGES, load_project, project_record
from geo.standards import load_standards

#: Register column → ledger header, in the ledger's column order.
LEDGER_HEADERS = {
    "project_id": "项目编号", "name": "项目名称", "investor": "投资方", "uscc": "统一社会信用代码",
    "industry_code": "行业代码", "chain": "产业链", "team": "招商小组", "contact": "联系人", "park_id": "园区",
    "stage": "项目阶段", "stage_on": "阶段日期", "investment_wan": "计划总投资（万元）",
    "output_wan": "达产年产值（万元）", "tax_wan": "达产年税收（万元）", "jobs": "就业人数（人）",
    "land_mu": "用地面积（亩）", "plot_ratio": "容积率", "building_coefficient": "建筑系数",
    "parcel_ids": "地块编号", "signed_on": "签约日期", "land_supplied_on": "供地日期",
    "contract_start": "约定动工日期", "contract_completion": "约定竣工日期", "contract_production": "约定投产日期",
    "contract_capacity": "约定达产日期",
}
SHEET = "项目台账"
NUMBERS = ("investment_wan", "output_wan", "tax_wan", "jobs", "land_mu", "plot_ratio", "building_coefficient")
#: Columns compared when a ledger row names a project already in the register.
_COMPARED = [c for c in LEDGER_HEADERS if c not in ("stage", "stage_on")]


def stage_labels(lang: str = "zh") -> dict[str, str]:
    """Stage code → its name in ``lang`` (catalogue keys ``stage.<code>``)."""
    return {code: i18n.t(f"stage.{code}", lang) for code in ALL_STAGES}


def ledger_frame(projects: pd.DataFrame) -> pd.DataFrame:
    """The register as a ledger: Chinese headers, stages by their Chinese names, numbers as numbers."""
    table = pd.DataFrame(projects[list(LEDGER_HEADERS)]).astype(object)
    table = table.where(table.notna(), None)
    table["stage"] = table["stage"].map(stage_labels("zh")).where(table["stage"].notna(), None)
    return table.rename(columns=LEDGER_HEADERS).reset_index(drop=True)


def write_ledger(projects: pd.DataFrame, path) -> dict:
    """Write the register to ``path`` (``.xlsx`` or ``.csv``, UTF-8 with BOM); returns ``{"out", "projects"}``."""
    target = output_path(path)
    suffix = target.suffix.lower()
    frame = ledger_frame(projects)
    if suffix == ".xlsx":
        data = xlsx_bytes({SHEET: frame})
    elif suffix == ".csv":
        data = neutralise_frame(frame).to_csv(index=False).encode("utf-8-sig")
    else:
        raise ParkAtlasError(f"ledger file {target.name} must end in .xlsx or .csv")
    write_file(target, lambda out: out.write(data))
    return {"out": str(target), "projects": int(len(frame)), "bytes": len(data)}


def _row_keys(row: dict, stages: dict[str, str]) -> dict:
    keys = {}
    for column, value in row.items():
        value = value.strip() if isinstance(value, str) else value
        if value in ("", None):
            continue
        if isinstance(value, str) and value.startswith("'") and value[1:2] in "=+-@＝＋－＠":
            value = value[1:]  # our own formula neutralising, undone
        if column in NUMBERS:
            try:
                number = float(value)
            except ValueError:
                raise ParkAtlasError(f"{LEDGER_HEADERS[column]} {value!r} is not a number") from None
            value = int(number) if column == "jobs" and number == int(number) else number
        elif column == "stage":
            if value not in ALL_STAGES:
                if value not in stages:
                    raise ParkAtlasError(f"unknown stage {value!r}; one of {', '.join(stages)}")
                value = stages[value]
        elif column == "parcel_ids":
            value = [v for v in value.replace("；", ";").replace("、", ";").split(";") if v.strip()]
        keys[column] = value
    return keys


def read_ledger(path_or_bytes, filename: str | None = None) -> pd.DataFrame:
    """A ledger file as text cells under register column names (Chinese or English headers)."""
    from geo.team import read_table_file

    if isinstance(path_or_bytes, (bytes, bytearray)):
        data, name = bytes(path_or_bytes), filename or "ledger.xlsx"
    else:
        path = Path(path_or_bytes)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ParkAtlasError(f"cannot read {path}: {exc.strerror}") from None
        name = path.name
    frame = read_table_file(data, name)
    by_header = {**{v: k for k, v in LEDGER_HEADERS.items()}, **{k: k for k in LEDGER_HEADERS}}
    unknown = [c for c in frame.columns if c not in by_header]
    if unknown:
        raise ParkAtlasError(f"unknown ledger column {unknown[0]!r}; the headers are {', '.join(LEDGER_HEADERS.values())} "
                             "(docs/projects.md)")
    return frame.rename(columns=by_header)


def check_ledger(frame: pd.DataFrame, store) -> dict:
    """Check every row of a ledger against the register and the parcels; nothing is written.

    Returns ``{"rows", "new": [keys…], "unchanged": [ids], "problems": [{"row", "project_id",
    "message"}]}`` — ``row`` is the spreadsheet row number (the header is row 1).
    """
    standards = load_standards()
    stages = {v: k for k, v in stage_labels("zh").items()} | {v: k for k, v in stage_labels("en").items()}
    parcels = set(store.read_parcels().parcel_id)
    register = store.read_projects().set_index("project_id", drop=False)
    new, unchanged, problems, seen = [], [], [], set()
    for number, row in enumerate(frame.to_dict(orient="records"), start=2):
        pid = (row.get("project_id") or "").strip() or None
        try:
            keys = _row_keys(row, stages)
            project = load_project(keys, standards, register=True)
            missing = [p for p in project.parcel_ids if p not in parcels]
            if missing:
                raise ParkAtlasError(f"unknown parcel {', '.join(missing[:3])}")
            if pid and pid in seen:
                raise ParkAtlasError(f"project {pid} is given twice")
            if pid and pid in register.index:
                stored = register.loc[pid, _COMPARED]
                mine = pd.Series(project_record(project)).reindex(_COMPARED)
                same = all((pd.isna(a) and pd.isna(b)) or a == b or (isinstance(a, float) and abs(a - b) < 1e-9)
                           for a, b in zip(stored.tolist(), mine.tolist()))
                if not same:
                    raise ParkAtlasError(f"project {pid} is already in the register with other values; "
                                         "edit it in the app or with `projects stage`/`actuals`")
                unchanged.append(pid)
            else:
                new.append(keys)
            if pid:
                seen.add(pid)
        except ParkAtlasError as exc:
            problems.append({"row": number, "project_id": pid, "message": str(exc)})
    return {"rows": int(len(frame)), "new": new, "unchanged": unchanged, "problems": problems}


def import_ledger(path_or_bytes, store, *, user, dry_run: bool = False, filename: str | None = None) -> dict:
    """Import a ledger all or nothing; returns the report (``added`` ids, ``unchanged``, ``problems``).

    Raises
    ------
    ParkAtlasError
        When any row has a problem (first problems in the message; nothing written).
    """
    report = check_ledger(read_ledger(path_or_bytes, filename), store)
    problems = report["problems"]
    summary = {"rows": report["rows"], "new": len(report["new"]), "unchanged": report["unchanged"],
               "problems": problems, "dry_run": dry_run, "added": []}
    if problems:
        first = "; ".join(f"row {p['row']}: {p['message']}" for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise LedgerRejected(f"ledger rejected, nothing written: {first}{more}", summary)
    if not dry_run and report["new"]:
        summary["added"] = [r["project_id"] for r in store.add_projects(report["new"], user=user)]
    return summary


class LedgerRejected(ParkAtlasError):
    """A ledger with problems: the one-line message, and the full report in ``report``."""

    def __init__(self, message: str, report: dict):
        super().__init__(message)
        self.report = report


__all__ = ["LEDGER_HEADERS", "ledger_frame", "write_ledger", "read_ledger", "check_ledger", "import_ledger",
           "LedgerRejected", "stage_labels"]
