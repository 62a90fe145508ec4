"""The assignment LP (HiGHS): candidate pairs, the model, warm-started re-solves and the travel passes."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from planner.errors import BadInput
from planner.optimize.geometry import _bincount, _chord_km, _nearest
from planner.optimize.options import Options
from planner.optimize.problem import _Problem, _Units
from planner.optimize.report import _min_moved, _today_km

# Objective weights (balance >> capacity >> metric moved >> accounts moved >> travel): each term is
# normalised (shares of the total, travel relative to the nearest-rep mean) so the order holds on
# any data set.
_C_BALANCE = 1e4
_C_CAPACITY = 1e3
_C_MOVED = 100.0
_C_COUNT = 5.0
_C_TRAVEL = 1.0
# Without a user budget, the travel pass may move this much more than the least the LP must move.
DEFAULT_MOVE_SLACK = 0.15
# The LP keeps travel this share below today's, so rounding and repair can stay under it.
TRAVEL_MARGIN = 0.005
MIP_MAX_NODES = 500
HIGHS_VERSION = f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"


def new_solver() -> Any:
    """A quiet HiGHS instance. highspy.Highs() turns callbacks on in its constructor, which prints the
    HiGHS banner on stdout before output can be switched off (and would corrupt `balance --json`);
    the plain binding underneath does not, so output is off before anything can print."""
    h = highspy._Highs()  # type: ignore[attr-defined]
    h.setOptionValue("output_flag", False)
    return h


def _candidates(
    p: _Problem, u: _Units, k: int, unit_k: np.ndarray, rep_reach: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(unit, rep) pairs the LP may use: owners, the k nearest homes (unit_k for widened units), and
    for every rep its nearest units, enough to fill its target 2.5 x rep_reach times over."""
    n_units, n_reps = len(u.weight), len(p.reps)
    cen = np.zeros((n_units, 3))
    np.add.at(cen, u.of_account, p.xyz[u.movable])
    cen /= np.maximum(np.linalg.norm(cen, axis=1, keepdims=True), 1e-12)
    _, near = _nearest(cen, p.homes, k)
    pu = [np.repeat(np.arange(n_units), near.shape[1])]
    pr = [near.ravel()]
    for kk in np.unique(unit_k[unit_k > k]):
        sel = np.flatnonzero(unit_k == kk)
        _, wide = _nearest(cen[sel], p.homes, int(kk))
        pu.append(np.repeat(sel, wide.shape[1]))
        pr.append(wide.ravel())
    own = p.owner[u.movable]
    has = own >= 0
    pu.append(u.of_account[has])
    pr.append(own[has])
    tree = cKDTree(cen)
    for reach in np.unique(rep_reach):
        reps = np.flatnonzero(rep_reach == reach)
        m = min(n_units, int(math.ceil(3.0 * reach * n_units / n_reps)) + 8)
        _, rnear = tree.query(p.homes[reps], k=m)
        rnear = np.asarray(rnear).reshape(len(reps), m)
        for row, r in enumerate(reps):
            cum = np.cumsum(u.weight[rnear[row]])
            stop = int(np.searchsorted(cum, 2.5 * reach * p.target[r])) + 1
            pu.append(rnear[row, : max(stop, min(m, 5))])
            pr.append(np.full(len(pu[-1]), r))
    code = np.unique(np.concatenate(pu).astype(np.int64) * n_reps + np.concatenate(pr).astype(np.int64))
    return code // n_reps, code % n_reps


# ---------------------------------------------------------------- the LP


@dataclass
class _LP:
    h: Any  # a highspy._Highs
    pair_u: np.ndarray
    pair_r: np.ndarray
    travel: np.ndarray  # km summed over the pair's accounts
    moved: np.ndarray  # balance share that moves if the pair is chosen
    count: np.ndarray  # accounts that move
    hours: np.ndarray
    n_pairs: int
    z_col: int
    cap_cols: np.ndarray
    moved_row: int
    travel_row: int
    cap_enforced: bool
    costs: np.ndarray
    status: str = ""
    seconds: float = 0.0
    mip_x: np.ndarray | None = None


