"""Public CRM exports as they were delivered (Maven, Bitrix24, Dynamics 365, Salesforce, Zoho): a few rows of each
file's shape, and what the importer made of the real file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from planner import ingest
from planner.scope import OPERATOR
from tests.helpers import table


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_day_first_dates_with_hyphens_and_two_digit_years(empty_store: Path, tmp_path: Path) -> None:
    """Maven's sales_pipeline.csv writes DD-MM-YY: '20-10-16' proves the column day-first, so '01-03-17' is
    1 March 2017 (its close_quarter says Q1 2017), not 3 January."""
    path = _write(tmp_path / "sales_pipeline.csv", "\n".join([
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value",
        "1C1I7A6R,Moses Frase,GTX Plus Basic,Cancity,Won,20-10-16,01-03-17,1054",
        "Z063OYW0,Darcel Schlecht,GTXPro,Isdom,Won,25-10-16,11-03-17,4514",
        "EC4QE1BX,Darcel Schlecht,MG Special,Cancity,Won,02-11-16,07-03-17,50",
    ]) + "\n")  # fmt: skip
    f = ingest.import_files(empty_store, [path], scope=OPERATOR).files[0]
    assert (f.inserted, f.warnings) == (3, []) and any("day-first" in n for n in f.notes)
    assert table(empty_store, "SELECT deal_id, created_date, close_date FROM deals ORDER BY 1") == [
        ("1C1I7A6R", date(2016, 10, 20), date(2017, 3, 1)),
        ("EC4QE1BX", date(2016, 11, 2), date(2017, 3, 7)),
        ("Z063OYW0", date(2016, 10, 25), date(2017, 3, 11)),
    ]
