"""Optimizer benchmark: the greedy baseline, demo-world inputs without a store, and the quality checks.

python bench/optimizer.py 20000 24                       # optimizer vs greedy on one world
python bench/optimizer.py quality 5000x40 20000x24 > q.jsonl  # the territory quality runs (JSON lines)
python bench/optimizer.py quality skewed:20000x24            # ... on a world one rep holds 5.5x of (random owners)
python bench/optimizer.py ctdp > c.jsonl                     # commercial territory design instances
python bench/optimizer.py top3 skewed:20000x24               # the most top-3-nearest share balance allows (LPs)
python bench/optimizer.py p95 skewed:20000x24                # whether balance allows halving the p95 travel (LPs)
python bench/optimizer.py table quality q.jsonl              # the markdown table (also: table ctdp c.jsonl)
python bench/optimizer.py --help                             # this text
BENCH_TIME_LIMIT_S=3000 python bench/optimizer.py quality 100000x200  # the solver's time limit of the quality runs (120 s)

Worlds are demo worlds (seed 11 for the comparison, 1 for quality); an unknown argument exits 2.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: bench/ctdp.py beside it

from bench import ctdp as ctdp_files
from planner import demo
from planner import potential as pot_mod
from planner.errors import BadInput
from planner.optimize import Options, Result, mipguard, rebalance
from planner.optimize.geometry import _bincount, _chord_km, _nearest
from planner.optimize.problem import _prepare
from planner.optimize.report import _min_moved, _report

# `top3`: the LP over every account x rep pair up to this many pairs (20,000 x 24: minutes; 20,000 x 200 did not end
# in 100 minutes); the pooled bound (top3_pooled) at every size.
TOP3_LP_MAX_PAIRS = 1_000_000


def greedy_rebalance(accounts: pd.DataFrame, reps: pd.DataFrame, options: Options | None = None) -> Result:
    """A simple baseline for the benchmark: repeatedly move the account from the fullest territory to
    the nearest territory below its target that adds the least travel, until every one is in band."""
    opts = options or Options()
    t0 = time.perf_counter()
    p = _prepare(accounts, reps, opts)
    n_reps = len(p.reps)
    _, near = _nearest(p.xyz, p.homes, 1)
    assign = np.where(p.owner >= 0, p.owner, near[:, 0])
    load = _bincount(assign, weights=p.b, minlength=n_reps)
    hi = p.target * (1 + opts.tolerance)
    k = min(n_reps, max(opts.candidates, 4))
    km, idx = _nearest(p.xyz, p.homes, k)
    movable = ~p.pinned
    for _ in range(20 * n_reps):
        r = int(np.argmax(load / p.target))
        if load[r] <= hi[r] + 1e-12:
            break
        mine = np.flatnonzero((assign == r) & movable)
        # Each of r's accounts goes to its nearest candidate rep that has room now, cheapest detour first,
        # until r is back in its band (room is re-checked account by account).
        room = (load[idx[mine]] + p.b[mine, None] <= hi[idx[mine]]) & (idx[mine] != r)
        has = room.any(axis=1)
        if not has.any():
            break
        mine, room = mine[has], room[has]
        first = room.argmax(axis=1)
        here = _chord_km(np.linalg.norm(p.xyz[mine] - p.homes[r], axis=1))
        add = km[mine, first] - here
        moved_any = False
        for j in np.lexsort((mine, add)):
            a, to = int(mine[j]), int(idx[mine[j], first[j]])
            if load[r] <= hi[r] + 1e-12:
                break
            if load[to] + p.b[a] > hi[to] or p.b[a] > (load[r] - p.target[r]) * 1.5 + 1e-15:
                continue
            assign[a] = to
            load[r] -= p.b[a]
            load[to] += p.b[a]
            moved_any = True
        if not moved_any:
            break
    total = time.perf_counter() - t0
    return _report(p, None, opts, assign, {"solve_seconds": total}, {"solver": "greedy"})


def world_inputs(world: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Optimizer inputs from an in-memory demo World (planner.demo.build_world), without a store."""
    acc = world.accounts.copy()
    adoption = acc["industry"].map(pot_mod.DEFAULT_ADOPTION).fillna(pot_mod.DEFAULT_SHARE)
    acc["potential"] = np.round(acc["employees"] * adoption) * pot_mod.default_price()
    acc["is_customer"] = acc["account_type"].eq("Customer")
    open_accts = set(world.deals.loc[~world.deals["is_closed"], "account_id"])
    acc["has_open_deal"] = acc["account_id"].isin(open_accts)
    reps = world.reps.copy()
    reps["crm_id"] = None
    return acc, reps


