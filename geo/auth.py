"""Users and roles: viewer (browse, export), planner (match, reserve, edit), admin (import, thresholds, users).

Every write checks the acting user's role where the write happens (in the store), so a
page or a manipulated widget cannot get around it.
"""
from __future__ import annotations

from dataclasses import dataclass

from geo.errors import PermissionDenied

ROLES = ("viewer", "planner", "admin")


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
    if not user.can(role):
        raise PermissionDenied(f"{user.name} ({user.role}) may not {action}: needs the {role} role")
