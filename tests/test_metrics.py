"""Metrics against hand computations."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from geo.metrics import (city_kpis, group_kpis, idle_land_warnings, indicator_distribution,
                         mu_grades, park_kpis, with_metrics)
from geo.testing import make_parcels


def _parks(*ids_groups):
    return pd.DataFrame({"park_id": [i for i, _ in ids_groups], "group": [g for _, g in ids_groups],
                         "name_zh": "园", "name_en": "Park", "district_code": "441284",
                         "data_as_of": "2026-10-31"})


def test_parcel_metrics_of_a_known_parcel():
    # 200 m × 150 m = 30,000 m² = 45 亩; 36,000 m² floor → plot ratio 1.2; 13,500 m² footprint → 45 %.
    parcels = make_parcels([(0, 0, 200, 150)], status="occupied", floor_area_m2=36_000.0,
                           footprint_m2=13_500.0, investment_wan=13_500.0, output_wan=9_000.0, tax_wan=450.0)
    m = with_metrics(parcels).iloc[0]
    assert m.area_m2 == pytest.approx(30_000.0, rel=1e-9)
    assert m.area_mu == pytest.approx(45.0, rel=1e-9)
    assert m.area_ha == pytest.approx(3.0, rel=1e-9)
    assert m.plot_ratio == pytest.approx(1.2, rel=1e-9)
    assert m.building_coefficient == pytest.approx(0.45, rel=1e-9)
    assert m.investment_per_mu_wan == pytest.approx(300.0, rel=1e-9)
    assert m.output_per_mu_wan == pytest.approx(200.0, rel=1e-9)
    assert m.tax_per_mu_wan == pytest.approx(10.0, rel=1e-9)


def test_missing_money_gives_missing_intensity_not_zero():
    m = with_metrics(make_parcels([(0, 0, 100, 100)], status="available")).iloc[0]
    assert pd.isna(m.investment_per_mu_wan) and pd.isna(m.tax_per_mu_wan)


def test_grades_follow_the_configured_shares():
    # 20 enterprises with tax per 亩 1..20: A = top 25 % (5), B = 45 % (9), C = 25 % (5), D = 5 % (1).
    boxes = [(i * 100, 0, i * 100 + 100, 100) for i in range(20)]  # 15 亩 each
    parcels = with_metrics(make_parcels(boxes, status="occupied", tax_wan=[15.0 * (i + 1) for i in range(20)]))
    grades = parcels.set_index("parcel_id").grade
    assert grades.value_counts().to_dict() == {"A": 5, "B": 9, "C": 5, "D": 1}
    assert grades["P20"] == "A" and grades["P16"] == "A" and grades["P15"] == "B"
    assert grades["P1"] == "D" and grades["P2"] == "C"


def test_land_without_an_enterprise_is_not_graded():
    parcels = with_metrics(make_parcels([(0, 0, 100, 100), (100, 0, 200, 100)],
                                        status=["available", "occupied"], tax_wan=[None, 30.0]))
    assert pd.isna(mu_grades(parcels).iloc[0]) and mu_grades(parcels).iloc[1] == "A"


def test_idle_land_warning_stages():
    parcels = make_parcels(
        [(i * 100, 0, i * 100 + 100, 100) for i in range(4)], status="idle",
        contract_start_date=["2025-12-01", "2025-10-01", "2024-09-01", "2024-01-01"],
        actual_start_date=[None, None, None, "2024-03-01"], enterprise="某公司")
    warnings = idle_land_warnings(parcels, as_of=date(2026, 10, 31)).set_index("parcel_id")
    # P1: 334 days — not yet; P2: 395 days — fee stage; P3: 790 days — repossession; P4 started.
    assert set(warnings.index) == {"P2", "P3"}
    assert warnings.loc["P2", "stage"] == "fee" and warnings.loc["P2", "days_overdue"] == 30
    assert warnings.loc["P3", "stage"] == "repossession"


def test_park_group_and_city_kpis_by_hand():
    # Park A: 4 × 15 亩 — occupied, available, idle and a non-industrial road; park B: one occupied 45 亩.
    a = make_parcels([(0, 0, 100, 100), (100, 0, 200, 100), (200, 0, 300, 100), (300, 0, 400, 100)],
                     park_id="A", status=["occupied", "available", "idle", "non_industrial"],
                     land_use_code=["100101", "100101", "100102", "1207"],
                     floor_area_m2=[15_000.0, 0.0, 0.0, 0.0], footprint_m2=[5_000.0, 0.0, 0.0, 0.0],
                     output_wan=[3_000.0, None, None, None], tax_wan=[150.0, None, None, None],
                     investment_wan=[4_500.0, None, None, None])
    b = make_parcels([(0, 1000, 200, 1150)], park_id="B", status="occupied", floor_area_m2=30_000.0,
                     footprint_m2=12_000.0, output_wan=4_500.0, tax_wan=90.0, investment_wan=6_000.0)
    parcels = pd.concat([a, b], ignore_index=True)
    parcels["parcel_id"] = [f"X{i}" for i in range(len(parcels))]
    parks = _parks(("A", "platform"), ("B", "west"))
    kpis = park_kpis(parcels, parks).set_index("park_id")
    assert kpis.loc["A", "total_area_mu"] == pytest.approx(60.0)
    assert kpis.loc["A", "industrial_area_mu"] == pytest.approx(45.0)
    assert kpis.loc["A", "available_area_mu"] == pytest.approx(15.0)
    assert kpis.loc["A", "idle_area_mu"] == pytest.approx(15.0)
    # Occupied (committed) land: occupied + idle = 30 of 45 industrial 亩.
    assert kpis.loc["A", "occupancy_rate"] == pytest.approx(30 / 45)
    assert kpis.loc["A", "output_per_mu_wan"] == pytest.approx(200.0)
    assert kpis.loc["A", "plot_ratio"] == pytest.approx(1.5)
    assert kpis.loc["B", "output_per_mu_wan"] == pytest.approx(100.0)
    groups = group_kpis(parcels, parks).set_index("group")
    assert groups.loc["west", "total_area_mu"] == pytest.approx(45.0)
    city = city_kpis(parcels, parks)
    # Area-weighted: (3000 + 4500) 万元 over (15 + 45) 亩 of enterprise land.
    assert city.output_per_mu_wan == pytest.approx(125.0)
    assert city.tax_per_mu_wan == pytest.approx(240 / 60)
    assert city.parcel_count == 5 and city.park_count == 2


def test_indicator_distribution_quantiles():
    boxes = [(i * 100, 0, i * 100 + 100, 100) for i in range(5)]
    parcels = with_metrics(make_parcels(boxes, status="occupied", output_wan=[150.0 * k for k in range(1, 6)]))
    dist = indicator_distribution(parcels, "output_per_mu_wan")
    assert dist.loc["test_park", "p50"] == pytest.approx(30.0)
    with pytest.raises(ValueError, match="unknown indicator"):
        indicator_distribution(parcels, "nonsense")


def test_sample_park_kpis_cover_all_parks(sample_parcels, sample_parks):
    kpis = park_kpis(sample_parcels, sample_parks)
    assert len(kpis) == 11
    assert (kpis.available_area_mu > 0).all()
    assert kpis.parcel_count.sum() == len(sample_parcels)
    # The synthetic intensities centre on the published 1.53 m yuan (153 万元) per 亩 baseline.
    assert 120 < city_kpis(sample_parcels, sample_parks).output_per_mu_wan < 190
