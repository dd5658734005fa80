"""Headless Chromium (Debian's /usr/bin/chromium via Playwright) with every non-loopback request blocked.

Draw time is measured the same way for every map: from navigation start until two animation
frames after the page's ``load`` event and the end of the initial ``fitBounds`` zoom, when the
inline map scripts have run and the browser has painted what they added (SVG paths or canvas).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# The folium map object, once it has stopped animating (fitBounds animates the first zoom).
_SETTLED_JS = """() => {
    var key = Object.keys(window).find(k => k.startsWith("map_") && window.L && window[k] instanceof L.Map);
    var m = key && window[key];
    return !!m && m._loaded && !m._animatingZoom && !(m._panAnim && m._panAnim._inProgress);
}"""
_PAINTED_JS = """() => new Promise(resolve => requestAnimationFrame(
    () => requestAnimationFrame(() => resolve(performance.now()))))"""


def block_network(route) -> None:
    """Let loopback and inline (data:, blob:) requests through; abort everything else."""
    url = urlparse(route.request.url)
    if url.scheme in ("data", "blob", "about") or url.hostname in _LOOPBACK:
        route.continue_()
    else:
        route.abort()


@contextlib.contextmanager
def chromium():
    """A headless Chromium browser (Playwright's sync API)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, width: int = 1280, height: int = 800):
    """A fresh page (own context) with the network blocked; records external requests tried."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.blocked = []

    def route(r):
        url = urlparse(r.request.url)
        if not (url.scheme in ("data", "blob", "about") or url.hostname in _LOOPBACK):
            page.blocked.append(r.request.url)
        block_network(r)

    page.route("**/*", route)
    return page


@contextlib.contextmanager
def serve_directory(directory: Path):
    """Serve ``directory`` over HTTP on a free loopback port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the benchmark's progress output readable
        pass


def draw_time_s(browser, url: str, *, timeout_s: float = 180.0, ready_js: str | None = None) -> dict:
    """Seconds from navigation start to painted map at ``url`` in a fresh page.

    ``ready_js`` (optional) must be true once the map layer exists (checked after ``load``).
    Returns ``{"seconds": float, "blocked": [urls the page tried to fetch from the network]}``.
    """
    page = new_page(browser)
    try:
        page.goto(url, wait_until="load", timeout=timeout_s * 1000)
        page.wait_for_function(_SETTLED_JS, timeout=timeout_s * 1000)
        if ready_js:
            page.wait_for_function(ready_js, timeout=timeout_s * 1000)
        painted_ms = page.evaluate(_PAINTED_JS)
        return {"seconds": painted_ms / 1000.0, "blocked": list(page.blocked)}
    finally:
        page.context.close()
