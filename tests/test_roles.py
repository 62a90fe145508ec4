"""Roles: email -> Scope resolution, admin-only role management, require_role, and `planner roles`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import roles, store
from planner.cli import main
from planner.errors import BadInput, Forbidden, NotFound
from planner.scope import OPERATOR, Scope, require_role
from planner.store import auth as q
from tests.helpers import AVA, table

ADMIN = Scope(role="admin", user="boss@example.com")
LEADER = Scope(role="leader", user="lead@example.com")
REP = Scope(role="rep", rep_id="R001", user="ava.garcia@example.com")


def resolve(path: Path, email: str, admins: tuple[str, ...] = ()) -> Scope | None:
    with store.read(path) as con:
        return roles.resolve(con, email, admins)


def test_require_role() -> None:
    require_role(ADMIN, "admin")
    require_role(LEADER, "admin", "leader")
    with pytest.raises(Forbidden, match="needs the admin role; lead@example.com is signed in as leader"):
        require_role(LEADER, "admin")
    with pytest.raises(Forbidden, match="admin or leader"):
        require_role(REP, "admin", "leader")
    with pytest.raises(ValueError, match="require_role needs roles"):
        require_role(ADMIN, "owner")


def test_resolve_order_bootstrap_table_rep_email(small_store: Path) -> None:
    assert resolve(small_store, "AVA.Garcia@example.com ") == REP  # CRM email, any case
    assert resolve(small_store, "nobody@example.com") is None
    assert resolve(small_store, "not an email") is None
    assert resolve(small_store, "x@example.com", ("X@Example.com",)) == Scope(role="admin", user="x@example.com")
    roles.set_role(small_store, "ava.garcia@example.com", "leader", scope=ADMIN)  # the table beats the CRM email
    assert resolve(small_store, "ava.garcia@example.com") == Scope(role="leader", user="ava.garcia@example.com")
    roles.set_role(small_store, "helper@example.com", "rep", "R004", scope=ADMIN)
    assert resolve(small_store, "helper@example.com") == Scope(role="rep", rep_id="R004", user="helper@example.com")
    # A bootstrap admin stays admin whatever the table says.
    assert resolve(small_store, "helper@example.com", ("helper@example.com",)).role == "admin"  # type: ignore[union-attr]


def test_a_unicode_look_alike_never_signs_in_as_another_person(small_store: Path) -> None:
    """'\u212a' (the Kelvin sign) lower-cases to 'k': the identity provider's verified '\u212aate.admin@...', another
    mailbox, signed in as kate.admin@... with her admin role. Non-ASCII addresses are refused before lower-casing,
    for sign-in, for the roles table and for the CRM emails reps sign in by."""
    roles.set_role(small_store, "kate.admin@example.com", "admin", scope=ADMIN)
    assert resolve(small_store, "kate.admin@example.com") == Scope(role="admin", user="kate.admin@example.com")
    for twin in ("\u212aate.admin@example.com", "kate.adm\u0131n@example.com", "ava.garc\u0130a@example.com"):
        assert resolve(small_store, twin) is None
        assert resolve(small_store, twin, ("kate.admin@example.com",)) is None
        with pytest.raises(BadInput, match="is not an email address"):
            roles.set_role(small_store, twin, "admin", scope=ADMIN)


def test_a_role_naming_a_deactivated_rep_opens_nothing(small_store: Path) -> None:
    """A reps file deactivated R004 (Active = false): the rep's own CRM email was refused, but a roles-table entry
    naming R004 still signed in to its accounts while Overview said 'Reps 0'. It now opens nothing, and the Admin
    list says why."""
    roles.set_role(small_store, "helper@example.com", "rep", "R004", scope=ADMIN)
    assert resolve(small_store, "helper@example.com") == Scope(role="rep", rep_id="R004", user="helper@example.com")
    with store.write(small_store) as con:
        con.execute("UPDATE reps SET active = false WHERE rep_id = 'R004'")
    assert resolve(small_store, "helper@example.com") is None
    with store.read(small_store) as con:
        listed = roles.list_roles(con, scope=ADMIN).set_index("email")
    assert "inactive or gone: no access" in listed.loc["helper@example.com", "source"]


def test_roles_cli_takes_any_case_and_lists_one_row_per_person(
    small_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`roles set X Leader` was refused by argparse; a rep named across two lines broke the list's table."""
    with store.write(small_store) as con:
        con.execute("UPDATE reps SET name = 'Line' || chr(10) || 'Break Rep' WHERE rep_id = 'R004'")
    db = ["--db", str(small_store)]
    assert main([*db, "roles", "set", "lead@example.com", "Leader"]) == 0
    assert main([*db, "roles", "set", "helper@example.com", "REP", "--rep", "R004"]) == 0
    capsys.readouterr()
    assert main([*db, "roles", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("lead@example.com" in ln and "leader" in ln for ln in lines)
    assert any("helper@example.com" in ln and "Line Break Rep" in ln for ln in lines)
    assert not any(ln.strip().startswith("Break Rep") for ln in lines)


def test_rep_role_without_rep_takes_the_crm_email(small_store: Path) -> None:
    given = roles.set_role(small_store, "liam.cohen@example.com", "rep", scope=ADMIN)
    assert given.rep_id == "R002"
    with pytest.raises(BadInput, match="no rep has the email x@example.com; name the rep with --rep"):
        roles.set_role(small_store, "x@example.com", "rep", scope=ADMIN)


def test_only_admins_manage_roles(small_store: Path) -> None:
    for who in (LEADER, REP):
        with pytest.raises(Forbidden, match="needs the admin role"):
            roles.set_role(small_store, "x@example.com", "leader", scope=who)
        with pytest.raises(Forbidden, match="needs the admin role"):
            roles.remove_role(small_store, "x@example.com", scope=who)
        with store.read(small_store) as con, pytest.raises(Forbidden):
            roles.list_roles(con, scope=who)
    with store.read(small_store) as con:
        assert q.list_roles(con, scope=OPERATOR).empty


def test_bad_role_input_names_the_value_and_writes_nothing(small_store: Path) -> None:
    before = store.fingerprint(small_store)
    with pytest.raises(BadInput, match="unknown role 'owner'"):
        roles.set_role(small_store, "x@example.com", "owner", scope=ADMIN)
    with pytest.raises(BadInput, match="'x@' is not an email address"):
        roles.set_role(small_store, "x@", "leader", scope=ADMIN)
    with pytest.raises(BadInput, match="--rep R001 only applies to the rep role"):
        roles.set_role(small_store, "x@example.com", "leader", "R001", scope=ADMIN)
    with pytest.raises(NotFound, match="no rep 'R999'"):
        roles.set_role(small_store, "x@example.com", "rep", "R999", scope=ADMIN)
    with pytest.raises(NotFound, match="has no role to remove"):
        roles.remove_role(small_store, "x@example.com", scope=ADMIN)
    with pytest.raises(Forbidden, match="cannot take away your own admin role"):
        roles.set_role(small_store, "boss@example.com", "leader", scope=ADMIN)
    with pytest.raises(Forbidden, match="cannot remove your own role"):
        roles.remove_role(small_store, "Boss@example.com", scope=ADMIN)
    assert store.fingerprint(small_store) == before


def test_a_rep_role_names_the_rep_by_id_email_or_name(small_store: Path) -> None:
    """A CRM export names owners, not ids: `roles set EMAIL rep --rep "Ava Garcia"` as `plan --rep` takes it."""
    name = table(small_store, "SELECT name FROM reps WHERE rep_id = 'R001'")[0][0]
    for given in ("R001", AVA.upper(), f"  {name.lower()} "):
        assert roles.set_role(small_store, "ava.home@example.com", "rep", given, scope=ADMIN).rep_id == "R001"


def test_list_roles_sources_and_audit(small_store: Path) -> None:
    roles.set_role(small_store, "lead@example.com", "leader", scope=ADMIN)
    roles.set_role(small_store, "lead@example.com", "admin", scope=ADMIN)  # replaces, never duplicates
    roles.set_role(small_store, "ava.garcia@example.com", "rep", "R001", scope=ADMIN)
    roles.remove_role(small_store, "lead@example.com", scope=ADMIN)
    with store.read(small_store) as con:
        df = roles.list_roles(con, ("root@example.com",), scope=ADMIN)
        changes = roles.role_changes(con, scope=ADMIN)
    assert df["email"].is_unique
    by_email = df.set_index("email")
    assert by_email.loc["root@example.com", "source"] == "bootstrap admin (secrets)"
    assert by_email.loc["ava.garcia@example.com", "source"] == "roles table"
    assert by_email.loc["liam.cohen@example.com", "source"] == "rep email"
    assert "lead@example.com" not in by_email.index
    assert len(df) == 1 + 6  # root + six reps (ava through the table)
    assert list(changes["action"]) == ["role.remove", "role.set", "role.set", "role.set"]
    assert set(changes["actor"]) == {"boss@example.com"}
    assert json.loads(changes["detail"].iloc[1]) == {"email": "ava.garcia@example.com", "role": "rep", "rep_id": "R001"}


def test_cli_roles(small_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", str(small_store)]
    assert main([*db, "roles", "set", "Lead@Example.com", "leader"]) == 0
    assert "lead@example.com is now leader" in capsys.readouterr().err
    assert main([*db, "roles", "set", "helper@example.com", "rep", "--rep", "R003"]) == 0
    assert main([*db, "roles", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"email": "helper@example.com", "role": "rep", "rep_id": "R003", "rep_name": rows[1]["rep_name"],
            "source": "roles table"} in rows  # fmt: skip
    assert main([*db, "roles", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["email", "role", "rep_id", "rep_name", "source"]
    assert table[1].startswith("lead@example.com") and "leader" in table[1]
    assert main([*db, "roles", "remove", "lead@example.com"]) == 0
    assert main([*db, "roles", "remove", "lead@example.com"]) == 2
    assert "error: lead@example.com has no role to remove" in capsys.readouterr().err
    assert main([*db, "roles", "set", "x@example.com", "rep", "--rep", "R404"]) == 2
    assert "error: no rep 'R404'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*db, "roles", "set", "x@example.com", "owner"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("value", "ok"),
    [("a@b.com", True), (" Ava.Garcia@Example.com ", True), ("x@y", False), ("<a@b.com>", False),
     ("Bob Smith <bob@x.com>", False), ('"q"@x.com', False), ("a b@c.com", False), ("a@b.c", False),
     ("a..b@x.com", False), ("@x.com", False), ("a@-b.com", False), ("a@b.com@c.com", False)],
)  # fmt: skip
def test_only_plain_addresses_are_emails(value: str, ok: bool) -> None:
    assert roles.is_email(value) is ok


def test_crm_values_that_are_not_addresses_never_sign_in(small_store: Path) -> None:
    """A CRM owner value with an '@' that is not a plain address gives no one access, and is not listed."""
    with store.write(small_store) as con:
        con.execute("UPDATE reps SET email = 'Bob Smith <bob@example.com>' WHERE rep_id = 'R002'")
        con.execute("UPDATE reps SET email = 'carol@corp' WHERE rep_id = 'R003'")
    for email in ("bob@example.com", "Bob Smith <bob@example.com>", "carol@corp"):
        assert resolve(small_store, email) is None, email
    with store.read(small_store) as con:
        listed = set(roles.list_roles(con, scope=ADMIN)["email"])
    assert "carol@corp" not in listed and "bob smith <bob@example.com>" not in listed
    assert "ava.garcia@example.com" in listed  # a plain CRM address still is an identity
    with pytest.raises(BadInput, match="no rep has the email bob@example.com"):
        roles.set_role(small_store, "bob@example.com", "rep", scope=ADMIN)
