"""What a rep's own pages must not tell about colleagues or the book: how far a colleague's home is from the rep's
white space (readings at several places locate the home), the book's size on the Model page, and company-wide win
rates read as the rep's own."""

from __future__ import annotations

import math
import re
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from planner import plan, store, targets
from planner.coverage import report
from planner.coverage.facts import Filters
from planner.scope import OPERATOR, Scope
from planner.store import scores
from tests.helpers import errors, page
from ui import maps

REP = Scope(role="rep", rep_id="R001", user="r001@example.com")


def _others(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["nearest_rep"] == report.OTHER_REP]


def test_a_rep_reads_that_another_rep_is_nearer_but_not_how_far(small_store: Path) -> None:
    with store.read(small_store) as con:
        views = [report.coverage_view(con, scope=REP, resolution=r, white_space_limit=10_000) for r in (3, 4, 5)]
        boss = report.coverage_view(con, scope=OPERATOR, filters=Filters(rep_id="R001"), white_space_limit=10_000)
    hexes = pd.concat([v["map"]["hexes"] for v in views])
    white = views[0]["white_space"]
    assert len(_others(hexes)) and len(_others(white)), "the store must have white space nearer another rep"
    assert _others(hexes)["nearest_rep_km"].isna().all(), _others(hexes)[["nearest_rep", "nearest_rep_km"]]
    assert _others(white)["nearest_rep_km"].isna().all(), _others(white)[["name", "nearest_rep", "nearest_rep_km"]]
    mine = white[white["nearest_rep"] != report.OTHER_REP]
    assert mine["nearest_rep_km"].notna().any(), "the distance to the rep's own home is still given"
    assert boss["white_space"]["nearest_rep_km"].notna().all(), "a leader still reads every distance"
    # The hexagon tooltip says another rep is nearer, with no distance.
    layer = maps.hexagon_layer(views[1]["map"]["hexes"], "white_space_potential", "white_space", [[0, 0, 0], [9, 9, 9]])
    lines = [row["l3"] for row in layer.data if report.OTHER_REP in row["l3"]]
    assert lines and not any("km" in line for line in lines), lines[:3]
    assert not any(math.isfinite(v) for v in _others(hexes)["nearest_rep_km"].astype(float))


def test_the_model_page_gives_a_rep_the_interval_without_the_books_test_deals(
    app_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui import auth

    with store.read(app_store) as con:
        record = scores.model_record(con)
    assert record is not None and record["metrics"].get("auc_interval") and record["metrics"].get("n_test")
    n_test = f"{int(record['metrics']['n_test']):,}"

    def interval(at: Any) -> str:
        return next(str(c.value) for c in at.caption if str(c.value).startswith("95% interval"))

    leader = page("model")
    assert errors(leader) == [] and f"over {n_test} test deals" in interval(leader)
    monkeypatch.setattr(auth, "current", lambda: Scope(role="rep", rep_id="R001", user="ava@example.com"))
    at = page("model")
    assert errors(at) == []
    shown = interval(at)
    assert "test deals" not in shown and n_test not in shown, shown


def _unlabelled_win_rates(text: str) -> list[str]:
    """Each mention of a win rate that does not say it is the company's (the 60 characters before it)."""
    return [text[max(0, m.start() - 60) : m.end()] for m in re.finditer(r"win rate", text)
            if "company's" not in text[max(0, m.start() - 60) : m.start()]]  # fmt: skip


def test_company_win_rates_are_labelled_as_the_companys_where_a_rep_reads_them(
    small_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from planner.coverage import value
    from planner.plan import exports
    from planner.store import metrics

    with store.read(small_store) as con:
        basis = value.expected_value_basis(con, scope=REP)
        assert basis.win_rate is not None
        notes = [basis.note]
        found = targets.targets(con, "R001", scope=REP)["rows"]
        industry = [r for r in found["reasons"].astype(str) if "Industry" in r and "deals won" in r]
        assert industry, "the Targets page explains by industry"
        assert all("of the company's deals won" in r for r in industry), industry[:3]
        real_kind = value._kind
        for kind in ("fit_score", "model"):  # the fit score's note, then the model's
            monkeypatch.setattr(value, "_kind", lambda c, v, k=kind: (k, "too little history"))
            monkeypatch.setattr(metrics, "active_model", lambda c: (1, 10))
            notes.append(value.expected_value_basis(con, scope=REP).note)
        monkeypatch.setattr(value, "_kind", real_kind)
        monkeypatch.setattr(metrics, "active_model", lambda c: (None, 0))  # no model: every account at the rate
        notes.append(value.expected_value_basis(con, scope=REP).note)
        p = plan.load(con, scope=REP, rep_id="R001")
    assert all("win rate" in n for n in notes), notes
    assert _unlabelled_win_rates("\n".join(notes)) == [], notes
    text = "\n".join([p.source, *p.notes, p.book.to_csv(), p.targets.to_csv(), exports.to_markdown(p)])
    assert "win rate" in text
    assert _unlabelled_win_rates(text) == []
    # The plan's "12 months to" is the plan's (the store's) as-of date, the one its "Data as of" shows.
    assert f"12 months to {p.as_of.isoformat()}" in p.source, p.source


def test_cached_figures_are_kept_for_one_day(small_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's as-of date is today unless set: a figure cached yesterday ("Data as of 2026-12-04") must not
    stand beside one made today ("the 12 months to 2026-12-05")."""
    from ui import data

    calls: list[str] = []
    marker = uuid.uuid4().hex

    def count(con: Any, tag: str) -> int:
        calls.append(tag)
        return len(calls)

    class Day(date):
        now = date(2026, 12, 4)

        @classmethod
        def today(cls) -> date:  # type: ignore[override]
            return cls.now

    monkeypatch.setattr(data, "date", Day, raising=False)  # raising=False: also where data has no date yet
    snap = data.Snapshot(small_store)
    try:
        assert data.cached(count, snap, marker) == data.cached(count, snap, marker) == 1
        Day.now = date(2026, 12, 5)
        assert data.cached(count, snap, marker) == 2, "a new day: computed again"
    finally:
        snap.close()
