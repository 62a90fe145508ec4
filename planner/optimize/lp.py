"""The assignment LP (HiGHS): candidate pairs, the model, warm-started re-solves and the travel passes."""

from __future__ import annotations

import math
import time
from typing import Any

import highspy
import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from planner.mipworker import new_solver
from planner.optimize.geometry import _bincount, _nearest
from planner.optimize.mipguard import solve_mip
from planner.optimize.options import Options
from planner.optimize.pricing import (
    _LP,
    _cost,
    _duals,
    _far,
    _price,
    _rank_in_unit,
    _rep_chunks,
    _third_nearest,
)
from planner.optimize.problem import _dist, _dist_block, _hours_km, _hours_km_block, _Problem, _Units
from planner.store import interrupts

# Objective weights (balance >> capacity >> metric moved >> accounts moved >> travel): each term is
# normalised (shares of the total, travel relative to the nearest-rep mean) so the order holds on
# any data set.
_C_BALANCE = 1e4
_C_CAPACITY = 1e3
_C_MOVED = 100.0
_C_COUNT = 5.0
_C_TRAVEL = 1.0
MIP_MAX_NODES = 500
TOP3_WEIGHT = 1000.0
# Column purging (_purge): past PURGE_AT pair columns per unit, a pricing round first drops the pairs at zero
# beyond each unit's KEEP_PER_UNIT least reduced costs. 20,000 x 200, three metrics, CPU-s of the whole solve, two
# at a time (same territories each): (4, 1) 150, (6, 2) 144, (8, 4) 158, (12, 6) 184 (its travel cap left the kept
# pairs without a solution: 201,927 put back); no purging 350. (8, 4) is the one measured at 100,000 x 200 too.
PURGE_AT = 8
KEEP_PER_UNIT = 4
HIGHS_VERSION = f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"


