"""Territory plan: cadence, staggering, offers, needs, KPIs, edits, saving, plan vs actual."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import cli, plan, store
from planner.coverage.value import expected_value_basis
from planner.coverage.workload import save_workload
from planner.errors import BadInput, Forbidden, NotFound
from planner.plan import TargetSpec, exports
from planner.scope import OPERATOR, Scope
from planner.store import plans as q
from planner.store import scores as scores_q

RULES = plan.rules_with_defaults(None)
TODAY = date(2026, 11, 1)  # the demo store's today, a Sunday


def test_cadence_six_weeks_has_touches_on_every_channel_and_two_decision_points() -> None:
    steps = plan.cadence(6, RULES)
    assert len(steps) == 14
    assert {s.channel for s in steps} == {"email", "phone", "social", "event", "decision"}
    decisions = [s for s in steps if s.is_decision]
    # The last working day of week 3 and of week 6, counted in working days from the first step.
    assert [d.offset for d in decisions] == [14, 29]
    assert "no reply by week 3" in decisions[0].action and "nurture" in decisions[0].action
    assert "no meeting by week 6" in decisions[1].action and "drop" in decisions[1].action
    assert [s.offset for s in steps] == sorted(s.offset for s in steps)


def test_cadence_varies_by_tier_and_scales() -> None:
    touches = {mix: [s for s in plan.cadence(6, RULES, mix) if not s.is_decision] for mix in plan.MIXES}
    assert {m: len(t) for m, t in touches.items()} == {"call-first": 13, "balanced": 12, "digital": 8}
    assert sum(s.channel == "phone" for s in touches["call-first"]) == 6
    assert sum(s.channel == "phone" for s in touches["digital"]) == 1
    assert [plan.sequence.mix_for_tier(RULES, t) for t in (1, 2, 3)] == ["call-first", "balanced", "digital"]
    expansion = plan.cadence(6, RULES, "expansion")
    assert len([s for s in expansion if not s.is_decision]) == 8
    assert [s.action for s in expansion if s.is_decision] == [
        "Decision: no reply by week 3 -> back to the customer-success rhythm",
        "Decision: no expansion meeting by week 6 -> drop from this plan's targets"]  # fmt: skip
    four = plan.cadence(4, RULES)
    assert [s.offset for s in four if s.is_decision] == [9, 19]  # weeks 2 and 4
    assert max(s.offset for s in four) < 20
    sunday_to_thursday = plan.cadence(6, RULES, "balanced", days_per_week=4)
    assert [s.offset for s in sunday_to_thursday if s.is_decision] == [11, 23]
    with pytest.raises(BadInput, match="weeks 0 is out of range"):
        plan.cadence(0, RULES)
    with pytest.raises(BadInput, match="channel mix 'loud' of tier 1"):
        plan.sequence.mix_for_tier(plan.rules_with_defaults({"tier_mix": {"1": "loud"}}), 1)


def _calendar(days: object = "Mon-Fri", country: str | None = "US", subdiv: str | None = None) -> plan.WorkCalendar:
    return plan.work_calendar(days, country, subdiv, 2026, 2027)


def test_calendar_skips_weekends_and_public_holidays_of_the_reps_state() -> None:
    cal = _calendar(subdiv="CA")
    assert not cal.is_working(date(2026, 11, 26))  # Thanksgiving
    assert not cal.is_working(date(2026, 11, 28))  # a Saturday
    assert cal.is_working(date(2026, 11, 30))
    assert plan.next_working_day_after(cal, date(2026, 11, 25)) == date(2026, 11, 30)  # Thu holiday, Fri CA holiday
    assert plan.next_working_day_after(_calendar(), date(2026, 11, 25)) == date(2026, 11, 27)  # not a US holiday
    gulf = _calendar("Sun-Thu", None)
    assert gulf.working_days == (0, 1, 2, 3, 6)
    assert plan.next_working_day_after(gulf, date(2026, 11, 19)) == date(2026, 11, 22)  # Thursday -> Sunday
    assert gulf.note == "Public holidays are not skipped: the rep's country is not known."
    assert not _calendar(country="DE", subdiv="BY").is_working(date(2026, 6, 4))  # Corpus Christi in Bavaria
    assert _calendar(country="DE", subdiv="BE").is_working(date(2026, 6, 4))  # ... but not in Berlin
    unknown = _calendar(country="XX")
    assert unknown.holidays == {} and "'XX' are not known" in unknown.note
    zz = _calendar(subdiv="ZZ")
    assert "region 'ZZ' is not one US has its own public holidays for" in zz.note and zz.place == "US"
    with pytest.raises(BadInput, match="'Funday' is not a weekday"):
        _calendar("Mon,Funday")


@pytest.mark.parametrize(
    ("country", "region", "code"),
    [("DE", "Bayern", "BY"), ("DE", "BAYERN", "BY"), ("DE", "by", "BY"), ("DE", "DE-BY", "BY"),
     ("DE", "Baden-Württemberg", "BW"), ("DE", "BADEN-WURTTEMBERG", "BW"), ("IN", "Maharashtra", "MH"),
     ("IN", "MH", "MH"), ("BR", "São Paulo", "SP"), ("BR", "SAO PAULO", "SP"), ("AU", "New South Wales", "NSW"),
     ("AU", "nsw", "NSW"), ("CA", "Ontario", "ON"), ("CA", "Québec", "QC"), ("US", "California", "CA"),
     ("DE", "Atlantis", None), ("JP", "Osaka", None), ("XX", "Bayern", None)],
)  # fmt: skip
def test_a_state_as_exports_write_it_is_the_holiday_lists_region(country: str, region: str, code: str | None) -> None:
    """'Bayern' (or 'BAYERN', 'São Paulo', 'Maharashtra') named no holiday list: only codes did, upper-cased."""
    assert plan.calendar.subdivision_code(country, region) == code


def test_a_state_by_its_name_gets_its_regional_holidays_and_an_unknown_one_says_so_as_written() -> None:
    """A German rep in Bavaria was given touches on Epiphany (6 Jan 2027): 'No holiday list for 'BAYERN' in DE'."""
    bavaria = _calendar(country="DE", subdiv="Bayern")
    assert bavaria.place == "DE-BY" and not bavaria.is_working(date(2027, 1, 6)) and bavaria.note == ""
    assert not _calendar(country="IN", subdiv="Maharashtra").is_working(date(2026, 9, 14))  # Ganesh Chaturthi
    assert _calendar(country="IN").is_working(date(2026, 9, 14))  # a Maharashtra holiday only
    assert _calendar(country="IN", subdiv="Maharashtra").place == "IN-MH"
    nowhere = _calendar(country="DE", subdiv="Oberbayern")
    assert nowhere.place == "DE" and nowhere.is_working(date(2027, 1, 6))
    assert "'Oberbayern'" in nowhere.note and "OBERBAYERN" not in nowhere.note and "BY" in nowhere.note
    # A country with one list for all has nothing to say about a region.
    assert _calendar(country="JP", subdiv="Osaka").note == "" and _calendar(country="SA", subdiv="Riyadh").note == ""
    assert plan.rules_with_defaults({"holiday_subdiv": " Bayern "})["holiday_subdiv"] == "Bayern"


def test_schedule_keeps_weeks_within_capacity_and_spreads_days() -> None:
    cal = _calendar()
    start = date(2026, 11, 2)
    template = [plan.sequence.Step(0, "phone", "call", False), plan.sequence.Step(5, "phone", "call", False)]
    lanes = [plan.sequence.Lane(template, None, start) for _ in range(6)]
    dates = plan.schedule(lanes, cal, start, {"phone": 0.5}, 1.5, 4)
    firsts = [d[0] for d in dates]
    assert firsts[:3] == [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)]  # one a day, not all Monday
    weeks: dict[int, float] = {}
    for d in dates:
        for day in d:
            weeks[(day - start).days // 7] = weeks.get((day - start).days // 7, 0) + 0.5
    assert max(weeks.values()) <= 1.5
    assert all(cal.is_working(day) for d in dates for day in d)
    # A chosen week (the third) stays: its Monday, and the call five working days later.
    late = plan.schedule([plan.sequence.Lane(template, 2, start)], cal, start, {"phone": 0.5}, 1.5, 4)
    assert late[0][0] == date(2026, 11, 16) and late[0][1] == date(2026, 11, 23)
    held = plan.schedule([plan.sequence.Lane(template, None, date(2026, 11, 25))], cal, start, {"phone": 0.5}, 9, 4)
    assert held[0] == [date(2026, 11, 25), date(2026, 12, 3)]  # waits for its asks; skips Thu 26 Nov


def _offers(**valid_until: date) -> pd.DataFrame:
    rows = [
        ("EV", "Webinar", "event", None),
        ("CS-SW", "Story Software", "case_study", "Software"),
        ("TR", "Trial", "trial", None),
        ("DI", "Discount", "discount", None),
    ]
    df = pd.DataFrame(rows, columns=["offer_id", "name", "kind", "industry"])
    df["description"] = ""
    df["valid_until"] = df["offer_id"].map(valid_until)
    df["active"] = True
    return df


@pytest.mark.parametrize(
    ("account", "expected", "why"),
    [
        ({"industry": "Software", "open_deals": 1, "intent_score": 90}, "CS-SW", "same industry"),
        ({"industry": "Retail", "open_deals": 2, "intent_score": 90}, "DI", "deal is already open"),
        ({"industry": "Retail", "open_deals": 0, "intent_score": 70}, "TR", "high intent"),
        ({"industry": "Retail", "open_deals": 0, "intent_score": 10, "employee_growth": 0.3}, "TR", "fast growth"),
        ({"industry": "Retail", "open_deals": 0, "intent_score": 10}, "EV", "event or webinar"),
    ],
)
def test_suggest_offer_rules_in_order(account: dict, expected: str, why: str) -> None:
    offer_id, reason = plan.suggest_offer(account, _offers(), RULES, date(2026, 11, 2))
    assert offer_id == expected
    assert why in reason


def test_expired_discount_is_not_suggested() -> None:
    offers = _offers(DI=date(2026, 10, 31))
    offer_id, _ = plan.suggest_offer(
        {"industry": "Retail", "open_deals": 1, "intent_score": 0}, offers, RULES, date(2026, 11, 2)
    )
    assert offer_id == "EV"


def test_asks_are_due_before_the_touch_they_serve_and_never_in_the_past() -> None:
    partners = pd.DataFrame(
        [("P1", "Lakes", "[]", '["MI", "OH"]'), ("P2", "Health", '["Healthcare"]', "[]")],
        columns=["partner_id", "name", "industries", "states"],
    )
    cal = _calendar()
    first = date(2026, 11, 30)
    touches = [
        plan.asks.Touch(1, first, "email", "Intro"), plan.asks.Touch(2, date(2026, 12, 7), "email", "Follow-up"),
        plan.asks.Touch(3, date(2026, 12, 9), "phone", "Call"),
    ]  # fmt: skip
    acc = {"name": "Acme", "industry": "Retail", "state": "MI"}
    needs = plan.suggest_needs(acc, 1, partners, RULES, touches, True, cal, floor=date(2026, 11, 10))
    by_team = {n["team"]: n for n in needs}
    assert set(by_team) == {"Marketing", "Partners", "BDR/SDR"}
    assert by_team["Marketing"]["due"] == date(2026, 11, 16)  # 14 days before, a Monday
    assert "via Lakes (covers MI)" in by_team["Partners"]["ask"]
    assert by_team["Partners"]["serves_step"] == 3  # the first call a week after the first touch
    assert by_team["Partners"]["due"] == date(2026, 12, 8)
    assert by_team["BDR/SDR"]["due"] == date(2026, 11, 27)  # the working day before the first touch
    # A plan made on 25 Nov for a first touch on the 30th: nothing is due before the 25th.
    rushed = plan.suggest_needs(acc, 1, partners, RULES, touches, True, cal, floor=date(2026, 11, 25))
    assert {n["team"]: n["due"] for n in rushed}["Marketing"] == date(2026, 11, 25)
    assert all(date(2026, 11, 25) <= n["due"] < n["serves_date"] for n in rushed)
    warm = plan.suggest_needs({"name": "B", "industry": "Energy", "state": "TX"}, 2, partners, RULES, touches, False,
                              cal)  # fmt: skip
    assert warm == []
    rules = plan.rules_with_defaults({"sdr_warmup": "all", "abm_tiers": [1, 2]})
    assert {n["team"] for n in plan.suggest_needs(acc, 2, partners, rules, touches, False, cal)} == {
        "Marketing", "Partners", "BDR/SDR"
    }  # fmt: skip


def test_rules_are_validated() -> None:
    with pytest.raises(BadInput, match="sdr_warmup 'sometimes'"):
        plan.rules_with_defaults({"sdr_warmup": "sometimes"})
    with pytest.raises(BadInput, match="not valid JSON"):
        plan.rules_with_defaults("{oops")
    assert plan.rules_with_defaults('{"hours": {"email": 1}}')["hours"]["phone"] == 0.5


def _targets(evs: list[float], tiers: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(len(evs))],
            "expected_value": evs,
            "potential": [e * 2 for e in evs],
            "est_users": [10.0] * len(evs),
            "tier": tiers,
        }
    )


def test_kpis_warn_when_the_plan_cannot_reach_quota_and_gap_accounts_close_it() -> None:
    targets = _targets([100.0, 50.0], [1, 2])
    load = pd.DataFrame({"week": [1, 2], "hours": [3.0, 6.0], "capacity": [5.0, 5.0], "overloaded": [False, True]})
    k = plan.kpi_alignment(targets, load, {"quota": 300.0}, RULES, 2, 3000.0, "USD")
    assert k["coverage"] == pytest.approx(0.5)
    assert k["gap"] == pytest.approx(150.0)
    assert not k["reaches_quota"]
    assert k["tiers"] == {"tier 1": 1, "tier 2": 1, "tier 3": 0}
    assert k["meetings_per_week"] == pytest.approx(2 * 0.35 / 2)
    assert k["overloaded_weeks"] == [2]
    assert any("$150 short" in w for w in k["warnings"])
    assert any("Weeks 2" in w for w in k["warnings"])
    book = pd.DataFrame(
        {
            "account_id": ["A0", "A1", "B1", "B2", "B3", "B4"],
            "name": list("abcdef"),
            "industry": "x",
            "state": "CA",
            "tier": 3,
            "propensity": 0.1,
            "expected_value": [100.0, 50.0, 90.0, 40.0, 30.0, 5.0],
            "rationale": "r",
            "book_rank": [1, 2, 3, 4, 5, 6],  # the ranking in use: close_gap keeps its order
        }
    )
    gap = plan.close_gap(book, targets, k)
    assert list(gap["account_id"]) == ["B1", "B2", "B3"]  # 90 + 40 + 30 = 160 >= 150
    assert gap["cumulative"].iloc[-1] == pytest.approx(160.0)


def test_edits_add_remove_move() -> None:
    specs = (TargetSpec("A"), TargetSpec("B"), TargetSpec("C"))
    assert [s.account_id for s in plan.add_target(specs, "D", 2)] == ["A", "D", "B", "C"]
    assert [s.account_id for s in plan.remove_target(specs, "B")] == ["A", "C"]
    assert [s.account_id for s in plan.move_target(specs, "C", 1)] == ["C", "A", "B"]
    with pytest.raises(BadInput, match="A is already a target"):
        plan.add_target(specs, "A")
    with pytest.raises(BadInput, match="Z is not a target"):
        plan.remove_target(specs, "Z")


def _no_model(path: Path) -> None:
    """Empty the model tables, as in a store no propensity model has scored yet."""
    with store.write(path) as con:
        con.execute("DELETE FROM scores")
        con.execute("DELETE FROM models")


def test_draft_plan_from_the_ranking(small_store: Path) -> None:
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R001", today=TODAY)
        n_book = int(con.execute("SELECT count(*) FROM accounts WHERE owner_rep_id = 'R001'").fetchone()[0])
    assert not p.saved
    assert p.start == date(2026, 11, 2)  # the next working day after the demo's today, Sunday 2026-11-01
    assert len(p.targets) == 20
    t = p.targets
    assert np.allclose(t["potential"], t["est_users"] * t["price_per_user"])
    assert np.allclose(t["expected_value"], t["propensity"] * t["potential"], rtol=1e-3)
    assert t["rationale"].str.contains("propensity x").all()
    assert t["offer_id"].notna().all()
    assert p.kpis["expected_value"] == pytest.approx(t["expected_value"].sum())
    assert p.kpis["coverage"] == pytest.approx(t["expected_value"].sum() / p.rep["quota"])
    assert len(p.steps) == sum(len(plan.cadence(6, RULES, mix)) for mix in t["mix"])
    # Existing customers get the expansion play whatever their tier; the others their tier's channel mix.
    with store.read(small_store) as con:
        customers = {r[0] for r in con.execute("SELECT account_id FROM accounts WHERE is_customer").fetchall()}
    mine = [a in customers for a in t["account_id"]]
    assert any(mine) and not all(mine)
    assert list(t["mix"]) == [plan.sequence.mix_for(RULES, tier, c) for tier, c in zip(t["tier"], mine, strict=True)]
    assert t.loc[t["mix"] == "expansion", "rationale"].str.contains("An existing customer: an expansion play").all()
    bdr = set(p.needs.loc[p.needs["team"] == "BDR/SDR", "account_id"])
    assert not bdr & customers  # BDR/SDR prospect new logos: no warm-up of a customer
    first = p.steps[p.steps["account_id"].isin(customers)].sort_values("step_no").groupby("account_id").head(1)
    assert first["action"].str.startswith("Check-in email to the sponsor").all()
    assert set(p.needs["team"]) <= set(plan.TEAMS)
    assert len(p.book) == n_book - 20


def test_ranking_without_a_model_uses_the_one_fallback(small_store: Path) -> None:
    # No model: propensity is the 12-month win rate, the one fallback (planner.coverage.value).
    _no_model(small_store)
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R001", today=TODAY)
        basis = expected_value_basis(con, scope=OPERATOR)
    assert basis.source == "win_rate" and p.source.startswith("No model scores yet: expected value = potential x")
    t = p.targets
    assert t["expected_value"].is_monotonic_decreasing  # best first
    assert t["propensity"].tolist() == [basis.win_rate] * len(t)
    assert t["expected_value"].iloc[0] == pytest.approx(basis.win_rate * t["potential"].iloc[0])


def test_model_scores_are_used_when_present(small_store: Path) -> None:
    with store.read(small_store) as con:
        scores = scores_q.active_scores(con, scope=OPERATOR, rep_id="R001")
        p = plan.load(con, scope=OPERATOR, rep_id="R001", today=TODAY)
    assert len(scores) > 20
    assert p.source.startswith("Expected value = propensity from model v")
    best = scores.sort_values(["expected_value", "potential", "account_id"], ascending=[False, False, True]).head(20)
    assert list(p.targets["account_id"]) == list(best["account_id"])
    first = best.iloc[0]
    assert p.targets["propensity"].iloc[0] == pytest.approx(first["propensity"])
    why = plan.book.reason_text(first["reasons"])
    assert why and p.targets["rationale"].iloc[0].endswith(f"Why: {why}.")


def test_save_reload_and_edit(small_store: Path) -> None:
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R002", today=TODAY, weeks=4)
        specs = plan.move_target(p.specs(), p.targets["account_id"].iloc[3], 1)
        specs = plan.remove_target(specs, p.targets["account_id"].iloc[5])
        first = specs[0]
        specs = (first._replace(offer_id="OF-TRIAL", start_week=2, rationale="Met their CFO at a fair"), *specs[1:])
        edited = plan.compose(
            con,
            scope=OPERATOR,
            rep_id="R002",
            start=p.start,
            weeks=4,
            specs=specs,
            rules=plan.rules_json(p.rules),
            today=TODAY,
        )
    assert edited.targets["offer_id"].iloc[0] == "OF-TRIAL"
    assert edited.targets["offer_reason"].iloc[0] == "chosen by the rep"
    assert edited.targets["start_week"].iloc[0] == 3
    assert edited.targets["first_touch"].iloc[0] == p.start + timedelta(weeks=2)
    plan_id = plan.save(small_store, scope=OPERATOR, plan=edited)
    with store.read(small_store) as con:
        again = plan.load(con, scope=OPERATOR, rep_id="R002", today=TODAY, start=p.start)
        assert q.current_plan_id(con, scope=OPERATOR, rep_id="R002", create=False, today=TODAY) == plan_id
        stored_steps = q.plan_steps(con, scope=OPERATOR, plan_id=plan_id)
    assert again.plan_id == plan_id and again.weeks == 4
    assert list(again.targets["account_id"]) == list(edited.targets["account_id"])
    assert again.targets["rationale"].iloc[0] == "Met their CFO at a fair"
    assert again.targets["rationale"].iloc[1].startswith("#")  # the generated words were kept
    assert again.specs()[0] == TargetSpec(first.account_id, "OF-TRIAL", 2, "Met their CFO at a fair", "planned")
    assert len(stored_steps) == len(edited.steps)


def test_editor_table_round_trip() -> None:
    targets = pd.DataFrame(
        {
            "position": [1, 2], "name": ["a", "b"], "industry": "x", "tier": 1, "est_users": 1.0,
            "price_per_user": 1.0, "propensity": 0.1, "expected_value": 1.0, "offer": ["Trial", "Webinar"],
            "start_week": [1, 2], "rationale": ["gen a", "mine"], "status": "planned", "account_id": ["A", "B"],
            "suggested_offer_id": ["TR", "TR"], "offer_choice": [None, "EV"], "start_week_choice": [None, 1],
            "rationale_choice": [None, "mine"], "offer_id": ["TR", "EV"], "mix": "balanced",
            "first_touch": [date(2026, 1, 5), date(2026, 1, 13)],
        }
    )  # fmt: skip
    p = plan.Plan(None, {}, date(2026, 1, 5), 6, date(2026, 2, 15), date(2026, 1, 1), RULES, "", targets,
                  *[pd.DataFrame()] * 3, {}, *[pd.DataFrame()] * 4)  # fmt: skip
    table = plan.editor_table(p)
    offers = _offers()
    assert plan.specs_from_table(table, offers) == p.specs() == (
        TargetSpec("A"), TargetSpec("B", "EV", 1, "mine", "planned")
    )  # fmt: skip
    table.loc[0, "keep"] = False
    table.loc[1, "offer"] = "Trial"  # back to the suggestion
    table.loc[1, "start_week"] = 4
    assert plan.specs_from_table(table, offers) == (TargetSpec("B", None, 3, "mine", "planned"),)


def test_current_plan_id_contract_and_targets_page_rows(small_store: Path) -> None:
    with store.read(small_store) as con:
        assert q.current_plan_id(con, scope=OPERATOR, rep_id="R003", create=False) is None
    with store.write(small_store) as con:
        plan_id = q.current_plan_id(con, scope=OPERATOR, rep_id="R003")
        assert q.current_plan_id(con, scope=OPERATOR, rep_id="R003") == plan_id  # idempotent
        row = q.plan_row(con, scope=OPERATOR, plan_id=plan_id)
        assert row is not None and row["period_start"] == date(2026, 11, 2) and row["weeks"] == 6
        account = str(con.execute("SELECT account_id FROM accounts WHERE owner_rep_id = 'R003' LIMIT 1").fetchone()[0])
        # What the Targets page writes: no offer, needs or start week.
        con.execute(
            "INSERT INTO plan_targets (plan_id, account_id, position, rationale, status) "
            "VALUES (?, ?, 1, ?, 'planned')",
            [plan_id, account, "Picked on the Targets page"],
        )
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R003", today=TODAY)
    assert p.plan_id == plan_id
    assert list(p.targets["account_id"]) == [account]
    assert p.targets["rationale"].iloc[0] == "Picked on the Targets page"
    assert p.targets["offer_id"].iloc[0] is not None
    assert len(p.steps) == len(plan.cadence(6, RULES, p.targets["mix"].iloc[0]))


def test_plan_vs_actual_reads_activities_and_deals(small_store: Path) -> None:
    start = date(2026, 8, 3)
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R004", today=TODAY, start=start)
    a, b = p.targets["account_id"].iloc[0], p.targets["account_id"].iloc[1]
    with store.write(small_store) as con:
        con.execute("DELETE FROM activities WHERE account_id IN (?, ?)", [a, b])
        con.execute("DELETE FROM deals WHERE account_id IN (?, ?)", [a, b])
        con.execute(
            "INSERT INTO activities VALUES ('X1', ?, 'R004', 'call', ?, 'c', 'done', 't'), "
            "('X2', ?, 'R004', 'meeting', ?, 'm', 'held', 't'), ('X3', ?, 'R004', 'email', ?, 'e', 'done', 't')",
            [a, start + timedelta(days=3), a, start + timedelta(days=30), b, start + timedelta(days=2)],
        )
        con.execute(
            "INSERT INTO deals (deal_id, account_id, amount, created_date, is_closed, is_won) "
            "VALUES ('DX', ?, 5000, ?, FALSE, FALSE)",
            [a, start + timedelta(days=31)],
        )
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R004", today=TODAY, start=start)
    act = p.actual.set_index("account_id")
    assert act.loc[a, "touches"] == 2 and act.loc[a, "met"] and act.loc[a, "opportunity"]
    assert act.loc[a, "opportunity_amount"] == 5000
    assert act.loc[a, "nurture_decision"] == "continue: they replied"
    assert act.loc[a, "drop_decision"] == "keep: a meeting was held"
    assert act.loc[a, "status"] == "opportunity created"
    assert act.loc[b, "touched"] and not act.loc[b, "met"]
    assert act.loc[b, "nurture_decision"] == "move to automated nurture: no reply"
    assert act.loc[b, "drop_decision"] == "drop from targets: no meeting"
    assert act.loc[b, "status"] == "drop"
    summary = plan.actual_summary(p)
    assert summary["met"] >= 1 and summary["opportunities"] >= 1


def test_future_plan_is_pending(small_store: Path) -> None:
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R001", today=TODAY)
    assert (p.actual["status"] == "not started").all()
    assert p.actual["nurture_decision"].str.startswith("pending until").all()


def test_scope_and_unknown_reps(small_store: Path) -> None:
    with store.read(small_store) as con:
        with pytest.raises(Forbidden, match="R002"):
            plan.load(con, scope=Scope(role="rep", rep_id="R001"), rep_id="R002")
        with pytest.raises(NotFound, match="no rep 'R999'"):
            plan.load(con, scope=OPERATOR, rep_id="R999", today=TODAY)
        with pytest.raises(NotFound, match="no rep 'Nobody'"):
            plan.resolve_rep(con, "Nobody", scope=OPERATOR)
        email = con.execute("SELECT email FROM reps WHERE rep_id = 'R002'").fetchone()[0]
        assert plan.resolve_rep(con, email.upper(), scope=OPERATOR) == "R002"
    with pytest.raises(BadInput, match="start '2026-13-01' is not a date"):
        plan.parse_start("2026-13-01")


def test_seed_catalogue_fills_only_empty_tables(small_store: Path) -> None:
    with store.write(small_store) as con:
        con.execute("DELETE FROM offers")
        con.execute("DELETE FROM partners")
        assert plan.seed_catalogue(con) == {"offers": 9, "partners": 6}
        assert plan.seed_catalogue(con) == {"offers": 0, "partners": 0}
        discount = con.execute("SELECT valid_until FROM offers WHERE kind = 'discount'").fetchone()[0]
    assert discount == date(2026, 12, 31)  # end of the demo today's quarter


def test_catalogue_edits_are_validated(small_store: Path) -> None:
    offers = plan.default_offers(date(2026, 11, 1))
    bad = offers.copy()
    bad.loc[0, "kind"] = "raffle"
    with pytest.raises(BadInput, match="offer kind 'raffle'"):
        plan.save_catalogue(small_store, scope=OPERATOR, offers=bad)
    with pytest.raises(Forbidden, match="admin or leader role"):
        plan.save_catalogue(small_store, scope=Scope(role="rep", rep_id="R001"), offers=offers)
    partners = pd.DataFrame({"partner_id": ["P9"], "name": ["Nine"], "industries": ["Retail, Media"], "states": ["tx"]})
    plan.save_catalogue(small_store, scope=OPERATOR, offers=offers.head(2), partners=partners)
    with store.read(small_store) as con:
        assert len(q.offers(con)) == 2
        assert q.partners(con)["states"].iloc[0] == '["TX"]'
        assert q.partners(con)["industries"].iloc[0] == '["Retail", "Media"]'


def test_one_rep_lookup_refuses_an_ambiguous_name_in_plan_and_metrics(
    small_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with store.write(small_store) as con:
        name = con.execute("SELECT name FROM reps WHERE rep_id = 'R001'").fetchone()[0]
        con.execute("UPDATE reps SET name = ? WHERE rep_id = 'R002'", [f"  {name.upper()} "])
    with store.read(small_store) as con:
        with pytest.raises(BadInput, match=f"'{name}' matches 2 reps; use the email or rep id instead"):
            plan.resolve_rep(con, name, scope=OPERATOR)
        for other in ("r002", "R002", "nobody at all"):  # a rep is not told whether another rep exists
            with pytest.raises(Forbidden, match=f"own territory, not '{other}'"):
                plan.resolve_rep(con, other, scope=Scope(role="rep", rep_id="R001"))
        assert plan.resolve_rep(con, " r002 ", scope=OPERATOR) == "R002"
    for command in (["metrics"], ["plan", "--out", str(small_store.with_suffix(".md"))]):
        assert cli.main(["--db", str(small_store), *command, "--rep", name]) == 2
        assert f"error: '{name}' matches 2 reps" in capsys.readouterr().err


def test_a_plan_a_rep_would_send(small_store: Path) -> None:
    today = date(2026, 11, 20)  # a Friday; Thanksgiving (Thu 26 Nov) falls in the plan's first week
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R001", today=today)
        home = con.execute("SELECT home_state FROM reps WHERE rep_id = 'R001'").fetchone()[0]
    assert p.start == date(2026, 11, 23) and p.made_on == today
    assert p.calendar is not None and p.calendar.place == f"US-{home}"
    days = list(p.steps["step_date"])
    assert all(d.weekday() < 5 and d not in p.calendar.holidays for d in days)
    assert date(2026, 11, 26) not in days and min(days) >= p.start
    # Asks serve a touch, are due before it, and never before today.
    n = p.needs
    assert len(n) and (n["due"] >= today).all() and (n["due"] < n["serves_date"]).all()
    first_touch = p.steps[p.steps["step_no"] == 1].set_index("account_id")["step_date"]
    for a in n.itertuples(index=False):
        assert a.serves_date >= first_touch[a.account_id]
    # Staggered and varied: several first days, cadences by tier, every week within capacity.
    assert p.targets["first_touch"].nunique() >= 5
    assert p.targets.groupby("first_touch").size().max() <= 5
    assert p.targets["mix"].nunique() >= 2
    assert not p.load["overloaded"].any() and p.kpis["overloaded_weeks"] == []
    # Steps numbered 1..n per account in date order, decision points included.
    for _, steps in p.steps.groupby("account_id"):
        assert list(steps["step_no"]) == list(range(1, len(steps) + 1))
        assert list(steps["step_date"]) == sorted(steps["step_date"])
        assert steps["is_decision"].sum() == 2


def test_the_current_plan_for_other_pages_starts_on_the_next_working_day(small_store: Path) -> None:
    rep = Scope(role="rep", rep_id="R003", user="r3")
    with store.write(small_store) as con:
        plan_id = plan.current_plan_id(con, scope=rep, rep_id="R003", today=date(2026, 11, 25))
        assert plan.current_plan_id(con, scope=rep, rep_id="R003", today=date(2026, 11, 25)) == plan_id
        row = q.plan_row(con, scope=OPERATOR, plan_id=plan_id)
        assert row is not None
        with pytest.raises(Forbidden, match="R004"):
            plan.current_plan_id(con, scope=rep, rep_id="R004")
    with store.read(small_store) as con:
        cal = plan.rep_calendar(con, scope=rep, rep_id="R003", rules=RULES, start=date(2026, 11, 25))
        assert plan.default_start(con, scope=rep, rep_id="R003", today=date(2026, 11, 25)) == row["period_start"]
        assert plan.default_start(con, scope=rep, rep_id="R003", today=date(2027, 6, 8)) == date(2027, 6, 9)
    # Thanksgiving is skipped; the Friday after it too where the rep's state keeps it.
    assert row["period_start"] in (date(2026, 11, 27), date(2026, 11, 30))
    assert row["period_start"] == plan.next_working_day_after(cal, date(2026, 11, 25))
    assert (date(2026, 11, 27) in cal.holidays) == (row["period_start"] == date(2026, 11, 30))


def test_capacity_comes_from_the_one_workload_model(small_store: Path) -> None:
    assert plan.weekly_capacity({"capacity_hours": None}, RULES, 1380.0) == pytest.approx(1380 / 46 * 0.5)
    assert plan.weekly_capacity({"capacity_hours": 920.0}, RULES, 1380.0) == pytest.approx(920 / 46 * 0.5)
    with store.write(small_store) as con:
        con.execute("UPDATE reps SET capacity_hours = NULL WHERE rep_id = 'R001'")
    save_workload(small_store, scope=OPERATOR, values={"default_capacity_hours": 460.0})
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R001", today=TODAY)
    assert p.kpis["capacity_per_week"] == pytest.approx(460 / 46 * 0.5)
    assert (p.load["capacity"] == 5.0).all()


def test_public_holidays_are_those_where_the_rep_lives_not_where_most_accounts_are(small_store: Path) -> None:
    """A rep living in Berlin whose book is American: German holidays (3 October), not US ones (Thanksgiving).
    Rules naming a country still win; a rep without a home keeps their accounts' country."""
    with store.write(small_store) as con:
        con.execute("UPDATE reps SET home_lat = 52.52, home_lon = 13.40, home_state = NULL WHERE rep_id = 'R003'")
    with store.read(small_store) as con:
        cal = plan.rep_calendar(con, scope=OPERATOR, rep_id="R003", rules=RULES, start=date(2026, 9, 1))
        us = plan.rep_calendar(con, scope=OPERATOR, rep_id="R001", rules=RULES, start=date(2026, 9, 1))
        told = plan.rep_calendar(
            con, scope=OPERATOR, rep_id="R003", rules={**RULES, "holiday_country": "US"}, start=date(2026, 9, 1)
        )
    assert date(2026, 10, 3) in cal.holidays and date(2026, 11, 26) not in cal.holidays
    assert date(2026, 11, 26) in us.holidays and date(2026, 10, 3) not in us.holidays
    assert date(2026, 11, 26) in told.holidays
    # A home in Boston with no state given: Massachusetts' Patriots' Day (19 April 2027), not the accounts' state's.
    with store.write(small_store) as con:
        con.execute("UPDATE reps SET home_lat = 42.36, home_lon = -71.06 WHERE rep_id = 'R003'")
    with store.read(small_store) as con:
        assert q.rep_place(con, scope=OPERATOR, rep_id="R003")["accounts_state"] != "MA"
        cal = plan.rep_calendar(con, scope=OPERATOR, rep_id="R003", rules=RULES, start=date(2026, 9, 1))
    assert date(2027, 4, 19) in cal.holidays
    with store.write(small_store) as con:
        con.execute("UPDATE reps SET home_lat = NULL, home_lon = NULL WHERE rep_id = 'R003'")
    with store.read(small_store) as con:
        cal = plan.rep_calendar(con, scope=OPERATOR, rep_id="R003", rules=RULES, start=date(2026, 9, 1))
    assert date(2026, 11, 26) in cal.holidays


