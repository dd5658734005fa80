"""Single sign-on end to end: ``st.login`` in Debian's Chromium against an OpenID Connect provider on loopback.

:class:`Provider` is a minimal OIDC provider (authorization-code flow with PKCE S256, an RS256
id_token signed with an Authlib key, a JWKS, an end-session endpoint) served by ``http.server``
on a free loopback port. The app is started from the README entry point with an ``[auth]``
secrets file (``STREAMLIT_SECRETS_FILES``, the environment form of ``--secrets.files``) and a
users file whose ``identities`` map one email to ``planner``. Streamlit itself validates the
id_token (signature from the JWKS, issuer, audience, nonce, expiry) and sets its identity cookie,
so each test runs the real flow: sidebar button → ``/auth/login`` → provider → ``/oauth2callback``.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from authlib.jose import JsonWebKey, jwt

from geo import i18n
from geo.store import open_store
from geo.store.base import reserved_for
from tests.browser import browser, page, screenshot, start_app  # noqa: F401

pytestmark = pytest.mark.browser

PLANNER_EMAIL = "planner@park.example"
STRANGER_EMAIL = "visitor@elsewhere.example"
CLIENT_ID = "parkatlas-test"
WAIT_MS = 60_000
SSO_BUTTON = i18n.t("sidebar.sso", "zh")
SIGN_OUT = i18n.t("sidebar.sign_out", "zh")
ANONYMOUS = i18n.t("sidebar.anonymous", "zh")
RESERVE = i18n.t("match.reserve", "zh")
READ_ONLY = i18n.t("match.read_only", "zh")


def signed_in(email: str, role: str) -> str:
    return i18n.t("sidebar.signed_in", "zh", name=email, role=role)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class Provider:
    """An OpenID Connect provider for one client on ``127.0.0.1``: whoever authorizes is ``email``.

    Every request that breaks the protocol is refused with a 400 and its reason is kept in
    ``refused``; ``issued`` lists the emails of the id_tokens handed out, ``logouts`` the
    end-session requests.
    """

    def __init__(self, client_id: str, client_secret: str):
        self.client_id, self.client_secret = client_id, client_secret
        self.key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "test-key"})
        self.redirect_uri: str | None = None  # the app's callback, known once the app runs
        self.email: str | None = None
        self.codes: dict[str, dict] = {}
        self.id_tokens: set[str] = set()
        self.issued: list[str] = []
        self.logouts: list[dict] = []
        self.refused: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.metadata = {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "end_session_endpoint": f"{self.url}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "scopes_supported": ["openid", "email", "profile"],
        }
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def sign_in_as(self, email: str) -> None:
        """Let ``email`` through the next authorization and forget earlier records."""
        self.email = email
        self.issued.clear()
        self.logouts.clear()
        self.refused.clear()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- endpoints: each returns (status, headers, body) or raises _Refused ----------------------
    def authorize(self, query: dict) -> tuple[int, dict, bytes]:
        expect = {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                  "code_challenge_method": "S256"}
        for name, value in expect.items():
            if query.get(name) != value:
                raise _Refused(f"authorize: {name}={query.get(name)!r}, expected {value!r}")
        if "openid" not in query.get("scope", "").split():
            raise _Refused(f"authorize: scope {query.get('scope')!r} lacks openid")
        for name in ("state", "nonce", "code_challenge"):
            if not query.get(name):
                raise _Refused(f"authorize: no {name}")
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"email": self.email, "nonce": query["nonce"],
                            "challenge": query["code_challenge"], "redirect_uri": query["redirect_uri"]}
        target = query["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": query["state"]})
        return 302, {"Location": target}, b""

    def token(self, form: dict, authorization: str) -> tuple[int, dict, bytes]:
        credentials = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if authorization != f"Basic {credentials}":
            raise _Refused(f"token: client authentication {authorization!r}")
        grant = self.codes.pop(form.get("code", ""), None)  # a code is good once
        if form.get("grant_type") != "authorization_code" or grant is None:
            raise _Refused(f"token: grant {form.get('grant_type')!r} with an unknown or used code")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            raise _Refused(f"token: redirect_uri {form.get('redirect_uri')!r} differs from the authorization's")
        if _s256(form.get("code_verifier", "")) != grant["challenge"]:
            raise _Refused("token: code_verifier does not match the code_challenge")
        now = int(time.time())
        claims = {"iss": self.url, "aud": self.client_id, "sub": hashlib.sha256(grant["email"].encode()).hexdigest(),
                  "email": grant["email"], "email_verified": True, "name": grant["email"].split("@")[0],
                  "nonce": grant["nonce"], "iat": now, "exp": now + 300}
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key).decode()
        self.id_tokens.add(id_token)
        self.issued.append(grant["email"])
        body = {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300,
                "id_token": id_token}
        return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, json.dumps(body).encode()

    def logout(self, query: dict) -> tuple[int, dict, bytes]:
        if query.get("client_id") != self.client_id or query.get("post_logout_redirect_uri") != self.redirect_uri:
            raise _Refused(f"logout: unexpected client or redirect {query}")
        self.logouts.append({**query, "known_token": query.get("id_token_hint") in self.id_tokens})
        return 302, {"Location": query["post_logout_redirect_uri"]}, b""

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                json_reply = {"/.well-known/openid-configuration": provider.metadata,
                              "/jwks": {"keys": [provider.key.as_dict(is_private=False)]}}
                if url.path in json_reply:
                    self._reply(200, {"Content-Type": "application/json"}, json.dumps(json_reply[url.path]).encode())
                elif url.path == "/authorize":
                    self._answer(provider.authorize, query)
                elif url.path == "/logout":
                    self._answer(provider.logout, query)
                else:
                    self._reply(404, {}, b"")

            def do_POST(self):  # noqa: N802
                if self.path != "/token":
                    return self._reply(404, {}, b"")
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                self._answer(provider.token, form, self.headers.get("Authorization", ""))

            def _answer(self, endpoint, *args):
                try:
                    self._reply(*endpoint(*args))
                except _Refused as exc:
                    provider.refused.append(str(exc))
                    body = {"error": "invalid_request", "error_description": str(exc)}
                    self._reply(400, {"Content-Type": "application/json"}, json.dumps(body).encode())

            def _reply(self, status: int, headers: dict, body: bytes):
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep the test output quiet
                pass

        return Handler


class _Refused(Exception):
    """A request the provider refuses (the reason is the message)."""


@pytest.fixture(scope="module")
def provider():
    instance = Provider(CLIENT_ID, secrets.token_hex(16))
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def app(tmp_path_factory, provider):
    """The app with ``[auth]`` pointing at ``provider``; the users file maps PLANNER_EMAIL to planner."""
    directory = tmp_path_factory.mktemp("sso-app")
    secrets_file = directory / "secrets.toml"
    # "{port}" is Streamlit's placeholder for server.port (the app's port is picked when it starts).
    secrets_file.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "{provider.client_id}"\n'
        f'client_secret = "{provider.client_secret}"\n'
        f'server_metadata_url = "{provider.url}/.well-known/openid-configuration"\n', encoding="utf-8")
    users = directory / "users.json"
    users.write_text(json.dumps({"users": {}, "identities": {PLANNER_EMAIL: "planner"}}), encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:  # the app server copies the environment when it starts
        env.setenv("PARKATLAS_USERS", str(users))
        env.setenv("STREAMLIT_SECRETS_FILES", str(secrets_file))
        server = start_app(directory)
    provider.redirect_uri = f"{server.url}/oauth2callback"
    yield server
    server.stop()


def sign_in(page, app, provider, email: str, role: str) -> None:
    """Open the app anonymously, press the sidebar's SSO button and come back signed in as ``email``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    provider.sign_in_as(email)
    page.goto(app.url)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(ANONYMOUS).wait_for(timeout=WAIT_MS)
    sidebar.get_by_role("button", name=SSO_BUTTON).click()
    try:
        sidebar.get_by_text(signed_in(email, role)).wait_for(timeout=WAIT_MS)
    except PlaywrightTimeout:
        raise AssertionError(f"not signed in as {email} ({role}) at {page.url}; provider refused {provider.refused}; "
                             f"sidebar {sidebar.inner_text()!r}; app log {app.log.read_text()[-1500:]}") from None
    assert provider.refused == []
    assert provider.issued == [email]  # the identity came through the provider's token endpoint
    assert page.url.rstrip("/") == app.url  # Streamlit's callback sent the browser back to the app


