"""``inefficient``: inefficient-land candidates found by rule, their blocks, and confirming them."""
from __future__ import annotations

import json

import pandas as pd

from commands.argtypes import iso_date
from commands.output import GEO_FORMATS, emit, emit_object
from geo import auth
from geo.errors import ParkAtlasError
from geo.inefficient import confirm, inefficient_land
from geo.store import open_store

CANDIDATE_KEYS = ["parcel_id", "park_id", "enterprise", "status", "area_mu", "rule_count", "rules", "block_id",
                  "geometry"]


def cmd_inefficient(args) -> None:
    store = open_store(args.store)
    if args.what == "confirm":
        if not args.parcel_ids:
            raise ParkAtlasError("give the parcel ids to confirm (see `python cli.py inefficient`)")
        if not args.user:
            raise ParkAtlasError("give --user NAME: the planner confirming the candidates")
        emit_object(confirm(store, args.parcel_ids, user=auth.cli_user(args.user), as_of=iso_date(args.as_of, "--as-of")))
        return
    if args.parcel_ids:
        raise ParkAtlasError(f"parcel ids are only taken by `inefficient confirm`, not by {args.what}")
    candidates, blocks = inefficient_land(store, args.park, as_of=iso_date(args.as_of, "--as-of"), lang=args.lang)
    if args.what == "blocks":
        if args.format == "geojson":
            raise ParkAtlasError("blocks come as json or csv")
        emit(blocks.assign(parcel_ids=blocks.parcel_ids.map(";".join)) if args.format == "csv" else blocks, args.format)
        return
    rows = candidates[CANDIDATE_KEYS]
    if args.format == "json":
        rows = pd.DataFrame(rows.drop(columns="geometry"))
    elif args.format == "csv":  # GeoJSON properties carry the list itself, as JSON does
        rows = rows.assign(rules=[json.dumps(r, ensure_ascii=False) for r in rows.rules])
    emit(rows, args.format)


def register(subparsers) -> None:
    p = subparsers.add_parser("inefficient", help="inefficient-land (低效用地) candidates by rule, blocks, confirm")
    p.add_argument("what", nargs="?", choices=("candidates", "blocks", "confirm"), default="candidates",
                   help="candidates (default), blocks with their gains, or confirm PARCEL_ID…")
    p.add_argument("parcel_ids", nargs="*", metavar="PARCEL_ID", help="with confirm: the candidates to confirm")
    p.add_argument("--park", help="park id (see `parks`)")
    p.add_argument("--as-of", help="date the rules judge against, YYYY-MM-DD (default: today)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the reasons")
    p.add_argument("--user", help="acting planner, with confirm")
    p.add_argument("--format", choices=GEO_FORMATS, default="json")
    p.set_defaults(handler=cmd_inefficient)
