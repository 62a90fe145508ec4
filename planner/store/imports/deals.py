"""Deals: link to accounts by ID or name, create the accounts they name, keep deals without an account as their
owner's pipeline."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from planner.scope import Scope, require_admin
from planner.store.core import query_df, scalar
from planner.store.imports.geocode import geocode_addresses
from planner.store.imports.macros import lit, q
from planner.store.imports.reps import _OWNER_JOIN
from planner.store.imports.staging import DELETED_REASON, _create_parsed
from planner.store.imports.sync import snapshot, take_deleted
from planner.store.schema import now

# Pipedrive's fourth deal status (beside open, won and lost) in the languages its export is written in: a deal
# deleted in the CRM, which removes the stored deal like IsDeleted (the status is read lower-cased).
DELETED_STATUSES = "('deleted', 'gelöscht', 'supprimé', 'eliminado', 'excluído', 'verwijderd', 'eliminato')"
# A deal without an ID is told apart from another of its account, name and created date by these, as written.
TOLD_APART = {"created_date": "created date", "owner": "owner", "owner_email": "owner email", "amount": "amount"}


def _deal_key(con: duckdb.DuckDBPyConnection, exprs: dict[str, str], labels: dict[str, str],
              acct_ref: str) -> tuple[dict[str, str], str, str]:  # fmt: skip
    """The deal's key expression, and the reject reasons of an empty and a repeated key (SQL).

    No ID column (a report exported without 'Opportunity ID'): a deal is its account and its name, plus its created
    date where the file has one, so a re-export updates the same deals. Rows that share that key are told apart by
    what else the file writes of them (created time, owner, amount: two Dynamics opportunities of one topic created
    the same day): the first in the file keeps the plain key, the others get it with those values (column
    __deal_key of _raw). Rows alike in all of them are one deal written twice."""

    def e(name: str) -> str:
        return exprs.get(name, "NULL")

    if "id" in labels:
        dup = f"'duplicate ' || {lit(labels['id'])} || ' ''' || p.deal_id || ''' (first on row ' || d.first_row || ')'"
        return exprs, labels["id"] + " is empty", dup
    acct = f"coalesce(tp_key(nullif({acct_ref}, '')), tp_key({e('account_name')}))"
    parts = [acct, f"tp_key({e('name')})"]
    if "created_date" in exprs:
        parts.append(f"CAST({e('created_date')} AS VARCHAR)")
    key = " || '|' || ".join(f"coalesce({x}, '')" for x in parts)
    base = f"CASE WHEN {acct} IS NULL AND tp_key({e('name')}) IS NULL THEN NULL ELSE 'deal:' || {key} END"
    told = [f for f in TOLD_APART if f in labels]
    ext = " || '|' || ".join([base, *(f"coalesce(tp_text({q(labels[f])}), '')" for f in told)])
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _raw AS
            SELECT * EXCLUDE (_b, _x, _first_b, _first_x),
                   CASE WHEN _b IS NULL THEN NULL WHEN _first_x = _first_b THEN _b ELSE _x END AS __deal_key
            FROM (SELECT *, min(__row) OVER (PARTITION BY _b) AS _first_b,
                         min(__row) OVER (PARTITION BY _x) AS _first_x
                  FROM (SELECT *, {base} AS _b, {ext} AS _x FROM _raw))"""
    )
    alike = ["account", "deal name", *(TOLD_APART[f] for f in told)]
    dup = (f"'same {', '.join(alike[:-1])} and {alike[-1]} as row ' || d.first_row "
           "|| '; export the Opportunity ID (or Deal ID) column to keep both'")  # fmt: skip
    return {**exprs, "id": q("__deal_key")}, "no Deal ID column, and the row names neither an account nor a deal", dup


