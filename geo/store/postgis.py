"""PostGIS backend: many planners on one PostgreSQL server.

The tables (``parks``, ``parcels``, ``districts``, ``dataset_info``, ``audit_log`` and the
city's ``city``, ``park_groups``, ``city_chains``) live in
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

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import geopandas as gpd
import pandas as pd
import shapely

from geo.city import CITY_SELECTS, City, city_from_rows, city_tables, infer_city
from geo.crs import CGCS2000
from geo.errors import ConflictError, KeyedConflict, KeyedError, ParkAtlasError, unknown_park
from geo.schema import PARCEL_COLUMNS, PARK_COLUMNS, conform_parcels, conform_parks
from geo.store import redact_location
from geo.store.base import DATA_REVISION_SQL, LAYER_KEYS, MAX_ATTEMPTS, frame_records
from geo.store.projects import register_ddl, register_rows
from geo.store.sql import AUDIT_INSERT, SqlStore, first_line, quote as _q, store_failure

SCHEMA = "parkatlas"
_SQL_TYPES = {"string": "text", "float64": "double precision", "Int64": "bigint", "boolean": "boolean"}
_DISTRICT_COLUMNS = {"district_code": "string", "name_zh": "string", "name_en": "string", "source": "string"}
_SEED_LOCK = 344_0007  # advisory lock id for creating and seeding the schema
_METRICS_LOCK = 344_0008  # advisory lock id held by a write until its stored metrics are committed
_AUDIT_INSERT = AUDIT_INSERT.replace("?", "%s")
_ready: set[str] = set()


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
        *CITY_SCHEMA_SQL,
        "CREATE TABLE audit_log (id bigserial PRIMARY KEY, at text NOT NULL, user_name text NOT NULL, "
        "role text NOT NULL, action text NOT NULL, parcel_id text, park_id text, field text, "
        "old_value text, new_value text, project text, detail text)",
        "CREATE INDEX audit_log_parcel_id ON audit_log (parcel_id)",
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        *_register_sql(),
    ]


def _register_sql() -> list[str]:
    """The project register's tables (``IF NOT EXISTS``: also run on stores made before it)."""
    return register_ddl(_SQL_TYPES, "bigserial PRIMARY KEY")


CITY_SCHEMA_SQL = (
    "CREATE TABLE IF NOT EXISTS city (key text PRIMARY KEY, value text)",
    "CREATE TABLE IF NOT EXISTS park_groups (group_id text PRIMARY KEY, name_zh text, name_en text, "
    "sort_order bigint NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS city_chains (chain text PRIMARY KEY, name_zh text, name_en text, tier text, "
    "sort_order bigint NOT NULL DEFAULT 0)",
)


def append_audit(cur, rows: list[tuple]) -> None:
    """Append audit rows inside the caller's transaction."""
    cur.executemany(_AUDIT_INSERT, rows)


def _ewkb(geoms) -> list[str]:
    return list(shapely.to_wkb(shapely.set_srid(geoms, 4490), hex=True, include_srid=True, output_dimension=2))



