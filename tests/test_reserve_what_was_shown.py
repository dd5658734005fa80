"""Issue 21 item 1: a reservation names the parcels the planner saw, on both stores.

The store reserves exactly the ids it is given; when any of them is no longer available it
reserves nothing and says which parcel was taken and by which project (``ParcelTaken``).
"""
from __future__ import annotations

import pytest

from geo.auth import User
from geo.errors import ParcelTaken
from tests.test_store_backends import backend, open_backend, parcels_with, status_of  # noqa: F401 (fixture)

PLANNER, OTHER = User("pat", "planner"), User("olga", "planner")


@pytest.fixture()
def store(backend):  # noqa: F811 (the fixture imported above)
    return open_backend(*backend)


def test_reserve_takes_exactly_the_ids_shown(store):
    first, second, third = parcels_with(store, "available", 3)
    assert store.reserve([second, third], project="电池厂", user=PLANNER)["reserved"] == [second, third]
    parcels = store.read_parcels().set_index("parcel_id")
    assert parcels.at[first, "status"] == "available"
    assert list(parcels.loc[[second, third], "reserved_project"]) == ["电池厂", "电池厂"]


def test_a_parcel_taken_meanwhile_reserves_nothing_and_names_the_project(store):
    shown_first, shown_second = parcels_with(store, "available", 2)
    store.reserve([shown_first], project="光伏组件厂", user=OTHER)  # another planner, another tab
    with pytest.raises(ParcelTaken) as caught:
        store.reserve([shown_second, shown_first], project="电池厂", user=PLANNER)
    assert (caught.value.parcel_id, caught.value.status, caught.value.project) == (shown_first, "reserved", "光伏组件厂")
    assert "光伏组件厂" in str(caught.value) and "nothing was reserved" in str(caught.value)
    assert status_of(store, shown_second).status == "available"
    assert list(store.history().action) == ["reserve"]


def test_a_parcel_no_longer_available_names_its_status(store):
    occupied, = parcels_with(store, "occupied")
    free, = parcels_with(store, "available")
    with pytest.raises(ParcelTaken) as caught:
        store.reserve([free, occupied], project="电池厂", user=PLANNER)
    assert (caught.value.parcel_id, caught.value.status, caught.value.project) == (occupied, "occupied", None)
    assert status_of(store, free).status == "available"
