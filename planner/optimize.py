"""Rebalancing: reassign accounts to reps under balance, travel, disruption and capacity budgets.

The assignment is solved as a linear program with HiGHS (a transportation problem with side
constraints): units (single accounts, or whole ZIP3s / counties / states) go to candidate reps (the
current owners, the nearest homes, and for every rep its nearest units), each rep's load on the
balance metric stays within the tolerance band around its target, capacity hours are respected
when the team has them, and an optional budget caps the share of the metric that moves. The
objective is lexicographic in practice: balance first, then disruption (metric and accounts moved),
then travel. A deterministic repair pass turns the LP's fractional units into whole accounts and
fixes any band violations; every result is reported next to the bounds that say what was possible.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import highspy
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from planner import balance, geo, settings
from planner.errors import BadInput

METRICS = ("potential", "expected_value", "accounts", "workload")
UNITS = ("account", "zip3", "county", "state")

# Objective weights (balance >> capacity >> metric moved >> accounts moved >> travel): each term is
# normalised (shares of the total, travel relative to the nearest-rep mean) so the order holds on
# any data set.
_C_BALANCE = 1e4
_C_CAPACITY = 1e3
_C_MOVED = 100.0
_C_COUNT = 5.0
_C_TRAVEL = 1.0
# Without a user budget, the travel pass may move this much more than the least the LP must move.
DEFAULT_MOVE_SLACK = 0.15
# The LP keeps travel this share below today's, so rounding and repair can stay under it.
TRAVEL_MARGIN = 0.005
_SOLVER_OPTIONS: dict[str, Any] = {}
# Candidate widening stops at this many (unit, rep) pairs, to keep a solve within seconds.
MAX_LP_PAIRS = 150_000
# Whole geographic units are assigned by a MIP when there are at most this many (unit, rep) pairs.
MIP_MAX_PAIRS = 5_000
MIP_MAX_NODES = 500

Progress = Callable[[float, str], None]


def _silence_highs_banner() -> str:
    """HiGHS prints a banner on stdout when the first solver of a process is made (before any option
    can turn output off), which would corrupt `balance --json`. Make that first one with stdout
    pointed at /dev/null; returns the HiGHS version."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            version = str(highspy.Highs().version())
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return version


HIGHS_VERSION = _silence_highs_banner()


def _noop(fraction: float, message: str) -> None:
    return None


@dataclass(frozen=True)
class NewRep:
    """A rep to add in a what-if: a name and a home location (capacity defaults to the setting)."""

    name: str
    home_lat: float
    home_lon: float
    capacity_hours: float | None = None
    rep_id: str | None = None


@dataclass(frozen=True)
class Options:
    """What to balance and what may change. Hashable, so results can be cached per option set."""

    metric: str = "potential"
    weights: tuple[tuple[str, float], ...] = ()  # a weighted mix of metrics; overrides `metric`
    tolerance: float = 0.05
    max_moved: float | None = None  # share of the balance metric that may move; None = as little as needed
    unit: str = "account"
    allow_customers: bool = False
    allow_open_deals: bool = False
    locks: tuple[str, ...] = ()
    add_reps: tuple[NewRep, ...] = ()
    remove_reps: tuple[str, ...] = ()
    capacities: tuple[tuple[str, float], ...] = ()
    candidates: int = 8
    aggregate_above: int = 12_000  # movable accounts; above this, the smaller ones are grouped by ZIP3 x owner
    time_limit_s: float = 120.0

    def metric_weights(self) -> dict[str, float]:
        weights = {m: float(w) for m, w in self.weights if float(w) > 0} if self.weights else {self.metric: 1.0}
        for m in weights:
            if m not in METRICS:
                raise BadInput(f"unknown metric {m!r}; use one of {', '.join(METRICS)}")
        if not weights:
            raise BadInput("metric weights are all zero; give at least one metric a positive weight")
        return weights

    def label(self) -> str:
        w = self.metric_weights()
        if len(w) == 1:
            return next(iter(w))
        total = sum(w.values())
        return " + ".join(f"{v / total:.0%} {k}" for k, v in w.items())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Options:
        d = dict(data)
        d["weights"] = tuple((str(k), float(v)) for k, v in d.get("weights") or ())
        d["locks"] = tuple(d.get("locks") or ())
        d["remove_reps"] = tuple(d.get("remove_reps") or ())
        d["capacities"] = tuple((str(k), float(v)) for k, v in d.get("capacities") or ())
        d["add_reps"] = tuple(NewRep(**r) for r in d.get("add_reps") or ())
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def validate(self) -> None:
        self.metric_weights()
        if not 0 <= self.tolerance <= 1:
            raise BadInput(f"tolerance {self.tolerance} is out of range; use a share such as 0.05 (0 to 1)")
        if self.max_moved is not None and not 0 <= self.max_moved <= 1:
            raise BadInput(f"max moved {self.max_moved} is out of range; use a share of the metric from 0 to 1")
        if self.unit not in UNITS:
            raise BadInput(f"unknown unit {self.unit!r}; use one of {', '.join(UNITS)}")
        if self.candidates < 1:
            raise BadInput(f"candidates {self.candidates} is too small; use at least 1")
        for rep in self.add_reps:
            if not str(rep.name).strip():
                raise BadInput("a new rep needs a name")
            if not (-90 <= rep.home_lat <= 90 and -180 <= rep.home_lon <= 180):
                raise BadInput(f"home of new rep {rep.name!r} ({rep.home_lat}, {rep.home_lon}) is not a lat/lon")
        for rep_id, cap in self.capacities:
            if not cap > 0:
                raise BadInput(f"capacity {cap} for {rep_id} must be positive hours per year")


@dataclass
class Result:
    """An assignment and how it measures up: per-account rows, per-rep rows and a summary."""

    assignments: pd.DataFrame  # account_id, name, previous_owner, owner, moved, reason, km_before, km_after, ...
    reps: pd.DataFrame  # rep_id, name, home, capacity, target share, before/after loads, hours, is_new, removed
    summary: dict[str, Any]
    options: Options = field(default_factory=Options)

    def moves(self) -> pd.DataFrame:
        return self.assignments[self.assignments["moved"] | self.assignments["previous_owner"].isna()]


# ---------------------------------------------------------------- geometry helpers


def _bincount(idx: np.ndarray, weights: np.ndarray | None = None, minlength: int = 0) -> np.ndarray:
    """np.bincount that always returns floats (it returns ints for an empty input)."""
    return np.bincount(np.asarray(idx, dtype=np.int64), weights=weights, minlength=minlength).astype(float)


def _count(idx: np.ndarray, minlength: int = 0) -> np.ndarray:
    return np.bincount(np.asarray(idx, dtype=np.int64), minlength=minlength)


def _xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.c_[np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]


def _chord_km(chord: np.ndarray) -> np.ndarray:
    return 2 * geo.EARTH_KM * np.arcsin(np.clip(np.asarray(chord) / 2, 0, 1))


