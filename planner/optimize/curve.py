"""The disruption trade-off: travel and balance against the share of the book that moves.

Each point is a full rebalance (the same solver) with a cap on the moved share, from none through the least
that has to move up to no cap at all (free); every point lets customers and open deals move, so the curve
shows what keeping them with their owner (the default) costs: the default run is returned beside it.

Some accounts must change owner whatever the cap once customers and open deals may move: within countries, those
owned by a rep in another country go to a rep in their own (planner.optimize.markets); under a removal, those whose
owner leaves. Their share is the curve's floor: its first point moves only them, its caps start above it.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from planner.optimize.options import Options, Progress, noop
from planner.optimize.solve import rebalance

# Moved caps as multiples of the least that has to move (where the curve bends), and as shares of what the free run
# moves (so the curve spans 0 -> free even when next to nothing has to move: a book whose unowned accounts fill every
# territory had six points at "<= 0.0% moved"); caps closer than SPACING of the free share are one point.
STEPS = (1.0, 1.1, 1.25, 1.5, 2.0, 3.0)
SPREAD = (0.0, 0.25, 0.5, 0.75)
SPACING = 0.02


def _caps(least: float, free: float, steps: tuple[float, ...], floor: float = 0.0) -> list[float]:
    """The moved caps below the free run's share: 0 (only the `floor` that must move moves), a spread from the
    floor up to the free share, and the multiples of the least above the floor."""
    room = free - floor
    wanted = sorted({floor + room * f for f in SPREAD if f > 0} | {least * k for k in steps if least > 0})
    caps = [0.0] if free > 0 else []
    for cap in wanted:
        if cap < free - SPACING * free and cap - max(caps[-1] if caps else 0.0, floor) > SPACING * free:
            caps.append(min(1.0, cap))
    return caps


def _label(cap: float, moved: float, floor: float = 0.0) -> str:
    """A point's name: its cap (the first point: only the floor that must move), and what moved when that went
    over it (whole areas move their other owners' accounts; joining territories into one region may add more)."""
    if cap == 0 and floor > 5e-4:
        asked, cap = f"only the {floor:.1%} that must move", floor
    else:
        asked = "none moved" if cap == 0 else f"≤ {cap:.1%} moved"
    return asked if moved <= cap + 5e-4 else f"{asked} asked, {moved:.1%} moved"


def _forced_why(free: dict, options: Options) -> str:
    """Which accounts must change owner once customers and open deals may move."""
    why = []
    if free.get("markets"):
        why.append("owned by a rep in another country, they go to a rep in their own")
    if options.remove_reps:
        why.append("their owner leaves the team")
    return "; ".join(why) or "their owner is not in the scenario"


def _row(label: str, cap: float | None, s: dict) -> dict:
    per_metric = {f"max_mean_{b['metric']}": float(b["max_mean_after"]) for b in s.get("metrics") or []}
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
        "travel_unit": s.get("travel_unit", "km"),
        "assignment_of": label,
        **per_metric,
    }


def _best_within(rows: list[dict]) -> list[dict]:
    """Each cap shows the best assignment found within it: one found under a tighter cap moves no more, so it
    stands for a looser cap whose own run came out no better balanced and with more travel (the solver's rounding
    and repair are heuristics: travel rose by ~0.1% from one cap to the next). `assignment_of` names the point
    whose assignment a row shows."""
    out: list[dict] = []
    for row in rows:  # caps rising
        # Only assignments within this cap (joining territories into one region may go over a cap).
        better = [r for r in out if r["moved_share"] <= row["moved_cap"] + 1e-9 and _dominates(r, row)]
        if better:
            best = min(better, key=lambda r: (not r["tolerance_met"], r["travel_km"]))  # in band first
            own = {k: row[k] for k in ("point", "moved_cap", "travel_km_lp_bound")}  # the bound is this cap's
            row = {**best, **own}
        out.append(row)
    return out


def _dominates(a: dict, b: dict) -> bool:
    """`a` is at least as good as `b` on balance (both within every tolerance, or a no worse) and travels less."""
    balance = (a["tolerance_met"] and b["tolerance_met"]) or (
        a["tolerance_met"] >= b["tolerance_met"] and a["max_mean"] <= b["max_mean"] + 1e-9
    )
    return bool(balance and a["travel_km"] < b["travel_km"] - 1e-9)


