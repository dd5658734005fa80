#!/usr/bin/env bash
# README command 1: set up and run the app on the embedded sample data (http://localhost:8501).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
export MALLOC_ARENA_MAX=2  # one malloc arena per script thread otherwise: +1 GiB with 20 sessions (docs/benchmarks.md)
exec .venv/bin/streamlit run serve.py --server.headless true "$@"
