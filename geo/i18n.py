"""Interface language: Simplified Chinese (default) and English.

Labels live in ``locale/zh.json`` and ``locale/en.json`` (one flat key → text catalogue per
language); status and land-use names come from the editable standards tables
(``label_zh``/``label_en``, ``name_zh``/``name_en``) so a renamed status shows everywhere.
Numbers are formatted with Babel (``zh_CN`` or ``en``).
"""
from __future__ import annotations

import json
import math
from functools import lru_cache

import pandas as pd
from babel.numbers import format_decimal, format_percent, get_decimal_symbol, get_group_symbol

from geo.standards import REPO_ROOT, Standards, load_standards

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LOCALE_DIR = REPO_ROOT / "locale"
_BABEL_LOCALE = {"zh": "zh_CN", "en": "en"}


def check_lang(lang: str) -> str:
    """Return ``lang`` if supported, else raise ``ValueError``."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; one of {', '.join(LANGS)}")
    return lang


@lru_cache(maxsize=len(LANGS))
def catalogue(lang: str) -> dict[str, str]:
    """The key → text catalogue of ``lang``."""
    path = LOCALE_DIR / f"{check_lang(lang)}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def t(key: str, lang: str = DEFAULT_LANG, **values) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` placeholders filled from ``values``.

    An unknown key returns the key itself, so a missing translation is visible, not fatal.
    """
    text = catalogue(lang).get(key, key)
    return text.format(**values) if values else text


def _standard_label(table, code, key_col: str, zh_col: str, en_col: str, lang: str) -> str:
    match = table.loc[table[key_col] == code]
    if match.empty:
        return str(code)
    return str(match.iloc[0][zh_col if check_lang(lang) == "zh" else en_col])


def label_status(code: str, lang: str = DEFAULT_LANG, standards: Standards | None = None) -> str:
    """Display name of a parcel status (from ``statuses.csv``)."""
    s = standards or load_standards()
    return _standard_label(s.statuses, code, "code", "label_zh", "label_en", lang)


def label_land_use(code: str, lang: str = DEFAULT_LANG, standards: Standards | None = None) -> str:
    """Display name of a land-use code (from ``land_use.csv``)."""
    s = standards or load_standards()
    return _standard_label(s.land_use, code, "code", "name_zh", "name_en", lang)



def label_theme(theme: str, lang: str = DEFAULT_LANG) -> str:
    """Display name of a map theme or intensity indicator."""
    return t(f"theme.{theme}", lang)


def label_field(column: str, lang: str = DEFAULT_LANG) -> str:
    """Display name of a parcel attribute or metric column (the column name if unknown)."""
    return catalogue(lang).get(f"field.{column}", column)


def status_labels(lang: str = DEFAULT_LANG, standards: Standards | None = None) -> dict[str, str]:
    """Status code → display name, in the order of ``statuses.csv``."""
    s = standards or load_standards()
    col = "label_zh" if check_lang(lang) == "zh" else "label_en"
    return dict(zip(s.statuses.code, s.statuses[col]))


def land_use_labels(lang: str = DEFAULT_LANG, standards: Standards | None = None) -> dict[str, str]:
    """Land-use code → display name, in the order of ``land_use.csv``."""
    s = standards or load_standards()
    col = "name_zh" if check_lang(lang) == "zh" else "name_en"
    return dict(zip(s.land_use.code, s.land_use[col]))


def _decimal_pattern(digits: int) -> str:
    """Babel number pattern with grouping and ``digits`` decimals."""
    return "#,##0" + ("." + "0" * digits if digits > 0 else "")


def format_number(value, lang: str = DEFAULT_LANG, digits: int = 1) -> str:
    """A number with grouping and ``digits`` decimals in the language's convention; '–' if missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    try:
        if value != value:  # pandas NA-likes that are not floats
            return "–"
    except TypeError:
        return "–"
    return format_decimal(float(value), format=_decimal_pattern(digits), locale=_BABEL_LOCALE[check_lang(lang)])


def format_numbers(values, lang: str = DEFAULT_LANG, digits: int = 1) -> pd.Series:
    """Many numbers at once, formatted like :func:`format_number` (fast path for labels)."""
    locale = _BABEL_LOCALE[check_lang(lang)]
    group, decimal = get_group_symbol(locale), get_decimal_symbol(locale)
    series = pd.Series(values, dtype="float64")
    # Text even when empty (a park without parcels): map() keeps float64 when there is nothing to map.
    text = series.map(("{:,.%df}" % digits).format, na_action="ignore").astype("str")
    if (group, decimal) != (",", "."):
        text = text.str.replace(",", "\0", regex=False).str.replace(".", decimal, regex=False)
        text = text.str.replace("\0", group, regex=False)
    return text.fillna("–")


def format_percent_value(value, lang: str = DEFAULT_LANG, digits: int = 1) -> str:
    """A ratio (0.42) as a percentage with ``digits`` decimals ('42.0%'); '–' if missing."""
    if value is None or value != value:
        return "–"
    return format_percent(float(value), format=_decimal_pattern(digits) + "%",
                          locale=_BABEL_LOCALE[check_lang(lang)])


def format_area_mu(value, lang: str = DEFAULT_LANG, digits: int = 1) -> str:
    """An area in 亩 with its unit ('1,234.5 亩' / '1,234.5 mu')."""
    return f"{format_number(value, lang, digits)} {t('unit.mu', lang)}"


def format_wan(value, lang: str = DEFAULT_LANG, digits: int = 1, per_mu: bool = False) -> str:
    """Money in 万元 with its unit (optionally per 亩)."""
    unit = t("unit.wan_per_mu" if per_mu else "unit.wan", lang)
    return f"{format_number(value, lang, digits)} {unit}"
