"""The disruption trade-off: travel and balance against the share of the book that moves.

Each point is a full rebalance (the same solver) with a cap on the moved share, from the least that
has to move up to no cap at all (free); every point lets customers and open deals move, so the curve
shows what keeping them with their owner (the default) costs: the default run is returned beside it.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from planner.optimize.options import Options, Progress, noop
from planner.optimize.solve import rebalance

# Moved caps as multiples of the least that has to move (then free).
STEPS = (1.0, 1.1, 1.25, 1.5, 2.0, 3.0)


def _row(label: str, cap: float | None, s: dict) -> dict:
    return {
        "point": label,
        "moved_cap": cap,
        "moved_share": s["moved_share"],
        "moved_accounts": s["moved_accounts"],
        "max_mean": s["max_mean_after"],
        "tolerance_met": s["tolerance_met"],
        "travel_km": s["travel_km_after"],
        "travel_km_p95": s["travel_km_p95_after"],
        "travel_km_lp_bound": s["travel_km_lp_bound"],
        "top3_share": s["top3_share_after"],
    }


def disruption_curve(
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    options: Options,
    steps: tuple[float, ...] = STEPS,
    progress: Progress = noop,
    distance: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict]:
    """(curve, default): one row per moved cap (multiples of the least share that has to move, then
    free), customers and open deals allowed to move; and the default run (`options` as given, which by
    default keeps customers and open deals with their owner) with its travel and max/mean cost against
    the free point at the same moved share or less."""
    progress(0.0, "Today's rules (customers and open deals stay)")
    base = rebalance(accounts, reps, options, distance=distance).summary
    free_opts = replace(options, allow_customers=True, allow_open_deals=True, max_moved=None)
    anything = replace(free_opts, max_moved=1.0)
    least = max(float(base["min_moved_share"]), 1e-6)
    rows = []
    caps = sorted({min(1.0, least * k) for k in steps} - {1.0})
    for i, cap in enumerate(caps):
        progress((i + 1) / (len(caps) + 2), f"At most {cap:.1%} of the metric moved")
        s = rebalance(accounts, reps, replace(free_opts, max_moved=cap), distance=distance).summary
        rows.append(_row(f"≤ {cap:.1%} moved", cap, s))
    progress((len(caps) + 1) / (len(caps) + 2), "Free: anything may move")
    rows.append(_row("free", 1.0, rebalance(accounts, reps, anything, distance=distance).summary))
    curve = pd.DataFrame(rows)
    # What keeping customers and open deals costs: against the best free point moving no more.
    fair = curve[curve["moved_share"] <= base["moved_share"] + 1e-9]
    ref = fair.iloc[fair["travel_km"].argmin()] if len(fair) else curve.iloc[0]
    default = {
        **_row("default (customers and open deals stay)", options.max_moved, base),
        "extra_travel_km": float(base["travel_km_after"] - ref["travel_km"]),
        "extra_max_mean": float(base["max_mean_after"] - ref["max_mean"]),
        "compared_with": str(ref["point"]),
    }
    progress(1.0, "Done")
    return curve, default