def _nearest(points: np.ndarray, homes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k nearest homes of each point: (km, index), both shaped (n, k)."""
    k = max(1, min(k, len(homes)))
    dist, idx = cKDTree(homes).query(points, k=k)
    return _chord_km(dist).reshape(len(points), k), np.asarray(idx).reshape(len(points), k)


# ---------------------------------------------------------------- the problem


@dataclass
class _Problem:
    acc: pd.DataFrame  # every account, positional
    reps: pd.DataFrame  # the scenario's reps, positional
    today: pd.DataFrame  # today's active reps
    b: np.ndarray  # balance weight per account (shares; sums to 1)
    owner: np.ndarray  # index into reps; -1 unowned, -2 owner not in the scenario
    pinned: np.ndarray
    pin_reason: np.ndarray
    target: np.ndarray  # target share per rep (sums to 1)
    xyz: np.ndarray
    homes: np.ndarray
    hours_fixed: np.ndarray  # in-office hours per account and year (travel excluded)
    hours_per_km: float  # travel hours per km of distance per account and year
    metric_label: str
    ev_source: str


def _workload_params() -> tuple[float, float]:
    touches = float(settings.get("touches_per_year"))
    meeting = float(settings.get("meeting_hours"))
    kmh = float(settings.get("travel_kmh"))
    share = float(settings.get("travel_share"))
    return touches * meeting, touches * share * 2.0 / kmh


def _scenario_reps(reps: pd.DataFrame, opts: Options) -> pd.DataFrame:
    active = reps[reps["active"].fillna(True).astype(bool)].copy() if "active" in reps else reps.copy()
    known = set(active["rep_id"])
    unknown = [r for r in opts.remove_reps if r not in known]
    if unknown:
        raise BadInput(f"cannot remove unknown or inactive rep {unknown[0]!r}; pick an active rep id")
    keep = active[~active["rep_id"].isin(set(opts.remove_reps))].copy()
    keep["is_new"] = False
    default_cap = float(settings.get("capacity_hours"))
    rows = []
    for i, nr in enumerate(opts.add_reps):
        rid = nr.rep_id or f"NEW{i + 1}"
        if rid in known:
            raise BadInput(f"new rep id {rid!r} already exists; leave it empty or pick another")
        rows.append(
            {"rep_id": rid, "name": nr.name.strip(), "email": None, "crm_id": None, "home_lat": float(nr.home_lat),
             "home_lon": float(nr.home_lon), "capacity_hours": nr.capacity_hours or default_cap, "active": True,
             "is_new": True}
        )  # fmt: skip
    if rows:
        keep = pd.concat([keep, pd.DataFrame(rows)], ignore_index=True)
    if keep.empty:
        raise BadInput("no reps left in the scenario; keep or add at least one rep")
    keep = keep.reset_index(drop=True)
    keep["capacity_hours"] = pd.to_numeric(keep["capacity_hours"], errors="coerce").fillna(default_cap)
    keep.loc[keep["capacity_hours"] <= 0, "capacity_hours"] = default_cap
    for rid, cap in opts.capacities:
        if rid not in set(keep["rep_id"]):
            raise BadInput(f"capacity given for {rid!r}, which is not in the scenario; use a scenario rep id")
        keep.loc[keep["rep_id"] == rid, "capacity_hours"] = float(cap)
    if keep["home_lat"].isna().any() or keep["home_lon"].isna().any():
        missing = keep.loc[keep["home_lat"].isna() | keep["home_lon"].isna(), "name"].iloc[0]
        raise BadInput(f"rep {missing!r} has no home location; set home lat/lon (or postal code) on the rep")
    return keep


def _prepare(accounts: pd.DataFrame, reps: pd.DataFrame, opts: Options) -> _Problem:
    opts.validate()
    if accounts.empty:
        raise BadInput("there are no accounts to assign; import accounts or build the demo first")
    acc = accounts.reset_index(drop=True).copy()
    today = reps[reps["active"].fillna(True).astype(bool)].reset_index(drop=True) if "active" in reps else reps
    srep = _scenario_reps(reps, opts)
    # Accounts without coordinates sit at their state's centroid (else the book's): counted, never lost.
    for col in ("lat", "lon"):
        acc[col] = pd.to_numeric(acc[col], errors="coerce")
        by_state = acc.groupby("state")[col].transform("mean") if "state" in acc else np.nan
        acc[col] = acc[col].fillna(by_state).fillna(acc[col].mean()).fillna(39.8 if col == "lat" else -98.6)
    xyz = _xyz(acc["lat"].to_numpy(), acc["lon"].to_numpy())
    homes = _xyz(srep["home_lat"].to_numpy(), srep["home_lon"].to_numpy())
    index = {r: i for i, r in enumerate(srep["rep_id"])}
    owner_ids = acc["owner_rep_id"]
    owner = np.array([-1 if pd.isna(o) else index.get(o, -2) for o in owner_ids], dtype=np.int64)

    fixed_h, per_km = _workload_params()
    near_km, _ = _nearest(xyz, homes, 1)
    values: dict[str, np.ndarray] = {
        "accounts": np.ones(len(acc)),
        "potential": pd.to_numeric(acc["potential"], errors="coerce").fillna(0).clip(lower=0).to_numpy(float),
        "workload": fixed_h + per_km * near_km[:, 0],
    }
    ev_source = "scores"
    ev = pd.to_numeric(acc.get("expected_value"), errors="coerce") if "expected_value" in acc else None
    if ev is None or ev.isna().all() or float(ev.fillna(0).sum()) <= 0:
        ev_source = "potential (no active model scores)"
        values["expected_value"] = values["potential"]
    else:
        values["expected_value"] = ev.fillna(0).clip(lower=0).to_numpy(float)
    weights = opts.metric_weights()
    b = np.zeros(len(acc))
    for m, w in weights.items():
        total = values[m].sum()
        if total <= 0:
            raise BadInput(f"metric {m!r} is zero for every account; pick another metric")
        b += w * values[m] / total
    b /= sum(weights.values())

    locks = set(opts.locks)
    unknown = locks - set(acc["account_id"])
    if unknown:
        raise BadInput(f"cannot lock unknown account {sorted(unknown)[0]!r}; use account ids from the store")
    locked = acc["locked"].fillna(False).astype(bool).to_numpy() | acc["account_id"].isin(locks).to_numpy()
    customer = acc["is_customer"].fillna(False).astype(bool).to_numpy() & (not opts.allow_customers)
    open_deal = acc["has_open_deal"].fillna(False).astype(bool).to_numpy() & (not opts.allow_open_deals)
    stays = owner >= 0
    pinned = stays & (locked | customer | open_deal)
    reason = np.where(locked, "locked", np.where(customer, "customer stays with owner", "open deal stays with owner"))
    cap = srep["capacity_hours"].to_numpy(float)
    return _Problem(
        acc=acc, reps=srep, today=today, b=b, owner=owner, pinned=pinned, pin_reason=np.where(pinned, reason, ""),
        target=cap / cap.sum(), xyz=xyz, homes=homes, hours_fixed=np.full(len(acc), fixed_h), hours_per_km=per_km,
        metric_label=opts.label(), ev_source=ev_source,
    )  # fmt: skip


# ---------------------------------------------------------------- units and candidates


@dataclass
class _Units:
    of_account: np.ndarray  # unit id per movable account (positional over `movable`)
    movable: np.ndarray  # account positions that the optimizer may assign
    weight: np.ndarray  # balance weight per unit
    divisible: bool
    label: np.ndarray  # a readable name per unit


def _units(p: _Problem, opts: Options) -> _Units:
    movable = np.flatnonzero(~p.pinned)
    acc = p.acc.iloc[movable]
    ids = acc["account_id"].astype(str).to_numpy()
    if opts.unit == "account":
        if len(movable) <= opts.aggregate_above:
            keys = ids
        else:
            # Group small accounts by ZIP3 x owner; the LP's fractional units are split back into accounts.
            zip3 = acc["postal_code"].astype("string").str[:3].fillna("")
            cell = np.floor(acc["lat"]).astype(int).astype(str) + ":" + np.floor(acc["lon"]).astype(int).astype(str)
            geo_key = np.where(zip3.str.len().to_numpy() == 3, zip3.to_numpy(dtype=object), cell.to_numpy())
            # The largest accounts (they carry most of the metric) stay single, so the LP can still pick
            # exactly which ones move; the long tail moves in ZIP3 x owner groups.
            order = np.lexsort((np.arange(len(movable)), -p.b[movable]))
            big = np.zeros(len(movable), dtype=bool)
            big[order[: opts.aggregate_above // 2]] = True
            keys = np.where(big, ids, geo_key.astype(str) + "|" + p.owner[movable].astype(str))
        divisible = True
    else:
        if opts.unit == "zip3":
            raw = acc["postal_code"].astype("string").str[:3]
            raw = raw.where(raw.str.len() == 3)
        elif opts.unit == "county":
            raw = (acc["state"].astype("string") + " · " + acc["county"].astype("string")).where(acc["county"].notna())
        else:
            raw = acc["state"].astype("string")
        keys = np.where(raw.isna().to_numpy(), ids, raw.fillna("").to_numpy(dtype=object).astype(str))
        divisible = False
    codes, uniq = pd.factorize(pd.Series(keys, dtype=object), sort=True)
    weight = _bincount(codes, weights=p.b[movable], minlength=len(uniq))
    label = np.array([str(u).split("|")[0] for u in uniq], dtype=object)
    return _Units(codes.astype(np.int64), movable, weight, divisible, label)


def _candidates(
    p: _Problem, u: _Units, k: int, unit_k: np.ndarray, rep_reach: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(unit, rep) pairs the LP may use: owners, the k nearest homes (unit_k for widened units), and
    for every rep its nearest units, enough to fill its target 2.5 x rep_reach times over."""
    n_units, n_reps = len(u.weight), len(p.reps)
    cen = np.zeros((n_units, 3))
    np.add.at(cen, u.of_account, p.xyz[u.movable])
    cen /= np.maximum(np.linalg.norm(cen, axis=1, keepdims=True), 1e-12)
    _, near = _nearest(cen, p.homes, k)
    pu = [np.repeat(np.arange(n_units), near.shape[1])]
    pr = [near.ravel()]
    for kk in np.unique(unit_k[unit_k > k]):
        sel = np.flatnonzero(unit_k == kk)
        _, wide = _nearest(cen[sel], p.homes, int(kk))
        pu.append(np.repeat(sel, wide.shape[1]))
        pr.append(wide.ravel())
    own = p.owner[u.movable]
    has = own >= 0
    pu.append(u.of_account[has])
    pr.append(own[has])
    tree = cKDTree(cen)
    for reach in np.unique(rep_reach):
        reps = np.flatnonzero(rep_reach == reach)
        m = min(n_units, int(math.ceil(3.0 * reach * n_units / n_reps)) + 8)
        _, rnear = tree.query(p.homes[reps], k=m)
        rnear = np.asarray(rnear).reshape(len(reps), m)
        for row, r in enumerate(reps):
            cum = np.cumsum(u.weight[rnear[row]])
            stop = int(np.searchsorted(cum, 2.5 * reach * p.target[r])) + 1
            pu.append(rnear[row, : max(stop, min(m, 5))])
            pr.append(np.full(len(pu[-1]), r))
    code = np.unique(np.concatenate(pu).astype(np.int64) * n_reps + np.concatenate(pr).astype(np.int64))
    return code // n_reps, code % n_reps


# ---------------------------------------------------------------- the LP


@dataclass
class _LP:
    h: highspy.Highs
    pair_u: np.ndarray
    pair_r: np.ndarray
    travel: np.ndarray  # km summed over the pair's accounts
    moved: np.ndarray  # balance share that moves if the pair is chosen
    count: np.ndarray  # accounts that move
    hours: np.ndarray
    n_pairs: int
    z_col: int
    cap_cols: np.ndarray
    moved_row: int
    travel_row: int
    cap_enforced: bool
    costs: np.ndarray
    status: str = ""
    seconds: float = 0.0
    mip_x: np.ndarray | None = None


def _pair_coefficients(p: _Problem, u: _Units, pair_u: np.ndarray, pair_r: np.ndarray) -> dict[str, np.ndarray]:
    order = np.argsort(u.of_account, kind="stable")
    sizes = np.bincount(u.of_account, minlength=len(u.weight))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    plen = sizes[pair_u]
    pid = np.repeat(np.arange(len(pair_u)), plen)
    offs = np.arange(plen.sum()) - np.repeat(np.cumsum(plen) - plen, plen)
    pos = u.movable[order[starts[pair_u][pid] + offs]]
    rep = pair_r[pid]
    km = _chord_km(np.linalg.norm(p.xyz[pos] - p.homes[rep], axis=1))
    own = p.owner[pos]
    moves = (own >= 0) & (own != rep)
    n = len(pair_u)
    return {
        "travel": _bincount(pid, weights=km, minlength=n),
        "moved": _bincount(pid, weights=p.b[pos] * moves, minlength=n),
        "count": _bincount(pid, weights=moves.astype(float), minlength=n),
        "hours": _bincount(pid, weights=p.hours_fixed[pos] + p.hours_per_km * km, minlength=n),
    }


def _solve_lp(
    p: _Problem, u: _Units, opts: Options, scale: dict[str, float], unit_k: np.ndarray, rep_reach: np.ndarray
) -> _LP:
    pair_u, pair_r = _candidates(p, u, opts.candidates, unit_k, rep_reach)
    co = _pair_coefficients(p, u, pair_u, pair_r)
    n_pairs, n_units, n_reps = len(pair_u), len(u.weight), len(p.reps)
    tol = opts.tolerance
    fixed_load = _bincount(p.owner[p.pinned], weights=p.b[p.pinned], minlength=n_reps)
    pin_pos = np.flatnonzero(p.pinned)
    pin_km = _chord_km(np.linalg.norm(p.xyz[pin_pos] - p.homes[p.owner[pin_pos]], axis=1))
    fixed_hours = _bincount(
        p.owner[pin_pos], weights=p.hours_fixed[pin_pos] + p.hours_per_km * pin_km, minlength=n_reps
    )
    cap = p.reps["capacity_hours"].to_numpy(float)
    # Capacity binds only when the team could in principle cover the book; otherwise it is reported.
    cap_enforced = bool(cap.sum() >= scale["hours_min"])
    n_cap = n_reps if cap_enforced else 0
    z_col = n_pairs
    cap_cols = np.arange(n_pairs + 1, n_pairs + 1 + n_cap)
    n_cols = n_pairs + 1 + n_cap

    r_unit = pair_u
    r_up = n_units + pair_r
    r_lo = n_units + n_reps + pair_r
    rows = [r_unit, r_up, r_lo]
    cols = [np.arange(n_pairs)] * 3
    vals = [np.ones(n_pairs), u.weight[pair_u], u.weight[pair_u]]
    rows += [n_units + np.arange(n_reps), n_units + n_reps + np.arange(n_reps)]
    cols += [np.full(n_reps, z_col), np.full(n_reps, z_col)]
    vals += [-p.target, p.target]
    base = n_units + 2 * n_reps
    if cap_enforced:
        hscale = scale["hours_min"] / n_reps
        rows += [base + pair_r, base + np.arange(n_reps)]
        cols += [np.arange(n_pairs), cap_cols]
        vals += [co["hours"] / hscale, -np.ones(n_reps)]
    moved_row = base + n_cap
    rows.append(np.full(n_pairs, moved_row))
    cols.append(np.arange(n_pairs))
    vals.append(co["moved"])
    # Travel row (km in units of n x scale km), unbounded until a pass caps travel at today's.
    travel_row = moved_row + 1
    rows.append(np.full(n_pairs, travel_row))
    cols.append(np.arange(n_pairs))
    vals.append(co["travel"] / (scale["n"] * scale["km"]))
    n_rows = travel_row + 1
    a = sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, n_cols))
    a.sum_duplicates()
    a.sort_indices()

    upper = p.target * (1 + tol) - fixed_load
    lower = p.target * (1 - tol) - fixed_load
    row_lo = np.concatenate([np.ones(n_units), np.full(n_reps, -highspy.kHighsInf), lower])
    row_hi = np.concatenate([np.ones(n_units), upper, np.full(n_reps, highspy.kHighsInf)])
    if cap_enforced:
        row_lo = np.concatenate([row_lo, np.full(n_reps, -highspy.kHighsInf)])
        row_hi = np.concatenate([row_hi, (cap - fixed_hours) / hscale])
    budget = highspy.kHighsInf if opts.max_moved is None else max(0.0, opts.max_moved - scale["forced_moved"])
    row_lo = np.concatenate([row_lo, [-highspy.kHighsInf, -highspy.kHighsInf]])
    row_hi = np.concatenate([row_hi, [budget, highspy.kHighsInf]])

    costs = (
        _C_MOVED * co["moved"]
        + _C_COUNT * co["count"] / scale["n"]
        + _C_TRAVEL * co["travel"] / (scale["n"] * scale["km"])
    )
    col_cost = np.concatenate([costs, [_C_BALANCE], np.full(n_cap, _C_CAPACITY / n_reps)])
    col_lo = np.zeros(n_cols)
    col_hi = np.concatenate([np.ones(n_pairs), [highspy.kHighsInf], np.full(n_cap, highspy.kHighsInf)])

    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = col_cost
    lp.col_lower_ = col_lo
    lp.col_upper_ = col_hi
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    h.setOptionValue("parallel", "off")
    h.setOptionValue("time_limit", float(opts.time_limit_s))
    for key, value in _SOLVER_OPTIONS.items():
        h.setOptionValue(key, value)
    h.passModel(lp)
    out = _LP(
        h=h, pair_u=pair_u, pair_r=pair_r, travel=co["travel"], moved=co["moved"], count=co["count"],
        hours=co["hours"], n_pairs=n_pairs, z_col=z_col, cap_cols=cap_cols, moved_row=moved_row,
        travel_row=travel_row, cap_enforced=cap_enforced, costs=costs,
    )  # fmt: skip
    start = time.perf_counter()
    h.run()
    out.seconds = time.perf_counter() - start
    out.status = h.modelStatusToString(h.getModelStatus())
    return out


