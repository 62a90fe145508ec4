"""Signing out ends the sign-in, not only the browser's copy of it: a rep's sign-in cookies saved before Sign out
and replayed in a fresh browser show the sign-in page and none of the rep's data; signing in again works. And the
rule itself: a sign-in issued before the user's last sign-out, or with no issue time, signs no one in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from planner import roles, store
from planner.errors import Forbidden
from planner.scope import Scope
from tests.helpers import (
    assert_no_exception,
    screenshot,
    sign_in_in_new_context,
    signed_in_app,
    wait_rendered,
)

COOKIE_SECRET = "cookie-secret-3f9b2d41-for-the-sign-out-test-only"


def test_a_sign_in_issued_before_the_last_sign_out_is_ended() -> None:
    assert not roles.signed_out(None, 1_000), "never signed out: the sign-in stands"
    assert not roles.signed_out(None, None)
    assert roles.signed_out(2_000.0, 1_000), "issued before the sign-out"
    assert roles.signed_out(2_000.0, 2_000), "the same second counts as before (sign-outs are whole seconds)"
    assert not roles.signed_out(2_000.0, 2_001), "signed in again after it"
    for missing in (None, "", "soon", True, float("nan"), [1]):
        assert roles.signed_out(2_000.0, missing), f"no readable issue time after a sign-out: {missing!r}"


def test_sign_out_is_recorded_for_oneself_only(small_store: Path, tmp_path: Path) -> None:
    path = small_store  # a private copy
    with store.read(path) as con:
        mine, other = (str(r[0]).lower() for r in con.execute(
            "SELECT email FROM reps WHERE rep_id IN ('R001', 'R002') ORDER BY rep_id").fetchall())  # fmt: skip
    me = Scope(role="rep", rep_id="R001", user=mine)
    with pytest.raises(Forbidden):
        roles.sign_out(path, other, scope=me)
    with store.read(path) as con:
        assert roles.last_sign_out(con, other) is None and roles.last_sign_out(con, mine) is None
    before = time.time()
    roles.sign_out(path, mine, scope=me)
    with store.read(path) as con:
        when = roles.last_sign_out(con, mine)
        assert when is not None and before - 1 <= when <= time.time()
        assert roles.last_sign_out(con, other) is None
        assert roles.role_changes(con, scope=Scope(role="admin", user="boss@example.com")).empty, "not a role change"


def _sidebar(page: Any) -> str:
    return (
        page.locator('[data-testid="stSidebar"]').inner_text()
        if page.locator('[data-testid="stSidebar"]').count()
        else ""
    )


def test_cookies_saved_before_sign_out_sign_no_one_in(small_store: Path, tmp_path: Path, browser: Any) -> None:
    path = small_store  # a private copy
    with store.read(path) as con:
        email = str(con.execute("SELECT email FROM reps WHERE rep_id = 'R001'").fetchone()[0])
        account = str(con.execute("SELECT name FROM accounts WHERE owner_rep_id = 'R001' LIMIT 1").fetchone()[0])
    with signed_in_app(path, tmp_path, COOKIE_SECRET) as (idp, url):
        ctx, page = sign_in_in_new_context(browser, idp, url, email)
        saved = [c for c in ctx.cookies() if c["name"].startswith("_streamlit_user")]
        assert {c["name"] for c in saved} >= {"_streamlit_user", "_streamlit_user_tokens"}, saved
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        assert_no_exception(page, "after sign-out")
        ctx.close()

        # The saved cookies in a fresh browser: the sign-in page, and none of the rep's data.
        replay = browser.new_context(viewport={"width": 1400, "height": 1000})
        replay.add_cookies(saved)
        page = replay.new_page()
        page.goto(f"{url}/targets", wait_until="domcontentloaded")
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        wait_rendered(page)
        screenshot(page, "signout-replayed-cookies")
        text = page.locator("body").inner_text()
        assert "Signed in as" not in text and email not in text and account not in text, text[:500]
        assert_no_exception(page, "replayed cookies")

        # Signing in again (a later token) works.
        time.sleep(1.1)  # sign-outs are kept to the second: a token of the same second counts as before it
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Signed in as").first.wait_for(timeout=90_000)
        wait_rendered(page)
        assert email in _sidebar(page)
        assert_no_exception(page, "signed in again")
        replay.close()
