"""Shared fixtures: one small demo store built once per session and copied per test.

The same seed function (planner.demo.build_world) builds the demo store, these fixtures and the
benchmarks' worlds.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from planner import demo, store
from planner.scope import OPERATOR
from tests.helpers import make_hostile, record_foreign_requests, start_server, stop_server
from tests.lake import (  # noqa: F401 (fixtures)
    _maker,
    any_empty_store,
    any_store,
    empty_lake,
    lake_clones,
    module_store,
    new_store,
    postgres,
    small_lake,
    store_for_test,
)
from tests.stores import odd_app_store, odd_store, odd_store_factory, odd_store_templates, session_file  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[1]
# Tests run the app the way scripts/run does: open local mode, asked for explicitly, on loopback only.
# Tests of sign-in and of the fail-closed configuration set their own values.
os.environ.setdefault("PLANNER_OPEN_LOCAL", "1")
os.environ.setdefault("STREAMLIT_SERVER_ADDRESS", "127.0.0.1")
# Three workers share two cores here (and each app server a test starts): one DuckDB thread per database keeps
# their queries from fighting over the cores (18% less CPU on the import tests, the same wall time alone).
os.environ.setdefault("PLANNER_DUCKDB_THREADS", "1")
SMALL = {"n_accounts": 600, "n_reps": 6, "seed": 3}


@pytest.fixture(scope="session")
def small_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo store, built once per run (shared by the xdist workers): copy it, never write it."""
    return session_file(tmp_path_factory, "small.duckdb", lambda path: demo.build_store(path, **SMALL, scope=OPERATOR))


