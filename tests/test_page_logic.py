"""Domain logic the Match, Parcel and Data pages call: reservations of a project, attribute
edits in store typing, and how current each park's data are."""
from __future__ import annotations

import pandas as pd
import pytest

from geo.auth import User
from geo.edits import changed_fields, editable_record, stored_value, table_changes
from geo.metrics import data_as_of_by_park
from geo.store import open_store
from geo.store.base import EDITABLE_FIELDS, reserved_for
from geo.testing import make_parcels

BOXES = [(i * 100, 0, i * 100 + 100, 100) for i in range(4)]


# --- reserved_for ---------------------------------------------------------------------------
def test_reserved_for_lists_only_the_projects_reserved_parcels_in_order():
    parcels = make_parcels(BOXES, status=["reserved", "reserved", "available", "reserved"],
                           reserved_project=["储能", "光伏", "储能", None])
    parcels = parcels.iloc[::-1]  # the parcels' own order, not the ids'
    assert reserved_for(parcels, "储能") == ["P1"]
    assert reserved_for(parcels, "光伏") == ["P2"]
    assert reserved_for(parcels, "没有") == []


def test_reserved_for_includes_every_planners_reservation_of_the_project(store_path):
    store = open_store(str(store_path))
    free = store.read_parcels().query("status == 'available'").parcel_id.sort_values().tolist()
    store.reserve(free[:2], project="储能项目", user=User("li", "planner"))
    store.reserve(free[2:3], project="储能项目", user=User("wang", "planner"))
    store.reserve(free[3:4], project="光伏项目", user=User("li", "planner"))
    assert sorted(reserved_for(store.read_parcels(), "储能项目")) == free[:3]
    assert reserved_for(store.read_parcels(), "光伏项目") == free[3:4]


# --- edits ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("field", "value", "expected"), [
    ("power_kva", "  ", None),
    ("power_kva", "1200", 1200.0),
    ("employees", 30.0, 30),
    ("land_ready", "yes", True),
    ("enterprise", "", None),
    ("enterprise", "某公司", "某公司"),
    ("power_kva", pd.NA, None),
])
def test_stored_value_types_like_the_store(field, value, expected):
    out = stored_value(field, value)
    assert out == expected and type(out) is type(expected)


def test_stored_value_keeps_what_the_column_cannot_take_so_the_write_reports_it():
    assert stored_value("power_kva", "lots") == "lots"
    assert stored_value("employees", 2.5) == 2.5


def test_editable_record_is_every_editable_field_as_plain_values():
    row = make_parcels(BOXES[:1], enterprise="某公司", employees=12, power_kva=800.0).iloc[0]
    record = editable_record(row)
    assert list(record) == list(EDITABLE_FIELDS)
    assert record["enterprise"] == "某公司" and record["employees"] == 12 and type(record["employees"]) is int
    assert record["power_kva"] == 800.0 and record["tax_wan"] is None


def test_changed_fields_ignores_retyping_and_reports_real_changes():
    before = {"power_kva": 800.0, "employees": 12, "enterprise": "某公司", "land_ready": True}
    after = {"power_kva": 800, "employees": 12.0, "enterprise": "  ", "land_ready": False, "tax_wan": "35.5"}
    assert changed_fields(before, after) == {"enterprise": None, "land_ready": False, "tax_wan": 35.5}
    assert changed_fields(before, dict(before)) == {}


def test_table_changes_gives_only_changed_cells_per_parcel_in_table_order():
    base = make_parcels(BOXES, enterprise=["甲", None, "丙", "丁"], power_kva=800.0, employees=10,
                        land_ready=True)[["parcel_id", "version", *EDITABLE_FIELDS]]
    base = pd.DataFrame(base)
    edited = base.astype(object)
    edited.loc[2, "power_kva"] = 950.0
    edited.loc[2, "enterprise"] = " "       # emptied cell: no value
    edited.loc[1, "enterprise"] = ""        # empty before and after: no change
    edited.loc[0, "land_ready"] = False
    edited.loc[0, "employees"] = 11
    edited.loc[3, "version"] = 99           # not an editable field
    assert table_changes(base, edited) == {
        "P1": {"employees": 11, "land_ready": False},
        "P3": {"enterprise": None, "power_kva": 950.0},
    }
    assert list(table_changes(base, edited)) == ["P1", "P3"]
    assert table_changes(base, base.copy()) == {}


def test_table_changes_values_are_what_the_store_accepts(store_path):
    store = open_store(str(store_path))
    base = pd.DataFrame(store.read_parcels().sort_values("parcel_id").head(3)[["parcel_id", *EDITABLE_FIELDS]])
    edited = base.copy()
    edited.loc[edited.index[1], "employees"] = 77
    changes = table_changes(base, edited)
    pid = base.parcel_id.iloc[1]
    assert changes == {pid: {"employees": 77}}
    store.update_attributes(pid, changes[pid], user=User("li", "planner"))
    assert store.read_parcels().set_index("parcel_id").at[pid, "employees"] == 77


# --- data_as_of_by_park --------------------------------------------------------------------
def test_data_as_of_by_park_counts_and_dates_each_park_in_the_parks_order():
    parks = pd.DataFrame({"park_id": ["b", "a", "empty"], "name_zh": ["乙", "甲", "空"],
                          "name_en": ["B", "A", "Empty"], "data_as_of": ["2026-03-01", "2026-02-01", None]},
                         index=[10, 20, 30])
    parcels = make_parcels([*BOXES, (500, 0, 600, 100)], park_id=["a", "a", "a", "b", "elsewhere"],
                           data_as_of=["2026-01-05", "2025-12-31", None, "2026-03-01", "2020-01-01"])
    out = data_as_of_by_park(parcels, parks)
    assert list(out.index) == [10, 20, 30]
    assert out.park_id.tolist() == ["b", "a", "empty"]
    assert out.name_zh.tolist() == ["乙", "甲", "空"]
    assert out.parcel_count.tolist() == [1, 3, 0]
    assert out.oldest.tolist()[:2] == ["2026-03-01", "2025-12-31"]
    assert out.newest.tolist()[:2] == ["2026-03-01", "2026-01-05"]
    assert pd.isna(out.oldest.iloc[2]) and pd.isna(out.newest.iloc[2])
    assert out.data_as_of.tolist()[:2] == ["2026-03-01", "2026-02-01"]


def test_sample_parks_are_dated_by_their_newest_parcel(sample_parcels, sample_parks):
    out = data_as_of_by_park(sample_parcels, sample_parks)
    assert out.parcel_count.sum() == len(sample_parcels)
    assert (out.newest == out.data_as_of).all()
    assert (out.oldest <= out.newest).all()
