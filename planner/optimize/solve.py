"""rebalance(): prepare, solve the LP over all pairs (priced), round the few fractional accounts, report."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import highspy
import numpy as np
import pandas as pd

from planner.errors import BadInput
from planner.optimize import markets, overfull
from planner.optimize.bands import _in_bands, _repair_bands, _top3_polish
from planner.optimize.contiguity import Graph, checked_units, contiguous
from planner.optimize.geometry import _bincount, _nearest
from planner.optimize.lp import (
    _LP,
    HIGHS_VERSION,
    _from_least_basis,
    _integral_units,
    _lagrange_bound,
    _optimal,
    _resolve,
    _solve_lp,
    _timed_out,
)
from planner.optimize.neighbourhood import BUDGET_SHARE, _excess, _repair_hoods
from planner.optimize.options import Options, Progress, Result, noop, time_limit_message
from planner.optimize.passes import _pinned_travel, _travel_passes, _TravelPass
from planner.optimize.problem import (
    _from_units,
    _hours_km,
    _least_unit_moved,
    _loads,
    _per_unit,
    _prepare,
    _Problem,
    _Units,
    _with_distance,
    as_km,
    lock_ids,
    placed_mask,
)
from planner.optimize.reach import _budget_least, _reachable
from planner.optimize.report import _hours, _report, handover
from planner.optimize.rounding import _band_penalty, _repair, _round, _round_mip

# Whole geographic units are assigned by a MIP when there are at most this many (unit, rep) pairs.
MIP_MAX_PAIRS = 5_000
# Several bands at once: the LP and the rounding aim this share of each tolerance inside its band, so that
# whole accounts still land within every band (the repair then works against the true bands). Without it
# the LP leaves most territories on the edge of two bands at once and rounding cannot get back in.
BAND_MARGIN = 0.1
# The neighbourhoods and the move-and-swap repair after them, in turn, at most this many times (_close_bands).
HOOD_ROUNDS = 3


def _scale(p: _Problem) -> dict[str, float]:
    """What the objective's terms are measured against: accounts, the mean travel to the nearest rep, the
    least hours the book needs, and the share that must move because its owner leaves. An account with no place
    travels 0 (`_Problem.nowhere`): it counts its meetings only and is left out of the mean travel, as the report
    counts it; with a matrix, hours count its travel as km (`as_km`), as the LP's capacity rows do."""
    placed = placed_mask(p)
    if p.distance is None:
        near_dist = _nearest(p.xyz, p.homes, 1)[0][:, 0]
        near_km = near_dist
    else:
        near_dist = p.distance.min(axis=1)
        near_km = as_km(p, near_dist, p.distance_unit)
    mean = float(near_dist[placed].mean()) if placed.any() else 0.0
    return {
        "n": float(len(p.acc)),
        "km": max(mean, 1e-6 if p.distance is not None else 1.0),
        "hours_min": float((p.hours_fixed + p.hours_per_km * np.where(placed, near_km, 0.0)).sum()),
        "forced_moved": float(p.b[p.owner == -2].sum()),
    }


