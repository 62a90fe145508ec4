"""Measuring an assignment: balance, moves, travel and capacity against their bounds, in plain words."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from planner.coverage.imbalance import imbalance
from planner.errors import BadInput
from planner.optimize.geometry import _bincount, _count, _nearest
from planner.optimize.options import Options, Result
from planner.optimize.problem import _dist, _km_today, _least_unit_moved, _prepare, _Problem, _Units, placed_mask
from planner.optimize.problem import as_km as _as_km
from planner.optimize.quality import (
    band_figures,
    overlap,
    p95,
    per_placed,
    rep_hours_figures,
    top_k_share,
    unplaced_notes,
)
from planner.optimize.reach import _lower_bound, _min_moved, reach_bands, reach_notes
from planner.text import account_label, listing

# The steps that stop at their share of the solver's time limit (Options.time_limit_s), as the summary flags them.
STOPPED_BY_TIME = (
    ("band_hood_stopped_by_time", "re-assigning the territories outside a band with their neighbours"),
    ("contiguity_stopped_by_time", "restoring the bands and travel of connected territories"),
    ("travel_pass_stopped_by_time", "a least-travel, compactness or top-3 pass of the LP (it fell back)"),
    ("bound_stopped_by_time", "bounding travel over all reps (a bound is missing)"),
)


def _km_to(p: _Problem, assign: np.ndarray) -> np.ndarray:
    out = np.full(len(assign), np.nan)
    ok = np.flatnonzero(assign >= 0)
    out[ok] = _dist(p, ok, assign[ok])
    return out


def _today_km(p: _Problem) -> np.ndarray:
    """Distance of each account to today's owner's home (NaN when unowned or the owner is unknown)."""
    return p.distance_today.copy() if p.distance_today is not None else _km_today(p)


def _stopped_steps(s: dict[str, Any]) -> list[str]:
    """The steps a time limit stopped before they were done (the summary's flags, a market's or the book's)."""
    steps = ["the assignment LP"] if "time limit" in str(s.get("lp_status") or "") else []
    for key, what in STOPPED_BY_TIME:
        value = s.get(key)
        if value is not None and value == value and float(value) > 0:
            steps.append(what)
    return steps


def _time_reasons(s: dict[str, Any], opts: Options) -> list[str]:
    """Each step that stopped at its time limit, and what to raise (a neighbourhood or contiguity step has a share
    of the limit): without it a band left unmet reads as if no assignment could do better."""
    steps = _stopped_steps(s)
    if not steps:
        return []
    return [
        f"{listing(steps, 3, ' and ')} stopped at the solver's time limit ({opts.time_limit_s:g} s per step; a "
        "repair step has a quarter of it) before it was done: raise 'Solver time' (the page) or --time-limit"
    ]


def _reasons(p: _Problem, u: _Units, opts: Options, s: dict[str, Any]) -> list[str]:
    """Why balance ends outside its band: with one band, against the tolerance; with several, for each metric
    outside its own tolerance (a metric with a wider tolerance is not out because it passes another's)."""
    budget = _time_reasons(s, opts) + _over_budget(p, u, opts, float(s["moved_share"]))
    if len(s["metrics"]) <= 1:
        return budget + _band_reasons(p, u, opts, opts.tolerance, p.b, s["lower_bound"], s["max_mean_after"], s)
    out: list[str] = budget
    for m, b in enumerate(s["metrics"]):
        if b["met"]:
            continue
        why = _band_reasons(p, u, opts, b["tolerance"], p.bm[:, m], b["lower_bound"], b["max_mean_after"], s)
        out += [f"{b['metric']}: {w}" for w in why] or [
            f"{b['metric']}: the smallest territory ends at min/mean {b['min_mean_after']:.3f}, below its "
            f"-{b['tolerance']:.0%} band; a wider tolerance or more accounts allowed to move helps"
        ]
    return out


def _over_budget(p: _Problem, u: _Units, opts: Options, moved: float) -> list[str]:
    """Why more than the user's moved budget moved: whole areas that hold accounts of several owners, or joining
    every territory into one region (nothing else goes over it)."""
    if opts.max_moved is None or moved <= opts.max_moved + 1e-6:
        return []
    forced, whole = float(p.b[p.owner == -2].sum()), _least_unit_moved(p, u)
    least = whole + forced
    out = []
    n = int((p.owner == -2).sum())
    if forced > opts.max_moved + 1e-6 and opts.leavers_only():
        out.append(
            f"the {n:,} account{'s' * (n != 1)} of the rep(s) who leave hold {forced:.1%} of the metric here and must "
            "move to the reps who stay; with a rep removed and no moved budget set, the budget is 0% of the metric "
            "beyond theirs, so no other account holding any of it moves. Set a moved budget (--max-moved, a share of "
            "the metric that includes theirs) to let other accounts move for balance"
        )
    elif forced > opts.max_moved + 1e-6:  # a market's reasons are prefixed with its name: its own share is meant
        out.append(
            f"the {n:,} account{'s' * (n != 1)} whose owner leaves the team hold {forced:.1%} of the metric here and "
            f"must move, over the moved budget of {opts.max_moved:.1%} (a share of each market's metric when each "
            f"country is balanced on its own); no other account moves. Allow at least {forced:.1%} to move here"
        )
    elif whole > 0 and least > opts.max_moved + 1e-6:
        out.append(
            f"whole {opts.unit} areas hold accounts of several owners: keeping them whole moves at least {least:.1%} "
            f"of the metric, over the budget of {opts.max_moved:.1%}; allow more to move, or move single accounts"
        )
    if opts.contiguous and moved > max(least, opts.max_moved) + 1e-6:
        out.append(
            f"joining every territory into one connected region moved {moved:.1%} of the metric, over the budget of "
            f"{opts.max_moved:.1%}; allow more to move, or untick one connected region per territory"
        )
    return out


def _band_reasons(
    p: _Problem, u: _Units, opts: Options, tol: float, w: np.ndarray, lower_bound: float, achieved: float,
    s: dict[str, Any],
) -> list[str]:  # fmt: skip
    """Why one band (weights `w`, tolerance `tol`) ends at max/mean `achieved` above it."""
    out: list[str] = []
    min_moved = s["min_moved_share"]
    if achieved <= 1 + tol + 1e-9:
        return out
    tmax = float(p.target.max())
    weights = w[u.movable] if u.divisible else _bincount(u.of_account, weights=w[u.movable], minlength=len(u.weight))
    big = int(np.argmax(weights)) if len(weights) else -1
    if big >= 0 and weights[big] > tmax * (1 + tol):
        what = "account" if opts.unit == "account" else opts.unit
        row = p.acc.iloc[int(u.movable[big])] if u.divisible else None
        label = u.label[big] if row is None else account_label(row["account_id"], row.get("name"))
        out.append(
            f"{what} {label} alone carries {weights[big] / tmax:.2f}x a territory's target, more than the "
            f"+{tol:.0%} band allows"
        )
    fixed = _bincount(p.owner[p.pinned], weights=w[p.pinned], minlength=len(p.reps)) / p.target
    worst = int(np.argmax(fixed)) if len(fixed) else -1
    if worst >= 0 and fixed[worst] > 1 + tol:
        out.append(
            f"{p.reps['name'].iloc[worst]}'s accounts that must stay (locked, customers, open deals) already carry "
            f"{fixed[worst]:.2f}x the target; allow moving customers or open deals, or unlock accounts"
        )
    if opts.leavers_only() and min_moved > float(p.b[p.owner == -2].sum()) + 1e-12:
        out.append(
            f"balance needs at least {min_moved:.1%} of the metric to move, but only the accounts of the rep(s) who "
            "leave move (a rep removed with no moved budget set); set a moved budget (--max-moved) of at least "
            f"{min_moved:.1%} to balance the rest"
        )
    elif opts.max_moved is not None and opts.max_moved + 1e-12 < min_moved:
        out.append(f"the moved budget {opts.max_moved:.1%} is below the {min_moved:.1%} of the metric that had to move")
    if not out and opts.contiguous:
        within = "" if opts.max_moved is None else f" within the moved budget of {opts.max_moved:.1%}"
        out.append(
            f"one connected region per territory{within} holds the balance here; allow more to move, widen the "
            "tolerance, or untick one connected region per territory"
        )
    if not out and opts.unit != "account":
        out.append(f"whole {opts.unit} units are too coarse to split the book evenly; try a finer unit")
    if not out and not _stopped_steps(s):  # else the time limit stopped the repair: its reason says so
        out.append(
            "whole accounts could not fill every territory within the band (the LP over all reps could): "
            "the last accounts are too large for the room left; a wider tolerance or a moved budget helps"
        )
    out.append(f"reached max/mean {achieved:.3f}; no assignment can do better than the lower bound {lower_bound:.3f}")
    return out


def tolerance_text(s: dict[str, Any]) -> str:
    """The band in words: "±5%" when every metric has the same tolerance, else each metric's own
    ("potential ±5%, accounts ±10%")."""
    bands = s.get("metrics") or []
    tols = {round(float(b["tolerance"]), 6) for b in bands}
    if len(tols) <= 1:
        return f"±{(float(bands[0]['tolerance']) if bands else float(s['tolerance'])):.0%}"
    return ", ".join(f"{b['metric']} ±{float(b['tolerance']):.0%}" for b in bands)


def unit_label(unit: str) -> str:
    """How a travel figure's unit reads in a sentence: km, minutes or miles; a matrix of unknown unit is in
    "matrix units"."""
    return "matrix units" if unit == "matrix" else unit


def _travel_reasons(s: dict[str, Any], opts: Options, unit: str = "km", not_band: list[str] | None = None) -> list[str]:
    """Why mean travel ends above today's (the optimizer keeps it at or below today's when it can), in the
    travel's unit (km, or a matrix's minutes or miles). `not_band`: where the band cannot be the cause, what is
    (_not_the_band), said instead of the band, the budget or whole accounts."""
    u = unit_label(unit)
    today, after = s["travel_km_today"], s["travel_km_after"]
    out: list[str] = []
    need = s.get("travel_needs_moved_share", float("nan"))
    if isinstance(need, float) and math.isfinite(need) and s["min_moved_share"] > 0:
        ratio = s["moved_share"] / s["min_moved_share"]
        if ratio > 1.5:
            out.append(
                f"keeping mean travel at or below today's moved {s['moved_share']:.1%} of the metric, "
                f"{ratio:.2f}x the {s['min_moved_share']:.1%} that had to move; set a moved budget to move less "
                "and accept more travel"
            )
    if not math.isfinite(today) or after <= today + 1e-9:
        return out
    if not_band is not None:
        return out + not_band
    best = s.get("travel_km_best_in_band", float("nan"))
    if isinstance(best, float) and math.isfinite(best) and best > today:
        over = "" if s.get("travel_bound_all_reps") else ", each account limited to its nearest reps"
        band = (
            f"keeping every territory within {tolerance_text(s)}"
            if s["tolerance_met"]
            else f"balancing to max/mean {s['max_mean_after']:.3f}"
        )
        out.append(
            f"{band} needs more travel than today's: mean travel "
            f"{after:,.1f} {u} against {today:,.1f} {u} today, and no assignment within the band averages below "
            f"{best:,.1f} {u} (LP bound, any share moved{over}); a wider tolerance keeps travel lower"
        )
    elif opts.max_moved is not None:
        out.append(
            f"within the moved budget of {opts.max_moved:.1%}, mean travel {after:,.1f} {u} stays above today's "
            f"{today:,.1f} {u}; allow more to move to bring it down"
        )
    else:
        out.append(
            f"mean travel {after:,.1f} {u} ends above today's {today:,.1f} {u}: with whole accounts no balanced "
            "assignment moving this little travels less; allow more to move to bring it down"
        )
    return out


def _met_today(p: _Problem) -> bool:
    """Today's owners already hold every band on the scenario's team (each rep's share of the owned book against
    their target; no owner leaving): then balancing asks no account to move."""
    own = p.owner >= 0
    if (p.owner == -2).any() or not own.any():
        return False
    for m in range(p.bm.shape[1]):
        load = _bincount(p.owner[own], weights=p.bm[own, m], minlength=len(p.reps))
        if load.sum() > 0 and np.abs(load / (load.sum() * p.target) - 1).max() > p.tols[m] + 1e-9:
            return False
    return True


def _not_the_band(
    p: _Problem, assign: np.ndarray, km_today: np.ndarray, km_after: np.ndarray, unit: str
) -> list[str] | None:
    """Why mean travel rises where the band cannot be why (one rep, the bands met today, or the accounts owned today
    travel no more than today): the accounts newly given an owner, the farthest named. None where it can be."""
    kept = (p.owner >= 0) & np.isfinite(km_today)
    new = np.flatnonzero((p.owner < 0) & (assign >= 0) & np.isfinite(km_after))  # no place: no travel to add
    same = bool(kept.any()) and float(np.nanmean(km_after[kept])) <= float(np.nanmean(km_today[kept])) + 1e-9
    if not (len(p.reps) == 1 or _met_today(p) or (same and len(new))):
        return None
    if not len(new):
        return []  # nothing to name, and the band is not the cause either
    u, names = unit_label(unit), p.reps["name"].to_numpy(dtype=object)
    far = new[np.argsort(-np.nan_to_num(km_after[new], nan=-1.0), kind="stable")]
    label = [f"{account_label(p.acc['account_id'].iloc[i], p.acc['name'].iloc[i] if 'name' in p.acc else None)} "
             f"({km_after[i]:,.0f} {u} to {names[assign[i]]})" for i in far[:3]]  # fmt: skip
    mean, was = (float(np.nanmean(x[kept])) for x in (km_after, km_today)) if kept.any() else (math.nan, math.nan)
    owned = f"; the accounts owned today average {mean:,.1f} {u} (today {was:,.1f} {u})" if math.isfinite(mean) else ""
    return [
        f"mean travel rises with the {len(new):,} account(s) given an owner they had not (unowned today, or their "
        f"owner leaves), the farthest {listing(label, 3)}{owned}; the band is not the cause (a wider tolerance "
        "changes nothing here): a rep nearer to these accounts, or leaving them out, keeps travel down"
    ]


def _move_reasons(
    p: _Problem, assign: np.ndarray, km_before: np.ndarray, km_after: np.ndarray, tol: float, unit: str = "km"
) -> np.ndarray:
    """Why each account goes where it goes (travel in the travel's unit); pinned accounts say why they stay."""
    u = unit_label(unit)
    n = len(p.reps)
    owned = p.owner >= 0
    load = _bincount(p.owner[owned], weights=p.b[owned], minlength=n) / p.target
    names = p.reps["name"].to_numpy(dtype=object)
    is_new = p.reps["is_new"].to_numpy(dtype=bool)
    out = np.full(len(assign), "", dtype=object)

    def km(x: float) -> str:
        return f"{x:.0f} {u}" if np.isfinite(x) else "no place: by balance"

    for i in np.flatnonzero((assign != p.owner) | (p.owner < 0)):
        to = assign[i]
        if p.owner[i] == -1:
            out[i] = f"unassigned: to {names[to]} ({km(km_after[i])})"
        elif p.owner[i] == -2:
            out[i] = f"owner leaves the team: to {names[to]} ({km(km_after[i])})"
        elif load[p.owner[i]] > 1 + tol:
            out[i] = f"balance: {names[p.owner[i]]} holds {load[p.owner[i]]:.2f}x the target"
        elif is_new[to]:
            out[i] = f"new rep {names[to]} ({km(km_after[i])} away)"
        elif load[to] < 1 - tol:
            out[i] = f"balance: {names[to]} holds {load[to]:.2f}x the target"
        else:
            out[i] = f"travel/balance: {km(km_before[i])} -> {km(km_after[i])}"
    out[p.pinned] = p.pin_reason[p.pinned]
    return out


def _capacity_notes(p: _Problem, s: dict[str, Any], hours_min: float) -> list[str]:
    """Plain words on capacity: whether it binds, why not, and what would make it bind."""
    w = p.workload
    meeting, in_person = w.meeting_hours, w.travel_share
    cap, need, n = s["capacity_hours"], s["workload_hours_after"], s["reps_after"]
    model = (
        f"{w.touches_per_year_customer:g} touches a year per customer and {w.touches_per_year_prospect:g} per "
        f"prospect at {meeting:g} h each, plus travel for {in_person:.0%} in person"
    )
    s["capacity_hours_needed_min"] = hours_min
    if not s["capacity_enforced"] and hours_min <= cap:
        # The solver did not run (nothing could move), so capacity was never put to it; the team's hours hold
        # the book, and saying "no assignment can fit" at 0.1x of them was backwards.
        notes = [
            f"Capacity was not checked: no account could move, so no assignment was solved. Serving all "
            f"{s['accounts']:,} accounts needs at least {hours_min:,.0f} hours a year ({model}), "
            f"{hours_min / max(cap, 1e-9):,.1f}x the {cap:,.0f} hours the {n} reps have, so the book fits the "
            f"team's capacity (this assignment needs {need:,.0f})."
        ]
        if s["over_capacity_reps"]:
            notes.append(f"{s['over_capacity_reps']} rep(s) are above their own capacity as the book stands.")
        return notes
    if not s["capacity_enforced"]:
        return [
            f"Capacity is not enforced: serving all {s['accounts']:,} accounts needs at least {hours_min:,.0f} hours "
            f"a year ({model}), {hours_min / max(cap, 1e-9):,.1f}x the {cap:,.0f} hours the {n} reps have, so no "
            f"assignment can fit (this one needs {need:,.0f}). Each rep's target is still their share of the team's "
            "capacity, and hours per rep are shown for comparison. Add reps, or lower touches per year or meeting "
            "hours on the Settings page (admins), for capacity to bind."
        ]
    notes = [
        f"Capacity is enforced: each rep's yearly hours ({model}) stay within their capacity; the book needs "
        f"{need:,.0f} of the team's {cap:,.0f} hours."
    ]
    if s["over_capacity_reps"]:
        notes.append(
            f"{s['over_capacity_reps']} rep(s) end above their capacity once accounts are whole; raise their "
            "capacity or widen the tolerance."
        )
    return notes


def _area_notes(unit: str, n: int) -> list[str]:
    """How many accounts no area of the unit holds (each then moves on its own), and why."""
    if not n:
        return []
    what = {
        "zip3": "ZIP3 area: those exist in the US only, and these accounts are elsewhere or have no US ZIP",
        "county": "US county: these accounts are outside the US or were not placed by a US ZIP",
        "state": "state or region: their rows name none",
    }.get(unit)
    if what is None:
        return []
    return [
        f"{n:,} account(s) are in no {what}. Each moves on its own (contiguity treats it as an area of its own); "
        "H3 hexagons hold accounts in every country."
    ]


def _rep_hours_notes(s: dict[str, Any]) -> list[str]:
    """When workload is balanced and reps' own travel unbalances their hours: what the band counts, what Coverage
    shows, who is busiest and why, and what brings them together."""
    band = next((b for b in s["metrics"] if b["metric"] == "workload"), None)
    after = s["rep_hours_max_mean_after"]
    if band is None or not math.isfinite(after) or after <= 1 + float(band["tolerance"]) + 0.005:
        return []
    return [
        "Workload is balanced as each account's own hours: its meetings plus travel from its nearest rep's home, "
        "the same whoever owns it. Counting each rep's own travel instead, as Coverage's 'Workload (hours a year)' "
        f"does, the busiest rep has {after:.2f}x the mean hours (today {s['rep_hours_max_mean_before']:.2f}x): "
        f"{s['rep_hours_busiest']}, {s['rep_hours_busiest_hours']:,.0f} h a year, whose accounts lie "
        f"{s['rep_hours_busiest_km']:,.0f} km "
        f"from home on average (all reps' {s['rep_hours_mean_km']:,.0f} km). Check that rep's home (Data page, "
        "python -m planner rep-home), or lower their capacity (the Rebalance page's what-if, or a team file's "
        "capacity column) so every band asks less of them."
    ]


def _potential(p: _Problem) -> np.ndarray:
    return pd.to_numeric(p.acc["potential"], errors="coerce").fillna(0).to_numpy(float)


def _moved_mask(p: _Problem, assign: np.ndarray) -> np.ndarray:
    """Accounts that change owner (owned today, or their owner leaves the team)."""
    return ((p.owner >= 0) | (p.owner == -2)) & (assign != p.owner)


def _today_load(p: _Problem) -> np.ndarray:
    """Today's territories (today's active reps, owned accounts) on the balance metric."""
    today_idx = p.acc["owner_rep_id"].map({r: i for i, r in enumerate(p.today["rep_id"])})
    t_ok = today_idx.notna().to_numpy()
    return _bincount(today_idx[t_ok].astype(int), weights=p.b[t_ok], minlength=len(p.today))


def _hours(p: _Problem, assign: np.ndarray, km_after: np.ndarray) -> np.ndarray:
    """Each rep's yearly hours under the assignment."""
    weights = p.hours_fixed + p.hours_per_km * np.nan_to_num(km_after)
    return _bincount(assign, weights=weights, minlength=len(p.reps))


def _balance_summary(p: _Problem, u: _Units | None, opts: Options, assign: np.ndarray) -> dict[str, Any]:
    """Max/mean before and after on every band against its lower bound, and whether the tolerance is met."""
    tol = opts.tolerance
    after_norm = _bincount(assign, weights=p.b, minlength=len(p.reps)) / p.target
    before_idx = imbalance(_today_load(p)).as_dict()
    after_idx = imbalance(after_norm * p.target.mean()).as_dict()
    band_lower = [_lower_bound(p, u, p.bm[:, m]) for m in range(p.bm.shape[1])]
    bands = band_figures(p, assign, band_lower)
    for band, (lo, hi) in zip(bands, reach_bands(p, u), strict=True):  # the band the solver aims at (`reach`)
        band["reach_low"], band["reach_high"] = float(lo), float(hi)
    before_max = float(before_idx["max_mean"])
    if len(bands) == 1:
        achieved = float(after_norm.max())
        lower_bound = _lower_bound(p, u)
        met = bool(achieved <= 1 + tol + 1e-9)
    else:  # several metrics: the worst of them, each against its own band
        achieved = max(float(b["max_mean_after"]) for b in bands)
        lower_bound = max(band_lower)
        met = all(bool(b["met"]) for b in bands)
        # Today's worst too, so before and after compare the same thing (the blend is not what is balanced).
        before_max = max((float(b["max_mean_before"]) for b in bands if b["max_mean_before"] == b["max_mean_before"]),
                         default=before_max)  # fmt: skip
    return {
        "metric": p.metric_label,
        "expected_value_source": p.ev_source,
        "tolerance": tol,
        "unit": opts.unit,
        "h3_resolution": None if u is None else u.resolution,
        "reps_before": int(len(p.today)),
        "reps_after": int(len(p.reps)),
        "accounts": int(len(p.acc)),
        "before": before_idx,
        "after": after_idx,
        "max_mean_before": before_max,
        "max_mean_after": achieved,
        "lower_bound": float(lower_bound),
        "tolerance_met": met,
        "metrics": bands,
        "tolerances": {str(b["metric"]): float(b["tolerance"]) for b in bands},
        "within_reach": all(
            bool(float(b["max_mean_after"]) <= max(1 + float(b["tolerance"]), float(b["reach_high"])) + 1e-9)
            for b in bands
        ),
    }


def _moves_summary(p: _Problem, u: _Units | None, opts: Options, assign: np.ndarray) -> dict[str, Any]:
    moved = _moved_mask(p, assign)
    pot = _potential(p)
    return {
        "moved_accounts": int(moved.sum()),
        "moved_account_share": float(moved.mean()),
        "moved_share": float(p.b[moved].sum()),
        "moved_potential_share": float(pot[moved].sum() / max(pot.sum(), 1e-12)),
        "min_moved_share": float(_min_moved(p, opts.tolerance, u)),
        "forced_moved_share": float(p.b[p.owner == -2].sum()),
        "leaver_accounts": int((p.owner == -2).sum()),  # given a new owner because theirs leaves (in moved_accounts)
        "assigned_unowned": int((p.owner == -1).sum()),
        "pinned_accounts": int(p.pinned.sum()),
    }


def _travel_summary(
    p: _Problem, assign: np.ndarray, km_after: np.ndarray, km_today: np.ndarray, unit: str = "km"
) -> dict[str, Any]:
    """Mean and p95 travel (in the travel's unit), top-3-nearest share, overlap and coverage (reach in km: the
    travel as km at the workload's speed), today and after."""
    placed = placed_mask(p)
    near_km, _ = _nearest(p.xyz[placed], p.homes, 1)
    nearest = near_km[:, 0] if p.distance is None else p.distance[placed].min(1)
    pot = _potential(p)
    pot_total = max(pot.sum(), 1e-12)
    reach = p.workload.reachable_km
    # Coverage counts an account with no place as reachable (its travel is 0); travel figures leave it out.
    reach_today, reach_after = _as_km(p, km_today, unit), _as_km(p, km_after, unit)
    km_today, km_after = np.where(placed, km_today, np.nan), np.where(placed, km_after, np.nan)
    return {
        "travel_km_today": float(np.nanmean(km_today)) if np.isfinite(km_today).any() else float("nan"),
        "travel_km_after": float(np.nanmean(km_after)) if np.isfinite(km_after).any() else float("nan"),
        "travel_km_nearest": float(nearest.mean()) if len(nearest) else float("nan"),
        "travel_km_p95_today": p95(km_today),
        "travel_km_p95_after": p95(km_after),
        # No assignment's p95 goes below the p95 of each account's distance to its nearest rep.
        "travel_km_p95_nearest": p95(nearest),
        "top3_share_today": top_k_share(p, np.where(np.isfinite(km_today), p.owner, -1)),
        "top3_share_after": top_k_share(p, assign),
        "overlap_today": overlap(p, np.where(p.owner >= 0, p.owner, -1)),
        "overlap_after": overlap(p, assign),
        "coverage_today": float(pot[np.nan_to_num(reach_today, nan=np.inf) <= reach].sum() / pot_total),
        "coverage_after": float(pot[reach_after <= reach].sum() / pot_total),
        "unplaced_accounts": int((~placed).sum()),
    }


def _rep_table(p: _Problem, assign: np.ndarray, km_after: np.ndarray, unit: str = "km") -> pd.DataFrame:
    """One row per rep of the scenario (and per rep removed from it): load, potential, accounts, hours
    and moves, before and after (`km_after`: travel in the travel's unit)."""
    n_reps = len(p.reps)
    owned = p.owner >= 0
    pot = _potential(p)
    moved = _moved_mask(p, assign)
    before_load = _bincount(p.owner[owned], weights=p.b[owned], minlength=n_reps)
    after_load = _bincount(assign, weights=p.b, minlength=n_reps)
    km_before = _as_km(p, _km_to(p, p.owner), unit)
    reps = p.reps[["rep_id", "name", "home_lat", "home_lon", "capacity_hours", "is_new"]].copy()
    reps["target_share"] = p.target
    reps["before"] = before_load
    reps["after"] = after_load
    reps["before_ratio"] = before_load / p.target
    reps["after_ratio"] = after_load / p.target
    reps["potential_before"] = _bincount(p.owner[owned], weights=pot[owned], minlength=n_reps)
    reps["potential_after"] = _bincount(assign, weights=pot, minlength=n_reps)
    reps["accounts_before"] = _count(p.owner[owned], minlength=n_reps)
    reps["accounts_after"] = _count(assign, minlength=n_reps)
    reps["hours_before"] = _bincount(
        p.owner[owned], weights=p.hours_fixed[owned] + p.hours_per_km[owned] * km_before[owned], minlength=n_reps
    )
    reps["hours_after"] = _hours(p, assign, _as_km(p, km_after, unit))
    reps["moved_in"] = _count(assign[moved], minlength=n_reps)
    reps["moved_out"] = _count(p.owner[moved & (p.owner >= 0)], minlength=n_reps)
    removed = p.today[~p.today["rep_id"].isin(set(p.reps["rep_id"]))]
    if not len(removed):
        reps["removed"] = False
        return reps
    gone = removed[["rep_id", "name", "home_lat", "home_lon", "capacity_hours"]].copy()
    gone["is_new"] = False
    gone["removed"] = True
    today_map = dict(zip(p.today["rep_id"], _today_load(p), strict=True))
    gone["before"] = gone["rep_id"].map(today_map)
    gone["potential_before"] = [pot[(p.acc["owner_rep_id"] == r).to_numpy()].sum() for r in gone["rep_id"]]
    gone["accounts_before"] = [int((p.acc["owner_rep_id"] == r).sum()) for r in gone["rep_id"]]
    gone["moved_out"] = gone["accounts_before"]
    return pd.concat([reps.assign(removed=False), gone], ignore_index=True)


def _assignment_table(
    p: _Problem, assign: np.ndarray, km_today: np.ndarray, km_after: np.ndarray, tol: float, unit: str
) -> pd.DataFrame:
    """One row per account: where it was, where it goes, why, and its travel before and after."""
    rep_ids = p.reps["rep_id"].to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "account_id": p.acc["account_id"].to_numpy(),
            "name": p.acc["name"].to_numpy() if "name" in p.acc else None,
            "city": p.acc["city"].to_numpy() if "city" in p.acc else None,
            "state": p.acc["state"].to_numpy() if "state" in p.acc else None,
            "lat": p.acc["lat"].to_numpy(),
            "lon": p.acc["lon"].to_numpy(),
            "previous_owner": p.acc["owner_rep_id"].to_numpy(dtype=object),
            "owner": rep_ids[assign],
            "moved": _moved_mask(p, assign),
            "pinned": p.pinned,
            "reason": _move_reasons(p, assign, km_today, km_after, tol, unit),
            "weight": p.b,
            "potential": _potential(p),
            "expected_value": (
                pd.to_numeric(p.acc["expected_value"], errors="coerce").to_numpy(float)
                if "expected_value" in p.acc
                else np.full(len(p.acc), np.nan)
            ),
            "km_before": km_today,
            "km_after": km_after,
        }
    )


