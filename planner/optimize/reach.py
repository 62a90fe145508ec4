"""The band each metric can reach: an indivisible account or area, or a rep's accounts that must stay, bigger than a
band widen that band (and only that one) to what any assignment can reach; the least share that has to move is
measured against it, the solver aims at it, and the report says which band was widened and why."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from planner.optimize.geometry import _bincount
from planner.optimize.problem import _Problem, _Units
from planner.text import account_label


def _lower_bound(p: _Problem, u: _Units | None, w: np.ndarray | None = None) -> float:
    """max(1, largest indivisible item / target, fixed load / target): no assignment can do better
    (on the blend, or on the band weights `w`)."""
    w = p.b if w is None else w
    if u is not None and not u.divisible:
        weights = _bincount(u.of_account, weights=w[u.movable], minlength=len(u.weight))
    else:
        weights = w[~p.pinned]
    fixed = _bincount(p.owner[p.pinned], weights=w[p.pinned], minlength=len(p.reps)) / p.target
    largest = float(weights.max()) if len(weights) else 0.0
    return max(1.0, largest / float(p.target.max()), float(fixed.max()) if len(fixed) else 0.0)


def _reach(p: _Problem, u: _Units | None, tol: float, w: np.ndarray | None = None) -> float:
    """The band's half-width no assignment can beat: the tolerance, or the lower bound's excess over the mean when an
    indivisible account or area, or a rep's accounts that must stay, alone carry more than the band (the LP's
    balance excess z then cannot go below that excess on either side)."""
    return max(tol, _lower_bound(p, u, w) - 1)


def reach_bands(p: _Problem, u: _Units | None) -> np.ndarray:
    """(n_bands, 2): each band's bottom and top as shares of the target, as the solver aims at them. A band no item
    outgrows is its tolerance's. One that an item outgrows reaches up to the lower bound, and down as far but no
    lower than today's smallest territory on that metric where that is below the band: left at the bottom the
    lower bound sets (with a 98.5% account, below zero), the book beside the account moved for travel only (one
    metric: compactness emptied a small territory, min/mean 0.0096 -> 0.0057; several: the whale itself went to
    the rep whose home it is next to, and 98.9% of the potential moved)."""
    owned = p.owner >= 0
    several = p.bm.shape[1] > 1
    out = np.empty((p.bm.shape[1], 2))
    for m, tol in enumerate(p.tols):
        w = p.bm[:, m]
        bound = _lower_bound(p, u, w)
        if bound - 1 <= tol + 1e-12:
            out[m] = (1 - tol, 1 + tol)
            continue
        # Several metrics: the territory that holds the item holds its share of every other metric too, and with
        # it about its share of the rest of this one (the top at the item alone left that territory one account,
        # 60 under the accounts band, and its repair moved 32% of the book).
        rest = max(1 - bound * float(p.target.max()), 0.0) * (1 + tol) if several else 0.0
        top = bound + rest
        today = _bincount(p.owner[owned], weights=w[owned], minlength=len(p.reps)) / p.target
        out[m] = (max(2 - top, min(1 - float(tol), float(today.min()))), top)
    return out


def _reachable(p: _Problem, u: _Units | None) -> _Problem:
    """The problem with every band one an assignment can reach (`reach_bands`); the others keep their tolerance.
    The LP splits accounts, so against the band itself it cut a 98.5% account into five, moved 78.6% of the metric
    and rounding gave the whole account to another rep. A band from lo to hi of the target is the band of
    ±(hi - lo)/(hi + lo) around (hi + lo)/2 of it, so every step keeps one tolerance per band: one band scales the
    target by (hi + lo)/2, several scale that band's weights by its inverse (the reps' targets are shared by every
    band, and a whale in potential must not move the accounts band). Returns p itself when every band is
    reachable."""
    bands = reach_bands(p, u)
    lo, hi = bands[:, 0], bands[:, 1]
    wide = hi > 1 + p.tols + 1e-12
    if not wide.any():
        return p
    centre, tols = (hi + lo) / 2, (hi - lo) / (hi + lo)
    if p.bm.shape[1] == 1:
        return replace(p, target=p.target * centre[0], tols=tols)
    scale = np.where(wide, 1 / centre, 1.0)
    owned = (p.owner >= 0) & ~p.pinned
    stay = owned & (p.bm[:, wide] > float(p.target.max()) * (1 + p.tols[wide])).any(axis=1)
    return replace(p, bm=p.bm * scale[None, :], tols=np.where(wide, tols, p.tols), stay=stay)


def _least_in_band(p: _Problem, w: np.ndarray, lo: float, hi: float) -> float:
    """The least of metric `w` that has to move for every territory to lie within lo..hi of its target, forced
    moves apart: each territory's excess over the band, or the deficits below it less what unassigned accounts and
    the book of removed reps can fill."""
    owned = p.owner >= 0
    load = _bincount(p.owner[owned], weights=w[owned], minlength=len(p.reps))
    forced = float(w[p.owner == -2].sum())
    unowned = float(w[p.owner == -1].sum())
    excess = float(np.maximum(load - p.target * hi, 0).sum())
    deficit = float(np.maximum(p.target * lo - load, 0).sum())
    return max(excess, deficit - unowned - forced, 0.0)


def _min_moved(p: _Problem, tol: float, u: _Units | None = None) -> float:
    """The least share of the metric that has to move: each territory's excess over its band (or the
    deficits below it, less what unassigned accounts can fill), plus the book of removed reps. The band is the
    one any assignment can reach (`_reach`): with one account of 98.5% of the book, its territory counts only
    its load above that account (0.3% of the book, where the whole excess over +5% said 77.8%). With several
    metrics, each against its own band, in the parts the moved share (the blend, their mean) counts them: the
    blend moved is the mean of each metric's moved, and each metric's is at least its own least (against the
    blend's band, a 98.5% account widened every metric's to ±64% and said 13.2% where 0.6% had to move)."""
    forced = float(p.b[p.owner == -2].sum())
    if p.bm.shape[1] == 1:
        half = _reach(p, u, tol)
        return forced + _least_in_band(p, p.b, 1 - half, 1 + half)
    bands = reach_bands(p, u)
    least = [_least_in_band(p, p.bm[:, m], 2 - hi, hi) for m, hi in enumerate(bands[:, 1])]
    return forced + float(np.mean(least))


def _budget_least(p: _Problem, tol: float, u: _Units | None = None) -> float:
    """The least the solver's default moved budget is measured from (passes: 1.45x it): the blend's excess over its
    band, as the moved share counts it (one metric: `_min_moved`). Several metrics: against the mean of the bands
    each metric can reach (any assignment within them has its blend within it), the blend's ±tolerance when no band
    is widened, so the usual worlds move as they did. The reported least, each metric's own excess, is higher
    there (5,000 x 40: 37.5% against 36.2%); as the budget's base it moved 54.7% of the book against 52.7%."""
    bands = reach_bands(p, u)
    if p.bm.shape[1] == 1 or np.all(bands[:, 1] <= 1 + p.tols + 1e-12):
        half = _reach(p, u, tol)
        return float(p.b[p.owner == -2].sum()) + _least_in_band(p, p.b, 1 - half, 1 + half)
    lo, hi = float(np.mean(2 - bands[:, 1])), float(np.mean(bands[:, 1]))
    return float(p.b[p.owner == -2].sum()) + _least_in_band(p, p.b, lo, hi)


