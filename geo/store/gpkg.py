"""GeoPackage backend: one file that QGIS opens, the embedded default store.

Reads go through pyogrio with Arrow. The file holds the layers ``parks``, ``parcels`` and
``districts``, an attribute table ``dataset_info`` (key/value metadata), the city's tables
``city``, ``park_groups`` and ``city_chains`` (:mod:`geo.city`) and the append-only
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

import os
import shutil
import sqlite3
import struct
import time
from pathlib import Path

import numpy as np
import pandas as pd

from geo.city import CITY_SELECTS, City, city_from_rows, city_tables, infer_city
from geo.errors import ConflictError, KeyedConflict, KeyedError, NotFoundError, ParkAtlasError, unknown_park
from geo.lazy import LazyModule
from geo.schema import PARCEL_COLUMNS, conform_parcels, conform_parks
from geo.store.base import DATA_REVISION_SQL, MAX_ATTEMPTS, OWNER_ONLY
from geo.store.projects import REGISTER_TABLES, register_ddl, register_rows
from geo.store.sql import AUDIT_INSERT, SqlStore, quote, store_failure

gpd = LazyModule("geopandas")
pyogrio = LazyModule("pyogrio")
shapely = LazyModule("shapely")

BUSY_TIMEOUT_S = 15.0
#: GeoPackage column types of the schema's dtypes (for columns added to an older store).
_GPKG_TYPES = {"string": "TEXT", "float64": "REAL", "Int64": "INTEGER", "boolean": "BOOLEAN"}
GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
FEATURE_LAYERS = ("parks", "parcels", "districts")
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
SQLITE_TYPES = {"string": "TEXT", "float64": "REAL", "Int64": "INTEGER", "boolean": "INTEGER"}
SQLITE_SERIAL = "INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"
_prepared: set[tuple] = set()  # files (path, device, inode) already in WAL mode with an audit table


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


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def append_audit(con: sqlite3.Connection, rows: list[tuple]) -> None:
    """Append audit rows inside the caller's transaction."""
    con.executemany(AUDIT_INSERT, rows)


