"""Attribute tables (no geometry) in both stores: created by the first write, written audited.

Parks and parcels have their own layers; the domain's other tables — the promotion teams and
their targets (:mod:`geo.team`) — are plain tables listed in :data:`ATTRIBUTE_TABLES`, with
the same guarantees as parcel writes: every write is one transaction on the store (all or
nothing), checks the acting user's role and appends one audit row per changed row
(``field`` ``*``, old and new record as JSON, ``detail`` naming the table and the key).

A store made before a table existed reads it as empty and gets it with the first write into
it (``CREATE TABLE IF NOT EXISTS``): reads never write, so they never change the store's
revision. The GeoPackage registers the table in ``gpkg_contents`` as an attributes table so
QGIS lists it. The bundled sample holds the sample's rows (written by
:mod:`geo.sample`) and a new PostGIS store copies them when it is seeded.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geo.auth import User, require
from geo.schema import (
    CHAIN_LEADER_COLUMNS, CHAIN_NODE_COLUMNS, CHAIN_THRESHOLD_COLUMNS, CHAIN_PLACEMENT_COLUMNS, PROSPECT_COLUMNS, ENTERPRISE_COLUMNS, FIGURE_COLUMNS, GRADE_COLUMNS, TEAM_COLUMNS, TEAM_TARGET_COLUMNS,
)
from geo.store.base import now_iso, plain
from geo.store.sql import SqlStore, quote

_SQL_TYPES = {"string": "TEXT", "float64": "DOUBLE PRECISION", "Int64": "BIGINT", "boolean": "BOOLEAN"}


@dataclass(frozen=True)
class AttributeTable:
    """A table's name, columns (→ pandas dtype) and key columns (never NULL; text keys use ``''``)."""

    name: str
    columns: dict[str, str]
    key: tuple[str, ...]

    def ddl(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` in the SQL both SQLite and PostgreSQL accept."""
        columns = ", ".join(f"{quote(c)} {_SQL_TYPES[t]}" + (" NOT NULL" if c in self.key else "")
                            for c, t in self.columns.items())
        return (f"CREATE TABLE IF NOT EXISTS {quote(self.name)} ({columns}, "
                f"PRIMARY KEY ({', '.join(quote(k) for k in self.key)}))")

    def empty(self) -> pd.DataFrame:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in self.columns.items()})

    def frame(self, rows) -> pd.DataFrame:
        """Rows (tuples in column order) as a typed frame, sorted by key."""
        frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(self.columns))
        if frame.empty:
            return self.empty()
        return frame.astype(self.columns).sort_values(list(self.key)).reset_index(drop=True)

    def records(self, frame: pd.DataFrame) -> list[dict]:
        """Plain records (None for missing values) of the table's columns."""
        table = pd.DataFrame(frame[list(self.columns)]).astype(object)
        table = table.where(pd.notna(table), None)
        return [{k: plain(v) for k, v in row.items()} for row in table.to_dict(orient="records")]

    def key_of(self, record: dict) -> tuple:
        return tuple(record[k] for k in self.key)


TEAMS = AttributeTable("teams", TEAM_COLUMNS, ("team_id",))
TEAM_TARGETS = AttributeTable("team_targets", TEAM_TARGET_COLUMNS, ("team_id", "year", "target", "chain"))
ENTERPRISES = AttributeTable("enterprises", ENTERPRISE_COLUMNS, ("uscc",))
ENTERPRISE_FIGURES = AttributeTable("enterprise_figures", FIGURE_COLUMNS, ("uscc", "year"))
ENTERPRISE_GRADES = AttributeTable("enterprise_grades", GRADE_COLUMNS, ("year", "scheme", "uscc"))
CHAIN_NODES = AttributeTable("chain_nodes", CHAIN_NODE_COLUMNS, ("node_id",))
CHAIN_LEADERS = AttributeTable("chain_leaders", CHAIN_LEADER_COLUMNS, ("chain", "uscc"))
CHAIN_PLACEMENTS = AttributeTable("chain_placements", CHAIN_PLACEMENT_COLUMNS, ("uscc", "node_id"))
PROSPECTS = AttributeTable("prospects", PROSPECT_COLUMNS, ("prospect_id",))
CHAIN_THRESHOLDS = AttributeTable("chain_thresholds", CHAIN_THRESHOLD_COLUMNS, ("chain",))
#: The city's own tables (:mod:`geo.city`), made by ``city init`` (not by :func:`ensure_tables`):
#: described here so that editing them after init is one audited transaction like any other write.
PARK_GROUPS = AttributeTable("park_groups", {"group_id": "string", "name_zh": "string", "name_en": "string",
                                             "sort_order": "Int64"}, ("group_id",))
CITY_CHAINS = AttributeTable("city_chains", {"chain": "string", "name_zh": "string", "name_en": "string",
                                             "tier": "string", "sort_order": "Int64"}, ("chain",))
#: The planner's own column names of imported features, per park: ``heading`` is the source file's
#: column that became ``field`` (written by the import, in its transaction; see :func:`record_field_names`).
FIELD_NAMES = AttributeTable("field_names", {"layer": "string", "park_id": "string", "field": "string",
                                             "heading": "string", "source": "string", "signature": "string"},
                             ("layer", "park_id", "field"))
ATTRIBUTE_TABLES: dict[str, AttributeTable] = {t.name: t for t in (TEAMS, TEAM_TARGETS, ENTERPRISES,
                                                                   ENTERPRISE_FIGURES, ENTERPRISE_GRADES,
                                                                   CHAIN_NODES, CHAIN_LEADERS, CHAIN_PLACEMENTS,
                                                                   PROSPECTS, CHAIN_THRESHOLDS, FIELD_NAMES)}

#: Tables the stored parcel metrics depend on (:mod:`geo.store.metrics`), besides parcels and parks.
METRIC_INPUT_TABLES = (ENTERPRISES.name, ENTERPRISE_FIGURES.name, ENTERPRISE_GRADES.name)

_ensured: set[str] = set()


def _is_gpkg(store: SqlStore) -> bool:
    from geo.store.gpkg import GpkgStore

    return isinstance(store, GpkgStore)


def _register_gpkg(cur, table: AttributeTable) -> None:
    cur.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, last_change) "
                "VALUES (?, 'attributes', ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))", (table.name, table.name))


def ensure_tables(store: SqlStore) -> None:
    """Create the attribute tables the store lacks (once per store and process)."""
    if store.location in _ensured or getattr(store, "readonly", False):
        return
    gpkg = _is_gpkg(store)
    # Only a store lacking a table is written to: a read must not change the store's revision.
    missing = [table for table in ATTRIBUTE_TABLES.values() if not store._has_table(table.name)]

    def work(cur):
        for table in missing:
            cur.execute(table.ddl())
            if gpkg:
                _register_gpkg(cur, table)

    if missing:
        store._transaction(work, metrics="unaffected")
    _ensured.add(store.location)


def read_table(store: SqlStore, table: AttributeTable, where: dict | None = None) -> pd.DataFrame:
    """The table's rows, typed and sorted by key (empty when the store has no such table yet).

    ``where`` maps columns to the values they must equal.
    """
    if not store._has_table(table.name):  # created by the first write: a read never writes
        return table.empty()
    names = ", ".join(quote(c) for c in table.columns)
    conditions = " AND ".join(f"{quote(c)} = ?" for c in (where or {}))
    sql = f"SELECT {names} FROM {quote(table.name)}" + (f" WHERE {conditions}" if conditions else "")
    return table.frame(store._query(store._sql(sql), tuple((where or {}).values())))


@dataclass
class Change:
    """Rows to write into one table: ``upserts`` (insert or replace by key) and ``deletes`` (keys)."""

    table: AttributeTable
    upserts: pd.DataFrame | None = None
    deletes: list[tuple] | None = None
    delete_where: dict | None = None  # delete every row matching (e.g. all targets of a team)


def apply_changes(store: SqlStore, changes: list[Change], *, user: User, role: str, action: str) -> dict:
    """Write ``changes`` in one audited transaction; ``role`` is the least role allowed.

    Returns ``{table: {"inserted", "replaced", "unchanged", "deleted"}}``. Rows equal to the
    stored ones are left alone and not audited.
    """
    require(user, role, action.replace("_", " "))
    ensure_tables(store)

    def work(cur):
        at, audit, counts = now_iso(), [], {}
        for change in changes:
            table = change.table
            store._lock_layer(cur, table.name)
            names = ", ".join(quote(c) for c in table.columns)
            old = {table.key_of(r): r for r in (dict(zip(table.columns, row)) for row in
                                                cur.execute(f"SELECT {names} FROM {quote(table.name)}").fetchall())}
            tally = {"inserted": 0, "replaced": 0, "unchanged": 0, "deleted": 0}
            gone = list(change.deletes or [])
            if change.delete_where:
                gone += [k for k, r in old.items() if all(r[c] == v for c, v in change.delete_where.items())]
            where = " AND ".join(f"{quote(k)} = ?" for k in table.key)
            for key in dict.fromkeys(gone):
                if key in old:
                    cur.execute(store._sql(f"DELETE FROM {quote(table.name)} WHERE {where}"), key)
                    audit.append(_audit_row(at, user, action, table, key, old.pop(key), None))
                    tally["deleted"] += 1
            new = table.records(change.upserts) if change.upserts is not None else []
            placeholders = ", ".join("?" * len(table.columns))
            for record in new:
                key = table.key_of(record)
                before = old.get(key)
                if before == record:
                    tally["unchanged"] += 1
                    continue
                if before is not None:
                    cur.execute(store._sql(f"DELETE FROM {quote(table.name)} WHERE {where}"), key)
                cur.execute(store._sql(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({placeholders})"),
                            tuple(record.values()))
                audit.append(_audit_row(at, user, action, table, key, before, record))
                tally["inserted" if before is None else "replaced"] += 1
            counts[table.name] = tally
            if _is_gpkg(store):
                store._touch(cur, table.name)
        store._append_audit(cur, audit)
        return counts

    affects_metrics = any(change.table.name in METRIC_INPUT_TABLES for change in changes)
    return store._transaction(work, metrics="refresh" if affects_metrics else "unaffected")


def _audit_row(at, user: User, action: str, table: AttributeTable, key: tuple, before, after) -> tuple:
    def text(record):
        return None if record is None else json.dumps(record, ensure_ascii=False, sort_keys=True)

    detail = {"table": table.name, "key": dict(zip(table.key, key))}
    return (at, user.name, user.role, action, None, None, "*", text(before), text(after), None,
            json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str))


def record_field_names(store: SqlStore, cur, layer: str, park_ids, report: dict | None) -> None:
    """Inside an import's transaction: the source's names of the stored columns, for each park imported.

    ``report`` is the import's (:func:`geo.io.upload.read_upload`): ``attributes.mapped`` gives
    field → source column. The parks' earlier names are replaced (the newest import of a park names
    its columns); a column named as the field itself is not recorded.
    """
    from geo.store.sql import LAYER_COLUMNS

    mapped = ((report or {}).get("attributes") or {}).get("mapped") or {}
    source = (report or {}).get("source") or {}
    names = {field: str(heading) for field, heading in mapped.items()
             if field in LAYER_COLUMNS[layer] and str(heading).strip().lower() != field}
    parks = sorted({str(p) for p in park_ids if p is not None})
    if not parks:
        return
    cur.execute(FIELD_NAMES.ddl())
    if _is_gpkg(store):
        _register_gpkg(cur, FIELD_NAMES)
    where, params = store._in_list("park_id", parks)
    cur.execute(store._sql(f"DELETE FROM field_names WHERE layer = ? AND {where}"), (layer, *params))
    cur.executemany(store._sql("INSERT INTO field_names (layer, park_id, field, heading, source, signature) "
                               "VALUES (?, ?, ?, ?, ?, ?)"),
                    [(layer, park, field, heading, source.get("name"), source.get("signature"))
                     for park in parks for field, heading in sorted(names.items())])


def imported_field_names(store: SqlStore, park_ids, layer: str = "parcels") -> dict[str, str]:
    """Field → the planner's own column name, for features of ``park_ids`` (see :data:`FIELD_NAMES`).

    A field keeps its imported name when the parks that have one agree on it; parks never imported
    from a file with their own names (the sample's) do not count. Empty when nothing was imported so.
    """
    rows = read_table(store, FIELD_NAMES, {"layer": layer})
    rows = rows.loc[rows.park_id.isin({str(p) for p in park_ids})]
    agreed = rows.groupby("field")["heading"].agg(lambda headings: headings.iloc[0] if headings.nunique() == 1 else None)
    return {str(field): str(heading) for field, heading in agreed.dropna().items()}


def table_history(store: SqlStore, table: AttributeTable) -> pd.DataFrame:
    """Audit rows of ``table``, oldest first (``old``/``new`` are the records)."""
    log = store.history()
    mine = log["detail"].map(lambda d: isinstance(d, dict) and d.get("table") == table.name)
    return log[mine].reset_index(drop=True)


def write_sample_tables(path: Path, frames: dict[str, pd.DataFrame]) -> None:
    """Write attribute tables into a new GeoPackage (the sample) with plain SQLite, no audit."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        for name, frame in frames.items():
            table = ATTRIBUTE_TABLES[name]
            con.execute(table.ddl())
            _register_gpkg(con, table)
            names = ", ".join(quote(c) for c in table.columns)
            con.executemany(f"INSERT INTO {quote(name)} ({names}) VALUES ({', '.join('?' * len(table.columns))})",
                            [tuple(r.values()) for r in table.records(frame)])
        con.execute("COMMIT")
    finally:
        con.close()


def seed_tables(cur, sample: SqlStore) -> None:
    """Create the attribute tables in a new PostGIS schema and copy the sample's rows."""
    for table in ATTRIBUTE_TABLES.values():
        cur.execute(table.ddl())
        rows = [tuple(r.values()) for r in table.records(read_table(sample, table))]
        names = ", ".join(quote(c) for c in table.columns)
        if rows:
            cur.executemany(f"INSERT INTO {quote(table.name)} ({names}) VALUES "
                            f"({', '.join(['%s'] * len(table.columns))})", rows)


__all__ = ["AttributeTable", "ATTRIBUTE_TABLES", "TEAMS", "TEAM_TARGETS", "ENTERPRISES", "ENTERPRISE_FIGURES",
           "ENTERPRISE_GRADES", "CHAIN_NODES", "CHAIN_LEADERS", "CHAIN_PLACEMENTS", "PROSPECTS", "CHAIN_THRESHOLDS", "PARK_GROUPS", "CITY_CHAINS", "FIELD_NAMES", "Change", "apply_changes",
           "ensure_tables", "read_table", "table_history", "record_field_names", "imported_field_names",
           "write_sample_tables", "seed_tables"]
