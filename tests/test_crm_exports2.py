"""CRM exports as the CRMs write them, second round: a Lightning formatted report whose table starts in column B,
HubSpot's Lifecycle Stage beside a blank Type, Dynamics' Relationship Type, Pipedrive's deleted deals, duplicated
headers and a Mac Roman CSV."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from planner import ingest
from planner.scope import OPERATOR
from tests.helpers import table

OWNERS = {"Maya Patel": ["Acme", "Birch", "Cobalt"], "Tom Chen": ["Delta", "Ember", "Fjord"]}
DEAL_HEADER = ["Opportunity Owner", "Account Name", "Opportunity Name", "Stage", "Amount", "Close Date"]


def _lightning_report(path: Path, margin: bool = True, fill: bool = False) -> Path:
    """Salesforce Lightning's 'Formatted report' export: title and filter lines, the table from column B (column A
    empty), the owner written once per group (`fill`: on every row), a Subtotal per group, a Total and a footer."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    pre: list[object] = [None] if margin else []
    for line in ("Opportunity Pipeline by Owner", "As of 12/1/2024 9:14 AM", "Filtered By:", "    Status equals Any"):
        ws.append([line])
    ws.append([])
    ws.append(pre + DEAL_HEADER)
    for owner, accounts in OWNERS.items():
        for k, name in enumerate(accounts):
            ws.append(pre + [owner if k == 0 or fill else None, name, f"{name} renewal", "Prospecting", 1000, None])
        ws.append(pre + ["Subtotal", None, None, None, 3000])
    ws.append(pre + ["Total", None, None, None, 6000])
    ws.append([])
    ws.append(["Confidential Information - Do Not Distribute"])
    wb.save(path)
    return path


def test_lightning_report_from_column_b_fills_the_owner_down(empty_store: Path, tmp_path: Path) -> None:
    path = _lightning_report(tmp_path / "Opportunity Pipeline by Owner-2024-12-01-09-14-05.xlsx")
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert f.kind == "deals" and f.inserted == 6
    assert f.rows_read == f.inserted + f.updated + f.rejected
    assert any("Opportunity Owner filled down" in n for n in f.notes), f.notes
    assert not [w for w in f.warnings if "blank owner" in w]
    got = table(empty_store, "SELECT d.name, r.name FROM deals d LEFT JOIN reps r ON r.rep_id = d.owner_rep_id")
    assert sorted(got) == sorted((f"{a} renewal", o) for o, names in OWNERS.items() for a in names)


