"""Queries behind a rep's territory plan: plans, plan_targets, plan_steps, offers and partners.

`current_plan_id(con, rep_id, create=True)` is the contract other pages use to add targets to a
rep's plan: the rep's current plan is the one with the latest period_start whose period has not
ended on the store's as-of date (ties: the highest plan_id). With create=True and no such plan, a
plans row is inserted (period starting the Monday on or after the as-of date, 6 weeks, default
settings) on the write connection given; with create=False the answer is then None.
Rows added to plan_targets by others need only (plan_id, account_id, position, rationale, status);
offer_id, needs and start_week may stay NULL: the planner suggests them.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from planner.store.core import query_df, query_one, scalar
from planner.store.schema import now
from planner.store.world import as_of_date

DEFAULT_WEEKS = 6

_TARGET_COLS = ["account_id", "position", "rationale", "offer_id", "needs", "status", "start_week"]
_STEP_COLS = ["account_id", "step_no", "step_date", "channel", "action", "is_decision", "hours"]


def as_of(con: duckdb.DuckDBPyConnection) -> date:
    """The store's one as-of date (planner.store.world.as_of_date)."""
    return as_of_date(con)


def next_monday(day: date) -> date:
    """The Monday on or after `day`."""
    return day + timedelta(days=(7 - day.weekday()) % 7)


# ---- reps ---------------------------------------------------------------------------------------


def rep_row(con: duckdb.DuckDBPyConnection, rep_id: str) -> dict[str, Any] | None:
    """One rep's name, email, quota and yearly capacity, or None."""
    row = query_one(
        con, "SELECT rep_id, name, email, quota, capacity_hours, home_state FROM reps WHERE rep_id = ?", [rep_id]
    )
    if row is None:
        return None
    keys = ["rep_id", "name", "email", "quota", "capacity_hours", "home_state"]
    return dict(zip(keys, row, strict=True))


def rep_place(con: duckdb.DuckDBPyConnection, rep_id: str) -> dict[str, str | None]:
    """Where a rep works, for their public holidays: the most common country code of their accounts
    (when the store keeps one), their home state, and the most common state of their accounts."""
    has_country = scalar(
        con,
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'accounts' AND column_name = 'country_code'",
    )
    country = (
        scalar(
            con,
            """SELECT country_code FROM accounts WHERE owner_rep_id = ? AND nullif(trim(country_code), '') IS NOT NULL
               GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""",
            [rep_id],
        )
        if has_country
        else None
    )
    home = scalar(con, "SELECT nullif(trim(home_state), '') FROM reps WHERE rep_id = ?", [rep_id])
    state = scalar(
        con,
        """SELECT state FROM accounts WHERE owner_rep_id = ? AND nullif(trim(state), '') IS NOT NULL
           GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""",
        [rep_id],
    )
    return {"country": country, "home_state": home, "accounts_state": state}


def team_quota(con: duckdb.DuckDBPyConnection) -> float:
    """The company target: the sum of all active reps' quotas."""
    return float(scalar(con, "SELECT coalesce(sum(quota), 0) FROM reps WHERE active") or 0.0)


# ---- ranking fallback ---------------------------------------------------------------------------


def heuristic_ranking(con: duckdb.DuckDBPyConnection, rep_id: str, as_of_day: date) -> pd.DataFrame:
    """A transparent ranking of one rep's accounts when no propensity model has scored them.

    propensity = 0.05 + 0.30 x intent/100 + 0.15 if a new executive + 0.5 x growth (0..0.4)
    + 0.20 x the 24-month win rate of similar accounts (same industry and state, at least one closed
    deal) + 0.10 with an open deal, capped at 0.9. Same columns as scores.active_scores.
    """
    return query_df(
        con,
        """
        WITH closed AS (
            SELECT a.industry, a.state, d.account_id, d.is_won
            FROM deals d JOIN accounts a USING (account_id)
            WHERE d.is_closed AND d.close_date > ?::DATE - INTERVAL 24 MONTH AND d.close_date <= ?::DATE
        ),
        cell AS (
            SELECT industry, state, count(*) AS closed_n, count(*) FILTER (WHERE is_won) AS won_n,
                   count(DISTINCT account_id) FILTER (WHERE is_won) AS won_accounts
            FROM closed GROUP BY industry, state
        ),
        own AS (
            SELECT account_id, count(*) FILTER (WHERE is_won) AS own_won, count(*) AS own_closed
            FROM closed GROUP BY account_id
        ),
        open_d AS (
            SELECT account_id, count(*) AS open_deals FROM deals WHERE NOT is_closed GROUP BY account_id
        ),
        base AS (
            SELECT a.account_id, a.name, a.industry, a.employees, a.state, a.city, a.owner_rep_id,
                   coalesce(a.intent_score, 0) AS intent_score, coalesce(a.new_executive, FALSE) AS new_executive,
                   coalesce(a.employee_growth, 0) AS employee_growth,
                   p.potential, p.est_users, p.price_per_user,
                   coalesce(o.open_deals, 0) AS open_deals,
                   greatest(coalesce(c.won_accounts, 0) - CASE WHEN coalesce(w.own_won, 0) > 0 THEN 1 ELSE 0 END, 0)
                       AS similar_won,
                   CASE WHEN coalesce(c.closed_n, 0) - coalesce(w.own_closed, 0) > 0
                        THEN (coalesce(c.won_n, 0) - coalesce(w.own_won, 0))::DOUBLE
                             / (c.closed_n - coalesce(w.own_closed, 0))
                        ELSE 0 END AS similar_win_rate
            FROM accounts a
            JOIN account_potential p USING (account_id)
            LEFT JOIN cell c ON c.industry = a.industry AND c.state = a.state
            LEFT JOIN own w USING (account_id)
            LEFT JOIN open_d o USING (account_id)
            WHERE a.owner_rep_id = ?
        )
        SELECT *,
               least(0.9, 0.05 + 0.30 * intent_score / 100
                          + CASE WHEN new_executive THEN 0.15 ELSE 0 END
                          + 0.5 * least(greatest(employee_growth, 0), 0.4)
                          + 0.20 * similar_win_rate
                          + CASE WHEN open_deals > 0 THEN 0.10 ELSE 0 END) AS propensity
        FROM base
        """,
        [as_of_day, as_of_day, rep_id],
    )


