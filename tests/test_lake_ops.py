"""The team store in operation: caches that a sign-out does not empty, a data folder not mounted, Cancel that stops
an import's running statement, and `store maintain` (explore N, items 1, 2, 3, 6, 7)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import duckdb
import pytest
import streamlit as st

from planner import cli, optimize, roles, scenarios, store
from planner.errors import StoreError
from planner.scope import OPERATOR, Scope
from planner.store import core, interrupts
from ui import data, job_views, jobs


def _count_accounts(con: duckdb.DuckDBPyConnection, calls: list[int]) -> int:
    calls.append(1)
    return int(store.scalar(con, "SELECT count(*) FROM accounts"))


def _cached_count(calls: list[int]) -> int:
    with data.snapshot() as snap:
        return data.cached(_count_accounts, snap, calls)


def test_sign_out_keeps_cached_figures_and_the_run_key_and_a_data_write_refreshes_them(
    any_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "db_path", lambda: any_store)
    st.cache_data.clear()
    data._versions.clear()
    calls: list[int] = []
    before = _cached_count([])  # the list is an argument: a fresh list is the same key (its value)
    calls_key = job_views._run_key(optimize.Options(), None)
    assert _cached_count(calls) == before and calls == []  # cached

    with store.read(any_store) as con:
        email = str(con.execute("SELECT lower(email) FROM reps WHERE rep_id = 'R001'").fetchall()[0][0])
        assert data.cached(roles.last_sign_out, data.Snapshot(any_store), email) is None
    write_token = store.fingerprint(any_store)
    roles.sign_out(any_store, email, scope=Scope(role="rep", rep_id="R001", user=email))
    assert store.fingerprint(any_store) != write_token  # a write landed (a new snapshot, a new file)
    assert _cached_count(calls) == before and calls == [], "a sign-out emptied the page cache"
    assert job_views._run_key(optimize.Options(), None) == calls_key, "a sign-out re-runs the optimizer"
    with data.snapshot() as snap:  # but the sign-in check sees the sign-out at once (cookies issued before end)
        assert data.cached(roles.last_sign_out, snap, email) is not None

    with store.read(any_store) as con:
        result = scenarios.run(con, optimize.Options(), scope=OPERATOR)
    scenarios.save(any_store, "kept", result, "operator", scope=OPERATOR)
    assert job_views._run_key(optimize.Options(), None) == calls_key, "a scenario save re-runs the optimizer"

    with store.write(any_store) as con:  # a write of data (an import's, a commit's): every cache refreshes
        con.execute("DELETE FROM accounts WHERE account_id = (SELECT min(account_id) FROM accounts)")
    assert _cached_count(calls) == before - 1 and calls == [1]
    assert job_views._run_key(optimize.Options(), None) != calls_key


def test_an_import_refreshes_the_cache(any_store: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from planner import ingest

    monkeypatch.setattr(data, "db_path", lambda: any_store)
    st.cache_data.clear()
    data._versions.clear()
    calls: list[int] = []
    before = _cached_count(calls)
    csv = tmp_path / "accounts.csv"
    csv.write_text("Account ID,Account Name,Billing Zip/Postal Code\nNEW1,New One,02134\n")
    ingest.import_files(any_store, [csv], "accounts", scope=OPERATOR)
    with store.read(any_store) as con:
        now = int(store.scalar(con, "SELECT count(*) FROM accounts"))
    assert now != before and _cached_count(calls) == now and len(calls) == 2  # computed afresh


def _lake_with_a_store(small_store: Path, empty_lake: Path) -> Path:
    store.copy_store(small_store, empty_lake)
    return empty_lake


@pytest.mark.file_store  # its own lake from a file: the run's lakes keep their own data folder
def test_a_data_folder_not_mounted_is_one_line_and_exit_2(
    small_store: Path, empty_lake: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = _lake_with_a_store(small_store, empty_lake)
    folder = Path(os.environ["PLANNER_LAKE_DATA"])
    core.detach(lake)
    folder.rename(folder.with_name("elsewhere"))
    folder.mkdir()  # the mount point, with nothing mounted on it
    try:
        with (
            pytest.raises(StoreError, match=r"data folder .* is not there or not readable.*mount"),
            store.read(lake) as con,
        ):
            con.execute("SELECT count(*) FROM accounts").fetchall()
        core.detach(lake)
        monkeypatch.setenv("PLANNER_DB", str(lake))
        assert cli.main(["metrics"]) == 2
        err = capsys.readouterr().err
        assert (
            err.startswith("error: the lake's data folder") and "unexpected" not in err and len(err.splitlines()) == 1
        )
        assert not any(folder.iterdir()), "nothing was written into the empty mount point"
    finally:
        core.detach(lake)
        folder.rmdir()
        folder.with_name("elsewhere").rename(folder)


def test_cancel_interrupts_the_running_statement_of_a_job(any_store: Path) -> None:
    job = jobs.Job("import", OPERATOR, "Import of slow.csv")
    outcome: list[BaseException] = []

    def work() -> None:
        try:  # the failure leaves the write as an import's does: nothing of it lands
            with interrupts.owned_by(job), store.write(any_store) as con:  # an import's write
                con.execute("SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3").fetchall()
        except BaseException as exc:  # noqa: BLE001 - the test looks at what stopped it
            outcome.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    time.sleep(1.0)
    started = time.monotonic()
    assert job.cancel()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert outcome and isinstance(outcome[0], duckdb.InterruptException)


@pytest.mark.file_store  # its own lake from a file: the run's lakes keep their own data folder
def test_store_maintain_cleans_a_lake_and_keeps_its_data(
    small_store: Path, empty_lake: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = _lake_with_a_store(small_store, empty_lake)
    for _ in range(3):  # writes that leave old snapshots and replaced files
        with store.write(lake) as con:
            con.execute(
                "UPDATE accounts SET name = name || '' WHERE account_id IN (SELECT min(account_id) FROM accounts)"
            )
    folder = Path(os.environ["PLANNER_LAKE_DATA"])
    orphan = folder / "main" / "accounts" / "ducklake-orphan-of-a-killed-import.parquet"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"COPY (SELECT 1 AS x) TO '{orphan}' (FORMAT parquet)")
    old = time.time() - 3 * 86400
    os.utime(orphan, (old, old))
    with store.read(lake) as con:
        counts = con.execute("SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM deals)").fetchall()
    monkeypatch.setenv("PLANNER_DB", str(lake))
    assert cli.main(["store", "maintain", "--older-than-days", "0", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["expired_snapshots"] > 0 and done["deleted_orphaned_files"] >= 1 and done["snapshots_left"] >= 1
    assert not orphan.exists()
    core.detach(lake)
    with store.read(lake) as con:
        assert con.execute("SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM deals)").fetchall() == counts


def test_store_maintain_on_a_file_and_bad_days(small_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--db", str(small_store), "store", "maintain", "--older-than-days", "-1"]) == 2
    assert "--older-than-days" in capsys.readouterr().err
    if not core.is_lake(small_store):
        assert cli.main(["--db", str(small_store), "store", "maintain", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["kind"] == "file"
