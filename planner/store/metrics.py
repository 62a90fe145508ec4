"""Queries behind territory metrics: per-rep aggregates and store-wide KPIs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, NamedTuple

import duckdb
import pandas as pd

from planner.scope import Scope, require_view, view
from planner.store.core import query_df, query_one

# Per account: open pipeline, open deals, and won in the 12 months to a date (bound twice as ?).
DEALS_PER_ACCOUNT = """
    SELECT account_id,
           sum(CASE WHEN NOT is_closed THEN amount ELSE 0 END) AS open_pipeline,
           count(*) FILTER (WHERE NOT is_closed) AS open_deals,
           sum(CASE WHEN is_won AND close_date > ?::DATE - INTERVAL 12 MONTH
                    AND close_date <= ?::DATE THEN amount ELSE 0 END) AS won_12m
    FROM deals GROUP BY account_id
"""


def territory_totals(con: duckdb.DuckDBPyConnection, as_of: date, *, scope: Scope) -> pd.DataFrame:
    """One row per active rep (and one for unassigned accounts, rep_id NULL): counts and money."""
    where, params = scope.owner_filter("a.owner_rep_id")
    return query_df(
        con,
        f"""
        WITH d AS ({DEALS_PER_ACCOUNT}),
        t AS (
            SELECT a.owner_rep_id AS rep_id,
                   count(*) AS accounts,
                   count(*) FILTER (WHERE a.is_customer) AS customers,
                   sum(p.potential) AS potential,
                   sum(coalesce(d.open_pipeline, 0)) AS open_pipeline,
                   sum(coalesce(d.open_deals, 0)) AS open_deals,
                   sum(coalesce(d.won_12m, 0)) AS won_12m
            FROM accounts a
            JOIN account_potential p USING (account_id)
            LEFT JOIN d USING (account_id)
            WHERE {where}
            GROUP BY a.owner_rep_id
        )
        SELECT coalesce(r.rep_id, t.rep_id) AS rep_id, r.name, r.email, r.quota, r.home_lat, r.home_lon,
               r.capacity_hours,
               coalesce(t.accounts, 0) AS accounts, coalesce(t.customers, 0) AS customers,
               coalesce(t.accounts, 0) - coalesce(t.customers, 0) AS prospects,
               coalesce(t.potential, 0) AS potential, coalesce(t.open_pipeline, 0) AS open_pipeline,
               coalesce(t.open_deals, 0) AS open_deals, coalesce(t.won_12m, 0) AS won_12m
        FROM (SELECT * FROM reps WHERE active AND {scope.owner_filter("rep_id")[0]}) r
        FULL OUTER JOIN t ON t.rep_id = r.rep_id
        ORDER BY r.name NULLS LAST
        """,
        [as_of, as_of, *params, *scope.owner_filter("rep_id")[1]],
    )


def store_kpis(
    con: duckdb.DuckDBPyConnection, as_of: date, *, scope: Scope, rep_id: str | None = None
) -> dict[str, float]:
    """Accounts, customers, reps, open pipeline and the 12-month win rate of the territory in view
    (rep_id; None: everything the caller may see)."""
    where, params = view(scope, rep_id, "a.owner_rep_id")
    row = query_one(
        con,
        f"""
        SELECT count(*) AS accounts,
               count(*) FILTER (WHERE a.is_customer) AS customers,
               sum(p.potential) AS potential,
               count(*) FILTER (WHERE a.owner_rep_id IS NULL) AS unassigned
        FROM accounts a JOIN account_potential p USING (account_id)
        WHERE {where}
        """,
        params,
    )
    deals = query_one(
        con,
        f"""
        SELECT sum(CASE WHEN NOT d.is_closed THEN d.amount ELSE 0 END),
               count(*) FILTER (WHERE NOT d.is_closed),
               count(*) FILTER (WHERE d.is_won AND d.close_date > ?::DATE - INTERVAL 12 MONTH AND d.close_date <= ?),
               count(*) FILTER (WHERE d.is_closed AND d.close_date > ?::DATE - INTERVAL 12 MONTH AND d.close_date <= ?)
        FROM deals d JOIN accounts a USING (account_id)
        WHERE {where}
        """,
        [as_of, as_of, as_of, as_of, *params],
    )
    rwhere, rparams = view(scope, rep_id, "rep_id")
    reps = query_one(con, f"SELECT count(*) FROM reps WHERE active AND {rwhere}", rparams)
    assert row is not None and deals is not None and reps is not None
    won, closed = int(deals[2] or 0), int(deals[3] or 0)
    return {
        "accounts": int(row[0] or 0),
        "customers": int(row[1] or 0),
        "potential": float(row[2] or 0.0),
        "unassigned": int(row[3] or 0),
        "reps": int(reps[0] or 0),
        "open_pipeline": float(deals[0] or 0.0),
        "open_deals": int(deals[1] or 0),
        "won_12m": won,
        "closed_12m": closed,
        "win_rate_12m": (won / closed) if closed else float("nan"),
    }


# --- Per-account facts for coverage, workload and maps ------------------------------------------
# One statement computes, for every account in the caller's scope, what the Coverage page and the
# `metrics` command aggregate: owner, potential, expected value, distance from the owner's home,
# yearly workload and coverage status. It runs server-side into a temporary table (a read-only
# snapshot allows those), so the aggregates below never pull a million accounts into pandas.

# Great-circle km from the owner's home (alias r) to the account (alias a); NULL when either is unknown.
_HAV = """(pow(sin(radians(r.home_lat - a.lat) / 2), 2)
        + cos(radians(a.lat)) * cos(radians(r.home_lat)) * pow(sin(radians(r.home_lon - a.lon) / 2), 2))"""
_DIST_KM = f"2 * 6371.0088 * asin(sqrt(CASE WHEN {_HAV} > 1 THEN 1.0 ELSE {_HAV} END))"


def _first(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> tuple[Any, ...] | None:
    """First row of a query, fully fetched (DuckDB 2 keeps a fetchone() result open, which then blocks
    con.register() on the same connection)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def win_rate_12m(con: duckdb.DuckDBPyConnection, as_of: date) -> tuple[int, int]:
    """(won, closed) deals store-wide in the 12 months to `as_of`.

    No scope: two counts, the base of the one fallback win rate every page values accounts with (a rep's
    expected values must equal their leader's); no account, deal or rep comes back."""
    row = _first(
        con,
        """SELECT count(*) FILTER (WHERE is_won), count(*)
           FROM deals WHERE is_closed AND close_date > ?::DATE - INTERVAL 12 MONTH AND close_date <= ?""",
        [as_of, as_of],
    )
    return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)


