"""The problem as arrays: accounts, the scenario's reps, balance weights, pins and movable units.

Distance has one entry point: `_dist(p, pos, rep)` (and `_dist_block`, `_nearest_reps`). It is
great-circle km from the coordinates unless the problem carries a precomputed matrix
(`_Problem.distance`, n_accounts x n_reps in any unit, e.g. road minutes from a routing engine),
which rebalance(..., distance=DataFrame indexed by account_id with a column per rep_id) sets.
The workload model's hours are per km: with a matrix, its travel converted to km at the workload's speed
(`_hours_km`, `as_km`), else great-circle km (`_km`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from planner.coverage.workload import Workload
from planner.errors import BadInput
from planner.geo import US_NAMES, h3_cells, h3_parent, h3_str
from planner.optimize.adjacency import real_zip3
from planner.optimize.geometry import _bincount, _chord_km, _nearest, _xyz
from planner.optimize.options import COLUMN, Options
from planner.text import listing

KM_PER_MILE = 1.609344


@dataclass
class _Problem:
    acc: pd.DataFrame  # every account, positional
    reps: pd.DataFrame  # the scenario's reps, positional
    today: pd.DataFrame  # today's active reps
    b: np.ndarray  # balance weight per account (shares; sums to 1): the blend the moved share is measured on
    bm: np.ndarray  # (n_accounts, n_bands): each balance band's weight per account (each column sums to 1)
    band_labels: list[str]  # the metric (or mix) of each band
    tols: np.ndarray  # each band's tolerance
    owner: np.ndarray  # index into reps; -1 unowned, -2 owner not in the scenario
    pinned: np.ndarray
    pin_reason: np.ndarray
    target: np.ndarray  # target share per rep (sums to 1)
    xyz: np.ndarray
    homes: np.ndarray
    hours_fixed: np.ndarray  # in-office hours per account and year (travel excluded), by the account's segment
    hours_per_km: np.ndarray  # travel hours per km of distance per account and year, by the account's segment
    metric_label: str
    ev_source: str
    workload: Workload  # the one workload model's assumptions (planner.coverage.workload)
    values: dict[str, np.ndarray]  # raw metric values per account (potential, accounts, workload, expected_value)
    distance: np.ndarray | None = None  # (n_accounts, n_reps) travel matrix in any unit; None = great-circle km
    distance_today: np.ndarray | None = None  # travel to today's owner from the matrix (NaN when unknown)
    distance_unit: str = "km"  # the matrix's unit (km, miles, minutes, or "matrix" when unknown)
    compactness: float = 0.0  # weight of travel squared (over spread_scale) next to travel in the objective
    spread_scale: float = 1.0  # the book's mean travel to the nearest rep
    # _per_unit's view only: (items, reps) the share of the metric each item's accounts owned by each rep hold (an
    # area's accounts may have several owners; `owner` is then only the main one)
    owned_by: np.ndarray | None = None
    # Accounts (a view's areas) that alone carry more than a band's tolerance, several bands (`reach._reachable`):
    # the moves and swaps after rounding leave them with their owner
    stay: np.ndarray | None = None
    # Accounts (items) with no place at all: no coordinates, and no state or country with placed accounts. Their
    # travel is 0 to every rep (`_km`, `_dist`, `_dist_block`, `_nearest_reps`), so only the bands decide who gets
    # them, and the report leaves them out of every travel figure. None: every account has a place.
    nowhere: np.ndarray | None = None


def _moved_at(p: _Problem, items: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """The share of the metric that items (accounts, or a view's areas) at `reps` move away from today's owners
    (forced moves, owner -2, apart): what a user's moved budget counts."""
    if p.owned_by is not None:
        return np.asarray(p.owned_by[items].sum(axis=1) - p.owned_by[items, reps])
    own = p.owner[items]
    return np.where((own >= 0) & (reps != own), p.b[items], 0.0)


def _scenario_reps(reps: pd.DataFrame, opts: Options) -> pd.DataFrame:
    active = reps[reps["active"].fillna(True).astype(bool)].copy() if "active" in reps else reps.copy()
    known = set(active["rep_id"])
    unknown = [r for r in opts.remove_reps if r not in known]
    if unknown:
        raise BadInput(f"cannot remove unknown or inactive rep {unknown[0]!r}; pick an active rep id")
    keep = active[~active["rep_id"].isin(set(opts.remove_reps))].copy()
    keep["is_new"] = False
    default_cap = opts.workload_model.default_capacity_hours
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


def _place(acc: pd.DataFrame) -> np.ndarray:
    """Give accounts without coordinates a place (in `acc`, flagged `_unplaced`) and return those with none at all.

    They sit at the centre of their state's placed accounts (else their country's): counted, never lost. They are in
    no area of their own: `_h3_keys` leaves them single (a centroid's hexagon is no place of theirs). An account with
    no place at all (`_Problem.nowhere`) sits at the book's mean only for the arrays' sake: it travels 0 km to every
    rep, since that made-up point (in an 8-country book near Nancy) would send every unowned one to the rep nearest
    it."""
    acc[["lat", "lon"]] = acc[["lat", "lon"]].apply(pd.to_numeric, errors="coerce")
    acc["_unplaced"] = acc["lat"].isna() | acc["lon"].isna()
    for col in ("lat", "lon"):
        for by in ("state", "country"):
            if by in acc:
                acc[col] = acc[col].fillna(acc.groupby(acc[by].astype("string").str.strip())[col].transform("mean"))
    nowhere = (acc["lat"].isna() | acc["lon"].isna()).to_numpy()
    for col in ("lat", "lon"):
        acc[col] = acc[col].fillna(acc[col].mean()).fillna(39.8 if col == "lat" else -98.6)
    return nowhere


def _prepare(accounts: pd.DataFrame, reps: pd.DataFrame, opts: Options) -> _Problem:
    opts.validate()
    if accounts.empty:
        raise BadInput("there are no accounts to assign; import accounts or build the demo first")
    acc = accounts.reset_index(drop=True).copy()
    today = reps[reps["active"].fillna(True).astype(bool)].reset_index(drop=True) if "active" in reps else reps
    srep = _scenario_reps(reps, opts)
    nowhere = _place(acc)
    xyz = _xyz(acc["lat"].to_numpy(), acc["lon"].to_numpy())
    homes = _xyz(srep["home_lat"].to_numpy(), srep["home_lon"].to_numpy())
    index = {r: i for i, r in enumerate(srep["rep_id"])}
    owner_ids = acc["owner_rep_id"]
    owner = np.array([-1 if pd.isna(o) else index.get(o, -2) for o in owner_ids], dtype=np.int64)

    workload = opts.workload_model
    is_customer = acc["is_customer"].to_numpy(dtype=object) if "is_customer" in acc else np.zeros(len(acc), bool)
    fixed_h, per_km = workload.fixed_hours(is_customer), workload.hours_per_km(is_customer)
    near_km, _ = _nearest(xyz, homes, 1)
    near_km[nowhere] = 0.0  # meetings only, as Coverage counts an account without a place
    values: dict[str, np.ndarray] = {
        "accounts": np.ones(len(acc)),
        "potential": pd.to_numeric(acc["potential"], errors="coerce").fillna(0).clip(lower=0).to_numpy(float),
        "workload": fixed_h + per_km * near_km[:, 0],
    }
    # Expected value comes with the accounts (planner.coverage.value: model scores, else the one fallback).
    ev = pd.to_numeric(acc["expected_value"], errors="coerce") if "expected_value" in acc else None
    available = ev is not None and bool(ev.notna().any())
    ev_source = str(acc.attrs.get("expected_value_source", "given")) if available else "not available"
    values["expected_value"] = (
        ev.fillna(0).clip(lower=0).to_numpy(float) if ev is not None and available else np.zeros(len(acc))
    )

    for m in opts.metric_list() if not opts.weights else []:
        if m.startswith(COLUMN):
            col = m[len(COLUMN) :]
            if col not in acc:
                raise BadInput(f"metric {m!r} names no column of the accounts; use an account column with numbers")
            values[m] = pd.to_numeric(acc[col], errors="coerce").fillna(0).clip(lower=0).to_numpy(float)

    def blend(weights: dict[str, float]) -> np.ndarray:
        if "expected_value" in weights and not available:
            raise BadInput(
                "expected value is not available (no model scores and no deal closed in the last 12 months); "
                "balance on potential, accounts or workload"
            )
        out = np.zeros(len(acc))
        for m, w in weights.items():
            total = values[m].sum()
            if total <= 0:
                raise BadInput(f"metric {m!r} is zero for every account; pick another metric")
            out += w * values[m] / total
        return out / sum(weights.values())

    bands = opts.bands()
    b = blend(opts.metric_weights())
    bm = np.column_stack([blend(w) for _, w, _ in bands])

    locks = set(opts.locks)
    unknown = locks - set(acc["account_id"])
    if unknown:
        raise BadInput(f"cannot lock unknown account {sorted(unknown)[0]!r}; use account ids or names from the store")
    locked = acc["locked"].fillna(False).astype(bool).to_numpy() | acc["account_id"].isin(locks).to_numpy()
    customer = acc["is_customer"].fillna(False).astype(bool).to_numpy() & (not opts.allow_customers)
    open_deal = acc["has_open_deal"].fillna(False).astype(bool).to_numpy() & (not opts.allow_open_deals)
    stays = owner >= 0
    pinned = stays & (locked | customer | open_deal)
    reason = np.where(locked, "locked", np.where(customer, "customer stays with owner", "open deal stays with owner"))
    cap = srep["capacity_hours"].to_numpy(float)
    return _Problem(
        acc=acc, reps=srep, today=today, b=b, owner=owner, pinned=pinned, pin_reason=np.where(pinned, reason, ""),
        target=cap / cap.sum(), xyz=xyz, homes=homes, hours_fixed=fixed_h, hours_per_km=per_km,
        metric_label=opts.label(), ev_source=ev_source, workload=workload, bm=bm,
        band_labels=[label for label, _, _ in bands], tols=np.array([t for _, _, t in bands], dtype=float),
        values=values, compactness=float(opts.compactness), nowhere=nowhere if nowhere.any() else None,
        spread_scale=max(float(near_km[~nowhere, 0].mean()) if (~nowhere).any() else 1.0, 1.0),
    )  # fmt: skip


def metric_values(accounts: pd.DataFrame, reps: pd.DataFrame, opts: Options) -> pd.DataFrame:
    """Each account's value of every metric the optimizer can balance under `opts`, as it counts them (potential,
    accounts, expected value, workload: meetings plus travel from the nearest of the scenario's reps, column:NAME
    metrics), indexed by account_id: what a comparison of territories per metric sums."""
    p = _prepare(accounts, reps, opts)
    return pd.DataFrame(p.values, index=pd.Index(p.acc["account_id"].astype(str), name="account_id"))


def _with_distance(p: _Problem, distance: pd.DataFrame | None) -> _Problem:
    """Attach a precomputed travel matrix (rows account_id, columns rep_id, any unit) to the problem."""
    if distance is None:
        return p
    if not isinstance(distance, pd.DataFrame):
        raise BadInput("the travel matrix must be a table of accounts (rows) by reps (columns)")
    mat = distance.copy()
    mat.index = mat.index.astype(str)
    mat.columns = mat.columns.astype(str)
    ids = p.acc["account_id"].astype(str)
    missing_acc = ids[~ids.isin(mat.index)]
    if len(missing_acc):
        raise BadInput(
            f"the travel matrix has no row for account {missing_acc.iloc[0]!r} ({len(missing_acc):,} missing); "
            "give a distance for every account"
        )
    reps = p.reps["rep_id"].astype(str)
    missing_rep = reps[~reps.isin(mat.columns)]
    if len(missing_rep):
        raise BadInput(f"the travel matrix has no column for rep {missing_rep.iloc[0]!r}; give every rep's distances")
    vals = mat.loc[ids.to_numpy(), reps.to_numpy()].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(vals) | (vals < 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise BadInput(
            f"the travel matrix has no usable distance from account {ids.iloc[i]!r} to rep {reps.iloc[j]!r}; "
            "give a number of 0 or more"
        )
    if p.nowhere is not None:
        # A matrix row is real travel (Pfizer's bricks have no coordinates, only the matrix): only the rows the matrix
        # reader filled in for an account it had no row for (attrs "imputed_accounts") are no place's.
        guessed = ids.isin({str(a) for a in distance.attrs.get("imputed_accounts", ())}).to_numpy()
        p.nowhere = p.nowhere & guessed if (p.nowhere & guessed).any() else None
    if p.nowhere is not None:
        vals = np.where(p.nowhere[:, None], 0.0, vals)  # no place: the same (no) travel to every rep
    p.distance = vals
    p.distance_unit = str(distance.attrs.get("unit", "matrix"))
    placed = np.ones(len(vals), dtype=bool) if p.nowhere is None else ~p.nowhere
    p.spread_scale = max(float(vals[placed].min(axis=1).mean()) if placed.any() else 1e-6, 1e-6)
    today = np.full(len(p.acc), np.nan)
    cols = {c: i for i, c in enumerate(mat.columns)}
    owner = p.acc["owner_rep_id"].astype("string").fillna("").to_numpy(dtype=object)
    rows = mat.loc[ids.to_numpy()]
    for rid, j in cols.items():
        sel = owner == rid
        if sel.any():
            today[sel] = pd.to_numeric(rows.iloc[np.flatnonzero(sel), j], errors="coerce").to_numpy(float)
    if p.nowhere is not None:
        today[p.nowhere & np.isfinite(today)] = 0.0
    p.distance_today = today
    return p


# ---------------------------------------------------------------- distance (the one entry point)


def _km(p: _Problem, pos: np.ndarray, rep: np.ndarray) -> np.ndarray:
    """Great-circle km from accounts `pos` to the homes of reps `rep` (element-wise); 0 for an account with no
    place (`_Problem.nowhere`)."""
    km = _chord_km(np.linalg.norm(p.xyz[pos] - p.homes[rep], axis=1))
    return km if p.nowhere is None else np.where(p.nowhere[pos], 0.0, km)


def as_km(p: _Problem, travel: np.ndarray, unit: str) -> np.ndarray:
    """Travel in the travel's unit as the km that turn into hours at the workload's speed: miles converted, minutes
    as minutes / 60 hours at that speed; km (and a matrix of unknown unit) as they are. Hours, capacity and reach
    are then the same whichever unit the same distances come in."""
    if unit == "miles":
        return travel * KM_PER_MILE
    if unit == "minutes":
        return travel / 60.0 * p.workload.travel_kmh
    return travel


def _hours_km(p: _Problem, pos: np.ndarray, rep: np.ndarray) -> np.ndarray:
    """The km the workload's hours count from accounts `pos` to reps `rep` (element-wise): the matrix's travel as
    km (`as_km`) when one is given, as the report's hours and capacity count it; else great-circle km."""
    if p.distance is None:
        return _km(p, pos, rep)
    return as_km(p, _dist(p, pos, rep), p.distance_unit)


def _hours_km_block(p: _Problem, pos: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """`_hours_km` from accounts `pos` to every rep of `reps`: a (len(pos), len(reps)) block."""
    return as_km(p, _dist_block(p, pos, reps), p.distance_unit if p.distance is not None else "km")


def placed_mask(p: _Problem) -> np.ndarray:
    """Accounts (items) with a place, the ones travel figures count (`_Problem.nowhere`)."""
    return np.ones(len(p.b), dtype=bool) if p.nowhere is None else ~p.nowhere


def _km_today(p: _Problem) -> np.ndarray:
    """Great-circle km from each account to today's owner's home (NaN when unowned or the owner is unknown)."""
    homes = p.today.set_index("rep_id")[["home_lat", "home_lon"]]
    owner = p.acc["owner_rep_id"]
    known = (owner.isin(homes.index) & homes.reindex(owner)["home_lat"].notna().to_numpy()).to_numpy()
    out = np.full(len(p.acc), np.nan)
    if known.any():
        h = homes.reindex(owner[known])
        hx = _xyz(h["home_lat"].to_numpy(), h["home_lon"].to_numpy())
        out[known] = _chord_km(np.linalg.norm(p.xyz[known] - hx, axis=1))
    if p.nowhere is not None:
        out[known & p.nowhere] = 0.0
    return out


def _dist(p: _Problem, pos: np.ndarray, rep: np.ndarray) -> np.ndarray:
    """Travel from accounts `pos` to reps `rep` (element-wise): the matrix when given, else km."""
    pos = np.asarray(pos, dtype=np.int64)
    rep = np.asarray(rep, dtype=np.int64)
    if p.distance is not None:
        return p.distance[pos, rep]
    return _km(p, pos, rep)


def _dist_block(p: _Problem, pos: np.ndarray, reps: np.ndarray | None = None) -> np.ndarray:
    """Travel from accounts `pos` to every rep in `reps` (all by default): a (len(pos), len(reps)) block."""
    reps = np.arange(len(p.reps)) if reps is None else np.asarray(reps, dtype=np.int64)
    if p.distance is not None:
        return p.distance[np.ix_(np.asarray(pos, dtype=np.int64), reps)]
    a = p.xyz[pos]
    h = p.homes[reps]
    chord = np.sqrt(np.maximum(((a[:, None, :] - h[None, :, :]) ** 2).sum(axis=2), 0.0))
    km = _chord_km(chord)
    if p.nowhere is not None:
        km[p.nowhere[np.asarray(pos, dtype=np.int64)]] = 0.0
    return km


def _nearest_reps(
    p: _Problem, points: np.ndarray | None, k: int, pos: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest reps of accounts `pos` (or of unit vectors `points` when no matrix): (dist, index)."""
    k = max(1, min(k, len(p.reps)))
    if p.distance is not None and pos is not None:
        block = p.distance[np.asarray(pos, dtype=np.int64)]
        idx = np.argsort(block, axis=1, kind="stable")[:, :k]
        dist = np.take_along_axis(block, idx, axis=1)
    else:
        assert points is not None
        dist, idx = _nearest(points, p.homes, k)
    if p.nowhere is not None and pos is not None:
        # No place: every rep is as near (0); each such account gets k reps in turn, so none is steered to one.
        sel = np.flatnonzero(p.nowhere[np.asarray(pos, dtype=np.int64)])
        dist[sel] = 0.0
        idx[sel] = (sel[:, None] + np.arange(idx.shape[1])[None, :]) % len(p.reps)
    return dist, idx


# ---------------------------------------------------------------- units and candidates


# With several balance bands the LP groups accounts from this many movable accounts on (one band: Options.
# aggregate_above). Its fractional units are split back into accounts by the rounding MIP, and the bound is over
# accounts either way; on 20,000 x 24 with three metrics the LP over 2,889 units instead of 7,172 lands the same
# travel (384.0 against 383.8 km, LP bound 352.6) in 8.8 s of CPU instead of 20 s. One band keeps the finer
# grouping: there the coarser one cost travel (1.010x -> 1.033x the bound on the same world).
MULTI_BAND_AGGREGATE = 3_000
# One band: of the accounts grouped, at least this many of the largest per rep stay single units (besides
# half of aggregate_above). With many reps ZIP3 x owner groups are coarse against a territory's size: on
# 100,000 x 200 the LP over 9,566 units (6,000 single) lands 1.110x the bound over accounts, over 18,473
# units (15,000 single) 1.075x. With few reps nothing changes (20,000 x 24 keeps its 6,000).
SINGLE_PER_REP = 75
# H3 hexagons as units: the finest resolution (H3_FINEST down to H3_COARSEST) at which the book's accounts fall in
# at most this many cells per rep. Counties give about 15 a rep for 200 reps; finer cells follow a territory's
# edge more closely but make the whole-unit problem larger. Hexagons exist everywhere, ZIP3s and counties only in
# the US.
H3_CELLS_PER_REP = 25
H3_FINEST, H3_COARSEST = 7, 1
# ... and finer where one hexagon would carry more than this share of a fair territory (accounts cluster in
# cities: 3,000 demo accounts for 12 reps at resolution 2 put 1.74x a target in New York's hexagon; at 0.5,
# resolution 5, 1,319 hexagons, balance within 5% at 1.03x the travel bound; at 1.0 resolution 4, 1.05x).
H3_HEAVIEST_SHARE = 0.5


@dataclass
class _Units:
    of_account: np.ndarray  # unit id per movable account (positional over `movable`)
    movable: np.ndarray  # account positions that the optimizer may assign
    weight: np.ndarray  # balance weight per unit
    divisible: bool
    label: np.ndarray  # a readable name per unit
    members: sparse.csr_matrix  # (n_units, n_movable): 1 where a movable account belongs to the unit
    resolution: int | None = None  # the H3 resolution of hexagon units
    without_area: int = 0  # movable accounts in no area of the unit (ZIP3 and county outside the US): units alone

    @property
    def single(self) -> bool:
        """Every unit is one account."""
        return len(self.weight) == len(self.movable)


def _in_us(acc: pd.DataFrame) -> pd.Series:
    """Accounts in the US: its ISO code or name, or no country at all (a US book's rows rarely name it)."""
    if "country" not in acc:
        return pd.Series(True, index=acc.index)
    c = acc["country"].astype("string").str.strip().str.upper()
    return (c.isna() | (c == "") | c.isin(US_NAMES)).astype(bool)


def _zip3(postal: pd.Series) -> pd.Series:
    """The ZIP3 of US postal codes ('02139'; '2139' or '2139.0' as a spreadsheet keeps it; '02139-4307'); NA
    for anything else, and for a prefix no US ZIP has (00000, '123' read as 00123: adjacency.real_zip3)."""
    code = postal.astype("string").str.strip().str.replace(r"\.0+$", "", regex=True)
    digits = code.str.extract(r"^(\d{5})(?:-\d{4})?$|^(\d{3,4})$")
    prefix = digits[0].fillna(digits[1]).str.zfill(5).str[:3]
    return prefix.where(prefix.isin(real_zip3()))


def _units(p: _Problem, opts: Options) -> _Units:
    movable = np.flatnonzero(~p.pinned)
    acc = p.acc.iloc[movable]
    ids = acc["account_id"].astype(str).to_numpy()
    resolution: int | None = None
    without_area = 0
    if opts.unit == "account":
        # Several bands at once group from MULTI_BAND_AGGREGATE movable accounts (see there).
        above = opts.aggregate_above if p.bm.shape[1] == 1 else min(opts.aggregate_above, MULTI_BAND_AGGREGATE)
        if len(movable) <= above:
            keys = ids
        else:
            # Group small accounts by ZIP3 x owner; the LP's fractional units are split back into accounts.
            zip3 = _zip3(acc["postal_code"]).where(_in_us(acc)).fillna("")
            cell = np.floor(acc["lat"]).astype(int).astype(str) + ":" + np.floor(acc["lon"]).astype(int).astype(str)
            geo_key = np.where(zip3.str.len().to_numpy() == 3, zip3.to_numpy(dtype=object), cell.to_numpy())
            if p.nowhere is not None:  # no place: grouped with no placed account's cell
                geo_key = np.where(p.nowhere[movable], "nowhere", geo_key)
            # The largest accounts (they carry most of the metric) stay single, so the LP can still pick
            # exactly which ones move; the long tail moves in ZIP3 x owner groups.
            order = np.lexsort((np.arange(len(movable)), -p.b[movable]))
            big = np.zeros(len(movable), dtype=bool)
            n_single = above // 2 if p.bm.shape[1] > 1 else max(above // 2, SINGLE_PER_REP * len(p.reps))
            big[order[:n_single]] = True
            # A group never straddles two reps' catchments: its accounts share owner, ZIP3 and their two
            # nearest reps, so they want the same reps and the LP over groups stays close to the one over
            # accounts (the bound is over accounts either way).
            _, near2 = _nearest_reps(p, p.xyz[movable], 2, movable)
            pref = near2[:, 0].astype(str) + "." + near2[:, -1].astype(str)
            keys = np.where(big, ids, geo_key.astype(str) + "|" + p.owner[movable].astype(str) + "|" + pref)
        divisible = True
    else:
        # ZIP3 areas and counties are the US's: an account elsewhere (a German PLZ 10115 is no ZIP3 101) is a unit
        # of its own. States are keyed by country outside the US (WA is Washington, and Western Australia).
        us = _in_us(acc)
        if opts.unit == "zip3":
            raw = _zip3(acc["postal_code"]).where(us)
        elif opts.unit == "county":
            raw = (acc["state"].astype("string") + " · " + acc["county"].astype("string")).where(
                acc["county"].notna() & us
            )
        elif opts.unit == "state":
            raw = acc["state"].astype("string").str.strip().replace("", pd.NA)
            if "country" in acc:
                raw = raw.where(us, acc["country"].astype("string").str.strip().str.upper() + " · " + raw)
        else:
            raw, resolution = _h3_keys(acc, p.b[movable], p.target)
        keys = np.where(raw.isna().to_numpy(), ids, raw.fillna("").to_numpy(dtype=object).astype(str))
        without_area = int(raw.isna().sum())
        divisible = False
    codes, uniq = pd.factorize(pd.Series(keys, dtype=object), sort=True)
    weight = _bincount(codes, weights=p.b[movable], minlength=len(uniq))
    label = np.array([str(u).split("|")[0] for u in uniq], dtype=object)
    codes = codes.astype(np.int64)
    members = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(len(uniq), len(codes)))
    return _Units(codes, movable, weight, divisible, label, members, resolution, without_area)


def _h3_keys(acc: pd.DataFrame, weight: np.ndarray, target: np.ndarray) -> tuple[pd.Series, int]:
    """Each account's H3 cell (hex id; NA without coordinates of its own, so it is its own unit) at the finest
    resolution with at most H3_CELLS_PER_REP cells per rep, or finer until no cell carries more than
    H3_HEAVIEST_SHARE of a fair territory (down to H3_FINEST); and that resolution."""
    fine = h3_cells(acc["lat"].to_numpy(float), acc["lon"].to_numpy(float), H3_FINEST)
    placed = (fine != 0) & ~acc["_unplaced"].to_numpy(bool)
    cap, heavy = H3_CELLS_PER_REP * max(len(target), 1), H3_HEAVIEST_SHARE * float(np.mean(target))
    res = H3_COARSEST
    for r in range(H3_FINEST, H3_COARSEST - 1, -1):
        if len(np.unique(h3_parent(fine[placed], r))) <= cap:
            res = r
            break
    while res < H3_FINEST:
        _, code = np.unique(h3_parent(fine[placed], res), return_inverse=True)
        if _bincount(code, weights=weight[placed], minlength=int(code.max(initial=0)) + 1).max(initial=0.0) <= heavy:
            break
        res += 1
    cells = fine if res == H3_FINEST else h3_parent(fine, res)
    hexes = pd.Series(h3_str(cells), index=acc.index, dtype="string")
    return hexes.where(placed), res


def _per_unit(p: _Problem, u: _Units) -> tuple[_Problem, np.ndarray]:
    """Whole areas as items, for the repairs that move single accounts (bands, neighbourhoods): one item per unit
    (its accounts' weights and travel summed, its owner the owner of most of its weight), then one per pinned
    account. Travel becomes a matrix (items x reps). Returns the view and each item's first account position, so
    that `assign_items = assign[first]`; `_from_units` maps back."""
    pin = np.flatnonzero(p.pinned)
    m = u.members
    n_reps = len(p.reps)
    dist = np.zeros((len(u.weight) + len(pin), n_reps))
    for lo in range(0, n_reps, 16):
        reps = np.arange(lo, min(lo + 16, n_reps))
        dist[: len(u.weight), reps] = m @ _dist_block(p, u.movable, reps)
        dist[len(u.weight) :, reps] = _dist_block(p, pin, reps)
    by_owner = _owned(p, u).toarray()
    owner = np.where(by_owner.max(axis=1) > 0, by_owner.argmax(axis=1), -1)
    first = np.zeros(len(u.weight), dtype=np.int64)
    first[u.of_account[::-1]] = u.movable[::-1]
    xyz = np.asarray(m @ p.xyz[u.movable])
    xyz /= np.maximum(np.linalg.norm(xyz, axis=1, keepdims=True), 1e-12)
    view = _Problem(
        **{
            **{f: getattr(p, f) for f in p.__dataclass_fields__},
            "b": np.concatenate([m @ p.b[u.movable], p.b[pin]]),
            "bm": np.vstack([np.asarray(m @ p.bm[u.movable]), p.bm[pin]]),
            "owner": np.concatenate([owner, p.owner[pin]]),
            "owned_by": np.vstack([by_owner, _owned_by(p, pin)]),
            "stay": None if p.stay is None else np.concatenate([m @ p.stay[u.movable] > 0, np.zeros(len(pin), bool)]),
            "nowhere": None if p.nowhere is None else np.concatenate([m @ p.nowhere[u.movable] > 0, p.nowhere[pin]]),
            "pinned": np.concatenate([np.zeros(len(u.weight), dtype=bool), np.ones(len(pin), dtype=bool)]),
            "xyz": np.vstack([xyz, p.xyz[pin]]),
            # an item's meetings are its accounts'; its travel rate their mean (the segments may differ)
            "hours_fixed": np.concatenate([m @ p.hours_fixed[u.movable], p.hours_fixed[pin]]),
            "hours_per_km": np.concatenate(
                [(m @ p.hours_per_km[u.movable]) / np.maximum(m @ np.ones(len(u.movable)), 1), p.hours_per_km[pin]]
            ),
            "distance": dist,
            "spread_scale": p.spread_scale * len(u.movable) / max(len(u.weight), 1),
        }
    )
    return view, np.concatenate([first, pin])


def _least_unit_moved(p: _Problem, u: _Units) -> float:
    """The least share of the metric whole units move from today's owners (an area's accounts of other owners than
    its main one move with it); 0 for single accounts."""
    if u.divisible:
        return 0.0
    held = _owned(p, u)
    return float(held.sum() - held.max(axis=1).sum())


def _owned(p: _Problem, u: _Units) -> sparse.csr_matrix:
    """(n_units, n_reps): the balance weight of each unit's accounts that each rep owns today."""
    owner = p.owner[u.movable]
    has = owner >= 0
    data = (p.b[u.movable][has], (u.of_account[has], owner[has]))
    return sparse.coo_matrix(data, shape=(len(u.weight), len(p.reps))).tocsr()


def _moved_share(p: _Problem, assign: np.ndarray) -> float:
    """The share of the metric away from its owner today (forced moves, owner -2, apart): what a budget counts."""
    return float(_moved_at(p, np.arange(len(assign)), assign).sum())


def _loads(p: _Problem, assign: np.ndarray) -> np.ndarray:
    """(n_reps, n_bands): each rep's share of every band's metric in `assign`."""
    n_reps = len(p.reps)
    return np.stack([_bincount(assign, weights=p.bm[:, m], minlength=n_reps) for m in range(p.bm.shape[1])], axis=1)


def _owned_by(p: _Problem, pos: np.ndarray) -> np.ndarray:
    """(len(pos), reps): each account's share of the metric under its owner's column."""
    out = np.zeros((len(pos), len(p.reps)))
    own = p.owner[pos] >= 0
    out[np.flatnonzero(own), p.owner[pos][own]] = p.b[pos][own]
    return out


def _from_units(u: _Units, assign: np.ndarray, items: np.ndarray) -> np.ndarray:
    """The account assignment from an item assignment of _per_unit's view: every account of a unit with it."""
    out = assign.copy()
    out[u.movable] = items[u.of_account]
    return out


def lock_ids(acc: pd.DataFrame, values: Sequence[str], flag: str = "--lock") -> tuple[str, ...]:
    """The account ids of locks as a person writes them (`balance --lock`, the page's box): an id as it is, else an
    account's name (case-insensitive; a book imported without CRM ids has no other handle); a name several accounts
    share is refused with them listed, an unknown one too (`flag` names where it was written)."""
    ids, names = acc["account_id"].astype(str), acc["name"].fillna("").astype(str).str.strip().str.casefold()
    out = []
    for value in values:
        if value in set(ids):
            out.append(value)
            continue
        hits = acc[names == value.strip().casefold()]
        if len(hits) > 1:
            cities = hits["city"] if "city" in hits else pd.Series(None, index=hits.index)
            where = [f"{n} ({c})" if isinstance(c, str) and c else str(n) for n, c in
                     zip(hits["name"], cities, strict=True)]  # fmt: skip
            raise BadInput(f"{flag} {value!r} names {len(hits)} accounts ({listing(where, 5)}); lock them by id "
                           "(`export accounts` lists the ids)")  # fmt: skip
        if hits.empty:
            raise BadInput(f"{flag} {value!r}: no account has this id or name; use an account id or exact name")
        out.append(str(hits["account_id"].iloc[0]))
    return tuple(dict.fromkeys(out))


def lock_lines(text: str) -> tuple[str, ...]:
    """The locks a person typed, one a line: a line of ids may be comma separated ('001A, 001B': every part one
    word with a digit, as CRM ids are); any other line is one account's name, commas and all ('Acme, Inc.')."""
    out: list[str] = []
    for line in str(text or "").splitlines():
        parts = [p.strip() for p in line.split(",") if p.strip()]
        ids = all(re.fullmatch(r"[\w.:-]*\d[\w.:-]*", p) for p in parts)
        out += parts if ids else [line.strip()] if line.strip() else []
    return tuple(sorted(set(out)))
