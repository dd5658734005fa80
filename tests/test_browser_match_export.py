"""The Match page and the exported offline HTML map in Debian's Chromium, network limited to loopback.

The Match page is driven like a planner would (form, Match button, sign-in, Reserve) and its
table and map are checked against :func:`geo.matching.match` on the same store copy. The
offline HTML map is written by ``cli.py export map … --out FILE.html`` and opened from disk.
"""
from __future__ import annotations

import json
import os

import pytest

from geo import i18n
from geo.matching import load_weights, match
from geo.evaluation import parcels_with_metrics
from geo.project import load_project
from geo.store import open_store
from geo.store.base import reserved_for
from geo.testing import copy_sample_store
from tests.browser import (ROOT, browser, hover_until_tooltip, layer_feature_count, map_frame,  # noqa: F401
                           page, parcel_on_screen, pick_options, screenshot, set_enterprise, sign_in,
                           start_app_with_users)
from tests.cli_runner import run_cli

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
PLANNER, PASSWORD = "planner1", "planner-password-1"
HIGHLIGHT = "#00e5ff"
#: What the Match page's form submits when only the project name is typed (its defaults).
FORM_DEFAULTS = {"investor": "", "industry_code": "39", "chain": None, "land_mu_min": 80.0, "land_mu_max": 120.0,
                 "investment_wan": 30000.0, "output_wan": 50000.0, "tax_wan": 1500.0, "jobs": 300,
                 "plot_ratio": 1.2, "building_coefficient": 0.45, "admin_share": None, "nuisance_class": None,
                 "needs": {}, "preferred_parks": [], "groups": [], "latest_start": None}
#: The candidate table's rows (header first) as the data grid's accessible table holds them.
CANDIDATE_ROWS_JS = """() => {
    for (const grid of document.querySelectorAll('[data-testid="stDataFrame"]')) {
        const rows = Array.from(grid.querySelectorAll('table tr'))
            .map(r => Array.from(r.children).map(c => c.textContent));
        if (rows.length && rows[0].includes('排名') && rows[0].includes('地块编号')) return rows;
    }
    return null;
}"""
HIGHLIGHTED_IDS_JS = f"""() => window.parkatlasLayers.parcels.getLayers()
    .filter(l => l.options.color === '{HIGHLIGHT}').map(l => l.feature.properties.id).sort()"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app on a store copy, with a local users file holding one planner."""
    server = start_app_with_users(tmp_path_factory.mktemp("match-app"), {PLANNER: (PASSWORD, "planner")})
    yield server
    server.stop()


def expected_candidates(store_path, *, top: int = 10, park_id: str | None = None):
    """``geo.matching.match`` of the form's default project on the store as it is now (parcels with their
    enterprises' figures, as every page and command reads them)."""
    store = open_store(store_path)
    weights = {row.criterion: int(row.weight) for row in load_weights().itertuples()}
    project = load_project({"name": XSS, **FORM_DEFAULTS})
    result = match(parcels_with_metrics(store), store.read_parks(), project, top=top, park_id=park_id,
                   weights=weights, with_blocks=True, include_disposal=False)
    assert not result.candidates.empty  # the comparisons below need real candidates
    return result.candidates


def candidate_rows(page, differs_from: str | None = None) -> list[list[str]]:
    """The shown candidate table once it has rows (and, if given, a first row other than ``differs_from``)."""
    handle = page.wait_for_function(
        f"(old) => {{ const rows = ({CANDIDATE_ROWS_JS})();"
        " return rows && rows.length > 1 && rows[1].join('|') !== old ? rows : null; }",
        arg=differs_from, timeout=60_000)
    return handle.json_value()


def shown_parcel_ids(rows: list[list[str]]) -> list[str]:
    column = rows[0].index("地块编号")
    return [row[column] for row in rows[1:]]


def submit_project(page, name: str) -> list[list[str]]:
    page.get_by_label("项目名称").fill(name)
    page.get_by_role("button", name="匹配", exact=True).click()
    return candidate_rows(page)


def assert_no_script_ran(page) -> None:
    assert page.dialogs == []
    for frame in page.frames:
        assert frame.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0


