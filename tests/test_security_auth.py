"""Issue 21 items 5–7: signed session cookies, throttled sign-ins recorded in the audit log, uploads."""
from __future__ import annotations

import tomllib
from datetime import datetime, timedelta, timezone

import pytest

from geo import auth
from geo.auth import SignInThrottled, User
from geo.errors import PermissionDenied
from geo.io.safety import Limits
from geo.store import open_store
from tests.conftest import ROOT

PASSWORD = "s3cret-pass"


@pytest.fixture()
def users(tmp_path, monkeypatch):
    path = tmp_path / "users.json"
    monkeypatch.setenv("PARKATLAS_USERS", str(path))
    monkeypatch.setenv(auth.SESSION_KEY_ENV, "ab" * 32)
    monkeypatch.setenv(auth.SESSION_REVOKED_ENV, str(tmp_path / "session-revoked.json"))
    auth.add_user("li", PASSWORD, "planner", path=path)
    return path


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, store_path):
    if request.param == "gpkg":
        return open_store(store_path)
    return open_store(request.getfixturevalue("postgis_url"))


def test_a_grant_is_exchanged_once_for_a_session_cookie(users):
    grant = auth.issue_grant(User("li", "planner"))
    cookie = auth.exchange_grant(grant)
    assert auth.session_user(cookie) == User("li", "planner")
    assert auth.exchange_grant(grant) is None  # spent
    assert auth.session_user(grant) is None  # a grant is not a session


def test_forged_expired_and_signed_out_cookies_sign_nobody_in(users, monkeypatch):
    cookie = auth.exchange_grant(auth.issue_grant(User("li", "planner")))
    payload, mac = cookie.split(".")
    forged = auth._b64(auth._unb64(payload).replace(b'"li"', b'"xx"')) + "." + mac
    assert auth.session_user(forged) is None
    assert auth.session_user(cookie, now=datetime.now().timestamp() + auth.SESSION_LIFETIME_S + 1) is None
    monkeypatch.setenv(auth.SESSION_KEY_ENV, "cd" * 32)  # another server's key
    assert auth.session_user(cookie) is None
    monkeypatch.setenv(auth.SESSION_KEY_ENV, "ab" * 32)
    assert auth.session_user(cookie) == User("li", "planner")
    auth.end_session(cookie)
    assert auth.session_user(cookie) is None


def test_a_removed_user_or_changed_role_applies_to_a_live_cookie(users):
    cookie = auth.exchange_grant(auth.issue_grant(User("li", "planner")))
    auth.add_user("li", PASSWORD, "viewer", path=users)
    assert auth.session_user(cookie) == User("li", "viewer")
    auth.remove_user("li", path=users)
    assert auth.session_user(cookie) is None