def active_model(con: duckdb.DuckDBPyConnection) -> tuple[int | None, int]:
    """(model_version, scored accounts) of the active model's scores; (None, 0) when there are none.

    No scope: a version number and a count of the whole store, no account or rep."""
    row = _first(
        con,
        """SELECT m.model_version, (SELECT count(*) FROM scores s WHERE s.model_version = m.model_version)
           FROM models m WHERE m.active ORDER BY m.model_version DESC LIMIT 1""",
    )
    if row is None or not row[1]:
        return None, 0
    return int(row[0]), int(row[1])


# The one expected value in SQL: the active model's propensity for scored accounts, else the fallback
# rate the domain passes in (NULL when there is none), times the account's potential.
_PROPENSITY = "coalesce(sc.propensity, ?::DOUBLE)"


def account_values(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    rep_id: str | None,
    account_ids: Sequence[str] | None,
    model_version: int | None,
    fallback_propensity: float | None,
) -> pd.DataFrame:
    """account_id, scored, propensity, potential, expected_value of the accounts in view (all of them,
    or those in `account_ids`), by account_id."""
    where, params = view(scope, rep_id, "a.owner_rep_id")
    ids = None if account_ids is None else [str(a) for a in account_ids]
    return query_df(
        con,
        f"""SELECT a.account_id, sc.propensity IS NOT NULL AS scored, {_PROPENSITY} AS propensity,
                   coalesce(p.potential, 0) AS potential, {_PROPENSITY} * coalesce(p.potential, 0) AS expected_value
            FROM accounts a
            LEFT JOIN account_potential p ON p.account_id = a.account_id
            LEFT JOIN (SELECT account_id, propensity FROM scores WHERE model_version = ?) sc
                   ON sc.account_id = a.account_id
            WHERE {where} AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], a.account_id))
            ORDER BY a.account_id""",
        [fallback_propensity, fallback_propensity, model_version, *params, ids, ids],
    )


