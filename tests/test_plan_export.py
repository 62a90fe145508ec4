"""Plan exports: Markdown, Excel, iCalendar, the sales-engagement CSV, printable HTML, and the CLI."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from icalendar import Calendar
from markdown_it import MarkdownIt

from planner import cli, plan, roles, store
from planner.plan import engagement, exports
from planner.scope import OPERATOR

TODAY = date(2026, 11, 20)  # plan starts Mon 23 Nov; Thanksgiving in its first week
IMG = '<img src=x onerror="alert(1)">'
LINK = "[click me](javascript:alert(document.cookie))"


@pytest.fixture(scope="module")
def tricky_plan(
    small_store_template: Path, tmp_path_factory: pytest.TempPathFactory, module_store: Callable[[Path, Path], Path]
) -> plan.Plan:
    """R001's draft with hostile text: an account named with HTML and a javascript link, rationales
    with a script, Markdown pipes and a spreadsheet formula. Composed once per module (the exports only read it)."""
    small_store = module_store(small_store_template, tmp_path_factory.mktemp("tricky") / "store.duckdb")
    with store.read(small_store) as con:
        first = plan.load(con, scope=OPERATOR, rep_id="R001", today=TODAY).targets["account_id"].iloc[2]
    with store.write(small_store) as con:
        con.execute("UPDATE accounts SET name = ? WHERE account_id = ?", [f"Acme {IMG} {LINK}", first])
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R001", today=TODAY)
        specs = list(p.specs())
        specs[0] = specs[0]._replace(rationale="<script>alert(1)</script> | piped")
        specs[1] = specs[1]._replace(rationale='=HYPERLINK("http://x")')
        return plan.compose(
            con, scope=OPERATOR, rep_id="R001", start=p.start, specs=tuple(specs), rules=plan.rules_json(p.rules),
            today=TODAY,
        )  # fmt: skip


def test_ics_has_touches_decision_points_and_asks(tricky_plan: plan.Plan) -> None:
    p = tricky_plan
    cal = Calendar.from_ical(exports.to_ics(p))
    assert str(cal["VERSION"]) == "2.0" and "PRODID" in cal
    events = list(cal.walk("VEVENT"))
    touches = p.steps[~p.steps["is_decision"]]
    assert len(events) == len(p.steps) + len(p.needs)
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids)
    timed = [e for e in events if isinstance(e.decoded("DTSTART"), datetime)]
    all_day = [e for e in events if not isinstance(e.decoded("DTSTART"), datetime)]
    assert len(timed) == len(touches)
    assert sum(str(e["SUMMARY"]).startswith("Decision: ") for e in all_day) == 2 * len(p.targets)
    asks = [e for e in all_day if str(e["SUMMARY"]).startswith("Ask ")]
    assert len(asks) == len(p.needs) > 0
    assert {e.decoded("DTSTART") for e in asks} == set(p.needs["due"])
    for e in timed:
        assert e.decoded("DTEND") > e.decoded("DTSTART")
    first = touches.sort_values(["step_date", "position"]).iloc[0]
    zone = ZoneInfo(p.calendar.time_zone)  # the rep's (tests/test_plan_local_time.py)
    assert min(e.decoded("DTSTART") for e in timed) == datetime.combine(first.step_date, time(9), tzinfo=zone)
    # Touches on the same day are packed one after the other.
    day = [e for e in timed if e.decoded("DTSTART").date() == first.step_date]
    starts = sorted(e.decoded("DTSTART") for e in day)
    assert len(starts) == len(set(starts))


def test_engagement_csv_numbers_every_step_without_gaps(tricky_plan: plan.Plan) -> None:
    p = tricky_plan
    text = exports.to_engagement_csv(p).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[:16] == [
        "Company", "Account", "CRM ID", "Owner Email", "Cadence Name", "Sequence Name", "Step Number", "Day",
        "Due Date", "Step Type", "Task Type", "Subject", "Notes", "Offer", "Industry", "State",
    ]  # fmt: skip
    assert len(rows) == len(p.steps) + len(p.needs)
    for account, group in p.steps.groupby("account_id"):
        mine = [r for r in rows if r["CRM ID"] == account]
        assert [int(r["Step Number"]) for r in mine] == list(range(1, len(mine) + 1))
        assert [r["Due Date"] for r in mine] == sorted(r["Due Date"] for r in mine)
        assert int(mine[0]["Day"]) == 1
        kinds = [r["Step Kind"] for r in mine]
        assert kinds.count("decision point") == 2 and kinds.count("touch") == (~group["is_decision"]).sum()
    decisions = [r for r in rows if r["Step Kind"] == "decision point"]
    assert {(r["Step Type"], r["Task Type"]) for r in decisions} == {("Other", "action_item")}
    assert {r["Team"] for r in rows if r["Step Kind"] == "ask"} == set(p.needs["team"])
    second = [r for r in rows if r["CRM ID"] == p.targets["account_id"].iloc[1] and r["Step Kind"] == "touch"]
    assert second[0]["Notes"].startswith("'=HYPERLINK")
    assert second[0]["Owner Email"] == p.rep["email"]


def test_html_escapes_all_text(tricky_plan: plan.Plan) -> None:
    page = exports.to_html(tricky_plan)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    for section in ("Asks of other teams", "Sequence", "decision point", "Thanksgiving Day"):
        assert section in page


def _rendered(md: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(md)


def test_markdown_is_formatted_and_inert(tricky_plan: plan.Plan) -> None:
    p = tricky_plan
    md = exports.to_markdown(p)
    assert md.startswith(f"# Territory plan: {p.rep['name']}")
    for section in ("## Targets", "## Asks of other teams", "## Engagement sequence", "## Weekly load",
                    "## Plan vs actual", "## Accounts toward the gap"):  # fmt: skip
        assert section in md
    assert "decision point" in md and "Decision: no meeting by week 6" in md
    assert "Thanksgiving Day Thu 26 Nov 2026" in md
    assert not re.search(r"\bTrue\b|\bFalse\b|\bNone\b|\bnan\b|\bNaT\b", md)
    assert not re.search(r"\d\.\d{3,}|\d{5,}\.\d", md)  # no raw floats such as 0.686 or 740324.0
    top = p.targets.iloc[0]
    assert f"${top['expected_value']:,.0f}" in md and f"{top['propensity']:.0%}" in md
    assert "Mon 23 Nov 2026" in md
    html = _rendered(md)
    assert "<img" not in html and "<script" not in html
    assert 'href="javascript' not in html and "<a " not in html
    assert "&lt;img src=x onerror=" in html and "[click me](javascript:alert(document.cookie))" in html
    assert "| piped" in html  # the pipe stays text inside its cell
    assert html.count("<table>") >= 5


def test_excel_sheets_are_formatted_and_none_is_silently_empty(tricky_plan: plan.Plan) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(exports.to_excel(tricky_plan)))
    assert wb.sheetnames == [
        "Summary", "Targets", "Sequence", "Asks of other teams", "Weekly load", "Plan vs actual", "Close the gap",
        "Offers",
    ]  # fmt: skip
    for ws in wb:
        assert ws.max_row >= 1 and ws["A1"].value, f"{ws.title} is empty"
        headers = [c.value for c in ws[1]]
        assert not any("_" in str(h) for h in headers if h), f"{ws.title}: {headers}"
        if ws.max_row == 1:  # a sheet with nothing to show says why in a sentence
            assert ws.max_column == 1 and str(ws["A1"].value).endswith(".")
    targets = wb["Targets"]
    assert targets.max_row == len(tricky_plan.targets) + 1
    header = [c.value for c in targets[1]]
    col = {h: i + 1 for i, h in enumerate(header)}
    assert targets.cell(row=2, column=col["Expected value"]).number_format == '"$"#,##0'
    assert targets.cell(row=2, column=col["Propensity"]).number_format == "0%"
    assert targets.cell(row=2, column=col["First touch"]).number_format == "ddd d mmm yyyy"
    assert 10 <= targets.column_dimensions["B"].width <= 60
    assert targets.freeze_panes == "A2"
    rationale = targets.cell(row=3, column=col["Why this account"])
    assert rationale.value.startswith("=HYPERLINK") and rationale.data_type == "s" and rationale.quotePrefix
    seq = wb["Sequence"]
    kinds = {seq.cell(row=r, column=6).value for r in range(2, seq.max_row + 1)}
    assert kinds == {"touch", "decision point"}
    assert wb["Asks of other teams"].max_row == len(tricky_plan.needs) + 1
    flags = {c.value for c in wb["Plan vs actual"]["E"][1:]}
    assert flags <= {"yes", "no"}
    summary = {r[0].value: r[1] for r in wb["Summary"].iter_rows(min_row=2)}
    assert summary["Expected value"].number_format == '"$"#,##0'
    assert "Thanksgiving Day" in summary["Working days"].value


def test_cli_writes_each_format(small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with store.read(small_store) as con:
        email = con.execute("SELECT email FROM reps WHERE rep_id = 'R002'").fetchone()[0]
    for suffix in (".md", ".xlsx", ".ics", ".csv", ".html"):
        out = tmp_path / f"plan{suffix}"
        argv = ["--db", str(small_store), "plan", "--rep", email, "--weeks", "4", "--start", "2026-11-09",
                "--out", str(out)]  # fmt: skip
        assert cli.main(argv) == 0
        assert out.stat().st_size > 0
    cal = Calendar.from_ical((tmp_path / "plan.ics").read_bytes())
    timed = [e.decoded("DTSTART") for e in cal.walk("VEVENT") if isinstance(e.decoded("DTSTART"), datetime)]
    assert min(timed) == datetime(2026, 11, 9, 9, 0, tzinfo=ZoneInfo("America/Chicago"))  # R002's home's zone
    err = capsys.readouterr().err
    assert "Mon 9 Nov 2026 to" in err and "wrote HTML plan" in err


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


def test_engagement_rows_are_built_from_the_plan_alone(tricky_plan: plan.Plan) -> None:
    table = engagement.engagement_steps(tricky_plan)
    assert list(table.columns) == engagement.ENGAGEMENT_COLUMNS
    assert table["Step Number"].min() == 1


def test_an_account_without_a_crm_id_and_a_line_break_in_its_name(empty_store: Path, tmp_path: Path) -> None:
    """A HubSpot export without record IDs: the calendar said 'Account name:zeta corp|sao paulo brasil' (the
    import's key) and put the name's line break into each event's title, and the sequence CSV gave the key as
    the CRM ID a sales-engagement tool matches records by."""
    from planner import ingest

    src = tmp_path / "companies.csv"
    src.write_text('Company name,Company owner,City,Country/Region,Number of Employees\n'
                   '"Zeta\r\nCorp",dana@example.com,São Paulo,Brasil,20\n')  # fmt: skip
    ingest.import_files(empty_store, [src], scope=OPERATOR)
    with store.read(empty_store) as con:
        p = plan.compose(con, scope=OPERATOR, rep_id="R001", start=date(2026, 12, 7), weeks=6)
    events = [e for e in Calendar.from_ical(engagement.to_ics(p)).walk("VEVENT")]
    assert events and all("\n" not in str(e["summary"]) and "name:" not in str(e["description"]) for e in events)
    assert any(str(e["summary"]) == "Email: Zeta Corp" for e in events)
    assert "Account Zeta Corp, step 1" in str(events[0]["description"])
    rows = engagement.engagement_steps(p)
    assert set(rows["CRM ID"]) == {""} and set(rows["Company"]) == {"Zeta Corp"}


def test_accounts_keyed_by_name_leak_no_key_into_the_workbook_or_the_calendar(
    empty_store: Path, tmp_path: Path
) -> None:
    """A Saudi export without record IDs: the workbook's Account ID column held 'name:sa firma 5|jeddah saudi
    arabia' (the importer's key, no CRM record's id), and each event's UID held the key with its spaces, Arabic
    and '|'. Now the workbook leaves the CRM ID blank, as the CSV does, and a UID is a hash: letters and digits,
    the same for the same plan in every export."""
    from planner import ingest

    src = tmp_path / "companies.csv"
    src.write_text("Company name,Company owner,City,Country/Region,Number of Employees\n"
                   "SA Firma 16,dana@example.com,الرياض,Saudi Arabia,20\n"
                   "Ledger & Co Advisory,dana@example.com,Jeddah,Saudi Arabia,40\n", encoding="utf-8")  # fmt: skip
    ingest.import_files(empty_store, [src], scope=OPERATOR)
    with store.read(empty_store) as con:
        p = plan.compose(con, scope=OPERATOR, rep_id="R001", start=date(2026, 12, 6), weeks=6)
        later = plan.compose(con, scope=OPERATOR, rep_id="R001", start=date(2027, 1, 3), weeks=6)
    assert p.targets["account_id"].str.startswith("name:").all() and len(p.targets) == 2
    wb = openpyxl.load_workbook(io.BytesIO(exports.to_excel(p)))
    for sheet in ("Targets", "Sequence"):
        rows = list(wb[sheet].iter_rows(values_only=True))
        assert "Account ID" not in rows[0] and "CRM ID" in rows[0]
        assert not [v for row in rows for v in row if isinstance(v, str) and v.startswith("name:")], sheet
        crm = rows[0].index("CRM ID")
        assert {row[crm] for row in rows[1:]} == {None}
    uids = [str(e["UID"]) for e in Calendar.from_ical(exports.to_ics(p)).walk("VEVENT")]
    assert len(uids) == len(p.steps) + len(p.needs) and len(set(uids)) == len(uids)
    assert all(re.fullmatch(r"[A-Za-z0-9-]+@[A-Za-z0-9.-]+", u) for u in uids), uids[:3]
    assert uids == [str(e["UID"]) for e in Calendar.from_ical(exports.to_ics(p)).walk("VEVENT")]
    assert not set(uids) & {str(e["UID"]) for e in Calendar.from_ical(exports.to_ics(later)).walk("VEVENT")}


def test_markdown_shows_an_ampersand_and_an_arrow_as_written_and_stays_inert() -> None:
    """The Markdown file read 'Ledger &amp; Co Advisory' and 'Decision: ... -&gt; drop' (41 lines of a plan):
    entities a reader of the file sees as such. '&' and '>' are written plainly; what would make markup is not."""
    md = exports.md_text
    assert md("Ledger & Co Advisory") == "Ledger & Co Advisory" and md("AT&T") == "AT&T"
    assert md("Decision: no meeting by week 6 -> drop") == "Decision: no meeting by week 6 -> drop"
    shown = {
        "Ledger & Co": "Ledger &amp; Co", "&amp; stays &amp;": "&amp;amp; stays &amp;amp;",
        "&#60;script&#x3e;": "&amp;#60;script&amp;#x3e;", IMG: "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;",
        "<https://evil.example>": "&lt;https://evil.example&gt;", "> not a quote": "&gt; not a quote",
        "-> drop": "-&gt; drop", LINK: LINK,
    }  # fmt: skip
    for text, html in shown.items():
        assert _rendered(md(text)) == f"<p>{html}</p>\n", text


def test_signals_of_one_account_or_one_deal_are_singular() -> None:
    """'1 similar Retail accounts in WA won in 2 years' and '1 open deal(s)'."""
    from types import SimpleNamespace

    from planner.plan import book

    one = SimpleNamespace(intent_score=0, new_executive=False, employee_growth=0.0, similar_won=1, industry="Retail",
                          state="WA", open_deals=1)  # fmt: skip
    assert book._signals(one) == "1 similar Retail account in WA won in 2 years; 1 open deal"
    two = SimpleNamespace(**{**vars(one), "similar_won": 2, "open_deals": 3})
    assert book._signals(two) == "2 similar Retail accounts in WA won in 2 years; 3 open deals"


def test_plan_file_names_name_the_rep_in_safe_characters(tricky_plan: plan.Plan) -> None:
    """explore-G: plan downloads were named plan-R001-2026-12-07.md; a rep id says nothing to whoever gets the file."""
    p = tricky_plan
    name = exports.file_name(p, ".md")
    assert name == f"plan-{p.rep['name'].replace(' ', '-')}-{p.start.isoformat()}.md" and "R001" not in name
    assert exports.file_name(replace(p, rep={**p.rep, "name": "José Álvarez / ../=x"}), ".csv").startswith(
        "plan-José-Álvarez-x-"
    )
    assert exports.file_name(replace(p, rep={**p.rep, "name": "!!"}), ".md").startswith("plan-R001-")


def test_the_steps_csv_names_a_rep_without_an_email_by_the_email_they_sign_in_with(
    small_store_template: Path, tmp_path: Path, module_store: Callable[[Path, Path], Path]
) -> None:
    """explore-G: "Owner Email" was blank for a rep the reps table has no email for, who signs in by a roles entry."""
    path = module_store(small_store_template, tmp_path / "store.duckdb")
    with store.write(path) as con:
        con.execute("UPDATE reps SET email = NULL WHERE rep_id = 'R001'")
    roles.set_role(path, "ava.signin@example.com", "rep", "R001", scope=OPERATOR)
    with store.read(path) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R001", today=TODAY)
    rows = list(csv.DictReader(io.StringIO(engagement.to_engagement_csv(p).decode("utf-8-sig"))))
    assert rows and {r["Owner Email"] for r in rows} == {"ava.signin@example.com"}
