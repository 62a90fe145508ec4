"""Reading a workbook's sheets as rows of values: python-calamine (Rust) when it is safe, openpyxl otherwise.

calamine reads a 100,000-row sheet 4 times faster than openpyxl, all of a reader's work included (bench/RESULTS.md,
'Excel import'), but it holds a sheet as one dense block from its first cell to its last: a hostile workbook with
one value in A1 and one in XFD1048576 would ask for 17 billion cells. So each sheet's XML is scanned first (byte
counts and regular expressions over the inflated part, in chunks, bounded by the workbook's checked unpacked size):
every row and cell must name its reference, and the block they span must stay under DENSE_CELLS. Anything else
(references left out, namespace prefixes, a larger block, a part calamine cannot read) goes to openpyxl, which
streams a sheet row by row and checks the limits as it goes.

A grouped report (Salesforce's formatted export) writes a group's value once, on its first row, in a cell merged
down the group or above blank cells: `fill_groups` writes it on every row of its group.
"""

from __future__ import annotations

import bisect
import posixpath
import re
import zipfile
from collections.abc import Iterable
from typing import Any
from xml.etree import ElementTree

from planner.ingest import parse

DENSE_CELLS = 30_000_000  # about 1 GB for calamine's block: a million rows of 30 columns
_CHUNK = 8 << 20
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_ROW_REF = re.compile(rb'<row r="(\d{1,7})"')
_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}(\d{1,7})"')
_CELL_COL = re.compile(rb'<c r="([A-Z]{1,3})\d{1,7}"')
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")  # a cell or row in a namespace prefix (x:c): not counted below
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})"')
MAX_MERGES = 100_000
Merge = tuple[int, int, int, int]  # first row, first column, last row, last column: rows from 1, columns from 0 (A)
# name, its zip part, its numbered rows, its merged ranges (None: not known yet, read them from the part)
Sheet = tuple[str, str | None, Iterable[tuple[int, list[object]]], list[Merge] | None]
# A grouped report's subtotal row: its first written cell is the whole of 'Subtotal' ('Subtotal (3 records)'). Not
# 'Total': a company may be called that ('TOTAL'), and a report's total is its last row (a footer, see rules.FOOTER).
SUBTOTAL = re.compile(r"sub-?\s?totals?(\s*\(\d[\d,.]*\s+records?\))?\s*:?", re.IGNORECASE)
# Excel's own Data > Subtotal writes after each group the group's value and its function's label in the grouped
# column, and 'Grand' and the label last: 'Maya Patel Total' and 'Grand Total' for Sum (its default), 'Maya Patel
# Count' and 'Grand Count' for Count and Count Numbers, then Average, Max, Min, Product, StdDev, StdDevp, Var, Varp;
# in English, as Excel writes them. Read in any case, spaces around the label allowed (a hand edit, another tool).
SUBTOTAL_LABELS = ("Total", "Count", "Average", "Max", "Min", "Product", "StdDev", "StdDevp", "Var", "Varp")
_LABEL = "(" + "|".join(SUBTOTAL_LABELS) + ")"
GROUP_TOTAL = re.compile(rf"\s{_LABEL}\s*$", re.IGNORECASE)  # the label's end of '<group value> <label>'
GRAND_TOTAL = re.compile(rf"\s*grand\s+{_LABEL}\s*", re.IGNORECASE)  # the whole cell
# A formula's error as Excel writes it in a cell (and in its CSV): a subtotal's StdDev or Var of one row is #DIV/0!.
_LETTER = re.compile(r"[^\W\d_]")
EXCEL_ERROR = re.compile(r"#(NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA|SPILL!|CALC!|FIELD!|BLOCKED!)")


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
        out: list[Sheet] = []
        for name, part in parts:
            sheet = book.get_sheet_by_name(name)
            merges = [(r1 + 1, c1, r2 + 1, c2) for (r1, c1), (r2, c2) in (sheet.merged_cell_ranges or [])]
            out.append((name, part, _calamine_rows(sheet), merges[:MAX_MERGES]))
        return out
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
        out.append((str(ws.title), getattr(ws, "_worksheet_path", None), rows, None))
    return out


