"""Accounts with no place at all (no coordinates, state or country): their travel is the same (none) to every rep, so
the bands alone decide who gets them; travel figures are over the placed accounts only; an unowned one with no
country is spread over the markets by their reps' capacity, not sent to the market of the rep nearest a made-up
point (the book's mean, between the countries)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner import optimize
from planner.geo import EARTH_KM
from planner.optimize import Options
from planner.optimize.problem import _dist_block, _km, _nearest_reps, _prepare, _with_distance
from planner.optimize.quality import overlap

BERLIN, MUNICH, PARIS, LYON = (52.52, 13.40), (48.14, 11.58), (48.86, 2.35), (45.76, 4.84)
HOMES = {"D1": BERLIN, "D2": MUNICH, "F1": PARIS, "F2": LYON}
NOWHERE = [f"x{i}" for i in range(8)]


def _team() -> pd.DataFrame:
    return pd.DataFrame(
        [{"rep_id": r, "name": f"Rep {r}", "home_lat": la, "home_lon": lo, "capacity_hours": 1400.0, "active": True}
         for r, (la, lo) in HOMES.items()]
    )  # fmt: skip


def _book() -> pd.DataFrame:
    """Germany and France, 10 accounts around each rep's home with that rep; 8 unowned accounts with no place and no
    country; 2 of D2's and 1 of F1's with no place either; 1 unplaced account of F2's whose country is known."""
    rows = []
    for r, (la, lo) in HOMES.items():
        country = "DE" if r.startswith("D") else "FR"
        rows += [(f"{r}_{i}", la + 0.1 * (i % 4) - 0.3, lo + 0.12 * (i // 4), r, country) for i in range(10)]
    rows += [(a, None, None, None, None) for a in NOWHERE]
    rows += [("d2_lost0", None, None, "D2", None), ("d2_lost1", None, None, "D2", None)]
    rows += [("f1_lost", None, None, "F1", None), ("f2_fr", None, None, "F2", "FR")]
    return pd.DataFrame(
        [{"account_id": a, "name": a, "lat": la, "lon": lo, "owner_rep_id": o, "country": c, "state": None,
          "postal_code": None, "county": None, "potential": 10.0 + (i % 5), "locked": False, "is_customer": False,
          "has_open_deal": False} for i, (a, la, lo, o, c) in enumerate(rows)]
    )  # fmt: skip


def _km_between(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p = np.pi / 180
    a = np.sin((lat2 - lat1) * p / 2) ** 2 + np.cos(lat1 * p) * np.cos(lat2 * p) * np.sin((lon2 - lon1) * p / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(a))


def test_an_account_with_no_place_travels_the_same_to_every_rep() -> None:
    p = _prepare(_book(), _team(), Options(metric="accounts"))
    ids = p.acc["account_id"].to_numpy()
    lost = np.flatnonzero(np.isin(ids, [*NOWHERE, "d2_lost0", "d2_lost1", "f1_lost"]))
    assert p.nowhere is not None and list(np.flatnonzero(p.nowhere)) == list(lost)
    assert (_dist_block(p, lost) == 0).all()
    assert (_km(p, lost, np.zeros(len(lost), dtype=np.int64)) == 0).all()
    # The k "nearest" reps of such accounts go round the team: no rep is every one's nearest.
    _, near = _nearest_reps(p, p.xyz[lost], 2, lost)
    assert set(near[:, 0]) == set(range(4))
    # An unplaced account whose country is known sits at the centre of that country's placed accounts.
    fr = p.acc[(p.acc["country"] == "FR") & ~p.acc["_unplaced"]]
    row = p.acc.set_index("account_id").loc["f2_fr"]
    assert (row["lat"], row["lon"]) == pytest.approx((fr["lat"].mean(), fr["lon"].mean()))


def test_unowned_accounts_with_no_place_are_spread_over_the_markets() -> None:
    res = optimize.rebalance(_book(), _team(), Options(metric="potential", tolerance=0.10))
    owners = res.assignments.set_index("account_id")["owner"]
    markets = {o[0] for o in owners[NOWHERE]}
    assert markets == {"D", "F"}  # the reps' capacities are equal: both markets get about half of them
    notes = " ".join(res.summary["notes"])
    assert "8 account(s) have no place, no country and no owner (x0, x1, x2 and 5 more)" in notes
    assert "11 account(s) have no place" in notes and "left out of every travel figure" in notes
    reasons = res.assignments.set_index("account_id")["reason"]
    assert reasons["x0"].startswith("unassigned: to Rep ") and reasons["x0"].endswith("(no place: by balance)")


@pytest.mark.parametrize("within", ["country", "none"])
def test_travel_figures_are_over_the_placed_accounts(within: str) -> None:
    book, team = _book(), _team()
    res = optimize.rebalance(book, team, Options(metric="potential", tolerance=0.10, within=within))
    s, a = res.summary, res.assignments.set_index("account_id")
    # f2_fr has no coordinates but a country: it sits at the centre of France's placed accounts, and counts.
    book.loc[book["account_id"] == "f2_fr", ["lat", "lon"]] = (
        book.loc[(book["country"] == "FR") & book["lat"].notna(), ["lat", "lon"]].mean().to_numpy()
    )
    placed = book.set_index("account_id")[["lat", "lon"]].dropna()
    placed = placed.join(a[["owner", "previous_owner"]])
    homes = team.set_index("rep_id")
    km = {}
    for when, col in (("today", "previous_owner"), ("after", "owner")):
        h = homes.reindex(placed[col])
        km[when] = pd.Series(
            _km_between(placed["lat"].to_numpy(), placed["lon"].to_numpy(), h["home_lat"].to_numpy(),
                        h["home_lon"].to_numpy()), index=placed.index)  # fmt: skip
        assert s[f"travel_km_{when}"] == pytest.approx(km[when].mean(), rel=1e-6)
        assert s[f"travel_km_p95_{when}"] == pytest.approx(np.percentile(km[when].dropna(), 95), rel=1e-6)
    to_rep = pd.DataFrame(
        {r: _km_between(placed["lat"].to_numpy(), placed["lon"].to_numpy(), la, lo) for r, (la, lo) in HOMES.items()},
        index=placed.index,
    )
    top3 = to_rep.rank(axis=1, method="first") <= 3
    assert s["top3_share_after"] == pytest.approx(np.mean([top3.loc[i, o] for i, o in placed["owner"].items()]))
    assert s["travel_km_nearest"] == pytest.approx(to_rep.min(axis=1).mean(), rel=1e-6)
    # Overlap as measured on the book without the accounts that have no place, with the same owners.
    only = book[book["account_id"].isin(placed.index)].reset_index(drop=True)
    p = _prepare(only, team, Options(metric="potential"))
    rid = {r: i for i, r in enumerate(p.reps["rep_id"])}
    assert s["overlap_after"] == pytest.approx(overlap(p, only["account_id"].map(a["owner"]).map(rid).to_numpy()))
    assert s["unplaced_accounts"] == 11
    # Per account: no travel shown for an account with no place; the LP's bound is a mean over the placed too.
    assert a.loc[NOWHERE, "km_after"].isna().all() and np.isnan(a.loc["d2_lost0", "km_before"])
    assert s["travel_km_nearest"] - 1e-6 <= s["travel_km_lp_bound"] <= s["travel_km_after"] + 1e-6


def test_a_travel_matrix_row_for_an_account_with_no_place_steers_nothing() -> None:
    """A matrix's row the reader guessed for an account with no place (the book's mean per rep) is no travel:
    0 to every rep, left out of the figures, so the nearest rep of a made-up point gets nothing for it."""
    book, team = _book(), _team()
    ids = book["account_id"]
    lat, lon = book["lat"].fillna(50.0).to_numpy(), book["lon"].fillna(8.0).to_numpy()  # Frankfurt-ish for the lost
    mat = pd.DataFrame({r: _km_between(lat, lon, la, lo) for r, (la, lo) in HOMES.items()}, index=ids)
    # A matrix given as is prices every row (Pfizer's bricks have no coordinates, only the matrix's travel).
    assert _with_distance(_prepare(book, team, Options(metric="potential")), mat).nowhere is None
    # The rows the matrix reader filled in for accounts it had no row for are marked so (matrix.travel_matrix).
    mat.attrs["imputed_accounts"] = ids[_prepare(book, team, Options(metric="potential")).nowhere].tolist()
    p = _with_distance(_prepare(book, team, Options(metric="potential")), mat)
    assert p.nowhere is not None and (p.distance[p.nowhere] == 0).all()
    assert p.distance_today is not None and np.isnan(p.distance_today[p.nowhere][:8]).all()
    assert list(p.distance_today[p.nowhere][8:]) == [0.0] * 3  # owned: no travel today either
    res = optimize.rebalance(book, team, Options(metric="potential", tolerance=0.10, within="none"), distance=mat)
    s, a = res.summary, res.assignments.set_index("account_id")
    placed = ~ids.isin([*NOWHERE, "d2_lost0", "d2_lost1", "f1_lost"]).to_numpy()  # f2_fr's row counts: it has a country
    after = [mat.loc[i, o] for i, o in zip(ids[placed], a.loc[ids[placed], "owner"], strict=True)]
    assert s["travel_km_after"] == pytest.approx(np.mean(after), rel=1e-6)
    assert a.loc[NOWHERE, "km_after"].isna().all() and s["unplaced_accounts"] == 11
