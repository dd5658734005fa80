#!/usr/bin/env bash
# README command 2: set up everything the tests need (browser, PostGIS, fonts, packages) and run them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
exec .venv/bin/python -m pytest "$@"
