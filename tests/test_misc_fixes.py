"""Fixes found with real public CRM exports and a rep's edited link: the link to this view carries only what the
page applied; HubSpot deals link to companies by domain; the as-of date of a book whose open deals are long
overdue; English names of states and provinces for holidays."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner import ingest, plan, store
from planner.scope import OPERATOR
from planner.store import world
from tests.helpers import AVA, app_as


def _link(at: AppTest) -> str:
    return str(at.sidebar.code[0].value)


def _notes(at: AppTest) -> str:
    return " ".join(str(i.value) for i in at.sidebar.info)


# ---- 1. the link to this view -------------------------------------------------------------------------------


def test_a_reps_link_drops_what_the_page_did_not_apply_and_says_so(app_store: Path) -> None:
    """A rep's /targets link naming another territory, an account and a parameter no page reads: none of it is
    in the link to this view (only `rep` was dropped before), and a note names each; the page's own filter stays."""
    query = {"rep": "R003", "territory": "R004", "account": "A0042", "size": "50-199"}
    at = app_as(AVA, page="targets", query=query)
    assert not at.exception
    assert "This link shows another territory" in at.sidebar.warning[0].value
    link = _link(at)
    assert "size=50-199" in link and "rep=R001" in link  # the rep's own territory, not the link's R003
    for junk in ("rep=R003", "territory=", "account="):
        assert junk not in link, link
    assert set(at.query_params) == {"size", "rep"}
    notes = _notes(at)
    assert "territory=R004" in notes and "account=A0042" in notes


def test_a_leaders_link_keeps_what_the_page_applied(app_store: Path) -> None:
    """Nothing the page used is dropped: the territory and the filters of an admin's link stay, junk goes."""
    at = app_as(None, secrets=None, page="targets", query={"rep": "R003", "size": "50-199", "junk": "mail"})
    assert not at.exception
    link = _link(at)
    assert "rep=R003" in link and "size=50-199" in link and "junk" not in link
    assert "junk=mail (not used on this page)" in _notes(at).replace("\\", "")


# ---- 3. the as-of date -----------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _as_of(db: Path, today: date) -> dict[str, object]:
    with store.read(db) as con:
        return world.as_of_info(con, today=today)


DEALS = "Opportunity ID,Account Name,Stage,Amount,Close Date\n"


@pytest.mark.parametrize(
    ("open_closes", "rule"),
    [
        # A Dynamics export last worked in October 2025: its open deals mostly overdue, one straggler due lately.
        (["2025-05-15", "2025-07-18", "2025-09-15", "2026-09-22"], "data"),
        # A quiet quarter: most of the pipeline is due from lately on, so the export is current.
        (["2025-05-15", "2026-12-20", "2027-01-30"], "today"),
        # A book of 2011-2014: its open deals are as old as its wins.
        (["2014-03-31", "2014-06-30"], "data"),
    ],
)
def test_as_of_is_the_last_deal_unless_most_of_the_pipeline_is_due_lately(
    empty_store: Path, tmp_path: Path, open_closes: list[str], rule: str
) -> None:
    last = "2014-02-27" if open_closes[0].startswith("2014") else "2025-10-04"
    rows = [f"1,Acme,Closed Won,100,{last}", "2,Acme,Closed Lost,100,2013-05-01"]
    rows += [f"{3 + i},Beta,Negotiation,50,{d}" for i, d in enumerate(open_closes)]
    ingest.import_files(empty_store, [_write(tmp_path / "deals.csv", DEALS + "\n".join(rows) + "\n")], "deals",
                        scope=OPERATOR)  # fmt: skip
    info = _as_of(empty_store, date(2026, 12, 4))
    assert info["rule"] == rule
    assert info["as_of"] == (date(2026, 12, 4) if rule == "today" else date.fromisoformat(last))


# ---- 4. English names of states and provinces ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "region", "code"),
    [("DE", "Bavaria", "BY"), ("DE", "BAVARIA", "BY"), ("DE", "Lower Saxony", "NI"), ("DE", "Hesse", "HE"),
     ("DE", "North Rhine-Westphalia", "NW"), ("AT", "Vienna", "9"), ("ES", "Catalonia", "CT"),
     ("DE", "Bayern", "BY"), ("DE", "Atlantis", None)],
)  # fmt: skip
def test_english_region_names_find_their_holidays(country: str, region: str, code: str | None) -> None:
    assert plan.calendar.subdivision_code(country, region) == code


def test_a_rep_in_bavaria_gets_bavarian_holidays(empty_store: Path, tmp_path: Path) -> None:
    """A reps file writing the state in English ('Bavaria') read 'No holiday list for BAVARIA': Epiphany, a
    Bavarian holiday, was planned over."""
    reps = _write(tmp_path / "users.csv", "Full Name,Email,Home City,Home State,Home Country,Quota\n"
                                          "Lena Weber,lena@example.com,Munich,Bavaria,Germany,500000\n")  # fmt: skip
    ingest.import_files(empty_store, [reps], scope=OPERATOR)
    with store.read(empty_store) as con:
        rep_id = str(con.execute("SELECT rep_id FROM reps").fetchone()[0])  # type: ignore[index]
        cal = plan.rep_calendar(con, scope=OPERATOR, rep_id=rep_id, rules=plan.rules_with_defaults(None),
                                start=date(2026, 12, 7))  # fmt: skip
    assert cal.place == "DE-BY" and cal.note == ""
    assert date(2027, 1, 6) in cal.holidays  # Epiphany


def test_a_home_set_as_city_state_country_keeps_its_state(empty_store: Path, tmp_path: Path) -> None:
    """`rep-home X "Munich, Bavaria, Germany"` dropped 'Bavaria': the plan said the home's state is not known and
    skipped only Germany's national holidays."""
    reps = _write(tmp_path / "users.csv", "Full Name,Email,Quota\nLena Weber,lena@example.com,500000\n")
    ingest.import_files(empty_store, [reps], scope=OPERATOR)
    with store.read(empty_store) as con:
        rep_id = str(con.execute("SELECT rep_id FROM reps").fetchone()[0])  # type: ignore[index]
    done = ingest.set_rep_home(empty_store, rep_id, place="Munich, Bavaria, Germany", scope=OPERATOR)
    assert done["placed_by"] == "city"
    with store.read(empty_store) as con:
        cal = plan.rep_calendar(con, scope=OPERATOR, rep_id=rep_id, rules=plan.rules_with_defaults(None),
                                start=date(2026, 12, 7))  # fmt: skip
    assert cal.place == "DE-BY" and date(2027, 1, 6) in cal.holidays
