"""AppTest of the Data page: upload, detected mapping, import, validation report, history, placing."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from planner import ingest, store
from planner.scope import OPERATOR
from tests.helpers import AVA, app_as, errors, page, page_text, table_kinds
from ui.auth import md_text

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _upload(at, *names: str):  # type: ignore[no-untyped-def]
    files = [(n, (SAMPLES / n).read_bytes(), "text/csv") for n in names]
    at.get("file_uploader")[0].set_value(files)
    return at.run()


def test_data_page_on_demo_store(app_store: Path) -> None:
    at = page("data")
    assert errors(at) == []
    assert any("replaces the demo world" in str(w.value) for w in at.warning)
    assert any("No imports yet" in str(c.value) for c in at.caption)
    assert at.button(key="data_rebuild_demo")


def test_upload_shows_detected_source_and_mapping_then_imports(app_store: Path) -> None:
    at = page("data")
    at = _upload(at, "salesforce_accounts_report.csv", "salesforce_opportunities_report.csv")
    assert errors(at) == []
    text = " ".join(str(m.value) for m in at.markdown)
    # File names are shown literally (markdown-escaped).
    assert md_text("salesforce_accounts_report.csv") in text and "Salesforce report export" in text
    assert table_kinds(at) == ["accounts", "deals"]
    mapping = at.dataframe[0].value  # the mapping editor
    assert dict(zip(mapping["Column"], mapping["Maps to"], strict=True))["Billing Zip/Postal Code"] == "postal_code"
    at.button(key="data_import").click().run()
    assert errors(at) == []
    assert any("Imported 8 new" in str(s.value) for s in at.success)
    metrics = [(m.label, m.value) for m in at.metric]
    assert ("Rows read", "6") in metrics and ("Rejected", "2") in metrics and ("Inserted", "4") in metrics
    assert any("Account ID is empty" in str(df.value) for df in at.dataframe)
    with store.read(app_store) as con:
        assert con.execute("SELECT count(*) FROM accounts").fetchone() == (5,)  # one created from deals
        assert con.execute("SELECT value FROM meta WHERE key = 'is_demo'").fetchone() == ("0",)
    # The history lists both files and the rejected rows can be downloaded.
    assert next(b for b in at.selectbox if b.label == "Rejected rows of").value in (1, 2)
    assert at.get("download_button")


def test_bad_upload_is_one_error_and_blocks_import(app_store: Path) -> None:
    at = page("data")
    at.get("file_uploader")[0].set_value([("report.csv", b"%PDF-1.7 nope", "text/csv")])
    at.run()
    assert [str(e.value) for e in at.error] == [
        md_text("report.csv is a PDF, not a table; export the report as CSV or Excel (.xlsx)", 500)
    ]  # escaped: a file's name is the uploader's to choose
    assert len(at.exception) == 0


def test_unplaced_accounts_can_be_placed(app_store: Path) -> None:
    ingest.import_files(app_store, [SAMPLES / "hubspot_companies.csv"], scope=OPERATOR)
    at = page("data")
    assert errors(at) == []
    assert any("are not placed, or only by their country" in str(m.value) for m in at.markdown)
    assert any("3 of 3 accounts are placed" in str(c.value) for c in at.caption)
    assert '"countries"' in at.get("deck_gl_json_chart")[0].proto.json  # country outlines, drawn offline
    assert '"placed"' in at.get("deck_gl_json_chart")[0].proto.json
    at.button(key="data_place").click().run()
    assert errors(at) == []


def test_rep_sees_only_their_own_data(app_store: Path) -> None:
    """#17 point 1: no store-wide history, rejected rows, counts or other reps' accounts for a rep."""
    at = app_as(AVA, page="data")
    assert errors(at) == []
    text = page_text(at)
    assert "Import history and rejected rows cover every territory" in text
    assert "Your territory holds" in text
    assert (
        not at.get("file_uploader")
        and not at.get("download_button")
        or all("rejected" not in str(b.proto.label) for b in at.get("download_button"))
    )
    with store.read(app_store) as con:
        mine = {r[0] for r in con.execute("SELECT name FROM accounts WHERE owner_rep_id = 'R001'").fetchall()}
        others = {r[0] for r in con.execute("SELECT name FROM accounts WHERE owner_rep_id <> 'R001'").fetchall()}
    deck = " ".join(d.proto.json for d in at.get("deck_gl_json_chart"))
    assert mine and any(n in deck for n in mine)
    assert not [n for n in others if f'"{n}"' in deck or n in text]


def test_sheets_without_records_are_preselected_to_skip(app_store: Path) -> None:
    """A workbook with a product price list and a pivot sheet beside its accounts: those two are preselected as
    'skip' with the reason (never as Accounts), the accounts sheet as accounts, and only it is imported."""
    wb = openpyxl.Workbook()
    sheets = {"accounts": [["account", "sector", "employees"], ["Cancity", "retail", 4025], ["Isdom", "medical", 4540]],
              "products": [["product", "series", "sales_price"], ["GTX Basic", "GTX", 550]],
              "Q1": [["Row Labels", "Close value"], ["Dustin Brinkmann", 1094363]]}  # fmt: skip
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    at = page("data")
    at.get("file_uploader")[0].set_value([("data_model.xlsx", buf.getvalue(), "application/octet-stream")])
    at.run()
    assert errors(at) == []
    assert table_kinds(at) == ["accounts", "skip", "skip"]
    captions = " ".join(str(c.value) for c in at.caption)
    assert "not accounts, deals or reps" in captions and "a pivot table" in captions
    assert at.button(key="data_import").label == "Import 1 table"
    at.button(key="data_import").click().run()
    assert errors(at) == [] and any("Imported 2 new" in str(s.value) for s in at.success)


def test_the_map_sends_every_account_in_a_bounded_number_of_dots(
    demo_store_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The placement map gathers accounts into ~25 km squares per method: all 5,000 demo accounts count, in far
    fewer dots than accounts, and the map's JSON stays small (one dot per account sent 150 bytes each: 3 MB for
    the 20,000 a 100,000-account store drew, most of a 14 s page in chromium)."""
    db = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_store_template, db)
    monkeypatch.setenv("PLANNER_DB", str(db))
    at = page("data")
    assert errors(at) == []
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    dots = next(layer["data"] for layer in spec["layers"] if layer["id"] == "placed")
    caption = next(str(c.value) for c in at.caption if " dots (one per" in str(c.value))
    assert f"5,000 accounts in {len(dots):,} dots" in caption
    assert len(dots) <= 2_000
    assert len(at.get("deck_gl_json_chart")[0].proto.json) < 600_000
    # A dot of one account names it; a dot of several says how many.
    assert {d["t"].endswith(" accounts") for d in dots} == {True, False}


def test_removing_a_file_keeps_each_other_files_choices(app_store: Path) -> None:
    """The preview's choices were keyed by position: with the second of three files removed, the third took the
    choices made for the second (here: imported as accounts, where the user had chosen to skip it)."""
    at = page("data")
    at = _upload(at, "salesforce_accounts_report.csv", "hubspot_companies.csv", "dynamics_accounts.csv")
    assert table_kinds(at) == ["accounts", "accounts", "accounts"]
    [s for s in at.selectbox if s.label == "This table holds"][2].set_value("skip").run()
    assert table_kinds(at) == ["accounts", "accounts", "skip"]
    at = _upload(at, "salesforce_accounts_report.csv", "dynamics_accounts.csv")
    assert errors(at) == []
    assert table_kinds(at) == ["accounts", "skip"]
    assert at.button(key="data_import").label == "Import 1 table"
