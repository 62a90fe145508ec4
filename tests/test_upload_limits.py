"""Bounded uploads: unpacked size, rows and columns are limited and checked before a file is parsed.

A 1 MB .xlsx whose sheet XML unpacks to 1 GB ends at once with one error line, in bounded memory; a
workbook that lies about its sizes is refused too; a 100,000-column header is a clear error.
"""

from __future__ import annotations

import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from planner.cli import main
from planner.errors import BadInput, ImportFileError
from planner.ingest import limits, reader
from tests.stores import session_file

ROW = b'<row><c t="inlineStr"><is><t>Acme</t></is></c><c t="inlineStr"><is><t>Boston</t></is></c></row>'


def small_workbook(path: Path, rows: int = 3, columns: int = 2) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([f"col {c}" for c in range(columns)])
    for r in range(rows):
        ws.append([f"v{r}-{c}" for c in range(columns)])
    wb.save(path)
    return path


def with_sheet(template: Path, out: Path, chunks: int, block: bytes) -> Path:
    """A copy of `template` whose first sheet holds `chunks` copies of `block` worth of rows (streamed)."""
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with dst.open(info.filename, "w", force_zip64=True) as fh:
                    fh.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                             b'spreadsheetml/2006/main"><sheetData>')  # fmt: skip
                    for _ in range(chunks):
                        fh.write(block)
                    fh.write(b"</sheetData></worksheet>")
            else:
                dst.writestr(info, src.read(info.filename))
    return out


def _build_bomb(path: Path) -> None:
    block = ROW * ((1 << 20) // len(ROW))
    with_sheet(small_workbook(path.with_name("bomb-template.xlsx")), path, 1024, block)


@pytest.fixture(scope="session")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 1-4 MB on disk; its sheet XML unpacks to 1 GB. Compressing 1 GB costs 4 CPU-s or more: built once
    per run for every xdist worker (tests.stores.session_file), read only."""
    return session_file(tmp_path_factory, "bomb.xlsx", _build_bomb)


def test_a_zip_bomb_ends_at_once_in_bounded_memory(bomb: Path, tmp_path: Path) -> None:
    assert bomb.stat().st_size < 4 * 1024 * 1024
    with zipfile.ZipFile(bomb) as zf:
        assert sum(i.file_size for i in zf.infolist()) > 1000 * 1024 * 1024
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ImportFileError, match=r"bomb.xlsx unpacks to 1,0\d\d MB, over the 1,000 MB limit"):
            reader.open_tables(bomb, workdir=tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 20  # was 473 s before the check (reading every row)
    assert peak < 20 * 1024 * 1024


def test_a_zip_bomb_is_one_error_line_on_the_cli(
    bomb: Path, small_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", str(small_store), "import", str(bomb)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: bomb.xlsx unpacks to"), err


def _lie_about_sizes(path: Path, member: str, size: int) -> None:
    """Patch the zip's local and central headers of `member` to claim `size` unpacked bytes."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    local = data.find(b"PK\x03\x04")  # the first local header
    while local != -1:
        name_len = struct.unpack_from("<H", data, local + 26)[0]
        if data[local + 30 : local + 30 + name_len] == name:
            struct.pack_into("<I", data, local + 22, size)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_len] == name:
            struct.pack_into("<I", data, central + 24, size)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def test_a_workbook_that_lies_about_its_sizes_is_refused(tmp_path: Path) -> None:
    """Recorded sizes say 2 KB; the sheet really inflates to 40 MB. The reader stops at the recorded size."""
    template = small_workbook(tmp_path / "t.xlsx")
    out = tmp_path / "liar.xlsx"
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                body = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                dst.writestr(info.filename, body + ROW * 400_000 + b"</sheetData></worksheet>")
            else:
                dst.writestr(info, src.read(info.filename))
    _lie_about_sizes(out, "xl/worksheets/sheet1.xml", 2048)
    with zipfile.ZipFile(out) as zf:
        assert sum(i.file_size for i in zf.infolist()) < 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError, match="liar.xlsx is not a readable Excel workbook"):
            reader.open_tables(out, workdir=tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024


def test_a_100000_column_header_is_a_clear_error(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    cells = [f"col{i}" for i in range(100_000)]
    wide.write_text(",".join(cells) + "\n" + ",".join("1" for _ in cells) + "\n")
    with pytest.raises(ImportFileError, match="wide.csv: its first line has 100,000 columns, over the limit of 2,000"):
        reader.open_tables(wide, workdir=tmp_path)


def test_row_and_column_limits_are_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_MAX_ROWS", "5")
    monkeypatch.setenv("PLANNER_MAX_COLUMNS", "3")
    ok = tmp_path / "ok.csv"
    ok.write_text("id,name,city\n" + "".join(f"{i},n{i},c{i}\n" for i in range(5)))
    assert reader.open_tables(ok, workdir=tmp_path)[0].columns == ["id", "name", "city"]
    long = tmp_path / "long.csv"
    long.write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(6)))
    with pytest.raises(ImportFileError, match="long.csv has more than 5 rows, the limit per file"):
        reader.open_tables(long, workdir=tmp_path)
    wide = tmp_path / "wide.csv"
    wide.write_text("a,b,c,d\n1,2,3,4\n")
    with pytest.raises(ImportFileError, match="wide.csv: its first line has 4 columns, over the limit of 3"):
        reader.open_tables(wide, workdir=tmp_path)
    assert len(reader.open_tables(small_workbook(tmp_path / "ok.xlsx", rows=5, columns=3), workdir=tmp_path)) == 1
    with pytest.raises(ImportFileError, match=r"long.xlsx \[Sheet\] has more than 5 rows, the limit per sheet"):
        reader.open_tables(small_workbook(tmp_path / "long.xlsx", rows=6), workdir=tmp_path)
    with pytest.raises(ImportFileError, match=r"wide.xlsx \[Sheet\]: row 1 has 4 columns, over the limit of 3"):
        reader.open_tables(small_workbook(tmp_path / "wide.xlsx", columns=4), workdir=tmp_path)
    monkeypatch.setenv("PLANNER_MAX_UNPACKED_MB", "0")
    with pytest.raises(BadInput, match="PLANNER_MAX_UNPACKED_MB must be a whole number of at least 1, not 0"):
        reader.open_tables(small_workbook(tmp_path / "x.xlsx"), workdir=tmp_path)
    monkeypatch.setenv("PLANNER_MAX_UNPACKED_MB", "lots")
    with pytest.raises(BadInput, match="PLANNER_MAX_UNPACKED_MB='lots' is not a number"):
        limits.upload_limits()


