"""A local sign-in bound to the browser that made it, surviving reloads, out of reach of scripts.

Streamlit lets any client that presents a session id attach to that session, and the id is
not a secret the browser guards. So a local account's privileges are not kept in the session
alone. At sign-in the server issues a one-minute *grant*; a same-origin script posts it to
``/_parkatlas/session`` (a route of ``serve.py``), which answers with the session cookie
``parkatlas_session``: HMAC-signed (``geo.auth``), ``HttpOnly`` (no page script, injected or
not, can read it), ``SameSite=Strict``, ``Secure`` over HTTPS, for :data:`geo.auth.SESSION_LIFETIME_S`.

:func:`current_user` decides on every run — so before every privileged action — who acts:
the user of a valid cookie sent by *this* connection, or the user who signed in on this very
WebSocket connection (before its first reload, while the cookie is not in its handshake yet).
A second client attached to the session with its id alone has neither and is anonymous. A
reload opens a new connection carrying the cookie, so the sign-in survives it until the
cookie expires, the planner signs out (the cookie is then refused by every app process of the
deployment, through ``geo.auth``'s revocation file, and deleted from the browser), or the
password changes.

Sessions with single sign-on are bound by Streamlit's own signed identity cookie. Under
``AppTest`` there is no HTTP client at all, and the session's user is used as set.
"""
from __future__ import annotations

import json
from http.cookies import SimpleCookie

import streamlit as st

from geo import auth
from geo.auth import ANONYMOUS, SESSION_COOKIE, User

SESSION_ROUTE = "/_parkatlas/session"
SIGN_OUT_ROUTE = "/_parkatlas/sign-out"
UPLOAD_PATH = "/_stcore/upload_file/"
SSO_COOKIE = "_streamlit_user"  # Streamlit's signed identity cookie (st.login)


# --- in a script run ---------------------------------------------------------------------------------
def _connection() -> str | None:
    """This WebSocket connection's handshake key (new for every connection and reload)."""
    return st.context.headers.get("Sec-Websocket-Key")


def client_address() -> str | None:
    """The client's address, for throttling sign-ins (None without a request, as under AppTest)."""
    address = st.context.ip_address
    return address if isinstance(address, str) else None


def current_user(users_path=None) -> User:
    """Who acts in this run (see the module docstring); roles from ``users_path`` (the chosen
    store's users file; default the deployment's)."""
    session_user = st.session_state.get("user")
    session_user = session_user if isinstance(session_user, User) else None
    if not st.context.headers or st.session_state.get("auth_source") == "sso":
        return session_user or ANONYMOUS
    cookie_user = auth.session_user(st.context.cookies.get(SESSION_COOKIE), users_path)
    if session_user is not None and st.session_state.get("auth_connection") == _connection():
        return session_user
    if cookie_user is not None and (session_user is None or session_user.name == cookie_user.name):
        st.session_state["user"] = cookie_user  # a reload: the sign-in comes back from the cookie
        st.session_state["auth_connection"] = _connection()
        return cookie_user
    return ANONYMOUS


def signed_in(user: User, users_path=None) -> None:
    """Bind ``user`` (of the users file ``users_path``) to this connection and have the browser
    fetch its session cookie."""
    st.session_state["user"] = user
    st.session_state["auth_connection"] = _connection()
    st.session_state["auth_grant"] = auth.issue_grant(user, users_path)


def signed_out() -> None:
    """Forget the session's user; the browser has its cookie revoked and deleted."""
    auth.end_session(st.context.cookies.get(SESSION_COOKIE))  # this connection's copy is refused at once
    for key in ("user", "auth_connection", "auth_grant"):
        st.session_state.pop(key, None)
    st.session_state["auth_sign_out"] = True


def deliver() -> None:
    """Run the pending cookie exchange (after sign-in) or cookie deletion (after sign-out) once."""
    grant = st.session_state.pop("auth_grant", None)
    if grant is not None:
        _post(SESSION_ROUTE, grant)
    if st.session_state.pop("auth_sign_out", False):
        _post(SIGN_OUT_ROUTE, "")


def _post(route: str, body: str) -> None:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    url = f"/{base}{route}" if base else route
    st.html(f"<script>fetch({_js(url)}, {{method: 'POST', credentials: 'same-origin', body: {_js(body)}}});</script>",
            unsafe_allow_javascript=True)


def _js(value: str) -> str:
    """A JavaScript string literal that cannot close the script element."""
    return json.dumps(value).replace("<", "\\u003c")


# --- on the server (routes and middleware of serve.py) ------------------------------------------------
def _cookie_options(request) -> dict:
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    return {"path": "/", "httponly": True, "samesite": "strict", "secure": secure}


async def open_session(request):
    """``POST /_parkatlas/session`` with a grant: the signed, HttpOnly session cookie, or 403."""
    from starlette.responses import Response

    grant = (await request.body())[:2048].decode("ascii", "replace")
    cookie = auth.exchange_grant(grant)
    if cookie is None:
        return Response(status_code=403)
    response = Response(status_code=204)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=auth.SESSION_LIFETIME_S, **_cookie_options(request))
    return response


async def close_session(request):
    """``POST /_parkatlas/sign-out``: the cookie is refused from now on and deleted from the browser."""
    from starlette.responses import Response

    auth.end_session(request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, **_cookie_options(request))
    return response


def routes() -> list:
    from starlette.routing import Route

    return [Route(SESSION_ROUTE, open_session, methods=["POST"]),
            Route(SIGN_OUT_ROUTE, close_session, methods=["POST"])]


class UploadGuard:
    """ASGI middleware: file uploads only from a signed-in browser (anonymous ones get 403).

    Streamlit accepts an upload for any active session; without this an anonymous visitor
    could fill the server's memory through the upload endpoint, with no widget on any page.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and UPLOAD_PATH in scope["path"] and scope["method"] == "PUT":
            if not _signed_in(scope):
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"sign in to upload files"})
                return
        await self.app(scope, receive, send)


def _signed_in(scope) -> bool:
    jar = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header is simply not signed in
                return False
    if SSO_COOKIE in jar:  # verified by Streamlit when the session connects
        return True
    if SESSION_COOKIE not in jar:
        return False
    from geo.city import read_registry  # a user of any registered store's users file

    files = [None, *{s.users for s in read_registry() if s.users}]
    return any(auth.session_user(jar[SESSION_COOKIE].value, path) is not None for path in files)


def middleware() -> list:
    from starlette.middleware import Middleware

    return [Middleware(UploadGuard)]
