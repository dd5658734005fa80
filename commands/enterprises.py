"""Enterprise commands: ``enterprises import|list|export``, ``evaluate`` and ``export policy-list``
(see docs/enterprises.md and docs/evaluation.md)."""
from __future__ import annotations

import json
import os
import sys

import pandas as pd

from commands.export import _out_path
from commands.importing import _read_file
from commands.output import FORMATS, emit, emit_object
from geo import auth
from geo.chain import read_chain_nodes, read_leaders
from geo.enterprise import (
    enterprise_file_frame, import_enterprises, read_enterprise_file, read_enterprises, read_figures,
)
from geo.errors import ParkAtlasError
from geo.evaluation import (
    GRADES, current_grades, enterprise_table, evaluate, list_schemes, policy_list, save_evaluation, sensitivity, year_over_year,
)
from geo.exports import export_bytes, write_file
from geo.store import open_store

LIST_KEYS = ["uscc", "name", "industry_code", "chain", "scale", "parcel_ids", "leased_floor_m2",
             "production_start", "park_id", "land_mu", "jurisdiction", "evaluated_class", "score", "grade", "rank"]
EVALUATE_KEYS = ["uscc", "name", "park_id", "jurisdiction", "evaluated_class", "score", "grade", "rank", "indicators"]


def cmd_import(args) -> int:
    data = _read_file(args.file)
    store = open_store(args.store)
    result = read_enterprise_file(data, os.path.basename(args.file), store.read_parcels().parcel_id,
                                  chains=read_chain_nodes(store).chain.unique())
    report = {"file": os.path.basename(args.file), **result.report(), "dry_run": bool(args.dry_run)}
    if not result.accepted:
        first = result.problems[0]
        emit_object(report)  # every problem, for the planner to fix; the error line says it was rejected
        raise ParkAtlasError(f"import of {report['file']} rejected: {len(result.problems)} problem(s), first: "
                             f"row {first['row']} {first['column']}: {first['problem']} (nothing written)")
    if not args.dry_run:
        if not args.user:
            raise ParkAtlasError("give --user NAME: the admin importing the file (or --dry-run to check only)")
        report["committed"] = import_enterprises(store, result.enterprises, result.figures,
                                                 user=auth.cli_user(args.user), leaders=result.leaders)
    emit_object(report)
    return 0


def _check_park(store, park_id: str | None) -> None:
    if park_id is not None and park_id not in set(store.read_parks().park_id):
        raise ParkAtlasError(f"unknown park {park_id!r}; see `python cli.py parks` for the ids")


def _grade(text: str | None) -> str | None:
    if text is not None and text not in GRADES:
        raise ParkAtlasError(f"unknown grade {text!r}; one of {', '.join(GRADES)}")
    return text


def cmd_list(args) -> None:
    store = open_store(args.store)
    _check_park(store, args.park)
    table = enterprise_table(store, args.park, args.year, args.scheme)
    if _grade(args.grade):
        table = table[table.grade == args.grade]
    emit(table[LIST_KEYS], args.format)


