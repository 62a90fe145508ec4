"""One account has one expected value: on every page's data and in every command, with and without a model.

Expected value = propensity x potential (planner.coverage.value); without model scores the propensity is
the store-wide 12-month win rate. The account is made the store's largest so that it shows everywhere:
top of its rep's book and plan, and white space (moved out of its owner's reach).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from planner import cli, plan, scenarios, store, targets
from planner.coverage import report, value
from planner.coverage.facts import Filters
from planner.scope import OPERATOR, Scope

REP_ID = "R001"
REP = Scope(role="rep", rep_id=REP_ID)


def _make_largest(path: Path) -> str:
    """The rep's first account, made the largest in the store and moved 4,000+ km from any home."""
    with store.write(path) as con:
        account_id = str(
            con.execute(
                "SELECT min(account_id) FROM accounts WHERE owner_rep_id = ? AND account_type <> 'Customer'", [REP_ID]
            ).fetchall()[0][0]
        )
        con.execute(
            "UPDATE accounts SET employees = 500000, lat = 64.8, lon = -147.7, state = 'AK' WHERE account_id = ?",
            [account_id],
        )
    return account_id


def _everywhere(path: Path, account_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    """The account's expected value as each page's data and each command gives it."""
    seen: dict[str, float] = {}
    with store.read(path) as con:
        one = value.account_values(con, scope=OPERATOR, account_ids=[account_id]).set_index("account_id")
        seen["domain"] = float(one.loc[account_id, "expected_value"])
        for who, scope in (("leader", OPERATOR), ("rep", REP)):
            view = report.coverage_view(con, scope=scope, filters=Filters(), max_points=10_000)
            points = view["map"]["points"].set_index("account_id")
            seen[f"coverage map ({who})"] = float(points.loc[account_id, "expected_value"])
            white = view["white_space"].set_index("account_id")
            seen[f"coverage white space ({who})"] = float(white.loc[account_id, "expected_value"])
        book, _ = plan.ranked_book(con, scope=OPERATOR, rep_id=REP_ID, rules=plan.DEFAULT_RULES, currency="USD")
        seen["plan book"] = float(book.set_index("account_id").loc[account_id, "expected_value"])
        shown = plan.load(con, scope=OPERATOR, rep_id=REP_ID)
        seen["plan targets"] = float(shown.targets.set_index("account_id").loc[account_id, "expected_value"])
        acc, _ = scenarios.inputs(con, scope=OPERATOR)
        seen["rebalance"] = float(acc.set_index("account_id").loc[account_id, "expected_value"])
        listed = targets.targets(con, scope=OPERATOR, rep_id=REP_ID)["rows"]
        if len(listed):  # Targets lists scored accounts only
            seen["targets"] = float(listed.set_index("account_id").loc[account_id, "expected_value"])

    assert cli.main(["--db", str(path), "metrics", "--json", "--rep", REP_ID, "--white-space", "600"]) == 0
    white_space = json.loads(capsys.readouterr().out)["white_space"]
    seen["metrics command"] = next(r["expected_value"] for r in white_space if r["account_id"] == account_id)

    out = tmp_path / "balance.csv"
    assert cli.main(["--db", str(path), "balance", "--metric", "accounts", "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    rows = pd.read_csv(out, dtype={"account_id": str}).set_index("account_id")
    seen["balance command"] = float(rows.loc[account_id, "expected_value"])

    xlsx = tmp_path / "plan.xlsx"
    assert cli.main(["--db", str(path), "plan", "--rep", REP_ID, "--out", str(xlsx)]) == 0
    capsys.readouterr()
    sheets = pd.read_excel(xlsx, sheet_name=None, engine="openpyxl")
    table = next(s for s in sheets.values() if {"CRM ID", "Expected value"} <= set(s.columns))
    seen["plan command (rounded)"] = float(table.set_index("CRM ID").loc[account_id, "Expected value"])
    return seen


def _assert_one_value(seen: dict[str, float]) -> None:
    expected = seen["domain"]
    assert expected > 0
    for where, got in seen.items():
        tolerance = 0.5 if "rounded" in where else 1e-6 * expected
        assert got == pytest.approx(expected, abs=tolerance), f"{where} shows {got}, the domain {expected}"


def test_one_expected_value_without_a_model(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    account_id = _make_largest(small_store)
    with store.write(small_store) as con:
        con.execute("UPDATE models SET active = FALSE")  # no active model: every page falls back
    with store.read(small_store) as con:
        basis = value.expected_value_basis(con, scope=OPERATOR)
        potential = float(con.execute("SELECT potential FROM account_potential WHERE account_id = ?",
                                      [account_id]).fetchall()[0][0])  # fmt: skip
    assert basis.source == "win_rate" and basis.win_rate is not None
    seen = _everywhere(small_store, account_id, tmp_path, capsys)
    assert "targets" in seen  # no model: Targets lists the accounts as not scored yet, at the same value
    assert seen["domain"] == pytest.approx(basis.win_rate * potential)
    _assert_one_value(seen)


def test_one_expected_value_with_a_model(small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    account_id = _make_largest(small_store)
    out = tmp_path / "scores.csv"
    assert cli.main(["--db", str(small_store), "score", "--out", str(out)]) == 0
    capsys.readouterr()
    with store.read(small_store) as con:
        assert value.expected_value_basis(con, scope=OPERATOR).source == "model"
    seen = _everywhere(small_store, account_id, tmp_path, capsys)
    scored = pd.read_csv(out, dtype={"account_id": str}).set_index("account_id")
    seen["score command"] = float(scored.loc[account_id, "expected_value"])
    assert "targets" in seen
    _assert_one_value(seen)


def test_rep_sees_the_rate_but_not_the_store_wide_counts(small_store: Path) -> None:
    with store.write(small_store) as con:
        con.execute("UPDATE models SET active = FALSE")
    with store.read(small_store) as con:
        mine = value.expected_value_basis(con, scope=REP)
        everyone = value.expected_value_basis(con, scope=OPERATOR)
    assert mine.win_rate == everyone.win_rate is not None
    assert (mine.won_12m, mine.closed_12m) == (None, None)
    assert everyone.closed_12m is not None and f"{everyone.closed_12m:,} closed" in everyone.note
    assert "closed" not in mine.note.split("(")[1]  # the rate, not the counts
