"""Text ids (parcel ids, USCCs, park ids) looked up and encoded by Arrow's hashing, without a
Python object per id: enterprises, the evaluation, matching and the province pass share them
(:func:`first_occurrences` takes the province's integer parcel keys too)."""
from __future__ import annotations

import numpy as np


def arrow_text(values):
    """``values`` (a pandas column, index or array of text) as one Arrow string array: 32-bit offsets
    when they fit (Arrow hashes those faster than pandas' 64-bit ones)."""
    import pyarrow as pa

    text = pa.array(values, type=pa.large_string(), from_pandas=True)
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    return text.cast(pa.string()) if text.nbytes < 2**31 - 1 else text


def positions_in(values, labels) -> np.ndarray:
    """Position of each of ``values`` among ``labels`` (text ids; the first if repeated), -1 where absent.

    Hashed by Arrow, without a Python object per id: a pandas index of object ids costs ~0.5 µs per id.
    """
    import pyarrow.compute as pc

    found = pc.index_in(arrow_text(values), value_set=arrow_text(labels))
    return pc.fill_null(found, -1).to_numpy().astype(np.intp)


def first_occurrences(values) -> np.ndarray:
    """Which of ``values`` (text ids, or integer keys as a numpy array) is the first of its value, as
    ``~pandas.Series.duplicated()``."""
    import pyarrow.compute as pc

    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        if not len(values):
            return np.zeros(0, dtype=bool)
        # Keys are positions (a few million at most): the first index of each, scattered into a table
        # of them, is several times faster than sorting them (np.unique).
        keys = values - values.min()
        order = np.arange(len(keys))
        first = np.full(int(keys.max()) + 1, len(keys), dtype=np.int64)
        np.minimum.at(first, keys, order)
        return first[keys] == order
    codes = pc.dictionary_encode(arrow_text(values)).indices.to_numpy()
    # Codes are numbered in order of first appearance: a first occurrence is above every code before it.
    return codes > np.maximum.accumulate(np.r_[-1, codes[:-1]]) if len(codes) else np.zeros(0, dtype=bool)
