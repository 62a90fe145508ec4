"""Findings on Overview, Coverage and deep links: a rep's Coverage reads the book-wide figures once per store
version, the per-country split is cached per store version, a leader-only link opened by a rep, the map's first
view on a book with a few far accounts, money headers in a store of several currencies, `metrics` per country."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from planner import export, store, text
from planner.cli import main
from planner.coverage import markets, report
from planner.coverage.facts import Filters
from planner.scope import Scope
from planner.store import metrics as q
from tests.helpers import AVA, app_as, errors, page, page_text
from tests.test_coverage_markets import two_countries  # noqa: F401 (a fixture)
from ui import maps


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(module, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def test_a_reps_coverage_reads_the_book_wide_figures_once_per_store_version(
    small_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The high-potential threshold and the reps' homes are the same for every rep: the first rep's view reads them
    over the book, every later view of any rep reads its own accounts only (and gets the same figures)."""
    quantile = _counting(monkeypatch, q, "book_potential_quantile")
    homes = _counting(monkeypatch, q, "active_rep_homes")
    with store.read(small_store) as con:
        reps = [r for (r,) in con.execute("SELECT rep_id FROM reps WHERE active ORDER BY rep_id LIMIT 2").fetchall()]
        views = {}
        for rep in [*reps, reps[0]]:
            who = Scope(role="rep", rep_id=rep)
            views[rep] = report.coverage_view(con, scope=who, filters=Filters(rep_id=rep), resolution=None)
            assert set(views[rep]["territories"]["rep_id"].dropna()) == {rep}  # only the rep's own rows
        book = report.coverage_view(con, scope=Scope(role="leader"), resolution=None)
    assert (len(quantile), len(homes)) == (1, 1)
    for rep in reps:
        assert views[rep]["coverage"]["high_potential_threshold"] == book["coverage"]["high_potential_threshold"]