def filter_predicate(
    industries: Sequence[str] = (),
    states: Sequence[str] = (),
    employee_ranges: Sequence[tuple[float, float | None]] = (),
    rep_id: str | None = None,
    alias: str = "",
) -> tuple[str, list[object]]:
    """SQL predicate (and params) for the page filters; empty lists mean 'all'."""
    p = f"{alias}." if alias else ""
    parts: list[str] = []
    params: list[object] = []
    if industries:
        parts.append(f"{p}industry IN ({', '.join('?' * len(industries))})")
        params += list(industries)
    if states:
        parts.append(f"{p}state IN ({', '.join('?' * len(states))})")
        params += list(states)
    if employee_ranges:
        ors = []
        for low, high in employee_ranges:
            if high is None:
                ors.append(f"coalesce({p}employees, 0) >= ?")
                params.append(low)
            else:
                ors.append(f"(coalesce({p}employees, 0) >= ? AND coalesce({p}employees, 0) < ?)")
                params += [low, high]
        parts.append("(" + " OR ".join(ors) + ")")
    if rep_id is not None:
        parts.append(f"{p}owner_rep_id = ?")
        params.append(rep_id)
    return (" AND ".join(parts) or "TRUE"), params


class StatusCodes(NamedTuple):
    """The coverage status codes the domain uses, by meaning (passed in, bound as parameters)."""

    covered: str
    unowned: str
    out_of_reach: str
    over_capacity: str


def facts_potential_quantile(con: duckdb.DuckDBPyConnection, facts: str, q: float, *, scope: Scope) -> float:
    """The q-quantile of potential over a facts table (0 when empty): over every account in scope when given
    the facts of every account in scope (store.facts.scope_table); rows outside the caller's scope left out."""
    where, params = scope.owner_filter("owner_rep_id")
    value = _first(con, f"SELECT quantile_cont(potential, ?) FROM {facts} WHERE {where}", [q, *params])
    return float(value[0]) if value and value[0] is not None else 0.0


def book_potential_quantile(con: duckdb.DuckDBPyConnection, q: float, *, scope: Scope) -> float:
    """The q-quantile of potential over every account in scope (0 when empty), straight from the accounts: the same
    figure as facts_potential_quantile over the facts of every account in scope, without building those facts."""
    where, params = scope.owner_filter("a.owner_rep_id")
    value = _first(
        con,
        f"""SELECT quantile_cont(coalesce(p.potential, 0), ?) FROM accounts a
            JOIN account_potential p ON p.account_id = a.account_id WHERE {where}""",
        [q, *params],
    )
    return float(value[0]) if value and value[0] is not None else 0.0


