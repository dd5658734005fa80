"""亩均 evaluation: hand-built jurisdictions with known scores and grades for both presets, classes,
sensitivity, year-over-year, stored results on both stores, and one grade in every view (CLI)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from geo.auth import User
from geo.city import division_kind
from geo.enterprise import import_enterprises, read_enterprises, read_figures
from geo.errors import ParkAtlasError
from geo.i18n import t
from geo.evaluation import (
    current_grades, evaluate, evaluate_frames, grading_area_key, load_scheme, parcel_grades, policy_list,
    read_grades, save_evaluation, sensitivity, year_over_year,
)
from geo.testing import copy_sample_store, make_parcels
from geo.uscc import make_uscc
from tests import cli_runner

ROOT = Path(__file__).resolve().parent.parent
U = {i: make_uscc(f"91441200MA000000{i}") for i in range(1, 8)}


def hand_world():
    """County 441201 (parks p1): E1 on three parcels, E2–E4 on one each, E5 a start-up, E6 规下;
    county 441202 (park p2): E7. Every parcel 100 m × 100 m = 15 亩.

    All indicators but tax per 亩 are the same ratio for every enterprise (score 100);
    tax per 亩: E1 10, E2 15, E3 5, E4 10 (county average 900 / 90 亩 = 10), E7 10.
    """
    boxes = [(i * 100, 0, i * 100 + 100, 100) for i in range(9)]
    parcels = make_parcels(boxes, park_id=["p1"] * 8 + ["p2"], status="occupied")
    parks = pd.DataFrame({"park_id": ["p1", "p2"], "district_code": ["441201", "441202"]})
    ids = {1: "P1;P2;P3", 2: "P4", 3: "P5", 4: "P6", 5: "P7", 6: "P8", 7: "P9"}
    enterprises = pd.DataFrame({
        "uscc": [U[i] for i in ids], "name": [f"E{i}" for i in ids], "industry_code": "39", "chain": None,
        "scale": ["above"] * 5 + ["below", "above"], "parcel_ids": list(ids.values()), "leased_floor_m2": None,
        "production_start": ["2015-01-01"] * 4 + ["2025-06-01", "2015-01-01", "2015-01-01"],
    }).astype({"chain": "string", "leased_floor_m2": "float64"})
    land = {1: 45, 2: 15, 3: 15, 4: 15, 5: 15, 6: 15, 7: 15}
    tax = {1: 450, 2: 225, 3: 75, 4: 150, 5: 150, 6: 30, 7: 150}
    rows = []
    for i in ids:
        va = 20.0 * land[i]
        rows.append({"uscc": U[i], "year": 2025, "sales_wan": 4 * va, "value_added_wan": va, "tax_wan": float(tax[i]),
                     "energy_tce": va / 2, "emissions_t": va / 50, "rd_wan": 4 * va * 0.02, "employees": int(va / 10)})
    figures = pd.DataFrame(rows).astype({"year": "Int64", "employees": "Int64"})
    return enterprises, figures, parcels, parks


def by_name(evaluation) -> pd.DataFrame:
    return evaluation.table.set_index("name")


def test_zhejiang_style_county_scores_and_grades():
    evaluation = evaluate_frames(*hand_world(), 2025, load_scheme("zhejiang_style"))
    table = by_name(evaluation)
    assert table.loc[["E1", "E2", "E3", "E4"], "score"].tolist() == pytest.approx([100.0, 115.0, 85.0, 100.0])
    # Shares A 10 / B 35 / C 45 / D 10 in a pool of four: positions 0, ¼, ½, ¾.
    assert table.loc[["E2", "E1", "E4", "E3"], "grade"].tolist() == ["A", "B", "C", "C"]
    assert table.loc[["E2", "E1", "E4", "E3"], "rank"].tolist() == [1, 2, 3, 4]
    assert table.loc["E1", "jurisdiction"] == "441201" and table.loc["E7", "jurisdiction"] == "441202"
    assert (table.loc["E7", "grade"], table.loc["E7", "rank"]) == ("A", 1)  # alone in its county
    # The start-up is a class of its own, not graded; the 规下 enterprise is graded on tax only.
    assert table.loc["E5", "evaluated_class"] == "startup" and pd.isna(table.loc["E5", "grade"])
    assert table.loc["E6", "evaluated_class"] == "below" and table.loc["E6", "grade"] == "A"
    e6 = evaluation.results("en").set_index("name").loc["E6", "indicators"]
    assert [(r["name"], r["weight"]) for r in e6 if r["weight"] > 0] == [("tax_per_mu", 100.0)]
    e2 = {r["name"]: r for r in evaluation.results("zh").set_index("name").loc["E2", "indicators"]}
    assert (e2["tax_per_mu"]["value"], e2["tax_per_mu"]["score"], e2["tax_per_mu"]["contribution"]) == (15.0, 150.0, 45.0)
    assert "亩均税收 15.00 万元/亩" in e2["tax_per_mu"]["reason"] and "150%" in e2["tax_per_mu"]["reason"]


def test_county_pool_reasons_name_the_division_by_its_level():
    """A county jurisdiction's reasons say 全区 for a district (区), 全县 for a county, whatever the
    store's own level: the pool is the enterprise's county-level division."""
    evaluation = evaluate_frames(*hand_world(), 2025, load_scheme("zhejiang_style"))

    def tax_reason(name, lang):
        return {r["name"]: r for r in evaluation.results(lang).set_index("name").loc[name, "indicators"]}[
            "tax_per_mu"]["reason"]

    assert "为全县同类平均" in tax_reason("E2", "zh")  # a division of unknown level: its county
    evaluation.county_kinds = {"441201": "district", "441202": "county"}
    evaluation.area_kind = "city"  # the store's own level does not name a county pool
    assert "为全区同类平均" in tax_reason("E2", "zh") and "of the district's average" in tax_reason("E2", "en")
    assert "为全县同类平均" in tax_reason("E7", "zh") and "of the county's average" in tax_reason("E7", "en")
    assert [division_kind(code, name) for code, name in (("440703", "蓬江区"), ("441223", "广宁县"), ("441284", "四会市"),
                                                         ("441200", "肇庆市"), ("150121", "土默特左旗"))] == [
        "district", "county", "city", "city", "county"]


def test_one_city_preset_grades_the_whole_city_as_one_pool():
    evaluation = evaluate_frames(*hand_world(), 2025, load_scheme("one_city_25_45_25_5"))
    table = by_name(evaluation)
    assert table.loc[["E1", "E2", "E3", "E4", "E7"], "score"].tolist() == pytest.approx([100, 122.5, 77.5, 100, 100])
    assert set(table.loc[["E1", "E7"], "jurisdiction"]) == {"city"}
    # 25/45/25/5 over five: positions 0, .2 → A; .4, .6 → B; .8 → C. Ties (100) in USCC order E1, E4, E7.
    assert table.loc[["E2", "E1", "E4", "E7", "E3"], "grade"].tolist() == ["A", "A", "B", "B", "C"]
    assert table.loc["E5", "evaluated_class"] == "startup"  # producing 0.6 years < 1
    # The reasons compare with the whole area's average, named by the store's kind (a district: 全区).
    def tax_reason(lang):
        return {r["name"]: r for r in evaluation.results(lang).set_index("name").loc["E2", "indicators"]}[
            "tax_per_mu"]["reason"]

    assert "为全市同类平均" in tax_reason("zh") and "of the city's average" in tax_reason("en")
    evaluation.area_kind = "district"
    assert "为全区同类平均" in tax_reason("zh") and "of the district's average" in tax_reason("en")


def test_enterprise_on_three_parcels_is_graded_once_and_its_parcels_share_the_grade():
    evaluation = evaluate_frames(*hand_world(), 2025, load_scheme("zhejiang_style"))
    assert (evaluation.table.name == "E1").sum() == 1
    assert len(evaluation.table) == 7


def test_tax_only_illustration_and_cutoffs_and_bad_scheme(tmp_path):
    evaluation = evaluate_frames(*hand_world(), 2025, load_scheme("tax_per_mu_only"))
    assert load_scheme("tax_per_mu_only").kind == "illustration"
    assert by_name(evaluation).loc["E2", "score"] == 100.0  # best tax per 亩 of the city pool
    text = (ROOT / "data/standards/mu_schemes/zhejiang_style.toml").read_text(encoding="utf-8")
    cut = text.replace('rule = "shares"', 'rule = "cutoffs"').replace("A = 0.10", "A = 110").replace(
        "B = 0.35", "B = 100").replace("C = 0.45", "C = 90").replace("D = 0.10", "D = 0")
    path = tmp_path / "cutoffs.toml"
    path.write_text(cut, encoding="utf-8")
    table = by_name(evaluate_frames(*hand_world(), 2025, load_scheme(path)))
    assert table.loc[["E2", "E1", "E4", "E3"], "grade"].tolist() == ["A", "B", "B", "D"]
    path.write_text(text.replace("weight = 30", "weight = -3"), encoding="utf-8")
    with pytest.raises(ParkAtlasError, match="weight of tax_per_mu"):
        load_scheme(path)
    with pytest.raises(ParkAtlasError, match="no evaluation scheme 'nope'.*zhejiang_style"):
        load_scheme("nope")


def test_sensitivity_counts_grade_changes_when_a_weight_moves():
    evaluation = evaluate_frames(*hand_world(), 2025, load_scheme("zhejiang_style"))
    table = sensitivity(evaluation).set_index(["indicator", "new_weight"])
    # Only tax differs between enterprises, and moving any weight keeps the order: nobody moves.
    assert table.changed.sum() == 0 and len(table) == 12
    # E3 with 1.5× the value added: E2 110.4 (A) just ahead of E3 108.1 (B); with the tax weight at
    # 25 instead of 30 they swap (E3 111.1, E2 108.3); every other ±5 keeps the order.
    enterprises, figures, parcels, parks = hand_world()
    figures.loc[figures.uscc == U[3], "value_added_wan"] *= 1.5
    evaluation = evaluate_frames(enterprises, figures, parcels, parks, 2025, load_scheme("zhejiang_style"))
    assert by_name(evaluation).loc[["E2", "E3"], "score"].tolist() == pytest.approx([110.3846, 108.0769], abs=1e-3)
    changed = sensitivity(evaluation).set_index(["indicator", "new_weight"])
    assert changed.loc[("tax_per_mu", 25.0), ["changed", "up", "down"]].tolist() == [2, 1, 1]
    assert changed.changed.sum() == 2


def test_year_over_year_changes():
    now = pd.DataFrame({"uscc": ["a", "b", "c", "d"], "grade": ["A", "C", "B", None]})
    before = pd.DataFrame({"uscc": ["a", "b", "d", "e"], "grade": ["B", "B", "D", "A"]})
    out = year_over_year(now, before).set_index("uscc").change.to_dict()
    assert out == {"a": "up", "b": "down", "c": "new", "d": "not_graded"}


def test_policy_list_has_the_grade_with_uscc_name_and_parcels():
    enterprises, figures, parcels, parks = hand_world()
    evaluation = evaluate_frames(enterprises, figures, parcels, parks, 2025, load_scheme("zhejiang_style"))
    table = policy_list(evaluation.table, enterprises, "C")
    assert table[["name", "parcel_ids"]].values.tolist() == [["E4", "P6"], ["E3", "P5"]]


# --- stores -------------------------------------------------------------------------------------
@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    if request.param == "gpkg":
        from geo.store.gpkg import GpkgStore

        return GpkgStore(copy_sample_store(tmp_path))
    from geo.store.postgis import PostgisStore

    return PostgisStore(request.getfixturevalue("postgis_url"))


def test_stored_evaluation_is_the_grade_shown_until_evaluated_again(store):
    evaluation = evaluate(store)
    assert evaluation.year == 2025 and evaluation.table.grade.notna().sum() > 1000
    save_evaluation(store, evaluation, user=User("pat", "planner"))
    stored = read_grades(store, 2025, "zhejiang_style")
    assert len(stored) == len(evaluation.table)
    assert stored.set_index("uscc").grade.equals(evaluation.table.set_index("uscc").grade.loc[stored.uscc])
    first = json.loads(stored[stored.grade.notna()].iloc[0].indicators)[0]
    assert {"reason_zh", "reason_en", "score", "weight", "contribution"} <= set(first)
    # New figures do not move the stored grade of the year until the year is evaluated again.
    worst = evaluation.table.sort_values("score").dropna(subset=["grade"]).iloc[0]
    enterprises = read_enterprises(store)
    figures = read_figures(store, 2025)
    figures.loc[figures.uscc == worst.uscc, "tax_wan"] *= 100
    import_enterprises(store, enterprises[enterprises.uscc == worst.uscc], figures[figures.uscc == worst.uscc],
                       user=User("alice", "admin"))
    assert current_grades(store).set_index("uscc").grade[worst.uscc] == worst.grade
    assert evaluate(store).table.set_index("uscc").grade[worst.uscc] < worst.grade  # a better letter once re-evaluated
    grades = parcel_grades(store)
    parcel = enterprises.set_index("uscc").parcel_ids[worst.uscc].split(";")[0]
    assert grades[parcel] == worst.grade
    log = store.history()
    assert (log.action == "evaluate").sum() == len(evaluation.table)


# --- one grade whatever the view (CLI) -------------------------------------------------------------
def run_cli(env, *args):
    done = cli_runner.run_cli(*args, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_grade_is_the_same_with_and_without_park(cli_env):
    park = "fk_changgang"
    city = {r["parcel_id"]: r["grade"] for r in run_cli(cli_env, "parcels")}
    in_park = {r["parcel_id"]: r["grade"] for r in run_cli(cli_env, "parcels", "--park", park)}
    assert sum(g is not None for g in in_park.values()) > 50
    assert all(city[pid] == grade for pid, grade in in_park.items())
    everyone = {r["uscc"]: r["grade"] for r in run_cli(cli_env, "evaluate")}
    only_park = run_cli(cli_env, "evaluate", "--park", park)
    assert only_park and all(everyone[r["uscc"]] == r["grade"] for r in only_park)
    assert {"name", "value", "score", "weight", "contribution", "reason"} == set(only_park[0]["indicators"][0])


def test_policy_list_export_is_formula_neutralised(cli_env, store_path, tmp_path):
    from openpyxl import load_workbook

    from geo.store.gpkg import GpkgStore

    store = GpkgStore(store_path)
    d = evaluate(store).table.dropna(subset=["grade"]).query("grade == 'D'").uscc.iloc[0]
    enterprises = read_enterprises(store)
    hostile = enterprises[enterprises.uscc == d].assign(name="=HYPERLINK(\"http://x\",\"点我\")")
    import_enterprises(store, hostile, read_figures(store).iloc[:0], user=User("alice", "admin"))
    out = tmp_path / "d.xlsx"
    done = cli_runner.run_cli("export", "policy-list", "--grade", "D", "--out", out, env=cli_env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("uscc", "name", "parcel_ids")
    names = {r[0]: r[1] for r in rows[1:]}
    assert names[d] == "'=HYPERLINK(\"http://x\",\"点我\")" and len(names) == json.loads(done.stdout)["rows"]


def test_reading_grades_does_not_change_the_store(store_path):
    from geo.evaluation import parcels_with_metrics
    from geo.store.gpkg import GpkgStore

    store = GpkgStore(store_path)
    revision, audit_rows = store.revision(), len(store.history())
    parcels_with_metrics(store, "fk_changgang")
    assert read_grades(store).empty
    assert store.revision() == revision and len(store.history()) == audit_rows


@pytest.mark.parametrize("scheme, adcode, name_zh, zh, en", [
    ("zhejiang_style", "441200", "肇庆市", "等级在企业所属县（市、区）范围内评定",
     "Grades are set within each enterprise's county, county-level city or district"),
    ("one_city_25_45_25_5", "441200", "肇庆市", "等级在全市范围内评定", "Grades are set across the whole city"),
    # A district's store: its county pool is the district itself, whichever jurisdiction.
    ("zhejiang_style", "440703", "蓬江区", "等级在全区范围内评定", "Grades are set across the whole district"),
    ("tax_per_mu_only", "440703", "蓬江区", "等级在全区范围内评定", "Grades are set across the whole district"),
    ("zhejiang_style", "441224", "怀集县", "等级在全县范围内评定", "Grades are set across the whole county"),
])
def test_the_scheme_note_says_where_grades_are_set(scheme, adcode, name_zh, zh, en):
    key = grading_area_key(load_scheme(scheme), division_kind(adcode, name_zh))
    assert (t(key, "zh"), t(key, "en")) == (zh, en)
