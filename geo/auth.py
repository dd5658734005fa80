"""Users and roles: viewer (browse, export), planner (match, reserve, edit), admin (import, thresholds, users).

Every write checks the acting user's role where the write happens (in the store), so a
page or a manipulated widget cannot get around it. Local accounts live in a JSON file
(default ``var/users.json``, or ``$PARKATLAS_USERS``) with salted scrypt password hashes.

The CLI is an operator tool: ``--user NAME`` runs as that user, with the role from the
users file when one exists (an unknown name is refused). Without a users file the operator
who can run the CLI can already write the store files, so a CLI-named user acts as admin.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from geo.errors import KeyedError, KeyedPermissionDenied, ParkAtlasError, PermissionDenied
from geo.standards import REPO_ROOT

ROLES = ("viewer", "planner", "admin")
USERS_ENV = "PARKATLAS_USERS"
DEFAULT_USERS_FILE = REPO_ROOT / "var" / "users.json"
#: Role of a user named on the CLI when no users file exists (see the module docstring).
CLI_DEFAULT_ROLE = "admin"

_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
# scrypt cost: 2**14 × 8 × 1 ≈ 16 MiB and ~50 ms per check — slow for guessing, fine for logins.
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


@dataclass(frozen=True)
class User:
    """An authenticated (or anonymous, read-only) person acting on the store."""

    name: str
    role: str = "viewer"

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; one of {', '.join(ROLES)}")

    def can(self, role: str) -> bool:
        """True when this user's role is at least ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


ANONYMOUS = User("anonymous", "viewer")


