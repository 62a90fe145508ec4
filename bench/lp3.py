"""Three bands at 200 reps: the LP over ALL (unit, rep) pairs with each band as a row, and what rounding reaches.

python bench/lp3.py 20000x200          # dual simplex over all pairs (~2 CPU-min), then three roundings (~2 more)
python bench/lp3.py 20000x200 ipm      # interior point without crossover (~1 CPU-min); its big-accounts MIP runs long
python bench/lp3.py --help             # this text

The LP is the product's travel pass without its minimax column: bands aimed at 90% of each tolerance (as
rebalance aims), moved share at most 1.45x the least that must move, travel + compactness + a small price on moves.
One JSON line per step: the LP (CPU-s, objective, fractional units), then each rounding's largest deviation per
band (a share of the target; 0.05 is the band) and mean travel: split by shares (rounding._split) and the band
repair; an LP over the fractional units' accounts, then a MIP over the accounts it leaves fractional, and the
repair. It measures the two things the three-metric 100,000 x 200 row needs (bench/RESULTS.md, 2026-12-02).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import highspy
import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.optimizer import balanced_world
from planner.optimize import Options
from planner.optimize.bands import _repair_bands
from planner.optimize.geometry import _bincount
from planner.optimize.lp import _C_COUNT, _C_MOVED, _travel_objective, new_solver
from planner.optimize.pricing import _cost, _rep_chunks, _unit_block
from planner.optimize.problem import _dist, _nearest_reps, _prepare, _Problem, _Units, _units
from planner.optimize.report import _min_moved
from planner.optimize.rounding import _split
from planner.optimize.solve import BAND_MARGIN, _scale

# The elastic slack's cost per target share beyond a band (rounding only; the LP's bands are hard).
SLACK_COST = 1e4
# Accounts above this share of a target on any band are whole (binary) in _big_mip's MIP.
BIG_SHARE = 0.05
# The MIP over the accounts the account LP leaves fractional stops after this many nodes.
MIP_MAX_NODES = 50
# _big_mip's MIP stops at its root node: with 50 nodes it took 99 CPU-s from the simplex vertex at 20,000 x 200
# and over 8 CPU-min from the interior point (more fractional units), for rows still out of band.
BIG_MIP_NODES = 1


def _model(cost: np.ndarray, mat: sparse.csc_matrix, lo: np.ndarray, hi: np.ndarray, ub: np.ndarray) -> highspy.HighsLp:
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = mat.shape[1], mat.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(mat.shape[1])
    lp.col_upper_ = ub
    lp.row_lower_ = lo
    lp.row_upper_ = hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data.astype(float)
    return lp


def all_pairs_lp(p: _Problem, u: _Units, opts: Options, solver: str) -> tuple[np.ndarray, dict[str, object]]:
    """The LP over every (unit, rep) pair: each unit placed, each band a row within p's tolerance (the caller aims
    inside: 90% of it), the moved share at most 1.45x the least; travel + compactness + moves. Returns x (units x
    reps) and its figures."""
    scale = _scale(p)
    tabs = [_unit_block(p, u, reps) for reps in _rep_chunks(p, len(u.movable))]
    tab = {k: np.hstack([b[k] for b in tabs]) for k in ("travel", "spread", "moved", "count")}
    obj = _travel_objective(scale, p.compactness, 0.001 * _C_MOVED, 0.001 * _C_COUNT / scale["n"])
    n_u, n_r, n_b = len(u.weight), len(p.reps), p.bm.shape[1]
    wm = np.stack([_bincount(u.of_account, weights=p.bm[u.movable, m], minlength=n_u) for m in range(n_b)], 1)
    cu, cr = np.divmod(np.arange(n_u * n_r), n_r)
    rows = [cu] + [n_u + m * n_r + cr for m in range(n_b)] + [np.full(len(cu), n_u + n_b * n_r)]
    vals = [np.ones(len(cu))] + [wm[cu, m] for m in range(n_b)] + [tab["moved"].ravel()]
    mat = sparse.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.tile(np.arange(len(cu)), n_b + 2))),
        shape=(n_u + n_b * n_r + 1, len(cu)),
    )
    tols = p.tols
    budget = 1.45 * _min_moved(p, opts.tolerance) - scale["forced_moved"]
    lo = np.concatenate([np.ones(n_u), (p.target[None, :] * (1 - tols[:, None])).ravel(), [-highspy.kHighsInf]])
    hi = np.concatenate([np.ones(n_u), (p.target[None, :] * (1 + tols[:, None])).ravel(), [budget]])
    h = new_solver()
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    if solver == "ipm":
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("run_crossover", "off")
    h.passModel(_model(_cost(obj, tab).ravel(), mat, lo, hi, np.ones(len(cu))))
    start = time.process_time()
    h.run()
    x = np.asarray(h.getSolution().col_value).reshape(n_u, n_r)
    return x, {
        "step": f"LP over all pairs ({solver})", "units": n_u, "pairs": len(cu), "status": h.modelStatusToString(h.getModelStatus()),
        "cpu_seconds": round(time.process_time() - start, 1), "objective": round(h.getInfo().objective_function_value, 4),
        "fractional_units": int(((x > 1e-6) & (x < 1 - 1e-6)).any(axis=1).sum()),
        "travel_km": round(float((x * tab["travel"]).sum()) / scale["n"], 1), "objective_terms": obj,
    }  # fmt: skip


def _pairs(
    p: _Problem, u: _Units, pair_u: np.ndarray, pair_r: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fractional units' accounts and their candidate reps (the reps holding a share of their unit), and the
    whole units' rep. Returns (pair item, pair rep, the accounts (positions), each unit's rep or -1 if split)."""
    n_units = len(u.weight)
    keep = x > 1e-9
    pu, pr, px = pair_u[keep], pair_r[keep], x[keep]
    order = np.lexsort((pr, -px, pu))
    pu, pr, px = pu[order], pr[order], px[order]
    first = np.searchsorted(pu, np.arange(n_units))
    has = first < len(pu)
    unit_rep = np.full(n_units, -1, dtype=np.int64)
    whole = has & (px[np.minimum(first, len(pu) - 1)] >= 1 - 1e-6)
    unit_rep[whole] = pr[first[whole]]
    split = ~whole & has
    acc_units = u.of_account
    items = np.flatnonzero(split[acc_units])  # index into u.movable
    # Each account's candidates: its unit's reps with a share.
    sel = split[pu]
    su, sr = pu[sel], pr[sel]
    counts = np.bincount(su, minlength=n_units)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    n_c = counts[acc_units[items]]
    it = np.repeat(np.arange(len(items)), n_c)
    offs = np.arange(n_c.sum()) - np.repeat(np.cumsum(n_c) - n_c, n_c)
    rep = sr[starts[acc_units[items]][it] + offs]
    return it, rep, u.movable[items], unit_rep


