"""Territory metrics: per-territory totals, how unbalanced they are, coverage and white space.

Shared by the Overview page, the Coverage page and `python -m planner metrics`.

Definitions (every figure on the Coverage page and in the CLI comes from here):
- expected value = propensity x potential, propensity from the active model's scores; without
  scores, the store-wide win rate of deals closed in the last 12 months stands in (and says so).
- workload (hours a year) = touches_per_year x (meeting_hours + travel_share x round trip / travel_kmh),
  the round trip being twice the great-circle distance from the owner's home (`account_workload`).
- coverage = share of potential in accounts owned by an active rep, within reachable_km of that
  rep's home, and within the rep's capacity: a rep works reachable accounts in order of expected
  value per hour until the hours run out; the rest of the book is 'over capacity'.
- white space = high-potential accounts (top share of potential in scope) that are not covered:
  unowned, out of reach of their owner, or beyond their owner's capacity.
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from planner import geo, settings
from planner.errors import BadInput, Forbidden
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
    return territory_metrics(con, scope)


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
    # The landing page needs counts and money only: one aggregate query, not the per-account facts
    # (workload, distance, coverage) that the Coverage page computes. Same figures, a fraction of the cost.
    table = q.territory_totals(con, as_of, scope)
    table["potential_per_quota"] = table["potential"] / table["quota"].where(table["quota"] > 0)
    reps_only = table[table["rep_id"].notna() & table["name"].notna()]
    return {
        "as_of": as_of,
        "kpis": kpis,
        "territories": table,
        "imbalance": {m: imbalance(reps_only[m]).as_dict() for m in METRICS if m in reps_only},
        "freshness": world.freshness(con),
    }


# --- What is measured -----------------------------------------------------------------------------

METRICS: dict[str, str] = {
    "potential": "Potential (USD)",
    "expected_value": "Expected value (USD)",
    "accounts": "Accounts",
    "customers": "Customers",
    "prospects": "Prospects",
    "open_pipeline": "Open pipeline (USD)",
    "won_12m": "Won, 12 months (USD)",
    "quota": "Quota (USD)",
    "potential_per_quota": "Potential / quota",
    "workload_hours": "Workload (hours/year)",
    "utilisation": "Workload / capacity",
    "mean_km": "Mean distance from home (km)",
    "max_km": "Max distance from home (km)",
    "coverage": "Coverage (share of potential)",
}
"""Per-territory metrics, in display order, with their labels (the imbalance table uses the same keys)."""

SEGMENTS: dict[str, tuple[float, float | None]] = {
    "SMB": (0, 100),
    "Mid-market": (100, 1000),
    "Enterprise": (1000, None),
}
"""Size segments by employees: [low, high)."""

STATUSES: dict[str, str] = {
    "covered": "Covered",
    "unowned": "No active owner",
    "out_of_reach": "Out of the owner's reach",
    "over_capacity": "Beyond the owner's capacity",
}


@dataclass(frozen=True)
class Workload:
    """How a yearly workload in hours is estimated from an account's distance to its rep's home."""

    touches_per_year: float
    meeting_hours: float
    travel_kmh: float
    travel_share: float

    def __post_init__(self) -> None:
        if not self.touches_per_year > 0:
            raise BadInput(f"touches_per_year {self.touches_per_year} must be above 0")
        if not self.meeting_hours >= 0:
            raise BadInput(f"meeting_hours {self.meeting_hours} must be 0 or more")
        if not self.travel_kmh > 0:
            raise BadInput(f"travel_kmh {self.travel_kmh} must be above 0")
        if not 0 <= self.travel_share <= 1:
            raise BadInput(f"travel_share {self.travel_share} must be between 0 and 1")

    @classmethod
    def from_settings(cls, **overrides: float | None) -> Workload:
        """The workload settings in force (settings.py / PLANNER_* variables), with overrides."""
        names = ("touches_per_year", "meeting_hours", "travel_kmh", "travel_share")
        unknown = set(overrides) - set(names)
        if unknown:
            raise BadInput(f"unknown workload setting {sorted(unknown)[0]!r}; use one of {', '.join(names)}")
        return cls(**{n: float(settings.get(n, overrides.get(n))) for n in names})


def account_workload(distance_km: Any, workload: Workload | None = None) -> np.ndarray:
    """Yearly hours to work accounts at `distance_km` (scalar or array) from the rep's home.

    hours = touches_per_year x (meeting_hours + travel_share x 2 x distance_km / travel_kmh): every
    touch takes a meeting's time, and the in-person share of touches adds a round trip. A missing
    distance (no coordinates) counts the meeting time only. The same formula runs in SQL for the
    territory metrics; the optimizer calls this one with candidate reps' distances.
    """
    w = workload or Workload.from_settings()
    d = np.nan_to_num(np.asarray(distance_km, dtype=float), nan=0.0)
    if np.any(d < 0):
        raise BadInput("distance_km must not be negative")
    return w.touches_per_year * (w.meeting_hours + w.travel_share * 2.0 * d / w.travel_kmh)


@dataclass(frozen=True)
class CoverageRules:
    """When an account counts as covered, and which accounts are 'high potential'."""

    reachable_km: float
    default_capacity_hours: float
    high_potential_share: float = 0.25  # the top quarter of accounts by potential

    def __post_init__(self) -> None:
        if not self.reachable_km > 0:
            raise BadInput(f"reachable_km {self.reachable_km} must be above 0")
        if not self.default_capacity_hours > 0:
            raise BadInput(f"capacity_hours {self.default_capacity_hours} must be above 0")
        if not 0 < self.high_potential_share <= 1:
            raise BadInput(f"high-potential share {self.high_potential_share} must be in (0, 1], e.g. 0.25")

    @classmethod
    def from_settings(
        cls,
        reachable_km: float | None = None,
        capacity_hours: float | None = None,
        high_potential_share: float = 0.25,
    ) -> CoverageRules:
        return cls(
            float(settings.get("reachable_km", reachable_km)),
            float(settings.get("capacity_hours", capacity_hours)),
            float(high_potential_share),
        )


@dataclass(frozen=True)
class Filters:
    """The Coverage page's filters; empty tuples mean 'all'."""

    segments: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    rep_id: str | None = None

    def __post_init__(self) -> None:
        for s in self.segments:
            if s not in SEGMENTS:
                raise BadInput(f"unknown segment {s!r}; use {', '.join(SEGMENTS)}")

    @property
    def is_set(self) -> bool:
        return bool(self.segments or self.industries or self.states or self.rep_id)

    def without_rep(self) -> Filters:
        return Filters(self.segments, self.industries, self.states, None)

    def predicate(self) -> tuple[str, list[object]]:
        return q.filter_predicate(
            self.industries, self.states, [SEGMENTS[s] for s in self.segments], self.rep_id, alias="a"
        )

    def describe(self) -> str:
        parts = [", ".join(v) for v in (self.segments, self.industries, self.states) if v]
        if self.rep_id:
            parts.append(f"territory {self.rep_id}")
        return " · ".join(parts) or "all accounts"


