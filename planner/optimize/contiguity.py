"""Contiguous territories for area units: each territory's units form one connected region.

Adjacency (stated): the pairs of area codes the user gives (Options.adjacency, read by
planner.optimize.adjacency from a `from,to` CSV such as the Census county adjacency file), else two units
are neighbours when their centroids share an edge of the Delaunay triangulation of all the units'
centroids (on an equirectangular plane). H3 hexagons too: the hexagons that hold accounts are sparse (on 3,000
demo accounts for 12 reps, at the resolution chosen, 1,267 of 1,319 had no occupied neighbour or sat in a group
linked to no other), so edge-sharing alone would exempt most of them. Under a file, units without a neighbour in
it are islands: exempt, any territory may hold them (see planner.optimize.adjacency).

First the pieces are joined: a territory whose units fall into several connected pieces keeps its main
piece (the one holding the unit nearest the rep's home) and hands every other piece, smallest first, to
the neighbouring territory with the lowest load against its target, until every territory is one piece.
Then the bands are restored where they can be, one change on a boundary at a time, each leaving both
territories one piece (an articulation check: the giving territory stays connected without the unit; the
receiving one does, the unit touches it): a unit moves to a neighbouring territory when that lowers the
summed excess over every band; else two territories swap a unit each when that does; else a unit moves
when that lowers the spread around the targets without raising the excess, so load can pass through a
territory that is in its bands. Among equal kinds, the least added travel per unit of gain first; it ends
when every band holds or nothing helps, and the report says whether the bands hold (tolerance_met).
Last, boundary units move where that lowers travel without raising the excess or the share moved from
today's owners, each move again leaving both territories one piece.
Accounts that must stay (locked, customers, open deals) are not part of any unit and are not moved.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay, QhullError

from planner.optimize.adjacency import unit_edges
from planner.optimize.geometry import _bincount
from planner.optimize.options import Options
from planner.optimize.problem import _dist, _loads, _moved_share, _owned, _Problem, _Units, _units

# The band restoration stops after this many moves per unit (each move lowers the excess, so it ends anyway).
MOVES_PER_UNIT = 4
# The band restoration and the travel polish together spend at most this share of Options.time_limit_s (CPU
# seconds of this process): on 100,000 accounts in 2,940 counties for 200 reps, where one county alone is 9x a
# fair share and no assignment meets the bands, the restoration ran 8,272 moves in 200 CPU-s without reaching
# them. Stopping keeps every territory one piece (each move does) and says so (contiguity_stopped_by_time).
CONTIGUITY_TIME_SHARE = 0.25


def adjacency(xy: np.ndarray) -> np.ndarray:
    """(n_edges, 2) neighbour pairs of points: Delaunay edges (a chain in x order when collinear). Points at the
    same place are one point: neighbours of each other and of all that place's neighbours (Qhull drops repeated
    points, which left them without any neighbour)."""
    place, at = np.unique(xy, axis=0, return_inverse=True)
    at = at.ravel()
    if len(place) < len(xy):
        pe = _delaunay_edges(place)
        order = np.argsort(at, kind="stable")
        cuts = np.searchsorted(at[order], np.arange(len(place) + 1))
        members = [order[cuts[i] : cuts[i + 1]] for i in range(len(place))]
        pairs = [np.array(np.meshgrid(members[a], members[b])).reshape(2, -1).T for a, b in pe.tolist()]
        pairs += [np.c_[m[:-1], m[1:]] for m in members if len(m) > 1]  # a chain joins those at one place
        e = np.sort(np.vstack(pairs) if pairs else np.zeros((0, 2), dtype=np.int64), axis=1)
        return np.unique(e, axis=0).astype(np.int64).reshape(-1, 2)
    return _delaunay_edges(xy)


def _delaunay_edges(xy: np.ndarray) -> np.ndarray:
    n = len(xy)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    try:
        if n < 3:
            raise QhullError("too few points")
        tri = Delaunay(xy)
        s = tri.simplices
        e = np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    except QhullError:  # fewer than 3 points, or all on a line
        order = np.lexsort((xy[:, 1], xy[:, 0]))
        e = np.c_[order[:-1], order[1:]]
    e = np.sort(e, axis=1)
    return np.unique(e, axis=0).astype(np.int64)


def pieces(edges: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Connected piece id of every point within its own label's points (edges across labels dropped)."""
    n = len(label)
    same = edges[label[edges[:, 0]] == label[edges[:, 1]]]
    g = coo_matrix((np.ones(len(same)), (same[:, 0], same[:, 1])), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    return comp


def unit_plane(p: _Problem, u: _Units) -> np.ndarray:
    lat = p.acc["lat"].to_numpy(float)[u.movable]
    lon = p.acc["lon"].to_numpy(float)[u.movable]
    n = len(u.weight)
    size = np.maximum(np.bincount(u.of_account, minlength=n), 1)
    clat = _bincount(u.of_account, weights=lat, minlength=n) / size
    clon = _bincount(u.of_account, weights=lon, minlength=n) / size
    return np.c_[clon * np.cos(np.radians(float(np.mean(clat)))), clat]


def unit_graph(p: _Problem, u: _Units, opts: Options) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The units' neighbour pairs, which units are islands (exempt), and what to report about the adjacency."""
    if opts.adjacency is None:
        # Units of accounts without a place of their own (no coordinates, no postal code the gazetteer knows) are
        # islands: exempt, any territory may hold them (all at one centroid they were 64 separate pieces on 600
        # accounts in four countries, and no territory could be one region).
        size = np.bincount(u.of_account, minlength=len(u.weight))
        unplaced = (
            p.acc["_unplaced"].to_numpy(bool)[u.movable] if "_unplaced" in p.acc else np.zeros(len(u.movable), bool)
        )
        island = np.bincount(u.of_account, weights=unplaced, minlength=len(u.weight)) >= np.maximum(size, 1)
        placed = np.flatnonzero(~island)
        edges = placed[adjacency(unit_plane(p, u)[placed])] if len(placed) else np.zeros((0, 2), dtype=np.int64)
        info = {"adjacency": "delaunay", "adjacency_edges": len(edges), "adjacency_islands": int(island.sum())}
        return edges, island, info
    edges, n_islands, unknown = unit_edges(u.label, opts.adjacency, opts.unit)
    island = np.bincount(edges.ravel(), minlength=len(u.weight)) == 0
    # Groups of areas the file links to no other group (Hawaii's, Alaska's beside the lower 48): a territory
    # holding one beside its main region could never be one piece, so all but the largest group are exempt too.
    group = pieces(edges, np.zeros(len(u.weight), dtype=np.int64))
    sizes = np.bincount(group[~island], minlength=len(u.weight))
    detached = ~island & (group != int(np.argmax(sizes))) if (~island).any() else np.zeros_like(island)
    island = island | detached
    info = {
        "adjacency": "file",
        "adjacency_edges": len(opts.adjacency),
        "adjacency_islands": n_islands,
        "adjacency_detached": int(detached.sum()),
        "adjacency_groups": int((sizes > 0).sum()),
        "adjacency_unknown": len(unknown),
        "adjacency_unknown_example": unknown[0] if unknown else None,
    }
    return edges, island, info


Graph = tuple[np.ndarray, np.ndarray, dict[str, Any]]  # unit_graph's edges, islands and report


def checked_units(p: _Problem, opts: Options) -> tuple[_Units, Graph | None]:
    """The problem's units; with a stated adjacency, its codes checked against them before any solve, and the
    graph that check built (contiguous() takes it instead of matching the codes again)."""
    u = _units(p, opts)
    graph = unit_graph(p, u, opts) if opts.contiguous and opts.adjacency is not None else None
    return u, graph


def unit_reps(u: _Units, assign: np.ndarray) -> np.ndarray:
    """The rep of every unit (all its accounts share it)."""
    first = np.zeros(len(u.weight), dtype=np.int64)
    first[u.of_account[::-1]] = np.arange(len(u.of_account))[::-1]
    return assign[u.movable[first]].copy()


def _stray(rep: np.ndarray, comp: np.ndarray, island: np.ndarray, xy: np.ndarray, homes: np.ndarray,
           weight: np.ndarray) -> list[tuple[float, int, np.ndarray]]:  # fmt: skip
    """Every piece of a territory other than its main one (the piece nearest the rep's home): (weight, first
    unit, units). Islands are no piece."""
    out: list[tuple[float, int, np.ndarray]] = []
    for r in np.unique(rep):
        mine = np.flatnonzero((rep == r) & ~island)
        ids = np.unique(comp[mine])
        if len(ids) < 2:
            continue
        main = comp[mine[np.argmin(((xy[mine] - homes[r]) ** 2).sum(axis=1))]]
        for c in ids:
            if c != main:
                members = mine[comp[mine] == c]
                out.append((float(weight[members].sum()), int(members.min()), members))
    return out


def make_contiguous(
    p: _Problem, u: _Units, assign: np.ndarray, edges: np.ndarray, island: np.ndarray, left: float = np.inf
) -> tuple[np.ndarray, int]:
    """The assignment with every territory's units in one connected piece, and how many units it gave another
    territory (each once, however often it moved). A stray piece goes to the neighbouring territory with the lowest
    load among those that keep the moved share within `left` (what the user's budget leaves), else to the one that
    moves least (one region each comes first)."""
    n_units = len(u.weight)
    if n_units < 2:
        return assign, 0
    rep = unit_reps(u, assign)
    xy = unit_plane(p, u)
    homes = np.c_[
        p.reps["home_lon"].to_numpy(float) * np.cos(np.radians(float(np.mean(xy[:, 1])))),
        p.reps["home_lat"].to_numpy(float),
    ]
    load = _bincount(assign, weights=p.b, minlength=len(p.reps))
    owned = _owned(p, u)
    stuck: set[int] = set()
    for _ in range(n_units):
        stray = [s for s in _stray(rep, pieces(edges, rep), island, xy, homes, u.weight) if s[1] not in stuck]
        if not stray:
            break
        stray.sort(key=lambda t: (t[0], t[1]))
        _, _, members = stray[0]
        inside = np.zeros(n_units, dtype=bool)
        inside[members] = True
        touch = edges[inside[edges[:, 0]] ^ inside[edges[:, 1]]]
        outer = np.where(inside[touch[:, 0]], touch[:, 1], touch[:, 0])
        cand = np.unique(rep[outer])
        cand = cand[cand != rep[members[0]]]
        if len(cand) == 0:  # a part of the map with no way to the rest: it stays, and the report says so
            stuck.add(int(members.min()))
            continue
        src = int(rep[members[0]])
        held = np.asarray(owned[members].sum(axis=0)).ravel()  # the piece's share of the metric per owner today
        added = held[src] - held[cand]
        fits = added <= max(left, 0.0) + 1e-12
        to = int(
            cand[fits][np.argmin(load[cand[fits]] / p.target[cand[fits]])] if fits.any() else cand[np.argmin(added)]
        )
        left -= float(held[src] - held[to])
        w = float(u.weight[members].sum())
        load[src] -= w
        load[to] += w
        rep[members] = to
    out = assign.copy()
    out[u.movable] = rep[u.of_account]
    # A piece that moves, joins another piece and moves again counted once per move: 479 "areas" of 258.
    return out, changed_units(u, assign, out)


def changed_units(u: _Units, before: np.ndarray, after: np.ndarray) -> int:
    """How many units (areas) are in another territory after than before: each counted once."""
    return int((unit_reps(u, before) != unit_reps(u, after)).sum()) if len(u.weight) else 0


# The spread moves that let load pass through territories in their bands stop after this many steps per rep
# without lowering the excess (a unit heavier than its band, say, cannot be helped).
STALL_STEPS_PER_REP = 8
# A swap step checks the connectivity of at most this many of a territory's best swaps.
SWAPS_CHECKED = 20
# The unit x rep travel of the band restoration is kept in a dense table up to this many cells.
TRAVEL_CACHE_CELLS = 20_000_000


@dataclass
class _Restore:
    """The state of the band restoration: each unit's rep, loads per rep x band, bands, and caches of each
    unit's travel to each rep and of whether a unit can leave its territory without cutting it."""

    p: _Problem
    u: _Units
    edges: np.ndarray
    nbrs: list[list[int]]  # each unit's neighbours
    island: np.ndarray
    rep: np.ndarray
    w: np.ndarray  # (n_units, n_bands)
    load: np.ndarray  # (n_reps, n_bands)
    lo: np.ndarray
    hi: np.ndarray
    t: np.ndarray  # (n_reps, 1)
    version: np.ndarray  # per rep: how many times its territory changed
    leaves: dict[int, tuple[int, int, bool]]  # unit -> (its rep, that territory's version, can leave)
    travel: np.ndarray | None  # (n_units, n_reps) summed travel of each unit's accounts; NaN until needed
    no_swap: dict[int, tuple[int, ...]]  # rep -> its and its neighbours' versions when no swap helped it
    owned: sparse.csr_matrix  # (n_units, n_reps) each unit's share of the metric owned by each rep today
    left: float  # the share of the metric that may still move (the user's budget; inf: none)

    def added(self, units: np.ndarray, reps: np.ndarray) -> np.ndarray:
        """What moving `units` to `reps` adds to the share moved from today's owners."""
        return np.asarray(self.owned[units, self.rep[units]]).ravel() - np.asarray(self.owned[units, reps]).ravel()

    def allowed(self, units: np.ndarray, reps: np.ndarray) -> np.ndarray:
        return self.added(units, reps) <= max(self.left, 0.0) + 1e-12

    def pen(self, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The excess over every band of loads x at reps `rows` (a share of each rep's target), summed."""
        return ((np.maximum(x - self.hi[rows], 0) + np.maximum(self.lo[rows] - x, 0)) / self.t[rows]).sum(axis=-1)

    def spread(self, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The squared deviation from target of loads x at reps `rows`, summed over the bands."""
        return (((x - self.t[rows]) / self.t[rows]) ** 2).sum(axis=-1)

    def unit_travel(self, units: np.ndarray, reps: np.ndarray) -> np.ndarray:
        """Summed travel of each unit's accounts to the paired rep."""
        if self.travel is not None:
            missing = np.isnan(self.travel[units, reps])
            if missing.any():
                self.travel[units[missing], reps[missing]] = _unit_travel(self.p, self.u, units[missing], reps[missing])
            return self.travel[units, reps]
        return _unit_travel(self.p, self.u, units, reps)

    def can_leave(self, unit: int) -> bool:
        r = int(self.rep[unit])
        seen = self.leaves.get(unit)
        if seen is None or seen[:2] != (r, self.version[r]):
            seen = (r, int(self.version[r]), _stays_one_piece(self.nbrs, self.rep, self.island, unit))
            self.leaves[unit] = seen
        return seen[2]

    def move(self, unit: int, dst: int) -> None:
        self.left -= float(self.added(np.array([unit]), np.array([dst]))[0])
        src = int(self.rep[unit])
        self.load[src] -= self.w[unit]
        self.load[dst] += self.w[unit]
        self.rep[unit] = dst
        self.version[[src, dst]] += 1


def _unit_travel(p: _Problem, u: _Units, units: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """Summed travel of each unit's accounts to the paired rep."""
    m = u.members[units]
    rows = np.repeat(np.arange(len(units)), np.diff(m.indptr))
    d = _dist(p, u.movable[m.indices], reps[rows])
    return _bincount(rows, weights=d, minlength=len(units))


def _one_piece(edges: np.ndarray, keep: np.ndarray) -> bool:
    """Whether the units in `keep` form one connected piece (no units: True)."""
    n_left = int(keep.sum())
    if n_left <= 1:
        return True
    e = edges[keep[edges[:, 0]] & keep[edges[:, 1]]]
    idx = np.cumsum(keep) - 1
    g = coo_matrix((np.ones(len(e)), (idx[e[:, 0]], idx[e[:, 1]])), shape=(n_left, n_left))
    return connected_components(g, directed=False)[0] == 1


def _neighbours(edges: np.ndarray, n: int) -> list[list[int]]:
    """Each unit's neighbours, as lists (the restoration walks them one by one)."""
    g = coo_matrix((np.ones(2 * len(edges)), (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]])),
                   shape=(n, n)).tocsr()  # fmt: skip
    return [g.indices[g.indptr[i] : g.indptr[i + 1]].tolist() for i in range(n)]


def _stays_one_piece(nbrs: list[list[int]], rep: np.ndarray, island: np.ndarray, unit: int) -> bool:
    """Whether the unit's territory, without the unit, is still one piece (and not left empty): its neighbours
    in the territory still reach each other (a walk outward from one of them, nearest first, that stops
    once it has met them all: around a unit that is no cut vertex the walk stays short)."""
    r = rep[unit]
    near = [v for v in nbrs[unit] if rep[v] == r and not island[v]]
    if not near:  # the unit alone: the territory is the rest, or nothing but islands
        rest = (rep == r) & ~island
        rest[unit] = False
        return bool(rest.any()) or bool(((rep == r) & island).any())
    todo, seen = set(near[1:]), {unit, near[0]}
    queue = deque([near[0]])
    while queue and todo:
        for w in nbrs[queue.popleft()]:
            if w not in seen and rep[w] == r and not island[w]:
                seen.add(w)
                todo.discard(w)
                queue.append(w)
    return not todo


def _apply_move(s: _Restore, src: np.ndarray, dst: np.ndarray, strength: np.ndarray) -> bool:
    """The move with the least added travel per unit of gain that leaves its territory one piece; False if none."""
    a = s.rep[src]
    extra = s.unit_travel(src, dst) - s.unit_travel(src, a)
    for j in np.lexsort((src, extra / strength)):
        if s.can_leave(int(src[j])):
            s.move(int(src[j]), int(dst[j]))
            return True
    return False


def _swap(s: _Restore) -> bool:
    """A swap of a boundary unit of the territory furthest outside its bands for one of a neighbour's that
    lowers the excess of both and leaves both one piece (the largest gain first); False if none."""
    every = np.arange(len(s.load))
    excess = s.pen(s.load, every)
    both = np.r_[s.edges, s.edges[:, ::-1]]
    for r in np.argsort(-excess, kind="stable"):
        if excess[r] <= 1e-12:
            break
        mine = s.rep == r
        border = both[mine[both[:, 0]] & ~mine[both[:, 1]] & ~s.island[both[:, 0]]]
        near = np.unique(s.rep[border[:, 1]])
        key = (int(s.version[r]), *near.tolist(), *s.version[near].tolist())
        if s.no_swap.get(int(r)) == key:  # nothing changed here since no swap helped
            continue
        found: list[tuple[float, int, int, int]] = []
        for q in near.tolist():
            side = border[s.rep[border[:, 1]] == q]
            uu, vv = (g.ravel() for g in np.meshgrid(np.unique(side[:, 0]), np.unique(side[:, 1]), indexing="ij"))
            d = s.w[uu] - s.w[vv]
            gain = s.pen(s.load[r] - d, r) - s.pen(s.load[r], r) + s.pen(s.load[q] + d, q) - s.pen(s.load[q], q)
            added = s.added(uu, np.full(len(uu), q)) + s.added(vv, np.full(len(vv), r))
            ok = (gain < -1e-12) & (added <= max(s.left, 0.0) + 1e-12)
            found += [(float(gain[j]), int(uu[j]), int(vv[j]), q) for j in np.flatnonzero(ok)]
        for _, x, y, q in sorted(found)[:SWAPS_CHECKED]:
            after = s.rep.copy()
            after[[x, y]] = q, r
            if _one_piece(s.edges, (after == r) & ~s.island) and _one_piece(s.edges, (after == q) & ~s.island):
                s.move(x, q)
                s.move(y, int(r))
                return True
        s.no_swap[int(r)] = key
    return False


def _step(s: _Restore, src_all: np.ndarray, nb_all: np.ndarray) -> bool:
    """One change on the boundary: the move of a unit to a neighbouring territory that lowers the excess over
    the bands, else a swap that does (_swap), else a move that lowers the spread around the targets without
    raising the excess (so load can pass through a territory that is in its bands); each leaving both
    territories one piece, the least added travel per unit of gain first. False when nothing helps."""
    cross = s.rep[src_all] != s.rep[nb_all]
    n_reps = len(s.load)
    key = np.unique(src_all[cross] * n_reps + s.rep[nb_all[cross]])  # (unit, neighbouring rep), each once
    if len(key) == 0:
        return False
    src, dst = key // n_reps, key % n_reps
    a, ws = s.rep[src], s.w[src]
    gain = s.pen(s.load[a] - ws, a) - s.pen(s.load[a], a) + s.pen(s.load[dst] + ws, dst) - s.pen(s.load[dst], dst)
    within = s.allowed(src, dst)  # the user's moved budget
    lower = (gain < -1e-12) & within
    if lower.any() and _apply_move(s, src[lower], dst[lower], -gain[lower]):
        return True
    if _swap(s):
        return True
    flat = s.spread(s.load[a] - ws, a) - s.spread(s.load[a], a)
    flat += s.spread(s.load[dst] + ws, dst) - s.spread(s.load[dst], dst)
    even = (gain <= 1e-12) & (flat < -1e-12) & within
    return bool(even.any()) and _apply_move(s, src[even], dst[even], -flat[even])


def _state(
    p: _Problem, u: _Units, assign: np.ndarray, edges: np.ndarray, island: np.ndarray, left: float = np.inf
) -> _Restore:
    n_units, n_reps, n_bands = len(u.weight), len(p.reps), p.bm.shape[1]
    t = p.target[:, None]
    return _Restore(
        p=p, u=u, edges=edges, nbrs=_neighbours(edges, n_units), island=island, rep=unit_reps(u, assign),
        w=np.asarray(u.members @ p.bm[u.movable]).reshape(n_units, n_bands),
        load=_loads(p, assign),
        lo=t * (1 - p.tols[None, :]), hi=t * (1 + p.tols[None, :]), t=t, version=np.zeros(n_reps, dtype=np.int64),
        leaves={}, no_swap={}, owned=_owned(p, u), left=left,
        travel=np.full((n_units, n_reps), np.nan) if n_units * n_reps <= TRAVEL_CACHE_CELLS else None,
    )  # fmt: skip


def restore_bands(
    p: _Problem,
    u: _Units,
    assign: np.ndarray,
    edges: np.ndarray,
    island: np.ndarray,
    deadline: float = np.inf,
    left: float = np.inf,
) -> tuple[np.ndarray, int]:
    """Move boundary units between neighbouring territories while that helps the bands and both territories
    stay one piece (see the module docstring and _step), moving at most `left` more of the metric from today's
    owners. Returns the assignment with the least excess seen (the first one) and how many changes led to it."""
    if len(u.weight) < 2 or len(edges) == 0:
        return assign, 0
    s = _state(p, u, assign, edges, island, left)
    src_all, nb_all = np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]]
    every = np.arange(len(p.reps))
    best, best_excess, best_moves = s.rep.copy(), float(s.pen(s.load, every).sum()), 0
    cap = MOVES_PER_UNIT * len(u.weight)
    for moves in range(cap + 1):  # `moves` changes made so far
        excess = float(s.pen(s.load, every).sum())
        if excess < best_excess - 1e-12:
            best, best_excess, best_moves = s.rep.copy(), excess, moves
        stalled = moves - best_moves > STALL_STEPS_PER_REP * len(p.reps)
        late = time.process_time() > deadline
        if excess <= 1e-12 or stalled or late or moves == cap or not _step(s, src_all, nb_all):
            break
    out = assign.copy()  # changes after the last gain (spread moves that led nowhere) are not kept
    out[u.movable] = best[u.of_account]
    return out, best_moves


def polish(
    p: _Problem, u: _Units, assign: np.ndarray, edges: np.ndarray, island: np.ndarray, deadline: float = np.inf
) -> tuple[np.ndarray, int]:
    """Moves of boundary units that lower travel without raising the excess over the bands or the share moved
    from today's owners, each leaving both territories one piece (_polish). The assignment and how many."""
    if len(u.weight) < 2 or len(edges) == 0:
        return assign, 0
    s = _state(p, u, assign, edges, island)
    src_all, nb_all = np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]]
    moves = _polish(s, src_all, nb_all, _owned(p, u), MOVES_PER_UNIT * len(u.weight), deadline)
    out = assign.copy()
    out[u.movable] = s.rep[u.of_account]
    return out, moves