def plan_row(con: duckdb.DuckDBPyConnection, plan_id: int) -> dict[str, Any] | None:
    """One plan's rep, period, weeks and settings (parsed JSON)."""
    row = query_one(
        con,
        "SELECT plan_id, rep_id, period_start, period_end, weeks, settings, created_at, updated_at "
        "FROM plans WHERE plan_id = ?",
        [plan_id],
    )
    if row is None:
        return None
    keys = ["plan_id", "rep_id", "period_start", "period_end", "weeks", "settings", "created_at", "updated_at"]
    out = dict(zip(keys, row, strict=True))
    out["settings"] = json.loads(out["settings"] or "{}")
    return out


def plan_id_for(con: duckdb.DuckDBPyConnection, rep_id: str, period_start: date) -> int | None:
    """The rep's plan starting on `period_start` (the latest if several), or None."""
    value = scalar(
        con,
        "SELECT max(plan_id) FROM plans WHERE rep_id = ? AND period_start = ?",
        [rep_id, period_start],
    )
    return None if value is None else int(value)


def rep_plans(con: duckdb.DuckDBPyConnection, rep_id: str) -> pd.DataFrame:
    """Every saved plan of one rep, newest period first, with its number of targets."""
    return query_df(
        con,
        """SELECT p.plan_id, p.period_start, p.period_end, p.weeks, p.updated_at,
                  (SELECT count(*) FROM plan_targets t WHERE t.plan_id = p.plan_id) AS targets
           FROM plans p WHERE p.rep_id = ? ORDER BY p.period_start DESC, p.plan_id DESC""",
        [rep_id],
    )


def current_plan_id(
    con: duckdb.DuckDBPyConnection,
    rep_id: str,
    create: bool = True,
    *,
    today: date | None = None,
    new_start: date | None = None,
) -> int | None:
    """The rep's current plan (latest start whose period has not ended by `today`, default the
    store's as-of date); see the module docstring. A new plan starts on `new_start` (the domain's
    next working day), else the Monday on or after `today`."""
    today = today or as_of(con)
    value = scalar(
        con,
        """SELECT plan_id FROM plans WHERE rep_id = ? AND (period_end IS NULL OR period_end >= ?)
           ORDER BY period_start DESC, plan_id DESC LIMIT 1""",
        [rep_id, today],
    )
    if value is not None:
        return int(value)
    if not create:
        return None
    return create_plan(con, rep_id, new_start or next_monday(today), DEFAULT_WEEKS, {})


def create_plan(
    con: duckdb.DuckDBPyConnection,
    rep_id: str,
    period_start: date,
    weeks: int,
    settings: dict[str, Any],
    period_end: date | None = None,
) -> int:
    """Insert a plans row and return its id (write connection)."""
    plan_id = int(scalar(con, "SELECT nextval('plan_id_seq')"))
    end = period_end or period_start + timedelta(weeks=weeks) - timedelta(days=1)
    stamp = now()
    con.execute(
        "INSERT INTO plans VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [plan_id, rep_id, period_start, end, weeks, json.dumps(settings, sort_keys=True), stamp, stamp],
    )
    return plan_id


def update_plan(
    con: duckdb.DuckDBPyConnection, plan_id: int, period_end: date, weeks: int, settings: dict[str, Any]
) -> None:
    """Store a plan's period end, weeks and settings (write connection)."""
    con.execute(
        "UPDATE plans SET period_end = ?, weeks = ?, settings = ?, updated_at = ? WHERE plan_id = ?",
        [period_end, weeks, json.dumps(settings, sort_keys=True), now(), plan_id],
    )


