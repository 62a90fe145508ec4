"""Territory metrics and coverage as the Overview page, the Coverage page and `planner metrics` show them.

Every figure comes from the per-account facts (planner.coverage.facts), with workload from
planner.coverage.workload and expected value from planner.coverage.value.
"""

from __future__ import annotations

from types import EllipsisType
from typing import Any

import duckdb
import pandas as pd

from planner import geo
from planner.coverage.facts import (
    EVERY_ACCOUNT,
    SEGMENTS,
    STATUS_CODES,
    STATUSES,
    Filters,
    account_facts,
    check_view,
    context,
)
from planner.coverage.hexmap import account_cells, check_resolution, map_payload, nearest_rep
from planner.coverage.imbalance import METRICS, imbalance, imbalance_table, reps_only
from planner.coverage.markets import market_imbalance, store_markets
from planner.coverage.value import as_of_date
from planner.coverage.workload import Workload
from planner.errors import BadInput, NotFound
from planner.scope import Scope
from planner.store import metrics as q
from planner.store import world
from planner.store.facts import _store_identity, scope_table
from planner.store.memo import Kept

HIGH_POTENTIAL_SHARE = 0.25
"""White space counts the top quarter of accounts by potential unless told otherwise."""


Markets = dict[str, str] | None | EllipsisType
"""Each rep's market as store_markets gives it (None: one market); ... (the default): read it here. A page passes
the one it cached per store version, so a filter or a territory picked does not split the book again."""


def _markets(con: duckdb.DuckDBPyConnection, scope: Scope, of_rep: Markets) -> dict[str, str] | None:
    return store_markets(con, scope=scope) if of_rep is ... else of_rep


def overview(con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str | None = None, of_rep: Markets = ...
             ) -> dict[str, Any]:  # fmt: skip
    """Everything the Overview page shows: KPIs (of one territory when rep_id is given), the
    territory table, imbalance across territories and freshness."""
    as_of = as_of_date(con)
    kpis = q.store_kpis(con, as_of, scope=scope, rep_id=rep_id)
    # The landing page needs counts and money only: one aggregate query, not the per-account facts
    # (workload, distance, coverage) that the Coverage page computes. Same figures, a fraction of the cost.
    table = q.territory_totals(con, as_of, scope=scope)
    table["potential_per_quota"] = _per_quota(table, con)
    reps = reps_only(table)
    return {
        "as_of": as_of,
        "kpis": kpis,
        "territories": table,
        "imbalance": {m: imbalance(reps[m]).as_dict() for m in METRICS if m in reps},
        # Within each country where the optimizer balances by country (empty for a book of one market)
        "market_imbalance": market_imbalance(table, _markets(con, scope, of_rep), METRICS),
        "freshness": world.freshness(con),
    }


def _per_quota(df: pd.DataFrame, con: duckdb.DuckDBPyConnection) -> pd.Series:
    """Potential per unit of quota; none in a store of several currencies (quota in pounds over potential in euros,
    unconverted, is no ratio: planner.text.quota_caveat says why)."""
    comparable = world.currency(con) != world.NO_CURRENCY
    return df["potential"] / df["quota"].where((df["quota"] > 0) & comparable)


def _with_ratios(df: pd.DataFrame, books: pd.DataFrame, workload: Workload, con: duckdb.DuckDBPyConnection
                 ) -> pd.DataFrame:  # fmt: skip
    df = df.merge(books, on="rep_id", how="left")
    df["book_hours"] = df["book_hours"].fillna(0.0).where(df["name"].notna())
    capacity = df["capacity_hours"].fillna(workload.default_capacity_hours).where(df["name"].notna())
    df["capacity_hours"] = capacity
    df["potential_per_quota"] = _per_quota(df, con)
    df["utilisation"] = df["book_hours"] / capacity.where(capacity > 0)
    df["coverage"] = df["covered_potential"] / df["potential"].where(df["potential"] > 0)
    for col in ("expected_value", "mean_km", "max_km"):
        df[col] = df[col].astype(float)
    return df


