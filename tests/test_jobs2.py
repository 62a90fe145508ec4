"""Background jobs, second round (ui/jobs.py, ui/job_views.py): a Model page training runs as a job (leaving the page
threw it away; one per store, a second user follows the one running); an import that ended while its user was on
another page says so there (the report was only on the Data page); an import that failed through no fault of its
files offers Retry with the same files (they had to be uploaded again), kept for that user's job only."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from planner import store
from planner.store import scores as q
from tests.helpers import errors, page, shown, table
from tests.test_jobs import ADMIN, LEADER, _until
from ui import auth, job_views, jobs


@pytest.fixture(autouse=True)
def _no_jobs_left() -> Iterator[None]:
    """Every test starts and ends with an empty registry (jobs of a kind are per user, or per store)."""
    yield
    for job in list(jobs._jobs.values()):
        jobs.wait(job, 120)
    for key in list(jobs._jobs):
        jobs._drop(jobs._jobs.pop(key))


def _models(path: Path) -> int:
    return int(table(path, "SELECT count(*) FROM models")[0][0])


# --- 1. a training is a job: one per store ---------------------------------------------------------------------
def _training(app_store: Path) -> tuple[int, int, str, jobs.Job]:
    """An admin's training started as a job: (the active model version and the models before it, the store's
    slot, the job)."""
    with store.read(app_store) as con:
        first = q.active_version(con)
    before = _models(app_store)
    job_views.start_training(ADMIN)
    slot = str(app_store)
    job = jobs.current(job_views.TRAIN, ADMIN, slot=slot)
    assert job is not None
    return first, before, slot, job


def test_a_training_runs_as_a_job_and_a_second_user_starts_no_second_one(app_store: Path) -> None:
    first, before, slot, job = _training(app_store)
    assert job.running and job.label == "Model training"
    # A leader who clicks Retrain meanwhile starts nothing: the page follows the admin's training instead.
    job_views.start_training(LEADER)
    assert jobs.running(job_views.TRAIN, LEADER, slot=slot) is job
    assert jobs.current(job_views.TRAIN, LEADER, slot=slot) is None  # its outcome is not the leader's to read
    with pytest.raises(jobs.JobRunning, match=r"Model training started by ann@corp\.example is still running"):
        jobs.start(job_views.TRAIN, LEADER, "Model training", lambda job: None, slot=slot)
    assert jobs.wait(job, 300) and job.state == jobs.DONE, job.error
    assert _models(app_store) == before + 1  # one training, not two
    with store.read(app_store) as con:
        assert q.active_version(con) == job.result["model_version"] != first
    assert jobs.take(job_views.TRAIN, LEADER, slot=slot) is None
    assert jobs.take(job_views.TRAIN, ADMIN, slot=slot) is job


def test_a_cancelled_training_changes_nothing(app_store: Path) -> None:
    first, before, slot, job = _training(app_store)
    _until(lambda: job.fraction > 0 or not job.running)
    assert not jobs.cancel(job_views.TRAIN, LEADER, slot=slot)  # not the leader's to cancel
    assert jobs.cancel(job_views.TRAIN, ADMIN, slot=slot), f"it ended before it could be cancelled: {job.state}"
    assert jobs.wait(job, 300) and job.state == jobs.CANCELLED
    assert _models(app_store) == before
    with store.read(app_store) as con:
        assert q.active_version(con) == first


def test_the_model_page_follows_a_training_started_by_someone_else(
    app_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leader opening the Model page while an admin's training runs waits for it (no Retrain to click, no second
    run) and then reads the new version; the admin's page shows the outcome, once."""
    before = _models(app_store)
    job_views.start_training(ADMIN)
    job = jobs.current(job_views.TRAIN, ADMIN, slot=str(app_store))
    assert job is not None and job.running
    monkeypatch.setattr(auth, "current", lambda: LEADER)
    at = page("model")
    assert errors(at) == [] and job.state == jobs.DONE
    assert any(f"version {job.result['model_version']} ·" in str(c.value) for c in at.caption)
    assert not [s for s in at.success if "trained and active" in str(s.value)]  # the admin's outcome, not theirs
    assert _models(app_store) == before + 1
    monkeypatch.setattr(auth, "current", lambda: ADMIN)
    at = page("model")
    assert errors(at) == []
    assert any(f"Model version {job.result['model_version']} trained and active" in str(s.value) for s in at.success)
    at.run()
    assert not [s for s in at.success if "trained and active" in str(s.value)]  # shown once


