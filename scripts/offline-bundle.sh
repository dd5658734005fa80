#!/usr/bin/env bash
# Prepare an install for a machine without internet (docs/offline-install.md).
# Run on a connected machine with the SAME Debian release, architecture and Python version as the
# target: scripts/offline-bundle.sh app|test OUTDIR  →  OUTDIR/wheels, OUTDIR/debs, the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"
out="${2:?usage: scripts/offline-bundle.sh app|test OUTDIR}"
mkdir -p "$out/wheels" "$out/debs"
source scripts/packages.sh  # apt_packages and req of $mode, as setup.sh installs them
echo "[bundle] Python wheels for $req"
python3 -m pip download -q --only-binary=:all: -d "$out/wheels" -r "$req" pip
echo "[bundle] Debian packages with their dependencies: ${apt_packages[*]}"
# Every package the list needs that a minimal system may lack (apt resolves the closure).
deps=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
         --no-enhances "${apt_packages[@]}" | grep '^\w' | sort -u)
for dep in $deps; do  # virtual packages have nothing to download
  (cd "$out/debs" && apt-get download -qq "$dep" 2>/dev/null) || echo "[bundle] skipped $dep (virtual)"
done
echo "[bundle] the repository"
git archive --format=tar.gz -o "$out/parkatlas.tar.gz" HEAD
echo "[bundle] done: copy $out to the target and see docs/offline-install.md"
