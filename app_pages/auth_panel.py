"""Sign-in panel of the sidebar: single sign-on through ``st.login`` when configured, else local accounts.

The session's user lives in ``st.session_state["user"]`` (read by :func:`app_pages.common.user`).
With an ``[auth]`` section in ``.streamlit/secrets.toml`` the user is derived on every run
from the identity provider's ``st.user.email``, the role from the ``identities`` mapping of
the users file (unknown identities are viewers), so a changed mapping applies at once.
Without it, local accounts from the users file sign in with name and password. Roles are
still checked by the store on every write; this panel only decides what the pages show.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException, StreamlitAuthError

from app_pages import common, sessions
from app_pages.safe import plain
from geo import auth
from geo.auth import ANONYMOUS, User
from geo.errors import ParkAtlasError, PermissionDenied

def sso_configured() -> bool:
    """True when Streamlit's OIDC login is configured (an ``[auth]`` section in the secrets)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, StreamlitAPIException):  # no secrets.toml, or an unparsable one
        return False


def users_configured() -> bool:
    """True when a local users file exists."""
    return Path(auth.users_file(common.users_path())).exists()


def sso_user() -> User | None:
    """The user signed in at the identity provider, with its role; ``None`` when nobody is."""
    if not sso_configured() or not st.user.get("is_logged_in"):
        return None
    email = str(st.user.get("email") or "").strip()
    if not email:
        return None
    try:
        role = auth.role_for_identity(email, common.users_path())
    except ParkAtlasError as exc:
        common.show_error(exc)
        role = "viewer"
    return User(email, role)


def panel() -> None:
    """The sign-in panel (call inside the sidebar)."""
    if sso_configured():
        _sso_panel()
    else:
        _local_panel()


def _sso_panel() -> None:
    identity = sso_user()
    if identity is None:
        # With single sign-on the provider is the only way in: no identity, no user.
        st.session_state.pop("user", None)
        st.caption(common.tr("sidebar.anonymous"))
        if st.button(common.tr("sidebar.sso"), key="sso_login"):
            try:
                st.login()
            except StreamlitAuthError as exc:  # incomplete [auth] settings or Authlib missing
                st.error(common.tr("sidebar.sso_failed", error=" ".join(str(exc).split())))
        return
    st.session_state["user"] = identity
    st.session_state["auth_source"] = "sso"
    st.caption(common.tr("sidebar.signed_in", name=plain(identity.name), role=identity.role))
    if st.button(common.tr("sidebar.sign_out"), key="sign_out"):
        st.session_state.pop("user", None)
        st.logout()


def _local_panel() -> None:
    sessions.deliver()
    current = common.user()
    if current is not ANONYMOUS:
        st.caption(common.tr("sidebar.signed_in", name=plain(current.name), role=current.role))
        if current.can("admin"):
            _failed_sign_ins()
        if st.button(common.tr("sidebar.sign_out"), key="sign_out"):
            sessions.signed_out()
            st.rerun()
        return
    if not users_configured():
        st.caption(common.tr("sidebar.login_unavailable"))
        return
    st.caption(common.tr("sidebar.anonymous"))
    with st.expander(common.tr("sidebar.login")), st.form("login", clear_on_submit=True):
        name = st.text_input(common.tr("sidebar.user"))
        password = st.text_input(common.tr("sidebar.password"), type="password")
        if st.form_submit_button(common.tr("sidebar.sign_in")):
            try:
                signed = auth.sign_in(common.store(), name, password, client=sessions.client_address(),
                                      path=common.users_path())
            except auth.SignInThrottled as exc:
                local = exc.retry_at.astimezone().strftime("%H:%M")
                st.error(common.tr("sidebar.login_throttled", time=local))
            except PermissionDenied:
                st.error(common.tr("sidebar.login_failed"))
            except ParkAtlasError as exc:  # a broken users file or store: the administrator's to mend
                common.show_error(exc)
            else:
                sessions.signed_in(signed, common.users_path())
                st.rerun()


def _failed_sign_ins() -> None:
    """For admins: failed sign-ins of the last day, from the audit log."""
    since = datetime.now(timezone.utc) - timedelta(days=1)
    failures = common.store().sign_in_failures(since)
    if not failures:
        return
    with st.expander(common.tr("sidebar.failed_sign_ins", n=len(failures))):
        st.dataframe(pd.DataFrame({
            common.tr("sidebar.failed_at"): [at.astimezone().strftime("%Y-%m-%d %H:%M") for at, _, _ in failures],
            common.tr("sidebar.user"): [who for _, who, _ in failures],
            common.tr("sidebar.client"): [where for _, _, where in failures],
        }), hide_index=True, width="stretch")