def _report(
    p: _Problem, u: _Units | None, opts: Options, assign: np.ndarray, timing: dict[str, float], extra: dict[str, Any]
) -> Result:
    """The result of an assignment: the summary figures (with the solver's `extra` and `timing`), reasons
    and notes in plain words, the reps' table and the accounts' table."""
    extra = per_placed(p, extra)
    km_after = _km_to(p, assign)  # the travel's unit: km, or a matrix's minutes or miles
    km_today = _today_km(p)
    unit = str(extra.get("travel_unit", "km"))
    hours = _hours(p, assign, _as_km(p, km_after, unit))
    cap = p.reps["capacity_hours"].to_numpy(float)
    summary: dict[str, Any] = {
        **_balance_summary(p, u, opts, assign),
        **_moves_summary(p, u, opts, assign),
        **_travel_summary(p, assign, km_after, km_today, unit),
        "capacity_hours": float(cap.sum()),
        "workload_hours_after": float(hours.sum()),
        "capacity_enforced": bool(extra.get("capacity_enforced", False)),
        "over_capacity_reps": int((hours > cap * (1 + 1e-9)).sum()),
        **rep_hours_figures(p, assign),
        **{k: v for k, v in extra.items() if k != "capacity_enforced"},
        **{k: round(v, 3) for k, v in timing.items()},
    }
    s = summary
    summary["reasons"] = _reasons(p, u, opts, s) if u is not None else []
    # From here travel is shown per account: none for an account with no place (its 0 is no measured travel).
    km_after, km_today = (np.where(placed_mask(p), x, np.nan) for x in (km_after, km_today))
    if u is not None:
        summary["reasons"] += _travel_reasons(summary, opts, unit, _not_the_band(p, assign, km_today, km_after, unit))
    summary["travel_kept"] = bool(
        not math.isfinite(summary["travel_km_today"]) or summary["travel_km_after"] <= summary["travel_km_today"] + 1e-9
    )
    near_km = _nearest(p.xyz, p.homes, 1)[0][:, 0] if p.distance is None else _as_km(p, p.distance.min(1), unit)
    near_km = np.where(placed_mask(p), near_km, 0.0)
    summary["notes"] = unplaced_notes(summary["unplaced_accounts"])
    summary["notes"] += _capacity_notes(p, summary, float((p.hours_fixed + p.hours_per_km * near_km).sum()))
    summary["notes"] += _rep_hours_notes(summary) + _area_notes(opts.unit, int(summary.get("accounts_without_area", 0)))
    summary["notes"] += reach_notes(p, u, opts.unit)
    assignments = _assignment_table(p, assign, km_today, km_after, opts.tolerance, unit)
    reps = _rep_table(p, assign, km_after, unit)
    return Result(assignments=assignments, reps=reps, summary=summary, options=opts)


