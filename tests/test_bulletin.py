"""The monthly bulletin (issue 15) from a hand-built register on the sample's parks: the PDF's
pages render (pdftoppm) and hold the teams' Chinese names; the XLSX neutralises formulas."""
from __future__ import annotations

import io
import subprocess
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook

from geo.bulletin import assemble_bulletin, bulletin_xlsx, parse_month
from geo.errors import ParkAtlasError
from geo.team import read_targets, read_teams
from geo.project_review import Register
from geo.uscc import make_uscc
from layers.bulletin import render_bulletin
from tests.test_team_progress import filled_store  # noqa: F401

HOSTILE = "=HYPERLINK(\"http://x\")$x^2$<b>"


@pytest.fixture(scope="module")
def bulletin(sample_store, sample_parcels):
    available = sample_parcels[sample_parcels.status == "available"].parcel_id.tolist()
    parks = dict(zip(sample_parcels.parcel_id, sample_parcels.park_id))
    rows, events = [], []
    for i in range(12):
        pid, parcel = f"PR{i:03d}", available[i * 7]
        team = f"T{i % 5 + 1:02d}"
        rows.append({"project_id": pid, "name": HOSTILE if i == 0 else f"示例项目{i}", "team": team,
                     "uscc": make_uscc(f"91441200MA4U{i:04d}1"), "chain": "nev", "signed_on": f"2026-{i % 10 + 1:02d}-05",
                     "investment_wan": 1000.0 * (i + 1), "stage": "signed", "stage_on": None,
                     "park_id": parks[parcel], "parcel_ids": parcel, "land_mu": 50.0})
        events.append((pid, "signed", f"2026-{i % 10 + 1:02d}-05"))
        if i % 3 == 0:
            events.append((pid, "land_supplied", "2026-10-20"))
    register = Register(pd.DataFrame(rows), pd.DataFrame(events, columns=["project_id", "stage", "date"]),
                        pd.DataFrame(columns=["project_id", "year", "tax_wan", "at"]),
                        pd.DataFrame(columns=["id", "project_id", "cause", "from_date", "to_date", "reason"]))
    warnings = pd.DataFrame({"project_id": ["PR000", "PR003"], "kind": ["start_overdue", "stale"],
                             "level": ["red", "yellow"], "days": [40, 35], "reason_zh": ["x", "y"],
                             "reason_en": ["x", "y"]})
    return assemble_bulletin("2026-10", register, read_teams(sample_store), read_targets(sample_store, 2026),
                             parcels=sample_parcels, parks=sample_store.read_parks(),
                             districts=sample_store.read_districts(), dataset_info=sample_store.dataset_info(),
                             warnings=warnings)


def test_month_news_and_map_sites(bulletin):
    assert bulletin.events.stage.value_counts().to_dict() == {"land_supplied": 4, "signed": 1}
    assert set(bulletin.sites.project_id) == {"PR000", "PR003", "PR006", "PR009"}  # signed in October: PR009
    assert bulletin.warnings.set_index("project_id").team.to_dict() == {"PR000": "高新区招商一组",
                                                                         "PR003": "集聚区招商专班"}
    assert len(bulletin.land) == 11 and bulletin.land.available_area_mu.gt(0).all()


def test_pdf_pages_render_and_hold_the_teams_chinese_names(bulletin, tmp_path):
    pdf = tmp_path / "bulletin.pdf"
    render_bulletin(bulletin, pdf, lang="zh", printed=date(2026, 11, 2))
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    assert len(list(tmp_path.glob("page*.png"))) == 4
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for name in bulletin.teams.name:
        assert name in text
    assert "招商工作通报" in text and "2026年10月" in text and HOSTILE in text.replace("\n", "")
    english = render_bulletin(bulletin, lang="en", printed=date(2026, 11, 2))
    assert english.startswith(b"%PDF")


def test_xlsx_neutralises_formulas(bulletin):
    book = load_workbook(io.BytesIO(bulletin_xlsx(bulletin, "zh")))
    assert book.sheetnames[:3] == ["排名", "目标完成情况", "本月项目"]
    values = [c.value for s in book for row in s.iter_rows() for c in row if c.value is not None]
    assert "'" + HOSTILE in values and HOSTILE not in values
    assert not any(c.data_type == "f" for s in book for row in s.iter_rows() for c in row)
    ranking = book["排名"]
    assert ranking.max_row == 16


def test_bad_month_is_one_line_error():
    for text in ("2026-13", "26-10", "", "2026/10"):
        with pytest.raises(ParkAtlasError, match="YYYY-MM"):
            parse_month(text)
    assert parse_month("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))


def test_build_bulletin_from_either_store(filled_store):
    from geo.bulletin import build_bulletin

    store, (first, again, other) = filled_store
    made = build_bulletin(store, "2026-05")
    mine = made.events[made.events.project_id == first]
    assert mine[["stage", "date", "team"]].values.tolist() == [["land_supplied", "2026-05-01", "测试一组"]]
    assert first in set(made.sites.project_id) and len(made.land) == 11
    assert made.progress.duplicates.project_id.tolist().count(again) == 1
    assert render_bulletin(made, lang="en").startswith(b"%PDF")
