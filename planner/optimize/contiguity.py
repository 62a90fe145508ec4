"""Contiguous territories for area units: each territory's units form one connected region.

Adjacency (stated): two units are neighbours when their centroids share an edge of the Delaunay
triangulation of all the units' centroids (on an equirectangular plane). A territory whose units
fall into several connected pieces keeps its main piece (the one holding the unit nearest the rep's
home, else its heaviest) and hands every other piece, smallest first, to the neighbouring territory
with the lowest load against its target; this repeats until every territory is one piece.
Accounts that must stay (locked, customers, open deals) are not part of any unit and are not moved.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay, QhullError

from planner.optimize.geometry import _bincount
from planner.optimize.problem import _Problem, _Units


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


def make_contiguous(p: _Problem, u: _Units, assign: np.ndarray) -> tuple[np.ndarray, int]:
    """The assignment with every territory's units in one connected piece, and how many units moved."""
    n_units = len(u.weight)
    if n_units < 2:
        return assign, 0
    first = np.zeros(n_units, dtype=np.int64)
    first[u.of_account[::-1]] = np.arange(len(u.of_account))[::-1]
    rep = assign[u.movable[first]].copy()
    xy = unit_plane(p, u)
    edges = adjacency(xy)
    homes = np.c_[
        p.reps["home_lon"].to_numpy(float) * np.cos(np.radians(float(np.mean(xy[:, 1])))),
        p.reps["home_lat"].to_numpy(float),
    ]
    n_reps = len(p.reps)
    load = _bincount(assign, weights=p.b, minlength=n_reps)
    moved_units = 0
    for _ in range(n_units):
        comp = pieces(edges, rep)
        stray: list[tuple[float, int, np.ndarray]] = []
        for r in np.unique(rep):
            mine = np.flatnonzero(rep == r)
            ids = np.unique(comp[mine])
            if len(ids) < 2:
                continue
            near = mine[np.argmin(((xy[mine] - homes[r]) ** 2).sum(axis=1))]
            main = comp[near]
            for c in ids:
                if c == main:
                    continue
                members = mine[comp[mine] == c]
                stray.append((float(u.weight[members].sum()), int(members.min()), members))
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
        if len(cand) == 0:
            break
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


def is_contiguous(p: _Problem, u: _Units, assign: np.ndarray) -> bool:
    """Every territory's units are one connected piece under the Delaunay adjacency."""
    if len(u.weight) < 2:
        return True
    first = np.zeros(len(u.weight), dtype=np.int64)
    first[u.of_account[::-1]] = np.arange(len(u.of_account))[::-1]
    rep = assign[u.movable[first]]
    comp = pieces(adjacency(unit_plane(p, u)), rep)
    return all(len(np.unique(comp[rep == r])) == 1 for r in np.unique(rep))
