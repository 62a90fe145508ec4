"""Queries on the core tables: accounts, deals, reps, assignments, activities (and the demo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from planner.scope import EVERYONE, Scope
from planner.store.core import query_df, quote_identifier, scalar
from planner.store.schema import get_meta, now, set_meta, table_ddl

if TYPE_CHECKING:
    from planner.demo import World

_ACCOUNT_COLS = [
    "account_id", "source", "name", "industry", "employees", "annual_revenue", "employee_growth",
    "intent_score", "new_executive", "website_visits", "account_type", "city", "state", "postal_code",
    "county", "lat", "lon", "geo_method", "owner_rep_id", "locked",
]  # fmt: skip
_DEAL_COLS = [
    "deal_id", "account_id", "name", "stage", "amount", "users", "created_date", "close_date",
    "is_closed", "is_won", "owner_rep_id", "source",
]  # fmt: skip
_REP_COLS = [
    "rep_id", "name", "email", "home_city", "home_state", "home_lat", "home_lon", "quota",
    "capacity_hours", "active", "source",
]  # fmt: skip
_ACTIVITY_COLS = ["activity_id", "account_id", "rep_id", "kind", "activity_date", "subject", "outcome", "source"]

# Tables whose rows describe one world; replacing the world empties them all.
_WORLD_TABLES = [
    "accounts", "account_attributes", "attribute_defs", "deals", "activities", "reps", "assignments",
    "assignment_versions", "assignment_snapshots", "scores", "models", "scenarios", "scenario_reps",
    "scenario_assignments", "plans", "plan_targets", "plan_steps", "demo_truth", "potential_settings",
    "imports", "rejected_rows",
]  # fmt: skip


def empty_world(con: duckdb.DuckDBPyConnection) -> None:
    """Empty every world table. Each is dropped and created again from its own DDL: DuckDB deletes every
    row of a table with a primary key one index entry at a time (a minute for 1.8M deals)."""
    for table in _WORLD_TABLES:
        ddl = table_ddl(con, table)
        con.execute(f"DROP TABLE {quote_identifier(table)}")
        con.execute(ddl)


def insert_frame(
    con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame, cols: list[str], stamps: tuple[str, ...] = ()
) -> None:
    """Append the `cols` of a DataFrame to `table` by column name, stamping `stamps` with now()."""
    frame = df[cols].copy()
    for col in stamps:
        frame[col] = pd.Timestamp(now())
    name = f"_src_{table}"
    con.register(name, frame)
    try:
        con.execute(f"INSERT INTO {quote_identifier(table)} BY NAME SELECT * FROM {name}")
    finally:
        con.unregister(name)


def replace_world(con: duckdb.DuckDBPyConnection, world: World, adoption: dict[str, float], price: float) -> None:
    """Empty every world table and load `world` (the demo) in their place, in one write."""
    empty_world(con)
    insert_frame(con, "reps", world.reps, _REP_COLS, ("created_at", "updated_at"))
    insert_frame(con, "accounts", world.accounts, _ACCOUNT_COLS, ("created_at", "updated_at"))
    insert_frame(con, "deals", world.deals, _DEAL_COLS, ("updated_at",))
    insert_frame(con, "activities", world.activities, _ACTIVITY_COLS)
    con.register("_truth", world.truth)
    con.execute("INSERT INTO demo_truth SELECT account_id, p_true FROM _truth")
    con.unregister("_truth")
    con.execute(
        "INSERT INTO assignments SELECT account_id, owner_rep_id, ?, 'demo' FROM accounts"
        " WHERE owner_rep_id IS NOT NULL",
        [now()],
    )
    rows = [("*", 0.2, price, False, now())] + [(k, v, price, False, now()) for k, v in adoption.items()]
    con.executemany("INSERT INTO potential_settings VALUES (?, ?, ?, ?, ?)", rows)
    set_meta(con, "is_demo", "1")
    set_meta(con, "demo_today", world.today.isoformat())
    set_meta(con, "data_updated_at", now().isoformat())


def is_demo(con: duckdb.DuckDBPyConnection) -> bool:
    return get_meta(con, "is_demo", "0") == "1"


def as_of(con: duckdb.DuckDBPyConnection) -> str | None:
    """The date the data describes: the demo's fixed 'today', else the last data change."""
    return get_meta(con, "demo_today") or (get_meta(con, "data_updated_at") or "")[:10] or None


