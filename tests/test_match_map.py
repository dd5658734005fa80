"""The Match page's map (issue 19): ranks drawn at the candidates, a legend entry, the view on them."""
from __future__ import annotations

import json
import re

import pytest

from geo.matching import match
from geo.metrics import with_metrics
from geo.testing import make_parcels
from layers import webmap
from tests.test_match import electronics, make_parks, strip


@pytest.fixture(scope="module")
def ranked():
    parcels = with_metrics(make_parcels([strip(0, 100), strip(3000, 90), strip(9000, 110), strip(40_000, 10)]))
    return parcels, match(parcels, make_parks({}), electronics()).candidates


def view(html: str):
    """The bounds the map is fitted to: ``[[south, west], [north, east]]``."""
    return json.loads(re.search(r"\}\)\(map_\w+, (\[\[.*?\]\])\)", html).group(1))


def rendered(parcels, candidates, bounds, chosen):
    parts = webmap.park_map_parts(parcels, highlight_ids=[p for ids in candidates.parcel_ids for p in ids],
                                  bounds=bounds)
    webmap.candidate_marks(candidates, parts.overlay, lang="zh", chosen=chosen)
    return parts.combined().get_root().render()


def test_ranks_legend_and_view_on_the_candidates(ranked):
    parcels, candidates = ranked
    assert len(candidates) == 3  # the 10 亩 parcel is no candidate
    html = rendered(parcels, candidates, webmap.focus_bounds(candidates), chosen=2)
    marks = json.loads(re.search(r"var marks = (.*?);\n", html).group(1))
    assert [m[2] for m in marks] == [1, 2, 3] and [m[3] for m in marks] == [False, True, False]
    points = candidates.geometry.representative_point().to_crs(4326)
    assert [m[0] for m in marks] == pytest.approx(list(points.y), abs=1e-6)
    assert "候选地块（圆内数字为排名）" in html and "当前查看的候选" in html
    (south, west), (north, east) = view(html)
    minx, miny, maxx, maxy = webmap.lonlat_bounds(candidates)
    assert west < minx and east > maxx and south < miny and north > maxy
    far = webmap.lonlat_bounds(parcels.loc[parcels.area_mu < 20])  # the small parcel off to the east
    assert far[0] > east  # the view is on the candidates, not the whole park


def test_a_chosen_row_zooms_to_that_candidate(ranked):
    parcels, candidates = ranked
    one = candidates.loc[candidates["rank"] == 3]
    html = rendered(parcels, candidates, webmap.focus_bounds(one), chosen=3)
    (south, west), (north, east) = view(html)
    others = webmap.lonlat_bounds(candidates.loc[candidates["rank"] != 3])
    chosen = webmap.lonlat_bounds(one)
    assert west < chosen[0] and east > chosen[2]
    assert not (west < others[0] and east > others[2])  # the others are not all in view