def _whole(
    p: _Problem,
    u: _Units,
    opts: Options,
    lp: _LP,
    scale: dict[str, float],
    tp: _TravelPass,
    lp_z: float,
    progress: Progress,
    true_bands: _Problem,
    graph: Graph | None = None,
) -> tuple[np.ndarray, dict[str, Any], float]:
    """From the LP to whole accounts or units: a MIP over whole units when small, else fix-and-resolve
    rounding; then the repair of the bands (one metric) or of every band (against `true_bands`: `p` may aim
    inside them), and contiguity when asked.
    Returns the assignment, what rounding and contiguity report, and the MIP's seconds."""
    t_mip = 0.0
    info: dict[str, Any] = {}
    if not u.divisible and lp.n_pairs <= MIP_MAX_PAIRS:
        progress(0.55, "Assigning whole units (MIP)")
        mip_budget = math.inf if opts.max_moved is None else tp.budget
        t_mip = _integral_units(lp, opts, scale, len(p.reps), mip_budget, tp.travel_cap)
        assign = _round(p, u, lp)
    elif u.divisible:
        progress(0.6, "Rounding the few fractional accounts (fix and resolve)")
        cap = min(tp.travel_cap, tp.top3_cap)
        rounded = _round_mip(p, u, lp, scale, tp.budget, lp_z, cap, price_moves=opts.max_moved is None)
        if rounded is None:
            assign = _round(p, u, lp)
        else:
            assign, round_info = rounded
            info.update(round_info)
    else:
        assign = _round(p, u, lp)
    user_budget = (
        None if opts.max_moved is None else max(scale.get("unit_moved", 0.0), opts.max_moved - scale["forced_moved"])
    )
    if p.bm.shape[1] > 1:
        assign, repair_info = _whole_units(partial(_repair_bands, moved_cap=user_budget), true_bands, u, assign)
        info.update(repair_info)
        if u.divisible:
            assign, info["top3_polish_moves"] = _top3_polish(true_bands, assign)
    else:
        assign = _repair(
            p, u, lp, assign, float(p.tols[0]), scale, user_budget, tp.km_limit,
            travel_moved_cap=max(tp.budget, tp.cap) if opts.max_moved is None else None,
        )  # fmt: skip
    # Neighbourhoods (small MIPs) where single moves and swaps stopped outside a band, within the user's moved budget
    # (several bands; one band's repair keeps to it on its own).
    if not _in_bands(true_bands, assign) and (p.bm.shape[1] > 1 or opts.max_moved is None):
        progress(0.65, "Re-assigning the territories still outside a band with their neighbours")
        assign, hood_info = _close_bands(true_bands, u, opts, assign, user_budget)
        info.update(hood_info)
    if opts.contiguous:
        progress(0.7, "Making every territory one connected region")
        assign, contiguity_info = contiguous(true_bands, u, opts, assign, graph, moved_cap=user_budget)
        info.update(contiguity_info)
    return assign, info, t_mip


