"""PostGIS backend: many planners on one PostgreSQL server.

The tables (``parks``, ``parcels``, ``districts``, ``dataset_info``, ``audit_log``) live in
the schema ``parkatlas`` of the database in the URL; an empty database is set up and seeded
from the sample GeoPackage on first use (under an advisory lock, so concurrent first opens
seed once). Access is psycopg 3 with WKB geometries.

The guarantees of the GeoPackage store hold through row locks (``SELECT ... FOR UPDATE`` in
id order, then a conditional ``UPDATE ... WHERE status = ANY(available)``), a check
constraint tying the reservation columns to the status, and an append-only audit trigger.
Every write runs in one transaction on a fresh connection and is retried a bounded number of
times on serialization failures, deadlocks and dropped connections; an operation whose
commit may have been lost is safe to retry because a repeated reservation by the same user
is recognised as already theirs.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo.auth import require
from geo.crs import CGCS2000
from geo.errors import ConflictError, NotFoundError, ParkAtlasError
from geo.schema import PARCEL_COLUMNS, PARK_COLUMNS, conform_parcels, conform_parks
from geo.standards import load_standards
from geo.store.base import (
    LAYER_KEYS, MAX_ATTEMPTS, Store, check_changes, check_park_changes, check_reservation_args, check_status, encode,
    frame_records, history_frame, now_iso, plan_reservation, validate_import,
)
from geo.store.gpkg import _check_found, _check_releasable, _release_row, audit_consistency

SCHEMA = "parkatlas"
_SQL_TYPES = {"string": "text", "float64": "double precision", "Int64": "bigint", "boolean": "boolean"}
_LAYER_COLUMNS = {"parcels": PARCEL_COLUMNS, "parks": PARK_COLUMNS}
_DISTRICT_COLUMNS = {"district_code": "string", "name_zh": "string", "name_en": "string", "source": "string"}
_SEED_LOCK = 344_0007  # advisory lock id for creating and seeding the schema
_AUDIT_INSERT = ("INSERT INTO audit_log (at, user_name, role, action, parcel_id, park_id, field, "
                 "old_value, new_value, project, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
_AUDIT_SELECT = ("SELECT id, at, user_name, role, action, parcel_id, park_id, field, old_value, "
                 "new_value, project, detail FROM audit_log")
_ready: set[str] = set()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns_sql(columns: dict[str, str], key: str | None) -> str:
    return ", ".join(f"{_q(c)} {_SQL_TYPES[t]}" + (" PRIMARY KEY" if c == key else "")
                     for c, t in columns.items())


def _schema_sql() -> list[str]:
    return [
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
        "CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public",
        f"CREATE TABLE parks ({_columns_sql(PARK_COLUMNS, 'park_id')}, geom geometry(MultiPolygon, 4490))",
        f"CREATE TABLE parcels ({_columns_sql(PARCEL_COLUMNS, 'parcel_id')}, geom geometry(Polygon, 4490), "
        "CONSTRAINT reservation_matches_status CHECK ((status = 'reserved') = (reserved_project IS NOT NULL)))",
        "CREATE INDEX parcels_park_id ON parcels (park_id)",
        "CREATE INDEX parcels_geom ON parcels USING gist (geom)",
        f"CREATE TABLE districts ({_columns_sql(_DISTRICT_COLUMNS, None)}, geom geometry(MultiPolygon, 4490))",
        "CREATE TABLE dataset_info (key text PRIMARY KEY, value text)",
        "CREATE TABLE audit_log (id bigserial PRIMARY KEY, at text NOT NULL, user_name text NOT NULL, "
        "role text NOT NULL, action text NOT NULL, parcel_id text, park_id text, field text, "
        "old_value text, new_value text, project text, detail text)",
        "CREATE INDEX audit_log_parcel_id ON audit_log (parcel_id)",
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    ]


def append_audit(cur, rows: list[tuple]) -> None:
    """Append audit rows inside the caller's transaction."""
    cur.executemany(_AUDIT_INSERT, rows)


def _ewkb(geoms) -> list[str]:
    return list(shapely.to_wkb(shapely.set_srid(geoms, 4490), hex=True, include_srid=True, output_dimension=2))


