"""Idle land (闲置土地) as 《闲置土地处置办法》 (国土资源部令第53号, 2012) defines and treats it.

第二条 defines two cases of idle state construction land:

``not_started``
    construction has not started one full year after the start date agreed in the land contract
    (or set by the allocation decision);
``stopped``
    construction started, but the developed area is under one third of the land due for
    development **or** the investment made is under 25 % of the total investment, and construction
    has stopped for one full year.

第十四条 treats it: after one full year a land-idleness fee of 20 % of the land price is levied
(rule ``idle_fee``); after two full years the land may be taken back without compensation
(rule ``idle_repossession``). 第八条: when the delay was caused by government action or force
majeure, the land is disposed of by agreement instead — rule ``idle_exempt``, with the cause and
its reason.

"满一年 / 满两年" are calendar anniversaries (民法典 第二百零一条、第二百零三条: a period in years
ends on the corresponding day; without one, on the last day of that month), not 365/730 days:
a start agreed for 2023-03-01 is one year overdue on 2024-03-01, not on 2024-02-29; a start on
2024-02-29 is one year overdue on 2025-02-28.

The same function judges parcels and projects: it needs only the columns named below.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

#: The rule's text, number and edition, as shown with every result.
SOURCE = "《闲置土地处置办法》（国土资源部令第53号，2012年）"
EDITION = "2012"
#: Published by the Ministry of Land and Resources (now of Natural Resources) on 2012-06-01, in force
#: 2012-07-01; its regulations are listed at this address (部令 第53号).
SOURCE_ADDRESS = "https://www.mnr.gov.cn/"

#: 第二条: developed share of the land below which a stopped project is idle.
DEVELOPED_SHARE_MIN = 1 / 3
#: 第二条: share of the total investment below which a stopped project is idle.
INVESTMENT_SHARE_MIN = 0.25
#: 第八条: causes of delay that exempt the land from the fee and repossession.
DELAY_CAUSES = ("government", "force_majeure")
#: Rule codes of the result, mildest first.
RULES = ("idle_exempt", "idle_fee", "idle_repossession")
CASES = ("not_started", "stopped")

#: Columns read by :func:`idle_status`. Only the first two are required; an absent optional column
#: counts as unknown for every row.
INPUT_COLUMNS = ("contract_start_date", "actual_start_date", "stopped_since", "developed_area_mu",
                 "investment_to_date_wan", "delay_cause", "delay_reason")
OUTPUT_COLUMNS = ("idle_case", "rule", "clock_start", "one_year_on", "two_years_on", "days_idle",
                  "days_overdue", "delay_cause", "delay_reason", "article", "source", "edition")

_ARTICLE = {"not_started": "第二条（一）未动工开发满一年", "stopped": "第二条（二）中止开发建设满一年"}


def anniversary(dates: pd.Series, years: int) -> pd.Series:
    """The calendar anniversary ``years`` after each date (29 February → 28 February)."""
    return pd.to_datetime(dates, errors="coerce") + pd.DateOffset(years=years)


def parse_dates(column: pd.Series) -> pd.Series:
    """ISO date texts as Timestamps (empty, missing or unreadable: ``NaT``).

    Parsed from plain objects: a round trip through Arrow strings cost ~10 ms per 10,000 rows.
    """
    values = column.to_numpy(dtype=object, na_value=None, copy=True)
    values[values == ""] = None
    return pd.Series(pd.to_datetime(values, errors="coerce"), index=column.index)


def _column(frame: pd.DataFrame, name: str, kind: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series(np.nan if kind == "number" else pd.NA, index=frame.index,
                         dtype="float64" if kind == "number" else "string")
    col = frame[name]
    if kind == "number":
        return pd.to_numeric(col, errors="coerce").astype("float64")
    if kind == "date":
        return parse_dates(col)
    return col.astype("string").str.strip().replace("", pd.NA)


def idle_status(frame: pd.DataFrame, as_of: date | None = None, *, area_column: str = "area_mu",
                total_investment_column: str = "investment_wan") -> pd.DataFrame:
    """Judge every row (a parcel or a project) against 第二条, 第八条 and 第十四条.

    Parameters
    ----------
    frame : DataFrame
        Rows with ``contract_start_date`` and ``actual_start_date`` (ISO dates; empty actual
        start: not started) and, for the second case and the exemption, ``stopped_since``
        (ISO date construction stopped), ``developed_area_mu``, ``investment_to_date_wan``,
        ``delay_cause`` (``government`` or ``force_majeure``) and ``delay_reason`` (text).
    as_of : date, optional
        The day to judge on (default today). A threshold is reached on its anniversary.
    area_column : str
        The land due for development, in 亩 (parcels: ``area_mu``; a project: its land).
    total_investment_column : str
        The total (contracted) investment in 万元 (parcels: ``investment_wan``).

    Returns
    -------
    DataFrame
        Aligned with ``frame.index``, columns :data:`OUTPUT_COLUMNS`: ``idle_case``
        (``not_started`` / ``stopped``), ``rule`` (``idle_fee`` / ``idle_repossession`` /
        ``idle_exempt``), ``clock_start`` (agreed start or stop date), ``one_year_on`` and
        ``two_years_on`` (the anniversaries, ISO), ``days_idle`` (days since the clock start),
        ``days_overdue`` (days since the first anniversary), ``delay_cause``, ``delay_reason``,
        ``article`` (the article applied), ``source`` and ``edition``. Rows that are not idle
        have ``<NA>`` everywhere.
    """
    missing = [c for c in INPUT_COLUMNS[:2] if c not in frame.columns]
    if missing:
        raise ValueError(f"idle-land check needs the column(s) {', '.join(missing)}")
    today = pd.Timestamp(as_of or date.today())
    agreed = _column(frame, "contract_start_date", "date")
    started = _column(frame, "actual_start_date", "date").notna()
    stopped = _column(frame, "stopped_since", "date")
    land = _column(frame, area_column, "number")
    total = _column(frame, total_investment_column, "number")
    with np.errstate(divide="ignore", invalid="ignore"):
        little_built = (_column(frame, "developed_area_mu", "number") < land * DEVELOPED_SHARE_MIN).fillna(False)
        little_spent = (_column(frame, "investment_to_date_wan", "number") < total * INVESTMENT_SHARE_MIN).fillna(False)

    not_started = ~started & agreed.notna()
    stalled = started & stopped.notna() & (little_built | little_spent)
    clock = agreed.where(not_started, stopped.where(stalled))
    one_year, two_years = anniversary(clock, 1), anniversary(clock, 2)
    idle = (not_started | stalled) & (today >= one_year).fillna(False)

    cause = _column(frame, "delay_cause", "text")
    exempt = idle & cause.isin(DELAY_CAUSES).fillna(False)
    rule = np.select([~idle, exempt, today >= two_years], [None, "idle_exempt", "idle_repossession"], "idle_fee")
    case = np.where(not_started, "not_started", "stopped")

    def when_idle(values) -> pd.Series:
        return pd.Series(values, index=frame.index).where(idle).astype("string")

    out = pd.DataFrame({
        "idle_case": when_idle(case),
        "rule": when_idle(rule),
        "clock_start": when_idle(clock.dt.strftime("%Y-%m-%d")),
        "one_year_on": when_idle(one_year.dt.strftime("%Y-%m-%d")),
        "two_years_on": when_idle(two_years.dt.strftime("%Y-%m-%d")),
        "days_idle": (today - clock).dt.days.where(idle).astype("Int64"),
        "days_overdue": (today - one_year).dt.days.where(idle).astype("Int64"),
        "delay_cause": cause.where(exempt),
        "delay_reason": _column(frame, "delay_reason", "text").where(exempt),
        "article": when_idle(pd.Series(case, index=frame.index).map(_ARTICLE).to_numpy()),
        "source": when_idle(np.full(len(frame), SOURCE)),
        "edition": when_idle(np.full(len(frame), EDITION)),
    }, index=frame.index)
    out.loc[exempt, "article"] = out.loc[exempt, "article"] + "；第八条（政府原因或不可抗力，协商处置）"
    return out
