"""The optimizer's loose ends: hours in the LP's capacity rows count a matrix's travel, the scale's hours leave out
the travel of accounts with no place, the free-move travel bound is always shown, every re-solve a time limit stops
says so, the moved budget of a removed rep reads as what it is, and an overfull rep's note says on which metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from planner import optimize
from planner.commands import balance
from planner.optimize import Options, passes, solve
from planner.optimize.lp import _solve_lp
from planner.optimize.problem import _hours_km, _prepare, _units, _with_distance, placed_mask
from planner.optimize.solve import _scale
from tests.test_optimize import REPS, book, team
from tests.test_optimize_overfull import _whale_book
from tests.test_optimize_unplaced import _book, _team


def _minutes(book: pd.DataFrame, team: pd.DataFrame, per_rep: float = 90.0) -> pd.DataFrame:
    """Road minutes unlike the map: the same `per_rep` minutes from every rep to every account."""
    mat = pd.DataFrame(per_rep, index=book["account_id"], columns=team["rep_id"])
    mat.attrs["unit"] = "minutes"
    return mat


def test_the_lps_capacity_rows_count_a_matrixs_travel_as_the_report_does() -> None:
    """With a matrix in minutes, each pair's hours are its meetings plus the minutes as km at the workload's speed
    (before, great-circle km: Berlin's accounts cost Paris's rep 880 km a trip in the LP, 90 minutes in the report)."""
    book, team = _book(), _team()
    p = _with_distance(_prepare(book, team, Options(metric="potential")), _minutes(book, team))
    kmh = p.workload.travel_kmh
    pos, rep = np.arange(len(book)), np.full(len(book), 2)
    assert _hours_km(p, pos, rep) == pytest.approx(np.full(len(book), 90.0 / 60.0 * kmh))
    u = _units(p, Options(metric="potential"))
    lp = _solve_lp(p, u, Options(metric="potential"), _scale(p))
    assert lp.cap_enforced and len(lp.pair_u)
    meetings = np.asarray(u.members @ p.hours_fixed[u.movable])[lp.pair_u]
    per_km = np.asarray(u.members @ p.hours_per_km[u.movable])[lp.pair_u]
    assert lp.hours == pytest.approx(meetings + per_km * 1.5 * kmh)


def test_the_scale_counts_no_travel_for_an_account_with_no_place() -> None:
    """The least hours the book needs: meetings, plus travel to the nearest rep for accounts with a place only (an
    account with no place travels 0, as the report and Coverage count it; before, from the book's made-up mean
    point); the mean travel is over the placed accounts."""
    p = _prepare(_book(), _team(), Options(metric="potential"))
    placed = placed_mask(p)
    assert not placed.all()
    near = _hours_km(p, np.arange(len(placed)), np.zeros(len(placed), dtype=np.int64))
    for r in range(1, len(p.reps)):
        near = np.minimum(near, _hours_km(p, np.arange(len(placed)), np.full(len(placed), r)))
    s = _scale(p)
    assert s["hours_min"] == pytest.approx(float((p.hours_fixed + p.hours_per_km * np.where(placed, near, 0)).sum()))
    assert s["km"] == pytest.approx(float(near[placed].mean()))


FITS = [("a1", 0, 1, "A", 10), ("a2", 0, 2, "A", 10), ("a3", 0, 8, "A", 10), ("a4", 0, 9, "A", 10)]


def test_the_free_move_travel_bound_is_shown_where_todays_travel_fits() -> None:
    """balance --json's travel_km_lp_bound_any_moved: solved after the bound even where today's travel fits the band
    (before, null there with no reason): the least travel at this balance with any share moved, at most the LP's
    travel at this result's moved share and no less than every account at its nearest rep."""
    res = optimize.rebalance(book(FITS), REPS)
    s, f = res.summary, balance._figures(res)
    assert math.isnan(s["travel_km_best_in_band"])  # the travel pass did not need it: today's travel fits
    free = f["travel_km_lp_bound_any_moved"]
    assert free is not None and free == pytest.approx(s["travel_km_lp_bound_any_moved"])
    assert s["travel_km_nearest"] - 1e-6 <= free <= s["travel_km_lp_units"] + 1e-6


