"""Zip-based uploads (zipped Shapefile, KMZ, XLSX): checked from the central directory first.

Every limit is checked on the zip's central directory — member count, declared sizes, the
compression ratio, member names, nested archives, encryption, symlinks — before a single byte
is decompressed. Members are then decompressed in memory (never to disk), and Python's
``zipfile`` stops at each member's declared size, so a lying directory cannot inflate memory.
"""
from __future__ import annotations

import io
import posixpath
import re
import stat
import zipfile

from geo.errors import KeyedError
from geo.io.safety import Limits

_NESTED = (".zip", ".kmz", ".jar", ".7z", ".rar", ".gz", ".tgz", ".bz2", ".xz", ".tar", ".zst")
_DRIVE = re.compile(r"^[A-Za-z]:")
#: Members of this size or more must not be compressed more than ``Limits.max_ratio`` times.
_RATIO_MIN_BYTES = 2 ** 20


class UnsafeArchive(KeyedError):
    """A zip refused before decompression (bomb, zip-slip member, nested archive...)."""


def inspect_zip(data: bytes, name: str, limits: Limits, *, max_members: int | None = None,
                allow_nested: bool = False) -> list[zipfile.ZipInfo]:
    """Check a zip from its central directory and return its file members (not directories).

    Raises
    ------
    UnsafeArchive
        Too many members, too large in total, too highly compressed, a member path that
        is absolute or climbs out (``../``), a nested archive, an encrypted member or a symlink.
    """
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeArchive("import.refused.zip_unreadable", f"{name} is not a readable zip archive ({exc}); "
                            "re-create it", file=name) from None
    cap = max_members or limits.max_members
    if len(infos) > cap:
        raise UnsafeArchive("import.refused.zip_members", f"{name} has {len(infos)} members (limit {cap}); refused as "
                            "a possible zip bomb", file=name, count=len(infos), limit=cap)
    total = 0
    members = []
    for info in infos:
        member = info.filename
        parts = member.replace("\\", "/").split("/")
        if member.startswith(("/", "\\")) or _DRIVE.match(member) or ".." in parts or "\x00" in member:
            raise UnsafeArchive("import.refused.zip_slip", f"{name} has a member path that leaves the archive "
                                f"({member[:80]!r}); refused", file=name, member=member[:80])
        if info.flag_bits & 0x1:
            raise UnsafeArchive("import.refused.zip_encrypted", f"{name} has an encrypted member ({member[:80]!r}); "
                                "upload it unencrypted", file=name, member=member[:80])
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeArchive("import.refused.zip_symlink", f"{name} has a symbolic link member ({member[:80]!r}); "
                                "refused", file=name, member=member[:80])
        if info.is_dir():
            continue
        lowered = member.lower()
        if lowered.endswith(".vrt"):
            raise UnsafeArchive("import.refused.zip_vrt", f"{name} contains a GDAL VRT ({member[:80]!r}), which can "
                                "read other files; refused", file=name, member=member[:80])
        if not allow_nested and lowered.endswith(_NESTED):
            raise UnsafeArchive("import.refused.zip_nested", f"{name} contains another archive ({member[:80]!r}); "
                                "nested archives are refused", file=name, member=member[:80])
        if info.file_size >= _RATIO_MIN_BYTES and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = f"{info.file_size / max(info.compress_size, 1):.0f}"
            raise UnsafeArchive("import.refused.zip_member_ratio", f"{name}: member {member[:80]!r} expands {ratio}× "
                                f"(limit {limits.max_ratio:.0f}×); refused as a possible zip bomb", file=name,
                                member=member[:80], ratio=ratio, limit=f"{limits.max_ratio:.0f}")
        total += info.file_size
        members.append(info)
    if total > limits.max_total_uncompressed:
        size, limit = f"{total / 2 ** 20:.0f}", f"{limits.max_total_uncompressed / 2 ** 20:.0f}"
        raise UnsafeArchive("import.refused.zip_total", f"{name} expands to {size} MB (limit {limit} MB); refused as "
                            "a possible zip bomb", file=name, size=size, limit=limit)
    if total >= _RATIO_MIN_BYTES and total > limits.max_ratio * max(len(data), 1):
        ratio, limit = f"{total / len(data):.0f}", f"{limits.max_ratio:.0f}"
        raise UnsafeArchive("import.refused.zip_ratio", f"{name} expands {ratio}× (limit {limit}×); refused as a "
                            "possible zip bomb", file=name, ratio=ratio, limit=limit)
    return members


def read_members(data: bytes, members: list[zipfile.ZipInfo]) -> dict[str, bytes]:
    """Decompress checked members in memory, keyed by their path inside the zip (only those needed)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            return {info.filename: archive.read(info) for info in members}
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise UnsafeArchive("import.refused.zip_corrupt", f"a member of the zip is corrupt ({exc}); "
                                "re-create the zip") from None


SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def shapefile_members(names: list[str], prefer: str | None = None) -> dict[str, str]:
    """The one shapefile among zip member ``names``: part extension → member name.

    ``prefer`` (the target layer) picks ``parcels.shp`` among several; otherwise exactly one
    ``.shp`` must be present, with its ``.shx`` and ``.dbf``.
    """
    shps = sorted(m for m in names if m.lower().endswith(".shp"))
    if len(shps) > 1 and prefer:
        preferred = [m for m in shps if posixpath.basename(m).lower() == f"{prefer.lower()}.shp"]
        shps = preferred or shps
    if len(shps) != 1:
        found = ", ".join(posixpath.basename(m) for m in shps)
        raise KeyedError("import.refused.zip_shapefiles" if shps else "import.refused.zip_no_shapefile",
                         f"the zip must hold exactly one shapefile (.shp), found: {found or 'none'}", found=found)
    stem = shps[0][:-4]
    present = set(names)
    parts = {ext: candidate for ext in SHAPEFILE_PARTS for candidate in (stem + ext, stem + ext.upper())
             if candidate in present}
    for needed in (".shx", ".dbf"):
        if needed not in parts:
            raise KeyedError("import.refused.zip_shapefile_part", f"the shapefile {posixpath.basename(stem)}.shp has "
                             f"no {needed} in the zip; zip the .shp, .shx, .dbf, .prj (and .cpg) together",
                             name=f"{posixpath.basename(stem)}.shp", part=needed)
    return parts


def shapefile_bundle(parts: dict[str, bytes], shapefile_name: str) -> tuple[bytes, dict]:
    """Repack a shapefile's parts (extension → bytes) as a flat, uncompressed zip.

    The parts are named ``upload.shp``, ``upload.dbf``…, so the member names chosen by the
    uploader never reach GDAL; the ``.cpg`` is left out (its text is returned: decoding is
    decided by :mod:`geo.io.encoding`, not by GDAL). Returns the zip bytes and what was found.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for ext, content in parts.items():
            if ext != ".cpg":
                out.writestr("upload" + ext, content)
    cpg = parts[".cpg"].decode("ascii", "replace").strip() if ".cpg" in parts else None
    return buffer.getvalue(), {"shapefile": posixpath.basename(shapefile_name), "cpg": cpg, "prj": ".prj" in parts}
