"""Ctrl-C for long writes: stopping a DuckDB statement from another thread.

DuckDB runs a statement in C++ without coming back to Python, so Python's SIGINT handler (KeyboardInterrupt) waits
until the statement ends: an import busy in one join ignored Ctrl-C for minutes. So `core` watches every connection
it opens, and `run_interruptibly` runs a command's work in a worker thread while the main thread waits for Ctrl-C;
then it interrupts the watched connections until the work ends. The running statement fails with
duckdb.InterruptException in the worker, the write it belongs to rolls back (removing its temporary copy), and the
caller gets KeyboardInterrupt. Python steps between statements stop at their next `check()`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from contextlib import suppress
from typing import TypeVar

import duckdb

T = TypeVar("T")

_watched: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
_lock = threading.Lock()
_stopping = threading.Event()
_POLL_S = 0.1


def watch(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Let an interrupt reach `con` (kept weakly: a closed and dropped connection leaves the set)."""
    with _lock:
        _watched.add(con)
    return con


def interrupt_all() -> None:
    """Stop the statement every watched connection is running (one that runs none is unaffected)."""
    with _lock:
        cons = list(_watched)
    for con in cons:
        with suppress(duckdb.Error):
            con.interrupt()


def check() -> None:
    """Raise KeyboardInterrupt in the worker once Ctrl-C was pressed (called between steps)."""
    if _stopping.is_set():
        raise KeyboardInterrupt


def run_interruptibly(work: Callable[[], T]) -> T:
    """`work()`, made stoppable by Ctrl-C: on Ctrl-C, its statements are interrupted until it ends, and
    KeyboardInterrupt is raised here (unless it had finished anyway: then its result stands). Call it from the main
    thread; elsewhere it simply runs `work()` (only the main thread receives SIGINT)."""
    if threading.current_thread() is not threading.main_thread():
        return work()
    _stopping.clear()
    outcome: dict[str, object] = {}

    done = threading.Event()  # waited on, not Thread.join: a join that Ctrl-C interrupts may say the thread ended

    def worker() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # handed to the main thread, which raises it
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=worker, name="planner-work", daemon=True).start()
    try:
        while not done.wait(_POLL_S):
            pass
    except KeyboardInterrupt:
        _stopping.set()
        while not done.is_set():
            with suppress(KeyboardInterrupt):  # a second Ctrl-C: still stopping, soon done
                interrupt_all()
                done.wait(_POLL_S)
    if "error" in outcome:
        if _stopping.is_set():
            raise KeyboardInterrupt from None
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]
