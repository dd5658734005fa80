"""Prospects: target companies a bureau approaches to fill a chain's node (no scraping).

Planners import CSV or XLSX files with :data:`~geo.schema.PROSPECT_COLUMNS` (``name`` and
``node_id`` required; the Chinese headers of :data:`CHINESE_HEADERS` are accepted). A file
is checked as a whole and written only when every row passes (table ``prospects``, both
stores, audited); ids missing from the file are given as ``P0001`` … after the stored ones.
A prospect's own ``land_mu`` and ``investment_wan`` replace its node's typical demand when
its ready land is matched (:func:`geo.chain.node_project`).
"""
from __future__ import annotations

import pandas as pd

from geo.auth import User
from geo.errors import NotFoundError, ParkAtlasError
from geo.schema import PROSPECT_COLUMNS
from geo.store.tables import PROSPECTS, Change, apply_changes, read_table
from geo.uscc import uscc_issue, uscc_problem

#: Where a bureau stands with a prospect.
CONTACT_STATUSES = ("not_contacted", "contacted", "visited", "negotiating", "signed", "declined")
CHINESE_HEADERS = {"编号": "prospect_id", "企业名称": "name", "统一社会信用代码": "uscc", "节点": "node_id",
                   "产业链节点": "node_id", "来源城市": "origin_city", "备注": "notes", "联系状态": "contact_status",
                   "用地(亩)": "land_mu", "投资(万元)": "investment_wan"}
#: The first Chinese header of each column (what a Chinese page calls the column).
_CHINESE_HEADER = {column: header for header, column in reversed(CHINESE_HEADERS.items())}
_STATUS_WORDS = {"未联系": "not_contacted", "已联系": "contacted", "已拜访": "visited", "洽谈中": "negotiating",
                 "已签约": "signed", "已放弃": "declined"}


def read_prospects(store) -> pd.DataFrame:
    """Every prospect of ``store`` (:data:`~geo.schema.PROSPECT_COLUMNS`), by id."""
    return read_table(store, PROSPECTS)


def prospect_row(store, prospect_id: str) -> pd.Series:
    """One prospect (raises one line when unknown)."""
    prospects = read_prospects(store)
    hit = prospects[prospects.prospect_id == prospect_id]
    if hit.empty:
        raise NotFoundError(f"unknown prospect {prospect_id!r}; see `prospects list`")
    return hit.iloc[0]


def check_prospects(frame: pd.DataFrame, node_ids, taken_ids=()) -> tuple[pd.DataFrame, list[dict]]:
    """The file's prospects, typed, and its problems (``row``, ``column``, ``value``, ``problem``).

    ``node_ids`` are the nodes a prospect may fill; ``taken_ids`` the stored ids (new ids follow them).
    """
    table = frame.rename(columns={c: CHINESE_HEADERS.get(str(c).strip(), str(c).strip()) for c in frame.columns})
    problems: list[dict] = []
    for column in ("name", "node_id"):
        if column not in table.columns:
            return pd.DataFrame(columns=list(PROSPECT_COLUMNS)), [
                {"row": 1, "column": column, "value": "", "problem": f"column {column} is missing",
                 "key": "chains.problem.missing_column", "values": {}}]
    table = table.reindex(columns=list(PROSPECT_COLUMNS)).astype(object).fillna("").astype(str).apply(
        lambda c: c.str.strip())
    table["contact_status"] = table.contact_status.map(lambda s: _STATUS_WORDS.get(s, s) or "not_contacted")
    known = set(node_ids)
    for i, row in enumerate(table.itertuples(index=False), start=2):  # rows of a planner's file, not parcels
        def flag(column, problem, key, **values):
            problems.append({"row": i, "column": column, "value": getattr(row, column), "problem": problem,
                             "key": key, "values": values})

        if not row.name:
            flag("name", "name is empty", "chains.problem.name_empty")
        if row.node_id not in known:
            flag("node_id", "unknown node (see `chains show CHAIN`)", "chains.problem.unknown_node")
        if row.uscc and uscc_problem(row.uscc):
            kind, values = uscc_issue(row.uscc)
            flag("uscc", uscc_problem(row.uscc), f"enterprises.problem.uscc_{kind}", **values)
        if row.contact_status not in CONTACT_STATUSES:
            flag("contact_status", f"one of {', '.join(CONTACT_STATUSES)}", "chains.problem.contact_status")
        for column in ("land_mu", "investment_wan"):
            value = getattr(row, column).replace(",", "")
            if value and not (_number(value) is not None and _number(value) > 0):
                flag(column, "not a positive number", "chains.problem.not_positive")
    ids = table.prospect_id
    if ids[ids != ""].duplicated().any():
        problems.append({"row": int(ids[ids.duplicated() & (ids != "")].index[0]) + 2, "column": "prospect_id",
                         "value": ids[ids.duplicated() & (ids != "")].iloc[0], "problem": "id appears twice",
                         "key": "chains.problem.duplicate_id", "values": {}})
    used = {int(t[1:]) for t in list(taken_ids) + ids.tolist() if t[:1] == "P" and t[1:].isdigit()}
    start = max(used, default=0) + 1
    blank = ids == ""
    table.loc[blank, "prospect_id"] = [f"P{n:04d}" for n in range(start, start + int(blank.sum()))]
    for column in ("land_mu", "investment_wan"):
        table[column] = table[column].str.replace(",", "").map(_number)
    return table.replace({"": None}).astype(PROSPECT_COLUMNS), problems


