"""Excel's own Data > Subtotal layout: after each group a row whose grouped column reads the group's value and
the function's label (' Total' for Sum, ' Count', ' Average', ' Max'...; the results in the numeric columns, other
cells empty), and a last 'Grand Total' ('Grand Count'...). Those rows are the report's, counted as rejected 'report
subtotal row' like a Salesforce report's Subtotal rows, in the workbook and in its 'Save as CSV'; companies called
'Total Wine & More', 'Grand Total Fitness', 'Max Planck Institute' or 'Count Basie Trust' are accounts."""

from __future__ import annotations

import csv
import math
import re
import statistics
import zipfile
from collections.abc import Callable
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
                   ("Bright Capital", "Finance", 3000, 30), ("Max Planck Institute", "Research", 500, 5)],
    "Noah Kim": [("Grand Total Fitness", "Fitness", 4000, 40), ("Elm Street Bakery", "Food", 5000, 50),
                 ("Count Basie Trust", "Music", 600, 6), ("Average Joe's Gym", "Fitness", 700, 7)],
}  # fmt: skip
ACCOUNTS = sorted((name, owner) for owner, rows in GROUPS.items() for name, *_ in rows)
SUBTOTAL_ROWS = [{"row": 6, "reason": "report subtotal row"}, {"row": 11, "reason": "report subtotal row"},
                 {"row": 12, "reason": "report subtotal row"}]  # fmt: skip
# Data > Subtotal's 'Use function' choices: the SUBTOTAL function number Excel writes, the label it writes after the
# group's value and after 'Grand', and what the function computes.
FUNCTIONS: dict[str, tuple[int, str, Callable[[list[int]], float]]] = {
    "Sum": (9, "Total", sum), "Count": (3, "Count", len), "Average": (1, "Average", statistics.mean),
    "Max": (4, "Max", max), "Min": (5, "Min", min), "Product": (6, "Product", math.prod),
    "Count Numbers": (2, "Count", len), "StdDev": (7, "StdDev", statistics.stdev),
    "StdDevp": (8, "StdDevp", statistics.pstdev), "Var": (10, "Var", statistics.variance),
    "Varp": (11, "Varp", statistics.pvariance),
}  # fmt: skip


def _excel_number(x: float) -> str:
    """A number as Excel saves it in a cell's <v>: shortest round trip, exponent in capitals (2.52E+25)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x)).upper()


def _excel_subtotals(path: Path, function: str = "Sum", relabel: Callable[[str], str] = str) -> Path:
    """The sheet as Excel leaves it after Data > Subtotal (at each change in Account Owner, `function`, on Annual
    Revenue and Employees): detail rows on outline level 2, a bold '<owner> Total' row ('<owner> Average'...) with
    SUBTOTAL(9, ...) formulas (1, ...) on level 1, 'Grand Total' last; Excel saves each formula's value beside it,
    which openpyxl does not: added. `relabel` rewrites the labels (another case, trailing spaces)."""
    number, word, compute = FUNCTIONS[function]
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    values: dict[str, str] = {}

    def total_row(label: str, first: int, last: int, rows: list[tuple[str, str, int, int]]) -> None:
        r = ws.max_row + 1
        ws.append([None, relabel(label), None, f"=SUBTOTAL({number},D{first}:D{last})",
                   f"=SUBTOTAL({number},E{first}:E{last})"])  # fmt: skip
        ws.cell(r, 2).font = Font(bold=True)
        values[f"D{r}"] = _excel_number(compute([x[2] for x in rows]))
        values[f"E{r}"] = _excel_number(compute([x[3] for x in rows]))
        if not label.startswith("Grand "):
            ws.row_dimensions[r].outline_level = 1

    for owner, rows in GROUPS.items():
        first = ws.max_row + 1
        for name, industry, revenue, employees in rows:
            ws.append([name, owner, industry, revenue, employees])
            ws.row_dimensions[ws.max_row].outline_level = 2
        total_row(f"{owner} {word}", first, ws.max_row, rows)
    total_row(f"Grand {word}", 2, ws.max_row, [x for rows in GROUPS.values() for x in rows])
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


def _import_and_check(store: Path, path: Path) -> None:
    """The workbook's (or CSV's) three subtotal rows are rejected as the report's, its eight accounts imported."""
    (f,) = ingest.import_files(store, [path], scope=OPERATOR).files
    assert f.kind == "accounts" and f.rejects == SUBTOTAL_ROWS
    assert (f.rows_read, f.inserted, f.updated, f.rejected) == (11, 8, 0, 3)
    assert f.rows_read == f.inserted + f.updated + f.rejected
    assert table(store, """SELECT a.name, r.name FROM accounts a JOIN assignments s USING (account_id)
                           JOIN reps r USING (rep_id) ORDER BY 1""") == ACCOUNTS  # fmt: skip
    assert table(store, "SELECT sum(annual_revenue) FROM accounts") == [(16800.0,)]  # no subtotal counted


