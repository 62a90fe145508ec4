"""Opening the store: a DuckDB file or a DuckLake, snapshot reads, all-or-nothing writes.

This module alone knows which kind of store a location names (#19 point 1):
- A file path: DuckDB lets one process write a file and then locks everyone else out, readers included. So
  no process ever opens the live file for writing: a writer takes an advisory lock, copies the store to a
  temporary file, writes there, checkpoints, and atomically renames the copy over the store. Readers open
  the live file read-only for as long as one page render lasts and see either the whole old store or the
  whole new one. A writer killed half-way leaves only a stray temporary file.
- `ducklake:postgres:dbname=... host=... port=... user=...` (or `ducklake:PATH` with a local catalog): a
  DuckLake whose data files live under PLANNER_LAKE_DATA. Each process attaches it once and hands every unit
  of work its own cursor and transaction, so a read sees one snapshot and a write lands whole or not at all.
  Writers take turns through a PostgreSQL advisory lock held until their commit is visible (any number of
  processes on any number of hosts), and every write also updates meta, so two writes that overlap anyway
  (a foreign writer, or writers with PLANNER_LAKE_LOCK=0) cannot both commit: the second fails and nothing
  of it lands.

Either way a write that another process beat to the commit raises WriteConflict, and the domain's write
functions carry `@retry_conflicts` (store/retry.py): the whole function runs again on the new snapshot, a
bounded number of times with jittered backoff, and then the conflict is reported plainly (#19 point 4).
The file's equivalent of a conflict is a foreign program that changed the live file in place while the
private copy was being written: the swap would lose that change, so it is refused the same way.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from planner.errors import StoreBusy, StoreError, StoreUnavailable, WriteConflict, catalog_reason, os_problem, redact
from planner.store import extensions, fileops, interrupts, schema, upgrade, waiting, writable
from planner.store.dbconfig import duckdb_config
from planner.store.lake_cache import SnapshotCopies, data_folder_problem

DEFAULT_LOCK_TIMEOUT_S = 120.0

Params = Sequence[Any] | dict[str, Any] | None


def quote_identifier(name: str) -> str:
    """Quote a table or column name for SQL; values are always bound parameters instead."""
    return '"' + str(name).replace('"', '""') + '"'


def query_df(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> pd.DataFrame:
    """Run one SELECT with bound parameters and return a DataFrame."""
    return con.execute(sql, params or []).df()


def query_one(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> tuple[Any, ...] | None:
    """Run one SELECT with bound parameters and return its first row (or None). fetchall, not fetchone: in DuckDB 2
    an unfinished result blocks the connection's next register()/sql() call, so results are always read to the end."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> Any:
    """Run one SELECT with bound parameters and return the first column of the first row."""
    row = query_one(con, sql, params)
    return None if row is None else row[0]


def fingerprint(path: Path) -> str:
    """A cheap token that changes whenever a write lands: the lake's snapshot id, or the file's identity."""
    if is_lake(path):
        with _lake_errors(path):
            cur = _lake_cursor(path, use=False)
            try:
                row = cur.execute(f"FROM {LAKE}.current_snapshot()").fetchall()
            finally:
                cur.close()
        return f"lake-{row[0][0]}"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


def _open(path: Path, read_only: bool, name: Path | None = None) -> duckdb.DuckDBPyConnection:
    """Connect to a store file (`name`: the store the user knows, when `path` is a private copy of it)."""
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=duckdb_config())
    except duckdb.Error as exc:
        raise fileops.open_error(name or path, exc) from None
    # No progress bar: DuckDB would draw it on stdout, into the CLI's JSON and CSV output.
    con.execute("SET enable_progress_bar = false")
    return interrupts.watch(con)  # Ctrl-C reaches its statements (store/interrupts.py)


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
    if is_lake(path):
        with _lake_read(path) as lake_con:
            yield lake_con
        return
    if not path.exists():
        raise StoreError(f"no store at {path}; run `python -m planner demo` or import a CRM export first")
    for attempt in range(retries):
        try:
            con = _open(path, read_only=True)
            break
        except StoreBusy:  # only a foreign program writing the live file in place causes this: wait it out
            if attempt == retries - 1:
                raise
            time.sleep(0.25)
    try:
        version = schema.current_version(con, path)
        if version < schema.SCHEMA_VERSION:
            con.close()
            migrate(path)
            con = _open(path, read_only=True)
        yield con
    except duckdb.Error as exc:
        if fileops.damaged(exc):  # a damaged block met by a query (one met on opening fails in _open)
            raise fileops.damaged_error(path, exc) from None
        raise
    finally:
        con.close()


