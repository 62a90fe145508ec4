"""How unequal territories are: max/mean, min/mean, coefficient of variation, Gini, Lorenz curve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

METRICS: dict[str, str] = {
    "potential": "Potential",
    "expected_value": "Expected value",
    "accounts": "Accounts",
    "customers": "Customers",
    "prospects": "Prospects",
    "open_pipeline": "Open pipeline",
    "won_12m": "Won, 12 months",
    "quota": "Quota",
    "potential_per_quota": "Potential / quota",
    "workload_hours": "Workload (hours a year)",
    "utilisation": "Workload / capacity",
    "mean_km": "Mean distance from home (km)",
    "max_km": "Max distance from home (km)",
    "coverage": "Coverage (share of potential)",
}
"""Per-territory metrics, in display order, with their labels (the imbalance table uses the same keys)."""

KINDS: dict[str, str] = {
    "potential": "money", "expected_value": "money", "accounts": "count", "customers": "count",
    "prospects": "count", "open_pipeline": "money", "won_12m": "money", "quota": "money",
    "potential_per_quota": "ratio", "workload_hours": "hours", "utilisation": "pct", "mean_km": "km",
    "max_km": "km", "coverage": "pct",
}  # fmt: skip
"""What each metric is (money, count, ratio, hours, pct, km): how pages and exports format it."""


@dataclass(frozen=True)
class Imbalance:
    """How far territories are from equal on one metric (1.0 and 0.0 mean perfectly even)."""

    max_mean: float
    min_mean: float
    cv: float
    gini: float

    def as_dict(self) -> dict[str, float]:
        return {"max_mean": self.max_mean, "min_mean": self.min_mean, "cv": self.cv, "gini": self.gini}


def gini(values: Any) -> float:
    """Gini coefficient of non-negative values: 0 when all equal, towards 1 when one holds all."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0 or x.sum() <= 0:
        return 0.0
    cum = np.cumsum(x)
    return float((n + 1 - 2 * (cum / cum[-1]).sum()) / n)


def imbalance(values: Any) -> Imbalance:
    """Max/mean, min/mean, coefficient of variation (population) and Gini of one metric."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0 or x.mean() == 0:
        return Imbalance(float("nan"), float("nan"), float("nan"), float("nan"))
    mean = x.mean()
    return Imbalance(float(x.max() / mean), float(x.min() / mean), float(x.std() / mean), gini(x))


def lorenz(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve points (share of territories, share of the total), both from 0 to 1."""
    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    if len(x) == 0 or x.sum() <= 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    cum = np.concatenate([[0.0], np.cumsum(x)]) / x.sum()
    return np.linspace(0.0, 1.0, len(x) + 1), cum


def reps_only(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a territory table that are active reps (not accounts without an active owner)."""
    return table[table["rep_id"].notna() & table["name"].notna()]


def imbalance_table(table: pd.DataFrame, metrics: dict[str, str] | None = None) -> pd.DataFrame:
    """metric, label, mean, max_mean, min_mean, cv, gini across the active reps of a territory table."""
    reps = reps_only(table)
    rows = []
    for key, label in (metrics or METRICS).items():
        if key not in reps:
            continue
        values = pd.to_numeric(reps[key], errors="coerce").to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        imb = imbalance(finite)
        rows.append({"metric": key, "label": label, "mean": float(finite.mean()) if len(finite) else float("nan"),
                     **imb.as_dict()})  # fmt: skip
    return pd.DataFrame(rows, columns=["metric", "label", "mean", "max_mean", "min_mean", "cv", "gini"])
