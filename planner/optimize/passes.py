"""The LP's passes after the first: least travel at that balance and moved budget (within today's travel when it
can), then the top-3 pass (several bands) or the compactness pass (one band), each within a slack of the least
travel."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.errors import BadInput
from planner.optimize.lp import _lagrange_bound, _optimal, _resolve, _timed_out, _top3
from planner.optimize.options import Options, time_limit_message
from planner.optimize.pricing import _LP
from planner.optimize.problem import _dist, _Problem, _Units
from planner.optimize.reach import _budget_least
from planner.optimize.report import _today_km

# Without a user budget, the travel pass may move this much more than the least the LP must move.
DEFAULT_MOVE_SLACK = 0.15
# The LP keeps travel this share below today's, so rounding and repair can stay under it.
TRAVEL_MARGIN = 0.005
# Several bands (#15 points 1 and 2): the travel pass minimises travel alone (compactness off), so its T0 is the LP's
# least travel at that balance and moved budget; a last pass then caps travel at (1 + TOP3_TRAVEL_SLACK) x B0, B0 the
# least travel on the true bands (never below T0), and minimises the accounts given a rep outside their 3 nearest
# (TOP3_WEIGHT mean travels to the nearest rep each), then compactness (travel squared) and travel; rounding prices
# far accounts the same way (rounding._near_cost). Before (compactness in the travel pass, slack 0), 5,000 x 40 with
# three metrics paid compactness in travel: the LP 1.196x the bound, 1.174x after rounding, 88.0% top-3. Measured
# under load (top-3 share, travel / bound after rounding and repair, 20,000 x 24 | 5,000 x 40 | skewed 3,000 x 30,
# three metrics): slack 0 (no far price in rounding) -> 83.9%, 1.014x | 77.9%, 1.042x; 0.07 -> 93.0%, 1.075x |
# 86.3%, 1.079x | 63.4%, 1.081x; 0.08 -> 5,000 x 40: 86.6%, 1.092x; 0.07 x T0 (not B0) -> 93.2%, 1.086x | 86.8%,
# 1.095x | 1.123x. The LP over all pairs on the true bands allows at most 87.0% | 88.3% | 88.9% top-3 at 1.05x |
# 1.08x | 1.10x the bound on 5,000 x 40 (accounts divisible): 88% at <= 1.10x is at the edge of what any
# assignment reaches there (bench/RESULTS.md, 2026-12-02 06:26).
TOP3_TRAVEL_SLACK = 0.07
# One band: the compactness pass's travel is at most (1 + COMPACT_TRAVEL_SLACK) x the least travel (_compact_pass);
# at 20,000 x 200 (free moves) 0.03 ends at 1.068x the bound after rounding, 94.3% top-3, p95 297 km; 0.05 at 1.103x,
# 92.2%, 316 km (rounding from the looser cap lands further off).
COMPACT_TRAVEL_SLACK = 0.03


@dataclass
class _TravelPass:
    budget: float  # moved share (LP units) the travel pass may use
    cap: float  # 1.45 x the least share that must move (less forced moves)
    km_limit: float | None  # today's total travel over all accounts (None when nobody owns anything today)
    travel_cap: float  # the travel cap on the movable accounts the LP met (inf when none)
    reachable: bool  # today's travel fits at this balance (or there is nothing to keep)
    best_km: float = float("nan")  # the LP's least travel on the movable accounts in the band, when not reachable
    needs_moved: float = float("nan")  # the moved share keeping today's travel needs, when above the default
    top3_cap: float = math.inf  # several bands: the top-3 pass's cap on the movable accounts' travel
    least: float = float("nan")  # B0: the LP's least travel on the movable accounts at that balance and budget
    seconds: float = 0.0
    stopped_by_time: bool = False  # a pass stopped at its time limit and the LP fell back to the pass before it

    def fell_back(self, lp: _LP) -> None:
        """A re-solve that did not end optimal, so the pass falls back: say so when the time limit stopped it."""
        self.stopped_by_time |= _timed_out(lp)


def _travel_floor(p: _Problem, u: _Units, lp: _LP, scale: dict[str, float], moved_ub: float) -> float:
    """A lower bound on the least travel on the movable accounts with balance as good and at most moved_ub moved:
    the Lagrangian at the LP's current duals with travel alone priced. Above today's travel, it says today's does
    not fit without the LP's own solve (100,000 x 200, three metrics: 67 s and three pricing rounds)."""
    t = lp.objective[0]
    moved_hi = moved_ub + 1e-9 if math.isfinite(moved_ub) else math.inf
    return _lagrange_bound(p, lp, scale, None if u.divisible else u.members, (t, 0.0, 0.0, 0.0, 0.0), moved_hi)


