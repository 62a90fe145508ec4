"""Who is asking: every planner read takes a Scope so a rep never sees another rep's data."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "leader", "rep")


@dataclass(frozen=True)
class Scope:
    """The caller's role and, for a rep, the only rep_id whose data they may read."""

    role: str = "admin"
    rep_id: str | None = None
    user: str = "local"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; use one of {', '.join(ROLES)}")
        if self.role == "rep" and not self.rep_id:
            raise ValueError("a rep scope needs the rep's id")

    @property
    def is_rep(self) -> bool:
        return self.role == "rep"

    def owner_filter(self, column: str = "owner_rep_id") -> tuple[str, list[object]]:
        """SQL predicate and parameters restricting rows to what this caller may read."""
        if self.is_rep:
            return f"{column} = ?", [self.rep_id]
        return "TRUE", []

    def allows_rep(self, rep_id: str | None) -> bool:
        return not self.is_rep or rep_id == self.rep_id


EVERYONE = Scope()


def require_role(scope: Scope, *roles: str) -> None:
    """Raise Forbidden unless the caller has one of `roles` (call it first in every write).

    Imports, committing scenarios and managing roles are admin-only: `require_role(scope, "admin")`;
    making a scenario is `require_role(scope, "admin", "leader")`.
    """
    from planner.errors import Forbidden

    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"require_role needs roles among {', '.join(ROLES)}, got {roles!r}")
    if scope.role not in roles:
        needed = " or ".join(roles)
        raise Forbidden(f"this needs the {needed} role; {scope.user} is signed in as {scope.role} (ask an admin)")
