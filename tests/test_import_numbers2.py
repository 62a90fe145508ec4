"""Numbers in a file whose money is written with decimal commas: head counts stay whole ('1,000-5,000' is not 3),
Indian digit grouping is read whatever the file's style, and rows naming one account merge their values."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from planner import ingest
from planner.ingest import parse
from planner.scope import OPERATOR

HEAD_COUNTS = ["1,000-5,000", "10,001+", "1,500", "51-200", "3k", "2.500"]
DECIMAL_COMMA = (
    "Account Name,City,Country,Employees,Annual Revenue\n"
    + "".join(f'Firm {i},São Paulo,Brazil,"{e}","R$ 250.000.000,00"\n' for i, e in enumerate(HEAD_COUNTS))
    + 'Ind Firm,Bengaluru,India,50,"₹ 16,60,00,000"\n'
    + 'Ind Big,Mumbai,India,9000,"₹ 83,00,00,00,000"\n'
)


def _import(tmp_path: Path, text: str) -> tuple[Path, ingest.FileReport]:
    path, db = tmp_path / "accounts.csv", tmp_path / "t.duckdb"
    path.write_text(text, encoding="utf-8")
    (report,) = ingest.import_files(db, [path], "accounts", scope=OPERATOR).files
    return db, report


@pytest.fixture(scope="module")
def decimal_comma(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ingest.FileReport]:
    return _import(tmp_path_factory.mktemp("dc"), DECIMAL_COMMA)


def _accounts(db: Path, columns: str) -> dict[str, tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {r[0]: r[1:] for r in con.execute(f"SELECT name, {columns} FROM accounts").fetchall()}


def test_head_counts_are_whole_in_a_file_of_decimal_commas(decimal_comma: tuple[Path, ingest.FileReport]) -> None:
    db, report = decimal_comma
    assert any("decimal commas" in n for n in report.notes)
    got = _accounts(db, "employees")
    expected = [3000, 10001, 1500, 126, 3000, 2500]
    assert [got[f"Firm {i}"][0] for i in range(len(HEAD_COUNTS))] == expected
    # The Python reference reads them the same, in either style.
    assert [parse.parse_employees(e, True) for e in HEAD_COUNTS] == expected
    assert [parse.parse_employees(e, False) for e in HEAD_COUNTS] == expected


def test_indian_grouping_is_read_in_a_file_of_decimal_commas(decimal_comma: tuple[Path, ingest.FileReport]) -> None:
    db, report = decimal_comma
    got = _accounts(db, "annual_revenue")
    assert got["Ind Firm"][0] == 166_000_000 and got["Ind Big"][0] == 83_000_000_000
    assert got["Firm 0"][0] == 250_000_000
    assert not [w for w in report.warnings if "could not be read" in w]
    assert parse.parse_number("₹ 16,60,00,000", True) == 166_000_000
    assert parse.parse_number("1,5", True) == 1.5  # one comma alone stays the file's decimal mark


DUPLICATES = """Account Name,City,Annual Revenue,Employees,Industry,Account Owner
ACME Corp.,Boston,,,,Maya Patel
 acme  corp ,Boston,"5,000,000",100,Software,Tom Chen
Acme Corp,Boston,7000000,,Retail,Maya Patel
Beta LLC,Denver,1000000,20,Retail,Tom Chen
Gamma Inc,Austin,,,,
gamma inc,Austin,200,3,,Ann Lee
"""


def test_duplicate_rows_fill_the_blanks_of_the_account_they_merge_into(tmp_path: Path) -> None:
    db, report = _import(tmp_path, DUPLICATES)
    assert (report.rows_read, report.inserted, report.updated, report.rejected) == (6, 3, 3, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        got = {r[0]: r[1:] for r in con.execute(
            """SELECT a.name, a.annual_revenue, a.employees, a.industry, r.name FROM accounts a
               LEFT JOIN reps r ON r.rep_id = a.owner_rep_id""").fetchall()}  # fmt: skip
    # The first value in file order of each field; the first owner named is kept, and the other one is named.
    assert got == {"ACME Corp.": (5_000_000, 100, "Software", "Maya Patel"),
                   "Beta LLC": (1_000_000, 20, "Retail", "Tom Chen"),
                   "Gamma Inc": (200, 3, None, "Ann Lee")}  # fmt: skip
    (warning,) = [w for w in report.warnings if "different owners" in w]
    assert "'ACME Corp.': Maya Patel (kept), Tom Chen" in warning and "Gamma" not in warning
