"""Optimizer benchmark: the greedy baseline, demo-world inputs without a store, and the quality checks.

python bench/optimizer.py 20000 24
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from planner import demo
from planner import potential as pot_mod
from planner.optimize import Options, Result, rebalance
from planner.optimize.geometry import _bincount, _chord_km, _nearest
from planner.optimize.problem import _prepare
from planner.optimize.report import _report


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
