"""Workbooks are read by calamine where that is safe and by openpyxl otherwise, with the same result."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from planner.errors import ImportFileError
from planner.ingest import reader, xlsx

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _read(path: Path, tmp_path: Path, engine: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    calls: list[str] = []
    real = xlsx.calamine_sheets

    def spy(p: object) -> object:
        calls.append("calamine")
        return None if engine == "openpyxl" else real(p)

    monkeypatch.setattr(xlsx, "calamine_sheets", spy)
    out = tmp_path / engine
    out.mkdir()
    tables = reader.open_tables(path, workdir=out)
    assert calls == ["calamine"]
    return [(t.name, t.columns, t.sample, t.path.read_text(), t.warnings, t.notes) for t in tables]


def test_calamine_and_openpyxl_read_a_workbook_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Accounts"
    ws["C2"] = "Account Name"  # the table starts at C2: leading empty rows and columns
    ws["D2"] = "Employees"
    ws["E2"] = "Created"
    ws["F2"] = "Revenue"
    ws["G2"] = "Customer"
    rows = [
        ["Acme\nGmbH", 12, datetime(2020, 1, 2), 1234.5, True],
        ['=HYPERLINK("http://evil","x")', 0, datetime(2021, 3, 4, 10, 30), 1e16, False],
        ["Ünïcödé 深圳", None, date(1999, 12, 31), -3, None],
    ]
    for i, row in enumerate(rows, start=3):
        for j, value in enumerate(row, start=3):
            ws.cell(row=i, column=j, value=value)
    ws.cell(row=9, column=3, value="after blank rows")
    ws.cell(row=9, column=4, value=7)
    other = wb.create_sheet("Deals")
    other.append(["Deal", "Amount"])
    other.append(["D1", 100])
    wb.create_sheet("Notes").append(["only one cell"])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    fast = _read(path, tmp_path, "calamine", monkeypatch)
    slow = _read(path, tmp_path, "openpyxl", monkeypatch)
    assert fast == slow
    assert [t[0] for t in fast] == ["book.xlsx [Accounts]", "book.xlsx [Deals]"]
    assert "9,,,after blank rows,7" in fast[0][3]  # the sheet's own row numbers
    assert fast[0][4]  # the formula without a saved value is warned of on both paths


def _workbook_with_sheet(tmp_path: Path, sheet_data: str, prefix: str = "") -> Path:
    """A workbook whose first sheet holds `sheet_data` (the rows inside <sheetData>), its elements in the
    namespace prefix `prefix` ("x:") when given."""
    wb = openpyxl.Workbook()
    template = tmp_path / "template.xlsx"
    wb.save(template)
    out = tmp_path / "w.xlsx"
    xmlns = f'xmlns:{prefix[:-1]}="{NS}"' if prefix else f'xmlns="{NS}"'
    body = (f'<?xml version="1.0"?><{prefix}worksheet {xmlns}><{prefix}sheetData>{sheet_data}'
            f"</{prefix}sheetData></{prefix}worksheet>")  # fmt: skip
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = body.encode() if info.filename == "xl/worksheets/sheet1.xml" else src.read(info.filename)
            dst.writestr(info.filename, data)
    return out


def _no_calamine(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("calamine must not load this workbook")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", refuse)


def test_two_far_apart_cells_never_reach_calamine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A1 and XFD1048576: calamine would hold the block between them, 17 billion cells. The scan sends the sheet
    to openpyxl, which streams it and stops at the column limit."""
    path = _workbook_with_sheet(
        tmp_path,
        '<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1"><v>1</v></c></row>'
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
    )
    with zipfile.ZipFile(path) as z:
        assert not xlsx.dense_block_fits(z, "xl/worksheets/sheet1.xml")
    _no_calamine(monkeypatch)
    with pytest.raises(ImportFileError, match="row 1048576 has 16,384 columns, over the limit of 2,000"):
        reader.open_tables(path, workdir=tmp_path)


def test_cells_without_references_go_to_openpyxl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = '<c t="inlineStr"><is><t>{}</t></is></c><c><v>{}</v></c>'
    path = _workbook_with_sheet(
        tmp_path, "".join(f"<row>{cells.format(n, v)}</row>" for n, v in [("name", 0), ("Acme", 5), ("Beta", 6)])
    )
    with zipfile.ZipFile(path) as z:
        assert not xlsx.dense_block_fits(z, "xl/worksheets/sheet1.xml")
    _no_calamine(monkeypatch)
    (table,) = reader.open_tables(path, workdir=tmp_path)
    assert table.sample == [["Acme", "5"], ["Beta", "6"]]


def test_prefixed_cells_go_to_openpyxl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers built on the .NET Open XML SDK prefix every element (x:row, x:c); the scan counts unprefixed tags."""
    cell = ('<x:row r="{r}"><x:c r="A{r}" t="inlineStr"><x:is><x:t>{n}</x:t></x:is></x:c>'
            '<x:c r="B{r}"><x:v>{v}</x:v></x:c></x:row>')  # fmt: skip
    path = _workbook_with_sheet(
        tmp_path, "".join(cell.format(r=r, n=n, v=v) for r, n, v in [(1, "name", 0), (2, "Acme", 5)]), prefix="x:"
    )
    with zipfile.ZipFile(path) as z:
        assert not xlsx.dense_block_fits(z, "xl/worksheets/sheet1.xml")
    _no_calamine(monkeypatch)
    (table,) = reader.open_tables(path, workdir=tmp_path)
    assert table.columns == ["name", "0"] and table.sample == [["Acme", "5"]]


@pytest.mark.parametrize(
    ("far", "named"),
    [
        ('<row r="2"><c r="XFD1048576"><v>1</v></c></row>', True),  # a cell's reference far beyond its row's
        (
            '<row r="2" spans="1:2"><c r="B2"><v>1</v></c></row><row r="1048576"><c r="A1048576"><v>2</v></c></row>',
            True,
        ),
        ('<row r="2"><c r="B2" r="XFD1048576"><v>1</v></c></row>', False),  # a second r attribute
        ('<row r="2"><c\nr="XFD2"><v>1</v></c></row>', False),  # other white space after the tag's name
        ('<row r="2"><c s="0" r="XFD2"><v>1</v></c></row>', False),  # the reference not first
        ('<row r="2"><y:c xmlns:y="urn:y" r="XFD2"><v>1</v></y:c></row>', False),  # a prefix of its own
        ('<row r="2"><c><v>1</v></c></row>', False),  # no reference
    ],
)
def test_the_scan_bounds_the_block_or_refuses(tmp_path: Path, far: str, named: bool) -> None:
    """Far cells are refused at the cap; cells the scan cannot place are refused at any cap."""
    first = '<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1"><v>1</v></c></row>'
    path = _workbook_with_sheet(tmp_path, first + far)
    with zipfile.ZipFile(path) as z:
        assert not xlsx.dense_block_fits(z, "xl/worksheets/sheet1.xml", cap=1_000_000)
        assert xlsx.dense_block_fits(z, "xl/worksheets/sheet1.xml", cap=10**12) == named


def test_a_damaged_sheet_is_reported_by_the_openpyxl_path(tmp_path: Path) -> None:
    rows = '<row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c></row><row r="2"><c r="A2"><v>3</v></c><c r="B2">'
    path = _workbook_with_sheet(tmp_path, rows + "<v>4</v></row>")  # B2's cell never closes
    with pytest.raises(ImportFileError, match="is not a readable Excel workbook"):
        reader.open_tables(path, workdir=tmp_path)