def _pair_coefficients(p: _Problem, u: _Units, pair_u: np.ndarray, pair_r: np.ndarray) -> dict[str, np.ndarray]:
    order = np.argsort(u.of_account, kind="stable")
    sizes = np.bincount(u.of_account, minlength=len(u.weight))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    plen = sizes[pair_u]
    pid = np.repeat(np.arange(len(pair_u)), plen)
    offs = np.arange(plen.sum()) - np.repeat(np.cumsum(plen) - plen, plen)
    pos = u.movable[order[starts[pair_u][pid] + offs]]
    rep = pair_r[pid]
    km = _chord_km(np.linalg.norm(p.xyz[pos] - p.homes[rep], axis=1))
    own = p.owner[pos]
    moves = (own >= 0) & (own != rep)
    n = len(pair_u)
    return {
        "travel": _bincount(pid, weights=km, minlength=n),
        "moved": _bincount(pid, weights=p.b[pos] * moves, minlength=n),
        "count": _bincount(pid, weights=moves.astype(float), minlength=n),
        "hours": _bincount(pid, weights=p.hours_fixed[pos] + p.hours_per_km * km, minlength=n),
    }


def _solve_lp(
    p: _Problem, u: _Units, opts: Options, scale: dict[str, float], unit_k: np.ndarray, rep_reach: np.ndarray
) -> _LP:
    pair_u, pair_r = _candidates(p, u, opts.candidates, unit_k, rep_reach)
    co = _pair_coefficients(p, u, pair_u, pair_r)
    n_pairs, n_units, n_reps = len(pair_u), len(u.weight), len(p.reps)
    tol = opts.tolerance
    fixed_load = _bincount(p.owner[p.pinned], weights=p.b[p.pinned], minlength=n_reps)
    pin_pos = np.flatnonzero(p.pinned)
    pin_km = _chord_km(np.linalg.norm(p.xyz[pin_pos] - p.homes[p.owner[pin_pos]], axis=1))
    fixed_hours = _bincount(
        p.owner[pin_pos], weights=p.hours_fixed[pin_pos] + p.hours_per_km * pin_km, minlength=n_reps
    )
    cap = p.reps["capacity_hours"].to_numpy(float)
    # Capacity binds only when the team could in principle cover the book; otherwise it is reported.
    cap_enforced = bool(cap.sum() >= scale["hours_min"])
    n_cap = n_reps if cap_enforced else 0
    z_col = n_pairs
    cap_cols = np.arange(n_pairs + 1, n_pairs + 1 + n_cap)
    n_cols = n_pairs + 1 + n_cap

    r_unit = pair_u
    r_up = n_units + pair_r
    r_lo = n_units + n_reps + pair_r
    rows = [r_unit, r_up, r_lo]
    cols = [np.arange(n_pairs)] * 3
    vals = [np.ones(n_pairs), u.weight[pair_u], u.weight[pair_u]]
    rows += [n_units + np.arange(n_reps), n_units + n_reps + np.arange(n_reps)]
    cols += [np.full(n_reps, z_col), np.full(n_reps, z_col)]
    vals += [-p.target, p.target]
    base = n_units + 2 * n_reps
    if cap_enforced:
        hscale = scale["hours_min"] / n_reps
        rows += [base + pair_r, base + np.arange(n_reps)]
        cols += [np.arange(n_pairs), cap_cols]
        vals += [co["hours"] / hscale, -np.ones(n_reps)]
    moved_row = base + n_cap
    rows.append(np.full(n_pairs, moved_row))
    cols.append(np.arange(n_pairs))
    vals.append(co["moved"])
    # Travel row (km in units of n x scale km), unbounded until a pass caps travel at today's.
    travel_row = moved_row + 1
    rows.append(np.full(n_pairs, travel_row))
    cols.append(np.arange(n_pairs))
    vals.append(co["travel"] / (scale["n"] * scale["km"]))
    n_rows = travel_row + 1
    a = sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, n_cols))
    a.sum_duplicates()
    a.sort_indices()

    upper = p.target * (1 + tol) - fixed_load
    lower = p.target * (1 - tol) - fixed_load
    row_lo = np.concatenate([np.ones(n_units), np.full(n_reps, -highspy.kHighsInf), lower])
    row_hi = np.concatenate([np.ones(n_units), upper, np.full(n_reps, highspy.kHighsInf)])
    if cap_enforced:
        row_lo = np.concatenate([row_lo, np.full(n_reps, -highspy.kHighsInf)])
        row_hi = np.concatenate([row_hi, (cap - fixed_hours) / hscale])
    budget = highspy.kHighsInf if opts.max_moved is None else max(0.0, opts.max_moved - scale["forced_moved"])
    row_lo = np.concatenate([row_lo, [-highspy.kHighsInf, -highspy.kHighsInf]])
    row_hi = np.concatenate([row_hi, [budget, highspy.kHighsInf]])

    costs = (
        _C_MOVED * co["moved"]
        + _C_COUNT * co["count"] / scale["n"]
        + _C_TRAVEL * co["travel"] / (scale["n"] * scale["km"])
    )
    col_cost = np.concatenate([costs, [_C_BALANCE], np.full(n_cap, _C_CAPACITY / n_reps)])
    col_lo = np.zeros(n_cols)
    col_hi = np.concatenate([np.ones(n_pairs), [highspy.kHighsInf], np.full(n_cap, highspy.kHighsInf)])

    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = col_cost
    lp.col_lower_ = col_lo
    lp.col_upper_ = col_hi
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    h = new_solver()
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    h.setOptionValue("parallel", "off")
    h.setOptionValue("time_limit", float(opts.time_limit_s))
    h.passModel(lp)
    out = _LP(
        h=h, pair_u=pair_u, pair_r=pair_r, travel=co["travel"], moved=co["moved"], count=co["count"],
        hours=co["hours"], n_pairs=n_pairs, z_col=z_col, cap_cols=cap_cols, moved_row=moved_row,
        travel_row=travel_row, cap_enforced=cap_enforced, costs=costs,
    )  # fmt: skip
    start = time.perf_counter()
    h.run()
    out.seconds = time.perf_counter() - start
    out.status = h.modelStatusToString(h.getModelStatus())
    return out