def match_default_project(page, app, name: str) -> None:
    """On the Match page, submit the form's default project named ``name``."""
    page.goto(app.url + "/match")
    page.get_by_label(i18n.t("match.name", "zh")).fill(name)
    page.get_by_role("button", name=i18n.t("match.submit", "zh"), exact=True).click()


def test_planner_signs_in_with_sso_reserves_and_signs_out(page, app, provider):
    sign_in(page, app, provider, PLANNER_EMAIL, "planner")
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_role("button", name=SSO_BUTTON).count() == 0

    # A new page load is a new session: the identity comes from Streamlit's cookie, the role from the users file.
    project = "SSO 预留测试"
    match_default_project(page, app, project)
    sidebar.get_by_text(signed_in(PLANNER_EMAIL, "planner")).wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name=RESERVE).click(timeout=WAIT_MS)
    page.get_by_text(i18n.t("match.reserved_ok", "zh")).wait_for(timeout=WAIT_MS)
    parcels = open_store(app.store).read_parcels().set_index("parcel_id", drop=False)
    reserved = reserved_for(parcels, project)
    assert reserved
    assert set(parcels.loc[reserved, "reserved_by"]) == {PLANNER_EMAIL}  # the store acted as the SSO identity
    screenshot(page, "sso_planner_reserved")

    sidebar.get_by_role("button", name=SIGN_OUT).click()
    sidebar.get_by_role("button", name=SSO_BUTTON).wait_for(timeout=WAIT_MS)
    assert sidebar.get_by_text(ANONYMOUS).count() == 1
    assert sidebar.get_by_text(signed_in(PLANNER_EMAIL, "planner")).count() == 0
    # Streamlit ended the session at the provider too, with the id_token it was given.
    assert [(entry["client_id"], entry["known_token"]) for entry in provider.logouts] == [(CLIENT_ID, True)]
    # The identity cookie is gone: a fresh load is anonymous and the Match page is read-only.
    match_default_project(page, app, project)
    page.get_by_text(READ_ONLY).wait_for(timeout=WAIT_MS)
    assert sidebar.get_by_text(ANONYMOUS).count() == 1
    assert page.get_by_role("button", name=RESERVE).count() == 0
    assert provider.refused == []
    assert page.external_requests == []


def test_identity_missing_from_the_mapping_is_a_viewer(page, app, provider):
    sign_in(page, app, provider, STRANGER_EMAIL, "viewer")
    match_default_project(page, app, "SSO 访客")
    page.get_by_text(READ_ONLY).wait_for(timeout=WAIT_MS)
    assert page.get_by_test_id("stSidebar").get_by_text(signed_in(STRANGER_EMAIL, "viewer")).count() == 1
    assert page.get_by_role("button", name=RESERVE).count() == 0
    screenshot(page, "sso_viewer_read_only")
    assert page.external_requests == []
