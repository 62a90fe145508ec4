"""A re-import against what the store holds: rows without a CRM ID found by name and place (and stored accounts
without an ID given theirs), records deleted in the CRM removed, rows that changed nothing told apart from those
that changed, stored accounts a full export leaves out, and a file already imported once."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from planner.scope import Scope, require_admin
from planner.store.core import scalar
from planner.store.imports.macros import lit, q
from planner.store.imports.staging import DELETED_REASON
from planner.store.schema import next_id, now

# Tables holding an account's rows besides `accounts` (its deals aside): an account that gets its CRM ID takes
# them all along; an account removed from the book takes those below REMOVED_WITH along with it.
ACCOUNT_TABLES = ("account_attributes", "deals", "activities", "assignments", "assignment_snapshots", "scores",
                  "scenario_assignments", "scenario_deals", "plan_targets", "plan_steps", "demo_truth")  # fmt: skip
# History (committed scenarios, assignment versions) keeps naming a removed account; the book does not.
REMOVED_WITH = ("account_attributes", "activities", "assignments", "scores", "plan_targets", "plan_steps",
                "demo_truth")  # fmt: skip

# Both sides must agree on what both know of the place and web domain: a name alone matches where one side
# has neither. Names and cities compare as the importer keys them (tp_key).
_SAME_PLACE = """(p.domain IS NULL OR a.domain IS NULL OR p.domain = a.domain)
    AND (p.country_code IS NULL OR a.country_code IS NULL OR p.country_code = a.country_code)
    AND (tp_key(p.geo_city) IS NULL OR tp_key(a.city) IS NULL OR tp_key(p.geo_city) = tp_key(a.city))"""
_DELETED = DELETED_REASON.strip("'")
_TABLES = {"accounts": ("accounts", "account_id"), "deals": ("deals", "deal_id"), "reps": ("reps", "rep_id")}


def blank_in_every_row(con: duckdb.DuckDBPyConnection, column: str, *, scope: Scope) -> bool:
    """True when staged column `column` of _raw holds nothing but blanks (an ID column no record filled in)."""
    require_admin(scope)
    return not scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM _raw WHERE tp_text({q(column)}) IS NOT NULL LIMIT 1)")


def fill_from_repeat(con: duckdb.DuckDBPyConnection, column: str, repeat: str, *, scope: Scope) -> tuple[int, int]:
    """Fill the blank cells of staged column `column` of _raw from `repeat` (a later column under the same header):
    (rows filled, rows where both hold values that differ, which keep `column`'s)."""
    require_admin(scope)
    c, r = f"tp_text({q(column)})", f"tp_text({q(repeat)})"
    filled, differ = con.execute(
        f"SELECT count_if({c} IS NULL AND {r} IS NOT NULL), count_if({c} <> {r}) FROM _raw"
    ).fetchone() or (0, 0)
    if filled:
        con.execute(f"UPDATE _raw SET {q(column)} = {q(repeat)} WHERE {c} IS NULL AND {r} IS NOT NULL")
    return int(filled or 0), int(differ or 0)


def match_stored(con: duckdb.DuckDBPyConnection, keyed_by_name: bool, *, scope: Scope) -> None:
    """Find the stored accounts of _p's rows that no key found, by normalised name and place.

    A file without IDs (`keyed_by_name`): a row finds the one stored account of its name and place (under a CRM ID
    or a name key) and updates it. A file with IDs: a new ID finds the one stored account of its name and place
    that has no ID yet, which takes the ID (with its deals, scores, plans...). A row that finds several, or a
    stored account that several rows find, is rejected with the reason. Adds _by_name (and _attached: the
    stored account took the row's ID) to _p."""
    require_admin(scope)
    con.execute("ALTER TABLE _p ADD COLUMN _by_name BOOLEAN DEFAULT false")
    con.execute("ALTER TABLE _p ADD COLUMN _attached BOOLEAN DEFAULT false")
    stored = "a.account_id NOT IN (SELECT account_id FROM _p WHERE _exists)" if keyed_by_name else (
        "prefix(a.account_id, 'name:')")  # fmt: skip
    if not scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM accounts a WHERE {stored} LIMIT 1)"):
        return
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cand AS
            SELECT p._row, p.account_id AS key, p._reject IS NOT NULL AS deleted, a.account_id AS stored,
                   a.name AS stored_name, a.city AS stored_city,
                   count(*) OVER (PARTITION BY p._row) AS n_stored,
                   count(*) OVER (PARTITION BY a.account_id) AS n_rows,
                   min(p._row) OVER (PARTITION BY a.account_id) AS first_row
            FROM _p p JOIN accounts a ON tp_key(a.name) = tp_key(p.name) AND {_SAME_PLACE}
            WHERE NOT p._exists AND NOT coalesce(p._merged, false) AND p.account_id IS NOT NULL
              AND (p._reject IS NULL OR p._reject = {lit(_DELETED)}) AND {stored}"""
    )
    what = "stored accounts" if keyed_by_name else "stored accounts without an ID"
    fix = "; export the Account ID column to tell them apart" if keyed_by_name else (
        "; give those accounts their IDs with a file of the same names and places, one row each")  # fmt: skip
    many = (f"'account name ''' || c.stored_name || ''' matches ' || c.n_stored || ' {what} by name and place"
            f"{fix}'")  # fmt: skip
    shared = (f"'rows ' || c.first_row || ' and ' || c._row || ' both match the stored account ''' || c.stored_name"
              f" || ''' by name and place{fix}'")  # fmt: skip
    con.execute(
        f"""UPDATE _p SET _reject = r.reason
            FROM (SELECT key, min(CASE WHEN c.n_stored > 1 THEN {many} ELSE {shared} END) AS reason FROM _cand c
                  WHERE NOT c.deleted AND (c.n_stored > 1 OR c.n_rows > 1) GROUP BY key) r
            WHERE _p.account_id = r.key AND _p._reject IS NULL"""
    )
    con.execute("DELETE FROM _cand WHERE n_stored > 1 OR n_rows > 1")
    if keyed_by_name:
        con.execute(
            """UPDATE _p SET account_id = c.stored, _exists = true, _by_name = true FROM _cand c
               WHERE _p.account_id = c.key"""
        )
    else:
        _rekey(con)
        con.execute(
            "UPDATE _p SET _exists = true, _by_name = true, _attached = true FROM _cand c WHERE _p._row = c._row"
        )
    # A stored account's won deals make it a customer (the row's key found none of them).
    con.execute("UPDATE _p SET is_customer = true WHERE _by_name AND account_id IN (SELECT account_id FROM deals "
                "WHERE is_won)")  # fmt: skip
    con.execute("DROP TABLE _cand")


def _rekey(con: duckdb.DuckDBPyConnection) -> None:
    """Give the stored accounts of _cand (stored under a name key) the rows' CRM IDs, in every table."""
    con.execute("CREATE OR REPLACE TEMP TABLE _rekey AS SELECT stored AS old_id, key AS new_id FROM _cand")
    for table in ("accounts", *ACCOUNT_TABLES):
        con.execute(f"UPDATE {table} SET account_id = r.new_id FROM _rekey r WHERE {table}.account_id = r.old_id")
    con.execute("DROP TABLE _rekey")