def plan_targets(con: duckdb.DuckDBPyConnection, plan_id: int) -> pd.DataFrame:
    """A plan's stored targets in their order."""
    return query_df(
        con,
        f"SELECT {', '.join(_TARGET_COLS)} FROM plan_targets WHERE plan_id = ? ORDER BY position, account_id",
        [plan_id],
    )


def replace_targets(con: duckdb.DuckDBPyConnection, plan_id: int, targets: pd.DataFrame) -> None:
    """Replace a plan's targets (columns as plan_targets, needs as JSON text)."""
    con.execute("DELETE FROM plan_targets WHERE plan_id = ?", [plan_id])
    if len(targets):
        frame = targets[_TARGET_COLS].copy()
        frame.insert(0, "plan_id", plan_id)
        con.register("_plan_targets", frame)
        try:
            con.execute("INSERT INTO plan_targets BY NAME SELECT * FROM _plan_targets")
        finally:
            con.unregister("_plan_targets")


def replace_steps(con: duckdb.DuckDBPyConnection, plan_id: int, steps: pd.DataFrame) -> None:
    """Replace a plan's dated steps."""
    con.execute("DELETE FROM plan_steps WHERE plan_id = ?", [plan_id])
    if len(steps):
        frame = steps[_STEP_COLS].copy()
        frame.insert(0, "plan_id", plan_id)
        con.register("_plan_steps", frame)
        try:
            con.execute("INSERT INTO plan_steps BY NAME SELECT * FROM _plan_steps")
        finally:
            con.unregister("_plan_steps")


def plan_steps(con: duckdb.DuckDBPyConnection, plan_id: int) -> pd.DataFrame:
    """A plan's stored steps by date."""
    return query_df(
        con,
        f"SELECT {', '.join(_STEP_COLS)} FROM plan_steps WHERE plan_id = ? ORDER BY step_date, account_id, step_no",
        [plan_id],
    )


# ---- what happened -----------------------------------------------------------------------------


def last_activity(con: duckdb.DuckDBPyConnection, account_ids: list[str], before: date) -> pd.DataFrame:
    """Each account's latest activity before a date (for 'cold' accounts that need a warm-up)."""
    return query_df(
        con,
        """SELECT account_id, max(activity_date) AS last_activity
           FROM activities WHERE list_contains(?, account_id) AND activity_date < ? GROUP BY account_id""",
        [account_ids, before],
    )


def activities_between(con: duckdb.DuckDBPyConnection, account_ids: list[str], start: date, end: date) -> pd.DataFrame:
    """Activities on the given accounts from start to end (inclusive), any rep."""
    return query_df(
        con,
        """SELECT account_id, rep_id, kind, activity_date, subject, outcome
           FROM activities
           WHERE list_contains(?, account_id) AND activity_date >= ? AND activity_date <= ?
           ORDER BY activity_date""",
        [account_ids, start, end],
    )


def deals_created_between(
    con: duckdb.DuckDBPyConnection, account_ids: list[str], start: date, end: date
) -> pd.DataFrame:
    """Deals (opportunities) created on the given accounts from start to end (inclusive)."""
    return query_df(
        con,
        """SELECT account_id, deal_id, name, stage, amount, created_date, is_closed, is_won
           FROM deals
           WHERE list_contains(?, account_id) AND created_date >= ? AND created_date <= ?
           ORDER BY created_date""",
        [account_ids, start, end],
    )


# ---- offers and partners ------------------------------------------------------------------------


def offers(con: duckdb.DuckDBPyConnection, active_only: bool = False) -> pd.DataFrame:
    """The offer catalogue."""
    where = "WHERE active" if active_only else ""
    return query_df(
        con,
        f"SELECT offer_id, name, kind, industry, description, valid_until, active FROM offers {where} "
        "ORDER BY offer_id",
    )


def replace_offers(con: duckdb.DuckDBPyConnection, catalogue: pd.DataFrame) -> None:
    """Replace the whole offer catalogue (write connection)."""
    con.execute("DELETE FROM offers")
    if len(catalogue):
        con.register(
            "_offers", catalogue[["offer_id", "name", "kind", "industry", "description", "valid_until", "active"]]
        )
        try:
            con.execute("INSERT INTO offers BY NAME SELECT * FROM _offers")
        finally:
            con.unregister("_offers")


def partners(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Partners with the industries and states they cover (JSON lists as text)."""
    return query_df(con, "SELECT partner_id, name, industries, states FROM partners ORDER BY partner_id")


def replace_partners(con: duckdb.DuckDBPyConnection, table: pd.DataFrame) -> None:
    """Replace the partner list (write connection; industries and states as JSON text)."""
    con.execute("DELETE FROM partners")
    if len(table):
        con.register("_partners", table[["partner_id", "name", "industries", "states"]])
        try:
            con.execute("INSERT INTO partners BY NAME SELECT * FROM _partners")
        finally:
            con.unregister("_partners")


def count_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    if table not in ("offers", "partners", "plans"):
        raise ValueError(f"unknown table {table!r}")
    return int(scalar(con, f"SELECT count(*) FROM {table}") or 0)
