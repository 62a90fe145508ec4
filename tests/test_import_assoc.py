"""Deals that name their account in awkward ways: HubSpot's several associated companies joined by ';' (a deals
export without the '... IDs' columns), and a CSV cut off mid-row (a partial download)."""

from __future__ import annotations

from pathlib import Path

from planner import ingest
from planner.scope import OPERATOR
from tests.helpers import table

COMPANIES = (
    "Record ID,Company name,City,Country/Region\n"
    "9001,Acme Robotics,Boston,United States\n"
    "9002,Beta Labs,Austin,United States\n"
    "9003,Smith,Denver,United States\n"
)


def test_joined_associated_companies_link_the_first_known_one(tmp_path: Path) -> None:
    """'A;B' links the deal to the first part naming a known account (or one the file's deals name alone); a name
    whose parts match nothing stays one name ('Zeta;Omega'); a known account's name as written wins over its parts
    ('Smith; Jones LLP' once stored). No account is made of a joined list, and one note says how many."""
    companies = tmp_path / "hubspot-crm-exports-all-companies.csv"
    companies.write_text(COMPANIES)
    deals = tmp_path / "hubspot-crm-exports-all-deals.csv"
    deals.write_text(
        "Record ID,Deal Name,Deal Stage,Amount,Close Date,Associated Company\n"
        "5001,Both known,Closed Won,100,2025-01-10,Acme Robotics;Beta Labs\n"
        "5002,Second known,Closed Won,200,2025-01-11,Unknown Co; Beta Labs\n"
        "5003,Alone,Closed Lost,300,2025-01-12,Gamma GmbH\n"
        "5004,With alone,Prospecting,400,2025-01-13,Gamma GmbH;Acme Robotics\n"
        "5005,No part known,Prospecting,500,2025-01-14,Zeta;Omega\n"
        "5006,Whole name,Prospecting,600,2025-01-15,Smith; Jones LLP\n"
    )
    db = tmp_path / "store.duckdb"
    report = ingest.import_files(db, [(companies, "accounts"), (deals, "deals")], scope=OPERATOR)
    assert table(db, "SELECT d.name, a.name FROM deals d JOIN accounts a USING (account_id) ORDER BY d.deal_id") == [
        ("Both known", "Acme Robotics"),
        ("Second known", "Beta Labs"),
        ("Alone", "Gamma GmbH"),
        ("With alone", "Gamma GmbH"),
        ("No part known", "Zeta;Omega"),
        ("Whole name", "Smith"),
    ]
    assert table(db, "SELECT name FROM accounts WHERE from_deals ORDER BY name") == [("Gamma GmbH",), ("Zeta;Omega",)]
    assert table(db, "SELECT count(*) FROM accounts") == [(5,)]
    notes = report.files[1].notes
    joined = [n for n in notes if "joined by ';'" in n]
    assert len(joined) == 1 and joined[0].startswith("4 deal(s) name several companies"), notes
    assert "'Acme Robotics;Beta Labs'" in joined[0] and "('Acme Robotics')" in joined[0]
    assert any(n.startswith("created 2 account(s) named only by deals") for n in notes), notes

    # A stored account named with ';' is found as written, before its parts (Smith is an account too).
    smith = tmp_path / "smith.csv"
    smith.write_text("Record ID,Company name\n9004,Smith; Jones LLP\n")
    again = tmp_path / "deals_again.csv"
    again.write_text("Record ID,Deal Name,Deal Stage,Associated Company\n5007,Law firm,Prospecting,Smith; Jones LLP\n")
    report = ingest.import_files(db, [(smith, "accounts"), (again, "deals")], scope=OPERATOR)
    assert table(db, "SELECT account_id FROM deals WHERE deal_id = '5007'") == [("9004",)]
    assert not [n for n in report.files[1].notes if "joined by ';'" in n]


def test_a_file_cut_off_mid_row_is_warned_of(tmp_path: Path) -> None:
    """A partial download ends inside a row: its last line has fewer fields than the header and no line end. It is
    imported as read (rows read = inserted) with a warning naming the line; a file whose rows all omit their
    trailing empty fields, or whose last line is whole, is not warned of."""
    header = "Record ID,Company name,City,State/Region,Country/Region\n"
    cut = tmp_path / "cut.csv"
    cut.write_bytes((header + "1,Acme,Boston,MA,United States\n2,Beta,Austin,T").encode())
    ragged = tmp_path / "ragged.csv"  # no final line end, but every row is as short as the last
    ragged.write_text(header + "3,Gamma,Denver\n4,Delta,Dallas")
    whole = tmp_path / "whole.csv"  # all fields, no final line end
    whole.write_text(header + "5,Epsilon,Miami,FL,United States\n6,Zeta,Tampa,FL,United States")
    report = ingest.import_files(db := tmp_path / "store.duckdb", [cut, ragged, whole], "accounts", scope=OPERATOR)
    by_file = {f.file: f for f in report.files}
    assert [w for w in by_file["cut.csv"].warnings if "cut off" in w] == [
        "the file seems cut off at line 3 (its last line has 4 of 5 fields and no line end): export it again"
    ]
    assert (by_file["cut.csv"].rows_read, by_file["cut.csv"].inserted) == (2, 2)
    assert not [w for f in ("ragged.csv", "whole.csv") for w in by_file[f].warnings if "cut off" in w]
    assert table(db, "SELECT count(*) FROM accounts") == [(6,)]