def disruption_curve(
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    options: Options,
    steps: tuple[float, ...] = STEPS,
    progress: Progress = noop,
    distance: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict]:
    """(curve, default): one row per moved cap (none, shares of what the free run moves, multiples of the least
    share that has to move; then free), customers and open deals allowed to move, each the best assignment found
    within its cap, with each metric's max/mean (`max_mean_<metric>`) beside the worst (`max_mean`); and the default
    run (`options` as given, which by default keeps customers and open deals with their owner) with its travel and
    max/mean cost against the free point at the same moved share or less."""
    progress(0.0, "Today's rules (customers and open deals stay)")
    base = rebalance(accounts, reps, options, distance=distance).summary
    free_opts = replace(options, allow_customers=True, allow_open_deals=True, max_moved=None)
    anything = replace(free_opts, max_moved=1.0)
    progress(0.1, "Free: anything may move")
    free = rebalance(accounts, reps, anything, distance=distance).summary
    floor = float(free.get("forced_moved_share", 0.0))  # must change owner whatever the cap
    # The least that has to move: of the runs the curve makes (customers free) once some must move whatever the cap.
    least = float((free if floor > 0 else base)["min_moved_share"])
    caps = _caps(least, float(free["moved_share"]), steps, floor)
    rows = []
    for i, cap in enumerate(caps):
        progress(0.1 + 0.9 * (i + 1) / (len(caps) + 1), f"At most {max(cap, floor):.1%} of the metric moved")
        s = rebalance(accounts, reps, replace(free_opts, max_moved=cap), distance=distance).summary
        rows.append(_row(_label(cap, float(s["moved_share"]), floor), cap, s))
    rows.append(_row("free", 1.0, free))
    curve = pd.DataFrame(_best_within(rows))
    # What keeping customers and open deals costs: against the best free point moving no more.
    # In band first when the default run is (travelling less out of band is no saving), else the best balanced.
    fair = curve[curve["moved_share"] <= base["moved_share"] + 1e-9]
    if base["tolerance_met"] and fair["tolerance_met"].any():
        fair = fair[fair["tolerance_met"]]
    elif len(fair):
        fair = fair[fair["max_mean"] <= fair["max_mean"].min() + 1e-9]
    # No point moving as little (its floor above what the default moves): no comparison, and the caption says why.
    ref = fair.iloc[fair["travel_km"].argmin()] if len(fair) else None
    default = {
        **_row("default (customers and open deals stay)", options.max_moved, base),
        "extra_travel_km": None if ref is None else float(base["travel_km_after"] - ref["travel_km"]),
        "extra_max_mean": None if ref is None else float(base["max_mean_after"] - ref["max_mean"]),
        "compared_with": None if ref is None else str(ref["point"]),
        "compared_moved_share": None if ref is None else float(ref["moved_share"]),
        "forced_moved_share": floor,
        "forced_why": _forced_why(free, options),
    }
    progress(1.0, "Done")
    return curve, default


def trade_off_text(default: dict, unit: str = "km") -> str:
    """The curve's caption: what the blue points are (from their floor), and what today's rule (red) costs or saves
    against the best point moving no more, or that no point moves as little."""
    floor = float(default.get("forced_moved_share") or 0.0)
    blue = "Blue: customers and open deals may move, with at most the share shown moved"
    if floor > 5e-4:
        blue += (
            f", from the {floor:.1%} of the metric that must then change owner whatever the cap "
            f"({default['forced_why']}) up to anything."
        )
    else:
        blue += " (from none to anything)."
    red = f" Red: today's rule, customers and open deals stay with their owner ({default['moved_share']:.1%} moved)"
    if default.get("compared_with") is None:
        least = f"each moves at least the {floor:.1%} that must change owner" if floor > 5e-4 else "each moves more"
        return f"{blue}{red}. No point of the curve moves as little ({least}), so none compares with it."
    km, mm = float(default["extra_travel_km"]), round(float(default["extra_max_mean"]), 3) + 0.0  # no "-0.000"
    travel = (
        f"costs {km:+,.1f} {unit} of mean travel" if km >= 0.05
        else f"saves {-km:,.1f} {unit} of mean travel" if km <= -0.05 else "travels as much"
    )  # fmt: skip
    balance = (
        f"is {mm:.3f} less balanced (max/mean)" if mm > 0
        else f"is {-mm:.3f} better balanced (max/mean)" if mm < 0 else "is as balanced"
    )  # fmt: skip
    return (
        f"{blue}{red}: against the point '{default['compared_with']}' ({default['compared_moved_share']:.1%} moved, "
        f"no more) it {travel} and {balance}."
    )