def migrate(path: Path) -> None:
    """Bring an older store up to this code's schema (a write of its own)."""
    with write(path):
        pass


class _WriteLock:
    """An advisory lock beside the store, so that writers (CLI or dashboard) take turns."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path, self.lock_path, self.timeout = path, path.with_name(path.name + ".lock"), timeout
        self.fd: int | None = None

    def __enter__(self) -> _WriteLock:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        with waiting.Wait(self.timeout) as wait:  # a wait of over a second is told (the CLI's line, the page's note)
            while True:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return self
                except BlockingIOError:
                    if wait.over():
                        os.close(self.fd)
                        self.fd = None
                        raise StoreBusy(waiting.busy(self.path)) from None
                    time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


@contextmanager
def write(path: Path, *, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a private copy of the store for writing; swap it in atomically on success. Everything done on the
    connection lands together or not at all: an exception (or a kill) leaves the live store exactly as it was."""
    if timeout is None:
        timeout = lock_timeout_s()
    if is_lake(path):
        with _lake_write(path, timeout) as lake_con:
            yield lake_con
        return
    with writable.os_errors(path), _WriteLock(path, timeout) as lock:
        fileops.refuse_read_only(path)
        fileops.keep_attributes(path, lock.lock_path)  # the store's users can take the lock after a root write
        fileops.clean_stale_temporaries(path)
        tmp = interrupts.scratch(fileops.temporary_beside(path))
        con = None
        try:
            copied_from = fingerprint(path)
            if path.exists():
                shutil.copyfile(path, tmp)  # inside the try: a full disk must not leave a partial copy behind
            con = _open(tmp, read_only=False, name=path)
            upgraded = upgrade.migrate(con, path, keep=True)
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
            if fingerprint(path) != copied_from:
                # Writers of this app take turns under the lock, so only a foreign program can have written the
                # live file meanwhile: swapping the copy in would lose its change.
                raise WriteConflict(
                    f"another program changed {path} while this write was being made; nothing was written, retry"
                )
            fileops.keep_attributes(path, tmp)  # the store keeps its mode and owner (a 0600 store stays private)
            interrupts.land(lambda: os.replace(tmp, path))  # not after Ctrl-C (store/interrupts.py)
        finally:
            if con is not None:
                con.close()
            interrupts.discard(tmp)
    if upgraded is not None:
        upgrade.announce(upgraded, f"the previous file is kept at {upgraded.kept}")


# ---------------------------------------------------------------- which store, and a lake's side of it

LAKE_PREFIX = "ducklake:"
LAKE = "lake"  # the name the lake is attached under in every process
_lakes: dict[str, duckdb.DuckDBPyConnection] = {}
_copies: dict[str, SnapshotCopies] = {}  # per attached lake: its small tables in memory, by snapshot
_lakes_lock = threading.Lock()
_NO_PASSWORD = "no password (set PGPASSWORD or a .pgpass file)"
_UNREACHABLE = ("unable to connect", "connection refused", "could not connect", "server closed the connection",
                "terminating connection", "connection to server", "no connection to the server",
                "failed to get data file list", "could not receive data", "ssl syscall")  # fmt: skip


def is_lake(path: Path | str) -> bool:
    """True when the store location is a DuckLake attach string rather than a file path."""
    return str(path).startswith(LAKE_PREFIX)


def exists(path: Path) -> bool:
    """Whether a store is there: the file, or the lake's planner tables (a missing local catalog: no, unattached)."""
    if not is_lake(path):
        return path.exists()
    catalog = _lake_address(path)
    return (catalog.startswith("postgres:") or Path(catalog).exists()) and _version_of(path) > 0


