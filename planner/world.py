"""The world in view, as pages show it: the reps a caller may pick, row counts and freshness.

Thin readers over planner.store.world, so pages make planner calls and never touch the store.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from planner.scope import Scope
from planner.store import world as q


def rep_options(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """rep_id, name and email of the reps the caller may pick (a rep: only themselves)."""
    return q.rep_options(con, scope=scope)


def counts(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> dict[str, int]:
    """Row counts of accounts, deals and reps within the caller's scope."""
    return q.counts(con, scope=scope)


def freshness(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """When the data last changed, the as-of date and its rule, the newest deal and import."""
    return q.freshness(con)


def currency(con: duckdb.DuckDBPyConnection) -> str | None:
    """The store's currency code as an import or a person set it (None: never set, US dollars)."""
    return q.currency(con)


def mixed_currencies(con: duckdb.DuckDBPyConnection) -> str | None:
    """The currencies the store's amounts are in when imports found several and nobody set one ('GBP, JPY')."""
    return q.mixed_currencies(con) if q.currency(con) == q.NO_CURRENCY else None
