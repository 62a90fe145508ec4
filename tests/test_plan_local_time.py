"""A plan in the rep's own time and calendar, on data of its own time: the .ics writes touches in the rep's
time zone (TZID + VTIMEZONE), working days skip bank holidays where the `holidays` package lists them (Japan's
New Year closure), and a plan or Overview built on data over a year old says so; customers whose last win is
years old get a win-back, not a check-in on 'the last purchase'."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from icalendar import Calendar

from planner import cli, ingest, plan, store
from planner.errors import BadInput
from planner.plan import exports, sequence
from planner.scope import OPERATOR
from tests.helpers import errors, page, page_text, screenshot, start_server, stop_server, wait_rendered

TODAY = date(2026, 11, 20)
TOKYO = (35.6895, 139.69171)
RULES = plan.DEFAULT_RULES


def _home(db: Path, rep_id: str, at: tuple[float, float] | None) -> None:
    lat, lon = at or (None, None)
    with store.write(db) as con:
        con.execute(
            "UPDATE reps SET home_lat = ?, home_lon = ?, home_state = NULL, home_city = NULL, home_inferred = false "
            "WHERE rep_id = ?",
            [lat, lon, rep_id],
        )


def _compose(db: Path, rep_id: str, start: date, rules: dict[str, Any] | None = None) -> plan.Plan:
    with store.read(db) as con:
        return plan.compose(
            con, scope=OPERATOR, rep_id=rep_id, start=start, rules=plan.rules_json(rules or RULES), today=TODAY
        )


def _timed(ics: bytes) -> tuple[Calendar, list[datetime], list[date]]:
    cal = Calendar.from_ical(ics)
    starts = [e.decoded("DTSTART") for e in cal.walk("VEVENT")]
    return cal, [s for s in starts if isinstance(s, datetime)], [s for s in starts if not isinstance(s, datetime)]


# ---- 6: the calendar file is in the rep's time zone ----------------------------------------------------------


def test_ics_touches_are_in_the_reps_zone_with_its_vtimezone(small_store: Path, tmp_path: Path) -> None:
    """A rep living in Tokyo: 09:00 Tokyo (00:00 UTC) with TZID=Asia/Tokyo and a VTIMEZONE, read by icalendar as
    /tmp/hK/check_ics.py reads it; all-day decision points and asks stay dates. The CLI's file is the same."""
    _home(small_store, "R003", TOKYO)
    p = _compose(small_store, "R003", date(2026, 12, 7))
    assert p.calendar is not None and p.calendar.time_zone == "Asia/Tokyo"
    ics = exports.to_ics(p)
    cal, timed, all_day = _timed(ics)
    assert timed and all_day and {str(s.tzinfo) for s in timed} == {"Asia/Tokyo"}
    assert [str(z["TZID"]) for z in cal.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    assert b"DTSTART;TZID=Asia/Tokyo:20261207T090000" in ics
    first = min(timed)
    assert first.time() == time(9) and first.utcoffset() == timedelta(hours=9)
    assert all(type(d) is date for d in all_day)
    out = tmp_path / "r3.ics"
    argv = ["--db", str(small_store), "plan", "--rep", "R003", "--start", "2026-12-07", "--out", str(out)]
    assert cli.main(argv) == 0
    _, cli_timed, _ = _timed(out.read_bytes())
    assert {str(s.tzinfo) for s in cli_timed} == {"Asia/Tokyo"} and min(cli_timed) == first


def test_a_sydney_home_in_a_country_of_many_zones_gets_its_own_and_summer_time(small_store: Path) -> None:
    """Australia has several zones: a Sydney home's is Australia/Sydney, in summer time (UTC+11) in December."""
    _home(small_store, "R003", (-33.86785, 151.20732))
    p = _compose(small_store, "R003", date(2026, 12, 7))
    _, timed, _ = _timed(exports.to_ics(p))
    assert {str(s.tzinfo) for s in timed} == {"Australia/Sydney"}
    assert min(timed).utcoffset() == timedelta(hours=11)


def test_an_unknown_zone_stays_floating_and_says_so_and_the_rules_can_name_one(small_store: Path) -> None:
    """No home and a US book (several zones): no zone is guessed; times stay floating and a note says how to
    set one. The rules' time zone wins; a zone that does not exist is a one-line error."""
    _home(small_store, "R003", None)
    p = _compose(small_store, "R003", date(2026, 12, 7))
    _, timed, _ = _timed(exports.to_ics(p))
    assert timed and all(s.tzinfo is None for s in timed)
    assert any("time zone is not known" in n and "calendar file's times are floating" in n for n in p.notes)
    told = _compose(small_store, "R003", date(2026, 12, 7), {**RULES, "time_zone": "America/Chicago"})
    _, timed, _ = _timed(exports.to_ics(told))
    assert {str(s.tzinfo) for s in timed} == {"America/Chicago"}
    assert not any("time zone" in n for n in told.notes)
    with pytest.raises(BadInput, match=r"time zone 'Mars/Olympus' is not known; use an IANA name"):
        plan.rules_with_defaults({"time_zone": "Mars/Olympus"})


# ---- 7: bank holidays where the package lists them ----------------------------------------------------------


def test_japan_skips_its_new_year_bank_holidays() -> None:
    """31 Dec and 2-3 Jan are JP bank holidays in `holidays` (categories public and bank): not working days."""
    cal = plan.work_calendar(None, "JP", None, 2026, 2027)
    assert cal.categories == ("public", "bank")
    assert {date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)} <= set(cal.holidays)
    assert cal.next_working(date(2026, 12, 31)) == date(2027, 1, 4)
    assert cal.is_working(date(2026, 12, 30))


