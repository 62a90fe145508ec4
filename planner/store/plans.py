"""Queries behind a rep's territory plan: plans, plan_targets, plan_steps, offers and partners.

Every reader and writer of territory data takes `scope=` (who is asking) and refuses or filters
what that asker may not see. `planner.plan.current_plan_id` (over `current_plan_id` here) is the
contract other pages use to add targets to a rep's plan: the rep's current plan is the one with the
latest period_start whose period has not ended by today (ties: the highest plan_id). With
create=True and no such plan, a plans row is inserted (starting on the rep's next working day, 6
weeks, default settings) on the write connection given; with create=False the answer is then None.
Rows added to plan_targets by others need only (plan_id, account_id, position, rationale, status);
offer_id, needs and start_week may stay NULL: the planner suggests them.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from planner.errors import Forbidden, NotFound
from planner.scope import Scope, require_leader, require_view, view
from planner.store.core import query_df, query_one, scalar
from planner.store.schema import next_id, now
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


def rep_row(con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str) -> dict[str, Any] | None:
    """One rep's name, email, quota, yearly capacity, home state and whether they are active, or None. The email
    is the reps table's, else the one a roles entry signs this rep in with (a team file without emails, roles set by
    an admin)."""
    require_view(scope, rep_id)
    row = query_one(
        con,
        """SELECT rep_id, name,
                  coalesce(nullif(trim(email), ''),
                           (SELECT min(o.email) FROM roles o WHERE o.role = 'rep' AND o.rep_id = reps.rep_id)),
                  quota, capacity_hours, home_state, coalesce(active, true)
           FROM reps WHERE rep_id = ?""",
        [rep_id],
    )
    if row is None:
        return None
    keys = ["rep_id", "name", "email", "quota", "capacity_hours", "home_state", "active"]
    return dict(zip(keys, row, strict=True))


def rep_place(con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str) -> dict[str, str | None]:
    """Where a rep works, for their public holidays: the most common country code (and country name)
    of their accounts, their home state and home coordinates, and the most common state of their accounts."""
    require_view(scope, rep_id)
    country = scalar(
        con,
        """SELECT country_code FROM accounts WHERE owner_rep_id = ? AND nullif(trim(country_code), '') IS NOT NULL
           GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""",
        [rep_id],
    )
    name = scalar(
        con,
        """SELECT country FROM accounts WHERE owner_rep_id = ? AND nullif(trim(country), '') IS NOT NULL
           GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""",
        [rep_id],
    )
    home = scalar(con, "SELECT nullif(trim(home_state), '') FROM reps WHERE rep_id = ?", [rep_id])
    at = con.execute(
        """SELECT home_lat, home_lon, coalesce(home_inferred, false), nullif(trim(home_city), '') FROM reps
           WHERE rep_id = ?""",
        [rep_id],
    ).fetchone() or (None, None, False, None)
    state = scalar(
        con,
        """SELECT state FROM accounts WHERE owner_rep_id = ? AND nullif(trim(state), '') IS NOT NULL
           GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""",
        [rep_id],
    )
    return {"country": country, "country_name": name, "home_state": home, "accounts_state": state,
            "home_lat": at[0], "home_lon": at[1], "home_inferred": bool(at[2]), "home_city": at[3]}  # fmt: skip


def account_states(con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str, country: str) -> pd.DataFrame:
    """The states of a rep's accounts in one country (ISO code) as written, where they are (rounded to about
    100 m) and how many accounts each place holds: state, lat, lon, n. A gazetteer of the rep's own data: which
    state a place lies in."""
    require_view(scope, rep_id)
    return query_df(
        con,
        """SELECT trim(state) AS state, round(lat, 3) AS lat, round(lon, 3) AS lon, count(*) AS n FROM accounts
           WHERE owner_rep_id = ? AND upper(trim(country_code)) = ? AND nullif(trim(state), '') IS NOT NULL
             AND lat IS NOT NULL AND lon IS NOT NULL AND coalesce(geo_precision, '') <> 'country'
           GROUP BY ALL ORDER BY ALL""",
        [rep_id, country.strip().upper()],
    )


def team_quota(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> float:
    """The company target, the sum of all active reps' quotas (leaders and admins only)."""
    require_leader(scope)
    return float(scalar(con, "SELECT coalesce(sum(quota), 0) FROM reps WHERE active") or 0.0)


# ---- the rep's book -----------------------------------------------------------------------------