@dataclass(frozen=True)
class ExpectedValueBasis:
    """Where the propensity behind expected value comes from."""

    source: str  # model | win_rate | none
    model_version: int | None
    scored_accounts: int
    win_rate: float | None
    won_12m: int
    closed_12m: int
    note: str = field(default="")

    @property
    def fallback_propensity(self) -> float | None:
        return self.win_rate


def expected_value_basis(con: duckdb.DuckDBPyConnection, as_of: date | None = None) -> ExpectedValueBasis:
    """The active model's scores when there are any, else the store-wide 12-month win rate."""
    as_of = as_of or as_of_date(con)
    won, closed = q.win_rate_12m(con, as_of)
    rate = won / closed if closed else None
    version, scored = q.active_model(con)
    rate_text = f"{rate:.1%}" if rate is not None else "n/a"
    if version is not None:
        note = (
            f"Expected value = propensity from model v{version} ({scored:,} accounts scored) x potential; "
            f"accounts without a score use the 12-month win rate ({rate_text})."
        )
        return ExpectedValueBasis("model", version, scored, rate, won, closed, note)
    if rate is not None:
        note = (
            f"No model scores yet: expected value = potential x the store-wide win rate of the last 12 months "
            f"({rate_text}, {won:,} won of {closed:,} closed). Train a model for account-level propensities."
        )
        return ExpectedValueBasis("win_rate", None, 0, rate, won, closed, note)
    note = "No model scores and no deals closed in the last 12 months: expected value is not available."
    return ExpectedValueBasis("none", None, 0, None, won, closed, note)


