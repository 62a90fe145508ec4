"""Upload limits, checked before a file is parsed: stored size, unpacked size of a workbook, rows
(lines) and columns. A zip bomb or a runaway export ends at once with one clear error, in bounded
memory, instead of being read for minutes.

The limits are settings (PLANNER_MAX_UPLOAD_MB, PLANNER_MAX_UNPACKED_MB, PLANNER_MAX_ROWS,
PLANNER_MAX_COLUMNS); the Data page shows them through `limits_text()`. The upload size is the browser's: a file
named on the command line (`local_files()`) is not an upload, and only the other guards apply to it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from planner import settings
from planner.errors import BadInput, ImportFileError

MB = 1024 * 1024
MAX_ZIP_ENTRIES = 10_000  # a real workbook has tens of parts; a zip of millions is an attack on the reader
_CHUNK = 1 << 20
_LOCAL: ContextVar[bool] = ContextVar("planner_local_files", default=False)


@dataclass(frozen=True)
class Limits:
    """What one imported file may hold."""

    upload_mb: int
    unpacked_mb: int
    rows: int
    columns: int


def upload_limits() -> Limits:
    """The limits in force (settings), each a positive whole number."""
    values = {}
    for name in ("max_upload_mb", "max_unpacked_mb", "max_rows", "max_columns"):
        value = settings.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BadInput(f"PLANNER_{name.upper()} must be a whole number of at least 1, not {value!r}")
        values[name] = value
    return Limits(values["max_upload_mb"], values["max_unpacked_mb"], values["max_rows"], values["max_columns"])


@contextmanager
def local_files() -> Iterator[None]:
    """Files read meanwhile (in this thread) were named on this machine's command line: they are no upload, so no
    upload size limit applies to them (a 1M-account org's deals export is 400 MB); the unpacked size, row and
    column guards still do."""
    token = _LOCAL.set(True)
    try:
        yield
    finally:
        _LOCAL.reset(token)


def upload_mb() -> int | None:
    """The most MB one file (or a zip's member) may hold: the upload limit, or None for a local file."""
    return None if _LOCAL.get() else upload_limits().upload_mb


def limits_text() -> str:
    """One line for people: the limits and how to change them (or what is wrong with their settings)."""
    try:
        lim = upload_limits()
    except BadInput as exc:
        return f"The upload limits are misconfigured: {exc}"
    return (
        f"Up to {lim.upload_mb:,} MB per file ({lim.unpacked_mb:,} MB unpacked for Excel), "
        f"{lim.rows:,} rows and {lim.columns:,} columns per file or sheet; an administrator changes them with "
        "PLANNER_MAX_UPLOAD_MB, PLANNER_MAX_UNPACKED_MB, PLANNER_MAX_ROWS and PLANNER_MAX_COLUMNS."
    )


def check_workbook(path: Path, display: str) -> None:
    """Refuse a workbook whose parts unpack beyond the limit, before any XML is read.

    The sizes come from the zip directory. Python's zipfile never inflates an entry beyond its
    recorded size (a part that lies fails its CRC check), so the recorded sizes bound the reading."""
    lim = upload_limits()
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ImportFileError(
            f"{display} is not a readable Excel workbook (a damaged zip); save it again as .xlsx or CSV"
        ) from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise ImportFileError(
            f"{display} holds {len(infos):,} parts, more than any workbook ({MAX_ZIP_ENTRIES:,}); "
            "it is damaged or not an export: save it again as .xlsx or CSV"
        )
    unpacked = sum(max(0, i.file_size) for i in infos)
    if unpacked > lim.unpacked_mb * MB:
        raise ImportFileError(
            f"{display} unpacks to {unpacked / MB:,.0f} MB, over the {lim.unpacked_mb:,} MB limit for workbooks; "
            "export it as CSV, split it, or raise PLANNER_MAX_UNPACKED_MB"
        )


def check_lines(path: Path, display: str) -> None:
    """Refuse a text file with more lines than the row limit allows (counted at memory speed)."""
    lim = upload_limits()
    lines = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            lines += chunk.count(b"\n")
            if lines > lim.rows + 1:  # a header line and the data rows
                raise ImportFileError(
                    f"{display} has more than {lim.rows:,} rows, the limit per file; "
                    "split the export, or raise PLANNER_MAX_ROWS"
                )


def check_rows(count: int, display: str) -> None:
    """Refuse a sheet once it has shown more data rows than the limit."""
    lim = upload_limits()
    if count > lim.rows:
        raise ImportFileError(
            f"{display} has more than {lim.rows:,} rows, the limit per sheet; "
            "split the export, or raise PLANNER_MAX_ROWS"
        )


def check_columns(count: int, display: str, where: str = "its header") -> None:
    """Refuse a table wider than the column limit (a header of 100,000 columns is no CRM export)."""
    lim = upload_limits()
    if count > lim.columns:
        raise ImportFileError(
            f"{display}: {where} has {count:,} columns, over the limit of {lim.columns:,}; "
            "export only the columns you need, or raise PLANNER_MAX_COLUMNS"
        )
