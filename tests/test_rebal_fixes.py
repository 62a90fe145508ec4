"""Rebalance on non-demo books (explore D items 4 and 9): the pairs to route leave out accounts without a place
and put a postal code at its finest rows; ZIP3 areas are real ones; the contiguity report counts areas; the
scenario comparison shows every balanced metric, money in the store's currency."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import optimize, scenarios, store, text
from planner.errors import BadInput
from planner.optimize import contiguity, matrix
from planner.optimize.problem import _prepare, _units, _zip3
from planner.scope import OPERATOR
from tests.helpers import errors, page
from ui import charts

# ---------------------------------------------------------------- pairs to route and the travel matrix


def book() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Berlin and Munich accounts; P1 in Berlin has no place of its own (it shares 10115 with placed ones), U1 and
    U2 have no place and no code others share: no routing engine can price them."""
    acc = pd.DataFrame(
        {"account_id": ["B1", "B2", "B3", "M1", "P1", "U1", "U2"],
         "postal_code": ["10115", "10115", "10115", "80331", "10115", None, "99999"],
         "country": ["DE", "DE", "DE", "DE", "DE", None, "DE"],
         "state": [None, None, None, "BY", None, None, "BY"],
         # B3 only got Germany's centre (geo_precision 'country'): it must not drag 10115 towards Kassel
         "lat": [52.52437, 52.52437, 51.3167, 48.1374, None, None, None],
         "lon": [13.41053, 13.41053, 9.5, 11.5755, None, None, None],
         "geo_precision": ["city", "city", "country", "postal_code", None, None, None]}
    )  # fmt: skip
    reps = pd.DataFrame(
        {"rep_id": ["R1", "R2"], "name": ["Anna", "Max"], "home_postal_code": ["10115", "80331"],
         "home_lat": [52.52, 48.14], "home_lon": [13.41, 11.58], "active": [True, True]}
    )  # fmt: skip
    return acc, reps


def filled(pairs: pd.DataFrame) -> pd.DataFrame:
    """The template as a routing engine returns it: minutes in every row (rep R1: 10 + i, R2: 100 + i)."""
    out = pd.read_csv(io.BytesIO(pairs.to_csv(index=False).encode()), dtype=str, keep_default_na=False)
    out["minutes"] = [str((10 if f == "R1" else 100) + i) for i, f in enumerate(out["from"])]
    return out


def test_pairs_to_route_hold_only_places_a_routing_engine_can_price() -> None:
    acc, reps = book()
    t = matrix.route_pairs(acc, reps)
    assert t["to_lat"].notna().all() and t["to_lon"].notna().all()  # no row a routing engine cannot price
    assert sorted(set(t["to"])) == ["10115", "80331"]
    assert t.attrs["left_out"] == 2  # U1 (no code) and U2 (a code no placed account has)
    # 10115's point is its city rows' (Berlin), not their mean with Germany's centre (51.92, 11.46: Saxony-Anhalt)
    berlin = t.loc[t["to"] == "10115"].iloc[0]
    assert (berlin["to_lat"], berlin["to_lon"]) == (52.52437, 13.41053)
    assert berlin["accounts"] == 4  # B1, B2, B3 and P1 all take the code's row


def test_the_filled_template_is_a_matrix_and_unplaced_accounts_take_the_travel_they_would_without_one() -> None:
    acc, reps = book()
    rows = filled(matrix.route_pairs(acc, reps))
    got = matrix.travel_matrix(matrix.pairs_from_frame(rows), acc, reps)  # before: "has no minutes ... U1"
    minutes = {(f, t): float(m) for f, t, m in zip(rows["from"], rows["to"], rows["minutes"], strict=True)}
    assert got.loc["P1", "R1"] == minutes[("R1", "10115")]  # shares its code's row
    # U2 is in Bavaria: the mean of its state's placed accounts (M1); U1 names no state: the book's placed ones.
    assert got.loc["U2", "R2"] == minutes[("R2", "80331")]
    placed = ["B1", "B2", "B3", "M1"]
    assert got.loc["U1", "R1"] == pytest.approx(got.loc[placed, "R1"].mean())
    assert got.attrs["unplaced"] == 2 and "2 account(s) without a location" in got.attrs["notes"][0]
    # A placed account the file misses is still an error, and a Berlin code is no ZIP.
    short = rows[~((rows["from"] == "R2") & (rows["to"] == "80331"))]
    with pytest.raises(BadInput) as err:
        matrix.travel_matrix(matrix.pairs_from_frame(short), acc, reps)
    msg = str(err.value)
    assert "account 'M1' (postal code 80331)" in msg and "home postal code 80331" in msg and "ZIP" not in msg
    assert "(1 of 8 pairs missing)" in msg  # of the placed accounts' pairs, not of the unplaced ones too


