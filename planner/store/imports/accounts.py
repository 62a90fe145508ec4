"""Accounts: parse, key (by ID, or by normalised name without one), merge, custom attributes, revenue units,
customers and owners derived from deals."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np

from planner.scope import Scope, require_admin
from planner.store.core import scalar
from planner.store.imports.geocode import (
    _geo_cols,
    _geo_joins,
    _with_us,
    coordinate_countries,
    country_values,
    namesake_context,
    us_row,
)
from planner.store.imports.macros import lit, q
from planner.store.imports.reps import _OWNER_JOIN
from planner.store.imports.staging import DELETED_REASON, _create_parsed
from planner.store.imports.sync import match_stored, snapshot, take_deleted
from planner.store.schema import now

# A type, or one of several labels ('Hot lead, Customer': Pipedrive), that starts with Customer ('Customer -
# Direct') or Evangelist (HubSpot's lifecycle stage after Customer: a customer who promotes you); a status that
# says customer, evangelist, yes or active, unless it says former, non-, not, churned, lost...
_TYPE_CUSTOMER = "regexp_matches({t}, '(?i)(^|[,;|])\\s*(customer|evangelist)')"
_CUSTOMER = (
    f"coalesce({_TYPE_CUSTOMER.format(t='p.account_type')} OR (regexp_matches(p.customer_status, "
    "'(?i)customer|evangelist|^\\s*(yes|true|active)\\s*$') AND NOT regexp_matches(p.customer_status, "
    "'(?i)former|\\bex\\b|\\bnon|\\bnot\\b|churn|prospect|lost|^\\s*(no|false)\\s*$')), false)"
)


def build_accounts(con: duckdb.DuckDBPyConnection, exprs: dict[str, str], labels: dict[str, str],
                   attr_columns: list[str], typed: dict[str, str],
                   locate: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None, *,
                   scope: Scope) -> list[str]:  # fmt: skip
    """Parse _raw into _p: typed fields, geocoding (`locate`: lat, lon -> countries), rejects; returns warnings."""
    require_admin(scope)

    def e(name: str) -> str:
        return exprs.get(name, "NULL")

    id_label, name_label = labels.get("id", "Account ID"), labels.get("name", "Account name")
    keyed_by_name = "id" not in labels
    if keyed_by_name:
        # No ID column: the key is the normalised name, plus the domain, else the location, where present.
        place = f"tp_key(concat_ws(' ', {e('city')}, {e('country')}))"
        where = f"coalesce('@' || tp_domain({e('domain')}), '|' || {place}, '')"
        exprs = {**exprs, "id": f"('name:' || tp_key({e('name')}) || {where})"}
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _dups AS
            SELECT {e("id") if not keyed_by_name else exprs["id"]} AS id, min(__row) AS first_row FROM _raw
            WHERE {exprs["id"]} IS NOT NULL GROUP BY 1 HAVING count(*) > 1"""
    )
    zip_raw = f"tp_text({q(labels['postal_code'])})" if "postal_code" in labels else "NULL::VARCHAR"
    items = [
        (e("id"), "account_id"), (e("name"), "name"), (e("industry"), "industry"),
        (f"TRY_CAST({e('employees')} AS BIGINT)", "employees"), (e("annual_revenue"), "annual_revenue"),
        (e("employee_growth"), "employee_growth"), (e("intent_score"), "intent_score"),
        (e("new_executive"), "new_executive"), (f"TRY_CAST(round({e('website_visits')}) AS BIGINT)", "website_visits"),
        (e("account_type"), "account_type"), (e("city"), "city"), (e("state"), "state"),
        (f"coalesce({e('postal_code')}, {zip_raw})", "postal_code"), (zip_raw, "postal_raw"), (e("county"), "county"),
        (e("country"), "country"),
        (e("lat"), "file_lat"), (e("lon"), "file_lon"), (e("owner"), "owner"), (e("owner_email"), "owner_email"),
        (e("customer_status"), "customer_status"), (e("is_deleted"), "deleted_flag"),
        (f"tp_domain({e('domain')})", "domain"),
    ]  # fmt: skip
    items[0] = (exprs["id"], "account_id")
    parsed = _create_parsed(None, items, typed, attr_columns)
    dup = "'duplicate ' || " + lit(id_label) + " || ' ''' || p.account_id || ''' (first on row ' || d.first_row || ')'"
    dup_reject = "NULL" if keyed_by_name else dup  # no IDs: a name's rows merge, not rejected (_merge_duplicates)
    merged = "d.first_row IS NOT NULL AND d.first_row <> p._row" if keyed_by_name else "false"
    # Joins with nothing to find are left out (a file without duplicate IDs, a store without accounts).
    has_dups = bool(scalar(con, "SELECT count(*) FROM _dups"))
    has_accounts = scalar(con, "SELECT account_id FROM accounts LIMIT 1") is not None
    first_row = "d.first_row" if has_dups else "NULL"
    known = "a.account_id" if has_accounts else "NULL"
    country_values(con, f"SELECT {e('country')} AS country FROM _raw", scope=scope)
    parsed, at = _located(con, parsed, exprs, {"lat", "lon"} <= labels.keys(), locate, scope=scope)
    us = us_row("p")
    # One pass: parse, geocode by joins, find duplicates and existing rows, and decide rejects.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _p AS
            SELECT p.* REPLACE (CASE WHEN {us} THEN p.postal_code ELSE coalesce(p.postal_raw, p.postal_code) END
                                AS postal_code),  -- a US ZIP's form only for US rows: 100-0005 is Tokyo's
                   {_geo_cols("p", "p.file_lat", "p.file_lon", f"p.{at}" if at else "NULL")},
                   coalesce(p.county, CASE WHEN {us} THEN z.county END) AS geo_county,
                   CASE WHEN coalesce(p.deleted_flag, false) THEN {DELETED_REASON}
                        WHEN p.account_id IS NULL THEN {lit((name_label if keyed_by_name else id_label) + " is empty")}
                        WHEN {first_row} IS NOT NULL AND {first_row} <> p._row THEN {dup_reject if has_dups else "NULL"}
                        WHEN p.name IS NULL AND {known} IS NULL THEN {lit(name_label + " is empty")}
                   END AS _reject,
                   {merged if has_dups else "false"} AS _merged,
                   {known} IS NOT NULL AS _exists,
                   {_CUSTOMER} OR p.account_id IN (SELECT account_id FROM deals WHERE is_won) AS is_customer
            FROM {_with_us("(" + parsed + ")", "country", by_value=True, at=at)} p
            {"LEFT JOIN _dups d ON d.id = p.account_id" if has_dups else ""}
            {"LEFT JOIN accounts a ON a.account_id = p.account_id" if has_accounts else ""}
            {_geo_joins("p", by_value=True)}"""
    )
    warnings = _merge_duplicates(con) if keyed_by_name and has_dups else []
    _as_stored(con, has_accounts)
    match_stored(con, keyed_by_name, scope=scope)  # rows no key found: their stored account by name and place
    take_deleted(con, "accounts", scope=scope)
    snapshot(con, "accounts", scope=scope)
    return warnings


# What rows naming one account fill into its first row where that is blank (owners and customer status by pairs).
_FILLED = ("industry", "employees", "annual_revenue", "employee_growth", "intent_score", "new_executive",
           "website_visits", "account_type", "customer_status", "domain")  # fmt: skip
_WHO = "coalesce(owner, owner_email)"


def _merge_duplicates(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Rows naming one account (no IDs) merge into its first row: a blank field takes the first value another row
    gives, in file order (one aggregate). Rows naming different owners keep the first, with a warning."""
    firsts = "".join(f", arg_min({f}, _row) FILTER (WHERE {f} IS NOT NULL) AS {f}" for f in _FILLED)
    by_owner = f"FILTER (WHERE {_WHO} IS NOT NULL)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _fill AS
            SELECT account_id, arg_min(name, _row) AS name{firsts}, arg_min(owner, _row) {by_owner} AS owner,
                   arg_min(owner_email, _row) {by_owner} AS owner_email, arg_min({_WHO}, _row) {by_owner} AS who,
                   arg_min(is_customer, _row) FILTER (WHERE account_type IS NOT NULL OR customer_status IS NOT NULL)
                       AS is_customer
            FROM _p WHERE _reject IS NULL AND account_id IN (SELECT id FROM _dups) GROUP BY account_id"""
    )
    fills = "".join(f", {f} = coalesce(_p.{f}, x.{f})" for f in _FILLED)
    blank_owner = "_p.owner IS NULL AND _p.owner_email IS NULL"
    con.execute(
        f"""UPDATE _p SET owner = CASE WHEN {blank_owner} THEN x.owner ELSE _p.owner END,
                   owner_email = CASE WHEN {blank_owner} THEN x.owner_email ELSE _p.owner_email END,
                   is_customer = CASE WHEN _p.account_type IS NULL AND _p.customer_status IS NULL
                                      THEN coalesce(x.is_customer, _p.is_customer) ELSE _p.is_customer END{fills}
            FROM _fill x WHERE _p.account_id = x.account_id AND _p._reject IS NULL AND NOT _p._merged"""
    )
    who = "coalesce(p.owner, p.owner_email)"
    rows = con.execute(
        f"""SELECT x.name, x.who, arg_min({who}, p._row) FROM _p p
            JOIN _fill x ON x.account_id = p.account_id
            WHERE p._reject IS NULL AND lower(trim({who})) <> lower(trim(x.who))
            GROUP BY x.account_id, x.name, x.who ORDER BY min(p._row)"""
    ).fetchall()
    con.execute("DROP TABLE _fill")
    if not rows:
        return []
    named = "; ".join(f"'{a}': {first} (kept), {other}" for a, first, other in rows[:5])
    more = f" and {len(rows) - 5:,} more" if len(rows) > 5 else ""
    return [f"{len(rows):,} account(s) merged from several rows name different owners ({named}{more}); check the "
            "owner in the CRM and import again"]  # fmt: skip


def _as_stored(con: duckdb.DuckDBPyConnection, has_accounts: bool) -> None:
    """What the store wrote coming back unchanged (our own `export accounts`) reads as what it was."""
    if not has_accounts:
        return
    # Coordinates the store gave an account (a ZIP's, a city's) coming back as written (our own export): still
    # placed as the store placed it, not 'file', so an unchanged export changes no account...
    con.execute(
        """UPDATE _p SET geo_method = a.geo_method, geo_precision = a.geo_precision, geo_note = a.geo_note
           FROM accounts a WHERE a.account_id = _p.account_id AND _p.geo_method = 'file'
             AND a.geo_method NOT IN ('file', 'none') AND a.lat = _p.lat AND a.lon = _p.lon"""
    )
    # ...and the country code it wrote for an account whose file named none, as it was (none).
    con.execute(
        """UPDATE _p SET country = NULL FROM accounts a
           WHERE a.account_id = _p.account_id AND a.country IS NULL AND _p.country = a.country_code"""
    )


def _located(con: duckdb.DuckDBPyConnection, parsed: str, exprs: dict[str, str], has_coordinates: bool,
             locate: Callable[[np.ndarray, np.ndarray], np.ndarray] | None, *,
             scope: Scope) -> tuple[str, str | None]:  # fmt: skip
    """The parsed rows with the country of their own coordinates (column at_code, when the file has coordinates),
    and the import's countries for cities named alone (geocode.coordinate_countries, namesake_context)."""
    if locate is None:
        return parsed, None
    at = None
    if has_coordinates:
        coordinate_countries(con, exprs["lat"], exprs["lon"], exprs.get("country", "NULL"), locate, scope=scope)
        join = "LEFT JOIN _tp_at t ON t.lat = x.file_lat AND t.lon = x.file_lon"
        parsed, at = f"SELECT x.*, t.code AS at_code FROM ({parsed}) x {join}", "at_code"
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _tp_at (lat DOUBLE, lon DOUBLE, code VARCHAR)")
    namesake_context(con, locate, scope=scope)
    return parsed, at


