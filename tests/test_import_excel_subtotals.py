"""Excel's own Data > Subtotal layout: after each group a row whose grouped column reads the group's value and
' Total' (the sums in the numeric columns, other cells empty), and a last 'Grand Total'. Those rows are the
report's, counted as rejected 'report subtotal row' like a Salesforce report's Subtotal rows, in the workbook and
in its 'Save as CSV'; companies called 'Total Wine & More' or 'Grand Total Fitness' are accounts."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Font

from planner import ingest
from planner.scope import OPERATOR
from tests.helpers import table

HEADER = ["Account Name", "Account Owner", "Industry", "Annual Revenue", "Employees"]
GROUPS = {
    "Maya Patel": [("Acme Analytics", "Software", 1000, 10), ("Total Wine & More", "Retail", 2000, 20),
                   ("Bright Capital", "Finance", 3000, 30)],
    "Noah Kim": [("Grand Total Fitness", "Fitness", 4000, 40), ("Elm Street Bakery", "Food", 5000, 50)],
}  # fmt: skip
ACCOUNTS = sorted((name, owner) for owner, rows in GROUPS.items() for name, *_ in rows)
SUBTOTAL_ROWS = [{"row": 5, "reason": "report subtotal row"}, {"row": 8, "reason": "report subtotal row"},
                 {"row": 9, "reason": "report subtotal row"}]  # fmt: skip


def _excel_subtotals(path: Path) -> Path:
    """The sheet as Excel leaves it after Data > Subtotal (at each change in Account Owner, Sum, on Annual Revenue
    and Employees): detail rows on outline level 2, a bold '<owner> Total' row with SUBTOTAL(9, ...) formulas on
    level 1, 'Grand Total' last; Excel saves each formula's value beside it, which openpyxl does not: added."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    values: dict[str, int] = {}

    def total_row(label: str, first: int, last: int, rows: list[tuple[str, str, int, int]]) -> None:
        r = ws.max_row + 1
        ws.append([None, label, None, f"=SUBTOTAL(9,D{first}:D{last})", f"=SUBTOTAL(9,E{first}:E{last})"])
        ws.cell(r, 2).font = Font(bold=True)
        values[f"D{r}"], values[f"E{r}"] = sum(x[2] for x in rows), sum(x[3] for x in rows)
        if label != "Grand Total":
            ws.row_dimensions[r].outline_level = 1

    for owner, rows in GROUPS.items():
        first = ws.max_row + 1
        for name, industry, revenue, employees in rows:
            ws.append([name, owner, industry, revenue, employees])
            ws.row_dimensions[ws.max_row].outline_level = 2
        total_row(f"{owner} Total", first, ws.max_row, rows)
    total_row("Grand Total", 2, ws.max_row, [x for rows in GROUPS.values() for x in rows])
    ws.sheet_properties.outlinePr.summaryBelow = True
    plain = path.with_name("openpyxl-" + path.name)
    wb.save(plain)
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for ref, value in values.items():
                    cell = rf'(<c r="{ref}"[^>]*><f>[^<]*</f>)<v\s*(?:/>|></v>)'
                    text, n = re.subn(cell, lambda m, v=value: f"{m.group(1)}<v>{v}</v>", text)
                    assert n == 1, ref
                data = text.encode()
            zout.writestr(item, data)
    return path


def _saved_as_csv(workbook: Path) -> Path:
    """Excel's 'Save as CSV' of the sheet: the formulas' values, the subtotal rows kept."""
    ws = openpyxl.load_workbook(workbook, data_only=True).active
    assert ws is not None
    path = workbook.with_suffix(".csv")
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["" if v is None else v for v in row] for row in ws.iter_rows(values_only=True)])
    return path


@pytest.mark.parametrize("as_csv", [False, True], ids=["xlsx", "csv"])
def test_excel_subtotal_rows_are_report_rows(empty_store: Path, tmp_path: Path, as_csv: bool) -> None:
    path = _excel_subtotals(tmp_path / "accounts.xlsx")
    if as_csv:
        path = _saved_as_csv(path)
        assert path.read_text().splitlines()[4] == ",Maya Patel Total,,6000,60"
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert f.kind == "accounts" and f.rejects == SUBTOTAL_ROWS
    assert (f.rows_read, f.inserted, f.updated, f.rejected) == (8, 5, 0, 3)
    assert f.rows_read == f.inserted + f.updated + f.rejected
    assert table(empty_store, """SELECT a.name, r.name FROM accounts a JOIN assignments s USING (account_id)
                                 JOIN reps r USING (rep_id) ORDER BY 1""") == ACCOUNTS  # fmt: skip
    assert table(empty_store, "SELECT sum(annual_revenue) FROM accounts") == [(15000.0,)]  # no sum counted twice


def test_a_company_named_like_a_total_is_an_account(empty_store: Path, tmp_path: Path) -> None:
    """'<value> Total' is a subtotal only under a row with that value and with nothing but numbers beside it;
    'Grand Total' only with nothing but numbers beside it."""
    path = tmp_path / "accounts.csv"
    path.write_text(
        "Account Name,Account Owner,City,Employees\n"
        "Office,Maya Patel,Boston,10\n"
        "Office Total,Maya Patel,Boston,12\n"  # the name above and ' Total', but a city: a company
        "Grand Total,Noah Kim,Denver,7\n"  # a company called Grand Total, with a city
        "Noah Kim Total,,,7\n"  # ' Total' after a value no row above holds in its column: a company without owner
    )
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert (f.rows_read, f.inserted, f.rejected) == (4, 4, 0), f.rejects
    assert table(empty_store, "SELECT name FROM accounts ORDER BY 1") == [
        ("Grand Total",), ("Noah Kim Total",), ("Office",), ("Office Total",)]  # fmt: skip


def test_a_workbooks_rejects_are_listed_in_row_order(empty_store: Path, tmp_path: Path) -> None:
    """Rows 6 and 11 of a workbook are listed as 6, then 11 (its row numbers were text: '11' came before '6')."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Account Name", "City"])
    for r in range(2, 13):
        ws.append([None if r in (6, 11) else f"Company {r}", "Boston"])
    wb.save(path := tmp_path / "accounts.xlsx")
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert [r["row"] for r in f.rejects] == [6, 11]