def _lake_address(path: Path) -> str:
    """The catalog part of a lake's attach string; one line when it names none: empty (DuckDB's "Default secret
    was not found", an outage retried forever) or PostgreSQL's settings without `postgres:` (a local file then)."""
    spec = str(path)[len(LAKE_PREFIX) :]
    if not spec.strip() or (not spec.startswith("postgres:") and re.search(r"\b(dbname|host|user)=", spec)):
        name = "PLANNER_DB" if os.environ.get("PLANNER_DB", "").strip() == str(path) else "the store"
        raise StoreError(
            f"{name} {describe(path)!r} is not a lake address; use ducklake:postgres:dbname=... host=... user=..."
        )
    return spec


def describe(path: Path) -> str:
    """The store location for messages: a lake's attach string without a password."""
    return redact(str(path))


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _lake_data(path: Path) -> str:
    _lake_address(path)
    data = os.environ.get("PLANNER_LAKE_DATA", "").strip()
    if not data:
        raise StoreError(
            f"the store {describe(path)} is a DuckLake, and PLANNER_LAKE_DATA is not set; "
            "set it to the lake's data folder or object-storage URL"
        )
    return data


def _attach(path: Path) -> duckdb.DuckDBPyConnection:
    data = _lake_data(path)
    config = duckdb_config(
        extension_directory=str(extensions.directory()),
        autoinstall_known_extensions=False,
        autoload_known_extensions=True,
    )
    con = duckdb.connect(config=config)
    try:
        con.execute("SET enable_progress_bar = false")
        # A lake never rewrites a data file, so each file's Parquet footer is parsed once per process.
        con.execute("SET GLOBAL parquet_metadata_cache = true")
        con.execute(f"ATTACH {_sql_literal(str(path))} AS {LAKE} (DATA_PATH {_sql_literal(data)})")
    except Exception:
        con.close()
        raise
    return con


def _lake_cursor(path: Path, use: bool = True) -> duckdb.DuckDBPyConnection:
    """A fresh cursor on this process's attachment of the lake (attaching costs seconds: done once); `use`
    makes the lake its default catalog (a statement of its own, so a catalog round trip)."""
    key = str(path)
    with _lakes_lock:
        root = _lakes.get(key)
        if root is None:
            root = _lakes[key] = _attach(path)
            _copies[key] = SnapshotCopies(root, LAKE)
        cur = root.cursor()
    if use:
        cur.execute(f"USE {LAKE}")
    return cur


def _forget(path: Path) -> None:
    """Drop this process's attachment after a connection failure, so the next use attaches afresh."""
    with _lakes_lock:
        root = _lakes.pop(str(path), None)
        _copies.pop(str(path), None)
    if root is not None:
        with suppress(duckdb.Error):
            root.close()


def detach(path: Path) -> None:
    """Let go of this process's attachment of a lake (its catalog sessions close); the next use attaches again."""
    _forget(path)


def unreachable(exc: BaseException) -> bool:
    """Whether a DuckDB error says the lake's catalog or data cannot be reached (rather than bad SQL)."""
    text = str(exc).lower()
    return isinstance(exc, duckdb.Error) and any(t in text for t in _UNREACHABLE)


@contextmanager
def _lake_errors(path: Path) -> Iterator[None]:
    """Turn a lost catalog connection into StoreUnavailable (and reattach next time)."""
    try:
        yield
    except duckdb.Error as exc:
        _lasting_lake_error(path, exc)
        if not unreachable(exc) and "attach" not in str(exc).lower():
            raise
        _forget(path)
        reason, lasting = catalog_reason(exc)
        if "no password supplied" in str(exc):  # libpq's "fe_sendauth: ..." inside DuckDB's attach text
            raise StoreError(f"the lake's PostgreSQL refused the connection: {_NO_PASSWORD}") from None
        if lasting:
            raise StoreError(
                f"the lake {describe(path)} refused the connection ({reason}); check PLANNER_DB and PGPASSWORD"
            ) from None
        raise StoreUnavailable(
            f"store unavailable: the lake {describe(path)} does not answer ({reason}); "
            "nothing was written, retry when it is back"
        ) from None


