"""Several bands at once: the band repair by neighbourhoods (a large-neighbourhood search with small MIPs).

The move-and-swap repair (planner.optimize.bands) changes one or two accounts at a time. Where many territories of
about a hundred accounts each sit just outside a band after rounding (20,000 accounts, 200 reps, three metrics:
153 territories up to 3.2% outside, potential, accounts and workload each within 5%), no single move or swap lowers
their excess, and it stops. Here the territory furthest outside a band and a few reps around it (its nearest, and
the nearest ones with room on the other side of that band) are re-assigned together by a small MIP (HiGHS): every
one of their movable accounts may go to any of them, each band is kept with penalised slack, and, once the bands
hold, travel and moves are what it minimises. A neighbourhood's answer is kept when the worst excess over any band
falls (or holds while the summed excess falls), so the result is never worse than its start. Deterministic: a node
budget, one thread, a fixed seed; the time limit is only a safety net.
"""

from __future__ import annotations

import math
import time

import highspy
import numpy as np
from scipy import sparse

from planner.optimize.geometry import _bincount
from planner.optimize.lp import _fixed_loads
from planner.optimize.mipguard import solve_mip
from planner.optimize.problem import _dist, _loads, _moved_at, _moved_share, _Problem

# Reps in one neighbourhood: the territory out of band, its nearest reps and the nearest with room (HOOD // 2).
HOOD = 6
# At most this many of a rep's movable accounts join a neighbourhood's MIP (the cheapest to give another of its reps);
# the others stay. Keeps each MIP at about HOOD x ACCOUNTS_PER_REP x HOOD pairs on any territory size.
ACCOUNTS_PER_REP = 150
# A neighbourhood's MIP: this many branch-and-bound nodes, this gap, this time limit (a safety net).
MIP_NODES = 20
MIP_GAP = 0.02
MIP_TIME_LIMIT_S = 10.0
# HiGHS options of that MIP beyond the above. From a start solution HiGHS 1.16 nests sub-MIP heuristics (RENS,
# RINS, root reduced cost) and a sub-MIP's presolve (strengthenInequalities) ignores the time limit: on 20,000 x 200
# with three metrics the 25th neighbourhood ran 20+ CPU-minutes (RENS five deep), on 100,000 x 200 the 24th (RINS).
# Every presolve rule off and RENS off: 1.4 s, objective 2.357 against an optimum of 2.338 (both heuristics off
# instead: 28.8 at 20 nodes).
MIP_OPTIONS: tuple[tuple[str, object], ...] = (("mip_heuristic_run_rens", False), ("presolve_rule_off", 0xFFFF))
# At most STEPS_PER_TERRITORY neighbourhoods per territory outside a band at the start (plus MIN_STEPS), and a quarter
# of the solver's time limit (CPU seconds), as contiguity takes: 20,000 x 200 closed 153 in 94 (110 CPU-s).
STEPS_PER_TERRITORY = 3
MIN_STEPS = 20
BUDGET_SHARE = 0.25
# Price of a pair's travel (in mean travels to the nearest rep) and of an account leaving its owner (one such
# travel), next to SLACK_PRICE per target share outside a band: bands first, then travel and moves. On 20,000 x 200 a
# price ten times higher kept travel 1% lower and took three times as long (190 s against 69 s).
TRAVEL_PRICE = 1e-3
SLACK_PRICE = 1e3
# The MIP's bands lie this share of a target inside the true ones.
INSIDE = 1e-6


def _excess(p: _Problem, load: np.ndarray) -> np.ndarray:
    """(n_reps, n_bands): how far each territory lies outside each band, as a share of its target."""
    t = p.target[:, None]
    lo, hi = t * (1 - p.tols[None, :]), t * (1 + p.tols[None, :])
    out = np.maximum(np.maximum(load - hi, lo - load), 0.0) / t
    return np.where(out > 1e-9, out, 0.0)  # the report's tolerance (quality.band_figures)


def _pinned_over(p: _Problem) -> float:
    """The most any territory's pinned accounts alone lie over one of its bands (a share of its target)."""
    load = _fixed_loads(p).T  # (n_reps, n_bands)
    return float(np.max(load / p.target[:, None] - (1 + p.tols[None, :]), initial=0.0))


