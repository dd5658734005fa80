"""Users and roles: viewer (browse, export), planner (match, reserve, edit), admin (import, thresholds, users).

Every write checks the acting user's role where the write happens (in the store), so a
page or a manipulated widget cannot get around it. Local accounts live in a JSON file
(default ``var/users.json``, or ``$PARKATLAS_USERS``) with salted scrypt password hashes.

The CLI is an operator tool: ``--user NAME`` runs as that user, with the role from the
users file when one exists (an unknown name is refused). Without a users file the operator
who can run the CLI can already write the store files, so a CLI-named user acts as admin.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from geo.errors import ParkAtlasError, PermissionDenied
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
        raise PermissionDenied(f"cannot {action} without a signed-in user (needs the {role} role)")
    if not user.can(role):
        raise PermissionDenied(f"{user.name} ({user.role}) may not {action}: needs the {role} role")


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
        raise ParkAtlasError(f"cannot read users file {target}: {exc}; fix or remove it") from None
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ParkAtlasError(f"users file {target} is writable by other users; "
                             f"make it owner-only: chmod 600 {target}")
    if not isinstance(data, dict):
        raise ParkAtlasError(f"users file {target} is not a JSON object; fix or remove it")
    return data


def load_users(path: str | os.PathLike | None = None) -> dict[str, dict]:
    """Name → ``{"role": ..., "password": <hash>}``; empty when the file does not exist."""
    target = users_file(path)
    data = _read_file(target)
    if not data:
        return {}
    users = data.get("users")
    if not isinstance(users, dict):
        raise ParkAtlasError(f"users file {target} has no \"users\" object; fix or remove it")
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
    users[name] = {"role": role, "password": hash_password(password)}
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
        raise ParkAtlasError(f"users file {target}: \"identities\" must map emails to roles; fix it")
    wanted = (email or "").strip().lower()
    roles = {str(k).strip().lower(): v for k, v in identities.items()}
    role = roles.get(wanted, "viewer") if wanted else "viewer"
    if role not in ROLES:
        raise ParkAtlasError(f"users file {target}: identity {email} has unknown role {role!r}; "
                             f"use one of {', '.join(ROLES)}")
    return role
