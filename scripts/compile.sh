#!/usr/bin/env bash
# Compile the repository's own modules, as pip compiles the packages it installs: otherwise every
# process started with PYTHONDONTWRITEBYTECODE=1 (or from a read-only checkout) compiles them again,
# ~0.1-0.2 s per CLI command (docs/benchmarks.md). Only modules changed since are compiled again.
# Run by scripts/setup.sh and by the benchmark's process cases; PYTHON overrides the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
"${PYTHON:-.venv/bin/python}" -m compileall -q -j 0 app.py serve.py app_pages bench commands geo layers
