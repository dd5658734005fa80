"""The one formatter for values a planner sees: on pages and in planner-facing exports.

Every value shown passes :func:`format_value` (one value) or :func:`format_frame` (a table by
column kind): codes become catalogue labels (statuses, land use, groups, chains, industries,
match criteria), booleans 是/否, areas 亩 with thousands separators and fixed decimals, money
万元 (亿元 from 10,000 万元 when the unit is in the cell), ratios percentages, dates and times
local (``PARKATLAS_TZ``, default Asia/Shanghai) to the minute, changes with sign and unit. Missing
values are "–". English uses English units (mu, 10k yuan).

A *kind* says how a column is formatted; :func:`column_kind` knows the kinds of the store's
columns and metrics, and any column it does not know (a planner's own imported field) is text
under its own name. Numbers go through Babel (:mod:`geo.i18n`).
"""
from __future__ import annotations

import math
import os
from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from geo import i18n

DEFAULT_TZ = "Asia/Shanghai"

#: kind → (decimals, unit key in the catalogue or None). Numeric kinds only.
NUMERIC_KINDS: dict[str, tuple[int, str | None]] = {
    "area_mu": (2, "unit.mu"),
    "area_m2": (0, "unit.m2"),
    "area_ha": (2, "unit.ha"),
    "wan": (1, "unit.wan"),
    "wan_per_mu": (1, "unit.wan_per_mu"),
    "ratio": (2, None),
    "number": (2, None),
    "integer": (0, None),
    "score": (1, None),
    "coord": (7, None),
    "km": (1, "unit.km"),
    "kva": (0, "unit.kva"),
    "t_per_day": (0, "unit.t_per_day"),
}
#: Kinds whose value is a code with a label in the catalogue or the standards tables.
LABEL_KINDS = ("status", "land_use", "group", "chain", "industry", "criterion", "theme", "grade", "delay_cause")
KINDS = (*NUMERIC_KINDS, "percent", "money", "bool", "date", "datetime", "change", "list", "id", "text",
         *LABEL_KINDS)

_BY_NAME = {
    "status": "status", "land_use_code": "land_use", "land_use": "land_use", "group": "group",
    "chain": "chain", "industry_code": "industry", "criterion": "criterion", "theme": "theme", "grade": "grade",
    "parcel_id": "id", "park_id": "id", "block_id": "id", "enterprise": "text", "name": "text",
    "area_mu": "area_mu", "area_m2": "area_m2", "area_ha": "area_ha", "floor_area_m2": "area_m2",
    "footprint_m2": "area_m2", "plot_ratio": "ratio", "building_coefficient": "percent",
    "occupancy_rate": "percent", "admin_share": "percent", "score": "score", "contribution": "score",
    "weight": "percent", "employees": "integer", "jobs": "integer", "parcels": "integer",
    "parcel_count": "integer", "version": "integer", "rank": "integer", "power_kva": "kva",
    "water_t_per_day": "t_per_day", "land_ready": "bool", "gas": "bool", "needs_disposal": "bool",
    "pass": "bool", "data_as_of": "date", "reserved_at": "datetime", "at": "datetime",
    "parcel_ids": "list", "district_code": "id", "lon": "coord", "lat": "coord", "count": "integer",
    "name_zh": "text", "name_en": "text", "park_name_zh": "text", "park_name_en": "text",
    "structures_footprint_m2": "area_m2", "yard_area_m2": "area_m2", "floor_area_over_8m_m2": "area_m2",
    "stopped_since": "date", "delay_cause": "delay_cause",
}
_BY_SUFFIX = (("_count", "integer"), ("_per_mu_wan", "wan_per_mu"), ("_wan", "wan"), ("_area_mu", "area_mu"), ("_mu", "area_mu"),
              ("_km", "km"), ("_rate", "percent"), ("_date", "date"), ("_at", "datetime"), ("_ids", "list"))


#: Statistic suffixes of KPI columns (``output_per_mu_wan_median``): the base column's kind and heading.
_STATISTICS = ("_mean", "_median")


def column_kind(column: str) -> str:
    """The kind of a known store, metric or result column; ``"text"`` for any other (imported) name."""
    if column in _BY_NAME:
        return _BY_NAME[column]
    if column.startswith("grade_"):
        return "integer"
    for statistic in _STATISTICS:
        if column.endswith(statistic):
            return column_kind(column[: -len(statistic)])
    for suffix, kind in _BY_SUFFIX:
        if column.endswith(suffix):
            return kind
    return "text"


