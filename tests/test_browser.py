"""Real-browser tests: Playwright drives Debian's chromium against `streamlit run app.py`.

The server starts on a store path that does not exist yet, so the first request exercises the
embedded default (demo store built on first launch). The first page opened is a deep link, the
trap described in docs/TESTING.md. Then every page, by its own address (Data where the Overview's link to it
lands), is read as a person reads it (#16), at the width the window has when it loads, then at the other:
at 1400 and 1100 px no clipped label, select value, pill or metric and no raw token; pages whose link
carries values they cannot use say so in a note (JUNK). The store is the demo the app builds on first launch
(1,500 accounts, 8 reps, seed 3: a bigger book than the walk's 600 x 6), and each page is loaded once for all
these checks.
A browser that cannot start is a failure, never a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    WIDTHS,
    app_pages,
    assert_no_exception,
    full_shot,
    reads_right,
    record_foreign_requests,
    screenshot,
    start_server,
    stop_server,
    view,
    wait_map_drawn,
    wait_rendered,
)

# The demo the app itself builds on first launch (tests/test_browser_walk.py walks the small store, 600 x 6).
DEMO = {"PLANNER_DEMO_ACCOUNTS": "1500", "PLANNER_DEMO_REPS": "8", "PLANNER_DEMO_SEED": "3"}
# Link values nobody can use, opened as these pages' own addresses: each page ignores them with a note naming
# every one and otherwise reads as its plain address does (the defaults), so one load serves both checks. An
# unknown rep is the sidebar's, on every page: it rides on the Settings load (the Overview stays plain, as the
# README's picture of it).
JUNK = {
    "coverage": "layers=bogus&metric=nope",
    "targets": "size=huge&top=7&minp=abc&ind=NoSuchIndustry",
    "rebalance": "metric=bogus&unit=planet&tol=9",
    "settings": "rep=NOBODY",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("browser")
    db = tmp / "fresh.duckdb"
    assert not db.exists()
    proc, url = start_server(db, tmp / "server.log", DEMO)
    yield url, db
    stop_server(proc)


def test_deep_link_first_then_every_page(server: tuple[str, Path], browser: Any) -> None:
    url, db = server
    pages = app_pages()
    assert pages[0][0] == "", "Overview is the default page"
    ctx = browser.new_context(viewport={"width": WIDTHS[0], "height": 1000})
    foreign = record_foreign_requests(ctx)
    page = ctx.new_page()
    # 1. A deep link is the very first request of the freshly started server (and builds the demo store).
    deep_path, deep_title = pages[-1] if len(pages) > 1 else pages[0]
    page.goto(f"{url}/{deep_path}", wait_until="domcontentloaded")
    wait_rendered(page, 180)
    assert db.exists(), "the demo store was built on first launch"
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    for _, title in pages:
        assert title in nav, f"navigation lists {title!r} (not file names) after a deep link"
    assert page.locator("h1").first.inner_text().strip().startswith(deep_title)
    assert_no_exception(page, deep_path)
    screenshot(page, "deep-link-first")
    # 2. Every page, by its own address, renders without an exception and reads right at every width: read at the
    #    width the window has when it loads, then resized to the other (so the window is not resized before a load:
    #    a layout and paint of the page being left). The deep-linked page is read on the load above.
    read_page(page, deep_path, deep_title)
    read = {deep_path}
    for path, title in pages:
        if path in read:
            continue
        page.goto(f"{url}/{path}" + (f"?{JUNK[path]}" if path in JUNK else ""), wait_until="domcontentloaded")
        wait_rendered(page)
        if path in JUNK:
            junk_is_ignored_with_a_note(page, path)
        read_page(page, path, title)
        read.add(path)
        if path == "" and "data" not in read:
            # The Overview's link to upload CRM exports opens the Data page, which is read there (a page load of
            # ~8 CPU-s fewer; the hostile-names and OIDC tests open /data by its own address).
            read_page(page, "data", dict(pages)["data"])
            read.add("data")
    assert read == {path for path, _ in pages}
    ctx.close()
    assert foreign == [], f"requests left 127.0.0.1: {foreign[:3]}"


def junk_is_ignored_with_a_note(page: Any, path: str) -> None:
    """The page opened with JUNK in its link says it ignored them, naming each name=value; the Coverage map
    still draws its default layers (never a blank map: many colours on its canvas)."""
    body = page.inner_text("body")
    assert "Ignored from this link" in body, f"{path or 'overview'}: no note for {JUNK[path]}"
    for pair in JUNK[path].split("&"):
        assert pair in body, f"{path or 'overview'}: the note does not name {pair}"
    if path == "coverage":
        assert wait_map_drawn(page) > 40


def read_page(page: Any, path: str, title: str) -> None:
    """The page as loaded: its title, no exception, and it reads right at every width (no clipped text, no raw
    token), the width the window has first, with a picture of the whole page at each (full_shot; its blank check)."""
    name = path or "overview"
    assert page.locator("h1").first.inner_text().strip().startswith(title), path
    assert_no_exception(page, name)
    now = page.viewport_size["width"]
    for width in sorted(WIDTHS, key=lambda w: w != now):
        if width != now:
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(700)  # the layout follows the window; nothing reruns
        reads_right(page, f"{name} at {width} px")
        full_shot(page, f"read-{width}-{name}")
        if width == WIDTHS[0] and name == "overview":
            view(page, "readme-overview")
    if name == "overview":
        overview_says_demo_and_links_to_data(page)


def overview_says_demo_and_links_to_data(page: Any) -> None:
    """The Overview (read on the load above) says the data is a demo of the store built on first launch, and
    its link to upload CRM exports opens the Data page."""
    body = page.inner_text("body")
    assert "This is demo data" in body
    assert "1,500" in body  # accounts of the demo store built on first launch
    page.get_by_text("Upload your CRM exports").click()
    wait_rendered(page)
    assert page.locator("h1").first.inner_text().strip() == "Data"
    assert "/data" in page.url