def _lasting_lake_error(path: Path, exc: duckdb.Error) -> None:
    """Raise a one-line StoreError for a lake setting or folder that retrying will not fix: a PLANNER_LAKE_DATA
    other than the one the lake was made with (a host that mounts the share elsewhere), a data folder that cannot
    be written."""
    text = str(exc)
    if "does not match existing data path" in text:
        _forget(path)
        given, kept = ([redact(q) for q in re.findall(r'"([^"]*)"', text)] + ["?", "?"])[:2]
        raise StoreError(
            f"PLANNER_LAKE_DATA {given} is not the data path the lake {describe(path)} was made with ({kept}); "
            "set it to that path on every host (mount the shared folder there)"
        ) from None
    lasting = isinstance(exc, duckdb.IOException) and not unreachable(exc)  # (data_folder_problem: not mounted here)
    problem = (data_folder_problem(exc) or os_problem(exc)) if lasting else None
    if problem is not None:
        raise StoreError(f"{redact(problem)}; nothing was written") from None


def _lake_version(cur: duckdb.DuckDBPyConnection, path: Path) -> int:
    """The lake's schema version in one catalog round trip (information_schema on a lake also lists the
    catalog's own PostgreSQL tables: ten times slower); anything unusual takes schema's full check."""
    try:
        row = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    except duckdb.CatalogException:  # no meta table (a binder error leaves the transaction usable)
        row = []
    if row and str(row[0][0]) == str(schema.SCHEMA_VERSION):
        return schema.SCHEMA_VERSION
    return schema.current_version(cur, path)


def _begin_read(cur: duckdb.DuckDBPyConnection, path: Path) -> tuple[Callable[[], None], int]:
    """Start a read's transaction: its one snapshot lookup, which also pins the transaction to that snapshot,
    then the small tables of that snapshot from memory (store/lake_cache.py) and the rest from the lake.
    Returns what lets go of the snapshot's copy (call it after the read) and the store's schema version."""
    cur.execute("BEGIN TRANSACTION")
    snapshot = int(cur.execute(f"SELECT id FROM {LAKE}.current_snapshot()").fetchall()[0][0])
    with _lakes_lock:
        copies = _copies.get(str(path))
    copy = copies.acquire(snapshot) if copies is not None else None
    if copies is None or copy is None:
        cur.execute(f"USE {LAKE}")
        return lambda: None, _lake_version(cur, path)
    done = False

    def release() -> None:
        nonlocal done
        if not done:
            done = True
            copies.release(snapshot)

    try:
        cur.execute(f"SET search_path = '{copy}.main,{LAKE}.main'")
        return release, _lake_version(cur, path)
    except BaseException:
        release()
        raise


