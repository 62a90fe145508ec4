"""The world in view, as pages show it: the reps a caller may pick, row counts and freshness.

Thin readers over planner.store.world, so pages make planner calls and never touch the store.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from planner.scope import Scope
from planner.store import world as q
from planner.store.imports import geocode


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


def placement_groups(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Placed accounts gathered into ~25 km squares per placement method, for the Data page's map: every account
    the caller may see counts, in a few thousand dots however large the store (planner.store.imports.geocode)."""
    return geocode.placement_groups(con, scope=scope)
