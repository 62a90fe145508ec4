"""Plan exports: Markdown, Excel, iCalendar, the sales-engagement CSV, printable HTML, and the CLI."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from icalendar import Calendar

from planner import cli, plan, store
from planner.plan import exports as plan_export
from planner.scope import OPERATOR


@pytest.fixture
def tricky_plan(small_store: Path) -> plan.Plan:
    """R001's draft with hostile text in the first rationales (HTML, Markdown pipes, a formula)."""
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R001")
        specs = list(p.specs())
        specs[0] = specs[0]._replace(rationale="<script>alert(1)</script> | piped")
        specs[1] = specs[1]._replace(rationale='=HYPERLINK("http://x")')
        return plan.compose(
            con, scope=OPERATOR, rep_id="R001", start=p.start, specs=tuple(specs), rules=plan.rules_json(p.rules)
        )


def test_ics_has_one_valid_event_per_touch(tricky_plan: plan.Plan) -> None:
    cal = Calendar.from_ical(plan_export.to_ics(tricky_plan))
    assert str(cal["VERSION"]) == "2.0" and "PRODID" in cal
    events = list(cal.walk("VEVENT"))
    touches = tricky_plan.steps[~tricky_plan.steps["is_decision"]]
    assert len(events) == len(touches) == 20 * 12
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids)
    for e in events:
        assert e.get("UID") and e.get("DTSTAMP") and e.get("DTSTART")
        start = e.decoded("DTSTART")
        assert isinstance(start, datetime) and e.decoded("DTEND") > start
    first = touches.sort_values(["step_date", "position"]).iloc[0]
    assert events[0].decoded("DTSTART") == datetime(
        first.step_date.year, first.step_date.month, first.step_date.day, 9, 0
    )
    # Touches on the same day are packed one after the other.
    assert events[1].decoded("DTSTART") == events[0].decoded("DTEND")


def test_engagement_csv_columns_and_neutralised_text(tricky_plan: plan.Plan) -> None:
    text = plan_export.to_engagement_csv(tricky_plan).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == plan_export.ENGAGEMENT_COLUMNS
    assert len(rows) == 20 * 12
    assert rows[0]["Step Number"] == "1" and rows[0]["Day"] == "1" and rows[0]["Step Type"] == "Email"
    assert {r["Step Type"] for r in rows} == {"Email", "Phone", "Integration", "Other"}
    second = [r for r in rows if r["CRM ID"] == tricky_plan.targets["account_id"].iloc[1]]
    assert second[0]["Notes"].startswith("'=HYPERLINK")
    assert second[0]["Owner Email"] == tricky_plan.rep["email"]


def test_html_escapes_all_text(tricky_plan: plan.Plan) -> None:
    page = plan_export.to_html(tricky_plan)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page


def test_markdown_has_every_target_and_escapes_pipes(tricky_plan: plan.Plan) -> None:
    md = plan_export.to_markdown(tricky_plan)
    assert md.startswith(f"# Territory plan: {tricky_plan.rep['name']}")
    for name in tricky_plan.targets["name"]:
        assert name in md
    assert "\\| piped" in md
    for section in (
        "## Targets",
        "## Asks of other teams",
        "## Engagement sequence",
        "## Weekly load",
        "## Plan vs actual",
    ):
        assert section in md


def test_excel_has_every_part(tricky_plan: plan.Plan) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(plan_export.to_excel(tricky_plan)))
    assert wb.sheetnames == [
        "Summary",
        "Targets",
        "Sequence",
        "Asks",
        "Weekly load",
        "Plan vs actual",
        "Close the gap",
        "Offers",
    ]
    assert wb["Targets"].max_row == 21
    header = [c.value for c in wb["Targets"][1]]
    rationale = wb["Targets"].cell(row=3, column=header.index("Rationale") + 1).value
    assert rationale.startswith("'=HYPERLINK")


def test_cli_writes_each_format(small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with store.read(small_store) as con:
        email = con.execute("SELECT email FROM reps WHERE rep_id = 'R002'").fetchone()[0]
    for suffix in (".md", ".xlsx", ".ics", ".csv"):
        out = tmp_path / f"plan{suffix}"
        argv = [
            "--db",
            str(small_store),
            "plan",
            "--rep",
            email,
            "--weeks",
            "4",
            "--start",
            "2026-11-09",
            "--out",
            str(out),
        ]
        assert cli.main(argv) == 0
        assert out.stat().st_size > 0
    cal = Calendar.from_ical((tmp_path / "plan.ics").read_bytes())
    assert min(e.decoded("DTSTART") for e in cal.walk("VEVENT")).date().isoformat() == "2026-11-09"
    assert "2026-11-09 to" in capsys.readouterr().err


def test_cli_errors_are_one_line(small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--db", str(small_store), "plan", "--rep", "Nobody Here", "--out", str(tmp_path / "p.md")]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "no rep 'Nobody Here'" in err
    assert not (tmp_path / "p.md").exists()
    assert cli.main(["--db", str(small_store), "plan", "--rep", "R001", "--out", str(tmp_path / "p.txt")]) == 2
    assert "use a .md, .xlsx, .ics, .csv" in capsys.readouterr().err
    assert (
        cli.main(["--db", str(small_store), "plan", "--rep", "R001", "--weeks", "0", "--out", str(tmp_path / "p.md")])
        == 2
    )
    assert "--weeks 0 is out of range" in capsys.readouterr().err