# --- 3. Retry an import that failed through no fault of its files -------------------------------------------------
def _accounts_csv(path: Path, n: int, prefix: str = "Retry Co") -> Path:
    rows = [f"{prefix} {i},Berlin,Germany,{50 + i}" for i in range(n)]
    path.write_text("Account Name,City,Country,Employees\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


class _Writer:
    """Another writer holding the store's write lock (as a CLI import does), until released."""

    def __init__(self, db: Path) -> None:
        self.fd = os.open(db.with_name(db.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _uploads(tmp_path: Path, n: int = 200) -> tuple[Path, Path]:
    work = tmp_path / "uploads"
    work.mkdir(parents=True)
    return work, _accounts_csv(work / "new_accounts.csv", n)


@contextmanager
def _import_beaten(
    app_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[jobs.Job, Path, Path]]:
    """An admin's import of 200 new accounts that failed because another writer held the store's lock (held
    while the block runs): (the failed job, the upload folder, the file)."""
    monkeypatch.setenv("PLANNER_LOCK_TIMEOUT_S", "0.3")
    work, csv = _uploads(tmp_path)
    writer = _Writer(app_store)
    try:
        job_views.start_import([(csv, csv.name)], str(work), ADMIN, imported_by=ADMIN.user)
        job = jobs.current(job_views.IMPORT, ADMIN)
        assert job is not None and jobs.wait(job, 120)
        yield job, work, csv
    finally:
        writer.release()


@pytest.mark.file_store  # the file store's write lock fails the import; a lake run uses a file here too
def test_an_import_beaten_by_another_writer_can_be_retried_with_the_same_files(
    app_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _import_beaten(app_store, tmp_path, monkeypatch) as (job, work, csv):
        assert job.state == jobs.FAILED and "another import or commit is writing" in job.error
        assert job.retryable and csv.exists()  # kept for Retry
        # The files may hold a rep's private data: another user neither sees nor retries them.
        assert jobs.current(job_views.IMPORT, LEADER) is None
        job_views.retry_import(LEADER)
        assert jobs.current(job_views.IMPORT, ADMIN) is job
    job_views.retry_import(ADMIN)
    again = jobs.current(job_views.IMPORT, ADMIN)
    assert again is not None and again is not job and jobs.wait(again, 120)
    assert again.state == jobs.DONE, again.error
    assert again.result.files[0].inserted == 200
    assert table(app_store, "SELECT count(*) FROM accounts WHERE name LIKE 'Retry Co %'") == [(200,)]
    assert not work.exists()  # gone once the import is done


@pytest.mark.file_store  # the file store's write lock fails the import; a lake run uses a file here too
def test_a_kept_upload_is_removed_when_discarded_and_a_bad_file_is_not_kept(
    app_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _import_beaten(app_store, tmp_path, monkeypatch) as (job, work, csv):
        assert job.retryable and work.exists()
    assert jobs.discard(job_views.IMPORT, ADMIN) and not work.exists()

    # A file at fault (nothing in it can be imported) is not kept: uploading a fixed one is the way.
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = bad_dir / "prices.csv"
    bad.write_text("Product,Price\nWidget,3\n", encoding="utf-8")
    job_views.start_import([(bad, bad.name)], str(bad_dir), ADMIN, imported_by=ADMIN.user)
    job = jobs.current(job_views.IMPORT, ADMIN)
    assert job is not None and jobs.wait(job, 120)
    assert job.state == jobs.FAILED and not job.retryable and not bad_dir.exists(), (job.state, job.error)

    # Kept files go when the job is dropped unread after KEEP_S too.
    work2, csv2 = _uploads(tmp_path / "later")
    writer = _Writer(app_store)
    try:
        job_views.start_import([(csv2, csv2.name)], str(work2), ADMIN, imported_by=ADMIN.user)
        job = jobs.current(job_views.IMPORT, ADMIN)
        assert job is not None and jobs.wait(job, 120) and job.retryable
    finally:
        writer.release()
    monkeypatch.setattr(jobs, "KEEP_S", 0.0)
    time.sleep(0.01)
    assert jobs.current(job_views.IMPORT, ADMIN) is None and not work2.exists()


@pytest.mark.file_store  # the file store's write lock fails the import; a lake run uses a file here too
def test_the_data_page_offers_retry_and_it_imports_the_kept_files(
    app_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_LOCK_TIMEOUT_S", "0.3")
    work, csv = _uploads(tmp_path, 150)
    writer = _Writer(app_store)
    try:
        job_views.start_import([(csv, csv.name)], str(work), auth.LOCAL, imported_by="local")
        job = jobs.current(job_views.IMPORT, auth.LOCAL)
        assert job is not None and jobs.wait(job, 120)
        at = page("data")
        assert any("another import or commit is writing" in e for e in errors(at)), errors(at)
        assert at.button(key="job_retry_import").label == "Retry"
        at.run()  # still there until retried or discarded
        assert at.button(key="job_retry_import")
    finally:
        writer.release()
    at.button(key="job_retry_import").click().run()
    assert errors(at) == []
    assert any("Imported 150 new and 0 matched rows" in str(s.value) for s in at.success), [s.value for s in at.success]
    assert not [b for b in at.button if b.key == "job_retry_import"]
    assert table(app_store, "SELECT count(*) FROM accounts WHERE name LIKE 'Retry Co %'") == [(150,)]


# --- 2. the outcome of an import that ended while the user was elsewhere -------------------------------------------
def _notices(at: object) -> list[tuple[str, str]]:
    """The sidebar's notices (a link's few words, and its help) as a reader sees them (Markdown escapes removed)."""
    links = at.sidebar.get("page_link")  # type: ignore[attr-defined]
    return [(shown(str(link.proto.label)), shown(str(link.proto.help))) for link in links]


def test_another_page_says_once_an_import_ended_and_links_to_its_report(
    app_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = _accounts_csv(tmp_path / "*bold* accounts.csv", 40, prefix="Notice Co")
    gate = threading.Event()
    real = job_views.ingest.import_files

    def held(*args: object, **kwargs: object) -> object:
        gate.wait(60)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(job_views.ingest, "import_files", held)
    job_views.start_import([(csv, csv.name)], None, auth.LOCAL, imported_by="local")
    at = page("targets")
    running = [str(c.value) for c in at.sidebar.caption if "Import of" in str(c.value)]
    assert running and "%" in running[0], [str(c.value) for c in at.sidebar.caption]
    gate.set()
    job = jobs.current(job_views.IMPORT, auth.LOCAL)
    assert job is not None and jobs.wait(job, 120) and job.state == jobs.DONE
    at.run()
    line = "Import of *bold* accounts.csv finished: see the report on the Data page"
    notice = ("Import done: see the report", line)
    assert _notices(at) == [notice]
    link = at.sidebar.get("page_link")[0]
    assert link.proto.page.endswith("data") and r"\*bold\*" in link.proto.help  # the name shown literally
    assert [shown(t.proto.body) for t in at.toast] == [line]
    at.run()
    assert _notices(at) == [notice] and not at.toast  # the line stays until the report is read; the toast came once
    data_page = page("data")
    assert any("Imported 40 new" in str(s.value) for s in data_page.success)
    assert not _notices(data_page)
    assert not _notices(page("targets"))  # read: no notice any more


@pytest.mark.file_store  # the file store's write lock fails the import; a lake run uses a file here too
def test_a_failed_import_is_announced_and_not_to_another_user(
    app_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_LOCK_TIMEOUT_S", "0.3")
    work, csv = _uploads(tmp_path)
    writer = _Writer(app_store)
    try:
        job_views.start_import([(csv, csv.name)], str(work), auth.LOCAL, imported_by="local")
        job = jobs.current(job_views.IMPORT, auth.LOCAL)
        assert job is not None and jobs.wait(job, 120)
    finally:
        writer.release()
    at = page("overview")
    assert _notices(at) == [("Import failed: retry it", "Import of new_accounts.csv failed: retry it on the Data page")]
    monkeypatch.setattr(auth, "current", lambda: LEADER)
    assert not _notices(page("overview"))
