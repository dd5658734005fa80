"""The Enterprises and Inefficient land pages in Debian's Chromium: they render offline without an
exception, show the evaluation's grades and the candidates with their reasons, and survive a
language switch."""
from __future__ import annotations

import pytest

from tests.browser import browser, page, settled  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(viewer_app):
    """The shared read-only app (tests/conftest.py): these tests only read, as the anonymous viewer."""
    return viewer_app


def test_enterprises_and_inefficient_pages(page, app):
    page.goto(f"{app.url}/enterprises")
    page.get_by_role("heading", name="企业亩均评价").wait_for(timeout=120_000)
    settled(page)
    assert page.get_by_text("A 类", exact=True).count() >= 1
    page.get_by_role("tab", name="园区与县区排名").click()
    settled(page)
    page.get_by_text("园区亩均排名（按亩均税收）").wait_for(timeout=60_000)
    page.get_by_test_id("stSidebarNav").get_by_text("低效用地", exact=True).click()
    page.get_by_role("heading", name="低效用地").first.wait_for(timeout=120_000)
    settled(page)
    page.get_by_text("候选地块", exact=False).first.wait_for(timeout=60_000)
    page.frame_locator("iframe").first.locator(".leaflet-container").wait_for(timeout=60_000)
    assert page.frame_locator("iframe").first.locator(".leaflet-container").count() == 1
    page.get_by_text("English").first.click()
    page.get_by_role("heading", name="Inefficient land").first.wait_for(timeout=120_000)
    settled(page)