def benchmark(n_accounts: int, n_reps: int, seed: int = 11, options: Options | None = None) -> dict[str, Any]:
    """Optimizer vs the greedy baseline on one demo world, with the issue's quality checks.

    Used by the benchmark script: returns seconds, max/mean vs the lower bound, moved vs the minimum,
    travel vs today's, the nearest-rep assignment and the LP bound, for both methods.
    """
    world = demo.build_world(n_accounts, n_reps, seed, deals_per_account=0.6)
    acc, reps = world_inputs(world)
    opts = options or Options()
    out: dict[str, Any] = {"accounts": n_accounts, "reps": n_reps, "seed": seed, "options": opts.to_dict()}
    for name, fn in (("optimizer", rebalance), ("greedy", greedy_rebalance)):
        start = time.perf_counter()
        res = fn(acc, reps, opts)
        s = res.summary
        seconds = time.perf_counter() - start
        goal = max(1 + opts.tolerance, s["lower_bound"])
        out[name] = {
            "seconds": round(seconds, 3),
            "max_mean_before": round(s["max_mean_before"], 4),
            "max_mean_after": round(s["max_mean_after"], 4),
            "lower_bound": round(s["lower_bound"], 4),
            "balance_ok": bool(s["max_mean_after"] <= goal + 1e-9),
            "moved_share": round(s["moved_share"], 4),
            "min_moved_share": round(s["min_moved_share"], 4),
            "moved_ratio": round(s["moved_share"] / s["min_moved_share"], 3) if s["min_moved_share"] > 0 else None,
            "moved_accounts": s["moved_accounts"],
            "travel_km_today": round(s["travel_km_today"], 1),
            "travel_km_after": round(s["travel_km_after"], 1),
            "travel_km_nearest": round(s["travel_km_nearest"], 1),
            "travel_km_lp_bound": round(s.get("travel_km_lp_bound", float("nan")), 1),
        }
    o = out["optimizer"]
    o["moved_ok"] = o["moved_ratio"] is None or o["moved_ratio"] <= 1.5
    o["travel_ok"] = o["travel_km_after"] <= o["travel_km_today"] + 1e-6
    o["travel_gap_to_bound"] = (
        round(o["travel_km_after"] / o["travel_km_lp_bound"] - 1, 4) if o["travel_km_lp_bound"] > 0 else None
    )
    return out


# ---------------------------------------------------------------- territory quality (issue 15)


