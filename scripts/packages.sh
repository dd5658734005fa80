# What each set-up mode installs, sourced by setup.sh and offline-bundle.sh: one list, so a bundle
# made for a machine without internet holds exactly what setup.sh installs there.
# Sets apt_packages (Debian packages) and req (the pip requirements file) for $mode (app|test).
apt_packages=(fonts-noto-cjk poppler-utils)
req=requirements.txt
if [ "$mode" = "test" ]; then
  apt_packages+=(chromium postgresql postgis postgresql-15-postgis-3 gdal-bin)
  req=requirements-dev.txt
fi
