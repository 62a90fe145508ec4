"""AppTest of the Coverage map page on the small demo store (600 accounts, 6 reps)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from planner import store
from planner.coverage import report
from planner.coverage.facts import Filters
from planner.scope import OPERATOR, Scope
from tests.helpers import AVA, app_as, errors, page
from ui import fmt, maps

ALL = Filters()


def _view(path: Path, filters: Filters = ALL, scope: Scope = OPERATOR) -> dict:
    with store.read(path) as con:
        return report.coverage_view(con, scope=scope, filters=filters, resolution=4, max_points=10_000)


def _deck(at: AppTest) -> dict:
    return json.loads(at.get("deck_gl_json_chart")[0].proto.json)


def test_coverage_page_shows_the_right_figures_and_layers(app_store: Path) -> None:
    at = page("coverage")
    assert errors(at) == []
    view = _view(app_store)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Coverage"] == fmt.pct(view["coverage"]["share"], 1)
    assert metrics["White space"] == fmt.money(view["coverage"]["white_space_potential"])
    assert metrics["White-space accounts"] == f"{view['coverage']['white_space_accounts']:,}"
    imb = view["imbalance"].set_index("metric").loc["potential"]
    assert metrics["Max / mean"] == fmt.ratio(imb["max_mean"])
    assert metrics["Gini"] == fmt.ratio(imb["gini"])
    deck = _deck(at)
    ids = [layer["id"] for layer in deck["layers"]]
    assert ids == ["countries", "states", "outlines", "white_space", "accounts", "homes"]
    layers = {layer["id"]: layer for layer in deck["layers"]}
    assert len(layers["accounts"]["data"]) == 600  # all of them: fewer than the dot limit
    assert len(layers["homes"]["data"]) == 6
    assert deck.get("mapStyle") == maps.EMPTY_STYLE and deck["mapStyle"].startswith("data:")  # offline: no basemap
    # Plotly: bars per territory with the mean band, a Lorenz curve, potential against quota.
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [c["layout"]["title"]["text"] for c in charts]
    assert any(t.startswith("Potential by territory") for t in titles)
    assert any(t.startswith("Lorenz curve") for t in titles)
    assert any(t.startswith("Potential against quota") for t in titles)
    bars = next(c for c in charts if c["layout"]["title"]["text"].startswith("Potential by territory"))
    assert (
        sum(len(trace["y"]) for trace in bars["data"]) == 6
    )  # one bar per territory, names on the y axis (horizontal bars)
    assert {trace["name"] for trace in bars["data"]} <= {"Above the mean + 5%", "Within ± 5% of the mean",
                                                          "Below the mean − 5%"}  # fmt: skip
    assert len(at.get("download_button")) == 3
    # Money axes read $10B, not d3's SI "$10G" (a billion as giga), on every chart.
    money_axes = [c["layout"]["yaxis"] for c in charts if c["layout"].get("yaxis", {}).get("tickprefix")]
    assert money_axes and all(a.get("exponentformat") == "B" and "s" not in a.get("tickformat", "") for a in money_axes)


def test_filters_live_in_the_url_and_change_the_figures(app_store: Path) -> None:
    at = page("coverage")
    at.multiselect(key="cov_ind").set_value(["Software"]).run()
    at.selectbox(key="cov_metric").set_value("workload_hours").run()
    assert errors(at) == []
    assert at.query_params["ind"] in ("Software", ["Software"])
    assert at.query_params["metric"] in ("workload_hours", ["workload_hours"])
    view = _view(app_store, Filters(industries=("Software",)))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Coverage"] == fmt.pct(view["coverage"]["share"], 1)
    imb = view["imbalance"].set_index("metric").loc["workload_hours"]
    assert metrics["Max / mean"] == fmt.ratio(imb["max_mean"])
    accounts = {layer["id"]: layer for layer in _deck(at)["layers"]}["accounts"]["data"]
    assert len(accounts) == view["coverage"]["accounts"] < 600


def test_a_copied_link_opens_the_same_view(app_store: Path) -> None:
    # Opened as the link is (Overview, which has no such filters, drops them from its own link).
    at = page("coverage", query={"ind": "Retail", "seg": "SMB,Mid-market", "metric": "accounts",
                                 "layers": "states,potential"})  # fmt: skip
    assert errors(at) == []
    assert at.multiselect(key="cov_ind").value == ["Retail"]
    assert at.multiselect(key="cov_seg").value == ["SMB", "Mid-market"]
    assert at.selectbox(key="cov_metric").value == "accounts"
    assert [layer["id"] for layer in _deck(at)["layers"]] == ["countries", "states", "potential"]
    view = _view(app_store, Filters(segments=("SMB", "Mid-market"), industries=("Retail",)))
    assert {m.label: m.value for m in at.metric}["Coverage"] == fmt.pct(view["coverage"]["share"], 1)


def test_sidebar_territory_narrows_the_map(app_store: Path) -> None:
    at = page("coverage")
    at.sidebar.selectbox(key="sb_rep").set_value("R001").run()
    assert errors(at) == []
    view = _view(app_store, Filters(rep_id="R001"))
    accounts = {layer["id"]: layer for layer in _deck(at)["layers"]}["accounts"]["data"]
    assert len(accounts) == view["map"]["located_accounts"]
    assert {m.label: m.value for m in at.metric}["Coverage"] == fmt.pct(view["coverage"]["share"], 1)
    # the comparison still shows every territory
    bars = next(
        json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
        if "by territory" in json.loads(c.proto.spec)["layout"]["title"]["text"]
    )
    assert sum(len(trace["y"]) for trace in bars["data"]) == 6


def test_rep_sees_only_their_territory(app_store: Path) -> None:
    # Signed in as Ava (rep R001); a URL naming another territory changes nothing.
    at = app_as(AVA, page="coverage", query={"rep": "R002"})
    assert errors(at) == []
    layers = {layer["id"]: layer for layer in _deck(at)["layers"]}
    assert [h["rep_id"] for h in layers["homes"]["data"]] == ["R001"]
    view = _view(app_store, Filters(rep_id="R001"), Scope(role="rep", rep_id="R001"))
    assert len(layers["accounts"]["data"]) == view["map"]["located_accounts"]
    assert {m.label: m.value for m in at.metric}["Coverage"] == fmt.pct(view["coverage"]["share"], 1)
    # Labelled for what they cover; no max/mean of one territory (1.00 by definition) and no colleague named.
    captions = " ".join(c.value for c in at.caption)
    assert "cover your territory only" in captions and "shown to sales leaders" in captions
    assert "Max / mean" not in {m.label for m in at.metric}
    boss = _view(app_store, Filters(rep_id="R001"))
    assert view["coverage"]["high_potential_threshold"] == boss["coverage"]["high_potential_threshold"]
    assert set(view["white_space"]["nearest_rep"].dropna()) <= {"another rep", *view["map"]["homes"]["name"]}


def test_clicking_an_account_or_a_hexagon_shows_its_details(app_store: Path) -> None:
    at = page("coverage")
    at.session_state["cov_map"] = {
        "selection": {"indices": {"accounts": [0]}, "objects": {"accounts": [{"id": "A0000001"}]}}
    }
    at.run()
    assert errors(at) == []
    with store.read(app_store) as con:
        card = report.account_card(con, scope=OPERATOR, account_id="A0000001")
    assert any(card["account"]["name"] in str(md.value) for md in at.markdown)
    assert {m.label: m.value for m in at.metric}["Owner"] == card["account"]["owner_name"]
    hexes = _view(app_store)["map"]["hexes"].sort_values("potential", ascending=False)
    cell = hexes.iloc[0]
    at.session_state["cov_map"] = {
        "selection": {
            "indices": {"white_space": [0]},
            "objects": {"white_space": [{"hex": cell["hex"], "t": "x accounts", "l1": "", "l2": ""}]},
        }
    }
    at.run()
    assert errors(at) == []
    shown = at.dataframe[0].value  # the detail panel sits right under the map, before the tables
    assert "status_label" in shown.columns
    assert len(shown) == min(25, int(cell["accounts"]))
    assert shown["potential"].is_monotonic_decreasing


def test_bad_link_values_are_ignored_with_a_note(app_store: Path) -> None:
    at = page("coverage", query={"layers": "bogus", "hex": "9", "ind": "<b>Nope</b>", "tol": "lots", "tpy": "3"})
    assert errors(at) == []
    note = " ".join(str(i.value) for i in at.info)
    for asked in ("layers=bogus", "hex=9", "ind=", "tol=lots", "tpy=3"):
        assert asked in note
    assert "<b>" not in note  # the link's text is shown literally
    # Never a blank view: the default layers and hexagon size are used instead.
    assert [layer["id"] for layer in _deck(at)["layers"]] == [
        "countries",
        "states",
        "outlines",
        "white_space",
        "accounts",
        "homes",
    ]
    assert at.selectbox(key="cov_hex").value == 4
    assert "tpy" not in at.query_params


def test_no_rep_has_a_home(app_store: Path) -> None:
    with store.write(app_store) as con:
        con.execute("UPDATE reps SET home_lat = NULL, home_lon = NULL")
    at = page("coverage")
    assert errors(at) == []
    assert "homes" not in [layer["id"] for layer in _deck(at)["layers"]]  # nothing to draw, nothing broken
    assert any("Travel cannot be measured for 6 of 6 reps" in str(i.value) for i in at.info)
    view = _view(app_store)
    assert view["travel"]["reps_without_home"] == 6
    r1 = view["territories"].set_index("rep_id").loc["R001"]
    assert math.isnan(r1["mean_km"]) and r1["out_of_reach"] == 0  # not measurable, so never out of reach
    w = view["workload"]  # meetings only, each account at its segment's touches
    meetings = float(w.fixed_hours(True)) * r1["customers"] + float(w.fixed_hours(False)) * r1["prospects"]
    assert r1["customers"] > 0 and r1["prospects"] > 0 and r1["workload_hours"] == pytest.approx(meetings)


def test_one_unowned_imported_account_on_the_demo_world(app_store: Path) -> None:
    with store.write(app_store) as con:
        con.execute(
            """INSERT INTO accounts (account_id, name, employees, state, lat, lon, owner_rep_id)
               VALUES ('X1', 'Lone Co', 50, 'NE', 41.2, -96.0, NULL)"""
        )
    at = page("coverage")
    assert errors(at) == []
    tables = [d.value for d in at.dataframe if "territory" in d.value.columns]
    assert any("No active owner" in set(t["territory"]) for t in tables)


def test_inferred_homes_are_drawn_hollow_and_named(small_store: Path) -> None:
    homes = pd.DataFrame(
        {"rep_id": ["R1", "R2"], "name": ["Ann", "Bob"], "home_lat": [40.0, 41.0], "home_lon": [-100.0, -90.0],
         "home_inferred": [True, None], "accounts": [3, float("nan")]}
    )  # fmt: skip
    layer = maps.homes_layer(homes, maps.territory_colors(["R1", "R2"]))
    ann, bob = layer.data
    assert ann["t"] == "Ann (home inferred from their accounts)" and ann["fill"][3] < 255
    assert bob["t"] == "Bob (home)" and bob["fill"][3] == 255 and bob["l2"] == ""
    assert maps.homes_layer(homes.iloc[:0], {}).data == []


def test_the_page_draws_inferred_homes_hollow(app_store: Path) -> None:
    """The caption said inferred homes are hollow, but the territory table the page draws homes from never carried
    home_inferred: every home was solid and read '(home)'."""
    with store.write(app_store) as con:
        con.execute("UPDATE reps SET home_inferred = true WHERE rep_id = 'R002'")
    at = page("coverage")
    homes = {h["rep_id"]: h for h in next(x for x in _deck(at)["layers"] if x["id"] == "homes")["data"]}
    assert homes["R002"]["fill"][3] < 255 and "inferred" in homes["R002"]["t"]
    assert homes["R001"]["fill"][3] == 255 and homes["R001"]["t"].endswith("(home)")


def test_map_draws_in_a_browser_and_tooltips_show_names_as_text(
    hostile_server: str, hostile_tab: tuple[Any, list[str], list[str]]
) -> None:
    """One account's dot, alone on the map: it draws, and hovering it shows the account's hostile name as text.
    On conftest's hostile_server (the small store where tests.helpers.make_hostile names account EVIL_ACCOUNT
    EVIL, alone in state ZZ) and its warm tab. (The default map drawing is checked on tests/test_browser.py's
    load of Coverage.)"""
    from tests.helpers import EVIL, screenshot, wait_map_drawn, wait_rendered

    page, foreign, dialogs = hostile_tab
    foreign.clear()
    dialogs.clear()
    # One dot in the middle of the map: hover it, the tooltip shows the name as text.
    page.goto(f"{hostile_server}/coverage?st=ZZ&layers=accounts")
    wait_rendered(page)
    assert wait_map_drawn(page) > 40
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "coverage-map")
    box = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(".deck-tooltip", state="visible", timeout=15000)
    tip = page.locator(".deck-tooltip").first
    assert EVIL in tip.inner_text()
    assert page.locator(".deck-tooltip img").count() == 0
    assert page.title() != "pwned"
    assert dialogs == [] and foreign == []
    screenshot(page, "coverage-tooltip")


def test_the_map_fits_a_world_book_and_one_across_the_date_line_on_drawn_borders() -> None:
    # Accounts in Tokyo, Sydney, Berlin, Boston, Austin, Toronto: the whole book in view (zoom 2 showed Europe only).
    world = maps.view_state([35.7, -33.9, 52.5, 42.4, 30.3, 43.7], [139.7, 151.2, 13.4, -71.1, -97.7, -79.4],
                            width_px=620, height_px=600)  # fmt: skip
    assert world.zoom < 1.0
    span = 620 * 360 / (512 * 2**world.zoom)  # degrees of longitude the map shows
    assert span >= 151.2 + 97.7
    # Suva (178 E) and Apia (172 W): the view centres on the date line, zoomed in, not on West Africa.
    pacific = maps.view_state([-18.1, -13.8], [178.4, -171.8], width_px=620, height_px=600)
    assert abs(abs(pacific.longitude) - 180) < 10 and pacific.zoom > 3
    # The US demo world's view is as before: continental, zoom 3-4.
    us = maps.view_state([25.8, 47.6, 40.7, 34.1], [-80.2, -122.3, -74.0, -118.2], width_px=620, height_px=600)
    assert 2.5 < us.zoom < 4.5 and -105 < us.longitude < -95
    # Borders are drawn offline: the world's countries under the US states.
    assert [layer.id for layer in maps.borders_layers()] == ["countries", "states"]


def test_quota_chart_says_when_no_territory_has_a_quota() -> None:
    """A CRM import without quotas drew empty axes from -1 to 4; the chart now says what is missing."""
    from ui import charts

    reps = pd.DataFrame({"territory": ["Anna"], "rep_id": ["R001"], "quota": [math.nan], "potential": [1.0],
                         "accounts": [3], "potential_per_quota": [math.nan]})  # fmt: skip
    fig = charts.quota_scatter(reps, {})
    assert "No territory has a quota" in fig.layout.annotations[0].text and fig.layout.xaxis.visible is False
    reps["quota"], reps["potential_per_quota"] = 2.0, 0.5
    assert not charts.quota_scatter(reps, {}).layout.annotations


def _inside(view: Any, lat: list[float], lon: list[float], width_px: int, height_px: int) -> list[int]:
    """Indices of the points the view leaves out (a longitude counts on any copy of the world)."""
    south, north, west, east = maps.view_bounds(view, width_px, height_px)
    out = []
    for i, (la, lo) in enumerate(zip(lat, lon, strict=True)):
        on_copy = any(west <= lo + k * 360 <= east for k in (-1, 0, 1))
        if not (on_copy and south <= la <= north):
            out.append(i)
    return out


def test_the_first_view_frames_every_account_of_a_book_in_the_us_japan_and_australia() -> None:
    # The sf_jp export: 77 accounts from San Diego to Boston, 2 in the UK, Espoo, Edmonton, Tokyo, Osaka and one in
    # Blacktown (Sydney). Trimming 1% at each end of a percentile extent left Tokyo, Osaka and Blacktown outside.
    us_lat = list(np.linspace(32.7, 47.7, 70))
    us_lon = list(np.linspace(-122.7, -71.2, 70))
    lat = us_lat + [53.1, 51.5, 60.2, 53.55, 35.69, 34.69, 35.08, -33.77]
    lon = us_lon + [-2.44, -0.02, 24.65, -113.5, 139.69, 135.5, 137.15, 150.92]
    for width, height in ((620, 600), (480, 360), (440, 400)):
        view = maps.view_state(lat, lon, width_px=width, height_px=height)
        assert _inside(view, lat, lon, width, height) == [], (width, view)
    # The map draws copies of the world, so a view across the date line shows what lies west of it.
    deck = json.loads(maps.deck([], maps.view_state(lat, lon, 620, 600)).to_json())
    assert deck["views"][0]["repeat"] is True
    # A US book with one account in Honolulu: Honolulu is framed too (every account counts).
    view = maps.view_state([25.8, 47.6, 40.7, 21.3], [-80.2, -122.3, -74.0, -157.9], width_px=620, height_px=600)
    assert _inside(view, [25.8, 47.6, 40.7, 21.3], [-80.2, -122.3, -74.0, -157.9], 620, 600) == []


def test_the_coverage_map_frames_the_hexagons_as_well_as_the_sampled_dots() -> None:
    # The dots may be a sample of the book; the hexagons hold every located account, so the view fits both.
    dots = pd.DataFrame({"lat": [40.7, 34.1], "lon": [-74.0, -118.2]})
    hexes = pd.DataFrame({"lat": [35.7], "lon": [139.7]})
    lat, lon = maps.fit_points({"points": dots, "hexes": hexes, "homes": pd.DataFrame(), "located_accounts": 3})
    assert list(lon) == [-74.0, -118.2, 139.7]
    # Every located account a dot: the dots alone (a hexagon's centre is not where its accounts are).
    lat, lon = maps.fit_points({"points": dots, "hexes": hexes, "homes": pd.DataFrame(), "located_accounts": 2})
    assert list(lon) == [-74.0, -118.2]
    homes = pd.DataFrame({"home_lat": [51.5], "home_lon": [-0.1]})
    lat, lon = maps.fit_points({"points": dots.head(0), "hexes": hexes.head(0), "homes": homes})
    assert list(lat) == [51.5] and list(lon) == [-0.1]
    assert maps.fit_points({"points": dots.head(0), "hexes": hexes.head(0), "homes": homes.head(0)}) == (None, None)


def test_charts_of_a_book_without_potential_say_so_instead_of_drawing_degenerate_axes() -> None:
    """A book whose every potential is 0 drew axes from $-1 to $1, a Lorenz curve on the diagonal ('perfectly
    even') and flat status bars; each chart now says there is no potential to show."""
    from ui import charts

    zero = charts.band_bars(["Ann", "Bob"], [0.0, 0.0], tolerance=0.05, title="Potential by territory",
                            yaxis_title="Potential", kind="money")  # fmt: skip
    assert zero.data == () and zero.layout.yaxis.visible is False
    assert [a.text for a in zero.layout.annotations][0].startswith("No potential to show: every territory is at 0")
    some = charts.band_bars(["Ann", "Bob"], [1.0, 0.0], tolerance=0.05, title="t", yaxis_title="Potential")
    assert len(some.data) == 2 and some.layout.yaxis.visible is not False
    flat = charts.lorenz_chart([0.0, 1.0], [0.0, 1.0], "Lorenz curve: Potential", total=0.0, what="Potential")
    assert flat.data == () and "No potential to show" in flat.layout.annotations[0].text
    assert len(charts.lorenz_chart([0.0, 0.5, 1.0], [0.0, 0.2, 1.0], "t", total=5.0).data) == 2
    status = pd.DataFrame({"status": ["covered", "unowned"], "label": ["Covered", "No active owner"],
                           "potential": [0.0, 0.0], "accounts": [3, 2]})  # fmt: skip
    fig = charts.status_bars(status)
    assert fig.data == () and "every account is at 0" in fig.layout.annotations[0].text
    assert len(charts.status_bars(status.assign(potential=[5.0, 0.0])).data) == 1
    reps = pd.DataFrame({"territory": ["Ann"], "rep_id": ["R001"], "quota": [100.0], "potential": [0.0],
                         "accounts": [3], "potential_per_quota": [0.0]})  # fmt: skip
    fig = charts.quota_scatter(reps, {})
    assert fig.data == () and "No potential to show" in fig.layout.annotations[0].text


def test_coverage_of_a_book_without_potential_shows_no_degenerate_chart(app_store: Path) -> None:
    with store.write(app_store) as con:  # no head counts, no revenue: potential 0 everywhere
        con.execute("UPDATE accounts SET employees = NULL, annual_revenue = NULL")
    at = page("coverage")
    assert errors(at) == []
    said = {c.proto.id.rsplit("-", 1)[-1]: "No potential to show" in str(c.proto.spec) for c in at.get("plotly_chart")}
    assert said == {"cov_bars": True, "cov_lorenz": True, "cov_scatter": True, "cov_status": True}


def _table(expression: str) -> list[list[int]]:
    """The colour table of a layer's '@@=([...])[field]' accessor (pydeck adds the '@@=')."""
    return json.loads(expression.removeprefix("@@=")[1 : expression.removeprefix("@@=").rindex(")")])


def test_the_map_sends_each_dot_hexagon_and_outline_compactly(app_store: Path) -> None:
    """At 100,000 accounts the map sent 3 MB, 2.1 MB of it 10,000 dots of 212 bytes each: a RGBA list, lon and lat
    keyed apart and a float radius per dot, 82 bytes besides its tooltip's text; outlines repeated their rep's name
    and colours, borders their names. Now a dot's colour is an index into one table per layer, and what is drawn,
    hovered and clicked is the same."""
    at = page("coverage")
    deck = _deck(at)
    layers = {layer["id"]: layer for layer in deck["layers"]}
    view = _view(app_store)
    colors = maps.territory_colors(view["territories"]["rep_id"].dropna())
    dots = layers["accounts"]["data"]
    assert set(dots[0]) == {"id", "p", "c", "r", "t", "l1", "l2", "l3"}
    owner = dict(zip(view["map"]["points"]["account_id"], view["map"]["points"]["owner_rep_id"], strict=True))
    table = _table(layers["accounts"]["getFillColor"])
    assert all(table[d["c"]] == [*colors.get(owner[d["id"]] or "", maps.UNOWNED), 210] for d in dots)
    assert layers["accounts"]["radiusScale"] == 10 and {type(d["r"]) for d in dots} == {int}

    def size(rows: Any) -> int:
        return len(json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode())

    text = sum(size({k: d[k] for k in ("t", "l1", "l2", "l3")}) for d in dots) / len(dots)
    assert size(dots) / len(dots) - text < 60  # id, place, colour, radius: 80 bytes a dot before, 53 now
    hexes = layers["white_space"]["data"]
    assert "color" not in hexes[0] and len(_table(layers["white_space"]["getFillColor"])) <= 101
    outlines = layers["outlines"]["data"]["features"]
    assert outlines and all(set(f["properties"]) == {"rep_id", "c", "t", "l1", "l2", "l3"} for f in outlines)
    ring = outlines[0]["geometry"]["coordinates"][0]
    assert all(round(v, 3) == v for point in ring for v in point)
    line = _table(layers["outlines"]["getLineColor"])
    assert all(line[f["properties"]["c"]][:3] == colors[f["properties"]["rep_id"]] for f in outlines)
    assert all(f["properties"] == {} for k in ("countries", "states") for f in layers[k]["data"]["features"])
    # A hexagon's tooltip names its rep once when the rep who holds most of it is also the nearest.
    for h in hexes:
        top = h["l3"].removeprefix("Mostly ").split(" · ")[0].split(", the nearest")[0]
        assert f"nearest rep {top} (" not in h["l3"]