ACCOUNT_VALUE_FIELDS = ["name", "industry", "employees", "annual_revenue", "employee_growth", "intent_score",
                        "new_executive", "website_visits", "account_type", "domain"]  # fmt: skip


GEO_FIELDS = ("city", "state", "postal_code", "county", "lat", "lon", "country")


def merge_accounts(con: duckdb.DuckDBPyConnection, mapped: set[str], source: str, *, scope: Scope) -> dict[str, int]:
    """Insert new accounts, update matched ones (only mapped columns), set owners and assignments."""
    require_admin(scope)
    stamp = now()
    has_owner = bool(mapped & {"owner", "owner_email"})
    has_geo = bool(mapped & set(GEO_FIELDS))
    # Accounts that keep the owner a committed scenario gave them (plan_owners: the file still names the one before).
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _plan_kept (account_id VARCHAR, rep_id VARCHAR)")
    owner_join = f"{_OWNER_JOIN} LEFT JOIN _plan_kept k ON k.account_id = p.account_id" if has_owner else ""
    owner_val = "CASE WHEN k.account_id IS NULL THEN o.rep_id ELSE k.rep_id END" if has_owner else "NULL"
    inserted = int(scalar(con, "SELECT count(*) FROM _p WHERE _reject IS NULL AND NOT _exists AND NOT _merged"))
    merged = int(scalar(con, "SELECT count(*) FROM _p WHERE _reject IS NULL AND _merged"))
    con.execute(
        f"""INSERT INTO accounts (account_id, source, name, industry, employees, annual_revenue, employee_growth,
                intent_score, new_executive, website_visits, account_type, city, state, postal_code, county, lat, lon,
                geo_method, owner_rep_id, locked, created_at, updated_at, country, country_code, geo_precision,
                geo_note, is_customer, from_deals, domain)
            SELECT p.account_id, ?, p.name, p.industry, p.employees, p.annual_revenue, p.employee_growth,
                   p.intent_score, p.new_executive, p.website_visits, p.account_type, p.geo_city, p.geo_state,
                   p.postal_code, p.geo_county, p.lat, p.lon, p.geo_method, {owner_val}, false, ?, ?, p.country,
                   p.country_code, p.geo_precision, p.geo_note, p.is_customer, false, p.domain
            FROM _p p {owner_join} WHERE p._reject IS NULL AND NOT p._exists AND NOT p._merged""",
        [source, stamp, stamp],
    )
    sets = [f for f in ACCOUNT_VALUE_FIELDS if f in mapped]
    assigns = [f"{f} = u.{f}" for f in sets]
    cols = [f"p.{f}" for f in sets]
    if has_geo:
        for target, src in (("city", "geo_city"), ("state", "geo_state"), ("postal_code", "postal_code"),
                            ("county", "geo_county"), ("lat", "lat"), ("lon", "lon"),
                            ("geo_method", "geo_method"), ("country", "country"), ("country_code", "country_code"),
                            ("geo_precision", "geo_precision"), ("geo_note", "geo_note")):  # fmt: skip
            assigns.append(f"{target} = u.{src}")
            cols.append(f"p.{src}")
            sets.append(target if target == src else src)
    if has_owner:
        assigns.append("owner_rep_id = u.owner_rep_id")
        cols.append(f"{owner_val} AS owner_rep_id")
        sets.append("owner_rep_id")
    if mapped & {"account_type", "customer_status"}:
        assigns.append("is_customer = u.is_customer")
        cols.append(f"{_customer_now(mapped)} AS is_customer")
    updated = int(scalar(con, "SELECT count(*) FROM _p WHERE _reject IS NULL AND _exists AND NOT _merged"))
    if assigns and updated:
        targets = [a.split(" = ")[0] for a in assigns]
        changed = " OR ".join(
            f"a.{t} IS DISTINCT FROM u.{s.split('u.')[1]}" for t, s in zip(targets, assigns, strict=True)
        )
        con.execute(
            f"""UPDATE accounts AS a SET {", ".join(assigns)}, updated_at = ?
                FROM (SELECT p.account_id, {", ".join(cols)} FROM _p p {owner_join}
                      WHERE p._reject IS NULL AND p._exists AND NOT p._merged) u
                WHERE a.account_id = u.account_id AND ({changed})""",
            [stamp],
        )
    if has_owner:
        con.execute("""DELETE FROM assignments WHERE account_id IN (SELECT account_id FROM _p WHERE _reject IS NULL)
                       AND account_id NOT IN (SELECT account_id FROM _plan_kept)""")  # fmt: skip
        # The owners just written: straight from _p and the owner map (no second pass over accounts).
        con.execute(
            f"""INSERT INTO assignments SELECT p.account_id, o.rep_id, ?, 'crm' FROM _p p {owner_join}
                WHERE p._reject IS NULL AND NOT p._merged AND o.rep_id IS NOT NULL AND k.account_id IS NULL""",
            [stamp],
        )
    con.execute("DROP TABLE _plan_kept")
    return {"inserted": inserted, "updated": updated + merged, "merged": merged}