def territory_metrics(
    con: duckdb.DuckDBPyConnection, *, scope: Scope, filters: Filters = EVERY_ACCOUNT, workload: Workload | None = None
) -> pd.DataFrame:
    """One row per active rep in scope (and one per set of accounts without an active owner).

    Columns: rep_id, name, email, quota, home_city, home_state, home_lat, home_lon, capacity_hours,
    accounts, customers, prospects, potential, expected_value, open_pipeline, open_deals, won_12m,
    workload_hours (of the filtered accounts), book_hours (the whole book, filters aside),
    utilisation (book_hours / capacity), mean_km, max_km, covered_potential, coverage,
    out_of_reach, over_capacity, unlocated, potential_per_quota.
    """
    check_view(scope, filters)
    ctx = context(con, scope=scope, workload=workload)
    with account_facts(con, scope=scope, filters=filters, ctx=ctx) as facts:
        df = q.facts_by_territory(con, facts, scope=scope, statuses=STATUS_CODES)
        books = q.facts_book_hours(con, scope_table(facts), scope=scope)
    return _with_ratios(df, books, ctx.workload, con)


def coverage_report(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    filters: Filters = EVERY_ACCOUNT,
    workload: Workload | None = None,
    high_potential_share: float = HIGH_POTENTIAL_SHARE,
    white_space_limit: int = 500,
) -> dict[str, Any]:
    """Everything the Coverage page and `metrics` print besides the map.

    The territory table compares every territory under the segment/industry/state filters (the
    rep filter only highlights); coverage and white space follow all filters, the rep included.
    Keys: as_of, filters, basis, workload, high_potential_share, territories, imbalance, market_imbalance (each
    country's where the optimizer balances by country, else empty), coverage, white_space,
    travel, covers (for a rep, what the figures cover, in a sentence; else "").
    """
    return coverage_view(con, scope=scope, filters=filters, workload=workload, resolution=None,
                         high_potential_share=high_potential_share, white_space_limit=white_space_limit)  # fmt: skip


def _check_view_args(resolution: int | None, white_space_limit: int, max_points: int, share: float) -> None:
    if resolution is not None:
        check_resolution(resolution)
    if not 1 <= white_space_limit <= 100_000:
        raise BadInput(f"white space limit {white_space_limit} is out of range; use 1 to 100000")
    if not 0 <= max_points <= 200_000:
        raise BadInput(f"max points {max_points} is out of range; use 0 to 200000")
    if not 0 < share <= 1:
        raise BadInput(f"high-potential share {share} must be in (0, 1], e.g. 0.25")