def test_the_limits_are_told_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_MAX_ROWS", "250000")
    text = limits.limits_text()
    assert text.startswith("Up to 200 MB per file (1,000 MB unpacked for Excel), 250,000 rows and 2,000 columns")
    assert "PLANNER_MAX_ROWS" in text and "\n" not in text


def test_the_data_page_shows_the_limits(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import errors, page

    monkeypatch.setenv("PLANNER_MAX_COLUMNS", "750")
    at = page("data")
    assert errors(at) == []
    assert any("750 columns per file or sheet" in c.value for c in at.caption)


def test_a_file_named_on_the_command_line_is_no_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The browser's upload limit refuses a 2 MB upload when it is 1 MB; the CLI imports the same file (a 1M-account
    org's 400 MB deals export was refused), and the page's refusal names the CLI."""
    from planner import ingest
    from planner.scope import OPERATOR

    monkeypatch.setenv("PLANNER_MAX_UPLOAD_MB", "1")
    path = tmp_path / "accounts.csv"
    rows = "".join(f"A{i:06d},Company {i} with a rather long name,Boston,MA,02134\n" for i in range(40_000))
    path.write_text("Account ID,Account Name,Billing City,Billing State,Billing Zip\n" + rows)
    assert path.stat().st_size > 2 * limits.MB
    db = tmp_path / "store.duckdb"
    with pytest.raises(ImportFileError, match=r"over the 1 MB upload limit; .*`python -m planner import FILE`"):
        ingest.import_files(db, [(path, "accounts.csv")], "accounts", scope=OPERATOR)  # as the Data page does
    assert main(["--db", str(db), "import", str(path), "--kind", "accounts", "--json"]) == 0
    assert '"inserted": 40000' in capsys.readouterr().out
    # The other guards still hold on the command line.
    monkeypatch.setenv("PLANNER_MAX_ROWS", "1000")
    assert main(["--db", str(db), "import", str(path), "--kind", "accounts"]) == 2
    assert "has more than 1,000 rows" in capsys.readouterr().err
