"""Opening the DuckDB store: snapshot reads and copy-on-write, all-or-nothing writes.

DuckDB lets one process write a file and then locks everyone else out, readers included. So no
process ever opens the live store for writing: a writer takes an advisory lock, copies the store
to a temporary file, writes there, checkpoints, and atomically renames the copy over the store.
Readers open the live file read-only for as long as one page render lasts and see either the whole
old store or the whole new one. A writer killed half-way leaves only a stray temporary file.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from planner.errors import StoreBusy, StoreError
from planner.store import schema

DEFAULT_LOCK_TIMEOUT_S = 120.0

Params = Sequence[Any] | dict[str, Any] | None


def quote_identifier(name: str) -> str:
    """Quote a table or column name for SQL; values are always bound parameters instead."""
    return '"' + str(name).replace('"', '""') + '"'


def query_df(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> pd.DataFrame:
    """Run one SELECT with bound parameters and return a DataFrame."""
    return con.execute(sql, params or []).df()


def query_one(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> tuple[Any, ...] | None:
    """Run one SELECT with bound parameters and return its first row (or None).

    fetchall, not fetchone: in DuckDB 2 an unfinished result blocks the connection's next
    register()/sql() call, so results are always read to the end.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> Any:
    """Run one SELECT with bound parameters and return the first column of the first row."""
    row = query_one(con, sql, params)
    return None if row is None else row[0]


def fingerprint(path: Path) -> str:
    """A cheap token that changes whenever a writer swaps a new store into place."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


def _friendly(path: Path, exc: Exception) -> StoreError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "lock" in text.lower():
        return StoreBusy(
            f"store {path} is locked by another program that opened it for writing; close it, or wait and retry"
        )
    return StoreError(
        f"{path} is not a readable Territory Planner store ({text}); pass --db with a store, "
        "or move the file away to build a fresh demo store"
    )


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise _friendly(path, exc) from None
    # No progress bar: DuckDB would draw it on stdout, into the CLI's JSON and CSV output.
    con.execute("SET enable_progress_bar = false")
    return con


def lock_timeout_s() -> float:
    """How long a writer waits for another (PLANNER_LOCK_TIMEOUT_S; the store sits below planner.settings,
    which lists the same setting and default for people)."""
    raw = os.environ.get("PLANNER_LOCK_TIMEOUT_S", "")
    try:
        return float(raw) if raw.strip() else DEFAULT_LOCK_TIMEOUT_S
    except ValueError:
        raise StoreError(f"PLANNER_LOCK_TIMEOUT_S={raw!r} is not a number of seconds; set it to e.g. 120") from None


@contextmanager
def read(path: Path, *, retries: int = 40) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store read-only for one unit of work (a page render, a CLI command)."""
    if not path.exists():
        raise StoreError(f"no store at {path}; run `python -m planner demo` or import a CRM export first")
    con = None
    for attempt in range(retries):
        try:
            con = _open(path, read_only=True)
            break
        except StoreBusy:
            # Only a foreign program writing the live file in place can cause this: wait it out.
            if attempt == retries - 1:
                raise
            time.sleep(0.25)
    assert con is not None
    try:
        version = schema.current_version(con, path)
        if version < schema.SCHEMA_VERSION:
            con.close()
            migrate(path)
            con = _open(path, read_only=True)
        yield con
    finally:
        con.close()


def migrate(path: Path) -> None:
    """Bring an older store up to this code's schema (a write of its own)."""
    with write(path):
        pass


class _WriteLock:
    """An advisory lock beside the store, so that writers (CLI or dashboard) take turns."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.lock_path = path.with_name(path.name + ".lock")
        self.timeout = timeout
        self.fd: int | None = None

    def __enter__(self) -> _WriteLock:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(self.fd)
                    self.fd = None
                    raise StoreBusy(
                        f"another import or commit is writing {self.lock_path.with_suffix('')}; retry when it is done"
                    ) from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _clean_stale_temporaries(path: Path) -> None:
    # Left behind only by a writer that was killed; we hold the lock, so none is in use.
    for stale in path.parent.glob(path.name + ".tmp-*"):
        stale.unlink(missing_ok=True)


@contextmanager
def write(path: Path, *, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a private copy of the store for writing; swap it in atomically on success.

    Everything done on the connection lands together or not at all: an exception (or a kill)
    leaves the live store exactly as it was.
    """
    if timeout is None:
        timeout = lock_timeout_s()
    with _WriteLock(path, timeout):
        _clean_stale_temporaries(path)
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        con = None
        try:
            if path.exists():
                shutil.copyfile(path, tmp)  # inside the try: a full disk must not leave a partial copy behind
            con = _open(tmp, read_only=False)
            schema.migrate(con, path)
            yield con
            schema.bump_write_id(con)
            con.execute("CHECKPOINT")
            con.close()
            con = None
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        finally:
            if con is not None:
                con.close()
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
