"""The balance report's words and figures: steps stopped by the time limit, the travel bound at this moved share,
travel reasons where the band cannot be the cause, and hours from a travel matrix in any unit."""

from __future__ import annotations

import itertools
import json
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import optimizer
from planner import cli, geo, optimize, scenarios, store
from planner.commands import balance
from planner.coverage.workload import Workload
from planner.optimize import Options, neighbourhood, solve
from planner.scope import OPERATOR
from tests.helpers import errors, page
from tests.test_optimize import REPS, book

THREE = "potential,accounts,workload"
SPEED = 80.0  # km/h: the workload's travel speed in the matrix test, not the default 60 (minutes = km there)


def test_a_repair_stopped_by_the_time_limit_says_so_and_blames_no_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three metrics where the neighbourhood repair's clock runs out at once (each reading 1,000 CPU seconds on):
    the bands stay unmet, and the reasons say that the step stopped at the solver's time limit and what to raise,
    not that the last accounts are too large for the room left (no account is)."""
    monkeypatch.setenv("PLANNER_TOUCHES_PER_YEAR", "12")
    monkeypatch.setattr(solve, "_repair_bands", lambda p, assign, **k: (assign, {"band_repair_steps": 0}))
    monkeypatch.setattr(solve, "_round_mip", lambda *a, **k: None)  # rounding by the LP's shares: fast, out of band
    clock = itertools.count(0.0, 1000.0)
    monkeypatch.setattr(neighbourhood, "time", types.SimpleNamespace(process_time=lambda: float(next(clock))))
    acc, reps = optimizer.balanced_world(300, 8, seed=1)
    opts = Options(metric=THREE, allow_customers=True, allow_open_deals=True, time_limit_s=10)
    s = optimize.rebalance(acc, reps, opts).summary
    assert not s["tolerance_met"] and s["band_hood_stopped_by_time"]
    assert s["lower_bound"] < 1.001  # no account too large: the bound is the mean
    said = " ".join(s["reasons"])
    assert "stopped at the solver's time limit (10 s per step" in said
    assert "raise 'Solver time'" in said and "--time-limit" in said
    assert "too large for the room left" not in said


def _road(acc: pd.DataFrame, reps: pd.DataFrame, unit: str) -> pd.DataFrame:
    """One road distance per (rep, account): 1.3x the great-circle km, given in `unit` (km, miles, or minutes at
    SPEED km/h)."""
    per_km = {"km": 1.0, "miles": 1 / 1.609344, "minutes": 60 / SPEED}[unit]
    active = reps[reps["active"].astype(bool)]
    lat, lon = acc["lat"].to_numpy(float), acc["lon"].to_numpy(float)
    rows = [
        pd.DataFrame({"from": r["email"], "to": acc["account_id"],
                      unit: 1.3 * geo.haversine_km(lat, lon, float(r["home_lat"]), float(r["home_lon"])) * per_km})
        for _, r in active.iterrows()
    ]  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def test_hours_capacity_and_reach_are_the_same_in_km_miles_and_minutes(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same road distances as km, as miles and as minutes (at the workload's speed, 80 km/h): the same assignment,
    and the same hours, capacity words and coverage; only the travel figures are in the file's unit."""
    with store.read(small_store) as con:
        acc, reps = scenarios.inputs(con, scope=OPERATOR)
    opts = optimize.Options(
        metric="accounts", tolerance=0.05, workload=Workload.defaults().with_overrides(travel_kmh=SPEED)
    )
    out = {}
    for unit in ("km", "miles", "minutes"):
        file = tmp_path / f"{unit}.csv"
        _road(acc, reps, unit).to_csv(file, index=False)
        out[unit] = optimize.rebalance(acc, reps, opts, distance=scenarios.travel_table(file, acc, reps, opts))
        if unit != "minutes":  # the CLI's figures, once in each distance unit
            args = ["--db", str(small_store), "balance", "--metric", "accounts", "--travel-matrix", str(file), "--json"]
            assert cli.main(args) == 0
            out[f"{unit} cli"] = json.loads(capsys.readouterr().out)
    km = out["km"]
    assert km.summary["travel_unit"] == "km" and out["miles"].summary["travel_unit"] == "miles"
    for unit in ("miles", "minutes"):
        res = out[unit]
        assert list(res.assignments["owner"]) == list(km.assignments["owner"])
        for key in ("workload_hours_after", "capacity_hours_needed_min", "coverage_after", "coverage_today"):
            assert res.summary[key] == pytest.approx(km.summary[key], rel=1e-9), key
        assert res.summary["over_capacity_reps"] == km.summary["over_capacity_reps"]
        np.testing.assert_allclose(res.reps["hours_after"], km.reps["hours_after"], rtol=1e-9)
        np.testing.assert_allclose(res.reps["hours_before"], km.reps["hours_before"], rtol=1e-9)
        assert [n for n in res.summary["notes"] if "hours" in n] == [n for n in km.summary["notes"] if "hours" in n]
    cli_km, cli_miles = out["km cli"], out["miles cli"]
    assert cli_miles["coverage_after"] == pytest.approx(cli_km["coverage_after"], rel=1e-9)
    assert [n for n in cli_miles["notes"] if "hours" in n] == [n for n in cli_km["notes"] if "hours" in n]
    assert out["miles"].summary["travel_km_after"] == pytest.approx(km.summary["travel_km_after"] / 1.609344)


