"""Long work that outlives the page it was started on: an import, an optimizer run.

Streamlit stops a session's script run when the user goes to another page, and work done inside the run died with
it (an import of 50,000 rows left nothing, and no word). A job runs in a thread of its own instead, under the scope
of the user who started it (never a wider one), records its progress, and keeps its outcome until a page of that
user reads it (`take`), or for KEEP_S. One job of a kind per user at a time. Cancelling stops the work at its next
progress step and interrupts the statements of the connections it registered (`Job.own`): a write rolls back.
The registry lives in this process: a job does not survive a restart of the app (an import then did not happen).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

import duckdb

from planner.errors import PlannerError
from planner.scope import Scope
from ui import data

KEEP_S = 3600.0  # a finished job's outcome, unread, is dropped after an hour
RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"
C = TypeVar("C")
log = logging.getLogger(__name__)


class JobRunning(PlannerError):
    """A job of this kind is already running for this user."""


class JobCancelled(BaseException):
    """Raised in a job's work at its next progress step once it was cancelled (a BaseException: no `except
    Exception` in the work swallows it)."""


@dataclass(eq=False)
class Job:
    """One piece of work of one user: its progress while it runs, then its result or one-line error."""

    kind: str
    scope: Scope
    label: str
    meta: dict[str, Any] = field(default_factory=dict)
    started_at: float = field(default_factory=time.monotonic)
    ended_at: float | None = None
    fraction: float = 0.0
    message: str = "Starting"
    state: str = RUNNING
    result: Any = None
    error: str = ""
    cancellable: bool = True  # False once the work is past its point of no return (an import's rows landed)
    retryable: bool = False  # failed through no fault of its input (a write conflict, an interruption): run again
    on_drop: Callable[[], None] | None = None  # frees what it kept for a retry, when dropped instead
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _cancel: threading.Event = field(default_factory=threading.Event)
    _cons: list[duckdb.DuckDBPyConnection] = field(default_factory=list)
    landing: threading.Lock = field(default_factory=threading.Lock)  # held while its write commits: never interrupted

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def seconds(self) -> float:
        return (self.ended_at or time.monotonic()) - self.started_at

    def progress(self, fraction: float, message: str) -> None:
        """The work's progress callback (planner's Progress); raises JobCancelled once cancelled."""
        self.stop_if_cancelled()
        self.fraction, self.message = min(1.0, max(0.0, float(fraction))), str(message)

    def stop_if_cancelled(self) -> None:
        if self._cancel.is_set() and self.cancellable:
            raise JobCancelled

    def point_of_no_return(self) -> None:
        """From here on the work finishes even when cancelled (an import's write has committed)."""
        self.stop_if_cancelled()
        self.cancellable = False

    def own(self, con: C) -> C:
        """Let Cancel interrupt the statement this connection (the job's own) runs."""
        self._cons.append(con)  # type: ignore[arg-type]
        return con

    def cancel(self) -> bool:
        """Ask the work to stop; False when it is past its point of no return or over."""
        if not self.running or not self.cancellable:
            return False
        self._cancel.set()
        with self.landing:  # a commit under way finishes first (its work then stops at its point of no return)
            for con in list(self._cons):
                with suppress(duckdb.Error, RuntimeError):
                    con.interrupt()
        return True


_jobs: dict[tuple[str, str], Job] = {}
_lock = threading.Lock()


def _key(kind: str, scope: Scope, slot: str | None) -> tuple[str, str]:
    return (scope.user if slot is None else f"slot:{slot}", kind)


def _drop(job: Job) -> None:
    """Free what a finished job kept for a retry (called outside the lock: it may touch files)."""
    if job.on_drop is not None:
        with suppress(OSError):
            job.on_drop()


def _purge(now: float) -> list[Job]:
    gone = [key for key, job in _jobs.items() if job.ended_at is not None and now - job.ended_at > KEEP_S]
    return [_jobs.pop(key) for key in gone]


def start(kind: str, scope: Scope, label: str, work: Callable[[Job], Any], meta: dict[str, Any] | None = None,
          *, slot: str | None = None, on_drop: Callable[[], None] | None = None) -> Job:  # fmt: skip
    """Run `work(job)` in a thread as `scope`'s job of this kind; JobRunning while one still runs for this user, or
    for anyone in `slot` (a finished one not yet read is replaced)."""
    with _lock:
        dropped = _purge(time.monotonic())
        old = _jobs.get(_key(kind, scope, slot))
        if old is not None and old.running:
            stopping = "is stopping after Cancel" if old.cancel_requested else "is still running"
            whose = "" if old.scope.user == scope.user else f" started by {old.scope.user or 'another user'}"
            what = "or cancel it, then start again" if not whose else "then start again if you still need to"
            raise JobRunning(
                f"{old.label}{whose} {stopping} (started {elapsed_text(old.seconds())} ago): wait for it to end, {what}"
            )
        if old is not None:
            dropped.append(old)
        job = Job(kind, scope, label, dict(meta or {}), on_drop=on_drop)
        _jobs[_key(kind, scope, slot)] = job
    for gone in dropped:
        _drop(gone)
    threading.Thread(target=_run, args=(job, work), name=f"planner-job-{kind}", daemon=True).start()
    return job


def _run(job: Job, work: Callable[[Job], Any]) -> None:
    state, result, error = DONE, None, ""
    try:
        result = work(job)
    except JobCancelled:
        state = CANCELLED
    except duckdb.InterruptException:
        state, error = (CANCELLED, "") if job.cancel_requested else (FAILED, "the work was interrupted; start it again")
    except PlannerError as exc:
        text = data.error_text(exc)  # as a page shows it: no path on the server
        state, error = FAILED, text.splitlines()[0] if text else type(exc).__name__
    except Exception as exc:  # one line for the page; the traceback goes to the server's log
        log.exception("job %s of %s failed", job.kind, job.scope.user)
        state, error = FAILED, f"it failed unexpectedly ({type(exc).__name__}); the server's log has the details"
    with _lock:
        job.result, job.error, job.ended_at, job.state = result, error, time.monotonic(), state
        job._cons.clear()


def _get(kind: str, scope: Scope, slot: str | None) -> Job | None:
    with _lock:
        dropped = _purge(time.monotonic())
        job = _jobs.get(_key(kind, scope, slot))
    for gone in dropped:
        _drop(gone)
    return job


def current(kind: str, scope: Scope, *, slot: str | None = None) -> Job | None:
    """This user's job of this kind, running or finished and not yet read; a job started under other rights (the
    user's role changed since), or by someone else in `slot`, is not theirs to see."""
    job = _get(kind, scope, slot)
    return job if job is not None and job.scope == scope else None


def running(kind: str, scope: Scope, *, slot: str) -> Job | None:
    """The job of this kind running in `slot`, whoever started it (a second user waits for it, not runs another)."""
    job = _get(kind, scope, slot)
    return job if job is not None and job.running else None


def take(kind: str, scope: Scope, *, slot: str | None = None) -> Job | None:
    """This user's finished job of this kind, removed from the registry (its outcome is shown once; what it kept
    for a retry is now the caller's)."""
    with _lock:
        job = _jobs.get(_key(kind, scope, slot))
        if job is None or job.running or job.scope != scope:
            return None
        del _jobs[_key(kind, scope, slot)]
    return job


def discard(kind: str, scope: Scope, *, slot: str | None = None) -> bool:
    """Drop this user's finished job of this kind, and what it kept for a retry; False when there is none."""
    job = take(kind, scope, slot=slot)
    if job is not None:
        _drop(job)
    return job is not None


def cancel(kind: str, scope: Scope, *, slot: str | None = None) -> bool:
    """Cancel this user's running job of this kind; False when there is none, or it can no longer stop."""
    job = current(kind, scope, slot=slot)
    return job is not None and job.cancel()


def wait(job: Job, timeout_s: float) -> bool:
    """Block until the job ends (tests, scripts); True when it did."""
    deadline = time.monotonic() + timeout_s
    while job.running and time.monotonic() < deadline:
        time.sleep(0.02)
    return not job.running


def elapsed_text(seconds: float) -> str:
    s = int(seconds)
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d} s"
