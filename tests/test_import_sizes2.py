"""A grouped report whose groups end in Excel's Data > Subtotal rows ('Maya Patel Total') fills its owner down
whatever the groups' size, and head counts as LinkedIn writes company sizes ('51-200 employees', '10,001+
employees', '1K-5K', '11-50 Mitarbeiter') are read, the same by the import's SQL and by parse.parse_employees."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import openpyxl
import pytest

from planner import ingest
from planner.ingest import parse
from planner.scope import OPERATOR

DEALS = [
    ["Maya Patel", "Op1", "Kiwi Ltd", "Closed Won", 1000, dt.date(2025, 1, 3)],
    ["", "Op2", "Lemon Ltd", "Prospecting", 2000, dt.date(2025, 2, 3)],
    ["", "Op3", "Mango Ltd", "Closed Lost", 3000, dt.date(2025, 3, 3)],
    ["Maya Patel Total", "", "", "", 6000, None],
    ["Omar Haddad", "Op4", "Nectar SA", "Closed Won", 4000, dt.date(2025, 4, 3)],
    ["", "Op5", "Olive SA", "Negotiation", 5000, dt.date(2025, 5, 3)],
    ["Omar Haddad Total", "", "", "", 9000, None],
    ["Grand Total", "", "", "", 15000, None],
]


@pytest.mark.parametrize("margin", [0, 2])
@pytest.mark.parametrize("title", [False, True])
def test_owner_fills_down_groups_that_end_in_excel_total_rows(tmp_path: Path, margin: int, title: bool) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    r = 1
    if title:
        ws.cell(1, margin + 1, "Opportunities by Owner")
        r = 3
    header = ["Opportunity Owner", "Opportunity Name", "Account Name", "Stage", "Amount", "Close Date"]
    for row in [header, *DEALS]:
        for j, v in enumerate(row):
            if v not in ("", None):
                ws.cell(r, margin + 1 + j, v)
        r += 1
    path, db = tmp_path / "deals.xlsx", tmp_path / "t.duckdb"
    wb.save(path)
    (report,) = ingest.import_files(db, [path], "deals", scope=OPERATOR).files
    assert (report.rows_read, report.inserted, report.rejected) == (8, 5, 3)
    assert not [w for w in report.warnings if "owner on every row" in w]
    with duckdb.connect(str(db), read_only=True) as con:
        got = dict(con.execute("""SELECT d.name, r.name FROM deals d
                                  LEFT JOIN reps r ON r.rep_id = d.owner_rep_id""").fetchall())  # fmt: skip
    assert got == {"Op1": "Maya Patel", "Op2": "Maya Patel", "Op3": "Maya Patel", "Op4": "Omar Haddad",
                   "Op5": "Omar Haddad"}  # fmt: skip


# (value, head count): LinkedIn's company sizes, bands in thousands, a '1-4' midpoint (halves up, as SQL rounds) and
# thousands with decimals ('1.5k', read so in a file of decimal commas too).
SIZES = [("51-200 employees", 126), ("10,001+ employees", 10001), ("1K-5K", 3000), ("5k-10k", 7500),
         ("11-50 Mitarbeiter", 31), ("201-500 employés", 351), ("2-10 empleados", 6), ("1-4", 3), ("2 to 3", 3),
         ("1.5k", 1500), ("many", None)]  # fmt: skip


@pytest.mark.parametrize("decimal_comma", [False, True])
def test_company_sizes_are_head_counts(tmp_path: Path, decimal_comma: bool) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Account Name", "City", "Country", "Employees", "Annual Revenue"])
    money = "R$ 250.000.000,00" if decimal_comma else "$250,000,000.00"
    for i, (size, _) in enumerate(SIZES):
        ws.append([f"Firm {i}", "Denver", "United States", size, money])
    path, db = tmp_path / "accounts.xlsx", tmp_path / "t.duckdb"
    wb.save(path)
    (report,) = ingest.import_files(db, [path], "accounts", scope=OPERATOR).files
    assert report.inserted == len(SIZES)
    assert any("decimal commas" in n for n in report.notes) == decimal_comma
    with duckdb.connect(str(db), read_only=True) as con:
        got = dict(con.execute("SELECT name, employees FROM accounts").fetchall())
    expected = [n for _, n in SIZES]
    assert [got[f"Firm {i}"] for i in range(len(SIZES))] == expected
    # Only 'many' is left empty and named.
    (warning,) = [w for w in report.warnings if "could not be read as a head count" in w]
    assert "1 value" in warning and "'many'" in warning
    # The Python reference reads them the same.
    assert [parse.parse_employees(s, decimal_comma) for s, _ in SIZES] == expected
