"""A rebalance's owner files of a book imported without CRM IDs import again into the same store (explore-Q F5, F6):
the plain file leaves out its blank account_id column, the importer reads an ID column blank in every row as none
(a column blank in some rows keeps rejecting those rows), and the owner files' bookkeeping columns (moved,
previous owner, note...) are no custom attributes, so 'unchanged' counts the rows whose stored values stay."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from planner import cli, crm_files, export, ingest
from planner.scope import OPERATOR
from tests.helpers import table

USERS = (
    "Full Name,Email,Home City,Home Country\n"
    "Anna Schmidt,anna@acme.eu,Hamburg,Germany\nJan de Vries,jan@acme.eu,München,Germany\n"
)
ACCOUNTS = "Account Name,Billing City,Billing Country,Employees,Account Owner\n" + "".join(
    f"{name} {i},{city},Germany,{100 + 10 * i},Anna Schmidt\n"
    for name, city in (("Nord GmbH", "Hamburg"), ("Süd AG", "München"))
    for i in range(4)
)


def _import(db: Path, path: Path) -> ingest.FileReport:
    return ingest.import_files(db, [path], scope=OPERATOR).files[0]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def book_template(empty_store_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two reps and eight accounts imported without an ID column, all Anna's (Hamburg), four of them in Munich:
    built once, copied per test."""
    tmp = tmp_path_factory.mktemp("book")
    db = tmp / "book.duckdb"
    shutil.copy(empty_store_template, db)
    ingest.import_files(db, [_write(tmp / "users.csv", USERS), _write(tmp / "acc.csv", ACCOUNTS)], scope=OPERATOR)
    return db


@pytest.fixture
def book(book_template: Path, tmp_path: Path, store_for_test: Callable[[Path, Path], Path]) -> Path:
    return store_for_test(book_template, tmp_path / "book.duckdb")


def _owners(db: Path) -> dict[str, str | None]:
    rows = table(db, "SELECT a.name, r.email FROM accounts a LEFT JOIN reps r ON r.rep_id = a.owner_rep_id")
    return {str(n): (str(e) if e else None) for n, e in rows}


def _plan(db: Path) -> pd.DataFrame:
    """owner_rows() for a plan moving the Munich accounts to Jan, from the store's own keys (name:...)."""
    accounts = pd.DataFrame(table(db, "SELECT account_id, name, owner_rep_id FROM accounts ORDER BY name"),
                            columns=["account_id", "name", "previous_owner"])  # fmt: skip
    reps = pd.DataFrame(table(db, "SELECT rep_id, name, email FROM reps"), columns=["rep_id", "name", "email"])
    jan = reps.loc[reps["email"] == "jan@acme.eu", "rep_id"].iloc[0]
    south = accounts["name"].str.startswith("Süd")
    owner = accounts["previous_owner"].where(~south, jan)
    return crm_files.owner_rows(accounts.assign(owner=owner, moved=south), reps)


@pytest.mark.parametrize("fmt", crm_files.FORMATS)
def test_every_owner_file_of_a_book_without_ids_imports_again_by_name(book: Path, tmp_path: Path, fmt: str) -> None:
    out = crm_files.owner_update(_plan(book), fmt)
    if fmt == "plain":  # no account has a CRM id: the column is left out, and a note says why
        assert "account_id" not in out.table and any("no account_id column" in n for n in out.notes), out.notes
    path = tmp_path / f"moves_{fmt}.csv"  # a name hinting at no kind (see the report)
    export.write_table(out.table, path)
    f = _import(book, path)
    assert (f.inserted, f.rejected, f.updated) == (0, 0, len(out.table)), f.rejects
    # 'unchanged' counts the rows whose stored values stay: the CRM files list the four moves only.
    assert f.unchanged == len(out.table) - 4
    expected = {f"{n} {i}": "jan@acme.eu" if n == "Süd AG" else "anna@acme.eu" for n in ("Nord GmbH", "Süd AG")
                for i in range(4)}  # fmt: skip
    assert _owners(book) == expected
    if fmt != "plain":
        assert any("is blank in every row" in n for n in f.notes), f.notes
    assert table(book, "SELECT count(*) FROM account_attributes") == [(0,)]  # moved, note, owner name: no facts
    if fmt == "plain":  # the same file again changes nothing
        again = _import(book, path)
        assert (again.updated, again.unchanged) == (8, 8)


def test_an_id_column_blank_in_some_rows_only_still_rejects_those_rows(book: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "some.csv", "Account ID,Account Name,Account Owner\n0015A,Nord GmbH 0,Jan de Vries\n"
                                         ",Nord GmbH 1,Jan de Vries\n")  # fmt: skip
    f = _import(book, path)
    assert (f.rejected, f.rows_read) == (1, 2)
    assert f.rejects[0]["reason"] == "Account ID is empty", f.rejects
    assert not any("blank in every row" in n for n in f.notes)


def test_a_deal_id_column_blank_in_every_row_keys_deals_as_a_file_without_it(book: Path, tmp_path: Path) -> None:
    deals = "Opportunity ID,Opportunity Name,Account Name,Stage,Amount,Close Date\n" + "".join(
        f",Renewal {i},Nord GmbH {i},Prospecting,1000,2027-01-31\n" for i in range(3)
    )
    f = _import(book, _write(tmp_path / "deals.csv", deals))
    assert (f.inserted, f.rejected) == (3, 0), f.rejects
    assert any("'Opportunity ID' is blank in every row" in n for n in f.notes), f.notes
    assert table(book, "SELECT count(*) FROM deals WHERE deal_id LIKE 'deal:%'") == [(3,)]


def test_balance_out_imports_again_from_the_command_line(book: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "balanced.csv"
    assert cli.main(["--db", str(book), "balance", "--metric", "accounts", "--out", str(out)]) == 0
    planned = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)
    assert "account_id" not in planned and planned["moved"].any()
    assert "no account_id column" in capsys.readouterr().err
    assert cli.main(["--db", str(book), "import", str(out)]) == 0
    text = capsys.readouterr().out
    moved = int(planned["moved"].sum())
    assert f"8 rows read, 0 inserted, 8 updated, of which {8 - moved} unchanged, 0 rejected" in text, text
    assert _owners(book) == dict(zip(planned["account_name"], planned["owner_email"], strict=True))