def _open_pairs(
    p: _Problem, assign: np.ndarray, items: np.ndarray, it: np.ndarray, rep: np.ndarray, objective: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a model over the accounts `items` (pairs it x rep): the band loads of every other account as
    assigned (metrics x reps), each pair's account position, and each pair's objective cost."""
    n_reps, n_bands = len(p.reps), p.bm.shape[1]
    rest = np.ones(len(p.acc), dtype=bool)
    rest[items] = False
    fixed = np.stack([_bincount(assign[rest], weights=p.bm[rest, m], minlength=n_reps) for m in range(n_bands)])
    pos = items[it]
    dist = _dist(p, pos, rep)
    moves = ((p.owner[pos] >= 0) & (p.owner[pos] != rep)).astype(float)
    cost = _cost(objective, {"travel": dist, "moved": p.b[pos] * moves, "count": moves,
                             "spread": dist * dist / p.spread_scale})  # fmt: skip
    return fixed, pos, cost


def _split_lp(
    p: _Problem, u: _Units, pair_u: np.ndarray, pair_r: np.ndarray, x: np.ndarray, objective: tuple[float, ...]
) -> np.ndarray:
    """Whole accounts from the unit LP's shares x (several bands, divisible units): whole units keep their rep,
    the fractional units' accounts are placed by an LP over their candidate reps within `p`'s bands, and the
    few accounts it leaves fractional by a MIP."""
    n_reps, n_bands = len(p.reps), p.bm.shape[1]
    it, rep, items, unit_rep = _pairs(p, u, pair_u, pair_r, x)
    assign = p.owner.copy()
    assign[u.movable] = unit_rep[u.of_account]
    if len(items) == 0:
        return assign
    fixed, pos, cost = _open_pairs(p, assign, items, it, rep, objective)
    xa = _band_model(p, it, rep, pos, cost, fixed, integer=False)
    n_i = len(items)
    order = np.lexsort((cost, -xa, it))
    first = order[np.searchsorted(it[order], np.arange(n_i))]
    assign[items] = rep[first]
    # The accounts the LP left fractional (a big account can hold half a territory's potential): a small MIP.
    frac_item = np.zeros(n_i, dtype=bool)
    frac_item[it[(xa > 1e-6) & (xa < 1 - 1e-6)]] = True
    if frac_item.any():
        rest = np.ones(len(p.acc), dtype=bool)
        rest[items[frac_item]] = False
        fixed = np.stack([_bincount(assign[rest], weights=p.bm[rest, m], minlength=n_reps) for m in range(n_bands)])
        sel = frac_item[it]
        new_it = np.cumsum(frac_item) - 1
        xm = _band_model(p, new_it[it[sel]], rep[sel], pos[sel], cost[sel], fixed, integer=True)
        sub_it, sub_rep = new_it[it[sel]], rep[sel]
        order = np.lexsort((cost[sel], -xm, sub_it))
        first = order[np.searchsorted(sub_it[order], np.arange(int(frac_item.sum())))]
        assign[items[frac_item]] = sub_rep[first]
    return assign


def _band_model(
    p: _Problem, it: np.ndarray, rep: np.ndarray, pos: np.ndarray, cost: np.ndarray, fixed: np.ndarray,
    integer: bool | np.ndarray,
    nodes: int = MIP_MAX_NODES,
) -> np.ndarray:  # fmt: skip
    """min cost'x: every item (it) on one of its reps, every band (fixed loads plus the items') within p's
    tolerance or paying an elastic slack. An LP, or a MIP (root node and a small node budget) when integer.
    Returns the pairs' values."""
    n_reps, n_bands = len(p.reps), p.bm.shape[1]
    n_i, n_p, n_s = int(it.max()) + 1, len(it), n_bands * n_reps
    cols = np.arange(n_p)
    rows = [it] + [n_i + m * n_reps + rep for m in range(n_bands)]
    vals = [np.ones(n_p)] + [p.bm[pos, m] for m in range(n_bands)]
    srow = n_i + np.arange(n_s)
    mat = sparse.csc_matrix(
        (np.concatenate(vals + [-np.ones(n_s), np.ones(n_s)]),
         (np.concatenate(rows + [srow, srow]), np.concatenate([np.tile(cols, n_bands + 1), n_p + np.arange(2 * n_s)]))),
        shape=(n_i + n_s, n_p + 2 * n_s),
    )  # fmt: skip
    t = np.tile(p.target, n_bands)
    lo = np.concatenate([np.ones(n_i)] + [p.target * (1 - p.tols[m]) - fixed[m] for m in range(n_bands)])
    hi = np.concatenate([np.ones(n_i)] + [p.target * (1 + p.tols[m]) - fixed[m] for m in range(n_bands)])
    ub = np.concatenate([np.ones(n_p), np.full(2 * n_s, highspy.kHighsInf)])
    lp = _model(np.concatenate([cost, np.tile(SLACK_COST / t, 2)]), mat, lo, hi, ub)
    h = new_solver()
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    mask = np.broadcast_to(np.asarray(integer, dtype=bool), (n_p,))
    if mask.any():
        kinds = [highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous]
        lp.integrality_ = [kinds[0] if b else kinds[1] for b in mask] + [kinds[1]] * (2 * n_s)
        h.setOptionValue("mip_max_nodes", nodes)
        h.setOptionValue("mip_rel_gap", 1e-3)
    h.passModel(lp)
    h.run()
    if h.getInfo().primal_solution_status != 2:
        raise RuntimeError(f"no solution ({h.modelStatusToString(h.getModelStatus())})")
    return np.asarray(h.getSolution().col_value)[:n_p]


