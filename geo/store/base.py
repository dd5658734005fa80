"""The store interface both backends (GeoPackage, PostGIS) implement and are tested against.

Every write is one transaction: it changes the data and appends its audit rows together, or
changes nothing. Writes take the acting ``user`` (a :class:`geo.auth.User`) so that the role
is checked where the write happens: viewer reads and exports, planner reserves, releases,
edits attributes and sets statuses, admin imports and restores.

The audit log (table ``audit_log``) is append-only. One row per changed field:
``id, at (UTC ISO), user, role, action, parcel_id, park_id, field, old_value, new_value,
project, detail``; values are JSON text. Actions: ``reserve``, ``release``, ``status``,
``edit`` (one field each), ``insert``/``replace``/``delete`` (field ``*``: the whole
feature as a JSON record, geometry as hex WKB), ``import`` (one summary row holding the
import report) and ``restore``. A reservation writes exactly one row; ``reserved_project``,
``reserved_by`` and ``reserved_at`` are that row's project, user and time.
"""
from __future__ import annotations

import abc
import json
import math
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd

from geo.auth import User
from geo.crs import CGCS2000
from geo.errors import KeyedError, KeyedNotFound, ParcelTaken, ParkAtlasError, unknown_park
from geo.idle import DELAY_CAUSES
from geo.lazy import LazyModule
from geo.schema import PARCEL_COLUMNS, PARK_COLUMNS, conform_parcels, conform_parks
from geo.standards import load_standards

gpd = LazyModule("geopandas")
shapely = LazyModule("shapely")

AUDIT_COLUMNS = ["id", "at", "user", "role", "action", "parcel_id", "park_id", "field",
                 "old_value", "new_value", "project", "detail"]
RESERVATION_FIELDS = ("reserved_project", "reserved_by", "reserved_at")
#: Parcel attributes editable through :meth:`Store.update_attributes`; status and
#: reservations have their own audited operations, ids and versions are the store's.
EDITABLE_FIELDS = tuple(c for c in PARCEL_COLUMNS
                        if c not in ("parcel_id", "park_id", "status", "version", *RESERVATION_FIELDS))
#: Park attributes editable through :meth:`Store.update_park` (admin: names, chains, thresholds).
PARK_EDITABLE_FIELDS = tuple(c for c in PARK_COLUMNS if c != "park_id")
LAYER_KEYS = {"parcels": "parcel_id", "parks": "park_id"}
#: Parcel fields that take one of a fixed set of codes (besides status and land use).
PARCEL_CHOICES = {"delay_cause": DELAY_CAUSES}
#: Parcel fields holding a date, kept as ISO text (YYYY-MM-DD): idle land and inefficiency read them.
PARCEL_DATE_FIELDS = ("contract_date", "contract_start_date", "actual_start_date", "stopped_since", "data_as_of")
#: How often a write is retried when the database is busy or the connection dropped.
MAX_ATTEMPTS = 5
#: File mode of stores and backups: they hold planners' names and the audit log.
OWNER_ONLY = 0o600
#: Audit action of a failed sign-in. Not a change of the data: it does not move the revision.
SIGN_IN_FAILED = "sign_in_failed"
#: The newest audit id that changed the data (the store's revision), skipping sign-in records.
DATA_REVISION_SQL = f"SELECT id FROM audit_log WHERE action <> '{SIGN_IN_FAILED}' ORDER BY id DESC LIMIT 1"


def now_iso() -> str:
    """Current UTC time, ISO 8601 with microseconds (sorts as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def as_utc_iso(when: datetime | date) -> str:
    """``when`` as a UTC ISO string; a date means the end of that day (UTC)."""
    if not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day, 23, 59, 59, 999999, tzinfo=timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds")


def plain(value):
    """A Python value for storage and JSON: NA/NaN → None, numpy scalars → Python."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def encode(value) -> str | None:
    """Audit value → JSON text (``None`` stays SQL NULL)."""
    value = plain(value)
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def decode(text):
    return None if text is None else json.loads(text)


#: Types :func:`plain` returns unchanged (NaN floats cannot reach it: missing values are None by then).
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def frame_records(frame: gpd.GeoDataFrame, columns: dict[str, str]) -> list[dict]:
    """Rows as plain dicts of the schema columns plus ``geometry`` as hex WKB.

    Built column by column: :func:`plain` runs only on a column holding something other than
    Python's own scalars (an import of 100,000 parcels called it 3.6 million times).
    """
    table = pd.DataFrame(frame[list(columns)]).astype(object)
    table = table.where(pd.notna(table), None)
    values = []
    for column in columns:
        items = table[column].tolist()
        values.append(items if _PLAIN_TYPES.issuperset(map(type, items)) else [plain(v) for v in items])
    values.append(shapely.to_wkb(frame.geometry.values, hex=True, output_dimension=2).tolist())
    names = [*columns, "geometry"]
    return [dict(zip(names, row)) for row in zip(*values)]