class PostgisStore(SqlStore):
    """A PostgreSQL/PostGIS database given by a ``postgresql://`` URL.

    The write rules come from :class:`geo.store.sql.SqlStore`; this class supplies
    PostgreSQL's dialect: ``%s`` placeholders, ``SELECT … FOR UPDATE`` row locks, arrays for
    lists of values, EWKB geometries, and a retry on a new connection after serialization
    failures, deadlocks and dropped connections (all ``psycopg.OperationalError``).
    """

    placeholder = "%s"
    # Rows about to change are locked, so a concurrent writer waits and then sees the result.
    row_lock = " FOR UPDATE"
    in_list_chunk = None  # one array parameter takes any number of values
    geom_param = "?::geometry"
    geom_read = "ST_AsBinary(geom)"

    def __init__(self, url: str, *, seed: bool = True, seed_from: Path | None = None):
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.location = redact_location(self.url)
        if self.url not in _ready or seed_from is not None:
            self._setup(seed, seed_from)
            _ready.add(self.url)

    # --- dialect: connections and transactions -------------------------------------------------
    def _connect(self):
        import psycopg

        try:
            return psycopg.connect(self.url, connect_timeout=10, options=f"-c search_path={SCHEMA},public")
        except psycopg.Error as exc:
            raise store_failure("store.failed.connect", "cannot connect to", self.location, exc,
                                "; check the URL and that the server is running") from None

    def _begin(self, con):
        # psycopg opens the transaction with the first statement; commit or rollback ends it.
        return con.cursor()

    def _commit(self, con) -> None:
        con.commit()

    def _abort(self, con) -> None:
        try:
            con.rollback()
        except Exception:  # the connection may already be gone; closing is all that is left to do
            pass

    def _is_db_error(self, exc: Exception) -> bool:
        import psycopg

        return isinstance(exc, psycopg.Error)

    def _is_retryable(self, exc: Exception) -> bool:
        import psycopg

        # Includes serialization failures, deadlocks and connections terminated mid-transaction.
        return isinstance(exc, psycopg.OperationalError)

    def _gave_up(self, last: Exception | None) -> ConflictError:
        return KeyedConflict("store.conflict.gave_up", f"the database did not complete the change after "
                             f"{MAX_ATTEMPTS} attempts ({first_line(last) if last else 'unknown'}); nothing was "
                             "changed, try again", attempts=MAX_ATTEMPTS)

    def _append_audit(self, cur, rows: list[tuple]) -> None:
        append_audit(cur, rows)

    def _query(self, sql: str, params=()) -> list[tuple]:
        import psycopg

        con = self._connect()
        try:
            return con.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise store_failure("store.failed.read", "cannot read", self.location, exc) from None
        finally:
            con.close()

    def _setup(self, seed: bool, seed_from: Path | None = None) -> None:
        def work(cur):
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SEED_LOCK,))
            if cur.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.audit_log",)).fetchone()[0] is not None:
                if seed_from is not None:
                    raise ParkAtlasError(f"{self.location} already holds a ParkAtlas store; "
                                         "give an empty database for a new city")
                if cur.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.project_delays",)).fetchone()[0] is None:
                    for sql in _register_sql():
                        cur.execute(sql)
                have = {r[0] for r in cur.execute("SELECT column_name FROM information_schema.columns "
                                                  "WHERE table_schema = %s AND table_name = 'parcels'", (SCHEMA,))}
                for column, kind in PARCEL_COLUMNS.items():  # a store made before a column existed gets it, empty
                    if column not in have:
                        cur.execute(f"ALTER TABLE parcels ADD COLUMN {_q(column)} {_SQL_TYPES[kind]}")
                return
            if not seed:
                raise KeyedError("store.failed.not_parkatlas", f"{self.location} holds no ParkAtlas tables",
                                 store=self.location)
            for sql in _schema_sql():
                cur.execute(sql)
            self._seed(cur, seed_from)

        self._transaction(work)

    def _seed(self, cur, source: Path | None = None) -> None:
        """Copy a GeoPackage store (default: the sample) into the new tables (same transaction
        as the schema)."""
        from geo.sample import SAMPLE_GPKG
        from geo.store.gpkg import GpkgStore
        from geo.store.tables import seed_tables

        sample = GpkgStore(source or SAMPLE_GPKG, readonly=True)
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
        seed_tables(cur, sample)
        register = {"projects": sample.read_projects(), "project_stages": sample.read_stage_events(),
                    "project_actuals": sample.read_actuals(), "project_delays": sample.read_delays()}
        for table, frame in register.items():
            columns, rows = register_rows(table, frame)
            with cur.copy(f"COPY {table} ({', '.join(_q(c) for c in columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        self._write_city(cur, sample.read_city())

    def _write_city(self, cur, city: City) -> None:
        for table, frame in city_tables(city).items():
            cur.execute(f"DELETE FROM {table}")
            names = ", ".join(_q(c) for c in frame.columns)
            cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(frame.columns))})",
                            [tuple(r) for r in frame.astype(object).itertuples(index=False)])

    # --- dialect: statements -------------------------------------------------------------------
    def _in_list(self, column: str, values: list) -> tuple[str, tuple]:
        # One array parameter instead of one placeholder per value.
        return f"{column} = ANY(?)", (list(values),)

    def _geometry_params(self, geoms) -> list[str]:
        return _ewkb(geoms)

    def _wkb_hex(self, value) -> str | None:
        return None if value is None else bytes(value).hex().upper()

    def _lock_layer(self, cur, layer: str) -> None:
        # Writers wait for the import; readers keep reading the previous state meanwhile.
        cur.execute(f"LOCK TABLE {layer} IN EXCLUSIVE MODE")

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
            raise unknown_park(park_id)
        return conform_parcels(self._frame("parcels", PARCEL_COLUMNS, "WHERE park_id = %s", (park_id,)))

    def read_districts(self) -> gpd.GeoDataFrame:
        return self._frame("districts", _DISTRICT_COLUMNS)

    def _has_table(self, table: str) -> bool:
        return self._query("SELECT to_regclass(%s)", (f"{SCHEMA}.{table}",))[0][0] is not None

    def _has_table_in(self, cur, table: str) -> bool:
        """:meth:`_has_table` as the transaction ``cur`` sees the store."""
        return cur.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{table}",)).fetchone()[0] is not None

    def dataset_info(self) -> dict[str, str]:
        return dict(self._query("SELECT key, value FROM dataset_info ORDER BY key"))

    def read_city(self) -> City:
        present = self._query("SELECT to_regclass(%s)", (f"{SCHEMA}.city",))[0][0] is not None
        rows = {t: self._query(sql) for t, sql in CITY_SELECTS.items()} if present else {}
        if not rows.get("city"):
            return infer_city(self.read_parks(), self.read_districts(), self.dataset_info())
        return city_from_rows(rows["city"], rows["park_groups"], rows["city_chains"])

    def revision(self) -> str:
        newest = self._query(DATA_REVISION_SQL)
        return f"{newest[0][0] if newest else 0}:pg"

    def _revision_in(self, cur) -> str:
        newest = cur.execute(DATA_REVISION_SQL).fetchone() if cur.execute(
            "SELECT to_regclass(%s)", (f"{SCHEMA}.audit_log",)).fetchone()[0] is not None else None
        return f"{newest[0] if newest else 0}:pg"

    def _lock_metrics(self, cur) -> None:
        # Writers refresh the stored metrics one at a time, each seeing the others' commits.
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_METRICS_LOCK,))

    def _insert_rows(self, cur, table: str, columns: list[str], rows: list[tuple]) -> None:
        with cur.copy(f"COPY {_q(table)} ({', '.join(_q(c) for c in columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _wkb_bytes(self, value) -> bytes | None:
        return None if value is None else bytes(value)

    # --- operations --------------------------------------------------------------------------
    def integrity_check(self) -> list[str]:
        import psycopg

        try:
            con = self._connect()
        except ParkAtlasError as exc:
            return [str(exc)]

        def fetch(sql, params=()):  # one connection for every check
            return con.execute(sql, params).fetchall()

        try:
            tables = {r[0] for r in fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (SCHEMA,))}
            missing = sorted({"parks", "parcels", "districts", "dataset_info", "audit_log"} - tables)
            if missing:
                return [f"tables missing: {', '.join(missing)}"]
            problems = self._parcel_problems(fetch)
            (srid,), = fetch("SELECT count(*) FROM parcels WHERE geom IS NULL OR ST_SRID(geom) <> 4490")
            if srid:
                problems.append(f"{srid} parcels lack a CGCS2000 geometry")
            (dangling,), = fetch("SELECT count(*) FROM parcels p LEFT JOIN parks k USING (park_id) "
                                 "WHERE k.park_id IS NULL")
            if dangling:
                problems.append(f"{dangling} parcels belong to no park")
            protected = fetch("SELECT t.tgenabled, p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
                              "WHERE t.tgrelid = 'audit_log'::regclass AND t.tgname = 'audit_log_append_only'")
            if not protected or protected[0][0] not in ("O", "A") or "RAISE EXCEPTION" not in protected[0][1].upper():
                problems.append("audit_log is not protected (trigger audit_log_append_only missing, "
                                "disabled or altered)")
            return problems + self._audit_problems(fetch)
        except psycopg.Error as exc:
            return [f"cannot read {self.location}: {first_line(exc)}"]
        finally:
            con.close()

    def _snapshot(self, partial: Path) -> None:
        # pg_dump reads one snapshot: writers keep working, the dump is consistent.
        _run_pg("pg_dump", "--format=custom", "--no-owner", f"--schema={SCHEMA}", f"--file={partial}",
                url=self.url)

    def _replace_content(self, source: Path) -> None:
        _run_pg("pg_restore", "--clean", "--if-exists", "--single-transaction", "--no-owner",
                str(source), url=self.url)

    def _check_backup(self, src: Path) -> list[str] | None:
        """Restore the dump into a scratch database and check it there.

        ``None`` when this role may not create that database, or PostGIS in it (a database
        owner who is not a superuser, docs/store.md): :meth:`_replace_checked_in_place` then
        checks the backup in the store's own database.
        """
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
        except psycopg.errors.InsufficientPrivilege:
            return None
        except psycopg.Error as exc:
            raise ParkAtlasError(f"cannot create a scratch database to check the backup: "
                                 f"{first_line(exc)}") from None
        try:
            with psycopg.connect(scratch_url, autocommit=True) as con:
                # Present when the template database has it (an administrator's one-time step).
                if con.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone() is None:
                    try:
                        con.execute("CREATE EXTENSION postgis")
                    except psycopg.errors.InsufficientPrivilege:
                        return None
            _run_pg("pg_restore", "--no-owner", "--exit-on-error", str(src), url=scratch_url)
            return PostgisStore(scratch_url, seed=False).integrity_check()
        except psycopg.Error as exc:
            raise ParkAtlasError(f"cannot check the backup in a scratch database ({first_line(exc)}); "
                                 "PostGIS must be installable there: run the restore as a role that may "
                                 "CREATE EXTENSION postgis, or mark the extension trusted") from None
        finally:
            _ready.discard(scratch_url)
            with psycopg.connect(self.url, autocommit=True) as con:
                con.execute(f"DROP DATABASE IF EXISTS {_q(scratch)} WITH (FORCE)")

    def _replace_checked_in_place(self, src: Path) -> list[str]:
        """Replace the content with the backup, check it, and put the previous content back if it
        fails; returns the problems found. Each replacement is one transaction (``pg_restore
        --single-transaction``); between them, for the check, readers see the backup's content."""
        with tempfile.TemporaryDirectory(prefix="parkatlas-restore-") as scratch:
            previous = Path(scratch) / "previous.dump"
            self._snapshot(previous)
            self._replace_content(src)
            problems = self.integrity_check()
            if problems:
                self._replace_content(previous)
            return problems


def libpq_command_url(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its password, and the environment that passes the password instead.

    A command line is visible to every local user (``ps``); ``PGPASSWORD`` in the child's
    environment is readable only by the same user.
    """
    parts = urlsplit(url)
    password = parts.password
    query = parse_qsl(parts.query, keep_blank_values=True)
    for key, value in query:
        if key.lower() == "password":
            password = value
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    clean = urlunsplit(parts._replace(netloc=netloc,
                                      query=urlencode([(k, v) for k, v in query if k.lower() != "password"])))
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = unquote(password) if parts.password is not None else password
    return clean, env


def _run_pg(tool: str, *args: str, url: str) -> None:
    binary = shutil.which(tool)
    if binary is None:
        raise ParkAtlasError(f"{tool} not found; install Debian's postgresql-client")
    dbname, env = libpq_command_url(url)
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run([binary, *args, f"--dbname={dbname}"], capture_output=True, text=True, cwd=scratch,
                              timeout=3600, env=env)
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise ParkAtlasError(f"{tool} failed: {message[0] if message else done.returncode}")


__all__ = ["PostgisStore", "append_audit", "SCHEMA"]
