"""Store commands: reserve, release, status, edit, history, as-of, backup, restore, check, users.

Writes act as ``--user NAME``: the CLI is an operator tool, so the name is trusted and its
role comes from the users file (``var/users.json`` or ``$PARKATLAS_USERS``) when one exists;
without a users file a named operator acts as admin (see ``geo/auth.py``, ``docs/store.md``).
"""
from __future__ import annotations

import json
import os
import sys
from datetime import date

import pandas as pd

from commands.output import FORMATS, GEO_FORMATS, emit, emit_object
from geo import auth
from geo.errors import NotFoundError, ParkAtlasError
from geo.schema import PARCEL_COLUMNS
from geo.store import open_store

PASSWORD_ENV = "PARKATLAS_PASSWORD"


def _user(args) -> auth.User:
    if not args.user:
        raise ParkAtlasError("give --user NAME: the operator making the change (see docs/store.md)")
    return auth.cli_user(args.user)


def cmd_reserve(args) -> None:
    store = open_store(args.store)
    user = _user(args)
    result = store.reserve(args.parcel_ids, project=args.project, user=user)
    emit_object({**result, "project": args.project, "user": user.name})


def cmd_release(args) -> None:
    store = open_store(args.store)
    emit_object({**store.release(args.parcel_ids, user=_user(args)), "user": args.user})


def cmd_status(args) -> None:
    store = open_store(args.store)
    result = store.set_status(args.parcel_ids, args.set, user=_user(args), note=args.note)
    emit_object({**result, "status": args.set, "user": args.user})


def cmd_edit(args) -> None:
    changes = {}
    for item in args.set:
        field, sep, value = item.partition("=")
        if not sep:
            raise ParkAtlasError(f"--set {item!r} must look like FIELD=VALUE")
        changes[field.strip()] = value
    store = open_store(args.store)
    version = store.update_attributes(args.parcel_id, changes, user=_user(args),
                                      expected_version=args.expected_version)
    emit_object({"parcel_id": args.parcel_id, "version": version, "user": args.user})


def _flatten(frame: pd.DataFrame) -> pd.DataFrame:
    """JSON-encode nested values (whole records, details) for CSV."""
    out = frame.copy()
    for column in ("old", "new", "detail"):
        out[column] = [v if v is None or isinstance(v, (str, int, float, bool))
                       else json.dumps(v, ensure_ascii=False, sort_keys=True) for v in out[column]]
    return out


def cmd_history(args) -> None:
    store = open_store(args.store)
    log = store.history(parcel_id=args.parcel_id, park_id=args.park)
    if log.empty:
        if args.parcel_id and args.parcel_id not in set(store.read_parcels().parcel_id):
            raise NotFoundError(f"unknown parcel {args.parcel_id!r}; see `python cli.py parcels`")
        if args.park and args.park not in set(store.read_parks().park_id):
            raise NotFoundError(f"unknown park {args.park!r}; see `python cli.py parks` for the ids")
    if args.format == "csv":
        emit(_flatten(log), "csv")
    else:
        emit_object(log.astype(object).where(log.notna(), None).to_dict(orient="records"))


def cmd_as_of(args) -> None:
    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        raise ParkAtlasError(f"--date {args.date!r} is not a date (YYYY-MM-DD)") from None
    parcels = open_store(args.store).parcels_as_of(day, park_id=args.park)
    emit(parcels[[*PARCEL_COLUMNS, "geometry"]], args.format)


def cmd_backup(args) -> None:
    store = open_store(args.store)
    store.backup(args.destination)
    emit_object({"store": store.location, "backup": str(args.destination)})


def cmd_restore(args) -> None:
    store = open_store(args.store)
    store.restore(args.source, user=_user(args))
    emit_object({"store": store.location, "restored_from": str(args.source),
                 "problems": store.integrity_check()})