def _first_budget(
    p: _Problem, u: _Units, opts: Options, scale: dict[str, float], lp: _LP, sol: np.ndarray, cap: float
) -> tuple[float, float]:
    """The travel pass's moved budget (LP units, forced moves apart) and the seconds it took: the user's, else a
    little above the least the first pass moved, within `cap`. The first pass prices travel beside moves; where one
    account carries most of the metric the rest moves almost free, and it moved 4.5x the least for travel (1.1%
    against 0.25% of the metric, 45 of 61 accounts): past the cap, the least disruption at that balance is found."""
    min_lp_moved = float(lp.x() @ lp.moved)
    if opts.max_moved is not None:
        return max(min_lp_moved, scale.get("unit_moved", 0.0), opts.max_moved - scale["forced_moved"]), 0.0
    seconds = 0.0
    if min_lp_moved > cap + 1e-9:
        seconds = _resolve(p, u, lp, sol, "moved", float(sol[lp.z_col]), math.inf, scale)
        if _optimal(lp):
            min_lp_moved = min(min_lp_moved, float(lp.x() @ lp.moved))
    return max(min_lp_moved, min(min_lp_moved * (1 + DEFAULT_MOVE_SLACK), cap)) + 1e-9, seconds


def _pinned_travel(p: _Problem) -> float:
    pin_pos = np.flatnonzero(p.pinned)
    return float(_dist(p, pin_pos, p.owner[pin_pos]).sum())


def _travel_passes(
    p: _Problem, u: _Units, opts: Options, scale: dict[str, float], lp: _LP, z_slack: float = 0.0
) -> _TravelPass:
    """After the first pass (balance, then disruption): least travel with balance as good, within the
    moved budget (the user's, else a little above the least the LP had to move) and at or below today's
    travel. Without a user budget, keeping today's travel may move more: the least disruption that
    does it is found first. Several bands: the top-3 pass follows (z_slack: how far inside the true bands the
    LP's bands lie, in target shares). Leaves the LP solved with the chosen solution."""
    sol = np.asarray(lp.h.getSolution().col_value)
    lp_z = float(sol[lp.z_col])
    least = scale["min_moved"] if "min_moved" in scale else _budget_least(p, opts.tolerance, u)
    cap = 1.45 * least - scale["forced_moved"]
    budget, seconds = _first_budget(p, u, opts, scale, lp, sol, cap)
    seconds += _resolve(p, u, lp, sol, "travel", lp_z, budget, scale)
    if not _optimal(lp):
        if _timed_out(lp):
            raise BadInput(time_limit_message(opts))
        raise BadInput(f"the solver could not finish this scenario ({lp.status}); loosen the tolerance or the budget")
    # The cap on the movable accounts' travel is today's total less what the accounts that stay put
    # travel, with a little room for rounding.
    pinned_total = _pinned_travel(p)
    km_today = _today_km(p)
    km_limit = float(np.nanmean(km_today)) * scale["n"] if np.isfinite(km_today).any() else None
    out = _TravelPass(budget=budget, cap=cap, km_limit=km_limit, travel_cap=math.inf, reachable=True)
    lp_travel = float(lp.x() @ lp.travel)
    if km_limit is None or lp_travel + pinned_total <= km_limit * (1 - TRAVEL_MARGIN):
        seconds += _last_pass(p, u, lp, sol, lp_z, budget, scale, out, z_slack)
        out.seconds = seconds
        return out
    # The least travel any balanced assignment reaches (any share moved) says whether today's fits: a bound at
    # the travel pass's duals first, the LP only when that bound does not already say no.
    best_ub = math.inf if opts.max_moved is None else budget
    best = _travel_floor(p, u, lp, scale, best_ub)
    if best <= km_limit - pinned_total:
        seconds += _resolve(p, u, lp, sol, "travel_only", lp_z, best_ub, scale)
        best = float(lp.x() @ lp.travel) if _optimal(lp) else math.inf
        if not _optimal(lp):
            out.fell_back(lp)
    margin_cap = km_limit * (1 - TRAVEL_MARGIN) - pinned_total
    if best <= margin_cap:
        out.travel_cap = margin_cap
    elif best <= km_limit - pinned_total:
        out.travel_cap = km_limit - pinned_total
    else:
        out.reachable = False
        if opts.max_moved is None:  # within a user's budget the bound says less: the reason names the budget
            out.best_km = best + pinned_total
    if opts.max_moved is None:
        if out.reachable:
            # The least disruption that keeps travel under the cap at the same balance ...
            seconds += _resolve(p, u, lp, sol, "moved", lp_z, math.inf, scale, out.travel_cap)
            if _optimal(lp):
                need = float(lp.x() @ lp.moved)
                # ... then the least travel with that much (or the default budget) moved.
                if need > budget:
                    out.needs_moved = need + scale["forced_moved"]
                budget = max(budget, need * (1 + 1e-4)) + 1e-9
            else:
                out.fell_back(lp)
                out.travel_cap = math.inf
        else:
            # No balanced assignment keeps today's travel: get as close as the moved target allows.
            budget = max(budget, cap)
    seconds += _resolve(p, u, lp, sol, "travel", lp_z, budget, scale, out.travel_cap)
    if not _optimal(lp):
        out.fell_back(lp)
        out.travel_cap = math.inf
        seconds += _resolve(p, u, lp, sol, "travel", lp_z, budget, scale)
        if not _optimal(lp):  # rounding a point that is not a solution puts territories far out of band
            raise BadInput(time_limit_message(opts))
    seconds += _last_pass(p, u, lp, sol, lp_z, budget, scale, out, z_slack)
    out.budget = budget
    out.seconds = seconds
    return out


