"""Attribute edits as the store would keep them: what a form or an edited table changed.

A form or table shows a parcel's editable attributes (:data:`geo.store.base.EDITABLE_FIELDS`)
as opened; what the user typed comes back as widget values. These helpers compare both in the
store's own typing (:func:`geo.store.base.coerce`), so that a float shown as ``12.0`` and read
back as ``12`` or a cell emptied to ``""`` is no change, and they give the changes in the shape
:meth:`geo.store.base.Store.update_attributes` takes.
"""
from __future__ import annotations

import pandas as pd

from geo.errors import ParkAtlasError
from geo.schema import PARCEL_COLUMNS
from geo.store.base import EDITABLE_FIELDS, coerce


def stored_value(field: str, value):
    """A value typed as the store would keep it, for comparing edits with what was shown.

    Parameters
    ----------
    field : str
        A parcel column of :data:`geo.schema.PARCEL_COLUMNS`.
    value : object
        What the form or table holds; a blank string is no value.

    Returns
    -------
    object
        ``None`` for a missing or blank value, else the value converted to the column's type;
        a value the column cannot take is returned unchanged, so that it still counts as a
        change and the store's write gives the user its one-line error.
    """
    if isinstance(value, str) and not value.strip():
        return None
    try:
        return coerce(field, value)
    except ParkAtlasError:
        return value


def editable_record(row: pd.Series) -> dict:
    """The editable attributes of one parcel row as plain Python values.

    Parameters
    ----------
    row : Series
        A parcel row holding every field of :data:`geo.store.base.EDITABLE_FIELDS`.

    Returns
    -------
    dict
        Field → :func:`stored_value`, in the order of ``EDITABLE_FIELDS``.
    """
    return {field: stored_value(field, row[field]) for field in EDITABLE_FIELDS}


def changed_fields(before: dict, after: dict) -> dict:
    """The fields whose value differs between ``before`` and ``after`` in store typing.

    Parameters
    ----------
    before : dict
        Field → value as shown (e.g. :func:`editable_record`); a field it lacks counts as empty.
    after : dict
        Field → value as submitted.

    Returns
    -------
    dict
        Field → new value (:func:`stored_value`) for each field of ``after`` that changed.
    """
    return {field: new for field, value in after.items()
            if (new := stored_value(field, value)) != stored_value(field, before.get(field))}


def table_changes(base: pd.DataFrame, edited: pd.DataFrame) -> dict[str, dict]:
    """Parcel id → changed fields between a parcel table as opened and as edited.

    Parameters
    ----------
    base : DataFrame
        The table as opened: ``parcel_id`` and editable attribute columns.
    edited : DataFrame
        The same rows after editing; only columns of
        :data:`geo.store.base.EDITABLE_FIELDS` are compared, and a cell left blank (``""``
        or whitespace) is no value, as in the store.

    Returns
    -------
    dict
        Parcel id → {field: new value (:func:`stored_value`)} for the rows with a change, in
        the table's row order and the fields in column order; rows without change are absent.
    """
    columns = [c for c in EDITABLE_FIELDS if c in edited.columns]
    types = {c: PARCEL_COLUMNS[c] for c in columns}
    before = base.set_index("parcel_id")[columns].astype(types)
    # A cell typed into and emptied again comes back as "": that is no value, as in the store.
    after = edited.set_index("parcel_id")[columns].replace(r"^\s*$", None, regex=True)
    after = after.astype(types).reindex(before.index)
    differs = ((before != after).fillna(True) & ~(before.isna() & after.isna())).astype(bool)
    cells = differs.stack()
    changes: dict[str, dict] = {}
    for parcel_id, field in cells.index[cells.to_numpy()]:
        changes.setdefault(parcel_id, {})[field] = stored_value(field, after.at[parcel_id, field])
    return changes
