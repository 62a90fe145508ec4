"""The one rep lookup: from an id, email or name to a rep_id (ambiguous names are refused), and
the rep a plan belongs to, checked against who is asking."""

from __future__ import annotations

from typing import Any

import duckdb

from planner.errors import BadInput, Forbidden, NotFound
from planner.scope import Scope, require_view
from planner.store import plans as q
from planner.store import world


def resolve_rep(con: duckdb.DuckDBPyConnection, name_or_email: str, *, scope: Scope) -> str:
    """A rep_id from an id, email or full name (case-insensitive); unknown or ambiguous is one
    clear error, and a rep may only name themselves."""
    found = world.find_rep(con, name_or_email, scope=scope)  # a rep finds only themselves
    if len(found) == 0 and scope.is_rep:  # the same answer whether or not such a rep exists
        raise Forbidden(f"you may only view your own territory, not {name_or_email.strip()!r}")
    if len(found) == 0:
        raise NotFound(f"no rep {name_or_email!r}: use a rep's id, email or full name (see `export reps`)")
    if len(found) > 1:
        raise BadInput(f"{name_or_email!r} matches {len(found)} reps; use the email or rep id instead")
    rep_id = str(found["rep_id"].iloc[0])
    require_view(scope, rep_id)
    return rep_id


def rep_for(con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str) -> dict[str, Any]:
    """The rep whose plan this is (Forbidden for another rep's plan, NotFound for an unknown id)."""
    require_view(scope, rep_id)
    rep = q.rep_row(con, scope=scope, rep_id=rep_id)
    if rep is None:
        raise NotFound(
            f"no rep {rep_id!r}; pick one of the reps listed in the sidebar or `python -m planner export reps`"
        )
    return rep
