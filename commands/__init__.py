"""The CLI's commands, one module per concern, each registering its subcommands."""
from __future__ import annotations

import argparse
import sys

from geo.errors import ParkAtlasError

# Modules with a ``register(subparsers)`` function; each command sets ``handler``.
_COMMAND_MODULES = ["commands.core", "commands.province", "commands.export", "commands.match", "commands.importing",
                    "commands.store_cmds", "commands.teams",
                    "commands.enterprises", "commands.projects", "commands.city",
                    "commands.inefficient", "commands.chains"]


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = _Parser(prog="cli.py", description="ParkAtlas: industrial park land, metrics and matching.")
    parser.add_argument("--store", help="GeoPackage path or postgresql:// URL "
                        "(default: $PARKATLAS_STORE, else var/parkatlas.gpkg seeded from data/parcels/)")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def run(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    """Parse and run; user errors become one line on stderr and exit status 2."""
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except ParkAtlasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `| head`: not an error of the user's
        return 0
