#!/usr/bin/env bash
# Set up ParkAtlas on a fresh Debian machine: system packages, a virtualenv in .venv, Python packages.
# Usage: scripts/setup.sh app|test   (app: what the app needs; test: also browser, PostGIS, test tools)
# Without internet (docs/offline-install.md): PARKATLAS_DEBS=DIR installs the Debian packages copied
# into DIR, PARKATLAS_WHEELS=DIR the Python packages from a wheel folder (both made by
# scripts/offline-bundle.sh on a connected machine).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"

source scripts/packages.sh  # apt_packages and req of $mode
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  if [ -n "${PARKATLAS_DEBS:-}" ]; then
    # Only the folder's packages this machine lacks (scripts/offline-debs.sh says why). Not
    # --no-download: apt counts the local files as archives to fetch and refuses them with it.
    mapfile -t debs < <(bash scripts/offline-debs.sh "$PARKATLAS_DEBS")
    if [ ${#debs[@]} -gt 0 ]; then
      DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null
    fi
  else
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements.txt "$req" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "[setup] installing Python packages from $req"
  if [ -n "${PARKATLAS_WHEELS:-}" ]; then
    .venv/bin/pip install -q --no-index --find-links "$PARKATLAS_WHEELS" -r "$req"
  else
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r "$req"
  fi
  touch "$stamp"
fi
bash scripts/compile.sh
echo "[setup] ready ($mode)"