def records_frame(records: list[dict], columns: dict[str, str]) -> gpd.GeoDataFrame:
    """Inverse of :func:`frame_records`."""
    table = pd.DataFrame.from_records(records, columns=[*columns, "geometry"])
    geometry = shapely.from_wkb(table.pop("geometry").to_numpy(dtype=object))
    return gpd.GeoDataFrame(table.astype(columns), geometry=geometry, crs=CGCS2000)


def coerce(field: str, value, columns: dict[str, str] = PARCEL_COLUMNS):
    """A user-supplied value converted to the column's type, or a one-line error."""
    kind = columns[field]
    value = plain(value)
    if value is None or (isinstance(value, str) and not value.strip() and kind != "string"):
        return None
    try:
        if kind == "float64":
            out = float(value)
            if not math.isfinite(out):
                raise ValueError
            return out
        if kind == "Int64":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if kind == "boolean":
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                return lowered in ("true", "1", "yes")
            return bool(value)
    except (TypeError, ValueError):
        raise ParkAtlasError(f"{field}: {value!r} is not a valid {kind} value") from None
    return str(value)


def validate_import(layer: str, frame: gpd.GeoDataFrame, mode: str) -> gpd.GeoDataFrame:
    """The frame conformed to the layer's schema, or a one-line error saying what to fix."""
    if layer not in LAYER_KEYS:
        raise ParkAtlasError(f"cannot import into layer {layer!r}; use parcels or parks")
    if mode not in ("upsert", "replace"):
        raise ParkAtlasError(f"unknown import mode {mode!r}; use upsert or replace")
    if frame is None or len(frame) == 0:
        raise ParkAtlasError(f"nothing to import: the {layer} frame is empty")
    if frame.crs is None:
        raise ParkAtlasError(f"{layer} have no CRS; declare one (e.g. EPSG:4490)")
    frame = frame.copy()
    if layer == "parcels" and "version" not in frame.columns:
        frame["version"] = 1
    frame = conform_parcels(frame) if layer == "parcels" else conform_parks(frame)
    key = LAYER_KEYS[layer]
    ids = frame[key]
    if ids.isna().any() or (ids.str.strip() == "").any():
        raise ParkAtlasError(f"{int((ids.isna() | (ids.fillna('').str.strip() == '')).sum())} "
                             f"{layer} have no {key}; every feature needs one")
    duplicated = ids[ids.duplicated()].unique()
    if len(duplicated):
        raise ParkAtlasError(f"duplicate {key} in the import: {', '.join(map(str, duplicated[:5]))}; "
                             "ids must be unique")
    geoms = frame.geometry.values
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        raise ParkAtlasError(f"{int(bad.sum())} {layer} have an empty geometry, e.g. {ids[bad].iloc[0]}")
    types = shapely.get_type_id(geoms)
    if layer == "parcels":
        single = (types == 6) & (shapely.get_num_geometries(geoms) == 1)
        geoms = np.where(single, shapely.get_geometry(geoms, 0), geoms)
        wrong = shapely.get_type_id(geoms) != 3
        if wrong.any():
            raise ParkAtlasError(f"{int(wrong.sum())} parcels are not single polygons, e.g. "
                                 f"{ids[wrong].iloc[0]}; split multi-part parcels before importing")
        for field, choices in PARCEL_CHOICES.items():
            check_choice(field, frame[field], choices)
        statuses = set(load_standards().statuses.code)
        unknown = sorted(set(frame.status.dropna()) - statuses)
        if unknown or frame.status.isna().any():
            raise ParkAtlasError(f"unknown parcel status {', '.join(unknown) or '(empty)'}; "
                                 f"one of {', '.join(sorted(statuses))}")
    else:
        wrong = ~np.isin(types, (3, 6))
        if wrong.any():
            raise ParkAtlasError(f"{int(wrong.sum())} parks are not polygons, e.g. {ids[wrong].iloc[0]}")
        geoms = np.asarray(geoms, dtype=object).copy()
        polygons = types == 3
        geoms[polygons] = shapely.multipolygons(geoms[polygons], indices=np.arange(int(polygons.sum())))
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        raise ParkAtlasError(f"{int(invalid.sum())} {layer} have invalid geometry, e.g. "
                             f"{ids[invalid].iloc[0]}; repair them first (the importer does)")
    return frame.set_geometry(gpd.array.from_shapely(geoms, crs=CGCS2000))


