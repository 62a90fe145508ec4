"""Contiguous territories for area units: each territory's units form one connected region.

Adjacency (stated): the pairs of area codes the user gives (Options.adjacency, read by
planner.optimize.adjacency from a `from,to` CSV such as the Census county adjacency file), else two units
are neighbours when their centroids share an edge of the Delaunay triangulation of all the units'
centroids (on an equirectangular plane). Under a file, units without a neighbour in it are islands:
exempt, any territory may hold them (see planner.optimize.adjacency).

First the pieces are joined: a territory whose units fall into several connected pieces keeps its main
piece (the one holding the unit nearest the rep's home) and hands every other piece, smallest first, to
the neighbouring territory with the lowest load against its target, until every territory is one piece.
Then the bands are restored where they can be: a unit on a boundary moves to the neighbouring territory
when that lowers the summed excess over every band and its own territory stays connected without it
(the receiving one does: the unit touches it); the largest gain first, the least added travel among
equal gains, until no move helps. Accounts that must stay (locked, customers, open deals) are not part
of any unit and are not moved.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay, QhullError

from planner.optimize.adjacency import unit_edges
from planner.optimize.geometry import _bincount
from planner.optimize.options import Options
from planner.optimize.problem import _dist, _Problem, _Units, _units

# The band restoration stops after this many moves per unit (each move lowers the excess, so it ends anyway).
MOVES_PER_UNIT = 4


def adjacency(xy: np.ndarray) -> np.ndarray:
    """(n_edges, 2) neighbour pairs of points: Delaunay edges (a chain in x order when collinear)."""
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
        edges = adjacency(unit_plane(p, u))
        return edges, np.zeros(len(u.weight), dtype=bool), {"adjacency": "delaunay", "adjacency_edges": len(edges)}
    edges, n_islands = unit_edges(u.label, opts.adjacency, opts.unit)
    island = np.bincount(edges.ravel(), minlength=len(u.weight)) == 0
    info = {"adjacency": "file", "adjacency_edges": len(opts.adjacency), "adjacency_islands": n_islands}
    return edges, island, info


def checked_units(p: _Problem, opts: Options) -> _Units:
    """The problem's units; with a stated adjacency, its codes checked against them before any solve."""
    u = _units(p, opts)
    if opts.contiguous and opts.adjacency is not None:
        unit_graph(p, u, opts)
    return u


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
    p: _Problem, u: _Units, assign: np.ndarray, edges: np.ndarray, island: np.ndarray
) -> tuple[np.ndarray, int]:
    """The assignment with every territory's units in one connected piece, and how many units moved."""
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
    moved_units, stuck = 0, set()
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
        to = int(cand[np.argmin(load[cand] / p.target[cand])])
        src = int(rep[members[0]])
        w = float(u.weight[members].sum())
        load[src] -= w
        load[to] += w
        rep[members] = to
        moved_units += len(members)
    out = assign.copy()
    out[u.movable] = rep[u.of_account]
    return out, moved_units


def _unit_travel(p: _Problem, u: _Units, units: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """Summed travel of each unit's accounts to the paired rep."""
    m = u.members[units]
    rows = np.repeat(np.arange(len(units)), np.diff(m.indptr))
    d = _dist(p, u.movable[m.indices], reps[rows])
    return _bincount(rows, weights=d, minlength=len(units))


def _stays_one_piece(edges: np.ndarray, rep: np.ndarray, island: np.ndarray, unit: int) -> bool:
    """Whether the unit's territory, without the unit, is still one piece (and not left empty)."""
    keep = (rep == rep[unit]) & ~island
    keep[unit] = False
    n_left = int(keep.sum())
    if n_left == 0:
        return bool(((rep == rep[unit]) & island).any())  # a territory of islands only is fine
    e = edges[keep[edges[:, 0]] & keep[edges[:, 1]]]
    idx = np.cumsum(keep) - 1
    g = coo_matrix((np.ones(len(e)), (idx[e[:, 0]], idx[e[:, 1]])), shape=(n_left, n_left))
    return connected_components(g, directed=False)[0] == 1


def restore_bands(
    p: _Problem, u: _Units, assign: np.ndarray, edges: np.ndarray, island: np.ndarray
) -> tuple[np.ndarray, int]:
    """Move boundary units between neighbouring territories while that lowers the summed excess over every
    band and both territories stay one piece (see the module docstring). Returns the assignment and how
    many moves it made."""
    n_reps, n_bands = len(p.reps), p.bm.shape[1]
    if len(u.weight) < 2 or len(edges) == 0:
        return assign, 0
    rep = unit_reps(u, assign)
    w = np.asarray(u.members @ p.bm[u.movable]).reshape(len(u.weight), n_bands)
    load = np.stack([_bincount(assign, weights=p.bm[:, m], minlength=n_reps) for m in range(n_bands)], axis=1)
    t = p.target[:, None]
    lo, hi = t * (1 - p.tols[None, :]), t * (1 + p.tols[None, :])

    def pen(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return ((np.maximum(x - hi[rows], 0) + np.maximum(lo[rows] - x, 0)) / t[rows]).sum(axis=-1)

    src_all, nb_all = np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]]
    moves = 0
    for _ in range(MOVES_PER_UNIT * len(u.weight)):
        if pen(load, np.arange(n_reps)).max() <= 1e-12:
            break
        cross = rep[src_all] != rep[nb_all]
        pairs = np.unique(np.c_[src_all[cross], rep[nb_all[cross]]], axis=0)
        if len(pairs) == 0:
            break
        src, dst = pairs[:, 0], pairs[:, 1]
        a, ws = rep[src], w[src]
        gain = pen(load[a] - ws, a) - pen(load[a], a) + pen(load[dst] + ws, dst) - pen(load[dst], dst)
        ok = gain < -1e-12
        if not ok.any():
            break
        src, dst, a, gain = src[ok], dst[ok], a[ok], gain[ok]
        # The least added travel per unit of excess removed first: a far unit is no cure for a near one.
        extra = _unit_travel(p, u, src, dst) - _unit_travel(p, u, src, a)
        done = False
        for j in np.lexsort((src, extra / -gain)):
            if _stays_one_piece(edges, rep, island, int(src[j])):
                load[a[j]] -= w[src[j]]
                load[dst[j]] += w[src[j]]
                rep[src[j]] = dst[j]
                moves, done = moves + 1, True
                break
        if not done:
            break
    out = assign.copy()
    out[u.movable] = rep[u.of_account]
    return out, moves


def is_contiguous(u: _Units, assign: np.ndarray, edges: np.ndarray, island: np.ndarray) -> bool:
    """Every territory's units (islands aside) are one connected piece under the adjacency."""
    if len(u.weight) < 2:
        return True
    rep = unit_reps(u, assign)
    comp = pieces(edges, rep)
    return all(len(np.unique(comp[(rep == r) & ~island])) <= 1 for r in np.unique(rep))


def contiguous(p: _Problem, u: _Units, opts: Options, assign: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Join every territory into one piece, then restore the bands where it can; what it did, for the report."""
    edges, island, info = unit_graph(p, u, opts)
    assign, n_moved = make_contiguous(p, u, assign, edges, island)
    assign, n_band = restore_bands(p, u, assign, edges, island)
    one = is_contiguous(u, assign, edges, island)
    return assign, {**info, "contiguity_units_moved": n_moved, "contiguity_band_moves": n_band, "contiguous": one}
