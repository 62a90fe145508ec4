"""Report files: a grouped report's owner written once per group is read on every row of the group, its subtotal
rows are rejected as such, its footer is not mistaken for data (nor data for a footer), and a Pipedrive label of
Customer makes a customer."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from planner import ingest
from planner.ingest import reader, xlsx
from planner.scope import OPERATOR
from tests.helpers import table

HEADER = ["Opportunity Owner", "Stage", "Opportunity Name", "Account Name", "Amount", "Close Date"]
GROUPS = {
    "Maya Patel": [("Acme Analytics", "Closed Won", 1000), ("Acme Analytics", "Prospecting", 2000),
                   ("Bright Capital", "Closed Lost", 3000)],
    "Noah Kim": [("Dunmore Steel", "Prospecting", 4000), ("Elm Street Bakery", "Closed Won", 5000)],
}  # fmt: skip


def _grouped_report(path: Path, merged: bool = True, title: bool = True, subtotals: bool = True) -> Path:
    """A Salesforce formatted report grouped by owner: the owner on the group's first row only (merged down
    the group when `merged`), a Subtotal row after each group, a Total row and the footer."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    if title:
        for line in (["Opportunity Pipeline"], ["Filtered By:"], ["    Show: All opportunities"], []):
            ws.append(line)
    ws.append(HEADER)
    for owner, deals in GROUPS.items():
        first = ws.max_row + 1
        for k, (account, stage, amount) in enumerate(deals):
            ws.append([owner if k == 0 else None, stage, f"{account} {k}", account, amount, datetime(2026, 3, k + 1)])
        if merged:
            ws.merge_cells(start_row=first, start_column=1, end_row=ws.max_row, end_column=1)
        if subtotals:
            ws.append([None, "Subtotal", None, None, sum(a for _, _, a in deals)])
    ws.append(["Total", None, None, None, 15000])
    ws.append([])
    ws.append(["Confidential Information - Do Not Distribute"])
    ws.append(["Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."])
    wb.save(path)
    return path


def _owners(store_path: Path) -> list[tuple[str, str | None]]:
    return table(store_path, """SELECT d.name, r.name FROM deals d LEFT JOIN reps r ON r.rep_id = d.owner_rep_id
                                ORDER BY d.name""")  # fmt: skip


