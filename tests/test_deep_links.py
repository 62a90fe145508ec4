"""A copied link reproduces the view: open Overview with ?rep=R002, copy the sidebar's link with its
copy button (the real clipboard), open it in a fresh browser context, see the same territory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import assert_no_exception, screenshot, start_server, stop_server, wait_rendered

LINK = '[data-testid="stSidebar"] [data-testid="stCode"]'


@pytest.fixture(scope="module")
def small_server(
    tmp_path_factory: pytest.TempPathFactory, small_store_template: Path, module_store: Callable[[Path, Path], Path]
) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("deeplinks")
    db = module_store(small_store_template, tmp / "small.duckdb")  # a lake under PLANNER_TEST_STORE=lake
    proc, url = start_server(db, tmp / "server.log")
    yield url
    stop_server(proc)


@pytest.fixture(scope="module")
def tab(browser: Any) -> Iterator[Any]:
    """The tab a person works in, with the clipboard allowed: both tests start in it with a page load by address
    (a new session of the app), so chromium's renderer, warm from the first test, is not started again. Where a
    link is opened elsewhere, it is opened in a fresh context of its own, as before."""
    ctx = browser.new_context(
        viewport={"width": 1400, "height": 1000}, permissions=["clipboard-read", "clipboard-write"]
    )
    yield ctx.new_page()
    ctx.close()


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


def test_copied_link_opens_the_same_territory(small_server: str, browser: Any, tab: Any) -> None:
    page = goto(tab, f"{small_server}/?rep=R002")
    assert territory(page) == "Liam Cohen"
    assert "rep=R002" in page.url  # the territory stays in the address once the page ran
    accounts = page.locator('[data-testid="stMetric"]').first.inner_text()
    link = copy_link(page)
    assert link == page.locator(LINK).first.inner_text().strip()
    assert link.startswith(small_server) and "rep=R002" in link
    assert_no_exception(page, "overview?rep=R002")
    screenshot(page, "deep-link-sender")

    receiver = browser.new_context(viewport={"width": 1400, "height": 1000})
    other = open_page(receiver, link)
    assert territory(other) == "Liam Cohen"
    assert other.locator("h1").first.inner_text().strip() == "Overview"
    assert other.locator('[data-testid="stMetric"]').first.inner_text() == accounts
    assert "rep=R002" in other.url
    screenshot(other, "deep-link-receiver")
    receiver.close()


def test_changed_choice_and_page_are_in_the_link(small_server: str, browser: Any, tab: Any) -> None:
    page = goto(tab, f"{small_server}/admin?rep=R004")
    link = page.locator(LINK).first.inner_text().strip()
    assert link == f"{small_server}/admin?rep=R004"
    # Choose another territory in the sidebar: the link follows at once (it is written after the page ran).
    page.locator('[data-testid="stSidebar"] input[aria-label="Territory"]').first.click()
    page.get_by_role("option", name="Maya Reyes").click()
    wait_rendered(page)
    page.wait_for_function(
        "sel => document.querySelector(sel) && document.querySelector(sel).innerText.includes('rep=R003')",
        arg=LINK,
        timeout=30_000,
    )
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    again = open_page(fresh, page.locator(LINK).first.inner_text().strip())
    assert territory(again) == "Maya Reyes"
    assert again.locator("h1").first.inner_text().strip() == "Admin"
    fresh.close()