def _resolve(
    lp: _LP,
    base: np.ndarray,
    objective: str,
    z_ub: float,
    moved_ub: float,
    scale: dict[str, float],
    travel_ub: float = math.inf,
) -> float:
    """Re-solve the LP (warm-started) with balance no worse than z_ub, capacity use no worse than in
    `base` (the first pass's solution), at most moved_ub of the metric moved and at most travel_ub km
    of travel on the movable accounts. objective: "travel" (least travel, a small price on moves as a
    tie-break), "travel_only" (the LP bound) or "moved" (least disruption, as in the first pass)."""
    h = lp.h
    cap_ub = base[lp.cap_cols] if len(lp.cap_cols) else np.zeros(0)
    n_cols = lp.n_pairs + 1 + len(lp.cap_cols)
    cost = np.zeros(n_cols)
    disruption = _C_MOVED * lp.moved + _C_COUNT * lp.count / scale["n"]
    if objective == "moved":
        cost[: lp.n_pairs] = disruption
    else:
        cost[: lp.n_pairs] = _C_TRAVEL * lp.travel / (scale["n"] * scale["km"])
        if objective == "travel":
            cost[: lp.n_pairs] += 0.001 * disruption
    h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)
    h.changeColBounds(lp.z_col, 0.0, max(z_ub, float(base[lp.z_col])) + 1e-9)
    for c, v in zip(lp.cap_cols, cap_ub, strict=True):
        h.changeColBounds(int(c), 0.0, float(v) + 1e-9)
    h.changeRowBounds(lp.moved_row, -highspy.kHighsInf, moved_ub + 1e-9)
    t_ub = highspy.kHighsInf if not math.isfinite(travel_ub) else travel_ub / (scale["n"] * scale["km"])
    h.changeRowBounds(lp.travel_row, -highspy.kHighsInf, t_ub)
    start = time.perf_counter()
    h.run()
    return time.perf_counter() - start


def _optimal(lp: _LP) -> bool:
    return lp.h.getModelStatus() == highspy.HighsModelStatus.kOptimal


@dataclass
class _TravelPass:
    budget: float  # moved share (LP units) the travel pass may use
    cap: float  # 1.45 x the least share that must move (less forced moves)
    km_limit: float | None  # today's total km over all accounts (None when nobody owns anything today)
    travel_cap: float  # the km cap on the movable accounts the LP met (inf when none)
    reachable: bool  # today's travel fits at this balance (or there is nothing to keep)
    best_km: float = float("nan")  # the LP's least km on the movable accounts in the band, when not reachable
    needs_moved: float = float("nan")  # the moved share keeping today's travel needs, when above the default
    seconds: float = 0.0


