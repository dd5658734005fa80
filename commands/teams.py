"""Team commands: promotion teams, their annual targets and their progress from the register."""
from __future__ import annotations

import os

from commands.importing import _read_file
from commands.output import FORMATS, emit, emit_object
from commands.store_cmds import _user
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

    targets = sub.add_parser("targets", help="annual targets of the teams")
    tsub = targets.add_subparsers(dest="targets_command", required=True, parser_class=type(teams))
    _import_parser(tsub, "import targets from CSV/XLSX: team_id, year, target, value[, chain]", cmd_targets_import)
    p = tsub.add_parser("list", help="the targets, of all years or one")
    p.add_argument("--year", type=int)
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_targets_list)