def handover(accounts: pd.DataFrame, reps: pd.DataFrame, opts: Options, leavers: set[str], successor: str) -> Result:
    """Every account of the `leavers` (rep ids; the active ones are opts.remove_reps) to `successor`, every other
    account with its owner, measured as a rebalancing is (no solver). Accounts owned by nobody or by another rep
    off the team are not part of it (summary notes say how many): a handover touches nothing else."""
    owner = accounts["owner_rep_id"]
    team = set(reps.loc[reps["active"].fillna(True).astype(bool), "rep_id"]) - set(opts.remove_reps)
    if successor in leavers:
        raise BadInput(f"the successor {successor!r} is one of the reps who leave; name a rep who stays")
    if successor not in team:
        raise BadInput(f"the successor {successor!r} is not an active rep; name an active rep's name, email or id")
    theirs = owner.isin(leavers)
    if not theirs.any():
        raise BadInput("the reps who leave own no account: there is nothing to hand over")
    part = theirs | owner.isin(team)
    p = _prepare(accounts[part], reps, opts)
    assign = np.where(p.owner == -2, int(np.flatnonzero(p.reps["rep_id"].to_numpy() == successor)[0]), p.owner)
    name = str(p.reps.loc[p.reps["rep_id"] == successor, "name"].iloc[0])
    res = _report(p, None, opts, assign, {"solve_seconds": 0.0}, {"solver": "none: a handover", "travel_unit": "km"})
    res.summary["notes"].insert(0, f"Handover: the {int(theirs.sum()):,} accounts of the reps who leave go to {name}; "
                                   "no other account changes owner.")  # fmt: skip
    if (~part).any():
        res.summary["notes"].insert(1, f"{int((~part).sum()):,} accounts without an owner on the team (unowned, or "
                                       "owned by another inactive rep) are left as they are.")  # fmt: skip
    return res