def _candidates(p: _Problem, u: _Units, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The starting (unit, rep) columns: owners, the k nearest reps, and for every rep its nearest
    units, enough to fill its target 2.5 times over. Pricing (`_price`) adds any other pair that
    could lower the objective, so the LP is solved over all pairs."""
    n_units, n_reps = len(u.weight), len(p.reps)
    cen = np.zeros((n_units, 3))
    np.add.at(cen, u.of_account, p.xyz[u.movable])
    cen /= np.maximum(np.linalg.norm(cen, axis=1, keepdims=True), 1e-12)
    if p.distance is not None:
        # A unit's travel to every rep from the matrix (summed over its accounts).
        travel = u.members @ p.distance[u.movable]
        near = np.argsort(travel, axis=1, kind="stable")[:, : min(k, n_reps)]
    else:
        _, near = _nearest(cen, p.homes, k)
    pu = [np.repeat(np.arange(n_units), near.shape[1])]
    pr = [near.ravel()]
    own = p.owner[u.movable]
    has = own >= 0
    pu.append(u.of_account[has])
    pr.append(own[has])
    tree = cKDTree(cen)
    m = min(n_units, int(math.ceil(3.0 * n_units / n_reps)) + 8)
    _, rnear = tree.query(p.homes, k=m)
    rnear = np.asarray(rnear).reshape(n_reps, m)
    for r in range(n_reps):
        cum = np.cumsum(u.weight[rnear[r]])
        stop = int(np.searchsorted(cum, 2.5 * p.target[r])) + 1
        pu.append(rnear[r, : max(stop, min(m, 5))])
        pr.append(np.full(len(pu[-1]), r))
    code = np.unique(np.concatenate(pu).astype(np.int64) * n_reps + np.concatenate(pr).astype(np.int64))
    return code // n_reps, code % n_reps


# ---------------------------------------------------------------- the LP


def _pair_coefficients(
    p: _Problem, u: _Units, pair_u: np.ndarray, pair_r: np.ndarray, third: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Per pair, summed over its unit's accounts: travel, spread, far accounts (0 without `third`, the accounts'
    travel to their 3rd nearest rep, i.e. when not priced), moved share, moved accounts and hours."""
    order = np.argsort(u.of_account, kind="stable")
    sizes = np.bincount(u.of_account, minlength=len(u.weight))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    plen = sizes[pair_u]
    pid = np.repeat(np.arange(len(pair_u)), plen)
    offs = np.arange(plen.sum()) - np.repeat(np.cumsum(plen) - plen, plen)
    pos = u.movable[order[starts[pair_u][pid] + offs]]
    rep = pair_r[pid]
    dist = _dist(p, pos, rep)
    km = dist if p.distance is None else _hours_km(p, pos, rep)
    own = p.owner[pos]
    moves = (own >= 0) & (own != rep)
    n = len(pair_u)
    return {
        "travel": _bincount(pid, weights=dist, minlength=n),
        "spread": _bincount(pid, weights=dist * dist / p.spread_scale, minlength=n),
        "far": np.zeros(n) if third is None else _bincount(pid, weights=_far(dist, third[pos]), minlength=n),
        "moved": _bincount(pid, weights=p.b[pos] * moves, minlength=n),
        "count": _bincount(pid, weights=moves.astype(float), minlength=n),
        "hours": _bincount(pid, weights=p.hours_fixed[pos] + p.hours_per_km[pos] * km, minlength=n),
    }


def _fixed_loads(p: _Problem) -> np.ndarray:
    """(n_bands, n_reps) load of the pinned accounts on every band."""
    pin = np.flatnonzero(p.pinned)
    return np.stack(
        [_bincount(p.owner[pin], weights=p.bm[pin, m], minlength=len(p.reps)) for m in range(p.bm.shape[1])]
    )


def _pair_matrix(
    lp_rows: dict[str, Any], pair_u: np.ndarray, pair_r: np.ndarray, co: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, rows, values) of the pair columns, column-wise (pairs in the given order)."""
    n_units, n_reps, n_bands = lp_rows["n_units"], lp_rows["n_reps"], lp_rows["n_bands"]
    wm = lp_rows["wm"]
    parts_r = [pair_u[:, None]]
    parts_v = [np.ones((len(pair_u), 1))]
    for m in range(n_bands):
        parts_r += [(n_units + m * n_reps + pair_r)[:, None], (n_units + (n_bands + m) * n_reps + pair_r)[:, None]]
        parts_v += [wm[pair_u, m][:, None], wm[pair_u, m][:, None]]
    if lp_rows["cap_enforced"]:
        parts_r.append((n_units + 2 * n_bands * n_reps + pair_r)[:, None])
        parts_v.append((co["hours"] / lp_rows["hscale"])[:, None])
    parts_r += [np.full((len(pair_u), 1), lp_rows["moved_row"]), np.full((len(pair_u), 1), lp_rows["travel_row"])]
    parts_v += [co["moved"][:, None], (co["travel"] / lp_rows["travel_scale"])[:, None]]
    rows = np.hstack(parts_r).astype(np.int64)
    vals = np.hstack(parts_v).astype(float)
    per = rows.shape[1]
    starts = np.arange(len(pair_u) + 1, dtype=np.int64) * per
    return starts, rows.ravel(), vals.ravel()


def _row_bounds(
    p: _Problem, opts: Options, scale: dict[str, float], n_units: int, cap_enforced: bool, hscale: float
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) of the rows: each unit once, every band's upper then lower rows (less the pinned
    load), capacity (less the pinned hours) when enforced, the moved budget, the travel row."""
    n_reps, n_bands = len(p.reps), p.bm.shape[1]
    fixed = _fixed_loads(p)
    hi_band = np.concatenate([p.target * (1 + p.tols[m]) - fixed[m] for m in range(n_bands)])
    lo_band = np.concatenate([p.target * (1 - p.tols[m]) - fixed[m] for m in range(n_bands)])
    inf = highspy.kHighsInf
    row_lo = np.concatenate([np.ones(n_units), np.full(n_bands * n_reps, -inf), lo_band])
    row_hi = np.concatenate([np.ones(n_units), hi_band, np.full(n_bands * n_reps, inf)])
    if cap_enforced:
        pin_pos = np.flatnonzero(p.pinned)
        pin_km = _hours_km(p, pin_pos, p.owner[pin_pos])
        fixed_hours = _bincount(
            p.owner[pin_pos], weights=p.hours_fixed[pin_pos] + p.hours_per_km[pin_pos] * pin_km, minlength=n_reps
        )
        row_lo = np.concatenate([row_lo, np.full(n_reps, -inf)])
        row_hi = np.concatenate([row_hi, (p.reps["capacity_hours"].to_numpy(float) - fixed_hours) / hscale])
    # Whole areas move at least what their other owners hold, whatever the budget (the report says so).
    budget = (
        inf if opts.max_moved is None else max(scale.get("unit_moved", 0.0), opts.max_moved - scale["forced_moved"])
    )
    row_lo = np.concatenate([row_lo, [-inf, -inf]])
    row_hi = np.concatenate([row_hi, [budget, inf]])
    return row_lo, row_hi


def _new_highs(model: highspy.HighsLp, time_limit_s: float) -> Any:
    """A deterministic HiGHS instance (one thread, seed 0) holding the model."""
    h = new_solver()
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    h.setOptionValue("parallel", "off")
    h.setOptionValue("time_limit", float(time_limit_s))
    h.passModel(model)
    h.setCallback(_stop_on_ctrl_c, None)
    for kind in (
        highspy.cb.HighsCallbackType.kCallbackSimplexInterrupt,
        highspy.cb.HighsCallbackType.kCallbackIpmInterrupt,
    ):
        h.startCallback(kind)
    return h


def _stop_on_ctrl_c(kind: object, message: str, data_out: object, data_in: Any, user_data: object) -> None:
    """HiGHS asks at its iterations whether to stop: yes once Ctrl-C was pressed (planner/store/interrupts.py)."""
    if data_in is not None and interrupts.stopping():
        data_in.user_interrupt = True


def _solve_lp(p: _Problem, u: _Units, opts: Options, scale: dict[str, float]) -> _LP:
    """Pass 1: balance first (the excess over every band, z), then disruption, then travel, over all
    (unit, rep) pairs (starting columns plus pricing)."""
    pair_u, pair_r = _candidates(p, u, opts.candidates)
    third = _third_nearest(p) if _top3(p) else None
    co = _pair_coefficients(p, u, pair_u, pair_r, third)
    n_pairs, n_units, n_reps = len(pair_u), len(u.weight), len(p.reps)
    n_bands = p.bm.shape[1]
    # Capacity binds only when the team could in principle cover the book; otherwise it is reported.
    cap_enforced = bool(p.reps["capacity_hours"].to_numpy(float).sum() >= scale["hours_min"])
    n_cap = n_reps if cap_enforced else 0
    hscale = scale["hours_min"] / n_reps
    off = 1 + n_cap
    z_col = 0
    cap_cols = np.arange(1, 1 + n_cap)
    base = n_units + 2 * n_bands * n_reps
    moved_row = base + n_cap
    travel_row = moved_row + 1
    n_rows = travel_row + 1
    wm = np.stack([_bincount(u.of_account, weights=p.bm[u.movable, m], minlength=n_units) for m in range(n_bands)], 1)
    layout = {
        "n_units": n_units, "n_reps": n_reps, "n_bands": n_bands, "wm": wm, "cap_enforced": cap_enforced,
        "hscale": hscale, "moved_row": moved_row, "travel_row": travel_row, "travel_scale": scale["n"] * scale["km"],
        "third": third,
    }  # fmt: skip
    pstarts, prows, pvals = _pair_matrix(layout, pair_u, pair_r, co)
    # z (balance excess, in target shares) in every band row; capacity slacks in the capacity rows.
    z_rows = np.concatenate([n_units + m * n_reps + np.arange(n_reps) for m in range(2 * n_bands)])
    z_vals = np.concatenate([np.tile(-p.target, n_bands), np.tile(p.target, n_bands)])
    cols_r = [z_rows] + [np.array([base + r]) for r in range(n_cap)] + [prows]
    cols_v = [z_vals] + [np.array([-1.0]) for _ in range(n_cap)] + [pvals]
    lens = [len(z_rows)] + [1] * n_cap
    starts = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    starts = np.concatenate([starts[:-1], starts[-1] + pstarts])
    index = np.concatenate(cols_r)
    value = np.concatenate(cols_v)
    row_lo, row_hi = _row_bounds(p, opts, scale, n_units, cap_enforced, hscale)
    inf = highspy.kHighsInf
    objective = _travel_objective(scale, p.compactness, _C_MOVED, _C_COUNT / scale["n"])
    costs = _cost(objective, co)
    col_cost = np.concatenate([[_C_BALANCE], np.full(n_cap, _C_CAPACITY / n_reps), costs])
    n_cols = off + n_pairs
    col_lo = np.zeros(n_cols)
    col_hi = np.concatenate([[inf], np.full(n_cap, inf), np.ones(n_pairs)])

    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = col_cost
    lp.col_lower_ = col_lo
    lp.col_upper_ = col_hi
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = index.astype(np.int32)
    lp.a_matrix_.value_ = value.astype(float)
    h = _new_highs(lp, opts.time_limit_s)
    out = _LP(
        h=h, pair_u=pair_u, pair_r=pair_r, travel=co["travel"], moved=co["moved"], count=co["count"],
        spread=co["spread"], far=co["far"],
        hours=co["hours"], n_pairs=n_pairs, off=off, z_col=z_col, cap_cols=cap_cols, moved_row=moved_row,
        travel_row=travel_row, cap_enforced=cap_enforced, costs=costs, hscale=hscale, n_units=n_units,
        n_bands=n_bands, wm=wm, objective=objective, pass1=objective, layout=layout, time_limit_s=opts.time_limit_s,
    )  # fmt: skip
    start = time.perf_counter()
    _run(p, u, out, scale)
    out.seconds = time.perf_counter() - start
    out.status = h.modelStatusToString(h.getModelStatus())
    if _timed_out(out):
        out.status = f"time limit ({out.status} over its {out.n_pairs:,} columns, pricing not finished)"
    return out


# ---------------------------------------------------------------- pricing: the LP over all pairs


def _add_pairs(p: _Problem, u: _Units, lp: _LP, pair_u: np.ndarray, pair_r: np.ndarray) -> None:
    co = _pair_coefficients(p, u, pair_u, pair_r, lp.layout["third"])
    starts, rows, vals = _pair_matrix(lp.layout, pair_u, pair_r, co)  # type: ignore[attr-defined]
    cost = _cost(lp.objective, co)
    n = len(pair_u)
    lp.h.addCols(
        n, cost, np.zeros(n), np.ones(n), len(vals), starts[:-1].astype(np.int32), rows.astype(np.int32),
        vals.astype(float),
    )  # fmt: skip
    lp.pair_u = np.concatenate([lp.pair_u, pair_u])
    lp.pair_r = np.concatenate([lp.pair_r, pair_r])
    for key in ("travel", "moved", "count", "hours", "spread", "far"):
        setattr(lp, key, np.concatenate([getattr(lp, key), co[key]]))
    p1 = lp.pass1
    lp.costs = np.concatenate([lp.costs, _cost(p1, co)])
    lp.n_pairs += n
    lp.priced += n


def _purge(lp: _LP) -> int:
    """Past PURGE_AT columns per unit, drop the pair columns at zero and out of the basis whose reduced cost is
    not among their unit's KEEP_PER_UNIT least (nor basic in the saved least-travel basis, which the bound starts
    from): the basis and the solution stay as they are, pricing brings back any pair that prices out again, and
    each simplex iteration works on fewer columns. Returns the columns dropped."""
    if lp.n_pairs <= PURGE_AT * lp.n_units:
        return 0
    status = np.fromiter((int(s) for s in lp.h.getBasis().col_status), dtype=np.int8)
    at_lower = status[lp.off : lp.off + lp.n_pairs] == int(highspy.HighsBasisStatus.kLower)
    if lp.least_basis is not None and lp.least_basis.valid:
        old = np.fromiter((int(s) for s in lp.least_basis.col_status), dtype=np.int8)[lp.off :]
        at_lower[: len(old)] &= old == int(highspy.HighsBasisStatus.kLower)
    rc = np.asarray(lp.h.getSolution().col_dual)[lp.off : lp.off + lp.n_pairs]
    cand = np.flatnonzero(at_lower)
    # Per unit, the least reduced costs first; all but the first KEEP_PER_UNIT go.
    order = cand[np.lexsort((rc[cand], lp.pair_u[cand]))]
    drop = np.sort(order[_rank_in_unit(lp.pair_u[order]) >= KEEP_PER_UNIT])
    if len(drop) == 0:
        return 0
    _drop_cols(lp, drop)
    return len(drop)


def _drop_cols(lp: _LP, drop: np.ndarray) -> None:
    """Delete the pair columns at positions `drop` (sorted) from the LP, remembered in lp.dropped for _restore; the
    saved least-travel basis keeps its other columns' statuses."""
    lp.h.deleteCols(len(drop), (drop + lp.off).astype(np.int32))
    lp.dropped.append(lp.pair_u[drop] * lp.layout["n_reps"] + lp.pair_r[drop])
    keep = np.ones(lp.n_pairs, dtype=bool)
    keep[drop] = False
    for key in ("pair_u", "pair_r", "travel", "moved", "count", "hours", "spread", "far", "costs"):
        setattr(lp, key, getattr(lp, key)[keep])
    if lp.least_basis is not None and lp.least_basis.valid:
        cols = lp.least_basis.col_status
        mask = keep[: len(cols) - lp.off]  # the columns priced in since it was saved come after
        lp.least_basis.col_status = [*cols[: lp.off], *(c for c, k in zip(cols[lp.off :], mask, strict=True) if k)]
    lp.n_pairs -= len(drop)
    lp.purged += len(drop)


def _restore(p: _Problem, u: _Units, lp: _LP) -> bool:
    """Every pair _purge dropped back into the LP: a solve whose bounds changed (a travel cap, a moved budget) may
    have no solution over the columns left, while one over all pairs does. False when nothing was dropped."""
    if not lp.dropped:
        return False
    n_reps = lp.layout["n_reps"]
    code = np.setdiff1d(np.concatenate(lp.dropped), lp.pair_u * n_reps + lp.pair_r)
    lp.dropped = []
    if len(code) == 0:
        return False
    _add_pairs(p, u, lp, code // n_reps, code % n_reps)
    lp.priced -= len(code)
    lp.restored += len(code)
    return True


def _run_highs(lp: _LP) -> None:
    """One HiGHS run within the time limit. HiGHS 1.x measures its time limit against the instance's total run
    time (ERGO-Code/HiGHS#1477, to change in 2.0), so each run is allowed the limit from where it starts:
    otherwise the first pass, the pricing re-solves and the travel passes shared one 120 s between them
    (100,000 x 200 with three metrics stopped in its travel pass on a machine where every solve fit)."""
    lp.h.setOptionValue("time_limit", float(lp.h.getRunTime()) + lp.time_limit_s)
    lp.h.run()
    interrupts.check()  # a run that Ctrl-C stopped is no solution to go on with


def _run(p: _Problem, u: _Units, lp: _LP, scale: dict[str, float]) -> None:
    """Solve, then add the pairs that price out and re-solve until none does: the LP is then optimal over every
    (unit, rep) pair (lp.priced_out). No cap on rounds (30 rounds left three metrics at 100,000 x 200 12% beyond
    their bands, silently); only the time limit stops it, in this process's CPU seconds over the whole sequence
    (each HiGHS run also has it in wall-clock seconds), and then lp.priced_out stays False, so _optimal says no
    and the caller says the time limit stopped the solver. CPU, not wall-clock: on a busy machine the rounds
    take 2-3x their CPU time and a pass that fits would be cut."""
    lp.priced_out = False
    start = time.process_time()
    _run_highs(lp)
    status = lp.h.getModelStatus()
    if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit) and _restore(p, u, lp):
        _run_highs(lp)
    while lp.h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        add_u, add_r = _price(p, u, lp, scale)
        if len(add_u) == 0:
            lp.priced_out = True
            return
        if time.process_time() - start > lp.time_limit_s:
            return
        lp.pricing_rounds += 1
        _purge(lp)
        _add_pairs(p, u, lp, add_u, add_r)
        _run_highs(lp)


def _top3(p: _Problem) -> bool:
    """Several bands: the top-3 pass runs (passes.TOP3_TRAVEL_SLACK)."""
    return p.bm.shape[1] > 1


def _travel_objective(
    scale: dict[str, float], compactness: float, moved: float, count: float, far: float = 0.0
) -> tuple[float, ...]:
    """Travel (and, with compactness > 0, travel squared over the scale, which keeps far accounts near
    home), then moved share and moved accounts, and `far` (in nearest-rep mean travels) per account given a
    rep not among its 3 nearest."""
    t = _C_TRAVEL / (scale["n"] * scale["km"])
    return (t, moved, count, t * compactness, far * t * scale["km"])


def _set_objective(lp: _LP, objective: tuple[float, ...], z_cost: float, cap_cost: float) -> None:
    lp.objective = objective
    n_cols = lp.off + lp.n_pairs
    co = {"travel": lp.travel, "moved": lp.moved, "count": lp.count, "spread": lp.spread, "far": lp.far}
    cost = np.concatenate([[z_cost], np.full(len(lp.cap_cols), cap_cost), _cost(objective, co)])
    lp.h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)


