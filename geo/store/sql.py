"""The write rules both SQL backends share, written once over a small dialect interface.

:class:`SqlStore` holds every rule of the store contract (see :mod:`geo.store.base`): a
parcel cannot be reserved twice, a release restores the status from before the reservation,
attribute edits are version-checked, every write appends its audit rows in the same
transaction, and the acting user's role is checked inside each write. The backends
(:mod:`geo.store.gpkg`, :mod:`geo.store.postgis`) only say how their database differs:

- how to connect, begin, commit and abandon a transaction, and which errors are worth a
  retry (``BEGIN IMMEDIATE`` and SQLITE_BUSY, or a dropped PostgreSQL connection);
- the placeholder style: the shared statements are written with ``?`` and
  :meth:`SqlStore._sql` turns them into ``%s`` for psycopg;
- how rows about to change are locked (nothing extra under SQLite's file-wide write lock,
  ``FOR UPDATE`` on PostgreSQL), how a list of values is matched and how geometries are
  passed in and read back;
- small hooks around writes (GeoPackage's ``gpkg_contents.last_change`` and extent, the
  PostgreSQL table lock during an import).
"""
from __future__ import annotations

import abc
import json
import os
import time
from datetime import date, datetime
from pathlib import Path

from geo.auth import User, require
from geo.errors import (ConflictError, KeyedConflict, KeyedError, KeyedNotFound, KeyedPermissionDenied, NotFoundError,
                         ParkAtlasError, unknown_park)
from geo.schema import PARCEL_COLUMNS, PARK_COLUMNS
from geo.standards import load_standards
from geo.store.base import (
    LAYER_KEYS, MAX_ATTEMPTS, OWNER_ONLY, SIGN_IN_FAILED, Store, as_utc_iso, check_changes, check_found, check_park_changes, check_reservation_args,
    check_status, encode, frame_records, history_frame, now_iso, parcel_taken, plan_reservation, unique_ids,
    validate_import,
)
from geo.store.projects import ProjectRegister

LAYER_COLUMNS = {"parcels": PARCEL_COLUMNS, "parks": PARK_COLUMNS}
AUDIT_INSERT = ("INSERT INTO audit_log (at, user_name, role, action, parcel_id, park_id, field, "
                "old_value, new_value, project, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
AUDIT_SELECT = ("SELECT id, at, user_name, role, action, parcel_id, park_id, field, old_value, "
                "new_value, project, detail FROM audit_log")
#: Each parcel's newest status-bearing audit row next to the parcel itself (see :func:`audit_consistency`).
AUDIT_NEWEST_SQL = (
    "SELECT a.parcel_id, a.action, a.field, a.new_value, a.project, a.user_name, p.status, "
    "p.reserved_project, p.reserved_by FROM audit_log a JOIN (SELECT parcel_id, max(id) AS id "
    "FROM audit_log WHERE parcel_id IS NOT NULL AND field IN ('status', '*') GROUP BY parcel_id) "
    "newest ON a.id = newest.id LEFT JOIN parcels p ON p.parcel_id = a.parcel_id")
_STATUS_COLUMNS = ("parcel_id", "park_id", "status", "reserved_project", "reserved_by", "reserved_at", "version")


def quote(name: str) -> str:
    """A SQL identifier in double quotes (column names come from the schema, never from users)."""
    return '"' + name.replace('"', '""') + '"'


def first_line(exc: BaseException) -> str:
    """The first line of a database error, for one-line messages."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def store_failure(key: str, doing: str, location: str, exc: BaseException, advice: str = "") -> KeyedError:
    """The database itself failed: the CLI's English line (``doing`` the store, the driver's text,
    ``advice``) and, for pages, the catalogue ``key`` naming the ``store`` with the driver's own
    words kept as a quoted ``detail`` for whoever looks after the database."""
    detail = first_line(exc)
    return KeyedError(key, f"{doing} {location}: {detail}{advice}", store=location, detail=detail)


def typed(columns: dict[str, str], column: str, value):
    """A stored value in the schema's Python type (SQLite returns booleans as 0/1)."""
    if value is not None and columns[column] == "boolean":
        return bool(value)
    return value


