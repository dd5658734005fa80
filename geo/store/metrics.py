"""Parcel metrics stored with the parcels and maintained by every write, in both stores.

Reading a parcel's metrics (areas in 亩, 容积率, 建筑系数, 亩均 figures, its enterprise's figures
and 亩均 grade: :func:`geo.evaluation.metrics_from_frames`) costs seconds per 100,000 parcels
when computed: areas need every geometry projected, grades an evaluation of every enterprise.
So the store keeps them in the table ``parcel_metrics`` (one row per parcel:
:data:`METRIC_COLUMNS`, the ones :func:`geo.evaluation.parcels_with_metrics` adds or
replaces for the latest year and the default scheme) and reads them back.

Every write transaction of a :class:`~geo.store.sql.SqlStore` ends with :func:`finish`
before it commits: when the write changed the data, the metrics are recomputed inside the
same transaction (from what the transaction sees, so a rollback undoes both) and the rows
that changed are rewritten. Areas are kept for parcels whose ``version`` did not move (a
geometry only changes through an import, which moves it); everything else is recomputed,
because one enterprise's figures move every grade of its pool — except after a write that only
changed attributes of parcels no enterprise uses (:data:`PARCELS`), which rewrites their rows.

The single row of ``parcel_metrics_state`` stamps the table with :data:`METRICS_VERSION` and
the store's revision (:meth:`Store.revision`) it was computed at. Readers use the stored rows
only when the stamp matches the store's current revision, so a store written by an older
ParkAtlas, by another tool, or restored from a backup is never read stale: its metrics are
computed once, stored (:func:`refresh_store`) and read from then on.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo.errors import ParkAtlasError
from geo.metrics import PARCEL_METRICS
from geo.schema import PARCEL_COLUMNS
from geo.store.tables import ENTERPRISE_FIGURES, ENTERPRISE_GRADES, ENTERPRISES, AttributeTable, _is_gpkg
from geo.textids import positions_in

#: Bump when the stored columns or how they are computed change: stores recompute once.
METRICS_VERSION = 1
#: Parcel figures replaced by their enterprise's (:func:`geo.enterprise.apply_enterprise_figures`).
FROM_ENTERPRISE = ("output_wan", "tax_wan", "employees")
METRIC_COLUMNS = {"parcel_id": "string", "version": "Int64", **{c: PARCEL_COLUMNS[c] for c in FROM_ENTERPRISE},
                  **{m: "float64" for m in PARCEL_METRICS}, "grade": "string"}
METRICS = AttributeTable("parcel_metrics", METRIC_COLUMNS, ("parcel_id",))
STATE = AttributeTable("parcel_metrics_state", {"name": "string", "metrics_version": "Int64", "revision": "string"},
                       ("name",))
#: The parcel columns the metrics depend on (besides the geometry).
INPUT_COLUMNS = ("parcel_id", "park_id", "status", "version", "floor_area_m2", "floor_area_over_8m_m2",
                 "footprint_m2", "structures_footprint_m2", "yard_area_m2", "investment_wan", "output_wan",
                 "tax_wan", "employees")
#: How a write transaction treats the stored metrics (see :meth:`SqlStore._transaction`);
#: ``PARCELS``: it changed only attributes of existing parcels (no geometry, park or enterprise data).
REFRESH, PARCELS, UNAFFECTED, SKIP = "refresh", "parcels", "unaffected", "skip"


def _quote(name: str) -> str:
    return '"' + name + '"'


def _select(store, cur, table: AttributeTable, columns=None) -> pd.DataFrame:
    if not store._has_table_in(cur, table.name):
        return table.empty()
    names = list(columns or table.columns)
    rows = cur.execute(f"SELECT {', '.join(_quote(c) for c in names)} FROM {_quote(table.name)}").fetchall()
    if columns is None:
        return table.frame(rows)
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=names)
    return frame.astype({c: table.columns[c] for c in names})


def _stamp(store, cur) -> tuple | None:
    if not store._has_table_in(cur, STATE.name):
        return None
    row = cur.execute(store._sql("SELECT metrics_version, revision FROM parcel_metrics_state WHERE name = ?"),
                      (METRICS.name,)).fetchone()
    return None if row is None else (row[0], row[1])


def begin(store, cur) -> str | None:
    """At the start of a write: serialise metric refreshes, and the revision if the stored
    metrics are current (``None``: missing or outdated)."""
    store._lock_metrics(cur)
    revision = store._revision_in(cur)
    return revision if _stamp(store, cur) == (METRICS_VERSION, revision) else None

def finish(store, cur, current_at_start: str | None, mode: str = REFRESH) -> None:
    """At the end of a write, before it commits: bring the stored metrics up to date.

    ``mode`` :data:`REFRESH` recomputes them when the write changed the data;
    :data:`UNAFFECTED` (a write of tables the metrics do not depend on) only moves the stamp
    forward when they were current before.
    """
    revision = store._revision_in(cur)
    if current_at_start is not None and revision == current_at_start:
        return
    if mode == UNAFFECTED:
        if current_at_start is not None:
            _write_stamp(store, cur)
        return
    if mode == PARCELS and current_at_start is not None and _refresh_parcels(store, cur):
        _write_stamp(store, cur)
        return
    refresh(store, cur, incremental=current_at_start is not None)


def _refresh_parcels(store, cur) -> bool:
    """The rows of the parcels whose ``version`` moved, when none of them is an enterprise's:
    their figures are their own and they have no grade, while every other row stays as it was
    (grades depend on areas and enterprise data only). ``False`` (nothing written) when a full
    refresh is needed: parcels added or removed, an enterprise's parcel touched, or no
    enterprises (the tax-per-亩 illustration ranks all parcels)."""
    parcels = cur.execute("SELECT count(*) FROM parcels").fetchone()[0]
    rows = cur.execute("SELECT count(*) FROM parcel_metrics").fetchone()[0]
    if parcels != rows or not store._has_table_in(cur, ENTERPRISES.name) or not cur.execute(
            "SELECT 1 FROM enterprises LIMIT 1").fetchall():
        return False
    if cur.execute("SELECT 1 FROM parcels WHERE version IS NULL LIMIT 1").fetchall():
        return False  # version + 1 leaves NULL: a change would not show
    touched = [r[0] for r in cur.execute(
        "SELECT p.parcel_id FROM parcels p LEFT JOIN parcel_metrics m ON m.parcel_id = p.parcel_id "
        "WHERE m.parcel_id IS NULL OR p.version IS DISTINCT FROM m.version").fetchall()]
    if not touched:
        return True
    for pid in touched:  # a handful of parcels per write
        listed = cur.execute(store._sql("SELECT parcel_ids FROM enterprises WHERE parcel_ids LIKE ?"),
                             (f"%{pid}%",)).fetchall()
        if any(pid in (part.strip() for part in (r[0] or "").split(";")) for r in listed):
            return False
    names = ", ".join(_quote(c) for c in INPUT_COLUMNS)
    found = []
    for where, params in store._in_lists("parcel_id", touched):
        found += cur.execute(store._sql(f"SELECT {names} FROM parcels WHERE {where}"), params).fetchall()
    inputs = pd.DataFrame.from_records([tuple(r) for r in found], columns=list(INPUT_COLUMNS)).astype(
        {c: PARCEL_COLUMNS[c] for c in INPUT_COLUMNS})
    area = {}
    for where, params in store._in_lists("parcel_id", touched):
        area.update(cur.execute(store._sql(f"SELECT parcel_id, area_m2 FROM parcel_metrics WHERE {where}"),
                                params).fetchall())
    from geo.metrics import parcel_metrics

    rows = inputs[["parcel_id", "version", *FROM_ENTERPRISE]].join(
        parcel_metrics(inputs, inputs.parcel_id.map(area).to_numpy(dtype=float)))
    rows["grade"] = pd.array([None] * len(rows), dtype="string")
    rows = pd.DataFrame(rows[list(METRIC_COLUMNS)]).astype(METRIC_COLUMNS)
    for where, params in store._in_lists("parcel_id", touched):
        cur.execute(store._sql(f"DELETE FROM parcel_metrics WHERE {where}"), params)
    store._insert_rows(cur, METRICS.name, list(METRIC_COLUMNS), _plain_rows(rows))
    return True


#: Column types of the GeoPackage (what GDAL reads back) and of PostgreSQL.
_TYPES = {True: {"string": "TEXT", "float64": "REAL", "Int64": "INTEGER"},
          False: {"string": "TEXT", "float64": "DOUBLE PRECISION", "Int64": "BIGINT"}}


def _ensure(store, cur) -> None:
    gpkg = _is_gpkg(store)
    for table in (METRICS, STATE):
        if not store._has_table_in(cur, table.name):
            columns = ", ".join(f"{_quote(c)} {_TYPES[gpkg][t]}" + (" NOT NULL" if c in table.key else "")
                                for c, t in table.columns.items())
            # Not listed in gpkg_contents: derived data, whose refresh is no change of the store's data.
            cur.execute(f"CREATE TABLE {_quote(table.name)} ({columns}, PRIMARY KEY ({_quote(table.key[0])}))")


def _write_stamp(store, cur) -> None:
    cur.execute(store._sql("DELETE FROM parcel_metrics_state WHERE name = ?"), (METRICS.name,))
    cur.execute(store._sql("INSERT INTO parcel_metrics_state (name, metrics_version, revision) VALUES (?, ?, ?)"),
                (METRICS.name, METRICS_VERSION, store._revision_in(cur)))


def _areas(store, cur, ids: list[str]) -> dict[str, float]:
    """Planar areas (m²) of the parcels ``ids`` read from the transaction's geometries."""
    import geopandas as gpd

    from geo.crs import CGCS2000, projected_area_m2

    if not ids:
        return {}
    rows = []
    for where, params in store._in_lists("parcel_id", ids):
        rows += cur.execute(store._sql(f"SELECT parcel_id, {store.geom_read} FROM parcels WHERE {where}"),
                            params).fetchall()
    geoms = shapely.from_wkb([store._wkb_bytes(r[1]) for r in rows])
    return dict(zip((r[0] for r in rows), projected_area_m2(gpd.GeoSeries(geoms, crs=CGCS2000))))