def _polish(
    s: _Restore, src_all: np.ndarray, nb_all: np.ndarray, owned: sparse.csr_matrix, cap: int, deadline: float
) -> int:
    """Moves of boundary units that lower travel without raising the excess over the bands or the share moved
    from today's owners, each leaving both territories one piece; the largest saving first. How many."""
    n_reps = len(s.load)
    for done in range(cap):
        if time.process_time() > deadline:
            return done
        cross = s.rep[src_all] != s.rep[nb_all]
        key = np.unique(src_all[cross] * n_reps + s.rep[nb_all[cross]])
        if len(key) == 0:  # one territory (a single rep) has no boundary to move
            return done
        src, dst = key // n_reps, key % n_reps
        a, ws = s.rep[src], s.w[src]
        gain = s.pen(s.load[a] - ws, a) - s.pen(s.load[a], a) + s.pen(s.load[dst] + ws, dst) - s.pen(s.load[dst], dst)
        moved = np.asarray(owned[src, a]).ravel() - np.asarray(owned[src, dst]).ravel()
        ok = np.flatnonzero((gain <= 1e-12) & (moved <= 1e-12))
        saving = s.unit_travel(src[ok], a[ok]) - s.unit_travel(src[ok], dst[ok])
        ok, saving = ok[saving > 1e-9], saving[saving > 1e-9]
        for j in ok[np.lexsort((src[ok], -saving))]:
            if s.can_leave(int(src[j])):
                s.move(int(src[j]), int(dst[j]))
                break
        else:
            return done
    return cap