def _travel_passes(p: _Problem, u: _Units, opts: Options, scale: dict[str, float], lp: _LP) -> _TravelPass:
    """After the first pass (balance, then disruption): least travel with balance as good, within the
    moved budget (the user's, else a little above the least the LP had to move) and at or below today's
    travel. Without a user budget, keeping today's travel may move more: the least disruption that
    does it is found first. Leaves the LP solved with the chosen solution."""
    sol = np.asarray(lp.h.getSolution().col_value)
    min_lp_moved = float(sol[: lp.n_pairs] @ lp.moved)
    lp_z = float(sol[lp.z_col])
    cap = 1.45 * _min_moved(p, opts.tolerance) - scale["forced_moved"]
    budget = max(min_lp_moved, min(min_lp_moved * (1 + DEFAULT_MOVE_SLACK), cap)) + 1e-9
    if opts.max_moved is not None:
        budget = max(min_lp_moved, opts.max_moved - scale["forced_moved"])
    seconds = _resolve(lp, sol, "travel", lp_z, budget, scale)
    if not _optimal(lp):
        raise BadInput(f"the solver could not finish this scenario ({lp.status}); loosen the tolerance or the budget")
    # The cap on the movable accounts' km is today's total less what the accounts that stay put
    # travel, with a little room for rounding.
    pin_pos = np.flatnonzero(p.pinned)
    pinned_total = float(_chord_km(np.linalg.norm(p.xyz[pin_pos] - p.homes[p.owner[pin_pos]], axis=1)).sum())
    km_today = _today_km(p)
    km_limit = float(np.nanmean(km_today)) * scale["n"] if np.isfinite(km_today).any() else None
    out = _TravelPass(budget=budget, cap=cap, km_limit=km_limit, travel_cap=math.inf, reachable=True)
    lp_travel = float(np.asarray(lp.h.getSolution().col_value)[: lp.n_pairs] @ lp.travel)
    if km_limit is None or lp_travel + pinned_total <= km_limit * (1 - TRAVEL_MARGIN):
        out.seconds = seconds
        return out
    # The least travel any balanced assignment reaches (any share moved) says whether today's fits.
    seconds += _resolve(lp, sol, "travel_only", lp_z, math.inf if opts.max_moved is None else budget, scale)
    best = float(np.asarray(lp.h.getSolution().col_value)[: lp.n_pairs] @ lp.travel) if _optimal(lp) else math.inf
    margin_cap = km_limit * (1 - TRAVEL_MARGIN) - pinned_total
    if best <= margin_cap:
        out.travel_cap = margin_cap
    elif best <= km_limit - pinned_total:
        out.travel_cap = km_limit - pinned_total
    else:
        out.reachable = False
        if opts.max_moved is None:  # within a user's budget the bound says less: the reason names the budget
            out.best_km = best + pinned_total
    if opts.max_moved is None:
        if out.reachable:
            # The least disruption that keeps travel under the cap at the same balance ...
            seconds += _resolve(lp, sol, "moved", lp_z, math.inf, scale, out.travel_cap)
            if _optimal(lp):
                need = float(np.asarray(lp.h.getSolution().col_value)[: lp.n_pairs] @ lp.moved)
                # ... then the least travel with that much (or the default budget) moved.
                if need > budget:
                    out.needs_moved = need + scale["forced_moved"]
                budget = max(budget, need * (1 + 1e-4)) + 1e-9
            else:
                out.travel_cap = math.inf
        else:
            # No balanced assignment keeps today's travel: get as close as the moved target allows.
            budget = max(budget, cap)
    seconds += _resolve(lp, sol, "travel", lp_z, budget, scale, out.travel_cap)
    if not _optimal(lp):
        out.travel_cap = math.inf
        seconds += _resolve(lp, sol, "travel", lp_z, budget, scale)
    out.budget = budget
    out.seconds = seconds
    return out


# ---------------------------------------------------------------- rounding and repair


def _integral_units(
    lp: _LP, opts: Options, scale: dict[str, float], n_reps: int, moved_ub: float, travel_ub: float = math.inf
) -> float:
    """Whole geographic units: solve the assignment as a MIP (balance >> moves >> travel) within the
    moved budget and, when it can, the travel cap, with a node limit so the result is deterministic;
    the repair pass still follows. Leaves the LP continuous."""
    h = lp.h
    n = lp.n_pairs
    idx = np.arange(n, dtype=np.int32)
    n_cols = n + 1 + len(lp.cap_cols)
    cost = np.concatenate([lp.costs, [_C_BALANCE], np.full(len(lp.cap_cols), _C_CAPACITY / n_reps)])
    h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)
    h.changeColBounds(lp.z_col, 0.0, highspy.kHighsInf)
    for c in lp.cap_cols:
        h.changeColBounds(int(c), 0.0, highspy.kHighsInf)
    h.changeRowBounds(lp.moved_row, -highspy.kHighsInf, moved_ub + 1e-9)
    h.changeColsIntegrality(n, idx, np.full(n, int(highspy.HighsVarType.kInteger), dtype=np.uint8))
    h.setOptionValue("mip_max_nodes", MIP_MAX_NODES)
    h.setOptionValue("mip_rel_gap", 1e-6)
    start = time.perf_counter()
    lp.mip_x = None
    # With the travel cap first; whole units may not fit under it, then without.
    for cap in (travel_ub, math.inf) if math.isfinite(travel_ub) else (math.inf,):
        t_ub = highspy.kHighsInf if not math.isfinite(cap) else cap / (scale["n"] * scale["km"])
        h.changeRowBounds(lp.travel_row, -highspy.kHighsInf, t_ub)
        h.run()
        if h.getInfo().primal_solution_status == 2:
            lp.mip_x = np.asarray(h.getSolution().col_value)[:n].copy()
            break
    h.changeColsIntegrality(n, idx, np.full(n, int(highspy.HighsVarType.kContinuous), dtype=np.uint8))
    return time.perf_counter() - start


def _round(p: _Problem, u: _Units, lp: _LP) -> np.ndarray:
    """Whole-account assignment from the LP: fractional divisible units are split by their accounts."""
    x = lp.mip_x if lp.mip_x is not None else np.asarray(lp.h.getSolution().col_value)[: lp.n_pairs]
    assign = p.owner.copy()
    best = pd.DataFrame({"u": lp.pair_u, "r": lp.pair_r, "x": x}).sort_values(
        ["u", "x", "r"], ascending=[True, False, True]
    )
    top = best.drop_duplicates("u")
    unit_rep = np.full(len(u.weight), -1, dtype=np.int64)
    unit_rep[top["u"].to_numpy()] = top["r"].to_numpy()
    assign[u.movable] = unit_rep[u.of_account]
    if not u.divisible:
        return assign
    frac = best[(best["x"] > 1e-6) & (best["x"] < 1 - 1e-6)]
    if frac.empty:
        return assign
    by_unit = np.argsort(u.of_account, kind="stable")
    sizes = np.bincount(u.of_account, minlength=len(u.weight))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for unit, grp in frac.groupby("u", sort=True):
        reps = grp["r"].to_numpy()
        room = grp["x"].to_numpy() * u.weight[unit]
        members = u.movable[by_unit[starts[unit] : starts[unit] + sizes[unit]]]
        members = members[np.lexsort((members, -p.b[members]))]
        for a in members:
            own = np.flatnonzero(reps == p.owner[a])
            j = int(own[0]) if len(own) and room[own[0]] >= p.b[a] / 2 else int(np.argmax(room))
            assign[a] = reps[j]
            room[j] -= p.b[a]
    return assign


