"""Territory metrics, coverage, white space, workload and expected value on a tiny hand-built store."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import h3
import numpy as np
import pytest

from planner import cli, geo, optimize, scenarios, store
from planner.coverage import hexmap, imbalance, report, value
from planner.coverage.facts import EVERY_ACCOUNT, Filters
from planner.coverage.workload import Workload, load_workload, save_workload
from planner.errors import BadInput, Forbidden
from planner.scope import OPERATOR, Scope
from planner.store import world
from tests.lake import store_state
from tests.stores import session_file

# touches 10 (customers and prospects alike), 1 h a meeting, 50 km/h, half the touches in person: hours = 10 + 0.2 x km
WL = Workload(touches_per_year_customer=10, touches_per_year_prospect=10, meeting_hours=1, travel_kmh=50,
              travel_share=0.5, reachable_km=400, default_capacity_hours=1400)  # fmt: skip
HALF = 0.5  # white space: the top half of accounts by potential
KM_A2 = float(geo.haversine_km(40.0, -100.0, 40.0, -99.0))  # about 85.2 km
KM_A6 = float(geo.haversine_km(40.0, -100.0, 30.0, -100.0))  # about 1112 km


def _build_tiny(path: Path) -> None:
    """Three reps (R3 inactive), six accounts, four deals; potential = round(employees x 0.5) x 100."""
    with store.write(path) as con:
        con.execute("INSERT INTO meta VALUES ('demo_today', '2026-11-01')")
        con.execute("INSERT INTO potential_settings VALUES ('*', 0.5, 100, FALSE, NULL)")
        con.executemany(
            "INSERT INTO reps (rep_id, name, home_lat, home_lon, quota, capacity_hours, active) VALUES (?,?,?,?,?,?,?)",
            [
                ("R1", "Ann <b>One</b>", 40.0, -100.0, 1000.0, 30.0, True),
                ("R2", "Bob Two", 40.0, -90.0, 2000.0, None, True),
                ("R3", "Cy Gone", 35.0, -80.0, 500.0, 100.0, False),
            ],
        )
        con.executemany(
            """INSERT INTO accounts (account_id, name, industry, employees, account_type, state, lat, lon, owner_rep_id)
               VALUES (?,?,?,?,?,?,?,?,?)""",
            [
                ("A1", "Home Co", "Software", 100, "Customer", "KS", 40.0, -100.0, "R1"),
                ("A2", "Near Co", "Software", 200, "Prospect", "KS", 40.0, -99.0, "R1"),
                ("A3", "Shop Co", "Retail", 20, "Prospect", "IL", 40.0, -90.0, "R2"),
                ("A4", "Orphan Co", "Software", 400, "Prospect", "TX", 31.0, -97.0, None),
                ("A5", "Left Co", "Retail", 10, "Prospect", "GA", 35.0, -80.0, "R3"),
                ("A6", "Far Co", "Software", 3000, "Prospect", "TX", 30.0, -100.0, "R1"),
            ],
        )
        con.executemany(
            """INSERT INTO deals (deal_id, account_id, amount, close_date, is_closed, is_won, stage)
               VALUES (?,?,?,?,?,?,?)""",
            [
                ("D1", "A1", 3000.0, "2026-06-01", True, True, "Closed Won"),
                ("D2", "A2", 900.0, "2026-05-01", True, False, "Closed Lost"),
                ("D3", "A3", 700.0, "2027-01-15", False, False, "Proposal"),
                ("D4", "A1", 5000.0, "2024-01-01", True, True, "Closed Won"),
            ],
        )
        world.fill_derived(con, scope=OPERATOR)  # what every import and bulk write fills: the customer flag...


@pytest.fixture
def tiny(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, store_for_test: Callable[[Path, Path], Path]
) -> Path:
    """A private copy of the tiny store (_build_tiny), built once per run; a lake under PLANNER_TEST_STORE=lake."""
    return store_for_test(session_file(tmp_path_factory, "tiny.duckdb", _build_tiny), tmp_path / "tiny.duckdb")


def test_gini_imbalance_and_lorenz_by_hand() -> None:
    assert imbalance.gini([1, 1, 1, 1]) == 0.0
    assert imbalance.gini([0, 0, 0, 1]) == pytest.approx(0.75)
    imb = imbalance.imbalance([1, 2, 3])
    assert (imb.max_mean, imb.min_mean) == (1.5, 0.5)
    assert imb.cv == pytest.approx(math.sqrt(2 / 3) / 2)
    x, y = imbalance.lorenz([3, 1])
    assert x.tolist() == [0.0, 0.5, 1.0]
    assert y.tolist() == [0.0, 0.25, 1.0]


def test_workload_formula_and_bad_settings() -> None:
    hours = WL.hours([0.0, 50.0, np.nan], [True, False, True])
    assert hours.tolist() == [10.0, 20.0, 10.0]  # 10 x (1 + 0.5 x 2 x 50 / 50); unknown distance: meetings only
    assert float(WL.hours(100.0, False)) == pytest.approx(30.0)
    assert (float(WL.fixed_hours(True)), float(WL.hours_per_km(False))) == (10.0, pytest.approx(0.2))
    with pytest.raises(BadInput, match="travel_share 1.5 is out of range"):
        WL.with_overrides(travel_share=1.5)
    with pytest.raises(BadInput, match="travel_kmh 0 is out of range"):
        WL.with_overrides(travel_kmh=0)
    with pytest.raises(BadInput, match="touches_per_year nan is out of range"):
        WL.with_overrides(touches_per_year=float("nan"))
    with pytest.raises(BadInput, match="must not be negative"):
        WL.hours([-1.0], False)
    with pytest.raises(BadInput, match="unknown workload setting 'speed'"):
        WL.with_overrides(speed=3)
    with pytest.raises(BadInput, match="unknown segment 'Huge'"):
        Filters(segments=("Huge",))


def test_territory_metrics_by_hand(tiny: Path) -> None:
    with store.read(tiny) as con:
        table = report.territory_metrics(con, scope=OPERATOR, workload=WL)
    r1 = table.set_index("rep_id").loc["R1"]
    assert (r1["accounts"], r1["customers"], r1["prospects"]) == (3, 1, 2)
    assert r1["potential"] == 5000 + 10000 + 150000
    assert r1["expected_value"] == pytest.approx(0.5 * 165000)  # win rate: 1 won of 2 closed in 12 months
    assert r1["won_12m"] == 3000  # D4 closed 2024, outside the window
    assert r1["potential_per_quota"] == pytest.approx(165.0)
    assert r1["workload_hours"] == pytest.approx(10 + (10 + 0.2 * KM_A2) + (10 + 0.2 * KM_A6))
    assert r1["mean_km"] == pytest.approx((0 + KM_A2 + KM_A6) / 3)
    assert r1["max_km"] == pytest.approx(KM_A6)
    assert r1["utilisation"] == pytest.approx(r1["workload_hours"] / 30)
    r2 = table.set_index("rep_id").loc["R2"]
    assert (r2["accounts"], r2["open_pipeline"], r2["capacity_hours"]) == (1, 700, 1400)  # default capacity
    # Accounts without an active owner: none (A4) and an inactive rep (A5) both show, without a name.
    orphans = table[table["name"].isna()]
    assert sorted(orphans["accounts"].tolist()) == [1, 1]
    assert pytest.approx(85.2, abs=0.1) == KM_A2


def test_coverage_and_white_space_by_hand(tiny: Path) -> None:
    with store.read(tiny) as con:
        rep = report.coverage_report(con, scope=OPERATOR, workload=WL, high_potential_share=HALF)
    by = rep["coverage"]["by_status"].set_index("status")
    # A1 covered; A2 runs R1 past 30 h (A1 first: more expected value per hour); A6 is 1,112 km away;
    # A4 has no owner and A5's owner left; A3 is covered by R2.
    assert by.loc["covered", "accounts"] == 2 and by.loc["covered", "potential"] == 5000 + 1000
    assert by.loc["over_capacity", "potential"] == 10000
    assert by.loc["out_of_reach", "potential"] == 150000
    assert by.loc["unowned", "accounts"] == 2
    total = 5000 + 10000 + 1000 + 20000 + 500 + 150000
    assert rep["coverage"]["share"] == pytest.approx(6000 / total)
    assert rep["coverage"]["high_potential_threshold"] == pytest.approx(7500)  # median of the six potentials
    white = rep["white_space"]
    assert white["account_id"].tolist() == ["A6", "A4", "A2"]  # uncovered and >= 7,500, largest first
    assert rep["coverage"]["white_space_potential"] == 180000
    a6 = white.set_index("account_id").loc["A6"]
    assert a6["status"] == "out_of_reach" and a6["nearest_rep"] == "Ann <b>One</b>"
    assert rep["basis"].source == "win_rate" and "50.0%" in rep["basis"].note
    imb = rep["imbalance"].set_index("metric")
    assert imb.loc["accounts", "max_mean"] == pytest.approx(1.5)  # R1 3, R2 1
    assert imb.loc["potential", "gini"] == pytest.approx(imbalance.gini([165000, 1000]))


def test_filters_and_rep_scope(tiny: Path) -> None:
    with store.read(tiny) as con:

        def run(scope: Scope = OPERATOR, filters: Filters = EVERY_ACCOUNT) -> dict:
            return report.coverage_report(con, scope=scope, filters=filters, workload=WL, high_potential_share=HALF)

        retail = run(filters=Filters(industries=("Retail",)))
        assert retail["coverage"]["accounts"] == 2
        # Capacity counts the whole book: R1's A2 stays over capacity even when only Software... is shown.
        sw = run(filters=Filters(segments=("Mid-market",)))
        assert set(sw["white_space"]["account_id"]) == {"A2", "A4"}  # 200 and 400 employees
        assert sw["white_space"].set_index("account_id").loc["A2", "status"] == "over_capacity"
        mine = run(Scope(role="rep", rep_id="R1"))
        assert mine["coverage"]["accounts"] == 3
        assert imbalance.reps_only(mine["territories"])["rep_id"].tolist() == ["R1"]
        with pytest.raises(Forbidden, match="'R2'"):
            run(Scope(role="rep", rep_id="R1"), Filters(rep_id="R2"))
        one = run(filters=Filters(rep_id="R1"))
        assert one["coverage"]["accounts"] == 3
        assert len(imbalance.reps_only(one["territories"])) == 2  # the comparison keeps every territory


def test_expected_value_uses_active_model_scores(tiny: Path) -> None:
    with store.write(tiny) as con:
        con.execute("INSERT INTO models (model_version, kind, active) VALUES (1, 'model', FALSE), (2, 'model', TRUE)")
        con.execute("INSERT INTO scores (model_version, account_id, propensity) VALUES (1, 'A1', 0.9), (2, 'A1', 0.2)")
    with store.read(tiny) as con:
        table = report.territory_metrics(con, scope=OPERATOR, workload=WL)
        basis = value.expected_value_basis(con, scope=OPERATOR)
    assert basis.source == "model" and basis.model_version == 2 and "model v2" in basis.note
    r1 = table.set_index("rep_id").loc["R1"]
    assert r1["expected_value"] == pytest.approx(0.2 * 5000 + 0.5 * (10000 + 150000))  # unscored: win rate


def test_map_aggregates_every_account_into_hexagons(tiny: Path) -> None:
    with store.read(tiny) as con:
        m = report.coverage_map(con, scope=OPERATOR, resolution=4, max_points=2, workload=WL, high_potential_share=HALF)
        cells = hexmap.account_cells(con, scope=OPERATOR)
        assert hexmap.account_cells(con, scope=OPERATOR) is cells  # computed once per store version
        with pytest.raises(BadInput, match="resolution 9"):
            report.coverage_map(con, scope=OPERATOR, resolution=9)
        top = hexmap.hexagon_detail(con, scope=OPERATOR, filters=Filters(), hex_id=m["hexes"]["hex"].iloc[0],
                                    resolution=4)  # fmt: skip
    hexes = m["hexes"]
    assert hexes["accounts"].sum() == 6 == m["located_accounts"]
    assert hexes["potential"].sum() == 186500
    assert len(m["points"]) == 2  # a sample, the hexagons hold everything
    assert hexes["white_space_potential"].sum() == 180000
    a1 = hexes[hexes["hex"] == h3.latlng_to_cell(40.0, -100.0, 4)]
    assert a1["top_name"].tolist() == ["Ann <b>One</b>"]
    # R1 holds three hexagons: a hull; R2 one hexagon (no area); R3 left: no outline at all.
    assert [f["properties"]["rep_id"] for f in m["outlines"]] == ["R1"]
    ring = m["outlines"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 4
    assert all(-130 < lng < -60 and 20 < lat < 50 for lng, lat in ring)  # deck.gl order: [lng, lat]
    assert len(top) >= 1


def test_h3_helpers_match_the_library() -> None:
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(25, 49, 200), rng.uniform(-124, -67, 200)
    cells = geo.h3_cells(lat, lon, 7)
    for res in (3, 4, 5, 6):
        parents = geo.h3_str(geo.h3_parent(cells, res))
        assert parents == [h3.cell_to_parent(c, res) for c in geo.h3_str(cells)]
    assert geo.h3_cells([np.nan], [1.0]).tolist() == [0]
    ring = geo.h3_polygon(int(cells[0]))
    assert ring[0] == ring[-1] and ring[0][0] < -60  # [lng, lat]


def test_metrics_cli_json(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["--db", str(tiny), "metrics", "--json", "--reachable-km", "2000"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["settings"]["reachable_km"] == 2000
    reps = {t["rep_id"]: t for t in out["territories"] if t["name"]}
    assert reps["R1"]["accounts"] == 3 and reps["R2"]["open_pipeline"] == 700
    assert set(out["imbalance"]["potential"]) == {"mean", "max_mean", "min_mean", "cv", "gini"}
    assert out["expected_value"]["source"] == "win_rate"
    assert cli.main(["--db", str(tiny), "metrics"]) == 0
    text = capsys.readouterr().out
    assert "Imbalance across territories" in text and "Coverage:" in text
    assert cli.main(["--db", str(tiny), "metrics", "--rep", "nobody"]) == 2
    assert "no rep 'nobody'" in capsys.readouterr().err


def test_metrics_cli_text_names_white_space_without_name_keys(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An account imported without an ID is keyed 'name:...': the text report printed that key as its Account."""
    with store.write(tiny) as con:
        ids = [r[0] for r in con.execute("SELECT account_id FROM accounts").fetchall()]
        for aid in ids:
            for name in ("accounts", "deals", "assignments"):
                con.execute(f"UPDATE {name} SET account_id = 'name:' || lower(account_id) || '|x' WHERE account_id = ?",
                            [aid])  # fmt: skip
    assert cli.main(["--db", str(tiny), "metrics"]) == 0
    text = capsys.readouterr().out
    assert "Largest white space" in text and "name:" not in text


