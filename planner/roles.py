"""Who may use the dashboard, and as what: map a signed-in email to a Scope; manage the roles table.

Roles: admin (imports, commits scenarios, manages roles), leader (sees everything, makes scenarios),
rep (sees only their own territory and plan). An email's role comes from, first match wins:
1. the bootstrap admins listed in the deployment's secrets (`[planner] admins = [...]`), so a fresh
   store can be administered before the roles table holds anyone;
2. the roles table (`python -m planner roles set ...` or the Admin page);
3. the reps table: an active rep whose CRM email matches signs in as that rep.
Anyone else is unknown and sees no data; so is an email the roles table gives the role "none" (NO_ACCESS), even a
rep's CRM email. Only well-formed addresses are identities: a CRM value that is
not one (a display name with an "@", "x@y", "<a@b.com>") never signs anyone in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC
from pathlib import Path

import duckdb
import pandas as pd

from planner import store
from planner.errors import BadInput, Forbidden, NotFound
from planner.scope import ROLES, Scope, require_role
from planner.store import auth as q
from planner.store import world

_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[a-z]{{2,63}}")


def is_email(text: object) -> bool:
    """True for a plain ASCII address (local@domain.tld, no display name, quotes, spaces or brackets). Checked
    before lower-casing: 'K' (U+212A, the Kelvin sign) lower-cases to 'k', so '\u212aate@corp.example', another
    mailbox, would otherwise read as kate@corp.example and sign in as her."""
    value = str(text or "").strip()
    return value.isascii() and len(value) <= 254 and _EMAIL.fullmatch(value.lower()) is not None


def normalize_email(email: str) -> str:
    """Lower-case, trimmed email; BadInput when it is not a plain ASCII address."""
    if not is_email(email):
        raise BadInput(f"{email!r} is not an email address; give it as name@example.com")
    return str(email).strip().lower()


# A roles-table row that lets its email in as nothing: how an admin shuts out someone the reps table would still let in
# by CRM email (a rep who left, a shared or forwarded mailbox). resolve() already lets in no role it does not know.
NO_ACCESS = "none"


def _admin_set(admins: Iterable[str]) -> set[str]:
    return {str(a).strip().lower() for a in admins if str(a).strip()}


def resolve(con: duckdb.DuckDBPyConnection, email: str, admins: Iterable[str] = ()) -> Scope | None:
    """The Scope of a signed-in email, or None when the email has no access (see the module docstring)."""
    try:
        key = normalize_email(email)
    except BadInput:
        return None
    if key in _admin_set(admins):
        return Scope(role="admin", user=key)
    stored = q.role_of(con, key)
    if stored is not None:
        role, rep_id = stored
        if role in ("admin", "leader"):
            return Scope(role=role, user=key)
        if role == "rep":  # a role naming a deactivated or deleted rep opens nothing (fail closed)
            rep_id = rep_id if rep_id and q.rep_active(con, rep_id) else None if rep_id else q.rep_by_email(con, key)
            return Scope(role="rep", rep_id=rep_id, user=key) if rep_id else None
        return None  # a role this code does not know: no access rather than a guess
    rep_id = q.rep_by_email(con, key)
    return Scope(role="rep", rep_id=rep_id, user=key) if rep_id else None


def list_roles(con: duckdb.DuckDBPyConnection, admins: Iterable[str] = (), *, scope: Scope) -> pd.DataFrame:
    """Everyone who can sign in and why: email, role, rep_id, rep_name, source. Admins only."""
    require_role(scope, "admin")
    table = q.list_roles(con, scope=scope).assign(source="roles table")
    gone = (table["role"] == "rep") & table["rep_id"].notna() & ~table["rep_active"].astype(bool)
    table.loc[gone, "source"] = "roles table; the rep is inactive or gone: no access until the role names another"
    table.loc[table["role"] == NO_ACCESS, "source"] = "roles table; no access, not even by a rep's CRM email"
    boot = sorted(_admin_set(admins))
    implicit = (
        q.reps_with_email(con, scope=scope).rename(columns={"name": "rep_name"}).assign(role="rep", source="rep email")
    )
    implicit = implicit[implicit["email"].map(is_email).astype(bool)]  # other CRM values are no identity
    implicit = implicit[~implicit["email"].isin(set(table["email"].str.lower()) | set(boot))]
    bootstrap = pd.DataFrame({"email": boot, "role": "admin", "rep_id": None, "rep_name": None})
    bootstrap = bootstrap.assign(source="bootstrap admin (secrets)")
    cols = ["email", "role", "rep_id", "rep_name", "source"]
    frames = [f[cols] for f in (bootstrap, table, implicit) if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates("email", keep="first").reset_index(drop=True)


def role_changes(con: duckdb.DuckDBPyConnection, limit: int = 50, *, scope: Scope) -> pd.DataFrame:
    """Recent role changes from the audit log (admins only)."""
    require_role(scope, "admin")
    return q.role_changes(con, limit, scope=scope)


@store.retry_conflicts
def set_role(path: Path, email: str, role: str, rep_id: str | None = None, *, scope: Scope) -> Scope | None:
    """Give `email` a role (replacing any earlier one); a rep role names the rep; NO_ACCESS lets the email in as
    nothing, not even as the rep whose CRM email it is. Admins only.

    Returns the Scope the email signs in with from now on (None: no access).
    """
    require_role(scope, "admin")
    key = normalize_email(email)
    role = str(role).strip().lower()
    if role not in (*ROLES, NO_ACCESS):
        raise BadInput(f"unknown role {role!r}; use one of {', '.join(ROLES)}, or {NO_ACCESS} (no access at all)")
    rep_id = (rep_id or "").strip() or None
    if role != "rep" and rep_id:
        raise BadInput(f"--rep {rep_id} only applies to the rep role, not {role}; leave it out")
    if key == scope.user and role != "admin":
        raise Forbidden(f"you cannot take away your own admin role ({key}); ask another admin")
    with store.write(path) as con:
        if role == "rep":
            if rep_id is None:
                rep_id = q.rep_by_email(con, key)
                if rep_id is None:
                    raise BadInput(f"no rep has the email {key}; name the rep with --rep REP_ID")
            else:  # the rep's id, CRM email or full name, as `plan --rep` takes them
                found = world.find_rep(con, rep_id, scope=scope)
                if len(found) == 0:
                    raise NotFound(
                        f"no rep {rep_id!r} in the store; use a rep's id, email or full name "
                        "(list them with `python -m planner export reps`)"
                    )
                if len(found) > 1:
                    raise BadInput(f"{rep_id!r} matches {len(found)} reps; use the rep's id or email instead")
                rep_id = str(found["rep_id"].iloc[0])
        q.upsert_role(con, key, role, rep_id, scope=scope)
        q.log(con, scope.user, "role.set", {"email": key, "role": role, "rep_id": rep_id}, scope=scope)
    return None if role == NO_ACCESS else Scope(role=role, rep_id=rep_id, user=key)


@store.retry_conflicts
def remove_role(path: Path, email: str, *, scope: Scope) -> None:
    """Delete the roles row of `email` (a rep keeps access through their CRM email). Admins only."""
    require_role(scope, "admin")
    key = normalize_email(email)
    if key == scope.user:
        raise Forbidden(f"you cannot remove your own role ({key}); ask another admin")
    with store.write(path) as con:
        if q.delete_role(con, key, scope=scope) == 0:
            raise NotFound(f"{key} has no role to remove; see `python -m planner roles list`")
        q.log(con, scope.user, "role.remove", {"email": key}, scope=scope)


@store.retry_conflicts
def sign_out(path: Path, email: str, *, scope: Scope) -> None:
    """Record that the signed-in `email` signed out now: every sign-in cookie issued to it until now (in this
    browser, a copy of it, another tab or machine) is refused from here on. Only the user themselves."""
    key = normalize_email(email)
    if key != scope.user:
        raise Forbidden("you can only sign yourself out")
    with store.write(path) as con:
        store.versions.declare(con, store.versions.AUDIT)  # no figure changes: pages' caches stay (store/versions.py)
        q.log_sign_out(con, key, scope=scope)


def last_sign_out(con: duckdb.DuckDBPyConnection, email: str) -> float | None:
    """When `email` last signed out, in seconds since 1970 (UTC), or None. Sign-in itself: no scope."""
    when = q.last_sign_out(con, email)
    return None if when is None else when.replace(tzinfo=UTC).timestamp()


def signed_out(last_out: float | None, issued_at: object) -> bool:
    """Whether a sign-in issued at `issued_at` (the ID token's `iat`, seconds since 1970) is ended by a sign-out
    at `last_out`. Sign-outs are kept to the whole second, so a token of that same second counts as before it.
    Fails closed: after a sign-out, a sign-in with no readable issue time is ended too."""
    if last_out is None:
        return False
    if isinstance(issued_at, bool) or not isinstance(issued_at, int | float | str):
        return True
    try:
        issued = float(issued_at)
    except ValueError:
        return True
    return math.isnan(issued) or issued <= last_out  # NaN fails closed
