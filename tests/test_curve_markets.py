"""The disruption trade-off within countries (planner.optimize.curve): once customers and open deals may move, the
accounts owned by a rep in another country must go to a rep in their own whatever the cap. That share is the curve's
floor (its first point, its caps above it), and today's rule (red) is compared only with a point moving no more, or
the caption says none does; a saving is never written as a negative cost."""

from __future__ import annotations

import pandas as pd
import pytest

from planner import optimize
from planner.optimize import Options
from planner.optimize.curve import trade_off_text

BERLIN, PARIS = (52.52, 13.40), (48.86, 2.35)
OPTS = Options(metric="accounts", tolerance=0.15)


def _team() -> pd.DataFrame:
    homes = {"B1": BERLIN, "B2": BERLIN, "P1": PARIS, "P2": PARIS}
    return pd.DataFrame(
        [{"rep_id": r, "name": f"Rep {r}", "home_lat": la, "home_lon": lo, "capacity_hours": 1400.0, "active": True}
         for r, (la, lo) in homes.items()]
    )  # fmt: skip


def _book(b1_berlin: int) -> pd.DataFrame:
    """10 Berlin accounts (B1 holds `b1_berlin`, B2 the rest), 10 Paris accounts split 5/5, and 4 Paris customers
    owned by the Berlin rep B1: cross-border, they stay by default and must go to France once customers may move."""
    rows = [(f"b{i}", BERLIN, "B1" if i < b1_berlin else "B2", "DE", False) for i in range(10)]
    rows += [(f"p{i}", PARIS, "P1" if i < 5 else "P2", "FR", False) for i in range(10)]
    rows += [(f"x{i}", PARIS, "B1", "FR", True) for i in range(4)]
    return pd.DataFrame(
        [{"account_id": a, "name": a, "lat": at[0] + 0.01 * i, "lon": at[1], "owner_rep_id": o, "country": c,
          "potential": 10.0, "state": None, "postal_code": None, "county": None, "locked": False,
          "is_customer": cust, "has_open_deal": False} for i, (a, at, o, c, cust) in enumerate(rows)]
    )  # fmt: skip


def test_the_curve_starts_at_the_share_that_must_change_country() -> None:
    curve, default = optimize.disruption_curve(_book(6), _team(), OPTS)
    floor = default["forced_moved_share"]
    assert floor == pytest.approx(4 / 24)  # the four cross-border customers
    first = curve.iloc[0]
    assert first["point"] == f"only the {floor:.1%} that must move"
    assert first["moved_share"] == pytest.approx(floor)
    capped = curve[curve["point"] != "free"].iloc[1:]
    assert len(capped) and (capped["moved_cap"] > floor).all()  # no cap below the floor: no repeated point
    assert curve["point"].is_unique
    # Today's rule moves 3 of 24 (B1's Berlin surplus), less than any curve point: no comparison, and it says so.
    assert default["moved_share"] < floor and default["compared_with"] is None
    text = trade_off_text(default)
    assert f"from the {floor:.1%} of the metric that must then change owner" in text
    assert "another country" in text and "No point of the curve moves as little" in text
    assert "costs" not in text


def test_today_s_rule_is_compared_with_a_point_moving_no_more() -> None:
    curve, default = optimize.disruption_curve(_book(9), _team(), OPTS)
    assert default["moved_share"] > default["forced_moved_share"]  # B1 gives 6 of 24 away today
    ref = curve[curve["point"] == default["compared_with"]].iloc[0]
    assert ref["moved_share"] <= default["moved_share"] + 1e-9
    assert default["compared_moved_share"] == pytest.approx(ref["moved_share"])
    assert "costs -" not in trade_off_text(default)


@pytest.mark.parametrize(
    ("km", "mm", "says", "never"),
    [
        (30.04, -0.136, ["costs +30.0 km of mean travel", "is 0.136 better balanced"], ["-0.136", "costs -"]),
        (-12.5, 0.02, ["saves 12.5 km of mean travel", "is 0.020 less balanced"], ["costs", "-12.5"]),
        (0.0, 0.0, ["travels as much", "is as balanced"], ["costs", "-0.0"]),
    ],
)
def test_a_saving_is_never_written_as_a_negative_cost(km: float, mm: float, says: list[str], never: list[str]) -> None:
    default = {"moved_share": 0.1, "forced_moved_share": 0.0, "forced_why": "", "extra_travel_km": km,
               "extra_max_mean": mm, "compared_with": "≤ 8.0% moved", "compared_moved_share": 0.08}  # fmt: skip
    text = trade_off_text(default)
    assert "(from none to anything)" in text and "'≤ 8.0% moved' (8.0% moved, no more)" in text
    assert all(s in text for s in says) and not any(n in text for n in never)