def _big_mip(
    p: _Problem, u: _Units, pair_u: np.ndarray, pair_r: np.ndarray, x: np.ndarray, objective: tuple[float, ...],
    big: float = BIG_SHARE,
) -> np.ndarray:  # fmt: skip
    """Whole accounts from the unit LP's shares x: one MIP over the fractional units' accounts (their unit's reps)
    and every big account (above `big` of a target on any band; its rep now and its 3 nearest), the big ones
    binary, the rest continuous, every other account fixed, each band a row with an elastic slack. Continuous
    accounts then go to their largest share."""
    n_reps = len(p.reps)
    it, rep, items, unit_rep = _pairs(p, u, pair_u, pair_r, x)
    assign = p.owner.copy()
    assign[u.movable] = unit_rep[u.of_account]
    heavy = (p.bm / p.target.min()).max(axis=1) > big
    is_item = np.zeros(len(p.acc), dtype=bool)
    is_item[items] = True
    extra = np.flatnonzero(heavy & ~p.pinned & ~is_item)
    _, near = _nearest_reps(p, p.xyz[extra], 3, extra)
    cand = np.concatenate([assign[extra][:, None], near], axis=1)
    it2 = np.repeat(np.arange(len(extra)), cand.shape[1]) + len(items)
    items = np.concatenate([items, extra])
    it, rep = np.concatenate([it, it2]), np.concatenate([rep, cand.ravel()])
    code = np.unique(it * n_reps + rep)
    it, rep = code // n_reps, code % n_reps
    fixed, pos, cost = _open_pairs(p, assign, items, it, rep, objective)
    xa = _band_model(p, it, rep, pos, cost, fixed, integer=heavy[pos], nodes=BIG_MIP_NODES)
    order = np.lexsort((cost, -xa, it))
    first = order[np.searchsorted(it[order], np.arange(len(items)))]
    assign[items] = rep[first]
    return assign


