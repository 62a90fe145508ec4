"""AppTest as each role: local mode, signed out, unknown email, rep (also with a URL naming another rep),
leader, admin; the copy-link field; sign-out; the Admin page. Sign-in fails closed: every unsafe
configuration shows a configuration error page and no data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit import config
from streamlit.testing.v1 import AppTest

from planner import roles, store
from planner.scope import OPERATOR, Scope
from planner.store import auth as q
from tests.helpers import AUTH, AVA, ROOT, app_as, app_pages, errors, kpis, metrics, page_text, sidebar_text
from ui import auth

CONFIG_ERROR = "Territory Planner is not configured safely"


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


@pytest.mark.parametrize("verified", [False, "false", "true", "True", 1, None, "missing"])
def test_only_a_verified_email_gets_in(app_store: Path, verified: object) -> None:
    """email_verified must be the boolean true: the string "false" (or "true"), 1, null or no claim fail."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.secrets.update(AUTH)
    at.user = {"is_logged_in": True, "email": AVA}
    if verified != "missing":
        at.user["email_verified"] = verified
    at.run()
    assert at.title[0].value == "Ask an admin for access"
    assert "did not confirm" in at.warning[0].value
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.sidebar.selectbox) == 0
    assert "_scope" not in at.session_state


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
    assert "This link shows another territory" in at.sidebar.warning[0].value
    assert at.sidebar.selectbox(key="sb_rep").value == "R001"
    own = kpis(app_store, Scope(role="rep", rep_id="R001", user=AVA))
    assert metrics(at)["Accounts"] == f"{own['accounts']:,}"
    assert at.query_params.get("rep") == "R001"  # the rep's own territory, not R003's
    # Editing the address again in the same session changes nothing either.
    at.query_params["rep"] = "R004"
    at.run()
    assert metrics(at)["Accounts"] == f"{own['accounts']:,}"
    assert "This link shows another territory" in at.sidebar.warning[0].value


def test_rep_through_the_roles_table(app_store: Path) -> None:
    roles.set_role(app_store, "Field.Rep@Example.com", "rep", "R002", scope=OPERATOR)
    at = app_as("field.rep@example.com")
    assert errors(at) == []
    assert at.sidebar.selectbox(key="sb_rep").value == "R002"
    assert list(at.dataframe[0].value["territory"]) == ["Liam Cohen"]


def test_leader_sees_everything_but_not_admin(app_store: Path) -> None:
    roles.set_role(app_store, "lead@example.com", "leader", scope=OPERATOR)
    at = app_as("lead@example.com", query={"rep": "R003"})
    assert errors(at) == []
    assert at.sidebar.selectbox(key="sb_rep").value == "R003"
    assert metrics(at)["Accounts"] == f"{kpis(app_store, OPERATOR, 'R003')['accounts']:,}"
    assert "Leader:" in sidebar_text(at)
    # Only admins have the Admin page in their menu; a shared /admin link says so (it showed 'Page not found').
    at = app_as("lead@example.com", page="admin")
    assert errors(at) == [] and at.dataframe == [] and at.text_input == []
    assert any("Only admins can manage roles" in str(w.value) for w in at.warning)


def test_bootstrap_admin_manages_roles_on_the_admin_page(app_store: Path) -> None:
    at = app_as("boss@example.com", page="admin")
    assert errors(at) == []
    access = at.dataframe[0].value
    assert access.loc[access["email"] == "boss@example.com", "source"].item() == "bootstrap admin (secrets)"
    assert access.loc[access["email"] == AVA, "rep_name"].item() == "Ava Garcia" and "rep_id" not in access.columns
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
    changes = at.dataframe[-1].value  # the audit's JSON as a line a person reads
    assert "role.remove" in list(changes["action"])
    assert list(changes["detail"][:2]) == ["new.lead@example.com: role removed", "new.lead@example.com: leader"]


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
    if path == "admin":  # not in a rep's menu; the link says it is for admins and shows nothing
        at = app_as(AVA, page="admin", query={"rep": "R003"})
        assert errors(at) == [] and at.dataframe == []
        assert any("Only admins can manage roles" in str(w.value) for w in at.warning)
        return
    at = app_as(AVA, page=path or None, query={"rep": "R003"})
    assert [str(e.value) for e in at.exception] == []
    assert at.title[0].value.startswith(title)  # the page itself ran, not a sign-in or no-access page
    assert at.sidebar.selectbox(key="sb_rep").value == "R001"
    text = page_text(at)
    leaked = [n for n in others if n in text]
    assert leaked == [], f"{title}: a rep's page names other reps {leaked}"


# ---------------------------------------------------------------------------------------------
# Fail closed

GOOD_AUTH = {
    "redirect_uri": "https://planner.example.com/oauth2callback",
    "cookie_secret": "k3y-0f-f0rty-ch4racters-kept-out-of-any-message",
    "client_id": "client-id",
    "client_secret": "client-secret-value",
    "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
}
EXAMPLE_SECRET = "replace-with-a-long-random-string"


def with_auth(**changes: Any) -> dict[str, Any]:
    section = {**GOOD_AUTH, **changes}
    return {"auth": {k: v for k, v in section.items() if v is not None}}


