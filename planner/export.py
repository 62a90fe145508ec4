"""Writing tables out: CSV and Excel that a spreadsheet opens as data, never as formulas.

CSV (OWASP's advice): a text cell whose first character after any leading whitespace (spaces, tabs, CR, LF)
is =, +, - or @ would run as a formula in Excel, LibreOffice or Sheets; it gets a leading apostrophe. A plain
number stays a number (numeric cells, and text that is just a number such as "-5"), and so does a lone "-"
(no formula: an empty value in many exports). Excel (.xlsx): every cell has a type, and only a text value
starting with "=" would be written as a formula (openpyxl's rule), so such a cell is written as a text cell
marked quotePrefix (what Excel does with a typed apostrophe, which it does not show); every other text is
written as it is ("@cmd", "- Dash Name" and "-2+3" read as written, with no apostrophe). CSV rows end in CRLF
(RFC 4180), so every cell holding a line break, a comma or a quote is quoted and stays one cell.
A NUL character becomes U+FFFD in CSV too: many CSV readers end the cell there (pandas before 3, C tools).
Excel cells hold line breaks as LF (XML's), show the characters a workbook cannot hold as U+FFFD
and keep at most 32,767 characters, Excel's limit; time zones become UTC.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

from planner.errors import BadInput
from planner.text import MIXED

# The keys the importer makes for records a file gave no ID ('name:acme|boston', 'deal:acme|renewal|2026-01-05', see
# store/imports/accounts.py and deals.py): no CRM record has them, so a file for people and CRMs leaves the cell blank.
MADE_UP_KEYS = ("name:", "deal:")
RECORD_ID_COLUMNS = ("deal_id", "account_id")

FORMULA_STARTS = ("=", "+", "-", "@")
EXCEL_CELL_CHARS = 32_767
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d+)*|\.\d+)(?:[eE][+-]?\d+)?%?")


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read `text` as a formula (after leading whitespace)."""
    head = text.lstrip()
    body = head.rstrip()
    return head.startswith(FORMULA_STARTS) and body != "-" and not _PLAIN_NUMBER.fullmatch(body)


def neutralise(value: object) -> object:
    """Prefix text that a spreadsheet would read as a formula with an apostrophe; leave the rest (CSV's rule:
    an .xlsx cell is typed instead, see excel_text_cells)."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


# What str.lstrip() strips (every character whose str.isspace() is true), then a formula's first character:
# the cells that may need an apostrophe, found by Arrow over a whole column (tests check the list).
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_FORMULA_HEAD = "^[" + "".join(f"\\x{{{ord(c):x}}}" for c in SPACES) + "]*[=+\\-@]"


def _texts(series: pd.Series) -> bool:
    return bool(series.dtype == object or pd.api.types.is_string_dtype(series))


def _maybe_formulas(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Where a text column's cells start like a formula after whitespace (a superset of is_formula_like)."""
    return np.asarray(pc.fill_null(pc.match_substring_regex(values, _FORMULA_HEAD), False), dtype=bool)


def _neutralised(series: pd.Series) -> pd.Series:
    """series.map(neutralise): only the cells that start like a formula are looked at one by one."""
    try:
        values = pa.array(series, from_pandas=True)
    except (pa.ArrowException, UnicodeError):  # mixed objects, lone surrogates: not text Arrow can hold
        return series.map(neutralise)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return series.map(neutralise)
    maybe = _maybe_formulas(values)
    if not maybe.any():
        return series
    out = series.copy()
    at = np.flatnonzero(maybe)
    out.iloc[at] = [neutralise(v) for v in series.iloc[at]]
    return out


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of df whose text cells (and column names) cannot run as spreadsheet formulas."""
    out = df.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(object)
        if _texts(out[col]):
            out[col] = _neutralised(out[col])
    out.columns = [str(neutralise(str(c))) for c in out.columns]
    return out


def safe_table(table: pa.Table) -> pa.Table:
    """safe_frame for an Arrow table: its text columns (and column names) cannot run as formulas."""
    columns = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            maybe = _maybe_formulas(col)
            if maybe.any():
                fixed = [neutralise(v) for v in col.take(np.flatnonzero(maybe)).to_pylist()]
                col = pc.replace_with_mask(col.combine_chunks(), pa.array(maybe), pa.array(fixed, col.type))
        columns.append(col)
    return pa.Table.from_arrays(columns, names=[str(neutralise(str(c))) for c in table.column_names])


def readable(
    df: pd.DataFrame,
    labels: Mapping[str, str],
    *,
    currency: str,
    money: Collection[str] = (),
    digits: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """A table for people, as a page shows it: the columns of `labels` that df has, in that order, under their
    labels; money to the cent with the currency in its header ('Potential (EUR)'), `digits` rounding the others
    (37932.219999999994 km -> 37932.2), flags as yes/no. Internal columns not in `labels` are left out. In a store of
    several currencies (MIXED, an internal code no reader knows) the header says the amounts are mixed."""
    unit = "mixed currencies" if currency == MIXED else currency
    out = {}
    for col, label in labels.items():
        if col not in df.columns:
            continue
        values = df[col]
        if col in money:
            out[f"{label} ({unit})"] = pd.to_numeric(values, errors="coerce").round(2)
        elif digits and col in digits:
            out[label] = pd.to_numeric(values, errors="coerce").round(digits[col])
        elif pd.api.types.is_bool_dtype(values):
            out[label] = values.map({True: "yes", False: "no"})
        else:
            out[label] = values
    return pd.DataFrame(out, index=df.index)


def record_ids(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """df with a blank cell where a record ID column holds a key the importer made up, and an ID column that holds
    no CRM record ID at all left out (its records were imported without one: a file without the column imports
    again matched by name, as the first file did). Returns how many cells of each ID column had no CRM ID."""
    out, blank = df.copy(), {}
    for col in RECORD_ID_COLUMNS:
        if col not in out.columns:
            continue
        ids = out[col].astype(object).where(out[col].notna(), "").astype(str)
        ids = ids.where(~ids.str.startswith(MADE_UP_KEYS), "")
        blank[col] = int((ids == "").sum())
        if len(ids) and blank[col] == len(ids):
            out = out.drop(columns=[col])
        else:
            out[col] = ids
    return out, blank


def money_header(column: str, currency: str) -> str:
    """A money column's header with its currency ('amount (EUR)', which the importer reads as 'amount'); in a store
    of several currencies (MIXED) the plain name: no one currency is true of the column (the caveat says so)."""
    return column if currency == MIXED else f"{column} ({currency})"


def rows_label(n: int, what: str = "row") -> str:
    """'1 row', '1,200 rows': a count with its noun."""
    return f"{n:,} {what}" + ("" if n == 1 else "s")


def to_csv_text(df: pd.DataFrame) -> str:
    """CSV text with formulas neutralised and RFC 4180 quoting (CRLF rows), e.g. for stdout."""
    text = safe_frame(df).to_csv(index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    return text.replace("\x00", "\ufffd")  # only ever inside a cell: no delimiter or quote is NUL


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV (UTF-8 with BOM so Excel picks the encoding), formulas neutralised."""
    return to_csv_text(df).encode("utf-8-sig", errors="replace")


