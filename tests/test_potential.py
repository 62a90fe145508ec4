"""Revenue potential: defaults learned from won deals, manual edits, and expected value kept in step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import potential, store
from planner.errors import BadInput
from planner.scope import OPERATOR
from planner.store import scores as q


def test_learned_defaults_by_hand() -> None:
    won = pd.DataFrame(
        {
            "industry": ["Software"] * 10 + ["Retail"] * 3,
            "employees": [100] * 10 + [1000] * 3,
            "users": [50] * 9 + [30] + [10] * 3,
            "amount": [35_000.0] * 9 + [21_000.0] + [5_000.0] * 3,
        }
    )
    out = potential.learned_defaults(won, min_won=10).set_index("segment")
    # Software: median users/employees = 0.5, median amount/users = 700; Retail has only 3 wins.
    assert out.loc["Software", "adoption_share"] == 0.5
    assert out.loc["Software", "price_per_user"] == 700.0
    assert "Retail" not in out.index
    # All 13 together: shares (9 x 0.5, 0.3, 3 x 0.01) -> median 0.5; prices (10 x 700, 3 x 500) -> 700.
    assert out.loc["*", "adoption_share"] == 0.5 and out.loc["*", "won_deals"] == 13
    assert potential.learned_defaults(won.iloc[:0]).empty


def _row(con: object, account_id: str) -> pd.Series:
    df = q.active_scores(con, scope=OPERATOR)  # type: ignore[arg-type]
    return df.set_index("account_id").loc[account_id]


def test_update_setting_recomputes_potential_expected_value_and_rank(small_store: Path) -> None:
    with store.read(small_store) as con:
        before = q.active_scores(con, scope=OPERATOR)
    acct = before[before["industry"] == "Software"].iloc[0]
    with store.write(small_store) as con:
        potential.update_setting(con, "Software", adoption_share=0.5, price_per_user=1000.0, scope=OPERATOR)
    with store.read(small_store) as con:
        after = q.active_scores(con, scope=OPERATOR)
        table = potential.settings_table(con).set_index("segment")
    row = after.set_index("account_id").loc[acct["account_id"]]
    assert row["est_users"] == round(acct["employees"] * 0.5)
    assert row["potential"] == pytest.approx(row["est_users"] * 1000.0)
    assert row["expected_value"] == pytest.approx(row["propensity"] * row["potential"])
    assert table.loc["Software", "manual"] and not table.loc["Software", "learned"]
    # Ranks follow the new expected values: 1..n, best first.
    assert after["rank"].tolist() == list(range(1, len(after) + 1))
    assert np.all(np.diff(after["expected_value"].to_numpy()) <= 1e-6)


def test_learning_leaves_manual_edits_alone_and_reset_restores(small_store: Path) -> None:
    with store.write(small_store) as con:
        potential.update_setting(con, "*", price_per_user=123.0, scope=OPERATOR)
        potential.learn_defaults(con, min_won=1, scope=OPERATOR)
        price = potential.settings_table(con).set_index("segment").loc["*", "price_per_user"]
        assert price == 123.0
        potential.reset_setting(con, "*", scope=OPERATOR)
        table = potential.settings_table(con).set_index("segment")
    assert table.loc["*", "price_per_user"] != 123.0 and not table.loc["*", "manual"]


def test_update_setting_rejects_bad_values(small_store: Path) -> None:
    with store.write(small_store) as con:
        with pytest.raises(BadInput, match="adoption share 1.5"):
            potential.update_setting(con, "Software", adoption_share=1.5, scope=OPERATOR)
        with pytest.raises(BadInput, match="price per user -1"):
            potential.update_setting(con, "Software", price_per_user=-1, scope=OPERATOR)
        with pytest.raises(BadInput, match="'Mining' is not an industry"):
            potential.update_setting(con, "Mining", adoption_share=0.2, scope=OPERATOR)


def test_demo_build_learns_defaults_from_won_deals(small_store: Path) -> None:
    with store.read(small_store) as con:
        table = potential.settings_table(con).set_index("segment")
    # The small demo has well over 10 won deals in total, so the '*' default is learned.
    assert table.loc["*", "learned"]
    assert 0 < table.loc["*", "adoption_share"] <= 1 and table.loc["*", "price_per_user"] > 0


def test_potential_cli_sets_and_lists(small_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from planner import cli

    assert cli.main(["--db", str(small_store), "potential", "set", "Retail", "--share", "0.25", "--price", "800"]) == 0
    capsys.readouterr()
    assert cli.main(["--db", str(small_store), "potential", "--json"]) == 0
    rows = {r["segment"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["Retail"]["adoption_share"] == 0.25 and rows["Retail"]["price_per_user"] == 800.0
    assert rows["Retail"]["manual"] is True
    assert cli.main(["--db", str(small_store), "potential", "set", "Retail"]) == 2
    assert "needs --share and/or --price" in capsys.readouterr().err