def coverage_view(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    filters: Filters = EVERY_ACCOUNT,
    resolution: int | None = 4,
    max_points: int = 20_000,
    workload: Workload | None = None,
    high_potential_share: float = HIGH_POTENTIAL_SHARE,
    white_space_limit: int = 500,
    of_rep: Markets = ...,
) -> dict[str, Any]:
    """The Coverage page in one pass over the accounts: coverage_report's keys plus, unless resolution
    is None, the map's (see coverage_map) under "map"; `of_rep` as overview's."""
    check_view(scope, filters)
    _check_view_args(resolution, white_space_limit, max_points, high_potential_share)
    ctx = context(con, scope=scope, workload=workload)
    rep = filters.rep_id
    cells = account_cells(con, scope=scope) if resolution is not None else None
    # A rep sees their own accounts, but "high potential" and "nearest rep" are facts about the whole book: measured
    # over the rep's accounts alone they were false (another threshold, the rep named nearest at 7,130 km where a
    # colleague lives 1,744 km away). Measured over the book; other reps are shown as "another rep", unnamed.
    threshold, homes = _book_threshold_and_homes(con, scope, high_potential_share)
    with account_facts(con, scope=scope, filters=filters.without_rep(), ctx=ctx) as facts:
        # The threshold and each rep's whole book come from every account in scope, whatever the filters.
        if threshold is None:
            threshold = q.facts_potential_quantile(con, scope_table(facts), 1.0 - high_potential_share, scope=scope)
        books = q.facts_book_hours(con, scope_table(facts), scope=scope)
        table = q.facts_by_territory(con, facts, scope=scope, statuses=STATUS_CODES)
        by_status = q.facts_by_status(con, facts, threshold, rep, scope=scope)
        white = q.facts_white_space(con, facts, threshold, white_space_limit, rep, statuses=STATUS_CODES,
                                    scope=scope)  # fmt: skip
        if cells is not None and resolution is not None:
            with q.registered(con, cells) as cell_table:
                hexes = q.facts_hexagons(con, facts, cell_table, geo.h3_parent_masks(resolution), threshold, rep,
                                         statuses=STATUS_CODES, scope=scope)  # fmt: skip
            points, located = q.facts_sample(con, facts, max_points, rep, scope=scope)
    table = _with_ratios(table, books, ctx.workload, con)
    own_homes = reps_only(table).dropna(subset=["home_lat", "home_lon"]).reset_index(drop=True)
    homes = own_homes if homes is None else homes
    white = _no_distance_to_colleagues(nearest_rep(white, homes), scope)
    white["status_label"] = white["status"].map(STATUSES)
    out: dict[str, Any] = {
        "as_of": ctx.as_of,
        "filters": filters,
        "basis": ctx.basis,
        "workload": ctx.workload,
        "high_potential_share": high_potential_share,
        "territories": table,
        "imbalance": imbalance_table(table),
        "market_imbalance": market_imbalance(table, _markets(con, scope, of_rep), METRICS),
        "coverage": _coverage_totals(by_status, threshold),
        "white_space": white,
        "travel": travel_summary(table),
        "covers": REP_COVERS if scope.is_rep else "",
    }
    if resolution is not None:
        out["map"] = map_payload(hexes, points, located, own_homes, resolution, threshold, ctx.as_of, nearest=homes)
        out["map"]["hexes"] = _no_distance_to_colleagues(out["map"]["hexes"], scope)
    return out


