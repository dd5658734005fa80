"""Horizontal bar charts for the pages as Vega-Lite specifications (drawn by ``st.vega_lite_chart``).

Streamlit's ``st.bar_chart`` titles its tooltips with the frame's own names (``name_zh``, and
``value`` / ``color`` for stacked bars) and shows unrounded values (``33143.4767938056``). Here the
titles are the caller's (catalogue labels), a tooltip's value is the one formatter's text
(``geo.display.format_value``: separators, fixed decimals, unit), and the bars keep the frame's row
order (largest first, or the parks' own order), never the names' code-point order.
"""
from __future__ import annotations

import pandas as pd

from geo import display


def bar_chart(frame: pd.DataFrame, *, kind: str, lang: str, category_title: str, value_title: str,
              ) -> tuple[pd.DataFrame, dict]:
    """The data and specification of a horizontal bar chart of ``frame``.

    ``frame``: one row per bar in the order to draw (its index names the bars), one column per series
    headed with its label; several columns are stacked, with a legend below. ``kind``: the values'
    kind for the formatter (``area_mu``, ``wan_per_mu`` …); ``percent`` values are fractions, drawn
    as percentages.
    Returns ``(data, spec)`` for ``st.vega_lite_chart(data, spec)``.
    """
    series = list(frame.columns)
    data = (frame.rename_axis("category").reset_index()
            .melt(id_vars="category", value_vars=series, var_name="series", value_name="value"))
    shown = data.value.map(lambda v: display.format_value(v, kind, lang, unit=False))  # the titles carry it
    if kind == "percent":
        data["value"] = data.value * 100
    data["shown"] = data.series + ("：" if lang == "zh" else ": ") + shown if len(series) > 1 else shown
    encoding = {
        "y": {"field": "category", "type": "nominal", "sort": None, "title": None},
        "x": {"field": "value", "type": "quantitative", "title": value_title, "axis": {"format": ",.0f"}},
        "tooltip": [{"field": "category", "type": "nominal", "title": category_title},
                    {"field": "shown", "type": "nominal", "title": value_title}],
    }
    if len(series) > 1:
        encoding["color"] = {"field": "series", "type": "nominal", "title": None, "sort": series,
                             "legend": {"orient": "bottom"}}
    return data, {"mark": {"type": "bar"}, "encoding": encoding}


__all__ = ["bar_chart"]
