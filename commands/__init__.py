"""The CLI's commands, one module per concern, each registering its subcommands."""
from __future__ import annotations

import argparse
import os
import sys

from geo.errors import ParkAtlasError

# Modules with a ``register(subparsers)`` function; each command sets ``handler``.
_COMMAND_MODULES = ["commands.core", "commands.province", "commands.export", "commands.match", "commands.importing",
                    "commands.store_cmds", "commands.teams",
                    "commands.enterprises", "commands.projects", "commands.city",
                    "commands.inefficient", "commands.chains"]
# The module that registers each top-level command. A command line names one command, so only its
# module (and the heavy libraries it needs) is imported; a command missing here still works, more
# slowly: every module is loaded (tests/test_cli_start.py checks this table against the modules).
_COMMANDS = {"parks": "commands.core", "parcels": "commands.core", "available": "commands.core",
             "idle": "commands.core", "info": "commands.core", "province": "commands.province",
             "export": "commands.export", "match": "commands.match", "import": "commands.importing",
             **dict.fromkeys(["reserve", "release", "status", "edit", "history", "as-of", "backup", "restore",
                              "check", "users"], "commands.store_cmds"),
             "teams": "commands.teams", "report": "commands.teams", "enterprises": "commands.enterprises",
             "evaluate": "commands.enterprises", "projects": "commands.projects", "city": "commands.city",
             "inefficient": "commands.inefficient", "chains": "commands.chains", "prospects": "commands.chains"}


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see --help)\n")


def command_of(argv: list[str]) -> str | None:
    """The command word of a command line (``None`` for ``--help`` or no command)."""
    words = iter(argv)
    for word in words:
        if word == "--store":
            next(words, None)
        elif not word.startswith("-"):
            return word
        elif not word.startswith("--store="):
            return None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The CLI's parser; given ``argv``, only the module of its command is imported (fast start).

    Without ``argv`` (or for ``--help`` and unknown commands) every command is registered.
    """
    import importlib

    module = _COMMANDS.get(command_of(argv)) if argv is not None else None
    parser = _Parser(prog="cli.py", description="ParkAtlas: industrial park land, metrics and matching.")
    parser.add_argument("--store", help="GeoPackage path or postgresql:// URL "
                        "(default: $PARKATLAS_STORE, else var/parkatlas.gpkg seeded from data/parcels/)")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in [module] if module else _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _use_registered_users(args) -> None:
    """A store registered with its own users file (``city register --users``) acts with those
    users, as in the app; other stores keep the deployment's (``$PARKATLAS_USERS``)."""
    from geo.auth import USERS_ENV
    from geo.city import registered_users

    users = registered_users(getattr(args, "store", None))
    if users:
        os.environ[USERS_ENV] = users


def run(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    """Parse and run; user errors become one line on stderr and exit status 2."""
    args = parser.parse_args(argv)
    try:
        _use_registered_users(args)
        return args.handler(args) or 0
    except ParkAtlasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `| head`: not an error of the user's
        return 0