def test_match_page_ranks_and_highlights_what_the_core_computes(page, app):
    expected = expected_candidates(app.store)
    page.goto(app.url + "/match")
    rows = submit_project(page, XSS)

    rank = rows[0].index("排名")
    assert [row[rank] for row in rows[1:]] == [str(rank) for rank in expected["rank"]]
    assert shown_parcel_ids(rows) == ["、".join(ids) for ids in expected.parcel_ids]

    frame = map_frame(page, timeout=60, role="parcels")
    candidate_ids = sorted(pid for ids in expected.parcel_ids for pid in ids)
    frame.wait_for_function(f"() => ({HIGHLIGHTED_IDS_JS})().length === {len(candidate_ids)}", timeout=30_000)
    assert frame.evaluate(HIGHLIGHTED_IDS_JS) == candidate_ids
    # The map holds the candidates' parks, not the whole city.
    parcels = open_store(app.store).read_parcels()
    assert layer_feature_count(frame, "parcels") == int(parcels.park_id.isin(set(expected.park_id)).sum())

    page.locator('iframe[title="streamlit_folium.st_folium"]').first.scroll_into_view_if_needed()
    screenshot(page, "match_candidates")
    # The hostile project name stays the input's text; anonymous sessions cannot reserve.
    assert page.get_by_label("项目名称").input_value() == XSS
    assert page.get_by_role("button", name="预留给本项目").count() == 0
    assert page.get_by_text(i18n.t("match.read_only", "zh")).count() >= 1
    assert_no_script_ran(page)
    assert page.external_requests == []


#: The map's view and the rank disc drawn red (the candidate shown), read inside the map's frame.
MAP_VIEW_JS = """() => {
    const chosen = Array.from(document.querySelectorAll('.parkatlas-rank div'))
        .filter(d => d.style.background.includes('214, 39, 40') || d.style.background.includes('#d62728'))
        .map(d => d.textContent);
    const b = window.map.getBounds();
    return {zoom: window.map.getZoom(), chosen: chosen,
            bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]};
}"""


def click_table_row(page, header: str, row: int) -> None:
    """Click the selection box of ``row`` (0 = first data row) in the data grid whose header holds ``header``.

    The grid is drawn on a canvas: the row's box is found from the grid's accessible table (its
    rows' heights), then clicked where the canvas draws it.
    """
    grid = page.locator('[data-testid="stDataFrame"]').filter(has=page.locator(f'th:has-text("{header}")')).first
    grid.wait_for(timeout=60_000)
    grid.scroll_into_view_if_needed()
    grid.hover()  # the selection boxes show on hover
    box = grid.bounding_box()
    row_height = 35  # Streamlit's default data grid row height, the header's too
    page.mouse.click(box["x"] + 20, box["y"] + row_height * (row + 1) + row_height / 2)


def test_a_click_on_a_results_row_shows_that_candidate_on_the_map(page, app):
    """Issue 19: clicking a row of the results table shows that candidate on the map (its rank disc red,
    the map zoomed onto it) and as the candidate in detail below."""
    expected = expected_candidates(app.store)
    assert len(expected) >= 3
    page.goto(app.url + "/match")
    submit_project(page, "row click")
    frame = map_frame(page, timeout=60, role="parcels")
    frame.wait_for_function("() => document.querySelectorAll('.parkatlas-rank').length > 0", timeout=30_000)
    overview = frame.evaluate(MAP_VIEW_JS)
    assert overview["chosen"] == ["1"]  # the first candidate is the one shown until another is picked

    third = expected.iloc[2]
    click_table_row(page, "排名", 2)
    handle = None
    for _ in range(3):  # the map's frame is replaced when the page reruns with the new view
        frame = map_frame(page, timeout=60, role="parcels")
        try:
            handle = frame.wait_for_function(f"() => {{ const v = ({MAP_VIEW_JS})();"
                                             f" return v.chosen.length === 1 && v.chosen[0] === '{int(third['rank'])}'"
                                             f" && v.zoom > {overview['zoom']} ? v : null; }}", timeout=30_000)
            break
        except Exception:
            continue
    assert handle is not None, "the clicked candidate is not shown on the map"
    view = handle.json_value()
    points = expected.geometry.representative_point().to_crs(4326)
    west, south, east, north = view["bounds"]
    inside = (points.x > west) & (points.x < east) & (points.y > south) & (points.y < north)
    assert inside.iloc[2], "the clicked candidate is outside the map's view"
    assert not inside.all(), "the map still shows every candidate: it did not zoom onto the clicked one"
    screenshot(page, "match_row_clicked")
    assert page.external_requests == []