def merged_ranges(path: Any, part: str) -> list[Merge]:
    """The ranges merged over several rows in a sheet's XML (its <mergeCells>, after the rows), at most
    MAX_MERGES; openpyxl's read-only sheets do not keep them. Read in chunks, as dense_block_fits reads."""
    out: list[Merge] = []
    tail = b""
    with zipfile.ZipFile(path) as z, z.open(part) as fh:
        while len(out) < MAX_MERGES and (chunk := fh.read(_CHUNK)):
            data = tail + chunk
            cut = data.rfind(b">") + 1
            data, tail = data[:cut], data[cut:][-4096:]
            for c1, r1, c2, r2 in _MERGE.findall(data):
                if int(r2) > int(r1):
                    out.append((int(r1), _col_number(c1) - 1, int(r2), _col_number(c2) - 1))
    return out[:MAX_MERGES]


def is_total(cells: list[str]) -> bool:
    """Whether a row is a grouped report's subtotal: its first written cell is 'Subtotal', or Excel's Data >
    Subtotal label ('Maya Patel Total', 'Grand Total', 'Maya Patel Count') with only numbers, Excel's error
    values or blanks in its other cells (the results; a company 'Print Max' has a city, a stage...)."""
    at = next((i for i, c in enumerate(cells) if c.strip()), -1)
    first = cells[at].strip() if at >= 0 else ""
    if SUBTOTAL.fullmatch(first):
        return True
    if " " not in first or not (GROUP_TOTAL.search(first) or GRAND_TOTAL.fullmatch(first)):
        return False
    return all(_result(c) for c in cells[at + 1 :])


def _result(cell: str) -> bool:
    """A subtotal row's other cell: blank, no letters (a sum, a date), a number ('$1.2M') or an error ('#DIV/0!')."""
    c = cell.strip()
    return (
        parse.is_blank(c)
        or not _LETTER.search(c)
        or parse.parse_number(c) is not None
        or bool(EXCEL_ERROR.fullmatch(c))
    )


def fill_groups(rows: list[tuple[int, list[str]]], header_row: int, merges: list[Merge], report: bool) -> list[int]:
    """Write a group's value on every row of its group (in place) and return the columns filled.

    `rows` are the data rows below the header (on `header_row`) with their sheet row numbers. A value in a cell
    merged down several rows belongs to each of them. In a `report` (a title above the header, or subtotal rows),
    a leading column whose value is written once per group, above blank cells (at least as many blanks as
    values, no value twice in its group), is filled down too; empty columns before it are passed over (a
    Lightning report's table starts in column B). Subtotal rows are left as they are. A plain export is never
    filled without merged cells: there a blank cell means no value."""
    filled: set[int] = set()
    by_row = {number: cells for number, cells in rows}
    numbers = [number for number, _ in rows]
    budget = 4 * len(rows) + 16  # overlapping ranges in a hostile sheet must not multiply the work

    def put(cells: list[str], col: int, value: str) -> None:
        if len(cells) <= col:
            cells.extend([""] * (col + 1 - len(cells)))
        if not cells[col].strip():
            cells[col] = value
            filled.add(col)

    for r1, c1, r2, _ in merges:
        top = by_row.get(r1)
        if r1 <= header_row or top is None or len(top) <= c1 or not top[c1].strip():
            continue
        for number in numbers[bisect.bisect_right(numbers, r1) : bisect.bisect_right(numbers, r2)]:
            budget -= 1
            if budget < 0:
                return sorted(filled)
            if not is_total(by_row[number]):
                put(by_row[number], c1, top[c1])
    if report:  # records only: not subtotals, nor a footer's single cell
        body = [cells for _, cells in rows if not is_total(cells) and sum(1 for c in cells if c.strip()) > 1]
        parents: list[str] = [""] * len(body)  # the enclosing groups' values, for a nested grouping
        for col in range(min(len(body[0]) if body else 0, 8)):
            values = [cells[col].strip() if col < len(cells) else "" for cells in body]
            if not any(values):  # an empty margin (a Lightning report's table starts in column B)
                continue
            written = [(p, v) for p, v in zip(parents, values, strict=True) if v]
            grouped = col in filled or (
                bool(values[0]) and len(written) * 2 <= len(values) and len(set(written)) == len(written)
            )
            if not grouped:
                break
            current = ""
            for i, cells in enumerate(body):
                current = values[i] or current
                put(cells, col, current)
                parents[i] += "\x1f" + current
    return sorted(filled)