def test_travel_that_rises_with_far_unowned_accounts_in_a_one_rep_book_is_not_blamed_on_the_band() -> None:
    """One rep (as a one-rep country's market) and three unowned accounts in Honolulu (beside the book's own
    unowned ones): they go to that rep, mean travel rises, and the reason names them (the farthest first), not the
    band: with one rep a wider tolerance changes nothing."""
    acc, reps = optimizer.balanced_world(60, 1, seed=1)
    far = acc.index[:3]
    acc.loc[far, ["lat", "lon", "owner_rep_id"]] = [21.31, -157.86, None]
    res = optimize.rebalance(acc, reps, Options(metric="potential", within="none"))
    s = res.summary
    assert s["travel_km_after"] > s["travel_km_today"]
    said = " ".join(s["reasons"])
    assert f"{int(acc['owner_rep_id'].isna().sum())} account(s) given an owner they had not" in said
    assert "the farthest " + str(acc.loc[far[0], "name"]) in said and " km to " in said
    assert "tolerance keeps travel lower" not in said and "within ±5% needs more travel" not in said


@pytest.mark.parametrize("forced_up", [True, False])
def test_the_travel_bound_says_its_moved_share_and_the_any_share_bound_where_solved(
    forced_up: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """`balance`'s travel line and JSON: the LP bound holds at this result's moved share (the line says which); where
    balance forces travel above today's the solver bounded travel with any share moved too, and both say that one
    (solved after the bound where balance does not force travel up)."""
    rows = [("a1", 0, 1, "A", 10), ("a2", 0, 2, "A", 10), ("a3", 0, 8, "A", 10), ("a4", 0, 9, "A", 10)]
    if forced_up:  # every account near A: balance must send two to B, far away
        rows = [("a1", 0, 0.5, "A", 10), ("a2", 0, 1, "A", 10), ("a3", 0, 1.5, "A", 10), ("a4", 0, 2, "A", 10)]
    res = optimize.rebalance(book(rows), REPS)
    s, f = res.summary, balance._figures(res)
    assert f["travel_km_lp_bound"] == pytest.approx(s["travel_km_lp_bound"])
    assert f["travel_lp_bound_moved_share"] == pytest.approx(s["moved_share"]) == pytest.approx(0.5)
    balance._print_text(f, res)
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("travel"))
    assert f"LP bound at this moved share (50.0%) {s['travel_km_lp_bound']:.0f} km" in line
    if forced_up:
        assert s["travel_km_today"] < f["travel_km_lp_bound_any_moved"] == pytest.approx(s["travel_km_best_in_band"])
        assert line.endswith(f", moving any share {s['travel_km_best_in_band']:.0f} km)")
    else:  # solved after the bound (tests/test_optimize_gaps.py): at most the LP's travel at this moved share
        assert f["travel_km_lp_bound_any_moved"] <= s["travel_km_lp_units"] + 1e-6
        assert line.endswith(f", moving any share {f['travel_km_lp_bound_any_moved']:.0f} km)")


def test_the_pages_max_mean_headline_compares_one_metric_with_itself(
    app_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several metrics: the headline is the worst metric after (named), its delta that metric's change, not the
    worst after less the worst today when today's worst is another metric (here potential at 3.00 today)."""
    real = scenarios.run

    def run(con: object, opts: optimize.Options, *args: object, **kw: object) -> optimize.Result:
        res = real(con, opts, *args, **kw)  # type: ignore[arg-type]
        pot, accounts = res.summary["metrics"]
        pot["max_mean_before"], pot["max_mean_after"] = 3.0, 1.01
        accounts["max_mean_before"], accounts["max_mean_after"] = 1.30, 1.04
        res.summary.update(max_mean_before=3.0, max_mean_after=1.04)
        return res

    monkeypatch.setattr(scenarios, "run", run)
    at = page("rebalance", timeout=300)
    at.multiselect(key="rb_metric").set_value(["potential", "accounts"]).run()
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    head = next(m for m in at.metric if m.label.startswith("Max / mean"))
    assert (head.label, head.value, head.delta) == ("Max / mean (accounts)", "1.04", "-0.26")
    bound = next(m for m in at.metric if m.label == "Travel bounds")
    assert "at this moved share (" in bound.help