@pytest.mark.parametrize(
    ("country", "subdiv", "kinds", "off", "on"),
    [
        ("US", "CA", ("public",), date(2026, 11, 26), date(2026, 12, 24)),  # no bank list: public only
        ("GB", "ENG", ("public",), date(2026, 12, 28), date(2026, 12, 24)),  # bank holidays are public ones
        ("IE", None, ("public",), date(2027, 2, 1), date(2026, 12, 24)),
        ("IN", "MH", ("public",), date(2027, 1, 26), date(2026, 12, 24)),
        ("AU", "NSW", ("public",), date(2026, 12, 28), date(2026, 8, 3)),  # NSW's August Bank Holiday closes banks
        ("BE", None, ("public",), date(2026, 12, 25), date(2026, 5, 15)),  # so does Belgium's Friday after Ascension
    ],
)
def test_other_countries_keep_their_holidays(
    country: str, subdiv: str | None, kinds: tuple[str, ...], off: date, on: date
) -> None:
    cal = plan.work_calendar(None, country, subdiv, 2026, 2027)
    assert cal.categories == kinds
    assert off in cal.holidays and cal.is_working(on)


def test_a_tokyo_reps_plan_books_nothing_on_31_december(small_store: Path) -> None:
    _home(small_store, "R003", TOKYO)
    p = _compose(small_store, "R003", date(2026, 12, 7))
    days = set(p.steps["step_date"]) | set(p.needs["due"])
    assert any(date(2026, 12, 28) <= d <= date(2027, 1, 8) for d in days) and date(2026, 12, 31) not in days
    _, timed, all_day = _timed(exports.to_ics(p))
    assert date(2026, 12, 31) not in {s.date() for s in timed} | set(all_day)
    assert "JP public and bank holidays" in exports.to_markdown(p)


# ---- 8: old data says so; lapsed customers get a win-back ----------------------------------------------------


@pytest.fixture
def old_store(small_store: Path) -> Path:
    """The small store with its data as of 31 Dec 2015 (a book exported eleven years before the plan)."""
    ingest.set_as_of(small_store, "2015-12-31", scope=OPERATOR)
    return small_store


STALE = re.compile(
    r"The data is over 10 years old: it is as of Thu 31 Dec 2015 and this plan starts on Mon 7 Dec 2026.*"
    r"Import a recent export from your CRM"
)