# --- Per-account facts, aggregated server-side ------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    as_of: date
    basis: ExpectedValueBasis
    workload: Workload
    rules: CoverageRules


def _context(con: duckdb.DuckDBPyConnection, workload: Workload | None, rules: CoverageRules | None) -> _Context:
    as_of = as_of_date(con)
    return _Context(
        as_of,
        expected_value_basis(con, as_of),
        workload or Workload.from_settings(),
        rules or CoverageRules.from_settings(),
    )


def _facts(con: duckdb.DuckDBPyConnection, scope: Scope, filters: Filters, ctx: _Context) -> Any:
    w = ctx.workload
    return q.account_facts(
        con,
        as_of=ctx.as_of,
        scope=scope,
        predicate=filters.predicate(),
        touches_per_year=w.touches_per_year,
        meeting_hours=w.meeting_hours,
        travel_kmh=w.travel_kmh,
        travel_share=w.travel_share,
        reachable_km=ctx.rules.reachable_km,
        default_capacity=ctx.rules.default_capacity_hours,
        fallback_propensity=ctx.basis.fallback_propensity,
        model_version=ctx.basis.model_version,
    )


def _check_rep(scope: Scope, filters: Filters) -> None:
    if filters.rep_id is not None:
        narrow(scope, filters.rep_id)


def _with_ratios(df: pd.DataFrame, books: pd.DataFrame, rules: CoverageRules) -> pd.DataFrame:
    df = df.merge(books, on="rep_id", how="left")
    df["book_hours"] = df["book_hours"].fillna(0.0).where(df["name"].notna())
    capacity = df["capacity_hours"].fillna(rules.default_capacity_hours).where(df["name"].notna())
    df["capacity_hours"] = capacity
    df["potential_per_quota"] = df["potential"] / df["quota"].where(df["quota"] > 0)
    df["utilisation"] = df["book_hours"] / capacity.where(capacity > 0)
    df["coverage"] = df["covered_potential"] / df["potential"].where(df["potential"] > 0)
    for col in ("expected_value", "mean_km", "max_km"):
        df[col] = df[col].astype(float)
    return df


def territory_metrics(
    con: duckdb.DuckDBPyConnection,
    scope: Scope = EVERYONE,
    filters: Filters = Filters(),
    workload: Workload | None = None,
    rules: CoverageRules | None = None,
) -> pd.DataFrame:
    """One row per active rep in scope (and one per set of accounts without an active owner).

    Columns: rep_id, name, email, quota, home_city, home_state, home_lat, home_lon, capacity_hours,
    accounts, customers, prospects, potential, expected_value, open_pipeline, open_deals, won_12m,
    workload_hours (of the filtered accounts), book_hours (the whole book, filters aside),
    utilisation (book_hours / capacity), mean_km, max_km, covered_potential, coverage,
    out_of_reach, over_capacity, unlocated, potential_per_quota.
    """
    _check_rep(scope, filters)
    ctx = _context(con, workload, rules)
    with _facts(con, scope, filters, ctx) as facts:
        df = q.facts_by_territory(con, facts, scope)
    return _with_ratios(df, _book_hours(con, scope, ctx.workload), ctx.rules)


