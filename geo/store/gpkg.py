"""GeoPackage backend: one file that QGIS opens, the embedded default store.

Reads go through pyogrio with Arrow. The file holds the layers ``parks``, ``parcels`` and
``districts``, an attribute table ``dataset_info`` (key/value metadata) and the append-only
attribute table ``audit_log`` (see :mod:`geo.store.base`).

Writes go through :mod:`sqlite3` in WAL mode, each in one ``BEGIN IMMEDIATE`` transaction
(a deferred transaction that upgrades to a write fails at once with SQLITE_BUSY) with a busy
timeout and a bounded retry, so concurrent writers queue instead of failing and no raw
"database is locked" reaches a user. GDAL's R-tree triggers call ``ST_IsEmpty``/``ST_MinX``…
on inserted geometries; this module registers those functions on its connections, reading
the envelope from the GeoPackage geometry header, so the spatial index stays consistent and
QGIS and pyogrio keep reading the file.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import time
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from geo.auth import User, require
from geo.errors import ConflictError, NotFoundError, ParkAtlasError, PermissionDenied
from geo.schema import PARCEL_COLUMNS, PARK_COLUMNS, conform_parcels, conform_parks
from geo.standards import load_standards
from geo.store.base import (
    LAYER_KEYS, MAX_ATTEMPTS, Store, check_changes, check_park_changes, check_reservation_args, check_status, encode,
    frame_records, history_frame, now_iso, plan_reservation, validate_import,
)

BUSY_TIMEOUT_S = 15.0
GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
FEATURE_LAYERS = ("parks", "parcels", "districts")
_LAYER_COLUMNS = {"parcels": PARCEL_COLUMNS, "parks": PARK_COLUMNS}
_AUDIT_SQL = """
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, at TEXT NOT NULL, user_name TEXT NOT NULL,
    role TEXT NOT NULL, action TEXT NOT NULL, parcel_id TEXT, park_id TEXT, field TEXT,
    old_value TEXT, new_value TEXT, project TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS audit_log_parcel_id ON audit_log (parcel_id);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE UNIQUE INDEX IF NOT EXISTS parcels_parcel_id ON parcels (parcel_id);
