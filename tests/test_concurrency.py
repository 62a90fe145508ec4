"""Concurrent use: many readers while a CLI process writes; several app processes on one store;
a session whose store changed under it."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from planner import store
from tests.apptest import errors, page
from tests.conftest import ROOT
from tests.test_browser import start_server, stop_server, wait_rendered

# Each world is internally consistent: deals reference accounts of the same world, and the
# number of accounts identifies the world. A reader that saw a mix would break one of these.
WORLDS = {700: 11, 900: 12}


def _reader(path: str, stop: mp.Event, out: mp.Queue) -> None:  # type: ignore[type-arg]
    seen: set[int] = set()
    reads = 0
    problems: list[str] = []
    while not stop.is_set():
        try:
            with store.read(Path(path)) as con:
                n = store.scalar(con, "SELECT count(*) FROM accounts")
                orphans = store.scalar(
                    con, "SELECT count(*) FROM deals d ANTI JOIN accounts a ON a.account_id = d.account_id"
                )
                seed = store.get_meta(con, "demo_seed")
            reads += 1
            seen.add(int(n))
            if int(n) not in WORLDS or orphans or str(WORLDS[int(n)]) != seed:
                problems.append(f"mixed view: {n} accounts, {orphans} orphan deals, seed {seed}")
        except Exception as exc:  # any error is a failure of the design
            problems.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.1)
    out.put((reads, sorted(seen), problems))


def test_twenty_readers_while_cli_writes(tmp_path: Path) -> None:
    db = tmp_path / "shared.duckdb"
    cli = [sys.executable, "-m", "planner", "--db", str(db), "demo", "--reps", "4", "--force"]
    subprocess.run([*cli, "--accounts", "700", "--seed", "11"], cwd=ROOT, check=True, capture_output=True)
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    stop = ctx.Event()
    readers = [ctx.Process(target=_reader, args=(str(db), stop, q)) for _ in range(20)]
    for r in readers:
        r.start()
    time.sleep(2)
    writes = 0
    for accounts, seed in [(900, 12), (700, 11), (900, 12)]:
        res = subprocess.run([*cli, "--accounts", str(accounts), "--seed", str(seed)], cwd=ROOT, capture_output=True)
        assert res.returncode == 0, res.stderr
        writes += 1
        time.sleep(0.5)
    stop.set()
    results = [q.get(timeout=60) for _ in readers]
    for r in readers:
        r.join(timeout=30)
    problems = [p for _, _, ps in results for p in ps]
    assert problems == []
    assert sum(n for n, _, _ in results) > 200
    assert writes == 3
    assert any(len(seen) == 2 for _, seen, _ in results), "readers saw the store change"


def _accounts_shown(browser: Any, url: str) -> str:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url, wait_until="domcontentloaded")
    wait_rendered(page)
    value = page.locator('[data-testid="stMetric"]').first.locator('[data-testid="stMetricValue"]').inner_text()
    page.close()
    return str(value).strip()


def test_two_app_processes_serve_one_store(small_store: Path, tmp_path: Path, browser: Any) -> None:
    servers = [start_server(small_store, tmp_path / f"s{i}.log") for i in range(2)]
    try:
        for _, url in servers:
            assert _accounts_shown(browser, url) == "600"
        # A CLI write while both servers run: no lock conflict.
        cmd = [sys.executable, "-m", "planner", "--db", str(small_store), "demo", "--accounts", "300", "--force"]
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        for _, url in servers:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as resp:
                assert resp.read().decode().strip() == "ok"
            assert _accounts_shown(browser, url) == "300"
    finally:
        for proc, _ in servers:
            stop_server(proc)


def test_session_refreshes_when_store_changes_under_it(app_store: Path) -> None:
    from planner import demo

    at = page("overview")
    assert {m.label: m.value for m in at.metric}["Accounts"] == "600"
    demo.build_store(app_store, 250, 3, seed=9, force=True)
    at.run()
    assert errors(at) == []
    assert {m.label: m.value for m in at.metric}["Accounts"] == "250"