def header(column: str, lang: str = i18n.DEFAULT_LANG) -> str:
    """A column's heading: ``col.<name>``, else ``field.<name>`` from the catalogue, else the name itself
    (a planner's own imported field keeps the name it came with)."""
    cat = i18n.catalogue(lang)
    known = cat.get(f"col.{column}") or cat.get(f"field.{column}")
    if known:
        return known
    for statistic in _STATISTICS:
        if column.endswith(statistic):
            base = column[: -len(statistic)]
            if cat.get(f"col.{base}") or cat.get(f"field.{base}"):
                return i18n.t(f"col.stat{statistic}", lang, name=header(base, lang))
    if column.startswith("grade_"):
        return i18n.t("col.grade_count", lang, grade=column[len("grade_"):])
    return str(column)


def local_zone() -> ZoneInfo:
    """The planners' time zone (``PARKATLAS_TZ``, default Asia/Shanghai)."""
    return ZoneInfo(os.environ.get("PARKATLAS_TZ") or DEFAULT_TZ)


def is_missing(value) -> bool:
    """None, NaN, NA and NaT (not empty strings or lists)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return False


def _as_datetime(value) -> datetime | None:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def local_datetime(value) -> datetime | None:
    """A timestamp (ISO text, datetime) in local time, naive, to the minute; naive input counts as UTC."""
    when = _as_datetime(value)
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(local_zone()).replace(tzinfo=None, second=0, microsecond=0)


def format_date(value, lang: str = i18n.DEFAULT_LANG) -> str:
    """A date as ``2026-12-02`` (a timestamp: its local date)."""
    if is_missing(value) or value == "":
        return "–"
    if isinstance(value, str) and len(value.strip()) == 10:
        when = _as_datetime(value)
        return when.strftime("%Y-%m-%d") if when else str(value)
    when = _as_datetime(value)
    if when is None:
        return str(value)
    if when.tzinfo is not None:
        when = when.astimezone(local_zone())
    return when.strftime("%Y-%m-%d")


def format_datetime(value, lang: str = i18n.DEFAULT_LANG) -> str:
    """A timestamp in local time to the minute: ``2026-12-02 16:14`` (no seconds, no offset)."""
    if is_missing(value) or value == "":
        return "–"
    when = local_datetime(value)
    return when.strftime("%Y-%m-%d %H:%M") if when else str(value)


def format_bool(value, lang: str = i18n.DEFAULT_LANG) -> str:
    """是/否 (Yes/No); "–" when unknown."""
    if is_missing(value):
        return "–"
    if isinstance(value, str):
        value = value.strip().lower() in ("true", "1", "yes", "y", "t")
    return i18n.t("value.yes" if bool(value) else "value.no", lang)


def format_money(value, lang: str = i18n.DEFAULT_LANG, digits: int = 1) -> str:
    """Money given in 万元 with its unit: 万元 below 10,000 万元, 亿元 from there on (2 decimals)."""
    if is_missing(value):
        return "–"
    if abs(float(value)) >= 10_000:
        return f"{i18n.format_number(float(value) / 10_000, lang, 2)} {i18n.t('unit.yi', lang)}"
    return f"{i18n.format_number(value, lang, digits)} {i18n.t('unit.wan', lang)}"


def format_percent(value, lang: str = i18n.DEFAULT_LANG, digits: int = 1) -> str:
    """A ratio (0.751) as a percentage (75.1%)."""
    if is_missing(value):
        return "–"
    return i18n.format_percent_value(float(value), lang, digits)


def _unit(kind: str, lang: str) -> str:
    unit = NUMERIC_KINDS[kind][1]
    return i18n.t(unit, lang) if unit else ""


def format_number_kind(value, kind: str, lang: str = i18n.DEFAULT_LANG, unit: bool = True,
                       digits: int | None = None) -> str:
    """A number of a numeric kind with its fixed decimals and (optionally) its unit."""
    if is_missing(value):
        return "–"
    places = NUMERIC_KINDS[kind][0] if digits is None else digits
    text = i18n.format_number(float(value), lang, places)
    suffix = _unit(kind, lang) if unit else ""
    return f"{text} {suffix}" if suffix else text


def format_delta(before, after, kind: str, lang: str = i18n.DEFAULT_LANG) -> str:
    """The signed change from ``before`` to ``after`` with its unit: ``+10.00 亩``; percentages in
    percentage points (``−2.0 个百分点``); "–" when either is missing."""
    if is_missing(before) or is_missing(after):
        return "–"
    delta = float(after) - float(before)
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    if kind == "percent":
        return f"{sign}{i18n.format_number(abs(delta) * 100, lang, 1)} {i18n.t('unit.pp', lang)}"
    return f"{sign}{format_value(abs(delta), kind, lang)}"


def format_change(before, after, kind: str, lang: str = i18n.DEFAULT_LANG) -> str:
    """``before → after`` with the signed change and unit: ``1,110.00 亩 → 1,120.00 亩（+10.00 亩）``."""
    text = f"{format_value(before, kind, lang)} → {format_value(after, kind, lang)}"
    if is_missing(before) or is_missing(after):
        return text
    open_, close = ("（", "）") if lang == "zh" else (" (", ")")
    return f"{text}{open_}{format_delta(before, after, kind, lang)}{close}"


@lru_cache(maxsize=16)
def _labels(kind: str, lang: str) -> dict:
    from geo.matching import load_weights  # matching imports this module's neighbours, not this one
    from geo.standards import load_standards

    s = load_standards()
    zh = lang == "zh"
    if kind == "status":
        return i18n.status_labels(lang, s)
    if kind == "land_use":
        return i18n.land_use_labels(lang, s)
    if kind == "chain":
        return dict(zip(s.chains.chain, s.chains.name_zh if zh else s.chains.name_en))
    if kind == "industry":
        names = s.industries.name_zh if zh else s.industries.name_en
        return {code: f"{code} {name}" for code, name in zip(s.industries.code_2017, names)}
    if kind == "criterion":
        weights = load_weights()
        out = {k[len("match.criterion."):]: v for k, v in i18n.catalogue(lang).items()
               if k.startswith("match.criterion.")}
        out.update(zip(weights.criterion, weights.label_zh if zh else weights.label_en))
        return out
    return {}


def label(code, kind: str, lang: str = i18n.DEFAULT_LANG, city=None) -> str:
    """The catalogue label of a code of ``kind`` (status, land_use, group, chain, industry, criterion, theme,
    grade); the code itself when unknown. Park groups are the store's city's: without ``city`` (a
    :class:`geo.city.City`) a group is shown by its id."""
    if is_missing(code) or code == "":
        return "–"
    if kind == "group":
        return city.group_name(code, lang) if city is not None else str(code)
    if kind == "theme":
        return i18n.label_theme(code, lang)
    if kind == "grade":
        return str(code)
    if kind == "delay_cause":  # 闲置土地处置办法 第八条
        return i18n.catalogue(lang).get(f"delay_cause.{code}", str(code))
    return str(_labels(kind, i18n.check_lang(lang)).get(code, code))


def format_value(value, kind: str = "text", lang: str = i18n.DEFAULT_LANG, *, unit: bool = True) -> str:
    """One value as a planner writes it (see the module's docstring for the kinds).

    ``unit=False`` leaves the unit out (a table whose heading carries it). A ``text`` value is
    still cleaned: a boolean is 是/否, a float gets grouping and two decimals, a list is joined,
    a mapping becomes ``key: value`` pairs — never a Python repr.
    """
    if isinstance(value, list | tuple | set | np.ndarray) and kind != "change":
        items = [format_value(v, "text" if kind == "list" else kind, lang, unit=unit) for v in value]
        return ("、" if lang == "zh" else ", ").join(items) if items else "–"
    if is_missing(value):
        return "–"
    if kind in NUMERIC_KINDS:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return value
        return format_number_kind(value, kind, lang, unit)
    if kind == "percent":
        return format_percent(value, lang)
    if kind == "money":
        return format_money(value, lang)
    if kind == "bool":
        return format_bool(value, lang)
    if kind == "date":
        return format_date(value, lang)
    if kind == "datetime":
        return format_datetime(value, lang)
    if kind in LABEL_KINDS:
        return label(value, kind, lang)
    if kind == "id":
        return str(value)
    # text (and anything unknown): never a repr
    if isinstance(value, bool | np.bool_):
        return format_bool(value, lang)
    if isinstance(value, dict):
        sep = "；" if lang == "zh" else "; "
        return sep.join(f"{header(k, lang)}: {format_value(v, column_kind(str(k)), lang)}" for k, v in value.items())
    if isinstance(value, int | np.integer):
        return i18n.format_number(value, lang, 0)
    if isinstance(value, float | np.floating):
        return i18n.format_number(value, lang, 0 if float(value).is_integer() else 2)
    if isinstance(value, datetime | pd.Timestamp):
        return format_datetime(value, lang)
    if isinstance(value, date):
        return format_date(value, lang)
    return str(value)


def format_field_value(field: str, value, lang: str = i18n.DEFAULT_LANG) -> str:
    """A value of the store field ``field`` (an audit row's old or new value), with its unit."""
    return format_value(value, column_kind(field), lang)


def format_message_values(values: dict, lang: str = i18n.DEFAULT_LANG) -> dict[str, str]:
    """A keyed error's values (:class:`geo.errors.KeyedError`) as a planner writes them, by their names:
    a ``status``, a ``stage`` (``from_stage``, ``to_stage``) or a ``role`` (``needed_role``) by its label,
    a ``…_key`` (a field's heading in the catalogue, e.g. ``projects.col_signed_on``) by its text,
    numbers, dates and lists through :func:`format_value`; text the error prepared stays as it is."""
    out = {}
    for name, value in values.items():
        labelled = next((kind for kind in ("stage", "role") if name == kind or name.endswith(f"_{kind}")), None)
        if name.endswith("_key"):
            out[name] = i18n.t(str(value), lang)
        elif labelled:
            out[name] = "–" if is_missing(value) else i18n.catalogue(lang).get(f"{labelled}.{value}", str(value))
        elif isinstance(value, str) and column_kind(name) not in LABEL_KINDS:
            out[name] = value
        else:
            out[name] = format_field_value(name, value, lang)
    return out


def _format_column(series: pd.Series, kind: str, lang: str, unit: bool) -> pd.Series:
    if kind in NUMERIC_KINDS and pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        text = i18n.format_numbers(series.to_numpy(dtype=float), lang, NUMERIC_KINDS[kind][0])
        suffix = _unit(kind, lang) if unit else ""
        if suffix:
            text = text.where(text == "–", text + " " + suffix)
        return pd.Series(text.to_numpy(), index=series.index, dtype=object)
    # Each distinct value once (labels, dates): tables repeat a few codes many times.
    values = series.astype(object)
    try:
        codes, distinct = pd.factorize(values)  # missing values get code -1
    except TypeError:  # unhashable values (lists, dicts): one by one
        return values.map(lambda v: format_value(v, kind, lang, unit=unit))
    if kind in ("text", "id") and pd.api.types.infer_dtype(distinct, skipna=False) == "string":
        texts = np.append(np.asarray(distinct, dtype=object), "–")  # plain text is shown as it is
    else:
        texts = np.array([*(format_value(v, kind, lang, unit=unit) for v in distinct), "–"], dtype=object)
    return pd.Series(texts[codes], index=series.index, dtype=object)


def _export_column(series: pd.Series, kind: str, lang: str) -> pd.Series:
    """Export cells: numbers stay numbers (rounded), timestamps local naive, everything else text."""
    if kind in NUMERIC_KINDS or kind in ("percent", "score"):
        numbers = pd.to_numeric(series, errors="coerce")
        digits = NUMERIC_KINDS[kind][0] if kind in NUMERIC_KINDS else 4
        return numbers.round(digits).astype(object).where(numbers.notna(), None)
    if kind in ("datetime", "date"):
        return series.map(lambda v: None if is_missing(v) or v == "" else format_value(v, kind, lang)).astype(object)
    if kind == "id":
        return series.map(lambda v: None if is_missing(v) else str(v)).astype(object)
    return _format_column(series, kind, lang, unit=True).replace({"–": None})


def format_frame(frame: pd.DataFrame, lang: str = i18n.DEFAULT_LANG, kinds: dict[str, str] | None = None, *,
                 headers: bool | dict[str, str] = True, units: bool = False, for_export: bool = False,
                 drop: tuple[str, ...] = ("geometry",), city=None) -> pd.DataFrame:
    """A table formatted for display (all text) or for a planner's export, column by column.

    Parameters
    ----------
    frame
        Any table; a GeoDataFrame's geometry is dropped.
    lang
        ``"zh"`` or ``"en"``.
    kinds
        Column → kind, overriding :func:`column_kind` (e.g. ``{"value": "wan"}``).
    headers
        ``True``: headings from the catalogue (:func:`header`), unknown names kept; a dict: these
        headings for these columns (the rest as for ``True``); ``False``: the column names.
    units
        Put the unit in each cell (off by default: the catalogue's headings carry it).
    for_export
        Keep numbers numeric (rounded to the kind's decimals) and missing values ``None``, for XLSX;
        labels, booleans, dates and times are text as on screen.
    city
        The store's city (:class:`geo.city.City`), which names park groups.
    """
    kinds = kinds or {}
    out = {}
    for column in frame.columns:
        if column in drop:
            continue
        kind = kinds.get(column) or column_kind(str(column))
        series = frame[column]
        if kind == "group":
            series, kind = series.map(lambda g: label(g, "group", lang, city)), "text"
        out[column] = _export_column(series, kind, lang) if for_export else _format_column(series, kind, lang, units)
    result = pd.DataFrame(out, index=frame.index)
    if headers is False:
        return result
    given = headers if isinstance(headers, dict) else {}
    return result.rename(columns={c: given.get(c) or header(str(c), lang) for c in result.columns})
