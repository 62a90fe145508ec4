"""Concurrent use: many readers while a CLI process writes; several app processes on one store;
a session whose store changed under it."""

from __future__ import annotations

import multiprocessing as mp
import time
import urllib.request
from pathlib import Path

from bench import load
from planner import cli
from planner.scope import OPERATOR
from tests.helpers import (
    errors,
    forked_processes,
    page,
    planner_environment,
    run_async,
    spawn_server,
    stop_server,
    wait_healthy,
)
from tests.store_reader import read_in_a_loop


def test_readers_while_cli_imports(small_store: Path, tmp_path: Path) -> None:
    """Eight reader processes read in a loop while the CLI imports twice: none is ever blocked or sees a
    half-written store. (Eight, not twenty: each spins a core, and twenty starved the rest of the suite.)"""
    from bench.import_speed import write_salesforce_export

    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    write_salesforce_export(first, 300, seed=21, n_reps=5)
    write_salesforce_export(second, 400, seed=22, n_reps=5)
    # Distinct ids, so the second import adds accounts instead of updating the first's.
    second.write_text(second.read_text().replace('"A0', '"B0'))
    ctx = forked_processes("tests.store_reader")  # forked from one server that imported the reader once
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    stop = ctx.Event()
    ready = ctx.Value("i", 0)
    env = planner_environment()
    readers = [ctx.Process(target=read_in_a_loop, args=(str(small_store), stop, ready, q, env)) for _ in range(8)]
    for r in readers:
        r.start()
    deadline = time.time() + 180
    while ready.value < len(readers) and time.time() < deadline:  # every reader has seen the demo store
        time.sleep(0.1)
    time.sleep(0.5)
    for csv_file in (first, second):  # the writer runs in this process, the readers in theirs
        assert cli.main(["--db", str(small_store), "import", str(csv_file), "--json"]) == 0
        time.sleep(1.0)
    stop.set()
    results = [q.get(timeout=120) for _ in readers]
    for r in readers:
        r.join(timeout=30)
    problems = [p for _, _, ps in results for p in ps]
    assert problems == []
    assert sum(n for n, _, _ in results) > 40
    seen = set().union(*(set(s) for _, s, _ in results))
    assert seen == {600, 300, 700}, f"readers saw every state of the store: {seen}"


def test_two_app_processes_serve_one_store(small_store: Path, tmp_path: Path) -> None:
    """Two `streamlit run` processes on one file store, a session open on each (Streamlit's websocket protocol, as a
    browser tab speaks it: bench/load.py): a CLI write while both serve meets no lock, and each session's next
    render shows it. (tests/test_lake_processes.py reads the same on a lake's replicas in a browser; a session
    here costs no chromium page load, 2.5-4 CPU-s each.)"""
    servers = [spawn_server(small_store, tmp_path / f"s{i}.log") for i in range(2)]  # both start at once
    try:
        for i, (proc, url) in enumerate(servers):
            wait_healthy(proc, url, tmp_path / f"s{i}.log")
        before, after = run_async(_a_write_between_renders([url for _, url in servers], small_store))
    finally:
        for proc, _ in servers:
            stop_server(proc)
    for render in before + after:
        assert render.status == "FINISHED_SUCCESSFULLY" and render.errors == [], render
    assert [r.metrics[0] for r in before] == ["600", "600"]
    assert [r.metrics[0] for r in after] == ["300", "300"]  # each server's next render of its open session


async def _a_write_between_renders(urls: list[str], db: Path) -> tuple[list[load.Render], list[load.Render]]:
    async with load.Session(0, 0, urls[0]) as first, load.Session(1, 1, urls[1]) as second:
        sessions = (first, second)
        before = [await s.render("") for s in sessions]
        # A CLI write while both servers run: no lock conflict.
        assert cli.main(["--db", str(db), "demo", "--accounts", "300", "--force"]) == 0
        for url in urls:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as resp:
                assert resp.read().decode().strip() == "ok"
        after = [await s.render("") for s in sessions]
    return before, after


def test_session_refreshes_when_store_changes_under_it(app_store: Path) -> None:
    from planner import demo

    at = page("overview")
    assert {m.label: m.value for m in at.metric}["Accounts"] == "600"
    demo.build_store(app_store, 250, 3, seed=9, force=True, scope=OPERATOR)
    at.run()
    assert errors(at) == []
    assert {m.label: m.value for m in at.metric}["Accounts"] == "250"