def _row_sides(y: np.ndarray, row_lo: np.ndarray, row_hi: np.ndarray, n_units: int) -> float:
    """The Lagrangian's constant from the rows other than the unit rows: the best of y_i * v over v in
    [lo_i, hi_i]. A y of the wrong sign for an infinite side is set to 0 in `y` (which keeps the bound valid)."""
    yo = y[n_units:]
    lo, hi = row_lo[n_units:], row_hi[n_units:]
    yo = np.where((yo > 0) & ~np.isfinite(lo), 0.0, yo)
    yo = np.where((yo < 0) & ~np.isfinite(hi), 0.0, yo)
    y[n_units:] = yo
    return float(np.sum(np.where(yo > 0, yo * np.where(np.isfinite(lo), lo, 0), yo * np.where(np.isfinite(hi), hi, 0))))


def _lagrange_bound(
    p: _Problem,
    lp: _LP,
    scale: dict[str, float],
    members: sparse.csr_matrix | None = None,
    objective: tuple[float, ...] | None = None,
    moved_hi: float | None = None,
) -> float:
    """A true lower bound on the travel objective over every account x rep pair with accounts
    divisible: the Lagrangian of the current LP's band, capacity, moved and travel rows at its duals
    (valid for any duals; equal to the LP's value when the LP is over accounts and priced out).
    `members` (units x movable accounts) when whole areas move: each area, not each account, then goes
    to one rep (areas divisible), the bound of the problem solved (per account it would be far below it).
    `objective` (default the LP's) and `moved_hi` (default the moved row's bound) bound another problem at the
    same duals: still a true bound, if a looser one. Returns travel units summed over the movable accounts
    (pinned accounts excluded)."""
    y = _duals(lp)["all"].copy()
    lp_model = lp.h.getLp()
    row_hi = np.array(lp_model.row_upper_, dtype=float)
    if moved_hi is not None:
        row_hi[lp.moved_row] = moved_hi
    col_lo = np.asarray(lp_model.col_lower_)
    col_hi = np.asarray(lp_model.col_upper_)
    col_cost = np.asarray(lp_model.col_cost_)
    objective = lp.objective if objective is None else objective
    a_t = objective[0]
    t_scale = scale["n"] * scale["km"]
    n_units = lp.n_units
    const = _row_sides(y, np.asarray(lp_model.row_lower_), row_hi, n_units)
    lay = lp.layout
    n_reps, n_bands = lay["n_reps"], lay["n_bands"]
    band = y[n_units : n_units + 2 * n_bands * n_reps].reshape(2, n_bands, n_reps)
    band_y = band[0] + band[1]
    base = n_units + 2 * n_bands * n_reps
    cap_y = y[base : base + n_reps] if lp.cap_enforced else np.zeros(n_reps)
    moved_y, travel_y = float(y[lp.moved_row]), float(y[lp.travel_row])
    # z and the capacity slacks: their reduced cost at the bound that minimises it.
    n_side = lp.off
    side_rows_dot = np.zeros(n_side)
    z_rows = np.concatenate([n_units + m * n_reps + np.arange(n_reps) for m in range(2 * n_bands)])
    z_vals = np.concatenate([np.tile(-p.target, n_bands), np.tile(p.target, n_bands)])
    side_rows_dot[0] = float(y[z_rows] @ z_vals)
    for i, c in enumerate(lp.cap_cols):
        side_rows_dot[c] = -float(y[base + i])
    rc_side = col_cost[:n_side] - side_rows_dot
    side = 0.0
    for rc_j, lo_j, hi_j in zip(rc_side, col_lo[:n_side], col_hi[:n_side], strict=True):
        side += min(rc_j * lo_j, rc_j * hi_j if math.isfinite(hi_j) else (-math.inf if rc_j < 0 else 0.0))
    # Every movable account goes to one rep: the least reduced cost over all reps, account by account.
    pos = np.flatnonzero(~p.pinned)
    own = p.owner[pos]
    total = np.full(len(pos) if members is None else members.shape[0], np.inf)
    for reps in _rep_chunks(p, len(pos)):
        dist = _dist_block(p, pos, reps)
        km = dist if p.distance is None else _hours_km_block(p, pos, reps)
        moves = ((own >= 0)[:, None] & (own[:, None] != reps[None, :])).astype(float)
        moved = p.b[pos][:, None] * moves
        hours = p.hours_fixed[pos][:, None] + p.hours_per_km[pos][:, None] * km
        co = {"travel": dist, "moved": moved, "count": moves, "spread": dist * dist / p.spread_scale}
        if objective[4]:
            co["far"] = _far(dist, lp.layout["third"][pos])
        rc = _cost(objective, co)
        rc -= p.bm[pos] @ band_y[:, reps]
        rc -= hours / lp.hscale * cap_y[reps][None, :]
        rc -= moved_y * moved + travel_y * dist / t_scale
        total = np.minimum(total, (rc if members is None else members @ rc).min(axis=1))
    value = float(np.sum(total)) + const + side
    return value / a_t if a_t > 0 else float("nan")


