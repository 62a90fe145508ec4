"""Files that hold other files (planner/ingest/containers.py, through reader.open_tables): password-protected and
legacy workbooks, zip archives of exports (and zip bombs in them), Apple Numbers files, and messages without
internal exception names."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from planner.errors import ImportFileError
from planner.ingest import reader

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "upload"


def test_a_password_protected_xlsx_is_called_so(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match=r"protected.xlsx is password-protected; .*remove the password") as e:
        reader.open_tables(FIXTURES / "protected.xlsx", workdir=tmp_path)
    assert "legacy" not in str(e.value) and ".xls)" not in str(e.value)


def test_a_legacy_xls_is_read_even_when_named_xlsx(tmp_path: Path) -> None:
    for name in ("old.xls", "old_renamed.xlsx"):
        path = tmp_path / name
        path.write_bytes((FIXTURES / "old.xls").read_bytes())
        (table,) = reader.open_tables(path, workdir=tmp_path)
        assert (table.columns, table.sample) == (["Account Name", "City"], [["Old Co", "Boston"]])


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return path


def test_a_zip_of_exports_is_read_file_by_file(tmp_path: Path) -> None:
    path = _zip(tmp_path / "WE_00D.zip", {
        "Account.csv": b"Id,Name,BillingCity\n001A,Acme,Boston\n",
        "Opportunity.csv": b"Id,AccountId,Name,StageName,Amount\n006A,001A,Big,Closed Won,100\n",
        "__MACOSX/._Account.csv": b"\x00\x05", "notes.pdf": b"%PDF-1.4", "inner.zip": b"PK\x03\x04",
    })  # fmt: skip
    tables = reader.open_tables(path, workdir=tmp_path / "w")
    assert [t.name for t in tables] == ["WE_00D.zip/Account.csv", "WE_00D.zip/Opportunity.csv"]
    assert tables[1].sample == [["006A", "001A", "Big", "Closed Won", "100"]]
    assert "not read from WE_00D.zip (not CSV or Excel): inner.zip, notes.pdf" in tables[0].notes


def test_a_zip_bomb_in_an_archive_ends_before_it_is_inflated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_MAX_UPLOAD_MB", "1")
    path = _zip(tmp_path / "bomb.zip", {"big.csv": b"a,b\n" + b"1,2\n" * 2_000_000})  # 8 MB in a few KB
    assert path.stat().st_size < 100_000
    with pytest.raises(ImportFileError, match=r"bomb.zip: big.csv unpacks to 8 MB, over the 1 MB upload limit"):
        reader.open_tables(path, workdir=tmp_path / "w")
    assert not list((tmp_path / "w").rglob("big.csv"))


def test_a_zip_inside_a_zip_is_not_opened(tmp_path: Path) -> None:
    inner = _zip(tmp_path / "inner.zip", {"a.csv": b"Name,City\nA,B\n"}).read_bytes()
    path = _zip(tmp_path / "outer.zip", {"inner.csv": inner})  # an archive renamed .csv inside an archive
    with pytest.raises(ImportFileError, match="inner.csv is not a readable Excel workbook"):
        reader.open_tables(path, workdir=tmp_path / "w")


@pytest.mark.parametrize(
    ("members", "match"),
    [
        ({"Index/Document.iwa": b"\x00\x01", "Metadata/Properties.plist": b"<plist/>"},
         r"export.csv is a zip archive \(an Apple Numbers file\?\), not a CSV or Excel table; in Numbers, File > "
         r"Export To > CSV or Excel"),
        ({"photo.jpg": b"\xff\xd8"}, r"export.csv is a zip archive holding no CSV or Excel file \(it holds photo\.jpg"),
    ],
)  # fmt: skip
def test_a_zip_that_holds_no_table_is_named_for_what_it_is(tmp_path: Path, members: dict[str, bytes],
                                                           match: str) -> None:  # fmt: skip
    with pytest.raises(ImportFileError, match=match) as e:
        reader.open_tables(_zip(tmp_path / "export.csv", members), workdir=tmp_path)
    assert "Exception" not in str(e.value) and "Excel workbook" not in str(e.value)


def test_no_exception_class_names_in_a_damaged_workbook_message(tmp_path: Path) -> None:
    path = _zip(tmp_path / "book.xlsx", {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<nope"})
    with pytest.raises(ImportFileError, match="book.xlsx is not a readable Excel workbook") as e:
        reader.open_tables(path, workdir=tmp_path)
    assert not any(w in str(e.value) for w in ("Exception", "Error", "KeyError", "BadZipFile"))