def test_the_region_of_a_home_abroad_is_the_homes_not_the_accounts_most_common(small_store: Path) -> None:
    """A rep living in Munich whose German book is mostly in Nordrhein-Westfalen: Bavaria's holidays (Epiphany),
    told by where the home lies, not NRW's; a home in a region none of the accounts name gets the national holidays
    and says so once; a state written with the home wins ('Bayern', as exports write it)."""
    with store.write(small_store) as con:
        ids = [
            r[0]
            for r in con.execute(
                "SELECT account_id FROM accounts WHERE owner_rep_id = 'R003' ORDER BY account_id LIMIT 9"
            ).fetchall()
        ]
        places = [("Bayern", 48.14, 11.58), ("Bayern", 48.37, 10.90)] + [("Nordrhein-Westfalen", 50.94, 6.96)] * 7
        for aid, (state, lat, lon) in zip(ids, places, strict=True):
            con.execute(
                "UPDATE accounts SET country_code = 'DE', country = 'Germany', state = ?, lat = ?, lon = ? "
                "WHERE account_id = ?",
                [state, lat, lon, aid],
            )
        con.execute("UPDATE accounts SET owner_rep_id = 'R001' WHERE owner_rep_id = 'R003' AND country_code = 'US'")
        con.execute(
            "UPDATE reps SET home_lat = 48.1374, home_lon = 11.5755, home_state = NULL, home_city = 'München', "
            "home_inferred = false WHERE rep_id = 'R003'"
        )
    with store.read(small_store) as con:
        assert q.rep_place(con, scope=OPERATOR, rep_id="R003")["accounts_state"] == "Nordrhein-Westfalen"
        munich = plan.rep_calendar(con, scope=OPERATOR, rep_id="R003", rules=RULES, start=date(2026, 12, 7))
        p = plan.compose(con, scope=OPERATOR, rep_id="R003", start=date(2026, 12, 7), weeks=6, rules=RULES)
    assert munich.place == "DE-BY" and date(2027, 1, 6) in munich.holidays and munich.note == ""
    assert date(2027, 1, 6) not in set(p.steps["step_date"]) and "Epiphany" in plan.tables.calendar_text(p)
    # Porto Alegre in Rio Grande do Sul, with accounts in other states only: Brazil's national holidays, said once.
    with store.write(small_store) as con:
        con.execute(
            "UPDATE accounts SET country_code = 'BR', country = 'Brazil', state = 'SP', lat = -23.55, "
            "lon = -46.63 WHERE owner_rep_id = 'R003'"
        )
        con.execute(
            "UPDATE reps SET home_lat = -30.0328, home_lon = -51.2302, home_city = 'Porto Alegre' WHERE rep_id = 'R003'"
        )
    with store.read(small_store) as con:
        porto = plan.rep_calendar(con, scope=OPERATOR, rep_id="R003", rules=RULES, start=date(2026, 12, 7))
        p = plan.compose(con, scope=OPERATOR, rep_id="R003", start=date(2026, 12, 7), weeks=6, rules=RULES)
    assert porto.place == "BR" and "home in BR is not known" in porto.note
    assert sum("home in BR is not known" in n for n in p.notes) == 1
    assert "not known" not in plan.tables.calendar_text(p)
    md = exports.to_markdown(p)
    assert md.count("home in BR is not known") == 1
    # The state written with the home, as an export writes it.
    with store.write(small_store) as con:
        con.execute("UPDATE reps SET home_state = 'Rio Grande do Sul' WHERE rep_id = 'R003'")
    with store.read(small_store) as con:
        rs = plan.rep_calendar(con, scope=OPERATOR, rep_id="R003", rules=RULES, start=date(2026, 12, 7))
    assert rs.place == "BR-RS" and rs.note == ""


