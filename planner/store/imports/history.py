"""The importer's bookkeeping: replacing the demo world, import history, rejected rows, remembered column
mappings."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd

from planner.scope import Scope, require_admin, require_leader
from planner.store.core import query_df, scalar
from planner.store.imports.macros import lit, q
from planner.store.schema import get_meta, next_id, now, set_meta
from planner.store.world import empty_world


def clear_demo_if_needed(con: duckdb.DuckDBPyConnection, adoption: dict[str, float], default_share: float,
                         price: float, *, scope: Scope) -> bool:  # fmt: skip
    """A real import replaces the demo world: empty every world table first (True when it did); a store without
    potential defaults gets them (`adoption` share per industry, `default_share` for the others, `price` per user)."""
    require_admin(scope)
    cleared = get_meta(con, "is_demo", "0") == "1"
    if cleared:
        empty_world(con, scope=scope)
        con.execute("DELETE FROM meta WHERE key IN ('demo_today', 'demo_seed', 'currency')")  # the demo's dollars too
        set_meta(con, "is_demo", "0")
    # A store that never held the demo starts with the same defaults (it had none: the Model page's table was empty,
    # and Software accounts got the catch-all's adoption share instead of their industry's).
    if not scalar(con, "SELECT count(*) FROM potential_settings"):
        rows = [("*", default_share, price, False, now())] + [(k, v, price, False, now()) for k, v in adoption.items()]
        con.executemany("INSERT INTO potential_settings VALUES (?, ?, ?, ?, ?)", rows)
    return cleared


def mark_updated(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> None:
    require_admin(scope)
    set_meta(con, "is_demo", "0")
    set_meta(con, "data_updated_at", now().isoformat())


def new_import(con: duckdb.DuckDBPyConnection, file_name: str, source: str, kind: str, sha256: str,
               started_at: Any, imported_by: str, *, scope: Scope) -> int:  # fmt: skip
    require_admin(scope)
    import_id = next_id(con, "import_id")
    con.execute(
        "INSERT INTO imports (import_id, file_name, source, kind, sha256, started_at, imported_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [import_id, file_name, source, kind, sha256, started_at, imported_by],
    )
    return import_id


def finish_import(con: duckdb.DuckDBPyConnection, import_id: int, counts: dict[str, int], *, scope: Scope) -> None:
    require_admin(scope)
    con.execute(
        "UPDATE imports SET rows_read = ?, inserted = ?, updated = ?, rejected = ?, geocoded = ?, finished_at = ? "
        "WHERE import_id = ?",
        [counts["rows_read"], counts["inserted"], counts["updated"], counts["rejected"], counts.get("geocoded", 0),
         now(), import_id],
    )  # fmt: skip


def save_rejects(con: duckdb.DuckDBPyConnection, import_id: int, columns: list[str], *, scope: Scope) -> None:
    """Keep every rejected row with its row number, reason and the raw values (JSON)."""
    require_admin(scope)
    obj = ", ".join(f"{lit(c)}, r.{q(c)}" for c in columns)
    con.execute(
        f"""INSERT INTO rejected_rows
            SELECT ?, p._row, p._reject, to_json(json_object({obj}))::VARCHAR
            FROM _p p JOIN _raw r ON r.__row = p._row WHERE p._reject IS NOT NULL""",
        [import_id],
    )
    con.execute(
        """INSERT INTO rejected_rows SELECT ?, line, reason, to_json(json_object('line', text))::VARCHAR
           FROM _parse_rejects""",
        [import_id],
    )


def first_rejects(con: duckdb.DuckDBPyConnection, limit: int = 100, *, scope: Scope) -> list[dict[str, Any]]:
    require_admin(scope)
    rows = con.execute("SELECT _row, _reject FROM _p WHERE _reject IS NOT NULL ORDER BY _row LIMIT ?", [limit])
    return [{"row": int(r[0]), "reason": r[1]} for r in rows.fetchall()]


def reject_reasons(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> list[dict[str, Any]]:
    """Rejected rows grouped by reason kind (text before the first quote), most frequent first."""
    require_admin(scope)
    rows = con.execute(
        """SELECT regexp_replace(_reject, ' ''.*$', '') AS reason, count(*) AS n, min(_row) AS first_row
           FROM _p WHERE _reject IS NOT NULL GROUP BY 1 ORDER BY n DESC, reason"""
    ).fetchall()
    return [{"reason": r[0], "rows": int(r[1]), "first_row": int(r[2])} for r in rows]


def remembered_mapping(con: duckdb.DuckDBPyConnection, signature: str) -> dict[str, Any] | None:
    row = con.execute(
        "SELECT source, kind, mapping, updated_at FROM column_mappings WHERE signature = ?", [signature]
    ).fetchone()
    if row is None:
        return None
    return {"source": row[0], "kind": row[1], "mapping": json.loads(row[2]), "updated_at": row[3]}


def remember_mapping(con: duckdb.DuckDBPyConnection, signature: str, source: str, kind: str,
                     mapping: dict[str, str], *, scope: Scope) -> None:  # fmt: skip
    require_admin(scope)
    con.execute(
        """MERGE INTO column_mappings USING (SELECT ?::VARCHAR AS signature, ?::VARCHAR AS source,
                  ?::VARCHAR AS kind, ?::VARCHAR AS mapping, ?::TIMESTAMP AS updated_at) AS s
           ON column_mappings.signature = s.signature
           WHEN MATCHED THEN UPDATE SET source = s.source, kind = s.kind, mapping = s.mapping,
                updated_at = s.updated_at
           WHEN NOT MATCHED THEN INSERT (signature, source, kind, mapping, updated_at)
                VALUES (s.signature, s.source, s.kind, s.mapping, s.updated_at)""",
        [signature, source, kind, json.dumps(mapping), now()],
    )


def forget_mapping(con: duckdb.DuckDBPyConnection, signature: str, *, scope: Scope) -> bool:
    """Drop the remembered mapping for a column signature; True when there was one."""
    require_admin(scope)
    found = scalar(con, "SELECT count(*) FROM column_mappings WHERE signature = ?", [signature])
    con.execute("DELETE FROM column_mappings WHERE signature = ?", [signature])
    return bool(found)


def import_history(con: duckdb.DuckDBPyConnection, limit: int = 200, *, scope: Scope) -> pd.DataFrame:
    """Past imports, newest first (store-wide: the domain lets only leaders and admins read it)."""
    require_leader(scope)
    return query_df(
        con,
        """SELECT import_id, finished_at, file_name, source, kind, rows_read, inserted, updated, rejected, geocoded,
                  imported_by, sha256
           FROM imports ORDER BY import_id DESC LIMIT ?""",
        [limit],
    )


def rejected_rows(con: duckdb.DuckDBPyConnection, import_id: int, *, scope: Scope) -> pd.DataFrame:
    """One import's rejected rows: row, reason, then the row's original columns."""
    require_leader(scope)
    df = query_df(con, "SELECT row_number AS row, reason, raw FROM rejected_rows WHERE import_id = ? ORDER BY 1",
                  [import_id])  # fmt: skip
    if df.empty:
        return df[["row", "reason"]]
    raw = pd.DataFrame([json.loads(r) if r else {} for r in df["raw"]])
    return pd.concat([df[["row", "reason"]].reset_index(drop=True), raw], axis=1)
