"""A copied link reproduces the view: open Overview with ?rep=R004, copy the sidebar's link with its
copy button (the real clipboard), open it in a fresh browser context, see the same territory.

On conftest's hostile_server and hostile_tab (the small store with hostile names on reps R001-R003; the reps these
tests name, R004-R006, keep their plain names), which test_browser_security's pages and the Coverage tooltip test
share: one server and one warm tab for the three modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import assert_no_exception, screenshot, start_server, stop_server, wait_rendered

LINK = '[data-testid="stSidebar"] [data-testid="stCode"]'


def goto(page: Any, address: str) -> Any:
    page.goto(address, wait_until="domcontentloaded")
    wait_rendered(page)
    page.wait_for_selector(LINK, timeout=60_000)
    return page


def open_page(ctx: Any, address: str) -> Any:
    return goto(ctx.new_page(), address)


def territory(page: Any) -> str:
    return str(page.locator('[data-testid="stSidebar"] input[aria-label="Territory"]').first.input_value()).strip()


def copy_link(page: Any) -> str:
    """Click the copy button of the sidebar's link block and read the system clipboard."""
    block = page.locator(LINK).first
    block.hover()
    button = block.locator('button[aria-label="Copy to clipboard"]').first
    button.wait_for(state="visible", timeout=10_000)
    button.click()
    page.wait_for_timeout(300)
    return str(page.evaluate("navigator.clipboard.readText()")).strip()


def test_copied_link_opens_the_same_territory(hostile_server: str, browser: Any, hostile_tab: tuple[Any, ...]) -> None:
    """The tab a person works in has the clipboard allowed; the link is opened in a fresh context of its own."""
    small_server = hostile_server
    page = goto(hostile_tab[0], f"{small_server}/?rep=R004")
    assert territory(page) == "Noah Patel"
    assert "rep=R004" in page.url  # the territory stays in the address once the page ran
    accounts = page.locator('[data-testid="stMetric"]').first.inner_text()
    link = copy_link(page)
    assert link == page.locator(LINK).first.inner_text().strip()
    assert link.startswith(small_server) and "rep=R004" in link
    assert_no_exception(page, "overview?rep=R004")
    screenshot(page, "deep-link-sender")

    receiver = browser.new_context(viewport={"width": 1400, "height": 1000})
    other = open_page(receiver, link)
    assert territory(other) == "Noah Patel"
    assert other.locator("h1").first.inner_text().strip() == "Overview"
    assert other.locator('[data-testid="stMetric"]').first.inner_text() == accounts
    assert "rep=R004" in other.url
    screenshot(other, "deep-link-receiver")
    receiver.close()


def test_changed_choice_and_page_are_in_the_link(
    hostile_server: str, browser: Any, hostile_tab: tuple[Any, ...]
) -> None:
    small_server = hostile_server
    page = goto(hostile_tab[0], f"{small_server}/admin?rep=R006")
    link = page.locator(LINK).first.inner_text().strip()
    assert link == f"{small_server}/admin?rep=R006"
    # Choose another territory in the sidebar: the link follows at once (it is written after the page ran).
    page.locator('[data-testid="stSidebar"] input[aria-label="Territory"]').first.click()
    page.get_by_role("option", name="Priya Silva").click()
    wait_rendered(page)
    page.wait_for_function(
        "sel => document.querySelector(sel) && document.querySelector(sel).innerText.includes('rep=R005')",
        arg=LINK,
        timeout=30_000,
    )
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    again = open_page(fresh, page.locator(LINK).first.inner_text().strip())
    assert territory(again) == "Priya Silva"
    assert again.locator("h1").first.inner_text().strip() == "Admin"
    fresh.close()


@pytest.mark.parametrize("name", ["overview", "home"])
def test_overview_by_its_name_opens_the_overview(hostile_server: str, hostile_tab: tuple[Any, ...], name: str) -> None:
    """/overview (the default page's own name, typed or shared) showed 'Page not found', and so did /home (the name
    it had instead); each opens the Overview with its query, and its link opens it again."""
    page = goto(hostile_tab[0], f"{hostile_server}/{name}?rep=R004")
    assert page.locator("h1").first.inner_text().strip() == "Overview"
    assert territory(page) == "Noah Patel" and "Page not found" not in page.inner_text("body")
    assert page.url == f"{hostile_server}/{name}?rep=R004"
    assert page.locator(LINK).first.inner_text().strip() == f"{hostile_server}/{name}?rep=R004"


def test_home_is_the_overview_on_a_freshly_started_server(small_store: Path, tmp_path: Path, browser: Any) -> None:
    """The first request a server gets runs a file of pages/ before the navigation exists: /home showed 'Page not
    found' there (no such file) even once the navigation knew it."""
    proc, url = start_server(small_store, tmp_path / "server.log")
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = open_page(ctx, f"{url}/home?rep=R004")
        assert page.locator("h1").first.inner_text().strip() == "Overview"
        assert territory(page) == "Noah Patel" and "Page not found" not in page.inner_text("body")
        assert page.locator(LINK).first.inner_text().strip() == f"{url}/home?rep=R004"
    finally:
        ctx.close()
        stop_server(proc)
