"""Reading the store from pages: one read-only snapshot per render, results cached per store version.

Pages never hold DuckDB open between reruns (the CLI must be able to write meanwhile); the cache
key includes the store's shown version (store/versions.py), so a write by any process or replica that
changes what pages show refreshes every page at its next rerun, and one that does not (a sign-out's
audit row) keeps every cached figure.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from planner import demo, roles, settings, store
from planner.errors import PlannerError, StoreBusy, StoreError, StoreUnavailable, redact
from planner.scope import OPERATOR
from planner.store import waiting

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

# The store's own errors name its file for the CLI's user, who gave it; a browser user gets "the store" instead
# (never a path on the server) and the app's words where the CLI's send them to a command-line flag.
UNREADABLE = (
    "The store cannot be read right now: it may be in the middle of being replaced (a restore or a copy) or be "
    "damaged. Reload this page in a minute; if it stays so, ask an admin to restore the store from a backup."
)
FOREIGN = (
    "The file the server uses as its store is not a Territory Planner store; ask an admin to check where the app "
    "keeps its store (PLANNER_DB)."
)
_UNREADABLE_SAYS = re.compile(r"not a readable Territory Planner store|damaged|corrupt", re.IGNORECASE)
# A path on the server left in a message (DuckDB's own text, a temporary file beside the store): two parts at least.
_SERVER_PATH = re.compile(r"(?<![\w/.:~-])/[^\s\"'()/;,]+(?:/[^\s\"'()/;,]*)+")


def _store_names(path: Path) -> list[str]:
    """How a message may write the store's location: as configured, absolute, resolved, its password redacted."""
    names = {str(path), redact(str(path))}
    if not str(path).startswith("ducklake:"):
        names |= {str(path.absolute()), str(path.resolve())}
    return sorted(names, key=len, reverse=True)


def _sees_paths() -> bool:
    """Whether this run's user may read paths on the server in a message: an admin, or open local mode's one user
    (sign_in's scope; none yet, or no run: no)."""
    try:
        scope = st.session_state.get("_scope")  # ui.auth.SCOPE_KEY (ui.auth imports this module)
    except Exception:  # no script run (a background job)
        return False
    return bool(getattr(scope, "is_admin", False))


def error_text(exc: PlannerError) -> str:
    """`exc` as a page shows it: no path on the server (the store, its lock file, its folder) but to an admin (a
    wrong PLANNER_LAKE_DATA is fixed with the paths it names), and the app's own words for a store that cannot be
    read."""
    text = str(exc)
    if isinstance(exc, StoreError) and not isinstance(exc, StoreBusy | StoreUnavailable):
        if _UNREADABLE_SAYS.search(text):
            return UNREADABLE
        if "not a Territory Planner store" in text:
            return FOREIGN
    path, sees = db_path(), _sees_paths()
    for name in [] if sees and store.is_lake(path) else _store_names(path):  # an admin reads which lake (redacted)
        folder = str(Path(name).parent)
        text = text.replace(f"the folder {folder} (which holds the store {Path(name).name})", "the store's folder")
        text = text.replace(f"{name}.lock (the store's lock file)", "the store's lock file")
        text = text.replace(f"no store at {name}", "no store yet")
        text = re.sub(re.escape(name) + r"[^\s\"'()/;,]+", "a file beside the store", text)  # its copy, its WAL
        for said in (f"the store {name}", f"the lake {name}", f"store {name}", name):
            text = text.replace(said, "the store")
    return text if sees else _SERVER_PATH.sub("a file on the server", text)


def _waiting_note(timeout: float) -> Callable[[], object] | None:
    """The app's notice of a save waiting for another import or commit (store/waiting.py): a note where the save
    was asked for, gone when the wait ends. A write with no page to tell (a background job) tells nobody."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    box = st.empty()
    box.info(
        f"Waiting for another import or commit to finish (up to {timeout:.0f} s); this change is saved right after.",
        icon=":material/hourglass_top:",
    )
    return box.empty


waiting.set_notice(_waiting_note)


def show_error(exc: PlannerError) -> None:
    """A user-fixable problem: one line (error_text), then stop the page.

    A store that does not answer (a lake's PostgreSQL restarting) is not the user's to fix: the page says so
    and runs again a few seconds later, until the store is back.
    """
    if isinstance(exc, StoreUnavailable):
        st.warning(
            f"Store unavailable, retrying every {RETRY_S:.0f} s. ({error_text(exc)})", icon=":material/sync_problem:"
        )
        time.sleep(RETRY_S)
        st.rerun()
    st.error(error_text(exc), icon=":material/error:")
    st.stop()