@pytest.fixture(scope="session")
def demo_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default demo store (build_store's defaults: 5,000 accounts, 12 reps, seed 7), built once per run and
    shared by the xdist workers (4.3 CPU-s a build), with the counts build_store returned beside it
    (demo.duckdb.counts.json): copy it, never write it."""

    def build(path: Path) -> None:
        counts = demo.build_store(path, scope=OPERATOR)
        path.with_name(f"{path.name}.counts.json").write_text(json.dumps(counts))

    return session_file(tmp_path_factory, "demo.duckdb", build)


@pytest.fixture
def small_store(small_store_template: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A private copy of the small demo store (600 accounts, 6 reps, seed 3): a file, or a lake when the
    suite runs with PLANNER_TEST_STORE=lake (tests/lake.py)."""
    private: Callable[[Path, Path], Path] = request.getfixturevalue("store_for_test")
    return private(small_store_template, tmp_path / "store.duckdb")


@pytest.fixture(scope="session")
def empty_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the schema and no rows, migrated once per run (0.4 CPU-s a store): copy it, never write it."""
    return session_file(tmp_path_factory, "empty.duckdb", store.migrate)


@pytest.fixture
def empty_store(empty_store_template: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A private store with the schema and no rows: a copy of the template, or under PLANNER_TEST_STORE=lake a
    lake holding it."""
    private: Callable[[Path, Path], Path] = request.getfixturevalue("store_for_test")
    return private(empty_store_template, tmp_path / "empty.duckdb")


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
    # No host name but localhost resolves: nothing a page asks for can leave the machine (tests record such
    # requests with tests.helpers.record_foreign_requests and fail on them).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="module")
def small_app(
    tmp_path_factory: pytest.TempPathFactory, small_store_template: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The app (its url) on a private copy of the small demo store, one per test module that asks (its tests may
    write); a lake under PLANNER_TEST_STORE=lake."""
    tmp = tmp_path_factory.mktemp("app")
    db = request.getfixturevalue("module_store")(small_store_template, tmp / "app.duckdb")
    proc, url = start_server(db, tmp / "server.log")
    yield url
    stop_server(proc)


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


@pytest.fixture(scope="session")
def hostile_server(tmp_path_factory: pytest.TempPathFactory, small_store_template: Path,
                   request: pytest.FixtureRequest) -> Iterator[str]:  # fmt: skip
    """The app on a copy of the small store with hostile names (tests.helpers.make_hostile; a lake under
    PLANNER_TEST_STORE=lake), started once for the three modules that only read it: test_browser_security's pages,
    test_deep_links and test_page_coverage's tooltip (one xdist group, GROUPS below)."""
    tmp = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as monkeypatch:
        db = _maker(request, monkeypatch)(small_store_template, tmp / "hostile.duckdb")
        make_hostile(db)
        proc, url = start_server(db, tmp / "server.log")
        yield url
        stop_server(proc)


@pytest.fixture(scope="session")
def hostile_tab(browser: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    """One tab for every test on hostile_server, recording requests leaving the machine and dialogs, with the
    clipboard allowed (test_deep_links copies a link) and downloads accepted: each test opens its page by its
    address in it (a whole page load and a new session of the app), so chromium's renderer, warm from the test
    before, is not started again (a fresh tab's first load costs 3-4 CPU-s more)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True,
                              permissions=["clipboard-read", "clipboard-write"])  # fmt: skip
    foreign = record_foreign_requests(ctx)
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield page, foreign, dialogs
    ctx.close()


# Scheduling over xdist workers (`--dist loadgroup`, set in pyproject.toml). Tests that share a server their module
# starts form one group, run by one worker, so the server starts once, not once per worker: (node id prefix,
# group), the first match wins.
GROUPS = (
    ("tests/test_browser.py::", "first-launch"),
    ("tests/test_browser_walk.py::", "walk-paths"),
    # One server and tab on the hostile small store (hostile_server, hostile_tab) for these three modules' tests.
    ("tests/test_browser_security.py::test_hostile_names_show_as_text_and_nothing_leaves_the_machine[", "hostile"),
    ("tests/test_deep_links.py::", "hostile"),
    ("tests/test_page_coverage.py::test_map_draws_in_a_browser_and_tooltips_show_names_as_text", "hostile"),
    # Not a server: the sweep's base store (a committed scenario and saved plans, ~3 CPU-s) is built once, not
    # once per worker.
    ("tests/test_scope_sweep.py::", "scope-sweep"),
)
# The groups and the tests that take longest, handed out first, longest first (LPT), so they run side by side
# instead of leaving one worker busy at the end. Seconds from --durations of the quiet whole run of 2026-12-01
# 23:40 UTC (3 workers on 2 cores; a group: its tests' sum): add a new slow test here. The first three need
# different stores, so no worker waits for another's store build. The rest follow in file order.
FIRST = (
    "hostile",  # 9 pages, ~220 s, with the deep links (~46 s) and the Coverage tooltip (~20 s)
    "first-launch",  # 121 s
    "walk-paths",  # 88 + 32 s
    "tests/test_browser_security.py::test_a_rep_signed_in_through_oidc_sees_only_their_own_accounts",  # 80 s
    "tests/test_lake_processes.py::test_replicas_see_each_other_and_outlive_a_postgres_restart",  # 80 s
    "tests/test_concurrency.py::test_two_app_processes_serve_one_store",  # 40 s
    "tests/test_lake_processes.py::test_two_by_twenty_small_writes_all_land",  # 39 + 35 s
    "scope-sweep",  # 388 tests, ~30 s
    "tests/test_load.py::test_sessions_render_pages_without_errors",  # 33 + 32 s
    "tests/test_lake_matrix.py::test_every_command_on_a_lake",  # 33 s
    "tests/test_fuzz_import.py::test_readable_messy_files_count_every_row",  # 33 s
    "tests/test_optimize.py::test_cli_balances_several_metrics_with_one_tolerance_each",  # 26 s
    "tests/test_optimize.py::test_disruption_curve_trades_travel_for_moves_and_prices_the_default",  # 21 s
    "tests/test_lake_processes.py::test_killed_import_leaves_the_old_lake_and_the_next_import_lands",  # 20 s
    "tests/test_concurrency.py::test_readers_while_cli_imports",  # 16 s
    "tests/test_browser_security.py::test_secrets_never_reach_the_browser_or_the_log",  # 16 s
    "tests/test_cli.py::test_demo_then_export_accounts_and_reps",  # 15 s
    "tests/test_lake_processes.py::test_two_concurrent_imports_both_land",  # 14 s
    "tests/test_faults.py::test_import_killed_halfway_leaves_store_as_before",  # 13 s
    "tests/test_page_rebalance.py::test_page_offers_contiguous_areas",  # 12 s
    "tests/test_optimize.py::test_default_demo_store_keeps_travel",  # 10 s
    "tests/test_packaging.py::test_wheel_installs_and_planner_runs_outside_the_checkout",  # 10 s
    "tests/test_page_rebalance.py::test_page_shows_the_disruption_trade_off",  # 10 s
    "tests/test_page_rebalance.py::test_page_saves_commits_and_restores",  # 9 s
    "tests/test_style.py::test_mypy_clean_on_planner",
)


def _group(nodeid: str) -> str | None:
    for prefix, group in GROUPS:
        if nodeid.startswith(prefix):
            return group
    return None


def _rank(nodeid: str) -> int:
    group = _group(nodeid)
    return next((i for i, key in enumerate(FIRST) if key == group or nodeid.startswith(key)), len(FIRST))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_GroupNames(), "planner-xdist-group-names")
    # Hand out the work units in the order below, not biggest group first (pytest-xdist 3.7+; older ones sort).
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    if hasattr(pd.errors, "Pandas4Warning"):  # pandas 3+; a filter naming a class pandas 2.2 lacks stops pytest
        config.addinivalue_line("filterwarnings", "error::pandas.errors.Pandas4Warning")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that drive chromium carry the `browser` marker (scripts/test-lowest leaves them out); the groups
    and the slowest tests come first, in the order of FIRST (every worker collects the same order)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        group = _group(item.nodeid)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: _rank(item.nodeid))  # stable: a group's tests and the rest keep their order


class _GroupNames:
    """xdist's loadgroup scheduler reads a test's group from its node id (`<id>@<group>`), which xdist's worker
    sets by assigning `item._nodeid`. pytest 9.2 keeps the id in `item._id`, so that assignment does nothing:
    every group was silently spread over all workers, and each worker started the group's server and tab again
    (the hostile pages: 3 servers instead of 1). This names the grouped tests itself where xdist's naming was lost,
    and stops the run if a test still lacks its group's name."""

    @pytest.hookimpl(trylast=True)  # after xdist's own naming
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if not getattr(config.option, "loadgroup", False):  # not an xdist worker of a loadgroup run
            return
        for item in items:
            marks = item.iter_markers("xdist_group")
            group = "_".join(sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks}))
            if not group or item.nodeid.endswith(f"@{group}"):
                continue
            if hasattr(item, "_id"):  # pytest 9.2+
                from _pytest.nodeid import NodeId

                item._id = NodeId.parse(f"{item.nodeid}@{group}")
            if not item.nodeid.endswith(f"@{group}"):
                raise pytest.UsageError(f"{item.nodeid}: its xdist group {group!r} cannot be named in its node id")


# Opt-in CPU accounting per test: PLANNER_TEST_CPU=<file> appends one JSON line per test (its id, module, fixtures,
# worker, wall seconds and the worker process's CPU seconds: RUSAGE_SELF plus RUSAGE_CHILDREN, set-up and tear-down
# of its fixtures included). A module or session fixture is charged to the test that sets it up or tears it down; a
# server started as a subprocess is charged when it is reaped. Chromium's renderers end as orphans and are charged
# to no test (measure them with tests.cputree).
_CPU_LOG = os.environ.get("PLANNER_TEST_CPU")


def _cpu_now() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if _CPU_LOG:

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
        cpu, wall = _cpu_now(), time.monotonic()
        yield
        row = {
            "test": item.nodeid,
            "module": item.nodeid.split("::")[0],
            "fixtures": sorted(getattr(item, "fixturenames", ())),
            "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
            "cpu": round(_cpu_now() - cpu, 3),
            "wall": round(time.monotonic() - wall, 3),
            "phases": getattr(item, "_cpu_phases", {}),
        }
        _log(row)

    def _log(row: dict[str, Any]) -> None:
        with open(str(_CPU_LOG), "a") as f:
            f.write(json.dumps(row) + "\n")

    def _phase(item: pytest.Item, name: str) -> Iterator[None]:
        cpu = _cpu_now()
        yield
        item.__dict__.setdefault("_cpu_phases", {})[name] = round(_cpu_now() - cpu, 3)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
        yield from _phase(item, "setup")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
        yield from _phase(item, "call")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
        yield from _phase(item, "teardown")

    class _FixtureCpu:
        """The set-up of each fixture alone: the fixtures it asks for are set up inside it and taken out. Registered
        as a plugin, since a conftest's hook sees only the fixtures of its own folder's nodes (not session ones)."""

        def __init__(self) -> None:
            self.inner: list[float] = []

        @pytest.hookimpl(hookwrapper=True)
        def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Iterator[None]:
            cpu = _cpu_now()
            self.inner.append(0.0)
            yield
            spent = _cpu_now() - cpu
            own = spent - self.inner.pop()
            if self.inner:
                self.inner[-1] += spent
            if own >= 0.05:
                _log(
                    {
                        "fixture": fixturedef.argname,
                        "scope": fixturedef.scope,
                        "test": request.node.nodeid,
                        "cpu": round(own, 3),
                    }
                )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(session: pytest.Session) -> None:
        session.config.pluginmanager.register(_FixtureCpu(), "planner-fixture-cpu")


@pytest.fixture(autouse=True)
def _money_in_dollars() -> Iterator[None]:
    """Each test starts with money in US dollars: a CLI command or a page run on a store in another currency sets
    the symbol for the rest of its thread (planner.text.use_currency)."""
    from planner import text

    text.use_currency(None)
    yield
    text.use_currency(None)
