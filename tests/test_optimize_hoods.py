"""planner.optimize.neighbourhood: the band repair by neighbourhoods (small MIPs) after the move-and-swap repair."""

from __future__ import annotations

import gzip
import math
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import optimizer
from planner import optimize
from planner.optimize import Options
from planner.optimize.bands import _BandState, _in_bands, _pair_pen, _repair_bands
from planner.optimize.neighbourhood import _excess, _repair_hoods
from planner.optimize.problem import _loads, _nearest_reps, _prepare, _Problem
from planner.optimize.quality import band_figures

THREE = "potential,accounts,workload"


@pytest.fixture(autouse=True)
def _every_account_at_12_touches(monkeypatch: pytest.MonkeyPatch) -> None:
    """These instances were built when every account took 12 touches a year, customer or prospect; with fewer
    for prospects the book fits the default capacity and capacity binds, another case than the one tested."""
    monkeypatch.setenv("PLANNER_TOUCHES_PER_YEAR", "12")


def _nearest_assignment(p: _Problem, n: int) -> np.ndarray:
    _, near = _nearest_reps(p, p.xyz, 1, np.arange(n))
    return np.asarray(near[:, 0], dtype=np.int64)


def test_neighbourhoods_close_every_band_where_moves_and_swaps_stop() -> None:
    """Every account with its nearest rep puts territories up to 19% outside a band; the move-and-swap repair stops
    outside (no single move or swap lowers the excess); re-assigning neighbourhoods of 6 reps by small MIPs brings
    every territory inside all three bands."""
    acc, reps = optimizer.balanced_world(600, 12, seed=1)
    p = _prepare(acc, reps, Options(metric=THREE, allow_customers=True, allow_open_deals=True))
    start = _nearest_assignment(p, len(acc))
    swapped, _ = _repair_bands(p, start)
    assert not _in_bands(p, swapped)
    before = float(_excess(p, _loads(p, swapped)).max())
    assert before > 0.05
    fixed, info = _repair_hoods(p, swapped, 200.0)
    assert _in_bands(p, fixed)
    assert all(b["met"] for b in band_figures(p, fixed, [1.0, 1.0, 1.0]))
    assert info["band_hood_kept"] >= 1 and not info["band_hood_stopped_by_time"]
    assert set(np.unique(fixed)) <= set(range(len(reps)))


def test_neighbourhoods_never_move_a_pinned_account_nor_end_worse() -> None:
    """Customers and open deals stay with their owner by default: the neighbourhoods move only the others, and the
    worst excess never ends above where it started (a neighbourhood's answer is kept only when it is better)."""
    acc, reps = optimizer.balanced_world(600, 12, seed=1)
    p = _prepare(acc, reps, Options(metric=THREE))
    assert p.pinned.any()
    start = np.where(p.owner >= 0, p.owner, _nearest_assignment(p, len(acc)))
    before = _excess(p, _loads(p, start)).max()
    after, info = _repair_hoods(p, start, 200.0)
    assert (after[p.pinned] == start[p.pinned]).all()
    assert _excess(p, _loads(p, after)).max() <= before + 1e-12
    assert info["band_hood_steps"] >= 1 and not info["band_hood_stopped_by_time"]  # it ends when none can improve


