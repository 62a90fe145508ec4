"""A shared link opened while signed out, in a real browser: after signing in through st.login (a real OIDC round
trip to tests.helpers.FakeOIDC), the user lands on the link's page with its query, narrowed for a rep with the
usual note, and not again once there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planner import store
from tests.helpers import (
    assert_no_exception,
    record_foreign_requests,
    screenshot,
    signed_in_app,
    wait_rendered,
)

COOKIE_SECRET = "cookie-secret-5a0e1c77-for-the-link-test-only"


def test_a_link_opened_signed_out_lands_on_its_page_after_sign_in(
    small_store: Path, tmp_path: Path, browser: Any
) -> None:
    with store.read(small_store) as con:
        email = str(con.execute("SELECT email FROM reps WHERE rep_id = 'R001'").fetchone()[0])
    with signed_in_app(small_store, tmp_path, COOKIE_SECRET) as (idp, url):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        foreign = record_foreign_requests(ctx)
        page = ctx.new_page()
        page.goto(f"{url}/targets?rep=R003&ind=Software&top=100", wait_until="domcontentloaded")
        wait_rendered(page)
        assert page.get_by_role("button", name="Sign in").count() == 1, "signed out: the sign-in page"
        idp.email = email
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Signed in as").first.wait_for(timeout=90_000)  # back from the provider
        page.wait_for_url("**/targets?**", timeout=60_000)
        wait_rendered(page)
        assert_no_exception(page, "targets after sign-in")
        assert page.locator("h1").first.inner_text().strip().startswith("Targets")
        assert "ind=Software" in page.url and "top=100" in page.url and "rep=R003" not in page.url, page.url
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "This link shows another territory" in sidebar and email in sidebar
        screenshot(page, "signin-keeps-the-link")
        # Once only: the kept link is forgotten, so the home address now stays home.
        page.wait_for_function("() => !document.cookie.includes('planner_view=')", timeout=30_000)
        page.goto(url, wait_until="domcontentloaded")
        wait_rendered(page)
        assert page.locator("h1").first.inner_text().strip().startswith("Overview"), page.url
        assert foreign == []
        ctx.close()