def _book_hours(con: duckdb.DuckDBPyConnection, scope: Scope, w: Workload) -> pd.DataFrame:
    return q.book_hours(
        con,
        scope,
        touches_per_year=w.touches_per_year,
        meeting_hours=w.meeting_hours,
        travel_kmh=w.travel_kmh,
        travel_share=w.travel_share,
    )


def reps_only(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a territory table that are active reps (not unowned accounts)."""
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


def lorenz(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve points (share of territories, share of the total), both from 0 to 1."""
    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    if len(x) == 0 or x.sum() <= 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    cum = np.concatenate([[0.0], np.cumsum(x)]) / x.sum()
    return np.linspace(0.0, 1.0, len(x) + 1), cum


def coverage_report(
    con: duckdb.DuckDBPyConnection,
    scope: Scope = EVERYONE,
    filters: Filters = Filters(),
    workload: Workload | None = None,
    rules: CoverageRules | None = None,
    white_space_limit: int = 500,
) -> dict[str, Any]:
    """Everything the Coverage page and `metrics` print besides the map.

    The territory table compares every territory under the segment/industry/state filters (the
    rep filter only highlights); coverage and white space follow all filters, the rep included.
    Keys: as_of, filters, basis, workload, rules, territories, imbalance, coverage, white_space.
    """
    return coverage_view(con, scope, filters, workload=workload, rules=rules,
                         white_space_limit=white_space_limit, resolution=None)  # fmt: skip


def coverage_view(
    con: duckdb.DuckDBPyConnection,
    scope: Scope = EVERYONE,
    filters: Filters = Filters(),
    resolution: int | None = 4,
    max_points: int = 20_000,
    workload: Workload | None = None,
    rules: CoverageRules | None = None,
    white_space_limit: int = 500,
) -> dict[str, Any]:
    """The Coverage page in one pass over the accounts: coverage_report's keys plus, unless resolution
    is None, the map's (see coverage_map) under "map"."""
    _check_rep(scope, filters)
    if resolution is not None:
        _check_resolution(resolution)
    if not 1 <= white_space_limit <= 100_000:
        raise BadInput(f"white space limit {white_space_limit} is out of range; use 1 to 100000")
    if not 0 <= max_points <= 200_000:
        raise BadInput(f"max points {max_points} is out of range; use 0 to 200000")
    ctx = _context(con, workload, rules)
    threshold = q.scope_potential_quantile(con, scope, 1.0 - ctx.rules.high_potential_share)
    rep = filters.rep_id
    cells = account_cells(con) if resolution is not None else None
    with _facts(con, scope, filters.without_rep(), ctx) as facts:
        table = q.facts_by_territory(con, facts, scope)
        by_status = q.facts_by_status(con, facts, threshold, rep)
        white = q.facts_white_space(con, facts, threshold, white_space_limit, rep)
        if cells is not None and resolution is not None:
            with q.registered(con, cells) as cell_table:
                hexes = q.facts_hexagons(con, facts, cell_table, resolution, threshold, rep)
            points, located = q.facts_sample(con, facts, max_points, rep)
    table = _with_ratios(table, _book_hours(con, scope, ctx.workload), ctx.rules)
    by_status = (
        pd.DataFrame({"status": list(STATUSES)})
        .merge(by_status, on="status", how="left")
        .fillna({"accounts": 0, "potential": 0.0, "high_accounts": 0, "high_potential": 0.0})
    )
    by_status["label"] = by_status["status"].map(STATUSES)
    total = float(by_status["potential"].sum())
    covered = float(by_status.loc[by_status["status"] == "covered", "potential"].sum())
    unc = by_status[by_status["status"] != "covered"]
    homes = reps_only(table).dropna(subset=["home_lat", "home_lon"]).reset_index(drop=True)
    white = _nearest_rep(white, homes)
    white["status_label"] = white["status"].map(STATUSES)
    out: dict[str, Any] = {
        "as_of": ctx.as_of,
        "filters": filters,
        "basis": ctx.basis,
        "workload": ctx.workload,
        "rules": ctx.rules,
        "territories": table,
        "imbalance": imbalance_table(table),
        "coverage": {
            "potential": total,
            "covered_potential": covered,
            "share": covered / total if total > 0 else float("nan"),
            "accounts": int(by_status["accounts"].sum()),
            "high_potential_threshold": threshold,
            "white_space_accounts": int(unc["high_accounts"].sum()),
            "white_space_potential": float(unc["high_potential"].sum()),
            "by_status": by_status[["status", "label", "accounts", "potential", "high_accounts", "high_potential"]],
        },
        "white_space": white,
    }
    if resolution is not None:
        out["map"] = _map_payload(hexes, points, located, homes, resolution, threshold, ctx.as_of)
    return out


def _nearest_rep(df: pd.DataFrame, homes: pd.DataFrame, lat: str = "lat", lon: str = "lon") -> pd.DataFrame:
    """Add nearest_rep (name) and nearest_rep_km: who could cover each row, and how far they live."""
    out = df.copy()
    if len(out) == 0 or len(homes) == 0:
        out["nearest_rep"] = pd.Series([None] * len(out), dtype=object)
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


# --- Maps ---------------------------------------------------------------------------------------------

_CELLS: OrderedDict[str, pd.DataFrame] = OrderedDict()
_CELLS_LOCK = threading.Lock()
_CELLS_KEEP = 4


def account_cells(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """rid (the account's rowid) and its H3 cell at geo.H3_BASE_RES, computed once per store version.

    Coarser hexagons are derived from these in SQL, so a filter change never recomputes H3.
    """
    key = q.store_version(con)
    with _CELLS_LOCK:
        if key in _CELLS:
            _CELLS.move_to_end(key)
            return _CELLS[key]
    locs = q.account_locations(con)
    lat: np.ndarray = np.ma.filled(np.ma.asarray(locs["lat"], dtype=float), np.nan)
    lon: np.ndarray = np.ma.filled(np.ma.asarray(locs["lon"], dtype=float), np.nan)
    frame = pd.DataFrame(
        {"rid": np.asarray(locs["rid"], dtype=np.int64), "cell": geo.h3_cells(lat, lon, geo.H3_BASE_RES)}
    )
    with _CELLS_LOCK:
        _CELLS[key] = frame
        while len(_CELLS) > _CELLS_KEEP:
            _CELLS.popitem(last=False)
    return frame


def _check_resolution(resolution: int) -> None:
    if resolution not in geo.H3_RESOLUTIONS:
        raise BadInput(f"hexagon resolution {resolution} is not offered; use one of {geo.H3_RESOLUTIONS}")


def coverage_map(
    con: duckdb.DuckDBPyConnection,
    scope: Scope = EVERYONE,
    filters: Filters = Filters(),
    resolution: int = 4,
    max_points: int = 20_000,
    workload: Workload | None = None,
    rules: CoverageRules | None = None,
) -> dict[str, Any]:
    """The map's data, aggregated server-side: H3 hexagons over every filtered account, a sample of at
    most `max_points` accounts for the point layer, rep homes and territory outlines.

    hexes: cell, hex (string id), lat/lon (centre), accounts, customers, potential, expected_value,
    covered_potential, white_space_accounts, white_space_potential, unowned, out_of_reach,
    over_capacity, top_rep_id, top_name, top_share, nearest_rep, nearest_rep_km.
    points: account_id, name, industry, city, state, lat, lon, owner_rep_id, owner_name, status,
    potential, expected_value, open_pipeline, dist_km, hours, customer.
    homes: the territory table's active reps with a home location.
    outlines: one GeoJSON Feature per rep: the convex hull of the hexagons where that rep holds the
    most accounts (the farthest tenth from home left out).
    """
    view = coverage_view(con, scope, filters, resolution, max_points, workload, rules, white_space_limit=1)
    return dict(view["map"])


def _map_payload(
    hexes: pd.DataFrame,
    points: pd.DataFrame,
    located: int,
    homes: pd.DataFrame,
    resolution: int,
    threshold: float,
    as_of: date,
) -> dict[str, Any]:
    names = dict(zip(homes["rep_id"], homes["name"], strict=True))
    hexes = hexes.copy()
    hexes["hex"] = geo.h3_str(hexes["cell"])
    if len(hexes):
        hexes["lat"], hexes["lon"] = geo.h3_centers(hexes["cell"])
    else:
        hexes["lat"], hexes["lon"] = np.array([]), np.array([])
    hexes["top_name"] = hexes["top_rep_id"].map(names)
    hexes["top_share"] = hexes["top_n"] / hexes["accounts"]
    hexes = _nearest_rep(hexes, homes)
    outlines = []
    home_at = homes.set_index("rep_id")[["home_lat", "home_lon"]]
    for rep_id, group in hexes.dropna(subset=["top_rep_id"]).groupby("top_rep_id", sort=True):
        # The hull of the hexagons where the rep holds the most accounts, leaving out the farthest tenth
        # from home (named accounts across the country would otherwise stretch it over everything).
        far = geo.haversine_km(group["lat"], group["lon"], *home_at.loc[rep_id]) if rep_id in home_at.index else None
        core = group if far is None or len(group) < 5 else group[far <= np.percentile(far, 90)]
        ring = geo.convex_hull(core["lat"], core["lon"])
        if ring is not None:
            outlines.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {"rep_id": rep_id, "name": names.get(rep_id, rep_id), "cells": len(group)},
                }
            )
    return {
        "as_of": as_of,
        "resolution": resolution,
        "hex_km2": geo.h3_area_km2(resolution),
        "high_potential_threshold": threshold,
        "hexes": hexes.drop(columns=["top_n"]),
        "points": points,
        "located_accounts": located,
        "homes": homes,
        "outlines": outlines,
    }