def freshness(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """When the data last changed, what it is, and the newest deal and import dates."""
    return {
        "is_demo": is_demo(con),
        "data_updated_at": get_meta(con, "data_updated_at"),
        "as_of": as_of(con),
        "newest_deal": scalar(con, "SELECT max(created_date) FROM deals"),
        "last_import": scalar(con, "SELECT max(finished_at) FROM imports"),
        "schema_version": get_meta(con, "schema_version"),
    }


def export_accounts(con: duckdb.DuckDBPyConnection, scope: Scope = EVERYONE) -> pd.DataFrame:
    """Accounts with the owner's name and their revenue potential, as the CLI exports them."""
    where, params = scope.owner_filter("a.owner_rep_id")
    return query_df(
        con,
        f"""SELECT a.account_id, a.name, a.industry, a.employees, a.annual_revenue, a.employee_growth,
                   a.intent_score, a.new_executive, a.website_visits, a.city, a.state, a.postal_code,
                   a.county, a.lat, a.lon, a.geo_method, r.name AS owner, a.owner_rep_id,
                   p.est_users, round(p.potential, 2) AS potential, a.account_type, a.source
            FROM accounts a
            LEFT JOIN reps r ON r.rep_id = a.owner_rep_id
            LEFT JOIN account_potential p ON p.account_id = a.account_id
            WHERE {where}
            ORDER BY a.account_id""",
        params,
    )


def export_deals(con: duckdb.DuckDBPyConnection, scope: Scope = EVERYONE) -> pd.DataFrame:
    """Deals with their account's name and the owner's name."""
    where, params = scope.owner_filter("a.owner_rep_id")
    return query_df(
        con,
        f"""SELECT d.deal_id, d.account_id, a.name AS account_name, d.name, d.stage, d.amount, d.users,
                   d.created_date, d.close_date, d.is_closed, d.is_won, r.name AS owner, d.source
            FROM deals d
            LEFT JOIN accounts a ON a.account_id = d.account_id
            LEFT JOIN reps r ON r.rep_id = d.owner_rep_id
            WHERE {where}
            ORDER BY d.deal_id""",
        params,
    )


def export_reps(con: duckdb.DuckDBPyConnection, scope: Scope = EVERYONE) -> pd.DataFrame:
    """Reps with home location, quota and capacity."""
    where, params = scope.owner_filter("rep_id")
    return query_df(
        con,
        f"""SELECT rep_id, name, email, quota, home_lat, home_lon, home_city, home_state, home_postal_code,
                   capacity_hours, active, source
            FROM reps WHERE {where} ORDER BY rep_id""",
        params,
    )


def rep_options(con: duckdb.DuckDBPyConnection, scope: Scope = EVERYONE) -> pd.DataFrame:
    """rep_id and name of the reps a caller may pick, for selectors."""
    where, params = scope.owner_filter("rep_id")
    return query_df(con, f"SELECT rep_id, name, email FROM reps WHERE {where} ORDER BY name", params)


def find_rep(con: duckdb.DuckDBPyConnection, name_or_email: str) -> pd.DataFrame:
    """Reps whose id, email or name matches (case-insensitive, exact)."""
    key = name_or_email.strip().lower()
    return query_df(
        con,
        "SELECT rep_id, name, email FROM reps "
        "WHERE lower(trim(rep_id)) = ? OR lower(trim(email)) = ? OR lower(trim(name)) = ?",
        [key, key, key],
    )


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the core tables (for the CLI and the sidebar)."""
    return {t: int(scalar(con, f"SELECT count(*) FROM {t}")) for t in ("accounts", "deals", "reps")}