def is_contiguous(u: _Units, assign: np.ndarray, edges: np.ndarray, island: np.ndarray) -> bool:
    """Every territory's units (islands aside) are one connected piece under the adjacency."""
    if len(u.weight) < 2:
        return True
    rep = unit_reps(u, assign)
    comp = pieces(edges, rep)
    return all(len(np.unique(comp[(rep == r) & ~island])) <= 1 for r in np.unique(rep))


def _left(p: _Problem, assign: np.ndarray, moved_cap: float | None) -> float:
    """What the user's moved budget leaves (inf: no budget)."""
    return np.inf if moved_cap is None else moved_cap - _moved_share(p, assign)


def contiguous(
    p: _Problem,
    u: _Units,
    opts: Options,
    assign: np.ndarray,
    graph: Graph | None = None,
    moved_cap: float | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Join every territory into one piece, restore the bands where it can, shorten travel; what it did.
    `graph`: the units' graph when checked_units built it already. `moved_cap`: the user's budget (a share of the
    metric, forced moves apart); joining the pieces may have to go over it (the report says so), the rest never does."""
    edges, island, info = graph if graph is not None else unit_graph(p, u, opts)
    assign, n_moved = make_contiguous(p, u, assign, edges, island, _left(p, assign, moved_cap))
    deadline = time.process_time() + CONTIGUITY_TIME_SHARE * opts.time_limit_s
    banded, _ = restore_bands(p, u, assign, edges, island, deadline, _left(p, assign, moved_cap))
    restored, _ = polish(p, u, banded, edges, island, deadline)
    # Areas, not steps: a unit moved to and fro by several steps is one area (or none, back where it was).
    n_band, n_travel = changed_units(u, assign, banded), changed_units(u, banded, restored)
    late = time.process_time() > deadline
    if is_contiguous(u, restored, edges, island) or not is_contiguous(u, assign, edges, island):
        assign = restored
    else:  # never expected: every change is checked; changes that cut a territory are not kept
        n_band = n_travel = 0
    one = is_contiguous(u, assign, edges, island)
    return assign, {
        **info,
        "contiguity_units_moved": n_moved,
        "contiguity_band_moves": n_band,
        "contiguity_travel_moves": n_travel,
        "contiguity_stopped_by_time": late,
        "contiguous": one,
    }