def hexagon_detail(
    con: duckdb.DuckDBPyConnection,
    scope: Scope,
    filters: Filters,
    hex_id: str,
    resolution: int,
    limit: int = 25,
    workload: Workload | None = None,
    rules: CoverageRules | None = None,
) -> pd.DataFrame:
    """The largest accounts (under the filters) inside one hexagon of the map."""
    _check_rep(scope, filters)
    _check_resolution(resolution)
    try:
        cell = int(hex_id, 16)
    except (TypeError, ValueError):
        raise BadInput(f"{hex_id!r} is not an H3 cell id") from None
    ctx = _context(con, workload, rules)
    cells = account_cells(con)
    with _facts(con, scope, filters.without_rep(), ctx) as facts, q.registered(con, cells) as cell_table:
        df = q.facts_in_cell(con, facts, cell_table, resolution, cell, limit, filters.rep_id)
    df["status_label"] = df["status"].map(STATUSES)
    return df


def account_card(con: duckdb.DuckDBPyConnection, scope: Scope, account_id: str) -> dict[str, Any]:
    """One account and its deals, if the caller may see it."""
    acct = q.account_detail(con, scope, account_id)
    if acct.empty:
        from planner.errors import NotFound

        raise NotFound(f"account {account_id!r} is not in the store or not in your territory")
    return {"account": acct.iloc[0].to_dict(), "deals": q.account_deals(con, scope, account_id)}


def filter_options(con: duckdb.DuckDBPyConnection, scope: Scope = EVERYONE) -> dict[str, list[str]]:
    """Segments, industries and states to offer as filters."""
    return {"segments": list(SEGMENTS), **q.filter_options(con, scope)}


def safe_text(value: object) -> str:
    """Text for HTML contexts (map tooltips render HTML): escaped, never None."""
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else html.escape(str(value))