def create_register(con) -> None:
    """The project register's tables (if missing), listed in ``gpkg_contents`` as attribute tables."""
    for sql in register_ddl(SQLITE_TYPES, SQLITE_SERIAL):
        con.execute(sql)
    con.executemany("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, last_change) "
                    "VALUES (?, 'attributes', ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                    [(table, table) for table in REGISTER_TABLES])


def write_register(path: Path, register: dict[str, pd.DataFrame]) -> None:
    """Create the register's tables in the GeoPackage at ``path`` and fill them from ``register``
    (table name → frame with the table's columns; ``id`` columns are numbered by SQLite)."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        create_register(con)
        for table, frame in register.items():
            columns, rows = register_rows(table, frame)
            con.executemany(f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) "
                            f"VALUES ({', '.join('?' * len(columns))})", rows)
        con.execute("COMMIT")
    finally:
        con.close()


def write_new_gpkg(path: Path, parks, parcels, districts, info: dict[str, str],
                   register: dict[str, pd.DataFrame] | None = None, city=None) -> None:
    """Write a fresh GeoPackage at ``path`` (replacing it atomically if it exists), with the
    project register's tables (filled from ``register`` when given).

    ``city`` (a :class:`geo.city.City`) fills the city tables; without it the store's city is
    inferred from its data when read.
    """
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    pyogrio.write_dataframe(conform_parks(parks), tmp, layer="parks", driver="GPKG",
                            geometry_type="MultiPolygon")
    pyogrio.write_dataframe(conform_parcels(parcels), tmp, layer="parcels", driver="GPKG",
                            geometry_type="Polygon", layer_options={"SPATIAL_INDEX": "YES"})
    pyogrio.write_dataframe(districts, tmp, layer="districts", driver="GPKG")
    info_frame = pd.DataFrame({"key": list(info), "value": list(info.values())})
    pyogrio.write_dataframe(info_frame, tmp, layer="dataset_info", driver="GPKG")
    write_register(tmp, register or {})
    if city is not None:
        for table, frame in city_tables(city).items():
            pyogrio.write_dataframe(frame, tmp, layer=table, driver="GPKG")
    tmp.replace(path)


_TABLE_EXISTS = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"


class GpkgStore(SqlStore):
    """A GeoPackage file. Created and seeded from the sample when it does not exist yet.

    The write rules come from :class:`geo.store.sql.SqlStore`; this class supplies SQLite's
    dialect: one ``BEGIN IMMEDIATE`` transaction per write (its file-wide write lock makes
    row locks unnecessary), retry while SQLITE_BUSY, GeoPackage geometry blobs, and
    ``gpkg_contents`` bookkeeping so QGIS and GDAL see the changes.

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
            os.chmod(tmp, OWNER_ONLY)  # SQLite gives the -wal and -shm files the same mode
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

    # --- dialect: connections and transactions -------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise store_failure("store.failed.open", "cannot open store", self.location, exc) from None
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
                    raise KeyedError("store.failed.not_parkatlas", f"{self.path} is not a ParkAtlas GeoPackage "
                                     "(no parcels layer); give another path or remove the file to start from the "
                                     "sample", store=self.location)
                ready = "audit_log" in tables
                have = {r[1] for r in con.execute("PRAGMA table_info(parcels)")}
                missing = {c: k for c, k in PARCEL_COLUMNS.items() if c not in have}
                register_ready = set(REGISTER_TABLES) <= tables
                if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    con.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.DatabaseError as exc:
                if not _is_busy(exc) or attempt == MAX_ATTEMPTS - 1:
                    raise store_failure("store.failed.open", "cannot open store", self.location, exc) from None
                time.sleep(0.05 * 2 ** attempt)
            finally:
                con.close()
        # Schema only: the stored metrics stay current if they were (geo.store.metrics).
        if not ready:
            self._transaction(lambda con: [con.execute(sql) for sql in _AUDIT_SQL.split(";\n") if sql.strip()],
                              metrics="unaffected")
        if not register_ready:  # a store made before the register gets its (empty) tables
            self._transaction(create_register, metrics="unaffected")
        if missing:  # a store made before a parcel column existed gets it, empty
            self._transaction(lambda con: [con.execute(f'ALTER TABLE parcels ADD COLUMN "{column}" {_GPKG_TYPES[kind]}')
                                           for column, kind in missing.items()], metrics="unaffected")

    def _transaction(self, work, metrics: str = "refresh"):
        if self.readonly:
            raise KeyedError("store.failed.read_only", f"{self.path} is read-only (the bundled sample); use a store "
                             "under var/", store=self.location)
        return super()._transaction(work, metrics)

    def _begin(self, con: sqlite3.Connection) -> sqlite3.Connection:
        # A deferred transaction that later upgrades to a write fails at once with SQLITE_BUSY;
        # IMMEDIATE takes the write lock up front, waiting up to the busy timeout.
        con.execute("BEGIN IMMEDIATE")
        return con

    def _commit(self, con: sqlite3.Connection) -> None:
        con.execute("COMMIT")

    def _abort(self, con: sqlite3.Connection) -> None:
        try:
            con.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # no transaction was open (BEGIN itself failed)

    def _is_db_error(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.Error)

    def _is_retryable(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and _is_busy(exc)

    def _gave_up(self, last: Exception | None) -> ConflictError:
        return KeyedConflict("store.conflict.busy", "the store is busy with other changes; nothing was changed, "
                             "try again in a moment")

    def _append_audit(self, cur, rows: list[tuple]) -> None:
        append_audit(cur, rows)

    def _read_connection(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise store_failure("store.failed.open", "cannot open store", self.location, exc) from None
        return con

    def _query(self, sql: str, params=()) -> list[tuple]:
        con = self._read_connection()
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def _query_in(self, statement: str, column: str, values: list) -> list[tuple]:
        con = self._read_connection()  # one connection for every chunk: opening one costs more than a chunk
        try:
            rows = []
            for where, params in self._in_lists(column, values):
                rows += con.execute(statement.format(where=where), params).fetchall()
            return rows
        finally:
            con.close()

    def read_parcel_bounds(self, parcel_ids):
        # From the envelopes GDAL writes into the blobs' headers (the coordinates' own extremes, equal to
        # shapely.bounds), without decoding the geometries.
        ids = list(parcel_ids)
        found = dict(self._query_in("SELECT parcel_id, geom FROM parcels WHERE {where}", "parcel_id", ids))
        blobs = [found.get(pid) for pid in ids]
        out = np.full((len(ids), 4), np.nan)
        # Flags 0b00011: a little-endian XY envelope of a non-empty geometry (GDAL's), read as one array.
        usual = np.array([blob is not None and blob[3] & 0x1F == 0x03 for blob in blobs], dtype=bool)
        if usual.any():
            heads = b"".join([blobs[i][8:40] for i in np.flatnonzero(usual)])
            out[usual] = np.frombuffer(heads, dtype="<f8").reshape(-1, 4)[:, [0, 2, 1, 3]]
        for i in np.flatnonzero(~usual):
            if blobs[i] is not None:
                out[i] = np.take(_envelope(blobs[i]), (0, 2, 1, 3))
        return out

    def _audit_rows(self, sql: str, params=()) -> list[tuple]:
        # The bundled sample and files made by other tools have no audit log yet: no history.
        con = self._read_connection()
        try:
            return con.execute(sql, params).fetchall() if self._has_audit(con) else []
        finally:
            con.close()

    def _has_table(self, table: str) -> bool:
        return bool(self._query(_TABLE_EXISTS, (table,)))

    def _has_table_in(self, cur, table: str) -> bool:
        """:meth:`_has_table` as the transaction ``cur`` sees the store."""
        return cur.execute(_TABLE_EXISTS, (table,)).fetchone() is not None

    def _has_audit(self, con) -> bool:
        return con.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit_log'").fetchone() is not None

    # --- dialect: statements -------------------------------------------------------------------
    def _in_list(self, column: str, values: list) -> tuple[str, tuple]:
        return f"{column} IN ({','.join('?' * len(values))})", tuple(values)

    def _geometry_params(self, geoms) -> list[bytes]:
        return gpkg_blobs(geoms)

    def _wkb_hex(self, value) -> str | None:
        return _blob_wkb_hex(value)

    def _wkb_bytes(self, value) -> bytes | None:
        return None if value is None else value[_header_size(value):]

    def _touch(self, cur, layer: str) -> None:
        # QGIS and revision() notice changes through gpkg_contents.last_change.
        cur.execute("UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                    "WHERE table_name = ?", (layer,))

    def _after_import(self, cur, layer: str) -> None:
        # Readers zoom to the layer's extent in gpkg_contents; imports may grow or shrink it.
        cur.execute(
            "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), "
            f"min_x = (SELECT min(minx) FROM rtree_{layer}_geom), max_x = (SELECT max(maxx) FROM "
            f"rtree_{layer}_geom), min_y = (SELECT min(miny) FROM rtree_{layer}_geom), "
            f"max_y = (SELECT max(maxy) FROM rtree_{layer}_geom) WHERE table_name = ?", (layer,))

    # --- reads -------------------------------------------------------------------------------
    def _read(self, layer: str, **kwargs) -> gpd.GeoDataFrame:
        try:
            return pyogrio.read_dataframe(self.path, layer=layer, use_arrow=True, **kwargs)
        except pyogrio.errors.DataSourceError as exc:
            raise store_failure("store.failed.open", "cannot open store", self.location, exc) from None

    def _read_sql(self, sql: str) -> pd.DataFrame:
        """The rows of a SQLite query without geometry, read through GDAL into Arrow."""
        try:
            return pyogrio.read_dataframe(self.path, sql=sql, use_arrow=True, read_geometry=False)
        except pyogrio.errors.DataSourceError as exc:
            raise store_failure("store.failed.open", "cannot open store", self.location, exc) from None

    def read_parks(self) -> gpd.GeoDataFrame:
        return conform_parks(self._read("parks"))

    def read_parcels(self, park_id: str | None = None) -> gpd.GeoDataFrame:
        where = None
        if park_id is not None:
            if park_id not in set(self.read_parks().park_id):
                raise unknown_park(park_id)
            where = "park_id = '{}'".format(park_id.replace("'", "''"))
        return conform_parcels(self._read("parcels", where=where))

    def read_districts(self) -> gpd.GeoDataFrame:
        return self._read("districts")

    def dataset_info(self) -> dict[str, str]:
        return dict(self._query("SELECT key, value FROM dataset_info"))

    def read_city(self) -> City:
        con = self._read_connection()
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            rows = {t: con.execute(sql).fetchall() for t, sql in CITY_SELECTS.items() if t in tables}
        finally:
            con.close()
        if "city" not in rows:
            return infer_city(self.read_parks(), self.read_districts(), self.dataset_info())
        return city_from_rows(rows["city"], rows.get("park_groups", []), rows.get("city_chains", []))

    def revision(self) -> str:
        con = self._read_connection()
        try:
            return self._revision_in(con)
        finally:
            con.close()

    def _revision_in(self, cur) -> str:
        newest = cur.execute(DATA_REVISION_SQL).fetchone() if self._has_audit(cur) else None
        last_id = newest[0] if newest else 0
        changed = cur.execute("SELECT max(last_change) FROM gpkg_contents").fetchone()[0]
        return f"{last_id or 0}:{changed}"


    # --- operations --------------------------------------------------------------------------
    def integrity_check(self) -> list[str]:
        problems: list[str] = []
        try:
            con = self._read_connection()
            con.create_function("ST_IsEmpty", 1, _st_is_empty, deterministic=True)
        except ParkAtlasError as exc:
            return [str(exc)]

        def fetch(sql, params=()):
            return con.execute(sql, params).fetchall()

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
            problems += self._parcel_problems(fetch)
            if self._has_audit(con):
                problems += self._audit_problems(fetch)
                problems += _audit_protection_problems(con)
            else:
                problems.append("audit_log table is missing")
        except sqlite3.Error as exc:
            problems.append(f"cannot check {self.path}: {exc}")
        finally:
            con.close()
        return problems

    backup_suffix = ".gpkg"

    def _snapshot(self, partial: Path) -> None:
        con = self._read_connection()
        try:
            # VACUUM INTO copies one read snapshot: writers keep working, the copy is consistent.
            con.execute("VACUUM INTO ?", (str(partial),))
        except sqlite3.Error as exc:
            partial.unlink(missing_ok=True)
            raise ParkAtlasError(f"backup to {partial.with_suffix('')} failed: {exc}") from None
        finally:
            con.close()

    def _check_backup(self, source: Path) -> list[str]:
        # A backup of a store that was never written has no audit log yet; it is still sound.
        problems = GpkgStore(source, readonly=True).integrity_check()
        return [p for p in problems if p != "audit_log table is missing"]

    def _replace_content(self, source: Path) -> None:
        source_con = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        target = self._connect()
        try:
            # The backup API swaps the pages in one transaction; other connections see old or new.
            source_con.backup(target)
            if target.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                target.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise ParkAtlasError(f"restore from {source} failed: {exc}") from None
        finally:
            source_con.close()
            target.close()
        self._prepare()


def _audit_protection_problems(con) -> list[str]:
    """The append-only triggers of the audit log, present and raising (a backup may have lost them)."""
    bodies = dict(con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"))
    lost = [name for name in ("audit_log_no_update", "audit_log_no_delete")
            if "RAISE(ABORT" not in (bodies.get(name) or "").upper().replace(" ", "")]
    return [f"audit_log is not protected (trigger {', '.join(lost)} missing or altered)"] if lost else []


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


__all__ = ["GpkgStore", "write_new_gpkg", "gpkg_blobs", "append_audit"]