def _hood(p: _Problem, load: np.ndarray, r: int, order: np.ndarray) -> np.ndarray:
    """Rep r, the nearest reps with room on the other side of r's worst band (HOOD // 2 of them), and its nearest."""
    t = p.target[:, None]
    dev = (load - t) / t
    m = int(np.argmax(_excess(p, load)[r]))
    room = -np.sign(dev[r, m]) * dev[:, m] > 0.01
    others = order[r][order[r] != r]
    with_room = [int(q) for q in others if room[q]][: HOOD // 2]
    near = [int(q) for q in others if q not in with_room][: HOOD - 1 - len(with_room)]
    return np.sort(np.array([r, *near, *with_room], dtype=np.int64))


def _hood_accounts(p: _Problem, assign: np.ndarray, reps_h: np.ndarray) -> np.ndarray:
    """The movable accounts of the neighbourhood's reps that join its MIP: per rep, the ACCOUNTS_PER_REP whose
    travel to another of these reps adds least."""
    out = []
    for r in reps_h.tolist():
        mine = np.flatnonzero((assign == r) & ~p.pinned)
        if len(mine) > ACCOUNTS_PER_REP:
            others = reps_h[reps_h != r]
            here = _dist(p, mine, np.full(len(mine), r))
            best = np.min([_dist(p, mine, np.full(len(mine), q)) for q in others.tolist()], axis=0)
            mine = mine[np.argsort(best - here, kind="stable")[:ACCOUNTS_PER_REP]]
        out.append(mine)
    return np.sort(np.concatenate(out))


def _hood_model(
    p: _Problem, assign: np.ndarray, reps_h: np.ndarray, acc: np.ndarray, moved_left: float = math.inf
) -> tuple[highspy.HighsLp, dict]:
    """The neighbourhood's MIP: each account in `acc` to one of `reps_h`; each band a ranged row per rep (in target
    shares) with an over and an under slack; the rest of each territory's load fixed; and, with a finite
    `moved_left`, a row holding the share of the metric its accounts move away from their owners to at most that."""
    n_bands, nh, na = p.bm.shape[1], len(reps_h), len(acc)
    a_idx, r_loc = np.repeat(np.arange(na), nh), np.tile(np.arange(nh), na)
    pos, rep = acc[a_idx], reps_h[r_loc]
    n_pairs, n_sl = len(pos), nh * n_bands
    t = p.target[reps_h]
    moves = ((p.owner[pos] >= 0) & (p.owner[pos] != rep)).astype(float)
    travel = _dist(p, pos, rep) / max(p.spread_scale, 1e-9)
    rows = [a_idx] + [na + m * nh + r_loc for m in range(n_bands)] + [na + np.arange(n_sl)] * 2
    cols = [np.arange(n_pairs)] * (n_bands + 1) + [n_pairs + np.arange(n_sl), n_pairs + n_sl + np.arange(n_sl)]
    vals = [np.ones(n_pairs)] + [p.bm[pos, m] / t[r_loc] for m in range(n_bands)] + [-np.ones(n_sl), np.ones(n_sl)]
    n_rows = na + n_sl + int(math.isfinite(moved_left))
    if n_rows > na + n_sl:
        rows, cols = rows + [np.full(n_pairs, na + n_sl)], cols + [np.arange(n_pairs)]
        vals = vals + [_moved_at(p, pos, rep)]
    a = sparse.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, n_pairs + 2 * n_sl)
    )
    rest = np.flatnonzero(np.isin(assign, reps_h))
    rest = rest[~np.isin(rest, acc)]
    where = np.searchsorted(reps_h, assign[rest])
    fixed = [_bincount(where, weights=p.bm[rest, m], minlength=nh) / t for m in range(n_bands)]
    n_cols = n_pairs + 2 * n_sl
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n_cols, n_rows
    model.col_cost_ = np.concatenate([TRAVEL_PRICE * (travel + moves), np.full(2 * n_sl, SLACK_PRICE)])
    model.col_lower_ = np.zeros(n_cols)
    model.col_upper_ = np.concatenate([np.ones(n_pairs), np.full(2 * n_sl, highspy.kHighsInf)])
    # A hair inside each band, so that HiGHS's feasibility tolerance (1e-7) still lands inside the report's.
    inner = [min(float(p.tols[m]) / 2, INSIDE) for m in range(n_bands)]
    budget = (
        [np.array([-highspy.kHighsInf])] * (n_rows - na - n_sl),
        [np.array([max(moved_left, 0.0)])] * (n_rows - na - n_sl),
    )
    model.row_lower_ = np.concatenate(
        [np.ones(na)] + [1 - p.tols[m] + inner[m] - fixed[m] for m in range(n_bands)] + budget[0]
    )
    model.row_upper_ = np.concatenate(
        [np.ones(na)] + [1 + p.tols[m] - inner[m] - fixed[m] for m in range(n_bands)] + budget[1]
    )
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = a.indptr.astype(np.int32)
    model.a_matrix_.index_ = a.indices.astype(np.int32)
    model.a_matrix_.value_ = a.data.astype(float)
    model.integrality_ = [highspy.HighsVarType.kInteger] * n_pairs + [highspy.HighsVarType.kContinuous] * (2 * n_sl)
    return model, {"pos": pos, "rep": rep, "start": (rep == assign[pos]).astype(float), "n_pairs": n_pairs}


