"""A writer waiting for its turn, and what the person who started the write is told meanwhile.

A file store's writers take turns through a lock beside the store (store/core.py, _WriteLock): a save that meets
another import or commit waits for it, up to PLANNER_LOCK_TIMEOUT_S (120 s by default). A silent wait looks like a
hang, so once a writer has waited NOTICE_AFTER_S the lock calls the notice set here, once, and ends the notice when
the wait ends (the lock is taken, or the wait gives up). The store sits below the CLI and the app and tells nobody
itself: the CLI sets a notice that prints one line on stderr, the app's ui/data.py one that shows a note on the page.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import suppress

NOTICE_AFTER_S = 1.0

# Called with the wait's limit in seconds when a writer has waited NOTICE_AFTER_S; may return what ends the notice.
Notice = Callable[[float], Callable[[], object] | None]

_notice: Notice | None = None


def set_notice(notice: Notice | None) -> Notice | None:
    """What a writer that has to wait does to say so, in this process (None: nothing); returns the one before."""
    global _notice
    before, _notice = _notice, notice
    return before


def message(timeout: float) -> str:
    """The one line that says a write is waiting for another."""
    return f"waiting for another import or commit to finish (up to {timeout:.0f} s)..."


def busy(store: object) -> str:
    """The error of a wait that gave up (StoreBusy's text); `store` names the store (the CLI's users know its path)."""
    return f"another import or commit is writing {store}; retry when it is done"


def stderr_notice(timeout: float) -> None:
    """The CLI's notice: one line on stderr (stdout may be a command's CSV or JSON)."""
    print(message(timeout), file=sys.stderr, flush=True)


class Wait:
    """One writer's wait for the lock, up to `timeout` seconds: `over()` after every try that failed; the notice goes
    out once, NOTICE_AFTER_S after the wait began, and is ended when the `with` block is left."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.started = time.monotonic()
        self.told = False
        self._end: Callable[[], object] | None = None

    def __enter__(self) -> Wait:
        return self

    def over(self) -> bool:
        """True once the wait has lasted `timeout`; tells of the wait first, when it has lasted NOTICE_AFTER_S."""
        waited = time.monotonic() - self.started
        if not self.told and waited >= NOTICE_AFTER_S:
            self.told = True
            notice = _notice
            if notice is not None:
                with suppress(Exception):  # a note that cannot be shown must not fail the write it is about
                    self._end = notice(self.timeout)
        return waited > self.timeout

    def __exit__(self, *exc: object) -> None:
        end, self._end = self._end, None
        if end is not None:
            with suppress(Exception):
                end()
