"""Reading the store from pages: one read-only snapshot per render, results cached per store version.

Pages never hold DuckDB open between reruns (the CLI must be able to write meanwhile); the cache
key includes the store's shown version (store/versions.py), so a write by any process or replica that
changes what pages show refreshes every page at its next rerun, and one that does not (a sign-out's
audit row) keeps every cached figure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import streamlit as st

from planner import demo, roles, settings, store
from planner.errors import PlannerError, StoreUnavailable
from planner.scope import OPERATOR

T = TypeVar("T")
_build_lock = threading.Lock()


def db_path() -> Path:
    return settings.db_path()


# Reads of the audit log, which an audit-only write changes without bumping a version: keyed on every write.
PER_WRITE = (roles.last_sign_out,)
_versions: dict[str, tuple[str, dict[str, str]]] = {}  # per store: the versions at its last fingerprint


def versions(path: Path, token: str | None = None) -> dict[str, str]:
    """The store's versions (store/versions.py: `data_version`, `shown_version`), read once per write: at the
    same fingerprint (`token`, a lake's snapshot id or a file's identity) the versions are those read before."""
    token = token or store.fingerprint(path)
    kept = _versions.get(str(path))
    if kept is not None and kept[0] == token:
        return kept[1]
    if token == "missing":  # no store yet (a file store before its first launch)
        return {"data_version": token, "shown_version": token}
    with store.read(path) as con:
        found = store.versions.read(con)
    _versions[str(path)] = (token, found)
    return found


class Snapshot:
    """A lazily opened read-only connection, valid for one render of one page."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.token = store.fingerprint(path)  # changes with every write
        self._key: str | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._ctx: Any = None

    @property
    def key(self) -> str:
        """The cache key of what pages show: the shown version, read at the first cached call of the render."""
        if self._key is None:
            self._key = versions(self.path, self.token)["shown_version"]
        return self._key

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._ctx = store.read(self.path)
            self._con = self._ctx.__enter__()
        return self._con

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
            self._ctx = None
            self._con = None


@contextmanager
def snapshot() -> Iterator[Snapshot]:
    """Use around a page body: every cached read inside sees the same store version."""
    snap = Snapshot(db_path())
    try:
        yield snap
    finally:
        snap.close()


@st.cache_data(show_spinner=False, max_entries=512, ttl=6 * 3600)
def _cached_call(key: str, path: str, qualname: str, args: tuple[Any, ...], kwargs: tuple[Any, ...],
                 _fn: Callable[..., Any], _snap: Snapshot) -> Any:  # fmt: skip
    return _fn(_snap.con, *args, **dict(kwargs))


def cached(fn: Callable[..., T], snap: Snapshot, *args: Any, _run: Callable[..., T] | None = None, **kwargs: Any) -> T:
    """Call `fn(con, *args, **kwargs)` once per store version, day and arguments; reuse the result. `_run` (keyed as
    fn) runs instead of fn: fn wrapped. The day is in the key: a store's as-of date is today unless set, so a figure
    kept from yesterday ("Data as of" the 4th) would contradict one made today ("the 12 months to" the 5th)."""
    qualname = f"{fn.__module__}.{fn.__qualname__}" + ("" if _run is None else "+wrapped")
    key = f"{snap.token if fn in PER_WRITE else snap.key}@{date.today().isoformat()}"
    return _cached_call(key, str(snap.path), qualname, args, tuple(sorted(kwargs.items())), _run or fn, snap)


def fresh(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(con, *args, **kwargs)` on a snapshot of its own, not cached: for work a click starts after the page's
    run ended (a download's deferred data), large and wanted once."""
    with snapshot() as snap:
        return fn(snap.con, *args, **kwargs)


def progress_bar(where: Any = st) -> Callable[[float, str], None]:
    """A progress bar in `where`, and the callback (fraction, message) that moves it (planner's Progress)."""
    bar = where.progress(0.0, text="Starting")
    return lambda fraction, message: bar.progress(min(1.0, max(0.0, float(fraction))), text=message)


def _with_bar(fn: Callable[..., T]) -> Callable[..., T]:
    """fn(con, *args, progress=..., **kwargs) with a progress bar that is gone when it ends. The bar is made inside
    the cached call: a cache hit replays it (made and emptied: nothing shows); one made outside cannot be replayed."""

    def call(con: Any, *args: Any, **kwargs: Any) -> T:
        box = st.empty()
        try:
            return fn(con, *args, progress=progress_bar(box), **kwargs)
        finally:
            box.empty()

    return call


def cached_with_progress(fn: Callable[..., T], snap: Snapshot, *args: Any, **kwargs: Any) -> T:
    """`cached`, for long work that reports progress (fn takes `progress=`): a progress bar while it runs."""
    return cached(fn, snap, *args, _run=_with_bar(fn), **kwargs)


def ensure_store() -> None:
    """On first launch (no store yet) build the demo world, with a progress bar."""
    path = db_path()
    if store.exists(path):
        return
    with _build_lock:
        if store.exists(path):
            return
        box = st.empty()
        with box.container():
            st.info("First launch: building the demo store (a synthetic US B2B world) so you can explore at once.")
            progress = progress_bar()
            demo.build_store(
                path,
                int(settings.get("demo_accounts")),
                int(settings.get("demo_reps")),
                int(settings.get("demo_seed")),
                progress=progress,
                scope=OPERATOR,
            )
        box.empty()


RETRY_S = 3.0


def show_error(exc: PlannerError) -> None:
    """A user-fixable problem: one line, then stop the page.

    A store that does not answer (a lake's PostgreSQL restarting) is not the user's to fix: the page says so
    and runs again a few seconds later, until the store is back.
    """
    if isinstance(exc, StoreUnavailable):
        st.warning(f"Store unavailable, retrying every {RETRY_S:.0f} s. ({exc})", icon=":material/sync_problem:")
        time.sleep(RETRY_S)
        st.rerun()
    st.error(str(exc), icon=":material/error:")
    st.stop()