@pytest.mark.parametrize(
    ("secrets", "open_local", "address", "mode", "problem"),
    [
        (with_auth(), False, "0.0.0.0", "oidc", None),
        (with_auth(), True, None, "oidc", None),  # sign-in configured wins over open local mode
        ({}, True, "127.0.0.1", "local", None),
        ({}, True, "::1", "local", None),
        ({"planner": {"local_mode": True}}, False, "localhost", "local", None),
        ({}, False, "127.0.0.1", "error", "open local mode was not asked for"),
        ({"planner": {"local_mode": "true"}}, False, "127.0.0.1", "error", "was not asked for"),  # TOML true only
        ({}, True, "0.0.0.0", "error", "listens on 0.0.0.0, beyond this computer"),
        ({}, True, None, "error", "listens on every network interface"),
        ({}, True, "planner.example.com", "error", "beyond this computer"),
        (with_auth(cookie_secret=EXAMPLE_SECRET), False, "127.0.0.1", "error", "public example value"),
        (with_auth(cookie_secret="short-but-random-7f3a"), False, "127.0.0.1", "error", "shorter than 32"),
        (with_auth(cookie_secret=None), False, "127.0.0.1", "error", "[auth] has no cookie_secret"),
        (with_auth(client_secret=None), False, "127.0.0.1", "error", "[auth] has no client_secret"),
        (with_auth(redirect_uri="https://p.example.com/"), False, "127.0.0.1", "error", "end with /oauth2callback"),
        (with_auth(server_metadata_url="http://idp.example.com/x"), False, "127.0.0.1", "error", "https://"),
        (with_auth(client_id=None, client_secret=None, server_metadata_url=None), True, "127.0.0.1", "error",
         "names no identity provider"),
        ({"auth": {**with_auth(client_id=None, client_secret=None, server_metadata_url=None)["auth"],
                   "google": {"client_id": "c"}}}, False, "127.0.0.1", "error", "[auth.google] has no client_secret"),
        ({"auth": "yes"}, True, "127.0.0.1", "error", "not a table"),
    ],
)  # fmt: skip
def test_sign_in_mode_is_decided_fail_closed(
    secrets: dict[str, Any], open_local: bool, address: str | None, mode: str, problem: str | None
) -> None:
    decided = auth.decide(secrets, None, open_local=open_local, address=address)
    assert decided.mode == mode, decided
    if problem is None:
        assert decided.problems == ()
    else:
        assert any(problem in p for p in decided.problems), decided.problems
    for line in decided.problems:  # problems name keys, never values
        assert GOOD_AUTH["cookie_secret"] not in line and "client-secret-value" not in line


def test_an_unreadable_secrets_file_is_an_error_whatever_else() -> None:
    decided = auth.decide({}, "the secrets file x cannot be read", open_local=True, address="127.0.0.1")
    assert decided == auth.AuthConfig("error", ("the secrets file x cannot be read",))


def test_the_example_cookie_secret_is_read_from_the_example_file() -> None:
    assert EXAMPLE_SECRET in auth.example_cookie_secrets()


def assert_config_error(at: AppTest, problem: str) -> None:
    assert [str(e.value) for e in at.exception] == []
    assert at.title[0].value == CONFIG_ERROR
    assert problem in at.error[0].value.replace("\\", "")
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.sidebar.selectbox) == 0
    assert len(at.get("deck_gl_json_chart")) == 0 and len(at.get("plotly_chart")) == 0
    assert "_scope" not in at.session_state


@pytest.fixture
def option() -> Iterator[Any]:
    """Set Streamlit config options for one test (restored afterwards)."""
    saved: dict[str, Any] = {}

    def set_option(name: str, value: Any) -> None:
        saved.setdefault(name, config.get_option(name))
        config.set_option(name, value)

    yield set_option
    for name, value in saved.items():
        config.set_option(name, value)


@pytest.mark.parametrize(
    ("secrets", "problem"),
    [
        (with_auth(client_id=None), "[auth] has no client_id"),
        (with_auth(cookie_secret=EXAMPLE_SECRET), "public example value"),
        (with_auth(cookie_secret="0123456789abcdef"), "shorter than 32 characters"),
    ],
)
def test_a_broken_auth_section_serves_no_data(app_store: Path, secrets: dict[str, Any], problem: str) -> None:
    """Even a visitor whose (forged) cookie says they are a bootstrap admin gets the configuration error."""
    for page in (None, "admin", "targets"):
        at = app_as("boss@example.com", secrets={**secrets, "planner": {"admins": ["boss@example.com"]}}, page=page)
        assert_config_error(at, problem)


def test_no_open_local_mode_unless_asked(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANNER_OPEN_LOCAL")
    assert_config_error(app_as(None, secrets=None), "open local mode was not asked for")
    assert_config_error(app_as(None, secrets=None, page="data"), "open local mode was not asked for")
    at = app_as(None, secrets={"planner": {"local_mode": True}})  # the other explicit way
    assert errors(at) == [] and "Local mode" in sidebar_text(at)


def test_no_sign_in_beyond_loopback_serves_no_data(app_store: Path, option: Any) -> None:
    option("server.address", "0.0.0.0")
    assert_config_error(app_as(None, secrets=None), "listens on 0.0.0.0, beyond this computer")
    assert_config_error(app_as(None, secrets=None, page="admin"), "beyond this computer")
    at = app_as(AVA)  # with sign-in configured, any address is fine
    assert errors(at) == [] and at.sidebar.selectbox(key="sb_rep").value == "R001"


def test_an_unparsable_secrets_file_serves_no_data(app_store: Path, option: Any, tmp_path: Path) -> None:
    bad = tmp_path / "secrets.toml"
    bad.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\ncookie_secret = unquoted-secret\n')
    option("secrets.files", [str(bad)])
    st.secrets._reset()
    try:
        at = app_as(None, secrets=None)
    finally:
        st.secrets._reset()
    assert_config_error(at, "cannot be read (TOML syntax error")
    assert "unquoted-secret" not in page_text(at)
