"""`match`: find and rank land for an incoming project (see docs/cli.md and docs/matching.md)."""
from __future__ import annotations

import argparse

from commands.argtypes import count
from commands.output import emit_object
from geo.matching import CRITERIA, match_store
from geo.store import open_store


def _weight(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE (e.g. chain_fit=40)")
    if name not in CRITERIA:
        raise argparse.ArgumentTypeError(f"unknown criterion {name!r}; one of {', '.join(CRITERIA)}")
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"weight {value!r} of {name} is not a number") from None
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"weight of {name} must be ≥ 0")
    return name, number


def cmd_match(args) -> None:
    from geo.city import read_chain_thresholds
    from geo.project import load_project

    project = load_project(args.project)  # validate the file before opening the store
    store = open_store(args.store)
    # The parcels as every page reads them (stored metrics, enterprise figures), only the columns and
    # geometries matching uses.
    result = match_store(store, project, top=args.top, park_id=args.park, weights=dict(args.weight or []),
                         with_blocks=not args.no_blocks, include_disposal=args.include_disposal or None,
                         edition=args.edition, chain_thresholds=read_chain_thresholds(store))
    emit_object(result.to_json(lang=args.lang))


def register(subparsers) -> None:
    p = subparsers.add_parser("match", help="rank land for a project (JSON or YAML file), with reasons")
    p.add_argument("project", help="project file: .json, .yaml or .yml (keys: docs/matching.md)")
    p.add_argument("--top", type=count("--top"), default=10, help="how many candidates (default 10)")
    p.add_argument("--park", help="only this park (see `parks`)")
    p.add_argument("--no-blocks", action="store_true", help="single parcels only, no assembled blocks")
    p.add_argument("--include-disposal", action="store_true",
                   help="also idle and inefficient land (flagged needs_disposal)")
    p.add_argument("--weight", type=_weight, action="append", metavar="NAME=VALUE",
                   help=f"override a ranking weight (repeatable); criteria: {', '.join(CRITERIA)}")
    p.add_argument("--edition", help="edition of 工业项目建设用地控制指标 for the national checks "
                   "(data/standards/editions.csv; default: the newest whose values are loaded)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the reasons (default zh)")
    p.add_argument("--format", choices=("json",), default="json")
    p.set_defaults(handler=cmd_match)