def check_releasable(rows: dict, pid: str, user: User) -> dict:
    """The parcel's row if ``user`` may release it: reserved, and by them unless they are admin."""
    check_found(rows, [pid])
    row = rows[pid]
    if row["status"] != "reserved":
        raise KeyedConflict("store.conflict.not_reserved", f"parcel {pid} is not reserved (status {row['status']})",
                            parcel=pid, status=row["status"])
    if row["reserved_by"] != user.name and not user.can("admin"):
        raise KeyedPermissionDenied("store.denied.reserved_by", f"parcel {pid} is reserved by {row['reserved_by']}; "
                                    "only they or an admin can release it", parcel=pid, user=row["reserved_by"])
    return row


def status_audit_row(at, user, action, pid, row, new_status, note) -> tuple:
    """Audit row for a status change; leaving ``reserved`` keeps who reserved it and when
    (``parcels_as_of`` needs them to rebuild the reservation)."""
    detail = {}
    if row["status"] == "reserved":
        detail = {"reserved_by": row["reserved_by"], "reserved_at": row["reserved_at"]}
    if note:
        detail["note"] = note
    return (at, user.name, user.role, action, pid, row["park_id"], "status", encode(row["status"]),
            encode(new_status), row["reserved_project"] if row["status"] == "reserved" else None,
            json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None)


def record_audit_row(at, user, action, layer, record, before, after) -> tuple:
    """Audit row for a whole feature inserted, replaced or deleted by an import (field ``*``)."""
    parcel_id = record["parcel_id"] if layer == "parcels" else None
    return (at, user.name, user.role, action, parcel_id, record["park_id"], "*",
            None if before is None else json.dumps(before, ensure_ascii=False, sort_keys=True),
            None if after is None else json.dumps(after, ensure_ascii=False, sort_keys=True), None, None)


def audit_consistency(rows) -> list[str]:
    """Compare each parcel's newest status audit row (:data:`AUDIT_NEWEST_SQL`) with the parcel."""
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