def test_an_owner_column_blank_in_most_rows_is_warned(empty_store: Path, tmp_path: Path) -> None:
    """A plain export (no title, no subtotals: nothing to fill down) whose owner column is mostly blank."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(DEAL_HEADER)
    for i, name in enumerate(["Acme", "Birch", "Cobalt", "Delta"]):
        ws.append(["Maya Patel" if i == 0 else None, name, f"{name} renewal", "Prospecting", 1000, None])
    path = tmp_path / "deals.xlsx"
    wb.save(path)
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    (warning,) = [w for w in f.warnings if "blank owner" in w]
    assert warning.startswith("Owner: 3 of 4 deal(s) have a blank owner (first on row 3)")


PD_HEADER = (
    "Deal - ID,Deal - Title,Deal - Value,Deal - Currency,Deal - Organization,Deal - Status,Deal - Stage,Deal - Owner"
)


def test_a_pipedrive_deal_with_status_deleted_is_removed(empty_store: Path, tmp_path: Path) -> None:
    """Pipedrive's fourth status, Deleted: a new row is skipped (rejected with the reason), a stored deal removed
    (counted as updated), never imported as open pipeline."""
    first = tmp_path / "deals-12345-67.csv"
    first.write_text(f"{PD_HEADER}\n1,Acme deal,1500,EUR,Acme,Open,Qualified,Sofia Lopes\n"
                     "2,Birch deal,2500,EUR,Birch,Deleted,Qualified,Sofia Lopes\n")  # fmt: skip
    (f,) = ingest.import_files(empty_store, [first], scope=OPERATOR).files
    assert (f.rows_read, f.inserted, f.updated, f.rejected) == (2, 1, 0, 1)
    assert f.rejects == [{"row": 3, "reason": "deleted in the CRM: skipped"}]
    assert table(empty_store, "SELECT deal_id, name FROM deals") == [("1", "Acme deal")]
    again = tmp_path / "deals-12345-68.csv"
    again.write_text(f"{PD_HEADER}\n1,Acme deal,1500,EUR,Acme,deleted,Qualified,Sofia Lopes\n")
    (g,) = ingest.import_files(empty_store, [again], scope=OPERATOR).files
    assert (g.rows_read, g.inserted, g.updated, g.rejected) == (1, 0, 1, 0)
    assert table(empty_store, "SELECT count(*) FROM deals") == [(0,)]


def test_hubspot_lifecycle_stage_beside_a_blank_type_marks_customers(empty_store: Path, tmp_path: Path) -> None:
    """HubSpot's Type (blank in most portals) is read as the account type; its Lifecycle Stage still says who is
    a customer, never dropped because another column took the account type."""
    path = tmp_path / "hubspot-crm-exports-all-companies-2024-12-01.csv"
    path.write_text("Record ID,Company name,Company owner,City,Country/Region,Lifecycle Stage,Type\n"
                    "1,Acme,Maya Patel,Boston,United States,customer,\n2,Birch,Maya Patel,Boston,United States,lead,\n"
                    "3,Cobalt,Maya Patel,Boston,United States,customer,PROSPECT\n"
                    "4,Delta,Maya Patel,Boston,United States,opportunity,PARTNER\n")  # fmt: skip
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert f.mapping["Type"] == "account_type" and f.mapping["Lifecycle Stage"] == "customer_status"
    got = table(empty_store, "SELECT name, account_type, is_customer FROM accounts ORDER BY name")
    assert got == [("Acme", None, True), ("Birch", None, False), ("Cobalt", "PROSPECT", True),
                   ("Delta", "PARTNER", False)]  # fmt: skip


def test_dynamics_relationship_type_is_the_account_type(empty_store: Path, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Active Accounts"
    ws.append(["(Do Not Modify) Account", "Account Name", "Address 1: City", "Address 1: Country/Region", "Owner",
               "Relationship Type"])  # fmt: skip
    for i, kind in enumerate(["Customer", "Prospect", "Competitor"]):
        ws.append([f"00000000-0000-0000-0000-00000000000{i}", f"Dyn {kind}", "Lyon", "France", "Anna Schmidt", kind])
    path = tmp_path / "Active Accounts 12-1-2024 9-14-05 AM.xlsx"
    wb.save(path)
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert f.mapping["Relationship Type"] == "account_type"
    got = table(empty_store, "SELECT name, account_type, is_customer FROM accounts ORDER BY name")
    assert got == [("Dyn Competitor", "Competitor", False), ("Dyn Customer", "Customer", True),
                   ("Dyn Prospect", "Prospect", False)]  # fmt: skip


def test_a_header_written_twice_fills_the_first_columns_blanks(empty_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("Account Name,City,State,City,Annual Revenue,Account Owner\n"
                    "Acme,,MA,Boston,5000000,Maya Patel\nBirch,Denver,CO,Aurora,,Maya Patel\n"
                    "Cobalt,Austin,TX,,7000,Maya Patel\n")  # fmt: skip
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert (f.rows_read, f.inserted) == (3, 3)
    (warning,) = [w for w in f.warnings if "appears twice" in w]
    assert warning == ("the header 'City' appears twice: the first column was read as City, 1 blank cell(s) of the "
                       "first were filled from the second; 1 row(s) where the two differ keep the first's value "
                       "(the second is 'City (2)')")  # fmt: skip
    got = table(empty_store, "SELECT name, city FROM accounts ORDER BY name")
    assert got == [("Acme", "Boston"), ("Birch", "Denver"), ("Cobalt", "Austin")]


MAC_ROWS = ["Société Générale Café,Paris", "Müller & Söhne GmbH,München", "Crème Brûlée SARL,Lyon",
            "Peña Núñez S.L.,Madrid"]  # fmt: skip


def _accounts_in(store: Path, path: Path) -> tuple[list[str], list[tuple[object, ...]]]:
    (f,) = ingest.import_files(store, [path], scope=OPERATOR).files
    return f.notes, table(store, "SELECT name, city FROM accounts ORDER BY name")


def test_a_mac_roman_csv_is_read_as_mac_roman(empty_store: Path, tmp_path: Path) -> None:
    """Excel for Mac's 'CSV (Macintosh)': é is byte 0x8E (cp1252's Ž), ü 0x9F (Ÿ), ç 0x8D (no cp1252 letter)."""
    path = tmp_path / "accounts.csv"
    path.write_bytes("\r\n".join(["Account Name,Billing City", *MAC_ROWS, "Garçon SA,Genève"]).encode("mac_roman"))
    notes, got = _accounts_in(empty_store, path)
    assert any(n.startswith("read as Mac Roman") for n in notes), notes
    expected = [tuple(r.split(",")) for r in [*MAC_ROWS, "Garçon SA,Genève"]]
    assert got == sorted(expected)


def test_a_cp1252_csv_with_quotes_and_dashes_stays_cp1252(empty_store: Path, tmp_path: Path) -> None:
    """cp1252's own bytes 0x80-0x9F (€, dashes, curly quotes, Š) next to its accented letters: not Mac Roman."""
    rows = [*MAC_ROWS, "“Škoda” – Ostrava €,Praha"]
    path = tmp_path / "accounts.csv"
    path.write_bytes("\r\n".join(["Account Name,Billing City", *rows]).encode("cp1252"))
    notes, got = _accounts_in(empty_store, path)
    assert "read as cp1252 (not UTF-8)" in notes
    assert got == sorted(tuple(r.split(",")) for r in rows)
