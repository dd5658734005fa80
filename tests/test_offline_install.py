"""The install without internet (docs/offline-install.md), in the parts cheap enough for the suite.

What these tests cover: which copied Debian packages ``setup.sh`` hands to apt (real ``.deb``
files built here), and that ``setup.sh``'s wheel-folder command — ``pip install --no-index
--find-links DIR -r requirements.txt`` — resolves every pinned requirement from a folder alone, no
index, against a folder of metadata-only wheels made from this environment's installed packages
(their real names, versions and dependencies). Also that the bundle
(``scripts/offline-bundle.sh``) fetches what ``setup.sh`` installs: both scripts are run with their
commands (pip, apt, dpkg, git) replaced by recorders. What they do not: downloading the real wheels
and Debian packages (the bundle needs the registries) and installing them; that is done by hand,
see docs/offline-install.md.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _deb(folder: Path, name: str, arch: str) -> Path:
    """A minimal Debian package ``name`` (no files) built with dpkg-deb."""
    tree = folder / f"tree-{name}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 0.0.1\nArchitecture: {arch}\nMaintainer: ParkAtlas tests <tests@localhost>\n"
        "Description: test package of tests/test_offline_install.py\n", encoding="utf-8")
    out = folder / "debs" / f"{name}_0.0.1_{arch}.deb"
    out.parent.mkdir(exist_ok=True)
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(tree), str(out)], check=True,
                   capture_output=True)
    return out


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="Debian's dpkg-deb is needed")
def test_only_the_copied_packages_the_machine_lacks_go_to_apt(tmp_path):
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    present = _deb(tmp_path, "tar", arch)  # Essential, installed everywhere: must not be re-installed
    missing = _deb(tmp_path, "parkatlas-offline-test-missing", "all")
    shown = subprocess.run(["bash", str(ROOT / "scripts" / "offline-debs.sh"), str(tmp_path / "debs")],
                           capture_output=True, text=True, check=True).stdout.split()
    assert shown == [str(missing.resolve())]
    assert str(present.resolve()) not in shown
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert 'offline-debs.sh "$PARKATLAS_DEBS"' in setup
    assert 'apt-get install -y -qq --no-install-recommends "${debs[@]}"' in setup  # never --no-download: apt
    # refuses local .deb files with it ("Unable to fetch some archives")


def _metadata_wheel(dist: metadata.Distribution, folder: Path) -> None:
    """A wheel holding only ``dist``'s metadata (name, version, dependencies): enough for pip to resolve."""
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    info = f"{name}-{dist.version}.dist-info"
    files = {f"{info}/METADATA": dist.read_text("METADATA") or "",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: parkatlas-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},"
              f"{len(text.encode())}" for path, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / f"{name}-{dist.version}-py3-none-any.whl", "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)


def _pins(path: Path) -> dict[str, str]:
    """Name → pinned version of a requirements file, with the files it includes (``-r FILE``)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement.startswith("-r "):
            pins.update(_pins(path.parent / requirement[3:].strip()))
        elif "==" in requirement:
            name, version = requirement.split("==")
            pins[re.sub(r"\[.*\]", "", name).strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_setup_resolves_requirements_from_a_wheel_folder_alone(tmp_path):
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert 'pip install -q --no-index --find-links "$PARKATLAS_WHEELS" -r "$req"' in setup
    folder = tmp_path / "wheels"
    folder.mkdir()
    seen = set()
    for dist in metadata.distributions():
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key not in seen and dist.read_text("METADATA"):
            seen.add(key)
            _metadata_wheel(dist, folder)
    report = tmp_path / "report.json"
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INPUT": "1"}  # no index, no config's find-links
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(folder),
                           "-r", str(ROOT / "requirements.txt"), "--dry-run", "--ignore-installed",
                           "--report", str(report)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    resolved = {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    pins = _pins(ROOT / "requirements.txt")
    assert len(pins) > 20
    assert {name: resolved.get(name) for name in pins} == pins
    assert "psycopg-binary" in resolved  # psycopg[binary]: the extra's wheel comes from the folder too


#: Stand-ins for the commands the two scripts run: each appends its name and arguments (one per
#: line, then a blank line) to $RECORD; ``python3 -m venv`` also makes a recording .venv.
_RECORDER = """#!/bin/bash
{ echo "$(basename "$0")"; printf '%s\\n' "$@"; echo; } >> "$RECORD"
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/pip" && cp "$0" "$3/bin/python"
fi
if [ "$(basename "$0") $1" = "apt-cache depends" ]; then  # a closure holds the packages themselves
  for arg in "$@"; do case "$arg" in -*|depends) ;; *) echo "$arg" ;; esac; done
fi
exit 0
"""


def _recorded_calls(tmp_path: Path, script: str, *args: str) -> list[list[str]]:
    """Run ``scripts/SCRIPT`` in a copy of the repository's scripts and requirements with every
    outside command recorded instead of run; the calls, each as [command, arg, ...]."""
    repo = tmp_path / f"repo-{script}-{args[0]}"
    shutil.copytree(ROOT / "scripts", repo / "scripts")
    for requirements in ROOT.glob("requirements*.txt"):
        shutil.copy(requirements, repo)
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    for command in ("python3", "dpkg", "apt-cache", "apt-get", "git", "sudo"):
        (stubs / command).write_text(_RECORDER, encoding="utf-8")
        (stubs / command).chmod(0o755)
    record = repo / "calls.txt"
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "RECORD": str(record), "HOME": str(tmp_path),
           "PARKATLAS_WHEELS": str(tmp_path / "wheels")}
    subprocess.run(["bash", str(repo / "scripts" / script), *args], env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=60)
    return [block.split("\n") for block in record.read_text(encoding="utf-8").strip().split("\n\n")]


def _requirements_file(call: list[str]) -> str:
    return call[call.index("-r") + 1]


@pytest.mark.parametrize("mode", ["app", "test"])
def test_the_bundle_fetches_what_setup_installs(tmp_path, mode):
    """The wheel and Debian package lists of offline-bundle.sh cannot drift from setup.sh's and requirements.txt."""
    setup = _recorded_calls(tmp_path, "setup.sh", mode)
    bundle = _recorded_calls(tmp_path, "offline-bundle.sh", mode, str(tmp_path / "bundle"))
    checked = [call[2] for call in setup if call[:2] == ["dpkg", "-s"]]  # setup.sh installs those not installed
    fetched = [call[2:] for call in bundle if call[:2] == ["apt-get", "download"]]
    [closure] = [call for call in bundle if call[:3] == ["apt-cache", "depends", "--recurse"]]
    assert "fonts-noto-cjk" in checked and ("chromium" in checked) == (mode == "test")
    assert [arg for arg in closure[3:] if not arg.startswith("--")] == checked
    assert {name for call in fetched for name in call if not name.startswith("-")} >= set(checked)
    [install] = [call for call in setup if call[:2] == ["pip", "install"]]
    [download] = [call for call in bundle if call[:4] == ["python3", "-m", "pip", "download"]]
    assert "--no-index" in install and "--only-binary=:all:" in download
    assert _requirements_file(download) == _requirements_file(install)
    pins = _pins(ROOT / _requirements_file(download))
    assert _pins(ROOT / "requirements.txt").items() <= pins.items()
    assert ("playwright" in pins) == (mode == "test")
