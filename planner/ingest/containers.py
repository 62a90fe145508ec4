"""Files that hold other files: an OLE container (a legacy Excel 97-2003 .xls, or an .xlsx saved with a
password, which Office wraps in one), and a zip archive of exports (Salesforce's weekly export is a zip of
CSVs), told apart from an .xlsx workbook (also a zip) and from an Apple Numbers file (a zip of .iwa parts).

Nothing here parses OLE: an encrypted workbook is recognised by the name of its EncryptedPackage stream in the
container's directory, and a legacy .xls is read by python-calamine.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from planner.errors import ImportFileError
from planner.ingest import limits

OLE_MAGIC = b"\xd0\xcf\x11\xe0"
# OLE directory entries hold stream names in UTF-16LE: an encrypted OOXML file has EncryptedPackage and
# EncryptionInfo streams (MS-OFFCRYPTO 2.3.4.4). Searched in the file, not parsed.
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_CHUNK = 1 << 20
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls")
MAX_MEMBERS = 100  # files imported from one archive; a CRM's export holds tens
Sheet = tuple[str, str | None, Iterable[tuple[int, list[object]]], list[tuple[int, int, int, int]] | None]


def is_encrypted_workbook(path: Path) -> bool:
    """Whether an OLE file is an Office document saved with a password (its directory names EncryptedPackage)."""
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            if _ENCRYPTED in tail + chunk:
                return True
            tail = chunk[-len(_ENCRYPTED) :]
    return False


def password_error(display: str) -> ImportFileError:
    return ImportFileError(
        f"{display} is password-protected; open it in Excel, remove the password (File > Info > Protect Workbook > "
        "Encrypt with Password: clear it) and save it, or export it as CSV, then upload it again"
    )


def legacy_sheets(path: Path, display: str) -> list[Sheet]:
    """The sheets of an OLE file: a legacy .xls read by python-calamine; a password-protected workbook, or an OLE
    file that is not a workbook (a Word document), is one error line."""
    if is_encrypted_workbook(path):
        raise password_error(display)
    fix = "open it in Excel and save it as .xlsx (File > Save As > Excel Workbook) or CSV, then upload it again"
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - calamine is a dependency; without it .xls cannot be read
        raise ImportFileError(f"{display} is a legacy Excel 97-2003 (.xls) file; {fix}") from None
    try:
        sheets: list[Sheet] = []
        with open(path, "rb") as fh:  # by content: calamine's from_path goes by the suffix (an .xls named .xlsx)
            book = CalamineWorkbook.from_filelike(fh)
            for name in book.sheet_names:
                sheet = book.get_sheet_by_name(name)
                merges = [(r1 + 1, c1, r2 + 1, c2) for (r1, c1), (r2, c2) in (sheet.merged_cell_ranges or [])]
                sheets.append((name, None, _rows(sheet), merges))
    except Exception as exc:  # noqa: BLE001 - calamine's errors are its own classes; each ends in one line
        if type(exc).__name__ == "PasswordError":
            raise password_error(display) from None
        raise ImportFileError(f"{display} is an Office file that cannot be read as an Excel workbook; {fix}") from None
    return sheets


def _rows(sheet: Any) -> Iterable[tuple[int, list[object]]]:
    """A calamine sheet's rows numbered as in Excel, padded on the left to column A (as xlsx reads them)."""
    start = sheet.start
    pad: list[object] = [None] * (start[1] if start else 0)
    for i, row in enumerate(sheet.iter_rows(), start=1):  # calamine's rows start at row 1, its columns do not
        yield i, pad + list(row)


def is_workbook(names: set[str]) -> bool:
    """An Office Open XML package (.xlsx, .xlsm) rather than an archive of files."""
    return "[Content_Types].xml" in names


def archive_members(path: Path, display: str, workdir: Path) -> tuple[list[tuple[Path, str]], list[str]]:
    """Extract the CSV and Excel files of a zip archive into `workdir`: ((path, display name), skipped names).

    An archive of no such file is one error line (an Apple Numbers file is named as such). Sizes are checked on the
    zip's directory before anything is inflated (and zipfile never inflates beyond a recorded size: a member that
    lies fails its CRC check), so a zip bomb ends at once."""
    lim = limits.upload_limits()
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            names = {i.filename for i in infos}
            if any(n.endswith(".iwa") or n == "Index.zip" for n in names):
                raise ImportFileError(
                    f"{display} is a zip archive (an Apple Numbers file?), not a CSV or Excel table; in Numbers, "
                    "File > Export To > CSV or Excel (.xlsx), then upload that file"
                )
            wanted = [i for i in infos if _is_table(i.filename)]
            skipped = sorted(i.filename for i in infos if i not in wanted and not _is_clutter(i.filename))
            if not wanted:
                held = ", ".join(skipped[:5]) or "nothing"
                raise ImportFileError(
                    f"{display} is a zip archive holding no CSV or Excel file (it holds {held}); unzip it and "
                    "upload the exports themselves"
                )
            if len(wanted) > MAX_MEMBERS:
                raise ImportFileError(
                    f"{display} holds {len(wanted):,} files, more than the {MAX_MEMBERS} one upload takes; unzip "
                    "it and upload the exports you need"
                )
            for info in wanted:
                if (most := limits.upload_mb()) is not None and info.file_size > most * limits.MB:
                    raise ImportFileError(
                        f"{display}: {info.filename} unpacks to {info.file_size / limits.MB:,.0f} MB, over the "
                        f"{most:,} MB upload limit; split that export"
                    )
            total = sum(i.file_size for i in wanted)
            if total > lim.unpacked_mb * limits.MB:
                raise ImportFileError(
                    f"{display} unpacks to {total / limits.MB:,.0f} MB, over the {lim.unpacked_mb:,} MB limit; "
                    "unzip it and upload its files in several batches"
                )
            out: list[tuple[Path, str]] = []
            for n, info in enumerate(wanted):
                folder = workdir / f"zip{n}"
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / PurePosixPath(info.filename).name  # never a path the archive chose
                with zf.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(_CHUNK):
                        dst.write(chunk)
                out.append((target, f"{display}/{info.filename}"))
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, RuntimeError, NotImplementedError):
        raise ImportFileError(
            f"{display} is a damaged or encrypted zip archive; unzip it on your computer and upload its files"
        ) from None
    return out, skipped


def _is_table(name: str) -> bool:
    return not _is_clutter(name) and PurePosixPath(name).suffix.lower() in TABLE_SUFFIXES


def _is_clutter(name: str) -> bool:
    """macOS resource forks and hidden files a zip made by Finder adds."""
    parts = PurePosixPath(name).parts
    return not parts or parts[0] == "__MACOSX" or PurePosixPath(name).name.startswith(".")
