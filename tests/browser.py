"""Real-browser fixtures: the app started from the README entry point, Debian's Chromium, no internet.

``app_server`` runs ``.venv/bin/streamlit run serve.py`` (what ``scripts/run-app.sh`` execs) on a
free loopback port against a private copy of the sample store. ``page`` is a Chromium page
whose every non-loopback request is refused by the browser (``bench.browser.CHROMIUM_ARGS``) and
recorded in ``page.external_requests``; a JavaScript dialog (``alert``) is recorded in
``page.dialogs`` and dismissed. Screenshots go to ``test-artifacts/`` (git-ignored).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.browser import CHROMIUM, CHROMIUM_ARGS, record_external
from geo.testing import copy_sample_store
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


#: Counts, on the app's WebSocket, the reruns the page asks for and the script runs that answer.
RUN_TRACKER_JS = """
(() => {
    // Each rerun the page asks for (BackMsg.rerun_script, field 11) is done once a script run has
    // started after it (ForwardMsg.new_session, field 4) and finished (script_finished, field 6,
    // other than 2 = ended early for another rerun). Read on the WebSocket's frames, because React
    // may batch a fast run's script-state changes away from the DOM.
    const runs = window.__parkatlasRuns = {awaiting: "start", sent: 0, started: 0, finished: 0};
    const fields = (data) => {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
            : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        const found = {};
        let i = 0;
        const varint = () => {
            let value = 0, scale = 1, byte;
            do { byte = bytes[i++]; value += (byte & 0x7f) * scale; scale *= 128; } while (byte & 0x80 && i < bytes.length);
            return value;
        };
        while (i < bytes.length) {
            const key = varint(), field = Math.floor(key / 8), wire = key % 8;
            if (wire === 0) found[field] = varint();
            else if (wire === 2) { const length = varint(); found[field] = -1; i += length; }
            else if (wire === 1) i += 8;
            else if (wire === 5) i += 4;
            else break;
        }
        return found;
    };
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener("message", (event) => {
                if (!(event.data instanceof ArrayBuffer)) return;
                const message = fields(event.data);
                if (4 in message) { runs.started++; if (runs.awaiting === "start") runs.awaiting = "finish"; }
                if (6 in message) {
                    runs.finished++;
                    if (runs.awaiting === "finish") runs.awaiting = message[6] === 2 ? "start" : null;
                }
            });
        }
        send(data) {
            if ((data instanceof ArrayBuffer || ArrayBuffer.isView(data)) && 11 in fields(data)) {
                runs.sent++; runs.awaiting = "start";
            }
            return super.send(data);
        }
    };
})();
"""
RUNS_DONE_JS = """() => window.__parkatlasRuns && window.__parkatlasRuns.awaiting === null
    && document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state') === 'notRunning'"""


