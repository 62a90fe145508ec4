"""Pricing: the LP over all (unit, rep) pairs. The LP starts on a few columns per unit; the pairs outside it whose
reduced cost is negative are added and the LP re-solved until none is left (column generation), so its solution
is optimal over every pair. The LP's state (_LP) lives here so pricing and the model share it without a cycle."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.optimize.problem import _dist_block, _hours_km_block, _nearest_reps, _Problem, _Units

# Pricing keeps every unit's coefficients to every rep (five tables) when a table has at most this many
# entries: each LP pass prices several rounds, and recomputing the blocks from the accounts dominated them
# (100,000 accounts x 200 reps: 34 -> 10 s of CPU for the first pass; 9,566 units x 200 reps keep 76 MB).
PRICE_CACHE_ENTRIES = 5_000_000
# Columns added per unit and pricing round with several bands: the most negative reduced costs first. One a
# round needed 30 rounds to balance three metrics on 20,000 x 200 (148 CPU-s), 10 a round 10 rounds (120 CPU-s).
# With one band fewer: 10 tripled the LP at 100,000 x 200 (free: 30 -> 67 CPU-s, same travel); PRICE_PER_UNIT_ONE.
PRICE_PER_UNIT = 10
# With one band: 2 a round, 37 HiGHS runs instead of 51 on bench/run.py's regional 100,000 x 200 (balance --json,
# two runs each: 39.3 -> 34.9 CPU-s, HiGHS 26.7 -> 24.0; same balance, moved share 0.079129 -> 0.079131, travel
# 289.76 -> 289.65, bound 269.28 -> 269.27);
# 3 moved more (0.0800 against 0.0791); the demo's 20,000 x 24 the same time (travel +0.06%, moved share 0.3188).
PRICE_PER_UNIT_ONE = 2


@dataclass
class _LP:
    h: Any  # a highspy._Highs
    pair_u: np.ndarray
    pair_r: np.ndarray
    travel: np.ndarray  # travel summed over the pair's accounts (km, or the matrix's unit)
    moved: np.ndarray  # balance share that moves if the pair is chosen
    count: np.ndarray  # accounts that move
    hours: np.ndarray
    n_pairs: int
    off: int  # the pairs' columns are off .. off + n_pairs (z and the capacity slacks come first)
    z_col: int
    cap_cols: np.ndarray
    moved_row: int
    travel_row: int
    cap_enforced: bool
    costs: np.ndarray
    hscale: float
    n_units: int
    n_bands: int
    wm: np.ndarray  # (n_units, n_bands) band weight per unit
    objective: tuple[float, ...] = (0.0,) * 5  # the pairs' cost: travel, moved, count, spread, far coefficients
    pass1: tuple[float, ...] = (0.0,) * 5  # the first pass's objective (balance >> moves >> travel)
    spread: np.ndarray = field(default_factory=lambda: np.zeros(0))  # travel squared / the scale, summed
    far: np.ndarray = field(default_factory=lambda: np.zeros(0))  # accounts given a rep not among their 3 nearest
    layout: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    seconds: float = 0.0
    priced: int = 0  # columns added by pricing
    purged: int = 0  # columns dropped by lp._purge
    restored: int = 0  # dropped columns put back by lp._restore
    dropped: list[np.ndarray] = field(default_factory=list)  # the dropped pairs (unit x n_reps + rep), per purge
    pricing_rounds: int = 0
    priced_out: bool = False  # after the last solve, no pair outside the LP priced out (optimal over all pairs)
    mip_x: np.ndarray | None = None
    blocks: list[tuple[np.ndarray, dict[str, np.ndarray]]] | None = None  # pricing's unit x rep tables, kept
    time_limit_s: float = 120.0  # per solve (each HiGHS run), not over the whole sequence: see _run_highs
    least_basis: Any = None  # the basis of the last least-travel solve (passes), where the bound starts from

    def counts(self) -> dict[str, int]:
        """The report's column counts: in the LP at the end, added by pricing, dropped by purging and put back,
        pricing rounds."""
        return {"lp_variables": int(self.n_pairs), "lp_priced_columns": int(self.priced),
                "lp_purged_columns": int(self.purged), "lp_restored_columns": int(self.restored),
                "lp_pricing_rounds": int(self.pricing_rounds)}  # fmt: skip

    def x(self) -> np.ndarray:
        """The pairs' values in the current solution."""
        return np.asarray(self.h.getSolution().col_value)[self.off : self.off + self.n_pairs]


