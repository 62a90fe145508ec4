"""Plan and link findings (explorer T4, T7-T11): a rep's link carries their territory, plan vs actual without
activities, the accounts that would close the gap, rationale wording, a link's plan start."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from planner import plan, store
from planner.scope import OPERATOR, Scope
from tests.helpers import AVA, app_as, errors, page, page_text

TODAY = date(2026, 11, 1)  # the small store's today


def test_a_reps_link_carries_their_territory_for_their_leader(app_store: Path) -> None:
    rep = app_as(AVA, page="targets", query={"top": "100"})
    assert errors(rep) == []
    assert rep.query_params.get("rep") == "R001" and rep.query_params.get("top") == "100"
    assert "R001" in rep.sidebar.code[0].value  # the link to this view names the rep's own territory
    boss = app_as("boss@example.com", page="targets", query={"rep": "R001", "top": "100"})
    assert errors(boss) == []
    assert boss.sidebar.selectbox(key="sb_rep").value == "R001"  # not All territories


def test_without_activities_plan_vs_actual_makes_no_decision(small_store: Path) -> None:
    start = date(2026, 8, 3)
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R004", today=TODAY, start=start)
    a = p.targets["account_id"].iloc[0]
    with store.write(small_store) as con:
        con.execute("DELETE FROM activities")  # an import brings no activities
        con.execute("DELETE FROM deals WHERE account_id = ?", [a])
        con.execute(
            "INSERT INTO deals (deal_id, account_id, amount, created_date, is_closed, is_won) "
            "VALUES ('DX', ?, 5000, ?, FALSE, FALSE)",
            [a, start + timedelta(days=31)],
        )
    with store.read(small_store) as con:
        p = plan.load(con, scope=Scope(role="rep", rep_id="R004", user="r4"), rep_id="R004", today=TODAY, start=start)
    act = p.actual.set_index("account_id")
    assert not act["drop_decision"].str.startswith("drop").any()
    assert not act["nurture_decision"].str.startswith("move").any()
    expected = act["opportunity"].map({True: "opportunity created", False: "unknown: no activities on record"})
    assert (act["status"] == expected).all() and not act["opportunity"].all()
    assert act.loc[a, "status"] == "opportunity created" and act.loc[a, "opportunity_amount"] == 5000
    assert any("No activities" in n and "cannot be known" in n for n in p.notes)
    assert not p.needs["rule"].str.startswith("no activity in").any()
    s = plan.actual_summary(p)
    assert s["activities_known"] is False and s["drop"] is None and s["touched"] is None
    assert s["opportunities"] >= 1


def test_the_plan_page_says_touches_are_unknown_without_activities(app_store: Path) -> None:
    with store.write(app_store) as con:
        con.execute("DELETE FROM activities")
    at = page("plan", query={"rep": "R004", "start": "2026-08-03"})
    assert errors(at) == []
    shown = {m.label: m.value for m in at.metric}
    assert shown["To drop"] == "—" and shown["Touched"] == "—", shown
    assert "No activities" in page_text(at)
