"""Reading a workbook's sheets as rows of values: python-calamine (Rust) when it is safe, openpyxl otherwise.

calamine reads a 100,000-row sheet 4 times faster than openpyxl, all of a reader's work included (bench/RESULTS.md,
'Excel import'), but it holds a sheet as one dense block from its first cell to its last: a hostile workbook with
one value in A1 and one in XFD1048576 would ask for 17 billion cells. So each sheet's XML is scanned first (byte
counts and regular expressions over the inflated part, in chunks, bounded by the workbook's checked unpacked size):
every row and cell must name its reference, and the block they span must stay under DENSE_CELLS. Anything else
(references left out, namespace prefixes, a larger block, a part calamine cannot read) goes to openpyxl, which
streams a sheet row by row and checks the limits as it goes.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterable
from typing import Any
from xml.etree import ElementTree

DENSE_CELLS = 30_000_000  # about 1 GB for calamine's block: a million rows of 30 columns
_CHUNK = 8 << 20
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_ROW_REF = re.compile(rb'<row r="(\d{1,7})"')
_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}(\d{1,7})"')
_CELL_COL = re.compile(rb'<c r="([A-Z]{1,3})\d{1,7}"')
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")  # a cell or row in a namespace prefix (x:c): not counted below
Sheet = tuple[str, str | None, Iterable[tuple[int, list[object]]]]  # name, its zip part, its numbered rows


def sheet_parts(path: Any) -> list[tuple[str, str]]:
    """The workbook's worksheets in order, as (name, the zip part holding its XML); chart sheets are left out."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        book = ElementTree.fromstring(z.read("xl/workbook.xml"))
    targets: dict[str | None, str] = {}
    for rel in rels.iter(f"{_PKG_REL}Relationship"):
        if str(rel.get("Type", "")).endswith("/worksheet"):
            target = str(rel.get("Target", ""))
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            targets[rel.get("Id")] = part
    out = []
    for sheet in book.iter(f"{_MAIN}sheet"):
        found = targets.get(sheet.get(f"{_REL}id"))
        if found in names:
            out.append((str(sheet.get("name", "")), found))
    return out


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def dense_block_fits(z: zipfile.ZipFile, part: str, cap: int = DENSE_CELLS) -> bool:
    """Whether calamine may load a sheet: in its sheetData every row and cell names its reference first (the
    tags, the references and the r attributes counted agree), no element has a namespace prefix, and the block
    from A1 to the furthest row and column any reference names holds at most `cap` cells (what calamine would
    allocate, or more). Anything unusual is False: openpyxl then reads the sheet."""
    max_row = width = 0
    inside = done = False
    tail = b""
    with z.open(part) as fh:
        while not done and (chunk := fh.read(_CHUNK)):
            data = tail + chunk
            cut = data.rfind(b">") + 1  # whole tags only; the rest joins the next chunk
            data, tail = data[:cut], data[cut:]
            if not inside:
                start = data.find(b"<sheetData")
                if start < 0:
                    continue
                data, inside = data[start + len(b"<sheetData") :], True
            end = data.find(b"</sheetData>")
            if end >= 0:
                data, done = data[:end], True
            rows, cells = _ROW_REF.findall(data), _CELL_ROW.findall(data)
            n_rows, n_cells = data.count(b"<row"), data.count(b"<c")
            if (len(rows), len(cells)) != (n_rows, n_cells) or data.count(b' r="') != n_rows + n_cells:
                return False
            if _PREFIXED.search(data):
                return False
            max_row = max(max_row, *map(int, rows), *map(int, cells)) if rows or cells else max_row
            width = max(width, *(_col_number(c) for c in set(_CELL_COL.findall(data))), 0)
    return inside and max_row * width <= cap


def _calamine_rows(sheet: Any) -> Iterable[tuple[int, list[object]]]:
    """A calamine sheet's rows with their sheet row numbers, padded on the left to column A as openpyxl gives
    them (calamine starts its block at the first used column; its rows start at row 1)."""
    start = sheet.start
    pad: list[object] = [None] * (start[1] if start else 0)
    for i, row in enumerate(sheet.iter_rows(), start=1):
        yield i, pad + list(row)


def calamine_sheets(path: Any) -> list[Sheet] | None:
    """(name, part, numbered rows) for every worksheet, read by calamine; None when calamine is not installed,
    cannot read the workbook, or a sheet is unsafe for it (dense_block_fits)."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - an install without it reads every workbook with openpyxl
        return None
    try:
        parts = sheet_parts(path)
        with zipfile.ZipFile(path) as z:
            if not parts or not all(dense_block_fits(z, part) for _, part in parts):
                return None
        book = CalamineWorkbook.from_path(str(path))
        return [(name, part, _calamine_rows(book.get_sheet_by_name(name))) for name, part in parts]
    except Exception:  # noqa: BLE001 - anything calamine or the scan cannot read, openpyxl reads or reports
        return None


def openpyxl_sheets(wb: Any) -> list[Sheet]:
    """(name, part, numbered rows) for every worksheet of an openpyxl read-only workbook. The sheet's own
    dimension record is ignored (it may claim a million rows of 16,384 columns, and the reader would pad every row
    to it); rows are as wide as their last cell."""
    out: list[Sheet] = []
    for ws in wb.worksheets:
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()
        rows = ((i, list(r)) for i, r in enumerate(ws.iter_rows(values_only=True), start=1))
        out.append((str(ws.title), getattr(ws, "_worksheet_path", None), rows))
    return out