def _cost(objective: tuple[float, ...], co: dict[str, np.ndarray]) -> np.ndarray:
    """The pairs' cost under `objective` (travel, moved, count, spread[, far]); `co` needs "far" only when its
    coefficient is not 0."""
    a_t, a_m, a_c, a_k = objective[:4]
    out = a_t * co["travel"] + a_m * co["moved"] + a_c * co["count"] + a_k * co["spread"]
    if len(objective) > 4 and objective[4] != 0:
        out = out + objective[4] * co["far"]
    return out


def _third_nearest(p: _Problem) -> np.ndarray:
    """Every account's travel to its 3rd nearest rep (its nearest when fewer reps): a rep further than that is
    not among its 3 nearest (issue 15's top-3 share)."""
    pos = np.arange(len(p.acc))
    dist, _ = _nearest_reps(p, p.xyz, 3, pos)
    return dist[:, -1] if len(pos) else np.zeros(0)


def _far(dist: np.ndarray, third: np.ndarray) -> np.ndarray:
    """1.0 where travel `dist` (accounts on axis 0) is beyond the account's 3rd nearest rep (`third`, same rows)."""
    thr = third * (1 + 1e-9) + 1e-9
    return (dist > (thr if dist.ndim == 1 else thr[:, None])).astype(float)


