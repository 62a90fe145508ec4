"""Commercial territory design instances of Ríos-Mercado's group (real files), solved by the product optimizer.

python bench/ctdp.py > c.jsonl        # one JSON line per vendored instance (bench/instances/ctdp)
python bench/ctdp.py table c.jsonl    # the markdown table of bench/RESULTS.md's ctdp section
python bench/ctdp.py --help           # this text

Each instance (format: bench/instances/ctdp/README.md) has n basic units on a plane with three activities,
an adjacency list and p, the number of territories. Every activity of every territory must lie within
tau = 5% of its mean; the published objective is dispersion. The product optimizer balances the three
activities at once exactly as bench/optimizer.py's generated ctdp rows do (metric
"column:activity1,column:activity2,column:activity3", tolerance tau, compactness 1) with Euclidean
distances arriving through its travel-matrix path (`rebalance(..., distance=matrix)`). The product
assigns accounts to fixed rep homes; the CTDP also chooses the p centres, so this bench adds the usual
location-allocation loop around it: centres start at the units nearest k-means centres, then each
territory's centre moves to its 1-median unit and the product re-solves, until the centres repeat.
A second run keeps the centres of the published ALNS solution (bench/instances/ctdp/published), so the
assignment is compared with that solution on equal terms. Each runs once more with contiguity under the
file's adjacency list (`Options.contiguous` with `Options.adjacency`, each unit its own area unit). Connectivity of every territory is checked
under the file's own adjacency list, for both runs and for the published solution.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.cluster.vq import kmeans2
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from planner.optimize import Options, rebalance

FOLDER = Path(__file__).resolve().parent / "instances" / "ctdp"
INSTANCES = ("2DU60-05-1", "2DU100-05-1", "2DU120-05-1", "DU150-05-1", "DU200-05-1")
TAU = 0.05  # the "05" of every instance name: each activity within 5% of its mean
ACTIVITIES = ("activity1", "activity2", "activity3")
MAX_ROUNDS = 8  # location-allocation rounds per start (each one product solve)
SEEDS = (1, 2, 3)  # k-means starts of the location-allocation loop
USAGE_ERROR = 2


@dataclass(frozen=True)
class Instance:
    name: str
    xy: np.ndarray  # (n, 2) coordinates of the basic units
    activity: np.ndarray  # (n, 3) the three activity measures
    edges: np.ndarray  # (m, 2) the file's adjacency list (0-based unit ids)
    p: int  # number of territories
    second: int  # the parameter line's second number (not used; see the README)
    taus: tuple[float, float, float]  # the parameter line's three tolerances (as written in the file)
    seed: int | None  # the generator's seed ("semilla:" line), when present


@dataclass(frozen=True)
class Published:
    """A published solution: territories as unit lists with their centre unit, and its stated objective."""

    centres: list[int]
    territories: list[list[int]]
    compactness: float  # the stated sum of distances from units to their territory's centre


def _numbers(line: str, where: str, count: int) -> list[float]:
    parts = line.split()
    if len(parts) != count:
        raise ValueError(f"{where}: expected {count} numbers, found {len(parts)} ({line.strip()[:60]!r})")
    try:
        return [float(v) for v in parts]
    except ValueError:
        raise ValueError(f"{where}: {line.strip()[:60]!r} is not {count} numbers") from None


def parse(path: Path) -> Instance:
    """Read one instance file; ValueError with the file, the line and what is wrong when it is malformed."""
    lines = [ln for ln in path.read_text(encoding="ascii").splitlines() if ln.strip()]
    name = path.stem
    try:
        n = int(_numbers(lines[0], f"{name} line 1", 1)[0])
        if n < 2:
            raise ValueError(f"{name}: {n} basic units; an instance needs at least 2")
        units = np.array([_numbers(lines[1 + i], f"{name} line {2 + i}", 6) for i in range(n)])
        if not np.array_equal(units[:, 0], np.arange(n)):
            raise ValueError(f"{name}: unit ids are not 0..{n - 1} in order")
        m = int(_numbers(lines[1 + n], f"{name} line {2 + n}", 1)[0])
        edges = np.array([_numbers(lines[2 + n + k], f"{name} line {3 + n + k}", 2) for k in range(m)], dtype=np.int64)
        params = _numbers(lines[2 + n + m], f"{name} parameter line", 5)
        rest = lines[3 + n + m :]
    except IndexError:
        raise ValueError(f"{name}: the file ends early; expected n, n units, m, m edges and a parameter line") from None
    if edges.size and (edges.min() < 0 or edges.max() >= n):
        raise ValueError(f"{name}: an edge names a unit outside 0..{n - 1}")
    seed = int(rest[0].split(":")[1]) if rest and rest[0].startswith("semilla:") else None
    return Instance(
        name=name, xy=units[:, 1:3], activity=units[:, 3:6], edges=edges.reshape(-1, 2), p=int(params[0]),
        second=int(params[1]), taus=(params[2], params[3], params[4]), seed=seed,
    )  # fmt: skip


def parse_published(path: Path) -> Published:
    """Read a published ALNS output (District blocks with 'Nodes:' and 'Center Node:' lines)."""
    compactness, centres, territories = float("nan"), [], []
    for line in path.read_text(encoding="ascii").splitlines():
        key, _, value = line.partition(" ")
        if key == "Compactness":
            compactness = float(value)
        elif key == "Nodes:":
            territories.append([int(v) for v in value.split()])
        elif line.startswith("Center Node:"):
            centres.append(int(line.split(":")[1]))
    if not territories or len(centres) != len(territories):
        raise ValueError(f"{path.name}: expected one 'Center Node:' per 'Nodes:' line")
    return Published(centres, territories, compactness)


def distances(inst: Instance, centres: np.ndarray) -> np.ndarray:
    """Euclidean distance from every unit to every centre unit (n x p)."""
    return np.sqrt(((inst.xy[:, None, :] - inst.xy[centres][None, :, :]) ** 2).sum(axis=2))


def connected(inst: Instance, owner: np.ndarray) -> int:
    """How many territories are one connected piece under the file's adjacency list."""
    e = inst.edges[owner[inst.edges[:, 0]] == owner[inst.edges[:, 1]]]
    n = len(owner)
    g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    return sum(len(np.unique(comp[owner == r])) == 1 for r in np.unique(owner))