def active_rep_homes(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """rep_id, name, home_lat, home_lon of every active, named rep in scope with a home location, by name (the
    territory table's reps with a home, without its per-account aggregates)."""
    where, params = scope.owner_filter("rep_id")
    return query_df(
        con,
        f"""SELECT rep_id, name, home_lat, home_lon FROM reps
            WHERE active AND name IS NOT NULL AND home_lat IS NOT NULL AND home_lon IS NOT NULL AND {where}
            ORDER BY name, rep_id""",
        params,
    )


def facts_book_hours(con: duckdb.DuckDBPyConnection, facts: str, *, scope: Scope) -> pd.DataFrame:
    """rep_id, book_hours: each active owner's workload over the accounts of a facts table (their whole book
    when given the facts of every account in scope); rows outside the caller's scope left out."""
    where, params = scope.owner_filter("owner_rep_id")
    return query_df(
        con,
        f"""SELECT owner_rep_id AS rep_id, sum(hours) AS book_hours FROM {facts}
            WHERE owner_active AND {where} GROUP BY owner_rep_id""",
        params,
    )


def facts_by_territory(
    con: duckdb.DuckDBPyConnection, facts: str, *, scope: Scope, statuses: StatusCodes
) -> pd.DataFrame:
    """Per-territory metrics from a facts table; every active rep in scope gets a row, plus one for
    accounts without an active owner (rep_id of an inactive rep, or NULL). Rows of the facts table
    outside the caller's scope are left out, whoever built it."""
    rwhere, rparams = scope.owner_filter("rep_id")
    fwhere, fparams = scope.owner_filter("owner_rep_id")
    return query_df(
        con,
        f"""
        WITH t AS (
            SELECT owner_rep_id AS rep_id,
                   count(*) AS accounts,
                   count(*) FILTER (WHERE customer) AS customers,
                   sum(potential) AS potential,
                   sum(expected_value) AS expected_value,
                   sum(open_pipeline) AS open_pipeline,
                   sum(open_deals) AS open_deals,
                   sum(won_12m) AS won_12m,
                   sum(hours) AS workload_hours,
                   avg(dist_km) AS mean_km,
                   max(dist_km) AS max_km,
                   sum(potential) FILTER (WHERE status = ?) AS covered_potential,
                   count(*) FILTER (WHERE status = ?) AS out_of_reach,
                   count(*) FILTER (WHERE status = ?) AS over_capacity,
                   count(*) FILTER (WHERE lat IS NULL OR lon IS NULL) AS unlocated
            FROM {facts} WHERE {fwhere} GROUP BY owner_rep_id
        )
        SELECT coalesce(r.rep_id, t.rep_id) AS rep_id, r.name, r.email, r.quota, r.home_city, r.home_state,
               r.home_lat, r.home_lon, coalesce(r.home_inferred, false) AS home_inferred, r.capacity_hours,
               coalesce(t.accounts, 0) AS accounts, coalesce(t.customers, 0) AS customers,
               coalesce(t.accounts, 0) - coalesce(t.customers, 0) AS prospects,
               coalesce(t.potential, 0) AS potential, t.expected_value,
               coalesce(t.open_pipeline, 0) AS open_pipeline, coalesce(t.open_deals, 0) AS open_deals,
               coalesce(t.won_12m, 0) AS won_12m, coalesce(t.workload_hours, 0) AS workload_hours,
               t.mean_km, t.max_km, coalesce(t.covered_potential, 0) AS covered_potential,
               coalesce(t.out_of_reach, 0) AS out_of_reach, coalesce(t.over_capacity, 0) AS over_capacity,
               coalesce(t.unlocated, 0) AS unlocated
        FROM (SELECT * FROM reps WHERE active AND {rwhere}) r
        FULL OUTER JOIN t ON t.rep_id = r.rep_id
        ORDER BY r.name NULLS LAST, t.rep_id NULLS LAST
        """,
        [statuses.covered, statuses.out_of_reach, statuses.over_capacity, *fparams, *rparams],
    )


def _owner_in_view(scope: Scope, rep_id: str | None) -> str | None:
    """The one owner whose rows of a facts table the caller may read: the territory in view, else the rep
    asking (None: every owner). A facts table is narrowed again here, whoever built it."""
    require_view(scope, rep_id)
    return rep_id if rep_id is not None else scope.rep_id if scope.is_rep else None


def facts_by_status(
    con: duckdb.DuckDBPyConnection, facts: str, high_potential: float, rep_id: str | None = None, *, scope: Scope
) -> pd.DataFrame:
    """status, accounts, potential, high_accounts, high_potential (accounts at or above the threshold);
    one owner's accounts only when rep_id is given (a rep: only their own)."""
    rep_id = _owner_in_view(scope, rep_id)
    return query_df(
        con,
        f"""SELECT status, count(*) AS accounts, coalesce(sum(potential), 0) AS potential,
                   count(*) FILTER (WHERE potential >= ?) AS high_accounts,
                   coalesce(sum(potential) FILTER (WHERE potential >= ?), 0) AS high_potential
            FROM {facts} WHERE (?::VARCHAR IS NULL OR owner_rep_id = ?)
            GROUP BY status ORDER BY status""",
        [high_potential, high_potential, rep_id, rep_id],
    )


def facts_white_space(
    con: duckdb.DuckDBPyConnection,
    facts: str,
    high_potential: float,
    limit: int,
    rep_id: str | None = None,
    *,
    statuses: StatusCodes,
    scope: Scope,
) -> pd.DataFrame:
    """The largest uncovered accounts at or above the potential threshold (of one owner if rep_id; a rep:
    only their own)."""
    rep_id = _owner_in_view(scope, rep_id)
    return query_df(
        con,
        f"""WITH top AS (
                SELECT rid, lat, lon, owner_rep_id, status, potential, propensity, expected_value, open_pipeline,
                       dist_km, hours
                FROM {facts}
                WHERE status <> ? AND potential >= ? AND (?::VARCHAR IS NULL OR owner_rep_id = ?)
                ORDER BY potential DESC, rid LIMIT ?
            )
            SELECT a.account_id, a.name, a.industry, a.city, a.state, f.lat, f.lon, a.employees, f.owner_rep_id,
                   r.name AS owner_name, f.status, f.potential, f.propensity, f.expected_value, f.open_pipeline,
                   f.dist_km, f.hours
            FROM top f JOIN accounts a ON a.rowid = f.rid LEFT JOIN reps r ON r.rep_id = f.owner_rep_id
            ORDER BY f.potential DESC, a.account_id""",
        [statuses.covered, high_potential, rep_id, rep_id, limit],
    )


def facts_sample(
    con: duckdb.DuckDBPyConnection, facts: str, limit: int, rep_id: str | None = None, *, scope: Scope
) -> tuple[pd.DataFrame, int]:
    """A deterministic sample (by hashed account id) of located accounts for a point layer, and how many
    located accounts there are in all (one owner's if rep_id; a rep: only their own)."""
    rep_id = _owner_in_view(scope, rep_id)
    where = "lat IS NOT NULL AND lon IS NOT NULL AND (?::VARCHAR IS NULL OR owner_rep_id = ?)"
    total = query_df(con, f"SELECT count(*) AS n FROM {facts} WHERE {where}", [rep_id, rep_id])["n"].iloc[0]
    df = query_df(
        con,
        f"""WITH pick AS (SELECT rid, lat, lon, owner_rep_id, status, potential, expected_value, open_pipeline,
                                 dist_km, hours, customer
                          FROM {facts} WHERE {where} ORDER BY hash(rid), rid LIMIT ?)
            SELECT a.account_id, a.name, a.industry, a.city, a.state, f.lat, f.lon, f.owner_rep_id,
                   r.name AS owner_name, f.status, f.potential, f.expected_value, f.open_pipeline, f.dist_km,
                   f.hours, f.customer
            FROM pick f JOIN accounts a ON a.rowid = f.rid LEFT JOIN reps r ON r.rep_id = f.owner_rep_id
            ORDER BY a.account_id""",
        [rep_id, rep_id, limit],
    )
    return df, int(total)


def account_locations(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> dict[str, Any]:
    """rowid, lat and lon of every account in scope as numpy arrays (three numeric columns, for H3 indexing)."""
    where, params = scope.owner_filter("owner_rep_id")
    return con.execute(f"SELECT rowid AS rid, lat, lon FROM accounts WHERE {where}", params).fetchnumpy()


def store_version(con: duckdb.DuckDBPyConnection) -> str:
    """A token that changes with every write of data (the data version, store/versions.py; a sign-out's does not),
    plus the account count for foreign writers.

    No scope: a cache key (a number and a count), the same for every caller."""
    # fetchall, not fetchone: an unfinished result would block con.register() right after (DuckDB 2)
    rows = con.execute(
        "SELECT (SELECT max_by(value, key = 'data_version') FROM meta WHERE key IN ('data_version', 'write_id')), "
        "(SELECT count(*) FROM accounts)"
    ).fetchall()
    return f"{rows[0][0]}-{rows[0][1]}"


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> Iterator[str]:
    """Expose a DataFrame to SQL under a fresh name for the duration of the block."""
    name = f"_df_{uuid.uuid4().hex[:12]}"
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)


def facts_hexagons(
    con: duckdb.DuckDBPyConnection,
    facts: str,
    cells: str,
    parent_mask: tuple[int, int],
    high_potential: float,
    rep_id: str | None = None,
    *,
    statuses: StatusCodes,
    scope: Scope,
) -> pd.DataFrame:
    """Per coarser H3 cell: accounts, potential, expected value, covered and white-space figures and the
    active rep holding the most accounts there. `cells` is a registered frame (rid, cell) at a finer
    resolution; `parent_mask` (keep, bits) turns a cell id into its parent's (cell & keep | bits);
    rep_id keeps one owner's accounts (a rep: only their own)."""
    rep_id = _owner_in_view(scope, rep_id)
    keep, bits = parent_mask
    return query_df(
        con,
        f"""
        WITH c AS (
            -- only the columns used below: this CTE is read twice, so it is materialized
            SELECT (h.cell & $keep) | $bits AS cell, f.owner_rep_id, f.owner_active, f.customer, f.potential,
                   f.expected_value, f.status
            FROM {facts} f JOIN {cells} h ON h.rid = f.rid
            WHERE h.cell <> 0 AND ($rep::VARCHAR IS NULL OR f.owner_rep_id = $rep)
        ),
        o AS (
            SELECT cell, owner_rep_id, count(*) AS n FROM c WHERE owner_active GROUP BY cell, owner_rep_id
        ),
        -- a tie goes to the first rep id, so a hexagon's top rep (and the outlines) do not change between runs
        top AS (SELECT cell, first(owner_rep_id ORDER BY n DESC, owner_rep_id) AS top_rep_id, max(n) AS top_n
                FROM o GROUP BY cell)
        SELECT c.cell, count(*) AS accounts,
               count(*) FILTER (WHERE customer) AS customers,
               sum(potential) AS potential,
               sum(expected_value) AS expected_value,
               coalesce(sum(potential) FILTER (WHERE status = $covered), 0) AS covered_potential,
               count(*) FILTER (WHERE status <> $covered AND potential >= $high) AS white_space_accounts,
               coalesce(sum(potential) FILTER (WHERE status <> $covered AND potential >= $high), 0)
                   AS white_space_potential,
               count(*) FILTER (WHERE status = $unowned) AS unowned,
               count(*) FILTER (WHERE status = $out_of_reach) AS out_of_reach,
               count(*) FILTER (WHERE status = $over_capacity) AS over_capacity,
               any_value(top.top_rep_id) AS top_rep_id, any_value(top.top_n) AS top_n
        FROM c LEFT JOIN top ON top.cell = c.cell
        GROUP BY c.cell
        ORDER BY c.cell
        """,
        {
            "keep": keep,
            "bits": bits,
            "rep": rep_id,
            "high": high_potential,
            "covered": statuses.covered,
            "unowned": statuses.unowned,
            "out_of_reach": statuses.out_of_reach,
            "over_capacity": statuses.over_capacity,
        },
    )


def facts_in_cell(
    con: duckdb.DuckDBPyConnection,
    facts: str,
    cells: str,
    parent_mask: tuple[int, int],
    cell: int,
    limit: int,
    rep_id: str | None = None,
    *,
    scope: Scope,
) -> pd.DataFrame:
    """The largest accounts (by potential) inside one coarser H3 cell (see facts_hexagons' parent_mask); of
    one owner if rep_id (a rep: only their own)."""
    rep_id = _owner_in_view(scope, rep_id)
    keep, bits = parent_mask
    return query_df(
        con,
        f"""WITH top AS (
                SELECT f.* FROM {facts} f JOIN {cells} h ON h.rid = f.rid
                WHERE h.cell <> 0 AND ((h.cell & ?) | ?) = ? AND (?::VARCHAR IS NULL OR f.owner_rep_id = ?)
                ORDER BY f.potential DESC, f.rid LIMIT ?
            )
            SELECT a.account_id, a.name, a.industry, a.city, a.state, r.name AS owner_name, f.status, f.potential,
                   f.expected_value, f.open_pipeline, f.dist_km
            FROM top f JOIN accounts a ON a.rowid = f.rid LEFT JOIN reps r ON r.rep_id = f.owner_rep_id
            ORDER BY f.potential DESC, a.account_id""",
        [keep, bits, cell, rep_id, rep_id, limit],
    )


def account_detail(con: duckdb.DuckDBPyConnection, *, scope: Scope, account_id: str) -> pd.DataFrame:
    """One account (in scope) with owner and potential; empty when not found or not visible."""
    where, params = scope.owner_filter("a.owner_rep_id")
    return query_df(
        con,
        f"""SELECT a.account_id, a.name, a.industry, a.employees, a.annual_revenue, a.city, a.state,
                   a.postal_code, a.lat, a.lon, a.account_type, a.owner_rep_id, r.name AS owner_name,
                   p.potential, p.est_users
            FROM accounts a LEFT JOIN reps r ON r.rep_id = a.owner_rep_id
            JOIN account_potential p ON p.account_id = a.account_id
            WHERE a.account_id = ? AND {where}""",
        [account_id, *params],
    )


def account_deals(con: duckdb.DuckDBPyConnection, *, scope: Scope, account_id: str) -> pd.DataFrame:
    """An account's deals, newest first."""
    where, params = scope.owner_filter("a.owner_rep_id")
    return query_df(
        con,
        f"""SELECT d.deal_id, d.name, d.stage, d.amount, d.created_date, d.close_date
            FROM deals d JOIN accounts a ON a.account_id = d.account_id
            WHERE d.account_id = ? AND {where}
            ORDER BY d.created_date DESC""",
        [account_id, *params],
    )


def filter_options(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> dict[str, list[str]]:
    """Distinct industries and states among the accounts in scope (for the filter widgets)."""
    where, params = scope.owner_filter("a.owner_rep_id")
    ind = query_df(
        con, f"SELECT DISTINCT industry FROM accounts a WHERE industry IS NOT NULL AND {where} ORDER BY 1", params
    )
    st = query_df(con, f"SELECT DISTINCT state FROM accounts a WHERE state IS NOT NULL AND {where} ORDER BY 1", params)
    return {"industries": ind["industry"].tolist(), "states": st["state"].tolist()}