def test_the_working_week_is_the_reps_country_s_unless_the_rules_say(small_store: Path) -> None:
    """A rep living in Riyadh works Sunday to Thursday: the plan put touches on Fridays (the weekend there) and
    skipped Sundays. Working days given in the rules still win; without a country, Mon-Fri."""
    with store.write(small_store) as con:
        con.execute("UPDATE reps SET home_lat = 24.69, home_lon = 46.72, home_state = NULL WHERE rep_id = 'R003'")
    with store.read(small_store) as con:
        riyadh = plan.rep_calendar(con, scope=OPERATOR, rep_id="R003", rules=RULES, start=date(2026, 9, 1))
        told = plan.rep_calendar(con, scope=OPERATOR, rep_id="R003", start=date(2026, 9, 1),
                                 rules=plan.rules_with_defaults({"working_days": "Mon-Fri"}))  # fmt: skip
        us = plan.rep_calendar(con, scope=OPERATOR, rep_id="R001", rules=RULES, start=date(2026, 9, 1))
        p = plan.compose(con, scope=OPERATOR, rep_id="R003", start=date(2026, 9, 6), weeks=6, rules=RULES)
    assert riyadh.place == "SA" and riyadh.working_days == (0, 1, 2, 3, 6)
    assert plan.calendar.describe_days(riyadh.working_days) == "Sun-Thu"  # was 'Mon, Tue, Wed, Thu, Sun'
    assert [plan.calendar.describe_days(d) for d in ((0, 2, 4), (4, 5, 6, 0), range(7))] == [
        "Mon, Wed, Fri", "Fri-Mon", "Mon-Sun"]  # fmt: skip
    assert told.working_days == (0, 1, 2, 3, 4) and us.working_days == (0, 1, 2, 3, 4)
    assert plan.rules_with_defaults({})["working_days"] == []
    days = {d.weekday() for d in pd.to_datetime(p.steps["step_date"]).dt.date}
    assert 6 in days and not days & {4, 5}
    assert _calendar(None, "AE").working_days == (0, 1, 2, 3, 4) and _calendar(None, None).working_days == (
        0,
        1,
        2,
        3,
        4,
    )