def require(user: User, role: str, action: str) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` has at least ``role`` for ``action``."""
    if not isinstance(user, User):
        raise KeyedPermissionDenied("auth.denied.signed_out", f"cannot {action} without a signed-in user "
                                    f"(needs the {role} role)", needed_role=role)
    if not user.can(role):
        raise KeyedPermissionDenied("auth.denied.role", f"{user.name} ({user.role}) may not {action}: needs the "
                                    f"{role} role", user=user.name, role=user.role, needed_role=role)


def users_file(path: str | os.PathLike | None = None) -> Path:
    """The users file: ``path``, else ``$PARKATLAS_USERS``, else ``var/users.json``."""
    return Path(path or os.environ.get(USERS_ENV) or DEFAULT_USERS_FILE)


def _hash(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32,
                          maxmem=64 * 1024 * 1024)


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = _hash(password, salt, **_SCRYPT)
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + f"{salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the ``stored`` hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _hash(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, bytes.fromhex(digest))


def _read_file(target: Path) -> dict:
    """The users file's JSON object; empty when the file does not exist.

    A file that other local users may write is refused: whoever can write it can make
    themselves an admin.
    """
    try:
        mode = target.stat().st_mode
        data = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise KeyedError("auth.users_file.unreadable", f"cannot read users file {target}: {exc}; fix or remove it",
                         path=str(target), error=str(exc)) from None
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise KeyedError("auth.users_file.shared", f"users file {target} is writable by other users; "
                         f"make it owner-only: chmod 600 {target}", path=str(target))
    if not isinstance(data, dict):
        raise KeyedError("auth.users_file.malformed", f"users file {target} is not a JSON object; fix or remove it",
                         path=str(target))
    return data


def load_users(path: str | os.PathLike | None = None) -> dict[str, dict]:
    """Name → ``{"role": ..., "password": <hash>}``; empty when the file does not exist."""
    target = users_file(path)
    data = _read_file(target)
    if not data:
        return {}
    users = data.get("users")
    if not isinstance(users, dict):
        raise KeyedError("auth.users_file.malformed", f"users file {target} has no \"users\" object; "
                         "fix or remove it", path=str(target))
    return users


def _save(users: dict[str, dict], path: str | os.PathLike | None) -> None:
    target = users_file(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Keep the other top-level entries (the SSO ``identities`` mapping) as they are.
    data = {**_read_file(target), "users": users}
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # hashes are secrets
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False, indent=1, sort_keys=True)
    os.replace(tmp, target)


def add_user(name: str, password: str, role: str, path: str | os.PathLike | None = None) -> User:
    """Create or update a local account; returns the user."""
    if not _NAME.match(name or ""):
        raise ParkAtlasError(f"user name {name!r} must be 1–64 letters, digits or _ . @ -")
    if role not in ROLES:
        raise ParkAtlasError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not password or len(password) < 8:
        raise ParkAtlasError("password must have at least 8 characters")
    users = load_users(path)
    old = users.get(name) or {}
    # An unchanged password keeps its hash, and so the sign-ins it made (a role change alone);
    # a new password signs the user's browsers out everywhere (see :func:`session_user`).
    same = verify_password(password, old.get("password") or "")
    users[name] = {"role": role, "password": old["password"] if same else hash_password(password)}
    _save(users, path)
    return User(name, role)


def remove_user(name: str, path: str | os.PathLike | None = None) -> None:
    """Delete a local account; :class:`NotFoundError` if there is none."""
    from geo.errors import NotFoundError

    users = load_users(path)
    if name not in users:
        raise NotFoundError(f"no user {name!r} in {users_file(path)}; see `python cli.py users list`")
    del users[name]
    _save(users, path)


def list_users(path: str | os.PathLike | None = None) -> list[User]:
    """Accounts in the users file, by name."""
    return [User(name, entry.get("role", "viewer")) for name, entry in sorted(load_users(path).items())]


def authenticate(name: str, password: str, path: str | os.PathLike | None = None) -> User:
    """The user for a correct name and password; :class:`PermissionDenied` otherwise."""
    entry = load_users(path).get(name)
    # Hash even for unknown names so that timing does not reveal which names exist.
    stored = entry["password"] if entry else "scrypt$16384$8$1$00$00"
    if not verify_password(password or "", stored) or entry is None:
        raise PermissionDenied("wrong user name or password")
    return User(name, entry["role"])


def cli_user(name: str | None, path: str | os.PathLike | None = None) -> User:
    """The user a CLI command acts as (see the module docstring for the rules)."""
    if not name:
        return ANONYMOUS
    users = load_users(path)
    if not users:
        return User(name, CLI_DEFAULT_ROLE)
    if name not in users:
        raise PermissionDenied(f"no user {name!r} in {users_file(path)}; add it with "
                               f"`python cli.py users add {name} --role planner`")
    return User(name, users[name]["role"])


def role_for_identity(email: str | None, path: str | os.PathLike | None = None) -> str:
    """The role of a single-sign-on identity: ``identities`` (email → role) in the users file.

    Emails compare case-insensitively; an identity that is not listed (or has no email) is
    a viewer. A listed role that is not one of :data:`ROLES` is a one-line error.
    """
    target = users_file(path)
    identities = _read_file(target).get("identities") or {}
    if not isinstance(identities, dict):
        raise KeyedError("auth.users_file.identities", f"users file {target}: \"identities\" must map emails "
                         "to roles; fix it", path=str(target))
    wanted = (email or "").strip().lower()
    roles = {str(k).strip().lower(): v for k, v in identities.items()}
    role = roles.get(wanted, "viewer") if wanted else "viewer"
    if role not in ROLES:
        raise KeyedError("auth.users_file.identity_role", f"users file {target}: identity {email} has unknown "
                         f"role {role!r}; use one of {', '.join(ROLES)}", path=str(target), email=str(email),
                         role=str(role), roles=", ".join(ROLES))
    return role


# --- sign-in sessions: signed tokens held by the browser in an HttpOnly cookie ------------------
SESSION_COOKIE = "parkatlas_session"
#: A sign-in lasts a working day; after that the planner signs in again.
SESSION_LIFETIME_S = 8 * 3600
#: A grant (issued at sign-in, exchanged once for the cookie by the browser) is short-lived.
GRANT_LIFETIME_S = 60
SESSION_KEY_ENV = "PARKATLAS_SESSION_KEY"
DEFAULT_SESSION_KEY_FILE = REPO_ROOT / "var" / "session.key"
#: Where spent grants and signed-out sessions are recorded for every app process of the machine.
SESSION_REVOKED_ENV = "PARKATLAS_SESSION_REVOKED"
DEFAULT_REVOKED_FILE = REPO_ROOT / "var" / "session-revoked.json"
_spent: dict[str, float] = {}  # nonce → expiry, this process's copy of the revocation file
_spent_lock = threading.Lock()
_revoked_seen: list = [None]  # (path, mtime_ns, size, inode) of the revocation file last read


def session_key(path: str | os.PathLike | None = None) -> bytes:
    """The server's secret for signing sessions: ``$PARKATLAS_SESSION_KEY`` (hex) or ``var/session.key``.

    The file is created once, owner-only, with 32 random bytes; every app process on the
    machine reads the same key, so a sign-in holds whichever process serves the browser.
    """
    if os.environ.get(SESSION_KEY_ENV):
        return bytes.fromhex(os.environ[SESSION_KEY_ENV])
    target = Path(path or DEFAULT_SESSION_KEY_FILE)
    try:
        return bytes.fromhex(target.read_text().strip())
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            return bytes.fromhex(target.read_text().strip())
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        return bytes.fromhex(target.read_text().strip())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(kind: str, name: str, lifetime_s: int, now: float | None = None, password_mark: str = "") -> str:
    payload = json.dumps({"k": kind, "u": name, "exp": int((now or time.time()) + lifetime_s),
                          "n": secrets.token_hex(16), "pw": password_mark},
                         separators=(",", ":")).encode("utf-8")
    mac = hmac.new(session_key(), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def _verified(token: str | None, kind: str, now: float | None = None) -> dict | None:
    """The payload of a genuine, unexpired, unspent ``kind`` token; ``None`` otherwise."""
    try:
        payload_text, mac_text = (token or "").split(".")
        payload = _unb64(payload_text)
        if not hmac.compare_digest(hmac.new(session_key(), payload, hashlib.sha256).digest(), _unb64(mac_text)):
            return None
        claims = json.loads(payload)
    except (ValueError, TypeError):
        return None
    if claims.get("k") != kind or claims.get("exp", 0) < (now or time.time()):
        return None
    try:
        with _spent_lock:
            _read_revoked()
            if claims.get("n") in _spent:
                return None
    except OSError:  # the revocation record cannot be read: nobody is signed in by a token
        return None
    return claims


def revoked_file() -> Path:
    """The revocation record: ``$PARKATLAS_SESSION_REVOKED``, else ``var/session-revoked.json``.

    Every app process serving the deployment (several behind one address, or restarted ones)
    reads and appends to the same file, so a sign-out holds whichever process the browser
    reaches next. Processes on other machines must point this at a shared file.
    """
    return Path(os.environ.get(SESSION_REVOKED_ENV) or DEFAULT_REVOKED_FILE)


def _read_revoked() -> None:
    """Merge the revocation file into ``_spent`` when it changed since last read (caller holds the lock)."""
    target = revoked_file()
    try:
        info = target.stat()
    except FileNotFoundError:
        return
    stamp = (str(target), info.st_mtime_ns, info.st_size, info.st_ino)
    if _revoked_seen[0] == stamp:
        return
    try:
        recorded = json.loads(target.read_text(encoding="utf-8") or "{}")
    except ValueError as exc:
        raise OSError(f"revocation file {target} is not JSON: {exc}") from None
    _spent.update({str(n): float(exp) for n, exp in recorded.items()})
    _revoked_seen[0] = stamp


def _spend(claims: dict) -> None:
    """Record a token as spent, here and in the revocation file (under a lock shared by processes)."""
    import fcntl

    target = revoked_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(target.with_name(target.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        with _spent_lock:
            _revoked_seen[0] = None
            _read_revoked()
            now = time.time()
            for nonce in [n for n, exp in _spent.items() if exp < now]:
                del _spent[nonce]
            _spent[claims["n"]] = claims["exp"]
            tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(_spent, out)
            os.replace(tmp, target)
    finally:
        os.close(lock_fd)  # releases the lock


def _password_mark(entry: dict | None) -> str:
    """A keyed fingerprint of a user's password hash: a session carries the one of its sign-in."""
    stored = (entry or {}).get("password") or ""
    return _b64(hmac.new(session_key(), b"password:" + stored.encode("utf-8"), hashlib.sha256).digest()[:16])


def issue_grant(user: User, path: str | os.PathLike | None = None) -> str:
    """A one-minute grant for ``user`` (of the users file ``path``), exchanged once by the browser
    for the session cookie."""
    return _sign("grant", user.name, GRANT_LIFETIME_S, password_mark=_password_mark(load_users(path).get(user.name)))


def exchange_grant(grant: str | None) -> str | None:
    """The session cookie value for a valid, unspent grant (spending it); ``None`` otherwise."""
    claims = _verified(grant, "grant")
    if claims is None:
        return None
    _spend(claims)
    return _sign("session", claims["u"], SESSION_LIFETIME_S, password_mark=claims.get("pw") or "")


def session_user(cookie: str | None, path: str | os.PathLike | None = None, now: float | None = None) -> User | None:
    """The user a session cookie signs in, with the role the users file gives now; else ``None``.

    ``None`` for a forged, expired or signed-out cookie (in any app process: the revocation
    file), for a user no longer in the file, and after the user's password changed.
    """
    claims = _verified(cookie, "session", now)
    if claims is None:
        return None
    entry = load_users(path).get(claims["u"])
    if not entry or not hmac.compare_digest(str(claims.get("pw") or ""), _password_mark(entry)):
        return None
    return User(claims["u"], entry["role"])


def end_session(cookie: str | None) -> None:
    """Sign a session cookie out for good, in every app process (the revocation file); it also
    expires on its own."""
    claims = _verified(cookie, "session")
    if claims is not None:
        _spend(claims)


# --- sign-in with throttling: failures recorded in the store's audit log ----------------------
#: Failed sign-ins allowed per user name and per client within :data:`THROTTLE_WINDOW_S`.
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 10
THROTTLE_WINDOW_S = 15 * 60


class SignInThrottled(PermissionDenied):
    """Too many failed sign-ins for this user or from this client; ``retry_at`` says when to retry."""

    def __init__(self, retry_at: datetime):
        super().__init__(f"too many failed sign-ins; try again after {retry_at:%H:%M} UTC")
        self.retry_at = retry_at


def sign_in(store, name: str, password: str, *, client: str | None,
            path: str | os.PathLike | None = None, now: datetime | None = None) -> User:
    """:func:`authenticate`, refused while the user name or the client has too many recent failures.

    ``store`` records each failure in its audit log (``record_sign_in_failure``) and counts
    recent ones (``sign_in_failures``), so the limits hold across app processes and restarts.
    Raises :class:`SignInThrottled` (without checking the password) or :class:`PermissionDenied`.
    """
    now = now or datetime.now(timezone.utc)
    since = now - timedelta(seconds=THROTTLE_WINDOW_S)
    recent = store.sign_in_failures(since)
    by_user = [at for at, who, _ in recent if who == name]
    by_client = [at for at, _, where in recent if client and where == client]
    for attempts, limit in ((by_user, MAX_FAILURES_PER_USER), (by_client, MAX_FAILURES_PER_CLIENT)):
        if len(attempts) >= limit:
            oldest_counted = sorted(attempts)[-limit]
            raise SignInThrottled(oldest_counted + timedelta(seconds=THROTTLE_WINDOW_S))
    try:
        return authenticate(name, password, path)
    except PermissionDenied:
        store.record_sign_in_failure(name, client or "")
        raise


# --- what anonymous visitors may read ------------------------------------------------------------
#: Parcel fields that name a person or a project: shown only to signed-in users.
PERSONAL_FIELDS = ("reserved_by", "reserved_project")
#: Shown instead of a name to anonymous visitors.
WITHHELD = "***"


def public_history(log, user: User):
    """The audit history ``log`` (``history_frame`` columns) as ``user`` may see it.

    Anonymous visitors see dates, actions and roles, but no user or project names, and no
    old/new values of :data:`PERSONAL_FIELDS`; signed-in users see everything.
    """
    if user != ANONYMOUS:
        return log
    shown = log.copy()
    shown["user"] = WITHHELD
    shown["project"] = shown["project"].where(shown["project"].isna(), WITHHELD)
    personal = shown["field"].isin(PERSONAL_FIELDS)
    for column in ("old", "new"):
        shown[column] = shown[column].where(~personal | shown[column].isna(), WITHHELD)
    return shown