def test_rebalance_calls_the_neighbourhoods_when_the_repair_leaves_a_band_missed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rebalance: with the move-and-swap repair doing nothing, the neighbourhoods alone land every band after
    rounding, and the summary says what they did."""
    from planner.optimize import solve

    monkeypatch.setattr(solve, "_repair_bands", lambda p, assign, **k: (assign, {}))
    acc, reps = optimizer.balanced_world(600, 12, seed=1)
    s = optimize.rebalance(acc, reps, Options(metric=THREE, allow_customers=True, allow_open_deals=True)).summary
    assert s["tolerance_met"]
    assert all(m["met"] for m in s["metrics"])
    assert "band_hood_steps" in s


def test_moves_and_swaps_close_what_the_neighbourhoods_leave_a_hair_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """A neighbourhood's MIP stops at its gap, which left four territories up to 0.019% of a target outside a band
    on 100,000 x 200 with three metrics: the move-and-swap repair runs once more after the neighbourhoods and closes
    them. Here the neighbourhoods run (the first repair does nothing) and then one account leaves the territory
    with the fewest accounts, which puts it just under its band."""
    from planner.optimize import solve

    real_bands, real_hoods = solve._repair_bands, solve._repair_hoods
    calls: list[int] = []

    def first_does_nothing(p: _Problem, assign: np.ndarray, **k: object) -> tuple[np.ndarray, dict]:
        calls.append(1)
        return (assign, {}) if len(calls) == 1 else real_bands(p, assign, **k)

    def hoods_then_one_out(p: _Problem, assign: np.ndarray, **k: object) -> tuple[np.ndarray, dict]:
        out, info = real_hoods(p, assign, **k)
        load = _loads(p, out)[:, 1]  # accounts
        r = int(np.argmin(load / p.target))
        i = int(np.flatnonzero((out == r) & ~p.pinned)[0])
        out = out.copy()
        out[i] = (r + 1) % len(p.reps)
        assert not _in_bands(p, out)
        return out, info

    monkeypatch.setattr(solve, "_repair_bands", first_does_nothing)
    monkeypatch.setattr(solve, "_repair_hoods", hoods_then_one_out)
    acc, reps = optimizer.balanced_world(600, 12, seed=1)
    s = optimize.rebalance(acc, reps, Options(metric=THREE, allow_customers=True, allow_open_deals=True)).summary
    assert len(calls) == 2
    assert s["band_repair_after_hoods_steps"] >= 1
    assert s["tolerance_met"] and all(m["met"] for m in s["metrics"])


def test_neighbourhoods_run_again_when_moves_and_swaps_cannot_close_what_they_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """solve._close_bands: 100,000 x 200 with three metrics on an AMD machine (another optimal vertex than on the
    machine the figures were measured on) ended with one territory 0.13% over its workload band: the
    neighbourhoods had tried every territory outside, and moves and swaps after them stopped in 19 steps. The
    neighbourhoods now run again from where the repair stopped, while a round lowers the worst excess. Here
    rounding leaves territories far out, the first round's neighbourhoods bring all in but one, just out, and the
    repair after them does nothing: the second round closes it."""
    from planner.optimize import solve

    real_bands, real_hoods = solve._repair_bands, solve._repair_hoods
    repairs: list[int] = []
    hoods: list[int] = []

    def repair_twice_idle(p: _Problem, assign: np.ndarray, **k: object) -> tuple[np.ndarray, dict]:
        repairs.append(1)
        return (assign, {"band_repair_steps": 0}) if len(repairs) <= 2 else real_bands(p, assign, **k)

    def hoods_first_one_out(p: _Problem, assign: np.ndarray, **k: object) -> tuple[np.ndarray, dict]:
        hoods.append(1)
        out, info = real_hoods(p, assign, **k)
        if len(hoods) == 1:
            load = _loads(p, out)[:, 1]  # accounts
            r = int(np.argmin(load / p.target))
            out = out.copy()
            out[int(np.flatnonzero((out == r) & ~p.pinned)[0])] = (r + 1) % len(p.reps)
            assert not _in_bands(p, out)
        return out, info

    monkeypatch.setattr(solve, "_round_mip", lambda *a, **k: None)  # the LP's largest shares: far out of band
    monkeypatch.setattr(solve, "_repair_bands", repair_twice_idle)
    monkeypatch.setattr(solve, "_repair_hoods", hoods_first_one_out)
    acc, reps = optimizer.balanced_world(600, 12, seed=1)
    s = optimize.rebalance(acc, reps, Options(metric=THREE, allow_customers=True, allow_open_deals=True)).summary
    assert len(hoods) == 2 and s["band_hood_rounds"] == 2
    assert s["tolerance_met"] and all(m["met"] for m in s["metrics"])


def test_one_band_too_gets_neighbourhoods_when_its_repair_stops_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """One band: where rounding and the one-band repair leave a territory outside (20,000 x 200 with free moves
    ended at max/mean 1.066 from the compactness pass's capped LP), the neighbourhoods close it. Here rounding
    splits by the LP's shares and the repair does nothing, so they do all of it; within a user's moved budget they
    do not run (they do not count it)."""
    from planner.optimize import solve

    monkeypatch.setattr(solve, "_round_mip", lambda *a, **k: None)  # whole accounts by the LP's largest share
    monkeypatch.setattr(solve, "_repair", lambda p, u, lp, assign, *a, **k: assign)
    acc, reps = optimizer.balanced_world(600, 12, seed=1)
    s = optimize.rebalance(acc, reps, Options(allow_customers=True, allow_open_deals=True)).summary
    assert s["tolerance_met"] and s["band_hood_kept"] >= 1
    capped = optimize.rebalance(acc, reps, Options(allow_customers=True, allow_open_deals=True, max_moved=0.9)).summary
    assert "band_hood_steps" not in capped


def test_with_whole_areas_the_repairs_move_areas_not_accounts() -> None:
    """Move whole ZIP3s with several metrics: the move-and-swap repair and the neighbourhoods moved single accounts,
    which split areas between reps (7 ZIP3s on 3,000 accounts x 12 reps). On the per-area view each area is one
    item: every area stays with one rep, and the bands are repaired as far as whole areas allow."""
    from planner.optimize.contiguity import checked_units
    from planner.optimize.solve import _whole_units

    acc, reps = optimizer.balanced_world(1000, 6, seed=1)
    opts = Options(metric=THREE, unit="zip3", allow_customers=True, allow_open_deals=True)
    p = _prepare(acc, reps, opts)
    u, _ = checked_units(p, opts)
    assert not u.divisible and len(u.weight) < len(u.movable)
    # Whole areas, each with the nearest rep of one of its accounts: far outside the bands.
    near = _nearest_assignment(p, len(acc))
    start = p.owner.copy()
    start[u.movable] = near[u.movable][np.unique(u.of_account, return_index=True)[1]][u.of_account]

    def areas_whole(assign: np.ndarray) -> bool:
        return bool(pd.Series(assign[u.movable]).groupby(u.of_account).nunique().max() == 1)

    assert areas_whole(start)
    before = float(_excess(p, _loads(p, start)).max())
    split, _ = _repair_bands(p, start)
    assert not areas_whole(split)  # account by account, areas split
    swapped, _ = _whole_units(_repair_bands, p, u, start)
    hoods, info = _whole_units(lambda q, a: _repair_hoods(q, a, 200.0), p, u, swapped)
    assert areas_whole(swapped) and areas_whole(hoods)
    assert float(_excess(p, _loads(p, hoods)).max()) < before
    assert (hoods[p.pinned] == start[p.pinned]).all()


def test_no_neighbourhoods_when_pinned_accounts_alone_put_a_territory_over_its_band() -> None:
    """When one rep's customers alone hold 40% of the book, no assignment brings the others into their bands (too
    little is left to share): the neighbourhoods do not run (on 20,000 x 200 with customers staying they chased
    that and doubled travel) and the assignment comes back as it was."""
    from planner.optimize.neighbourhood import _pinned_over

    acc, reps = optimizer.balanced_world(600, 12, seed=1)
    big = acc.index[:240]
    acc.loc[big, "owner_rep_id"] = reps["rep_id"].iloc[0]
    acc.loc[big, "is_customer"] = True
    p = _prepare(acc, reps, Options(metric=THREE))
    assert _pinned_over(p) > 0.5
    start = np.where(p.owner >= 0, p.owner, _nearest_assignment(p, len(acc)))
    after, info = _repair_hoods(p, start, 200.0)
    assert (after == start).all()
    assert info["band_hood_skipped_pinned_over"] == 1.0 and info["band_hood_steps"] == 0


HANG_SCRIPT = """
import gzip, sys, time
import highspy
from planner.optimize import neighbourhood as nb
from planner.optimize.lp import new_solver
mps, start, with_options = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
h = new_solver()
h.readModel(mps)
options = [("random_seed", 0), ("threads", 1), ("mip_max_nodes", nb.MIP_NODES), ("mip_rel_gap", nb.MIP_GAP),
           ("time_limit", nb.MIP_TIME_LIMIT_S)] + (list(nb.MIP_OPTIONS) if with_options else [])