class PostgisStore(Store):
    """A PostgreSQL/PostGIS database given by a ``postgresql://`` URL."""

    def __init__(self, url: str, *, seed: bool = True):
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.location = _redact(self.url)
        if self.url not in _ready:
            self._setup(seed)
            _ready.add(self.url)

    # --- connections and transactions ------------------------------------------------------
    def _connect(self):
        import psycopg

        try:
            return psycopg.connect(self.url, connect_timeout=10, options=f"-c search_path={SCHEMA},public")
        except psycopg.Error as exc:
            raise ParkAtlasError(f"cannot connect to {self.location}: {str(exc).strip().splitlines()[0]}; "
                                 "check the URL and that the server is running") from None

    def _transaction(self, work):
        """Run ``work(cursor)`` in one transaction; retry serialization failures and lost connections."""
        import psycopg

        last = None
        for attempt in range(MAX_ATTEMPTS):
            con = self._connect()
            try:
                with con.cursor() as cur:
                    result = work(cur)
                con.commit()
                return result
            except psycopg.OperationalError as exc:  # includes serialization failures and dropped connections
                last = exc
                _close(con)
                time.sleep(0.05 * 2 ** attempt)
            except psycopg.Error as exc:
                _close(con)
                raise ParkAtlasError(f"could not write to {self.location}: "
                                     f"{str(exc).strip().splitlines()[0]}; nothing was changed") from None
            except BaseException:
                _close(con)
                raise
            finally:
                if not con.closed:
                    con.close()
        raise ConflictError(f"the database did not complete the change after {MAX_ATTEMPTS} attempts "
                            f"({str(last).strip().splitlines()[0] if last else 'unknown'}); nothing was "
                            "changed, try again")

    def _query(self, sql: str, params=()) -> list[tuple]:
        import psycopg

        con = self._connect()
        try:
            return con.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise ParkAtlasError(f"cannot read {self.location}: {str(exc).strip().splitlines()[0]}") from None
        finally:
            con.close()

    def _setup(self, seed: bool) -> None:
        def work(cur):
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SEED_LOCK,))
            if cur.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.audit_log",)).fetchone()[0] is not None:
                return
            if not seed:
                raise ParkAtlasError(f"{self.location} holds no ParkAtlas tables")
            for sql in _schema_sql():
                cur.execute(sql)
            self._seed(cur)

        self._transaction(work)

    def _seed(self, cur) -> None:
        """Copy the sample GeoPackage into the new tables (same transaction as the schema)."""
        from geo.sample import SAMPLE_GPKG
        from geo.store.gpkg import GpkgStore

        sample = GpkgStore(SAMPLE_GPKG, readonly=True)
        for table, frame, columns in (("parks", sample.read_parks(), PARK_COLUMNS),
                                      ("parcels", sample.read_parcels(), PARCEL_COLUMNS),
                                      ("districts", sample.read_districts(), _DISTRICT_COLUMNS)):
            records = frame_records(frame, columns)
            geoms = _ewkb(frame.geometry.values)
            names = ", ".join(_q(c) for c in columns)
            with cur.copy(f"COPY {table} ({names}, geom) FROM STDIN") as copy:
                for record, geom in zip(records, geoms):
                    copy.write_row([*(record[c] for c in columns), geom])
        cur.executemany("INSERT INTO dataset_info (key, value) VALUES (%s, %s)", list(sample.dataset_info().items()))

    # --- reads -------------------------------------------------------------------------------
    def _frame(self, table: str, columns: dict[str, str], where: str = "", params=()) -> gpd.GeoDataFrame:
        names = ", ".join(_q(c) for c in columns)
        key = LAYER_KEYS.get(table)
        order = f" ORDER BY {key}" if key else ""
        rows = self._query(f"SELECT {names}, ST_AsBinary(geom) FROM {table} {where}{order}", params)
        table_frame = pd.DataFrame.from_records([r[:-1] for r in rows], columns=list(columns))
        geometry = shapely.from_wkb([bytes(r[-1]) if r[-1] is not None else None for r in rows])
        return gpd.GeoDataFrame(table_frame.astype(columns), geometry=geometry, crs=CGCS2000)

    def read_parks(self) -> gpd.GeoDataFrame:
        return conform_parks(self._frame("parks", PARK_COLUMNS))

    def read_parcels(self, park_id: str | None = None) -> gpd.GeoDataFrame:
        if park_id is None:
            return conform_parcels(self._frame("parcels", PARCEL_COLUMNS))
        if not self._query("SELECT 1 FROM parks WHERE park_id = %s", (park_id,)):
            raise NotFoundError(f"unknown park {park_id!r}; see `python cli.py parks` for the ids")
        return conform_parcels(self._frame("parcels", PARCEL_COLUMNS, "WHERE park_id = %s", (park_id,)))

    def read_districts(self) -> gpd.GeoDataFrame:
        return self._frame("districts", _DISTRICT_COLUMNS)

    def dataset_info(self) -> dict[str, str]:
        return dict(self._query("SELECT key, value FROM dataset_info ORDER BY key"))

    def revision(self) -> str:
        (last_id,), = self._query("SELECT coalesce(max(id), 0) FROM audit_log")
        return f"{last_id}:pg"

    def history(self, parcel_id: str | None = None, park_id: str | None = None) -> pd.DataFrame:
        if parcel_id is not None:
            rows = self._query(_AUDIT_SELECT + " WHERE parcel_id = %s ORDER BY id", (parcel_id,))
        elif park_id is not None:
            rows = self._query(_AUDIT_SELECT + " WHERE park_id = %s ORDER BY id", (park_id,))
        else:
            rows = self._query(_AUDIT_SELECT + " ORDER BY id")
        return history_frame(rows)

    # --- helpers inside a transaction ----------------------------------------------------------
    @staticmethod
    def _lock_rows(cur, ids: list[str]) -> dict[str, dict]:
        """Lock the parcels (in id order, so concurrent writers cannot deadlock) and read them."""
        rows = {}
        cur.execute("SELECT parcel_id, park_id, status, reserved_project, reserved_by, reserved_at, version "
                    "FROM parcels WHERE parcel_id = ANY(%s) ORDER BY parcel_id FOR UPDATE", (ids,))
        for pid, park, status, project, by, at, version in cur.fetchall():
            rows[pid] = {"park_id": park, "status": status, "reserved_project": project,
                         "reserved_by": by, "reserved_at": at, "version": version}
        return rows

    def _layer_records(self, cur, layer: str) -> dict[str, dict]:
        columns = _LAYER_COLUMNS[layer]
        cur.execute(f"SELECT {', '.join(_q(c) for c in columns)}, ST_AsBinary(geom) FROM {layer}")
        records = {}
        for row in cur.fetchall():
            record = dict(zip(columns, row))
            record["geometry"] = bytes(row[-1]).hex().upper() if row[-1] is not None else None
            records[record[LAYER_KEYS[layer]]] = record
        return records

    # --- writes ------------------------------------------------------------------------------
    def import_features(self, layer, frame, *, user, mode="upsert", report=None) -> dict:
        require(user, "admin", f"import {layer}")
        frame = validate_import(layer, frame, mode)
        columns = _LAYER_COLUMNS[layer]
        key = LAYER_KEYS[layer]
        new_records = frame_records(frame, columns)
        geoms = dict(zip(frame[key], _ewkb(frame.geometry.values)))

        def work(cur):
            # Writers wait for the import; readers keep reading the previous state meanwhile.
            cur.execute(f"LOCK TABLE {layer} IN EXCLUSIVE MODE")
            if layer == "parcels":
                cur.execute("SELECT park_id FROM parks")
                unknown = sorted(set(frame.park_id) - {r[0] for r in cur.fetchall()})
                if unknown:
                    raise ParkAtlasError(f"parcels refer to unknown park {', '.join(unknown[:5])}; "
                                         "import the park first or fix park_id")
            old = self._layer_records(cur, layer)
            at = now_iso()
            counts = {"inserted": 0, "replaced": 0, "unchanged": 0, "deleted": 0}
            audit, inserts, updates = [], [], []
            names = [c for c in columns if c != "version"]
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
                    inserts.append([*values, geoms[fid]])
                else:
                    updates.append([*values, geoms[fid], fid])
                counts["inserted" if before is None else "replaced"] += 1
                audit.append(_record_row(at, user, "insert" if before is None else "replace",
                                         layer, record, before, record))
            column_sql = ", ".join(_q(c) for c in columns)
            cur.executemany(f"INSERT INTO {layer} ({column_sql}, geom) VALUES "
                            f"({', '.join(['%s'] * len(columns))}, %s::geometry)", inserts)
            cur.executemany(f"UPDATE {layer} SET " + ", ".join(f"{_q(c)} = %s" for c in columns)
                            + f", geom = %s::geometry WHERE {key} = %s", updates)
            if mode == "replace":
                parks, keep = set(frame.park_id), set(frame[key])
                gone = [fid for fid, before in old.items() if before["park_id"] in parks and fid not in keep]
                cur.execute(f"DELETE FROM {layer} WHERE {key} = ANY(%s)", (gone,))
                counts["deleted"] = len(gone)
                audit += [_record_row(at, user, "delete", layer, old[fid], old[fid], None) for fid in gone]
            summary = (at, user.name, user.role, "import", None, None, layer, None, encode(counts), None,
                       json.dumps(report or {}, ensure_ascii=False, default=str, sort_keys=True))
            append_audit(cur, [*audit, summary])
            audit_id = cur.execute("SELECT max(id) FROM audit_log").fetchone()[0]
            return {"layer": layer, **counts, "audit_id": audit_id}

        return self._transaction(work)

    def reserve(self, parcel_ids, *, project, user) -> dict:
        require(user, "planner", "reserve parcels")
        ids = check_reservation_args(parcel_ids, project)
        available = load_standards().available_statuses

        def work(cur):
            rows = self._lock_rows(cur, ids)
            todo, mine = plan_reservation(rows, ids, project, user, available)
            at = now_iso()
            for pid in todo:
                cur.execute("UPDATE parcels SET status = 'reserved', reserved_project = %s, reserved_by = %s, "
                            "reserved_at = %s, version = version + 1 WHERE parcel_id = %s "
                            "AND status = ANY(%s)", (project, user.name, at, pid, available))
                if cur.rowcount != 1:
                    raise ConflictError(f"parcel {pid} is already reserved; choose another parcel")
            append_audit(cur, [(at, user.name, user.role, "reserve", pid, rows[pid]["park_id"], "status",
                                encode(rows[pid]["status"]), encode("reserved"), project, None)
                               for pid in todo])
            return {"reserved": todo, "already_yours": mine}

        return self._transaction(work)

    def release(self, parcel_ids, *, user) -> dict:
        require(user, "planner", "release reservations")
        ids = list(dict.fromkeys(str(p) for p in parcel_ids))
        if not ids:
            raise ParkAtlasError("give at least one parcel id")

        def work(cur):
            rows = self._lock_rows(cur, ids)
            at, audit, released = now_iso(), [], {}
            for pid in ids:
                row = _check_releasable(rows, pid, user)
                found = cur.execute("SELECT old_value FROM audit_log WHERE parcel_id = %s AND action = "
                                    "'reserve' ORDER BY id DESC LIMIT 1", (pid,)).fetchone()
                previous = json.loads(found[0]) if found else "available"
                cur.execute("UPDATE parcels SET status = %s, reserved_project = NULL, reserved_by = NULL, "
                            "reserved_at = NULL, version = version + 1 WHERE parcel_id = %s "
                            "AND status = 'reserved'", (previous, pid))
                if cur.rowcount != 1:
                    raise ConflictError(f"parcel {pid} is not reserved any more; reload and retry")
                released[pid] = previous
                audit.append(_release_row(at, user, "release", pid, row, previous, None))
            append_audit(cur, audit)
            return {"released": released}

        return self._transaction(work)

    def set_status(self, parcel_ids, status, *, user, note=None) -> dict:
        require(user, "planner", "change parcel status")
        check_status(status)
        ids = list(dict.fromkeys(str(p) for p in parcel_ids))
        if not ids:
            raise ParkAtlasError("give at least one parcel id")

        def work(cur):
            rows = self._lock_rows(cur, ids)
            _check_found(rows, ids)
            at, audit, changed = now_iso(), [], []
            for pid in ids:
                row = rows[pid]
                if row["status"] == status:
                    continue
                clear = (", reserved_project = NULL, reserved_by = NULL, reserved_at = NULL"
                         if row["status"] == "reserved" else "")
                cur.execute(f"UPDATE parcels SET status = %s{clear}, version = version + 1 "
                            "WHERE parcel_id = %s AND status = %s", (status, pid, row["status"]))
                if cur.rowcount != 1:
                    raise ConflictError(f"parcel {pid} changed meanwhile; reload and retry")
                changed.append(pid)
                audit.append(_release_row(at, user, "status", pid, row, status, note))
            append_audit(cur, audit)
            return {"changed": changed}

        return self._transaction(work)

    def update_attributes(self, parcel_id, changes, *, user, expected_version=None) -> int:
        require(user, "planner", "edit parcel attributes")
        typed = check_changes(changes)

        def work(cur):
            names = ["park_id", "version", *typed, *(["data_as_of"] if "data_as_of" not in typed else [])]
            row = cur.execute(f"SELECT {', '.join(_q(c) for c in names)} FROM parcels WHERE parcel_id = %s "
                              "FOR UPDATE", (parcel_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"unknown parcel {parcel_id!r}; see `python cli.py parcels`")
            current = dict(zip(names, row))
            version = current["version"]
            if expected_version is not None and version != expected_version:
                raise ConflictError(f"parcel {parcel_id} was changed by someone else (version {version}, "
                                    f"you edited version {expected_version}); reload and edit again")
            diff = {c: v for c, v in typed.items() if current[c] != v}
            if not diff:
                return version
            diff.setdefault("data_as_of", date.today().isoformat())
            diff = {c: v for c, v in diff.items() if current[c] != v}
            cur.execute(f"UPDATE parcels SET {', '.join(f'{_q(c)} = %s' for c in diff)}, "
                        "version = version + 1 WHERE parcel_id = %s", (*diff.values(), parcel_id))
            at = now_iso()
            append_audit(cur, [(at, user.name, user.role, "edit", parcel_id, current["park_id"], c,
                                encode(current[c]), encode(v), None, None) for c, v in diff.items()])
            return (version or 0) + 1

        return self._transaction(work)

    def update_park(self, park_id, changes, *, user) -> dict:
        require(user, "admin", "edit park attributes and thresholds")
        typed = check_park_changes(changes)

        def work(cur):
            row = cur.execute(f"SELECT {', '.join(_q(c) for c in typed)} FROM parks WHERE park_id = %s "
                              "FOR UPDATE", (park_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"unknown park {park_id!r}; see `python cli.py parks` for the ids")
            current = dict(zip(typed, row))
            diff = {c: v for c, v in typed.items() if current[c] != v}
            if diff:
                cur.execute(f"UPDATE parks SET {', '.join(f'{_q(c)} = %s' for c in diff)} WHERE park_id = %s",
                            (*diff.values(), park_id))
                at = now_iso()
                append_audit(cur, [(at, user.name, user.role, "park_edit", None, park_id, c, encode(current[c]),
                                    encode(v), None, None) for c, v in diff.items()])
            return diff

        return self._transaction(work)

    # --- operations --------------------------------------------------------------------------
    def integrity_check(self) -> list[str]:
        try:
            tables = {r[0] for r in self._query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (SCHEMA,))}
            missing = sorted({"parks", "parcels", "districts", "dataset_info", "audit_log"} - tables)
            if missing:
                return [f"tables missing: {', '.join(missing)}"]
            problems = []
            codes = list(load_standards().statuses.code)
            (bad,), = self._query("SELECT count(*) FROM parcels WHERE status IS NULL OR NOT status = ANY(%s)",
                                  (codes,))
            if bad:
                problems.append(f"{bad} parcels have an unknown status")
            (orphan,), = self._query("SELECT count(*) FROM parcels WHERE (status = 'reserved') IS DISTINCT FROM "
                                     "(reserved_project IS NOT NULL)")
            if orphan:
                problems.append(f"{orphan} parcels have a reservation that does not match their status")
            (srid,), = self._query("SELECT count(*) FROM parcels WHERE geom IS NULL OR ST_SRID(geom) <> 4490")
            if srid:
                problems.append(f"{srid} parcels lack a CGCS2000 geometry")
            (dangling,), = self._query("SELECT count(*) FROM parcels p LEFT JOIN parks k USING (park_id) "
                                       "WHERE k.park_id IS NULL")
            if dangling:
                problems.append(f"{dangling} parcels belong to no park")
            problems += audit_consistency(self._query(
                "SELECT a.parcel_id, a.action, a.field, a.new_value, a.project, a.user_name, p.status, "
                "p.reserved_project, p.reserved_by FROM audit_log a JOIN (SELECT parcel_id, max(id) AS id "
                "FROM audit_log WHERE parcel_id IS NOT NULL AND field IN ('status', '*') GROUP BY parcel_id) "
                "newest ON a.id = newest.id LEFT JOIN parcels p ON p.parcel_id = a.parcel_id"))
            return problems
        except ParkAtlasError as exc:
            return [str(exc)]

    def backup(self, destination) -> None:
        dest = Path(destination)
        if dest.exists():
            raise ParkAtlasError(f"{dest} exists; choose a new backup file name")
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        # pg_dump reads one snapshot: writers keep working, the dump is consistent.
        _run_pg("pg_dump", "--format=custom", "--no-owner", f"--schema={SCHEMA}", f"--file={partial}",
                f"--dbname={self.url}")
        os.replace(partial, dest)

    def restore(self, source, *, user) -> None:
        require(user, "admin", "restore a backup")
        src = Path(source)
        if not src.is_file():
            raise NotFoundError(f"backup {src} does not exist")
        problems = self._check_dump(src)
        if problems:
            raise ParkAtlasError(f"backup {src} fails the integrity check ({problems[0]}); nothing restored")
        _run_pg("pg_restore", "--clean", "--if-exists", "--single-transaction", "--no-owner",
                f"--dbname={self.url}", str(src))
        at = now_iso()
        self._transaction(lambda cur: append_audit(cur, [(at, user.name, user.role, "restore", None, None, None,
                                                          None, None, None, json.dumps({"source": src.name}))]))

    def _check_dump(self, src: Path) -> list[str]:
        """Restore the dump into a scratch database and check it there."""
        import psycopg

        base, name = self.url.rsplit("/", 1)
        query = ""
        if "?" in name:
            name, query = name.split("?", 1)
            query = "?" + query
        scratch = f"{name[:40]}_check_{uuid.uuid4().hex[:8]}"
        scratch_url = f"{base}/{scratch}{query}"
        try:
            with psycopg.connect(self.url, autocommit=True) as con:
                con.execute(f"CREATE DATABASE {_q(scratch)}")
            with psycopg.connect(scratch_url, autocommit=True) as con:
                con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            raise ParkAtlasError(f"cannot create a scratch database to check the backup: "
                                 f"{str(exc).strip().splitlines()[0]}") from None
        try:
            _run_pg("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={scratch_url}", str(src))
            return PostgisStore(scratch_url, seed=False).integrity_check()
        finally:
            _ready.discard(scratch_url)
            with psycopg.connect(self.url, autocommit=True) as con:
                con.execute(f"DROP DATABASE IF EXISTS {_q(scratch)} WITH (FORCE)")


def _record_row(at, user, action, layer, record, before, after) -> tuple:
    parcel_id = record["parcel_id"] if layer == "parcels" else None
    return (at, user.name, user.role, action, parcel_id, record["park_id"], "*",
            None if before is None else json.dumps(before, ensure_ascii=False, sort_keys=True),
            None if after is None else json.dumps(after, ensure_ascii=False, sort_keys=True), None, None)


def _close(con) -> None:
    try:
        con.rollback()
    except Exception:  # the connection may already be gone; closing is all that is left to do
        pass
    con.close()


def _redact(url: str) -> str:
    """The URL without its password (for messages and ``location``)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _run_pg(tool: str, *args: str) -> None:
    binary = shutil.which(tool)
    if binary is None:
        raise ParkAtlasError(f"{tool} not found; install Debian's postgresql-client")
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run([binary, *args], capture_output=True, text=True, cwd=scratch, timeout=3600)
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise ParkAtlasError(f"{tool} failed: {message[0] if message else done.returncode}")


__all__ = ["PostgisStore", "append_audit", "SCHEMA"]
