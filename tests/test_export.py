"""Exports neutralise spreadsheet formulas and keep numbers as numbers."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd

from planner import export


def test_formula_cells_are_neutralised_in_csv_and_excel() -> None:
    df = pd.DataFrame({"name": ['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "Acme"], "n": [1, 2, 3, 4, 5]})
    text = export.to_csv_bytes(df).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+1" in text and "'-2" in text and "'@SUM" in text
    assert "\nAcme,5" in text.replace("\r\n", "\n")
    wb = openpyxl.load_workbook(io.BytesIO(export.to_excel_bytes({"t": df})))
    values = [c.value for c in wb["t"]["A"]][1:]
    assert values[0] == '\'=HYPERLINK("x")'
    assert [c.value for c in wb["t"]["B"]][1:] == [1, 2, 3, 4, 5]


def test_negative_numbers_stay_numbers() -> None:
    df = pd.DataFrame({"x": [-5.0]})
    assert "-5.0" in export.to_csv_bytes(df).decode("utf-8-sig")
