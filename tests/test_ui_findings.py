"""Findings on Overview, Coverage and deep links: a rep's Coverage reads the book-wide figures once per store
version, the per-country split is cached per store version, a leader-only link opened by a rep, the map's first
view on a book with a few far accounts, money headers in a store of several currencies, `metrics` per country."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from planner import export, store, text
from planner.coverage import markets, report
from planner.coverage.facts import Filters
from planner.scope import Scope
from planner.store import metrics as q
from tests.helpers import AVA, app_as, errors, page, page_text
from tests.test_coverage_markets import two_countries  # noqa: F401 (a fixture)


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
