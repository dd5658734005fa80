"""Colours, classification and legends for the map themes.

A theme turns parcels into one small integer class per parcel (``-1``: no data) plus a
palette and legend labels, so the browser styles features by index instead of receiving a
style per feature. Categorical themes (status, land use, 亩均 grade, idle land judged today by
:func:`geo.idle.idle_status`) take their colours from the standards tables or this module;
numeric intensity indicators are classified with mapclassify.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo import i18n
from geo.idle import idle_status
from geo.metrics import GRADES, INTENSITY_INDICATORS
from geo.standards import Standards, load_standards

CATEGORICAL_THEMES = ("status", "land_use", "grade", "idle", "project_warnings")
THEMES = ("status", "land_use", *INTENSITY_INDICATORS, "grade", "idle", "project_warnings")
SCHEMES = ("quantiles", "natural_breaks", "equal_interval")
NO_DATA_COLOR = "#e8e8e8"
GRADE_COLORS = {"A": "#1a9641", "B": "#a6d96a", "C": "#fdae61", "D": "#d7191c"}
#: Park group fills in the city's group order (ColorBrewer Set1, then repeated).
GROUP_PALETTE = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
#: Idle-land theme (闲置土地处置办法): exempt, fee after one year, repossession after two; others no data.
IDLE_COLORS = {"idle_exempt": "#74add1", "idle_fee": "#fdae61", "idle_repossession": "#d7191c"}
#: Project-warnings theme: the worst warning level of the register's projects on a parcel (column
#: ``project_warning``, see :func:`geo.project_review.parcel_warning_levels`); others no data.
WARNING_LEVEL_COLORS = {"red": "#d7191c", "yellow": "#fdd835", "info": "#74add1"}
#: Sequential palettes (ColorBrewer YlOrRd) by number of classes.
SEQUENTIAL = {
    3: ["#ffeda0", "#feb24c", "#f03b20"],
    4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
    5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
    6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
    7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
}


@dataclass(frozen=True)
class Classified:
    """Parcels of a theme as class indices with the palette and legend labels.

    ``codes[i]`` is the class of row ``i`` (``-1`` for no data); ``colors[c]`` and
    ``labels[c]`` describe class ``c``.
    """

    theme: str
    codes: np.ndarray
    colors: list[str]
    labels: list[str]
    no_data_color: str = NO_DATA_COLOR

    def counts(self) -> list[int]:
        """Number of parcels per class."""
        return np.bincount(self.codes[self.codes >= 0], minlength=len(self.colors)).tolist()


def _categorical(values: pd.Series, categories: list[str], colors: list[str], labels: list[str],
                 theme: str) -> Classified:
    codes = pd.Categorical(values, categories=categories).codes.astype(np.int16)
    return Classified(theme, codes, list(colors), list(labels))


def classify_values(values, scheme: str = "quantiles", k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Class index per value (``-1`` for missing) and the upper bounds, via mapclassify."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown classification {scheme!r}; one of {', '.join(SCHEMES)}")
    arr = np.asarray(values, dtype=float)
    codes = np.full(arr.shape, -1, dtype=np.int16)
    valid = np.isfinite(arr)
    distinct = np.unique(arr[valid])
    if distinct.size == 0:
        return codes, np.array([])
    k = int(max(1, min(k, distinct.size)))
    if k == 1:
        codes[valid] = 0
        return codes, np.array([distinct.max()])
    import mapclassify  # brings scikit-learn and SciPy (~100 MB per server): only once a numeric theme is used

    if scheme == "quantiles":
        classifier = mapclassify.Quantiles(arr[valid], k=k)
    elif scheme == "natural_breaks":
        classifier = mapclassify.NaturalBreaks(arr[valid], k=k)
    else:
        classifier = mapclassify.EqualInterval(arr[valid], k=k)
    codes[valid] = classifier.yb
    return codes, np.asarray(classifier.bins)


def theme_colors(parcels: pd.DataFrame, theme: str, *, lang: str = i18n.DEFAULT_LANG,
                 scheme: str | None = None, k: int = 5,
                 standards: Standards | None = None) -> Classified:
    """Classify ``parcels`` (with metric columns for intensity themes) for ``theme``."""
    standards = standards or load_standards()
    if theme == "status":
        table = standards.statuses
        labels = [i18n.label_status(c, lang, standards) for c in table.code]
        return _categorical(parcels.status, list(table.code), list(table.color), labels, theme)
    if theme == "land_use":
        table = standards.land_use
        labels = [i18n.label_land_use(c, lang, standards) for c in table.code]
        return _categorical(parcels.land_use_code, list(table.code), list(table.color), labels, theme)
    if theme == "idle":
        rule = parcels["idle_rule"] if "idle_rule" in parcels.columns else idle_status(parcels).rule
        return _categorical(rule, list(IDLE_COLORS), list(IDLE_COLORS.values()),
                            [i18n.t(f"idle.rule.{r}", lang) for r in IDLE_COLORS], theme)
    if theme == "project_warnings":
        level = parcels["project_warning"] if "project_warning" in parcels.columns else pd.Series(pd.NA, index=parcels.index)
        return _categorical(level, list(WARNING_LEVEL_COLORS), list(WARNING_LEVEL_COLORS.values()),
                            [i18n.t(f"level.{v}", lang) for v in WARNING_LEVEL_COLORS], theme)
    if theme == "grade":
        return _categorical(parcels.grade, list(GRADES), [GRADE_COLORS[g] for g in GRADES],
                            list(GRADES), theme)
    if theme not in INTENSITY_INDICATORS:
        raise ValueError(f"unknown theme {theme!r}; one of {', '.join(THEMES)}")
    values = parcels[theme].to_numpy(dtype=float, na_value=np.nan)
    codes, bins = classify_values(values, scheme or "quantiles", k)
    palette = SEQUENTIAL.get(len(bins)) or (["#fd8d3c"] if len(bins) == 1 else SEQUENTIAL[7])
    digits = 2 if theme in ("plot_ratio", "building_coefficient") else 1
    finite = values[np.isfinite(values)]
    lows = ([finite.min()] if finite.size else []) + list(bins[:-1])
    labels = [_range_label(lo, hi, lang, digits) for lo, hi in zip(lows, bins)]
    return Classified(theme, codes, palette[: len(bins)], labels)


def _range_label(low: float, high: float, lang: str, digits: int) -> str:
    """'12.5 – 40.0'; a class of one value (many parcels at 0, say) is that value, not '0.0 – 0.0'."""
    low_text, high_text = i18n.format_number(low, lang, digits), i18n.format_number(high, lang, digits)
    return high_text if low_text == high_text else f"{low_text} – {high_text}"


def legend_items(classified: Classified, lang: str = i18n.DEFAULT_LANG,
                 with_counts: bool = True) -> list[tuple[str, str]]:
    """(colour, label) pairs of a legend, with a no-data entry when some parcels lack a class."""
    counts = [i18n.format_number(n, lang, 0) for n in classified.counts()]  # 1,302: grouped like every count
    items = [(color, f"{label} ({n})" if with_counts else label)
             for color, label, n in zip(classified.colors, classified.labels, counts)
             if n != "0" or not with_counts]
    missing = int((classified.codes < 0).sum())
    if missing:
        label = i18n.t("park.no_data", lang)
        items.append((classified.no_data_color,
                      f"{label} ({i18n.format_number(missing, lang, 0)})" if with_counts else label))
    return items