def track_runs(context) -> None:
    """Let :func:`wait_for_runs` see the script runs of every page of ``context``.

    A click that asks for a rerun sends it at once, but the app's script state in the DOM changes
    only when the server answers, and React may batch a fast run's states away altogether; so the
    rerun requests and run ends are read off the WebSocket's frames instead."""
    context.add_init_script(RUN_TRACKER_JS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_command(port: int) -> list[str]:
    """The README entry point (scripts/run-app.sh) without the setup step."""
    streamlit = Path(sys.executable).with_name("streamlit")
    return [str(streamlit), "run", "serve.py", "--server.headless", "true", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false"]


class AppServer:
    """A running app: ``url``, the ``store`` it serves, and its log."""

    def __init__(self, store: Path, log: Path):
        self.store = store
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = dict(os.environ, PARKATLAS_STORE=str(store))
        self._log_file = open(log, "w")
        self.process = subprocess.Popen(streamlit_command(self.port), cwd=ROOT, env=env,
                                        stdout=self._log_file, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"app did not start in {timeout} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


def start_app(directory: Path, prepare_store=None) -> AppServer:
    """Copy the sample store into ``directory``, let ``prepare_store(path)`` edit it, start the app."""
    store = copy_sample_store(directory)
    if prepare_store is not None:
        prepare_store(store)
    server = AppServer(store, directory / "streamlit.log")
    server.wait_ready()
    return server


def start_app_with_users(directory: Path, users: dict[str, tuple[str, str]]) -> AppServer:
    """:func:`start_app` with a local users file (name → (password, role)) in ``PARKATLAS_USERS``."""
    from geo.auth import add_user

    path = directory / "users.json"
    for name, (password, role) in users.items():
        add_user(name, password, role, path)
    with pytest.MonkeyPatch.context() as env:  # the app server copies the environment when it starts
        env.setenv("PARKATLAS_USERS", str(path))
        return start_app(directory)


def sign_in(page, name: str, password: str, role: str | None = None, attempts: int = 3) -> None:
    """Sign in with the sidebar's local-account form and wait until the sidebar says so (with ``role``).

    Typed only once the page's script has run: a rerun (a map reporting its view, say) redraws the
    form and can empty fields filled mid-run, so an attempt that did not sign in is made again.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    signed_in = page.get_by_text(f"已登录：{name}" + (f"（{role}）" if role else ""))
    for attempt in range(attempts):
        settled(page)
        if not page.get_by_label("用户名").is_visible():
            page.get_by_text("规划人员登录", exact=True).click()
        page.get_by_label("用户名").fill(name)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录", exact=True).click()
        try:
            signed_in.wait_for(timeout=30_000)
            break
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
    settled(page)  # the signed-in rerun ends before the test types: a form filled mid-run can be redrawn empty


def parcel_on_screen(frame, parcel_id: str) -> tuple[float, float]:
    """Zoom the page-level map of ``frame`` onto a parcel; its centre in viewport coordinates."""
    return tuple(frame.evaluate("""(id) => {
        const layer = window.parkatlasLayers.parcels.getLayers().find(l => l.feature.properties.id === id);
        const map = layer._map;
        map.fitBounds(layer.getBounds(), {maxZoom: 18, animate: false});
        const p = map.latLngToContainerPoint(layer.getCenter());
        const box = map.getContainer().getBoundingClientRect();
        return [box.left + p.x, box.top + p.y];
    }""", parcel_id))


def set_enterprise(store: Path, parcel_id: str, enterprise: str) -> None:
    """Write ``enterprise`` on a parcel of the store copy, through the store's audited edit."""
    from geo.auth import User
    from geo.store import open_store

    open_store(store).update_attributes(parcel_id, {"enterprise": enterprise}, user=User("test", "admin"))


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is missing: run `bash scripts/setup.sh test`")
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing: run `bash scripts/setup.sh test`")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture()
def page(browser):
    """A fresh page with the network limited to loopback."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    track_runs(context)
    page = context.new_page()
    page.external_requests = []
    page.dialogs = []
    record_external(context, page.external_requests)

    def on_dialog(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def map_frame(page, timeout: float = 30.0, role: str | None = None):
    """The streamlit-folium iframe once its Leaflet map (with layer ``role``, if given) exists."""
    deadline = time.monotonic() + timeout
    check = "(role) => !!(window.map && window.parkatlasLayers && (!role || window.parkatlasLayers[role]))"
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "st_folium" in frame.url or "streamlit_folium" in frame.url:
                try:
                    if frame.evaluate(check, role):
                        return frame
                except Exception:  # the frame may be navigating; try again
                    pass
        page.wait_for_timeout(250)
    raise AssertionError(f"no map iframe with a Leaflet map; frames: {[f.url for f in page.frames]}")


def map_painted(frame) -> None:
    """Wait until Leaflet in ``frame`` has drawn its current view: after a view change the canvas
    renderer redraws, and updates what a click hits, on the next animation frame."""
    frame.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def hover_until_tooltip(page, frame, x: float, y: float, text: str, attempts: int = 5) -> None:
    """Move the mouse onto page point (x, y) until a Leaflet tooltip in ``frame`` contains ``text``.

    A few attempts, because the canvas renderer hit-tests against positions it updates on
    the next animation frame after a view change.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    check = ("(text) => Array.from(document.querySelectorAll('.leaflet-tooltip'))"
             ".some(t => t.textContent.includes(text))")
    for _ in range(attempts):
        page.mouse.move(x - 40, y - 40)
        page.mouse.move(x, y, steps=3)
        page.mouse.move(x + 1, y + 1)
        try:
            frame.wait_for_function(check, arg=text, timeout=2_000)
            return
        except PlaywrightTimeout:
            page.wait_for_timeout(300)
    raise AssertionError(f"no tooltip with {text!r} at ({x:.0f}, {y:.0f})")


def layer_feature_count(frame, role: str) -> int:
    """Number of features drawn in the FeatureLayer registered as ``role``."""
    return frame.evaluate(
        "(role) => { const l = window.parkatlasLayers && window.parkatlasLayers[role];"
        " return l ? l.getLayers().length : -1; }", role)


def wait_for_runs(page, timeout_ms: float = 120_000) -> None:
    """Wait until every rerun the page has asked for has run to its end and the app shows it
    (needs :func:`track_runs` on the page's context; the first run of a page load counts too)."""
    page.wait_for_function(RUNS_DONE_JS, timeout=timeout_ms)


def settled(page, timeout_ms: float = 120_000) -> None:
    """Wait until the app's script has run, then check: no exception, no traceback, nothing fetched off-host."""
    wait_for_runs(page, timeout_ms)
    assert page.get_by_test_id("stException").count() == 0, page.get_by_test_id("stException").first.inner_text()
    assert "Traceback" not in page.inner_text("body")
    assert page.external_requests == []


def pick_options(page, label: str, values: list[str], attempts: int = 6) -> None:
    """Choose ``values`` in the multiselect labelled ``label``, each one typed, clicked and checked.

    A rerun (the map settling on its new view reruns the page) can close the list between the
    click that opens it and the click on the option, so each value is tried until its tag shows.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    chooser = page.get_by_test_id("stMultiSelect").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True))
    for value in values:
        tag = chooser.get_by_test_id("stMultiSelectTagsContainer").locator("[data-tag]").filter(has_text=value)
        for attempt in range(attempts):
            settled(page)
            field = chooser.locator("input")
            field.click()
            field.fill(value)
            try:
                page.get_by_role("option", name=value, exact=True).click(timeout=10_000)
                tag.wait_for(timeout=10_000)
                break
            except PlaywrightTimeout:
                if attempt == attempts - 1:
                    raise
                page.keyboard.press("Escape")
    page.keyboard.press("Escape")  # closes the list: the choice reaches the server
    settled(page)