def _no_distance_to_colleagues(df: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """For a rep: where another rep lives nearer, say so but not how far. Distances from several known points (white
    space rows, hexagons at each size) to an unnamed colleague's home locate that home within a few km."""
    if not scope.is_rep or "nearest_rep_km" not in df:
        return df
    out = df.copy()
    out["nearest_rep_km"] = out["nearest_rep_km"].where(out["nearest_rep"].ne(OTHER_REP))
    return out


REP_COVERS = (
    "These figures cover your territory only. High potential (the top share of accounts) and the nearest rep are "
    "measured over every territory; a nearest rep who is not you reads 'another rep', with no distance."
)
OTHER_REP = "another rep"
_BOOK: Kept[tuple[Any, pd.DataFrame]] = Kept(4)


def _book_threshold_and_homes(
    con: duckdb.DuckDBPyConnection, scope: Scope, share: float
) -> tuple[float | None, pd.DataFrame | None]:
    """For a rep: the high-potential threshold over the whole book, and every active rep's home with the others'
    names as OTHER_REP (no colleague is named to a rep); (None, None) for a leader or an admin, who see the book.

    Two named aggregates over the book (a quantile of potential, the reps' homes), not the book's per-account
    facts, read once per store version and share for every rep (the same figures for all of them): a rep's page
    then reads her own accounts only, not the whole book at each render."""
    if not scope.is_rep:
        return None, None
    book = Scope(role="leader", user=scope.user)  # read here for two book-wide facts only; nothing else leaves
    threshold, homes = _BOOK.get(
        (_store_identity(con), share),
        lambda: (q.book_potential_quantile(con, 1.0 - share, scope=book), q.active_rep_homes(con, scope=book)),
    )
    homes = homes.copy()
    homes["name"] = homes["name"].where(homes["rep_id"] == scope.rep_id, OTHER_REP)
    return threshold, homes


def travel_summary(table: pd.DataFrame) -> dict[str, Any]:
    """What travel could not be measured for, in words: reps without a home and accounts without a
    location precise enough. Such accounts still count toward coverage and balance (as reachable, with
    meeting time only); they are left out of distances. Keys: reps_without_home, unlocated_accounts, note."""
    reps = reps_only(table)
    no_home = reps[reps["home_lat"].isna() | reps["home_lon"].isna()]
    unlocated = int(pd.to_numeric(table["unlocated"], errors="coerce").fillna(0).sum())
    parts = []
    if len(no_home):
        names = ", ".join(str(n) for n in no_home["name"].head(5)) + (", …" if len(no_home) > 5 else "")
        parts.append(
            f"Travel cannot be measured for {len(no_home)} of {len(reps)} reps without a home location ({names}): "
            "their accounts count as reachable and take meeting time only. Set or infer their homes on the Data page"
        )
    if unlocated:
        parts.append(
            (f"{unlocated:,} accounts have" if unlocated != 1 else "1 account has")
            + " no location precise enough to measure travel: "
            + ("it counts" if unlocated == 1 else "they count")
            + " toward coverage and balance, not toward distances"
        )
    return {
        "reps_without_home": int(len(no_home)),
        "unlocated_accounts": unlocated,
        "note": ". ".join(parts) + "." if parts else "",
    }


def _coverage_totals(by_status: pd.DataFrame, threshold: float) -> dict[str, Any]:
    by_status = (
        pd.DataFrame({"status": list(STATUSES)})
        .merge(by_status, on="status", how="left")
        .fillna({"accounts": 0, "potential": 0.0, "high_accounts": 0, "high_potential": 0.0})
    )
    by_status["label"] = by_status["status"].map(STATUSES)
    total = float(by_status["potential"].sum())
    covered = float(by_status.loc[by_status["status"] == STATUS_CODES.covered, "potential"].sum())
    unc = by_status[by_status["status"] != STATUS_CODES.covered]
    return {
        "potential": total,
        "covered_potential": covered,
        "share": covered / total if total > 0 else float("nan"),
        "accounts": int(by_status["accounts"].sum()),
        "high_potential_threshold": threshold,
        "white_space_accounts": int(unc["high_accounts"].sum()),
        "white_space_potential": float(unc["high_potential"].sum()),
        "by_status": by_status[["status", "label", "accounts", "potential", "high_accounts", "high_potential"]],
    }


def coverage_map(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    filters: Filters = EVERY_ACCOUNT,
    resolution: int = 4,
    max_points: int = 20_000,
    workload: Workload | None = None,
    high_potential_share: float = HIGH_POTENTIAL_SHARE,
) -> dict[str, Any]:
    """The map's data, aggregated server-side: H3 hexagons over every filtered account, a sample of at
    most `max_points` accounts for the point layer, rep homes and territory outlines.

    hexes: cell, hex (string id), lat/lon (centre), accounts, customers, potential, expected_value,
    covered_potential, white_space_accounts, white_space_potential, unowned, out_of_reach,
    over_capacity, top_rep_id, top_name, top_share, nearest_rep, nearest_rep_km.
    points: account_id, name, industry, city, state, lat, lon, owner_rep_id, owner_name, status,
    potential, expected_value, open_pipeline, dist_km, hours, customer.
    homes: the territory table's active reps with a home location.
    outlines: one GeoJSON Feature per rep around the hexagons where that rep holds the most accounts.
    """
    view = coverage_view(con, scope=scope, filters=filters, resolution=resolution, max_points=max_points,
                         workload=workload, high_potential_share=high_potential_share, white_space_limit=1)  # fmt: skip
    return dict(view["map"])


def account_card(con: duckdb.DuckDBPyConnection, *, scope: Scope, account_id: str) -> dict[str, Any]:
    """One account and its deals, if the caller may see it."""
    acct = q.account_detail(con, scope=scope, account_id=account_id)
    if acct.empty:
        raise NotFound(f"account {account_id!r} is not in the store or not in your territory")
    return {"account": acct.iloc[0].to_dict(), "deals": q.account_deals(con, scope=scope, account_id=account_id)}


def filter_options(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> dict[str, list[str]]:
    """Segments, industries and states to offer as filters (those of the accounts in scope)."""
    return {"segments": list(SEGMENTS), **q.filter_options(con, scope=scope)}
