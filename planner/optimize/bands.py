"""Several balance bands at once: the repair after rounding that moves and SWAPS single accounts between reps.

A move changes every metric of two territories by one account's weights; when a territory is over one band and
under another (more potential, fewer accounts), no single move lowers its excess, but a swap of a big account for
a few small ones does. The repair takes the worst territory it can still improve, its best move, else its best
swap, until every territory is in all its bands or none can improve. Deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from planner.optimize.geometry import _bincount
from planner.optimize.problem import _dist, _loads, _moved_at, _moved_share, _nearest_reps, _Problem

# A swap looks at this many of a territory's accounts and of each neighbour's (the heaviest on the band the
# territory is furthest from), so one step costs at most SWAP_SIDE^2 x neighbours pairs.
SWAP_SIDE = 400
# The repair finishes a few territories the rounding left just outside a band; it is no cure for many. Its
# steps are capped at STEPS_PER_TERRITORY per territory out of band at its start (at least MIN_STEPS): at
# 100,000 x 200 its uncapped run from 184 territories out took 650 CPU-s and helped none.
STEPS_PER_TERRITORY = 20
MIN_STEPS = 200
# When a band is still missed with each account's 6 nearest reps, the repair goes on with this many. 5,000 x 40 with
# three metrics (the top-3 pass at a travel slack of 7%): one rep stuck at 132 accounts (5.6% over) with 6, every
# band met with 10 or 20 (travel +0.2%).
WIDE_K = 12


@dataclass
class _BandState:
    """Loads and bands per rep x metric, and the movable accounts: weights, rep now, k nearest reps."""

    p: _Problem
    movable: np.ndarray
    w: np.ndarray  # (n_movable, n_bands)
    cur: np.ndarray
    near: np.ndarray  # (n_movable, k)
    near_of: list[np.ndarray]  # per rep: the movable accounts that have it among their k nearest
    load: np.ndarray  # (n_reps, n_bands)
    lo: np.ndarray
    hi: np.ndarray
    t: np.ndarray  # (n_reps, 1)
    left: float  # the share of the metric that may still move (inf: no budget)
    # (n_movable,) accounts that alone carry more than a band: they stay with their owner (`stays`)
    whale: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def pen(self, x: np.ndarray, rows: np.ndarray | int) -> np.ndarray:
        """The excess over every band of loads x at reps `rows` (a share of each rep's target), summed."""
        lo, hi, t = self.lo[rows], self.hi[rows], self.t[rows]
        return ((np.maximum(x - hi, 0) + np.maximum(lo - x, 0)) / t).sum(axis=-1)

    def km(self, idx: np.ndarray, reps: np.ndarray) -> np.ndarray:
        return _dist(self.p, self.movable[idx], reps) / max(self.p.spread_scale, 1e-9)

    def moved(self, idx: np.ndarray, to: np.ndarray) -> np.ndarray:
        """What moving accounts idx to reps `to` adds to the moved share (negative: back to their owner)."""
        pos = self.movable[idx]
        return _moved_at(self.p, pos, to) - _moved_at(self.p, pos, self.cur[idx])

    def allowed(self, added: np.ndarray) -> np.ndarray:
        return added <= max(self.left, 0.0) + 1e-12

    def stays(self, idx: np.ndarray, to: np.ndarray) -> np.ndarray:
        """Whether moving accounts idx to reps `to` takes a whale from its owner: an account that alone carries
        more than a band (`_Problem.stay`). Moving it lowers the excess as much as moving small accounts does, in one
        step, as the repair counts no moves (a 98.5% account went to the rep with the least left beside it, and
        98.9% of the potential moved); such an account leaves its owner only in the LP."""
        pos = self.movable[idx]
        return self.whale[idx] & (self.p.owner[pos] == self.cur[idx]) & (to != self.cur[idx])

    def move(self, i: int, dst: int) -> None:
        self.left -= float(self.moved(np.array([i]), np.array([dst]))[0])
        self.load[self.cur[i]] -= self.w[i]
        self.load[dst] += self.w[i]
        self.cur[i] = dst


def _worst(s: _BandState) -> float:
    """The largest deviation of any territory on any band beyond its tolerance (a share of its target)."""
    return float(np.max(np.maximum(s.load - s.hi, s.lo - s.load) / s.t))


def _best_move(s: _BandState, r: int) -> tuple[float, int, int]:
    """(gain, account, to) of the single move that most lowers the excess of r and its partner (gain < 0)."""
    k = s.near.shape[1]
    if bool((s.load[r] > s.hi[r]).any()):
        mine = np.flatnonzero(s.cur == r)
        src, dst = np.repeat(mine, k), s.near[mine].ravel()
    else:
        src = s.near_of[r][s.cur[s.near_of[r]] != r]
        dst = np.full(len(src), r)
    keep = dst != s.cur[src]
    src, dst = src[keep], dst[keep]
    keep = s.allowed(s.moved(src, dst)) & ~s.stays(src, dst)  # within the user's moved budget
    src, dst = src[keep], dst[keep]
    if len(src) == 0:
        return 0.0, -1, -1
    a, ws = s.cur[src], s.w[src]
    gain = s.pen(s.load[a] - ws, a) - s.pen(s.load[a], a) + s.pen(s.load[dst] + ws, dst) - s.pen(s.load[dst], dst)
    score = np.where(gain < -1e-12, gain + 1e-9 * (s.km(src, dst) - s.km(src, a)), np.inf)
    j = int(np.argmin(score))
    return (float(score[j]), int(src[j]), int(dst[j])) if np.isfinite(score[j]) else (0.0, -1, -1)


def _best_swap(s: _BandState, r: int) -> tuple[float, int, int]:
    """(gain, account of r, account of a neighbour) of the swap between r and one of its neighbours (each
    account among the other's k nearest reps) that most lowers the excess of both (gain < 0)."""
    mine = np.flatnonzero(s.cur == r)
    if len(mine) == 0:
        return 0.0, -1, -1
    # The heaviest accounts on the band r is furthest from weigh most in a swap; keep SWAP_SIDE of each side.
    worst = int(np.argmax(np.maximum(s.load[r] - s.hi[r], s.lo[r] - s.load[r]) / s.t[r]))
    best = (0.0, -1, -1)
    theirs_all = s.near_of[r][s.cur[s.near_of[r]] != r]
    for q in np.unique(s.near[mine]).tolist():
        if q == r:
            continue
        a = mine[(s.near[mine] == q).any(axis=1)]
        b = theirs_all[s.cur[theirs_all] == q]
        if len(a) == 0 or len(b) == 0:
            continue
        a = a[np.argsort(-s.w[a, worst], kind="stable")[:SWAP_SIDE]]
        b = b[np.argsort(-s.w[b, worst], kind="stable")[:SWAP_SIDE]]
        wa, wb = s.w[a], s.w[b]  # r gains wb - wa when a leaves and b comes
        gain = _pair_pen(s, r, wa, wb, 1) - s.pen(s.load[r], r) + _pair_pen(s, q, wa, wb, -1) - s.pen(s.load[q], q)
        added = s.moved(a, np.full(len(a), q))[:, None] + s.moved(b, np.full(len(b), r))[None, :]
        ok = s.allowed(added) & ~s.stays(a, np.full(len(a), q))[:, None] & ~s.stays(b, np.full(len(b), r))[None, :]
        gain = np.where(ok, gain, 0.0)  # within the user's moved budget
        if float(gain.min()) >= -1e-12:
            continue
        d_km = (s.km(a, np.full(len(a), q)) - s.km(a, np.full(len(a), r)))[:, None] + (
            s.km(b, np.full(len(b), r)) - s.km(b, np.full(len(b), q))
        )[None, :]
        score = np.where(gain < -1e-12, gain + 1e-9 * d_km, np.inf)
        ia, ib = np.unravel_index(int(np.argmin(score)), score.shape)
        if score[ia, ib] < best[0]:
            best = (float(score[ia, ib]), int(a[ia]), int(b[ib]))
    return best


def _pair_pen(s: _BandState, rep: int, wa: np.ndarray, wb: np.ndarray, sign: int) -> np.ndarray:
    """s.pen(s.load[rep] + sign * (wb - wa), rep) for every pair (row of wa, row of wb): the same values bit for bit,
    computed band by band in three (A, B) buffers instead of (A, B, bands) temporaries, which at 400 x 400 pairs
    cost ten times as much (fresh pages for each): 100,000 x 200 with three metrics spent 140 of its 145 CPU-s of
    moves and swaps in _best_swap."""
    acc, x, tmp = np.zeros((len(wa), len(wb))), np.empty((len(wa), len(wb))), np.empty((len(wa), len(wb)))
    for m in range(wa.shape[1]):
        np.subtract(wb[None, :, m], wa[:, None, m], out=x)
        (np.add if sign > 0 else np.subtract)(s.load[rep, m], x, out=x)
        np.maximum(np.subtract(x, s.hi[rep, m], out=tmp), 0, out=tmp)
        np.maximum(np.subtract(s.lo[rep, m], x, out=x), 0, out=x)
        tmp += x
        tmp /= s.t[rep, 0]
        acc += tmp
    return acc


def _repair_bands(
    p: _Problem, assign: np.ndarray, k: int = 6, moved_cap: float | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """_repair_once with each account's k nearest reps, then, when a band is still missed and the step budget did not
    stop it, once more from there with WIDE_K nearest reps. With `moved_cap` (the user's budget, a share of the
    metric; forced moves apart) no step takes the moved share above it."""
    assign, info = _repair_once(p, assign, k, moved_cap)
    if info["band_repair_stopped_by_budget"] or k >= WIDE_K or _in_bands(p, assign):
        return assign, info
    assign, wide = _repair_once(p, assign, WIDE_K, moved_cap)
    return assign, {key: info[key] + wide[key] if key != "band_repair_stopped_by_budget" else wide[key] for key in info}


def _in_bands(p: _Problem, assign: np.ndarray) -> bool:
    """Every rep within every band."""
    n_reps = len(p.reps)
    for m in range(p.bm.shape[1]):
        load = _bincount(assign, weights=p.bm[:, m], minlength=n_reps)
        if (load > p.target * (1 + p.tols[m]) + 1e-9).any() or (load < p.target * (1 - p.tols[m]) - 1e-9).any():
            return False
    return True


def _repair_once(
    p: _Problem, assign: np.ndarray, k: int, moved_cap: float | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """Several bands at once: move single movable accounts to one of their k nearest reps, or swap two between
    neighbouring reps, while that lowers the total excess over every band (each metric's, relative to the rep's
    target): the worst territory that can still improve first, the least added travel among equal gains.
    Returns the assignment and what the repair did: its steps, its step budget (STEPS_PER_TERRITORY per
    territory out of band at the start) and whether the budget stopped it."""
    assign = assign.copy()
    n_reps = len(p.reps)
    movable = np.flatnonzero(~p.pinned)
    if len(movable) == 0:
        return assign, {"band_repair_steps": 0, "band_repair_budget": 0, "band_repair_stopped_by_budget": 0}
    _, near = _nearest_reps(p, p.xyz[movable], k, movable)
    near = np.asarray(near, dtype=np.int64)
    rows = np.repeat(np.arange(len(movable)), near.shape[1])
    order = np.lexsort((rows, near.ravel()))
    cuts = np.searchsorted(near.ravel()[order], np.arange(n_reps + 1))
    near_of = [np.unique(rows[order[cuts[r] : cuts[r + 1]]]) for r in range(n_reps)]
    s = _BandState(
        p=p, movable=movable, w=p.bm[movable], cur=assign[movable].copy(), near=near, near_of=near_of,
        load=_loads(p, assign),
        lo=p.target[:, None] * (1 - p.tols[None, :]), hi=p.target[:, None] * (1 + p.tols[None, :]),
        t=p.target[:, None], left=math.inf if moved_cap is None else moved_cap - _moved_share(p, assign),
        whale=np.zeros(len(movable), bool) if p.stay is None else p.stay[movable],
    )  # fmt: skip
    stuck = np.zeros(n_reps, dtype=bool)
    # The steps lower the summed excess of the territories they touch; the report judges the worst deviation,
    # so the assignment with the least worst deviation seen is the one returned (never worse than the start).
    best_cur, best_dev = s.cur.copy(), _worst(s)
    n_out = int((s.pen(s.load, np.arange(n_reps)) > 1e-12).sum())
    budget = max(MIN_STEPS, STEPS_PER_TERRITORY * n_out)
    steps = 0
    for steps in range(budget + 1):
        if _worst(s) < best_dev - 1e-12:
            best_cur, best_dev = s.cur.copy(), _worst(s)
        excess = np.where(stuck, 0.0, s.pen(s.load, np.arange(n_reps)))
        if excess.max() <= 1e-12 or steps == budget:
            break
        r = int(np.argmax(excess))
        gain, i, dst = _best_move(s, r)
        if i >= 0:
            s.move(i, dst)
            stuck[[r, dst]] = False
            continue
        gain, i, j = _best_swap(s, r)
        if i < 0:
            stuck[r] = True
            continue
        q = int(s.cur[j])
        s.move(i, q)
        s.move(j, r)
        stuck[[r, q]] = False
    assign[movable] = s.cur if _worst(s) <= best_dev + 1e-12 else best_cur
    stopped = int(steps == budget and excess.max() > 1e-12)
    return assign, {"band_repair_steps": steps, "band_repair_budget": budget, "band_repair_stopped_by_budget": stopped}


def _top3_polish(p: _Problem, assign: np.ndarray) -> tuple[np.ndarray, int]:
    """Several bands, after the repair: each movable account outside its 3 nearest reps goes to the nearest of them
    that takes it, alone or in exchange for one of that rep's accounts that has the first rep among its own 3
    nearest, with both territories inside every band, less travel and no more of the metric moved (no account
    leaves its owner), the largest saving first, until none can. The LP aims inside the bands (solve.BAND_MARGIN),
    so whole accounts land with a little room left in the true ones. Returns the assignment and the moves made."""
    assign = assign.copy()
    n_reps = len(p.reps)
    movable = np.flatnonzero(~p.pinned)
    if len(movable) == 0 or n_reps <= 3:
        return assign, 0
    _, near = _nearest_reps(p, p.xyz[movable], 3, movable)
    near = np.asarray(near, dtype=np.int64)
    order = np.argsort(near.ravel(), kind="stable")
    cuts = np.searchsorted(near.ravel()[order], np.arange(n_reps + 1))
    pl = _Polish(
        p=p, assign=assign, movable=movable, near=near,
        near_of=[np.sort(order[cuts[r] : cuts[r + 1]] // near.shape[1]) for r in range(n_reps)],
        load=_loads(p, assign),
        # Inside every band with a hair to spare, so the report's check (the same bands) agrees.
        lo=p.target[:, None] * (1 - p.tols[None, :] + 1e-9), hi=p.target[:, None] * (1 + p.tols[None, :] - 1e-9),
    )  # fmt: skip
    moves = 0
    while True:
        far = np.flatnonzero(~(pl.near == assign[movable][:, None]).any(axis=1))
        saving = _dist(p, movable[far], assign[movable[far]]) - _dist(p, movable[far], pl.near[far, 0])
        before = moves
        for j in far[np.lexsort((far, -saving))].tolist():
            moves += pl.step(j)
        if moves == before:
            return assign, moves


@dataclass
class _Polish:
    p: _Problem
    assign: np.ndarray
    movable: np.ndarray
    near: np.ndarray  # (n_movable, 3) each movable account's 3 nearest reps
    near_of: list[np.ndarray]  # per rep: the movable accounts (rows of near) that have it among their 3 nearest
    load: np.ndarray  # (n_reps, n_bands)
    lo: np.ndarray
    hi: np.ndarray

    def fits(self, rows: np.ndarray | int, loads: np.ndarray) -> np.ndarray:
        return ((loads >= self.lo[rows]) & (loads <= self.hi[rows])).all(axis=-1)

    def step(self, j: int) -> int:
        """Movable account j (outside its 3 nearest) to the nearest of them that takes it alone, else the best
        exchange; 1 when it moved."""
        p, assign = self.p, self.assign
        i = int(self.movable[j])
        r, w = int(assign[i]), p.bm[i]
        if p.owner[i] == r:
            return 0
        d_i = _dist(p, np.array([i]), np.array([r]))[0]
        for q in self.near[j].tolist():
            if self.fits(r, self.load[r] - w) and self.fits(q, self.load[q] + w):
                self.load[r] -= w
                self.load[q] += w
                assign[i] = q
                return 1
        for q in self.near[j].tolist():
            # q's movable accounts that have r among their 3 nearest and are not with their owner.
            b = self.near_of[r]
            b = b[(assign[self.movable[b]] == q) & (p.owner[self.movable[b]] != q)]
            if len(b) == 0:
                continue
            pos = self.movable[b]
            ok = self.fits(r, self.load[r] - w + p.bm[pos]) & self.fits(q, self.load[q] + w - p.bm[pos])
            gain = d_i + _dist(p, pos, np.full(len(pos), q)) - _dist(p, pos, np.full(len(pos), r))
            gain -= _dist(p, np.array([i]), np.array([q]))[0]
            ok &= gain > 1e-9
            if not ok.any():
                continue
            k = int(pos[np.flatnonzero(ok)[np.argmax(gain[ok])]])
            self.load[r] += p.bm[k] - w
            self.load[q] += w - p.bm[k]
            assign[i], assign[k] = q, r
            return 1
        return 0