def _band_penalty(load: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.maximum(load - hi, 0) + np.maximum(lo - load, 0)


def _repair(
    p: _Problem,
    u: _Units,
    lp: _LP,
    assign: np.ndarray,
    tol: float,
    scale: dict[str, float],
    budget: float | None = None,
    km_limit: float | None = None,
    travel_moved_cap: float | None = None,
    max_iter: int = 50_000,
) -> np.ndarray:
    """Move single items (accounts, or whole units) between candidate reps until every rep is in its
    band or no move helps; then send needless moves back to their owners, and while total travel is
    above km_limit (today's), make in-band moves that cut travel. Deterministic.

    budget caps the moved share of the metric (besides forced moves); km_limit caps the total km over
    all accounts; travel_moved_cap caps the moved share the travel moves may reach (else budget).
    Send-backs never push travel above km_limit.
    """
    n_reps = len(p.reps)
    if u.divisible:
        items, item_unit = u.movable, u.of_account
    else:
        items = np.arange(len(u.weight))
        item_unit = items
    # Item x candidate-rep table in CSR form: positions start[i] .. start[i+1] belong to item i.
    order = np.lexsort((lp.pair_r, lp.pair_u))
    cu_r = lp.pair_r[order]
    sizes = np.bincount(lp.pair_u, minlength=len(u.weight))
    ustart = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    plen = sizes[item_unit]
    it = np.repeat(np.arange(len(items)), plen)
    start = np.concatenate([[0], np.cumsum(plen)])
    offs = np.arange(plen.sum()) - np.repeat(start[:-1], plen)
    c_rep = cu_r[ustart[item_unit][it] + offs]
    if u.divisible:
        w = p.b[items]
        own = p.owner[items]
        moves = (own[it] >= 0) & (own[it] != c_rep)
        c_km = _chord_km(np.linalg.norm(p.xyz[items][it] - p.homes[c_rep], axis=1))
        c_moved = w[it] * moves
        c_cost = _C_MOVED * c_moved + _C_COUNT * moves / scale["n"] + _C_TRAVEL * c_km / (scale["n"] * scale["km"])
        cur = assign[items].copy()
    else:
        w = u.weight
        sel = ustart[item_unit][it] + offs
        c_cost = lp.costs[order][sel]
        c_moved = lp.moved[order][sel]
        c_km = lp.travel[order][sel]
        first = np.zeros(len(items), dtype=np.int64)
        first[u.of_account] = np.arange(len(u.of_account))
        cur = assign[u.movable[first]].copy()
    # Cost, moved share and km of each item where it is now (its current rep is always a candidate).
    here = c_rep == cur[it]
    cur_cost = np.zeros(len(items))
    cur_cost[it[here]] = c_cost[here]
    cur_moved = np.zeros(len(items))
    cur_moved[it[here]] = c_moved[here]
    cur_km = np.zeros(len(items))
    cur_km[it[here]] = c_km[here]
    moved_total = float(cur_moved.sum())
    pin_pos = np.flatnonzero(p.pinned)
    km_total = float(_chord_km(np.linalg.norm(p.xyz[pin_pos] - p.homes[p.owner[pin_pos]], axis=1)).sum())
    km_total += float(cur_km.sum())
    by_rep = np.argsort(c_rep, kind="stable")
    rstart = np.concatenate([[0], np.cumsum(np.bincount(c_rep, minlength=n_reps))])
    load = _bincount(p.owner[p.pinned], weights=p.b[p.pinned], minlength=n_reps)
    load += _bincount(cur, weights=w, minlength=n_reps)
    lo, hi = p.target * (1 - tol), p.target * (1 + tol)
    mean_t = float(p.target.mean())
    # Above today's travel, each typical distance added by a balance move costs as much as moving an account.
    km_price = (_C_MOVED / scale["km"]) if km_limit is not None else 0.0
    for _ in range(max_iter):
        pen = _band_penalty(load, lo, hi)
        if pen.max() <= 1e-12:
            break
        r = int(np.argmax(pen / p.target))
        if load[r] > hi[r]:
            mine = np.flatnonzero(cur == r)
            n_c = start[mine + 1] - start[mine]
            pos = np.repeat(start[mine], n_c) + (np.arange(n_c.sum()) - np.repeat(np.cumsum(n_c) - n_c, n_c))
            src = np.full(len(pos), r)
            dst = c_rep[pos]
        else:
            pos = by_rep[rstart[r] : rstart[r + 1]]
            src = cur[it[pos]]
            dst = c_rep[pos]
        ok = src != dst
        pos, src, dst = pos[ok], src[ok], dst[ok]
        if len(pos) == 0:
            break
        ii = it[pos]
        ww = w[ii]
        d_pen = (
            _band_penalty(load[src] - ww, lo[src], hi[src]) - _band_penalty(load[src], lo[src], hi[src])
            + _band_penalty(load[dst] + ww, lo[dst], hi[dst]) - _band_penalty(load[dst], lo[dst], hi[dst])
        )  # fmt: skip
        d_km = c_km[pos] - cur_km[ii]
        score = 1e3 * d_pen / mean_t + (c_cost[pos] - cur_cost[ii])
        if km_limit is not None:
            score += km_price * np.maximum(km_total + d_km - km_limit, 0.0) / max(len(p.acc), 1)
        score[d_pen > -1e-15] = np.inf
        if budget is not None:
            score[moved_total + c_moved[pos] - cur_moved[ii] > budget + 1e-12] = np.inf
        j = int(np.argmin(score))
        if not np.isfinite(score[j]):
            break
        item, a, b = int(ii[j]), int(src[j]), int(dst[j])
        cur[item] = b
        cur_cost[item] = c_cost[pos[j]]
        moved_total += c_moved[pos[j]] - cur_moved[item]
        cur_moved[item] = c_moved[pos[j]]
        km_total += c_km[pos[j]] - cur_km[item]
        cur_km[item] = c_km[pos[j]]
        load[a] -= w[item]
        load[b] += w[item]

    def in_band_after(src: int, dst: int, weight: float) -> bool:
        return bool(load[src] - weight >= lo[src] - 1e-12 and load[dst] + weight <= hi[dst] + 1e-12)

    def apply(item: int, p_new: int) -> None:
        nonlocal moved_total, km_total
        src, dst = int(cur[item]), int(c_rep[p_new])
        cur[item] = dst
        moved_total += c_moved[p_new] - cur_moved[item]
        cur_moved[item] = c_moved[p_new]
        km_total += c_km[p_new] - cur_km[item]
        cur_km[item] = c_km[p_new]
        cur_cost[item] = c_cost[p_new]
        load[src] -= w[item]
        load[dst] += w[item]

    # Each item's position at its owner (when the owner is a candidate; it always is for owned items).
    own_items = p.owner[items] if u.divisible else np.full(len(items), -1)
    at_owner = np.full(len(items), -1, dtype=np.int64)
    if u.divisible:
        hit = (own_items[it] >= 0) & (c_rep == own_items[it])
        at_owner[it[hit]] = np.flatnonzero(hit)
    # Needless moves go home: an item returns to its owner if both reps stay in band and travel stays
    # within today's; moves that also cut travel go first, then the heaviest.
    back = np.flatnonzero((at_owner >= 0) & (cur != own_items))
    if len(back):
        d_back = c_km[at_owner[back]] - cur_km[back]
        back = back[np.lexsort((back, -w[back], d_back > 0))]
        for i in back:
            pos_i = int(at_owner[i])
            if not in_band_after(int(cur[i]), int(own_items[i]), float(w[i])):
                continue
            if km_limit is not None and c_km[pos_i] - cur_km[i] > 0 and km_total + c_km[pos_i] - cur_km[i] > km_limit:
                continue
            apply(int(i), pos_i)

    # Above today's travel: in-band moves that cut travel, the largest cut first, within the budget.
    if km_limit is not None:
        move_cap = min(x for x in (budget, travel_moved_cap, math.inf) if x is not None)
        for _ in range(50):
            if km_total <= km_limit:
                break
            d_km = c_km - cur_km[it]
            cand = np.flatnonzero(d_km < -1e-9)
            if len(cand) == 0:
                break
            cand = cand[np.lexsort((cand, d_km[cand]))]
            changed = False
            touched = np.zeros(len(items), dtype=bool)
            for q in cand.tolist():
                k = int(it[q])
                if touched[k] or c_rep[q] == cur[k] or c_km[q] >= cur_km[k]:
                    continue
                if not in_band_after(int(cur[k]), int(c_rep[q]), float(w[k])):
                    continue
                if moved_total + c_moved[q] - cur_moved[k] > move_cap + 1e-12:
                    continue
                apply(k, q)
                touched[k] = True
                changed = True
                if km_total <= km_limit:
                    break
            if not changed:
                break

    assign = assign.copy()
    if u.divisible:
        assign[items] = cur
    else:
        assign[u.movable] = cur[u.of_account]
    return assign


# ---------------------------------------------------------------- reporting


def _lower_bound(p: _Problem, u: _Units | None) -> float:
    """max(1, largest indivisible item / target, fixed load / target): no assignment can do better."""
    weights = u.weight if u is not None and not u.divisible else p.b[~p.pinned]
    fixed = _bincount(p.owner[p.pinned], weights=p.b[p.pinned], minlength=len(p.reps)) / p.target
    largest = float(weights.max()) if len(weights) else 0.0
    return max(1.0, largest / float(p.target.max()), float(fixed.max()) if len(fixed) else 0.0)


def _km_to(p: _Problem, assign: np.ndarray) -> np.ndarray:
    out = np.full(len(assign), np.nan)
    ok = assign >= 0
    out[ok] = _chord_km(np.linalg.norm(p.xyz[ok] - p.homes[assign[ok]], axis=1))
    return out


def _today_km(p: _Problem) -> np.ndarray:
    """Distance of each account to today's owner's home (NaN when unowned or the owner is unknown)."""
    homes = p.today.set_index("rep_id")[["home_lat", "home_lon"]]
    owner = p.acc["owner_rep_id"]
    known = owner.isin(homes.index) & homes.reindex(owner)["home_lat"].notna().to_numpy()
    out = np.full(len(p.acc), np.nan)
    if known.any():
        h = homes.reindex(owner[known])
        hx = _xyz(h["home_lat"].to_numpy(), h["home_lon"].to_numpy())
        out[known.to_numpy()] = _chord_km(np.linalg.norm(p.xyz[known.to_numpy()] - hx, axis=1))
    return out


def _min_moved(p: _Problem, tol: float) -> float:
    """The least share of the metric that has to move: each territory's excess over its band (or the
    deficits below it, less what unassigned accounts can fill), plus the book of removed reps."""
    n = len(p.reps)
    owned = p.owner >= 0
    load = _bincount(p.owner[owned], weights=p.b[owned], minlength=n)
    forced = float(p.b[p.owner == -2].sum())
    unowned = float(p.b[p.owner == -1].sum())
    excess = float(np.maximum(load - p.target * (1 + tol), 0).sum())
    deficit = float(np.maximum(p.target * (1 - tol) - load, 0).sum())
    return forced + max(excess, deficit - unowned - forced, 0.0)


def _reasons(
    p: _Problem, u: _Units, opts: Options, lower_bound: float, achieved: float, min_moved: float, forced: float
) -> list[str]:
    tol = opts.tolerance
    out: list[str] = []
    if achieved <= 1 + tol + 1e-9:
        return out
    tmax = float(p.target.max())
    if u.divisible:
        weights, labels = p.b[u.movable], p.acc["account_id"].to_numpy()[u.movable]
    else:
        weights, labels = u.weight, u.label
    big = int(np.argmax(weights)) if len(weights) else -1
    if big >= 0 and weights[big] > tmax * (1 + tol):
        what = "account" if opts.unit == "account" else opts.unit
        out.append(
            f"{what} {labels[big]} alone carries {weights[big] / tmax:.2f}x a territory's target, more than the "
            f"+{tol:.0%} band allows"
        )
    fixed = _bincount(p.owner[p.pinned], weights=p.b[p.pinned], minlength=len(p.reps)) / p.target
    worst = int(np.argmax(fixed)) if len(fixed) else -1
    if worst >= 0 and fixed[worst] > 1 + tol:
        out.append(
            f"{p.reps['name'].iloc[worst]}'s accounts that must stay (locked, customers, open deals) already carry "
            f"{fixed[worst]:.2f}x the target; allow moving customers or open deals, or unlock accounts"
        )
    if opts.max_moved is not None and opts.max_moved + 1e-12 < min_moved:
        out.append(f"the moved budget {opts.max_moved:.1%} is below the {min_moved:.1%} of the metric that had to move")
    if not out and opts.unit != "account":
        out.append(f"whole {opts.unit} units are too coarse to split the book evenly; try a finer unit")
    if not out:
        out.append(
            "with each account limited to its nearest candidate reps (for speed), the LP could not fill every "
            "territory within the band: the book is concentrated far from some homes"
        )
    out.append(f"reached max/mean {achieved:.3f}; no assignment can do better than the lower bound {lower_bound:.3f}")
    del forced
    return out


def _travel_reasons(s: dict[str, Any], opts: Options) -> list[str]:
    """Why mean travel ends above today's (the optimizer keeps it at or below today's when it can)."""
    today, after = s["travel_km_today"], s["travel_km_after"]
    out: list[str] = []
    need = s.get("travel_needs_moved_share", float("nan"))
    if isinstance(need, float) and math.isfinite(need) and s["min_moved_share"] > 0:
        ratio = s["moved_share"] / s["min_moved_share"]
        if ratio > 1.5:
            out.append(
                f"keeping mean travel at or below today's moved {s['moved_share']:.1%} of the metric, "
                f"{ratio:.2f}x the {s['min_moved_share']:.1%} that had to move; set a moved budget to move less "
                "and accept more travel"
            )
    if not math.isfinite(today) or after <= today + 1e-9:
        return out
    best = s.get("travel_km_best_in_band", float("nan"))
    if isinstance(best, float) and math.isfinite(best) and best > today:
        over = "" if s.get("travel_bound_all_reps") else ", each account limited to its nearest reps"
        band = (
            f"keeping every territory within ±{opts.tolerance:.0%}"
            if s["tolerance_met"]
            else f"balancing to max/mean {s['max_mean_after']:.3f}"
        )
        out.append(
            f"{band} needs more travel than today's: mean travel "
            f"{after:,.1f} km against {today:,.1f} km today, and no assignment within the band averages below "
            f"{best:,.1f} km (LP bound, any share moved{over}); a wider tolerance keeps travel lower"
        )
    elif opts.max_moved is not None:
        out.append(
            f"within the moved budget of {opts.max_moved:.1%}, mean travel {after:,.1f} km stays above today's "
            f"{today:,.1f} km; allow more to move to bring it down"
        )
    else:
        out.append(
            f"mean travel {after:,.1f} km ends above today's {today:,.1f} km: the candidate reps (nearest homes, "
            "for speed) leave no balanced assignment with less travel"
        )
    return out


def _move_reasons(
    p: _Problem, assign: np.ndarray, km_before: np.ndarray, km_after: np.ndarray, tol: float
) -> np.ndarray:
    n = len(p.reps)
    owned = p.owner >= 0
    load = _bincount(p.owner[owned], weights=p.b[owned], minlength=n) / p.target
    names = p.reps["name"].to_numpy(dtype=object)
    is_new = p.reps["is_new"].to_numpy(dtype=bool)
    out = np.full(len(assign), "", dtype=object)
    for i in np.flatnonzero((assign != p.owner) | (p.owner < 0)):
        to = assign[i]
        if p.owner[i] == -1:
            out[i] = f"unassigned: to {names[to]} ({km_after[i]:.0f} km)"
        elif p.owner[i] == -2:
            out[i] = f"owner leaves the team: to {names[to]} ({km_after[i]:.0f} km)"
        elif load[p.owner[i]] > 1 + tol:
            out[i] = f"balance: {names[p.owner[i]]} holds {load[p.owner[i]]:.2f}x the target"
        elif is_new[to]:
            out[i] = f"new rep {names[to]} ({km_after[i]:.0f} km away)"
        elif load[to] < 1 - tol:
            out[i] = f"balance: {names[to]} holds {load[to]:.2f}x the target"
        else:
            out[i] = f"travel/balance: {km_before[i]:.0f} km -> {km_after[i]:.0f} km"
    out[p.pinned] = p.pin_reason[p.pinned]
    return out


def _capacity_notes(p: _Problem, s: dict[str, Any], hours_min: float) -> list[str]:
    """Plain words on capacity: whether it binds, why not, and what would make it bind."""
    touches = float(settings.get("touches_per_year"))
    meeting = float(settings.get("meeting_hours"))
    in_person = float(settings.get("travel_share"))
    cap, need, n = s["capacity_hours"], s["workload_hours_after"], s["reps_after"]
    model = f"{touches:g} touches per account a year at {meeting:g} h each, plus travel for {in_person:.0%} in person"
    s["capacity_hours_needed_min"] = hours_min
    if not s["capacity_enforced"]:
        return [
            f"Capacity is not enforced: serving all {s['accounts']:,} accounts needs at least {hours_min:,.0f} hours "
            f"a year ({model}), {hours_min / max(cap, 1e-9):,.1f}x the {cap:,.0f} hours the {n} reps have, so no "
            f"assignment can fit (this one needs {need:,.0f}). Each rep's target is still their share of the team's "
            "capacity, and hours per rep are shown for comparison. Add reps, or lower touches per year or meeting "
            "hours in Settings, for capacity to bind."
        ]
    notes = [
        f"Capacity is enforced: each rep's yearly hours ({model}) stay within their capacity; the book needs "
        f"{need:,.0f} of the team's {cap:,.0f} hours."
    ]
    if s["over_capacity_reps"]:
        notes.append(
            f"{s['over_capacity_reps']} rep(s) end above their capacity once accounts are whole; raise their "
            "capacity or widen the tolerance."
        )
    return notes


def _report(
    p: _Problem, u: _Units | None, opts: Options, assign: np.ndarray, timing: dict[str, float], extra: dict[str, Any]
) -> Result:
    n_reps = len(p.reps)
    tol = opts.tolerance
    km_after = _km_to(p, assign)
    km_today = _today_km(p)
    km_before = _km_to(p, p.owner)
    near_km, _ = _nearest(p.xyz, p.homes, 1)
    owned = p.owner >= 0
    before_load = _bincount(p.owner[owned], weights=p.b[owned], minlength=n_reps)
    after_load = _bincount(assign, weights=p.b, minlength=n_reps)
    pot = pd.to_numeric(p.acc["potential"], errors="coerce").fillna(0).to_numpy(float)
    pot_total = max(pot.sum(), 1e-12)
    moved = ((p.owner >= 0) | (p.owner == -2)) & (assign != p.owner)
    # Today's territories (today's active reps, owned accounts) on the same metric.
    today_idx = p.acc["owner_rep_id"].map({r: i for i, r in enumerate(p.today["rep_id"])})
    t_ok = today_idx.notna().to_numpy()
    today_load = _bincount(today_idx[t_ok].astype(int), weights=p.b[t_ok], minlength=len(p.today))
    after_norm = after_load / p.target
    before_idx = balance.imbalance(today_load).as_dict()
    after_idx = balance.imbalance(after_norm * p.target.mean()).as_dict()
    achieved = float(after_norm.max())
    lower_bound = _lower_bound(p, u)
    min_moved = _min_moved(p, tol)
    forced = float(p.b[p.owner == -2].sum())
    hours = _bincount(assign, weights=p.hours_fixed + p.hours_per_km * np.nan_to_num(km_after), minlength=n_reps)
    hours_before = _bincount(
        p.owner[owned], weights=p.hours_fixed[owned] + p.hours_per_km * km_before[owned], minlength=n_reps
    )
    cap = p.reps["capacity_hours"].to_numpy(float)
    reach = float(settings.get("reachable_km"))
    coverage_after = float(pot[km_after <= reach].sum() / pot_total)
    cov_today = float(pot[np.nan_to_num(km_today, nan=np.inf) <= reach].sum() / pot_total)
    summary: dict[str, Any] = {
        "metric": p.metric_label,
        "expected_value_source": p.ev_source,
        "tolerance": tol,
        "unit": opts.unit,
        "reps_before": int(len(p.today)),
        "reps_after": int(n_reps),
        "accounts": int(len(p.acc)),
        "before": before_idx,
        "after": after_idx,
        "max_mean_before": float(before_idx["max_mean"]),
        "max_mean_after": achieved,
        "lower_bound": float(lower_bound),
        "tolerance_met": bool(achieved <= 1 + tol + 1e-9),
        "within_reach": bool(achieved <= max(1 + tol, lower_bound) + 1e-9),
        "moved_accounts": int(moved.sum()),
        "moved_account_share": float(moved.mean()),
        "moved_share": float(p.b[moved].sum()),
        "moved_potential_share": float(pot[moved].sum() / pot_total),
        "min_moved_share": float(min_moved),
        "forced_moved_share": forced,
        "assigned_unowned": int((p.owner == -1).sum()),
        "pinned_accounts": int(p.pinned.sum()),
        "travel_km_today": float(np.nanmean(km_today)) if np.isfinite(km_today).any() else float("nan"),
        "travel_km_after": float(np.nanmean(km_after)),
        "travel_km_nearest": float(near_km[:, 0].mean()),
        "coverage_today": cov_today,
        "coverage_after": coverage_after,
        "capacity_hours": float(cap.sum()),
        "workload_hours_after": float(hours.sum()),
        "capacity_enforced": bool(extra.get("capacity_enforced", False)),
        "over_capacity_reps": int((hours > cap * (1 + 1e-9)).sum()),
        **{k: v for k, v in extra.items() if k != "capacity_enforced"},
        **{k: round(v, 3) for k, v in timing.items()},
    }
    summary["reasons"] = _reasons(p, u, opts, lower_bound, achieved, min_moved, forced) if u is not None else []
    if u is not None:
        summary["reasons"] += _travel_reasons(summary, opts)
    summary["travel_kept"] = bool(
        not math.isfinite(summary["travel_km_today"]) or summary["travel_km_after"] <= summary["travel_km_today"] + 1e-9
    )
    summary["notes"] = _capacity_notes(p, summary, float((p.hours_fixed + p.hours_per_km * near_km[:, 0]).sum()))
    reps = p.reps[["rep_id", "name", "home_lat", "home_lon", "capacity_hours", "is_new"]].copy()
    reps["target_share"] = p.target
    reps["before"] = before_load
    reps["after"] = after_load
    reps["before_ratio"] = before_load / p.target
    reps["after_ratio"] = after_norm
    reps["potential_before"] = _bincount(p.owner[owned], weights=pot[owned], minlength=n_reps)
    reps["potential_after"] = _bincount(assign, weights=pot, minlength=n_reps)
    reps["accounts_before"] = _count(p.owner[owned], minlength=n_reps)
    reps["accounts_after"] = _count(assign, minlength=n_reps)
    reps["hours_before"] = hours_before
    reps["hours_after"] = hours
    reps["moved_in"] = _count(assign[moved], minlength=n_reps)
    reps["moved_out"] = _count(p.owner[moved & (p.owner >= 0)], minlength=n_reps)
    removed = p.today[~p.today["rep_id"].isin(set(p.reps["rep_id"]))]
    if len(removed):
        gone = removed[["rep_id", "name", "home_lat", "home_lon", "capacity_hours"]].copy()
        gone["is_new"] = False
        gone["removed"] = True
        today_map = dict(zip(p.today["rep_id"], today_load, strict=True))
        gone["before"] = gone["rep_id"].map(today_map)
        gone["potential_before"] = [pot[(p.acc["owner_rep_id"] == r).to_numpy()].sum() for r in gone["rep_id"]]
        gone["accounts_before"] = [int((p.acc["owner_rep_id"] == r).sum()) for r in gone["rep_id"]]
        gone["moved_out"] = gone["accounts_before"]
        reps = pd.concat([reps.assign(removed=False), gone], ignore_index=True)
    else:
        reps["removed"] = False
    rep_ids = p.reps["rep_id"].to_numpy(dtype=object)
    assignments = pd.DataFrame(
        {
            "account_id": p.acc["account_id"].to_numpy(),
            "name": p.acc["name"].to_numpy() if "name" in p.acc else None,
            "city": p.acc["city"].to_numpy() if "city" in p.acc else None,
            "state": p.acc["state"].to_numpy() if "state" in p.acc else None,
            "lat": p.acc["lat"].to_numpy(),
            "lon": p.acc["lon"].to_numpy(),
            "previous_owner": p.acc["owner_rep_id"].to_numpy(dtype=object),
            "owner": rep_ids[assign],
            "moved": moved,
            "pinned": p.pinned,
            "reason": _move_reasons(p, assign, km_today, km_after, tol),
            "weight": p.b,
            "potential": pot,
            "km_before": km_today,
            "km_after": km_after,
        }
    )
    return Result(assignments=assignments, reps=reps, summary=summary, options=opts)


# ---------------------------------------------------------------- entry points


def rebalance(
    accounts: pd.DataFrame, reps: pd.DataFrame, options: Options | None = None, progress: Progress = _noop
) -> Result:
    """Assign every account to a rep under the options; deterministic for the same inputs.

    `accounts` needs account_id, lat, lon, owner_rep_id, potential, locked, is_customer, has_open_deal
    (and optionally name, state, county, postal_code, expected_value); `reps` needs rep_id, name,
    home_lat, home_lon, capacity_hours, active.
    """
    opts = options or Options()
    t0 = time.perf_counter()
    progress(0.05, "Preparing accounts and reps")
    p = _prepare(accounts, reps, opts)
    u = _units(p, opts)
    near_km, _ = _nearest(p.xyz, p.homes, 1)
    fixed_h, per_km = _workload_params()
    scale = {
        "n": float(len(p.acc)),
        "km": max(float(near_km.mean()), 1.0),
        "hours_min": float((fixed_h + per_km * near_km[:, 0]).sum()),
        "forced_moved": float(p.b[p.owner == -2].sum()),
    }
    t_prep = time.perf_counter() - t0
    if len(u.weight) == 0:
        assign = p.owner.copy()
        return _report(p, u, opts, assign, {"solve_seconds": time.perf_counter() - t0}, {"solver": "none"})
    progress(0.2, f"Solving the assignment LP ({len(u.weight):,} units, {len(p.reps)} reps)")
    unit_k = np.full(len(u.weight), opts.candidates)
    widened = "no"
    rep_reach = np.ones(len(p.reps))
    lp = _solve_lp(p, u, opts, scale, unit_k, rep_reach)
    lb = _lower_bound(p, u)
    lp_seconds = lp.seconds
    # Too few candidate reps can make balance look impossible: widen the candidates of the units of
    # over-full reps and the reach of under-full ones, and re-solve while the LP misses a band that
    # the bounds say is reachable.
    for _ in range(3):
        x = np.asarray(lp.h.getSolution().col_value)
        budgeted = opts.max_moved is not None and opts.max_moved < 1.0
        if float(x[lp.z_col]) <= 1e-6 or lb > 1 + opts.tolerance or budgeted:
            break
        if lp.n_pairs > MAX_LP_PAIRS:
            widened = "limited"
            break
        load = _bincount(lp.pair_r, weights=u.weight[lp.pair_u] * x[: lp.n_pairs], minlength=len(p.reps))
        load += _bincount(p.owner[p.pinned], weights=p.b[p.pinned], minlength=len(p.reps))
        over = load > p.target * (1 + opts.tolerance) + 1e-9
        under = load < p.target * (1 - opts.tolerance) - 1e-9
        owners_over = np.zeros(len(u.weight), dtype=bool)
        mov_own = p.owner[u.movable]
        owners_over[u.of_account[(mov_own >= 0) & over[np.maximum(mov_own, 0)]]] = True
        # Units now sitting with an over-full rep need farther options too.
        owners_over[lp.pair_u[(x[: lp.n_pairs] > 1e-6) & over[lp.pair_r]]] = True
        unit_k = np.where(owners_over, np.minimum(unit_k * 2, len(p.reps)), unit_k)
        rep_reach = np.where(under, rep_reach * 2, rep_reach)
        progress(0.3, "Widening the candidate reps and re-solving")
        lp = _solve_lp(p, u, opts, scale, unit_k, rep_reach)
        lp_seconds += lp.seconds
        widened = "yes"
    lp.seconds = lp_seconds
    if lp.h.getModelStatus() not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit):
        raise BadInput(f"the solver could not solve this scenario ({lp.status}); loosen the tolerance or the budget")
    sol = np.asarray(lp.h.getSolution().col_value)
    min_lp_moved = float(sol[: lp.n_pairs] @ lp.moved)
    lp_z = float(sol[lp.z_col])
    # Second pass: least travel with balance as good, within the moved budget and, when the candidates
    # allow it, at or below today's travel. If today's travel is out of reach of the candidate reps,
    # widen them (every unit's nearest reps and every rep's reach) and solve again.
    tp = _travel_passes(p, u, opts, scale, lp)
    k_wide = min(len(p.reps), 3 * opts.candidates)
    if not tp.reachable and int(unit_k.min()) < k_wide and len(u.weight) * k_wide <= MAX_LP_PAIRS:
        unit_k = np.maximum(unit_k, k_wide)
        rep_reach = rep_reach * 3
        progress(0.5, "Widening the candidate reps to keep travel at or below today's")
        wide = _solve_lp(p, u, opts, scale, unit_k, rep_reach)
        if wide.h.getModelStatus() in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit):
            lp_seconds += wide.seconds
            lp, widened = wide, "yes (travel)"
            lp.seconds = lp_seconds
            wide_sol = np.asarray(lp.h.getSolution().col_value)
            min_lp_moved = float(wide_sol[: lp.n_pairs] @ lp.moved)
            lp_z = float(wide_sol[lp.z_col])
            tp_wide = _travel_passes(p, u, opts, scale, lp)
            tp_wide.seconds += tp.seconds
            tp = tp_wide
    t_lp2 = tp.seconds
    budget, travel_cap, km_limit, cap = tp.budget, tp.travel_cap, tp.km_limit, tp.cap
    sol = np.asarray(lp.h.getSolution().col_value)
    lp_moved = float(sol[: lp.n_pairs] @ lp.moved)
    t_mip = 0.0
    if not u.divisible and lp.n_pairs <= MIP_MAX_PAIRS:
        progress(0.55, "Assigning whole units (MIP)")
        mip_budget = math.inf if opts.max_moved is None else budget
        t_mip = _integral_units(lp, opts, scale, len(p.reps), mip_budget, travel_cap)
    progress(0.6, "Rounding and repairing fractional accounts")
    t1 = time.perf_counter()
    assign = _round(p, u, lp)
    user_budget = None if opts.max_moved is None else max(0.0, opts.max_moved - scale["forced_moved"])
    assign = _repair(
        p, u, lp, assign, opts.tolerance, scale, user_budget, km_limit,
        travel_moved_cap=max(budget, cap) if opts.max_moved is None else None,
    )  # fmt: skip
    t_repair = time.perf_counter() - t1
    # The LP bound on travel for the balance and moved share actually reached.
    n_reps = len(p.reps)
    load = _bincount(assign, weights=p.b, minlength=n_reps)
    z_ach = float(
        np.max(_band_penalty(load, p.target * (1 - opts.tolerance), p.target * (1 + opts.tolerance)) / p.target)
    )
    own = p.owner
    moved_lp_units = float(p.b[(own >= 0) & (assign != own)].sum())
    lp_travel_movable = float(sol[: lp.n_pairs] @ lp.travel)
    progress(0.8, "Bounding travel with the LP relaxation")
    t_bound = _resolve(lp, sol, "travel_only", z_ach, moved_lp_units, scale)
    bound_movable = float("nan")
    if _optimal(lp):
        bound_movable = float(np.asarray(lp.h.getSolution().col_value)[: lp.n_pairs] @ lp.travel)
    pinned_km = _km_to(p, np.where(p.pinned, p.owner, -1))
    pinned_sum = float(np.nansum(pinned_km))
    total = time.perf_counter() - t0
    extra = {
        "solver": f"HiGHS {HIGHS_VERSION} LP + repair",
        "lp_status": lp.status,
        "units": int(len(u.weight)),
        "lp_variables": int(lp.n_pairs),
        "candidates_widened": widened,
        "lp_min_moved_share": min_lp_moved + scale["forced_moved"],
        "lp_moved_share": lp_moved + scale["forced_moved"],
        "lp_excess_over_band": lp_z,
        "travel_km_lp": (lp_travel_movable + pinned_sum) / len(p.acc),
        "travel_km_lp_bound": (bound_movable + pinned_sum) / len(p.acc),
        "travel_capped_at_today": bool(math.isfinite(travel_cap)),
        "travel_km_best_in_band": tp.best_km / len(p.acc),
        "travel_bound_all_reps": bool(int(unit_k.min()) >= len(p.reps)),
        "travel_needs_moved_share": tp.needs_moved,
        "capacity_enforced": lp.cap_enforced,
    }
    timing = {
        "prepare_seconds": t_prep,
        "lp_seconds": lp.seconds + t_lp2,
        "mip_seconds": t_mip,
        "repair_seconds": t_repair,
        "bound_seconds": t_bound,
        "solve_seconds": total,
    }
    progress(0.95, "Measuring the result")
    return _report(p, u, opts, assign, timing, extra)


