"""Two admins (or an admin and the CLI) at once: a Settings save writes only the boxes the admin changed and
refuses one another admin changed meanwhile; a rep's plan keeps the company targets a leader set (X8, X6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from planner import plan, store
from planner.coverage.workload import load_workload, save_workload
from planner.errors import BadInput, Forbidden
from planner.scope import OPERATOR, Scope
from tests.helpers import AVA, app_as, errors, page, page_text

REP = Scope(role="rep", rep_id="R001", user=AVA)


def _workload(path: Path) -> tuple[float, float]:
    with store.read(path) as con:
        w = load_workload(con)
    return w.travel_kmh, w.reachable_km


def test_a_save_keeps_what_another_admin_changed_meanwhile(app_store: Path) -> None:
    at = page("settings")
    speed = at.number_input(key="set_travel_kmh").value
    save_workload(app_store, scope=OPERATOR, values={"travel_kmh": speed + 20})  # the CLI, while the page is open
    at.number_input(key="set_reachable_km").set_value(250.0)
    at.button(key="set_save").click().run()
    assert errors(at) == [] and "Saved: reachable distance (km)." in page_text(at)
    assert _workload(app_store) == (speed + 20, 250.0)
    assert at.number_input(key="set_travel_kmh").value == speed + 20  # the form now shows the store's values


def test_an_edited_value_another_admin_changed_meanwhile_is_refused(app_store: Path) -> None:
    at = page("settings")
    speed, reach = _workload(app_store)
    save_workload(app_store, scope=OPERATOR, values={"travel_kmh": 80.0})
    at.number_input(key="set_travel_kmh").set_value(50.0)
    at.number_input(key="set_reachable_km").set_value(250.0)
    at.button(key="set_save").click().run()
    assert errors(at) == ["travel speed (km/h) changed to 80 since you opened the page; reload to see it"]
    assert _workload(app_store) == (80.0, reach)  # nothing saved


def test_save_workload_refuses_a_value_changed_since_it_was_seen(small_store: Path) -> None:
    save_workload(small_store, scope=OPERATOR, values={"travel_kmh": 80.0})
    with pytest.raises(BadInput, match="travel speed .* changed to 80 since"):
        save_workload(small_store, scope=OPERATOR, values={"travel_kmh": 50.0, "reachable_km": 250.0},
                      seen={"travel_kmh": 40.0, "reachable_km": 400.0})  # fmt: skip
    assert _workload(small_store)[0] == 80.0
    save_workload(small_store, scope=OPERATOR, values={"travel_kmh": 80.0}, seen={"travel_kmh": 40.0})  # the same


def _rules(p: plan.Plan, **targets: float) -> plan.Plan:
    return replace(p, rules={**p.rules, **targets})


def test_a_rep_may_not_change_the_company_targets(small_store: Path) -> None:
    today = date.today()
    with store.read(small_store) as con:
        mine = plan.load(con, scope=REP, rep_id="R001", today=today)
    with pytest.raises(Forbidden, match=r"company targets \(coverage target 1 -> 0; meetings per week target 1 -> 0\)"):
        plan.save(small_store, scope=REP, plan=_rules(mine, coverage_target=0.0, meetings_per_week_target=0.0))
    with store.read(small_store) as con:
        assert plan.saved_plans(con, scope=REP, rep_id="R001").empty  # nothing stored
    # A leader's targets on the plan are the rep's to keep, not to change.
    plan.save(small_store, scope=OPERATOR, plan=_rules(mine, coverage_target=2.0))
    with store.read(small_store) as con:
        mine = plan.load(con, scope=REP, rep_id="R001", today=today)
    assert mine.rules["coverage_target"] == 2.0
    plan.save(small_store, scope=REP, plan=mine)
    with pytest.raises(Forbidden, match="coverage target 2 -> 1"):
        plan.save(small_store, scope=REP, plan=_rules(mine, coverage_target=1.0))


def test_the_plan_page_shows_a_rep_the_company_targets_read_only(app_store: Path) -> None:
    at = app_as(AVA, page="plan")
    assert errors(at) == []
    for name in ("coverage_target", "meetings_per_week_target"):
        assert at.number_input(key=f"plan_rule_{name}").disabled
    assert not at.number_input(key="plan_rule_n_targets").disabled
    at.button(key="plan_save").click().run()  # the rep's own plan still saves, with the targets as they were
    assert errors(at) == []
    with store.read(app_store) as con:
        assert not plan.saved_plans(con, scope=REP, rep_id="R001").empty
