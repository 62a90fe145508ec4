"""The workload and coverage assumptions an admin saved in the store (one place for every page and command).

Kept in the meta table as `assumption.<name>` rows holding a number as text; a name without a row
falls back to the deployment's setting. Writes delete then insert (no upsert: a lake has no keys).
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from planner.scope import Scope, require_admin
from planner.store.core import query_df

_PREFIX = "assumption."


def read_assumptions(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """name -> stored text of every saved assumption.

    No scope: the workload numbers (hours per visit, per km...) every page and rep works with; no territory data."""
    df = query_df(con, "SELECT key, value FROM meta WHERE starts_with(key, ?) ORDER BY key", [_PREFIX])
    return {str(k)[len(_PREFIX) :]: str(v) for k, v in zip(df["key"], df["value"], strict=True)}


def write_assumptions(con: duckdb.DuckDBPyConnection, values: Mapping[str, float | None], *, scope: Scope) -> None:
    """Save (or, for None, forget) assumptions by name, on a write connection. Admins only."""
    require_admin(scope)
    for name, value in values.items():
        key = _PREFIX + name
        con.execute("DELETE FROM meta WHERE key = ?", [key])
        if value is not None:
            con.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [key, repr(float(value))])
