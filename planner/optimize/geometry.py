"""Points on the sphere: unit vectors, great-circle km from chords, nearest homes, float bincounts."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from planner import geo


def _bincount(idx: np.ndarray, weights: np.ndarray | None = None, minlength: int = 0) -> np.ndarray:
    """np.bincount that always returns floats (it returns ints for an empty input)."""
    return np.bincount(np.asarray(idx, dtype=np.int64), weights=weights, minlength=minlength).astype(float)


def _count(idx: np.ndarray, minlength: int = 0) -> np.ndarray:
    return np.bincount(np.asarray(idx, dtype=np.int64), minlength=minlength)


# Unit vectors and great-circle km from chords: planner.geo's, under the names this package uses.
_xyz = geo.unit_vectors
_chord_km = geo.chord_km


def _nearest(points: np.ndarray, homes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k nearest homes of each point: (km, index), both shaped (n, k)."""
    k = max(1, min(k, len(homes)))
    dist, idx = cKDTree(homes).query(points, k=k)
    return _chord_km(dist).reshape(len(points), k), np.asarray(idx).reshape(len(points), k)
