"""Territory metrics: per-territory totals and how unbalanced they are.

Shared by the Overview page, the Coverage page and `python -m planner metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from planner.errors import Forbidden
from planner.scope import EVERYONE, Scope
from planner.store import metrics as q
from planner.store import world


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
    x = x[~np.isnan(x)]
    if len(x) == 0 or x.mean() == 0:
        return Imbalance(float("nan"), float("nan"), float("nan"), float("nan"))
    mean = x.mean()
    return Imbalance(float(x.max() / mean), float(x.min() / mean), float(x.std() / mean), gini(x))


def as_of_date(con: duckdb.DuckDBPyConnection) -> date:
    """The date figures are computed at: the demo's fixed today, else today."""
    text = world.as_of(con)
    return date.fromisoformat(text) if text else date.today()


def territory_table(con: duckdb.DuckDBPyConnection, scope: Scope = EVERYONE) -> pd.DataFrame:
    """Per-territory metrics for active reps; unassigned accounts come as a row with rep_id None."""
    df = q.territory_totals(con, as_of_date(con), scope)
    df["potential_per_quota"] = df["potential"] / df["quota"].where(df["quota"] > 0)
    return df


def narrow(scope: Scope, rep_id: str | None) -> Scope:
    """The caller's scope narrowed to one territory (a rep can only narrow to their own)."""
    if rep_id is None:
        return scope
    if not scope.allows_rep(rep_id):
        raise Forbidden(f"you may only view your own territory, not {rep_id!r}")
    return Scope(role="rep", rep_id=rep_id, user=scope.user)


def overview(con: duckdb.DuckDBPyConnection, scope: Scope = EVERYONE, rep_id: str | None = None) -> dict[str, Any]:
    """Everything the Overview page shows: KPIs (of one territory when rep_id is given), the
    territory table, imbalance across territories and freshness."""
    as_of = as_of_date(con)
    kpis = q.store_kpis(con, as_of, narrow(scope, rep_id))
    table = territory_table(con, scope)
    reps_only = table[table["rep_id"].notna() & table["name"].notna()]
    return {
        "as_of": as_of,
        "kpis": kpis,
        "territories": table,
        "imbalance": {
            "potential": imbalance(reps_only["potential"]).as_dict(),
            "accounts": imbalance(reps_only["accounts"]).as_dict(),
            "open_pipeline": imbalance(reps_only["open_pipeline"]).as_dict(),
        },
        "freshness": world.freshness(con),
    }