def _resolve(
    lp: _LP,
    base: np.ndarray,
    objective: str,
    z_ub: float,
    moved_ub: float,
    scale: dict[str, float],
    travel_ub: float = math.inf,
) -> float:
    """Re-solve the LP (warm-started) with balance no worse than z_ub, capacity use no worse than in
    `base` (the first pass's solution), at most moved_ub of the metric moved and at most travel_ub km
    of travel on the movable accounts. objective: "travel" (least travel, a small price on moves as a
    tie-break), "travel_only" (the LP bound) or "moved" (least disruption, as in the first pass)."""
    h = lp.h
    cap_ub = base[lp.cap_cols] if len(lp.cap_cols) else np.zeros(0)
    n_cols = lp.n_pairs + 1 + len(lp.cap_cols)
    cost = np.zeros(n_cols)
    disruption = _C_MOVED * lp.moved + _C_COUNT * lp.count / scale["n"]
    if objective == "moved":
        cost[: lp.n_pairs] = disruption
    else:
        cost[: lp.n_pairs] = _C_TRAVEL * lp.travel / (scale["n"] * scale["km"])
        if objective == "travel":
            cost[: lp.n_pairs] += 0.001 * disruption
    h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)
    h.changeColBounds(lp.z_col, 0.0, max(z_ub, float(base[lp.z_col])) + 1e-9)
    for c, v in zip(lp.cap_cols, cap_ub, strict=True):
        h.changeColBounds(int(c), 0.0, float(v) + 1e-9)
    h.changeRowBounds(lp.moved_row, -highspy.kHighsInf, moved_ub + 1e-9)
    t_ub = highspy.kHighsInf if not math.isfinite(travel_ub) else travel_ub / (scale["n"] * scale["km"])
    h.changeRowBounds(lp.travel_row, -highspy.kHighsInf, t_ub)
    start = time.perf_counter()
    h.run()
    return time.perf_counter() - start


def _optimal(lp: _LP) -> bool:
    return lp.h.getModelStatus() == highspy.HighsModelStatus.kOptimal


@dataclass
class _TravelPass:
    budget: float  # moved share (LP units) the travel pass may use
    cap: float  # 1.45 x the least share that must move (less forced moves)
    km_limit: float | None  # today's total km over all accounts (None when nobody owns anything today)
    travel_cap: float  # the km cap on the movable accounts the LP met (inf when none)
    reachable: bool  # today's travel fits at this balance (or there is nothing to keep)
    best_km: float = float("nan")  # the LP's least km on the movable accounts in the band, when not reachable
    needs_moved: float = float("nan")  # the moved share keeping today's travel needs, when above the default
    seconds: float = 0.0