@contextmanager
def _lake_read(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with _lake_errors(path):
        cur = _lake_cursor(path, use=False)
        release: Callable[[], None] = lambda: None  # noqa: E731
        try:
            release, version = _begin_read(cur, path)
            if version == 0:
                raise StoreError(
                    f"no store in the lake {describe(path)}; run `python -m planner demo` or import a CRM export, "
                    "or `python -m planner store copy` a store into it"
                )
            if version < schema.SCHEMA_VERSION:
                cur.execute("ROLLBACK")
                release()
                migrate(path)
                release, version = _begin_read(cur, path)
            yield cur
        finally:
            with suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            cur.close()
            release()


def _lock_key(path: Path) -> int:
    """The advisory lock number of one lake (a stable 31-bit hash of its location)."""
    return zlib.crc32(f"territory-planner:{path}".encode()) & 0x7FFFFFFF


@contextmanager
def _lake_lock(path: Path, timeout: float) -> Iterator[None]:
    """Writers take turns: a PostgreSQL advisory lock (a local catalog: a file lock beside it). The lock lives in
    a transaction of its own cursor and is released after the writer's commit has landed, so the next writer
    always starts from the newest snapshot. A killed writer's lock goes with its session."""
    spec = _lake_address(path)
    if not spec.startswith("postgres:"):
        with _WriteLock(Path(spec), timeout):
            yield
        return
    cur = _lake_cursor(path, use=False)  # postgres_query names its catalog: no USE, no round trip of its own
    try:
        cur.execute("BEGIN TRANSACTION")
        deadline = time.monotonic() + timeout
        take = f"SELECT pg_try_advisory_xact_lock({_lock_key(path)})"
        sql = f"SELECT * FROM postgres_query('__ducklake_metadata_{LAKE}', '{take}')"
        while not cur.execute(sql).fetchall()[0][0]:
            if time.monotonic() > deadline:
                raise StoreBusy(f"another import or commit is writing {describe(path)}; retry when it is done")
            time.sleep(0.05)
        yield
    finally:
        with suppress(duckdb.Error):
            cur.execute("ROLLBACK")
        cur.close()


def _conflict(exc: duckdb.Error) -> bool:
    """Whether a failed lake commit lost to another process's commit (rather than failing for another reason)."""
    text = str(exc).lower()
    return isinstance(exc, duckdb.TransactionException) and ("conflict" in text or "failed to commit" in text)


def _lake_lock_on() -> bool:
    """PLANNER_LAKE_LOCK (default on): off lets lake writers commit optimistically and retry their conflicts."""
    return os.environ.get("PLANNER_LAKE_LOCK", "").strip().lower() not in ("0", "false", "no", "off")


@contextmanager
def _lake_write(path: Path, timeout: float) -> Iterator[duckdb.DuckDBPyConnection]:
    with _lake_errors(path), _lake_lock(path, timeout) if _lake_lock_on() else nullcontext():
        cur = interrupts.watch(_lake_cursor(path, use=False))
        committed = False
        try:
            cur.execute("BEGIN TRANSACTION")
            cur.execute(f"USE {LAKE}")  # inside the transaction: no catalog round trip of its own
            upgraded = None
            if _lake_version(cur, path) != schema.SCHEMA_VERSION:
                upgraded = upgrade.migrate(cur, path, keep=False)
            yield cur
            schema.bump_write_id(cur)
            interrupts.land(lambda: cur.execute("COMMIT"))
            committed = True
            if upgraded is not None:
                upgrade.announce(upgraded, "the lake keeps its earlier snapshots")
        except duckdb.Error as exc:
            if unreachable(exc) or not _conflict(exc):
                raise
            raise WriteConflict(
                f"another process committed to {describe(path)} at the same moment; nothing was written, retry"
            ) from None
        finally:
            if not committed:
                with suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
            cur.close()


# ---------------------------------------------------------------- moving a store between a file and a lake


def _attach_source_and_target(con: duckdb.DuckDBPyConnection, source: Path, target: Path, tmp: Path | None) -> None:
    con.execute(f"ATTACH {_sql_literal(str(source))} AS src (READ_ONLY)")
    if is_lake(target):
        con.execute(f"ATTACH {_sql_literal(str(target))} AS dst (DATA_PATH {_sql_literal(_lake_data(target))})")
    else:
        assert tmp is not None
        con.execute(f"ATTACH {_sql_literal(str(tmp))} AS dst")


def table_figures(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, tuple[int, str]]:
    """Rows and an order-independent checksum of every table of an attached store catalog."""
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' ORDER BY 1",
        [catalog],
    ).fetchall()]  # fmt: skip
    out: dict[str, tuple[int, str]] = {}
    for table in tables:
        name = f"{catalog}.main.{quote_identifier(table)}"
        row = con.execute(f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) % 18446744073709551616 FROM {name} t")
        n, checksum = row.fetchall()[0]
        out[table] = (int(n), f"{int(checksum):016x}")
    return out


