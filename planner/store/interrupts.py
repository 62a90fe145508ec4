"""Ctrl-C for the command line: every command stops within about a second and lands nothing after it.

DuckDB runs a statement in C++ without coming back to Python, and so do HiGHS and scikit-learn: Python's SIGINT
handler (KeyboardInterrupt) waits until they return, and an import busy in one join ignored Ctrl-C for minutes. So
the CLI runs every command through `run_interruptibly`: the work runs in a worker thread while the main thread waits
for Ctrl-C. Then, in this order:
- the gate closes: a write that is landing (a store file swapped in, a lake transaction committed: `land`) finishes
  first, and none lands after, so what the command says it kept is true;
- the connections `core` watches are interrupted until the work ends: the running statement fails with
  duckdb.InterruptException in the worker and its write rolls back (removing its temporary copy); Python steps
  between statements stop at their next `check()`, the optimizer's HiGHS runs at their next iteration;
- when the work has not ended within GRACE_S (a scikit-learn fit does not look at Ctrl-C), it is left behind:
  since nothing can land any more, the command may end at once (`leave`), after removing its `scratch` files.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import duckdb

T = TypeVar("T")

_watched: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
_lock = threading.Lock()
_gate = threading.Lock()  # held while a write lands, and while Ctrl-C closes the gate
_stopping = threading.Event()
_running = threading.Event()  # a run_interruptibly is under way: scratch files are worth remembering
_POLL_S = 0.1
GRACE_S = 1.0  # how long the main thread waits for the work to stop by itself after Ctrl-C
_landed: list[int] = [0]  # writes that landed during this run
_kept: list[str] = []  # what the command says stays of those writes (`keep`)
_scratch: set[Path] = set()
_owner = threading.local()  # a dashboard job running in this thread (owned_by)


class Stopped(KeyboardInterrupt):
    """Ctrl-C stopped the command; `abandoned`: its work did not end within GRACE_S and still runs."""

    def __init__(self, abandoned: bool = False) -> None:
        super().__init__()
        self.abandoned = abandoned


def watch(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Let an interrupt reach `con` (kept weakly: a closed and dropped connection leaves the set), and this thread's
    owner's Cancel (`owned_by`)."""
    with _lock:
        _watched.add(con)
    owner = getattr(_owner, "job", None)
    if owner is not None:
        owner.own(con)
    return con


@contextmanager
def owned_by(job: Any) -> Iterator[None]:
    """In this thread, hand every connection `watch` sees to `job.own` and land every write under `job.landing` (a
    lock its Cancel takes before it interrupts): a dashboard job's Cancel stops the statement its work runs, at once,
    and never a commit half-way."""
    _owner.job = job
    try:
        yield
    finally:
        _owner.job = None


def interrupt_all() -> None:
    """Stop the statement every watched connection is running (one that runs none is unaffected)."""
    with _lock:
        cons = list(_watched)
    for con in cons:
        with suppress(duckdb.Error):
            con.interrupt()


def stopping() -> bool:
    """Whether Ctrl-C was pressed during this command (long loops and solver callbacks ask)."""
    return _stopping.is_set()


def check() -> None:
    """Raise KeyboardInterrupt in the worker once Ctrl-C was pressed (called between steps)."""
    if _stopping.is_set():
        raise KeyboardInterrupt


def land(step: Callable[[], T]) -> T:
    """Make a write visible (`step`: swap a file in, commit a transaction) unless Ctrl-C was pressed: then
    KeyboardInterrupt, and nothing lands. A landing that began finishes before Ctrl-C is acknowledged. Outside a
    command's run (the dashboard's threads), simply `step()`: no lock for them to queue on."""
    if not _running.is_set():
        owner = getattr(_owner, "job", None)
        with owner.landing if owner is not None else nullcontext():
            return step()
    with _gate:
        check()
        result = step()
        _landed[0] += 1
    return result


def keep(note: str) -> None:
    """Say what stays written should the command be stopped from now on ("scenario 4 was saved as a draft")."""
    _kept.append(note)


def summary() -> str:
    """One line for a stopped command: what stays written, or that nothing was."""
    if _kept:
        return f"interrupted: {'; '.join(_kept)}; nothing else was written"
    if _landed[0]:
        return f"interrupted: {_landed[0]} write(s) to the store had landed before it stopped; nothing else was written"
    return "interrupted: nothing was written"


def scratch(path: Path) -> Path:
    """Remember a temporary file (and its DuckDB .wal) to remove should the command be left behind (`leave`)."""
    if _running.is_set():
        _scratch.add(path)
    return path


def discard(path: Path) -> None:
    """Remove a temporary file and its .wal (a write's end, whatever its outcome)."""
    _scratch.discard(path)
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def leave(code: int) -> NoReturn:
    """End the process now, the work left behind (`Stopped.abandoned`): its temporary files removed, output
    flushed. Nothing of it can land any more (the gate is closed); an os._exit, since interpreter shutdown would
    tear down DuckDB or OpenMP under the running thread."""
    for path in list(_scratch):
        with suppress(OSError):
            discard(path)
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
    os._exit(code)


def _close_gate() -> None:
    while True:
        with suppress(KeyboardInterrupt):  # a second Ctrl-C while a write lands: still closing
            with _gate:
                _stopping.set()
            return


def _wait_stopped(done: threading.Event) -> bool:
    """After Ctrl-C: interrupt the statements until the work ends (True) or GRACE_S passed (False)."""
    _close_gate()
    deadline = time.monotonic() + GRACE_S
    while not done.is_set() and time.monotonic() < deadline:
        with suppress(KeyboardInterrupt):  # a second Ctrl-C: still stopping, soon done
            interrupt_all()
            done.wait(_POLL_S)
    return done.is_set()


def run_interruptibly(work: Callable[[], T]) -> T:
    """`work()`, made stoppable by Ctrl-C: on Ctrl-C, its statements are interrupted until it ends, and Stopped is
    raised here (unless it returned anyway, its writes landed before: then its result stands). Call it from the
    main thread; in the worker (a command inside the CLI's run), it runs `work()` and turns the failure of an
    interrupted statement into KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        try:
            return work()
        except KeyboardInterrupt:
            raise
        except BaseException:
            if _stopping.is_set():
                raise KeyboardInterrupt from None
            raise
    _stopping.clear()
    _landed[0] = 0
    _kept.clear()
    _scratch.clear()
    outcome: dict[str, object] = {}
    done = threading.Event()  # waited on, not Thread.join: a join that Ctrl-C interrupts may say the thread ended

    def worker() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # handed to the main thread, which raises it
            outcome["error"] = exc
        finally:
            done.set()

    _running.set()
    threading.Thread(target=worker, name="planner-work", daemon=True).start()
    try:
        while not done.wait(_POLL_S):
            pass
    except KeyboardInterrupt:
        if not _wait_stopped(done):  # the work still runs: the gate stays closed for it until the process ends
            raise Stopped(abandoned=True) from None
    _running.clear()
    if "error" in outcome:
        if _stopping.is_set():
            raise Stopped from None
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]
