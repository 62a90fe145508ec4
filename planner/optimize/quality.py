"""Territory quality beyond balance: compactness (nearest-rep share, far accounts) and overlap.

Accounts with no place at all (`_Problem.nowhere`) are in none of these but rep hours (meetings only): their
travel would be measured from a made-up point.

- top-3 share: accounts whose rep is one of the 3 nearest to them (by the problem's travel measure);
- p95 travel: the 95th percentile of account-to-rep travel;
- overlap: the share of accounts that lie inside the outline of another territory, the outline being
  the convex hull of the territory's accounts on an equirectangular plane (longitude scaled by the
  cosine of the book's mean latitude). Above OVERLAP_SAMPLE accounts a fixed, evenly spaced sample of
  accounts is tested (the outlines are always built from every account);
- rep hours: each rep's yearly hours with their own travel, as Coverage counts workload.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import ConvexHull, Delaunay, QhullError

from planner.coverage.imbalance import imbalance
from planner.optimize.geometry import _bincount, _nearest
from planner.optimize.problem import _km, _km_today, _Problem, placed_mask

OVERLAP_SAMPLE = 20_000
# The solver's travel figures: means over accounts (its totals count an account with no place as 0 travel; the
# report turns them into means over the placed accounts).
MEAN_KEYS = (
    "travel_km_lp",
    "travel_km_lp_bound",
    "travel_km_lp_units",
    "travel_km_best_in_band",
    "travel_km_lp_least",
    "travel_km_lp_bound_any_moved",
)


def top_k_share(p: _Problem, assign: np.ndarray, k: int = 3) -> float:
    """Share of the placed accounts whose rep is one of their k nearest reps (NaN when none is assigned)."""
    ok = (assign >= 0) & placed_mask(p)
    if not ok.any():
        return float("nan")
    k = min(k, len(p.reps))
    if p.distance is not None:
        near = np.argpartition(p.distance, k - 1, axis=1)[:, :k] if k < len(p.reps) else None
    else:
        _, near = _nearest(p.xyz, p.homes, k)
    if near is None:
        return 1.0
    hit = (near == assign[:, None]).any(axis=1)
    return float(hit[ok].mean())


def p95(values: np.ndarray) -> float:
    v = values[np.isfinite(values)]
    return float(np.percentile(v, 95)) if len(v) else float("nan")


def _plane(p: _Problem) -> np.ndarray:
    lat = p.acc["lat"].to_numpy(float)
    lon = p.acc["lon"].to_numpy(float)
    return np.c_[lon * np.cos(np.radians(float(np.nanmean(lat)))), lat]


def _countries(p: _Problem) -> np.ndarray:
    """Each account's country (its code, as the store gives the optimizer; accounts without one: the book's most
    common), as integer groups."""
    if "country" not in p.acc:
        return np.zeros(len(p.acc), dtype=np.int64)
    codes = p.acc["country"].astype("string").str.strip().str.upper().replace("", pd.NA)
    common = codes.mode()
    return np.unique(codes.fillna(common.iloc[0] if len(common) else "").to_numpy(str), return_inverse=True)[1]


def overlap(p: _Problem, assign: np.ndarray) -> float:
    """Share of accounts inside the convex hull of a territory other than their own. A territory has one outline
    per country it works in: one hull around Boston and Berlin spans the Atlantic and every territory of Ireland
    and Britain (a book over several continents read ~100% overlap, whatever the territories)."""
    placed = placed_mask(p)
    assign = np.where(placed, assign, -1)  # no place: neither tested nor part of an outline
    ok = np.flatnonzero(assign >= 0)
    if len(ok) == 0:
        return float("nan")
    xy, country = _plane(p), _countries(p)
    test = ok if len(ok) <= OVERLAP_SAMPLE else ok[np.linspace(0, len(ok) - 1, OVERLAP_SAMPLE).astype(np.int64)]
    inside_other = np.zeros(len(test), dtype=bool)
    txy, t_rep = xy[test], assign[test]
    for r in np.unique(assign[ok]):
        mine = assign == r
        for c in np.unique(country[mine]):
            pts = np.unique(xy[mine & (country == c)], axis=0)
            if len(pts) < 3:
                continue
            try:
                hull = ConvexHull(pts)
                tri = Delaunay(pts[hull.vertices])
            except QhullError:  # all on a line: no area
                continue
            # Only the points of other territories inside the outline's bounding box can be inside it.
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            near = (t_rep != r) & ~inside_other & (txy >= lo).all(axis=1) & (txy <= hi).all(axis=1)
            if not near.any():
                continue
            idx = np.flatnonzero(near)
            inside_other[idx] |= tri.find_simplex(txy[idx]) >= 0
    return float(inside_other.mean())


def rep_hours_figures(p: _Problem, assign: np.ndarray) -> dict[str, float | str]:
    """Each rep's yearly hours with their own travel, the way Coverage counts workload (the one workload model,
    planner.coverage.workload: meetings plus in-person round trips from the owner's home in great-circle km; no
    travel for an account without a place), max/mean over today's reps and over the scenario's.

    The workload *band* counts each account's travel from its nearest rep instead: an account's own workload,
    the same wherever it goes (an attribute of the unit, as in the commercial territory design problem). The two
    part when accounts go far from their rep's home; these figures show by how much."""
    placed = ~p.acc["_unplaced"].to_numpy(bool) if "_unplaced" in p.acc else np.ones(len(p.acc), dtype=bool)

    def hours(km: np.ndarray) -> np.ndarray:
        return p.hours_fixed + p.hours_per_km * np.where(placed, np.nan_to_num(km, nan=0.0), 0.0)

    pos = np.flatnonzero(assign >= 0)
    km_after = np.full(len(assign), np.nan)
    km_after[pos] = _km(p, pos, assign[pos])
    after = _bincount(assign[pos], weights=hours(km_after)[pos], minlength=len(p.reps))
    today_idx = p.acc["owner_rep_id"].map({r: i for i, r in enumerate(p.today["rep_id"])})
    t_ok = today_idx.notna().to_numpy()
    today = _bincount(today_idx[t_ok].astype(int), weights=hours(_km_today(p))[t_ok], minlength=len(p.today))
    before_idx, after_idx = imbalance(today), imbalance(after)
    busiest = int(np.argmax(after)) if len(after) else -1
    theirs = assign == busiest
    return {
        "rep_hours_max_mean_before": before_idx.max_mean,
        "rep_hours_max_mean_after": after_idx.max_mean,
        "rep_hours_min_mean_after": after_idx.min_mean,
        "rep_hours_cv_after": after_idx.cv,
        "rep_hours_busiest": str(p.reps["name"].iloc[busiest]) if busiest >= 0 else "",
        "rep_hours_busiest_hours": float(after[busiest]) if busiest >= 0 else float("nan"),
        "rep_hours_busiest_km": float(np.nanmean(km_after[theirs & placed])) if (theirs & placed).any() else math.nan,
        "rep_hours_mean_km": float(np.nanmean(km_after[placed])) if np.isfinite(km_after[placed]).any() else math.nan,
    }


