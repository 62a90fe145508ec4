"""A file store's write meeting an operating-system problem: one plain line instead of a traceback.

A file store is written through a lock file and a private copy beside it, then renamed over the live file
(store/core.py), so a store whose file or folder cannot be written (read-only, immutable, a full disk, another
user's, a file-size limit) fails in `os.open`, `shutil.copyfile`, DuckDB's writes (an IOException; at a commit
a TransactionException; at the checkpoint a FatalException) or `os.replace`, naming the lock or the copy. The user knows
neither: the line names the store, or its folder when the folder refused the new file.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from planner.errors import StoreError, os_problem
from planner.store import fileops


def _place(path: Path, exc: BaseException) -> str:
    """Where the problem is, in the user's terms: the store file, its lock file, or the folder that holds it
    (a copy that could not be made or grow; DuckDB names no file the user knows)."""
    named = {str(getattr(exc, "filename", None) or ""), str(getattr(exc, "filename2", None) or "")}
    lock = path.with_name(path.name + ".lock")
    if str(path) in named:
        return str(path)
    if str(lock) in named:
        return f"{lock} (the store's lock file)"
    return f"the folder {path.parent} (which holds the store {path.name})"


@contextmanager
def os_errors(path: Path) -> Iterator[None]:
    """Turn an OS problem met while writing the store file `path` into a one-line StoreError (README: read-only
    and disk-full errors exit 2 with one line), and a damaged store into the line that says so; anything else
    passes unchanged."""
    try:
        yield
    except (OSError, duckdb.IOException, duckdb.FatalException, duckdb.TransactionException) as exc:
        if isinstance(exc, duckdb.Error) and fileops.damaged(exc):
            raise fileops.damaged_error(path, exc) from None
        problem = os_problem(exc, _place(path, exc))
        if (isinstance(exc, OSError) and exc.errno == errno.EFBIG) or "file too large" in str(exc).lower():
            problem = (
                f"a file in {_place(path, exc)} would grow past this process's file-size limit (`ulimit -f`) or "
                "the file system's; raise the limit or move the store, then retry"
            )
        if problem is None:
            raise
        raise StoreError(f"cannot write the store: {problem}; the store is unchanged") from None
