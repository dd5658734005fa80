"""Enterprises: who uses the land, their yearly figures, and their import and export.

An enterprise is identified by its unified social credit code (``uscc``, GB 32100-2015,
checked by :mod:`geo.uscc`). It uses parcels (``parcel_ids``) or leases floor space
(``leased_floor_m2``) on them, and reports yearly figures (sales, value added, tax,
energy, emissions, R&D, employees). The store keeps two tables (both backends, see
:mod:`geo.store.tables`):

``enterprises``
    One row per enterprise: :data:`ENTERPRISE_COLUMNS`.
``enterprise_figures``
    One row per enterprise and year: :data:`FIGURE_COLUMNS`.

Files (CSV or XLSX) hold one row per enterprise and year with :data:`FILE_COLUMNS`; the
Chinese headers of :data:`CHINESE_HEADERS` are accepted too (see ``docs/enterprises.md``).
:func:`read_enterprise_file` validates a whole file and reports every problem with its row;
a file with any problem is rejected as a whole.

Land of an enterprise: the summed area of its parcels; an enterprise with
``leased_floor_m2`` uses leased floor space, counted as land of
``leased_floor_m2 / leased_plot_ratio`` (the evaluation scheme's setting), and its parcels
only say where it is.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from geo.errors import KeyedError, KeyedNotFound, ParkAtlasError
from geo.metrics import parcel_metrics
from geo.auth import User
from geo.schema import ENTERPRISE_COLUMNS, FIGURE_COLUMNS, GRADE_COLUMNS, split_list
from geo.store.tables import CHAIN_LEADERS, ENTERPRISE_FIGURES, ENTERPRISES, Change, apply_changes, read_table
from geo.textids import first_occurrences, positions_in
from geo.units import m2_to_mu
from geo.uscc import uscc_issue, uscc_problem

FIGURE_VALUES = [c for c in FIGURE_COLUMNS if c not in ("uscc", "year")]
#: Columns of an import or export file, in order: one row per enterprise and year. ``chain_leader``
#: lists the chains the enterprise leads (链主; table ``chain_leaders``, not a column of ``enterprises``).
FILE_COLUMNS = [*ENTERPRISE_COLUMNS, "chain_leader", *(c for c in FIGURE_COLUMNS if c != "uscc")]
LEADER_COLUMNS = ["chain", "uscc"]
#: A ``chain_leader`` cell meaning "leads its own chain" (column ``chain``), or "leads none".
_LEADER_YES = {"是", "yes", "y", "true", "1", "链主"}
_LEADER_NO = {"", "否", "no", "n", "false", "0"}
#: Scales: 规上 (above designated size) and 规下 (below).
SCALES = ("above", "below")
_SCALE_WORDS = {"above": "above", "below": "below", "规上": "above", "规下": "below",
                "规模以上": "above", "规模以下": "below"}
#: Chinese file headers (units in brackets are optional when reading) → column.
CHINESE_HEADERS: dict[str, str] = {
    "统一社会信用代码": "uscc",
    "企业名称": "name",
    "行业代码": "industry_code",
    "产业链": "chain",
    "链主": "chain_leader",
    "企业规模": "scale",
    "地块编号": "parcel_ids",
    "租赁建筑面积(平方米)": "leased_floor_m2",
    "投产日期": "production_start",
    "年度": "year",
    "销售收入(万元)": "sales_wan",
    "工业增加值(万元)": "value_added_wan",
    "实缴税金(万元)": "tax_wan",
    "综合能耗(吨标准煤)": "energy_tce",
    "排放量(吨)": "emissions_t",
    "研发经费(万元)": "rd_wan",
    "从业人数": "employees",
}
#: Column → its Chinese header.
_CHINESE_HEADER = {column: header for header, column in CHINESE_HEADERS.items()}
_EXTRA_HEADERS = {"规模": "scale", "年份": "year", "税收": "tax_wan", "增加值": "value_added_wan",
                  "能耗": "energy_tce", "研发投入": "rd_wan", "职工人数": "employees", "年末从业人员": "employees"}
_NUMBERS = ["leased_floor_m2", *FIGURE_VALUES]
_REQUIRED = ("uscc", "name", "scale", "year")


def _header_key(text) -> str:
    """A header without spaces, case and a bracketed unit: '销售收入（万元）' → '销售收入'."""
    text = re.sub(r"\s+", "", str(text)).lower()
    return re.sub(r"[(（][^)）]*[)）]$", "", text)


_HEADER_INDEX = {**{_header_key(k): v for k, v in CHINESE_HEADERS.items()},
                 **{_header_key(k): v for k, v in _EXTRA_HEADERS.items()},
                 **{c: c for c in FILE_COLUMNS}}


@dataclass
class EnterpriseFile:
    """A read and validated enterprise file.

    Attributes
    ----------
    enterprises : DataFrame
        One row per enterprise (:data:`ENTERPRISE_COLUMNS`); attributes from its latest year's row.
    figures : DataFrame
        One row per enterprise and year (:data:`FIGURE_COLUMNS`).
    leaders : DataFrame or None
        The chains each enterprise leads (``chain``, ``uscc``; from its latest year's row), or
        ``None`` when the file has no ``chain_leader`` column (the stored leaders then stay).
    problems : list of dict
        ``row`` (the file's row number, header = 1), ``column``, ``value``, ``problem`` (English),
        ``kind`` and ``values`` (for :func:`problem_text` in the planner's language); any problem
        rejects the whole file.
    """

    enterprises: pd.DataFrame
    figures: pd.DataFrame
    problems: list[dict] = field(default_factory=list)
    rows: int = 0
    leaders: pd.DataFrame | None = None

    @property
    def accepted(self) -> bool:
        return not self.problems

    def report(self) -> dict:
        """The JSON-able import report: counts and every problem."""
        return {"status": "ok" if self.accepted else "rejected", "rows": self.rows,
                "enterprises": len(self.enterprises), "figure_rows": len(self.figures),
                "years": sorted(int(y) for y in self.figures.year.dropna().unique()),
                "problem_count": len(self.problems), "problems": self.problems}


def problem_text(problem: dict, lang: str) -> str:
    """One problem of an enterprise file in the planner's language (catalogue ``enterprises.problem.<kind>``)."""
    from geo.i18n import t

    return t(f"enterprises.problem.{problem['kind']}", lang, **problem.get("values", {}))


def column_label(column: str, lang: str) -> str:
    """A file column as the planner's file heads it: the Chinese header on a Chinese page, else the column."""
    return _CHINESE_HEADER.get(column, column) if lang == "zh" else column


def file_error_text(error: KeyedError, lang: str) -> str:
    """Why an enterprise file was refused as a whole, in the planner's language (columns as the file heads them)."""
    from geo.i18n import t

    values = dict(error.values)
    if "columns" in values:
        values["columns"] = "、".join(column_label(c, lang) for c in values["columns"]) if lang == "zh" \
            else ", ".join(values["columns"])
    if "column" in values:
        values["column"] = column_label(values["column"], lang)
    return t(error.key, lang, **values)


def _read_table(data: bytes, filename: str) -> pd.DataFrame:
    """The file's cells as text (CSV in UTF-8 or GBK, or the first sheet of an XLSX)."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    try:
        if suffix == "xlsx":
            return pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl")
        if suffix != "csv":
            raise KeyedError("enterprises.file.type", f"cannot read {filename!r}: give a .csv or .xlsx file",
                             file=filename)
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise KeyedError("enterprises.file.encoding", f"{filename}: neither UTF-8 nor GBK text", file=filename)
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except ParkAtlasError:
        raise
    except Exception as exc:  # pandas/openpyxl parse errors: the file is not a table
        raise KeyedError("enterprises.file.unreadable", f"cannot read {filename!r} as a table: "
                         f"{str(exc).splitlines()[0]}", file=filename) from None


def _rename_headers(table: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """The table with :data:`FILE_COLUMNS`, and whether the file had a ``chain_leader`` column."""
    mapping, unknown = {}, []
    for header in table.columns:
        column = _HEADER_INDEX.get(_header_key(header))
        if column is None:
            unknown.append(str(header))
        elif column in mapping.values():
            raise KeyedError("enterprises.file.two_columns", f"two columns mean {column}: {header!r} and another; "
                             "keep one", column=column, header=str(header))
        else:
            mapping[header] = column
    missing = [c for c in _REQUIRED if c not in mapping.values()]
    if missing:
        raise KeyedError("enterprises.file.missing_columns", f"the file lacks the column(s) {', '.join(missing)} "
                         "(Chinese headers: see docs/enterprises.md); found: " + ", ".join(map(str, table.columns)),
                         columns=missing)
    out = table[list(mapping)].rename(columns=mapping)
    for column in FILE_COLUMNS:
        if column not in out.columns:
            out[column] = ""
    return out[FILE_COLUMNS], "chain_leader" in mapping.values()


def _leader_chains(text: pd.DataFrame, chains) -> tuple[pd.Series, list[tuple[int, str, str]]]:
    """Each row's led chains (';'-joined codes) and the problems ``(row index, value, kind, English, values)``."""
    known = set(chains)
    led, problems = [], []
    for i, (cell, own) in enumerate(zip(text.chain_leader, text.chain)):  # rows of a planner's file
        word = cell.lower()
        if word in _LEADER_NO:
            led.append("")
        elif word in _LEADER_YES:
            led.append(own)
            if not own:
                problems.append((i, cell, "leader_needs_chain",
                                 "a chain leader needs its chain (column chain), or name the chain here", {}))
        else:
            codes = split_list(cell.replace("；", ";"))
            wrong = [c for c in codes if c not in known]
            if wrong:
                problems.append((i, cell, "unknown_chain", f"unknown chain {wrong[0]!r} (see `chains list`)",
                                 {"chain": wrong[0]}))
            led.append(";".join(codes))
    return pd.Series(led, index=text.index, dtype=object), problems


def read_enterprise_file(data: bytes, filename: str, parcel_ids=None, chains=None) -> EnterpriseFile:
    """Read and validate an enterprise file (CSV or XLSX, one row per enterprise and year).

    Parameters
    ----------
    data : bytes
        The file's content.
    filename : str
        Its name; ``.csv`` (UTF-8 or GBK) or ``.xlsx`` (first sheet).
    parcel_ids : iterable of str, optional
        The parcels of the store; when given, every listed parcel must be one of them.
    chains : iterable of str, optional
        The chains a ``chain_leader`` cell may name (default ``data/standards/chains.csv``).

    Returns
    -------
    EnterpriseFile
        The typed tables and every problem found (an empty list: the file can be imported).
    """
    raw, has_leaders = _rename_headers(_read_table(data, filename))
    text = raw.fillna("").astype(str).apply(lambda s: s.str.strip())
    problems: list[dict] = []

    def problem(i, column, kind, english, value=None, **values):
        problems.append({"row": int(i) + 2, "column": column, "value": text[column].iloc[i] if value is None else value,
                         "problem": english, "kind": kind, "values": values})

    def flag(mask, column, kind, english):
        for i in np.flatnonzero(np.asarray(mask)):
            problem(i, column, kind, english)

    uscc = text.uscc.str.upper()
    for i, code in enumerate(uscc):
        issue = uscc_issue(code)
        if issue:
            problem(i, "uscc", f"uscc_{issue[0]}", f"social credit code {uscc_problem(code)}", code, **issue[1])
    flag(text.name == "", "name", "name_empty", "enterprise name is empty")
    scale = text.scale.map(_SCALE_WORDS)
    flag(scale.isna(), "scale", "scale", "scale must be above (规上) or below (规下)")
    numbers = {}
    for column in _NUMBERS:
        value = pd.to_numeric(text[column].str.replace(",", "", regex=False), errors="coerce")
        flag((text[column] != "") & value.isna(), column, "not_number", "not a number")
        flag(value < 0, column, "negative", "must not be negative")
        numbers[column] = value
    # A row without a year is an enterprise not producing yet: it may have no figures either.
    has_figures = (text[FIGURE_VALUES] != "").any(axis=1)
    year = pd.to_numeric(text.year, errors="coerce")
    bad_year = ((text.year != "") | has_figures) & (year.isna() | (year % 1 != 0) | (year < 1990) | (year > 2100))
    flag(bad_year, "year", "year", "year must be a whole year such as 2025")
    flag(numbers["employees"].notna() & (numbers["employees"] % 1 != 0), "employees", "whole_number",
         "must be a whole number")
    start = pd.to_datetime(text.production_start, errors="coerce", format="%Y-%m-%d")
    flag((text.production_start != "") & start.isna(), "production_start", "date", "date must look like 2021-06-30")
    lists = text.parcel_ids.map(lambda v: ";".join(split_list(v.replace("；", ";"))))
    if parcel_ids is not None:
        known = set(parcel_ids)
        for i, value in enumerate(lists):
            missing = [p for p in split_list(value) if p not in known]
            if missing:
                problem(i, "parcel_ids", "unknown_parcel", f"unknown parcel {', '.join(missing[:3])}",
                        parcels=", ".join(missing[:3]))
    flag((lists == "") & numbers["leased_floor_m2"].isna(), "parcel_ids", "no_land",
         "give the parcels the enterprise uses, or its leased floor area")
    duplicate = pd.DataFrame({"u": uscc, "y": year}).duplicated(keep="first") & year.notna()
    flag(duplicate, "year", "duplicate_year", "this enterprise and year appear twice")
    if chains is None:
        from geo.standards import load_standards

        chains = load_standards().chains.chain
    led, leader_problems = _leader_chains(text, chains)
    for i, value, kind, english, values in leader_problems:
        problem(i, "chain_leader", kind, english, value, **values)

    table = pd.DataFrame({
        "uscc": uscc, "name": text.name, "industry_code": text.industry_code.replace("", None),
        "chain": text.chain.replace("", None), "chain_leader": led, "scale": scale, "parcel_ids": lists.replace("", None),
        "leased_floor_m2": numbers["leased_floor_m2"],
        "production_start": start.dt.strftime("%Y-%m-%d").where(start.notna(), None),
        "year": year, **{c: numbers[c] for c in FIGURE_VALUES},
    })
    problems.sort(key=lambda p: (p["row"], FILE_COLUMNS.index(p["column"])))
    if problems:
        table = table.iloc[:0]
    enterprises, figures = split_file_table(table)
    leaders = None
    if has_leaders:
        latest = table.sort_values(["uscc", "year"]).drop_duplicates("uscc", keep="last")
        pairs = [(c, u) for u, cells in zip(latest.uscc, latest.chain_leader) for c in split_list(cells)]
        leaders = pd.DataFrame(pairs, columns=LEADER_COLUMNS).astype("string")
    return EnterpriseFile(enterprises, figures, problems, rows=len(raw), leaders=leaders)


def split_file_table(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A file-shaped table → (enterprises, figures); enterprise attributes from the latest year."""
    latest = table.sort_values(["uscc", "year"]).drop_duplicates("uscc", keep="last")
    enterprises = latest[list(ENTERPRISE_COLUMNS)].astype(ENTERPRISE_COLUMNS).reset_index(drop=True)
    figures = table.loc[table.year.notna(), list(FIGURE_COLUMNS)].astype(FIGURE_COLUMNS).sort_values(["uscc", "year"])
    return enterprises, figures.reset_index(drop=True)


def enterprise_file_frame(enterprises: pd.DataFrame, figures: pd.DataFrame, *, chinese: bool = False,
                          leaders: pd.DataFrame | None = None) -> pd.DataFrame:
    """Enterprises and figures as one file-shaped table (one row per enterprise and year).

    Enterprises without figures get one row with an empty year. ``leaders`` (``chain``, ``uscc``:
    the store's ``chain_leaders``) fill the ``chain_leader`` column. ``chinese=True`` uses the
    :data:`CHINESE_HEADERS` (the same file reads back with :func:`read_enterprise_file`).
    """
    led: dict[str, list[str]] = {}
    if leaders is not None:
        for chain, uscc in sorted(zip(leaders.chain.astype(str), leaders.uscc.astype(str))):
            led.setdefault(uscc, []).append(chain)
    table = enterprises.merge(figures, on="uscc", how="left")
    table["chain_leader"] = pd.array([";".join(led.get(u, ())) for u in table.uscc.astype(str)], dtype=object)
    table = table[FILE_COLUMNS]
    table = table.sort_values(["uscc", "year"]).reset_index(drop=True)
    if chinese:
        table = table.rename(columns={v: k for k, v in CHINESE_HEADERS.items()})
    return table


# ------------------------------------------------------------------------------ the store's tables
def read_enterprises(store) -> pd.DataFrame:
    """Every enterprise of ``store`` (:data:`~geo.schema.ENTERPRISE_COLUMNS`), by ``uscc``."""
    return read_table(store, ENTERPRISES)


def read_figures(store, year: int | None = None) -> pd.DataFrame:
    """Yearly figures (:data:`~geo.schema.FIGURE_COLUMNS`) of every year, or of ``year``."""
    return read_table(store, ENTERPRISE_FIGURES, None if year is None else {"year": int(year)})


def import_enterprises(store, enterprises: pd.DataFrame, figures: pd.DataFrame, *, user: User,
                       leaders: pd.DataFrame | None = None) -> dict:
    """Write validated enterprises and figures in one audited transaction (admin).

    Enterprises are replaced by ``uscc``, figures by ``uscc`` and ``year``; other years and
    enterprises stay. With ``leaders`` (the file's ``chain_leader`` column), the chains each
    enterprise of the file leads are replaced by the file's, in the same transaction. Every
    listed parcel must exist, or nothing is written. Returns ``{"enterprises": counts,
    "enterprise_figures": counts}`` (inserted, replaced, unchanged, deleted), and
    ``"chain_leaders"`` with ``leaders``.
    """
    if enterprises.empty:
        raise KeyedError("enterprises.file.no_rows", "nothing to import: the file holds no enterprise rows")
    listed = set(enterprise_parcels(enterprises).parcel_id)
    missing = sorted(listed - set(store.read_parcels().parcel_id))
    if missing:
        raise KeyedNotFound("store.not_found.parcel", f"enterprises use unknown parcel {', '.join(missing[:5])}; "
                            "nothing was imported", ids=missing[:5])
    changes = [Change(ENTERPRISES, upserts=enterprises), Change(ENTERPRISE_FIGURES, upserts=figures)]
    if leaders is not None:
        stored = read_table(store, CHAIN_LEADERS)
        stored = stored[stored.uscc.isin(set(enterprises.uscc))]
        kept = set(zip(leaders.chain, leaders.uscc))
        gone = [(c, u) for c, u in zip(stored.chain, stored.uscc) if (c, u) not in kept]
        changes.append(Change(CHAIN_LEADERS, upserts=leaders, deletes=gone))
    return apply_changes(store, changes, user=user, role="admin", action="enterprise_import")


# ------------------------------------------------------------------------------ land and parcels
#: The characters ``str.strip()`` removes (every one ``str.isspace()`` calls whitespace), for
#: Arrow's trim in :func:`enterprise_parcels`.
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
             "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def enterprise_parcels(enterprises: pd.DataFrame) -> pd.DataFrame:
    """One row per (enterprise, parcel) it lists: ``uscc``, ``parcel_id``, ``leased`` (bool).

    ``parcel_ids`` is split at ``;`` and each id stripped of whitespace, as ``str.split`` and
    ``str.strip`` would, but in Arrow over the whole column (a Python loop over the ids cost a
    second per million at province scale); empty ids are dropped.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    listed = pa.array(enterprises.parcel_ids, type=pa.large_string(), from_pandas=True)
    lists = pc.split_pattern(pc.fill_null(listed, ""), ";")
    ids = pc.utf8_trim(pc.list_flatten(lists), characters=WHITESPACE)
    keep = pc.not_equal(ids, "").to_numpy(zero_copy_only=False)
    rows = pc.list_parent_indices(lists).to_numpy()[keep]
    uscc = pa.array(enterprises.uscc, type=pa.large_string(), from_pandas=True).take(rows)
    leased = enterprises.leased_floor_m2.notna().to_numpy()
    # pandas' own str columns, straight from Arrow (a column of Python strings would be converted to
    # them, and an empty one kept as objects).
    text = pd.StringDtype("pyarrow", na_value=np.nan) if len(rows) else object
    return pd.DataFrame({"uscc": pd.array(uscc, dtype=text), "parcel_id": pd.array(ids.filter(keep), dtype=text),
                         "leased": leased[rows]})


@dataclass(frozen=True)
class ParcelLinks:
    """The enterprises' listed parcels (:func:`enterprise_parcels`) found among the parcels once, as
    integer keys: per (enterprise, parcel) pair, in the same order, the enterprise's row
    (``enterprise``), the parcel's key (``parcel``: its position among the parcels it was linked
    with, -1 if not among them), whether the enterprise leases (``leased``) and the parcel's area in
    亩 (``area_mu``, NaN if not found) and park (``park_id``, None). Made by :func:`link_parcels`; a
    province dataset stores them (:mod:`geo.province`), so that its grading hashes no parcel id."""

    enterprise: np.ndarray
    parcel: np.ndarray
    leased: np.ndarray
    area_mu: np.ndarray
    park_id: np.ndarray


def link_parcels(enterprises: pd.DataFrame, parcels: pd.DataFrame, pairs: pd.DataFrame | None = None) -> ParcelLinks:
    """:class:`ParcelLinks` of ``enterprises`` among ``parcels`` (``parcel_id``, ``park_id`` and
    ``area_mu`` or a geometry), matching the text ids by Arrow's hashing; ``pairs``: the
    :func:`enterprise_parcels` of ``enterprises`` when the caller has them (seconds at millions)."""
    pairs = enterprise_parcels(enterprises) if pairs is None else pairs
    area_all = (parcels.area_mu if "area_mu" in parcels.columns
                else parcel_metrics(parcels).area_mu).to_numpy(dtype=float)
    where = positions_in(pairs.parcel_id, parcels.parcel_id)
    return ParcelLinks(enterprise=positions_in(pairs.uscc, enterprises.uscc), parcel=where,
                       leased=pairs.leased.to_numpy(dtype=bool), area_mu=np.append(area_all, np.nan)[where],
                       park_id=np.append(parcels.park_id.to_numpy(dtype=object), None)[where])


def enterprise_land(enterprises: pd.DataFrame, parcels: pd.DataFrame | None, leased_plot_ratio: float = 1.0, *,
                    pairs: pd.DataFrame | None = None, links: ParcelLinks | None = None) -> pd.DataFrame:
    """Land of each enterprise, indexed by ``uscc``.

    Returns ``land_mu`` (its parcels' area, or its leased floor ÷ ``leased_plot_ratio``),
    ``park_id`` (the park of its largest parcel) and ``parcel_count``. ``pairs``: the
    :func:`enterprise_parcels` of ``enterprises`` when the caller has them (seconds at millions);
    ``links``: its parcels already found (:func:`link_parcels`; ``parcels`` is then not read).
    """
    n = len(enterprises)
    links = link_parcels(enterprises, parcels, pairs) if links is None else links
    who = links.enterprise
    found = links.parcel >= 0
    area = np.where(found, links.area_mu, 0.0)
    owned = found & ~links.leased
    land = np.bincount(who[owned], area[owned], minlength=n)
    has_owned = np.bincount(who[owned], minlength=n) > 0
    # The park of each enterprise's largest parcel, the first listed among equals (or, if none has a
    # known area, its first found): two scatters over the pairs, not a sort of millions of them.
    largest = np.full(n, -np.inf)
    np.fmax.at(largest, who[found], area[found])
    top = np.flatnonzero(found & ((area == largest[who]) | np.isneginf(largest[who])))
    first = np.full(n, len(who))
    np.minimum.at(first, who[top], top)
    chosen = first < len(who)
    park = np.full(n, None, dtype=object)
    park[chosen] = links.park_id[first[chosen]]
    leased_mu = m2_to_mu(enterprises.leased_floor_m2.to_numpy(dtype=float, na_value=np.nan) / leased_plot_ratio)
    out = pd.DataFrame({"land_mu": np.where(np.isnan(leased_mu), np.where(has_owned, land, np.nan), leased_mu),
                        "park_id": pd.array(park, dtype=object), "parcel_count": np.bincount(who, minlength=n)},
                       index=pd.Index(enterprises.uscc.to_numpy(dtype=object), dtype=object, name="uscc"))
    return out


def latest_year(figures: pd.DataFrame) -> int | None:
    """The newest year with figures, or ``None`` without any."""
    years = figures.year.dropna()
    return int(years.max()) if len(years) else None


#: Parcel column ← the enterprise figure shared among its parcels by area.
PARCEL_FIGURES = {"output_wan": "sales_wan", "tax_wan": "tax_wan", "employees": "employees"}


def listed_parcels(enterprises: pd.DataFrame, usccs, *, pairs: pd.DataFrame | None = None,
                   links: ParcelLinks | None = None) -> tuple[np.ndarray, object, np.ndarray]:
    """Per (enterprise, parcel) pair the enterprises list: the enterprise's position among ``usccs``
    (-1 if absent), the parcel (its text id, or its integer key given ``links``) and whether the
    enterprise leases. ``pairs``: the :func:`enterprise_parcels` of ``enterprises`` when the caller
    has them; ``links``: those pairs already found among the parcels (:func:`link_parcels`)."""
    if links is not None:
        return np.append(positions_in(enterprises.uscc, usccs), -1)[links.enterprise], links.parcel, links.leased
    pairs = enterprise_parcels(enterprises) if pairs is None else pairs
    return positions_in(pairs.uscc, usccs), pairs.parcel_id, pairs.leased.to_numpy(dtype=bool)


def parcel_figures(enterprises: pd.DataFrame, figures: pd.DataFrame, area_mu: pd.Series | None,
                   year: int | None = None, *, pairs: pd.DataFrame | None = None,
                   links: ParcelLinks | None = None) -> pd.DataFrame:
    """Each enterprise's figures of ``year`` (default: the latest) shared among its parcels by area.

    ``area_mu`` gives the area of (at least) the enterprises' parcels, indexed by parcel id; only
    parcels an enterprise uses (not as a tenant) are returned. Returns one row per such parcel,
    indexed by ``parcel_id``, with the columns of :data:`PARCEL_FIGURES` (NaN where the figure is
    not reported). Needs only areas, so a Dask path that sees one park at a time shares exactly
    as the whole store does. ``pairs``: as for :func:`enterprise_land`; given ``links``
    (:func:`link_parcels`), the areas are theirs (``area_mu`` is not read) and the rows are indexed
    by the parcels' keys (``parcel_key``).
    """
    year = latest_year(figures) if year is None else year
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in PARCEL_FIGURES},
                         index=pd.Index([], name="parcel_id" if links is None else "parcel_key"))
    if year is None or enterprises.empty:
        return empty
    of_year = figures[figures.year == year].drop_duplicates("uscc")
    # By position (isin, reindex and a group-by on the ids' text cost seconds per million pairs).
    row, keys, leased = listed_parcels(enterprises, of_year.uscc, pairs=pairs, links=links)
    use = ~leased & (row >= 0)
    use[use] = first_occurrences(keys[use])  # a parcel listed twice goes to its first enterprise
    if links is None:  # ids kept as text columns: millions of Python strings cost seconds
        area = np.append(area_mu.to_numpy(dtype=float), np.nan)[positions_in(keys[use], area_mu.index)]
    else:
        area = links.area_mu[use]
    known = ~np.isnan(area)
    kept = np.flatnonzero(use)[known]
    if not len(kept):
        return empty
    row, area = row[kept], area[known]
    share = area / pd.Series(area).groupby(row).transform("sum").to_numpy()
    index = pd.Index(keys.array[kept], name="parcel_id") if links is None else pd.Index(keys[kept], name="parcel_key")
    return pd.DataFrame({column: of_year[source].to_numpy(dtype=float, na_value=np.nan)[row] * share
                         for column, source in PARCEL_FIGURES.items()}, index=index)


def with_parcel_figures(parcels: pd.DataFrame, shared: pd.DataFrame) -> pd.DataFrame:
    """``parcels`` with the values of :func:`parcel_figures` where known; other parcels keep theirs."""
    if shared.empty:
        return parcels
    position = pd.Index(parcels.parcel_id.to_numpy(dtype=object)).get_indexer(shared.index)
    present = position >= 0
    return place_parcel_figures(parcels, position[present],
                                {column: shared[column].to_numpy(dtype=float)[present] for column in PARCEL_FIGURES})


def place_parcel_figures(parcels: pd.DataFrame, rows: np.ndarray, figures: dict[str, np.ndarray]) -> pd.DataFrame:
    """``parcels`` whose rows at positions ``rows`` take ``figures`` (column of :data:`PARCEL_FIGURES`
    → values aligned with ``rows``) where not NaN; the other values stay."""
    out = parcels.copy()
    for column in PARCEL_FIGURES:
        if column not in out.columns:
            continue
        values = figures[column]
        known = ~np.isnan(values)
        target = np.array(out[column].to_numpy(dtype=float, na_value=np.nan))
        target[rows[known]] = values[known]
        out[column] = pd.array(np.round(target), dtype="Int64") if column == "employees" else target
    return out


def apply_enterprise_figures(parcels: pd.DataFrame, enterprises: pd.DataFrame, figures: pd.DataFrame,
                             year: int | None = None, area_mu: np.ndarray | None = None) -> pd.DataFrame:
    """``parcels`` whose ``output_wan``, ``tax_wan`` and ``employees`` come from their enterprise.

    Where an enterprise uses a parcel (not as a tenant) and has figures for ``year`` (default:
    the latest), its sales, tax and employees are shared among its parcels by area
    (:func:`parcel_figures`); other parcels keep their own values. ``area_mu``: the parcels'
    areas when known (else computed).
    """
    if enterprises.empty:
        return parcels
    area_mu = parcel_metrics(parcels).area_mu.to_numpy() if area_mu is None else area_mu
    area = pd.Series(area_mu, index=parcels.parcel_id.to_numpy(dtype=object))
    return with_parcel_figures(parcels, parcel_figures(enterprises, figures, area, year))


def production_years(enterprises: pd.DataFrame, as_of: date) -> pd.Series:
    """Years since production started (NaN: not producing), by ``uscc``."""
    start = pd.to_datetime(enterprises.production_start, errors="coerce", format="%Y-%m-%d")
    years = (pd.Timestamp(as_of) - start).dt.days / 365.25
    return pd.Series(years.to_numpy(), index=enterprises.uscc.to_numpy())


__all__ = ["ENTERPRISE_COLUMNS", "FIGURE_COLUMNS", "FILE_COLUMNS", "LEADER_COLUMNS", "CHINESE_HEADERS", "SCALES",
           "EnterpriseFile", "read_enterprise_file", "enterprise_file_frame", "enterprise_land", "ParcelLinks",
           "link_parcels", "listed_parcels",
           "enterprise_parcels", "apply_enterprise_figures", "problem_text", "column_label", "file_error_text", "parcel_figures", "with_parcel_figures", "place_parcel_figures", "latest_year", "production_years",
           "read_enterprises", "read_figures", "import_enterprises", "GRADE_COLUMNS"]