class SqlStore(ProjectRegister, Store):
    """The audited, transactional writes of a SQL store; subclasses supply the dialect.

    The ``cur`` handed to the writes and hooks is what :meth:`_begin` returns: a psycopg
    cursor or a sqlite3 connection. Both have ``execute`` (returning an object with
    ``fetchone``, ``fetchall`` and ``rowcount``) and ``executemany``, which is all the shared
    code uses.

    Attributes
    ----------
    placeholder
        The driver's parameter marker; shared statements use ``?`` and go through :meth:`_sql`.
    row_lock
        Appended to a SELECT of rows the transaction is about to change.
    geom_param
        The parameter expression for a geometry made by :meth:`_geometry_params`.
    geom_read
        The select expression whose value :meth:`_wkb_hex` turns into hex WKB.
    backup_suffix
        The file ending a backup must have (``None``: any name).
    in_list_chunk
        Values per :meth:`_in_lists` condition (``None``: all in one).
    """

    placeholder = "?"
    row_lock = ""
    geom_param = "?"
    geom_read = "geom"
    backup_suffix: str | None = None
    in_list_chunk: int | None = 500  # under SQLite's bound-parameter limit

    # --- dialect ---------------------------------------------------------------------------
    @abc.abstractmethod
    def _connect(self):
        """A new connection (a one-line ``ParkAtlasError`` when the store cannot be reached)."""

    @abc.abstractmethod
    def _begin(self, con):
        """Open a write transaction on ``con``; returns the cursor the work runs on."""

    @abc.abstractmethod
    def _commit(self, con) -> None:
        """Commit the transaction opened by :meth:`_begin`."""

    @abc.abstractmethod
    def _abort(self, con) -> None:
        """Roll back whatever is open, quietly: the connection may be gone already."""

    @abc.abstractmethod
    def _is_db_error(self, exc: Exception) -> bool:
        """Whether ``exc`` comes from the database driver (as opposed to the caller's code)."""

    @abc.abstractmethod
    def _is_retryable(self, exc: Exception) -> bool:
        """Whether another attempt on a new connection may succeed (busy, dropped, deadlock)."""

    @abc.abstractmethod
    def _gave_up(self, last: Exception | None) -> ConflictError:
        """The error once :data:`~geo.store.base.MAX_ATTEMPTS` attempts were all retryable failures."""

    @abc.abstractmethod
    def _append_audit(self, cur, rows: list[tuple]) -> None:
        """Append audit rows inside the transaction (the backend module's ``append_audit``)."""

    @abc.abstractmethod
    def _query(self, sql: str, params=()) -> list[tuple]:
        """Rows of a read-only statement (already in the driver's placeholder style)."""

    @abc.abstractmethod
    def _in_list(self, column: str, values: list) -> tuple[str, tuple]:
        """A ``?``-style condition true where ``column`` is one of ``values``, and its parameters."""

    def _in_lists(self, column: str, values: list):
        """:meth:`_in_list` conditions covering ``values``, in chunks of :attr:`in_list_chunk`
        (SQLite caps bound parameters; ``None``: one condition for all)."""
        size = self.in_list_chunk or max(len(values), 1)
        for start in range(0, len(values), size):
            yield self._in_list(column, values[start:start + size])

    def _query_in(self, statement: str, column: str, values: list) -> list[tuple]:
        """Rows of the ``?``-style ``statement`` whose ``{where}`` is each :meth:`_in_lists` condition in turn."""
        rows = []
        for where, params in self._in_lists(column, values):
            rows += self._query(self._sql(statement.format(where=where)), params)
        return rows

    @abc.abstractmethod
    def _geometry_params(self, geoms) -> list:
        """Shapely geometries as the parameters :attr:`geom_param` expects."""

    @abc.abstractmethod
    def _wkb_hex(self, value) -> str | None:
        """A :attr:`geom_read` value as upper-case hex WKB (the audit log's geometry form)."""

    def _lock_layer(self, cur, layer: str) -> None:
        """Keep other writers out of ``layer`` for an import (default: the transaction already does)."""

    def _touch(self, cur, layer: str) -> None:
        """Record that ``layer`` changed, beyond the audit log (default: nothing to record)."""

    def _after_import(self, cur, layer: str) -> None:
        """Layer metadata to refresh after an import (default: none)."""

    def _audit_rows(self, sql: str, params=()) -> list[tuple]:
        """Rows of a ``?``-style query on ``audit_log``."""
        return self._query(self._sql(sql), params)

    def _sql(self, statement: str) -> str:
        """A shared ``?``-style statement in the driver's placeholder style.

        A plain replacement is enough because the shared statements hold no literal ``?``
        (values always travel as parameters).
        """
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    # --- transactions ------------------------------------------------------------------------
    #: Transactions this object has committed: a reader that remembers :meth:`revision` for a
    #: while (the app, for one script run) asks again once this moved.
    commits = 0

    def _lock_metrics(self, cur) -> None:
        """Keep other writers out until this transaction's metrics are stored (default: the
        transaction's write lock already does)."""

    @abc.abstractmethod
    def _revision_in(self, cur) -> str:
        """:meth:`revision` as the transaction ``cur`` sees the store."""

    def _insert_rows(self, cur, table: str, columns: list[str], rows: list[tuple]) -> None:
        """Insert rows (tuples of plain values in ``columns`` order) inside the transaction."""
        cur.executemany(self._sql(f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
                                  f"VALUES ({', '.join('?' * len(columns))})"), rows)

    def _wkb_bytes(self, value) -> bytes | None:
        """A :attr:`geom_read` value as WKB."""
        text = self._wkb_hex(value)
        return None if text is None else bytes.fromhex(text)

    def _transaction(self, work, metrics: str = "refresh"):
        """Run ``work(cursor)`` in one transaction on a fresh connection, all or nothing.

        Before it commits, the stored parcel metrics are brought up to date in the same
        transaction (:func:`geo.store.metrics.finish`; ``metrics``: ``"refresh"`` by default,
        ``"unaffected"`` for schema changes and writes of tables the metrics do not depend on,
        ``"skip"`` for what is no change of the data).

        Retryable failures (busy store, dropped connection) are retried with a short backoff
        up to :data:`~geo.store.base.MAX_ATTEMPTS` times; any other database error becomes a
        one-line ``ParkAtlasError``; errors raised by ``work`` itself pass through. In every
        failing case the transaction is rolled back, so nothing was changed.
        """
        last = None
        for attempt in range(MAX_ATTEMPTS):
            con = self._connect()
            try:
                cur = self._begin(con)
                if metrics == "skip":
                    result = work(cur)
                else:
                    from geo.store import metrics as stored_metrics  # imports this module

                    current_at_start = stored_metrics.begin(self, cur)
                    result = work(cur)
                    stored_metrics.finish(self, cur, current_at_start, metrics)
                self._commit(con)
                self.commits += 1
                return result
            except BaseException as exc:
                self._abort(con)
                if not isinstance(exc, Exception) or not self._is_db_error(exc):
                    raise
                if not self._is_retryable(exc):
                    raise store_failure("store.failed.write", "could not write to", self.location, exc,
                                        "; nothing was changed") from None
                last = exc
                if attempt < MAX_ATTEMPTS - 1:
                    time.sleep(0.05 * 2 ** attempt)
            finally:
                con.close()
        raise self._gave_up(last)

    def _status_rows(self, cur, ids: list[str]) -> dict[str, dict]:
        """Read the parcels a write is about to change, locking them where the dialect locks rows.

        Ids are read in sorted order so concurrent writers lock rows in the same order and
        cannot deadlock.
        """
        rows = {}
        for where, params in self._in_lists("parcel_id", sorted(ids)):
            cursor = cur.execute(self._sql(f"SELECT {', '.join(_STATUS_COLUMNS)} FROM parcels WHERE {where} "
                                           f"ORDER BY parcel_id{self.row_lock}"), params)
            for values in cursor.fetchall():
                row = dict(zip(_STATUS_COLUMNS, values))
                rows[row.pop("parcel_id")] = row
        return rows

    def _layer_records(self, cur, layer: str) -> dict[str, dict]:
        """Every feature of ``layer`` as a plain record (geometry as hex WKB), by id."""
        columns = LAYER_COLUMNS[layer]
        names = ", ".join(quote(c) for c in columns)
        records = {}
        for row in cur.execute(f"SELECT {names}, {self.geom_read} FROM {quote(layer)}").fetchall():
            record = {c: typed(columns, c, v) for c, v in zip(columns, row)}
            record["geometry"] = self._wkb_hex(row[-1])
            records[record[LAYER_KEYS[layer]]] = record
        return records

    def _change_status(self, cur, pid: str, row: dict, status: str) -> None:
        """Move one parcel from ``row["status"]`` to ``status``, clearing a reservation it leaves.

        The UPDATE only matches while the status is still the one read, so a change that slipped
        in between (a GeoPackage edited outside ParkAtlas) is a conflict, not an overwrite.
        """
        clear = (", reserved_project = NULL, reserved_by = NULL, reserved_at = NULL"
                 if row["status"] == "reserved" else "")
        cursor = cur.execute(self._sql(f"UPDATE parcels SET status = ?{clear}, version = version + 1 "
                                       "WHERE parcel_id = ? AND status = ?"), (status, pid, row["status"]))
        if cursor.rowcount != 1:
            raise KeyedConflict("store.conflict.parcel_changed", f"parcel {pid} changed meanwhile; reload and retry",
                                parcel=pid)

    # --- reads ---------------------------------------------------------------------------------
    def read_parcel_geometries(self, parcel_ids):
        """The geometries (CGCS2000, a shapely array) of the parcels ``parcel_ids`` in that order,
        ``None`` for an id the store does not hold (any more): for a reader that needs the shapes of a
        few parcels (``cli.py match``, after :func:`geo.store.metrics.read_parcel_columns`)."""
        import shapely

        ids = list(parcel_ids)
        found = dict(self._query_in(f"SELECT parcel_id, {self.geom_read} FROM parcels WHERE {{where}}", "parcel_id", ids))
        return shapely.from_wkb([self._wkb_bytes(found.get(pid)) for pid in ids])

    def read_parcel_bounds(self, parcel_ids):
        """``shapely.bounds`` (minx, miny, maxx, maxy) of the parcels ``parcel_ids`` in that order, NaN
        for an id the store does not hold (any more)."""
        import shapely

        return shapely.bounds(self.read_parcel_geometries(parcel_ids))

    def record_sign_in_failure(self, name: str, client: str) -> None:
        """Append a failed sign-in (the name tried, the client) to the audit log."""
        at = now_iso()
        row = (at, (name or "-")[:64], "viewer", SIGN_IN_FAILED, None, None, None, None, None, None, client[:64])
        self._transaction(lambda cur: self._append_audit(cur, [row]), metrics="skip")

    def sign_in_failures(self, since: datetime) -> list[tuple[datetime, str, str]]:
        """Failed sign-ins since ``since``: ``(when, name tried, client)``, oldest first."""
        rows = self._audit_rows("SELECT at, user_name, detail FROM audit_log WHERE action = ? AND at >= ? "
                                "ORDER BY id", (SIGN_IN_FAILED, as_utc_iso(since)))
        return [(datetime.fromisoformat(at), who, where or "") for at, who, where in rows]

    def history(self, parcel_id: str | None = None, park_id: str | None = None):
        sql, params = AUDIT_SELECT, ()
        if parcel_id is not None:
            sql, params = sql + " WHERE parcel_id = ?", (parcel_id,)
        elif park_id is not None:
            sql, params = sql + " WHERE park_id = ?", (park_id,)
        return history_frame(self._audit_rows(sql + " ORDER BY id", params))

    def import_reports(self):
        """The audit rows of committed imports, oldest first; ``detail`` holds each import's report."""
        return history_frame(self._audit_rows(AUDIT_SELECT + " WHERE action = ? ORDER BY id", ("import",)))

    # --- writes --------------------------------------------------------------------------------
    def import_features(self, layer, frame, *, user, mode="upsert", report=None) -> dict:
        from geo.store.tables import record_field_names

        require(user, "admin", f"import {layer}")
        frame = validate_import(layer, frame, mode)
        columns = LAYER_COLUMNS[layer]
        key = LAYER_KEYS[layer]
        new_records = frame_records(frame, columns)
        geoms = dict(zip(frame[key], self._geometry_params(frame.geometry.values)))
        column_sql = ", ".join(quote(c) for c in columns)
        insert_sql = self._sql(f"INSERT INTO {quote(layer)} ({column_sql}, geom) "
                               f"VALUES ({', '.join(['?'] * len(columns))}, {self.geom_param})")
        update_sql = self._sql(f"UPDATE {quote(layer)} SET {', '.join(f'{quote(c)} = ?' for c in columns)}, "
                               f"geom = {self.geom_param} WHERE {key} = ?")
        # version is the store's counter, not data: a feature equal in all else is unchanged.
        compared = [*(c for c in columns if c != "version"), "geometry"]

        def work(cur):
            self._lock_layer(cur, layer)
            if layer == "parcels":
                known = {r[0] for r in cur.execute("SELECT park_id FROM parks").fetchall()}
                unknown = sorted(set(frame.park_id) - known)
                if unknown:
                    raise KeyedError("import.refused.unknown_park", f"parcels refer to unknown park "
                                     f"{', '.join(unknown[:5])}; import the park first or fix park_id",
                                     parks=", ".join(unknown[:5]))
            old = self._layer_records(cur, layer)
            at = now_iso()
            counts = {"inserted": 0, "replaced": 0, "unchanged": 0, "deleted": 0}
            audit, inserts, updates = [], [], []
            for record in new_records:
                fid = record[key]
                before = old.get(fid)
                if before is not None and all(before[c] == record[c] for c in compared):
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
                audit.append(record_audit_row(at, user, "insert" if before is None else "replace",
                                              layer, record, before, record))
            cur.executemany(insert_sql, inserts)
            cur.executemany(update_sql, updates)
            if mode == "replace":
                parks, keep = set(frame.park_id), set(frame[key])
                gone = [fid for fid, before in old.items() if before["park_id"] in parks and fid not in keep]
                for where, params in self._in_lists(key, gone):
                    cur.execute(self._sql(f"DELETE FROM {quote(layer)} WHERE {where}"), params)
                counts["deleted"] = len(gone)
                audit += [record_audit_row(at, user, "delete", layer, old[fid], old[fid], None) for fid in gone]
            summary = (at, user.name, user.role, "import", None, None, layer, None, encode(counts), None,
                       json.dumps(report or {}, ensure_ascii=False, default=str, sort_keys=True))
            self._append_audit(cur, [*audit, summary])
            audit_id = cur.execute("SELECT max(id) FROM audit_log").fetchone()[0]
            record_field_names(self, cur, layer, frame.park_id, report)
            self._after_import(cur, layer)
            return {"layer": layer, **counts, "audit_id": audit_id}

        return self._transaction(work)

    def reserve(self, parcel_ids, *, project, user) -> dict:
        require(user, "planner", "reserve parcels")
        ids = check_reservation_args(parcel_ids, project)
        available = load_standards().available_statuses

        def work(cur):
            rows = self._status_rows(cur, ids)
            todo, mine = plan_reservation(rows, ids, project, user, available)
            at = now_iso()
            where, params = self._in_list("status", available)
            for pid in todo:
                # Conditional on the status still being available: the second of two racing
                # reservations matches no row even if both read "available".
                cursor = cur.execute(self._sql(
                    "UPDATE parcels SET status = 'reserved', reserved_project = ?, reserved_by = ?, "
                    f"reserved_at = ?, version = version + 1 WHERE parcel_id = ? AND {where}"),
                    (project, user.name, at, pid, *params))
                if cursor.rowcount != 1:
                    raise parcel_taken(pid, self._status_rows(cur, [pid])[pid], available)
            self._append_audit(cur, [(at, user.name, user.role, "reserve", pid, rows[pid]["park_id"], "status",
                                      encode(rows[pid]["status"]), encode("reserved"), project, None)
                                     for pid in todo])
            if todo:
                self._touch(cur, "parcels")
            return {"reserved": todo, "already_yours": mine}

        return self._transaction(work, metrics="parcels")

    def release(self, parcel_ids, *, user) -> dict:
        require(user, "planner", "release reservations")
        ids = unique_ids(parcel_ids)

        def work(cur):
            rows = self._status_rows(cur, ids)
            at, audit, released = now_iso(), [], {}
            for pid in ids:
                row = check_releasable(rows, pid, user)
                # The status before the reservation is the old value of its audit row.
                found = cur.execute(self._sql("SELECT old_value FROM audit_log WHERE parcel_id = ? AND action = "
                                              "'reserve' ORDER BY id DESC LIMIT 1"), (pid,)).fetchone()
                previous = json.loads(found[0]) if found else "available"
                self._change_status(cur, pid, row, previous)
                released[pid] = previous
                audit.append(status_audit_row(at, user, "release", pid, row, previous, None))
            self._append_audit(cur, audit)
            self._touch(cur, "parcels")
            return {"released": released}

        return self._transaction(work, metrics="parcels")

    def set_status(self, parcel_ids, status, *, user, note=None) -> dict:
        require(user, "planner", "change parcel status")
        check_status(status)
        ids = unique_ids(parcel_ids)

        def work(cur):
            rows = self._status_rows(cur, ids)
            check_found(rows, ids)
            at, audit, changed = now_iso(), [], []
            for pid in ids:
                row = rows[pid]
                if row["status"] == status:
                    continue
                self._change_status(cur, pid, row, status)
                changed.append(pid)
                audit.append(status_audit_row(at, user, "status", pid, row, status, note))
            self._append_audit(cur, audit)
            if changed:
                self._touch(cur, "parcels")
            return {"changed": changed}

        return self._transaction(work, metrics="parcels")

    def update_attributes(self, parcel_id, changes, *, user, expected_version=None) -> int:
        require(user, "planner", "edit parcel attributes")
        changes = check_changes(changes)

        def work(cur):
            names = ["park_id", "version", *changes, *(["data_as_of"] if "data_as_of" not in changes else [])]
            row = cur.execute(self._sql(f"SELECT {', '.join(quote(c) for c in names)} FROM parcels "
                                        f"WHERE parcel_id = ?{self.row_lock}"), (parcel_id,)).fetchone()
            if row is None:
                raise KeyedNotFound("store.not_found.parcel", f"unknown parcel {parcel_id!r}; see `python cli.py parcels`",
                                    ids=[parcel_id])
            current = {c: typed(PARCEL_COLUMNS, c, v) for c, v in zip(names, row)}
            version = current["version"]
            if expected_version is not None and version != expected_version:
                raise KeyedConflict("store.conflict.parcel_version", f"parcel {parcel_id} was changed by someone else "
                                    f"(version {version}, you edited version {expected_version}); reload and edit again",
                                    parcel=parcel_id, version=version, edited=expected_version)
            diff = {c: v for c, v in changes.items() if current[c] != v}
            if not diff:
                return version
            diff.setdefault("data_as_of", date.today().isoformat())
            diff = {c: v for c, v in diff.items() if current[c] != v}
            # Matching the version read guards stores without row locks against a concurrent edit.
            if version is None:
                guard, params = "version IS NULL", (*diff.values(), parcel_id)
            else:
                guard, params = "version = ?", (*diff.values(), parcel_id, version)
            cursor = cur.execute(self._sql(
                f"UPDATE parcels SET {', '.join(f'{quote(c)} = ?' for c in diff)}, version = version + 1 "
                f"WHERE parcel_id = ? AND {guard}"), params)
            if cursor.rowcount != 1:
                raise KeyedConflict("store.conflict.parcel_edited", f"parcel {parcel_id} was changed by someone else; "
                                    "reload and edit again", parcel=parcel_id)
            at = now_iso()
            self._append_audit(cur, [(at, user.name, user.role, "edit", parcel_id, current["park_id"], c,
                                      encode(current[c]), encode(v), None, None) for c, v in diff.items()])
            self._touch(cur, "parcels")
            return (version or 0) + 1

        return self._transaction(work, metrics="parcels")

    def update_park(self, park_id, changes, *, user) -> dict:
        require(user, "admin", "edit park attributes and thresholds")
        changes = check_park_changes(changes)

        def work(cur):
            row = cur.execute(self._sql(f"SELECT {', '.join(quote(c) for c in changes)} FROM parks "
                                        f"WHERE park_id = ?{self.row_lock}"), (park_id,)).fetchone()
            if row is None:
                raise unknown_park(park_id)
            current = dict(zip(changes, row))
            diff = {c: v for c, v in changes.items() if current[c] != v}
            if diff:
                cur.execute(self._sql(f"UPDATE parks SET {', '.join(f'{quote(c)} = ?' for c in diff)} "
                                      "WHERE park_id = ?"), (*diff.values(), park_id))
                at = now_iso()
                self._append_audit(cur, [(at, user.name, user.role, "park_edit", None, park_id, c,
                                          encode(current[c]), encode(v), None, None) for c, v in diff.items()])
                self._touch(cur, "parks")
            return diff

        return self._transaction(work)

    # --- backup and restore --------------------------------------------------------------------
    @abc.abstractmethod
    def _snapshot(self, partial: Path) -> None:
        """Write one consistent snapshot of the store to ``partial`` while writers keep working."""

    @abc.abstractmethod
    def _check_backup(self, source: Path) -> list[str] | None:
        """Integrity problems of the backup at ``source`` (empty: it can be restored); ``None`` when
        it cannot be checked apart from the store (then :meth:`_replace_checked_in_place`)."""

    def _replace_checked_in_place(self, source: Path) -> list[str]:
        """Replace, check, and put the previous content back on problems (backends that need it)."""
        raise NotImplementedError(f"{type(self).__name__} checks every backup before replacing the content")

    @abc.abstractmethod
    def _replace_content(self, source: Path) -> None:
        """Swap the store's content for the checked backup, in one step for other sessions."""

    def backup(self, destination) -> None:
        dest = Path(destination)
        if self.backup_suffix and dest.suffix.lower() != self.backup_suffix:
            raise ParkAtlasError(f"backup file {dest} must end in {self.backup_suffix}")
        if dest.exists():
            raise ParkAtlasError(f"{dest} exists; choose a new backup file name")
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Written under another name and renamed, so a failed backup never looks like a good one.
        partial = dest.with_name(dest.name + ".partial")
        partial.unlink(missing_ok=True)
        self._snapshot(partial)
        os.chmod(partial, OWNER_ONLY)  # a backup holds the audit log and every planner's name
        os.replace(partial, dest)

    def restore(self, source, *, user) -> None:
        require(user, "admin", "restore a backup")
        src = Path(source)
        if not src.is_file():
            raise NotFoundError(f"backup {src} does not exist")
        problems = self._check_backup(src)
        if problems is None:  # no separate place to check it (PostGIS as the database's owner)
            problems = self._replace_checked_in_place(src)
        elif not problems:
            self._replace_content(src)
        if problems:
            raise ParkAtlasError(f"backup {src} fails the integrity check ({problems[0]}); nothing restored")
        at = now_iso()
        self._transaction(lambda cur: self._append_audit(cur, [(at, user.name, user.role, "restore", None, None,
                                                                None, None, None, None,
                                                                json.dumps({"source": src.name}))]))

    # --- checks --------------------------------------------------------------------------------
    def _parcel_problems(self, fetch) -> list[str]:
        """Parcel ids, statuses and reservation columns; ``fetch(sql, params)`` returns rows."""
        problems = []
        (dup,), = fetch("SELECT count(*) FROM (SELECT parcel_id FROM parcels GROUP BY parcel_id "
                        "HAVING count(*) > 1) d")
        if dup:
            problems.append(f"{dup} parcel ids occur more than once")
        (nameless,), = fetch("SELECT count(*) FROM parcels WHERE parcel_id IS NULL")
        if nameless:
            problems.append("parcels without parcel_id")
        where, params = self._in_list("status", list(load_standards().statuses.code))
        (bad,), = fetch(self._sql(f"SELECT count(*) FROM parcels WHERE status IS NULL OR NOT ({where})"), params)
        if bad:
            problems.append(f"{bad} parcels have an unknown status")
        (orphan,), = fetch("SELECT count(*) FROM parcels WHERE status IS NOT NULL AND "
                           "(status = 'reserved') <> (reserved_project IS NOT NULL)")
        if orphan:
            problems.append(f"{orphan} parcels have a reservation that does not match their status")
        return problems

    @staticmethod
    def _audit_problems(fetch) -> list[str]:
        """Whether each parcel's newest audited status is its current status."""
        return audit_consistency(fetch(AUDIT_NEWEST_SQL, ()))


__all__ = ["SqlStore", "audit_consistency", "quote", "LAYER_COLUMNS", "AUDIT_INSERT", "AUDIT_SELECT"]