def _other_process(action: str, cookie: str) -> str:
    """Another app process of the deployment (same environment: users file, key, revocation
    file) checks ``cookie`` (``"check"``: prints the user it signs in, or nothing) or signs it
    out (``"sign-out"``)."""
    import subprocess
    import sys

    script = ("import sys; from geo import auth\n"
              "if sys.argv[1] == 'sign-out': auth.end_session(sys.argv[2])\n"
              "else: user = auth.session_user(sys.argv[2]); print(user.name if user else '')")
    done = subprocess.run([sys.executable, "-c", script, action, cookie], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout.strip()


def test_sign_out_and_password_change_hold_in_every_app_process(users, tmp_path):
    first = auth.exchange_grant(auth.issue_grant(User("li", "planner"), users))
    assert _other_process("check", first) == "li"
    _other_process("sign-out", first)  # the sign-out route was served by the other process
    assert auth.session_user(first) is None  # ... and this one refuses the cookie too
    assert (tmp_path / "session-revoked.json").stat().st_mode & 0o077 == 0
    second = auth.exchange_grant(auth.issue_grant(User("li", "planner"), users))
    auth.end_session(second)  # signed out here: refused there
    assert _other_process("check", second) == ""
    third = auth.exchange_grant(auth.issue_grant(User("li", "planner"), users))
    auth.add_user("li", PASSWORD, "admin", path=users)  # a role change keeps the sign-in
    assert _other_process("check", third) == "li"
    auth.add_user("li", "a-new-password", "admin", path=users)  # a new password ends it everywhere
    assert _other_process("check", third) == "" and auth.session_user(third) is None
    fourth = auth.exchange_grant(auth.issue_grant(User("li", "admin"), users))
    assert _other_process("check", fourth) == "li"  # signed in again with the new password


def test_a_corrupt_revocation_file_signs_nobody_in(users, tmp_path):
    cookie = auth.exchange_grant(auth.issue_grant(User("li", "planner"), users))
    assert auth.session_user(cookie) == User("li", "planner")
    (tmp_path / "session-revoked.json").write_text("{not json")
    assert auth.session_user(cookie) is None


def test_the_session_key_file_is_created_once_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv(auth.SESSION_KEY_ENV, raising=False)
    key = auth.session_key(tmp_path / "var" / "session.key")
    assert len(key) == 32 and auth.session_key(tmp_path / "var" / "session.key") == key
    assert (tmp_path / "var" / "session.key").stat().st_mode & 0o077 == 0


def test_wrong_passwords_are_throttled_per_user_and_recorded(users, store):
    for _ in range(auth.MAX_FAILURES_PER_USER):
        with pytest.raises(PermissionDenied, match="wrong user name or password"):
            auth.sign_in(store, "li", "guess", client="10.0.0.9")
    # The right password no longer works while the user is throttled.
    with pytest.raises(SignInThrottled) as throttled:
        auth.sign_in(store, "li", PASSWORD, client="10.0.0.1")
    assert throttled.value.retry_at > datetime.now(timezone.utc) + timedelta(minutes=14)
    failures = store.sign_in_failures(datetime.now(timezone.utc) - timedelta(minutes=1))
    assert [(who, where) for _, who, where in failures] == [("li", "10.0.0.9")] * auth.MAX_FAILURES_PER_USER
    # After the window the user signs in again.
    later = datetime.now(timezone.utc) + timedelta(seconds=auth.THROTTLE_WINDOW_S + 1)
    assert auth.sign_in(store, "li", PASSWORD, client="10.0.0.1", now=later) == User("li", "planner")


def test_one_client_guessing_many_names_is_throttled(users, store):
    for i in range(auth.MAX_FAILURES_PER_CLIENT):
        with pytest.raises(PermissionDenied):
            auth.sign_in(store, f"name{i}", "guess", client="10.0.0.66")
    with pytest.raises(SignInThrottled):
        auth.sign_in(store, "li", PASSWORD, client="10.0.0.66")
    assert auth.sign_in(store, "li", PASSWORD, client="10.0.0.7") == User("li", "planner")


def test_failed_sign_ins_do_not_move_the_store_revision(users, store):
    before = store.revision()
    with pytest.raises(PermissionDenied):
        auth.sign_in(store, "li", "guess", client="10.0.0.9")
    assert store.revision() == before
    assert store.integrity_check() == []


def test_upload_size_is_capped_at_the_import_limit():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2 ** 20 == Limits().max_upload_bytes


def test_an_admin_sees_failed_sign_ins_and_anonymous_sessions_get_no_upload_widget(users, store_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    auth.add_user("root", PASSWORD, "admin", path=users)
    with pytest.raises(PermissionDenied):
        auth.sign_in(open_store(store_path), "li", "<b>guess</b>", client="10.0.0.9")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("app_pages/data.py")
    at.run()
    assert not at.exception
    assert "import_file" not in [w.key for w in at.main.children.values() if hasattr(w, "key")]
    assert not [e for e in at.get("file_uploader")]
    at.session_state["user"] = User("root", "admin")
    at.run()
    assert [e for e in at.get("file_uploader")]
    shown = [e.label for e in at.sidebar.expander]
    assert any("近 24 小时登录失败：1" in label for label in shown), shown


def test_anonymous_visitors_see_roles_and_dates_but_no_names_in_parcel_history(store_path, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    store = open_store(store_path)
    parcel_id = next(p for p, s in zip(store.read_parcels().parcel_id, store.read_parcels().status)
                     if s == "available")
    store.reserve([parcel_id], project="SecretProject", user=User("alice.planner", "planner"))
    log = store.history(parcel_id=parcel_id)
    public = auth.public_history(log, auth.ANONYMOUS)
    assert set(public["user"]) == {auth.WITHHELD} and list(public["role"]) == list(log["role"])
    assert list(public["at"]) == list(log["at"]) and list(public["action"]) == list(log["action"])
    assert "alice.planner" not in public.to_string() and "SecretProject" not in public.to_string()
    assert auth.public_history(log, User("li", "viewer")) is log  # signed-in viewers see names

    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    monkeypatch.setenv("PARKATLAS_USERS", str(tmp_path / "users.json"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["parcel"] = parcel_id
    at.switch_page("app_pages/parcel.py")
    at.run()
    assert not at.exception
    shown = " ".join(frame.value.to_string() for frame in at.dataframe)
    assert "alice.planner" not in shown and "SecretProject" not in shown
    from geo import i18n

    assert i18n.t("role.planner", "zh") in shown or "planner" in shown  # the role stays
