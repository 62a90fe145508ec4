"""planner.optimize.quality: the overlap measure against a plain reference (every point against every outline)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import ConvexHull, Delaunay

from planner.optimize import Options
from planner.optimize.problem import _prepare
from planner.optimize.quality import _plane, overlap


def _reference_overlap(xy: np.ndarray, assign: np.ndarray) -> float:
    inside = np.zeros(len(xy), dtype=bool)
    for r in np.unique(assign):
        pts = np.unique(xy[assign == r], axis=0)
        tri = Delaunay(pts[ConvexHull(pts).vertices])
        inside |= (assign != r) & (tri.find_simplex(xy) >= 0)
    return float(inside.mean())


def test_overlap_counts_the_accounts_inside_another_territorys_outline() -> None:
    rng = np.random.default_rng(5)
    n, n_reps = 1_200, 8
    acc = pd.DataFrame(
        {"account_id": [f"a{i}" for i in range(n)], "lat": rng.uniform(30, 45, n), "lon": rng.uniform(-120, -75, n),
         "owner_rep_id": None, "potential": 1.0, "locked": False, "is_customer": False, "has_open_deal": False}
    )  # fmt: skip
    homes = rng.uniform((30, -120), (45, -75), (n_reps, 2))
    reps = pd.DataFrame(
        {"rep_id": [f"R{i}" for i in range(n_reps)], "name": "r", "home_lat": homes[:, 0], "home_lon": homes[:, 1],
         "capacity_hours": 1400.0, "active": True}
    )  # fmt: skip
    p = _prepare(acc, reps, Options())
    xy = _plane(p)
    # Territories by longitude band (little overlap) and at random (nearly every account inside another's).
    for assign in (np.minimum((acc["lon"].to_numpy() + 120) // 5.625, n_reps - 1).astype(np.int64),
                   rng.integers(0, n_reps, n)):  # fmt: skip
        got = overlap(p, assign)
        assert got == _reference_overlap(xy, assign)
    assert 0.0 <= overlap(p, np.minimum((acc["lon"].to_numpy() + 120) // 5.625, n_reps - 1).astype(np.int64)) < 0.2
    assert overlap(p, rng.integers(0, n_reps, n)) > 0.8


def test_quality_table_keeps_a_row_for_a_run_that_stopped() -> None:
    from bench.optimizer import quality_markdown

    table = quality_markdown([{"world": "100000x200", "run": "3 metrics", "error": "the solver hit its time limit"}])
    row = table.splitlines()[-1]
    assert row.startswith("| 100000x200 | 3 metrics | not measured: the solver hit its time limit |")
    assert row.count("|") == table.splitlines()[0].count("|")


def test_pooled_top3_bound_is_above_the_all_pairs_lp_and_every_assignment() -> None:
    """bench top3's pooled LP (the one that ends at 200 reps) is a true upper bound: at least the LP over every
    pair, which is at least what the optimizer's whole accounts reach, on three bands and on one."""
    from bench.optimizer import balanced_world, top3_bound, top3_pooled
    from planner.optimize import rebalance

    acc, reps = balanced_world(900, 9, seed=1)
    for opts in (
        Options(metric="potential,accounts,workload", allow_customers=True, allow_open_deals=True),
        Options(allow_customers=True, allow_open_deals=True, tolerance=0.02),
    ):
        pooled = top3_pooled(acc, reps, opts)
        lp = top3_bound(acc, reps, opts)["top3_share_lp_max"]
        reached = rebalance(acc, reps, opts).summary["top3_share_after"]
        assert pooled is not None and lp is not None
        assert pooled >= lp - 1e-6 >= reached - 2e-6
        assert pooled <= 1.0 + 1e-9
    # Bands no assignment reaches (every account a customer of one rep, customers staying): no bound, not a number.
    held = acc.assign(owner_rep_id=reps["rep_id"].iloc[0], is_customer=True)
    assert top3_pooled(held, reps, Options()) is None


def test_a_territory_over_two_continents_has_an_outline_in_each_country() -> None:
    """One hull around a rep's Boston and Berlin accounts spanned the Atlantic, so every account of the London
    and Dublin territory counted as inside another's outline (a book over several continents read ~100%)."""
    from planner.coverage.hexmap import _outlines

    rng = np.random.default_rng(2)
    places = {"US": (42.36, -71.06), "DE": (52.52, 13.40), "GB": (51.51, -0.13), "IE": (53.35, -6.26)}
    rows = []
    for code, (lat, lon) in places.items():
        for i in range(30):
            rows.append((f"{code}{i}", lat + rng.normal(0, 0.3), lon + rng.normal(0, 0.3), code))
    acc = pd.DataFrame(rows, columns=["account_id", "lat", "lon", "country"]).assign(
        owner_rep_id=None, potential=1.0, locked=False, is_customer=False, has_open_deal=False
    )
    reps = pd.DataFrame({"rep_id": ["A", "B"], "name": ["A", "B"], "home_lat": [42.36, 51.51],
                         "home_lon": [-71.06, -0.13], "capacity_hours": 1400.0, "active": True})  # fmt: skip
    p = _prepare(acc, reps, Options())
    assign = acc["country"].isin(["GB", "IE"]).to_numpy().astype(np.int64)  # A: Boston and Berlin; B: the isles
    assert overlap(p, assign) == 0.0
    assert overlap(_prepare(acc.drop(columns="country"), reps, Options()), assign) > 0.1  # one hull: the isles in it
    # The map draws A in two outlines, one on each side of the Atlantic (hexagons more than 1,500 km apart); B's
    # isles, 460 km apart, in one.
    hexes = acc.assign(top_rep_id=np.where(assign == 1, "B", "A"))[["lat", "lon", "top_rep_id"]]
    drawn = _outlines(hexes, reps, {"A": "A", "B": "B"})
    assert len(_outlines(hexes, reps.assign(home_lat=np.nan), {})) == 3  # no home: every hexagon kept
    assert sorted(f["properties"]["rep_id"] for f in drawn) == ["A", "A", "B"]
    west = [f for f in drawn if max(lng for lng, _ in f["geometry"]["coordinates"][0]) < -60]
    assert len(west) == 1 and all(lng < -69 for lng, _ in west[0]["geometry"]["coordinates"][0])