def compute(store, cur, stored: pd.DataFrame | None = None) -> pd.DataFrame:
    """The metric rows (:data:`METRIC_COLUMNS`) of every parcel as the transaction sees the data.

    ``stored``: current stored rows whose areas are reused for parcels of the same ``version``.
    """
    from geo.evaluation import metrics_from_frames

    rows = cur.execute(f"SELECT {', '.join(_quote(c) for c in INPUT_COLUMNS)} FROM parcels ORDER BY parcel_id").fetchall()
    parcels = pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(INPUT_COLUMNS)).astype(
        {c: PARCEL_COLUMNS[c] for c in INPUT_COLUMNS})
    area = pd.Series(np.nan, index=parcels.parcel_id.to_numpy(dtype=object))
    if stored is not None and len(stored):
        same = parcels[["parcel_id", "version"]].merge(stored[["parcel_id", "version", "area_m2"]], how="left",
                                                       on=["parcel_id", "version"])
        area[:] = same.area_m2.to_numpy(dtype=float, na_value=np.nan)
    missing = area.index[area.isna().to_numpy()].tolist()
    if missing:
        area.update(pd.Series(_areas(store, cur, missing)))
    parks = pd.DataFrame.from_records(cur.execute("SELECT park_id, district_code FROM parks").fetchall(),
                                      columns=["park_id", "district_code"])
    out = metrics_from_frames(parcels, _select(store, cur, ENTERPRISES), _select(store, cur, ENTERPRISE_FIGURES),
                              _select(store, cur, ENTERPRISE_GRADES), parks, area_m2=area.to_numpy(dtype=float))
    return pd.DataFrame(out[list(METRIC_COLUMNS)]).astype(METRIC_COLUMNS).reset_index(drop=True)