def test_the_country_split_runs_once_per_store_version_not_per_render(
    two_countries: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Overview and Coverage measure each country on its own: which country each rep's market is comes from the
    optimizer's split, run once per store version, not again for each territory picked or filter set."""
    splits = _counting(monkeypatch, markets, "split")
    at = page("overview")
    with duckdb.connect(str(two_countries), read_only=True) as con:
        rep = con.execute("SELECT rep_id FROM reps WHERE name = 'Claire Roux'").fetchone()[0]
    at.sidebar.selectbox(key="sb_rep").set_value(rep).run()
    assert not at.exception and "worst country" in page_text(at)
    cov = page("coverage")
    cov.multiselect(key="cov_seg").set_value(["SMB"]).run()
    assert not cov.exception and "Max / mean, worst country" in page_text(cov)
    assert len(splits) == 1


@pytest.mark.parametrize(
    ("name", "says"),
    [("rebalance", "This link is for a page your role cannot open"), ("coverage", "Parts of this link compare")],
)
def test_a_leaders_link_opened_by_a_rep_says_so_once(app_store: Path, name: str, says: str) -> None:
    """A leader's link (Rebalance's metric, Coverage's metric and tolerance) opened by a rep: one line saying the link
    is for a view the rep's role has not, and no note per parameter claiming the page does not use it."""
    at = app_as(AVA, page=name, query={"metric": "accounts", "tol": "3"})
    shown = page_text(at) + " ".join(str(i.value) for i in at.sidebar.info)
    assert not errors(at) and shown.count(says) == 1
    assert "not used on this page" not in shown and "Ignored from this link" not in shown
    assert "metric" not in at.query_params and "tol" not in at.query_params


def test_download_headers_never_name_the_internal_code_of_several_currencies() -> None:
    """Page downloads (Coverage, Overview, Rebalance's files) head money 'Potential (EUR)'; in a store of several
    currencies 'Potential (mixed currencies)', never the internal 'XXX'."""
    frame = pd.DataFrame({"name": ["A"], "potential": [1.234]})
    labels = {"name": "Account", "potential": "Potential"}
    assert list(export.readable(frame, labels, currency="EUR", money=("potential",))) == ["Account", "Potential (EUR)"]
    mixed = export.readable(frame, labels, currency=text.MIXED, money=("potential",))
    assert list(mixed) == ["Account", "Potential (mixed currencies)"] and mixed.iloc[0, 1] == 1.23


def _framed(view: Any, lat: Any, lon: Any) -> np.ndarray:
    south, north, west, east = maps.view_bounds(view, 620, 600)
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    on_copy = np.any([(west <= lon + k * 360) & (lon + k * 360 <= east) for k in (-1, 0, 1)], axis=0)  # the map repeats
    return (south <= lat) & (lat <= north) & on_copy


def test_the_first_view_fits_the_bulk_of_a_book_and_counts_the_few_far_accounts() -> None:
    """A European book of 400 accounts with 9 in Tokyo and Sao Paulo: the first view frames Europe (not the world at
    zoom 0.6), and the 9 are counted; a book with a tenth of its accounts abroad is still framed whole."""
    grid = np.linspace(0, 1, 20)
    eu_lat, eu_lon = np.repeat(40 + 15 * grid, 20), np.tile(-5 + 25 * grid, 20)
    lat = np.concatenate([eu_lat, [35.7] * 5 + [-23.5] * 4])
    lon = np.concatenate([eu_lon, [139.7] * 5 + [-46.6] * 4])
    dots = pd.DataFrame({"lat": lat, "lon": lon})
    f_lat, f_lon, far = maps.fit_bulk({"points": dots, "hexes": pd.DataFrame(), "located_accounts": len(dots)})
    view = maps.view_state(f_lat, f_lon, width_px=620, height_px=600)
    assert far == 9 and view.zoom > 3 and _framed(view, eu_lat, eu_lon).all() and not _framed(view, 35.7, 139.7)
    # Dots a sample: the hexagons' counts say how many accounts lie far (5 in one Tokyo hexagon, 4 in Sao Paulo's).
    hexes = pd.DataFrame({"lat": [48.0, 35.7, -23.5], "lon": [8.0, 139.7, -46.6], "accounts": [400, 5, 4]})
    assert maps.fit_bulk({"points": dots.head(50), "hexes": hexes, "located_accounts": 409})[2] == 9
    # The US, with a tenth abroad (the UK, Espoo, Edmonton, Tokyo, Osaka, Sydney): every account framed, none counted
    # (leaving Sydney out would not bring the view nearer).
    far_lat = [53.1, 51.5, 60.2, 53.55, 35.69, 34.69, 35.08, -33.77]
    far_lon = [-2.44, -0.02, 24.65, -113.5, 139.69, 135.5, 137.15, 150.92]
    us = pd.DataFrame(
        {"lat": [*np.linspace(32.7, 47.7, 70), *far_lat], "lon": [*np.linspace(-122.7, -71.2, 70), *far_lon]}
    )
    u_lat, u_lon, far = maps.fit_bulk({"points": us, "hexes": pd.DataFrame(), "located_accounts": len(us)})
    assert far == 0 and _framed(maps.view_state(u_lat, u_lon, width_px=620, height_px=600), us["lat"], us["lon"]).all()


def test_metrics_prints_each_countrys_imbalance_beside_the_whole_books(
    two_countries: Path,  # noqa: F811
    small_store: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Germany 4 + 4 accounts, France 2: the whole book reads 1.20, each country 1.00, as Overview and Coverage show;
    a book of one country has no such section (and an empty JSON key)."""
    assert main(["--db", str(two_countries), "metrics", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["imbalance"]["accounts"]["max_mean"] == pytest.approx(1.2)
    by_country = doc["imbalance_by_country"]
    assert {c: (v["name"], v["reps"]) for c, v in by_country.items()} == {"DE": ("Germany (DE)", 2),
                                                                        "FR": ("France (FR)", 1)}  # fmt: skip
    assert [v["imbalance"]["accounts"]["max_mean"] for v in by_country.values()] == pytest.approx([1.0, 1.0])
    assert main(["--db", str(two_countries), "metrics"]) == 0
    out = capsys.readouterr().out
    assert "(whole book: every territory against the mean of all)" in out
    assert re.search(r"Germany \(DE\)\s+2\s+[\d.]+\s+1\.00", out) and re.search(r"France \(FR\)\s+1\s+", out)
    assert main(["--db", str(small_store), "metrics", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["imbalance_by_country"] == {}
    assert main(["--db", str(small_store), "metrics"]) == 0
    assert "within each country" not in capsys.readouterr().out
