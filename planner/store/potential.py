"""Queries behind revenue potential: the editable settings and what won deals say about them."""

from __future__ import annotations

import duckdb
import pandas as pd

from planner.scope import Scope, require_leader
from planner.store.core import query_df
from planner.store.schema import REVENUE_PER_EMPLOYEE, now


def settings_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """segment, adoption_share, price_per_user, learned, updated_at and the accounts each covers.

    No scope: the price list every page values accounts with; per segment a count, no account or rep."""
    return query_df(
        con,
        """SELECT s.segment, s.adoption_share, s.price_per_user, s.learned, s.updated_at,
                  CASE WHEN s.segment = '*' THEN (SELECT count(*) FROM accounts a
                                                  WHERE a.industry IS NULL OR a.industry NOT IN
                                                        (SELECT segment FROM potential_settings))
                       ELSE (SELECT count(*) FROM accounts a WHERE a.industry = s.segment) END AS accounts
           FROM potential_settings s
           ORDER BY s.segment = '*' DESC, s.segment""",
    )


def won_deal_sizes(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Won deals with users, amount and the account's industry and employees (to learn defaults from).
    Leaders and admins: every won deal of the store."""
    require_leader(scope)
    return query_df(
        con,
        """SELECT a.industry, a.employees, d.users, d.amount
           FROM deals d JOIN accounts a USING (account_id)
           WHERE d.is_won AND d.users > 0 AND a.employees > 0""",
    )


def industries(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> list[str]:
    """Every industry of the store's accounts (leaders and admins, who edit the settings per industry)."""
    require_leader(scope)
    return query_df(con, "SELECT DISTINCT industry FROM accounts WHERE industry IS NOT NULL ORDER BY 1")[
        "industry"
    ].tolist()


def upsert_setting(
    con: duckdb.DuckDBPyConnection,
    segment: str,
    adoption_share: float,
    price_per_user: float,
    learned: bool,
    *,
    scope: Scope,
) -> None:
    """Set one segment's adoption share and price (leaders and admins)."""
    require_leader(scope)
    con.execute(
        """MERGE INTO potential_settings USING (SELECT ?::VARCHAR AS segment, ?::DOUBLE AS adoption_share,
                  ?::DOUBLE AS price_per_user, ?::BOOLEAN AS learned, ?::TIMESTAMP AS updated_at) AS s
           ON potential_settings.segment = s.segment
           WHEN MATCHED THEN UPDATE SET adoption_share = s.adoption_share, price_per_user = s.price_per_user,
                learned = s.learned, updated_at = s.updated_at
           WHEN NOT MATCHED THEN INSERT (segment, adoption_share, price_per_user, learned, updated_at)
                VALUES (s.segment, s.adoption_share, s.price_per_user, s.learned, s.updated_at)""",
        [segment, adoption_share, price_per_user, learned, now()],
    )


def delete_setting(con: duckdb.DuckDBPyConnection, segment: str, *, scope: Scope) -> None:
    """Forget one segment's settings (leaders and admins)."""
    require_leader(scope)
    con.execute("DELETE FROM potential_settings WHERE segment = ?", [segment])


def users_basis(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many accounts have their users estimated from employees, from revenue, or not at all ('none').

    No scope: counts for the whole store, as the settings table's, no account or rep."""
    rows = con.execute("SELECT coalesce(users_basis, 'none'), count(*) FROM account_potential GROUP BY 1").fetchall()
    return {str(k): int(n) for k, n in rows}


def revenue_per_employee(con: duckdb.DuckDBPyConnection) -> float:
    """The annual revenue per employee the potential view assumes where an account has no head count."""
    row = con.execute(
        "SELECT max(TRY_CAST(value AS DOUBLE)) FROM meta WHERE key = 'revenue_per_employee' "
        "AND TRY_CAST(value AS DOUBLE) > 0"
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else REVENUE_PER_EMPLOYEE