@dataclass
class _Pass:
    """What the last passes re-solve from: the first pass's solution, its band excess, the moved budget."""

    p: _Problem
    u: _Units
    lp: _LP
    sol: np.ndarray
    lp_z: float
    budget: float
    scale: dict[str, float]
    tp: _TravelPass

    def resolve(self, objective: str, z_ub: float, travel_ub: float) -> float:
        return _resolve(self.p, self.u, self.lp, self.sol, objective, z_ub, self.budget, self.scale, travel_ub)

    def travel(self) -> float:
        return float(self.lp.x() @ self.lp.travel)


def _last_pass(
    p: _Problem,
    u: _Units,
    lp: _LP,
    sol: np.ndarray,
    lp_z: float,
    budget: float,
    scale: dict[str, float],
    tp: _TravelPass,
    z_slack: float,
) -> float:
    """Several bands: the top-3 pass. One band with compactness on: the compactness pass caps travel at
    (1 + COMPACT_TRAVEL_SLACK) x the least travel at that balance and budget. None otherwise (0 s)."""
    c = _Pass(p, u, lp, sol, lp_z, budget, scale, tp)
    if _top3(p):
        return _top3_pass(c, z_slack)
    if p.compactness > 0:
        return _compact_pass(c)
    return 0.0


def _compact_pass(c: _Pass) -> float:
    """One band: the travel pass weighs travel squared (compactness) next to travel, which on many small
    territories bought far accounts back at any price in travel (20,000 x 200: 1.19x the least travel). Its
    travel is now capped at (1 + COMPACT_TRAVEL_SLACK) x B0, B0 the least travel at the same balance, budget and
    cap: two more warm-started solves; where the cap does not bind, the solution is the one it had. Leaves the
    LP solved and B0 in tp.least. Rounding is not held to the cap: with territories of a few dozen accounts, whole
    accounts need more travel than the LP, and a cap there cost balance (800 x 40: max/mean 1.052 -> 1.149)."""
    tp = c.tp
    seconds = c.resolve("travel_only", c.lp_z, tp.travel_cap)
    if not _optimal(c.lp):  # no B0: back to the travel pass as it was
        tp.fell_back(c.lp)
        return seconds + c.resolve("travel", c.lp_z, tp.travel_cap)
    tp.least = c.travel()
    c.lp.least_basis = c.lp.h.getBasis()
    seconds += c.resolve("travel", c.lp_z, min(tp.travel_cap, (1 + COMPACT_TRAVEL_SLACK) * tp.least))
    if not _optimal(c.lp):
        tp.fell_back(c.lp)
        seconds += c.resolve("travel", c.lp_z, tp.travel_cap)
    return seconds


def _top3_pass(c: _Pass, z_slack: float) -> float:
    """Several bands: the fewest accounts outside their 3 nearest reps, then compactness, with travel at most
    (1 + TOP3_TRAVEL_SLACK) x B0, B0 the least travel on the true bands (the LP's widened by z_slack) within the
    budget, or the least travel T0 the travel pass found when that is more (and at most tp.travel_cap), same
    balance and moved budget. Leaves the LP solved (back at least travel if this pass does not solve) and its cap
    in tp.top3_cap (inf then)."""
    tp = c.tp
    t0 = c.travel()
    seconds = c.resolve("travel_only", c.lp_z + z_slack, tp.travel_cap)
    if _optimal(c.lp):
        tp.least = c.travel()
        c.lp.least_basis = c.lp.h.getBasis()
    else:
        tp.fell_back(c.lp)
    # Without B0 (that solve stopped), no more travel than T0.
    cap = min(tp.travel_cap, max(t0, (1 + TOP3_TRAVEL_SLACK) * c.travel()) if _optimal(c.lp) else t0)
    seconds += c.resolve("top3", c.lp_z, cap)
    tp.top3_cap = cap
    if not _optimal(c.lp):
        tp.fell_back(c.lp)
        tp.top3_cap = math.inf
        seconds += c.resolve("travel", c.lp_z, tp.travel_cap)
    return seconds
