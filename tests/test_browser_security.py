"""Issue 21 item 5 (and issue 19's reload): a sign-in bound to an HttpOnly cookie, in Chromium.

A planner signs in; the browser holds ``parkatlas_session`` (HttpOnly, SameSite=Strict, not
visible to page scripts); a reload keeps the sign-in. A second browser that attaches to the
planner's Streamlit session by its id (the takeover of the issue) is anonymous there, the
server's log never names the session id, and uploads without a sign-in are refused.
"""
from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from geo import i18n
from tests.browser import browser, page, record_external, start_app_with_users, track_runs, wait_for_runs  # noqa: F401

pytestmark = pytest.mark.browser

PLANNER, PASSWORD = "planner1", "security-password-1"
TIMEOUT_MS = 60_000

# Records every WebSocket the app opens (and its subprotocols, which carry the session id on a
# reconnect), so the test can learn the planner's session id as an attacker who saw it would.
RECORD_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__protocols = []; window.__sockets = [];
  window.WebSocket = function (url, protocols) {
    window.__protocols.push(Array.from(protocols || []));
    const ws = new Native(url, protocols);
    window.__sockets.push(ws);
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""

# Presents another client's session id when connecting (what the attacker did).
PRESENT_SESSION_ID = """
(() => {
  const Native = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const p = Array.from(protocols || []).filter(Boolean);
    while (p.length < 2) p.push("attacker" + p.length);
    p[2] = "%s";
    return new Native(url, p.slice(0, 3));
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    server = start_app_with_users(tmp_path_factory.mktemp("security-app"), {PLANNER: (PASSWORD, "planner")})
    yield server
    server.stop()


def session_cookie(context) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == "parkatlas_session"), None)


def wait_for(condition, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def upload_refused_for_no_sign_in(app, session_id: str, cookie: str | None) -> bool:
    """Whether ParkAtlas's upload guard refused the PUT (Streamlit's own checks answer otherwise)."""
    request = urllib.request.Request(f"{app.url}/_stcore/upload_file/{session_id}/f1", data=b"x" * 1000,
                                     method="PUT", headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30):
            return False
    except urllib.error.HTTPError as exc:
        return exc.code == 403 and exc.read() == b"sign in to upload files"


def test_sign_in_is_an_httponly_cookie_that_survives_a_reload_and_binds_the_session(page, browser, app):
    signed_in = i18n.t("sidebar.signed_in", "zh", name=PLANNER, role="planner")
    anonymous = i18n.t("sidebar.anonymous", "zh")
    page.context.add_init_script(RECORD_SOCKETS)
    page.goto(app.url)
    wait_for_runs(page, TIMEOUT_MS)
    page.get_by_text(i18n.t("sidebar.login", "zh"), exact=True).click()
    page.get_by_label(i18n.t("sidebar.user", "zh")).fill(PLANNER)
    page.get_by_label(i18n.t("sidebar.password", "zh")).fill(PASSWORD)
    page.get_by_role("button", name=i18n.t("sidebar.sign_in", "zh"), exact=True).click()
    page.get_by_text(signed_in).wait_for(timeout=TIMEOUT_MS)

    cookie = wait_for(lambda: session_cookie(page.context))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie["expires"] > time.time() + 7 * 3600
    assert "parkatlas_session" not in page.evaluate("document.cookie")  # out of reach of page scripts

    page.reload()
    wait_for_runs(page, TIMEOUT_MS)
    page.get_by_text(signed_in).wait_for(timeout=TIMEOUT_MS)

    # Learn the session id as an eavesdropper would: drop the socket, the app reconnects with it.
    page.evaluate("window.__sockets.at(-1).close()")
    session_id = wait_for(lambda: page.evaluate("(window.__protocols.at(-1) || [])[2] || null"))
    page.get_by_text(signed_in).wait_for(timeout=TIMEOUT_MS)

    attacker = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        record_external(attacker, [])
        track_runs(attacker)
        attacker.add_init_script(PRESENT_SESSION_ID % session_id)
        stolen = attacker.new_page()
        stolen.goto(app.url)
        wait_for_runs(stolen, TIMEOUT_MS)
        stolen.get_by_text(anonymous).wait_for(timeout=TIMEOUT_MS)
        assert stolen.get_by_text(signed_in).count() == 0
        assert stolen.get_by_role("button", name=i18n.t("sidebar.sign_out", "zh")).count() == 0
    finally:
        attacker.close()

    log = app.log.read_text()
    assert session_id not in log  # Streamlit's "Session with id … already connected" is redacted
    # Uploads: refused without a sign-in, passed on to Streamlit with the planner's cookie.
    assert upload_refused_for_no_sign_in(app, session_id, None)
    assert not upload_refused_for_no_sign_in(app, session_id, f"parkatlas_session={cookie['value']}")

    # Signing out deletes the cookie; the old value no longer signs anyone in.
    page.goto(app.url)
    wait_for_runs(page, TIMEOUT_MS)
    page.get_by_role("button", name=i18n.t("sidebar.sign_out", "zh")).click()
    page.get_by_text(anonymous).wait_for(timeout=TIMEOUT_MS)
    wait_for(lambda: session_cookie(page.context) is None)
    page.context.add_cookies([{**cookie}])
    page.reload()
    wait_for_runs(page, TIMEOUT_MS)
    page.get_by_text(anonymous).wait_for(timeout=TIMEOUT_MS)