def _customer_now(mapped: set[str]) -> str:
    """A matched account's customer flag after a file that maps its type or customer status: what the file says,
    or a won deal. A file without a status clears only a flag its stored type gave (the type no longer says
    customer): a flag a customer status gave (HubSpot's Lifecycle Stage beside its Type) or a won deal stays."""
    if "customer_status" in mapped:
        return "p.is_customer"
    stored = _TYPE_CUSTOMER.format(t="s.account_type")
    return (f"(p.is_customer OR (SELECT coalesce(s.is_customer AND NOT coalesce({stored}, false), false) "
            "FROM accounts s WHERE s.account_id = p.account_id))")  # fmt: skip


def infer_attribute_types(con: duckdb.DuckDBPyConnection, columns: list[str], decimal_comma: bool,
                          day_first: bool, *, scope: Scope) -> dict[str, str]:  # fmt: skip
    """number, boolean, date or text for each custom column, from all its non-empty values."""
    require_admin(scope)
    if not columns:
        return {}
    dc = "true" if decimal_comma else "false"
    df = "true" if day_first else "false"
    parts = []
    for c in columns:
        v = q(c)
        parts += [
            f"count(tp_text({v}))",
            f"count(tp_bool({v}))",
            f"count(tp_num({v}, {dc}))",
            f"count(tp_date({v}, {df}))",
        ]
    row = con.execute(f"SELECT {', '.join(parts)} FROM (SELECT * FROM _raw LIMIT 20000)").fetchone() or ()
    out = {}
    for i, c in enumerate(columns):
        n, b, num, d = row[4 * i : 4 * i + 4]
        if n == 0:
            out[c] = "text"
        elif b == n and not (num == n and set(_distinct(con, c)) - {"0", "1"}):
            out[c] = "boolean"
        elif num == n:
            out[c] = "number"
        elif d == n:
            out[c] = "date"
        else:
            out[c] = "text"
    return out