def unique_ids(parcel_ids) -> list[str]:
    """The ids as strings, in order, without repeats; at least one."""
    ids = list(dict.fromkeys(str(p) for p in parcel_ids))
    if not ids:
        raise ParkAtlasError("give at least one parcel id")
    return ids


def check_found(rows: dict, ids: list[str]) -> None:
    """``NotFoundError`` naming the ids (up to five) that ``rows`` lacks."""
    missing = [pid for pid in ids if pid not in rows]
    if missing:
        raise KeyedNotFound("store.not_found.parcel", f"unknown parcel {', '.join(missing[:5])}; "
                            "see `python cli.py parcels`", ids=missing[:5])


def plan_reservation(rows: dict[str, dict], parcel_ids: list[str], project: str, user: User,
                     available: list[str]) -> tuple[list[str], list[str]]:
    """Split ``parcel_ids`` into (to reserve, already reserved by this user for this project).

    ``rows`` maps parcel id → current ``status``, ``reserved_project``, ``reserved_by`` (read
    under the write lock). Raises when any parcel is missing, taken or not available, so the
    whole request changes nothing.
    """
    check_found(rows, parcel_ids)
    todo, mine = [], []
    for pid in parcel_ids:
        row = rows[pid]
        if row["status"] == "reserved":
            if row["reserved_by"] == user.name and row["reserved_project"] == project:
                mine.append(pid)
                continue
        if row["status"] == "reserved" or row["status"] not in available:
            raise parcel_taken(pid, row, available)
        todo.append(pid)
    return todo, mine


def parcel_taken(pid: str, row: dict, available) -> ParcelTaken:
    """The error for a parcel that cannot be reserved any more, naming who has it."""
    if row["status"] == "reserved":
        return ParcelTaken(pid, "reserved", row["reserved_project"],
                           f"parcel {pid} is already reserved (project {row['reserved_project']}); nothing was "
                           "reserved: choose another parcel or ask its planner to release it")
    return ParcelTaken(pid, row["status"], None,
                       f"parcel {pid} is not available (status {row['status']}); nothing was reserved: only "
                       f"{', '.join(available)} parcels can be reserved")


def reserved_for(parcels: pd.DataFrame, project: str) -> list[str]:
    """The ids of the parcels currently reserved for ``project``, by whichever planner.

    Parameters
    ----------
    parcels : DataFrame
        Parcels with ``parcel_id``, ``status`` and ``reserved_project`` (e.g. :meth:`Store.read_parcels`).
    project : str
        The project name the parcels were reserved under (:meth:`Store.reserve`).

    Returns
    -------
    list of str
        The parcel ids, in the parcels' order; empty when none is reserved for the project.
    """
    mine = (parcels.status == "reserved") & (parcels.reserved_project == project)
    return parcels.loc[mine.fillna(False).astype(bool), "parcel_id"].tolist()


def check_reservation_args(parcel_ids, project: str) -> list[str]:
    ids = unique_ids(parcel_ids)
    if not project or not str(project).strip():
        raise ParkAtlasError("give the project the parcels are reserved for (--project NAME)")
    return ids


def check_changes(changes: dict) -> dict:
    """Validated, typed attribute changes."""
    if not changes:
        raise ParkAtlasError("no changes given")
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ParkAtlasError(f"cannot edit {', '.join(unknown)}; editable: {', '.join(EDITABLE_FIELDS)} "
                             "(status and reservations have their own commands)")
    typed = {field: coerce(field, value) for field, value in changes.items()}
    for field, choices in PARCEL_CHOICES.items():
        check_choice(field, [typed[field]] if typed.get(field) is not None else [], choices)
    land_use = typed.get("land_use_code")
    if land_use is not None and land_use not in set(load_standards().land_use.code):
        raise KeyedError("store.refused.land_use", f"land_use_code {land_use!r} is not a class of "
                         "data/standards/land_use.csv (e.g. 100101 for class 1 industrial land)", value=land_use)
    for field in PARCEL_DATE_FIELDS:
        if typed.get(field) is not None:
            typed[field] = iso_date(field, typed[field])
    return typed


def iso_date(field: str, value: str) -> str:
    """A parcel's date as ISO text, or a one-line error naming the field (``field_key``: its heading)."""
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise KeyedError("store.refused.not_a_date", f"{field} {value!r} is not a date (YYYY-MM-DD)",
                         field_key=f"field.{field}", value=value) from None


