"""Reps from user and team exports, and owner values of accounts and deals resolved to reps."""

from __future__ import annotations

import re
from typing import Any

import duckdb

from planner.scope import Scope, require_admin
from planner.store.core import scalar
from planner.store.imports.geocode import _geo_select
from planner.store.imports.macros import insert_rows, q
from planner.store.imports.staging import DELETED_REASON, _create_parsed
from planner.store.schema import now


def _name_from_email(email: str) -> str:
    local = email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in re.split(r"[._\-+]+", local) if part) or email


EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


def valid_email(value: str | None) -> str | None:
    """The address in lower case when `value` is one valid email address, else None: a CRM owner value that
    merely contains '@' never becomes anyone's sign-in identity."""
    text = (value or "").strip()
    return text.lower() if EMAIL.fullmatch(text) else None


# "Ana Ruiz <ana@example.com>" (RFC 5322 name-addr, as mail clients and some CRM exports write an owner).
NAME_ADDR = re.compile(r'\s*"?([^"<>]*?)"?\s*<([^<>]+)>\s*')


def _split_name_addr(value: str) -> tuple[str, str | None]:
    """(name, email) of an owner value written "Name <email>"; else (value, None)."""
    m = NAME_ADDR.fullmatch(value)
    mail = valid_email(m.group(2)) if m else None
    return (m.group(1).strip(), mail) if m and mail else (value, None)


SALESFORCE_USER_ID = re.compile(r"005[0-9A-Za-z]{12}([0-9A-Za-z]{3})?")


def resolve_owners(con: duckdb.DuckDBPyConnection, source: str, ids: bool = False, id_label: str = "CRM user", *,
                   scope: Scope) -> tuple[int, int, list[str]]:  # fmt: skip
    """Map the owner values of accepted rows in _p to rep_ids (temp table _owner_map), creating missing reps:
    (reps created, of which known only by a user ID, owner names several reps share). A rep created here has no
    capacity of its own (NULL): the store's default capacity (Settings) applies to it.

    A name matches a rep written exactly so ('ANNA LEE' is R003 when R003 is written that way), else one written
    in any case; a name several reps share goes to the first and is returned, for the import to warn of.

    An owner written as a user ID (a Salesforce user ID, a number, or any value of a column that says it holds
    IDs: `ids`) is no one's name: the rep keeps it as its CRM user ID, which a users file then matches, and is
    shown as '<id_label> <ID>' ('Salesforce user 005...') until then."""
    require_admin(scope)
    owners = con.execute(
        "SELECT DISTINCT owner, owner_email FROM _p "
        "WHERE _reject IS NULL AND (owner IS NOT NULL OR owner_email IS NOT NULL)"
    ).fetchall()
    reps = con.execute("SELECT rep_id, crm_id, lower(email), trim(name), former_names FROM reps").fetchall()
    by_crm = {r[1]: r[0] for r in reps if r[1]}
    by_email = {r[2]: r[0] for r in reps if r[2]}
    exact: dict[str, list[str]] = {}
    by_name: dict[str, list[str]] = {}
    former: dict[str, list[str]] = {}
    for r in sorted(reps, key=lambda r: r[0]):
        if r[3]:
            exact.setdefault(r[3], []).append(r[0])
            by_name.setdefault(r[3].lower(), []).append(r[0])
        for old in r[4] or []:
            former.setdefault(old.strip().lower(), []).append(r[0])
    shared: list[str] = []
    by_former: set[str] = set()
    former_owners: list[tuple[Any, ...]] = []

    def named(name: str) -> str | None:
        found = exact.get(name) or by_name.get(name.lower()) or []
        if not found and (found := former.get(name.lower(), [])):
            by_former.add(name)  # a rep renamed since this export was made
        if len(found) > 1:
            shared.append(name)
        return found[0] if found else None

    numbers = [int(m.group(1)) for r in reps if (m := re.fullmatch(r"R(\d+)", r[0]))]
    next_no = max(numbers, default=0) + 1
    mapping: list[tuple[str | None, str | None, str]] = []
    created: list[tuple[Any, ...]] = []
    by_id = 0
    stamp = now()
    for owner, email in sorted(owners, key=lambda t: (str(t[0]), str(t[1]))):
        value, addr = _split_name_addr((owner or "").strip())
        mail = valid_email(email) or addr or valid_email(value)
        salesforce = bool(SALESFORCE_USER_ID.fullmatch(value))
        is_id = bool(value) and not mail and (salesforce or value.isdigit() or ids)
        name = None if (not value or mail == value.lower() or is_id) else value
        rep_id = (by_crm.get(value) if value else None) or (by_email.get(mail) if mail else None) or (
            named(name) if name else None)  # fmt: skip
        if rep_id is None:
            rep_id = f"R{next_no:03d}"
            next_no += 1
            crm_id = value if is_id else None
            label = f"{'Salesforce user' if salesforce else id_label} {value}" if is_id else value
            display = name or (_name_from_email(mail) if mail else label)
            created.append((rep_id, crm_id, display, mail, True, source, stamp, stamp))
            by_id += is_id
            if crm_id:
                by_crm[crm_id] = rep_id
            if mail:
                by_email[mail] = rep_id
            exact.setdefault(display, [rep_id])
            by_name.setdefault(display.lower(), [rep_id])
        mapping.append((owner, email, rep_id))
        if name in by_former:
            former_owners.append((owner,))
    if created:
        insert_rows(con, "reps", created, 8, "rep_id, crm_id, name, email, active, source, created_at, updated_at",
                    scope=scope)  # fmt: skip
    con.execute("CREATE OR REPLACE TEMP TABLE _owner_map (owner VARCHAR, owner_email VARCHAR, rep_id VARCHAR)")
    if mapping:
        insert_rows(con, "_owner_map", mapping, 3, scope=scope)
    _keep_former_owners(con, former_owners, scope)
    return len(created), by_id, sorted(set(shared))


