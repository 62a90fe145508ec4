"""Small exception classes: each message names the bad value and the fix in one line.

Pages turn them into `st.error(...)`; the CLI turns them into `error: ...` and exit status 2.
"""

from __future__ import annotations

import errno
import os
import re

_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\"[^\"]*\"|[^\s\"']+)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def redact(text: str) -> str:
    """Text about a store location (an attach string, an error that repeats it) without its password."""
    return _URL_PASSWORD.sub(r"\1***@", _PASSWORD.sub(r"\1***", text))


_CATALOG_REASON = re.compile(r"(FATAL:|could not translate host name|Connection refused|timeout expired|"
                             r"No such file or directory).*", re.IGNORECASE)  # fmt: skip
_LASTING = re.compile(r"password authentication failed|database \S+ does not exist|role \S+ does not exist|"
                      r"no password supplied|invalid (integer|port)", re.IGNORECASE)  # fmt: skip


def catalog_reason(exc: BaseException) -> tuple[str, bool]:
    """A lake catalog's own reason for failing (after the attach string DuckDB repeats, its password redacted),
    and whether retrying cannot fix it (a wrong password or database name)."""
    text = redact(" ".join(str(exc).split())) or type(exc).__name__
    found = _CATALOG_REASON.search(text)
    return (found.group(0) if found else text[-300:]), bool(_LASTING.search(text))


class PlannerError(Exception):
    """Base class for every error a user can cause and fix."""


class StoreError(PlannerError):
    """The store file cannot be opened, is corrupt, foreign, or too new."""


class StoreBusy(StoreError):
    """Another process is writing the store right now."""


class WriteConflict(StoreBusy):
    """Another process committed a change this write overlaps; nothing of this write landed."""


class StoreUnavailable(StoreError):
    """The store's catalog (PostgreSQL of a DuckLake) or data cannot be reached right now."""


class NotFound(PlannerError):
    """A named rep, account, scenario, plan or model does not exist."""


class BadInput(PlannerError):
    """An argument or a value is out of range or malformed."""


class ImportFileError(PlannerError):
    """A file given to the importer cannot be used at all (nothing is written)."""


class NotEnoughData(PlannerError):
    """There is too little data for the requested operation."""


class Forbidden(PlannerError):
    """The caller's role or scope does not allow this read or write."""


_OS_HINTS = {
    errno.ENOENT: "no such file or folder: {f}; check the path",
    errno.EACCES: "permission denied on {f}; check its permissions, or run as a user who may use it",
    errno.EPERM: "operation not permitted on {f}; check its permissions, or run as a user who may use it",
    errno.EISDIR: "{f} is a folder, not a file; name a file",
    errno.ENOTDIR: "{f}: part of the path is not a folder; check the path",
    errno.EROFS: "{f} is on a read-only file system; use a writable folder",
    errno.ENOSPC: "no space left on the device holding {f}; free some space and retry",
    errno.EDQUOT: "disk quota exceeded for {f}; free some space and retry",
    errno.EMFILE: "too many open files while using {f}; close other programs and retry",
}
_OS_TEXTS = {
    "no space left on device": errno.ENOSPC,
    "read-only file system": errno.EROFS,
    "permission denied": errno.EACCES,
    "operation not permitted": errno.EPERM,
    "disk quota exceeded": errno.EDQUOT,
    "is a directory": errno.EISDIR,
}


def os_problem(exc: BaseException, where: str | None = None) -> str | None:
    """One plain line for an operating-system problem (missing, unreadable, a folder, read-only, disk full),
    also when a library reports it only in its message (DuckDB); None when `exc` is not one. `where` names the
    place in the line instead of the file the error names (a temporary file the user never heard of)."""
    number = exc.errno if isinstance(exc, OSError) else None
    named = getattr(exc, "filename", None)
    if number is None:
        text = str(exc).lower()
        number = next((n for t, n in _OS_TEXTS.items() if t in text), None)
        quoted = re.search(r'"([^"]+)"', str(exc))
        named = quoted.group(1) if quoted else named
    if number is None:
        return None
    target = where or (str(named) if named else "a file")
    hint = _OS_HINTS.get(number)
    if hint is None:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else os.strerror(number)
        return f"{reason.lower()}: {target}"
    return hint.format(f=target)
