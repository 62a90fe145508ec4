"""Background jobs (ui/jobs.py): long work runs in a thread owned by the signed-in user, under their scope, one
of a kind per user; its outcome waits until read (or KEEP_S); Cancel stops it, and an import cancelled midway
rolls back. A Data page import (ui/job_views.start_import) goes through it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from planner import store
from planner.errors import BadInput
from planner.scope import Scope
from tests.helpers import table
from ui import job_views, jobs

ADMIN = Scope(role="admin", user="ann@corp.example")
LEADER = Scope(role="leader", user="leo@corp.example")


def _until(cond: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)
    assert cond(), "timed out"  # type: ignore[operator]


def test_a_job_runs_beside_the_page_and_its_result_waits_for_its_user() -> None:
    gate = threading.Event()

    def work(job: jobs.Job) -> int:
        job.progress(0.5, "halfway")
        gate.wait(10)
        return 42

    job = jobs.start("t-result", ADMIN, "Counting", work)
    _until(lambda: job.message == "halfway")
    assert job.running and job.fraction == 0.5
    # Only the user who started it, with the rights they had, sees it; a finished job is read once.
    assert jobs.current("t-result", ADMIN) is job
    assert jobs.current("t-result", LEADER) is None
    assert jobs.current("t-result", Scope(role="rep", rep_id="R001", user=ADMIN.user)) is None
    assert jobs.take("t-result", ADMIN) is None  # still running
    gate.set()
    assert jobs.wait(job, 10)
    assert jobs.take("t-result", LEADER) is None
    done = jobs.take("t-result", ADMIN)
    assert done is job and done.state == jobs.DONE and done.result == 42
    assert jobs.take("t-result", ADMIN) is None and jobs.current("t-result", ADMIN) is None


def test_one_job_of_a_kind_per_user() -> None:
    gate = threading.Event()
    first = jobs.start("t-one", ADMIN, "Import of a.csv", lambda job: gate.wait(10))
    with pytest.raises(jobs.JobRunning, match=r"Import of a\.csv is still running \(started \d+ s ago\)"):
        jobs.start("t-one", ADMIN, "Import of b.csv", lambda job: None)
    other_user = jobs.start("t-one", LEADER, "Import of c.csv", lambda job: None)
    other_kind = jobs.start("t-two", ADMIN, "Optimizer run", lambda job: None)
    assert jobs.wait(other_user, 10) and jobs.wait(other_kind, 10)
    gate.set()
    assert jobs.wait(first, 10)
    again = jobs.start("t-one", ADMIN, "Import of b.csv", lambda job: 1)  # a finished unread job is replaced
    assert jobs.wait(again, 10) and jobs.take("t-one", ADMIN) is again
    for kind, who in (("t-one", LEADER), ("t-two", ADMIN)):
        jobs.take(kind, who)


def test_a_failure_is_one_line_and_an_unexpected_one_no_traceback() -> None:
    def bad(job: jobs.Job) -> None:
        raise BadInput("revenue unit 'x' is unknown; use one of thousands, millions")

    job = jobs.start("t-fail", ADMIN, "Import", bad)
    assert jobs.wait(job, 10) and job.state == jobs.FAILED
    assert job.error == "revenue unit 'x' is unknown; use one of thousands, millions"
    jobs.take("t-fail", ADMIN)
    job = jobs.start("t-fail", ADMIN, "Import", lambda job: 1 / 0)
    assert jobs.wait(job, 10) and job.state == jobs.FAILED
    assert job.error == "it failed unexpectedly (ZeroDivisionError); the server's log has the details"
    jobs.take("t-fail", ADMIN)


def test_cancel_stops_at_the_next_step_but_not_past_the_point_of_no_return() -> None:
    steps: list[int] = []

    def loop(job: jobs.Job) -> None:
        for i in range(10_000):
            job.progress(i / 10_000, f"step {i}")
            steps.append(i)
            time.sleep(0.001)

    job = jobs.start("t-cancel", ADMIN, "Loop", loop)
    _until(lambda: len(steps) > 3)
    assert not jobs.cancel("t-cancel", LEADER)  # not theirs
    assert jobs.cancel("t-cancel", ADMIN)
    assert jobs.wait(job, 10) and job.state == jobs.CANCELLED and len(steps) < 10_000
    jobs.take("t-cancel", ADMIN)

    landed = threading.Event()

    def commit_then_score(job: jobs.Job) -> str:
        job.point_of_no_return()
        landed.set()
        time.sleep(0.2)
        job.progress(0.9, "scoring")
        return "scored"

    job = jobs.start("t-cancel", ADMIN, "Import", commit_then_score)
    landed.wait(10)
    assert not jobs.cancel("t-cancel", ADMIN)  # past its point of no return: it finishes
    assert jobs.wait(job, 10) and job.state == jobs.DONE and job.result == "scored"
    jobs.take("t-cancel", ADMIN)


def test_cancel_interrupts_the_jobs_own_connection() -> None:
    started = threading.Event()

    def long_query(job: jobs.Job) -> object:
        con = job.own(duckdb.connect())
        started.set()
        return con.execute("SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3").fetchone()

    job = jobs.start("t-sql", ADMIN, "Query", long_query)
    started.wait(10)
    time.sleep(0.3)
    assert jobs.cancel("t-sql", ADMIN)
    assert jobs.wait(job, 10), "the statement was not interrupted"
    assert job.state == jobs.CANCELLED
    jobs.take("t-sql", ADMIN)


def test_an_unread_outcome_is_dropped_after_keep_s(monkeypatch: pytest.MonkeyPatch) -> None:
    job = jobs.start("t-keep", ADMIN, "Quick", lambda job: 1)
    assert jobs.wait(job, 10) and jobs.current("t-keep", ADMIN) is job
    monkeypatch.setattr(jobs, "KEEP_S", 0.0)
    time.sleep(0.01)
    assert jobs.current("t-keep", ADMIN) is None


def _accounts_csv(path: Path, n: int) -> Path:
    cities = ["Berlin", "Paris", "Madrid", "Rome", "Vienna"]
    rows = [f"Acme Job {i},{cities[i % 5]},Germany,{50 + i % 900},anna.schmidt@example.com" for i in range(n)]
    path.write_text("Account Name,City,Country,Employees,Owner Email\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_an_import_job_lands_its_rows_and_a_cancelled_one_rolls_back(
    small_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_DB", str(small_store))
    before = table(small_store, "SELECT count(*) FROM accounts")[0][0]
    work = tmp_path / "uploads"
    work.mkdir()
    big = _accounts_csv(work / "big.csv", 30_000)
    job_views.start_import([(big, "big.csv")], str(work), ADMIN, imported_by=ADMIN.user)
    job = jobs.current(job_views.IMPORT, ADMIN)
    assert job is not None and job.label == "Import of big.csv"
    _until(lambda: "parsing" in job.message or not job.running)
    assert job.running, f"the import ended before it parsed: {job.state} {job.error}"
    assert jobs.cancel(job_views.IMPORT, ADMIN)
    assert jobs.wait(job, 120) and job.state == jobs.CANCELLED
    assert jobs.take(job_views.IMPORT, ADMIN) is job
    assert table(small_store, "SELECT count(*) FROM accounts")[0][0] == before
    assert not work.exists()  # the job removed the uploads' scratch folder

    small = _accounts_csv(tmp_path / "small.csv", 200)
    job_views.start_import([(small, "small.csv")], None, ADMIN, imported_by=ADMIN.user)
    job = jobs.current(job_views.IMPORT, ADMIN)
    assert job is not None and jobs.wait(job, 120), job.message
    assert job.state == jobs.DONE, job.error
    assert job.result.landed and job.result.files[0].inserted == 200
    with store.read(small_store) as con:
        assert con.execute("SELECT count(*) FROM accounts WHERE name LIKE 'Acme Job %'").fetchone() == (200,)
    jobs.take(job_views.IMPORT, ADMIN)