def test_the_pages_count_agrees_with_the_file_and_says_who_is_left_out(small_store: Path) -> None:
    first = "SELECT account_id FROM accounts ORDER BY account_id"
    with store.write(small_store) as con:
        # three accounts lose their place: one keeps a code placed accounts share, two have codes of their own
        con.execute(f"UPDATE accounts SET lat = NULL, lon = NULL WHERE account_id IN ({first} LIMIT 3)")
        con.execute(f"UPDATE accounts SET postal_code = 'X-1' WHERE account_id IN ({first} LIMIT 1)")
        con.execute(f"UPDATE accounts SET postal_code = NULL WHERE account_id IN ({first} LIMIT 1 OFFSET 1)")
        shared = con.execute(
            f"SELECT postal_code FROM accounts WHERE lat IS NOT NULL AND account_id NOT IN ({first} LIMIT 3) LIMIT 1"
        ).fetchall()[0][0]
        con.execute(f"UPDATE accounts SET postal_code = ? WHERE account_id IN ({first} LIMIT 1 OFFSET 2)", [shared])
    with store.read(small_store) as con:
        n, left_out = scenarios.route_pair_count(con, scope=OPERATOR)
        t = scenarios.route_pairs(con, scope=OPERATOR)
    assert n == len(t) and t["to_lat"].notna().all()
    assert left_out == t.attrs["left_out"] == 2