def copy_store(source: Path, target: Path) -> list[dict[str, Any]]:
    """Copy a whole store, a file or a lake, into a new file or an empty lake, in one all-or-nothing write.
    Returns per table the rows and checksum read from the source and from the target after the copy; the
    copy is refused (nothing written) unless they are equal. The source is never written: an older file
    store is upgraded in a private copy, which is what gets copied and compared."""
    if str(source) == str(target):
        raise StoreError(f"--from and --to name the same store {describe(source)}; name another target")
    version = _version_of(source) if exists(source) else 0
    if version == 0:
        raise StoreError(f"no store at {describe(source)} to copy from; check --from")
    if version < schema.SCHEMA_VERSION and is_lake(source):
        raise StoreError(f"{describe(source)} is at schema {version}; open it once with this app, then copy it")
    if exists(target):
        raise StoreError(
            f"{describe(target)} already holds a store; copy into a new file or an empty lake (a new database)"
        )
    tmp = None if is_lake(target) else fileops.temporary_beside(target)
    lock = _WriteLock(target, lock_timeout_s()) if tmp is not None else _lake_lock(target, lock_timeout_s())
    config = duckdb_config(autoinstall_known_extensions=False)
    if is_lake(source) or is_lake(target):
        config.update(extension_directory=str(extensions.directory()), autoload_known_extensions=True)
    staged, upgraded = None, None
    try:
        with _lake_errors(target if is_lake(target) else source), lock:
            if version < schema.SCHEMA_VERSION:
                staged, upgraded = _upgraded_copy(source, target if tmp else Path(tempfile.gettempdir()) / source.name)
            if tmp is not None:
                interrupts.scratch(tmp)
            con = interrupts.watch(duckdb.connect(config=config))
            try:
                con.execute("SET enable_progress_bar = false")
                _attach_source_and_target(con, staged or source, target, tmp)
                figures = _copy_tables(con)
            finally:
                con.close()
            if tmp is not None:
                os.replace(tmp, target)  # inevitable once the copy committed (_copy_tables)
    finally:
        for scratch in (tmp, staged):
            if scratch is not None:
                interrupts.discard(scratch)
    if upgraded is not None:
        upgrade.announce(upgraded, f"the source {describe(source)} is unchanged", subject="the copy")
    return figures


def _version_of(path: Path) -> int:
    """The schema version of a store, read without upgrading it."""
    if is_lake(path):
        with _lake_errors(path):
            cur = _lake_cursor(path)
            try:
                return _lake_version(cur, path)
            finally:
                cur.close()
    con = _open(path, read_only=True)
    try:
        return schema.current_version(con, path)
    finally:
        con.close()


def _upgraded_copy(source: Path, beside: Path) -> tuple[Path, upgrade.Upgrade | None]:
    """A private copy of an older store file, beside `beside`, upgraded to this code's schema (and its audit log
    saying so): `store copy` copies that, so the source stays as it was."""
    staged = interrupts.scratch(fileops.temporary_beside(beside))
    try:
        with writable.os_errors(beside):
            shutil.copyfile(source, staged)
            con = _open(staged, read_only=False, name=source)
            try:
                done = upgrade.migrate(con, source, keep=False)
                con.execute("CHECKPOINT")
            finally:
                con.close()
    except BaseException:
        interrupts.discard(staged)
        raise
    return staged, done


def _copy_tables(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    tables = con.execute(
        "SELECT table_name, sql FROM duckdb_tables() WHERE database_name = 'src' AND schema_name = 'main' ORDER BY 1"
    ).fetchall()
    views = con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE database_name = 'src' AND schema_name = 'main' "
        "AND NOT internal ORDER BY 1"
    ).fetchall()
    before = table_figures(con, "src")
    con.execute("BEGIN TRANSACTION")
    con.execute("USE dst")
    for table, ddl in tables:
        con.execute(ddl)  # DuckDB's own DDL of the table: columns, types, defaults (no keys: see schema)
        con.execute(f"INSERT INTO dst.main.{quote_identifier(table)} SELECT * FROM src.main.{quote_identifier(table)}")
    for _view, ddl in views:
        con.execute(ddl)
    after = table_figures(con, "dst")
    if after != before:
        con.execute("ROLLBACK")
        raise StoreError("the copy does not match its source (rows or checksums differ); nothing was written")
    interrupts.land(lambda: con.execute("COMMIT"))  # not after Ctrl-C (a file's copy then swaps in at once)
    return [{"table": t, "rows": before[t][0], "checksum": before[t][1], "target_rows": after[t][0],
             "target_checksum": after[t][1]} for t in sorted(before)]  # fmt: skip