def band_figures(p: _Problem, assign: np.ndarray, lower: list[float]) -> list[dict[str, float | str | bool]]:
    """Per balance band (metric): max/mean before (today's owners) and after, its bound and tolerance."""
    out: list[dict[str, float | str | bool]] = []
    n_reps = len(p.reps)
    today_idx = p.acc["owner_rep_id"].map({r: i for i, r in enumerate(p.today["rep_id"])})
    t_ok = today_idx.notna().to_numpy()
    for m, label in enumerate(p.band_labels):
        w = p.bm[:, m]
        today = np.bincount(today_idx[t_ok].astype(int), weights=w[t_ok], minlength=len(p.today))
        after = np.bincount(assign, weights=w, minlength=n_reps) / p.target
        before = float(today.max() / today.mean()) if today.mean() > 0 else float("nan")
        tol = float(p.tols[m])
        out.append(
            {"metric": label, "tolerance": tol, "max_mean_before": before, "max_mean_after": float(after.max()),
             "min_mean_after": float(after.min()), "largest_deviation": float(np.abs(after - 1).max()),
             "lower_bound": float(lower[m]), "met": bool(np.abs(after - 1).max() <= tol + 1e-9)}
        )  # fmt: skip
    return out


def per_placed(p: _Problem, extra: dict[str, Any]) -> dict[str, Any]:
    """The solver's travel means (over every account, one with no place counting 0) as means over the placed."""
    placed = int(placed_mask(p).sum())
    if placed == len(p.b):
        return extra
    scale = len(p.b) / placed if placed else math.nan
    return {k: float(v) * scale if k in MEAN_KEYS else v for k, v in extra.items()}


def unplaced_notes(n: int) -> list[str]:
    """How many accounts have no place and what that means for them."""
    if not n:
        return []
    return [
        f"{n:,} account(s) have no place (no coordinates, postal code, city, state or country): they are assigned "
        "by the balance bands alone, the same to every rep, and left out of every travel figure (mean, p95, top-3 "
        "nearest, overlap, LP bound). Give them an address on the Data page to weigh their travel."
    ]
