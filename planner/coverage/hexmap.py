"""The Coverage map's data, aggregated server-side: H3 hexagons over every account, a sample of dots,
rep homes, territory outlines, and the accounts inside one hexagon."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from planner import geo
from planner.coverage.facts import STATUSES, Filters, account_facts, check_view, context
from planner.coverage.workload import Workload
from planner.errors import BadInput
from planner.scope import Scope
from planner.store import metrics as q
from planner.store.memo import Kept

_CELLS: Kept[pd.DataFrame] = Kept(4)


def account_cells(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """rid (the account's rowid) and its H3 cell at geo.H3_BASE_RES for the accounts in scope, computed
    once per store version and scope.

    Coarser hexagons are derived from these in SQL, so a filter change never recomputes H3. Holds no
    names or owners; it is only ever joined to a facts table, which the caller's scope narrowed too.
    """
    key = f"{q.store_version(con)}:{scope.rep_id if scope.is_rep else '*'}"
    return _CELLS.get(key, lambda: _cells(con, scope))


def _cells(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    locs = q.account_locations(con, scope=scope)
    lat: np.ndarray = np.ma.filled(np.ma.asarray(locs["lat"], dtype=float), np.nan)
    lon: np.ndarray = np.ma.filled(np.ma.asarray(locs["lon"], dtype=float), np.nan)
    frame = pd.DataFrame(
        {"rid": np.asarray(locs["rid"], dtype=np.int64), "cell": geo.h3_cells(lat, lon, geo.H3_BASE_RES)}
    )
    return frame


def check_resolution(resolution: int) -> None:
    if resolution not in geo.H3_RESOLUTIONS:
        raise BadInput(f"hexagon resolution {resolution} is not offered; use one of {geo.H3_RESOLUTIONS}")


def nearest_rep(df: pd.DataFrame, homes: pd.DataFrame, lat: str = "lat", lon: str = "lon") -> pd.DataFrame:
    """Add nearest_rep (name) and nearest_rep_km: who could cover each row, and how far they live
    (None / NaN where either side has no location)."""
    out = df.copy()
    if len(out) == 0 or len(homes) == 0:
        out["nearest_rep"] = pd.Series([None] * len(out), dtype=object, index=out.index)
        out["nearest_rep_km"] = np.nan
        return out
    d = geo.haversine_km(
        out[lat].to_numpy(dtype=float)[:, None], out[lon].to_numpy(dtype=float)[:, None],
        homes["home_lat"].to_numpy(dtype=float)[None, :], homes["home_lon"].to_numpy(dtype=float)[None, :],
    )  # fmt: skip
    known = np.isfinite(d).any(axis=1)
    best = np.where(known, np.nanargmin(np.where(np.isfinite(d), d, np.inf), axis=1), 0)
    out["nearest_rep"] = np.where(known, homes["name"].to_numpy(dtype=object)[best], None)
    out["nearest_rep_km"] = np.where(known, d[np.arange(len(out)), best], np.nan)
    return out


def map_payload(
    hexes: pd.DataFrame,
    points: pd.DataFrame,
    located: int,
    homes: pd.DataFrame,
    resolution: int,
    threshold: float,
    as_of: date,
    nearest: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The map's parts from the aggregates (see report.coverage_map for the keys); each hexagon's nearest rep is
    measured against `nearest` (rep_id, name, home_lat, home_lon; default: the homes drawn)."""
    names = dict(zip(homes["rep_id"], homes["name"], strict=True))
    hexes = hexes.copy()
    hexes["hex"] = geo.h3_str(hexes["cell"])
    if len(hexes):
        hexes["lat"], hexes["lon"] = geo.h3_centers(hexes["cell"])
    else:
        hexes["lat"], hexes["lon"] = np.array([]), np.array([])
    hexes["top_name"] = hexes["top_rep_id"].map(names)
    hexes["top_share"] = hexes["top_n"] / hexes["accounts"]
    hexes = nearest_rep(hexes, homes if nearest is None else nearest)
    return {
        "as_of": as_of,
        "resolution": resolution,
        "hex_km2": geo.h3_area_km2(resolution),
        "high_potential_threshold": threshold,
        "hexes": hexes.drop(columns=["top_n"]),
        "points": points,
        "located_accounts": located,
        "homes": homes,
        "outlines": _outlines(hexes, homes, names),
    }


# Hexagons of one rep farther apart than this are separate outlines: a hull around Boston and Berlin spanned the
# Atlantic, one around California and Alaska the Pacific.
OUTLINE_GAP_KM = 1500.0


def _outlines(hexes: pd.DataFrame, homes: pd.DataFrame, names: dict[Any, Any]) -> list[dict[str, Any]]:
    """GeoJSON Features per rep: the hulls of the hexagons where the rep holds the most accounts, one per group of
    hexagons within OUTLINE_GAP_KM of each other (single linkage), leaving out the farthest tenth from home (named
    accounts across the country would otherwise stretch it over everything); reps without a home keep every
    hexagon."""
    outlines = []
    home_at = homes.set_index("rep_id")[["home_lat", "home_lon"]]
    for rep_id, group in hexes.dropna(subset=["top_rep_id"]).groupby("top_rep_id", sort=True):
        home = home_at.loc[rep_id] if rep_id in home_at.index else None
        far = None if home is None or home.isna().any() else geo.haversine_km(group["lat"], group["lon"], *home)
        core = group if far is None or len(group) < 5 else group[far <= np.percentile(far, 90)]
        for _, part in core.groupby(geo.clusters(core["lat"], core["lon"], OUTLINE_GAP_KM), sort=True):
            ring = geo.convex_hull(part["lat"], part["lon"])
            if ring is None:
                continue
            outlines.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {"rep_id": rep_id, "name": names.get(rep_id, rep_id), "cells": len(part)},
                }
            )
    return outlines


def hexagon_detail(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    filters: Filters,
    hex_id: str,
    resolution: int,
    limit: int = 25,
    workload: Workload | None = None,
) -> pd.DataFrame:
    """The largest accounts (under the filters, in the caller's scope) inside one hexagon of the map."""
    check_view(scope, filters)
    check_resolution(resolution)
    try:
        cell = int(hex_id, 16)
    except (TypeError, ValueError):
        raise BadInput(f"{hex_id!r} is not an H3 cell id") from None
    if not 1 <= limit <= 1000:
        raise BadInput(f"limit {limit} is out of range; use 1 to 1000")
    ctx = context(con, scope=scope, workload=workload)
    cells = account_cells(con, scope=scope)
    with (
        account_facts(con, scope=scope, filters=filters.without_rep(), ctx=ctx) as facts,
        q.registered(con, cells) as cell_table,
    ):
        df = q.facts_in_cell(con, facts, cell_table, geo.h3_parent_masks(resolution), cell, limit, filters.rep_id,
                             scope=scope)  # fmt: skip
    df["status_label"] = df["status"].map(STATUSES)
    return df