def _json_column(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """A list column as JSON text, for CSV."""
    return frame.assign(**{column: [json.dumps(v, ensure_ascii=False) for v in frame[column]]})


def cmd_evaluate(args) -> None:
    store = open_store(args.store)
    if args.what == "schemes":
        emit(pd.DataFrame([{"name": s.name, "label": s.label(args.lang), "kind": s.kind, "jurisdiction": s.jurisdiction,
                            "indicators": ";".join(f"{i.key}:{i.weight:g}" for i in s.indicators),
                            "source": s.source, "file": str(s.path)} for s in list_schemes()]), args.format)
        return
    _check_park(store, args.park)
    evaluation = evaluate(store, args.year, args.scheme)
    if args.what == "sensitivity":
        emit(sensitivity(evaluation), args.format)
        return
    if args.what == "changes":
        previous = evaluate(store, evaluation.year - 1, evaluation.scheme)
        changes = year_over_year(evaluation.table, previous.table)
        emit(changes.merge(evaluation.table[["uscc", "name", "park_id"]], on="uscc", how="left"), args.format)
        return
    if args.save:
        if not args.user:
            raise ParkAtlasError("give --user NAME with --save: the planner storing the evaluation")
        save_evaluation(store, evaluation, user=auth.cli_user(args.user))
        print(f"stored {len(evaluation.table)} results of {evaluation.year} ({evaluation.scheme.name})", file=sys.stderr)
    rows = evaluation.results(args.lang)
    if args.park:
        rows = rows[rows.park_id == args.park]
    if not args.all:
        rows = rows[rows.grade.notna()]
    rows = rows[EVALUATE_KEYS].reset_index(drop=True)
    emit(_json_column(rows, "indicators") if args.format == "csv" else rows, args.format)


def cmd_policy_list(args) -> None:
    out = _out_path(args, (".csv", ".xlsx"))
    store = open_store(args.store)
    grades = current_grades(store, args.year, args.scheme)
    table = policy_list(grades, read_enterprises(store), _grade(args.grade))
    fmt = out.suffix.lower().lstrip(".")
    data = export_bytes(table, fmt, layer=f"grade_{args.grade}")
    write_file(out, lambda f: f.write(data))
    emit_object({"out": str(out), "format": fmt, "grade": args.grade, "rows": len(table), "bytes": out.stat().st_size})


def register_policy_list(export_subparsers) -> None:
    """``export policy-list`` (called by :mod:`commands.export`, which owns the ``export`` group)."""
    p = export_subparsers.add_parser("policy-list", help="enterprises of one 亩均 grade with USCC, name and parcels "
                                                         "(for utilities and the tax office)")
    p.add_argument("--year", type=int, help="evaluation year (default: the latest with figures)")
    p.add_argument("--grade", required=True, choices=GRADES)
    p.add_argument("--scheme", help="scheme name or FILE.toml (default: zhejiang_style)")
    p.add_argument("--out", required=True, help="FILE.xlsx or FILE.csv")
    p.set_defaults(handler=cmd_policy_list)


def cmd_export(args) -> None:
    out = _out_path(args, (".csv", ".xlsx"))
    store = open_store(args.store)
    table = enterprise_file_frame(read_enterprises(store), read_figures(store), chinese=args.chinese,
                                  leaders=read_leaders(store))
    fmt = out.suffix.lower().lstrip(".")
    data = export_bytes(table, fmt, layer="enterprises")
    write_file(out, lambda f: f.write(data))
    emit_object({"out": str(out), "format": fmt, "rows": len(table), "bytes": out.stat().st_size})


def register(subparsers) -> None:
    group = subparsers.add_parser("enterprises", help="enterprises using the land and their yearly figures")
    sub = group.add_subparsers(dest="enterprises_command", required=True)

    p = sub.add_parser("import", help="import enterprises and yearly figures from CSV/XLSX, all or nothing")
    p.add_argument("file", help="FILE.csv or FILE.xlsx, one row per enterprise and year (docs/enterprises.md)")
    p.add_argument("--dry-run", action="store_true", help="check and report; write nothing")
    p.add_argument("--user", help="acting user, an admin (required to write)")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("list", help="enterprises with their park, land and 亩均 grade")
    p.add_argument("--park", help="only enterprises whose largest parcel lies in this park")
    p.add_argument("--grade", help="only enterprises of this grade (A, B, C, D)")
    p.add_argument("--year", type=int, help="evaluation year of the grade (default: the latest)")
    p.add_argument("--scheme", help="scheme name or FILE.toml of the grade (default: zhejiang_style)")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("export", help="enterprises and figures as CSV/XLSX (the import's columns)")
    p.add_argument("--out", required=True, help="FILE.csv or FILE.xlsx")
    p.add_argument("--chinese", action="store_true", help="Chinese headers (统一社会信用代码, 企业名称, …)")
    p.add_argument("--follow-symlink", action="store_true", help="write through --out when it is a symbolic link")
    p.set_defaults(handler=cmd_export)

    p = subparsers.add_parser("evaluate", help="亩均 evaluation of enterprises by a scheme (docs/evaluation.md)")
    p.add_argument("what", nargs="?", choices=("results", "sensitivity", "changes", "schemes"), default="results",
                   help="results (default), sensitivity (±5 points per weight), changes (against the year "
                        "before) or the shipped schemes")
    p.add_argument("--year", type=int, help="figures of this year (default: the latest)")
    p.add_argument("--scheme", help="scheme name or FILE.toml (default: zhejiang_style)")
    p.add_argument("--park", help="only rows of enterprises of this park (grades stay those of the jurisdiction)")
    p.add_argument("--all", action="store_true", help="also enterprises not graded (start-ups, utilities…)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the reasons")
    p.add_argument("--save", action="store_true", help="store the results for the year (needs --user)")
    p.add_argument("--user", help="acting planner with --save")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_evaluate)
