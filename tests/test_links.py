"""A copied link reproduces the view for whoever opens it (AppTest): values holding a comma, the all-territories
view a rep opens, the pickers of Rebalance, Plan and Data, a plan's start, and a link opened before signing in."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest

from planner import ingest, optimize, plan, scenarios, store
from planner.scope import OPERATOR
from tests.helpers import AVA, SAMPLES, app_as, errors, page, sidebar_text

BANKING = "Banking, Financial Services"


def _all(at, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Every value of ?name= in AppTest's address (a dict holding a list for a repeated parameter)."""
    value = at.query_params.get(name)
    return [] if value is None else [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _notes(at) -> str:  # type: ignore[no-untyped-def]
    return " ".join(str(i.value) for i in at.sidebar.info) + " ".join(str(i.value) for i in at.info)


# ---- a filter value that holds a comma -------------------------------------------------------------------------


def test_a_value_with_a_comma_survives_the_link(app_store: Path) -> None:
    with store.write(app_store) as con:
        con.execute("UPDATE accounts SET industry = ? WHERE industry = 'Software'", [BANKING])
    at = page("targets")
    at.multiselect(key="tg_industry").set_value([BANKING, "Retail"]).run()
    assert errors(at) == []
    assert _all(at, "ind") == [BANKING, "Retail"]  # one ?ind= per value
    shared = page("targets", query={"ind": BANKING})
    assert shared.multiselect(key="tg_industry").value == [BANKING]
    assert "Ignored from this link" not in _notes(shared)
    # An older link wrote one comma-separated list: its parts are still read, the comma inside a value too.
    old = page("targets", query={"ind": f"Retail,{BANKING},Nonsense"})
    assert set(old.multiselect(key="tg_industry").value) == {BANKING, "Retail"}
    assert "ind=Nonsense" in _notes(old)


# ---- the all-territories view a rep opens ----------------------------------------------------------------------


def test_a_leaders_all_territories_link_says_it_was_narrowed_for_a_rep(app_store: Path) -> None:
    boss = app_as("boss@example.com", page="targets", query={"top": "100"})
    assert errors(boss) == []
    assert boss.query_params.get("rep") == "all"  # the link says it shows every territory
    rep = app_as(AVA, page="targets", query={"rep": "all", "top": "100"})
    assert errors(rep) == []
    assert "shows all territories" in sidebar_text(rep) and "only see your own" in sidebar_text(rep)
    assert rep.sidebar.selectbox(key="sb_rep").value == "R001"
    assert rep.query_params.get("rep") == "R001" and rep.query_params.get("top") == "100"  # the rep's own
    # A link without rep= (older ones) or with the rep's own opens as before, with no note.
    plain = app_as(AVA, page="targets", query={"top": "100"})
    assert "all territories" not in sidebar_text(plain) and errors(plain) == []
    # A leader opening rep=all sees All territories.
    again = app_as("boss@example.com", page="overview", query={"rep": "all"})
    assert again.sidebar.selectbox(key="sb_rep").value == "__all__" and "Ignored" not in _notes(again)


# ---- Rebalance: the scenario, the comparison and the version ---------------------------------------------------


@pytest.fixture
def two_scenarios(app_store: Path) -> Path:
    with store.read(app_store) as con:
        res = scenarios.run(con, optimize.Options(), scope=OPERATOR)
    for name in ("First", "Second"):
        scenarios.save(app_store, name, res, "lead@example.com", scope=OPERATOR)
    for sid in (1, 2):  # versions to restore
        scenarios.commit(app_store, sid, "boss@example.com", scope=OPERATOR)
    return app_store


def _picker(at, key_start: str):  # type: ignore[no-untyped-def]
    return next(w for w in list(at.selectbox) + list(at.multiselect) if str(w.key).startswith(key_start))


def test_the_rebalance_link_carries_scenario_comparison_and_version(two_scenarios: Path) -> None:
    at = page("rebalance")
    assert errors(at) == []
    _picker(at, "rb_pick_").set_value(1).run()
    _picker(at, "rb_compare_").set_value([1, 2]).run()
    with store.read(two_scenarios) as con:
        versions = list(scenarios.versions(con, scope=OPERATOR)["version"])
    assert len(versions) >= 2
    at.selectbox(key="rb_version").set_value(int(versions[-1])).run()
    assert errors(at) == []
    query = {k: _all(at, k) for k in ("scenario", "compare", "version")}
    assert query == {"scenario": ["1"], "compare": ["1", "2"], "version": [str(versions[-1])]}
    shared = page("rebalance", query={"scenario": "1", "compare": ["1", "2"], "version": str(versions[-1])})  # type: ignore[dict-item]
    assert errors(shared) == []
    assert _picker(shared, "rb_pick_").value == 1 and sorted(_picker(shared, "rb_compare_").value) == [1, 2]
    assert shared.selectbox(key="rb_version").value == versions[-1]
    # A scenario that does not exist is dropped with the note; a rep's link loses them all, with one line that
    # the link is for a page the rep's role cannot open (not a note per parameter).
    gone = page("rebalance", query={"scenario": "9"})
    assert _picker(gone, "rb_pick_").value == 2 and "scenario=9" in _notes(gone)
    rep = app_as(AVA, page="rebalance", query={"scenario": "2", "compare": "1"})
    assert "scenario" not in rep.query_params and "compare" not in rep.query_params
    assert "This link is for a page your role cannot open" in _notes(rep) and "scenario=2" not in _notes(rep)


# ---- Plan: the start, the saved-plan pill and the team tab ------------------------------------------------------


def test_a_plan_link_carries_its_start_pill_and_tab(app_store: Path) -> None:
    at = page("plan", query={"rep": "R001"})
    assert errors(at) == []
    start = at.date_input(key="plan_start").value
    assert at.query_params.get("start") == start.isoformat()  # the default start too: it moves with today
    with store.read(app_store) as con:
        for day in (date(2026, 9, 7), date(2026, 10, 5)):
            draft = plan.load(con, scope=OPERATOR, rep_id="R001", start=day, today=date.today())
            plan.save(app_store, scope=OPERATOR, plan=draft)
    shared = page("plan", query={"rep": "R001", "start": "2026-10-05"})
    assert errors(shared) == []
    assert shared.session_state["plan_saved_pick"] == "2026-10-05"  # the saved plan's pill is the one chosen
    teams = [str(t.label) for t in shared.tabs]
    assert len(teams) >= 2, teams
    shared.session_state["plan_needs_tab"] = teams[1]
    shared.run()
    assert shared.query_params.get("team") == teams[1]
    tab = page("plan", query={"rep": "R001", "start": "2026-10-05", "team": teams[1]})
    assert tab.session_state["plan_needs_tab"] == teams[1] and errors(tab) == []


# ---- Data: the import whose rejected rows show -------------------------------------------------------------------


def test_the_rejected_rows_link_names_its_import(app_store: Path, tmp_path: Path) -> None:
    report = (SAMPLES / "salesforce_accounts_report.csv").read_text(encoding="utf-8")
    (tmp_path / "second.csv").write_text(report.replace("No Id Corp", "No Id Corp 2"), encoding="utf-8")
    for f in (SAMPLES / "salesforce_accounts_report.csv", tmp_path / "second.csv"):
        ingest.import_files(app_store, [f], scope=OPERATOR)
    at = page("data")
    key = next(str(w.key) for w in at.selectbox if str(w.key).startswith("data_rejects_import"))
    options = at.selectbox(key=key).options
    assert len(options) == 2, options  # newest first: the link picks the other one
    second = int(options[1].split()[0][1:])
    at.selectbox(key=key).set_value(second).run()
    assert at.query_params.get("rejects") == str(second)
    shared = page("data", query={"rejects": str(second)})
    assert shared.selectbox(key=key).value == second and errors(shared) == []


# ---- a link opened before signing in -----------------------------------------------------------------------------


def test_the_first_run_after_signing_in_opens_the_kept_link(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The identity provider returns to the home address; the sign-in page kept the link in a cookie (the browser
    test shows the round trip). Only a page of this app is followed, never another host."""
    from ui import auth

    kept = {auth.KEPT_VIEW_COOKIE: quote("targets?rep=R003&top=100", safe="")}
    monkeypatch.setattr(auth, "_cookies", lambda: kept)
    at = app_as(AVA)
    assert errors(at) == []
    assert at.title[0].value.startswith("Targets")
    assert at.query_params.get("top") == "100" and at.query_params.get("rep") == "R001"  # the rep's own
    assert "This link shows another territory" in sidebar_text(at)
    at.run()  # once only: the next run stays where it is
    assert at.title[0].value.startswith("Targets")
    for bad in ("https://evil.example/targets", "//evil.example/", "no-such-page?x=1", "../targets"):
        kept[auth.KEPT_VIEW_COOKIE] = quote(bad, safe="")
        home = app_as(AVA)
        assert home.title[0].value.startswith("Overview"), bad