def greedy_rebalance(accounts: pd.DataFrame, reps: pd.DataFrame, options: Options | None = None) -> Result:
    """A simple baseline for the benchmark: repeatedly move the account from the fullest territory to
    the nearest territory below its target that adds the least travel, until every one is in band."""
    opts = options or Options()
    t0 = time.perf_counter()
    p = _prepare(accounts, reps, opts)
    n_reps = len(p.reps)
    _, near = _nearest(p.xyz, p.homes, 1)
    assign = np.where(p.owner >= 0, p.owner, near[:, 0])
    load = _bincount(assign, weights=p.b, minlength=n_reps)
    hi = p.target * (1 + opts.tolerance)
    k = min(n_reps, max(opts.candidates, 4))
    km, idx = _nearest(p.xyz, p.homes, k)
    movable = ~p.pinned
    for _ in range(20 * n_reps):
        r = int(np.argmax(load / p.target))
        if load[r] <= hi[r] + 1e-12:
            break
        mine = np.flatnonzero((assign == r) & movable)
        # Each of r's accounts goes to its nearest candidate rep that has room now, cheapest detour first,
        # until r is back in its band (room is re-checked account by account).
        room = (load[idx[mine]] + p.b[mine, None] <= hi[idx[mine]]) & (idx[mine] != r)
        has = room.any(axis=1)
        if not has.any():
            break
        mine, room = mine[has], room[has]
        first = room.argmax(axis=1)
        here = _chord_km(np.linalg.norm(p.xyz[mine] - p.homes[r], axis=1))
        add = km[mine, first] - here
        moved_any = False
        for j in np.lexsort((mine, add)):
            a, to = int(mine[j]), int(idx[mine[j], first[j]])
            if load[r] <= hi[r] + 1e-12:
                break
            if load[to] + p.b[a] > hi[to] or p.b[a] > (load[r] - p.target[r]) * 1.5 + 1e-15:
                continue
            assign[a] = to
            load[r] -= p.b[a]
            load[to] += p.b[a]
            moved_any = True
        if not moved_any:
            break
    total = time.perf_counter() - t0
    return _report(p, None, opts, assign, {"solve_seconds": total}, {"solver": "greedy"})


