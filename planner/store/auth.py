"""Queries on who may use the dashboard: the roles table, reps' emails, the audit log of role changes and of
sign-outs (a sign-in cookie issued before its user's last sign-out no longer signs anyone in)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from planner.errors import Forbidden
from planner.scope import Scope, require_admin
from planner.store.core import query_df, query_one, scalar
from planner.store.schema import next_id, now


def list_roles(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Every roles row with the named rep's name (NULL when the rep does not exist). Admins only."""
    require_admin(scope)
    return query_df(
        con,
        """SELECT r.email, r.role, r.rep_id, p.name AS rep_name, coalesce(p.active, TRUE) AND p.rep_id IS NOT NULL
                  AS rep_active
           FROM roles r LEFT JOIN reps p ON p.rep_id = r.rep_id
           ORDER BY CASE r.role WHEN 'admin' THEN 0 WHEN 'leader' THEN 1 ELSE 2 END, r.email""",
    )


def role_of(con: duckdb.DuckDBPyConnection, email: str) -> tuple[str, str | None] | None:
    """(role, rep_id) stored for an email (compared lower-case), or None.

    No scope: this is sign-in itself (it finds who is asking); it answers only for the email given."""
    row = query_one(con, "SELECT role, rep_id FROM roles WHERE lower(email) = ?", [email.strip().lower()])
    return None if row is None else (str(row[0]), None if row[1] is None else str(row[1]))


def rep_by_email(con: duckdb.DuckDBPyConnection, email: str) -> str | None:
    """The rep_id of the active rep whose CRM email is `email` (first by rep_id if several).

    No scope: this is sign-in itself (it finds who is asking); it answers only for the email given."""
    value = scalar(
        con,
        "SELECT rep_id FROM reps WHERE lower(trim(email)) = ? AND coalesce(active, TRUE) ORDER BY rep_id LIMIT 1",
        [email.strip().lower()],
    )
    return None if value is None else str(value)


def rep_active(con: duckdb.DuckDBPyConnection, rep_id: str) -> bool:
    """Whether `rep_id` names a rep who is still active (not deactivated by an import or a committed rebalance).

    No scope: this is sign-in itself; it answers only for the rep the signed-in email's role names."""
    return bool(scalar(con, "SELECT count(*) FROM reps WHERE rep_id = ? AND coalesce(active, TRUE)", [rep_id]))


def reps_with_email(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Active reps and their CRM emails: each may sign in as a rep without a roles row. Admins only."""
    require_admin(scope)
    return query_df(
        con,
        """SELECT rep_id, name, lower(trim(email)) AS email FROM reps
           WHERE coalesce(active, TRUE) AND email IS NOT NULL AND trim(email) <> '' ORDER BY name""",
    )


def upsert_role(con: duckdb.DuckDBPyConnection, email: str, role: str, rep_id: str | None, *, scope: Scope) -> None:
    """Give `email` one role (replacing any earlier one). Admins only."""
    require_admin(scope)
    con.execute("DELETE FROM roles WHERE lower(email) = ?", [email])
    con.execute("INSERT INTO roles VALUES (?, ?, ?)", [email, role, rep_id])


def delete_role(con: duckdb.DuckDBPyConnection, email: str, *, scope: Scope) -> int:
    """Delete the roles row of `email`; return how many rows went (0 or 1). Admins only."""
    require_admin(scope)
    count = int(scalar(con, "SELECT count(*) FROM roles WHERE lower(email) = ?", [email]))
    con.execute("DELETE FROM roles WHERE lower(email) = ?", [email])
    return count


def log(con: duckdb.DuckDBPyConnection, actor: str, action: str, detail: dict[str, Any], *, scope: Scope) -> None:
    """Append one row to the audit log of role changes. Admins only."""
    require_admin(scope)
    con.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
        [next_id(con, "audit_id"), now(), actor, action, json.dumps(detail, sort_keys=True)],
    )


def role_changes(con: duckdb.DuckDBPyConnection, limit: int = 50, *, scope: Scope) -> pd.DataFrame:
    """The most recent role changes from the audit log, newest first. Admins only."""
    require_admin(scope)
    return query_df(
        con,
        """SELECT logged_at, actor, action, detail FROM audit_log
           WHERE action LIKE 'role.%' ORDER BY audit_id DESC LIMIT ?""",
        [int(limit)],
    )


SIGN_OUT = "session.sign_out"


def log_sign_out(con: duckdb.DuckDBPyConnection, email: str, *, scope: Scope) -> None:
    """Record that `email` signed out now (its earlier sign-in cookies stop working). Only the signed-in user
    themselves: a sign-out recorded for someone else would sign them out."""
    key = email.strip().lower()
    if not key or key != str(scope.user or "").strip().lower():
        raise Forbidden("you can only sign yourself out")
    con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)", [next_id(con, "audit_id"), now(), key, SIGN_OUT, "{}"])


def last_sign_out(con: duckdb.DuckDBPyConnection, email: str) -> datetime | None:
    """When `email` last signed out (naive UTC, whole seconds), or None.

    No scope: this is sign-in itself (it checks the cookie of who is asking); it answers only for the email given."""
    value = scalar(
        con,
        "SELECT max(logged_at) FROM audit_log WHERE action = ? AND lower(actor) = ?",
        [SIGN_OUT, email.strip().lower()],
    )
    return value if isinstance(value, datetime) else None