def test_a_fit_score_ranking_is_labelled_as_such(small_store: Path) -> None:
    from planner import propensity

    with store.write(small_store) as con:
        con.execute("UPDATE deals SET is_won = is_closed")  # every deal won: no model can be trained
        propensity.train_and_score(con, scope=OPERATOR)
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R001", today=TODAY)
        scores = scores_q.active_scores(con, scope=OPERATOR, rep_id="R001")
    assert p.source.startswith("Ranked by fit score (no model: no lost deals), not a probability of buying")
    assert "model v" not in p.source
    t = p.targets
    assert t["rationale"].str.contains(r"fit score \d+/100 \(no model\)").all()
    assert not t["rationale"].str.contains("model propensity").any()
    assert list(t["account_id"]) == list(scores["account_id"].head(20))  # the order of the Targets page


def test_signals_count_one_similar_account_in_the_singular() -> None:
    from types import SimpleNamespace

    r = SimpleNamespace(intent_score=0, new_executive=False, employee_growth=0.0, similar_won=1, industry="Retail",
                        state="WA", open_deals=0)  # fmt: skip
    assert plan.book._signals(r) == "1 similar Retail account in WA won in 2 years"


def test_a_partner_covering_washington_state_is_not_asked_about_perth_western_australia() -> None:
    """Perth, WA, Australia got 'Introduction ... via Pacific Crest Solutions (covers WA)', a Washington-state
    partner: regions compare the country too; a country's region is written 'AU-WA'."""
    cal = _calendar()
    touches = [plan.asks.Touch(1, date(2026, 11, 30), "email", "Intro"),
               plan.asks.Touch(2, date(2026, 12, 9), "phone", "Call")]  # fmt: skip
    demo = plan.default_partners()

    def partner_asks(acc: dict, partners: pd.DataFrame) -> list[str]:
        return [n["ask"] for n in plan.suggest_needs(acc, 2, partners, RULES, touches, False, cal)
                if n["team"] == "Partners"]  # fmt: skip

    perth = {"name": "Perth Retail Pty", "industry": "Retail", "state": "WA", "country_code": "AU"}
    seattle = {"name": "Seattle Retail", "industry": "Retail", "state": "WA", "country_code": "US"}
    assert partner_asks(perth, demo) == []
    assert partner_asks(seattle, demo) == ["Introduction to Seattle Retail via Pacific Crest Solutions (covers WA)"]
    assert partner_asks({**seattle, "country_code": None}, demo) != []  # no country: a US state, as before
    west = pd.DataFrame(
        [("P-W", "Westside", "[]", '["AU-WA"]')], columns=["partner_id", "name", "industries", "states"]
    )
    assert partner_asks(perth, west) == ["Introduction to Perth Retail Pty via Westside (covers AU-WA)"]
    assert partner_asks(seattle, west) == []