def test_saved_workload_reaches_every_reader(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with store.read(tiny) as con:
        assert load_workload(con) == Workload.defaults()
    done = save_workload(tiny, scope=OPERATOR, values={"touches_per_year": 10, "travel_kmh": 50}, actor="t")
    # the single touches_per_year of earlier versions saves both segments
    assert done["changed"] == ["touches_per_year_customer", "touches_per_year_prospect", "travel_kmh"]
    with store.read(tiny) as con:
        w = load_workload(con)
        assert (w.touches_per_year, w.travel_kmh) == (10, 50)
        assert load_workload(con, reachable_km=900).reachable_km == 900  # a one-off override on top
        # Coverage's workload comes from the store when the caller passes none.
        table = report.territory_metrics(con, scope=OPERATOR).set_index("rep_id")
        assert table.loc["R1", "workload_hours"] == pytest.approx(
            float(w.hours([0.0, KM_A2, KM_A6], [True, False, False]).sum())
        )
        # Rebalance's options get the same assumptions.
        assert scenarios.with_workload(con, optimize.Options()).workload == w
    assert cli.main(["--db", str(tiny), "metrics", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["touches_per_year"] == 10
    assert cli.main(["--db", str(tiny), "settings", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["workload"]["travel_kmh"] == 50 and shown["sources"]["travel_kmh"] == "saved in the store"
    assert cli.main(["--db", str(tiny), "settings", "--reset"]) == 0
    with store.read(tiny) as con:
        assert load_workload(con) == Workload.defaults()


def test_saving_workload_is_for_admins_and_checks_values_first(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = store_state(tiny)  # a lake: its snapshot id
    for scope in (Scope(role="leader"), Scope(role="rep", rep_id="R1")):
        with pytest.raises(Forbidden, match="admin"):
            save_workload(tiny, scope=scope, values={"touches_per_year": 3})
    with pytest.raises(BadInput, match="travel_share 2 is out of range"):
        save_workload(tiny, scope=OPERATOR, values={"touches_per_year": 3, "travel_share": 2})
    with pytest.raises(BadInput, match="unknown workload setting 'speed'"):
        save_workload(tiny, scope=OPERATOR, values={"speed": 3})
    assert store_state(tiny) == before  # nothing half-written
    assert cli.main(["--db", str(tiny), "settings", "--set", "meeting_hours=lots"]) == 2
    assert "'lots' is not a number" in capsys.readouterr().err


def test_a_rep_gets_the_book_threshold_and_no_false_or_named_nearest_rep(tiny: Path) -> None:
    """explore-G: the same Coverage view showed an admin 3 white-space accounts and the rep whose territory it was 2
    (the rep's own quantile), and the rep's file named the rep "Nearest rep" at 7,130 km where a colleague lived
    1,744 km away. The threshold and the nearest rep are measured over the whole book; a colleague is 'another rep'.
    Here R1's book is A1 (50,000, covered), A2 (10,000, over capacity) and A6 (150,000, beside R2's home)."""
    with store.write(tiny) as con:
        con.execute("UPDATE accounts SET employees = 1000 WHERE account_id = 'A1'")
        con.execute("UPDATE accounts SET employees = 10 WHERE account_id = 'A4'")
        con.execute("UPDATE accounts SET lat = 40.0, lon = -91.0 WHERE account_id = 'A6'")
    with store.read(tiny) as con:
        kw = {"workload": WL, "high_potential_share": HALF, "resolution": 4}
        boss = report.coverage_view(con, scope=OPERATOR, filters=Filters(rep_id="R1"), **kw)
        rep = report.coverage_view(con, scope=Scope(role="rep", rep_id="R1", user="ann@x"), **kw)
    # The book's median potential (500, 500, 1,000, 10,000, 50,000, 150,000), not R1's own (50,000).
    assert rep["coverage"]["high_potential_threshold"] == boss["coverage"]["high_potential_threshold"] == 5500
    for key in ("white_space_accounts", "white_space_potential"):
        assert rep["coverage"][key] == boss["coverage"][key]
    mine, theirs = (v["white_space"].set_index("account_id") for v in (rep, boss))
    assert list(mine.index) == list(theirs.index) == ["A6", "A2"]
    assert theirs.loc["A6", "nearest_rep"] == "Bob Two" and mine.loc["A6", "nearest_rep"] == "another rep"
    assert mine.loc["A2", "nearest_rep"] == "Ann <b>One</b>"
    assert mine.loc["A2", "nearest_rep_km"] == pytest.approx(theirs.loc["A2", "nearest_rep_km"])
    assert theirs.loc["A6", "nearest_rep_km"] == pytest.approx(float(geo.haversine_km(40.0, -91.0, 40.0, -90.0)))
    assert math.isnan(mine.loc["A6", "nearest_rep_km"])  # explore-M: a colleague's distance would locate their home
    hexes = rep["map"]["hexes"]
    assert "Bob Two" not in set(hexes["nearest_rep"]) and "another rep" in set(hexes["nearest_rep"])
    assert set(rep["map"]["homes"]["rep_id"]) == {"R1"}  # no colleague's home on a rep's map
    assert "your territory only" in rep["covers"] and boss["covers"] == ""


def test_a_rep_s_coverage_builds_facts_of_her_own_accounts_only(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """explore-J: a rep's Coverage page (1,208 accounts) cost about what a leader's (100,000) did: for the book-wide
    threshold and homes it built the per-account facts (deals, distances, capacity) of the whole book. Those two
    figures are now named aggregates over the book (a quantile, the reps' homes); every per-account fact a rep's
    view builds is of her own accounts."""
    from planner.store import facts as store_facts

    built: list[set[str | None]] = []
    every_account = store_facts._every_account

    def spy(*args: object, **kwargs: object) -> object:
        frame = every_account(*args, **kwargs)  # type: ignore[arg-type]
        built.append(set(frame.column("owner_rep_id").to_pylist()))
        return frame

    monkeypatch.setattr(store_facts, "_every_account", spy)
    aggregates: list[str] = []
    for name in ("book_potential_quantile", "active_rep_homes"):
        real = getattr(report.q, name, None)
        if real is not None:
            monkeypatch.setattr(report.q, name, lambda *a, _f=real, _n=name, **k: aggregates.append(_n) or _f(*a, **k))
    with store.read(tiny) as con:
        rep = report.coverage_view(con, scope=Scope(role="rep", rep_id="R1", user="ann@x"), workload=WL,
                                   high_potential_share=HALF, resolution=4)  # fmt: skip
    assert built and all(owners == {"R1"} for owners in built), built
    assert sorted(aggregates) == ["active_rep_homes", "book_potential_quantile"]
    with store.read(tiny) as con:
        boss = report.coverage_view(con, scope=OPERATOR, filters=Filters(rep_id="R1"), workload=WL,
                                    high_potential_share=HALF, resolution=4)  # fmt: skip
    assert rep["coverage"]["high_potential_threshold"] == boss["coverage"]["high_potential_threshold"] > 0
    assert rep["coverage"]["white_space_accounts"] == boss["coverage"]["white_space_accounts"]


def test_the_map_measures_each_hexagon_s_nearest_rep_once(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """explore-J: at 500 reps, a leader's Coverage view measured every hexagon against every home twice (the second
    time to swap in the homes a rep may see named). Once for the white space, once for the hexagons, now."""
    calls: list[int] = []
    real = report.nearest_rep
    monkeypatch.setattr(report, "nearest_rep", lambda df, *a, **k: calls.append(len(df)) or real(df, *a, **k))
    monkeypatch.setattr(hexmap, "nearest_rep", lambda df, *a, **k: calls.append(len(df)) or real(df, *a, **k))
    with store.read(tiny) as con:
        for who in (OPERATOR, Scope(role="rep", rep_id="R1", user="ann@x")):
            calls.clear()
            view = report.coverage_view(con, scope=who, workload=WL, resolution=4)
            assert calls == [len(view["white_space"]), len(view["map"]["hexes"])], who


def test_a_hexagon_held_equally_by_two_reps_goes_to_the_first_rep_id_every_time() -> None:
    """explore-J follow-up: two runs of the same leader view at 100k named another top rep for ~0.3% of hexagons (a
    tie in accounts went to whichever rep DuckDB met first), so territory outlines changed between renders."""
    import duckdb
    import pandas as pd

    from planner.coverage.facts import STATUS_CODES
    from planner.store import metrics as q

    points = [(40.0 + i * 0.5, -100.0 - i * 0.5) for i in range(40)]
    cells = geo.h3_cells(np.array([p[0] for p in points]), np.array([p[1] for p in points]), geo.H3_BASE_RES)
    facts = pd.DataFrame({
        "rid": range(80), "owner_rep_id": ["R2", "R1"] * 40, "owner_active": True, "customer": False,
        "potential": 1.0, "expected_value": 1.0, "status": STATUS_CODES.covered,
    })  # fmt: skip
    cell_of = pd.DataFrame({"rid": range(80), "cell": np.repeat(cells, 2)})  # each place: one account of each rep
    con = duckdb.connect()
    con.register("f", facts)
    con.register("h", cell_of)
    hexes = q.facts_hexagons(con, "f", "h", geo.h3_parent_masks(7), 0.0, statuses=STATUS_CODES, scope=OPERATOR)
    assert len(hexes) == 40 and set(hexes["top_n"]) == {1}
    assert set(hexes["top_rep_id"]) == {"R1"}
