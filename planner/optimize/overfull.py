"""Reps whose accounts that must stay alone outgrow a band: they keep only those, the others are balanced among
themselves.

One rep owning 30% of a book, 2,800 of its accounts customers and open deals (which stay with their owner), holds
16x a fair share of potential before anything moves. No assignment brings that territory into the band, and the
band any assignment can reach (planner.optimize.reach) was then every rep's: 0.45x to 17.2x the target, so the other
130 territories of that market were left anywhere from 0.54x to 3.4x theirs (explore-S, 100,000 accounts). Now such
a rep keeps the accounts that must stay and nothing else (any other account would only add to the excess), and the
rest of the book is one problem of its own: the other reps, each against their fair share of it (their share of
their capacity), within the band. The report measures the whole book, as before (the overfull rep's max/mean and
its lower bound), and says which reps were set apart and how the others are balanced ('others_max_mean_after' on
each band).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from planner.optimize.geometry import _bincount
from planner.optimize.markets import MEAN_KEYS, OVERFULL_NOTE, SHARE_KEYS
from planner.optimize.options import Options, Result
from planner.optimize.problem import _dist, _Problem, placed_mask
from planner.optimize.report import _report
from planner.text import listing


def overfull_reps(p: _Problem) -> np.ndarray:
    """The scenario reps (positions in p.reps) whose accounts that must stay alone carry more than the top of a band,
    against their fair share of what the others cannot hold: a rep set apart takes their pinned load out of the book
    the others share, so the test repeats until no other rep is over (never setting apart every rep)."""
    k, bands = len(p.reps), p.bm.shape[1]
    if k < 2 or not p.pinned.any() or p.pinned.all():  # nothing pinned, or nothing that could move
        return np.zeros(0, dtype=np.int64)
    fixed = np.column_stack(
        [_bincount(p.owner[p.pinned], weights=p.bm[p.pinned, m], minlength=k) for m in range(bands)]
    )
    total = p.bm.sum(axis=0)
    cap = p.reps["capacity_hours"].to_numpy(float)
    apart = np.zeros(k, dtype=bool)
    while True:
        keep = ~apart
        share = np.where(keep, cap / cap[keep].sum(), 0.0)
        rest = total - fixed[apart].sum(axis=0)
        top = (1 + p.tols)[None, :] * share[:, None] * rest[None, :]
        over = keep & ((fixed > top + 1e-12) & (rest > 0)[None, :]).any(axis=1)
        if not over.any() or not (keep & ~over).any():
            return np.flatnonzero(apart)
        apart |= over


def rest_problem(
    p: _Problem, apart: np.ndarray, accounts: pd.DataFrame, reps: pd.DataFrame, opts: Options
) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame, Options]:
    """The book the others share: every account but the set-apart reps' pinned ones (their other accounts without
    an owner, so the others take them as they would a new account), the reps but those set apart; locks and
    capacities of the accounts and reps left. Returns (account positions, accounts, reps, options)."""
    ids = set(p.reps["rep_id"].iloc[apart])
    kept = p.pinned & np.isin(p.owner, apart)
    pos = np.flatnonzero(~kept)
    acc = accounts.iloc[pos].copy()
    acc.loc[acc["owner_rep_id"].isin(ids), "owner_rep_id"] = None
    left = set(acc["account_id"])
    sub_opts = replace(
        opts,
        locks=tuple(a for a in opts.locks if a in left),
        capacities=tuple((r, c) for r, c in opts.capacities if r not in ids),
    )
    return pos, acc, reps[~reps["rep_id"].isin(ids)], sub_opts


def merge(p: _Problem, apart: np.ndarray, pos: np.ndarray, rest: Result, opts: Options,
          timing: dict[str, float]) -> Result:  # fmt: skip
    """The whole book's result: the set-apart reps' pinned accounts with them, the rest as solved, measured over
    the whole book; the solver's figures (the LP's travel bound, moved shares) from the rest's solve, over the whole
    book (the set-apart reps' accounts are fixed travel, and their other accounts had to move)."""
    rid = {r: i for i, r in enumerate(p.reps["rep_id"])}
    assign = p.owner.copy()
    assign[pos] = rest.assignments["owner"].map(rid).to_numpy(np.int64)
    sub = rest.summary
    placed = placed_mask(p)  # travel means are over accounts with a place
    n, n_rest = max(int(placed.sum()), 1), int(placed[pos].sum())
    kept = np.setdiff1d(np.arange(n), pos)
    kept_km = float(_dist(p, kept, assign[kept]).sum()) if len(kept) else 0.0
    b_rest = float(p.b[pos].sum())
    forced = float(p.b[pos][np.isin(p.owner[pos], apart)].sum())  # their other accounts: they had to move
    extra: dict[str, Any] = {k: v for k, v in sub.items() if not k.endswith("_seconds")}
    for key in MEAN_KEYS:
        if key in sub:
            extra[key] = (float(sub[key]) * n_rest + kept_km) / n
    for key in SHARE_KEYS:
        if key in sub:
            extra[key] = float(sub[key]) * b_rest + (forced if key != "moved_share" else 0.0)
    core = ("travel_unit", "capacity_enforced", "accounts_without_area")
    res = _report(p, None, opts, assign, timing, {k: extra[k] for k in core if k in extra})
    s = res.summary
    for key, value in extra.items():
        s.setdefault(key, value)
    for key in ("lp_min_moved_share", "lp_moved_share", "min_moved_share", "forced_moved_share"):
        if key in extra:
            s[key] = extra[key]
    for band, theirs in zip(s["metrics"], sub["metrics"], strict=True):
        band["others_max_mean_after"] = float(theirs["max_mean_after"])
        band["others_min_mean_after"] = float(theirs["min_mean_after"])
        band["others_met"] = bool(theirs["met"])
    s["reasons"] = list(sub["reasons"])
    labels = tuple(f"{label}: " for label in p.band_labels)
    own = [x for x in s["notes"] if not x.startswith(labels)]  # the whole book's widened bands: said below instead
    s["notes"] = (
        [_note(p, apart, s, int(np.isin(p.owner[pos], apart).sum()), assign)]
        + own
        + [x for x in sub["notes"] if x.startswith(labels)]
    )
    s["set_apart_reps"] = [str(r) for r in p.reps["rep_id"].iloc[apart]]
    a = res.assignments
    names = p.reps["name"].to_numpy(dtype=object)
    theirs_moved = np.flatnonzero(np.isin(p.owner, apart) & (assign != p.owner))
    km = _dist(p, theirs_moved, assign[theirs_moved])
    unit = "min" if str(s.get("travel_unit", "km")) == "minutes" else str(s.get("travel_unit", "km"))
    a.loc[theirs_moved, "reason"] = [
        f"its owner {names[p.owner[i]]} already holds more than a fair share in accounts that must stay: to "
        f"{names[assign[i]]} ({d:.0f} {unit})"
        for i, d in zip(theirs_moved, km, strict=True)
    ]
    return res


def _note(p: _Problem, apart: np.ndarray, s: dict[str, Any], moved: int, assign: np.ndarray) -> str:
    """Which reps were set apart, why (on which metrics), and how the others are balanced."""
    k = len(p.reps)
    fixed = (
        np.column_stack(
            [_bincount(p.owner[p.pinned], weights=p.bm[p.pinned, m], minlength=k) for m in range(p.bm.shape[1])]
        )
        / p.target[:, None]
    )
    who = listing([f"{p.reps['name'].iloc[r]} ({fixed[r].max():.1f}x)" for r in apart], 5)
    kept = int((p.pinned & np.isin(p.owner, apart)).sum())
    others = "; ".join(
        f"{b['metric']} max/mean {b['others_max_mean_after']:.3f}, min/mean {b['others_min_mean_after']:.3f} "
        f"({'within' if b['others_met'] else 'outside'} ±{float(b['tolerance']):.0%})"
        for b in s["metrics"]
    )
    rest, only = len(p.reps) - len(apart), _one_metric(p, apart, fixed, assign)
    return (
        f"{OVERFULL_NOTE}accounts that must stay (customers, open deals, locked) alone hold more than a fair share "
        f"for {who} of the target: no assignment brings them into the band. They keep only those {kept:,} "
        f"accounts; their other {moved:,} go to the rest of the team. The other {rest:,} reps are balanced among "
        f"themselves, each against their fair share of the rest of the book: {others}.{only}"
        " To share the overfull book instead, let customers or open deals move (--allow-customers, --allow-open-deals)."
    )


def _one_metric(p: _Problem, apart: np.ndarray, fixed: np.ndarray, assign: np.ndarray) -> str:
    """With several bands, a set-apart rep over on some metrics only: it is kept to its pinned book on every metric,
    so on the others it is not balanced (it gets no account to fill a band it is under); say where it ends."""
    if p.bm.shape[1] < 2:
        return ""
    after = (
        np.column_stack([_bincount(assign, weights=p.bm[:, m], minlength=len(p.reps)) for m in range(p.bm.shape[1])])
        / p.target[:, None]
    )
    out = []
    for r in apart:
        over = fixed[r] > 1 + p.tols + 1e-9
        if over.all() or not over.any():
            continue
        on = listing([p.band_labels[m] for m in np.flatnonzero(over)], 3, " and ")
        rest = listing([f"{p.band_labels[m]} {after[r, m]:.2f}x" for m in np.flatnonzero(~over)], 3, " and ")
        out.append(f"{p.reps['name'].iloc[r]} is over on {on} only, yet kept to those accounts on every metric: it "
                   f"ends at {rest} its target there, not balanced on those metrics")  # fmt: skip
    if not out:
        return ""
    return (
        f" {'; '.join(out)} (balancing a set-apart rep on the metrics it is not over on is not done: it takes no "
        "other account)."
    )
