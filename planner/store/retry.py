"""Writes that another process beat to the commit run again, a bounded number of times (#19 point 4).

store.core raises WriteConflict when a lake commit loses to another process's commit, or when a foreign program
changed a store file under a copy-and-swap write; nothing of the write landed. A domain function that makes one
write carries `@retry_conflicts` and runs again from the start on the newest data.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import tenacity

from planner.errors import StoreError, WriteConflict

DEFAULT_WRITE_ATTEMPTS = 6
log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


def write_attempts() -> int:
    """How many times a conflicting write is tried in all (PLANNER_WRITE_ATTEMPTS; planner.settings lists it)."""
    raw = os.environ.get("PLANNER_WRITE_ATTEMPTS", "")
    try:
        attempts = int(raw) if raw.strip() else DEFAULT_WRITE_ATTEMPTS
    except ValueError:
        attempts = 0
    if attempts < 1:
        raise StoreError(f"PLANNER_WRITE_ATTEMPTS={raw!r} is not a positive whole number; set it to e.g. 6")
    return attempts


def _gave_up(state: tenacity.RetryCallState) -> Any:
    conflict = state.outcome.exception() if state.outcome is not None else None
    raise WriteConflict(
        f"{str(conflict).split('; nothing was written')[0]} on each of {state.attempt_number} tries; "
        "nothing was written, retry in a moment"
    ) from None


def _log_retry(state: tenacity.RetryCallState) -> None:
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    log.info("write conflict (try %d of %d): %s; trying again in %.2f s", state.attempt_number,
             write_attempts(), state.outcome.exception() if state.outcome else "", wait)  # fmt: skip


def retry_conflicts(fn: Callable[P, T]) -> Callable[P, T]:
    """Run a function that makes one store write again when another process beat its commit (WriteConflict).

    The function must make its write once, in one `write()`; it runs again from the start on the newest
    snapshot, up to write_attempts() times in all with full-jitter exponential backoff (so two writers that
    collided do not collide again in step), then the conflict is raised as one plain line.
    """

    @wraps(fn)
    def attempt(*args: P.args, **kwargs: P.kwargs) -> T:
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(WriteConflict),
            stop=tenacity.stop_after_attempt(write_attempts()),
            wait=tenacity.wait_random_exponential(multiplier=0.05, max=2.0),
            retry_error_callback=_gave_up,
            before_sleep=_log_retry,
        )
        return retrying(fn, *args, **kwargs)

    return attempt
