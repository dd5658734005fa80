"""Enterprise commands: ``enterprises import|list|export`` (see docs/enterprises.md)."""
from __future__ import annotations

import os

import pandas as pd

from commands.export import _out_path
from commands.importing import _read_file
from commands.output import FORMATS, emit, emit_object
from geo import auth
from geo.enterprise import (
    enterprise_file_frame, enterprise_land, import_enterprises, read_enterprise_file, read_enterprises, read_figures,
)
from geo.errors import ParkAtlasError
from geo.exports import export_bytes, write_file
from geo.store import open_store

LIST_KEYS = ["uscc", "name", "industry_code", "chain", "scale", "parcel_ids", "leased_floor_m2",
             "production_start", "park_id", "land_mu"]


def cmd_import(args) -> int:
    data = _read_file(args.file)
    store = open_store(args.store)
    result = read_enterprise_file(data, os.path.basename(args.file), store.read_parcels().parcel_id)
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
                                                 user=auth.cli_user(args.user))
    emit_object(report)
    return 0


def enterprise_table(store, park_id: str | None = None) -> pd.DataFrame:
    """Enterprises with the park of their largest parcel and their land in 亩 (optionally one park's)."""
    enterprises = read_enterprises(store)
    land = enterprise_land(enterprises, store.read_parcels())
    table = enterprises.join(land, on="uscc")
    if park_id is not None:
        if park_id not in set(store.read_parks().park_id):
            raise ParkAtlasError(f"unknown park {park_id!r}; see `python cli.py parks` for the ids")
        table = table[table.park_id == park_id]
    return table.reset_index(drop=True)


def cmd_list(args) -> None:
    emit(enterprise_table(open_store(args.store), args.park)[LIST_KEYS], args.format)


def cmd_export(args) -> None:
    out = _out_path(args, (".csv", ".xlsx"))
    store = open_store(args.store)
    table = enterprise_file_frame(read_enterprises(store), read_figures(store), chinese=args.chinese)
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

    p = sub.add_parser("list", help="enterprises with their park and land")
    p.add_argument("--park", help="only enterprises whose largest parcel lies in this park")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("export", help="enterprises and figures as CSV/XLSX (the import's columns)")
    p.add_argument("--out", required=True, help="FILE.csv or FILE.xlsx")
    p.add_argument("--chinese", action="store_true", help="Chinese headers (统一社会信用代码, 企业名称, …)")
    p.add_argument("--follow-symlink", action="store_true", help="write through --out when it is a symbolic link")
    p.set_defaults(handler=cmd_export)
