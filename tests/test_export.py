"""Exports neutralise spreadsheet formulas, keep numbers as numbers, and parse back cell for cell
with csv, pandas and openpyxl, whatever the text holds (line breaks, control characters, quotes)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import export
from planner.errors import BadInput

HOSTILE = ["\r=2+2", "\n=1+1", "\t@SUM(A1)", "  -2+3", " +cmd|' /C calc'!A0", '=HYPERLINK("x")', "@x", "+", "--"]


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_formula_cells_are_neutralised_in_csv_and_excel() -> None:
    df = pd.DataFrame({"name": ['=HYPERLINK("x")', "+1+1", "-2-2", "@SUM(A1)", "Acme"], "n": [1, 2, 3, 4, 5]})
    rows = csv_rows(export.to_csv_bytes(df))
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("x")', "'+1+1", "'-2-2", "'@SUM(A1)", "Acme"]
    assert rows[-1] == ["Acme", "5"]
    wb = openpyxl.load_workbook(io.BytesIO(export.to_excel_bytes({"t": df})))
    # A workbook types its cells: no apostrophe to see, and "=" is a text cell (quotePrefix), not a formula.
    assert [c.value for c in wb["t"]["A"]][1:] == ['=HYPERLINK("x")', "+1+1", "-2-2", "@SUM(A1)", "Acme"]
    assert wb["t"]["A2"].data_type == "s" and wb["t"]["A2"].quotePrefix
    assert [c.value for c in wb["t"]["B"]][1:] == [1, 2, 3, 4, 5]
    assert all(c.data_type != "f" for row in wb["t"].iter_rows() for c in row)


HOSTILE_NAMES = ['=HYPERLINK("http://x","y")', "+SUM(1,2)", "-2+3", "@cmd", "- Dash Name", "-", "=1+1", "Acme"]


def test_hostile_names_read_back_as_written_in_excel_and_neutralised_in_csv_but_a_lone_dash() -> None:
    """explore-G: targets.xlsx showed '@cmd, '- Dash Name, '-2+3 with a visible apostrophe, and the rejected-rows
    CSV turned the account name "-" into '-. Excel: every name as written, none a formula; CSV: OWASP's
    apostrophe before = + - @, except a lone "-" and negative numbers, which are no formulas."""
    df = pd.DataFrame({"=Name": HOSTILE_NAMES, "n": [-1, 2, -3, 4, 5, 6, 7, 8]})
    ws = openpyxl.load_workbook(io.BytesIO(export.to_excel_bytes({"t": df})))["t"]
    assert [c.value for c in ws["A"]] == ["=Name", *HOSTILE_NAMES]
    assert [c.value for c in ws["B"]][1:] == [-1, 2, -3, 4, 5, 6, 7, 8]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert [c.quotePrefix for c in ws["A"]] == [v.startswith("=") for v in ["=Name", *HOSTILE_NAMES]]
    rows = csv_rows(export.to_csv_bytes(df))
    assert rows[0] == ["'=Name", "n"]
    assert [r[0] for r in rows[1:]] == ["'" + v if v not in ("-", "Acme") else v for v in HOSTILE_NAMES]
    assert [r[1] for r in rows[1:]] == ["-1", "2", "-3", "4", "5", "6", "7", "8"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_after_leading_whitespace_or_a_line_break_is_neutralised_and_stays_one_cell(value: str) -> None:
    """The '\\r=2+2' case: the apostrophe goes first, and the cell is quoted so no reader splits the row."""
    df = pd.DataFrame({"name": [value, "next"], "n": [1, 2]})
    rows = csv_rows(export.to_csv_bytes(df))
    assert rows == [["name", "n"], ["'" + value, "1"], ["next", "2"]]
    lines = export.to_csv_bytes(df).decode("utf-8-sig").split("\r\n")
    assert not any(line.lstrip().startswith(("=", "+", "-", "@")) for line in lines)


@pytest.mark.parametrize("value", ["-5", "+1.5", "-1,200.50", "-3e4", "12%", "  -7  ", "-", " - "])
def test_a_plain_number_stays_a_number(value: str) -> None:
    assert export.neutralise(value) == value
    df = pd.DataFrame({"x": [-5.0, 2.5], "i": [-3, 4], "t": [value, "a"]})
    rows = csv_rows(export.to_csv_bytes(df))
    assert rows[1] == ["-5.0", "-3", value]
    wb = openpyxl.load_workbook(io.BytesIO(export.to_excel_bytes({"t": df})))
    assert [c.value for c in wb["t"][2]] == [-5, -3, value]


def test_excel_takes_what_a_workbook_cannot_hold() -> None:
    """Control characters, over-long text, time zones, nested values and odd sheet names: a workbook, no error."""
    df = pd.DataFrame(
        {
            "ctl": ["a\x00b\x07c", "x" * 40_000],
            "when": pd.to_datetime(["2024-01-01 12:00", "2024-06-01 08:30"]).tz_localize("Europe/Paris"),
            "nested": [{"a": 1}, [1, 2]],
            "cat": pd.Categorical(["=1+1", "ok"]),
        }
    )
    wb = openpyxl.load_workbook(io.BytesIO(export.to_excel_bytes({"bad/name:[x]*?" * 3: df})))
    ws = wb.worksheets[0]
    assert len(ws.title) <= 31 and not set(ws.title) & set("[]:*?/\\")
    assert ws["A2"].value == "a\ufffdb\ufffdc" and len(ws["A3"].value) == export.EXCEL_CELL_CHARS
    assert ws["B2"].value == datetime(2024, 1, 1, 11, 0)  # 12:00 Paris is 11:00 UTC
    assert ws["C2"].value == "{'a': 1}" and ws["D2"].value == "=1+1" and ws["D2"].data_type == "s"
    rows = csv_rows(export.to_csv_bytes(df))
    assert rows[1][3] == "'=1+1"  # categorical text is neutralised in CSV too
    assert rows[1][0] == "a\ufffdb\x07c"  # NUL ends a cell in many CSV readers (pandas 2's); BEL is harmless


def test_write_table_by_suffix(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": ["=1"]})
    export.write_table(df, tmp_path / "sub" / "t.csv")
    export.write_table(df, tmp_path / "t.xlsx")
    assert csv_rows((tmp_path / "sub" / "t.csv").read_bytes())[1] == ["'=1"]
    assert openpyxl.load_workbook(tmp_path / "t.xlsx")["data"]["A2"].value == "=1"
    with pytest.raises(BadInput, match="use a .csv or .xlsx"):
        export.write_table(df, tmp_path / "t.pdf")


# ---------------------------------------------------------------------------------------------
# Properties: any text, any numbers


TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list("=+-@'\"\r\n\t ,;|")),
    ),
    max_size=30,
)
NUMBERS = st.floats(allow_nan=False, allow_infinity=False, width=32)


def expected_text(value: str) -> str:
    """What a CSV cell holds: formulas behind an apostrophe, NUL as U+FFFD (see planner/export.py)."""
    return ("'" + value if export.is_formula_like(value) else value).replace("\x00", "\ufffd")


def is_risky(cell: str) -> bool:
    """A cell a spreadsheet would run: a formula start after whitespace, not behind an apostrophe."""
    return export.is_formula_like(cell)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(TEXT, min_size=1, max_size=8), data=st.data())
def test_any_csv_export_parses_back_cell_for_cell(texts: list[str], data: st.DataObject) -> None:
    numbers = data.draw(st.lists(NUMBERS, min_size=len(texts), max_size=len(texts)))
    ints = data.draw(st.lists(st.integers(-(10**12), 10**12), min_size=len(texts), max_size=len(texts)))
    header = data.draw(TEXT.filter(lambda h: h not in ("n", "i")))
    df = pd.DataFrame({header: texts, "n": numbers, "i": ints})
    raw = export.to_csv_bytes(df)
    # csv module
    rows = csv_rows(raw)
    assert len(rows) == len(texts) + 1 and all(len(r) == 3 for r in rows)
    assert rows[0] == [expected_text(header), "n", "i"]
    assert [r[0] for r in rows[1:]] == [expected_text(t) for t in texts]
    assert [float(r[1]) for r in rows[1:]] == pytest.approx(numbers)
    assert [int(r[2]) for r in rows[1:]] == ints
    assert not any(is_risky(cell) for row in rows for cell in row[:1])
    # pandas
    back = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", dtype={0: str}, keep_default_na=False)
    assert back.shape == df.shape
    assert list(back.iloc[:, 0]) == [expected_text(t) for t in texts]
    assert list(back["i"]) == ints
    assert pd.api.types.is_float_dtype(back["n"]) or pd.api.types.is_integer_dtype(back["n"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(TEXT, min_size=1, max_size=6), data=st.data())
def test_any_excel_export_parses_back_cell_for_cell(texts: list[str], data: st.DataObject) -> None:
    numbers = data.draw(st.lists(NUMBERS, min_size=len(texts), max_size=len(texts)))
    df = pd.DataFrame({"name": texts, "n": numbers, "when": [datetime(2024, 5, 1, tzinfo=UTC)] * len(texts)})
    raw = export.to_excel_bytes({"plan": df})
    ws = openpyxl.load_workbook(io.BytesIO(raw))["plan"]
    cells = list(ws.iter_rows(values_only=False))
    assert len(cells) == len(texts) + 1
    assert all(c.data_type != "f" for row in cells for c in row)  # no formula anywhere
    names = [row[0].value for row in cells[1:]]
    for got, text in zip(names, texts, strict=True):
        want = export.excel_value(text.replace("\x00", "\ufffd"))
        assert (got or "") == want  # openpyxl reads an empty string back as None: as written, no apostrophe
    assert [row[1].value for row in cells[1:]] == pytest.approx(numbers)
    back = pd.read_excel(
        io.BytesIO(raw), sheet_name="plan", dtype={"name": str}, keep_default_na=False, engine="openpyxl"
    )
    assert back.shape == df.shape and list(back["n"]) == pytest.approx(numbers)


def test_the_vectorised_formula_test_knows_every_space_lstrip_strips() -> None:
    """safe_frame and safe_table find formula cells by one Arrow regex per column: its spaces are str.isspace's."""
    assert "".join(c for c in map(chr, range(0x110000)) if c.isspace()) == export.SPACES
    cells = [*HOSTILE, *(s + "=1+1" for s in export.SPACES), "\u3000-٣", "\u00a0@x", "a=1", "-5", " 12% ", None, "ok"]
    want = [export.neutralise(c) for c in cells]
    assert export.safe_frame(pd.DataFrame({"t": pd.Series(cells, dtype=object)}))["t"].tolist() == want
    text = export.safe_frame(pd.DataFrame({"t": pd.Series(cells, dtype="str")}))["t"]  # Arrow-backed str column
    assert text.isna().tolist() == [w is None for w in want]
    assert text.dropna().tolist() == [w for w in want if w is not None]
    table = export.safe_table(pa.table({"=t": pa.array(cells), "n": pa.array(range(len(cells)))}))
    assert table.column_names == ["'=t", "n"] and table.column(0).to_pylist() == want
