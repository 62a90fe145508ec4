"""Shared fixtures: one small demo store built once per session and copied per test.

The same seed function (planner.demo.build_world) builds the demo store, these fixtures and the
benchmarks' worlds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from planner import demo
from planner.scope import OPERATOR
from tests.lake import any_store, empty_lake, lake_clones, postgres, small_lake, store_for_test  # noqa: F401 (fixtures)
from tests.stores import odd_app_store, odd_store, odd_store_factory, odd_store_templates  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[1]
# Tests run the app the way scripts/run does: open local mode, asked for explicitly, on loopback only.
# Tests of sign-in and of the fail-closed configuration set their own values.
os.environ.setdefault("PLANNER_OPEN_LOCAL", "1")
os.environ.setdefault("STREAMLIT_SERVER_ADDRESS", "127.0.0.1")
SMALL = {"n_accounts": 600, "n_reps": 6, "seed": 3}


@pytest.fixture(scope="session")
def small_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "small.duckdb"
    demo.build_store(path, **SMALL, scope=OPERATOR)
    return path


@pytest.fixture
def small_store(small_store_template: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A private copy of the small demo store (600 accounts, 6 reps, seed 3): a file, or a lake when the
    suite runs with PLANNER_TEST_STORE=lake (tests/lake.py)."""
    private: Callable[[Path, Path], Path] = request.getfixturevalue("store_for_test")
    return private(small_store_template, tmp_path / "store.duckdb")


@pytest.fixture
def app_store(small_store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The small store, made the app's store through PLANNER_DB (for AppTest)."""
    monkeypatch.setenv("PLANNER_DB", str(small_store))
    yield small_store


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright. Missing is a failure, never a skip."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/test, which installs Debian's chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that drive chromium carry the `browser` marker (scripts/test-lowest leaves them out)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