CREATE UNIQUE INDEX IF NOT EXISTS parks_park_id ON parks (park_id);
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change)
    VALUES ('audit_log', 'attributes', 'audit_log', 'append-only edit history',
            strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
"""
_AUDIT_INSERT = ("INSERT INTO audit_log (at, user_name, role, action, parcel_id, park_id, field, "
                 "old_value, new_value, project, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_prepared: set[tuple] = set()  # files (path, device, inode) already in WAL mode with an audit table
_AUDIT_SELECT = ("SELECT id, at, user_name, role, action, parcel_id, park_id, field, old_value, "
                 "new_value, project, detail FROM audit_log")


# --- GeoPackage geometry blobs ----------------------------------------------------------------
def _header_size(blob: bytes) -> int:
    envelope_doubles = (0, 4, 6, 6, 8)[(blob[3] >> 1) & 0x07]
    return 8 + 8 * envelope_doubles


def _envelope(blob: bytes) -> tuple[float, float, float, float]:
    """(minx, maxx, miny, maxy) from the blob header, or from the WKB when it has none."""
    if (blob[3] >> 1) & 0x07:
        order = "<" if blob[3] & 0x01 else ">"
        return struct.unpack_from(order + "4d", blob, 8)
    minx, miny, maxx, maxy = shapely.bounds(shapely.from_wkb(blob[8:]))
    return minx, maxx, miny, maxy


def _st(index: int):
    def function(blob):
        return None if blob is None else _envelope(blob)[index]
    return function


def _st_is_empty(blob):
    return None if blob is None else int(bool(blob[3] & 0x10))


_ST_FUNCTIONS = {"ST_IsEmpty": _st_is_empty, "ST_MinX": _st(0), "ST_MaxX": _st(1),
                 "ST_MinY": _st(2), "ST_MaxY": _st(3)}


def gpkg_blobs(geoms, srs_id: int = 4490) -> list[bytes]:
    """GeoPackage geometry blobs (little-endian, XY envelope) for shapely geometries."""
    bounds = shapely.bounds(geoms)
    wkbs = shapely.to_wkb(geoms, byte_order=1, output_dimension=2)
    return [struct.pack("<2sBBi4d", b"GP", 0, 0x03, srs_id, b[0], b[2], b[1], b[3]) + w
            for b, w in zip(bounds, wkbs)]


def _blob_wkb_hex(blob: bytes | None) -> str | None:
    return None if blob is None else blob[_header_size(blob):].hex().upper()


def _typed(columns: dict[str, str], column: str, value):
    if value is not None and columns[column] == "boolean":
        return bool(value)
    return value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def append_audit(con: sqlite3.Connection, rows: list[tuple]) -> None:
    """Append audit rows inside the caller's transaction."""
    con.executemany(_AUDIT_INSERT, rows)


def write_new_gpkg(path: Path, parks, parcels, districts, info: dict[str, str]) -> None:
    """Write a fresh GeoPackage at ``path`` (replacing it atomically if it exists)."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    pyogrio.write_dataframe(conform_parks(parks), tmp, layer="parks", driver="GPKG")
    pyogrio.write_dataframe(conform_parcels(parcels), tmp, layer="parcels", driver="GPKG",
                            layer_options={"SPATIAL_INDEX": "YES"})
    pyogrio.write_dataframe(districts, tmp, layer="districts", driver="GPKG")
    info_frame = pd.DataFrame({"key": list(info), "value": list(info.values())})
    pyogrio.write_dataframe(info_frame, tmp, layer="dataset_info", driver="GPKG")
    tmp.replace(path)


class GpkgStore(Store):
    """A GeoPackage file. Created and seeded from the sample when it does not exist yet.

    Parameters
    ----------
    path
        The ``.gpkg`` file.
    readonly
        Never write (default: only for the sample in ``data/parcels/``, which stays pristine).
    """

    def __init__(self, path: Path, readonly: bool | None = None):
        from geo.sample import SAMPLE_GPKG

        self.path = Path(path)
        self.location = str(self.path)
        self.readonly = (self.path.resolve() == SAMPLE_GPKG.resolve()) if readonly is None else readonly
        if not self.path.exists():
            if self.readonly:
                raise NotFoundError(f"store {self.path} does not exist")
            if not SAMPLE_GPKG.exists():
                raise ParkAtlasError(f"sample {SAMPLE_GPKG} is missing; run: python -m geo.sample")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + f".{os.getpid()}.seed")
            shutil.copyfile(SAMPLE_GPKG, tmp)
            try:
                os.link(tmp, self.path)  # atomic create-if-absent: concurrent first opens seed once
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        if not self.readonly:
            stat = self.path.stat()
            identity = (str(self.path.resolve()), stat.st_dev, stat.st_ino)
            if identity not in _prepared:
                self._prepare()
                _prepared.add(identity)

    # --- connections and transactions ------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise ParkAtlasError(f"cannot open store {self.path}: {exc}") from None
        for name, function in _ST_FUNCTIONS.items():
            con.create_function(name, 1, function, deterministic=True)
        return con

    def _prepare(self) -> None:
        """WAL mode, the audit table and unique id indexes (once per file)."""
        for attempt in range(MAX_ATTEMPTS):
            con = self._connect()
            try:
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "parcels" not in tables or "gpkg_contents" not in tables:
                    raise ParkAtlasError(f"{self.path} is not a ParkAtlas GeoPackage (no parcels layer); "
                                         "give another path or remove the file to start from the sample")
                ready = "audit_log" in tables
                if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    con.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.DatabaseError as exc:
                if not _is_busy(exc) or attempt == MAX_ATTEMPTS - 1:
                    raise ParkAtlasError(f"cannot open store {self.path}: {exc}") from None
                time.sleep(0.05 * 2 ** attempt)
            finally:
                con.close()
        if not ready:
            self._transaction(lambda con: [con.execute(sql) for sql in _AUDIT_SQL.split(";\n") if sql.strip()])

    def _transaction(self, work):
        """Run ``work(connection)`` in one ``BEGIN IMMEDIATE`` transaction, retrying while busy."""
        if self.readonly:
            raise ParkAtlasError(f"{self.path} is read-only (the bundled sample); use a store under var/")
        for attempt in range(MAX_ATTEMPTS):
            con = self._connect()
            try:
                con.execute("BEGIN IMMEDIATE")
                result = work(con)
                con.execute("COMMIT")
                return result
            except sqlite3.OperationalError as exc:
                _rollback(con)
                if _is_busy(exc):
                    if attempt < MAX_ATTEMPTS - 1:
                        time.sleep(0.05 * 2 ** attempt)
                        continue
                    raise ConflictError("the store is busy with other changes; nothing was changed, "
                                        "try again in a moment") from None
                raise ParkAtlasError(f"could not write to {self.path}: {exc}; nothing was changed") from None
            except sqlite3.Error as exc:
                _rollback(con)
                raise ParkAtlasError(f"could not write to {self.path}: {exc}; nothing was changed") from None
            except BaseException:
                _rollback(con)
                raise
            finally:
                con.close()
        raise AssertionError("unreachable")

    def _read_connection(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise ParkAtlasError(f"cannot open store {self.path}: {exc}") from None
        return con

    def _has_audit(self, con) -> bool:
        return con.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit_log'").fetchone() is not None

    # --- reads -------------------------------------------------------------------------------
    def _read(self, layer: str, **kwargs) -> gpd.GeoDataFrame:
        try:
            return pyogrio.read_dataframe(self.path, layer=layer, use_arrow=True, **kwargs)
        except pyogrio.errors.DataSourceError as exc:
            raise ParkAtlasError(f"cannot open store {self.path}: {exc}") from None

    def read_parks(self) -> gpd.GeoDataFrame:
        return conform_parks(self._read("parks"))

    def read_parcels(self, park_id: str | None = None) -> gpd.GeoDataFrame:
        where = None
        if park_id is not None:
            if park_id not in set(self.read_parks().park_id):
                raise NotFoundError(f"unknown park {park_id!r}; see `python cli.py parks` for the ids")
            where = "park_id = '{}'".format(park_id.replace("'", "''"))
        return conform_parcels(self._read("parcels", where=where))

    def read_districts(self) -> gpd.GeoDataFrame:
        return self._read("districts")

    def dataset_info(self) -> dict[str, str]:
        con = self._read_connection()
        try:
            return dict(con.execute("SELECT key, value FROM dataset_info").fetchall())
        finally:
            con.close()

    def revision(self) -> str:
        con = self._read_connection()
        try:
            last_id = con.execute("SELECT max(id) FROM audit_log").fetchone()[0] if self._has_audit(con) else 0
            changed = con.execute("SELECT max(last_change) FROM gpkg_contents").fetchone()[0]
        finally:
            con.close()
        return f"{last_id or 0}:{changed}"

    def history(self, parcel_id: str | None = None, park_id: str | None = None) -> pd.DataFrame:
        sql, params = _AUDIT_SELECT, []
        if parcel_id is not None:
            sql, params = sql + " WHERE parcel_id = ?", [parcel_id]
        elif park_id is not None:
            sql, params = sql + " WHERE park_id = ?", [park_id]
        con = self._read_connection()
        try:
            rows = con.execute(sql + " ORDER BY id", params).fetchall() if self._has_audit(con) else []
        finally:
            con.close()
        return history_frame(rows)

    # --- helpers inside a transaction ----------------------------------------------------------
    @staticmethod
    def _status_rows(con, ids: list[str]) -> dict[str, dict]:
        rows = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            cursor = con.execute(
                "SELECT parcel_id, park_id, status, reserved_project, reserved_by, reserved_at, version "
                f"FROM parcels WHERE parcel_id IN ({','.join('?' * len(chunk))})", chunk)
            for pid, park, status, project, by, at, version in cursor:
                rows[pid] = {"park_id": park, "status": status, "reserved_project": project,
                             "reserved_by": by, "reserved_at": at, "version": version}
        return rows

    @staticmethod
    def _touch(con, layer: str = "parcels") -> None:
        con.execute("UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                    "WHERE table_name = ?", (layer,))

    def _layer_records(self, con, layer: str) -> dict[str, dict]:
        columns = _LAYER_COLUMNS[layer]
        names = ", ".join(_quote(c) for c in columns)
        records = {}
        for row in con.execute(f"SELECT {names}, geom FROM {_quote(layer)}"):
            record = {c: _typed(columns, c, v) for c, v in zip(columns, row)}
            record["geometry"] = _blob_wkb_hex(row[-1])
            records[record[LAYER_KEYS[layer]]] = record
        return records

    # --- writes ------------------------------------------------------------------------------
    def import_features(self, layer, frame, *, user, mode="upsert", report=None) -> dict:
        require(user, "admin", f"import {layer}")
        frame = validate_import(layer, frame, mode)
        columns = _LAYER_COLUMNS[layer]
        key = LAYER_KEYS[layer]
        new_records = frame_records(frame, columns)
        blobs = dict(zip(frame[key], gpkg_blobs(frame.geometry.values)))

        def work(con):
            if layer == "parcels":
                known = {r[0] for r in con.execute("SELECT park_id FROM parks")}
                unknown = sorted(set(frame.park_id) - known)
                if unknown:
                    raise ParkAtlasError(f"parcels refer to unknown park {', '.join(unknown[:5])}; "
                                         "import the park first or fix park_id")
            old = self._layer_records(con, layer)
            at = now_iso()
            counts = {"inserted": 0, "replaced": 0, "unchanged": 0, "deleted": 0}
            audit = []
            names = [c for c in columns if c != "version"]
            insert_sql = (f"INSERT INTO {_quote(layer)} (geom, {', '.join(_quote(c) for c in columns)}) "
                          f"VALUES (?{', ?' * len(columns)})")
            update_sql = (f"UPDATE {_quote(layer)} SET geom = ?, "
                          + ", ".join(f"{_quote(c)} = ?" for c in columns) + f" WHERE {key} = ?")
            for record in new_records:
                fid = record[key]
                before = old.get(fid)
                if before is not None and all(before[c] == record[c] for c in [*names, "geometry"]):
                    counts["unchanged"] += 1
                    continue
                record = {**record}
                if layer == "parcels":
                    record["version"] = 1 if before is None else int(before["version"] or 0) + 1
                values = [record[c] for c in columns]
                if before is None:
                    con.execute(insert_sql, [blobs[fid], *values])
                    counts["inserted"] += 1
                else:
                    con.execute(update_sql, [blobs[fid], *values, fid])
                    counts["replaced"] += 1
                audit.append(self._record_row(at, user, "insert" if before is None else "replace",
                                              layer, record, before, record))
            if mode == "replace":
                parks = set(frame.park_id)
                keep = set(frame[key])
                for fid, before in old.items():
                    if before["park_id"] in parks and fid not in keep:
                        con.execute(f"DELETE FROM {_quote(layer)} WHERE {key} = ?", (fid,))
                        counts["deleted"] += 1
                        audit.append(self._record_row(at, user, "delete", layer, before, before, None))
            summary = (at, user.name, user.role, "import", None, None, layer, None, encode(counts), None,
                       json.dumps(report or {}, ensure_ascii=False, default=str, sort_keys=True))
            append_audit(con, [*audit, summary])
            audit_id = con.execute("SELECT max(id) FROM audit_log").fetchone()[0]
            con.execute(
                "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), "
                f"min_x = (SELECT min(minx) FROM rtree_{layer}_geom), max_x = (SELECT max(maxx) FROM "
                f"rtree_{layer}_geom), min_y = (SELECT min(miny) FROM rtree_{layer}_geom), "
                f"max_y = (SELECT max(maxy) FROM rtree_{layer}_geom) WHERE table_name = ?", (layer,))
            return {"layer": layer, **counts, "audit_id": audit_id}

        return self._transaction(work)

    @staticmethod
    def _record_row(at, user, action, layer, record, before, after) -> tuple:
        parcel_id = record["parcel_id"] if layer == "parcels" else None
        return (at, user.name, user.role, action, parcel_id, record["park_id"], "*",
                None if before is None else json.dumps(before, ensure_ascii=False, sort_keys=True),
                None if after is None else json.dumps(after, ensure_ascii=False, sort_keys=True), None, None)

    def reserve(self, parcel_ids, *, project, user) -> dict:
        require(user, "planner", "reserve parcels")
        ids = check_reservation_args(parcel_ids, project)
        available = load_standards().available_statuses
        marks = ",".join("?" * len(available))

        def work(con):
            rows = self._status_rows(con, ids)
            todo, mine = plan_reservation(rows, ids, project, user, available)
            at = now_iso()
            for pid in todo:
                cursor = con.execute(
                    "UPDATE parcels SET status = 'reserved', reserved_project = ?, reserved_by = ?, "
                    f"reserved_at = ?, version = version + 1 WHERE parcel_id = ? AND status IN ({marks})",
                    (project, user.name, at, pid, *available))
                if cursor.rowcount != 1:
                    raise ConflictError(f"parcel {pid} is already reserved; choose another parcel")
            append_audit(con, [(at, user.name, user.role, "reserve", pid, rows[pid]["park_id"], "status",
                                encode(rows[pid]["status"]), encode("reserved"), project, None)
                               for pid in todo])
            if todo:
                self._touch(con)
            return {"reserved": todo, "already_yours": mine}

        return self._transaction(work)

    def release(self, parcel_ids, *, user) -> dict:
        require(user, "planner", "release reservations")
        ids = list(dict.fromkeys(str(p) for p in parcel_ids))
        if not ids:
            raise ParkAtlasError("give at least one parcel id")

        def work(con):
            rows = self._status_rows(con, ids)
            at, audit, released = now_iso(), [], {}
            for pid in ids:
                row = _check_releasable(rows, pid, user)
                found = con.execute("SELECT old_value FROM audit_log WHERE parcel_id = ? AND action = "
                                    "'reserve' ORDER BY id DESC LIMIT 1", (pid,)).fetchone()
                previous = json.loads(found[0]) if found else "available"
                cursor = con.execute(
                    "UPDATE parcels SET status = ?, reserved_project = NULL, reserved_by = NULL, "
                    "reserved_at = NULL, version = version + 1 WHERE parcel_id = ? AND status = 'reserved'",
                    (previous, pid))
                if cursor.rowcount != 1:
                    raise ConflictError(f"parcel {pid} is not reserved any more; reload and retry")
                released[pid] = previous
                audit.append(_release_row(at, user, "release", pid, row, previous, None))
            append_audit(con, audit)
            self._touch(con)
            return {"released": released}

        return self._transaction(work)

    def set_status(self, parcel_ids, status, *, user, note=None) -> dict:
        require(user, "planner", "change parcel status")
        check_status(status)
        ids = list(dict.fromkeys(str(p) for p in parcel_ids))
        if not ids:
            raise ParkAtlasError("give at least one parcel id")

        def work(con):
            rows = self._status_rows(con, ids)
            _check_found(rows, ids)
            at, audit, changed = now_iso(), [], []
            for pid in ids:
                row = rows[pid]
                if row["status"] == status:
                    continue
                clear = (", reserved_project = NULL, reserved_by = NULL, reserved_at = NULL"
                         if row["status"] == "reserved" else "")
                cursor = con.execute(f"UPDATE parcels SET status = ?{clear}, version = version + 1 "
                                     "WHERE parcel_id = ? AND status = ?", (status, pid, row["status"]))
                if cursor.rowcount != 1:
                    raise ConflictError(f"parcel {pid} changed meanwhile; reload and retry")
                changed.append(pid)
                audit.append(_release_row(at, user, "status", pid, row, status, note))
            append_audit(con, audit)
            if changed:
                self._touch(con)
            return {"changed": changed}

        return self._transaction(work)

    def update_attributes(self, parcel_id, changes, *, user, expected_version=None) -> int:
        require(user, "planner", "edit parcel attributes")
        typed = check_changes(changes)

        def work(con):
            names = ["park_id", "version", *typed, *(["data_as_of"] if "data_as_of" not in typed else [])]
            row = con.execute(f"SELECT {', '.join(_quote(c) for c in names)} FROM parcels WHERE parcel_id = ?",
                              (parcel_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"unknown parcel {parcel_id!r}; see `python cli.py parcels`")
            current = {c: _typed(PARCEL_COLUMNS, c, v) for c, v in zip(names, row)}
            version = current["version"]
            if expected_version is not None and version != expected_version:
                raise ConflictError(f"parcel {parcel_id} was changed by someone else (version {version}, "
                                    f"you edited version {expected_version}); reload and edit again")
            diff = {c: v for c, v in typed.items() if current[c] != v}
            if not diff:
                return version
            diff.setdefault("data_as_of", date.today().isoformat())
            diff = {c: v for c, v in diff.items() if current[c] != v}
            cursor = con.execute(
                f"UPDATE parcels SET {', '.join(f'{_quote(c)} = ?' for c in diff)}, version = version + 1 "
                "WHERE parcel_id = ? AND version IS ?", (*diff.values(), parcel_id, version))
            if cursor.rowcount != 1:
                raise ConflictError(f"parcel {parcel_id} was changed by someone else; reload and edit again")
            at = now_iso()
            append_audit(con, [(at, user.name, user.role, "edit", parcel_id, current["park_id"], c,
                                encode(current[c]), encode(v), None, None) for c, v in diff.items()])
            self._touch(con)
            return (version or 0) + 1

        return self._transaction(work)

    def update_park(self, park_id, changes, *, user) -> dict:
        require(user, "admin", "edit park attributes and thresholds")
        typed = check_park_changes(changes)

        def work(con):
            row = con.execute(f"SELECT {', '.join(_quote(c) for c in typed)} FROM parks WHERE park_id = ?",
                              (park_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"unknown park {park_id!r}; see `python cli.py parks` for the ids")
            current = dict(zip(typed, row))
            diff = {c: v for c, v in typed.items() if current[c] != v}
            if diff:
                con.execute(f"UPDATE parks SET {', '.join(f'{_quote(c)} = ?' for c in diff)} WHERE park_id = ?",
                            (*diff.values(), park_id))
                at = now_iso()
                append_audit(con, [(at, user.name, user.role, "park_edit", None, park_id, c, encode(current[c]),
                                    encode(v), None, None) for c, v in diff.items()])
                self._touch(con, "parks")
            return diff

        return self._transaction(work)

    # --- operations --------------------------------------------------------------------------
    def integrity_check(self) -> list[str]:
        problems: list[str] = []
        try:
            con = self._read_connection()
            con.create_function("ST_IsEmpty", 1, _st_is_empty, deterministic=True)
        except ParkAtlasError as exc:
            return [str(exc)]
        try:
            result = [r[0] for r in con.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                return [f"sqlite integrity_check: {'; '.join(result[:5])}"]
            if con.execute("PRAGMA application_id").fetchone()[0] != GPKG_APPLICATION_ID:
                problems.append("not a GeoPackage (application_id is not GPKG)")
            contents = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
            for layer in FEATURE_LAYERS:
                if layer not in contents:
                    problems.append(f"layer {layer} is missing from gpkg_contents")
                    continue
                problems += _spatial_index_problems(con, layer)
            problems += _parcel_problems(con)
            if self._has_audit(con):
                problems += _audit_problems(con)
            else:
                problems.append("audit_log table is missing")
        except sqlite3.Error as exc:
            problems.append(f"cannot check {self.path}: {exc}")
        finally:
            con.close()
        return problems

    def backup(self, destination) -> None:
        dest = Path(destination)
        if dest.suffix.lower() != ".gpkg":
            raise ParkAtlasError(f"backup file {dest} must end in .gpkg")
        if dest.exists():
            raise ParkAtlasError(f"{dest} exists; choose a new backup file name")
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        partial.unlink(missing_ok=True)
        con = self._read_connection()
        try:
            # VACUUM INTO copies one read snapshot: writers keep working, the copy is consistent.
            con.execute("VACUUM INTO ?", (str(partial),))
        except sqlite3.Error as exc:
            partial.unlink(missing_ok=True)
            raise ParkAtlasError(f"backup to {dest} failed: {exc}") from None
        finally:
            con.close()
        os.replace(partial, dest)

    def restore(self, source, *, user) -> None:
        require(user, "admin", "restore a backup")
        src = Path(source)
        if not src.is_file():
            raise NotFoundError(f"backup {src} does not exist")
        problems = GpkgStore(src, readonly=True).integrity_check()
        problems = [p for p in problems if p != "audit_log table is missing"]
        if problems:
            raise ParkAtlasError(f"backup {src} fails the integrity check ({problems[0]}); nothing restored")
        source_con = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        target = self._connect()
        try:
            # The backup API swaps the pages in one transaction; other connections see old or new.
            source_con.backup(target)
            if target.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                target.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise ParkAtlasError(f"restore from {src} failed: {exc}") from None
        finally:
            source_con.close()
            target.close()
        self._prepare()
        at = now_iso()
        self._transaction(lambda con: append_audit(con, [(at, user.name, user.role, "restore", None, None,
                                                          None, None, None, None,
                                                          json.dumps({"source": src.name}))]))


def _rollback(con: sqlite3.Connection) -> None:
    try:
        con.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # no transaction was open (BEGIN itself failed)


def _check_found(rows: dict, ids: list[str]) -> None:
    missing = [pid for pid in ids if pid not in rows]
    if missing:
        raise NotFoundError(f"unknown parcel {', '.join(missing[:5])}; see `python cli.py parcels`")


def _check_releasable(rows: dict, pid: str, user: User) -> dict:
    _check_found(rows, [pid])
    row = rows[pid]
    if row["status"] != "reserved":
        raise ConflictError(f"parcel {pid} is not reserved (status {row['status']})")
    if row["reserved_by"] != user.name and not user.can("admin"):
        raise PermissionDenied(f"parcel {pid} is reserved by {row['reserved_by']}; only they or an admin "
                               "can release it")
    return row


def _release_row(at, user, action, pid, row, new_status, note) -> tuple:
    """Audit row for a status change; leaving ``reserved`` keeps who reserved it and when."""
    detail = {}
    if row["status"] == "reserved":
        detail = {"reserved_by": row["reserved_by"], "reserved_at": row["reserved_at"]}
    if note:
        detail["note"] = note
    return (at, user.name, user.role, action, pid, row["park_id"], "status", encode(row["status"]),
            encode(new_status), row["reserved_project"] if row["status"] == "reserved" else None,
            json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None)


def _spatial_index_problems(con, layer: str) -> list[str]:
    problems = []
    rtree = f"rtree_{layer}_geom"
    if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (rtree,)).fetchone() is None:
        return [f"layer {layer} has no spatial index"]
    missing = con.execute(f"SELECT count(*) FROM {layer} t WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) "
                          f"AND fid NOT IN (SELECT id FROM {rtree})").fetchone()[0]
    stale = con.execute(f"SELECT count(*) FROM {rtree} WHERE id NOT IN (SELECT fid FROM {layer})").fetchone()[0]
    if missing or stale:
        problems.append(f"spatial index of {layer}: {missing} features missing, {stale} stale entries")
    counted = con.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = ?", (layer,)).fetchone()
    actual = con.execute(f"SELECT count(*) FROM {layer}").fetchone()[0]
    if counted is not None and counted[0] is not None and counted[0] != actual:
        problems.append(f"gpkg_ogr_contents says {counted[0]} {layer}, the table has {actual}")
    return problems


def _parcel_problems(con) -> list[str]:
    problems = []
    dup = con.execute("SELECT count(*) FROM (SELECT parcel_id FROM parcels GROUP BY parcel_id "
                      "HAVING count(*) > 1)").fetchone()[0]
    if dup:
        problems.append(f"{dup} parcel ids occur more than once")
    if con.execute("SELECT count(*) FROM parcels WHERE parcel_id IS NULL").fetchone()[0]:
        problems.append("parcels without parcel_id")
    codes = list(load_standards().statuses.code)
    bad = con.execute(f"SELECT count(*) FROM parcels WHERE status IS NULL OR status NOT IN "
                      f"({','.join('?' * len(codes))})", codes).fetchone()[0]
    if bad:
        problems.append(f"{bad} parcels have an unknown status")
    orphan = con.execute("SELECT count(*) FROM parcels WHERE (status = 'reserved') != "
                         "(reserved_project IS NOT NULL)").fetchone()[0]
    if orphan:
        problems.append(f"{orphan} parcels have a reservation that does not match their status")
    return problems


def _audit_problems(con) -> list[str]:
    """The newest audited status of each parcel must be its current status."""
    rows = con.execute(
        "SELECT a.parcel_id, a.action, a.field, a.new_value, a.project, a.user_name, p.status, "
        "p.reserved_project, p.reserved_by FROM audit_log a JOIN (SELECT parcel_id, max(id) AS id "
        "FROM audit_log WHERE parcel_id IS NOT NULL AND field IN ('status', '*') GROUP BY parcel_id) "
        "newest ON a.id = newest.id LEFT JOIN parcels p ON p.parcel_id = a.parcel_id").fetchall()
    return audit_consistency(rows)


def audit_consistency(rows) -> list[str]:
    """Compare each parcel's newest status audit row with the parcel (both backends)."""
    problems = []
    for pid, action, field, new_value, project, user_name, status, reserved_project, reserved_by in rows:
        new = json.loads(new_value) if new_value is not None else None
        expected = new.get("status") if isinstance(new, dict) else new
        if field == "*" and new is None:
            if status is not None:
                problems.append(f"parcel {pid} was deleted in the audit log but still exists")
        elif status != expected:
            problems.append(f"parcel {pid} has status {status} but the audit log says {expected}")
        elif action == "reserve" and (reserved_project, reserved_by) != (project, user_name):
            problems.append(f"parcel {pid} reservation differs from its audit row")
        if len(problems) >= 20:
            problems.append("… more audit mismatches")
            break
    return problems


__all__ = ["GpkgStore", "write_new_gpkg", "gpkg_blobs", "append_audit"]
