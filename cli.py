"""ParkAtlas command line: the same core as the app, with a stable JSON output.

Usage: ``python cli.py [--store PATH_OR_URL] COMMAND ...`` — see ``python cli.py --help`` and
``docs/cli.md`` for every command and output key. Exit status: 0 on success, 2 with one line
on stderr for bad input, never a traceback for a user error.
"""
from __future__ import annotations

import sys

from commands import build_parser, run

if __name__ == "__main__":
    sys.exit(run(build_parser(sys.argv[1:]), sys.argv[1:]))
