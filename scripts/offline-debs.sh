#!/usr/bin/env bash
# The .deb files of a copied Debian package folder that setup.sh installs (docs/offline-install.md):
# those whose package is not installed yet. Usage: scripts/offline-debs.sh DIR  → one path a line.
#
# The folder holds the whole dependency closure of the packages setup.sh needs (libc6, dpkg, tar …),
# as `apt-cache depends --recurse` lists it on the machine that made it. Handing all of it to apt
# would re-install or change the version of packages the machine already has — Essential ones, and
# every -dev package pinned to a library's exact version, which apt then wants from a mirror — so
# only the packages missing here are installed; the ones present satisfy the dependencies as they are.
set -euo pipefail
dir="${1:?usage: scripts/offline-debs.sh DIR}"
shopt -s nullglob
for deb in "$(realpath "$dir")"/*.deb; do
  name=$(dpkg-deb --field "$deb" Package)
  arch=$(dpkg-deb --field "$deb" Architecture)
  [ "$arch" = all ] || name="$name:$arch"
  if ! dpkg-query --show --showformat='${db:Status-Status}' "$name" 2>/dev/null | grep -qx installed; then
    echo "$deb"
  fi
done
