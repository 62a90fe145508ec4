"""Imbalance within each country on Overview and Coverage (planner.coverage.markets): where the optimizer balances a
book within countries (planner.optimize.markets), the pages show each country's territories against its own mean
beside the whole book's, saying which is which; a book of one country shows what it always did."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from planner.cli import main
from planner.coverage import markets, report
from planner.scope import OPERATOR, Scope
from tests.helpers import page, page_text

USERS = """Full Name,Email,Home City,Home Postal Code,Home Country,Active
Anna Berg,anna@acme.eu,Berlin,10117,Germany,Yes
Bernd Kurz,bernd@acme.eu,Berlin,10117,Germany,Yes
Claire Roux,claire@acme.eu,Paris,75001,France,Yes
"""


def _accounts() -> str:
    """Germany: four accounts each for Anna and Bernd (even within Germany); France: two for Claire. Across the
    book 4, 4 and 2 accounts: max/mean 1.20 over the whole book, 1.00 within each country."""
    rows = ["Account Name,Billing City,Billing Zip/Postal Code,Billing Country,Employees,Account Owner"]
    rows += [f"Berlin {i} GmbH,Berlin,10117,Germany,50,{'Anna Berg' if i < 4 else 'Bernd Kurz'}" for i in range(8)]
    rows += [f"Paris {i} SA,Paris,75001,France,50,Claire Roux" for i in range(2)]
    return "\n".join(rows) + "\n"


@pytest.fixture
def two_countries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "users.csv").write_text(USERS)
    (tmp_path / "accounts.csv").write_text(_accounts())
    db = tmp_path / "eu.duckdb"
    assert main(["--db", str(db), "import", str(tmp_path / "users.csv"), str(tmp_path / "accounts.csv")]) == 0
    monkeypatch.setenv("PLANNER_DB", str(db))
    return db


def test_each_country_is_measured_against_its_own_mean(two_countries: Path) -> None:
    with duckdb.connect(str(two_countries), read_only=True) as con:
        ov = report.overview(con, scope=OPERATOR)
        view = report.coverage_report(con, scope=OPERATOR)
        rep = con.execute("SELECT rep_id FROM reps WHERE name = 'Claire Roux'").fetchone()[0]
        assert report.overview(con, scope=Scope(role="rep", rep_id=rep))["market_imbalance"].empty
    assert ov["imbalance"]["accounts"]["max_mean"] == pytest.approx(1.2)  # the whole book: 4, 4, 2
    for by_market in (ov["market_imbalance"], view["market_imbalance"]):
        acc = by_market[by_market["metric"] == "accounts"].set_index("market")
        assert acc["reps"].to_dict() == {"DE": 2, "FR": 1}
        assert acc["max_mean"].tolist() == pytest.approx([1.0, 1.0])
    assert markets.worst(ov["market_imbalance"], "accounts")["max_mean"] == pytest.approx(1.0)


def test_rep_markets_are_the_optimizer_s() -> None:
    table = pd.DataFrame({"rep_id": ["a", "b", "c"], "name": ["A", "B", "C"], "accounts": [6.0, 2.0, 5.0]})
    by_market = markets.market_imbalance(table, {"a": "DE", "b": "DE", "c": "FR"}, {"accounts": "Accounts"})
    assert by_market.set_index("market")["max_mean"].to_dict() == pytest.approx({"DE": 1.5, "FR": 1.0})
    assert markets.market_imbalance(table, None, {"accounts": "Accounts"}).empty  # one market: nothing


def test_overview_and_coverage_show_both_and_say_which_is_which(two_countries: Path) -> None:
    at = page("overview")
    shown = {m.label: m.value for m in at.metric}
    assert shown["Accounts max / mean (whole book)"] == "1.20"
    assert shown["Accounts max / mean, worst country"] == "1.00"
    assert "Whole book: every territory against the mean of all" in page_text(at)
    table = next(d.value for d in at.dataframe if "reps" in d.value.columns)
    assert table["market"].tolist() == ["Germany (DE)", "France (FR)"] and table["reps"].tolist() == [2, 1]
    at = page("coverage", query={"metric": "accounts"})
    assert not at.exception and not at.error
    shown = {m.label: m.value for m in at.metric}
    assert shown["Max / mean (whole book)"] == "1.20" and shown["Max / mean, worst country"] == "1.00"
    assert "Per country: each territory against its own country's mean" in page_text(at)


def test_a_book_of_one_country_shows_what_it_did(app_store: Path) -> None:
    at = page("overview")
    labels = [m.label for m in at.metric]
    assert "Potential max / mean" in labels and "Accounts max / mean" in labels
    assert not any("whole book" in m or "worst country" in m for m in labels)
    at = page("coverage")
    labels = [m.label for m in at.metric]
    assert "Max / mean" in labels and not any("whole book" in m or "worst country" in m for m in labels)
    assert "Whole book:" not in page_text(at)