def excel_value(value: object) -> object:
    """A value as a workbook can hold it (see the module docstring); text keeps its first character: a text that
    starts with "=" becomes a text cell, not a formula, in excel_text_cells."""
    if isinstance(value, str):
        # XML reads a CR back as LF, so write line breaks as LF; drop what XML cannot hold at all.
        text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value.replace("\r\n", "\n").replace("\r", "\n"))
        return text if len(text) <= EXCEL_CELL_CHARS else text[: EXCEL_CELL_CHARS - 1] + "…"
    if isinstance(value, datetime) and value.tzinfo is not None:
        return pd.Timestamp(value).tz_convert("UTC").tz_localize(None)
    if value is None or isinstance(value, int | float | bool | datetime | pd.Timestamp):
        return value
    if isinstance(value, bytes | list | tuple | dict | set):
        return excel_value(str(value))
    return value


def excel_frame(df: pd.DataFrame) -> pd.DataFrame:
    """df with what a workbook cannot hold made to fit (see the module docstring); text is not neutralised here:
    excel_text_cells types the cells once written (an apostrophe would show in Excel)."""
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = out[col] = series.astype(object)
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[col] = series.dt.tz_convert("UTC").dt.tz_localize(None)
        elif _texts(series):
            out[col] = series.map(excel_value)
    out.columns = [str(excel_value(str(c))) for c in out.columns]
    return out


def excel_text_cells(ws: Worksheet) -> None:
    """Every cell openpyxl took for a formula (a text starting with "=": nothing here writes formulas) becomes a
    text cell marked quotePrefix, so Excel shows '=1+1' as written and keeps it text when the cell is edited."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
                cell.quotePrefix = True


def sheet_name(name: str) -> str:
    """A valid, formula-free sheet name: at most 31 characters, none of []:*?/\\."""
    clean = re.sub(r"[\[\]:*?/\\]", " ", ILLEGAL_CHARACTERS_RE.sub("", str(name))).strip().strip("'")
    return (clean or "Sheet")[:31]


def to_excel_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per entry, formulas neutralised."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, df in sheets.items():
            title = sheet_name(name)
            excel_frame(df).to_excel(xl, sheet_name=title, index=False)
            excel_text_cells(xl.sheets[title])
    return buf.getvalue()


def file_stem(name: object, fallback: str = "file") -> str:
    """A name in characters every file system takes: letters and digits of any script, one '-' for each run of
    anything else, at most 60 ('José Álvarez' -> 'José-Álvarez', '../=x' -> 'x'); `fallback` when none is left."""
    stem = re.sub(r"[\W_]+", "-", unicodedata.normalize("NFC", str(name or ""))).strip("-")[:60].strip("-")
    return stem or fallback


def check_table_path(out: Path) -> None:
    """BadInput unless write_table can write to out: called before long work, so it does not end in this error."""
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise BadInput(f"cannot write {out.name}: use a .csv or .xlsx file name")
    if out.is_dir():
        raise BadInput(f"cannot write {out}: it is a folder; give a file name ending in .csv or .xlsx")


def write_table(df: pd.DataFrame, out: Path) -> None:
    """Write a table as .csv or .xlsx, chosen by the suffix."""
    check_table_path(out)
    data = to_excel_bytes({"data": df}) if out.suffix.lower() == ".xlsx" else to_csv_bytes(df)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Whole or not at all: a full disk or a kill leaves no half-written file under the name asked for.
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