def test_signed_in_planner_reserves_the_top_candidate_and_releases_it(page, app):
    from playwright.sync_api import expect

    page.goto(app.url + "/match")
    sign_in(page, PLANNER, PASSWORD)

    before = expected_candidates(app.store)
    rows = submit_project(page, XSS)
    assert shown_parcel_ids(rows) == ["、".join(ids) for ids in before.parcel_ids]
    best = list(before.parcel_ids.iloc[0])
    statuses = open_store(app.store).read_parcels().set_index("parcel_id").loc[best, "status"].to_dict()
    page.get_by_role("button", name="预留给本项目").click()
    page.get_by_text("已预留：").wait_for(timeout=30_000)

    parcels = open_store(app.store).read_parcels().set_index("parcel_id", drop=False)
    assert sorted(reserved_for(parcels, XSS)) == sorted(best)  # the hostile name is stored verbatim
    assert set(parcels.loc[best, "reserved_by"]) == {PLANNER}
    # Matched again on the new revision: the reserved parcels left the ranking.
    after = candidate_rows(page, differs_from="|".join(rows[1]))
    assert shown_parcel_ids(after) == ["、".join(ids) for ids in expected_candidates(app.store).parcel_ids]
    assert not set(best) & {pid for ids in shown_parcel_ids(after) for pid in ids.split("、")}
    screenshot(page, "match_reserved")

    # Released again by the planner: the parcels are available and ranked once more.
    pick_options(page, "本项目已预留的地块", best)
    button = page.get_by_role("button", name="解除预留")
    expect(button).to_be_enabled(timeout=30_000)
    button.click()
    page.get_by_text("已解除预留").wait_for(timeout=30_000)
    parcels = open_store(app.store).read_parcels().set_index("parcel_id", drop=False)
    assert reserved_for(parcels, XSS) == []
    assert parcels.loc[best, "status"].to_dict() == statuses  # back to what they were
    released = candidate_rows(page, differs_from="|".join(after[1]))
    assert shown_parcel_ids(released) == ["、".join(ids) for ids in expected_candidates(app.store).parcel_ids]
    assert shown_parcel_ids(released)[0] == "、".join(best)
    assert_no_script_ran(page)
    assert page.external_requests == []


def test_exported_html_map_works_offline_and_shows_payloads_as_text(page, tmp_path):
    park, target = "dz_park", "dz_park-000001"
    store_path = copy_sample_store(tmp_path)
    set_enterprise(store_path, target, XSS)
    project = tmp_path / "project.json"
    project.write_text(json.dumps({"name": "offline map", **FORM_DEFAULTS}), encoding="utf-8")
    out = tmp_path / "out" / "park.html"
    out.parent.mkdir()
    proc = run_cli("export", "map", "--park", park, "--project", project, "--top", "5", "--out", out, cwd=ROOT,
                   env=dict(os.environ, PARKATLAS_STORE=str(store_path)))
    assert proc.returncode == 0, proc.stderr

    page.goto(out.as_uri())
    page.wait_for_function("() => window.parkatlasLayers && window.parkatlasLayers.parcels")
    # Leaflet and its CSS are inline: no script or stylesheet comes from anywhere but the file itself.
    assert page.evaluate("() => window.L && window.L.version") == "1.9.4"
    assert page.evaluate("""() => Array.from(document.querySelectorAll('script[src], link[href]'))
        .map(e => e.src || e.href).filter(u => !u.startsWith('data:'))""") == []
    assert page.evaluate("""() => performance.getEntriesByType('resource').map(e => e.name)
        .filter(u => !u.startsWith('data:'))""") == []

    parcels = open_store(store_path).read_parcels(park)
    assert layer_feature_count(page.main_frame, "parcels") == len(parcels) == 350
    candidates = expected_candidates(store_path, top=5, park_id=park)
    assert page.evaluate(HIGHLIGHTED_IDS_JS) == sorted(pid for ids in candidates.parcel_ids for pid in ids)

    point = parcel_on_screen(page.main_frame, target)
    hover_until_tooltip(page, page.main_frame, *point, XSS)
    tooltip = page.locator(".leaflet-tooltip").first
    assert target in tooltip.text_content() and XSS in tooltip.text_content()
    assert tooltip.locator("img").count() == 0
    screenshot(page, "export_html_offline")
    assert_no_script_ran(page)
    assert page.external_requests == []