def _keep_former_owners(con: duckdb.DuckDBPyConnection, owners: list[tuple[Any, ...]], scope: Scope) -> None:
    """The owner values matched by a rep's former name, in temp table _owners_by_former (owners_by_former_name)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _owners_by_former (owner VARCHAR)")
    if owners:
        insert_rows(con, "_owners_by_former", owners, 1, scope=scope)


def owners_by_former_name(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> list[tuple[str, str]]:
    """(owner as the file wrote it, the rep's name now) of the owners resolve_owners matched by a rep's former
    name, by owner."""
    require_admin(scope)
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _owners_by_former (owner VARCHAR)")
    rows = con.execute(
        """SELECT DISTINCT f.owner, r.name FROM _owners_by_former f JOIN _owner_map o ON o.owner = f.owner
           JOIN reps r ON r.rep_id = o.rep_id ORDER BY 1, 2"""
    ).fetchall()
    return [(str(a), str(b)) for a, b in rows]


# Owner name/email of a staged row (_p AS p) -> rep_id, through the owner map built for the import.
_OWNER_JOIN = (
    "LEFT JOIN _owner_map o "
    "ON o.owner IS NOT DISTINCT FROM p.owner AND o.owner_email IS NOT DISTINCT FROM p.owner_email"
)


def build_reps(
    con: duckdb.DuckDBPyConnection,
    exprs: dict[str, str],
    labels: dict[str, str],
    typed: dict[str, str],
    *,
    scope: Scope,
) -> None:
    """Parse _raw into _p for reps: match existing reps by user ID, email, then name.

    A name matches only for a row without an email, or a rep without one (created from owner names): a row whose
    email no rep has is a new rep, even when an existing rep has its name (two people of one name). An archived
    user (HubSpot's Archived) is an inactive rep, as Salesforce's IsActive = false."""
    require_admin(scope)

    def e(name: str) -> str:
        return exprs.get(name, "NULL")

    name = f"coalesce({e('name')}, nullif(trim(concat_ws(' ', {e('first_name')}, {e('last_name')})), ''))"
    zip_raw = f"tp_text({q(labels['postal_code'])})" if "postal_code" in labels else "NULL::VARCHAR"
    items = [
        (e("id"), "crm_id"), (name, "name"), (f"tp_email({e('email')})", "email"), (e("city"), "city"),
        (e("state"), "state"), (e("postal_code"), "postal_code"), (zip_raw, "postal_raw"), (e("country"), "country"),
        (e("lat"), "file_lat"), (e("lon"), "file_lon"),
        (e("quota"), "quota"), (e("capacity_hours"), "capacity_hours"), (e("active"), "active"),
        (e("manager"), "manager"), (e("region"), "region"), (e("is_deleted"), "deleted_flag"),
        (e("email"), "email_given"), (e("archived"), "archived"),
    ]  # fmt: skip
    _create_parsed(con, items, typed)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _parsed AS
           SELECT p.*, coalesce(p.email, p.crm_id, lower(p.name)) AS k FROM _parsed p"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _dups AS
           SELECT k, min(_row) AS first_row FROM _parsed WHERE k IS NOT NULL GROUP BY 1 HAVING count(*) > 1"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _p AS
            SELECT p.* REPLACE (CASE WHEN g.geo_us THEN p.postal_code ELSE coalesce(p.postal_raw, p.postal_code) END
                                AS postal_code,  -- a US ZIP's form only for US homes: 530-0011 is Osaka's
                                coalesce(p.active, NOT p.archived) AS active),
                   g.lat, g.lon, g.geo_city, g.geo_state, g.geo_method,
                   coalesce(r1.rep_id, r2.rep_id, CASE WHEN p.email IS NULL THEN r3.any_rep ELSE r3.mailless END)
                       AS rep_id, r1.rep_id IS NULL AND r2.rep_id IS NULL AS _by_name,
                   CASE WHEN coalesce(p.deleted_flag, false) THEN {DELETED_REASON}
                        WHEN p.name IS NULL AND p.email IS NULL AND p.email_given IS NOT NULL
                            THEN 'the email is not a valid address and the name is empty'
                        WHEN p.name IS NULL AND p.email IS NULL THEN 'name and email are empty'
                        WHEN d.first_row IS NOT NULL AND d.first_row <> p._row
                            THEN 'duplicate user ''' || p.k || ''' (first on row ' || d.first_row || ')'
                   END AS _reject
            FROM _parsed p
            LEFT JOIN _dups d ON d.k = p.k
            LEFT JOIN (SELECT crm_id, min(rep_id) AS rep_id FROM reps WHERE crm_id IS NOT NULL GROUP BY 1) r1
                   ON r1.crm_id = p.crm_id
            LEFT JOIN (SELECT lower(email) AS email, min(rep_id) AS rep_id FROM reps
                       WHERE email IS NOT NULL GROUP BY 1) r2
                   ON r2.email = p.email
            LEFT JOIN (SELECT lower(name) AS name, min(rep_id) AS any_rep,
                              min(rep_id) FILTER (WHERE nullif(trim(email), '') IS NULL) AS mailless
                       FROM reps GROUP BY 1) r3
                   ON r3.name = lower(p.name)
            LEFT JOIN ({_geo_select("_parsed", "x", "x.file_lat", "x.file_lon", "country")}) g ON g._row = p._row"""
    )
    # Rows that find one rep only by name (several emails): a row that found it by ID or email, else the first,
    # takes the rep; the others are new reps.
    con.execute(
        """UPDATE _p SET rep_id = NULL
           FROM (SELECT rep_id, coalesce(min(_row) FILTER (WHERE NOT _by_name), min(_row)) AS first_row FROM _p
                 WHERE _reject IS NULL AND rep_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) m
           WHERE _p.rep_id = m.rep_id AND _p._by_name AND _p._row <> m.first_row AND _p._reject IS NULL"""
    )
    con.execute("ALTER TABLE _p ADD COLUMN _exists BOOLEAN")
    con.execute("UPDATE _p SET _exists = rep_id IS NOT NULL")


def merge_reps(con: duckdb.DuckDBPyConnection, mapped: set[str], source: str, *, scope: Scope) -> dict[str, int]:
    """Insert the users table's new reps and update the matched ones. A new rep without a capacity in the file
    keeps NULL (the store's default capacity applies); a blank cell leaves a stored capacity as it is."""
    require_admin(scope)
    stamp = now()
    new = con.execute("SELECT _row FROM _p WHERE _reject IS NULL AND NOT _exists ORDER BY _row").fetchall()
    reps = con.execute("SELECT rep_id FROM reps").fetchall()
    numbers = [int(m.group(1)) for (r,) in reps if (m := re.fullmatch(r"R(\d+)", r))]
    start = max(numbers, default=0) + 1
    con.execute("CREATE OR REPLACE TEMP TABLE _newids (_row BIGINT, rep_id VARCHAR)")
    if new:
        insert_rows(con, "_newids", [(r[0], f"R{start + i:03d}") for i, r in enumerate(new)], 2, scope=scope)
    con.execute(
        """INSERT INTO reps (rep_id, crm_id, name, email, home_city, home_state, home_postal_code, home_lat, home_lon,
                             quota, capacity_hours, active, source, created_at, updated_at, manager, region,
                             home_inferred)
           SELECT n.rep_id, p.crm_id, coalesce(p.name, p.email), p.email, p.geo_city, p.geo_state, p.postal_code,
                  p.lat, p.lon, p.quota, p.capacity_hours, coalesce(p.active, true), ?, ?, ?, p.manager,
                  p.region, false
           FROM _p p JOIN _newids n USING (_row)""",
        [source, stamp, stamp],
    )
    pairs = {"crm_id": "crm_id", "name": "name", "email": "email", "quota": "quota", "capacity_hours": "capacity_hours",
             "active": "active", "manager": "manager", "region": "region"}  # fmt: skip
    present = {"id": "crm_id", "name": "name", "first_name": "name", "last_name": "name", "email": "email",
               "quota": "quota", "capacity_hours": "capacity_hours", "active": "active", "archived": "active",
               "manager": "manager", "region": "region"}  # fmt: skip
    targets = sorted({present[m] for m in mapped if m in present})
    assigns = [f"{t} = coalesce(u.{pairs[t]}, r.{t})" for t in targets]
    if "name" in targets:  # a renamed rep keeps the old name: an export not refreshed yet still writes it
        assigns.append(
            """former_names = CASE WHEN u.name IS NULL OR u.name = r.name THEN r.former_names
                                   ELSE list_filter(list_distinct(list_append(coalesce(r.former_names, []), r.name)),
                                                    x -> lower(x) <> lower(u.name)) END"""
        )
    if mapped & {"city", "state", "postal_code", "country", "lat", "lon"}:
        assigns += ["home_city = coalesce(u.geo_city, r.home_city)", "home_state = coalesce(u.geo_state, r.home_state)",
                    "home_postal_code = coalesce(u.postal_code, r.home_postal_code)",
                    "home_lat = coalesce(u.lat, r.home_lat)", "home_lon = coalesce(u.lon, r.home_lon)",
                    "home_inferred = CASE WHEN u.lat IS NOT NULL THEN false ELSE r.home_inferred END"]  # fmt: skip
    updated = int(scalar(con, "SELECT count(*) FROM _p WHERE _reject IS NULL AND _exists"))
    if assigns and updated:
        con.execute(
            f"""UPDATE reps AS r SET {", ".join(assigns)}, updated_at = ?
                FROM (SELECT * FROM _p WHERE _reject IS NULL AND _exists) u WHERE r.rep_id = u.rep_id""",
            [stamp],
        )
    return {"inserted": len(new), "updated": updated}


def remember_listed_reps(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> None:
    """Keep the reps the users table in _p lists (matched or just created) in temp table _reps_listed, which lives
    as long as the import's connection: unlisted_reps compares the store with every users file of the import."""
    require_admin(scope)
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _reps_listed (rep_id VARCHAR)")
    con.execute(
        """INSERT INTO _reps_listed SELECT rep_id FROM _p WHERE _reject IS NULL AND rep_id IS NOT NULL
           UNION SELECT rep_id FROM _newids"""
    )


def unlisted_reps(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> list[tuple[str, int]]:
    """(name, accounts owned) of the active reps no users file of this import lists, by name."""
    require_admin(scope)
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _reps_listed (rep_id VARCHAR)")
    rows = con.execute(
        """SELECT r.name, (SELECT count(*) FROM accounts a WHERE a.owner_rep_id = r.rep_id) AS n FROM reps r
           WHERE coalesce(r.active, true) AND r.rep_id NOT IN (SELECT rep_id FROM _reps_listed)
           ORDER BY r.name, r.rep_id"""
    ).fetchall()
    return [(str(n or "?"), int(c)) for n, c in rows]


def listed_reps(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> int:
    """How many reps the users files of this import list (remember_listed_reps)."""
    require_admin(scope)
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _reps_listed (rep_id VARCHAR)")
    return int(scalar(con, "SELECT count(DISTINCT rep_id) FROM _reps_listed"))


def inactive_owners(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> list[tuple[str, int]]:
    """(name, accounts owned) of the inactive reps who still own accounts (in no active territory), by name."""
    require_admin(scope)
    rows = con.execute(
        """SELECT r.name, count(*) FROM accounts a JOIN reps r ON r.rep_id = a.owner_rep_id
           WHERE NOT coalesce(r.active, true) GROUP BY r.rep_id, r.name ORDER BY r.name, r.rep_id"""
    ).fetchall()
    return [(str(n or "?"), int(c)) for n, c in rows]


def shared_rep_names(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> list[tuple[str, list[str]]]:
    """(name, the reps' emails or ids) of each name several active reps share, one of them listed by a users file of
    this import: an owner written only by that name cannot tell them apart."""
    require_admin(scope)
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _reps_listed (rep_id VARCHAR)")
    rows = con.execute(
        """SELECT min(name), list(coalesce(email, rep_id) ORDER BY rep_id) FROM reps WHERE coalesce(active, true)
           GROUP BY lower(trim(name))
           HAVING count(*) > 1 AND bool_or(rep_id IN (SELECT rep_id FROM _reps_listed)) ORDER BY 1"""
    ).fetchall()
    return [(str(n), [str(x) for x in who]) for n, who in rows]
