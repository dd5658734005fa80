"""Idle land per 《闲置土地处置办法》 (2012): both cases of 第二条, calendar anniversaries, 第八条."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from geo.idle import OUTPUT_COLUMNS, SOURCE, anniversary, idle_status
from geo.metrics import idle_land_warnings
from geo.testing import make_parcels


def rows(**columns) -> pd.DataFrame:
    n = max(len(v) for v in columns.values() if isinstance(v, list))
    data = {k: v if isinstance(v, list) else [v] * n for k, v in columns.items()}
    return pd.DataFrame(data, index=[f"R{i + 1}" for i in range(n)])


def test_one_year_is_the_calendar_anniversary_not_365_days():
    # 2023-03-01 + 365 days = 2024-02-29 (2024 is a leap year): not yet one full year.
    frame = rows(contract_start_date="2023-03-01", actual_start_date=[None])
    assert idle_status(frame, date(2024, 2, 29)).rule.isna().all()
    judged = idle_status(frame, date(2024, 3, 1)).iloc[0]
    assert (judged.rule, judged.idle_case, judged.one_year_on) == ("idle_fee", "not_started", "2024-03-01")
    assert (judged.days_overdue, judged.days_idle) == (0, 366)
    assert judged.source == SOURCE and judged.edition == "2012"


def test_a_start_on_29_february_is_one_year_overdue_on_28_february():
    assert anniversary(pd.Series(["2024-02-29"]), 1).iloc[0] == pd.Timestamp("2025-02-28")
    frame = rows(contract_start_date="2024-02-29", actual_start_date=[None])
    assert idle_status(frame, date(2025, 2, 27)).rule.isna().all()
    assert idle_status(frame, date(2025, 2, 28)).rule.iloc[0] == "idle_fee"
    # Two full years: 2026-02-28; the day before is still the fee.
    assert idle_status(frame, date(2026, 2, 27)).rule.iloc[0] == "idle_fee"
    assert idle_status(frame, date(2026, 2, 28)).rule.iloc[0] == "idle_repossession"


def test_second_case_started_but_little_built_or_spent_and_stopped_a_year():
    # 30 亩 of land, total investment 10,000 万元; stopped on 2024-05-10.
    frame = rows(contract_start_date="2023-01-01", actual_start_date="2023-02-01",
                 area_mu=30.0, investment_wan=10_000.0, stopped_since="2024-05-10",
                 developed_area_mu=[9.0, 12.0, 12.0, 9.0, None],
                 investment_to_date_wan=[5_000.0, 2_000.0, 3_000.0, 5_000.0, None])
    judged = idle_status(frame, date(2025, 5, 10))
    # R1: 9 < 10 亩 (⅓) → idle; R2: 2,000 < 2,500 (25 %) → idle; R3: 12 亩 and 3,000 万元 → not idle;
    # R5: nothing known of the progress → not judged idle.
    assert judged.rule.tolist() == ["idle_fee", "idle_fee", pd.NA, "idle_fee", pd.NA]
    assert judged.idle_case.iloc[0] == "stopped" and judged.clock_start.iloc[0] == "2024-05-10"
    assert judged.article.iloc[0].startswith("第二条（二）")
    # Stopped for less than a full year: not idle yet.
    assert idle_status(frame, date(2025, 5, 9)).rule.isna().all()
    assert idle_status(frame, date(2026, 5, 10)).rule.iloc[0] == "idle_repossession"


def test_started_without_a_stop_date_is_not_idle():
    frame = rows(contract_start_date="2020-01-01", actual_start_date="2020-02-01",
                 area_mu=30.0, developed_area_mu=[1.0], investment_wan=100.0, investment_to_date_wan=1.0)
    assert idle_status(frame, date(2026, 1, 1)).rule.isna().all()


def test_government_or_force_majeure_delay_is_exempt_not_a_fee():
    frame = rows(contract_start_date="2022-01-01", actual_start_date=[None, None, None],
                 delay_cause=["government", "force_majeure", None],
                 delay_reason=["规划调整，政府未按期交地", "2023年台风", None])
    judged = idle_status(frame, date(2025, 1, 1))
    assert judged.rule.tolist() == ["idle_exempt", "idle_exempt", "idle_repossession"]
    assert judged.delay_reason.iloc[0] == "规划调整，政府未按期交地"
    assert "第八条" in judged.article.iloc[1] and pd.isna(judged.delay_cause.iloc[2])


def test_judges_projects_with_their_own_column_names():
    projects = rows(project_id=["X1", "X2"], contract_start_date="2023-06-01", actual_start_date="2023-07-01",
                    land_mu=60.0, total_investment_wan=50_000.0, stopped_since="2024-06-01",
                    developed_area_mu=[10.0, 30.0], investment_to_date_wan=[20_000.0, 20_000.0])
    judged = idle_status(projects, date(2025, 6, 1), area_column="land_mu",
                         total_investment_column="total_investment_wan")
    assert list(judged.columns) == list(OUTPUT_COLUMNS)
    assert judged.rule.tolist() == ["idle_fee", pd.NA]


def test_missing_required_column_is_a_clear_error():
    with pytest.raises(ValueError, match="contract_start_date"):
        idle_status(pd.DataFrame({"actual_start_date": [None]}), date(2025, 1, 1))


def test_parcel_warnings_carry_both_cases_and_stage():
    parcels = make_parcels([(0, 0, 100, 100), (100, 0, 200, 100), (200, 0, 300, 100)], status="idle",
                           contract_start_date=["2024-03-01", "2024-01-01", "2023-01-01"],
                           actual_start_date=[None, None, "2023-03-01"], enterprise="某公司")
    parcels["stopped_since"] = [None, None, "2024-09-01"]
    parcels["developed_area_mu"] = [None, None, 2.0]  # 15 亩 parcel: under 5 亩
    warnings = idle_land_warnings(parcels, as_of=date(2025, 9, 1)).set_index("parcel_id")
    assert warnings.stage.to_dict() == {"P1": "fee", "P2": "fee", "P3": "fee"}
    assert warnings.loc["P1", "days_overdue"] == 184 and warnings.loc["P3", "idle_case"] == "stopped"


def test_the_park_map_has_an_idle_land_theme():
    from layers.style import THEMES, theme_colors

    parcels = make_parcels([(0, 0, 100, 100), (100, 0, 200, 100), (200, 0, 300, 100), (300, 0, 400, 100)],
                           status="idle", contract_start_date=["2020-01-01", "2020-01-01", "2099-01-01", None],
                           actual_start_date=None, delay_cause=["government", None, None, None])
    assert "idle" in THEMES
    classified = theme_colors(parcels, "idle", lang="en")
    assert classified.codes.tolist() == [0, 2, -1, -1]  # exempt, repossession, not yet, no contract
    assert classified.labels[0].startswith("Art. 8 case") and len(set(classified.colors)) == 3
