"""Text encodings of uploads: recover GBK/GB18030 shapefile DBFs, refuse damaged text.

Chinese shapefiles are often GBK without a ``.cpg`` (GDAL then assumes ISO-8859-1 and the
text turns into mojibake) or with a wrong one. The sandbox therefore reads DBF strings as
ISO-8859-1, which maps every byte to one character and loses nothing; here the original bytes
are recovered and decoded with the first encoding that decodes *every* value strictly:
the user's ``--encoding`` alone if given, else UTF-8, the ``.cpg``'s encoding, GBK, GB18030.
Valid UTF-8 by accident is practically impossible for GBK text, so UTF-8 goes first. Text
from other formats is already Unicode; values carrying U+FFFD (a decoder already gave up)
are refused, since the original characters are lost. The store holds UTF-8.
"""
from __future__ import annotations

import codecs

import pandas as pd

from geo.errors import KeyedError

REPLACEMENT = "\ufffd"
_CPG_ALIASES = {"936": "gbk", "cp936": "gbk", "gb2312": "gbk", "65001": "utf-8", "utf8": "utf-8",
                "1252": "cp1252", "ansi 1252": "cp1252", "88591": "latin-1", "8859_1": "latin-1"}


#: Encodings a planner may choose instead of the detected one (GB 2312/GBK/GB 18030, UTF-8, Big5).
ENCODING_CHOICES = ("gbk", "gb18030", "utf-8", "big5")


def _codec(name: str | None) -> str | None:
    """Python codec name for an encoding or .cpg text, or None if unknown."""
    if not name:
        return None
    key = name.strip().lower()
    key = _CPG_ALIASES.get(key, key)
    try:
        return codecs.lookup(key).name
    except LookupError:
        return None


def _raw(text: str) -> bytes:
    """The DBF bytes behind an ISO-8859-1 decoded name (already-Unicode names stay UTF-8)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _string_columns(frame: pd.DataFrame) -> list:
    return [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object]


def _decodes(raw: list[pd.Series], names: list[bytes], codec: str) -> bool:
    try:
        for name in names:
            name.decode(codec)
        for series in raw:
            series.str.decode(codec)
    except (UnicodeDecodeError, AttributeError):
        return False
    return True


def redecode_dbf(frame: pd.DataFrame, *, cpg: str | None, user_encoding: str | None) -> tuple[pd.DataFrame, dict]:
    """Decode ISO-8859-1-read DBF names and strings with the right encoding (see module doc)."""
    columns = _string_columns(frame)
    raw = [frame[c].dropna().astype(str).str.encode("latin-1") for c in columns]
    names = [_raw(str(c)) for c in frame.columns]
    declared = _codec(cpg)
    if user_encoding:
        codec = _codec(user_encoding)
        if codec is None:
            raise KeyedError("import.refused.encoding_unknown", f"--encoding {user_encoding!r} is not a known "
                             "encoding (try GBK, GB18030, UTF-8)", encoding=str(user_encoding)[:40])
        candidates = [codec]
    else:
        candidates = list(dict.fromkeys(c for c in ("utf-8", declared, "gbk", "gb18030") if c))
    for codec in candidates:
        if _decodes(raw, names, codec):
            break
    else:
        tried = ", ".join(candidates)
        raise KeyedError("import.refused.encoding", f"the shapefile's text is not valid in {tried}; give the right --encoding",
                         tried=tried.upper())
    out = frame.copy()
    for column, series in zip(columns, raw):
        out[column] = pd.Series(series.str.decode(codec), index=series.index).reindex(frame.index)
    out.columns = [n.decode(codec) for n in names]
    basis = _basis(codec, declared, cpg, user_encoding)
    info = {"encoding": codec, "cpg": cpg, "basis": basis,
            "method": _EXPLAIN[basis].format(codec=codec, cpg=cpg, declared=declared, user=user_encoding)}
    return out, info


#: Why an encoding was used (``basis``, a key for translated reports) → the English explanation.
_EXPLAIN = {
    "user": "declared by the user ({user})",
    "no_cpg": "no .cpg file; the strings decode as {codec}",
    "unknown_cpg": "the .cpg names an unknown encoding ({cpg!r}); the strings decode as {codec}",
    "cpg_wrong": "the .cpg says {cpg} but the strings are not valid {declared}; they decode as {codec}",
    "cpg": "as the .cpg says ({cpg})",
}


def _basis(codec: str, declared: str | None, cpg: str | None, user: str | None) -> str:
    if user:
        return "user"
    if cpg is None:
        return "no_cpg"
    if declared is None:
        return "unknown_cpg"
    return "cpg_wrong" if declared != codec else "cpg"


def refuse_damaged_text(frame: pd.DataFrame) -> None:
    """Raise if any column name or string value carries U+FFFD (text already lost)."""
    damaged_names = [str(c) for c in frame.columns if REPLACEMENT in str(c)]
    damaged = [str(c) for c in _string_columns(frame)
               if frame[c].astype("string").str.contains(REPLACEMENT, regex=False).any()]
    if damaged_names or damaged:
        where = ", ".join((damaged_names + damaged)[:5])
        raise KeyedError("import.refused.damaged_text", f"text in {where} contains U+FFFD replacement characters "
                         f"(the original characters were lost when the file was saved); re-save it as UTF-8 and "
                         f"upload again", columns=where)
