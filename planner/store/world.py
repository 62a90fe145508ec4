"""Queries on the core tables: accounts, deals, reps, assignments, activities (and the demo)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol

import duckdb
import pandas as pd

from planner.scope import Scope, require_admin
from planner.store.core import query_df, quote_identifier, scalar
from planner.store.schema import get_meta, now, set_meta, table_ddl

# When the newest activity in the data is older than this, the data's "as of" date is that activity's
# date rather than today (an export from 2017 describes 2017).
STALE_DAYS = 90


class WorldFrames(Protocol):
    """A whole world as DataFrames in the store's column names (planner.demo.World is one)."""

    accounts: pd.DataFrame
    deals: pd.DataFrame
    reps: pd.DataFrame
    truth: pd.DataFrame
    activities: pd.DataFrame
    today: date


_ACCOUNT_COLS = [
    "account_id", "source", "name", "industry", "employees", "annual_revenue", "employee_growth",
    "intent_score", "new_executive", "website_visits", "account_type", "city", "state", "postal_code",
    "county", "lat", "lon", "geo_method", "owner_rep_id", "locked",
    # optional: filled by fill_derived when a world leaves them out
    "country", "country_code", "geo_precision", "is_customer", "from_deals",
]  # fmt: skip
_DEAL_COLS = [
    "deal_id", "account_id", "name", "stage", "amount", "users", "created_date", "close_date",
    "is_closed", "is_won", "owner_rep_id", "source",
]  # fmt: skip
_REP_COLS = [
    "rep_id", "name", "email", "home_city", "home_state", "home_lat", "home_lon", "quota",
    "capacity_hours", "active", "source", "manager", "region", "home_inferred",
]  # fmt: skip
_ACTIVITY_COLS = ["activity_id", "account_id", "rep_id", "kind", "activity_date", "subject", "outcome", "source"]

# Tables whose rows describe one world; replacing the world empties them all.
_WORLD_TABLES = [
    "accounts", "account_attributes", "attribute_defs", "deals", "activities", "reps", "assignments",
    "assignment_versions", "assignment_snapshots", "scores", "models", "training_inputs", "scenarios", "scenario_reps",
    "scenario_assignments", "scenario_deals", "plans", "plan_targets", "plan_steps", "demo_truth", "potential_settings",
    "imports", "rejected_rows",
]  # fmt: skip