def team_of(accounts: pd.DataFrame, reps: pd.DataFrame, options: Options, k: int) -> Options:
    """Options for a team of k reps: today's scenario team minus the reps with the smallest books, or
    plus hires placed one by one on the far side of the territory with the most potential x distance."""
    if k < 1:
        raise BadInput(f"a team needs at least 1 rep, not {k}")
    base = _scenario_reps(reps, options)
    k0 = len(base)
    add: list[NewRep] = list(options.add_reps)
    remove = list(options.remove_reps)
    if k < k0:
        loads = pd.to_numeric(accounts["potential"], errors="coerce").groupby(accounts["owner_rep_id"]).sum()
        kept = base[~base["is_new"].astype(bool)].assign(load=lambda d: d["rep_id"].map(loads).fillna(0))
        if len(kept) < k0 - k:
            raise BadInput(f"cannot shrink the team to {k}: drop some of the added reps instead")
        remove += list(kept.sort_values(["load", "rep_id"])["rep_id"].head(k0 - k))
    elif k > k0:
        lat = pd.to_numeric(accounts["lat"], errors="coerce")
        lon = pd.to_numeric(accounts["lon"], errors="coerce")
        ok = (lat.notna() & lon.notna()).to_numpy()
        axyz = _xyz(lat[ok].to_numpy(), lon[ok].to_numpy())
        pot = pd.to_numeric(accounts["potential"], errors="coerce").fillna(0).to_numpy(float)[ok]
        homes = _xyz(base["home_lat"].to_numpy(), base["home_lon"].to_numpy())
        for i in range(k - k0):
            d, near = _nearest(axyz, homes, 1)
            # The home whose accounts carry the most potential x distance gets help: the hire is based
            # at the potential-weighted centre of that territory's far side.
            cost = pot * d[:, 0]
            worst = int(np.argmax(_bincount(near[:, 0], weights=cost, minlength=len(homes))))
            mine = near[:, 0] == worst
            far = mine & (d[:, 0] >= np.average(d[mine, 0], weights=pot[mine] + 1e-12))
            w = np.where(far, pot + 1e-12, 0.0)
            centre = (axyz * w[:, None]).sum(axis=0)
            centre /= max(float(np.linalg.norm(centre)), 1e-12)
            j = int(np.argmin(np.linalg.norm(axyz - centre, axis=1)))
            la = float(np.degrees(np.arcsin(np.clip(axyz[j, 2], -1, 1))))
            lo = float(np.degrees(np.arctan2(axyz[j, 1], axyz[j, 0])))
            add.append(
                NewRep(name=f"Hire {i + 1}", home_lat=round(la, 4), home_lon=round(lo, 4), rep_id=f"HIRE{i + 1}")
            )
            homes = np.vstack([homes, _xyz(np.array([la]), np.array([lo]))])
    return Options(**{**options.__dict__, "add_reps": tuple(add), "remove_reps": tuple(remove)})


