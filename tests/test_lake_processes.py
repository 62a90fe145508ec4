"""Real processes on one DuckLake (#19 points 4, 5 and 7): concurrent imports and small writes all land, a
killed import leaves the old store, a stopped PostgreSQL is said plainly, replicas see each other, and the
load balancer's configuration keeps a browser on its replica."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bench import load
from planner import cli, optimize, scenarios, store
from planner.errors import WriteConflict
from planner.scope import OPERATOR
from planner.store import core
from tests.conftest import ROOT
from tests.helpers import (
    HAPROXY,
    assert_one_row_per_key,
    first_metric_of,
    forked_processes,
    free_port,
    haproxy_config,
    open_rendered,
    planner_environment,
    read_until,
    rerun_first_metric,
    run_async,
    spawn_server,
    stop_server,
    wait_healthy,
    wait_rendered,
)
from tests.lake import LakeClones, Postgres
from tests.lake_writer import cli_in_a_process, small_writes


@pytest.fixture(autouse=True)
def _patient_writers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers take turns; on a loaded CI machine one import can hold the lake for minutes."""
    monkeypatch.setenv("PLANNER_LOCK_TIMEOUT_S", "900")


def _import(db: Path, csv_file: Path, *flags: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "planner", "--db", str(db), "import", str(csv_file), "--json", *flags]
    return subprocess.Popen(cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _accounts(db: Path) -> int:
    with store.read(db) as con:
        return int(store.scalar(con, "SELECT count(*) FROM accounts"))


def test_two_concurrent_imports_both_land(small_lake: Path, tmp_path: Path) -> None:
    from bench.import_speed import write_salesforce_export

    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    write_salesforce_export(first, 300, seed=21, n_reps=5)
    write_salesforce_export(second, 400, seed=22, n_reps=5)
    second.write_text(second.read_text().replace('"A0', '"B0'))  # distinct ids: both add accounts
    # Two processes forked from one fork server (tests.helpers.forked_processes), each running the CLI's import:
    # `python -m planner` itself is test_cli's; here two processes writing one lake at once are the point.
    ctx = forked_processes("tests.lake_writer")
    q: Any = ctx.Queue()
    argvs = [["--db", str(small_lake), "import", str(f), "--json"] for f in (first, second)]
    procs = [ctx.Process(target=cli_in_a_process, args=(argv, planner_environment(), q)) for argv in argvs]
    for p in procs:
        p.start()
    done = [q.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [code for code, _ in done] == [0, 0], done
    assert _accounts(small_lake) == 700  # the demo went with the first import; both files landed
    with store.read(small_lake) as con:
        assert store.scalar(con, "SELECT count(*) FROM imports") == 2
        assert store.scalar(con, "SELECT count(DISTINCT import_id) FROM imports") == 2
    assert_one_row_per_key(small_lake)


def test_two_by_twenty_small_writes_all_land(small_lake: Path, lake_clones: LakeClones) -> None:
    """Two writer processes make 20 small writes each, twice: on one lake with the advisory lock (writers take
    turns and never conflict), then on a second lake, a clone of the same store, without it (PLANNER_LAKE_LOCK=0):
    there their commits really conflict, and each conflicting write is run again (jittered backoff) until all 40
    have landed (#19 point 4). The same two processes serve both rounds (a process start imports the planner)."""
    unlocked = Path(lake_clones(small_lake))  # before any write: the same store as small_lake
    try:
        with store.read(small_lake) as con:
            result = scenarios.run(con, optimize.Options(), scope=OPERATOR)
        kept = result.assignments[result.assignments["owner"] == result.assignments["previous_owner"]]
        rep_id = str(kept["owner"].value_counts().index[0])  # accounts the commits leave with this rep
        account_ids = sorted(kept.loc[kept["owner"] == rep_id, "account_id"].astype(str))[:40]
        assert len(account_ids) == 40
        locked = scenarios.save(small_lake, "both", result, "test", scope=OPERATOR)
        free = scenarios.save(unlocked, "both", result, "test", scope=OPERATOR)
        no_lock = {"PLANNER_LAKE_LOCK": "0", "PLANNER_WRITE_ATTEMPTS": "40"}  # two writers hammering one table
        rounds = [(str(small_lake), locked, {"PLANNER_LAKE_LOCK": "1"}), (str(unlocked), free, no_lock)]
        ctx = forked_processes("tests.lake_writer")
        q: Any = ctx.Queue()
        start = ctx.Barrier(2)  # each round starts when both writers are ready: they really write at once
        env = planner_environment()
        procs = [ctx.Process(target=small_writes, args=(rounds, w, rep_id, account_ids, start, q, env)) for w in (0, 1)]
        for p in procs:
            p.start()
        results = [q.get(timeout=600) for _ in range(2 * len(procs))]
        for p in procs:
            p.join(timeout=60)
        for worker, number, done, problems, _ in results:
            assert problems == [] and done == 20, (worker, number, problems)
        retried = [sum(r[4] for r in results if r[1] == number) for number in (0, 1)]
        assert retried[0] == 0, "writers that take turns never conflict"
        assert retried[1] > 0, "two writers without the lock never conflicted: the retry was not exercised"
        for lake in (small_lake, unlocked):
            _all_small_writes_landed(lake)
    finally:
        with contextlib.suppress(RuntimeError):
            lake_clones.postgres.drop(str(unlocked))


def _all_small_writes_landed(lake: Path) -> None:
    with store.read(lake) as con:
        assert store.scalar(con, "SELECT count(*) FROM roles WHERE email LIKE 'w_-%'") == 14
        assert store.scalar(con, "SELECT count(*) FROM audit_log WHERE action = 'scenario.commit'") == 12
        assert store.scalar(con, "SELECT count(*) FROM assignment_versions") == 12
        adds = """SELECT json_extract_string(detail, '$.accounts[0]') AS account_id FROM audit_log
                  WHERE action = 'add_plan_targets'"""  # the first add also saved the rep's draft as the plan
        assert store.scalar(con, f"SELECT count(DISTINCT account_id) FROM ({adds})") == 14
        assert (
            store.scalar(
                con, f"SELECT count(*) FROM ({adds}) WHERE account_id IN (SELECT account_id FROM plan_targets)"
            )
            == 14
        )
    assert_one_row_per_key(lake)


def test_a_conflict_that_never_ends_is_reported_plainly_and_nothing_lands(
    small_lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every try of a write loses to another commit (made inside it, lock off): after PLANNER_WRITE_ATTEMPTS
    tries it is one plain line, and none of its changes landed, while each competing commit did."""
    monkeypatch.setenv("PLANNER_LAKE_LOCK", "0")
    monkeypatch.setenv("PLANNER_WRITE_ATTEMPTS", "3")
    tries: list[int] = []

    @store.retry_conflicts
    def doomed(path: Path) -> None:
        with store.write(path) as con:
            con.execute("UPDATE accounts SET name = 'half written'")
            tries.append(1)
            with store.write(path) as rival:  # another transaction commits first, every time
                rival.execute("INSERT INTO roles (email, role) VALUES (?, 'leader')", [f"rival{len(tries)}@x.com"])

    with pytest.raises(WriteConflict) as caught:
        doomed(small_lake)
    message = str(caught.value)
    assert "\n" not in message and "on each of 3 tries; nothing was written" in message, message
    assert len(tries) == 3
    with store.read(small_lake) as con:
        assert store.scalar(con, "SELECT count(*) FROM accounts WHERE name = 'half written'") == 0
        assert store.scalar(con, "SELECT count(*) FROM roles WHERE email LIKE 'rival%'") == 3


def test_killed_import_leaves_the_old_lake_and_the_next_import_lands(
    small_lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.import_speed import write_salesforce_export

    # 10,000 rows: the merge and what follows it last a few tenths of a second after the importer says "merging",
    # and the kill follows that line at once (its own progress line is the signal, as in tests/test_faults.py).
    big = tmp_path / "big.csv"
    write_salesforce_export(big, 10_000, seed=9, n_reps=8)
    data = Path(os.environ["PLANNER_LAKE_DATA"])
    files_before = set(data.rglob("*"))
    proc = _import(small_lake, big, "--progress")
    read_until(proc, "merging")  # fails if the import finished before it could be killed (give it a larger file)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert set(data.rglob("*.parquet")) - files_before, "killed before it wrote data files of its own"
    assert _accounts(small_lake) == 600  # readable, with the old counts
    small = tmp_path / "small.csv"
    write_salesforce_export(small, 200, seed=10, n_reps=4)
    # The next import runs in this process (the killed one is gone either way): one `python -m planner` start
    # fewer (1-4 CPU-s of imports; test_two_concurrent_imports_both_land runs imports as processes).
    code = cli.main(["--db", str(small_lake), "import", str(small), "--json"])
    assert code == 0, capsys.readouterr().err
    assert _accounts(small_lake) == 200
    assert_one_row_per_key(small_lake)


def test_replicas_see_each_other_and_outlive_a_postgres_restart(
    small_lake: Path, tmp_path: Path, browser: Any, postgres: Postgres, capsys: pytest.CaptureFixture[str]
) -> None:
    """#19 points 4, 5 and 7: two `streamlit run` processes on one lake; a CLI import shows in both; the committed
    haproxy.cfg in front of them keeps a browser on its replica; with PostgreSQL stopped a page says the store is
    unavailable and retries, a CLI command exits 2 with one line."""
    from bench.import_speed import write_salesforce_export

    servers = [spawn_server(small_lake, tmp_path / f"s{i}.log") for i in range(2)]  # both start at once
    try:
        for i, (proc, url) in enumerate(servers):
            wait_healthy(proc, url, tmp_path / f"s{i}.log")
        pages = [open_rendered(browser, url) for _, url in servers]
        assert [first_metric_of(p) for p in pages] == ["600", "600"]
        csv_file = tmp_path / "crm.csv"
        write_salesforce_export(csv_file, 250, seed=4, n_reps=4)
        # The CLI's import, run in this process (a `python -m planner` start fewer): the replicas are the processes.
        code = cli.main(["--db", str(small_lake), "import", str(csv_file), "--json"])
        assert code == 0, capsys.readouterr().err
        for p in pages:
            assert rerun_first_metric(p) == "250"  # each replica's next render of its open session shows the import
        pages[0].close()
        _a_browser_stays_on_its_replica([url for _, url in servers], tmp_path)

        postgres.stop()
        try:
            _cli_says_unavailable(small_lake, capsys)
            page = pages[1]  # a new page load in the second replica's tab (its renderer is warm: 2-4 CPU-s fewer)
            page.goto(servers[1][1], wait_until="domcontentloaded")
            page.get_by_text("Store unavailable, retrying").first.wait_for(timeout=120_000)
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            postgres.start()
        page.get_by_text("Store unavailable, retrying").first.wait_for(state="detached", timeout=120_000)
        wait_rendered(page)
        assert first_metric_of(page) == "250"
        page.close()
    finally:
        for proc, _ in servers:
            stop_server(proc)


def _cli_says_unavailable(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With PostgreSQL stopped, a CLI command exits 2 with one plain line. In this process (a `python -m planner`
    start fewer: 1-4 CPU-s of imports), after letting go of its attachment so that it attaches afresh, as a new
    process does."""
    core.detach(lake)
    capsys.readouterr()
    code = cli.main(["--db", str(lake), "as-of", "2024-01-31"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: store unavailable"), err


def _a_browser_stays_on_its_replica(urls: list[str], tmp_path: Path) -> None:
    """#19 point 7: the committed haproxy.cfg in front of the two replicas (as in deploy/compose.yaml, loopback
    ports for the service names): the first answer sets the affinity cookie, every later request with it reaches
    the same replica, and a Streamlit session runs through it over the websocket. (Docker does not run here: the
    replicas run without containers; tests/test_deploy.py checks the file itself.)"""
    port = free_port()
    config = haproxy_config().replace("bind :8080", f"bind 127.0.0.1:{port}")
    for name, url in zip(("app1", "app2"), urls, strict=True):
        config = config.replace(f"{name}:8501", url.removeprefix("http://"))
    (tmp_path / "haproxy.cfg").write_text(config)
    log = tmp_path / "haproxy.log"
    proxy = subprocess.Popen([HAPROXY, "-db", "-f", str(tmp_path / "haproxy.cfg")], stdout=log.open("wb"),
                             stderr=subprocess.STDOUT)  # fmt: skip
    try:
        lb = f"http://127.0.0.1:{port}"

        def get(cookie: str | None = None) -> tuple[str, str]:
            req = urllib.request.Request(f"{lb}/_stcore/health", headers={"Cookie": cookie} if cookie else {})
            with urllib.request.urlopen(req, timeout=10) as resp:
                assert resp.read().strip() == b"ok"
                cookies = [c for c in resp.headers.get_all("Set-Cookie") or [] if c.startswith("planner_replica=")]
                return resp.headers["X-Planner-Replica"], "".join(cookies)

        deadline = time.time() + 60
        seen: set[str] = set()
        while seen != {"app1", "app2"}:  # both replicas pass HAProxy's health check
            assert time.time() < deadline and proxy.poll() is None, log.read_text()[-2000:]
            try:
                seen.add(get()[0])
            except OSError:
                time.sleep(0.5)
        first, set_cookie = get()
        assert set_cookie.startswith(f"planner_replica={first};"), set_cookie
        cookie = set_cookie.split(";")[0]
        assert {get(cookie)[0] for _ in range(10)} == {first}
        other = "app2" if first == "app1" else "app1"
        assert {get(f"planner_replica={other}")[0] for _ in range(10)} == {other}

        async def one_render() -> tuple[load.Render, dict[str, str]]:
            async with load.Session(0, 0, lb, headers={"Cookie": cookie}) as session:
                return await session.render(""), session.response_headers

        render, headers = run_async(one_render())
        assert render.status == "FINISHED_SUCCESSFULLY" and not render.errors and render.elements > 0
        assert headers.get("x-planner-replica") == first
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
