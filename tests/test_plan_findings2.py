"""Plan and link findings (explorer T4, T7-T11): a rep's link carries their territory, plan vs actual without
activities, the accounts that would close the gap, rationale wording, a link's plan start."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from planner import cli, ingest, plan, store
from planner.plan import kpis
from planner.scope import OPERATOR, Scope
from tests.helpers import AVA, app_as, errors, page, page_text

TODAY = date(2026, 11, 1)  # the small store's today
RULES = plan.rules_with_defaults(None)


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


def _gap_case() -> tuple[pd.DataFrame, pd.DataFrame, dict]:  # type: ignore[type-arg]
    targets = pd.DataFrame(
        {"account_id": ["A0", "A1"], "expected_value": [100.0, 50.0], "potential": [200.0, 100.0],
         "est_users": [10.0, 10.0], "tier": [1, 2]}
    )  # fmt: skip
    load = pd.DataFrame({"week": [1], "hours": [3.0], "capacity": [5.0], "overloaded": [False]})
    k = plan.kpi_alignment(targets, load, {"quota": 300.0}, RULES, 2, None, "USD")
    book = pd.DataFrame(
        {
            "account_id": ["A0", "A1", "B1", "B2", "B3"], "name": list("abcde"), "industry": "x", "state": "",
            "tier": 3, "propensity": 0.2, "expected_value": [100.0, 50.0, 10.0, 90.0, 20.0], "rationale": "r",
            "book_rank": [1, 2, 3, 4, 5],
        }
    )  # fmt: skip
    return book, targets, k


def test_the_gap_accounts_follow_the_ranking_and_say_when_they_cannot_close_it() -> None:
    book, targets, k = _gap_case()
    assert k["gap"] == pytest.approx(150.0)
    gap = kpis.close_gap(book, targets, k)
    assert list(gap["account_id"]) == ["B1", "B2", "B3"]  # the ranking's order, not expected value's
    note = kpis.gap_note(book, targets, gap, k, "USD")
    assert "No choice of accounts closes the $150 gap" in note and "$120 of expected value" in note
    assert "leaving $30" in note
    # The book could close it, but the list stops early: what is left after it.
    more = pd.concat([book, book.tail(1).assign(account_id="B4", book_rank=6, expected_value=100.0)])
    short = kpis.close_gap(more, targets, k, limit=2)
    note = kpis.gap_note(more, targets, short, k, "USD")
    assert "do not close the $150 gap" in note and "add $100, leaving $50" in note
    assert kpis.gap_note(more, targets, kpis.close_gap(more, targets, k), k, "USD") == ""


def test_a_plan_says_its_gap_cannot_be_closed(small_store: Path) -> None:
    with store.write(small_store) as con:
        con.execute("UPDATE reps SET quota = 1e12 WHERE rep_id = 'R004'")
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R004", today=TODAY, start=date(2026, 8, 3))
    assert any("No choice of accounts closes" in w for w in p.kpis["warnings"])
    ranks = p.book.set_index("account_id")["book_rank"]
    assert list(ranks[list(p.gap["account_id"])]) == sorted(ranks[list(p.gap["account_id"])])


def test_a_head_count_too_small_for_a_user_is_not_called_missing(empty_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "acc.csv"
    path.write_text("Company name,Industry,Number of Employees,Account Owner,Billing Zip\n"
                    "Tiny Co,Software,3,Ann Lee,10001\nOne Co,Software,12,Ann Lee,10002\n"
                    "Big Co,Software,5000,Ann Lee,10003\n")  # fmt: skip
    ingest.import_files(empty_store, [path], scope=OPERATOR)
    with store.write(empty_store) as con:  # 10% adoption: 3 employees make no user, 12 make one
        con.execute("DELETE FROM potential_settings")
        con.execute("INSERT INTO potential_settings (segment, adoption_share, price_per_user) VALUES ('*', 0.1, 600)")
    with store.read(empty_store) as con:
        rep_id = con.execute("SELECT rep_id FROM reps").fetchone()[0]
        p = plan.load(con, scope=OPERATOR, rep_id=rep_id, today=TODAY)
    why = dict(zip(p.targets["name"], p.targets["rationale"], strict=True))
    users = dict(zip(p.targets["name"], p.targets["est_users"], strict=True))
    assert users["Tiny Co"] == 0 and "3 employees: too few for one estimated user" in why["Tiny Co"], why
    assert "no employee count" not in why["Tiny Co"] and why["Tiny Co"].startswith("#3 of 3 in the territory")
    assert "neither an employee count" not in " ".join(p.kpis["warnings"])
    assert users["One Co"] == 1 and "(1 user x $600)" in why["One Co"], why


@pytest.mark.parametrize("asked", ["2027-02-30", "garbage", "1900-01-01", "2207-01-04"])
def test_a_links_start_that_is_no_date_or_far_off_is_ignored_with_a_note(app_store: Path, asked: str) -> None:
    at = page("plan", query={"rep": "R001", "start": asked})
    assert errors(at) == []
    notes = " ".join(str(i.value) for i in at.info).replace("\\", "")  # markdown escapes
    assert f"start={asked}" in notes, notes
    assert at.date_input(key="plan_start").value.year not in (1900, 2207)
    assert at.query_params.get("start") != asked


def test_the_cli_refuses_a_plan_start_far_from_the_data(small_store: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "p.md"
    assert (
        cli.main(["--db", str(small_store), "plan", "--rep", "R001", "--start", "1900-01-01", "--out", str(out)]) == 2
    )
    err = capsys.readouterr().err
    assert "start 1900-01-01 is more than 5 years before the data's as-of date" in err and "pick a start" in err
    assert err.count("\n") == 1 and not out.exists()


def test_all_territories_targets_name_each_owner_and_a_stateless_book_has_no_state_filter(app_store: Path) -> None:
    at = app_as("boss@example.com", page="targets", query={"rep": "all"})
    assert errors(at) == []
    table = at.dataframe[0].value
    with store.read(app_store) as con:
        names = dict(con.execute("SELECT rep_id, name FROM reps").fetchall())
        owners = dict(con.execute("SELECT name, owner_rep_id FROM accounts").fetchall())
    assert "owner" in table.columns
    shown = [None if pd.isna(o) else o for o in table["owner"]]
    assert shown == [names.get(owners[n]) for n in table["name"]] and any(shown)  # unowned accounts: no owner
    assert "tg_state" in [m.key for m in at.multiselect]
    own = app_as("boss@example.com", page="targets", query={"rep": "R001"})
    assert "owner" not in own.dataframe[0].value.columns  # one territory: its owner is in the sidebar
    with store.write(app_store) as con:
        con.execute("UPDATE accounts SET state = NULL")
    bare = app_as("boss@example.com", page="targets", query={"rep": "all"})
    assert errors(bare) == [] and "tg_state" not in [m.key for m in bare.multiselect]
