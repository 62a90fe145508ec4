"""Writing tables out: CSV and Excel with spreadsheet-formula injection neutralised.

A cell that starts with =, +, -, @ (or a tab / carriage return) would run as a formula in Excel
or Sheets; such text cells get a leading apostrophe. Numbers stay numbers.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Prefix text that a spreadsheet would read as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of df whose text cells cannot run as spreadsheet formulas."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    out.columns = [str(neutralise(str(c))) for c in out.columns]
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV (UTF-8 with BOM so Excel picks the encoding), formulas neutralised."""
    return safe_frame(df).to_csv(index=False).encode("utf-8-sig")


def to_excel_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per entry, formulas neutralised."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, df in sheets.items():
            safe_frame(df).to_excel(xl, sheet_name=name[:31], index=False)
    return buf.getvalue()


def write_table(df: pd.DataFrame, out: Path) -> None:
    """Write a table as .csv or .xlsx, chosen by the suffix."""
    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        data = to_excel_bytes({"data": df})
    elif suffix == ".csv":
        data = to_csv_bytes(df)
    else:
        from planner.errors import BadInput

        raise BadInput(f"cannot write {out.name}: use a .csv or .xlsx file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