def test_a_store_of_real_imports_shows_no_invented_customer_stories_or_partners(small_store: Path) -> None:
    """Every store was seeded with the demo's invented catalogue: a real company's plans cited 'Customer story:
    Northwind Analytics' and introductions via 'Pacific Crest Solutions'. A real store gets generic offer types and
    no partners, the plan says where to add the company's own, and the demo keeps its catalogue."""
    invented = set(plan.default_offers(date(2026, 11, 1))["name"]) | set(plan.default_partners()["name"])
    with store.read(small_store) as con:  # the demo store: its catalogue as it was
        assert set(plan.catalogue(con)["name"]) | set(plan.partner_table(con)["name"]) == invented
    with store.write(small_store) as con:  # the demo's rows left behind in a store that now holds real imports
        store.set_meta(con, "is_demo", "0")
        assert len(q.offers(con)) == 9 and len(q.partners(con)) == 6
    with store.read(small_store) as con:
        offers, partners = plan.catalogue(con), plan.partner_table(con)
        assert set(offers["name"]) == {"Executive briefing", "Free trial", "Case study from your industry (add one)"}
        assert partners.empty
        p = plan.compose(con, scope=OPERATOR, rep_id="R003", start=date(2026, 9, 6), weeks=6, rules=RULES)
    shown = " ".join([*p.targets["offer"].astype(str), *p.steps["action"].astype(str), *p.needs["ask"].astype(str)])
    assert "Executive briefing" in shown and not any(name in shown for name in invented)
    assert any("add your company's own offers" in n for n in p.notes)
    assert any("No partners are set" in n and "Partners on the Territory plan page" in n for n in p.notes)
    with store.write(small_store) as con:
        con.execute("DELETE FROM offers")
        con.execute("DELETE FROM partners")
        assert plan.seed_catalogue(con) == {"offers": 3, "partners": 0}
        assert set(q.offers(con)["name"]) & invented == set()