def book_features(con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str, as_of_day: date) -> pd.DataFrame:
    """Every account of one territory with what the plan shows and suggests offers from: firmographics,
    potential (0 when unknown), intent, new executive, growth, open deals, similar accounts (same
    industry and state) won in the 24 months to the as-of date, and its last win (close date, NULL for none)."""
    where, params = view(scope, rep_id, "a.owner_rep_id")
    return query_df(
        con,
        f"""
        WITH won AS (
            SELECT a.industry, a.state, d.account_id
            FROM deals d JOIN accounts a USING (account_id)
            WHERE d.is_won AND d.close_date > ?::DATE - INTERVAL 24 MONTH AND d.close_date <= ?::DATE
        ),
        cell AS (SELECT industry, state, count(DISTINCT account_id) AS won_accounts FROM won GROUP BY 1, 2),
        open_d AS (
            SELECT account_id, count(*) AS open_deals FROM deals
            WHERE NOT coalesce(is_closed, FALSE) AND account_id IS NOT NULL GROUP BY account_id
        ),
        last_w AS (
            SELECT account_id, max(close_date) AS last_won FROM deals
            WHERE is_won AND close_date <= ?::DATE AND account_id IS NOT NULL GROUP BY account_id
        )
        SELECT a.account_id, a.name, a.industry, a.employees, a.state, a.city, a.owner_rep_id, a.country_code,
               coalesce(a.intent_score, 0) AS intent_score, coalesce(a.new_executive, FALSE) AS new_executive,
               coalesce(a.employee_growth, 0) AS employee_growth, coalesce(a.is_customer, FALSE) AS is_customer,
               coalesce(p.potential, 0) AS potential, coalesce(p.est_users, 0) AS est_users,
               coalesce(p.price_per_user, 0) AS price_per_user, coalesce(o.open_deals, 0) AS open_deals,
               greatest(coalesce(c.won_accounts, 0)
                        - CASE WHEN a.account_id IN (SELECT account_id FROM won) THEN 1 ELSE 0 END, 0) AS similar_won,
               lw.last_won
        FROM accounts a
        LEFT JOIN account_potential p USING (account_id)
        LEFT JOIN cell c ON c.industry = a.industry AND c.state = a.state
        LEFT JOIN open_d o USING (account_id)
        LEFT JOIN last_w lw USING (account_id)
        WHERE {where}
        ORDER BY a.account_id
        """,
        [as_of_day, as_of_day, as_of_day, *params],
    )


# ---- plans --------------------------------------------------------------------------------------


def plan_row(con: duckdb.DuckDBPyConnection, *, scope: Scope, plan_id: int) -> dict[str, Any] | None:
    """One plan's rep, period, weeks and settings (parsed JSON); None when there is no such plan,
    Forbidden when it is another rep's."""
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
    if not scope.allows_rep(out["rep_id"]):
        raise Forbidden(f"plan #{plan_id} is not a plan of {scope.rep_id}; {scope.user} may not see or change it")
    out["settings"] = json.loads(out["settings"] or "{}")
    return out


def plan_id_for(con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str, period_start: date) -> int | None:
    """The rep's plan starting on `period_start` (the latest if several), or None."""
    require_view(scope, rep_id)
    value = scalar(
        con,
        "SELECT max(plan_id) FROM plans WHERE rep_id = ? AND period_start = ?",
        [rep_id, period_start],
    )
    return None if value is None else int(value)


def rep_plans(con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str) -> pd.DataFrame:
    """Every saved plan of one rep, newest period first, with its number of targets."""
    require_view(scope, rep_id)
    return query_df(
        con,
        """SELECT p.plan_id, p.period_start, p.period_end, p.weeks, p.updated_at,
                  (SELECT count(*) FROM plan_targets t WHERE t.plan_id = p.plan_id) AS targets
           FROM plans p WHERE p.rep_id = ? ORDER BY p.period_start DESC, p.plan_id DESC""",
        [rep_id],
    )


def current_plan_id(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    rep_id: str,
    create: bool = True,
    today: date | None = None,
    new_start: date | None = None,
) -> int | None:
    """The rep's current plan (latest start whose period has not ended by `today`, default the
    store's as-of date); see the module docstring. A new plan starts on `new_start` (the domain's
    next working day), else the Monday on or after `today`."""
    require_view(scope, rep_id)
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
    return create_plan(
        con, scope=scope, rep_id=rep_id, period_start=new_start or next_monday(today), weeks=DEFAULT_WEEKS, settings={}
    )


def create_plan(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    rep_id: str,
    period_start: date,
    weeks: int,
    settings: dict[str, Any],
    period_end: date | None = None,
) -> int:
    """Insert a plans row and return its id (write connection)."""
    require_view(scope, rep_id)
    plan_id = next_id(con, "plan_id")
    end = period_end or period_start + timedelta(weeks=weeks) - timedelta(days=1)
    stamp = now()
    con.execute(
        "INSERT INTO plans VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [plan_id, rep_id, period_start, end, weeks, json.dumps(settings, sort_keys=True), stamp, stamp],
    )
    return plan_id


def _require_plan(con: duckdb.DuckDBPyConnection, scope: Scope, plan_id: int) -> None:
    if plan_row(con, scope=scope, plan_id=plan_id) is None:
        raise NotFound(f"no plan #{plan_id}; reload the page")


def update_plan(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    plan_id: int,
    period_end: date,
    weeks: int,
    settings: dict[str, Any],
) -> None:
    """Store a plan's period end, weeks and settings (write connection)."""
    _require_plan(con, scope, plan_id)
    con.execute(
        "UPDATE plans SET period_end = ?, weeks = ?, settings = ?, updated_at = ? WHERE plan_id = ?",
        [period_end, weeks, json.dumps(settings, sort_keys=True), now(), plan_id],
    )