def test_the_cli_template_says_how_many_accounts_it_left_out(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from planner import cli

    with store.write(small_store) as con:
        con.execute("UPDATE accounts SET lat = NULL, lon = NULL, postal_code = NULL WHERE account_id IN "
                    "(SELECT account_id FROM accounts ORDER BY account_id LIMIT 4)")  # fmt: skip
    out = tmp_path / "pairs.csv"
    assert cli.main(["--db", str(small_store), "balance", "--travel-template", str(out)]) == 0
    said = capsys.readouterr().err
    assert "4 account(s) without a location are left out" in said and "by hand" not in said
    assert pd.read_csv(out)["to_lat"].notna().all()


# ---------------------------------------------------------------- ZIP3 areas and the contiguity report


def test_only_real_zip3_prefixes_are_areas() -> None:
    got = _zip3(pd.Series(["00000", "123", "00123", "99999", "02139", "00501", "2139.0", "ABCDE", None]))
    assert got.tolist()[:3] == [pd.NA, pd.NA, pd.NA]  # 000 and 001: no US ZIP starts so
    assert got.tolist()[3:7] == ["999", "021", "005", "021"]  # 999 (Ketchikan) and 005 (Holtsville) are real
    assert got.iloc[7:].isna().all()


def us_book() -> tuple[pd.DataFrame, pd.DataFrame]:
    """12 accounts in four real ZIP3s, 3 more with codes no ZIP3 holds and no place (00000, 00123 and none)."""
    zips = ["02139", "02140", "02141", "10001", "10002", "10003", "60601", "60602", "60603", "94103", "94104", "94105"]
    lat = [42.36] * 3 + [40.75] * 3 + [41.88] * 3 + [37.77] * 3
    lon = [-71.1] * 3 + [-73.99] * 3 + [-87.62] * 3 + [-122.41] * 3
    n = len(zips) + 3
    acc = pd.DataFrame(
        {"account_id": [f"A{i:02d}" for i in range(n)], "name": [f"Co {i}" for i in range(n)],
         "postal_code": [*zips, "00000", "00123", None], "lat": [*lat, None, None, None],
         "lon": [*lon, None, None, None], "state": None, "country": "US", "county": None,
         "owner_rep_id": ["R1", "R2"] * 7 + ["R1"], "potential": 10.0, "locked": False, "is_customer": False,
         "has_open_deal": False}
    )  # fmt: skip
    reps = pd.DataFrame(
        {"rep_id": ["R1", "R2"], "name": ["East", "West"], "home_lat": [40.7, 37.8], "home_lon": [-74.0, -122.4],
         "capacity_hours": 1600.0, "active": True}
    )  # fmt: skip
    return acc, reps


def test_accounts_in_no_zip3_area_are_the_unplaced_ones() -> None:
    acc, reps = us_book()
    res = optimize.rebalance(acc, reps, optimize.Options(unit="zip3"))
    note = next(n for n in res.summary["notes"] if "in no ZIP3 area" in n)
    unplaced = int(acc["lat"].isna().sum())
    assert note.startswith(f"{unplaced:,} account(s) are in no ZIP3 area")  # before: 1 (000 and 001 were areas)
    u = _units(_prepare(acc, reps, optimize.Options(unit="zip3")), optimize.Options(unit="zip3"))
    assert sorted(set(u.label) - set(acc["account_id"])) == ["021", "100", "606", "941"]


def test_the_join_counts_each_area_once() -> None:
    """A piece that moves, joins another piece and moves again is one area that changed territory (a ZIP3 run on
    258 areas said 479)."""
    rng = np.random.default_rng(7)
    n = 60
    acc = pd.DataFrame(
        {"account_id": [f"A{i:02d}" for i in range(n)], "name": "x", "lat": 35 + rng.random(n) * 10,
         "lon": -100 + rng.random(n) * 20, "state": [f"S{i:02d}" for i in range(n)], "country": "US",
         "postal_code": None, "county": None, "owner_rep_id": None, "potential": 1.0, "locked": False,
         "is_customer": False, "has_open_deal": False}
    )  # fmt: skip
    reps = pd.DataFrame(
        {"rep_id": ["R1", "R2", "R3"], "name": ["a", "b", "c"], "home_lat": [36.0, 40.0, 44.0],
         "home_lon": [-98.0, -90.0, -82.0], "capacity_hours": 1600.0, "active": True}
    )  # fmt: skip
    opts = optimize.Options(unit="state", contiguous=True)
    p = _prepare(acc, reps, opts)
    u = _units(p, opts)
    edges, island, _ = contiguity.unit_graph(p, u, opts)
    assign = rng.integers(0, 3, n)  # territories scattered all over: many pieces to join
    out, moved = contiguity.make_contiguous(p, u, assign, edges, island)
    changed = int((contiguity.unit_reps(u, assign) != contiguity.unit_reps(u, out)).sum())
    assert contiguity.is_contiguous(u, out, edges, island)
    assert moved == changed <= len(u.weight)


# ---------------------------------------------------------------- the scenario comparison


def three_metric_scenario(path: Path) -> int:
    with store.read(path) as con:
        res = scenarios.run(con, optimize.Options(metric="potential,accounts,workload", tolerance=0.1), scope=OPERATOR)
    return scenarios.save(path, "three metrics", res, "lead", scope=OPERATOR)


def test_the_comparison_counts_every_balanced_metric_as_the_optimizer_does(small_store: Path) -> None:
    sid = three_metric_scenario(small_store)
    with store.read(small_store) as con:
        cmp = scenarios.compare(con, [sid], scope=OPERATOR)
        rec = cmp["scenarios"][sid]
    assert cmp["metrics"] == ["potential", "accounts", "workload"] and cmp["notes"] == []
    per = cmp["per_rep"]
    assert per["workload"].notna().all()  # 'Before' too
    band = next(b for b in rec["result"]["metrics"] if b["metric"] == "workload")
    mine = per.loc[per["scenario"] == f"#{sid} three metrics", "workload"].to_numpy(float)
    # every rep of the small store has the same capacity: the band's max/mean is the loads' max over their mean
    assert mine.max() / mine.mean() == pytest.approx(band["max_mean_after"], rel=1e-6)


def test_the_compare_chart_has_a_panel_per_metric_and_money_in_the_stores_currency() -> None:
    per = pd.DataFrame(
        {"scenario": ["Before", "Before", "#1 <b>x</b>", "#1 <b>x</b>"], "owner_name": ["Ann", "Bo", "Ann", "Bo"],
         "potential": [12e6, 8e6, 10e6, 10e6], "accounts": [30, 10, 20, 20], "workload": [500.0, 300, 400, 400]}
    )  # fmt: skip
    text.use_currency("EUR")
    fig = charts.compare_bars(per, ["potential", "accounts", "workload"])
    layout = fig.layout
    assert [a.text for a in layout.annotations] == [
        "Potential per territory", "Accounts per territory", "Workload (hours) per territory"
    ]  # fmt: skip
    assert layout.yaxis.tickprefix == "€" and not layout.yaxis2.tickprefix and not layout.yaxis3.tickprefix
    assert len(fig.data) == 6 and {t.name for t in fig.data} == {"Before", "#1 &lt;b&gt;x&lt;/b&gt;"}
    assert sum(bool(t.showlegend) for t in fig.data) == 2  # one legend entry per scenario


def test_the_page_compares_a_three_metric_scenario_on_three_panels(app_store: Path) -> None:
    sid = three_metric_scenario(app_store)
    at = page("rebalance")
    picker = next(m for m in at.multiselect if m.label == "Compare")
    picker.set_value([sid]).run()
    assert errors(at) == []
    spec = next(c for c in at.get("plotly_chart") if "per territory" in c.proto.spec).proto.spec
    for title in ("Potential per territory", "Accounts per territory", "Workload (hours) per territory"):
        assert title in spec
    assert '"tickprefix":"$"' in spec.replace(" ", "")
