"""The balance report's words and figures: steps stopped by the time limit, the travel bound at this moved share,
travel reasons where the band cannot be the cause, and hours from a travel matrix in any unit."""

from __future__ import annotations

import itertools
import types

import pytest

from bench import optimizer
from planner import optimize
from planner.optimize import Options, neighbourhood, solve

THREE = "potential,accounts,workload"


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
