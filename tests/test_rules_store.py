"""The parcel fields of the published rules, on both stores: idle land (闲置土地处置办法 第二条、第八条)
and the 2008 control indicators (structures, yards, storeys over 8 m) — set by import and by edit."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from geo.auth import User
from geo.errors import ParkAtlasError
from geo.io.attributes import conform_attributes
from geo.metrics import idle_land_warnings, with_metrics
from geo.testing import copy_sample_store, make_parcels

ADMIN = User("alice", "admin")
PLANNER = User("pat", "planner")


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    if request.param == "gpkg":
        from geo.store.gpkg import GpkgStore

        return GpkgStore(Path(copy_sample_store(tmp_path)))
    from geo.store.postgis import PostgisStore

    return PostgisStore(request.getfixturevalue("postgis_url"))


def test_idle_and_control_fields_are_set_by_import_and_edit(store):
    # A 15 亩 parcel, 6,000 万元 total investment: started, 2 亩 developed, stopped since 2024-03-01.
    new = make_parcels([(0, 0, 100, 100)], park_id="zq_hitech", parcel_id="RULES1", status="idle",
                       investment_wan=6000.0, contract_start_date="2023-06-01", actual_start_date="2023-08-01",
                       stopped_since="2024-03-01", developed_area_mu=2.0, investment_to_date_wan=3000.0,
                       footprint_m2=4000.0, structures_footprint_m2=500.0, yard_area_m2=500.0,
                       floor_area_m2=8000.0, floor_area_over_8m_m2=2000.0)
    store.import_features("parcels", new, user=ADMIN)
    stored = store.read_parcels("zq_hitech").set_index("parcel_id").loc[["RULES1"]]
    assert stored.loc["RULES1", "stopped_since"] == "2024-03-01"
    assert stored.loc["RULES1", "developed_area_mu"] == 2.0
    metrics = with_metrics(stored.reset_index()).iloc[0]
    assert metrics.building_coefficient == pytest.approx(0.5)  # (4,000 + 500 + 500) / 10,000 m²
    assert metrics.plot_ratio == pytest.approx(1.0)  # (8,000 + 2,000 counted again) / 10,000 m²
    warning = idle_land_warnings(stored.reset_index(), date(2025, 3, 1)).iloc[0]
    assert (warning.idle_case, warning.rule) == ("stopped", "idle_fee")

    version = int(stored.loc["RULES1", "version"])
    store.update_attributes("RULES1", {"delay_cause": "force_majeure", "delay_reason": "2024年洪水停工"},
                            user=PLANNER, expected_version=version)
    edited = store.read_parcels("zq_hitech").set_index("parcel_id").loc[["RULES1"]].reset_index()
    exempt = idle_land_warnings(edited, date(2025, 3, 1)).iloc[0]
    assert (exempt.rule, exempt.delay_reason) == ("idle_exempt", "2024年洪水停工")

    with pytest.raises(ParkAtlasError, match="delay_cause 'weather' is not one of government, force_majeure"):
        store.update_attributes("RULES1", {"delay_cause": "weather"}, user=PLANNER)
    bad = new.assign(delay_cause="weather", parcel_id="RULES2")
    with pytest.raises(ParkAtlasError, match="delay_cause 'weather'"):
        store.import_features("parcels", bad, user=ADMIN)
    assert "RULES2" not in set(store.read_parcels("zq_hitech").parcel_id)


def test_a_planners_table_names_the_fields_in_chinese_with_units():
    table = pd.DataFrame({"地块编号": ["A1", "A2"], "停工日期": ["2024年3月1日", None],
                          "已开发面积(公顷)": [1.0, None], "已投资额(亿元)": [0.3, None],
                          "延迟原因类别": ["不可抗力", "政府原因"], "延迟原因": ["台风", "未按期交地"],
                          "构筑物占地面积(平方米)": [500, 0], "堆场面积": [200, None]})
    out, _, info = conform_attributes(table, "parcels")
    assert out.stopped_since.tolist()[0] == "2024-03-01"
    assert out.developed_area_mu.iloc[0] == pytest.approx(15.0)  # 1 ha = 15 亩
    assert out.investment_to_date_wan.iloc[0] == pytest.approx(3000.0)
    assert out.delay_cause.tolist() == ["force_majeure", "government"]
    assert out.structures_footprint_m2.iloc[0] == 500 and out.yard_area_m2.iloc[0] == 200
    assert info["recoded"]["delay_cause"] == 2


def test_a_store_made_before_the_rule_fields_gets_them_empty(tmp_path):
    import sqlite3

    from geo.store.gpkg import GpkgStore

    path = copy_sample_store(tmp_path)
    con = sqlite3.connect(path)
    for column in ("delay_reason", "yard_area_m2"):
        con.execute(f'ALTER TABLE parcels DROP COLUMN "{column}"')
    con.commit()
    con.close()
    parcels = GpkgStore(path).read_parcels()
    assert parcels.delay_reason.isna().all() and parcels.yard_area_m2.isna().all()
    assert GpkgStore(path).integrity_check() == []


def test_a_postgis_store_made_before_the_rule_fields_gets_them_empty(postgis_url):
    import psycopg

    from geo.store import postgis

    with psycopg.connect(postgis_url) as con:
        con.execute(f'ALTER TABLE {postgis.SCHEMA}.parcels DROP COLUMN "stopped_since"')
    postgis._ready.discard(postgis_url)  # as a server process starting on the older database
    parcels = postgis.PostgisStore(postgis_url).read_parcels()
    assert "stopped_since" in parcels.columns and parcels.stopped_since.isna().all()