def capacity_curve(
    accounts: pd.DataFrame, reps: pd.DataFrame, options: Options, team_sizes: list[int], progress: Progress = _noop
) -> pd.DataFrame:
    """Imbalance, coverage and travel against the number of reps (see team_of for who joins or leaves),
    with territories redrawn freely for each team size (locks, customers and open deals as in options)."""
    k0 = len(_scenario_reps(reps, options))
    sizes = sorted({int(t) for t in team_sizes if int(t) >= 1})
    rows = []
    for step, k in enumerate(sizes):
        progress(step / max(len(sizes), 1), f"Team of {k} reps")
        # Each point redraws the territories freely (any share may move): what a team of k can reach.
        free = Options(**{**team_of(accounts, reps, options, k).__dict__, "max_moved": 1.0})
        res = rebalance(accounts, reps, free)
        s = res.summary
        rows.append(
            {"reps": k, "max_mean": s["max_mean_after"], "cv": s["after"]["cv"], "coverage": s["coverage_after"],
             "travel_km": s["travel_km_after"], "moved_share": s["moved_share"], "lower_bound": s["lower_bound"],
             "current": k == k0}
        )  # fmt: skip
    progress(1.0, "Done")
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- benchmark


def world_inputs(world: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Optimizer inputs from an in-memory demo World (planner.demo.build_world), without a store."""
    from planner import potential as pot_mod

    acc = world.accounts.copy()
    adoption = acc["industry"].map(pot_mod.DEFAULT_ADOPTION).fillna(pot_mod.DEFAULT_SHARE)
    acc["potential"] = np.round(acc["employees"] * adoption) * pot_mod.default_price()
    acc["is_customer"] = acc["account_type"].eq("Customer")
    open_accts = set(world.deals.loc[~world.deals["is_closed"], "account_id"])
    acc["has_open_deal"] = acc["account_id"].isin(open_accts)
    reps = world.reps.copy()
    reps["crm_id"] = None
    return acc, reps


def benchmark(n_accounts: int, n_reps: int, seed: int = 11, options: Options | None = None) -> dict[str, Any]:
    """Optimizer vs the greedy baseline on one demo world, with the issue's quality checks.

    Used by the benchmark script: returns seconds, max/mean vs the lower bound, moved vs the minimum,
    travel vs today's, the nearest-rep assignment and the LP bound, for both methods.
    """
    from planner import demo

    world = demo.build_world(n_accounts, n_reps, seed, deals_per_account=0.6)
    acc, reps = world_inputs(world)
    opts = options or Options()
    out: dict[str, Any] = {"accounts": n_accounts, "reps": n_reps, "seed": seed, "options": opts.to_dict()}
    for name, fn in (("optimizer", rebalance), ("greedy", greedy_rebalance)):
        start = time.perf_counter()
        res = fn(acc, reps, opts)
        s = res.summary
        seconds = time.perf_counter() - start
        goal = max(1 + opts.tolerance, s["lower_bound"])
        out[name] = {
            "seconds": round(seconds, 3),
            "max_mean_before": round(s["max_mean_before"], 4),
            "max_mean_after": round(s["max_mean_after"], 4),
            "lower_bound": round(s["lower_bound"], 4),
            "balance_ok": bool(s["max_mean_after"] <= goal + 1e-9),
            "moved_share": round(s["moved_share"], 4),
            "min_moved_share": round(s["min_moved_share"], 4),
            "moved_ratio": round(s["moved_share"] / s["min_moved_share"], 3) if s["min_moved_share"] > 0 else None,
            "moved_accounts": s["moved_accounts"],
            "travel_km_today": round(s["travel_km_today"], 1),
            "travel_km_after": round(s["travel_km_after"], 1),
            "travel_km_nearest": round(s["travel_km_nearest"], 1),
            "travel_km_lp_bound": round(s.get("travel_km_lp_bound", float("nan")), 1),
        }
    o = out["optimizer"]
    o["moved_ok"] = o["moved_ratio"] is None or o["moved_ratio"] <= 1.5
    o["travel_ok"] = o["travel_km_after"] <= o["travel_km_today"] + 1e-6
    o["travel_gap_to_bound"] = (
        round(o["travel_km_after"] / o["travel_km_lp_bound"] - 1, 4) if o["travel_km_lp_bound"] > 0 else None
    )
    return out
