"""Imbalance within each market: where the optimizer balances the book within countries (planner.optimize.markets),
each territory is measured against its own market's mean beside the whole book's.

A book whose accounts and reps span several countries is balanced one market at a time (a rep's fair share is their
market's total over its reps), so one mean over every territory puts a rep who holds a whole small market against a
country of many reps: right after a rebalance that met every band in every country, the whole book read 1.37. A
rep's market is the one the optimizer gives them (the country of their home); a book the optimizer balances as one
has no markets here either, and its pages show what they always did.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

from planner import scenarios
from planner.coverage.imbalance import imbalance, reps_only
from planner.optimize.markets import market_name, split
from planner.optimize.options import Options
from planner.scope import Scope
from planner.store import scenarios as sq

COLUMNS = ["metric", "label", "market", "name", "reps", "max_mean", "min_mean", "cv", "gini"]


def rep_markets(acc: pd.DataFrame, reps: pd.DataFrame) -> dict[str, str] | None:
    """Each scenario rep's market as `balance` (within countries, the default) splits the book, or None when it
    balances the book as one (its accounts or reps in a single country)."""
    if acc.empty or reps.empty:
        return None
    m = split(acc, reps, Options())
    if m is None:
        return None
    return {str(r): str(c) for r, c in zip(m.p.reps["rep_id"], m.of_rep, strict=True)}


def store_markets(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> dict[str, str] | None:
    """rep_markets over the store as the optimizer reads it (in scope); None for a rep, who compares no territories."""
    if scope.is_rep:
        return None
    acc = sq.rebalance_accounts(con, scope=scope)
    return rep_markets(acc, scenarios.with_homes(acc, sq.rebalance_reps(con, scope=scope)))


def market_imbalance(table: pd.DataFrame, of_rep: dict[str, str] | None, metrics: dict[str, str]) -> pd.DataFrame:
    """One row per market and metric (COLUMNS): the metric's max/mean, min/mean, CV and Gini among the active reps of
    the territory table whose market it is. Empty when the book is one market (`of_rep` None)."""
    if not of_rep:
        return pd.DataFrame(columns=COLUMNS)
    reps = reps_only(table)
    market = reps["rep_id"].astype(str).map(of_rep)
    rows = []
    for key, label in metrics.items():
        if key not in reps:
            continue
        values = pd.to_numeric(reps[key], errors="coerce")
        for code in sorted(market.dropna().unique()):
            mine = values[market == code].to_numpy(dtype=float)
            imb = imbalance(mine[np.isfinite(mine)])
            rows.append({"metric": key, "label": label, "market": code, "name": market_name(code),
                         "reps": int((market == code).sum()), **imb.as_dict()})  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def worst(by_market: pd.DataFrame, metric: str) -> dict[str, Any] | None:
    """The market whose territories are the least even on `metric` (highest max/mean), or None without markets."""
    rows = by_market[(by_market["metric"] == metric) & by_market["max_mean"].notna()]
    if rows.empty:
        return None
    return dict(rows.loc[rows["max_mean"].astype(float).idxmax()])


def market_table(by_market: pd.DataFrame, metrics: dict[str, str]) -> pd.DataFrame:
    """A page's per-country table: market (its name), reps, and each of `metrics`' max/mean (column: its label)."""
    rows = by_market[by_market["metric"].isin(list(metrics))]
    if rows.empty:
        return pd.DataFrame(columns=["market", "reps", *metrics.values()])
    wide = rows.pivot_table(index=["name", "reps"], columns="metric", values="max_mean", sort=False).reset_index()
    wide = wide.rename(columns={"name": "market", **metrics})
    wide.columns.name = None
    return wide[["market", "reps", *[label for key, label in metrics.items() if key in set(rows["metric"])]]]