def _resolve(
    p: _Problem,
    u: _Units,
    lp: _LP,
    base: np.ndarray,
    objective: str,
    z_ub: float,
    moved_ub: float,
    scale: dict[str, float],
    travel_ub: float = math.inf,
    cap_ub: np.ndarray | None = None,
) -> float:
    """Re-solve the LP over all pairs (warm-started, priced) with balance no worse than z_ub, capacity
    use no worse than in `base` (the first pass's solution; or each rep's overflow at most `cap_ub`, in the
    capacity rows' units), at most moved_ub of the metric moved and at most travel_ub of travel on the
    movable accounts. objective: "travel" (least travel, a small price
    on moves as a tie-break), "travel_only" (the LP bound) or "moved" (least disruption)."""
    h = lp.h
    if cap_ub is None:
        cap_ub = base[lp.cap_cols] if len(lp.cap_cols) else np.zeros(0)
    t = _C_TRAVEL / (scale["n"] * scale["km"])
    if objective == "moved":
        obj: tuple[float, ...] = (0.0, _C_MOVED, _C_COUNT / scale["n"], 0.0, 0.0)
    elif objective == "travel":
        # Several bands: least travel alone; the top-3 pass then spends the compactness term among its optima.
        compact = 0.0 if _top3(p) else p.compactness
        obj = _travel_objective(scale, compact, 0.001 * _C_MOVED, 0.001 * _C_COUNT / scale["n"])
    elif objective == "top3":
        obj = _travel_objective(scale, p.compactness, 0.001 * _C_MOVED, 0.001 * _C_COUNT / scale["n"], TOP3_WEIGHT)
    else:
        obj = (t, 0.0, 0.0, 0.0, 0.0)
    _set_objective(lp, obj, 0.0, 0.0)
    h.changeColBounds(lp.z_col, 0.0, max(z_ub, float(base[lp.z_col])) + 1e-9)
    for c, v in zip(lp.cap_cols, cap_ub, strict=True):
        h.changeColBounds(int(c), 0.0, float(v) + 1e-9)
    h.changeRowBounds(lp.moved_row, -highspy.kHighsInf, moved_ub + 1e-9)
    t_ub = highspy.kHighsInf if not math.isfinite(travel_ub) else travel_ub / (scale["n"] * scale["km"])
    h.changeRowBounds(lp.travel_row, -highspy.kHighsInf, t_ub)
    start = time.perf_counter()
    _run(p, u, lp, scale)
    return time.perf_counter() - start