def balanced_world(n_accounts: int, n_reps: int, seed: int, cap: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A demo world for the quality benchmark whose balance bound is near 1, as in real books: no
    account carries more than `cap` of a territory's fair share of potential (the few above are cut to
    it; real books give such accounts to named-account teams)."""
    acc, reps = world_inputs(demo.build_world(n_accounts, n_reps, seed, deals_per_account=0.3))
    for _ in range(5):
        fair = acc["potential"].sum() / n_reps
        if acc["potential"].max() <= cap * fair + 1e-9:
            break
        acc["potential"] = acc["potential"].clip(upper=cap * fair)
    return acc, reps


def skewed_world(n_accounts: int, n_reps: int, seed: int, factor: float = 5.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """balanced_world with today's owners drawn at random, one rep holding `factor` times the others' share:
    a world that starts near 5x imbalance with every territory spread over the country (#15 point 2: the p95
    distance should at least halve on such a world)."""
    acc, reps = balanced_world(n_accounts, n_reps, seed)
    rng = np.random.default_rng(3)
    ids = reps["rep_id"].to_numpy()
    w = np.full(len(ids), (len(ids) - factor) / max(len(ids) - 1, 1))
    w[0] = factor
    acc["owner_rep_id"] = rng.choice(ids, size=len(acc), p=w / w.sum())
    return acc, reps


def quality(acc: pd.DataFrame, reps: pd.DataFrame, options: Options, distance: Any = None) -> dict[str, Any]:
    """The figures of the territory quality table for one run."""
    start, cpu = time.perf_counter(), time.process_time() + mipguard.worker_seconds()
    res = rebalance(acc, reps, options, distance=distance)
    seconds, cpu = time.perf_counter() - start, time.process_time() + mipguard.worker_seconds() - cpu
    s = res.summary
    return {
        "accounts": s["accounts"],
        "reps": s["reps_after"],
        "metrics": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()} for m in s["metrics"]],
        "moved_share": round(s["moved_share"], 4),
        "min_moved_share": round(s["min_moved_share"], 4),
        "moved_ratio": round(s["moved_share"] / s["min_moved_share"], 3) if s["min_moved_share"] > 0 else None,
        "travel_km_today": round(s["travel_km_today"], 1),
        "travel_km_after": round(s["travel_km_after"], 1),
        "travel_km_lp_bound": round(s["travel_km_lp_bound"], 1),
        "travel_ratio": round(s["travel_km_after"] / s["travel_km_lp_bound"], 3),
        "travel_km_p95_today": round(s["travel_km_p95_today"], 0),
        "travel_km_p95_after": round(s["travel_km_p95_after"], 0),
        "top3_share_today": round(s["top3_share_today"], 3),
        "top3_share_after": round(s["top3_share_after"], 3),
        "overlap_today": round(s["overlap_today"], 3),
        "overlap_after": round(s["overlap_after"], 3),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),  # this process's CPU time and its MIP workers': what a quiet machine reads
        "lp_variables": s.get("lp_variables"),
        "priced_columns": s.get("lp_priced_columns"),
    }


def ctdp_instance(n: int, p: int, kind: str, seed: int) -> tuple[ctdp_files.Instance, np.ndarray]:
    """A GENERATED commercial territory design instance in the manner of Ríos-Mercado & Fernández (2009), for
    sizes and a skewed class the vendored files (bench/ctdp.py) do not have: n basic units uniform in a
    500 x 500 square, three activities per unit, p territories, each activity within tau of its mean.

    "DU": activities uniform on the published ranges (customers U[4, 20], sales U[15, 400], workload
    U[15, 100]); "DT": our stand-in for a skewed class (activities lognormal with the same means and a
    coefficient of variation of 1), not the published DT generator. Returns the instance (no adjacency list)
    and its territory centres: the units nearest k-means centres of the units."""
    from scipy.cluster.vq import kmeans2

    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 500, (n, 2))
    lo = np.array([4.0, 15.0, 15.0])
    hi = np.array([20.0, 400.0, 100.0])
    if kind == "DU":
        act = rng.uniform(lo, hi, (n, 3))
    elif kind == "DT":
        mean = (lo + hi) / 2
        sigma = np.sqrt(np.log(2.0))  # coefficient of variation 1
        act = mean * rng.lognormal(-(sigma**2) / 2, sigma, (n, 3))
    else:
        raise ValueError(f"unknown instance class {kind!r}; use DU or DT")
    centres, _ = kmeans2(xy, p, seed=seed, minit="++")
    home = np.array([int(np.argmin(((xy - c) ** 2).sum(axis=1))) for c in centres])
    inst = ctdp_files.Instance(name=f"{kind} n={n} p={p} seed={seed}", xy=xy, activity=act,
                               edges=np.zeros((0, 2), dtype=np.int64), p=p, second=0, taus=(0.05,) * 3, seed=seed)  # fmt: skip
    return inst, home


def ctdp(n: int, p: int, kind: str, seed: int, tau: float = 0.05) -> dict[str, Any]:
    """Solve one generated instance with the product optimizer as bench/ctdp.py solves the real files (the
    three activities balanced at once, each within tau; least distance to the centres) and report the
    paper's measures: dispersion (the largest distance from a unit to its territory's centre) and the largest
    relative deviation per activity."""
    inst, home = ctdp_instance(n, p, kind, seed)
    owner, info = ctdp_files.solve(inst, home, tau)
    m = ctdp_files.measures(inst, owner, home)
    out: dict[str, Any] = {"instance": inst.name, "tau": tau, "seconds": round(info["seconds"], 2),
                           "dispersion": round(m["dispersion"], 1), "mean_distance": round(m["mean_distance"], 1),
                           "travel_lp_bound": round(info["lp_bound_mean"], 1)}  # fmt: skip
    for col, activity in zip(("customers", "sales", "workload_h"), ctdp_files.ACTIVITIES, strict=True):
        out[f"dev_{col}"] = round(m[f"dev_{activity}"], 4)
    return out


def _share_lp(p: Any, good: np.ndarray, moved_cap: float | None, reach: float) -> tuple[float | None, float | None]:
    """LPs over every account x rep pair (accounts divisible, HiGHS via scipy) for a 0/1 matrix `good` of the
    pairs that count: the largest share of accounts on a good pair while every rep stays within the tolerance on
    every balance metric (each its own band), pinned accounts stay and at most `moved_cap` of the metric moves
    (None: any); and the least share of the metric that must move to put `reach` of the accounts on good pairs.
    A true upper (lower) bound for any whole-account assignment under the same limits; None when infeasible."""
    from scipy import sparse
    from scipy.optimize import linprog

    n, k = len(p.acc), len(p.reps)
    col = np.arange(n * k).reshape(n, k)  # x[i, r] is column i * k + r
    moves = ((p.owner >= 0)[:, None] & (p.owner[:, None] != np.arange(k)[None, :])) * p.b[:, None]
    rows_i = np.repeat(np.arange(n), k)
    a_eq = sparse.csr_matrix((np.ones(n * k), (rows_i, col.ravel())), shape=(n, n * k))
    rep_rows = np.tile(np.arange(k), n).reshape(n, k).T.ravel()
    bands, band_bs = [], []
    for m in range(p.bm.shape[1]):  # every metric's band: a rep's load of it within its own tolerance
        band = sparse.csr_matrix((np.tile(p.bm[:, m], k), (rep_rows, col.T.ravel())), shape=(k, n * k))
        bands += [band, -band]
        band_bs += [p.target * (1 + p.tols[m]), -p.target * (1 - p.tols[m])]
    band_ub = sparse.vstack(bands).tocsr()
    band_b = np.concatenate(band_bs)
    a_ub, b_ub = band_ub, band_b
    if moved_cap is not None:
        a_ub = sparse.vstack([band_ub, sparse.csr_matrix(moves.reshape(1, -1))]).tocsr()
        b_ub = np.append(band_b, moved_cap)
    hi = np.ones((n, k))
    pin = np.flatnonzero(p.pinned)
    hi[pin] = 0.0
    hi[pin, p.owner[pin]] = 1.0
    bounds = np.c_[np.zeros(n * k), hi.ravel()]
    best = linprog(-good.ravel() / n, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.ones(n), bounds=bounds, method="highs")
    # The least moved share that reaches `reach` at this balance (the moved row becomes the objective).
    need_ub = sparse.vstack([band_ub, sparse.csr_matrix(-good.reshape(1, -1) / n)]).tocsr()
    need = linprog(moves.ravel(), A_ub=need_ub, b_ub=np.append(band_b, -reach), A_eq=a_eq, b_eq=np.ones(n),
                   bounds=bounds, method="highs")  # fmt: skip
    return (-float(best.fun) if best.status == 0 else None), (float(need.fun) if need.status == 0 else None)


def top3_bound(
    acc: pd.DataFrame, reps: pd.DataFrame, options: Options, moved_cap: float | None = None
) -> dict[str, Any]:
    """What balance allows of issue 15's top-3-nearest share (_share_lp on the pairs of each account's 3 nearest
    reps): the largest share, and the least share of the metric that must move to reach 90%."""
    from planner.optimize.quality import top_k_share

    p = _prepare(acc, reps, options)
    n, k = len(p.acc), len(p.reps)
    _, near = _nearest(p.xyz, p.homes, min(3, k))
    top = np.zeros((n, k))
    top[np.arange(n)[:, None], near] = 1.0
    best, need = _share_lp(p, top, moved_cap, 0.9)
    return {
        "top3_share_today": round(top_k_share(p, p.owner), 3),
        "top3_share_lp_max": None if best is None else round(best, 4),
        "moved_cap": moved_cap,
        "moved_share_for_90": None if need is None else round(need, 4),
        "min_moved_share": round(float(_min_moved(p, float(p.tols[0]))), 4),
    }


def p95_halved_bound(
    acc: pd.DataFrame, reps: pd.DataFrame, options: Options, moved_cap: float | None = None
) -> dict[str, Any]:
    """Whether balance allows issue 15's halved p95 travel (_share_lp on the pairs within half today's p95): the
    p95 of any assignment is at most that distance only if 95% of the accounts are within it, so an LP maximum
    below 95% proves no assignment halves it under the same limits."""
    p = _prepare(acc, reps, options)
    km = _chord_km(np.linalg.norm(p.xyz[:, None, :] - p.homes[None, :, :], axis=2))
    today = km[np.arange(len(p.acc)), np.maximum(p.owner, 0)]
    half = float(np.percentile(today[p.owner >= 0], 95)) / 2
    pin = np.flatnonzero(p.pinned)
    best, need = _share_lp(p, (km <= half).astype(float), moved_cap, 0.95)
    return {
        "p95_km_today": round(2 * half, 1),
        "half_km": round(half, 1),
        "pinned_beyond_half": round(float((km[pin, p.owner[pin]] > half).sum()) / len(p.acc), 4),
        "share_within_half_lp_max": None if best is None else round(best, 5),
        "moved_cap": moved_cap,
        "moved_share_for_95": None if need is None else round(need, 4),
        "min_moved_share": round(float(_min_moved(p, float(p.tols[0]))), 4),
    }


def top3_pooled(acc: pd.DataFrame, reps: pd.DataFrame, options: Options) -> float | None:
    """An upper bound on issue 15's top-3-nearest share under every balance band that stays small at any size
    (the LP of top3_bound over all n x k pairs did not end in 100 minutes at 20,000 x 200): accounts divisible,
    each account's share with one of its 3 nearest reps a variable, the rest of it poured into one pool per
    metric that any rep may draw from in any amount, each metric on its own (a rep may take the pool's
    potential without its accounts). Every assignment is a point of this LP (an account's share with its
    other reps is its pool share, and each rep draws what those accounts carry), so its optimum bounds them
    all: 3n + k x metrics columns. Pinned accounts stay with their owner. None when no assignment is inside
    every band (e.g. pinned accounts alone over one)."""
    from scipy import sparse
    from scipy.optimize import linprog

    p = _prepare(acc, reps, options)
    n, k, nb = len(p.acc), len(p.reps), p.bm.shape[1]
    _, near = _nearest(p.xyz, p.homes, min(3, k))
    pin = np.asarray(p.pinned, dtype=bool)
    free = np.flatnonzero(~pin)
    fixed = np.stack([_bincount(p.owner[pin], weights=p.bm[pin, m], minlength=k) for m in range(nb)], axis=1)
    pinned_top = int((near[pin] == p.owner[pin][:, None]).any(axis=1).sum())
    nx, nz = len(free) * near.shape[1], k * nb
    rep = near[free].ravel()
    row = np.repeat(np.arange(len(free)), near.shape[1])
    weight = p.bm[free][row]
    ub = [sparse.csr_matrix((np.ones(nx), (row, np.arange(nx))), shape=(len(free), nx + nz))]  # sum x_a <= 1
    b_ub, eq, b_eq = [np.ones(len(free))], [], []
    for m in range(nb):
        cols = np.concatenate([np.arange(nx), nx + m * k + np.arange(k)])
        vals = np.concatenate([weight[:, m], np.ones(k)])
        load = sparse.csr_matrix((vals, (np.concatenate([rep, np.arange(k)]), cols)), shape=(k, nx + nz))
        ub += [load, -load]  # each rep's load of metric m: its near accounts plus what it draws from the pool
        b_ub += [p.target * (1 + p.tols[m]) - fixed[:, m], -(p.target * (1 - p.tols[m]) - fixed[:, m])]
        eq.append(sparse.csr_matrix((vals, (np.zeros(len(vals), dtype=np.int64), cols)), shape=(1, nx + nz)))
        b_eq.append(p.bm[free, m].sum())  # the reps draw the whole pool: near shares + draws = every free account
    res = linprog(
        np.concatenate([-np.ones(nx) / n, np.zeros(nz)]), A_ub=sparse.vstack(ub).tocsr(), b_ub=np.concatenate(b_ub),
        A_eq=sparse.vstack(eq).tocsr(), b_eq=np.array(b_eq), bounds=[(0, 1)] * nx + [(0, None)] * nz, method="highs",
    )  # fmt: skip
    return -float(res.fun) + pinned_top / n if res.status == 0 else None


def quality_markdown(rows: list[dict[str, Any]]) -> str:
    """The territory quality table (bench/RESULTS.md) from `quality` JSON lines."""
    out = [
        "| world | run | max/mean per metric: today → after (bound) | moved vs minimum | mean travel km: today → "
        "after (LP bound, ratio) | p95 travel km: today → after | top-3-nearest share: today → after | overlap: "
        "today → after | solve s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['world']} | {r['run']} | not measured: {r['error']} |" + " |" * 6)
            continue
        mm = "; ".join(
            f"{m['metric']} {m['max_mean_before']:.2f} → {m['max_mean_after']:.3f} ({m['lower_bound']:.2f})"
            for m in r["metrics"]
        )
        moved = f"{r['moved_share']:.1%} vs {r['min_moved_share']:.1%}" + (
            f" ({r['moved_ratio']:.2f}x)" if r["moved_ratio"] else ""
        )
        out.append(
            f"| {r['world']} | {r['run']} | {mm} | {moved} | {r['travel_km_today']:,.1f} → {r['travel_km_after']:,.1f} "
            f"({r['travel_km_lp_bound']:,.1f}, {r['travel_ratio']:.3f}x) | {r['travel_km_p95_today']:,.0f} → "
            f"{r['travel_km_p95_after']:,.0f} | {r['top3_share_today']:.1%} → {r['top3_share_after']:.1%} | "
            f"{r['overlap_today']:.1%} → {r['overlap_after']:.1%} | {r['seconds']:.1f}"
            + (f" ({r['cpu_seconds']:.1f} CPU)" if "cpu_seconds" in r else "")
            + " |"
        )
    return "\n".join(out)


def ctdp_markdown(rows: list[dict[str, Any]]) -> str:
    out = [
        "| instance | tau | largest deviation: customers / sales / workload | within tau | dispersion (max distance "
        "to centre) | mean distance (LP bound) | solve s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        devs = [r["dev_customers"], r["dev_sales"], r["dev_workload_h"]]
        ok = "yes" if max(devs) <= r["tau"] + 1e-9 else "no"
        out.append(
            f"| {r['instance']} | {r['tau']:.0%} | {' / '.join(f'{d:.1%}' for d in devs)} | {ok} | "
            f"{r['dispersion']:.1f} | {r['mean_distance']:.1f} ({r['travel_lp_bound']:.1f}) | {r['seconds']:.1f} |"
        )
    return "\n".join(out)


USAGE_ERROR = 2


def _size(text: str) -> tuple[int, int, bool]:
    """'20000x24' -> (20000, 24, False); 'skewed:20000x24' -> (20000, 24, True) (the skewed_world)."""
    skewed = text.startswith("skewed:")
    n, sep, k = text.removeprefix("skewed:").partition("x")
    if not (sep and n.isdigit() and k.isdigit() and int(n) > 0 and int(k) > 0):
        raise ValueError(f"world size {text!r} is not ACCOUNTSxREPS (or skewed:ACCOUNTSxREPS); use e.g. 20000x24")
    return int(n), int(k), skewed


def _command(args: list[str]) -> tuple[str, Any]:
    """The command and its arguments, or ValueError with one line saying what is wrong."""
    if not args:
        return "compare", (20000, 24)
    head, rest = args[0], args[1:]
    if head == "quality":
        return "quality", [_size(a) for a in rest] or [(5000, 40, False), (20000, 24, False)]
    if head in ("top3", "p95") and rest:
        return head, [_size(a) for a in rest]
    if head == "ctdp" and not rest:
        return "ctdp", None
    if head == "table" and len(rest) == 2 and rest[0] in ("quality", "ctdp"):
        return "table", (rest[0], rest[1])
    if len(args) == 2 and all(a.isdigit() and int(a) > 0 for a in args):
        return "compare", (int(args[0]), int(args[1]))
    raise ValueError(f"unknown arguments {' '.join(args)!r}; see --help")


def main(argv: list[str] | None = None) -> int:
    """Run one benchmark command; 0 when done, 2 (and one line on stderr) on unknown arguments."""
    import json
    import os
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(__doc__.strip())
        return 0
    try:
        command, value = _command(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if command == "quality":
        try:
            limit = float(os.environ.get("BENCH_TIME_LIMIT_S", "120"))
        except ValueError:
            print("error: BENCH_TIME_LIMIT_S must be a number of seconds, e.g. 3000", file=sys.stderr)
            return USAGE_ERROR
        for n, k, skewed in value:
            acc, reps = (skewed_world if skewed else balanced_world)(n, k, seed=1)
            world = f"{n}x{k}" + (" skewed" if skewed else "")
            for label, opts in (
                ("default", Options(time_limit_s=limit)),
                ("free", Options(allow_customers=True, allow_open_deals=True, time_limit_s=limit)),
                ("3 metrics", Options(metric="potential,accounts,workload", allow_customers=True,
                                      allow_open_deals=True, time_limit_s=limit)),
            ):  # fmt: skip
                try:
                    row = quality(acc, reps, opts)
                except BadInput as exc:  # e.g. the solver's time limit on a busy machine: one row says so
                    row = {"error": str(exc)}
                print(json.dumps({"world": world, "run": label, **row}), flush=True)
    elif command == "top3":
        for n, k, skewed in value:
            acc, reps = (skewed_world if skewed else balanced_world)(n, k, seed=1)
            world = f"{n}x{k}" + (" skewed" if skewed else "")
            for label, opts in (
                ("default", Options()),
                ("free", Options(allow_customers=True, allow_open_deals=True)),
                (
                    "3 metrics",
                    Options(metric="potential,accounts,workload", allow_customers=True, allow_open_deals=True),
                ),
            ):
                start = time.perf_counter()
                pooled = top3_pooled(acc, reps, opts)
                row = {"top3_share_pooled_max": None if pooled is None else round(pooled, 4),
                       "pooled_seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
                if n * k <= TOP3_LP_MAX_PAIRS:  # the LP over every pair: tighter, but not at 20,000 x 200
                    row.update(top3_bound(acc, reps, opts))
                print(json.dumps({"world": world, "run": label, **row}), flush=True)
    elif command == "p95":
        for n, k, skewed in value:
            acc, reps = (skewed_world if skewed else balanced_world)(n, k, seed=1)
            world = f"{n}x{k}" + (" skewed" if skewed else "")
            for label, opts in (("default", Options()), ("free", Options(allow_customers=True, allow_open_deals=True))):
                start = time.perf_counter()
                row = p95_halved_bound(acc, reps, opts)
                print(json.dumps({"world": world, "run": label, **row,
                                  "seconds": round(time.perf_counter() - start, 1)}), flush=True)  # fmt: skip
    elif command == "table":
        from pathlib import Path

        try:
            text = Path(value[1]).read_text(encoding="utf-8")
        except OSError as exc:
            print(
                f"error: cannot read {value[1]} ({exc.strerror}); give the JSON lines file a run wrote", file=sys.stderr
            )
            return USAGE_ERROR
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        print(quality_markdown(lines) if value[0] == "quality" else ctdp_markdown(lines))
    elif command == "ctdp":
        for n, p in ((500, 10), (1000, 20)):
            for kind in ("DU", "DT"):
                print(json.dumps(ctdp(n, p, kind, seed=1)), flush=True)
    else:
        print(json.dumps(benchmark(*value), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
