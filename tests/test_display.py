"""The one value formatter (geo.display): hand-built values with known answers, both languages."""
import math

import numpy as np
import pandas as pd
import pytest

from geo import display


@pytest.mark.parametrize("value, kind, lang, expected", [
    (1234.5, "area_mu", "zh", "1,234.50 亩"),
    (1234.5, "area_mu", "en", "1,234.50 mu"),
    (1280.0, "wan", "zh", "1,280.0 万元"),
    (1280.0, "wan", "en", "1,280.0 10k yuan"),
    (12800.0, "money", "zh", "1.28 亿元"),
    (950.0, "money", "zh", "950.0 万元"),
    (0.751, "percent", "zh", "75.1%"),
    (True, "bool", "zh", "是"),
    (False, "bool", "en", "No"),
    (None, "bool", "zh", "–"),
    (float("nan"), "area_mu", "zh", "–"),
    ("approved_unsupplied", "status", "zh", "批而未供"),
    ("approved_unsupplied", "status", "en", "Approved not supplied"),
    ("characteristic", "chain_level_missing_is_text", "zh", "characteristic"),
    ("2026-12-02T08:14:02.123456+00:00", "datetime", "zh", "2026-12-02 16:14"),
    ("2026-12-02T23:59:59+00:00", "date", "zh", "2026-12-03"),
    ("2024-06-30", "date", "zh", "2024-06-30"),
    ("100101", "land_use", "zh", "一类工业用地"),
    (3, "integer", "zh", "3"),
    (1.28e3, "text", "zh", "1,280"),
    (0.751, "text", "zh", "0.75"),
    (True, "text", "zh", "是"),
    (None, "text", "zh", "–"),
    (["P1", "P2"], "list", "zh", "P1、P2"),
])
def test_format_value(value, kind, lang, expected):
    if kind not in display.KINDS:
        kind = "text"
    assert display.format_value(value, kind, lang) == expected


def test_status_labels_come_from_the_standards_table():
    from geo.standards import load_standards

    statuses = load_standards().statuses
    row = statuses.loc[statuses.code == "approved_unsupplied"].iloc[0]
    assert display.format_value("approved_unsupplied", "status", "zh") == row.label_zh
    assert display.format_value("approved_unsupplied", "status", "en") == row.label_en


def test_change_has_sign_and_unit():
    assert display.format_change(1110.0, 1120.0, "area_mu", "zh") == "1,110.00 亩 → 1,120.00 亩（+10.00 亩）"
    assert display.format_change(0.5, 0.48, "percent", "en") == "50.0% → 48.0% (−2.0 pp)"
    assert display.format_change(3.0, 3.0, "wan_per_mu", "zh") == "3.0 万元/亩 → 3.0 万元/亩（±0.0 万元/亩）"


def test_datetime_in_local_time_to_the_minute(monkeypatch):
    monkeypatch.setenv("PARKATLAS_TZ", "UTC")
    assert display.format_value("2026-12-02T08:14:59.999+00:00", "datetime", "en") == "2026-12-02 08:14"


def test_dict_is_never_a_repr():
    text = display.format_value({"area_mu": 12.0, "gas": True}, "text", "zh")
    assert "{" not in text and "True" not in text
    assert text == "面积（亩）: 12.00 亩；燃气: 是"


@pytest.mark.parametrize("lang, expected", [
    ("zh", {"parcel": "ZQ-001", "status": "可供地", "stage": "供地", "to_stage": "开工", "version": "1,203",
            "ids": "a、b", "date": "2026-01-02"}),
    ("en", {"parcel": "ZQ-001", "status": "Available", "stage": "Land supplied", "to_stage": "Under construction",
            "version": "1,203", "ids": "a, b", "date": "2026-01-02"}),
])
def test_a_keyed_errors_values_are_labelled_and_formatted(lang, expected):
    from datetime import date

    values = {"parcel": "ZQ-001", "status": "available", "stage": "land_supplied", "to_stage": "under_construction",
              "version": 1203, "ids": ["a", "b"], "date": date(2026, 1, 2)}
    assert display.format_message_values(values, lang) == expected
    assert display.format_message_values({"role": "viewer", "needed_role": "planner"}, lang) == (
        {"role": "只读用户", "needed_role": "规划人员"} if lang == "zh" else {"role": "Viewer", "needed_role": "Planner"})
    assert display.format_message_values({"field_key": "projects.col_signed_on"}, lang) == {
        "field_key": "签约日期" if lang == "zh" else "Signed on"}


def test_format_frame_by_column_kind():
    frame = pd.DataFrame({
        "parcel_id": ["ZQ-1", "ZQ-2"], "status": ["available", "approved_unsupplied"],
        "area_mu": [1234.567, np.nan], "land_ready": [True, False], "occupancy_rate": [0.5, 0.25],
        "reserved_at": ["2026-01-01T00:00:00.5+00:00", None], "output_wan": [1.28e3, 5.0], "地块用途": ["甲", "乙"],
    })
    out = display.format_frame(frame, "zh")
    assert list(out.columns) == ["地块编号", "状态", "面积（亩）", "净地", "用地率", "预留时间", "年产值（万元）", "地块用途"]
    assert out.iloc[0].tolist() == ["ZQ-1", "可供地", "1,234.57", "是", "50.0%", "2026-01-01 08:00", "1,280.0", "甲"]
    assert out.iloc[1].tolist() == ["ZQ-2", "批而未供", "–", "否", "25.0%", "–", "5.0", "乙"]
    english = display.format_frame(frame, "en", units=True)
    assert english.iloc[0]["Area (mu)"] == "1,234.57 mu"


def test_format_frame_for_export_keeps_numbers():
    frame = pd.DataFrame({"area_mu": [12.3456], "status": ["available"], "at": ["2026-01-01T00:00:00+00:00"]})
    out = display.format_frame(frame, "zh", for_export=True, headers=False)
    assert out.area_mu.iloc[0] == 12.35 and isinstance(out.area_mu.iloc[0], float)
    assert out.status.iloc[0] == "可供地"
    assert out["at"].iloc[0] == "2026-01-01 08:00"


def test_unknown_columns_are_text_under_their_own_name():
    assert display.column_kind("用地性质") == "text"
    assert display.header("用地性质", "zh") == "用地性质"
    assert not math.isnan(0.0)


def test_park_groups_are_named_by_the_stores_city(sample_store):
    city = sample_store.read_city()
    assert display.label("east", "group", "zh", city) == "东部四园"
    assert display.label("east", "group", "en", city) == "4 eastern parks"
    assert display.label("east", "group", "zh") == "east"  # no city: the id, never a made-up name
    table = display.format_frame(pd.DataFrame({"group": ["west", "platform"]}), "zh", city=city)
    assert table.iloc[:, 0].tolist() == ["西部四园", "三大平台"]
