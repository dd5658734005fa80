"""Team commands: promotion teams, their annual targets and their progress from the register."""
from __future__ import annotations

import os

from commands.argtypes import iso_date
from commands.importing import _read_file
from commands.output import FORMATS, emit, emit_object
from commands.store_cmds import _user
from geo.errors import ParkAtlasError
from geo.store import open_store


def _file_frame(name: str):
    from geo.team import read_table_file

    return read_table_file(_read_file(name), os.path.basename(name))


def cmd_teams_import(args) -> None:
    from geo.team import import_teams

    frame = _file_frame(args.file)
    store = open_store(args.store)
    emit_object({"teams": import_teams(store, frame, user=_user(args)), "user": args.user})


def cmd_targets_import(args) -> None:
    from geo.team import import_targets

    frame = _file_frame(args.file)
    store = open_store(args.store)
    emit_object({"targets": import_targets(store, frame, user=_user(args)), "user": args.user})


def cmd_teams_list(args) -> None:
    from geo.team import read_teams

    emit(read_teams(open_store(args.store)), args.format)


def cmd_targets_list(args) -> None:
    from geo.team import read_targets

    emit(read_targets(open_store(args.store), args.year), args.format)


def _weights(items: list[str] | None) -> dict[str, float]:
    weights = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise ParkAtlasError(f"--weight {item!r} must look like TARGET=NUMBER") from None
        if not sep:
            raise ParkAtlasError(f"--weight {item!r} must look like TARGET=NUMBER")
    return weights


def store_progress(store, year, as_of=None, weights=None):
    """Progress of every team for ``year`` at ``as_of``, from the store's register."""
    from geo.team import read_targets, read_teams
    from geo.project_review import read_register
    from geo.team_progress import check_year, team_progress

    year = check_year(year)
    return team_progress(read_register(store), read_teams(store), read_targets(store, year),
                         year=year, as_of=as_of, weights=weights)


def cmd_teams_progress(args) -> None:
    from geo.team_progress import ROW_COLUMNS

    progress = store_progress(open_store(args.store), args.year, iso_date(args.as_of, "--as-of"), _weights(args.weight))
    rows = progress.rows[ROW_COLUMNS]
    if args.format == "csv":
        rows = rows.assign(project_ids=rows.project_ids.map(";".join))
    emit(rows, args.format)


def cmd_report_bulletin(args) -> None:
    import time

    from commands.export import _out_path
    from geo.bulletin import build_bulletin, bulletin_xlsx
    from geo.exports import write_file
    from layers.bulletin import render_bulletin

    started = time.perf_counter()
    out = _out_path(args, (".pdf", ".xlsx"))
    bulletin = build_bulletin(open_store(args.store), args.month, weights=_weights(args.weight))
    if out.suffix.lower() == ".pdf":
        write_file(out, lambda f: render_bulletin(bulletin, f, lang=args.lang))
    else:
        data = bulletin_xlsx(bulletin, args.lang)
        write_file(out, lambda f: f.write(data))
    emit_object({"out": str(out), "format": out.suffix.lower().lstrip("."), "month": bulletin.month,
                 "lang": args.lang, "teams": len(bulletin.teams), "events": len(bulletin.events),
                 "warnings": len(bulletin.warnings), "bytes": out.stat().st_size,
                 "seconds": round(time.perf_counter() - started, 3)})


def _import_parser(sub, help_text: str, handler) -> None:
    p = sub.add_parser("import", help=help_text)
    p.add_argument("file", help="CSV (UTF-8 or GBK) or XLSX; English or Chinese headers (docs/teams.md)")
    p.add_argument("--user", help="acting user, a planner or admin (required)")
    p.set_defaults(handler=handler)


def register(subparsers) -> None:
    teams = subparsers.add_parser("teams", help="promotion teams, their targets and progress (see docs/teams.md)")
    sub = teams.add_subparsers(dest="teams_command", required=True, parser_class=type(teams))

    _import_parser(sub, "import teams from CSV/XLSX: team_id, name, members, district, chains", cmd_teams_import)

    p = sub.add_parser("list", help="the teams")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_teams_list)

    p = sub.add_parser("progress", help="each team's actual vs target from the project register, ranked")
    p.add_argument("--year", required=True, help="the target year, e.g. 2026")
    p.add_argument("--as-of", help="count what had happened by this date, YYYY-MM-DD (default: today)")
    p.add_argument("--weight", action="append", metavar="TARGET=W",
                   help="score weight of a target (repeatable; default: data/standards/team_counting.csv)")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_teams_progress)

    report = subparsers.add_parser("report", help="reports from the register: the monthly bulletin")
    rsub = report.add_subparsers(dest="report_command", required=True, parser_class=type(teams))
    p = rsub.add_parser("bulletin", help="the month's bulletin (招商工作通报) as PDF or XLSX")
    p.add_argument("--month", required=True, help="the month, YYYY-MM")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--out", required=True, help="FILE.pdf or FILE.xlsx")
    p.add_argument("--weight", action="append", metavar="TARGET=W", help="score weight of a target (repeatable)")
    p.add_argument("--follow-symlink", action="store_true", help="write through --out when it is a symbolic link")
    p.set_defaults(handler=cmd_report_bulletin)

    targets = sub.add_parser("targets", help="annual targets of the teams")
    tsub = targets.add_subparsers(dest="targets_command", required=True, parser_class=type(teams))
    _import_parser(tsub, "import targets from CSV/XLSX: team_id, year, target, value[, chain]", cmd_targets_import)
    p = tsub.add_parser("list", help="the targets, of all years or one")
    p.add_argument("--year", type=int)
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_targets_list)
