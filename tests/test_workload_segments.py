"""Touches a year per segment: customers and prospects in the one workload model, everywhere it is read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import cli, optimize, scenarios, store
from planner.coverage import report
from planner.coverage.imbalance import imbalance, reps_only
from planner.coverage.workload import Workload, load_workload, save_workload, workload_sources
from planner.errors import BadInput
from planner.optimize import Options
from planner.scope import OPERATOR
from planner.store import assumptions as q
from tests.helpers import page, page_text, shown

# 12 touches a customer, 3 a prospect, 1 h each, half in person at 50 km/h: 0.2 h (customer) / 0.05 h per km
SPLIT = Workload(touches_per_year_customer=12, touches_per_year_prospect=3, meeting_hours=1, travel_kmh=50,
                 travel_share=0.5, reachable_km=400, default_capacity_hours=1400)  # fmt: skip


@pytest.fixture(autouse=True)
def _no_deployment_touches(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOUCHES_PER_YEAR", "TOUCHES_PER_YEAR_CUSTOMER", "TOUCHES_PER_YEAR_PROSPECT"):
        monkeypatch.delenv(f"PLANNER_{name}", raising=False)


def test_a_customer_and_a_prospect_at_the_same_place_take_hours_in_the_ratio_of_their_touches() -> None:
    hours = SPLIT.hours([100.0, 100.0, np.nan, np.nan], [True, False, True, None])
    assert hours.tolist() == pytest.approx([12 * (1 + 2.0), 3 * (1 + 2.0), 12.0, 3.0])  # unknown segment: prospect
    assert hours[0] / hours[1] == pytest.approx(12 / 3)
    defaults = Workload.defaults()
    assert (defaults.touches_per_year_customer, defaults.touches_per_year_prospect) == (12, 4)
    assert defaults.touches_per_year is None  # no single figure any more
    assert "12 per customer, 4 per prospect" in defaults.describe()


def test_the_optimizer_counts_each_account_at_its_segments_touches() -> None:
    acc = pd.DataFrame(
        {"account_id": ["c", "p"], "name": ["C", "P"], "lat": [40.0, 40.0], "lon": [-99.0, -99.0],
         "owner_rep_id": ["A", "A"], "potential": [10.0, 10.0], "locked": [False, False],
         "is_customer": [True, False], "has_open_deal": [False, False], "state": ["KS", "KS"]}
    )  # fmt: skip
    reps = pd.DataFrame({"rep_id": ["A"], "name": ["Ann"], "home_lat": [40.0], "home_lon": [-100.0],
                         "capacity_hours": [1400.0], "active": [True]})  # fmt: skip
    work = optimize.metric_values(acc, reps, Options(workload=SPLIT))["workload"]
    km = 2 * 0.5 * 85.2 / 50  # about 85 km from home, half the touches in person
    assert work["c"] / work["p"] == pytest.approx(12 / 3)
    assert work["c"] == pytest.approx(12 * (1 + km), rel=1e-2)


def test_the_single_touches_setting_of_earlier_versions_still_means_both(
    small_store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the deployment's PLANNER_TOUCHES_PER_YEAR: both segments, unless a segment's own variable is set
    monkeypatch.setenv("PLANNER_TOUCHES_PER_YEAR", "7")
    assert (Workload.defaults().touches_per_year_customer, Workload.defaults().touches_per_year_prospect) == (7, 7)
    monkeypatch.setenv("PLANNER_TOUCHES_PER_YEAR_PROSPECT", "2")
    assert (Workload.defaults().touches_per_year_customer, Workload.defaults().touches_per_year_prospect) == (7, 2)
    monkeypatch.setenv("PLANNER_TOUCHES_PER_YEAR", "lots")
    with pytest.raises(BadInput, match="PLANNER_TOUCHES_PER_YEAR='lots' is not a number"):
        Workload.defaults()
    monkeypatch.setenv("PLANNER_TOUCHES_PER_YEAR", "7")
    # a store that saved the single value (an earlier version): it wins over the deployment, for both segments
    with store.write(small_store) as con:
        q.write_assumptions(con, {"touches_per_year": 10.0}, scope=OPERATOR)
    with store.read(small_store) as con:
        w = load_workload(con)
        sources = {r["name"]: r["source"] for r in workload_sources(con)}
    assert (w.touches_per_year_customer, w.touches_per_year_prospect) == (10, 10)
    assert sources["touches_per_year_prospect"] == "saved in the store (touches_per_year, both segments)"
    # saving one segment keeps the other at the single value it had, and leaves no single value behind
    save_workload(small_store, scope=OPERATOR, values={"touches_per_year_customer": 24.0}, actor="t")
    with store.read(small_store) as con:
        w = load_workload(con)
        assert "touches_per_year" not in q.read_assumptions(con)
        sources = {r["name"]: r["source"] for r in workload_sources(con)}
    assert (w.touches_per_year_customer, w.touches_per_year_prospect) == (24, 10)
    assert sources["touches_per_year_prospect"] == "saved in the store"
    # `planner settings --set touches_per_year=N` sets both; --reset falls back to the deployment's
    assert cli.main(["--db", str(small_store), "settings", "--set", "touches_per_year=9", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["workload"]
    assert (shown["touches_per_year_customer"], shown["touches_per_year_prospect"]) == (9, 9)
    assert cli.main(["--db", str(small_store), "settings", "--reset", "touches_per_year"]) == 0
    text = capsys.readouterr().out
    assert "environment (PLANNER_TOUCHES_PER_YEAR, both segments)" in text  # the customer figure: 7
    assert "environment (PLANNER_TOUCHES_PER_YEAR_PROSPECT)" in text
    with store.read(small_store) as con:
        w = load_workload(con)
    assert (w.touches_per_year_customer, w.touches_per_year_prospect) == (7, 2)
    # a scenario saved by an earlier version carries one touches_per_year
    old = {"touches_per_year": 5, "meeting_hours": 1, "travel_kmh": 60, "travel_share": 0.25, "reachable_km": 400,
           "default_capacity_hours": 1400}  # fmt: skip
    loaded = Options.from_dict({"workload": old}).workload
    assert loaded is not None and (loaded.touches_per_year_customer, loaded.touches_per_year_prospect) == (5, 5)
    with pytest.raises(BadInput, match="touches_per_year 0 is out of range"):
        save_workload(small_store, scope=OPERATOR, values={"touches_per_year": 0.0})


def _coverage_hours(con: object) -> pd.Series:
    table = reps_only(report.territory_metrics(con, scope=OPERATOR))  # type: ignore[arg-type]
    return table.set_index("rep_id")["book_hours"]


def test_coverage_and_rebalance_count_the_same_hours_per_segment(small_store: Path) -> None:
    save_workload(small_store, scope=OPERATOR, values=SPLIT.as_dict(), actor="t")
    with store.read(small_store) as con:
        coverage = _coverage_hours(con)
        opts = scenarios.with_workload(con, Options(metric="accounts"))
        assert opts.workload == SPLIT
        res = scenarios.run(con, opts, scope=OPERATOR)
        customers = store.scalar(con, "SELECT count(*) FROM accounts WHERE is_customer")
    assert 0 < customers < len(res.assignments)  # both segments are in the book
    # Rebalance's rep hours today (each rep's own travel) are Coverage's workload, rep by rep
    assert res.summary["rep_hours_max_mean_before"] == pytest.approx(imbalance(coverage).max_mean, rel=1e-9)
    rebalance = res.reps.set_index("rep_id")["hours_before"].reindex(coverage.index)
    assert rebalance.to_numpy() == pytest.approx(coverage.to_numpy(), rel=1e-9)
    # and the segment matters: at 12 touches for every account both figures are higher
    save_workload(small_store, scope=OPERATOR, values={"touches_per_year": 12.0}, actor="t")
    with store.read(small_store) as con:
        assert (_coverage_hours(con) > coverage).all()


def test_the_settings_and_coverage_pages_show_both_touches(app_store: Path) -> None:
    at = page("settings")
    customer, prospect = (
        at.number_input(key="set_touches_per_year_customer"),
        at.number_input(key="set_touches_per_year_prospect"),
    )
    assert (customer.value, prospect.value) == (12, 4)
    assert "Touches per customer a year" in customer.label and "Touches per prospect a year" in prospect.label
    prospect.set_value(2)
    at.button(key="set_save").click().run()
    assert not at.exception and "Saved: touches per prospect a year." in page_text(at)
    with store.read(app_store) as con:
        w = load_workload(con)
    assert (w.touches_per_year_customer, w.touches_per_year_prospect) == (12, 2)
    cov = page("coverage")
    assert not cov.exception
    assert "touches a year (12 per customer, 2 per prospect)" in shown(page_text(cov))