EXPECTED = sorted((f"{a} {k}", owner) for owner, deals in GROUPS.items() for k, (a, _, _) in enumerate(deals))


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_grouped_report_owner_merged_down_its_group_owns_every_deal(
    empty_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    if engine == "openpyxl":  # the merged ranges come from the sheet's XML
        monkeypatch.setattr(xlsx, "calamine_sheets", lambda path: None)
    path = _grouped_report(tmp_path / "report.xlsx")
    report = ingest.import_files(empty_store, [path], scope=OPERATOR)
    (f,) = report.files
    assert _owners(empty_store) == EXPECTED
    assert "Opportunity Owner filled down its groups, as a grouped report writes it once" in f.notes
    # The mid-file subtotal is a report row, not a record; the last one, the total and the footer are a footer.
    assert f.rejects == [{"row": 9, "reason": "report subtotal row"}]
    assert (f.rows_read, f.inserted, f.updated, f.rejected, f.footer_rows) == (6, 5, 0, 1, 4)
    assert f.rows_read == f.inserted + f.updated + f.rejected
    assert table(empty_store, "SELECT row_number, reason FROM rejected_rows") == [(9, "report subtotal row")]


def test_grouped_report_without_merged_cells_is_filled_when_it_is_a_report(empty_store: Path, tmp_path: Path) -> None:
    # No merged ranges: the title above the header and the subtotal rows say it is a report.
    path = _grouped_report(tmp_path / "report.xlsx", merged=False)
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert _owners(empty_store) == EXPECTED
    assert any("filled down" in n for n in f.notes)


def test_plain_export_keeps_a_blank_owner_blank(tmp_path: Path) -> None:
    # No title, no subtotal rows, no merged cells: a blank owner is no owner.
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    ws.append(["Maya Patel", "Closed Won", "A 0", "A", 1, datetime(2026, 1, 1)])
    ws.append([None, "Prospecting", "B 0", "B", 2, datetime(2026, 1, 2)])
    ws.append([None, "Prospecting", "C 0", "C", 3, datetime(2026, 1, 3)])
    wb.save(tmp_path / "plain.xlsx")
    (t,) = reader.open_tables(tmp_path / "plain.xlsx", workdir=tmp_path)
    assert [r[0] for r in t.sample] == ["Maya Patel", "", ""]
    assert not any("filled down" in n for n in t.notes)


def test_fill_groups_nested_groups_and_subtotals_left_alone() -> None:
    rows = [(2, ["East", "Maya", "d1", "1"]), (3, ["", "", "d2", "1"]), (4, ["", "Subtotal", "", "2"]),
            (5, ["", "Noah", "d3", "1"]), (6, ["", "", "d4", "1"]), (7, ["West", "Maya", "d5", "1"]),
            (8, ["", "", "d6", "1"]), (10, ["Confidential Information - Do Not Distribute"])]  # fmt: skip
    assert xlsx.fill_groups(rows, 1, [], report=True) == [0, 1]
    assert [r[:2] for _, r in rows] == [["East", "Maya"], ["East", "Maya"], ["", "Subtotal"], ["East", "Noah"],
                                        ["East", "Noah"], ["West", "Maya"], ["West", "Maya"],
                                        ["Confidential Information - Do Not Distribute"]]  # fmt: skip
    # A column whose values repeat in a group is not written once per group: left as it is.
    rows = [(2, ["A", "x"]), (3, ["", "y"]), (4, ["A", "z"]), (5, ["", "w"])]
    assert xlsx.fill_groups(rows, 1, [], report=True) == []
    # Merged cells are filled in any sheet, but never into a subtotal row or above the header.
    rows = [(2, ["A", "x"]), (3, ["", "y"]), (4, ["", "Subtotal"])]
    assert xlsx.fill_groups(rows, 1, [(2, 0, 4, 0), (1, 1, 3, 1)], report=False) == [0]
    assert [r for _, r in rows] == [["A", "x"], ["A", "y"], ["", "Subtotal"]]


def test_last_row_named_like_a_footer_is_data(empty_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("Account Name,City,State\nAcme,Boston,MA\nTotal Wine & More,Bethesda,MD\n"
                    "Copyright Clearance Center,Danvers,MA\n")  # fmt: skip
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert (f.rows_read, f.inserted, f.footer_rows) == (3, 3, 0)
    # A row whose first cell is 'Total' with a count is still the report's total.
    path.write_text("Account Name,City,State\nAcme,Boston,MA\nGrand Totals (1 records),,\n")
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert (f.rows_read, f.footer_rows) == (1, 1)


def test_pipedrive_label_customer_makes_a_customer(empty_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "organizations.csv"
    path.write_text(
        "Organization - ID,Organization - Name,Organization - Label\n"
        '201,Acme Holzbau GmbH,Customer\n202,Bluewave Marine Ltd,Hot lead\n203,Cedar Dental LLC,"Hot lead, Customer"\n'
    )
    ingest.import_files(empty_store, [path], scope=OPERATOR)
    assert table(empty_store, "SELECT account_id, is_customer FROM accounts ORDER BY 1") == [
        ("201", True), ("202", False), ("203", True)]  # fmt: skip


def test_customer_status_that_says_non_or_not_is_no_customer(empty_store: Path, tmp_path: Path) -> None:
    status = tmp_path / "status.csv"
    status.write_text("Account ID,Account Name,Customer Status\nS1,One,Customer\nS2,Two,Non-customer\n"
                      "S3,Three,Not a customer\n")  # fmt: skip
    ingest.import_files(empty_store, [status], scope=OPERATOR)
    assert table(empty_store, "SELECT account_id, is_customer FROM accounts WHERE account_id LIKE 'S%' ORDER BY 1") == [
        ("S1", True), ("S2", False), ("S3", False)]  # fmt: skip
