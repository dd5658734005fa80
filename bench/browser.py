"""Headless Chromium (Debian's /usr/bin/chromium via Playwright) with every non-loopback request blocked.

Draw time is measured the same way for every map: with Leaflet's animations off for every
contestant (:func:`without_animations`: folium's and leafmap's initial ``fitBounds`` would
otherwise animate a zoom that ParkAtlas' maps do not), from navigation start until two animation
frames after the page's ``load`` event and the initial view, when the inline map scripts have run
and the browser has painted what they added (SVG paths or canvas).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import re
import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
#: Chromium itself refuses every non-loopback connection: it goes to a proxy on a closed
#: loopback port, and Chromium never proxies loopback. Not Playwright routing: a route (even one
#: matching only external URLs) intercepts every request and turns the HTTP cache off, which made
#: a walk through the app's pages 60% slower.
OFFLINE_ARGS = ["--proxy-server=http://127.0.0.1:9"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", *OFFLINE_ARGS]
#: Every http(s)/ws(s) URL whose host is not loopback.
EXTERNAL_URL = re.compile(r"^(?!(?:https?|wss?)://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?(?:/|$))"
                          r"(?:https?|wss?)://")
# The folium map object, once it has stopped animating (fitBounds animates the first zoom).
_SETTLED_JS = """() => {
    var key = Object.keys(window).find(k => k.startsWith("map_") && window.L && window[k] instanceof L.Map);
    var m = key && window[key];
    return !!m && m._loaded && !m._animatingZoom && !(m._panAnim && m._panAnim._inProgress);
}"""
#: Before any script of the page: once Leaflet defines ``window.L``, every map it makes starts
#: without zoom, fade or marker animations (``L.Map.mergeOptions``), whoever wrote the map.
_NO_ANIMATION_JS = """(() => {
    let leaflet;
    Object.defineProperty(window, "L", {configurable: true, get: () => leaflet, set: value => {
        leaflet = value;
        if (value && value.Map && value.Map.mergeOptions) {
            value.Map.mergeOptions({zoomAnimation: false, fadeAnimation: false, markerZoomAnimation: false});
        }
    }});
})();"""
_PAINTED_JS = """() => new Promise(resolve => requestAnimationFrame(
    () => requestAnimationFrame(() => resolve(performance.now()))))"""


def record_external(target, record: list[str]) -> None:
    """Append to ``record`` the URL of every non-loopback request and WebSocket that ``target`` (a page
    or a browser context) tries. A browser launched with :data:`CHROMIUM_ARGS` refuses them; listening
    to events, unlike routing, leaves the requests and the HTTP cache alone."""
    def note(attempt):  # a Request or a WebSocket: both carry the URL tried
        if EXTERNAL_URL.match(attempt.url):
            record.append(attempt.url)

    def watch_sockets(page):
        page.on("websocket", note)

    target.on("request", note)
    if hasattr(target, "pages"):  # a context: its pages now and later
        target.on("page", watch_sockets)
        for page in target.pages:
            watch_sockets(page)
    else:
        watch_sockets(target)


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
    """A fresh page (own context) recording the external requests it tries (the browser refuses them)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.blocked = []
    record_external(page, page.blocked)
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


def frame_clock_ms(page, report_js: str, *, timeout_s: float = 120.0, arg=None) -> float | None:
    """Wait until a frame of ``page`` reports a time, and return it as epoch milliseconds.

    ``report_js`` is a JavaScript function of ``arg`` returning a ``performance.now()`` value of
    its own frame (or null while not there yet), e.g. when the frame's map layer was painted. The
    time is converted with that frame's ``performance.timeOrigin``, so it can be compared with the
    top page's navigation start (:func:`navigation_start_ms`) and does not depend on how often
    this function looks. It waits with Playwright's ``wait_for_timeout``: a plain ``time.sleep``
    leaves Playwright's event pipe unread, which stalls the browser and inflates what is measured.
    Returns ``None`` after ``timeout_s``.
    """
    probe = f"a => {{ var t = ({report_js})(a); return t == null ? null : performance.timeOrigin + t; }}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            try:
                value = frame.evaluate(probe, arg)
            except Exception:  # frames come and go while Streamlit renders
                continue
            if value is not None:
                return float(value)
        page.wait_for_timeout(50)
    return None


def main_thread_clock(page):
    """A function giving the CPU seconds ``page``'s renderer main thread has used so far
    (Chromium's ``ThreadTime``, through the DevTools protocol). Set it up before navigating.

    CPU time, unlike the wall time to paint, hardly depends on what else the machine runs:
    a page's work compared with another page's on a shared machine.
    """
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})

    def read() -> float:
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return float(metrics["ThreadTime"])
    return read


def navigation_start_ms(page) -> float:
    """Epoch milliseconds of the navigation start of the document now in ``page``."""
    return float(page.evaluate("performance.timeOrigin"))


def now_ms(page) -> float:
    """Epoch milliseconds now, on the page's clock (to time an interaction such as a click)."""
    return float(page.evaluate("performance.timeOrigin + performance.now()"))


def without_animations(page) -> None:
    """Turn Leaflet's animations off for every map ``page`` loads from now on (all contestants alike)."""
    page.add_init_script(_NO_ANIMATION_JS)


def draw_time_s(browser, url: str, *, timeout_s: float = 180.0, ready_js: str | None = None) -> dict:
    """Seconds from navigation start to painted map at ``url`` in a fresh page.

    ``ready_js`` (optional) must be true once the map layer exists (checked after ``load``).
    Returns ``{"seconds": float, "blocked": [urls the page tried to fetch from the network]}``.
    """
    page = new_page(browser)
    without_animations(page)
    try:
        page.goto(url, wait_until="load", timeout=timeout_s * 1000)
        page.wait_for_function(_SETTLED_JS, timeout=timeout_s * 1000)
        if ready_js:
            page.wait_for_function(ready_js, timeout=timeout_s * 1000)
        painted_ms = page.evaluate(_PAINTED_JS)
        return {"seconds": painted_ms / 1000.0, "blocked": list(page.blocked)}
    finally:
        page.context.close()