@pytest.mark.parametrize("as_csv", [False, True], ids=["xlsx", "csv"])
def test_excel_subtotal_rows_are_report_rows(empty_store: Path, tmp_path: Path, as_csv: bool) -> None:
    path = _excel_subtotals(tmp_path / "accounts.xlsx")
    if as_csv:
        path = _saved_as_csv(path)
        assert path.read_text().splitlines()[5] == ",Maya Patel Total,,6500,65"
    _import_and_check(empty_store, path)


@pytest.mark.parametrize("as_csv", [False, True], ids=["xlsx", "csv"])
@pytest.mark.parametrize("function", [f for f in FUNCTIONS if f != "Sum"])
def test_every_subtotal_function_is_a_report_row(empty_store: Path, tmp_path: Path, function: str,
                                                 as_csv: bool) -> None:  # fmt: skip
    """Data > Subtotal with Count, Average, Max... writes '<owner> Count', 'Grand Count'...: report rows too."""
    path = _excel_subtotals(tmp_path / "accounts.xlsx", function)
    if as_csv:
        path = _saved_as_csv(path)
        assert path.read_text().splitlines()[-1].startswith(f",Grand {FUNCTIONS[function][1]},,")
    _import_and_check(empty_store, path)


@pytest.mark.parametrize("as_csv", [False, True], ids=["xlsx", "csv"])
@pytest.mark.parametrize(
    "relabel",
    [lambda s: s + "  ", str.upper, str.lower, lambda s: "  ".join(s.rsplit(" ", 1))],
    ids=["trailing-spaces", "upper", "lower", "two-spaces-before"],
)
def test_subtotal_labels_in_another_case_or_spacing(empty_store: Path, tmp_path: Path, relabel: Callable[[str], str],
                                                    as_csv: bool) -> None:  # fmt: skip
    """'Maya Patel Total  ', 'MAYA PATEL TOTAL', 'grand total', 'Maya Patel  Total' (a group value with a space at
    its end): an edit, another tool or a careless cell; still the report's."""
    path = _excel_subtotals(tmp_path / "accounts.xlsx", "Average", relabel)
    _import_and_check(empty_store, _saved_as_csv(path) if as_csv else path)


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


def test_a_subtotal_of_excel_errors_is_a_report_row(empty_store: Path, tmp_path: Path) -> None:
    """StdDev of a one-account group is #DIV/0! in Excel and in its CSV: the row is still a subtotal, not an account;
    a row with a word beside the label is an account."""
    path = tmp_path / "accounts.csv"
    path.write_text(
        "Account Name,Account Owner,Annual Revenue,Employees\n"
        "Acme,Maya Patel,1000,10\n"
        ",Maya Patel StdDev,#DIV/0!,#DIV/0!\n"
        "Elm Bakery,Noah Kim,2000,20\n"
        "Oak Diner,Noah Kim,4000,40\n"
        ",Noah Kim StdDev,1414.21356237310,14.1421356237310\n"
        ",Grand StdDev,1527.52523165195,15.2752523165195\n"
        "Noah Kim Max,Noah Kim,#N/A,unknown\n"  # a word beside: a company named so
    )
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert f.rejects == [{"row": r, "reason": "report subtotal row"} for r in (3, 6, 7)]
    assert table(empty_store, "SELECT name FROM accounts ORDER BY 1") == [
        ("Acme",), ("Elm Bakery",), ("Noah Kim Max",), ("Oak Diner",)]  # fmt: skip


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
