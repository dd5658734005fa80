"""The 产业链 Chains page in Debian's Chromium: offline, no exception, the chain's map with the
leader, a hostile prospect name that injects no markup, and a language switch."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.browser import browser, page, settled, start_app  # noqa: F401

pytestmark = pytest.mark.browser
HOSTILE = "<img src=x onerror=document.title='owned'>公司"


def _prepare(path) -> None:
    from geo.auth import User
    from geo.chain import read_chain_nodes, set_leader
    from geo.enterprise import read_enterprises
    from geo.prospect import import_prospects
    from geo.store.gpkg import GpkgStore

    store = GpkgStore(path)
    enterprises = read_enterprises(store)
    set_leader(store, "nev", enterprises[enterprises.chain == "nev"].uscc.iloc[0], user=User("pat", "planner"))
    import_prospects(store, pd.DataFrame({"name": [HOSTILE], "node_id": ["nev.up.motor"]}),
                     read_chain_nodes(store).node_id, user=User("pat", "planner"))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    server = start_app(tmp_path_factory.mktemp("chains-app"), prepare_store=_prepare)
    yield server
    server.stop()


def test_chains_page(page, app):
    page.goto(f"{app.url}/chains")
    page.get_by_role("heading", name="产业链", exact=True).first.wait_for(timeout=120_000)
    settled(page)
    page.get_by_text("产业链图谱（红色为缺链环节）").wait_for(timeout=60_000)
    frame = page.frame_locator("iframe").first
    frame.locator(".leaflet-container").wait_for(timeout=60_000)
    frame.locator(".leaflet-marker-icon").first.wait_for(timeout=60_000)  # the leader's star (canvas: the rest)
    page.get_by_role("heading", name="目标企业").wait_for(timeout=180_000)  # after the gaps' ready land
    settled(page)
    assert page.locator("img[src='x']").count() == 0 and page.title() != "owned"
    page.get_by_text("English").first.click()
    page.get_by_role("heading", name="Chains", exact=True).first.wait_for(timeout=120_000)
    settled(page)
    page.get_by_text("Chain tree (gaps in red)").wait_for(timeout=60_000)