def test_a_plan_on_old_data_warns_in_every_file_and_on_the_cli(
    old_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = _compose(old_store, "R001", date(2026, 12, 7))
    assert STALE.search(p.notes[0]) and "\n" not in p.notes[0]
    assert STALE.search(exports.to_markdown(p).replace("\\", ""))
    out = tmp_path / "plan.xlsx"
    exports.write(p, out)
    cells = [str(c.value) for row in openpyxl.load_workbook(out)["Summary"].iter_rows() for c in row]
    assert any(STALE.search(c) for c in cells)
    argv = ["--db", str(old_store), "plan", "--rep", "R001", "--start", "2026-12-07", "--out", str(tmp_path / "p.md")]
    assert cli.main(argv) == 0
    assert STALE.search(capsys.readouterr().err)


def test_recent_data_gives_no_staleness_warning(small_store: Path) -> None:
    p = _compose(small_store, "R001", date(2026, 12, 7))
    assert p.as_of >= date(2026, 1, 1)
    assert not any("years old" in n or "a year old" in n for n in p.notes)
    assert plan.data_is_stale(date(2025, 12, 6), date(2026, 12, 7)) and not plan.data_is_stale(
        date(2025, 12, 7), date(2026, 12, 7)
    )


def test_a_customer_whose_last_win_is_years_old_gets_a_win_back(small_store: Path) -> None:
    """Of two customers in the plan, the one whose wins all lie more than 3 years before the plan's start is
    lapsed: a win-back cadence and wording, no check-in on 'the last purchase'; the other keeps the expansion."""
    start = date(2026, 12, 7)
    p = _compose(small_store, "R001", start)
    customers = p.targets[p.targets["mix"] == sequence.EXPANSION]["account_id"].tolist()
    assert len(customers) >= 2, "the small store's R001 plan has customers"
    lapsed, kept = customers[0], customers[1]
    with store.write(small_store) as con:
        con.execute("UPDATE deals SET close_date = DATE '2021-03-15' WHERE account_id = ? AND is_won", [lapsed])
    p = _compose(small_store, "R001", start)
    mix = dict(zip(p.targets["account_id"], p.targets["mix"], strict=True))
    assert mix[lapsed] == sequence.WIN_BACK and mix[kept] == sequence.EXPANSION
    actions = " ".join(p.steps[p.steps["account_id"] == lapsed]["action"])
    assert "Win-back email" in actions and "since the last purchase" not in actions
    why = p.targets.set_index("account_id").loc[lapsed, "rationale"]
    assert "A lapsed customer (last win 2021-03-15, 3+ years before the plan): a win-back play." in why
    assert "1 lapsed customer(s): win-back" in exports.to_markdown(p)


# ---- pages -----------------------------------------------------------------------------------------------------


def test_overview_names_the_win_rates_window_when_the_data_is_old(app_store: Path) -> None:
    at = page("overview")
    assert "Win rate, 12 months" in {m.label for m in at.metric}
    ingest.set_as_of(app_store, "2015-12-31", scope=OPERATOR)
    at = page("overview")
    assert errors(at) == []
    assert "Win rate, 12 months to 2015-12-31" in {m.label for m in at.metric}


def test_plan_page_warns_about_old_data(app_store: Path) -> None:
    ingest.set_as_of(app_store, "2015-12-31", scope=OPERATOR)
    at = page("plan", query={"rep": "R001"})
    assert errors(at) == []
    warnings = [str(w.value).replace("\\", "") for w in at.warning]
    assert any("years old: it is as of Thu 31 Dec 2015" in w and "Import a recent export" in w for w in warnings)
    assert "Time zone" in {t.label for t in at.text_input}
    assert "years old" in page_text(at)


@pytest.fixture
def old_server(small_store: Path, tmp_path: Path) -> Iterator[str]:
    ingest.set_as_of(small_store, "2015-12-31", scope=OPERATOR)
    proc, url = start_server(small_store, tmp_path / "server.log")
    yield url
    stop_server(proc)


def test_browser_plan_page_shows_the_old_data_warning(old_server: str, browser: Any) -> None:
    """In a real browser: the Plan page on data as of 2015 shows the warning, naming both dates."""
    page_ = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page_.goto(f"{old_server}/plan?rep=R001", wait_until="domcontentloaded")
        wait_rendered(page_)
        alerts = page_.locator('[data-testid="stAlert"]').all_inner_texts()
        found = [a for a in alerts if "as of Thu 31 Dec 2015" in a]
        assert found and "Import a recent export from your CRM" in found[0], alerts
        assert re.search(r"this plan starts on \w{3} \d{1,2} \w{3} 20\d\d", found[0])
        screenshot(page_, "plan-old-data-warning")
    finally:
        page_.close()
