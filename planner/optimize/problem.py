"""The problem as arrays: accounts, the scenario's reps, balance weights, pins and movable units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.coverage.workload import Workload
from planner.errors import BadInput
from planner.optimize.geometry import _bincount, _nearest, _xyz
from planner.optimize.options import Options


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
    workload: Workload  # the one workload model's assumptions (planner.coverage.workload)


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

    workload = opts.workload_model
    fixed_h, per_km = workload.fixed_hours, workload.hours_per_km
    near_km, _ = _nearest(xyz, homes, 1)
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
    weights = opts.metric_weights()
    if "expected_value" in weights and not available:
        raise BadInput(
            "expected value is not available (no model scores and no deal closed in the last 12 months); "
            "balance on potential, accounts or workload"
        )
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
        metric_label=opts.label(), ev_source=ev_source, workload=workload,
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