def cmd_check(args) -> int:
    store = open_store(args.store)
    problems = store.integrity_check()
    emit_object({"store": store.location, "ok": not problems, "problems": problems,
                 "revision": store.revision()})
    return 0 if not problems else 1


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password
    if sys.stdin.isatty():  # typed at a terminal, as the README shows: asked twice, never echoed
        import getpass

        password = getpass.getpass("password: ")
        if password != getpass.getpass("password again: "):
            raise ParkAtlasError("the two passwords differ; nothing changed")
        return password
    raise ParkAtlasError(f"give the password on stdin with --password-stdin or in ${PASSWORD_ENV}")


def cmd_users_add(args) -> None:
    user = auth.add_user(args.name, _password(args), args.role)
    emit_object({"name": user.name, "role": user.role, "users_file": str(auth.users_file())})


def cmd_users_list(args) -> None:
    emit(pd.DataFrame([{"name": u.name, "role": u.role} for u in auth.list_users()],
                      columns=["name", "role"]), args.format)


def cmd_users_remove(args) -> None:
    auth.remove_user(args.name)
    emit_object({"removed": args.name, "users_file": str(auth.users_file())})


def register(subparsers) -> None:
    def writer(name: str, help_text: str, handler):
        p = subparsers.add_parser(name, help=help_text)
        p.add_argument("--user", help="the operator making the change (role from the users file)")
        p.set_defaults(handler=handler)
        return p

    p = writer("reserve", "reserve parcels for a project (all or none)", cmd_reserve)
    p.add_argument("parcel_ids", nargs="+", metavar="PARCEL_ID")
    p.add_argument("--project", required=True, help="project the parcels are reserved for")

    p = writer("release", "release reservations (back to the status before)", cmd_release)
    p.add_argument("parcel_ids", nargs="+", metavar="PARCEL_ID")

    p = writer("status", "set the status of parcels (occupy, mark idle, ...)", cmd_status)
    p.add_argument("parcel_ids", nargs="+", metavar="PARCEL_ID")
    p.add_argument("--set", required=True, metavar="STATUS", help="status code (data/standards/statuses.csv)")
    p.add_argument("--note", help="why (kept in the history)")

    p = writer("edit", "edit parcel attributes (audited, optimistic concurrency)", cmd_edit)
    p.add_argument("parcel_id", metavar="PARCEL_ID")
    p.add_argument("--set", action="append", required=True, metavar="FIELD=VALUE")
    p.add_argument("--expected-version", type=int, help="fail if the parcel is no longer at this version")

    p = subparsers.add_parser("history", help="audit history of a parcel or park, oldest first")
    p.add_argument("parcel_id", nargs="?", metavar="PARCEL_ID")
    p.add_argument("--park", help="all changes in a park instead of one parcel")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_history)

    p = subparsers.add_parser("as-of", help="parcels of a park as they were at the end of a date (UTC)")
    p.add_argument("--park", required=True, help="park id (see `parks`)")
    p.add_argument("--date", required=True, help="YYYY-MM-DD")
    p.add_argument("--format", choices=GEO_FORMATS, default="json")
    p.set_defaults(handler=cmd_as_of)

    p = subparsers.add_parser("backup", help="consistent copy of the store while others keep writing")
    p.add_argument("destination", metavar="DEST", help="new .gpkg file (GeoPackage) or dump file (PostGIS)")
    p.set_defaults(handler=cmd_backup)

    p = writer("restore", "replace the store's content with a checked backup (admin)", cmd_restore)
    p.add_argument("source", metavar="SRC")

    p = subparsers.add_parser("check", help="integrity check of the store (exit 1 when problems are found)")
    p.set_defaults(handler=cmd_check)

    users = subparsers.add_parser("users", help="local accounts (var/users.json or $PARKATLAS_USERS)")
    actions = users.add_subparsers(dest="users_command", required=True, parser_class=type(users))
    p = actions.add_parser("add", help="add or update an account")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=auth.ROLES)
    p.add_argument("--password-stdin", action="store_true", help=f"read the password from stdin "
                   f"(else ${PASSWORD_ENV}, else asked for at the terminal)")
    p.set_defaults(handler=cmd_users_add)
    p = actions.add_parser("list", help="accounts and roles")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_users_list)
    p = actions.add_parser("remove", help="delete an account")
    p.add_argument("name")
    p.set_defaults(handler=cmd_users_remove)
