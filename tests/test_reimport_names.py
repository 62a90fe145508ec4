"""Our own CSV exports imported again: a name the export neutralised with an apostrophe reads back as it was."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from planner import store
from planner.cli import main
from planner.ingest import parse, rules
from tests.helpers import table

NAMES = ['=HYPERLINK("http://evil.example/x","Click me")', "+SUM(A1:A9) SARL", "@cmd Consulting", "-5 Corp",
         "Plain Inc"]  # fmt: skip
BOOK = [
    ["Account ID", "Account Name", "Industry", "Billing City", "Billing State", "Billing Zip", "Latitude",
     "Longitude", "Employees", "Account Owner"],
    ["001A", NAMES[0], "Software", "Austin", "TX", "78701", "30.27", "-97.74", "126", "Ann Lee"],
    ["001B", NAMES[1], "Healthcare", "Boston", "MA", "02110", "42.36", "-71.05", "536", "Ann Lee"],
    ["001C", NAMES[2], "Logistics", "Denver", "CO", "80202", "39.75", "-104.99", "118", "Bo Chen"],
    ["001D", NAMES[3], "Retail", "Austin", "TX", "78701", "30.27", "-97.74", "40", "Bo Chen"],
    ["001E", NAMES[4], "Retail", "Boston", "MA", "02110", "42.36", "-71.05", "30", "Bo Chen"],
]  # fmt: skip


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """A write connection on a scratch store with the parsing macros installed."""
    with store.write(tmp_path_factory.mktemp("names") / "s.duckdb") as c:
        rules.install(c, world=False)
        yield c


def _import(db: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["--db", str(db), "import", "--json", str(path)]) == 0
    return json.loads(capsys.readouterr().out)["files"][0]


def _export(db: Path, path: Path) -> bytes:
    assert main(["--db", str(db), "export", "accounts", "--out", str(path)]) == 0
    return path.read_bytes()


def _names(db: Path) -> list[str]:
    return sorted(str(r[0]) for r in table(db, "SELECT name FROM accounts"))


def test_an_exported_book_imports_again_without_renaming(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hostile names -> export accounts -> import: the names stay as the CRM wrote them (no apostrophe of ours),
    and a second round changes nothing at all; every export neutralises them again, byte for byte the same."""
    book = tmp_path / "book.csv"
    with open(book, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(BOOK)
    _import(empty_store, book, capsys)
    assert _names(empty_store) == sorted(NAMES)
    first = _export(empty_store, tmp_path / "first.csv")
    assert "'=HYPERLINK" in first.decode("utf-8-sig") and ",'@cmd Consulting," in first.decode("utf-8-sig")
    # The export's own columns (potential, geo method...) become the book's attributes the first time round.
    _import(empty_store, tmp_path / "first.csv", capsys)
    assert _names(empty_store) == sorted(NAMES)
    again = _export(empty_store, tmp_path / "again.csv")
    assert again == first  # the store kept the raw text; the export neutralised it again
    copy = tmp_path / "copy.duckdb"
    shutil.copy(empty_store, copy)
    report = _import(copy, tmp_path / "again.csv", capsys)
    assert (report["inserted"], report["updated"], report["unchanged"], report["rejected"]) == (0, 5, 5, 0), report
    assert _names(copy) == sorted(NAMES)
    assert _export(copy, tmp_path / "third.csv") == first


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("'=HYPERLINK(x)", "=HYPERLINK(x)"),
        ("'+SUM(A1:A9) SARL", "+SUM(A1:A9) SARL"),
        ("'@cmd Consulting", "@cmd Consulting"),
        ("'-5 Corp", "-5 Corp"),
        ("' \t=x", " \t=x"),  # spaces before the formula's first character
        ("'=a\nb", "=a\nb"),
        ("  '=x  ", "=x"),  # the cell's edge spaces trimmed first, as any text
        ("'-5", "'-5"),  # a plain number is never neutralised: the apostrophe is the CRM's
        ("'1,234.5%", "'1,234.5%"),
        ("'-", "'-"),
        ("'abc", "'abc"),
        ("O'Brien & Co", "O'Brien & Co"),
        ("'", "'"),
        ("''=x", "''=x"),  # not our form: neutralised twice would be written so only if the text was '=x
    ],
)
def test_the_importer_and_the_reference_unquote_alike(cell: str, expected: str, con: duckdb.DuckDBPyConnection) -> None:
    """planner.ingest.parse.unquote_formula is the rule; the importer's SQL (tp_text) reads every cell the same."""
    assert parse.unquote_formula(cell.strip(parse.WS)) == expected
    assert con.execute("SELECT tp_text(?)", [cell]).fetchone() == (expected,)