def plan_targets(con: duckdb.DuckDBPyConnection, *, scope: Scope, plan_id: int) -> pd.DataFrame:
    """A plan's stored targets in their order."""
    _require_plan(con, scope, plan_id)
    return query_df(
        con,
        f"SELECT {', '.join(_TARGET_COLS)} FROM plan_targets WHERE plan_id = ? ORDER BY position, account_id",
        [plan_id],
    )


def replace_targets(con: duckdb.DuckDBPyConnection, *, scope: Scope, plan_id: int, targets: pd.DataFrame) -> None:
    """Replace a plan's targets (columns as plan_targets, needs as JSON text); a rep's plan takes only
    accounts the rep owns today."""
    _require_plan(con, scope, plan_id)
    if scope.is_rep and len(targets):
        ids = sorted({str(a) for a in targets["account_id"]})
        where, params = view(scope, None, "owner_rep_id")
        mine = query_df(
            con, f"SELECT account_id FROM accounts WHERE list_contains(?, account_id) AND {where}", [ids, *params]
        )
        foreign = sorted(set(ids) - set(mine["account_id"]))
        if foreign:
            raise Forbidden(
                f"{len(foreign)} target(s) are not in the territory of {scope.rep_id} ({', '.join(foreign[:3])}); "
                "reload the plan and save again"
            )
    con.execute("DELETE FROM plan_targets WHERE plan_id = ?", [plan_id])
    if len(targets):
        frame = targets[_TARGET_COLS].copy()
        frame.insert(0, "plan_id", plan_id)
        con.register("_plan_targets", frame)
        try:
            con.execute("INSERT INTO plan_targets BY NAME SELECT * FROM _plan_targets")
        finally:
            con.unregister("_plan_targets")


def replace_steps(con: duckdb.DuckDBPyConnection, *, scope: Scope, plan_id: int, steps: pd.DataFrame) -> None:
    """Replace a plan's dated steps."""
    _require_plan(con, scope, plan_id)
    con.execute("DELETE FROM plan_steps WHERE plan_id = ?", [plan_id])
    if len(steps):
        frame = steps[_STEP_COLS].copy()
        frame.insert(0, "plan_id", plan_id)
        con.register("_plan_steps", frame)
        try:
            con.execute("INSERT INTO plan_steps BY NAME SELECT * FROM _plan_steps")
        finally:
            con.unregister("_plan_steps")


def plan_steps(con: duckdb.DuckDBPyConnection, *, scope: Scope, plan_id: int) -> pd.DataFrame:
    """A plan's stored steps by date."""
    _require_plan(con, scope, plan_id)
    return query_df(
        con,
        f"SELECT {', '.join(_STEP_COLS)} FROM plan_steps WHERE plan_id = ? ORDER BY step_date, account_id, step_no",
        [plan_id],
    )


# ---- what happened -----------------------------------------------------------------------------


def last_activity(
    con: duckdb.DuckDBPyConnection, *, scope: Scope, account_ids: list[str], before: date
) -> pd.DataFrame:
    """Each account's latest activity before a date (for 'cold' accounts that need a warm-up); only
    accounts the asker may see."""
    where, params = view(scope, None, "a.owner_rep_id")
    return query_df(
        con,
        f"""SELECT t.account_id, max(t.activity_date) AS last_activity
            FROM activities t JOIN accounts a USING (account_id)
            WHERE list_contains(?, t.account_id) AND t.activity_date < ? AND {where} GROUP BY t.account_id""",
        [account_ids, before, *params],
    )


def activities_between(
    con: duckdb.DuckDBPyConnection, *, scope: Scope, account_ids: list[str], start: date, end: date
) -> pd.DataFrame:
    """Activities on the given accounts from start to end (inclusive), whoever logged them; only accounts
    the asker may see, and not who logged them (an earlier owner's id is another rep's data)."""
    where, params = view(scope, None, "a.owner_rep_id")
    return query_df(
        con,
        f"""SELECT t.account_id, t.kind, t.activity_date, t.subject, t.outcome
            FROM activities t JOIN accounts a USING (account_id)
            WHERE list_contains(?, t.account_id) AND t.activity_date >= ? AND t.activity_date <= ? AND {where}
            ORDER BY t.activity_date""",
        [account_ids, start, end, *params],
    )


def deals_created_between(
    con: duckdb.DuckDBPyConnection, *, scope: Scope, account_ids: list[str], start: date, end: date
) -> pd.DataFrame:
    """Deals (opportunities) created on the given accounts from start to end (inclusive); only
    accounts the asker may see."""
    where, params = view(scope, None, "a.owner_rep_id")
    return query_df(
        con,
        f"""SELECT d.account_id, d.deal_id, d.name, d.stage, d.amount, d.created_date, d.is_closed, d.is_won
            FROM deals d JOIN accounts a USING (account_id)
            WHERE list_contains(?, d.account_id) AND d.created_date >= ? AND d.created_date <= ? AND {where}
            ORDER BY d.created_date""",
        [account_ids, start, end, *params],
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