def measures(inst: Instance, owner: np.ndarray, centres: np.ndarray) -> dict[str, Any]:
    """The paper's measures of an assignment (owner: territory index per unit; centres: unit per territory)."""
    d = distances(inst, centres)[np.arange(len(owner)), owner]
    out: dict[str, Any] = {
        "dispersion": round(float(d.max()), 2),  # Ríos-Mercado & Fernández (2009): largest distance to the centre
        "sum_distance": round(float(d.sum()), 2),  # p-median dispersion (2021 paper), the ALNS study's compactness
        "mean_distance": round(float(d.mean()), 2),
        "connected_territories": connected(inst, owner),
    }
    for j, col in enumerate(ACTIVITIES):
        load = np.bincount(owner, weights=inst.activity[:, j], minlength=inst.p)
        out[f"dev_{col}"] = round(float(np.abs(load / load.mean() - 1).max()), 5)
    return out


def frames(inst: Instance, centres: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The instance as the product optimizer takes it: units as unowned accounts, centres as rep homes
    (lat/lon only for maps: about 5 km per coordinate unit), the travel matrix as distance."""
    lat = 30 + inst.xy[:, 1] / 100
    lon = -100 + inst.xy[:, 0] / 100 / np.cos(np.radians(32.5))
    ids = [f"BU{i:04d}" for i in range(len(inst.xy))]
    a = inst.activity
    acc = pd.DataFrame(
        {"account_id": ids, "name": ids, "lat": lat, "lon": lon, "owner_rep_id": None, "potential": a[:, 1],
         "activity1": a[:, 0], "activity2": a[:, 1], "activity3": a[:, 2], "locked": False, "is_customer": False,
         "has_open_deal": False, "state": "TX", "postal_code": None, "county": ids}
    )  # fmt: skip
    rep_ids = [f"T{k + 1:02d}" for k in range(len(centres))]
    reps = pd.DataFrame(
        {"rep_id": rep_ids, "name": rep_ids, "home_lat": lat[centres], "home_lon": lon[centres],
         "capacity_hours": 1600.0, "active": True}
    )  # fmt: skip
    return acc, reps, pd.DataFrame(distances(inst, centres), index=ids, columns=rep_ids)


def solve(
    inst: Instance, centres: np.ndarray, tau: float = TAU, contiguous: bool = False
) -> tuple[np.ndarray, dict[str, Any]]:
    """One product solve with fixed centres: the territory index per unit and the solver's figures.
    `contiguous`: each basic unit is its own area unit (county "TX · BU0007") and the product's
    Options.contiguous holds every territory in one piece under the FILE's adjacency list, given as
    Options.adjacency (what `balance --contiguous --adjacency FILE` reads), then restores the bands."""
    acc, reps, dist = frames(inst, centres)
    opts = Options(metric=",".join(f"column:{c}" for c in ACTIVITIES), tolerance=tau, compactness=1.0,
                   unit="county" if contiguous else "account", contiguous=contiguous,
                   adjacency=file_adjacency(inst) if contiguous else None)  # fmt: skip
    start = time.perf_counter()
    res = rebalance(acc, reps, opts, distance=dist)
    seconds = time.perf_counter() - start
    owner = res.assignments["owner"].map({r: j for j, r in enumerate(reps["rep_id"])}).to_numpy(dtype=np.int64)
    return owner, {"seconds": seconds, "lp_bound_mean": float(res.summary["travel_km_lp_bound"])}


def file_adjacency(inst: Instance) -> tuple[tuple[str, str], ...]:
    """The file's adjacency list as pairs of the county codes `frames` gives the units."""
    return tuple((f"TX · BU{a:04d}", f"TX · BU{b:04d}") for a, b in inst.edges.tolist())


def one_median(inst: Instance, owner: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each territory's unit with the least sum of distances to the territory's units (ties: the old centre)."""
    new = centres.copy()
    for r in range(len(centres)):
        mine = np.flatnonzero(owner == r)
        if len(mine) == 0:
            continue
        cost = np.sqrt(((inst.xy[mine][:, None, :] - inst.xy[mine][None, :, :]) ** 2).sum(axis=2)).sum(axis=1)
        best = mine[int(np.argmin(cost))]
        here = np.flatnonzero(mine == centres[r])
        new[r] = centres[r] if len(here) and cost[here[0]] <= cost.min() + 1e-9 else best
    return new


def within(row: dict[str, Any], tau: float = TAU) -> bool:
    return max(row[f"dev_{c}"] for c in ACTIVITIES) <= tau + 1e-9


def _start(inst: Instance, seed: int) -> np.ndarray:
    """p distinct units nearest k-means++ centres of the units."""
    centroids, _ = kmeans2(inst.xy, inst.p, seed=seed, minit="++")
    order = np.argsort(((inst.xy[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=0)
    centres: list[int] = []
    for r in range(inst.p):
        centres.append(next(int(u) for u in order[:, r] if int(u) not in centres))
    return np.array(centres)


def location_allocation(
    inst: Instance, seeds: tuple[int, ...] = SEEDS, tau: float = TAU, contiguous: bool = False
) -> dict[str, Any]:
    """From each seed's k-means centres, alternate a product solve and 1-median centres until the centres
    repeat; the round with every activity within tau and the least sum of distances, over all seeds
    (`contiguous`: each solve holds every territory in one piece under the file's adjacency)."""
    best: dict[str, Any] | None = None
    seconds, solves = 0.0, 0
    for seed in seeds:
        centres, seen = _start(inst, seed), set[tuple[int, ...]]()
        while len(seen) < MAX_ROUNDS and tuple(centres) not in seen:
            seen.add(tuple(centres))
            owner, info = solve(inst, centres, tau, contiguous)
            seconds += info["seconds"]
            solves += 1
            row = {**measures(inst, owner, centres), "lp_bound_mean": round(info["lp_bound_mean"], 2)}
            if best is None or (within(row, tau), -row["sum_distance"]) > (within(best, tau), -best["sum_distance"]):
                best = row
            centres = one_median(inst, owner, centres)
    assert best is not None
    return {**best, "solves": solves, "seeds": len(seeds), "seconds": round(seconds, 2)}


def run(name: str, folder: Path = FOLDER, tau: float = TAU) -> dict[str, Any]:
    """Every measure of one instance: the published solution, the product with its centres, and the product
    with its own centres (location-allocation)."""
    inst = parse(folder / f"{name}.dat")
    pub = parse_published(folder / "published" / f"{name}.out")
    pub_owner = np.full(len(inst.xy), -1)
    for r, units in enumerate(pub.territories):
        pub_owner[units] = r
    if (pub_owner < 0).any() or len(pub.territories) != inst.p:
        raise ValueError(f"{name}: the published solution does not cover every unit with {inst.p} territories")
    pub_centres = np.array(pub.centres)
    published = {**measures(inst, pub_owner, pub_centres), "stated_compactness": pub.compactness}
    owner, info = solve(inst, pub_centres, tau)
    same_centres = {**measures(inst, owner, pub_centres), "lp_bound_mean": round(info["lp_bound_mean"], 2),
                    "seconds": round(info["seconds"], 2)}  # fmt: skip
    owner, info = solve(inst, pub_centres, tau, contiguous=True)
    contiguous = {**measures(inst, owner, pub_centres), "lp_bound_mean": round(info["lp_bound_mean"], 2),
                  "seconds": round(info["seconds"], 2)}  # fmt: skip
    return {"instance": name, "n": len(inst.xy), "p": inst.p, "edges": len(inst.edges), "tau": tau,
            "file_taus": list(inst.taus), "seed": inst.seed, "published": published,
            "product_published_centres": same_centres, "product_published_centres_contiguous": contiguous,
            "product_own_centres": location_allocation(inst, tau=tau),
            "product_own_centres_contiguous": location_allocation(inst, tau=tau, contiguous=True)}  # fmt: skip


def _devs(r: dict[str, Any]) -> str:
    return " / ".join(f"{r[f'dev_{c}']:.1%}" for c in ACTIVITIES)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The ctdp table of bench/RESULTS.md from `run` JSON lines."""
    out = [
        "| instance (n, p) | solution | largest deviation: activity 1 / 2 / 3 | within τ | dispersion (max distance "
        "to centre) | sum of distances (mean; LP bound of the mean) | connected territories (file adjacency) | "
        "solve s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        head = f"{row['instance']} ({row['n']}, {row['p']})"
        pub = row["published"]
        out.append(
            f"| {head} | published ALNS (stated sum {pub['stated_compactness']:,.2f}) | {_devs(pub)} | "
            f"{'yes' if within(pub, row['tau']) else 'no'} | {pub['dispersion']:.1f} | {pub['sum_distance']:,.2f} "
            f"({pub['mean_distance']:.2f}) | {pub['connected_territories']} of {row['p']} | – |"
        )
        for key, label in (("product_published_centres", "product, published centres"),
                           ("product_published_centres_contiguous", "product, published centres, contiguous"),
                           ("product_own_centres", "product, own centres"),
                           ("product_own_centres_contiguous", "product, own centres, contiguous")):  # fmt: skip
            if key not in row:  # a line written before the row existed
                continue
            r = row[key]
            label += f" ({r['solves']} solves from {r['seeds']} starts)" if "solves" in r else ""
            out.append(
                f"| {head} | {label} | {_devs(r)} | {'yes' if within(r, row['tau']) else 'no'} | "
                f"{r['dispersion']:.1f} | {r['sum_distance']:,.2f} ({r['mean_distance']:.2f}; {r['lp_bound_mean']:.2f}) "
                f"| {r['connected_territories']} of {row['p']} | {r['seconds']:.2f} |"
            )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the instances (JSON lines) or print the table; 2 and one line on stderr on bad arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(__doc__.strip())
        return 0
    if not args:
        for name in INSTANCES:
            print(json.dumps(run(name)), flush=True)
        return 0
    if args[0] == "table" and len(args) == 2:
        try:
            text = Path(args[1]).read_text(encoding="utf-8")
        except OSError as exc:
            print(
                f"error: cannot read {args[1]} ({exc.strerror}); give the JSON lines file a run wrote", file=sys.stderr
            )
            return USAGE_ERROR
        print(markdown([json.loads(line) for line in text.splitlines() if line.strip()]))
        return 0
    print(f"error: unknown arguments {' '.join(args)!r}; see --help", file=sys.stderr)
    return USAGE_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
