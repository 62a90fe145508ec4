"""Who is asking, and what they may see: every role check of the planner lives here.

Two separate values travel through the planner:
- `Scope` is *who is asking* (role, their rep_id when they are a rep, their sign-in name). Every
  planner function that reads or writes territory data takes it as a required keyword argument,
  `scope=`; nothing has a default scope. The CLI passes one explicit `OPERATOR` scope.
- the territory *in view* (`rep_id=None` for all territories) is an ordinary argument. `view()`
  checks that the asker may look at it and returns the SQL filter for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.errors import Forbidden

ROLES = ("admin", "leader", "rep")


@dataclass(frozen=True)
class Scope:
    """The caller's role and, for a rep, the only rep_id whose data they may read."""

    role: str
    rep_id: str | None = None
    user: str = "anonymous"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; use one of {', '.join(ROLES)}")
        if self.role == "rep" and not self.rep_id:
            raise ValueError("a rep scope needs the rep's id")

    @property
    def is_rep(self) -> bool:
        return self.role == "rep"

    @property
    def is_admin(self) -> bool:
        """Whether the caller may do what only an admin does (pages ask this to show or hide admin controls;
        the planner functions behind them check again with require_admin)."""
        return self.role == "admin"

    def owner_filter(self, column: str = "owner_rep_id") -> tuple[str, list[object]]:
        """SQL predicate and parameters restricting rows to what this caller may read."""
        if self.is_rep:
            return f"{column} = ?", [self.rep_id]
        return "TRUE", []

    def allows_rep(self, rep_id: str | None) -> bool:
        return not self.is_rep or rep_id == self.rep_id


# The local operator: the CLI and scripts on the machine that holds the store. Passed explicitly.
OPERATOR = Scope(role="admin", user="operator")


def require_role(scope: Scope, *roles: str) -> None:
    """Raise Forbidden unless the caller has one of `roles` (call it first in every write).

    Imports, committing scenarios and managing roles are admin-only (`require_admin`); making a
    scenario or training a model is for leaders and admins (`require_leader`).
    """
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"require_role needs roles among {', '.join(ROLES)}, got {roles!r}")
    if not isinstance(scope, Scope):
        raise Forbidden("no scope given: who is asking is unknown, so nothing is allowed")
    if scope.role not in roles:
        needed = " or ".join(roles)
        raise Forbidden(f"this needs the {needed} role; {scope.user} is signed in as {scope.role} (ask an admin)")


def require_leader(scope: Scope) -> None:
    """Leaders and admins: making scenarios, training models, reading the whole book."""
    require_role(scope, "admin", "leader")


def require_admin(scope: Scope) -> None:
    """Admins only: imports, commits, roles, settings."""
    require_role(scope, "admin")


def require_view(scope: Scope, rep_id: str | None) -> None:
    """Raise Forbidden unless the asker may look at territory `rep_id` (None: all the asker may see)."""
    if not isinstance(scope, Scope):
        raise Forbidden("no scope given: who is asking is unknown, so nothing is allowed")
    if rep_id is not None and not scope.allows_rep(rep_id):
        raise Forbidden(f"you may only view your own territory, not {rep_id!r}")


def view(scope: Scope, rep_id: str | None, column: str = "owner_rep_id") -> tuple[str, list[object]]:
    """SQL predicate and parameters for the territory in view, checked against who is asking."""
    require_view(scope, rep_id)
    if rep_id is not None:
        return f"{column} = ?", [rep_id]
    return scope.owner_filter(column)


def require_actor(scope: Scope, actor: str) -> None:
    """Raise Forbidden unless the asker may write an audit row in `actor`'s name: leaders and admins
    log what they run (the CLI as "cli", a page as the signed-in user); a rep only in their own name."""
    if not isinstance(scope, Scope):
        raise Forbidden("no scope given: who is asking is unknown, so nothing is allowed")
    if scope.is_rep and actor != scope.user:
        raise Forbidden(f"{scope.user} may only act in their own name, not as {actor!r}")
