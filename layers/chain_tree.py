"""A chain's tree as a clickable plotly treemap: segments hold their nodes, every node the same size,
coloured by how many enterprises it has (gaps red, thin orange). The page reads a click on a node
(``st.plotly_chart(on_select=...)``) to filter its map. Names are escaped: plotly reads a few tags
in labels, so hostile text must stay literal."""
from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from geo.display import format_value
from geo.i18n import t
from layers.chain_map import GAP_COLOR

THIN_COLOR = "#ff9f1c"
SEGMENT_COLOR = "#f0f0f0"


def _present_color(count: int, peak: int) -> str:
    share = min(count / max(peak, 1), 1.0)
    return f"rgba(44, 160, 44, {0.25 + 0.65 * share:.2f})"


def chain_tree_figure(status: pd.DataFrame, lang: str = "zh", height: int = 360) -> go.Figure:
    """The treemap of one chain's ``status`` (:meth:`geo.chain.ChainMap.status`, tree order).

    Each box's id is its ``node_id`` (what a click returns); its text the node's name and its
    enterprise count, with the gap or thin mark.
    """
    name_col = "name_zh" if lang == "zh" else "name_en"
    is_leaf = (status.parent != "").to_numpy()
    peak = int(status.enterprise_count[is_leaf].max()) if is_leaf.any() else 1
    labels, texts, colors = [], [], []
    for row, leaf in zip(status.itertuples(index=False), is_leaf):  # a chain's nodes: a dozen at most
        labels.append(html.escape(format_value(getattr(row, name_col), "text", lang)))
        count = format_value(int(row.enterprise_count), "integer", lang)
        mark = t("chains.legend.gap", lang) if row.gap else t("chains.legend.thin", lang) if row.thin else ""
        texts.append(t("chains.tree_count", lang, count=count) + (f" · {mark}" if mark else ""))
        colors.append(SEGMENT_COLOR if not leaf else GAP_COLOR if row.gap else THIN_COLOR if row.thin
                      else _present_color(int(row.enterprise_count), peak))
    figure = go.Figure(go.Treemap(
        ids=status.node_id.tolist(), parents=status.parent.tolist(), labels=labels, text=texts,
        values=[1 if leaf else 0 for leaf in is_leaf], branchvalues="remainder",
        marker={"colors": colors, "line": {"width": 1, "color": "white"}},
        texttemplate="<b>%{label}</b><br>%{text}", hovertemplate="%{label}<br>%{text}<extra></extra>",
        pathbar={"visible": False}, maxdepth=3, sort=False, tiling={"packing": "squarify"}))
    figure.update_layout(margin={"l": 0, "r": 0, "t": 0, "b": 0}, height=height)
    return figure