class _Stops:
    """Fakes a time limit on the re-solves of one objective in one module: _optimal False, _timed_out True after
    them (the real ones elsewhere)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: object, objective: str) -> None:
        self.last: str | None = None
        real_resolve, real_optimal, real_timed_out = module._resolve, module._optimal, module._timed_out  # type: ignore[attr-defined]

        def resolve(p, u, lp, base, obj, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
            self.last = obj
            return real_resolve(p, u, lp, base, obj, *a, **k)

        stopped = lambda: self.last == objective  # noqa: E731
        monkeypatch.setattr(module, "_resolve", resolve)
        monkeypatch.setattr(module, "_optimal", lambda lp: not stopped() and real_optimal(lp))
        monkeypatch.setattr(module, "_timed_out", lambda lp: stopped() or real_timed_out(lp))


@pytest.mark.parametrize(
    ("module", "flag", "what"),
    [(passes, "travel_pass_stopped_by_time", "compactness"), (solve, "bound_stopped_by_time", "bounding travel")],
)
def test_a_pass_or_bound_stopped_by_the_time_limit_says_so(
    monkeypatch: pytest.MonkeyPatch, module: object, flag: str, what: str
) -> None:
    """The compactness pass (and the top-3 pass, the same fall-back) and the bound's re-solves fell back silently
    when the time limit stopped them: now a flag, and the reasons name the step and what to raise."""
    _Stops(monkeypatch, module, "travel_only")
    s = optimize.rebalance(book(FITS), REPS, Options(time_limit_s=7)).summary
    assert s[flag] == 1.0
    said = " ".join(s["reasons"])
    assert what in said and "stopped at the solver's time limit (7 s per step" in said and "--time-limit" in said


def test_a_removed_reps_moved_budget_reads_as_what_it_is() -> None:
    """balance --remove-rep without --max-moved sets a budget of 0 beyond the leaver's accounts: the reasons said
    "over the moved budget of 0.0%" (Q F12). Now they say the leaver's accounts must move, that no other account
    holding any of the metric does, and what budget would balance the rest."""
    rows = [(f"a{i}", 0, 0.1 * i, "A", 10) for i in range(6)] + [("c1", 0, 9, "C", 10)]
    reps = team(("A", 0.0, 0.0), ("B", 0.0, 10.0), ("C", 0.0, 5.0))
    s = optimize.rebalance(book(rows), reps, Options(remove_reps=("C",), max_moved=0.0)).summary
    said = " ".join(s["reasons"])
    assert "the 1 account of the rep(s) who leave hold 14.3% of the metric here and must move" in said
    assert "0% of the metric beyond theirs" in said and "--max-moved" in said
    assert f"a moved budget (--max-moved) of at least {s['min_moved_share']:.1%} to balance the rest" in said
    assert "over the moved budget of 0.0%" not in said and "budget 0.0% is below" not in said


def test_an_overfull_rep_over_on_one_metric_says_it_is_kept_on_every_metric() -> None:
    """R0's 40 customers hold far more than a fair share of potential but 0.8x of accounts: it is set apart and keeps
    only them, on every metric, so on accounts it stays at 0.80x its target, outside the band; the note said only
    that it was overfull. Now it names the metric it is over on and where it ends on the other."""
    acc, reps = _whale_book(200, 4)  # a fair share is 50 accounts
    acc.loc[40:59, "is_customer"] = False
    s = optimize.rebalance(acc, reps, Options(metric="potential,accounts", tolerance=0.05)).summary
    assert s["set_apart_reps"] == ["R0"]
    note = next(x for x in s["notes"] if x.startswith("Overfull territories: "))
    assert "Rep R0 is over on potential only, yet kept to those accounts on every metric" in note
    assert "it ends at accounts 0.80x its target there" in note and "is not done" in note