def build_deals(
    con: duckdb.DuckDBPyConnection,
    exprs: dict[str, str],
    labels: dict[str, str],
    typed: dict[str, str],
    *,
    scope: Scope,
) -> None:
    """Parse _raw into _p for deals: link accounts by ID or unambiguous name; won/closed from stage."""
    require_admin(scope)

    def e(name: str) -> str:
        return exprs.get(name, "NULL")

    # HubSpot writes several associated IDs separated by ';': the first is the primary company.
    acct_ref = f"trim(split_part({e('account_id')}, ';', 1))" if "account_id" in exprs else "NULL::VARCHAR"
    exprs, empty, dup = _deal_key(con, exprs, labels, acct_ref)
    _repeated_keys(con, e("id"))
    items = [
        (e("id"), "deal_id"), (f"nullif({acct_ref}, '')", "account_ref"), (e("account_name"), "account_name"),
        (e("name"), "name"), (e("stage"), "stage"), (f"lower({e('status')})", "status"), (e("amount"), "amount"),
        (f"TRY_CAST(round({e('users')}) AS BIGINT)", "users"), (e("created_date"), "created_date"),
        (f"coalesce({e('actual_close_date')}, {e('close_date')})", "close_date"),
        (e("actual_close_date"), "actual_close_date"), (e("is_closed"), "closed_flag"), (e("is_won"), "won_flag"),
        (e("owner"), "owner"), (e("owner_email"), "owner_email"), (e("is_deleted"), "deleted_flag"),
        (f"tp_domain({e('account_domain')})", "account_domain"), (e("city"), "city"), (e("state"), "state"),
        (e("postal_code"), "postal_code"), (e("country"), "country"),
    ]  # fmt: skip
    # Pipedrive's won and lost times, folded into the actual close date, are parsed on their own too: their
    # text that is no date is warned of (invalid_values) like any date column's.
    items += [(exprs[f], f) for f in ("won_time", "lost_time") if f in typed]
    _create_parsed(con, items, typed)
    _account_lookups(con)
    # The stage's outcome in any of the CRMs' languages (the domain's words, in the tp_stage macro).
    won = "coalesce(tp_stage(p.stage) = 'won', false)"
    lost = "coalesce(tp_stage(p.stage) = 'lost', false)"
    st = "tp_stage(p.status)"  # Pipedrive's status: won / lost / open, in the export's language
    # Name keys are NULL where they do not apply: joins on them stay hash joins (the ref tested in ON: nested loops).
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _p AS
            SELECT p.* EXCLUDE (_name_key, _ref_name_key, _joined_key),
                   coalesce(a.account_id, n.account_id, nk.noid, CASE WHEN dm.n = 1 THEN dm.account_id END,
                            s.account_id, p.account_ref, 'name:' || tp_key(p.account_name)) AS account_id,
                   CASE WHEN dm.n IS DISTINCT FROM 1 THEN s.part END AS _joined_part,
                   a.account_id IS NULL AND coalesce(n.account_id, nk.noid) IS NULL AND dm.n IS DISTINCT FROM 1
                       AND coalesce(n.n, 0) <= 1 AND NOT coalesce(s.known, false)
                       AND (p.account_ref IS NOT NULL OR tp_key(p.account_name) IS NOT NULL) AS _new_account,
                   a.account_id IS NULL AND coalesce(n.account_id, nk.noid) IS NULL AND dm.n = 1 AS _by_domain,
                   a.account_id IS NULL AND coalesce(n.account_id, nk.noid) IS NULL AND dm.n > 1 AS _domain_shared,
                   coalesce(p.won_flag,
                            CASE WHEN {st} = 'won' THEN true WHEN {st} = 'lost' OR p.status = 'open' THEN false END,
                            {won}, false) AS is_won,
                   coalesce(p.closed_flag,
                            CASE WHEN {st} IN ('won', 'lost') THEN true WHEN p.status = 'open' THEN false END,
                            p.won_flag, {won} OR {lost}, false) AS is_closed,
                   CASE WHEN coalesce(p.deleted_flag, false) OR p.status IN {DELETED_STATUSES} THEN {DELETED_REASON}
                        WHEN p.deal_id IS NULL THEN {lit(empty)}
                        WHEN d.first_row IS NOT NULL AND d.first_row <> p._row THEN {dup}
                        WHEN p.account_ref IS NULL AND n.n > 1
                            THEN 'account name ''' || p.account_name || ''' matches ' || n.n
                                 || ' accounts; add the account ID column'
                   END AS _reject,
                   x.deal_id IS NOT NULL AS _exists
            FROM (SELECT *, CASE WHEN account_ref IS NULL THEN tp_key(account_name) END AS _name_key,
                         CASE WHEN account_ref IS NOT NULL THEN tp_key(account_name) END AS _ref_name_key,
                         CASE WHEN account_ref IS NULL AND contains(account_name, ';') THEN account_name END
                             AS _joined_key
                  FROM _parsed) p
            LEFT JOIN _dups d ON d.id = p.deal_id
            LEFT JOIN _aref a ON a.ref = p.account_ref
            LEFT JOIN _names n ON n.k = p._name_key
            -- An account ID the store does not know, of an account it holds without an ID (an accounts export
            -- without IDs came first): the one such account of that name, which an export with IDs gives its ID.
            LEFT JOIN (SELECT k, noid FROM _names WHERE n_noid = 1) nk ON nk.k = p._ref_name_key
            LEFT JOIN _domains dm ON dm.k = p.account_domain
            LEFT JOIN _joined s ON s.name = p._joined_key
            LEFT JOIN deals x ON x.deal_id = p.deal_id"""
    )
    take_deleted(con, "deals", scope=scope)
    snapshot(con, "deals", scope=scope)


def _repeated_keys(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """_dups: the deal keys of _raw written on several rows, with the first row of each."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _dups AS
            SELECT {key} AS id, min(__row) AS first_row FROM _raw
            WHERE {key} IS NOT NULL GROUP BY 1 HAVING count(*) > 1"""
    )


def _account_lookups(con: duckdb.DuckDBPyConnection) -> None:
    """Temp tables that find the accounts _parsed's deals name: _names by name (and among those stored without an
    ID), _aref by ID (any of its forms), _domains by web domain, _joined by the first of several joined names."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _names AS
           SELECT tp_key(name) AS k, min(account_id) AS account_id, count(*) AS n,
                  min(account_id) FILTER (WHERE prefix(account_id, 'name:')) AS noid,
                  count(*) FILTER (WHERE prefix(account_id, 'name:')) AS n_noid FROM accounts
           WHERE tp_key(name) IS NOT NULL GROUP BY 1"""
    )
    # Salesforce IDs come as 15 characters (reports) or 18 (API, Data Loader): either finds the account.
    # Each form is an equality on a key worked out first (NULL where the ref has not that form), so that every
    # join is a hash join: a regular expression in a join's ON made DuckDB compare every ref with every account
    # (a nested loop: 51 s for 200k deals on 100k accounts, hours at 1M).
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _aref AS
           WITH r AS (SELECT ref,
                             CASE WHEN regexp_full_match(ref, '[0-9A-Za-z]{18}') THEN left(ref, 15) END AS k18,
                             CASE WHEN regexp_full_match(ref, '[0-9A-Za-z]{15}') THEN ref END AS k15
                      FROM (SELECT DISTINCT account_ref AS ref FROM _parsed WHERE account_ref IS NOT NULL))
           SELECT r.ref, coalesce(a1.account_id, a2.account_id, a3.id) AS account_id
           FROM r
           LEFT JOIN accounts a1 ON a1.account_id = r.ref
           LEFT JOIN accounts a2 ON a2.account_id = r.k18
           LEFT JOIN (SELECT left(account_id, 15) AS k, min(account_id) AS id FROM accounts
                      WHERE regexp_full_match(account_id, '[0-9A-Za-z]{18}') GROUP BY 1) a3 ON a3.k = r.k15"""
    )
    # A deal that names its company only by web domain (HubSpot's 'Associated Company Domain') finds the one
    # account with that domain; a domain several accounts share links none (counted, and warned of).
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _domains AS
           SELECT domain AS k, min(account_id) AS account_id, count(*) AS n FROM accounts
           WHERE domain IN (SELECT account_domain FROM _parsed) GROUP BY 1"""
    )
    _joined_names(con)


def _joined_names(con: duckdb.DuckDBPyConnection) -> None:
    """_joined: the account names of _parsed that list several companies joined by ';' (HubSpot's 'Associated
    Company' of a deal with several) and match no account as written, with the first of their parts that names
    one: an account of the store (known) or one this file's deals name alone (created from them). A name whose
    parts match nothing stays one name ('Smith; Jones LLP')."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _joined AS
           WITH j AS (SELECT name, string_split(name, ';') AS l
                      FROM (SELECT DISTINCT account_name AS name FROM _parsed
                            WHERE account_ref IS NULL AND contains(account_name, ';')) d
                      ANTI JOIN _names n ON n.k = tp_key(d.name)),
                parts AS (SELECT name, trim(unnest(l)) AS part, generate_subscripts(l, 1) AS i FROM j),
                alone AS (SELECT DISTINCT tp_key(account_name) AS k FROM _parsed
                          WHERE account_ref IS NULL AND NOT contains(account_name, ';'))
           SELECT name, arg_min(part, i) AS part, arg_min(coalesce(n.account_id, 'name:' || tp_key(part)), i)
                      AS account_id, arg_min(n.account_id IS NOT NULL, i) AS known
           FROM parts LEFT JOIN _names n ON n.k = tp_key(part) AND n.n = 1
           LEFT JOIN alone f ON f.k = tp_key(part) AND f.k NOT IN (SELECT k FROM _names)
           WHERE n.k IS NOT NULL OR f.k IS NOT NULL GROUP BY name"""
    )


DEAL_VALUE_FIELDS = ["name", "stage", "amount", "users", "created_date", "close_date"]


def merge_deals(con: duckdb.DuckDBPyConnection, mapped: set[str], source: str, *, scope: Scope) -> dict[str, Any]:
    require_admin(scope)
    stamp = now()
    has_owner = bool(mapped & {"owner", "owner_email"})
    # Open deals that keep the owner a committed scenario gave them (deal_owners: the file names the one before).
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _deal_plan_kept (deal_id VARCHAR, rep_id VARCHAR)")
    owner_join = f"{_OWNER_JOIN} LEFT JOIN _deal_plan_kept k ON k.deal_id = p.deal_id" if has_owner else ""
    owner_val = "CASE WHEN k.deal_id IS NULL THEN o.rep_id ELSE k.rep_id END" if has_owner else "acc.owner_rep_id"
    created, placed = create_accounts_from_deals(con, source, stamp, scope=scope)
    inserted = int(scalar(con, "SELECT count(*) FROM _p WHERE _reject IS NULL AND NOT _exists"))
    con.execute(
        f"""INSERT INTO deals (deal_id, account_id, name, stage, amount, users, created_date, close_date, is_closed,
                               is_won, owner_rep_id, source, updated_at)
            SELECT p.deal_id, p.account_id, p.name, p.stage, p.amount, p.users, p.created_date, p.close_date,
                   p.is_closed, p.is_won, {owner_val}, ?, ?
            FROM _p p {owner_join} LEFT JOIN accounts acc ON acc.account_id = p.account_id
            WHERE p._reject IS NULL AND NOT p._exists""",
        [source, stamp],
    )
    mapped = mapped | ({"close_date"} if "actual_close_date" in mapped else set())  # the actual one wins
    fields = [f for f in DEAL_VALUE_FIELDS if f in mapped] + ["account_id", "is_closed", "is_won"]
    assigns = [f"{f} = u.{f}" for f in fields]
    cols = [f"p.{f}" for f in fields]
    if has_owner:
        assigns.append("owner_rep_id = u.owner_rep_id")
        cols.append(f"{owner_val} AS owner_rep_id")
        fields.append("owner_rep_id")
    updated = int(scalar(con, "SELECT count(*) FROM _p WHERE _reject IS NULL AND _exists"))
    if updated:
        changed = " OR ".join(f"d.{f} IS DISTINCT FROM u.{f}" for f in fields)
        con.execute(
            f"""UPDATE deals AS d SET {", ".join(assigns)}, updated_at = ?
                FROM (SELECT p.deal_id, {", ".join(cols)} FROM _p p {owner_join}
                      WHERE p._reject IS NULL AND p._exists) u
                WHERE d.deal_id = u.deal_id AND ({changed})""",
            [stamp],
        )
    con.execute("DROP TABLE _deal_plan_kept")
    unlinked = int(scalar(con, "SELECT count(*) FROM _p WHERE _reject IS NULL AND account_id IS NULL"))
    by_domain, shared, example, joined, joined_example = con.execute(
        """SELECT count_if(_by_domain), count_if(_domain_shared), min(account_domain) FILTER (WHERE _domain_shared),
                  count_if(_joined_part IS NOT NULL), arg_min([account_name, _joined_part], _row)
                      FILTER (WHERE _joined_part IS NOT NULL)
           FROM _p WHERE _reject IS NULL"""
    ).fetchone() or (0, 0, None, 0, None)
    return {"inserted": inserted, "updated": updated, "accounts_created": created, "accounts_placed": placed,
            "unlinked": unlinked,
            "by_domain": int(by_domain or 0), "domain_shared": int(shared or 0), "domain_example": example,
            "joined": int(joined or 0), "joined_example": joined_example}  # fmt: skip


def create_accounts_from_deals(
    con: duckdb.DuckDBPyConnection, source: str, stamp: Any, *, scope: Scope
) -> tuple[int, int]:
    """Accounts that accepted deals name but the store lacks: created with the name the deal gives (and the
    ID when it gives one), flagged from_deals; no firmographics, and placed by the account's address the deals
    give (an opportunity report's Billing City, State...), if any. Returns how many were created and placed."""
    require_admin(scope)
    first = {f: f"arg_min({f}, _row) FILTER (WHERE {f} IS NOT NULL) AS {f}"
             for f in ("city", "state", "postal_code", "country")}  # fmt: skip
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _new_accounts AS
            SELECT account_id, arg_min(coalesce(_joined_part, account_name), _row) AS name,
                   {", ".join(first.values())} FROM _p
            WHERE _reject IS NULL AND _new_account GROUP BY 1"""
    )
    con.execute(
        """INSERT INTO accounts (account_id, source, name, geo_method, locked, created_at, updated_at, is_customer,
                                 from_deals)
           SELECT account_id, ?, coalesce(name, account_id), 'none', false, ?, ?, false, true FROM _new_accounts""",
        [source, stamp, stamp],
    )
    placed = geocode_addresses(
        con,
        "(SELECT * FROM _new_accounts WHERE coalesce(city, state, postal_code, country) IS NOT NULL)",
        stamp,
        scope=scope,
    )
    return int(scalar(con, "SELECT count(*) FROM _new_accounts")), placed


def unlinked_deals(con: duckdb.DuckDBPyConnection, *, scope: Scope, limit: int = 5000) -> pd.DataFrame:
    """Deals not linked to an account (kept as their owner's pipeline): a rep gets their own."""
    where, params = scope.owner_filter("d.owner_rep_id")
    return query_df(
        con,
        f"""SELECT d.deal_id, d.name, d.stage, d.amount, d.created_date, d.close_date, d.is_closed, d.is_won,
                   r.name AS owner, d.source
            FROM deals d LEFT JOIN reps r ON r.rep_id = d.owner_rep_id
            WHERE d.account_id IS NULL AND {where} ORDER BY d.created_date DESC NULLS LAST, d.deal_id LIMIT ?""",
        [*params, limit],
    )


def implausible_deals(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> list[str]:
    """Warnings on accepted deal rows in _p whose values were read but look wrong (kept as they are: a credit
    note may be negative, and the file is the CRM's word): negative amounts, and dates before 1950 or after
    2100 (a year typed as two digits, an Excel date of 0); an owner column blank in most rows."""
    require_admin(scope)
    out: list[str] = []
    row = con.execute(
        """SELECT count_if(amount < 0), min(CASE WHEN amount < 0 THEN _row END),
                  count_if(close_date < DATE '1950-01-01' OR close_date > DATE '2100-12-31'
                           OR created_date < DATE '1950-01-01' OR created_date > DATE '2100-12-31'),
                  min(CASE WHEN close_date < DATE '1950-01-01' OR close_date > DATE '2100-12-31'
                           OR created_date < DATE '1950-01-01' OR created_date > DATE '2100-12-31' THEN _row END)
           FROM _p WHERE _reject IS NULL"""
    ).fetchone() or (0, None, 0, None)
    if row[0]:
        out.append(f"Amount: {row[0]:,} deal(s) have a negative amount (first on row {row[1]}); kept as written: "
                   "check them in the CRM if they are not credit notes")  # fmt: skip
    if row[2]:
        out.append(f"{row[2]:,} deal(s) have a date before 1950 or after 2100 (first on row {row[3]}); kept as "
                   "written: check them in the CRM (a two-digit year, an empty Excel date)")  # fmt: skip
    blank, total, first = con.execute(
        """SELECT coalesce(count_if(owner IS NULL AND owner_email IS NULL), 0), count(*),
                  min(CASE WHEN owner IS NULL AND owner_email IS NULL THEN _row END)
           FROM _p WHERE _reject IS NULL"""
    ).fetchone() or (0, 0, None)
    if blank < total and blank * 2 > total:  # an owner column read, blank in most rows (a grouped report's)
        out.append(f"Owner: {blank:,} of {total:,} deal(s) have a blank owner (first on row {first}), so they have "
                   "no rep: export the report with the owner on every row (Details "
                   "Only), or check the owner column in the CRM")  # fmt: skip
    return out


def ownerless_deals(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> int:
    """How many accepted deal rows in _p are stored without an owner (a file without an owner column: deals take
    their account's owner, where it has one)."""
    require_admin(scope)
    return int(scalar(con, """SELECT count(*) FROM _p p JOIN deals d ON d.deal_id = p.deal_id
                               WHERE p._reject IS NULL AND d.owner_rep_id IS NULL"""))  # fmt: skip