def _figures(p: _Problem, assign: np.ndarray, step: str, seconds: float) -> dict[str, object]:
    """The largest deviation of any territory from its target per band (0.05 = the band's edge), mean travel."""
    n_r = len(p.reps)
    dev = [float(np.max(np.abs(_bincount(assign, weights=p.bm[:, m], minlength=n_r) / p.target - 1)))
           for m in range(p.bm.shape[1])]  # fmt: skip
    km = float(_dist(p, np.arange(len(p.acc)), assign).mean())
    return {"step": step, "max_deviation": dict(zip(p.band_labels, [round(d, 4) for d in dev], strict=True)),
            "travel_km": round(km, 1), "cpu_seconds": round(seconds, 1)}  # fmt: skip


def main(argv: list[str]) -> int:
    """Run the probe; 0 when done, 2 (and one line on stderr) on unknown arguments."""
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    size = argv[0].split("x") if argv else []
    solver = argv[1] if len(argv) > 1 else "simplex"
    if (
        len(argv) not in (1, 2)
        or len(size) != 2
        or not all(v.isdigit() for v in size)
        or solver not in ("simplex", "ipm")
    ):
        print("error: give a world as ACCOUNTSxREPS (e.g. 20000x200) and optionally ipm; see --help", file=sys.stderr)
        return 2
    n, k = int(size[0]), int(size[1])
    acc, reps = balanced_world(n, k, seed=1)
    opts = Options(metric="potential,accounts,workload", allow_customers=True, allow_open_deals=True)
    p = _prepare(acc, reps, opts)
    u = _units(p, opts)
    aim = replace(p, tols=p.tols * (1 - BAND_MARGIN))
    x, info = all_pairs_lp(aim, u, opts, solver)
    obj = info.pop("objective_terms")
    print(json.dumps({"world": argv[0], **info}), flush=True)
    pu, pr = np.nonzero(x > 1e-9)
    for label, rounding in (("split by shares", lambda: _split(p, u, pu, pr, x[pu, pr])),
                            ("account LP + MIP", lambda: _split_lp(aim, u, pu, pr, x[pu, pr], obj)),
                            ("big accounts binary MIP", lambda: _big_mip(aim, u, pu, pr, x[pu, pr], obj))):  # fmt: skip
        start = time.process_time()
        assign = rounding()
        print(json.dumps({"world": argv[0], **_figures(p, assign, label, time.process_time() - start)}), flush=True)
        start = time.process_time()
        repaired, rinfo = _repair_bands(p, assign)
        row = _figures(p, repaired, label + " + band repair", time.process_time() - start)
        print(json.dumps({"world": argv[0], **row, **rinfo}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