for key, value in options:
    h.setOptionValue(key, value)
ones = {int(i) for i in open(start).read().split()}
sol = highspy.HighsSolution()
sol.col_value = [1.0 if i in ones else 0.0 for i in range(h.getNumCol())]
sol.value_valid = True
h.setSolution(sol)
h.run()
info = h.getInfo()
print(h.modelStatusToString(h.getModelStatus()), info.primal_solution_status, info.objective_function_value)
"""


def test_a_neighbourhood_mip_that_hung_highs_ends_within_its_time_limit(tmp_path: Path) -> None:
    """The 25th neighbourhood of 20,000 x 200 with three metrics (its MIP and start, tests/fixtures): HiGHS 1.16
    nested RENS and root-reduced-cost sub-MIPs five deep and the innermost presolve ignored the 10 s time limit
    (20+ CPU-minutes: the three-metric runs at 200 reps that 'did not finish'). With the neighbourhood's options it
    ends in seconds with a solution at least as good as its start. In a child process: a hang is a failure, not a
    stuck suite."""
    fixtures = Path(__file__).parent / "fixtures"
    mps = tmp_path / "hood.mps"
    mps.write_bytes(gzip.decompress((fixtures / "hood_mip_rens_hang.mps.gz").read_bytes()))
    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-c", HANG_SCRIPT, str(mps), str(fixtures / "hood_mip_rens_hang.start"), "1"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=root, check=True).stdout.split()
    status, primal, objective = " ".join(out[:-2]), int(out[-2]), float(out[-1])
    assert status in ("Optimal", "Solution limit reached", "Time limit reached") and primal == 2, out
    assert objective < 3.0  # the start costs more (its travel and the slack); the optimum is 2.34


def test_the_repairs_keep_to_a_moved_budget() -> None:
    """From today's owners (nothing moved), the move-and-swap repair, and the neighbourhoods, each with a budget of
    8% of the metric: each lowers the excess over the bands and neither moves more than 8% (without the budget both
    move more)."""
    from planner.optimize.problem import _moved_share as _moved

    acc, reps = optimizer.balanced_world(600, 12, seed=1)
    p = _prepare(acc, reps, Options(metric=THREE, allow_customers=True, allow_open_deals=True))
    start = np.where(p.owner >= 0, p.owner, _nearest_assignment(p, len(acc)))
    cap = _moved(p, start) + 0.08
    ex0 = float(_excess(p, _loads(p, start)).sum())
    for repair in (partial(_repair_bands, moved_cap=cap), partial(_repair_hoods, budget_s=60, moved_cap=cap)):
        out, _ = repair(p, start)
        assert _moved(p, out) <= cap + 1e-6 and float(_excess(p, _loads(p, out)).sum()) < ex0
        free, _ = partial(repair.func, **{k: v for k, v in repair.keywords.items() if k != "moved_cap"})(p, start)
        assert _moved(p, free) > cap  # the budget is what held it


@pytest.mark.parametrize("unit", ["account", "zip3", "h3"])
def test_several_metrics_keep_to_the_users_moved_budget(unit: str) -> None:
    """'Most that may move' with several metrics: the band repairs once moved 41-55% of the metric under a cap of
    10% (zip3 and h3 areas mix owners; each area's share under each owner counts). The cap holds, the balance gets
    as near as it allows, and the summary says the budget is what stopped it."""
    acc, reps = optimizer.balanced_world(1000, 6, seed=1)
    opts = Options(metric=THREE, unit=unit, allow_customers=True, allow_open_deals=True, max_moved=0.1)
    s = optimize.rebalance(acc, reps, opts).summary
    assert s["moved_share"] <= 0.1 + 1e-6 < s["min_moved_share"]  # the whole-area MIP's feasibility tolerance
    assert not s["tolerance_met"] and s["max_mean_after"] < s["max_mean_before"]
    assert any("moved budget 10.0% is below" in r for r in s["reasons"])


def test_the_swap_penalties_band_by_band_are_the_whole_array_ones_bit_for_bit() -> None:
    """bands._pair_pen: the excess over every band after each swap of an account of one side for one of the
    other, band by band in buffers, equals s.pen over the (A, B, bands) array bit for bit, on either side of the
    swap, for loads inside, above and below the bands: the repair makes the same choices (100,000 x 200 with three
    metrics: the same assignment after 2,493 steps, 60 CPU-s instead of 239)."""
    rng = np.random.default_rng(7)
    n_reps, n_bands = 5, 3
    t = rng.uniform(50, 150, (n_reps, 1))
    tols = np.array([0.05, 0.1, 0.05])
    lo, hi = t * (1 - tols), t * (1 + tols)
    load = t * rng.uniform(0.8, 1.2, (n_reps, n_bands))
    none = np.arange(0)
    s = _BandState(p=None, movable=none, w=np.zeros((0, n_bands)), cur=none,  # type: ignore[arg-type]
                   near=none[:, None], near_of=[], load=load, lo=lo, hi=hi, t=t, left=math.inf)  # fmt: skip
    wa, wb = rng.exponential(3.0, (37, n_bands)), rng.exponential(3.0, (23, n_bands))
    diff = wb[None, :, :] - wa[:, None, :]
    for rep in range(n_reps):
        assert np.array_equal(_pair_pen(s, rep, wa, wb, 1), s.pen(load[rep] + diff, rep))
        assert np.array_equal(_pair_pen(s, rep, wa, wb, -1), s.pen(load[rep] - diff, rep))