def reach_notes(p: _Problem, u: _Units | None, unit: str) -> list[str]:
    """Which band is wider than its tolerance, and why: the account or area, or the rep's accounts that must stay,
    that no assignment can split, and the band any assignment can reach instead (with several metrics, the other
    metrics keep their own)."""
    bands = reach_bands(p, u)
    several = p.bm.shape[1] > 1
    out: list[str] = []
    for m, (lo, hi) in enumerate(bands):
        tol = float(p.tols[m])
        if hi <= 1 + tol + 1e-12:
            continue
        metric = p.band_labels[m]
        w = p.bm[:, m]
        bottom = " (its bottom no lower than today's smallest territory)" if lo > 2 - hi + 1e-12 else ""
        out.append(
            f"{metric}: {_cause(p, u, w, unit)} of {metric}: the band any assignment can reach is {lo:.3f}x to "
            f"{hi:.3f}x the target instead of ±{tol:.0%}{bottom}"
            + ("; the other metrics keep their own bands" if several else "")
        )
    return out


def _cause(p: _Problem, u: _Units | None, w: np.ndarray, unit: str) -> str:
    """What carries more than the band of metric `w`: the largest account or area, or a rep's accounts that must
    stay (whichever sets the lower bound), and its share of the metric."""
    total = max(float(w.sum()), 1e-12)
    fixed = _bincount(p.owner[p.pinned], weights=w[p.pinned], minlength=len(p.reps))
    if u is not None and not u.divisible:
        items = _bincount(u.of_account, weights=w[u.movable], minlength=len(u.weight))
    else:
        items = w[~p.pinned]
    largest = float(items.max()) if len(items) else 0.0
    worst = int(np.argmax(fixed / p.target)) if len(fixed) else -1
    if worst >= 0 and fixed[worst] / p.target[worst] > largest / float(p.target.max()):
        return f"{p.reps['name'].iloc[worst]}'s accounts that must stay hold {fixed[worst] / total:.1%}"
    big = int(np.argmax(items))
    if u is not None and not u.divisible:
        return f"one {unit} area, {u.label[big]}, holds {largest / total:.1%}"
    row = p.acc.iloc[int(np.flatnonzero(~p.pinned)[big])]
    return f"one account, {account_label(row['account_id'], row.get('name'))}, holds {largest / total:.1%}"
