"""A whale with several metrics at once (potential, accounts, workload): the account of 98.5% of the potential stays
with its owner, the least that has to move is each metric's excess over its own reachable band (before: the blend's,
widened to ±64% by the whale, said 13.2% where 0.5% had to move), the accounts and workload bands keep their ±5%, and
a note says which band was widened and why (before: the default run moved the whale and 98.9% of the potential)."""

from __future__ import annotations

import pandas as pd
import pytest

from planner import optimize
from planner.optimize import Options
from tests.test_whale import REPS, _team
from tests.test_whale import _book as whale_book

METRICS = "potential,accounts,workload"


@pytest.fixture(autouse=True)
def _every_account_at_12_touches(monkeypatch: pytest.MonkeyPatch) -> None:
    """These instances were built when every account took 12 touches a year, customer or prospect; with fewer
    for prospects the book fits the default capacity and capacity binds, another case than the one tested."""
    monkeypatch.setenv("PLANNER_TOUCHES_PER_YEAR", "12")


def _book() -> pd.DataFrame:
    """300 small accounts owned at random, and a whale of 98.5% of the potential owned by C, next to D's home."""
    return whale_book(n=300, seed=3)


def _excess(load: pd.Series, lo: float, hi: float) -> float:
    """The least share of a metric that must move for loads (shares of the metric, equal targets) to lie within lo..hi
    of the target: the excess over the top, or the deficit under the bottom, whichever is more."""
    target = 1 / len(REPS)
    return max(float((load - hi * target).clip(lower=0).sum()), float((lo * target - load).clip(lower=0).sum()))


def _by_hand(acc: pd.DataFrame) -> tuple[float, float, float]:
    """The potential band's top (the whale over a target, plus its territory's even share of the rest at +5%), and
    the least that has to move: each metric's excess over its own band, in the moved share's equal parts."""
    pot = acc["potential"] / acc["potential"].sum()
    whale = float(pot.max())
    top = whale * len(REPS) + (1 - whale) * 1.05
    owner = acc["owner_rep_id"]
    least_pot = _excess(pot.groupby(owner).sum(), 2 - top, top)
    least_acc = _excess(owner.value_counts() / len(acc), 0.95, 1.05)
    return top, least_pot, least_acc


def test_least_moved_counts_each_metric_against_its_own_band() -> None:
    acc = _book()
    top, least_pot, least_acc = _by_hand(acc)
    s = optimize.rebalance(acc, _team(), Options(metric=METRICS, max_moved=0.0)).summary
    bands = {b["metric"]: b for b in s["metrics"]}
    assert bands["potential"]["reach_high"] == pytest.approx(top)
    assert (bands["accounts"]["reach_low"], bands["accounts"]["reach_high"]) == pytest.approx((0.95, 1.05))
    assert (bands["workload"]["reach_low"], bands["workload"]["reach_high"]) == pytest.approx((0.95, 1.05))
    # Workload: the accounts' hours (meetings plus travel from the nearest rep), as the optimizer counts them.
    hours = optimize.metric_values(acc, _team(), Options(metric=METRICS))["workload"].reindex(acc["account_id"])
    share = hours.to_numpy() / hours.sum()
    least_wl = _excess(pd.Series(share).groupby(acc["owner_rep_id"].to_numpy()).sum(), 0.95, 1.05)
    least = (least_pot + least_acc + least_wl) / 3
    assert s["min_moved_share"] == pytest.approx(least)
    assert 0 < least < 0.01  # before: 13.2%, against the blend's band widened to ±64% by the whale


def test_default_run_keeps_the_whale_and_the_other_bands() -> None:
    acc = _book()
    res = optimize.rebalance(acc, _team(), Options(metric=METRICS))
    s = res.summary
    owners = dict(zip(res.assignments["account_id"], res.assignments["owner"], strict=True))
    assert owners["whale"] == "C"  # before: to A, and 98.9% of the potential moved
    assert s["moved_potential_share"] < 0.01
    assert s["min_moved_share"] - 1e-9 <= s["moved_share"] <= 1.5 * s["min_moved_share"]
    bands = {b["metric"]: b for b in s["metrics"]}
    # The whale widens the potential band only: accounts and workload stay within their ±5%.
    assert bands["accounts"]["met"] and bands["workload"]["met"], s["metrics"]
    assert bands["potential"]["max_mean_after"] <= bands["potential"]["reach_high"] + 1e-9
    # No territory is emptied of potential below today's smallest.
    assert bands["potential"]["min_mean_after"] >= bands["potential"]["reach_low"] - 1e-9
    assert s["within_reach"]


def test_the_report_says_which_band_was_widened_and_why() -> None:
    acc = _book()
    top, _, _ = _by_hand(acc)
    s = optimize.rebalance(acc, _team(), Options(metric=METRICS, max_moved=0.0)).summary
    low = next(b["reach_low"] for b in s["metrics"] if b["metric"] == "potential")
    note = (
        f"potential: one account, whale, holds 98.5% of potential: the band any assignment can reach is {low:.3f}x "
        f"to {top:.3f}x the target instead of ±5%"
    )
    assert any(n.startswith(note) for n in s["notes"]), s["notes"]
    assert any("the other metrics keep their own bands" in n for n in s["notes"])
    assert not any(n.startswith(("accounts:", "workload:")) for n in s["notes"])


def test_the_whale_moves_when_its_owner_leaves() -> None:
    acc = _book()
    res = optimize.rebalance(acc, _team(), Options(metric=METRICS, remove_reps=("C",)))
    owners = dict(zip(res.assignments["account_id"], res.assignments["owner"], strict=True))
    assert owners["whale"] != "C"
    bands = {b["metric"]: b for b in res.summary["metrics"]}
    assert bands["potential"]["max_mean_after"] <= bands["potential"]["reach_high"] + 1e-9


def test_one_metric_notes_its_widened_band() -> None:
    """One metric: the same note, without the other metrics; its band and figures stay as they were (test_whale)."""
    acc = _book()
    s = optimize.rebalance(acc, _team(), Options(max_moved=0.0)).summary
    assert any(n.startswith("potential: one account, whale, holds 98.5% of potential") for n in s["notes"])
    assert not any("other metrics" in n for n in s["notes"])
    assert s["metrics"][0]["reach_high"] == pytest.approx(float(acc["potential"].max() / acc["potential"].sum()) * 5)