def _changed(new: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``new`` absent from ``old`` or different from it (missing values equal)."""
    if old.empty:
        return new
    before = old.set_index("parcel_id").reindex(new.parcel_id.to_numpy())
    differ = np.zeros(len(new), dtype=bool)
    for column, kind in METRIC_COLUMNS.items():
        if column == "parcel_id":
            continue
        if kind == "string":
            a = new[column].to_numpy(dtype=object, na_value="\0")
            b = before[column].to_numpy(dtype=object, na_value="\0")
            differ |= a != b
        else:
            a = new[column].to_numpy(dtype=float, na_value=np.nan)
            b = before[column].to_numpy(dtype=float, na_value=np.nan)
            differ |= ~((a == b) | (np.isnan(a) & np.isnan(b)))
    return new[differ]


def _plain_rows(frame: pd.DataFrame) -> list[tuple]:
    """Rows as tuples of Python values (missing: ``None``), column by column."""
    columns = [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame.columns]
    return list(zip(*columns))


def refresh(store, cur, incremental: bool = True) -> None:
    """Recompute the stored metrics inside the write transaction ``cur`` and stamp them."""
    _ensure(store, cur)
    old = _select(store, cur, METRICS)
    new = compute(store, cur, old if incremental else None)
    changed = _changed(new, old)
    gone = sorted(set(old.parcel_id) - set(new.parcel_id))
    rewrite = [*gone, *changed.parcel_id]
    if len(rewrite) > len(new) // 2:
        cur.execute("DELETE FROM parcel_metrics")
        changed = new
    else:
        for where, params in store._in_lists("parcel_id", rewrite):
            cur.execute(store._sql(f"DELETE FROM parcel_metrics WHERE {where}"), params)
    store._insert_rows(cur, METRICS.name, list(METRIC_COLUMNS), _plain_rows(changed))
    _write_stamp(store, cur)


def current(store) -> bool:
    """Whether the store's stored metrics are current (stamped with its revision)."""
    if not store._has_table(STATE.name):
        return False
    rows = store._query(store._sql("SELECT metrics_version, revision FROM parcel_metrics_state WHERE name = ?"),
                        (METRICS.name,))
    return bool(rows) and tuple(rows[0]) == (METRICS_VERSION, store.revision())


def refresh_store(store) -> bool:
    """Compute and store the metrics of a store whose stored metrics are missing or outdated
    (the migration of a store written before, or by another tool); ``False`` when the store
    cannot be written (the bundled sample, a read-only file, a full disk): a read never fails
    for want of storing what it can compute."""
    if getattr(store, "readonly", False):
        return False

    def work(cur):
        store._lock_metrics(cur)
        refresh(store, cur, incremental=False)

    try:
        store._transaction(work, metrics=SKIP)
    except ParkAtlasError:  # rolled back; the caller computes the metrics on read instead
        return False
    return True


def read_metrics(store) -> pd.DataFrame:
    """The stored metric rows (:data:`METRIC_COLUMNS`); check :func:`current` first."""
    sql = f"SELECT {', '.join(_quote(c) for c in METRIC_COLUMNS)} FROM {METRICS.name}"
    return _select_frame(store, sql, list(METRIC_COLUMNS)).astype(METRIC_COLUMNS)


def _select_frame(store, sql: str, names: list[str]) -> pd.DataFrame:
    """The rows of ``sql`` as a frame of the columns ``names``."""
    if hasattr(store, "_read_sql"):  # the GeoPackage reads it through GDAL into Arrow
        return pd.DataFrame(store._read_sql(sql)[names])
    return pd.DataFrame.from_records(store._query(sql), columns=names)


def _at_one_revision(store, read, attempts: int):
    """``(read(), revision)`` with current stored metrics and no write landing during ``read``; ``None``
    when the metrics cannot be refreshed or writes kept landing."""
    for _ in range(attempts):
        if not current(store) and not refresh_store(store):
            return None
        revision = store.revision()
        result = read()
        if store.revision() == revision:
            return result, revision
    return None


def read_parcels_with_metrics(store, park_id: str | None = None, attempts: int = 3):
    """The parcels (all or one park's) joined with their stored metrics, as
    :func:`geo.evaluation.parcels_with_metrics` returns them; ``None`` when the store keeps none
    (the read-only sample, or a store that is not a SQL store).

    Outdated metrics are refreshed first (once per change made outside ParkAtlas). The parcels
    and the metrics are read from one committed state: if a write lands between the two reads,
    they are read again.
    """
    if not hasattr(store, "_revision_in"):
        return None
    found = _at_one_revision(store, lambda: (store.read_parcels(park_id), read_metrics(store)), attempts)
    return None if found is None else join_metrics(*found[0])


def join_metrics(parcels, metrics: pd.DataFrame):
    """``parcels`` (changed in place and returned) with the stored metric rows: the enterprise
    figures replaced, the metrics and ``grade`` appended (the columns and order of
    :func:`geo.evaluation.metrics_from_frames`)."""
    where = positions_in(parcels.parcel_id, metrics.parcel_id)  # hashed by Arrow, no Python string per id
    if (where < 0).any():
        raise ValueError("stored metrics lack parcels; check geo.store.metrics.current(store) first")
    for column in [*FROM_ENTERPRISE, *PARCEL_METRICS, "grade"]:
        parcels[column] = metrics[column].array.take(where)
    return parcels


def read_parcel_columns(store, columns, attempts: int = 3) -> tuple[pd.DataFrame, str] | None:
    """``columns`` of every parcel — its own and stored metric columns (a stored enterprise figure
    replaces the parcel's, as in :func:`read_parcels_with_metrics`) — without geometry, in the order of
    ``store.read_parcels()``, and the store's revision they were read at; ``None`` when the store keeps
    no metrics. One query joins the two tables. A reader that asks for geometries later
    (``store.read_parcel_geometries``) checks that the revision has not moved meanwhile."""
    if not hasattr(store, "_revision_in"):
        return None
    stored = [c for c in columns if c in METRIC_COLUMNS and c not in ("parcel_id", "version")]
    own = [c for c in columns if c not in stored]
    names = [*own, *stored, "stored_id"]
    order = "p.rowid" if _is_gpkg(store) else "p.parcel_id"  # the order store.read_parcels() gives
    sql = (f"SELECT {', '.join([*(f'p.{_quote(c)}' for c in own), *(f'm.{_quote(c)}' for c in stored)])}, "
           f"m.parcel_id AS stored_id FROM parcels p LEFT JOIN {METRICS.name} m ON m.parcel_id = p.parcel_id "
           f"ORDER BY {order}")
    found = _at_one_revision(store, lambda: _select_frame(store, sql, names), attempts)
    if found is None:
        return None
    frame, revision = found
    if frame.stored_id.isna().any():
        raise ValueError("stored metrics lack parcels; check geo.store.metrics.current(store) first")
    types = {c: PARCEL_COLUMNS[c] for c in own} | {c: METRIC_COLUMNS[c] for c in stored}
    return frame[list(columns)].astype(types), revision


__all__ = ["METRICS_VERSION", "METRIC_COLUMNS", "FROM_ENTERPRISE", "REFRESH", "PARCELS", "UNAFFECTED", "SKIP", "begin", "finish",
           "refresh", "compute", "current", "refresh_store", "read_metrics", "read_parcels_with_metrics", "join_metrics",
           "read_parcel_columns"]