def _solve_hood(
    p: _Problem, assign: np.ndarray, reps_h: np.ndarray, moved_cap: float | None = None
) -> tuple[np.ndarray | None, float, bool]:
    """The neighbourhood's best assignment (from today's as a starting solution), None when HiGHS finds none (or
    overran its time limit and was killed: mipguard), the CPU seconds its MIP took, and whether it was killed.
    With `moved_cap`, the whole assignment moves at most that share of the metric."""
    acc = _hood_accounts(p, assign, reps_h)
    if len(acc) == 0:
        return None, 0.0, False
    left = math.inf
    if moved_cap is not None:  # what the accounts outside the MIP move stays; the MIP's may move the rest
        left = moved_cap - _moved_share(p, assign) + float(_moved_at(p, acc, assign[acc]).sum())
    model, pairs = _hood_model(p, assign, reps_h, acc, left)
    options = (("random_seed", 0), ("threads", 1), ("mip_max_nodes", MIP_NODES), ("mip_rel_gap", MIP_GAP),
               ("time_limit", MIP_TIME_LIMIT_S), *MIP_OPTIONS)  # fmt: skip
    start = np.concatenate([pairs["start"], np.zeros(model.num_col_ - pairs["n_pairs"])])
    answer = solve_mip(model, options, start)
    if answer.x is None:
        return None, answer.seconds, answer.killed
    pick = answer.x[: pairs["n_pairs"]] > 0.5
    new = assign.copy()
    new[pairs["pos"][pick]] = pairs["rep"][pick]
    return new, answer.seconds, False


def _repair_hoods(
    p: _Problem, assign: np.ndarray, budget_s: float, moved_cap: float | None = None
) -> tuple[np.ndarray, dict[str, float]]:
    """Re-assign neighbourhoods around the territory furthest outside a band until every territory is inside all
    its bands, none can improve (each one outside was tried since the last gain), or a quarter of budget_s CPU
    seconds have passed, or STEPS_PER_TERRITORY neighbourhoods per territory outside at the start. Not at all
    when pinned accounts alone put a territory over a band: then the others cannot all reach theirs either (the
    rest is too little to share), and the neighbourhoods, chasing what no assignment reaches, doubled travel
    (20,000 x 200, customers and open deals staying: 2.0x the bound against 1.009x). Returns the assignment and
    what it did. With `moved_cap` (the user's budget) no neighbourhood takes the moved share above it."""
    if _pinned_over(p) > 1e-9:
        return assign, {"band_hood_steps": 0.0, "band_hood_kept": 0.0, "band_hood_seconds": 0.0,
                        "band_hood_stopped_by_time": 0.0, "band_hood_skipped_pinned_over": 1.0,
                        "band_hood_killed": 0.0}  # fmt: skip
    order = np.argsort(np.linalg.norm(p.homes[:, None, :] - p.homes[None, :, :], axis=2), axis=1, kind="stable")
    failed = np.zeros(len(p.reps), dtype=bool)  # tried without gain since the last kept answer
    start, steps, kept, killed, mip_s = time.process_time(), 0, 0, 0, 0.0

    def spent() -> float:  # this process's CPU seconds and the MIP workers'
        return time.process_time() - start + mip_s

    ex = _excess(p, _loads(p, assign)).max(axis=1)
    max_steps = STEPS_PER_TERRITORY * int((ex > 0).sum()) + MIN_STEPS
    budget_s *= BUDGET_SHARE
    while ex.max() > 0 and spent() < budget_s and steps < max_steps:
        cand = np.where(failed, 0.0, ex)
        if cand.max() <= 0:  # every territory outside a band was tried since the last gain: none can improve
            break
        r = int(np.argmax(cand))
        steps += 1
        new, seconds, was_killed = _solve_hood(p, assign, _hood(p, _loads(p, assign), r, order), moved_cap)
        mip_s += seconds
        killed += was_killed
        ex_new = ex if new is None else _excess(p, _loads(p, new)).max(axis=1)
        if new is not None and (ex_new.max() < ex.max() - 1e-12 or (
            ex_new.max() <= ex.max() + 1e-12 and ex_new.sum() < ex.sum() - 1e-6
        )):  # fmt: skip
            assign, ex, kept = new, ex_new, kept + 1
            failed[:] = False
        else:
            failed[r] = True
    return assign, {
        "band_hood_steps": float(steps),
        "band_hood_kept": float(kept),
        "band_hood_seconds": spent(),
        "band_hood_stopped_by_time": float(ex.max() > 1e-12 and spent() >= budget_s),
        "band_hood_stopped_by_steps": float(ex.max() > 1e-12 and steps >= max_steps),
        "band_hood_killed": float(killed),  # MIPs that overran their time limit (mipguard): tried, without gain
    }
