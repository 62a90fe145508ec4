"""AppTest as each role: local mode, signed out, unknown email, rep (also with a URL naming another rep),
leader, admin; the copy-link field; sign-out; the Admin page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner import roles, store
from planner.scope import OPERATOR, Scope
from planner.store import auth as q
from tests.helpers import AUTH, AVA, ROOT, app_as, app_pages, errors, kpis, metrics, page_text, sidebar_text


def test_local_mode_is_a_single_admin_and_says_so(app_store: Path) -> None:
    at = app_as(None, secrets=None)
    assert errors(at) == []
    assert "Local mode" in sidebar_text(at)
    assert metrics(at)["Accounts"] == "600"
    assert at.sidebar.selectbox(key="sb_rep").options[0] == "All territories"
    admin = app_as(None, secrets=None, page="admin")
    assert errors(admin) == [] and admin.title[0].value == "Admin"
    assert len(admin.dataframe) >= 1  # who can sign in once sign-in is configured


def test_signed_out_sees_sign_in_and_no_data(app_store: Path) -> None:
    at = app_as(None)
    assert errors(at) == []
    assert at.title[0].value == "Territory Planner"
    assert [b.label for b in at.button] == ["Sign in"]
    assert len(at.metric) == 0 and len(at.dataframe) == 0
    assert len(at.sidebar.selectbox) == 0
    assert "_scope" not in at.session_state


def test_unknown_email_is_asked_to_see_an_admin(app_store: Path) -> None:
    at = app_as("stranger@example.org")
    assert at.title[0].value == "Ask an admin for access"
    assert "stranger@example" in at.warning[0].value
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.sidebar.selectbox) == 0
    assert [b.label for b in at.button] == ["Sign out"]


def test_unverified_email_gets_no_access(app_store: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.secrets.update(AUTH)
    at.user = {"is_logged_in": True, "email": AVA, "email_verified": False}
    at.run()
    assert at.title[0].value == "Ask an admin for access"
    assert len(at.metric) == 0


def test_rep_sees_only_their_territory(app_store: Path) -> None:
    at = app_as(AVA)
    assert errors(at) == []
    box = at.sidebar.selectbox(key="sb_rep")
    assert box.options == ["Ava Garcia"] and box.value == "R001"
    own = kpis(app_store, Scope(role="rep", rep_id="R001", user=AVA))
    assert metrics(at)["Accounts"] == f"{own['accounts']:,}"
    assert own["accounts"] < 600
    territories = at.dataframe[0].value
    assert list(territories["territory"]) == ["Ava Garcia"]
    assert "Signed in as" in sidebar_text(at) and "Rep:" in sidebar_text(at)
    assert "600 accounts" not in sidebar_text(at)  # store-wide totals are not a rep's business


def test_rep_whose_url_names_another_rep_still_sees_their_own(app_store: Path) -> None:
    at = app_as(AVA, query={"rep": "R003"})
    assert errors(at) == []
    assert "asked for territory R003" in at.sidebar.warning[0].value
    assert at.sidebar.selectbox(key="sb_rep").value == "R001"
    own = kpis(app_store, Scope(role="rep", rep_id="R001", user=AVA))
    assert metrics(at)["Accounts"] == f"{own['accounts']:,}"
    assert "rep" not in at.query_params
    # Editing the address again in the same session changes nothing either.
    at.query_params["rep"] = "R004"
    at.run()
    assert metrics(at)["Accounts"] == f"{own['accounts']:,}"
    assert "asked for territory R004" in at.sidebar.warning[0].value


def test_rep_through_the_roles_table(app_store: Path) -> None:
    roles.set_role(app_store, OPERATOR, "Field.Rep@Example.com", "rep", "R002")
    at = app_as("field.rep@example.com")
    assert errors(at) == []
    assert at.sidebar.selectbox(key="sb_rep").value == "R002"
    assert list(at.dataframe[0].value["territory"]) == ["Liam Cohen"]


def test_leader_sees_everything_but_not_admin(app_store: Path) -> None:
    roles.set_role(app_store, OPERATOR, "lead@example.com", "leader")
    at = app_as("lead@example.com", query={"rep": "R003"})
    assert errors(at) == []
    assert at.sidebar.selectbox(key="sb_rep").value == "R003"
    assert metrics(at)["Accounts"] == f"{kpis(app_store, OPERATOR, 'R003')['accounts']:,}"
    assert "Leader:" in sidebar_text(at)
    with pytest.raises(ValueError, match="Could not find a navigation page for .*admin.py"):
        app_as("lead@example.com", page="admin")  # only admins have the Admin page in their navigation


def test_bootstrap_admin_manages_roles_on_the_admin_page(app_store: Path) -> None:
    at = app_as("boss@example.com", page="admin")
    assert errors(at) == []
    access = at.dataframe[0].value
    assert access.loc[access["email"] == "boss@example.com", "source"].item() == "bootstrap admin (secrets)"
    assert access.loc[access["email"] == AVA, "rep_id"].item() == "R001"
    at.text_input(key="adm_email").input("new.lead@example.com")
    at.selectbox(key="adm_role").set_value("leader")
    at.button(key="adm_save").click().run()
    assert errors(at) == []
    assert "new.lead@example.com is now leader" in at.success[0].value.replace("\\", "")
    with store.read(app_store) as con:
        assert q.role_of(con, "new.lead@example.com") == ("leader", None)
    at.selectbox(key="adm_remove").set_value("new.lead@example.com")
    at.button(key="adm_remove_btn").click().run()
    with store.read(app_store) as con:
        assert q.role_of(con, "new.lead@example.com") is None
    assert "role.remove" in list(at.dataframe[-1].value["action"])


def test_admin_page_refuses_a_bad_email_with_one_line(app_store: Path) -> None:
    at = app_as("boss@example.com", page="admin")
    at.text_input(key="adm_email").input("not-an-email")
    at.button(key="adm_save").click().run()
    assert "not an email address" in at.error[0].value
    assert len(at.exception) == 0


def test_sign_out_returns_to_the_sign_in_page(app_store: Path) -> None:
    at = app_as(AVA)
    at.sidebar.button(key="sb_logout").click().run()
    at.run()
    assert at.title[0].value == "Territory Planner"
    assert len(at.metric) == 0


def test_copy_link_holds_the_page_address_and_the_query(app_store: Path) -> None:
    at = app_as(None, secrets=None, query={"rep": "R002"}, context={"url": "http://planner.example.com/"})
    assert errors(at) == []
    link = at.sidebar.code[0].value
    assert link == "http://planner.example.com/?rep=R002"
    at.sidebar.selectbox(key="sb_rep").set_value("R004").run()
    assert at.sidebar.code[0].value == "http://planner.example.com/?rep=R004"  # written after the page ran


@pytest.mark.parametrize("path,title", app_pages(), ids=[p or "overview" for p, _ in app_pages()])
def test_a_rep_sees_no_other_rep_on_any_page(app_store: Path, path: str, title: str) -> None:
    """As rep R001 with a URL naming R003, every page renders and names no other rep."""
    with store.read(app_store) as con:
        others = [n for r, n in store.query_df(con, "SELECT rep_id, name FROM reps").itertuples(index=False)
                  if r != "R001"]  # fmt: skip
    stem = re.search(rf'"pages/(\w+)\.py", title="{re.escape(title)}"', (ROOT / "app.py").read_text())
    assert stem
    if stem.group(1) == "admin":  # not in a rep's navigation at all
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app_as(AVA, page="admin", query={"rep": "R003"})
        return
    at = app_as(AVA, page=None if stem.group(1) == "overview" else stem.group(1), query={"rep": "R003"})
    assert [str(e.value) for e in at.exception] == []
    assert at.title[0].value.startswith(title)  # the page itself ran, not a sign-in or no-access page
    assert at.sidebar.selectbox(key="sb_rep").value == "R001"
    text = page_text(at)
    leaked = [n for n in others if n in text]
    assert leaked == [], f"{title}: a rep's page names other reps {leaked}"