def _from_least_basis(lp: _LP) -> bool:
    """Start the next solve from the basis of the passes' last least-travel solve (the columns priced in since
    sit at zero) instead of where the LP is now. The bound is that same objective with other bounds on a few
    columns and rows, so the dual simplex only repairs those: from the top-3 pass's basis it took 52,923
    iterations and 92 s at 20,000 x 200 with three metrics. False when there is no such basis."""
    basis = lp.least_basis
    if basis is None or not basis.valid:
        return False
    n_cols = lp.h.getNumCol()
    start = basis.col_status
    if len(start) < n_cols:
        start = [*start, *[highspy.HighsBasisStatus.kLower] * (n_cols - len(start))]
    full = highspy.HighsBasis()
    full.col_status = start
    full.row_status = basis.row_status
    full.valid = True
    full.alien = False
    return lp.h.setBasis(full) == highspy.HighsStatus.kOk


def _optimal(lp: _LP) -> bool:
    """Optimal over every pair: HiGHS solved the LP over its columns and none outside priced out."""
    return lp.priced_out and lp.h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def _timed_out(lp: _LP) -> bool:
    """The time limit stopped HiGHS, or pricing before the LP was optimal over every pair."""
    return lp.h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit or (_solved(lp) and not lp.priced_out)


def _solved(lp: _LP) -> bool:
    return lp.h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def _integral_units(
    lp: _LP, opts: Options, scale: dict[str, float], n_reps: int, moved_ub: float, travel_ub: float = math.inf
) -> float:
    """Whole geographic units: solve the assignment as a MIP (balance >> moves >> travel) over the LP's
    columns within the moved budget and, when it can, the travel cap, with a node limit so the result is
    deterministic; the repair pass still follows. The MIP is a copy of the LP solved in a worker process that is
    killed if HiGHS overruns its time limit (mipguard); the LP and its basis stay as they were."""
    h = lp.h
    n = lp.n_pairs
    _set_objective(lp, lp.pass1, _C_BALANCE, _C_CAPACITY / n_reps)
    h.changeColBounds(lp.z_col, 0.0, highspy.kHighsInf)
    for c in lp.cap_cols:
        h.changeColBounds(int(c), 0.0, highspy.kHighsInf)
    h.changeRowBounds(lp.moved_row, -highspy.kHighsInf, moved_ub + 1e-9)
    model = h.getLp()
    kinds = [highspy.HighsVarType.kContinuous] * model.num_col_
    kinds[lp.off : lp.off + n] = [highspy.HighsVarType.kInteger] * n
    model.integrality_ = kinds
    options = (("random_seed", 0), ("threads", 1), ("parallel", "off"), ("time_limit", float(lp.time_limit_s)),
               ("mip_max_nodes", MIP_MAX_NODES), ("mip_rel_gap", 1e-6))  # fmt: skip
    start = time.perf_counter()
    lp.mip_x = None
    # With the travel cap first; whole units may not fit under it, then without.
    for cap in (travel_ub, math.inf) if math.isfinite(travel_ub) else (math.inf,):
        t_ub = highspy.kHighsInf if not math.isfinite(cap) else cap / (scale["n"] * scale["km"])
        h.changeRowBounds(lp.travel_row, -highspy.kHighsInf, t_ub)
        row_upper = np.asarray(model.row_upper_, dtype=float)
        row_upper[lp.travel_row] = t_ub
        model.row_upper_ = row_upper
        answer = solve_mip(model, options)
        if answer.x is not None:
            lp.mip_x = answer.x[lp.off : lp.off + n].copy()
            break
    return time.perf_counter() - start