def by_name(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> dict[str, int]:
    """How many accepted rows of _p found their stored account by name and place, and how many of those gave it
    its CRM ID."""
    require_admin(scope)
    row = con.execute("SELECT count_if(_by_name), count_if(_attached) FROM _p WHERE _reject IS NULL").fetchone()
    return {"matched": int(row[0] or 0), "attached": int(row[1] or 0)} if row else {"matched": 0, "attached": 0}


def take_deleted(con: duckdb.DuckDBPyConnection, kind: str, *, scope: Scope) -> None:
    """Remove the stored records that _p's rows say were deleted in the CRM (IsDeleted, archived), an account
    with its deals, and move those rows from _p to _removed: they count as updated, not as skipped."""
    require_admin(scope)
    key = "account_id" if kind == "accounts" else "deal_id"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _removed AS SELECT _row, {key} AS id, name FROM _p
            WHERE _reject = {lit(_DELETED)} AND _exists"""
    )
    con.execute("DELETE FROM _p WHERE _row IN (SELECT _row FROM _removed)")
    if kind == "accounts":
        _remove_accounts(con, "_removed")
    else:
        con.execute("DELETE FROM deals WHERE deal_id IN (SELECT id FROM _removed)")


def _remove_accounts(con: duckdb.DuckDBPyConnection, ids: str) -> int:
    """Remove the accounts whose IDs are in temp table `ids` (column id) from the book, with their deals (they
    leave pipeline, targets and plans); returns how many deals went."""
    deals = int(scalar(con, f"SELECT count(*) FROM deals WHERE account_id IN (SELECT id FROM {ids})"))
    for table in ("accounts", "deals", *REMOVED_WITH):
        con.execute(f"DELETE FROM {table} WHERE account_id IN (SELECT id FROM {ids})")
    con.execute(f"ALTER TABLE {ids} ADD COLUMN IF NOT EXISTS deals BIGINT")
    con.execute(f"UPDATE {ids} SET deals = ?", [deals])
    return deals


def removed(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> dict[str, Any]:
    """The records this table's rows removed as deleted in the CRM: count, deals with them, IDs and names."""
    require_admin(scope)
    if not _exists(con, "_removed"):
        return {"count": 0, "deals": 0, "ids": [], "names": []}
    rows = con.execute("SELECT id, name FROM _removed ORDER BY _row").fetchall()
    deals = scalar(con, "SELECT max(deals) FROM _removed") if _has_column(con, "_removed", "deals") else 0
    return {"count": len(rows), "deals": int(deals or 0), "ids": [r[0] for r in rows], "names": [r[1] for r in rows]}


def snapshot(con: duckdb.DuckDBPyConnection, kind: str, *, scope: Scope) -> None:
    """Keep a fingerprint of every stored record (account, deal, rep) _p's rows match (before the merge), to tell
    the rows that change nothing from those that do."""
    require_admin(scope)
    table, key = _TABLES[kind]
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _before AS
            SELECT {key} AS id, hash(*COLUMNS(* EXCLUDE (updated_at))) AS h FROM {table}
            WHERE {key} IN (SELECT {key} FROM _p WHERE _exists AND _reject IS NULL)"""
    )


def count_unchanged(con: duckdb.DuckDBPyConnection, kind: str, attrs: list[str], *, scope: Scope) -> int:
    """Matched rows of _p (merged) whose stored record is as it was, and whose custom attributes (`attrs`: the
    attribute of _p's __attr_0, __attr_1...) hold what the file writes."""
    require_admin(scope)
    if not _exists(con, "_before"):
        return 0
    table, key = _TABLES[kind]
    same_attrs = " AND ".join(
        f"""(SELECT text_value FROM account_attributes x WHERE x.account_id = p.account_id AND x.attr = {lit(attr)})
            IS NOT DISTINCT FROM tp_text(p.__attr_{i})"""
        for i, attr in enumerate(attrs)
    )
    # A row merged into another changes nothing itself; an account that took its CRM ID changed.
    merged = "NOT (p._merged OR p._attached)" if _has_column(con, "_p", "_attached") else "true"
    return int(scalar(
        con,
        f"""SELECT count(*) FROM _p p JOIN _before b ON b.id = p.{key}
            JOIN (SELECT {key} AS id, hash(*COLUMNS(* EXCLUDE (updated_at))) AS h FROM {table}) s
              ON s.id = b.id AND s.h = b.h
            WHERE p._reject IS NULL AND p._exists AND {merged} AND {same_attrs or "true"}""",
    ))  # fmt: skip


def same_file(con: duckdb.DuckDBPyConnection, import_id: int, *, scope: Scope) -> dict[str, Any] | None:
    """The latest earlier import of the same kind whose file had the same SHA-256 as import `import_id`'s."""
    require_admin(scope)
    row = con.execute(
        """SELECT o.import_id, o.finished_at, o.file_name FROM imports i JOIN imports o
             ON o.sha256 = i.sha256 AND o.kind = i.kind AND o.import_id < i.import_id AND o.finished_at IS NOT NULL
           WHERE i.import_id = ? AND i.sha256 IS NOT NULL ORDER BY o.import_id DESC LIMIT 1""",
        [import_id],
    ).fetchone()
    return {"import_id": int(row[0]), "finished_at": row[1], "file": row[2]} if row else None


def missing_accounts(con: duckdb.DuckDBPyConnection, source: str, *, scope: Scope) -> dict[str, Any]:
    """Stored accounts of this file's CRM (its reports, Data Loader and warehouse exports alike) that _p's file
    names neither by ID nor by name (accepted or not: a row rejected as ambiguous still names its accounts;
    accounts made from deals aside), in temp table _missing: count, examples, and how many stored accounts the
    file matched of how many (a full export matches most)."""
    require_admin(scope)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _missing AS
           SELECT account_id AS id, name FROM accounts
           WHERE split_part(source, '_', 1) = split_part(?, '_', 1) AND NOT coalesce(from_deals, false)
             AND account_id NOT IN (SELECT account_id FROM _p WHERE account_id IS NOT NULL)
             AND tp_key(name) NOT IN (SELECT tp_key(name) FROM _p WHERE tp_key(name) IS NOT NULL)""",
        [source],
    )
    stored = int(scalar(con, "SELECT count(*) FROM accounts WHERE split_part(source, '_', 1) = split_part(?, '_', 1) "
                             "AND NOT coalesce(from_deals, false)", [source]))  # fmt: skip
    matched = int(scalar(con, "SELECT count(DISTINCT account_id) FROM _p WHERE _exists"))
    names = [r[0] for r in con.execute("SELECT name FROM _missing ORDER BY name LIMIT 5").fetchall()]
    return {"missing": int(scalar(con, "SELECT count(*) FROM _missing")), "stored": stored, "matched": matched,
            "examples": names}  # fmt: skip


def missing_deals(con: duckdb.DuckDBPyConnection, source: str, *, scope: Scope) -> dict[str, Any]:
    """Stored deals of this file's CRM that _p's file does not name (accepted or not), in temp table _missing: count,
    examples (names), and how many stored deals the file matched of how many it could have (those it inserted
    aside: a full export matches most)."""
    require_admin(scope)
    crm = "split_part(source, '_', 1) = split_part(?, '_', 1)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _missing AS SELECT deal_id AS id, name FROM deals
            WHERE {crm} AND deal_id NOT IN (SELECT deal_id FROM _p WHERE deal_id IS NOT NULL)""",
        [source],
    )
    stored = int(scalar(con, f"SELECT count(*) FROM deals WHERE {crm} AND deal_id NOT IN (SELECT deal_id FROM _p "
                             "WHERE deal_id IS NOT NULL AND NOT _exists)", [source]))  # fmt: skip
    matched = int(scalar(con, "SELECT count(DISTINCT deal_id) FROM _p WHERE _exists"))
    names = [r[0] for r in con.execute("SELECT coalesce(name, id) FROM _missing ORDER BY 1 LIMIT 5").fetchall()]
    return {"missing": int(scalar(con, "SELECT count(*) FROM _missing")), "stored": stored, "matched": matched,
            "examples": names}  # fmt: skip


def remove_missing(con: duckdb.DuckDBPyConnection, kind: str = "accounts", *, scope: Scope) -> dict[str, Any]:
    """Remove the records of _missing (missing_accounts, missing_deals), accounts with their deals: counts and
    their IDs."""
    require_admin(scope)
    ids = [r[0] for r in con.execute("SELECT id FROM _missing ORDER BY id").fetchall()]
    if kind == "deals":
        con.execute("DELETE FROM deals WHERE deal_id IN (SELECT id FROM _missing)")
        return {"count": len(ids), "deals": len(ids), "ids": ids}
    deals = _remove_accounts(con, "_missing") if ids else 0
    return {"count": len(ids), "deals": deals, "ids": ids}


def audit(con: duckdb.DuckDBPyConnection, actor: str, action: str, detail: dict[str, Any], *, scope: Scope) -> None:
    """Log what an import removed from the book (in the import's own write)."""
    require_admin(scope)
    con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
                [next_id(con, "audit_id"), now(), actor, action, json.dumps(detail, default=str)])  # fmt: skip


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [table]))


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(scalar(con, "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? "
                            "AND column_name = ?", [table, column]))  # fmt: skip