def check_choice(field: str, values, choices) -> None:
    """One-line error for the first value of ``field`` outside ``choices`` (missing values pass)."""
    wrong = [v for v in pd.unique(pd.Series(values, dtype="string").dropna()) if v not in choices]
    if wrong:
        # The page names the choices by their labels: the value named after the field is a list of its codes.
        raise KeyedError(f"store.refused.choice.{field}", f"{field} {wrong[0]!r} is not one of {', '.join(choices)}",
                         value=str(wrong[0]), **{field: list(choices)})


def check_park_changes(changes: dict) -> dict:
    """Validated, typed park attribute changes."""
    if not changes:
        raise ParkAtlasError("no changes given")
    unknown = sorted(set(changes) - set(PARK_EDITABLE_FIELDS))
    if unknown:
        raise ParkAtlasError(f"cannot edit park {', '.join(unknown)}; editable: {', '.join(PARK_EDITABLE_FIELDS)}")
    typed = {field: coerce(field, value, PARK_COLUMNS) for field, value in changes.items()}
    negative = [f for f, v in typed.items() if f.startswith("min_") and v is not None and v < 0]
    if negative:
        raise ParkAtlasError(f"{', '.join(negative)} must not be negative")
    return typed


def settable_statuses() -> tuple[str, ...]:
    """Statuses a status change may set: every status of the standards but ``reserved``, which
    only :meth:`Store.reserve` sets (it needs a project)."""
    return tuple(code for code in load_standards().statuses.code if code != "reserved")


def check_status(status: str) -> None:
    if status not in settable_statuses():
        if status == "reserved":
            raise ParkAtlasError("use reserve (with a project) to reserve parcels, not a status change")
        codes = set(load_standards().statuses.code)
        raise ParkAtlasError(f"unknown status {status!r}; one of {', '.join(sorted(codes))}")


def history_frame(rows: list[tuple]) -> pd.DataFrame:
    """Audit rows → a frame with decoded ``old``/``new`` values and ``detail``."""
    rows = [tuple(r) for r in rows]
    columns = {name: [r[i] for r in rows] for i, name in enumerate(AUDIT_COLUMNS)}
    for name in ("old_value", "new_value", "detail"):
        columns[name] = [decode(v) for v in columns[name]]
    frame = pd.DataFrame({name: pd.Series(values, dtype="int64" if name == "id" else object)
                          for name, values in columns.items()})
    frame["at"] = frame["at"].astype(str)
    return frame.rename(columns={"old_value": "old", "new_value": "new"})


def replay_as_of(current: gpd.GeoDataFrame, later: pd.DataFrame) -> gpd.GeoDataFrame:
    """Undo the audit rows in ``later`` (newest first) on ``current`` parcels.

    Version numbers are not reconstructed (``<NA>``): an as-of view is read-only.
    """
    records = {r["parcel_id"]: r for r in frame_records(current, PARCEL_COLUMNS)}
    for row in later.sort_values("id", ascending=False).itertuples(index=False):
        pid = row.parcel_id
        if row.field == "*":
            if row.old is None:
                records.pop(pid, None)
            else:
                records[pid] = dict(row.old)
            continue
        record = records.get(pid)
        if record is None:
            continue
        record[row.field] = row.old
        if row.action == "reserve":
            record.update(dict.fromkeys(RESERVATION_FIELDS))
        elif row.field == "status" and row.old == "reserved":
            detail = row.detail or {}
            record.update(reserved_project=row.project, reserved_by=detail.get("reserved_by"),
                          reserved_at=detail.get("reserved_at"))
    for record in records.values():
        record["version"] = None
    if not records:
        return current.iloc[:0].assign(version=pd.array([], dtype="Int64"))
    return records_frame(list(records.values()), PARCEL_COLUMNS)


