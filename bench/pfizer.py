"""The Pfizer Turkey instance (22 bricks, 4 sales reps) solved by the product's optimizer from a travel matrix.

python bench/pfizer.py

The instance (bench/instances/pfizer, see its README for the source) asks for the least total distance
from each brick to its rep's office with every rep's workload (the bricks' index values, summing to 4)
within [0.8, 1.2] of the mean. The published optimum is 154.60 km against 187.41 km for the existing
assignment. The bricks become accounts whose potential is the index value, the reps get equal
capacity (so the mean is their target), the distances arrive through the product's travel-matrix path
(planner.optimize.matrix reads bench/instances/pfizer/travel_km.csv, from=rep, to=brick, km), and
every brick may move. An exact MIP with HiGHS (scipy.optimize.milp) on the same arrays checks the result.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from planner.optimize import matrix

INSTANCE = Path(__file__).resolve().parent / "instances" / "pfizer"
PUBLISHED_OPTIMUM_KM = 154.60
PUBLISHED_EXISTING_KM = 187.41
BAND = (0.8, 1.2)  # workload of each rep relative to the mean (1.0: the index values sum to 4 over 4 reps)


@dataclass
class Instance:
    accounts: pd.DataFrame  # one row per brick, as the optimizer takes accounts
    reps: pd.DataFrame  # one row per sales rep
    km: pd.DataFrame  # bricks x reps, from the travel matrix file


def load(folder: Path = INSTANCE) -> Instance:
    """The instance as the product's optimizer takes it (no coordinates: travel comes from the matrix)."""
    bricks = pd.read_csv(folder / "bricks.csv", dtype={"brick": str, "current_sr": str})
    srs = pd.read_csv(folder / "reps.csv", dtype=str)
    accounts = pd.DataFrame(
        {"account_id": bricks["brick"], "name": "Brick " + bricks["brick"].str[1:], "lat": np.nan, "lon": np.nan,
         "state": None, "county": None, "city": None, "postal_code": None, "owner_rep_id": bricks["current_sr"],
         "potential": bricks["index_value"].astype(float), "locked": False, "is_customer": False,
         "has_open_deal": False}
    )  # fmt: skip
    reps = pd.DataFrame(
        {"rep_id": srs["sr"], "name": "Sales rep " + srs["sr"].str[2:], "email": None, "crm_id": None,
         "home_postal_code": None, "home_lat": 41.0, "home_lon": 29.0, "capacity_hours": 1600.0, "active": True}
    )  # fmt: skip
    km = matrix.read_travel_matrix(folder / "travel_km.csv", accounts, reps)
    return Instance(accounts, reps, km)


def total_km(inst: Instance, owner: pd.Series | np.ndarray) -> float:
    """Total brick-to-office distance of an assignment (owner rep id per brick, in account order)."""
    owners = np.asarray(owner, dtype=object)
    cols = {r: j for j, r in enumerate(inst.km.columns)}
    return float(sum(inst.km.to_numpy()[i, cols[o]] for i, o in enumerate(owners)))


def workloads(inst: Instance, owner: pd.Series | np.ndarray) -> pd.Series:
    """Each rep's workload (sum of index values) under an assignment."""
    w = pd.Series(inst.accounts["potential"].to_numpy(), index=np.asarray(owner, dtype=object))
    return w.groupby(level=0).sum().reindex(inst.reps["rep_id"], fill_value=0.0)


def exact_mip(inst: Instance, band: tuple[float, float] = BAND) -> tuple[float, np.ndarray]:
    """The exact optimum by a MIP with HiGHS: least total km with each rep's workload in the band."""
    d = inst.km.to_numpy(float)
    n, k = d.shape
    w = inst.accounts["potential"].to_numpy(float)
    mean = w.sum() / k
    rows, lo, hi = [], [], []
    for i in range(n):
        r = np.zeros(n * k)
        r[i * k : (i + 1) * k] = 1
        rows.append(r), lo.append(1.0), hi.append(1.0)
    for j in range(k):
        r = np.zeros(n * k)
        r[j::k] = w
        rows.append(r), lo.append(band[0] * mean), hi.append(band[1] * mean)
    res = milp(d.ravel(), constraints=LinearConstraint(np.array(rows), lo, hi), integrality=np.ones(n * k),
               bounds=Bounds(0, 1))  # fmt: skip
    if not res.success:
        raise RuntimeError(f"the MIP found no assignment: {res.message}")
    pick = res.x.reshape(n, k).argmax(axis=1)
    return float(res.fun), inst.km.columns.to_numpy(dtype=object)[pick]


def main() -> int:
    inst = load()
    today = inst.accounts["owner_rep_id"]
    print(f"existing assignment: {total_km(inst, today):.2f} km (published {PUBLISHED_EXISTING_KM:.2f})")
    t0 = time.perf_counter()
    km, owner = exact_mip(inst)
    print(
        f"exact MIP (HiGHS):   {km:.2f} km in {time.perf_counter() - t0:.2f} s (published {PUBLISHED_OPTIMUM_KM:.2f})"
    )
    print("  workloads", ", ".join(f"{r} {v:.4f}" for r, v in workloads(inst, owner).items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