def _unit_block(p: _Problem, u: _Units, reps: np.ndarray, third: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every unit's travel, moved share, moved count, hours, spread and far accounts to each rep of `reps`:
    (n_units, len(reps)). `third`: _third_nearest(p) when far accounts are priced (else no "far" table)."""
    dist = _dist_block(p, u.movable, reps)
    km = dist if p.distance is None else _hours_km_block(p, u.movable, reps)
    own = p.owner[u.movable]
    owned = own >= 0
    b = p.b[u.movable]
    # Moved if chosen: everything owned, less what the rep already owns.
    mine = (own[:, None] == reps[None, :]).astype(float)
    moved = u.members @ (owned[:, None] * b[:, None] * (1.0 - mine))
    count = u.members @ (owned[:, None] * (1.0 - mine))
    hours = u.members @ (p.hours_fixed[u.movable][:, None] + p.hours_per_km[u.movable][:, None] * km)
    out = {"travel": np.asarray(u.members @ dist), "moved": np.asarray(moved), "count": np.asarray(count),
           "hours": np.asarray(hours), "spread": np.asarray(u.members @ (dist * dist / p.spread_scale))}  # fmt: skip
    if third is not None:
        out["far"] = np.asarray(u.members @ _far(dist, third[u.movable]))
    return out


def _rep_chunks(p: _Problem, n_rows: int) -> list[np.ndarray]:
    n_reps = len(p.reps)
    step = max(1, min(n_reps, 4_000_000 // max(n_rows, 1)))
    return [np.arange(i, min(i + step, n_reps)) for i in range(0, n_reps, step)]


def _blocks(p: _Problem, u: _Units, lp: _LP) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """(reps, _unit_block) over every rep, chunk by chunk; kept on the LP when small enough to reuse."""
    if lp.blocks is not None:
        yield from lp.blocks
        return
    keep = lp.n_units * len(p.reps) <= PRICE_CACHE_ENTRIES
    out = []
    for reps in _rep_chunks(p, len(u.movable)):
        blk = (reps, _unit_block(p, u, reps, lp.layout.get("third")))
        if keep:
            out.append(blk)
        yield blk
    if keep:
        lp.blocks = out


def _rank_in_unit(units: np.ndarray) -> np.ndarray:
    """Each entry's place among the entries of its unit (0 for the first), `units` sorted."""
    return np.arange(len(units)) - np.searchsorted(units, units)


def _duals(lp: _LP) -> dict[str, Any]:
    y = np.asarray(lp.h.getSolution().row_dual)
    lay = lp.layout
    n_units, n_reps, n_bands = lay["n_units"], lay["n_reps"], lay["n_bands"]
    band = y[n_units : n_units + 2 * n_bands * n_reps].reshape(2, n_bands, n_reps)
    base = n_units + 2 * n_bands * n_reps
    cap = y[base : base + n_reps] if lp.cap_enforced else np.zeros(n_reps)
    return {"unit": y[:n_units], "band": band[0] + band[1], "cap": cap, "moved": float(y[lp.moved_row]),
            "travel": float(y[lp.travel_row]), "all": y}  # fmt: skip


def _reduced_costs(
    lp: _LP, blk: dict[str, np.ndarray], reps: np.ndarray, d: dict[str, Any], t_scale: float
) -> np.ndarray:
    """The reduced costs of every unit x rep of `blk` at the duals `d`: _cost less the rows' duals, the same
    operations in the same order as written out in full, in place, and a term whose factor is 0 skipped (it adds
    exactly 0), so the pairs priced do not change; fewer passes over the (units x reps) tables."""
    a_t, a_m, a_c, a_k = lp.objective[:4]
    a_f = lp.objective[4] if len(lp.objective) > 4 else 0.0
    rc = np.multiply(blk["travel"], a_t)
    tmp = np.empty_like(rc)
    for coef, key in ((a_m, "moved"), (a_c, "count"), (a_k, "spread"), (a_f, "far")):
        if coef != 0:
            rc += np.multiply(blk[key], coef, out=tmp)
    rc -= d["unit"][:, None]
    rc -= lp.wm @ d["band"][:, reps]
    cap = d["cap"][reps]
    if cap.any():
        np.divide(blk["hours"], lp.hscale, out=tmp)
        rc -= np.multiply(tmp, cap[None, :], out=tmp)
    tmp2 = np.multiply(blk["travel"], d["travel"])
    tmp2 /= t_scale
    rc -= np.add(np.multiply(blk["moved"], d["moved"], out=tmp), tmp2, out=tmp)
    return rc


def _price(
    p: _Problem, u: _Units, lp: _LP, scale: dict[str, float], per_unit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs outside the LP whose reduced cost is negative (up to `per_unit` per unit, the most negative
    first; by default PRICE_PER_UNIT_ONE with one band, PRICE_PER_UNIT with several): empty when the LP's solution is
    optimal over all (unit, rep) pairs."""
    per_unit = per_unit or (PRICE_PER_UNIT_ONE if lp.n_bands == 1 else PRICE_PER_UNIT)
    d = _duals(lp)
    t_scale = scale["n"] * scale["km"]
    have = np.zeros((lp.n_units, len(p.reps)), dtype=bool)
    have[lp.pair_u, lp.pair_r] = True
    eps = 1e-7 / scale["n"]
    units, reps_out, values = [], [], []
    for reps, blk in _blocks(p, u, lp):
        rc = _reduced_costs(lp, blk, reps, d, t_scale)
        rc[have[:, reps]] = np.inf
        k = min(per_unit, len(reps))
        j = np.argpartition(rc, k - 1, axis=1)[:, :k] if k < len(reps) else np.tile(np.arange(k), (lp.n_units, 1))
        v = np.take_along_axis(rc, j, axis=1)
        ok = v < -eps
        units.append(np.broadcast_to(np.arange(lp.n_units)[:, None], j.shape)[ok])
        reps_out.append(reps[j[ok]])
        values.append(v[ok])
    uu, rr, vv = np.concatenate(units), np.concatenate(reps_out), np.concatenate(values)
    # Per unit, the most negative first (ties by rep, so the columns added do not depend on the chunking).
    order = np.lexsort((rr, vv, uu))
    uu, rr = uu[order], rr[order]
    keep = _rank_in_unit(uu) < per_unit
    return uu[keep].astype(np.int64), rr[keep].astype(np.int64)