def empty_world(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> None:
    """Empty every world table. Each is dropped and created again from its own DDL: DuckDB deletes every
    row of a table with a primary key one index entry at a time (a minute for 1.8M deals)."""
    require_admin(scope)
    for table in _WORLD_TABLES:
        ddl = table_ddl(con, table)
        con.execute(f"DROP TABLE {quote_identifier(table)}")
        con.execute(ddl)


def insert_frame(
    con: duckdb.DuckDBPyConnection,
    table: str,
    df: pd.DataFrame,
    cols: list[str],
    stamps: tuple[str, ...] = (),
    *,
    scope: Scope,
) -> None:
    """Append the `cols` of a DataFrame (those it has) to `table` by column name, stamping `stamps` with now()."""
    require_admin(scope)
    frame = df[[c for c in cols if c in df.columns]].copy()
    for col in stamps:
        frame[col] = pd.Timestamp(now())
    name = f"_src_{table}"
    con.register(name, frame)
    try:
        con.execute(f"INSERT INTO {quote_identifier(table)} BY NAME SELECT * FROM {name}")
    finally:
        con.unregister(name)


def replace_world(
    con: duckdb.DuckDBPyConnection, world: WorldFrames, adoption: dict[str, float], price: float, *, scope: Scope
) -> None:
    """Empty every world table and load `world` (the demo) in their place, in one write."""
    require_admin(scope)
    empty_world(con, scope=scope)
    insert_frame(con, "reps", world.reps, _REP_COLS, ("created_at", "updated_at"), scope=scope)
    insert_frame(con, "accounts", world.accounts, _ACCOUNT_COLS, ("created_at", "updated_at"), scope=scope)
    insert_frame(con, "deals", world.deals, _DEAL_COLS, ("updated_at",), scope=scope)
    insert_frame(con, "activities", world.activities, _ACTIVITY_COLS, scope=scope)
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
    fill_derived(con, scope=scope)
    set_meta(con, "is_demo", "1")
    set_meta(con, "demo_today", world.today.isoformat())
    set_meta(con, "data_updated_at", now().isoformat())


GEO_PRECISION = {"file": "coordinates", "zip": "postal_code", "zip3": "region", "city": "city", "country": "country"}


def fill_derived(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> None:
    """Fill what a world written in bulk may leave out: each account's geocoding precision, US country code
    for US addresses, customer flag (the CRM says Customer, or a deal was won) and 'named only by deals'."""
    require_admin(scope)
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in GEO_PRECISION.items())
    con.execute(
        f"""UPDATE accounts SET
                geo_precision = coalesce(geo_precision, CASE geo_method {cases} END),
                country_code = coalesce(country_code,
                                        CASE WHEN state IS NOT NULL OR postal_code IS NOT NULL THEN 'US' END),
                is_customer = coalesce(is_customer, coalesce(account_type = 'Customer', false)
                                       OR account_id IN (SELECT account_id FROM deals WHERE is_won)),
                from_deals = coalesce(from_deals, false)
            WHERE geo_precision IS NULL OR country_code IS NULL OR is_customer IS NULL OR from_deals IS NULL"""
    )
    con.execute("UPDATE reps SET home_inferred = false WHERE home_inferred IS NULL")


def is_demo(con: duckdb.DuckDBPyConnection) -> bool:
    return get_meta(con, "is_demo", "0") == "1"


def newest_activity(con: duckdb.DuckDBPyConnection) -> date | None:
    """The newest date anything happened in the data: a deal created or closed, an activity logged.

    No scope: one date of the whole store, the base of the as-of date every page shares."""
    value = scalar(
        con,
        """SELECT max(d) FROM (
               SELECT max(created_date) AS d FROM deals
               UNION ALL SELECT max(close_date) FROM deals WHERE is_closed
               UNION ALL SELECT max(activity_date) FROM activities)""",
    )
    return value if isinstance(value, date) else None


def as_of_info(con: duckdb.DuckDBPyConnection, *, today: date | None = None,
               stale_days: int = STALE_DAYS) -> dict[str, object]:  # fmt: skip
    """The date the data describes and why: {"as_of": date, "rule": set | demo | data | today, "text": ...}.

    A date set by a person wins; the demo has its fixed today; otherwise today, unless the newest
    activity in the data (a deal created or closed, an activity logged) is older than `stale_days`, and most open
    deals are not expected to close since, when it is that activity's date."""
    today = today or date.today()
    chosen = get_meta(con, "as_of")
    if chosen:
        day = date.fromisoformat(chosen)
        return {"as_of": day, "rule": "set", "text": f"{day.isoformat()} (set by hand)"}
    demo_today = get_meta(con, "demo_today")
    if demo_today:
        day = date.fromisoformat(demo_today)
        return {"as_of": day, "rule": "demo", "text": f"{day.isoformat()} (the demo's today)"}
    newest = newest_activity(con)
    since = today - timedelta(days=stale_days)
    # An open pipeline expected to close lately or in the next three years says the export is current, however old
    # its last closed deal (a quiet quarter). It must be most of the pipeline: a few stragglers due later in a book
    # whose other open deals are long overdue (a Dynamics export last worked in 2025 with one deal due in 2026) are
    # no sign of life. A close date in 2999 is a typo, not a plan, and counts neither way.
    due, overdue = con.execute(
        """SELECT count_if(close_date >= ?), count_if(close_date < ?) FROM deals
           WHERE NOT coalesce(is_closed, false) AND close_date <= ?""",
        [since, since, today + timedelta(days=3 * 365)],
    ).fetchone() or (0, 0)
    if newest is not None and newest < since and not (due and due >= overdue):
        return {
            "as_of": newest,
            "rule": "data",
            "text": f"{newest.isoformat()} (the newest activity in the data; more than {stale_days} days ago)",
        }
    return {"as_of": today, "rule": "today", "text": f"{today.isoformat()} (today)"}


def as_of_date(con: duckdb.DuckDBPyConnection, *, today: date | None = None, stale_days: int = STALE_DAYS) -> date:
    """The one "as of" date of the store: point-in-time features, plans and metrics use it.

    Set by hand (`--as-of`, the Data page) it wins; else the demo's fixed today; else today, or the
    newest activity in the data when that is older than `stale_days` days."""
    value = as_of_info(con, today=today, stale_days=stale_days)["as_of"]
    assert isinstance(value, date)
    return value


def set_as_of(con: duckdb.DuckDBPyConnection, value: date | None, *, scope: Scope) -> None:
    """Fix the store's as-of date (None: back to the automatic rule). Write connection."""
    require_admin(scope)
    if value is None:
        con.execute("DELETE FROM meta WHERE key = 'as_of'")
    else:
        set_meta(con, "as_of", value.isoformat())


# ISO 4217's code for "no currency" (planner.text.MIXED): the store's money when imports found several currencies.
NO_CURRENCY = "XXX"


def currency(con: duckdb.DuckDBPyConnection) -> str | None:
    """The store's currency as money is shown in it: the ISO 4217 code an import or a person set; NO_CURRENCY when
    imports found amounts in several currencies and nobody set one; None: never set (US dollars)."""
    chosen = chosen_currency(con)
    if chosen is None and mixed_currencies(con):
        return NO_CURRENCY
    return chosen


def chosen_currency(con: duckdb.DuckDBPyConnection) -> str | None:
    """The currency an import or a person set (an ISO 4217 code); None: none yet."""
    return get_meta(con, "currency")


def set_currency(con: duckdb.DuckDBPyConnection, code: str, *, scope: Scope, by_person: bool = False) -> None:
    """Record the store's currency (the domain checked the code), as an import found it or a person chose it (an
    import never overrules a person's choice). Write connection."""
    require_admin(scope)
    set_meta(con, "currency", code)
    set_meta(con, "currency_set_by", "person" if by_person else "import")


def currency_chosen_by_person(con: duckdb.DuckDBPyConnection) -> bool:
    """True when a person set the store's currency (Settings, `planner settings --currency`)."""
    return get_meta(con, "currency_set_by") == "person" and chosen_currency(con) is not None


def note_mixed_store(con: duckdb.DuckDBPyConnection, codes: str, *, scope: Scope) -> None:
    """The store's amounts are in several currencies ('GBP, JPY'): it has no currency of its own until a person
    sets one. Write connection."""
    require_admin(scope)
    con.execute("DELETE FROM meta WHERE key IN ('currency', 'currency_set_by')")
    set_meta(con, "currency_mixed", codes)


def mixed_currencies(con: duckdb.DuckDBPyConnection) -> str | None:
    """The currencies imports found mixed while no person had set one ('EUR, USD'); None: never."""
    return get_meta(con, "currency_mixed")


def as_of(con: duckdb.DuckDBPyConnection) -> str:
    """as_of_date as ISO text (older callers)."""
    return as_of_date(con).isoformat()


def freshness(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """When the data last changed, what it is, the as-of date (and its rule), newest deal and import."""
    info = as_of_info(con)
    return {
        "is_demo": is_demo(con),
        "data_updated_at": get_meta(con, "data_updated_at"),
        "as_of": info["as_of"].isoformat() if isinstance(info["as_of"], date) else None,
        "as_of_rule": info["rule"],
        "as_of_text": info["text"],
        "newest_deal": scalar(con, "SELECT max(created_date) FROM deals"),
        "deals": int(scalar(con, "SELECT count(*) FROM deals") or 0),
        "last_import": scalar(con, "SELECT max(finished_at) FROM imports"),
        "schema_version": get_meta(con, "schema_version"),
    }


def export_accounts(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Accounts with the owner's name and their revenue potential, as the CLI exports them; the country as the
    account's file wrote it, else the code the importer found (a row placed by its city, ZIP or coordinates), so
    the file places every account in the same country again."""
    where, params = scope.owner_filter("a.owner_rep_id")
    return query_df(
        con,
        f"""SELECT a.account_id, a.name, a.industry, a.employees, a.annual_revenue, a.employee_growth,
                   a.intent_score, a.new_executive, a.website_visits, a.city, a.state, a.postal_code,
                   a.county, coalesce(a.country, a.country_code) AS country, a.lat, a.lon, a.geo_method,
                   r.name AS owner, a.owner_rep_id,
                   p.est_users, round(p.potential, 2) AS potential, a.account_type, a.is_customer, a.source
            FROM accounts a
            LEFT JOIN reps r ON r.rep_id = a.owner_rep_id
            LEFT JOIN account_potential p ON p.account_id = a.account_id
            WHERE {where}
            ORDER BY a.account_id""",
        params,
    )


def export_deals(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Deals with their account's name and the owner's name (a rep sees 'another rep' for a deal on their
    account that someone else owns, say from before a rebalance: never that rep's name)."""
    where, params = scope.owner_filter("a.owner_rep_id")
    mine, mine_params = scope.owner_filter("d.owner_rep_id")
    return query_df(
        con,
        f"""SELECT d.deal_id, d.account_id, a.name AS account_name, d.name, d.stage, d.amount, d.users,
                   d.created_date, d.close_date, d.is_closed, d.is_won,
                   CASE WHEN d.owner_rep_id IS NULL OR {mine} THEN r.name ELSE 'another rep' END AS owner, d.source
            FROM deals d
            LEFT JOIN accounts a ON a.account_id = d.account_id
            LEFT JOIN reps r ON r.rep_id = d.owner_rep_id
            WHERE {where}
            ORDER BY d.deal_id""",
        [*mine_params, *params],
    )


def export_reps(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Reps with home location, quota and capacity."""
    where, params = scope.owner_filter("rep_id")
    return query_df(
        con,
        f"""SELECT rep_id, name, email, quota, home_lat, home_lon, home_city, home_state, home_postal_code,
                   capacity_hours, active, source
            FROM reps WHERE {where} ORDER BY rep_id""",
        params,
    )


def rep_options(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """rep_id and name of the reps a caller may pick, for selectors."""
    where, params = scope.owner_filter("rep_id")
    return query_df(con, f"SELECT rep_id, name, email FROM reps WHERE {where} ORDER BY name", params)


def find_rep(con: duckdb.DuckDBPyConnection, name_or_email: str, *, scope: Scope) -> pd.DataFrame:
    """Reps in scope (a rep: only themselves) whose id, email or name matches (case-insensitive, exact)."""
    key = name_or_email.strip().lower()
    where, params = scope.owner_filter("rep_id")
    return query_df(
        con,
        "SELECT rep_id, name, email FROM reps "
        f"WHERE (lower(trim(rep_id)) = ? OR lower(trim(email)) = ? OR lower(trim(name)) = ?) AND {where}",
        [key, key, key, *params],
    )


def counts(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> dict[str, int]:
    """Row counts of the core tables (for the CLI and the sidebar), and the active reps among the reps (as
    Overview counts them); a rep counts their own accounts, the deals on them and themselves."""
    if not scope.is_rep:
        out = {t: int(scalar(con, f"SELECT count(*) FROM {t}")) for t in ("accounts", "deals", "reps")}
        return out | {"active_reps": int(scalar(con, "SELECT count(*) FROM reps WHERE active"))}
    mine = [scope.rep_id]
    return {
        "accounts": int(scalar(con, "SELECT count(*) FROM accounts WHERE owner_rep_id = ?", mine)),
        "deals": int(
            scalar(
                con, "SELECT count(*) FROM deals d JOIN accounts a USING (account_id) WHERE a.owner_rep_id = ?", mine
            )
        ),  # fmt: skip
        "reps": int(scalar(con, "SELECT count(*) FROM reps WHERE rep_id = ?", mine)),
        "active_reps": int(scalar(con, "SELECT count(*) FROM reps WHERE rep_id = ? AND active", mine)),
    }


def contents(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> dict[str, int]:
    """What emptying or replacing the world deletes, counted: accounts, deals, reps, imports, scenarios, plans."""
    require_admin(scope)
    tables = ("accounts", "deals", "reps", "imports", "scenarios", "plans")
    return {t: int(scalar(con, f"SELECT count(*) FROM {quote_identifier(t)}")) for t in tables}


def start_empty(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> None:
    """Empty every world table and forget what the old world set (demo, currency, a fixed as-of date): the next
    import starts a new store. Sign-in users, the audit log and remembered column mappings are kept."""
    require_admin(scope)
    empty_world(con, scope=scope)
    con.execute("DELETE FROM meta WHERE key IN ('demo_today', 'demo_seed', 'currency', 'currency_mixed', 'as_of')")
    set_meta(con, "is_demo", "0")
    set_meta(con, "data_updated_at", now().isoformat())
