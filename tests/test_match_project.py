"""Project input: dict, JSON and YAML, validated with one-line errors."""
from __future__ import annotations

import json
from datetime import date

import pytest

from geo.errors import NotFoundError, ParkAtlasError
from geo.project import load_project

BASE = {"name": "储能电池项目", "investor": "示例储能", "industry_code": "38", "chain": "energy_storage",
        "land_mu_min": 100, "land_mu_max": 150, "investment_wan": 60000, "output_wan": 90000, "tax_wan": 3000,
        "jobs": 600, "plot_ratio": 1.1, "building_coefficient": 0.42, "admin_share": 0.05,
        "needs": {"power_kva": 8000, "water_t_per_day": 300, "gas": True, "highway_km": 5},
        "preferred_parks": ["zq_hitech"], "groups": ["platform"], "latest_start": "2027-03-01"}


def test_dict_json_and_yaml_give_the_same_project(tmp_path):
    import yaml

    (tmp_path / "p.json").write_text(json.dumps(BASE, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(BASE, allow_unicode=True), encoding="utf-8")
    from_dict = load_project(BASE)
    assert load_project(tmp_path / "p.json") == from_dict
    assert load_project(str(tmp_path / "p.yaml")) == from_dict
    assert from_dict.industry_code_2002 == "39"  # electrical machinery: 2017 code 38 → 2002 code 39
    assert from_dict.nuisance_class == 2  # default from industries.csv
    assert from_dict.needs.power_kva == 8000 and from_dict.needs.gas is True and from_dict.needs.rail_km is None
    assert from_dict.latest_start == date(2027, 3, 1)
    assert from_dict.to_dict()["latest_start"] == "2027-03-01"
    assert load_project(from_dict) is from_dict


def test_minimal_project_gets_defaults():
    minimal = {k: BASE[k] for k in ("name", "industry_code", "land_mu_min", "land_mu_max", "investment_wan",
                                    "output_wan", "tax_wan", "plot_ratio", "building_coefficient")}
    project = load_project({**minimal, "industry_code": 39})
    assert project.industry_code == "39" and project.industry_code_2002 == "40"
    assert project.chain is None and project.admin_share is None and project.nuisance_class == 1
    assert project.preferred_parks == () and project.groups == ()


@pytest.mark.parametrize("change, message", [
    ({"chain": "spaceships"}, "unknown chain 'spaceships'"),
    ({"land_mu_min": 200, "land_mu_max": 100}, "land_mu_min 200 is larger than land_mu_max 100"),
    ({"industry_code": "99"}, "industry_code '99' is not a GB/T 4754-2017"),
    ({"industry_code": "abc"}, "industry_code 'abc'"),
    ({"building_coefficient": 45}, "write 0.45 for 45%"),
    ({"admin_share": 7}, "admin_share is a fraction"),
    ({"nuisance_class": 4}, "nuisance_class must be 1, 2 or 3"),
    ({"plot_ratio": 0}, "plot_ratio must be > 0"),
    ({"investment_wan": "lots"}, "investment_wan must be a number"),
    ({"investment_wan": -5}, "investment_wan must be ≥ 0"),
    ({"land_mu_min": True}, "land_mu_min must be a number"),
    ({"plotratio": 1.0}, "unknown project key 'plotratio'"),
    ({"needs": {"electricity": 5}}, "unknown key needs.electricity"),
    ({"needs": {"gas": "yes"}}, "needs.gas must be true or false"),
    ({"needs": [1, 2]}, "needs must be an object"),
    ({"latest_start": "next spring"}, "latest_start 'next spring' is not a date"),
    ({"jobs": 2.5}, "jobs must be a whole number"),
    ({"name": None}, "project lacks 'name'"),
])
def test_bad_input_is_one_actionable_line(change, message):
    with pytest.raises(ParkAtlasError) as info:
        load_project({**BASE, **change})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_every_project_key_a_refusal_can_name_has_a_heading_in_both_catalogues():
    """Keyed refusals name a key by its heading (``project.key.<key>``): a key without one would show as
    the raw catalogue key on a page."""
    from geo import i18n
    from geo.project import NEEDS_KEYS, REGISTER_REQUIRED, REQUIRED_KEYS

    keys = {*REQUIRED_KEYS, *REGISTER_REQUIRED, "land_mu", "admin_share", "green_ratio",
            *(f"needs.{k}" for k in NEEDS_KEYS)}
    for lang in i18n.LANGS:
        assert not [k for k in keys if f"project.key.{k}" not in i18n.catalogue(lang)], lang


def test_bad_files(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        load_project(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x",\n "industry_code": }', encoding="utf-8")
    with pytest.raises(ParkAtlasError, match=r"not valid JSON \(line 2"):
        load_project(broken)
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ParkAtlasError, match="not valid YAML"):
        load_project(bad_yaml)
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ParkAtlasError, match="must hold one object"):
        load_project(listing)
    text = tmp_path / "project.txt"
    text.write_text("name: x", encoding="utf-8")
    with pytest.raises(ParkAtlasError, match=r"must end in \.json, \.yaml or \.yml"):
        load_project(text)
    gbk = tmp_path / "gbk.json"
    gbk.write_bytes(json.dumps({"name": "电子"}, ensure_ascii=False).encode("gbk"))
    with pytest.raises(ParkAtlasError, match="not UTF-8"):
        load_project(gbk)
