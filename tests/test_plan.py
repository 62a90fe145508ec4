"""Territory plan: cadence, staggering, offers, needs, KPIs, edits, saving, plan vs actual."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import cli, plan, store
from planner.coverage.value import expected_value_basis
from planner.errors import BadInput, Forbidden, NotFound
from planner.plan import TargetSpec
from planner.scope import OPERATOR, Scope
from planner.store import plans as q
from planner.store import scores as scores_q

RULES = plan.rules_with_defaults(None)


def test_cadence_six_weeks_has_touches_on_every_channel_and_two_decision_points() -> None:
    steps = plan.cadence(6, RULES)
    assert len(steps) == 14
    assert {s[1] for s in steps} == {"email", "phone", "social", "event", "decision"}
    decisions = [(day, action) for day, _, action, is_dec in steps if is_dec]
    assert [d for d, _ in decisions] == [18, 39]  # Friday of week 3 and of week 6
    assert "no reply by week 3" in decisions[0][1] and "nurture" in decisions[0][1]
    assert "no meeting by week 6" in decisions[1][1] and "drop" in decisions[1][1]
    assert all(day % 7 < 5 for day, *_ in steps)  # weekdays only


def test_cadence_scales_and_rejects_bad_lengths() -> None:
    steps = plan.cadence(4, RULES)
    assert [day for day, _, _, d in steps if d] == [11, 25]  # weeks 2 and 4
    assert max(day for day, *_ in steps) < 28
    with pytest.raises(BadInput, match="weeks 0 is out of range"):
        plan.cadence(0, RULES)


def test_stagger_keeps_weeks_under_capacity() -> None:
    per_week = np.array([1.0, 1.0])
    assert plan.stagger([None, None, None], per_week, 1.5, 4) == [0, 2, 4]
    assert plan.stagger([1, None], per_week, 1.5, 3) == [1, 3]
    # No room within the stagger limit: the lowest peak (the first week) wins.
    assert plan.stagger([None, None], per_week, 1.5, 0) == [0, 0]


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


def test_needs_follow_the_rules_with_dates() -> None:
    partners = pd.DataFrame(
        [("P1", "Lakes", "[]", '["MI", "OH"]'), ("P2", "Health", '["Healthcare"]', "[]")],
        columns=["partner_id", "name", "industries", "states"],
    )
    first = date(2026, 11, 2)
    acc = {"name": "Acme", "industry": "Retail", "state": "MI"}
    needs = plan.suggest_needs(acc, 1, partners, RULES, first, cold=True)
    by_team = {n["team"]: n for n in needs}
    assert set(by_team) == {"Marketing", "Partners", "BDR/SDR"}
    assert by_team["Marketing"]["due"] == first - timedelta(days=14)
    assert "via Lakes (covers MI)" in by_team["Partners"]["ask"]
    assert by_team["Partners"]["due"] == first + timedelta(days=7)
    assert by_team["BDR/SDR"]["due"] == first - timedelta(days=7)
    warm = plan.suggest_needs({"name": "B", "industry": "Energy", "state": "TX"}, 2, partners, RULES, first, cold=False)
    assert warm == []
    rules = plan.rules_with_defaults({"sdr_warmup": "all", "abm_tiers": [1, 2]})
    assert {n["team"] for n in plan.suggest_needs(acc, 2, partners, rules, first, cold=False)} == {
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
    k = plan.kpi_alignment(targets, load, {"quota": 300.0}, RULES, 2, 3000.0)
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
        p = plan.load(con, scope=OPERATOR, rep_id="R001")
        n_book = int(con.execute("SELECT count(*) FROM accounts WHERE owner_rep_id = 'R001'").fetchone()[0])
    assert not p.saved
    assert p.start == date(2026, 11, 2)  # the Monday after the demo's today, 2026-11-01
    assert len(p.targets) == 20
    t = p.targets
    assert np.allclose(t["potential"], t["est_users"] * t["price_per_user"])
    assert np.allclose(t["expected_value"], t["propensity"] * t["potential"], rtol=1e-3)
    assert t["rationale"].str.contains("propensity x").all()
    assert t["offer_id"].notna().all()
    assert p.kpis["expected_value"] == pytest.approx(t["expected_value"].sum())
    assert p.kpis["coverage"] == pytest.approx(t["expected_value"].sum() / p.rep["quota"])
    assert len(p.steps) == 20 * 14
    assert set(p.needs["team"]) <= set(plan.TEAMS)
    assert len(p.book) == n_book - 20


def test_ranking_without_a_model_uses_the_one_fallback(small_store: Path) -> None:
    # No model: propensity is the 12-month win rate, the one fallback (planner.coverage.value).
    _no_model(small_store)
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R001")
        basis = expected_value_basis(con, scope=OPERATOR)
    assert basis.source == "win_rate" and p.source.startswith("No model scores yet: expected value = potential x")
    t = p.targets
    assert t["expected_value"].is_monotonic_decreasing  # best first
    assert t["propensity"].tolist() == [basis.win_rate] * len(t)
    assert t["expected_value"].iloc[0] == pytest.approx(basis.win_rate * t["potential"].iloc[0])


def test_model_scores_are_used_when_present(small_store: Path) -> None:
    with store.read(small_store) as con:
        scores = scores_q.active_scores(con, scope=OPERATOR, rep_id="R001")
        p = plan.load(con, scope=OPERATOR, rep_id="R001")
    assert len(scores) > 20
    assert p.source.startswith("propensity model")
    best = scores.sort_values(["rank", "account_id"]).head(20)
    assert list(p.targets["account_id"]) == list(best["account_id"])
    first = best.iloc[0]
    assert p.targets["propensity"].iloc[0] == pytest.approx(first["propensity"])
    why = plan.book.reason_text(first["reasons"])
    assert why and p.targets["rationale"].iloc[0].endswith(f"Why: {why}.")


def test_save_reload_and_edit(small_store: Path) -> None:
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R002", weeks=4)
        specs = plan.move_target(p.specs(), p.targets["account_id"].iloc[3], 1)
        specs = plan.remove_target(specs, p.targets["account_id"].iloc[5])
        first = specs[0]
        specs = (first._replace(offer_id="OF-TRIAL", start_week=2, rationale="Met their CFO at a fair"), *specs[1:])
        edited = plan.compose(
            con, scope=OPERATOR, rep_id="R002", start=p.start, weeks=4, specs=specs, rules=plan.rules_json(p.rules)
        )
    assert edited.targets["offer_id"].iloc[0] == "OF-TRIAL"
    assert edited.targets["offer_reason"].iloc[0] == "chosen by the rep"
    assert edited.targets["start_week"].iloc[0] == 3
    assert edited.targets["first_touch"].iloc[0] == p.start + timedelta(weeks=2)
    plan_id = plan.save(small_store, scope=OPERATOR, plan=edited)
    with store.read(small_store) as con:
        again = plan.load(con, scope=OPERATOR, rep_id="R002", start=p.start)
        assert q.current_plan_id(con, "R002", create=False) == plan_id
        stored_steps = q.plan_steps(con, plan_id)
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
            "rationale_choice": [None, "mine"], "offer_id": ["TR", "EV"],
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
        assert q.current_plan_id(con, "R003", create=False) is None
    with store.write(small_store) as con:
        plan_id = q.current_plan_id(con, "R003")
        assert q.current_plan_id(con, "R003") == plan_id  # idempotent
        row = q.plan_row(con, plan_id)
        assert row is not None and row["period_start"] == date(2026, 11, 2) and row["weeks"] == 6
        account = str(con.execute("SELECT account_id FROM accounts WHERE owner_rep_id = 'R003' LIMIT 1").fetchone()[0])
        # What the Targets page writes: no offer, needs or start week.
        con.execute(
            "INSERT INTO plan_targets (plan_id, account_id, position, rationale, status) "
            "VALUES (?, ?, 1, ?, 'planned')",
            [plan_id, account, "Picked on the Targets page"],
        )
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R003")
    assert p.plan_id == plan_id
    assert list(p.targets["account_id"]) == [account]
    assert p.targets["rationale"].iloc[0] == "Picked on the Targets page"
    assert p.targets["offer_id"].iloc[0] is not None
    assert len(p.steps) == 14


def test_plan_vs_actual_reads_activities_and_deals(small_store: Path) -> None:
    start = date(2026, 8, 3)
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R004", start=start)
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
        p = plan.load(con, scope=OPERATOR, rep_id="R004", start=start)
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
        p = plan.load(con, scope=OPERATOR, rep_id="R001")
    assert (p.actual["status"] == "not started").all()
    assert p.actual["nurture_decision"].str.startswith("pending until").all()


def test_scope_and_unknown_reps(small_store: Path) -> None:
    with store.read(small_store) as con:
        with pytest.raises(Forbidden, match="R002"):
            plan.load(con, scope=Scope(role="rep", rep_id="R001"), rep_id="R002")
        with pytest.raises(NotFound, match="no rep 'R999'"):
            plan.load(con, scope=OPERATOR, rep_id="R999")
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
        with pytest.raises(Forbidden, match="R002"):
            plan.resolve_rep(con, "r002", scope=Scope(role="rep", rep_id="R001"))
        assert plan.resolve_rep(con, " r002 ", scope=OPERATOR) == "R002"
    for command in (["metrics"], ["plan", "--out", str(small_store.with_suffix(".md"))]):
        assert cli.main(["--db", str(small_store), *command, "--rep", name]) == 2
        assert f"error: '{name}' matches 2 reps" in capsys.readouterr().err
