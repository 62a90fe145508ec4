"""The per-account facts every coverage figure is aggregated from, built once per store version.

Building them (deals per account, distances, each rep's capacity worked in order) is the costly part of the
Coverage page; the page filters (segment, industry, state) do not change them, because capacity counts the
owner's whole book. So the facts of every account in the caller's scope are computed once per store version
and scope and kept in this process (an Arrow table, the last few); a filter only selects rows of them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from planner.scope import Scope
from planner.store.memo import Kept
from planner.store.metrics import _DIST_KM, _PROPENSITY, DEALS_PER_ACCOUNT, StatusCodes, store_version

_FRAMES: Kept[pa.Table] = Kept(2)
"""Facts of the last two (store version, scope, assumptions): a leader's view and one more, at most."""

# In which order a rep works the reachable book until the capacity runs out (the domain picks one).
CAPACITY_ORDERS = {
    "expected_value_per_hour": "coalesce(propensity, 1) * potential / hours DESC, rid",
    "potential_per_hour": "potential / hours DESC, rid",
    "potential": "potential DESC, rid",
}


# The facts statement (see account_facts); {where} is the caller's scope (the page's filter comes after).
_FACTS_SQL = """
WITH d AS ({deals}),
sc AS (SELECT account_id, propensity FROM scores WHERE model_version = ?),
r AS (SELECT rep_id, name, home_lat, home_lon, coalesce(capacity_hours, ?) AS capacity
      FROM reps WHERE active),
acc AS (
    SELECT a.rowid AS rid, a.lat, a.lon,
           a.owner_rep_id, r.rep_id IS NOT NULL AS owner_active, r.capacity,
           coalesce(a.is_customer, FALSE) AS customer,
           coalesce(p.potential, 0) AS potential,
           sc.propensity IS NOT NULL AS scored,
           {propensity} AS propensity,
           coalesce(d.open_pipeline, 0) AS open_pipeline, coalesce(d.open_deals, 0) AS open_deals,
           coalesce(d.won_12m, 0) AS won_12m,
           {dist_km} AS dist_km,
           a.industry, a.state, a.employees
    FROM accounts a
    JOIN account_potential p ON p.account_id = a.account_id
    LEFT JOIN r ON r.rep_id = a.owner_rep_id
    LEFT JOIN d ON d.account_id = a.account_id
    LEFT JOIN sc ON sc.account_id = a.account_id
    WHERE {where}
),
w AS (
    SELECT *, propensity * potential AS expected_value,
           CASE WHEN customer THEN ?::DOUBLE ELSE ?::DOUBLE END
             + CASE WHEN customer THEN ?::DOUBLE ELSE ?::DOUBLE END * coalesce(dist_km, 0) AS hours,
           owner_active AND coalesce(dist_km, 0) <= ? AS reachable
    FROM acc
),
cum AS (
    -- only the narrow columns go through the sort: a wide window costs several times more
    SELECT rid, sum(hours) OVER (
               PARTITION BY owner_rep_id ORDER BY {order}
               ROWS UNBOUNDED PRECEDING) AS cum_hours
    FROM w WHERE reachable
)
SELECT w.* EXCLUDE (reachable),
       CASE WHEN NOT owner_active THEN ?
            WHEN NOT reachable THEN ?
            WHEN cum.cum_hours > capacity THEN ?
            ELSE ? END AS status
FROM w LEFT JOIN cum ON cum.rid = w.rid
"""
# Beside the facts, the columns the page filters read (on alias a): industry, state, employees, owner_rep_id.
_FILTER_ONLY = ("industry", "state", "employees")


def _store_identity(con: duckdb.DuckDBPyConnection) -> str:
    """The store's version (write id and account count) and, for a file, its identity on disk: a write made
    without the planner (no new write id) still gets fresh facts."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    where = str(rows[0][0]) if rows and rows[0][0] else ""
    if where and os.path.isfile(where):
        st = os.stat(where)
        where = f"{where}:{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"
    return f"{store_version(con)}|{con.execute('SELECT current_database()').fetchall()[0][0]}|{where}"


def _every_account(con: duckdb.DuckDBPyConnection, key: tuple[Any, ...], sql: str, params: list[Any]) -> pa.Table:
    """The facts of every account in scope (no page filter), built once per key."""
    return _FRAMES.get(key, lambda: con.execute(sql, params).to_arrow_table())


@contextmanager
def account_facts(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: date,
    scope: Scope,
    predicate: tuple[str, list[object]],
    fixed_hours: tuple[float, float],
    hours_per_km: tuple[float, float],
    reachable_km: float,
    default_capacity: float,
    fallback_propensity: float | None,
    model_version: int | None,
    statuses: StatusCodes,
    capacity_order: str,
) -> Iterator[str]:
    """A table of per-account facts for the accounts in scope that pass `predicate` (on alias a); yields
    its name (valid inside the block, on this connection); see scope_table for the unfiltered facts.

    Workload per account = fixed_hours + hours_per_km x distance from the owner's home (the domain's
    model as two numbers per segment, each a (customer, prospect) pair; a customer is `is_customer`, unknown a
    prospect; an unknown distance adds nothing). Status: unowned (no active owner),
    out_of_reach (farther than reachable_km from the owner's home), over_capacity (the owner's reachable
    accounts, worked in `capacity_order`, run past the owner's capacity before this one), else covered.
    Capacity counts the owner's whole book in scope, whatever the filter: the facts of every account in
    scope are built once per store version, scope and assumptions, and the filter selects rows of them.
    """
    if capacity_order not in CAPACITY_ORDERS:
        raise ValueError(f"unknown capacity order {capacity_order!r}")
    where, params = scope.owner_filter("a.owner_rep_id")
    fwhere, fparams = predicate
    sql = _FACTS_SQL.format(
        deals=DEALS_PER_ACCOUNT, propensity=_PROPENSITY, dist_km=_DIST_KM, where=where,
        order=CAPACITY_ORDERS[capacity_order],
    )  # fmt: skip
    sql_params = [
        as_of, as_of, model_version, default_capacity, fallback_propensity, *params,
        *fixed_hours, *hours_per_km, reachable_km,
        statuses.unowned, statuses.out_of_reach, statuses.over_capacity, statuses.covered,
    ]  # fmt: skip
    key = (_store_identity(con), sql, repr(sql_params))
    every = _every_account(con, key, sql, sql_params)
    base = f"_facts_all_{uuid.uuid4().hex[:12]}"
    name = f"_facts_{uuid.uuid4().hex[:12]}"
    if fwhere == "TRUE":
        kept = every.drop_columns(list(_FILTER_ONLY))  # no copy
    else:
        con.register(base, every)
        try:
            kept = con.execute(
                f"SELECT * EXCLUDE ({', '.join(_FILTER_ONLY)}) FROM {base} a WHERE coalesce({fwhere}, FALSE)", fparams
            ).to_arrow_table()
        finally:
            con.unregister(base)
    con.register(name, kept)
    con.register(scope_table(name), every)
    try:
        yield name
    finally:
        con.unregister(name)
        con.unregister(scope_table(name))


def scope_table(facts: str) -> str:
    """The name under which account_facts registers, beside the filtered facts `facts`, the facts of every
    account in scope (the filters aside: what whole-book figures and the potential threshold read)."""
    return f"{facts}_scope"
