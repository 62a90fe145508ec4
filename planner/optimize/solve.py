"""rebalance(): prepare, solve the LP (widening candidates when needed), round, repair and report."""

from __future__ import annotations

import math
import time

import highspy
import numpy as np
import pandas as pd

from planner.errors import BadInput
from planner.optimize.geometry import _bincount, _nearest
from planner.optimize.lp import (
    HIGHS_VERSION,
    _integral_units,
    _optimal,
    _resolve,
    _solve_lp,
    _travel_passes,
)
from planner.optimize.options import Options, Progress, Result, noop
from planner.optimize.problem import _prepare, _units
from planner.optimize.report import _km_to, _lower_bound, _report
from planner.optimize.rounding import _band_penalty, _repair, _round

# Candidate widening stops at this many (unit, rep) pairs, to keep a solve within seconds.
MAX_LP_PAIRS = 150_000
# Whole geographic units are assigned by a MIP when there are at most this many (unit, rep) pairs.
MIP_MAX_PAIRS = 5_000


def rebalance(
    accounts: pd.DataFrame, reps: pd.DataFrame, options: Options | None = None, progress: Progress = noop
) -> Result:
    """Assign every account to a rep under the options; deterministic for the same inputs.

    `accounts` needs account_id, lat, lon, owner_rep_id, potential, locked, is_customer, has_open_deal
    (and optionally name, state, county, postal_code, expected_value); `reps` needs rep_id, name,
    home_lat, home_lon, capacity_hours, active.
    """
    opts = options or Options()
    t0 = time.perf_counter()
    progress(0.05, "Preparing accounts and reps")
    p = _prepare(accounts, reps, opts)
    u = _units(p, opts)
    near_km, _ = _nearest(p.xyz, p.homes, 1)
    fixed_h, per_km = p.workload.fixed_hours, p.workload.hours_per_km
    scale = {
        "n": float(len(p.acc)),
        "km": max(float(near_km.mean()), 1.0),
        "hours_min": float((fixed_h + per_km * near_km[:, 0]).sum()),
        "forced_moved": float(p.b[p.owner == -2].sum()),
    }
    t_prep = time.perf_counter() - t0
    if len(u.weight) == 0:
        assign = p.owner.copy()
        return _report(p, u, opts, assign, {"solve_seconds": time.perf_counter() - t0}, {"solver": "none"})
    progress(0.2, f"Solving the assignment LP ({len(u.weight):,} units, {len(p.reps)} reps)")
    unit_k = np.full(len(u.weight), opts.candidates)
    widened = "no"
    rep_reach = np.ones(len(p.reps))
    lp = _solve_lp(p, u, opts, scale, unit_k, rep_reach)
    lb = _lower_bound(p, u)
    lp_seconds = lp.seconds
    # Too few candidate reps can make balance look impossible: widen the candidates of the units of
    # over-full reps and the reach of under-full ones, and re-solve while the LP misses a band that
    # the bounds say is reachable.
    for _ in range(3):
        x = np.asarray(lp.h.getSolution().col_value)
        budgeted = opts.max_moved is not None and opts.max_moved < 1.0
        if float(x[lp.z_col]) <= 1e-6 or lb > 1 + opts.tolerance or budgeted:
            break
        if lp.n_pairs > MAX_LP_PAIRS:
            widened = "limited"
            break
        load = _bincount(lp.pair_r, weights=u.weight[lp.pair_u] * x[: lp.n_pairs], minlength=len(p.reps))
        load += _bincount(p.owner[p.pinned], weights=p.b[p.pinned], minlength=len(p.reps))
        over = load > p.target * (1 + opts.tolerance) + 1e-9
        under = load < p.target * (1 - opts.tolerance) - 1e-9
        owners_over = np.zeros(len(u.weight), dtype=bool)
        mov_own = p.owner[u.movable]
        owners_over[u.of_account[(mov_own >= 0) & over[np.maximum(mov_own, 0)]]] = True
        # Units now sitting with an over-full rep need farther options too.
        owners_over[lp.pair_u[(x[: lp.n_pairs] > 1e-6) & over[lp.pair_r]]] = True
        unit_k = np.where(owners_over, np.minimum(unit_k * 2, len(p.reps)), unit_k)
        rep_reach = np.where(under, rep_reach * 2, rep_reach)
        progress(0.3, "Widening the candidate reps and re-solving")
        lp = _solve_lp(p, u, opts, scale, unit_k, rep_reach)
        lp_seconds += lp.seconds
        widened = "yes"
    lp.seconds = lp_seconds
    if lp.h.getModelStatus() not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit):
        raise BadInput(f"the solver could not solve this scenario ({lp.status}); loosen the tolerance or the budget")
    sol = np.asarray(lp.h.getSolution().col_value)
    min_lp_moved = float(sol[: lp.n_pairs] @ lp.moved)
    lp_z = float(sol[lp.z_col])
    # Second pass: least travel with balance as good, within the moved budget and, when the candidates
    # allow it, at or below today's travel. If today's travel is out of reach of the candidate reps,
    # widen them (every unit's nearest reps and every rep's reach) and solve again.
    tp = _travel_passes(p, u, opts, scale, lp)
    k_wide = min(len(p.reps), 3 * opts.candidates)
    if not tp.reachable and int(unit_k.min()) < k_wide and len(u.weight) * k_wide <= MAX_LP_PAIRS:
        unit_k = np.maximum(unit_k, k_wide)
        rep_reach = rep_reach * 3
        progress(0.5, "Widening the candidate reps to keep travel at or below today's")
        wide = _solve_lp(p, u, opts, scale, unit_k, rep_reach)
        if wide.h.getModelStatus() in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit):
            lp_seconds += wide.seconds
            lp, widened = wide, "yes (travel)"
            lp.seconds = lp_seconds
            wide_sol = np.asarray(lp.h.getSolution().col_value)
            min_lp_moved = float(wide_sol[: lp.n_pairs] @ lp.moved)
            lp_z = float(wide_sol[lp.z_col])
            tp_wide = _travel_passes(p, u, opts, scale, lp)
            tp_wide.seconds += tp.seconds
            tp = tp_wide
    t_lp2 = tp.seconds
    budget, travel_cap, km_limit, cap = tp.budget, tp.travel_cap, tp.km_limit, tp.cap
    sol = np.asarray(lp.h.getSolution().col_value)
    lp_moved = float(sol[: lp.n_pairs] @ lp.moved)
    t_mip = 0.0
    if not u.divisible and lp.n_pairs <= MIP_MAX_PAIRS:
        progress(0.55, "Assigning whole units (MIP)")
        mip_budget = math.inf if opts.max_moved is None else budget
        t_mip = _integral_units(lp, opts, scale, len(p.reps), mip_budget, travel_cap)
    progress(0.6, "Rounding and repairing fractional accounts")
    t1 = time.perf_counter()
    assign = _round(p, u, lp)
    user_budget = None if opts.max_moved is None else max(0.0, opts.max_moved - scale["forced_moved"])
    assign = _repair(
        p, u, lp, assign, opts.tolerance, scale, user_budget, km_limit,
        travel_moved_cap=max(budget, cap) if opts.max_moved is None else None,
    )  # fmt: skip
    t_repair = time.perf_counter() - t1
    # The LP bound on travel for the balance and moved share actually reached.
    n_reps = len(p.reps)
    load = _bincount(assign, weights=p.b, minlength=n_reps)
    z_ach = float(
        np.max(_band_penalty(load, p.target * (1 - opts.tolerance), p.target * (1 + opts.tolerance)) / p.target)
    )
    own = p.owner
    moved_lp_units = float(p.b[(own >= 0) & (assign != own)].sum())
    lp_travel_movable = float(sol[: lp.n_pairs] @ lp.travel)
    progress(0.8, "Bounding travel with the LP relaxation")
    t_bound = _resolve(lp, sol, "travel_only", z_ach, moved_lp_units, scale)
    bound_movable = float("nan")
    if _optimal(lp):
        bound_movable = float(np.asarray(lp.h.getSolution().col_value)[: lp.n_pairs] @ lp.travel)
    pinned_km = _km_to(p, np.where(p.pinned, p.owner, -1))
    pinned_sum = float(np.nansum(pinned_km))
    total = time.perf_counter() - t0
    extra = {
        "solver": f"HiGHS {HIGHS_VERSION} LP + repair",
        "lp_status": lp.status,
        "units": int(len(u.weight)),
        "lp_variables": int(lp.n_pairs),
        "candidates_widened": widened,
        "lp_min_moved_share": min_lp_moved + scale["forced_moved"],
        "lp_moved_share": lp_moved + scale["forced_moved"],
        "lp_excess_over_band": lp_z,
        "travel_km_lp": (lp_travel_movable + pinned_sum) / len(p.acc),
        "travel_km_lp_bound": (bound_movable + pinned_sum) / len(p.acc),
        "travel_capped_at_today": bool(math.isfinite(travel_cap)),
        "travel_km_best_in_band": tp.best_km / len(p.acc),
        "travel_bound_all_reps": bool(int(unit_k.min()) >= len(p.reps)),
        "travel_needs_moved_share": tp.needs_moved,
        "capacity_enforced": lp.cap_enforced,
    }
    timing = {
        "prepare_seconds": t_prep,
        "lp_seconds": lp.seconds + t_lp2,
        "mip_seconds": t_mip,
        "repair_seconds": t_repair,
        "bound_seconds": t_bound,
        "solve_seconds": total,
    }
    progress(0.95, "Measuring the result")
    return _report(p, u, opts, assign, timing, extra)
