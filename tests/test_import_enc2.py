"""Import, third round: a Windows cp1252 CSV whose only special characters are Excel's curly quotes and dashes stays
cp1252 (not Mac Roman), a blank ID column filled from its repeat keeps the IDs, and a repeated header whose
'(2)' name is already a header is renamed apart."""

from __future__ import annotations

from pathlib import Path

import duckdb
import openpyxl
import pytest

from planner import ingest
from planner.ingest import reader
from planner.scope import OPERATOR
from tests.helpers import table

# Excel on Windows autocorrects ' - " into ’ – “ ” (bytes 0x92 0x96 0x93 0x94), ... into … (0x85).
QUOTES_ONLY = ["O’Brien Ltd,Dublin", "Smith – Jones LLC,Cork", "“Best” Foods,Galway", "Acme™ Tools…,Sligo",
               "• Bullet Co,Ennis", "Price € Less,Tralee", "Smith—Jones,Naas"]  # fmt: skip
MORE_APOSTROPHES = ["O’Brien Ltd,Dublin", "McDonald’s Supply,Cork", "D’Arcy & Sons,Galway", "O’Neill’s Bar,Cork",
                    "Café Noir,Paris"]  # fmt: skip
MAC_ROWS = ["Peña Núñez S.L.,Madrid", "Martín López SA,Sevilla", "Müller & Söhne GmbH,Köln", "Noël Frères,Lyon"]


def _import(store: Path, path: Path, lines: list[str], encoding: str) -> tuple[list[str], list[tuple[object, ...]]]:
    path.write_bytes("\r\n".join(["Account Name,Billing City", *lines]).encode(encoding))
    (f,) = ingest.import_files(store, [path], scope=OPERATOR).files
    return f.notes, table(store, "SELECT name, city FROM accounts ORDER BY name")


@pytest.mark.parametrize("lines", [QUOTES_ONLY, MORE_APOSTROPHES], ids=["quotes-only", "more-apostrophes"])
def test_a_cp1252_csv_with_curly_quotes_and_dashes_is_not_read_as_mac_roman(
    empty_store: Path, tmp_path: Path, lines: list[str]
) -> None:
    """Read as Mac Roman, ’ – “ ” are í ñ ì î: 'OíBrien Ltd', 'Smith ñ Jones', 'ìBestî', and 'Café' is 'CafÈ'."""
    notes, got = _import(empty_store, tmp_path / "accounts.csv", lines, "cp1252")
    assert "read as cp1252 (not UTF-8)" in notes, notes
    assert got == sorted(tuple(r.split(",")) for r in lines)


def test_a_mac_roman_csv_whose_letters_are_cp1252_punctuation_is_still_mac_roman(
    empty_store: Path, tmp_path: Path
) -> None:
    """Mac Roman's ñ ó í ë are cp1252's – — ’ ‘ bytes: between letters ('Pe–a', 'L—pez', 'Mart’n') they are
    not text, so the file still reads as Mac Roman."""
    notes, got = _import(empty_store, tmp_path / "accounts.csv", MAC_ROWS, "mac_roman")
    assert any(n.startswith("read as Mac Roman") for n in notes), notes
    assert got == sorted(tuple(r.split(",")) for r in MAC_ROWS)


def test_word_score_reads_cp1252_punctuation_as_text() -> None:
    raw = "O’Brien, Smith – Jones, “Best”".encode("cp1252")
    assert reader._word_score(raw.decode("cp1252")) > reader._word_score(raw.decode("mac_roman"))


def test_a_blank_id_column_filled_from_its_repeat_keeps_the_ids(empty_store: Path, tmp_path: Path) -> None:
    """'Account ID' blank, a second 'Account ID' filled: the IDs come from the second (the blank check runs after
    the fill, so the note 'blank in every row' and the 'filled' warning no longer contradict each other)."""
    path = tmp_path / "accounts.csv"
    path.write_text("Account ID,Account Name,City,Account ID\n,Falaise SA,Rennes,A-1\n,Galet SA,Brest,A-2\n")
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert not any("blank in every row" in n for n in f.notes), f.notes
    assert any("2 blank cell(s) of the first were filled" in w for w in f.warnings), f.warnings
    assert table(empty_store, "SELECT account_id, name FROM accounts ORDER BY 1") == [
        ("A-1", "Falaise SA"),
        ("A-2", "Galet SA"),
    ]


@pytest.mark.parametrize("third", ["City", "CITY"])
@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_a_repeated_header_whose_numbered_name_is_taken_is_imported(
    empty_store: Path, tmp_path: Path, third: str, suffix: str
) -> None:
    """'City', 'City (2)', 'City': the repeat was named 'City (2)' too and DuckDB refused the file."""
    rows = [["Account Name", "City", "City (2)", third], ["Ker SA", "Rennes", "X", "Y"], ["Mor SA", "", "Z", "Brest"]]
    path = tmp_path / f"accounts.{suffix}"
    if suffix == "csv":
        path.write_text("\n".join(",".join(r) for r in rows) + "\n")
    else:
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        for r in rows:
            ws.append(r)
        wb.save(path)
    (f,) = ingest.import_files(empty_store, [path], scope=OPERATOR).files
    assert (f.inserted, f.rejected) == (2, 0)
    got = table(empty_store, "SELECT name, city FROM accounts ORDER BY name")
    assert [n for n, _ in got] == ["Ker SA", "Mor SA"] and got[0][1] == "Rennes"


def test_dedupe_columns_never_reuses_a_name() -> None:
    got = reader.dedupe_columns(["City", "City (2)", "City", "", "Column 5", "city"])
    assert len({c.lower() for c in got}) == len(got), got


def test_a_workbook_duckdb_cannot_read_is_not_called_a_csv_table() -> None:
    err = reader.stage_error("book.xlsx: Sheet1", duckdb.BinderException("Binder Error: something"))
    assert "CSV" not in str(err).split(";")[0] and "as CSV or Excel" not in str(err), err
