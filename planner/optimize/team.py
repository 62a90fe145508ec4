"""Team sizing: which reps leave or where hires sit for a team of k, and the capacity curve over k."""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.errors import BadInput
from planner.optimize.geometry import _bincount, _nearest, _xyz
from planner.optimize.options import NewRep, Options, Progress, noop
from planner.optimize.problem import _scenario_reps
from planner.optimize.solve import rebalance


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
    accounts: pd.DataFrame, reps: pd.DataFrame, options: Options, team_sizes: list[int], progress: Progress = noop
) -> pd.DataFrame:
    """Imbalance (the worst metric's, and each metric's as `max_mean_<metric>`), coverage and travel against the
    number of reps (see team_of for who joins or leaves), with territories redrawn freely for each team size (locks,
    customers and open deals as in options)."""
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
             "current": k == k0, **{f"max_mean_{b['metric']}": b["max_mean_after"] for b in s.get("metrics") or []}}
        )  # fmt: skip
    progress(1.0, "Done")
    return pd.DataFrame(rows)