def _close_bands(
    p: _Problem, u: _Units, opts: Options, assign: np.ndarray, user_budget: float | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """The neighbourhoods (small MIPs) on the territories still outside a band; with several bands, then the
    move-and-swap repair again, and both again while a round lowers the worst excess (HOOD_ROUNDS at most, the
    neighbourhoods' CPU budget shared between rounds). A neighbourhood's MIP stops at its gap with a territory a
    hair outside (100,000 x 200, three metrics: four up to 0.019% of a target), which single moves and swaps close;
    where they do not (the same world on another machine's arithmetic: one territory 0.13% over its workload band
    after 19 steps), the neighbourhoods start from a state they had not tried."""
    info: dict[str, Any] = {}
    spent = 0.0
    for k in range(HOOD_ROUNDS):
        before = _worst_excess(p, assign)
        budget_s = max(opts.time_limit_s - spent / BUDGET_SHARE, 0.0)
        hoods = partial(_repair_hoods, budget_s=budget_s, moved_cap=user_budget)
        assign, hood_info = _whole_units(hoods, p, u, assign)
        spent += hood_info["band_hood_seconds"]
        for key, value in hood_info.items():
            summed = key in ("band_hood_steps", "band_hood_kept", "band_hood_seconds", "band_hood_killed")
            info[key] = info.get(key, 0.0) + value if summed else value
        info["band_hood_rounds"] = k + 1
        if p.bm.shape[1] == 1 or _in_bands(p, assign):
            break
        assign, again = _whole_units(partial(_repair_bands, moved_cap=user_budget), p, u, assign)
        info["band_repair_after_hoods_steps"] = (
            info.get("band_repair_after_hoods_steps", 0) + again["band_repair_steps"]
        )
        if _in_bands(p, assign) or _worst_excess(p, assign) >= before - 1e-12:
            break
    return assign, info


def _worst_excess(p: _Problem, assign: np.ndarray) -> float:
    """The largest share of its target by which any territory lies outside any band."""
    return float(_excess(p, _loads(p, assign)).max(initial=0.0))


def _whole_units(
    repair: Callable[[_Problem, np.ndarray], tuple[np.ndarray, dict[str, Any]]],
    p: _Problem,
    u: _Units,
    assign: np.ndarray,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Run a repair that moves single accounts on whole areas when areas are the units (each area one item, its
    accounts kept together: before, several bands split 7 of 3,000 accounts' ZIP3s between reps)."""
    if u.divisible:
        return repair(p, assign)
    view, first = _per_unit(p, u)
    items, info = repair(view, assign[first])
    return _from_units(u, assign, items[: len(u.weight)]), info


@dataclass
class _Bound:
    """The travel bounds on the movable accounts (travel units summed over them; NaN when not solved)."""

    movable: float = math.nan  # Lagrangian bound at this result's balance and moved share
    lp_movable: float = math.nan  # the LP's own value there
    any_moved: float = math.nan  # the LP's least travel at this balance with any share moved
    seconds: float = 0.0
    stopped_by_time: bool = False  # a re-solve stopped at its time limit: a bound is missing


def _bound(
    p: _Problem, u: _Units, lp: _LP, sol: np.ndarray, assign: np.ndarray, scale: dict[str, float], z_slack: float,
    any_moved: bool = True,
) -> _Bound:  # fmt: skip
    """The bound: the least travel over all account x rep pairs (accounts divisible; whole areas divisible
    when areas are the units) with every band as
    good as reached and no more of the metric moved. A Lagrangian bound at the LP's duals, true whatever
    columns the LP holds; and the LP's own value there (NaN when the LP is not optimal). z_slack widens the LP's
    bands by what it aimed inside the true ones, so the bound holds for the true bands. `any_moved`: then the
    least travel at that balance with any share moved too, one more warm-started solve (the travel pass solved it
    already when today's travel did not fit the band): balance --json's travel_km_lp_bound_any_moved."""
    n_reps = len(p.reps)
    z_ach = 0.0
    for m in range(p.bm.shape[1]):
        load = _bincount(assign, weights=p.bm[:, m], minlength=n_reps)
        band = _band_penalty(load, p.target * (1 - p.tols[m]), p.target * (1 + p.tols[m])) / p.target
        z_ach = max(z_ach, float(np.max(band)))
    own = p.owner
    moved_lp_units = float(p.b[(own >= 0) & (assign != own)].sum())
    _from_least_basis(lp)
    cap_ub = _overflow(p, lp, assign)
    out = _Bound(seconds=_resolve(p, u, lp, sol, "travel_only", z_ach + z_slack, moved_lp_units, scale, cap_ub=cap_ub))
    if not _optimal(lp):
        out.stopped_by_time = _timed_out(lp)
        return out
    out.lp_movable = float(lp.x() @ lp.travel)
    tb = time.perf_counter()
    out.movable = _lagrange_bound(p, lp, scale, None if u.divisible else u.members)
    out.seconds += time.perf_counter() - tb
    if any_moved:
        out.seconds += _resolve(p, u, lp, sol, "travel_only", z_ach + z_slack, math.inf, scale, cap_ub=cap_ub)
        if _optimal(lp):
            out.any_moved = float(lp.x() @ lp.travel)
        else:
            out.stopped_by_time = _timed_out(lp)
    return out


def _overflow(p: _Problem, lp: _LP, assign: np.ndarray) -> np.ndarray:
    """Each rep's hours over capacity in `assign` (in the LP's capacity-row units): the bound admits as much,
    so the assignment it bounds is one of those it minimises over (the first pass's overflow could be less)."""
    if not lp.cap_enforced:
        return np.zeros(0)
    hours = _hours(p, assign, _hours_km(p, np.arange(len(assign)), assign))  # as the LP's capacity rows count
    return np.maximum(0.0, hours - p.reps["capacity_hours"].to_numpy(float)) / lp.hscale


def _aim(p: _Problem, reach: _Problem) -> _Problem:
    """The bands the LP and rounding aim at: several bands BAND_MARGIN inside each reachable one, but for a band an
    item outgrows, whose top that item and its territory's share of the rest fill (a margin there is excess the LP's
    one balance excess z takes, and with it every other band)."""
    if p.bm.shape[1] == 1:
        return reach
    return replace(reach, tols=reach.tols - np.where(reach.tols > p.tols + 1e-12, 0.0, p.tols * BAND_MARGIN))


def _travel_unit(distance: pd.DataFrame | None) -> str:
    return "km" if distance is None else str(distance.attrs.get("unit", "matrix"))


def rebalance(
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    options: Options | None = None,
    progress: Progress = noop,
    distance: pd.DataFrame | None = None,
) -> Result:
    """Assign every account to a rep under the options; deterministic for the same inputs. With options.within
    "country" (the default) a book whose accounts and reps span several countries is solved one market at a time
    (planner.optimize.markets); a book in one country, or within "none", is one problem (`_rebalance_one`)."""
    opts = options or Options()
    if opts.locks:  # an account's name works as well as its id (a book imported without CRM ids has only names)
        opts = replace(opts, locks=lock_ids(accounts, opts.locks, "lock"))
    if opts.successor is not None:  # a handover: the leavers' book to one rep, no solver (balance --successor)
        if not opts.remove_reps:
            raise BadInput("a successor takes over the accounts of reps who leave: remove a rep first")
        return handover(accounts, reps, opts, set(opts.remove_reps), opts.successor)
    book = markets.split(accounts, reps, opts)
    if book is None:
        return _rebalance_one(accounts, reps, opts, progress, distance)
    t0 = time.perf_counter()
    todo = markets.parts(book, accounts, reps, opts)
    solved = []
    for i, (code, _, acc, sub_reps, sub_opts) in enumerate(todo):
        name = markets.market_name(code)

        def step(fraction: float, message: str, i: int = i, name: str = name) -> None:
            progress((i + fraction) / len(todo), f"{name}: {message}")

        try:
            solved.append((code, _rebalance_one(acc, sub_reps, sub_opts, step, distance)))
        except BadInput as exc:
            raise BadInput(f"{name}: {exc}") from None
    progress(0.98, "Measuring the result over every market")
    return markets.merge(book, solved, opts, distance, time.perf_counter() - t0)


def _rebalance_one(accounts: pd.DataFrame, reps: pd.DataFrame, options: Options | None = None,
                   progress: Progress = noop, distance: pd.DataFrame | None = None,
                   set_apart: bool = True) -> Result:  # fmt: skip
    """Assign every account to a rep under the options, the book as one problem; deterministic for the same inputs.

    `accounts` needs account_id, lat, lon, owner_rep_id, potential, locked, is_customer, has_open_deal (and optionally
    name, state, county, postal_code, expected_value); `reps` needs rep_id, name, home_lat, home_lon, capacity_hours,
    active. `distance` (optional) is a travel matrix, rows account_id and a column per scenario rep_id, in any unit
    (km, miles, minutes): travel is then measured with it instead of great-circle km. `set_apart`: see overfull.py.
    """
    opts = options or Options()
    t0 = time.perf_counter()
    progress(0.05, "Preparing accounts and reps")
    p = _with_distance(_prepare(accounts, reps, opts), distance)
    if set_apart and len(apart := overfull.overfull_reps(p)):  # reps with more than a band that must stay
        return _rebalance_apart(p, apart, accounts, reps, opts, progress, distance, t0)
    u, graph = checked_units(p, opts)
    scale = {**_scale(p), "unit_moved": _least_unit_moved(p, u), "min_moved": _budget_least(p, opts.tolerance, u)}
    t_prep = time.perf_counter() - t0
    if len(u.weight) == 0:
        extra: dict[str, Any] = {"solver": "none", "travel_unit": _travel_unit(distance)}
        return _report(p, u, opts, p.owner.copy(), {"solve_seconds": time.perf_counter() - t0}, extra)
    progress(0.2, f"Solving the assignment LP over all reps ({len(u.weight):,} units, {len(p.reps)} reps)")
    reach = _reachable(p, u)
    aim = _aim(p, reach)
    lp = _solve_lp(aim, u, opts, scale)
    if _timed_out(lp):  # its point is not a solution over all pairs (it may lie outside every band): never round it
        raise BadInput(time_limit_message(opts))
    if lp.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise BadInput(f"the solver could not solve this scenario ({lp.status}); loosen the tolerance or the budget")
    sol = np.asarray(lp.h.getSolution().col_value)
    min_lp_moved = float(lp.x() @ lp.moved)
    lp_z = float(sol[lp.z_col])
    # Second pass: least travel with balance as good, within the moved budget and, when it can, under today's.
    progress(0.4, "Least travel at that balance and moved share")
    z_slack = float(np.max(reach.tols - aim.tols))
    tp = _travel_passes(aim, u, opts, scale, lp, z_slack)
    lp_moved = float(lp.x() @ lp.moved)
    lp_travel_movable = float(lp.x() @ lp.travel)
    t1 = time.perf_counter()
    assign, info, t_mip = _whole(aim, u, opts, lp, scale, tp, lp_z, progress, reach, graph)
    t_repair = time.perf_counter() - t1
    progress(0.8, "Bounding travel over all reps")
    bound = _bound(reach, u, lp, sol, assign, scale, z_slack, any_moved=not math.isfinite(tp.best_km))
    pinned_sum = _pinned_travel(p)
    n = len(p.acc)
    extra = {
        "solver": f"HiGHS {HIGHS_VERSION} LP over all reps (priced) + fix-and-resolve rounding",
        "lp_status": lp.status,
        "units": int(len(u.weight)),
        "accounts_without_area": u.without_area,
        **lp.counts(),
        "lp_min_moved_share": min_lp_moved + scale["forced_moved"],
        "lp_moved_share": lp_moved + scale["forced_moved"],
        "lp_excess_over_band": lp_z,
        "travel_km_lp": (lp_travel_movable + pinned_sum) / n,
        "travel_km_lp_bound": (bound.movable + pinned_sum) / n,
        "travel_km_lp_units": (bound.lp_movable + pinned_sum) / n,
        "travel_km_lp_bound_any_moved": (tp.best_km if math.isfinite(tp.best_km) else bound.any_moved + pinned_sum) / n,
        "bound_stopped_by_time": float(bound.stopped_by_time),
        "travel_pass_stopped_by_time": float(tp.stopped_by_time),
        "travel_capped_at_today": bool(math.isfinite(tp.travel_cap)),
        "travel_km_best_in_band": tp.best_km / n,
        "travel_km_lp_least": (tp.least + pinned_sum) / n,
        "travel_bound_all_reps": True,
        "travel_needs_moved_share": tp.needs_moved,
        "travel_unit": _travel_unit(distance),
        "capacity_enforced": lp.cap_enforced,
        **info,
    }
    timing = {
        "prepare_seconds": t_prep,
        "lp_seconds": lp.seconds + tp.seconds,
        "mip_seconds": t_mip,
        "repair_seconds": t_repair,
        "bound_seconds": bound.seconds,
        "solve_seconds": time.perf_counter() - t0,
    }
    progress(0.95, "Measuring the result")
    return _report(p, u, opts, assign, timing, extra)


def _rebalance_apart(p: _Problem, apart: np.ndarray, accounts: pd.DataFrame, reps: pd.DataFrame, opts: Options,
                     progress: Progress, distance: pd.DataFrame | None, t0: float) -> Result:  # fmt: skip
    """The book without the reps set apart (overfull.overfull_reps) solved as one problem, merged back whole."""
    pos, acc, sub_reps, sub_opts = overfull.rest_problem(p, apart, accounts, reps, opts)
    rest = _rebalance_one(acc, sub_reps, sub_opts, progress, distance, set_apart=False)
    timing = {k: float(v) for k, v in rest.summary.items() if k.endswith("_seconds")}
    timing["solve_seconds"] = time.perf_counter() - t0
    return overfull.merge(p, apart, pos, rest, opts, timing)