def _travel_passes(p: _Problem, u: _Units, opts: Options, scale: dict[str, float], lp: _LP) -> _TravelPass:
    """After the first pass (balance, then disruption): least travel with balance as good, within the
    moved budget (the user's, else a little above the least the LP had to move) and at or below today's
    travel. Without a user budget, keeping today's travel may move more: the least disruption that
    does it is found first. Leaves the LP solved with the chosen solution."""
    sol = np.asarray(lp.h.getSolution().col_value)
    min_lp_moved = float(sol[: lp.n_pairs] @ lp.moved)
    lp_z = float(sol[lp.z_col])
    cap = 1.45 * _min_moved(p, opts.tolerance) - scale["forced_moved"]
    budget = max(min_lp_moved, min(min_lp_moved * (1 + DEFAULT_MOVE_SLACK), cap)) + 1e-9
    if opts.max_moved is not None:
        budget = max(min_lp_moved, opts.max_moved - scale["forced_moved"])
    seconds = _resolve(lp, sol, "travel", lp_z, budget, scale)
    if not _optimal(lp):
        raise BadInput(f"the solver could not finish this scenario ({lp.status}); loosen the tolerance or the budget")
    # The cap on the movable accounts' km is today's total less what the accounts that stay put
    # travel, with a little room for rounding.
    pin_pos = np.flatnonzero(p.pinned)
    pinned_total = float(_chord_km(np.linalg.norm(p.xyz[pin_pos] - p.homes[p.owner[pin_pos]], axis=1)).sum())
    km_today = _today_km(p)
    km_limit = float(np.nanmean(km_today)) * scale["n"] if np.isfinite(km_today).any() else None
    out = _TravelPass(budget=budget, cap=cap, km_limit=km_limit, travel_cap=math.inf, reachable=True)
    lp_travel = float(np.asarray(lp.h.getSolution().col_value)[: lp.n_pairs] @ lp.travel)
    if km_limit is None or lp_travel + pinned_total <= km_limit * (1 - TRAVEL_MARGIN):
        out.seconds = seconds
        return out
    # The least travel any balanced assignment reaches (any share moved) says whether today's fits.
    seconds += _resolve(lp, sol, "travel_only", lp_z, math.inf if opts.max_moved is None else budget, scale)
    best = float(np.asarray(lp.h.getSolution().col_value)[: lp.n_pairs] @ lp.travel) if _optimal(lp) else math.inf
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
            seconds += _resolve(lp, sol, "moved", lp_z, math.inf, scale, out.travel_cap)
            if _optimal(lp):
                need = float(np.asarray(lp.h.getSolution().col_value)[: lp.n_pairs] @ lp.moved)
                # ... then the least travel with that much (or the default budget) moved.
                if need > budget:
                    out.needs_moved = need + scale["forced_moved"]
                budget = max(budget, need * (1 + 1e-4)) + 1e-9
            else:
                out.travel_cap = math.inf
        else:
            # No balanced assignment keeps today's travel: get as close as the moved target allows.
            budget = max(budget, cap)
    seconds += _resolve(lp, sol, "travel", lp_z, budget, scale, out.travel_cap)
    if not _optimal(lp):
        out.travel_cap = math.inf
        seconds += _resolve(lp, sol, "travel", lp_z, budget, scale)
    out.budget = budget
    out.seconds = seconds
    return out


def _integral_units(
    lp: _LP, opts: Options, scale: dict[str, float], n_reps: int, moved_ub: float, travel_ub: float = math.inf
) -> float:
    """Whole geographic units: solve the assignment as a MIP (balance >> moves >> travel) within the
    moved budget and, when it can, the travel cap, with a node limit so the result is deterministic;
    the repair pass still follows. Leaves the LP continuous."""
    h = lp.h
    n = lp.n_pairs
    idx = np.arange(n, dtype=np.int32)
    n_cols = n + 1 + len(lp.cap_cols)
    cost = np.concatenate([lp.costs, [_C_BALANCE], np.full(len(lp.cap_cols), _C_CAPACITY / n_reps)])
    h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)
    h.changeColBounds(lp.z_col, 0.0, highspy.kHighsInf)
    for c in lp.cap_cols:
        h.changeColBounds(int(c), 0.0, highspy.kHighsInf)
    h.changeRowBounds(lp.moved_row, -highspy.kHighsInf, moved_ub + 1e-9)
    h.changeColsIntegrality(n, idx, np.full(n, int(highspy.HighsVarType.kInteger), dtype=np.uint8))
    h.setOptionValue("mip_max_nodes", MIP_MAX_NODES)
    h.setOptionValue("mip_rel_gap", 1e-6)
    start = time.perf_counter()
    lp.mip_x = None
    # With the travel cap first; whole units may not fit under it, then without.
    for cap in (travel_ub, math.inf) if math.isfinite(travel_ub) else (math.inf,):
        t_ub = highspy.kHighsInf if not math.isfinite(cap) else cap / (scale["n"] * scale["km"])
        h.changeRowBounds(lp.travel_row, -highspy.kHighsInf, t_ub)
        h.run()
        if h.getInfo().primal_solution_status == 2:
            lp.mip_x = np.asarray(h.getSolution().col_value)[:n].copy()
            break
    h.changeColsIntegrality(n, idx, np.full(n, int(highspy.HighsVarType.kContinuous), dtype=np.uint8))
    return time.perf_counter() - start