class Store(abc.ABC):
    """Parks, parcels and district context, read and written transactionally."""

    location: str

    # --- reads -----------------------------------------------------------------------------
    @abc.abstractmethod
    def read_parks(self) -> gpd.GeoDataFrame:
        """All parks (CGCS2000), conforming to :data:`geo.schema.PARK_COLUMNS`."""

    @abc.abstractmethod
    def read_parcels(self, park_id: str | None = None) -> gpd.GeoDataFrame:
        """Parcels (CGCS2000), all or of one park, conforming to :data:`geo.schema.PARCEL_COLUMNS`."""

    @abc.abstractmethod
    def read_districts(self) -> gpd.GeoDataFrame:
        """District boundaries for map context."""

    @abc.abstractmethod
    def read_city(self):
        """The store's city (:class:`geo.city.City`): names, park groups, chains, extent."""

    @abc.abstractmethod
    def dataset_info(self) -> dict[str, str]:
        """Key/value metadata of the dataset (source, synthetic flag, seed...)."""

    @abc.abstractmethod
    def revision(self) -> str:
        """A cheap token that changes whenever the data change (for cache keys)."""

    # --- writes (each one transaction, audited) -----------------------------------------------
    @abc.abstractmethod
    def import_features(self, layer: str, frame: gpd.GeoDataFrame, *, user: User, mode: str = "upsert",
                        report: dict | None = None) -> dict:
        """Write validated ``parcels`` or ``parks`` all-or-nothing (admin); returns counts written.

        ``mode="upsert"`` inserts new ids and replaces existing ones (unchanged features are
        left alone); ``mode="replace"`` also deletes the features of the parks present in
        ``frame`` that ``frame`` lacks. The import ``report`` is stored with the audit
        entry. Returns ``{"layer", "inserted", "replaced", "unchanged", "deleted", "audit_id"}``.
        """

    @abc.abstractmethod
    def reserve(self, parcel_ids: list[str], *, project: str, user: User) -> dict:
        """Reserve parcels for a project, all or none (planner).

        ``ConflictError`` ("already reserved") if one is taken by someone else. Parcels this
        user already reserved for this project are left as they are (a double click is one
        reservation). Returns ``{"reserved": [...], "already_yours": [...]}``.
        """

    @abc.abstractmethod
    def release(self, parcel_ids: list[str], *, user: User) -> dict:
        """Undo reservations (back to the status before), all or none (planner: own
        reservations; admin: any). Returns ``{"released": {parcel_id: restored_status}}``."""

    @abc.abstractmethod
    def set_status(self, parcel_ids: list[str], status: str, *, user: User, note: str | None = None) -> dict:
        """Change status (occupy, mark idle, ...) (planner). Returns ``{"changed": [...]}``."""

    @abc.abstractmethod
    def update_attributes(self, parcel_id: str, changes: dict, *, user: User,
                          expected_version: int | None = None) -> int:
        """Edit attributes with optimistic concurrency (planner); returns the new version.

        ``ConflictError`` when ``expected_version`` is given and the row has moved on.
        ``data_as_of`` becomes today unless the changes set it.
        """

    @abc.abstractmethod
    def update_park(self, park_id: str, changes: dict, *, user: User) -> dict:
        """Edit a park's attributes, e.g. its entry thresholds (admin); returns the changed
        fields ``{field: new value}``. One ``park_edit`` audit row per changed field."""

    # --- history and operations --------------------------------------------------------------
    @abc.abstractmethod
    def history(self, parcel_id: str | None = None, park_id: str | None = None) -> pd.DataFrame:
        """Audit rows (who, when, what, old → new), oldest first."""

    def parcels_as_of(self, when: datetime | date, park_id: str | None = None) -> gpd.GeoDataFrame:
        """Parcels as they were at ``when`` (a date: its end, UTC), reconstructed from the log."""
        cutoff = as_utc_iso(when)
        if park_id is not None and park_id not in set(self.read_parks().park_id):
            raise unknown_park(park_id)
        current = self.read_parcels()
        log = self.history()
        later = log[(log["at"] > cutoff) & log["parcel_id"].notna()]
        if park_id is not None:
            # Only parcels in the park now or changed since can have been in it then: replay those.
            current = current[(current.park_id == park_id) | current.parcel_id.isin(later.parcel_id)]
        # Parcels the log does not touch after the cutoff are as they are now: replay only the others.
        touched = current.parcel_id.isin(later.parcel_id)
        past = replay_as_of(current[touched], later)
        if not touched.all():
            kept = current[~touched].assign(version=pd.array([None] * int((~touched).sum()), dtype="Int64"))
            past = pd.concat([kept, past.to_crs(kept.crs)], ignore_index=True) if len(past) else kept
        if park_id is not None:
            past = past[past.park_id == park_id]
        return past.sort_values("parcel_id").reset_index(drop=True)

    @abc.abstractmethod
    def integrity_check(self) -> list[str]:
        """Problems found (empty list: the store is sound)."""

    @abc.abstractmethod
    def backup(self, destination: str) -> None:
        """A consistent copy while writers keep working."""

    @abc.abstractmethod
    def restore(self, source: str, *, user: User) -> None:
        """Replace the store's content with a backup after checking the backup (admin)."""


__all__ = ["Store", "AUDIT_COLUMNS", "EDITABLE_FIELDS", "PARK_COLUMNS", "PARCEL_COLUMNS"]
