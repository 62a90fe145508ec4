"""The plan as an Excel workbook: a summary sheet and one sheet per table, with human headers,
number formats (money, percent, dates, hours), sized columns, frozen headers and filters; a sheet
with nothing to show says why in a sentence. Text goes through `planner.export` (formulas
neutralised, what a workbook cannot hold made to fit)."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from planner import export
from planner.plan.spec import Plan, missing
from planner.plan.tables import KINDS, cell_text, sections, summary_rows
from planner.text import currency_prefix, without_code_marks

NUMBER_FORMATS = {"money": '"$"#,##0', "pct": "0%", "date": "ddd d mmm yyyy", "int": "#,##0", "hours": "0.0"}
MAX_WIDTH = 60
_HEADER_FILL = PatternFill("solid", fgColor="DCE6EA")


def _number_format(kind: str, currency: str) -> str:
    """Excel's number format of a kind; money in `currency` (the plan's)."""
    if kind == "money":
        return '"' + currency_prefix(currency).replace('"', "") + '"#,##0'
    return NUMBER_FORMATS[kind]


def _value(value: Any, kind: str) -> Any:
    """A cell value: numbers and dates stay typed, yes/no for flags, empty for missing."""
    if missing(value):
        return None
    if kind == "bool" or isinstance(value, bool):
        return "yes" if bool(value) else "no"
    if kind in ("money", "pct", "hours"):
        return float(value)
    if kind == "int":
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _width(header: str, texts: list[str]) -> int:
    longest = max([len(header), *(len(t) for t in texts[:500])])
    return min(MAX_WIDTH, longest + 2)


def _write_table(ws: Worksheet, df: pd.DataFrame, currency: str) -> None:
    """The table with a bold, frozen, filtered header row, formats by column kind and sized columns."""
    safe = export.excel_frame(df)
    kinds = [KINDS.get(str(c), "text") for c in df.columns]
    ws.append(list(safe.columns))
    for row in safe.itertuples(index=False):
        ws.append([_value(v, k) for v, k in zip(row, kinds, strict=True)])
    for j, (header, kind) in enumerate(zip(safe.columns, kinds, strict=True), start=1):
        letter = get_column_letter(j)
        texts = [cell_text(v, kind, currency) for v in df.iloc[:, j - 1]]
        ws.column_dimensions[letter].width = _width(str(header), texts)
        wrap = any(len(t) > MAX_WIDTH for t in texts[:500])
        for cell in ws[letter][1:]:
            if kind in NUMBER_FORMATS:
                cell.number_format = _number_format(kind, currency)
            if wrap:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def _write_sentence(ws: Worksheet, sentence: str) -> None:
    ws["A1"] = str(export.excel_value(sentence))
    ws["A1"].font = Font(italic=True)
    ws.column_dimensions["A"].width = min(100, len(sentence) + 2)


def _write_summary(ws: Worksheet, plan: Plan) -> None:
    """Measure / value rows, each value in its own format, then warnings and notes."""
    ws.append(["Measure", "Value"])
    for label, value, kind in summary_rows(plan):
        ws.append([label, _value(export.excel_value(value) if kind == "text" else value, kind)])
        if kind in NUMBER_FORMATS:
            ws.cell(row=ws.max_row, column=2).number_format = _number_format(kind, plan.currency)
    for text in [*plan.kpis["warnings"], *plan.notes]:
        ws.append(["Warning", str(export.excel_value(without_code_marks(text)))])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    ws.column_dimensions["A"].width = _width("Measure", [str(c.value or "") for c in ws["A"]])
    ws.column_dimensions["B"].width = MAX_WIDTH + 20
    for cell in ws["B"]:
        cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
    ws.freeze_panes = "A2"


def to_excel(plan: Plan) -> bytes:
    """The whole plan as an .xlsx workbook: Summary, Targets, Sequence, Asks of other teams, Weekly
    load, Plan vs actual, Close the gap, Offers."""
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "Summary"
    _write_summary(summary, plan)
    for s in sections(plan):
        ws = wb.create_sheet(export.sheet_name(s.title))
        if len(s.table):
            _write_table(ws, s.table, plan.currency)
        else:
            _write_sentence(ws, s.empty)
    for ws in wb.worksheets:
        export.excel_text_cells(ws)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
