"""Bar and line charts for the pages as Vega-Lite specifications (drawn by ``st.vega_lite_chart``).

Streamlit's ``st.bar_chart`` / ``st.line_chart`` title their tooltips with the frame's own names
(``name_zh``, ``month``, and ``value`` / ``color`` for several series) and show unrounded values
(``33143.4767938056``). Here the titles are the caller's (catalogue labels), a tooltip's value is
the one formatter's text (``geo.display.format_value``: separators, fixed decimals, unit), and bars
and points keep the frame's row order (largest first, a ranking, the months), never the names'
code-point order. Specifications only: the pages draw them.
"""
from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd

from geo import display


def _long(frame: pd.DataFrame, kind: str, lang: str, unit: bool = False) -> pd.DataFrame:
    """``frame`` (index: the categories, one column per series) as rows of category, series, value and
    ``shown``, the value as the formatter writes it (after its series' label when there are several;
    with its unit when the titles do not carry it)."""
    series = list(frame.columns)
    data = (frame.rename_axis("category").reset_index()
            .melt(id_vars="category", value_vars=series, var_name="series", value_name="value"))
    shown = data.value.map(lambda v: display.format_value(v, kind, lang, unit=unit))
    data["shown"] = data.series + ("：" if lang == "zh" else ": ") + shown if len(series) > 1 else shown
    if kind == "percent":
        data["value"] = data.value * 100
    return data


def _legend(series: list) -> dict:
    return {"field": "series", "type": "nominal", "title": None, "sort": series, "legend": {"orient": "bottom"}}


def line_chart(frame: pd.DataFrame, *, kind: str, lang: str, x_title: str, value_title: str) -> tuple[pd.DataFrame, dict]:
    """The data and specification of a line chart of ``frame`` (index: the x values in order, e.g.
    months; one column per line, headed with its label), as :func:`bar_chart`; tooltips with units."""
    data = _long(frame, kind, lang, unit=True)
    encoding = {
        "x": {"field": "category", "type": "ordinal", "sort": None, "title": x_title, "axis": {"labelAngle": 0}},
        "y": {"field": "value", "type": "quantitative", "title": value_title, "axis": {"format": ",~f"}},
        "color": _legend(list(frame.columns)),
        "tooltip": [{"field": "category", "type": "ordinal", "title": x_title},
                    {"field": "shown", "type": "nominal", "title": value_title}],
    }
    return data, {"mark": {"type": "line", "point": True}, "encoding": encoding}


def bar_chart(frame: pd.DataFrame, *, kind: str, lang: str, category_title: str, value_title: str,
              labels: Mapping | None = None) -> tuple[pd.DataFrame, dict]:
    """The data and specification of a horizontal bar chart of ``frame``.

    ``frame``: one row per bar in the order to draw (its index names the bars), one column per series
    headed with its label; several columns are stacked, with a legend below. ``kind``: the values'
    kind for the formatter (``area_mu``, ``wan_per_mu`` …); ``percent`` values are fractions, drawn
    as percentages. ``labels``: when the index is a key (park ids), the bars' names by key — the bars
    stay apart by key (two parks of one name are two bars), the axis and tooltips show the names.
    Returns ``(data, spec)`` for ``st.vega_lite_chart(data, spec)``.
    """
    series = list(frame.columns)
    data = _long(frame, kind, lang)
    if labels is None:
        data["label"] = data.category
        axis = {"labelLimit": 220}
    else:
        data["category"] = data.category.astype(str)
        data["label"] = data.category.map({str(key): str(name) for key, name in labels.items()})
        # An axis label is its tick's value (the key): looked up in a JSON object literal of key → name
        # (JSON-escaped, so a name is only ever a string literal of the expression).
        names = json.dumps(dict(zip(data.category, data.label)), ensure_ascii=True)
        axis = {"labelLimit": 220, "labelExpr": f"{names}[datum.value]"}
    encoding = {
        "y": {"field": "category", "type": "nominal", "sort": None, "title": None, "axis": axis},
        "x": {"field": "value", "type": "quantitative", "title": value_title, "axis": {"format": ",~f"}},
        "tooltip": [{"field": "label", "type": "nominal", "title": category_title},
                    {"field": "shown", "type": "nominal", "title": value_title}],
    }
    if len(series) > 1:
        encoding["color"] = _legend(series)
    return data, {"mark": {"type": "bar"}, "encoding": encoding}


__all__ = ["bar_chart", "line_chart"]
