"""Leaving a page during long work in a real browser: Streamlit stops the page's run when the user clicks another
page, and an import or an optimizer run done inside it died (nothing imported, no word; the Rebalance page looked
never run). They run as the user's background jobs now: back on the page, the progress shows, then the outcome as if
the user had stayed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import assert_no_exception, start_server, stop_server, table, wait_rendered

ROWS = 80_000  # an import of a few seconds (parsing, merging, saving, scoring) on a busy 2-core machine


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, demo_store_template: Path, module_store: Callable[[Path, Path], Path]
) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("jobs")
    db = module_store(demo_store_template, tmp / "jobs.duckdb")
    proc, url = start_server(db, tmp / "server.log")
    yield url, db
    stop_server(proc)


def _menu(page: Any, name: str) -> None:
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=name).first.click()


def test_an_optimizer_run_goes_on_while_the_user_is_on_another_page(served: tuple[str, Path], browser: Any) -> None:
    url, _ = served
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    # Three metrics: a run of several seconds on the demo store (first: the import below replaces the demo world).
    page.goto(f"{url}/rebalance?metric=potential&metric=accounts&metric=workload", wait_until="domcontentloaded")
    wait_rendered(page)
    page.get_by_role("button", name="Run optimizer").click()
    page.locator("[data-testid='stProgress']").first.wait_for(timeout=60_000)  # it runs
    _menu(page, "Targets")
    page.get_by_role("heading", name="Targets").first.wait_for(timeout=60_000)
    _menu(page, "Rebalance")
    page.get_by_role("heading", name="Rebalance territories").first.wait_for(timeout=60_000)
    # Back: the run that went on (its bar, or its result if it ended meanwhile), never a page that looks never run,
    # nor the run started again from scratch.
    seen: set[str] = set()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        body = page.inner_text("body")
        assert "then run the optimizer" not in body, "the run was lost on the way back"
        assert "Solving the assignment (HiGHS" not in body, "the run started again from scratch"  # the old spinner
        seen |= {w for w in ("Optimizer run ·", "Result, measured against what is possible") if w in body}
        if "Result, measured against what is possible" in body:
            break
        time.sleep(0.2)
    assert "Result, measured against what is possible" in seen
    wait_rendered(page)
    assert_no_exception(page, "rebalance after a run followed from another page")


def test_an_import_goes_on_while_the_user_is_on_another_page(
    served: tuple[str, Path], browser: Any, tmp_path: Path
) -> None:
    url, db = served
    cities = ["Berlin", "Paris", "Madrid", "Rome", "Vienna", "Lisbon", "Prague", "Warsaw"]
    big = tmp_path / "big_accounts.csv"
    big.write_text("Account Name,City,Country,Employees\n" + "".join(
        f"Away Co {i},{cities[i % 8]},Germany,{20 + i % 5000}\n" for i in range(ROWS)), encoding="utf-8")  # fmt: skip
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{url}/data", wait_until="domcontentloaded")
    wait_rendered(page)
    page.locator("input[type=file]").first.set_input_files(str(big))
    page.get_by_role("button", name="Import 1 table").wait_for(timeout=60_000)
    wait_rendered(page)
    page.get_by_role("button", name="Import 1 table").click()
    bar = page.locator("[data-testid='stProgress']")
    bar.first.wait_for(timeout=60_000)
    page.wait_for_timeout(3_000)  # the sidebar's line (run before the bar) read "2% · 0 s" until the import ended
    assert "Import of big_accounts.csv" not in page.locator("[data-testid='stSidebar']").inner_text()
    _menu(page, "Targets")  # while it imports
    page.get_by_role("heading", name="Targets").first.wait_for(timeout=60_000)
    _menu(page, "Data")
    # Back on the Data page: the import's progress, in words with the time it has taken, then its report.
    page.get_by_role("heading", name="Data").first.wait_for(timeout=60_000)  # the sidebar also names the import
    page.locator("[data-testid='stMain']").get_by_text("Import of big_accounts.csv ·").first.wait_for(timeout=60_000)
    assert "You can go to another page: this goes on" in page.inner_text("body")
    page.get_by_text(f"Imported {ROWS:,} new and 0 matched rows").wait_for(timeout=240_000)
    wait_rendered(page)
    assert_no_exception(page, "data after an import followed from another page")
    assert "Validation report" in page.inner_text("body")
    assert table(db, "SELECT count(*) FROM accounts WHERE name LIKE 'Away Co %'") == [(ROWS,)]
