"""Enterprises: file reading and validation, land, parcel figures, both stores, the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from geo.auth import User
from geo.enterprise import (
    WHITESPACE, apply_enterprise_figures, column_label, enterprise_file_frame, enterprise_land, enterprise_parcels,
    file_error_text, import_enterprises, link_parcels, parcel_figures, problem_text, read_enterprise_file,
    read_enterprises, read_figures,
)
from geo.errors import KeyedError, NotFoundError, ParkAtlasError, PermissionDenied
from geo.metrics import parcel_metrics
from geo.testing import copy_sample_store, make_parcels
from geo.uscc import make_uscc
from tests import cli_runner

ROOT = Path(__file__).resolve().parent.parent
ADMIN = User("alice", "admin")
VIEWER = User("vic", "viewer")
U1 = make_uscc("91441200MA0000001")
U2 = make_uscc("91441200MA0000002")


def csv_bytes(rows: list[dict], columns=None) -> bytes:
    return pd.DataFrame(rows, columns=columns).to_csv(index=False).encode("utf-8")


def row(uscc=U1, year=2025, **values) -> dict:
    base = {"uscc": uscc, "name": "肇庆测试有限公司", "industry_code": "39", "chain": "electronics",
            "scale": "above", "parcel_ids": "P1", "leased_floor_m2": "", "production_start": "2019-05-01",
            "year": year, "sales_wan": 5000, "value_added_wan": 1200, "tax_wan": 300, "energy_tce": 400,
            "emissions_t": 10, "rd_wan": 150, "employees": 120}
    return {**base, **values}


# --- reading and validation ------------------------------------------------------------------
def test_chinese_headers_and_scale_words_are_read():
    table = pd.DataFrame([{"统一社会信用代码": U1, "企业名称": "甲公司", "企业规模": "规下", "地块编号": "P1；P2",
                           "年度": "2025", "实缴税金（万元）": "1,234.5", "从业人数": "40"}])
    result = read_enterprise_file(table.to_csv(index=False).encode("gb18030"), "企业.csv", ["P1", "P2"])
    assert result.accepted, result.problems
    enterprise = result.enterprises.iloc[0]
    assert (enterprise.scale, enterprise.parcel_ids) == ("below", "P1;P2")
    figures = result.figures.iloc[0]
    assert (figures.year, figures.tax_wan, figures.employees) == (2025, 1234.5, 40)


def test_every_problem_is_reported_with_its_row_and_the_file_is_rejected():
    bad_check = U2[:-1] + ("0" if U2[-1] != "0" else "1")
    rows = [row(), row(year=2025),  # the same enterprise and year twice
            row(uscc=bad_check), row(uscc=U2, scale="huge", tax_wan=-1, parcel_ids="P9")]
    result = read_enterprise_file(csv_bytes(rows), "e.csv", ["P1"])
    assert not result.accepted
    found = {(p["row"], p["column"]) for p in result.problems}
    assert found == {(3, "year"), (4, "uscc"), (5, "scale"), (5, "parcel_ids"), (5, "tax_wan")}
    assert result.enterprises.empty and result.figures.empty
    assert "check character" in next(p["problem"] for p in result.problems if p["column"] == "uscc")


def test_problems_read_in_the_planners_language():
    bad_check = U2[:-1] + ("0" if U2[-1] != "0" else "1")
    rows = [row(uscc=bad_check), row(uscc=U2, scale="huge", tax_wan=-1, parcel_ids="P9")]
    problems = {p["column"]: p for p in read_enterprise_file(csv_bytes(rows), "e.csv", ["P1"]).problems}
    check = problems["uscc"]
    assert check["kind"] == "uscc_check" and check["values"]["found"] == bad_check[-1]
    assert problem_text(check, "zh") == (f"统一社会信用代码校验位为 {bad_check[-1]}，按 GB 32100-2015 应为 "
                                         f"{U2[-1]}：可能录入有误")
    assert problem_text(check, "en").startswith("the social credit code's check character is")
    assert problem_text(problems["parcel_ids"], "zh") == "数据库中没有地块 P9"
    assert problem_text(problems["tax_wan"], "zh") == "不能为负数"
    assert problem_text(problems["scale"], "zh") == "企业规模须为“规上”或“规下”"
    assert column_label("tax_wan", "zh") == "实缴税金(万元)" and column_label("tax_wan", "en") == "tax_wan"


def test_missing_required_column_is_one_line():
    with pytest.raises(ParkAtlasError, match="lacks the column.*uscc"):
        read_enterprise_file(csv_bytes([{"name": "x", "scale": "above", "year": 2025}]), "e.csv")
    with pytest.raises(KeyedError) as refused:
        read_enterprise_file(csv_bytes([{"name": "x", "year": 2025}]), "e.csv")
    assert file_error_text(refused.value, "zh").startswith("文件缺少必需的列：统一社会信用代码、企业规模")
    assert file_error_text(refused.value, "en").startswith("the file lacks the column(s) uscc, scale")
    with pytest.raises(KeyedError) as wrong_type:
        read_enterprise_file(b"x", "e.pdf")
    assert file_error_text(wrong_type.value, "zh") == "无法读取 e.pdf：请上传 .csv 或 .xlsx 文件"


def test_attributes_come_from_the_latest_year_and_a_row_without_year_has_no_figures():
    rows = [row(year=2024, name="旧名"), row(year=2025, name="新名"),
            row(uscc=U2, year="", sales_wan="", value_added_wan="", tax_wan="", energy_tce="",
                emissions_t="", rd_wan="", employees="", production_start="")]
    result = read_enterprise_file(csv_bytes(rows), "e.csv", ["P1"])
    assert result.accepted, result.problems
    assert result.enterprises.set_index("uscc").name.to_dict() == {U1: "新名", U2: "肇庆测试有限公司"}
    assert sorted(result.figures.year) == [2024, 2025] and set(result.figures.uscc) == {U1}


def test_export_reads_back_identically():
    result = read_enterprise_file(csv_bytes([row(year=2024), row(year=2025, parcel_ids="P1;P2")]), "e.csv")
    table = enterprise_file_frame(result.enterprises, result.figures, chinese=True)
    again = read_enterprise_file(table.to_csv(index=False).encode("utf-8"), "again.csv")
    pd.testing.assert_frame_equal(again.enterprises, result.enterprises)
    pd.testing.assert_frame_equal(again.figures, result.figures)



def test_chain_leader_column_in_english_and_chinese_headers():
    rows = [row(chain_leader="是"), row(uscc=U2, chain="nev", chain_leader="nev；electronics"),
            row(uscc=make_uscc("91441200MA0000003"), chain_leader="")]
    result = read_enterprise_file(csv_bytes(rows), "e.csv")
    assert result.accepted, result.problems
    assert sorted(map(tuple, result.leaders[["chain", "uscc"]].to_numpy().tolist())) == [
        ("electronics", U1), ("electronics", U2), ("nev", U2)]
    table = enterprise_file_frame(result.enterprises, result.figures, chinese=True, leaders=result.leaders)
    assert "链主" in table.columns
    again = read_enterprise_file(table.to_csv(index=False).encode("gb18030"), "again.csv")
    pd.testing.assert_frame_equal(again.leaders.sort_values(["chain", "uscc"]).reset_index(drop=True),
                                  result.leaders.sort_values(["chain", "uscc"]).reset_index(drop=True))
    assert read_enterprise_file(csv_bytes([row()]), "e.csv").leaders is None  # no column: leaders untouched


def test_chain_leader_problems_reject_the_file():
    rows = [row(chain_leader="no_such_chain"), row(uscc=U2, chain="", chain_leader="yes")]
    result = read_enterprise_file(csv_bytes(rows), "e.csv")
    assert [(p["row"], p["column"]) for p in result.problems] == [(2, "chain_leader"), (3, "chain_leader")]
    assert "no_such_chain" in result.problems[0]["problem"] and "needs its chain" in result.problems[1]["problem"]


# --- land and parcel figures -------------------------------------------------------------------
def hand_parcels():
    # Three 100 m × 100 m parcels (15 亩 each) and a fourth of 200 m × 100 m.
    return make_parcels([(0, 0, 100, 100), (100, 0, 200, 100), (200, 0, 300, 100), (0, 200, 200, 300)],
                        status="occupied", output_wan=[1.0, 1.0, 1.0, 7.0], tax_wan=0.0, employees=0)


def hand_enterprises():
    return pd.DataFrame({"uscc": [U1, U2], "name": ["甲", "乙"], "industry_code": ["39", "39"],
                         "chain": [None, None], "scale": ["above", "below"],
                         "parcel_ids": ["P1;P2;P3", "P1"], "leased_floor_m2": [None, 3000.0],
                         "production_start": ["2019-01-01", "2020-01-01"]}).astype(
        {"leased_floor_m2": "float64", "chain": "string"})


def test_enterprise_on_three_parcels_has_their_land_and_a_tenant_its_leased_floor():
    land = enterprise_land(hand_enterprises(), hand_parcels())
    assert land.loc[U1, "land_mu"] == pytest.approx(45.0, rel=1e-3)
    assert land.loc[U1, "parcel_count"] == 3
    assert land.loc[U2, "land_mu"] == pytest.approx(3000 / (10_000 / 15))  # floor ÷ 1.0, in 亩
    assert land.loc[U2, "park_id"] == "test_park"


@pytest.mark.parametrize("text", [object, "str"])
def test_parcel_lists_split_at_semicolons_and_stripped_as_python_strips(text):
    listed = [" P1 ; P2;;P3 ", None, "", "P4", "\x1c P5\u3000;\u00a0", ";", "P6;P6", "\u200bP7"]
    enterprises = pd.DataFrame({"uscc": list("abcdefgh"), "parcel_ids": listed,
                                "leased_floor_m2": [None, 1.0, None, 5.0, None, None, None, None]}).astype(
        {"parcel_ids": text, "leased_floor_m2": "float64"})
    pairs = enterprise_parcels(enterprises)
    expected = [(u, p.strip()) for u, ids in zip("abcdefgh", listed) for p in (ids or "").split(";") if p.strip()]
    assert list(zip(pairs.uscc, pairs.parcel_id)) == expected
    assert pairs.leased.tolist() == [False, False, False, True, False, False, False, False]
    assert ["\u200bP7"] == [p for p in pairs.parcel_id if "P7" in p]  # a zero-width space is not whitespace
    assert WHITESPACE == "".join(c for c in map(chr, range(0x110000)) if c.isspace())
    assert enterprise_parcels(enterprises.iloc[:0]).empty


def test_parcel_figures_come_from_the_enterprise_shared_by_area():
    figures = pd.DataFrame({"uscc": [U1, U1], "year": [2024, 2025], "sales_wan": [30.0, 90.0],
                            "tax_wan": [3.0, 9.0], "employees": [30, 60]}).astype({"employees": "Int64"})
    out = apply_enterprise_figures(hand_parcels(), hand_enterprises(), figures)
    assert out.output_wan.tolist() == pytest.approx([30.0, 30.0, 30.0, 7.0], rel=1e-3)
    assert out.tax_wan.tolist() == pytest.approx([3.0, 3.0, 3.0, 0.0], rel=1e-3)
    assert out.employees.tolist() == [20, 20, 20, 0]
    earlier = apply_enterprise_figures(hand_parcels(), hand_enterprises(), figures, year=2024)
    assert earlier.output_wan.iloc[0] == pytest.approx(10.0, rel=1e-3)
    assert parcel_metrics(out).output_per_mu_wan.iloc[0] == pytest.approx(2.0, rel=1e-3)


def test_parcels_linked_once_give_what_the_text_ids_give():
    from geo.evaluation import grades_by_parcel

    U3 = make_uscc("91441200MA0000003")
    # U3 lists P3 after U1 (the first enterprise keeps it), an unknown parcel, and P4, which also
    # appears in the parcels twice under one id (the first is used, as by the text ids).
    enterprises = pd.concat([hand_enterprises(), hand_enterprises().iloc[[0]].assign(
        uscc=U3, parcel_ids="P3; NO-SUCH ;P4")], ignore_index=True)
    parcels = pd.concat([hand_parcels(), hand_parcels().iloc[[3]]], ignore_index=True).assign(
        park_id=["a", "a", "b", "b", "c"])
    parcels["area_mu"] = parcel_metrics(parcels).area_mu.to_numpy() * [1, 2, 3, 4, 5]
    figures = pd.DataFrame({"uscc": [U1, U2, U3], "year": 2025, "sales_wan": [30.0, 5.0, 40.0],
                            "tax_wan": [3.0, 1.0, 4.0], "employees": [30, 6, 40]}).astype({"employees": "Int64"})
    grades = pd.DataFrame({"uscc": [U3, U1, U2], "grade": pd.array(["A", None, "C"], dtype="string")})
    links = link_parcels(enterprises, parcels)
    assert links.parcel.tolist() == [0, 1, 2, 0, 2, -1, 3] and links.enterprise.tolist() == [0, 0, 0, 1, 2, 2, 2]
    for ratio in (1.0, 2.5):
        pd.testing.assert_frame_equal(enterprise_land(enterprises, None, ratio, links=links),
                                      enterprise_land(enterprises, parcels, ratio))
    area = pd.Series(parcels.area_mu.to_numpy(), index=parcels.parcel_id.to_numpy())
    by_id = parcel_figures(enterprises, figures, area)
    by_key = parcel_figures(enterprises, figures, None, links=links)
    assert by_key.index.tolist() == [0, 1, 2, 3] and by_id.index.tolist() == ["P1", "P2", "P3", "P4"]
    pd.testing.assert_frame_equal(by_key.reset_index(drop=True), by_id.reset_index(drop=True))
    graded_by_id = grades_by_parcel(grades, enterprises)
    graded_by_key = grades_by_parcel(grades, enterprises, links=links)
    assert graded_by_key.to_dict() == {2: "A", 3: "A"}  # P3 is U1's (not graded); NO-SUCH is no parcel
    assert graded_by_id.to_dict() == {"P3": "A", "NO-SUCH": "A", "P4": "A"}


# --- both stores ------------------------------------------------------------------------------
@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    if request.param == "gpkg":
        from geo.store.gpkg import GpkgStore

        return GpkgStore(copy_sample_store(tmp_path))
    from geo.store.postgis import PostgisStore

    return PostgisStore(request.getfixturevalue("postgis_url"))


def test_sample_enterprises_are_seeded_and_consistent_with_parcels(store):
    enterprises, figures = read_enterprises(store), read_figures(store)
    assert len(enterprises) > 1000 and enterprises.uscc.is_unique
    assert (enterprises.parcel_ids.str.contains(";").fillna(False)).any()  # some use several parcels
    parcels = store.read_parcels().set_index("parcel_id")
    one = enterprises[enterprises.uscc.isin(figures.uscc)].iloc[0]
    ids = one.parcel_ids.split(";")
    latest = figures[(figures.uscc == one.uscc) & (figures.year == figures.year.max())].iloc[0]
    assert latest.sales_wan == pytest.approx(parcels.loc[ids, "output_wan"].sum(), abs=0.1)


def test_import_upserts_all_or_nothing_and_is_audited(store):
    parcel = store.read_parcels().parcel_id.iloc[0]
    before = len(read_enterprises(store))
    good = read_enterprise_file(csv_bytes([row(parcel_ids=parcel, year=2024), row(parcel_ids=parcel)]), "e.csv")
    with pytest.raises(PermissionDenied):
        import_enterprises(store, good.enterprises, good.figures, user=VIEWER)
    result = import_enterprises(store, good.enterprises, good.figures, user=ADMIN)
    assert result["enterprises"]["inserted"] == 1
    assert result["enterprise_figures"] == {"inserted": 2, "replaced": 0, "unchanged": 0, "deleted": 0}
    again = read_enterprise_file(csv_bytes([row(parcel_ids=parcel, year=2024),
                                            row(parcel_ids=parcel, tax_wan=999)]), "e.csv")
    result = import_enterprises(store, again.enterprises, again.figures, user=ADMIN)
    assert result["enterprise_figures"]["replaced"] == 1 and result["enterprise_figures"]["inserted"] == 0
    stored = read_figures(store, 2025)
    assert stored.loc[stored.uscc == U1, "tax_wan"].item() == 999
    assert len(read_enterprises(store)) == before + 1
    # A file naming an unknown parcel changes nothing, even its valid rows.
    bad = read_enterprise_file(csv_bytes([row(tax_wan=1), row(uscc=U2, parcel_ids="NO-SUCH")]), "e.csv")
    with pytest.raises(NotFoundError, match="NO-SUCH") as refused:
        import_enterprises(store, bad.enterprises, bad.figures, user=ADMIN)
    assert refused.value.key == "store.not_found.parcel" and "NO-SUCH" in refused.value.values["ids"]
    with pytest.raises(KeyedError, match="no enterprise rows") as empty:  # a file of headers only
        import_enterprises(store, bad.enterprises.iloc[:0], bad.figures.iloc[:0], user=ADMIN)
    assert file_error_text(empty.value, "zh") == "文件中没有企业数据行：未导入任何内容，请检查文件后重新上传"
    assert read_figures(store, 2025).set_index("uscc").tax_wan[U1] == 999
    assert len(read_enterprises(store)) == before + 1
    log = store.history()
    imported = log[log.action == "enterprise_import"]
    assert len(imported) == 4  # the new enterprise, its two years, then the changed year
    assert imported.iloc[-1].new["tax_wan"] == 999 and imported.iloc[-1].old["tax_wan"] == 300


def test_import_replaces_the_file_enterprises_leaders_in_one_transaction(store):
    from geo.chain import read_leaders

    parcel = store.read_parcels().parcel_id.iloc[0]
    first = read_enterprise_file(csv_bytes([row(parcel_ids=parcel, chain_leader="electronics;nev")]), "e.csv")
    result = import_enterprises(store, first.enterprises, first.figures, user=ADMIN, leaders=first.leaders)
    assert result["chain_leaders"]["inserted"] == 2
    led = read_leaders(store)
    assert set(led.chain[led.uscc == U1]) == {"electronics", "nev"}
    again = read_enterprise_file(csv_bytes([row(parcel_ids=parcel, chain_leader="nev")]), "e.csv")
    result = import_enterprises(store, again.enterprises, again.figures, user=ADMIN, leaders=again.leaders)
    assert (result["chain_leaders"]["deleted"], result["chain_leaders"]["unchanged"]) == (1, 1)
    led = read_leaders(store)
    assert set(led.chain[led.uscc == U1]) == {"nev"} and len(led[led.uscc != U1]) == len(led) - 1
    audited = store.history()
    leader_rows = audited[audited.detail.map(lambda d: isinstance(d, dict) and d.get("table") == "chain_leaders")]
    assert list(leader_rows.action) == ["enterprise_import"] * 3  # two added, then one removed


# --- CLI -------------------------------------------------------------------------------------
def run_cli(env, *args):
    return cli_runner.run_cli(*args, env=env, cwd=ROOT)


def test_cli_import_dry_run_rejection_and_export(cli_env, tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(csv_bytes([row(parcel_ids="NO-SUCH")]))
    done = run_cli(cli_env, "enterprises", "import", str(path), "--dry-run")
    assert done.returncode == 2 and done.stderr.startswith("error: import of e.csv rejected")
    assert json.loads(done.stdout)["problems"][0]["column"] == "parcel_ids"
    out = tmp_path / "all.xlsx"
    done = run_cli(cli_env, "enterprises", "export", "--out", str(out), "--chinese")
    assert done.returncode == 0, done.stderr
    table = pd.read_excel(out, dtype=str)
    assert list(table.columns[:2]) == ["统一社会信用代码", "企业名称"] and "链主" in table.columns
    done = run_cli(cli_env, "enterprises", "import", str(out), "--user", "admin")
    assert done.returncode == 0, done.stderr
    committed = json.loads(done.stdout)["committed"]
    assert committed["enterprises"]["inserted"] == 0 and committed["enterprise_figures"]["replaced"] == 0
    assert committed["chain_leaders"]["inserted"] == committed["chain_leaders"]["deleted"] == 0
    first = table[table["统一社会信用代码"] == table["统一社会信用代码"].iloc[0]].assign(链主="metal")
    first.to_csv(path, index=False)
    done = run_cli(cli_env, "enterprises", "import", str(path), "--user", "admin")
    assert done.returncode == 0, done.stderr
    leaders = json.loads(run_cli(cli_env, "chains", "list").stdout)
    assert next(c for c in leaders if c["chain"] == "metal")["leaders"] >= 1
    listed = json.loads(run_cli(cli_env, "enterprises", "list", "--park", "fk_changgang").stdout)
    assert listed and {r["park_id"] for r in listed} == {"fk_changgang"}
