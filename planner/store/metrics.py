"""Queries behind territory metrics: per-rep aggregates and store-wide KPIs."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from planner.scope import EVERYONE, Scope
from planner.store.core import query_df, query_one


def territory_totals(con: duckdb.DuckDBPyConnection, as_of: date, scope: Scope = EVERYONE) -> pd.DataFrame:
    """One row per active rep (and one for unassigned accounts, rep_id NULL): counts and money."""
    where, params = scope.owner_filter("a.owner_rep_id")
    return query_df(
        con,
        f"""
        WITH d AS (
            SELECT account_id,
                   sum(CASE WHEN NOT is_closed THEN amount ELSE 0 END) AS open_pipeline,
                   count(*) FILTER (WHERE NOT is_closed) AS open_deals,
                   sum(CASE WHEN is_won AND close_date > ?::DATE - INTERVAL 12 MONTH
                            AND close_date <= ?::DATE THEN amount ELSE 0 END) AS won_12m
            FROM deals GROUP BY account_id
        ),
        t AS (
            SELECT a.owner_rep_id AS rep_id,
                   count(*) AS accounts,
                   count(*) FILTER (WHERE a.account_type = 'Customer') AS customers,
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


def store_kpis(con: duckdb.DuckDBPyConnection, as_of: date, scope: Scope = EVERYONE) -> dict[str, float]:
    """Accounts, customers, reps, open pipeline and the 12-month win rate, in the caller's scope."""
    where, params = scope.owner_filter("a.owner_rep_id")
    row = query_one(
        con,
        f"""
        SELECT count(*) AS accounts,
               count(*) FILTER (WHERE a.account_type = 'Customer') AS customers,
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
    rwhere, rparams = scope.owner_filter("rep_id")
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