def _distinct(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    rows = con.execute(
        f"SELECT DISTINCT lower(tp_text({q(column)})) FROM (SELECT * FROM _raw LIMIT 20000) "
        f"WHERE tp_text({q(column)}) IS NOT NULL LIMIT 5"
    )
    return [r[0] for r in rows.fetchall()]


def save_attributes(con: duckdb.DuckDBPyConnection, types: dict[str, str], keys: dict[str, str], decimal_comma: bool,
                    day_first: bool, source: str, import_id: int, *, scope: Scope) -> list[dict[str, str]]:  # fmt: skip
    """`types` lists the custom columns in the order they were carried into _p (as __attr_0, __attr_1...);
    `keys` names each column's attribute (the domain's attribute_key)."""
    require_admin(scope)
    """Store custom columns of accepted rows as typed account attributes (and their definitions)."""
    dc = "true" if decimal_comma else "false"
    df = "true" if day_first else "false"
    out = []
    for i, (column, dtype) in enumerate(types.items()):
        key = keys[column]
        raw = f"p.{q('__attr_' + str(i))}"
        v = "d.v" if dtype != "text" else raw
        num = {
            "number": f"tp_num({v}, {dc})" + (" / 100" if "%" in column else ""),
            "boolean": f"tp_bool({v})::INT",
            "date": f"date_diff('day', DATE '1970-01-01', tp_date({v}, {df}))",
            "text": "NULL",
        }[dtype]
        con.execute("DELETE FROM account_attributes WHERE attr = ? AND account_id IN "
                    "(SELECT account_id FROM _p WHERE _reject IS NULL)", [key])  # fmt: skip
        # A typed value is parsed once per distinct text (a file repeats its dates, yes/no and numbers), then
        # joined back to the rows, instead of a regex and a parse on every row.
        source_rows = (
            f"""_p p JOIN (SELECT v, {num} AS num, tp_text(v) AS txt
                           FROM (SELECT DISTINCT {raw} AS v FROM _p p WHERE p._reject IS NULL) d) d ON d.v = {raw}"""
            if dtype != "text"
            else f"(SELECT *, NULL::DOUBLE AS num, tp_text({raw}) AS txt FROM _p p) p"
        )
        con.execute(
            f"""INSERT INTO account_attributes SELECT p.account_id, ?, num, txt FROM {source_rows}
                WHERE p._reject IS NULL AND txt IS NOT NULL""",
            [key],
        )
        con.execute(
            """MERGE INTO attribute_defs USING (SELECT ?::VARCHAR AS attr, ?::VARCHAR AS label, ?::VARCHAR AS dtype,
                      ?::VARCHAR AS source, ?::BIGINT AS first_import_id) AS s ON attribute_defs.attr = s.attr
               WHEN MATCHED THEN UPDATE SET label = s.label,
                    dtype = CASE WHEN attribute_defs.dtype = s.dtype THEN s.dtype ELSE 'text' END
               WHEN NOT MATCHED THEN INSERT (attr, label, dtype, source, first_import_id)
                    VALUES (s.attr, s.label, s.dtype, s.source, s.first_import_id)""",
            [key, column, dtype, source, import_id],
        )
        out.append({"column": column, "attr": key, "dtype": dtype})
    return out


def median_revenue(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> float:
    require_admin(scope)
    return float(scalar(con, "SELECT coalesce(median(annual_revenue), 0) FROM _p WHERE _reject IS NULL"))


def median_employees(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> float:
    require_admin(scope)
    return float(scalar(con, "SELECT coalesce(median(employees), 0) FROM _p WHERE _reject IS NULL"))


def revenue_scale(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> str | None:
    """'millions' or 'thousands' when annual revenue per employee is implausibly small for plain units (a
    company earns tens of thousands or more per employee), else None."""
    require_admin(scope)
    row = con.execute(
        """SELECT median(annual_revenue / employees), count(*) FROM _p
           WHERE _reject IS NULL AND annual_revenue > 0 AND employees > 0"""
    ).fetchone()
    if not row or not row[1] or row[0] is None:
        return None
    per_employee = float(row[0])
    if per_employee < 5:
        return "millions"
    if per_employee < 500:
        return "thousands"
    return None


def customers_from_deals(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> int:
    """Accounts with a won deal are customers, whatever their type says. Returns how many became one."""
    require_admin(scope)
    n = int(scalar(con, """SELECT count(*) FROM accounts WHERE NOT coalesce(is_customer, false)
                           AND account_id IN (SELECT account_id FROM deals WHERE is_won)"""))  # fmt: skip
    if n:
        con.execute(
            """UPDATE accounts SET is_customer = true WHERE NOT coalesce(is_customer, false)
               AND account_id IN (SELECT account_id FROM deals WHERE is_won)"""
        )
    return n


def owners_from_deals(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> int:
    """Give accounts without an owner the owner of their most recent open deal, else of their most recent
    won deal (rule shown to the user); locked accounts are left alone, and so are those a committed scenario left
    without an owner (their assignment says so: the import merge keeps that like any move). Returns how many got
    one."""
    require_admin(scope)
    stamp = now()
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _deal_owner AS
           SELECT d.account_id,
                  coalesce(arg_max(d.owner_rep_id, coalesce(d.created_date, d.close_date))
                               FILTER (WHERE NOT d.is_closed),
                           arg_max(d.owner_rep_id, coalesce(d.close_date, d.created_date)) FILTER (WHERE d.is_won))
                      AS rep_id
           FROM deals d JOIN accounts a ON a.account_id = d.account_id
           WHERE a.owner_rep_id IS NULL AND NOT coalesce(a.locked, false) AND d.owner_rep_id IS NOT NULL
             AND a.account_id NOT IN (SELECT account_id FROM assignments WHERE origin LIKE 'scenario:%')
           GROUP BY 1"""
    )
    con.execute("DELETE FROM _deal_owner WHERE rep_id IS NULL")
    n = int(scalar(con, "SELECT count(*) FROM _deal_owner"))
    if n:
        con.execute(
            """UPDATE accounts AS a SET owner_rep_id = o.rep_id, updated_at = ? FROM _deal_owner o
               WHERE a.account_id = o.account_id""",
            [stamp],
        )
        con.execute("DELETE FROM assignments WHERE account_id IN (SELECT account_id FROM _deal_owner)")
        con.execute("INSERT INTO assignments SELECT account_id, rep_id, ?, 'deals' FROM _deal_owner", [stamp])
    con.execute("DROP TABLE _deal_owner")
    return n


def ownerless_accounts(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> int:
    """How many accounts in the store have no owner (after their deals gave owners to those they could)."""
    require_admin(scope)
    return int(scalar(con, "SELECT count(*) FROM accounts WHERE owner_rep_id IS NULL"))