def problem_text(problem: dict, lang: str) -> str:
    """One problem of a prospects file in the planner's language (its catalogue ``key``)."""
    from geo.i18n import t

    return t(problem["key"], lang, **problem.get("values", {}))


def column_label(column: str, lang: str) -> str:
    """A prospects file's column as the planner's file heads it: the Chinese header on a Chinese page."""
    return _CHINESE_HEADER.get(column, column) if lang == "zh" else column


def _number(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def import_prospects(store, frame: pd.DataFrame, node_ids, *, user: User | None, dry_run: bool = False) -> dict:
    """Check a prospects file and, when every row passes and not ``dry_run``, write it (planner).

    Returns the report ``{"rows", "problems", "accepted", "dry_run", "committed"}``; nothing is
    written when any row has a problem.
    """
    prospects, problems = check_prospects(frame, node_ids, read_prospects(store).prospect_id)
    report = {"rows": len(frame), "problems": problems, "accepted": not problems and len(frame) > 0,
              "dry_run": dry_run, "committed": None}
    if not len(frame):
        report["problems"] = [{"row": 1, "column": "", "value": "", "problem": "the file holds no prospects",
                               "key": "chains.problem.empty_file", "values": {}}]
    if report["accepted"] and not dry_run:
        if user is None:
            raise ParkAtlasError("give --user NAME: the planner importing the file (or --dry-run to check only)")
        report["committed"] = apply_changes(store, [Change(PROSPECTS, upserts=prospects)], user=user,
                                            role="planner", action="prospect_import")["prospects"]
    return report


def prospect_land(store, prospect_id: str, *, top: int = 3, parcels=None, chain_map=None, nearby: int = 8) -> dict:
    """What a prospect pack shows: the prospect, its node and chain, the node's status near the
    leader, the chain's enterprises nearest the best candidate, and the matcher's result.

    Returns ``{"prospect", "node", "status", "nearby", "result", "parcels"}``; ``nearby`` has
    ``name``, ``node_name``, ``node_name_en``, ``km`` (to the first candidate's centre).
    """
    import numpy as np
    import shapely
    from pyproj import Transformer

    from geo.chain import ChainMap, node_row, ready_land
    from geo.crs import CGCS2000
    from geo.evaluation import parcels_with_metrics

    prospect = prospect_row(store, prospect_id)
    parcels = parcels_with_metrics(store) if parcels is None else parcels
    chain_map = chain_map or ChainMap.of_store(store, parcels)
    node = node_row(chain_map.nodes, prospect.node_id)
    status = chain_map.status(node.chain).set_index("node_id").loc[node.node_id]
    from geo.city import read_chain_thresholds

    result = ready_land(parcels, store.read_parks(), node, top=top, name=str(prospect["name"]),
                        land_mu=prospect.land_mu, investment_wan=prospect.investment_wan,
                        chain_thresholds=read_chain_thresholds(store))
    placed = chain_map.placed[chain_map.placed.chain == node.chain].drop_duplicates("uscc")
    names = chain_map.nodes.set_index("node_id")
    near = pd.DataFrame({"name": placed.name.to_numpy(dtype=object),
                         "node_name": placed.node_id.map(names.name_zh).to_numpy(dtype=object),
                         "node_name_en": placed.node_id.map(names.name_en).to_numpy(dtype=object),
                         "km": np.nan})
    if len(result.candidates) and len(placed):
        centre = shapely.centroid(result.candidates.to_crs(CGCS2000).geometry.values[0])
        x, y = Transformer.from_crs(CGCS2000, chain_map.crs, always_xy=True).transform(shapely.get_x(centre),
                                                                                       shapely.get_y(centre))
        near["km"] = np.hypot(placed.x.to_numpy() - x, placed.y.to_numpy() - y) / 1000.0
        near = near.sort_values("km")
    return {"prospect": prospect, "node": node, "status": status, "nearby": near.head(nearby).reset_index(drop=True),
            "result": result, "parcels": parcels}


__all__ = ["CONTACT_STATUSES", "CHINESE_HEADERS", "read_prospects", "prospect_row", "check_prospects",
           "problem_text", "column_label", "import_prospects", "prospect_land"]
