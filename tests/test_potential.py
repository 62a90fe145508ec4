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


def test_accounts_with_revenue_and_no_head_count_get_a_potential_from_revenue(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Dynamics book with annual revenue and no employee counts was worth 0 everywhere: users now come from
    revenue / 250,000 (stated as an assumption); a known head count still wins, and an account with neither is 0."""
    from planner import cli, ingest

    path = tmp_path / "acc.csv"
    path.write_text(
        "Company name,Industry,Annual Revenue,Number of Employees\n"
        "Rev Co,Software,50000000,\nHeads Co,Software,50000000,100\nBare Co,Software,,\n"
    )
    ingest.import_files(empty_store, [path], scope=OPERATOR)
    with store.read(empty_store) as con:
        rows = con.execute(
            "SELECT a.name, p.est_users, p.potential, p.users_basis FROM account_potential p JOIN accounts a "
            "USING (account_id) ORDER BY a.name"
        ).fetchall()
        notes = potential.assumptions(con)
    # Rev Co: 50,000,000 / 250,000 = 200 employees x 0.5 (Software) = 100 users x 600.
    assert rows == [("Bare Co", 0, 0.0, None), ("Heads Co", 50, 30_000.0, "employees"),
                    ("Rev Co", 100, 60_000.0, "revenue")]  # fmt: skip
    assert any("1 account(s) have annual revenue but no employee count" in n and "250,000" in n for n in notes)
    assert any("1 account(s) have neither employees nor annual revenue" in n for n in notes)
    # The stated assumption is the one in force: a store's own figure replaces it.
    with store.write(empty_store) as con:
        store.set_meta(con, "revenue_per_employee", "500000")
    with store.read(empty_store) as con:
        assert con.execute("SELECT est_users FROM account_potential p JOIN accounts a USING (account_id) "
                           "WHERE a.name = 'Rev Co'").fetchone() == (50,)  # fmt: skip
        assert any("one employee per 500,000 of annual revenue" in n for n in potential.assumptions(con))
    capsys.readouterr()
    assert cli.main(["--db", str(empty_store), "potential"]) == 0
    assert "note: 1 account(s) have annual revenue but no employee count" in capsys.readouterr().err


def test_a_plan_does_not_call_a_target_valued_from_revenue_worth_nothing(empty_store: Path, tmp_path: Path) -> None:
    """A target with annual revenue and no head count is valued from revenue, yet the plan warned '1 of 2 targets
    have no employee count, so their potential ... count as $0' and its rationale said 'no estimated users'."""
    from datetime import date

    from planner import ingest, plan

    path = tmp_path / "acc.csv"
    path.write_text("Company name,Industry,Annual Revenue,Number of Employees,Account Owner,Billing Zip\n"
                    "Rev Co,Software,50000000,,Ann Lee,10001\nBare Co,Software,,,Ann Lee,10002\n")  # fmt: skip
    ingest.import_files(empty_store, [path], scope=OPERATOR)
    with store.read(empty_store) as con:
        rep_id = con.execute("SELECT rep_id FROM reps").fetchone()[0]
        p = plan.load(con, scope=OPERATOR, rep_id=rep_id, today=date(2026, 11, 20))
    warnings = " ".join(p.kpis["warnings"])
    assert "1 of 2 targets has neither an employee count nor an annual revenue" in warnings, warnings
    why = dict(zip(p.targets["name"], p.targets["rationale"], strict=True))
    assert "100 users, estimated from annual revenue, x $600" in why["Rev Co"], why
    assert "no employee count or annual revenue, so no estimated users" in why["Bare Co"], why


def test_the_default_price_is_not_silently_relabelled_in_another_currency(
    small_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A yen store showed '2,308 users x ¥600': the dollar default relabelled. The settings now say the default is
    a dollar figure to set in the store's currency, and `potential --help` no longer asks for --price USD."""
    from planner import cli
    from planner.store import world as world_q

    with store.write(small_store) as con:
        con.execute("UPDATE potential_settings SET learned = false")
        world_q.set_currency(con, "JPY", scope=OPERATOR)
    with store.read(small_store) as con:
        notes = potential.assumptions(con)
    (note,) = [n for n in notes if "US-dollar figure" in n]
    assert "default price per user (600) is a US-dollar figure, shown here in JPY without conversion" in note
    assert "Set the price per user in JPY" in note
    before = int(note.split(" segment(s) still use it")[0].rsplit(" ", 1)[1])
    assert cli.main(["--db", str(small_store), "potential", "set", "*", "--price", "90000"]) == 0
    with store.read(small_store) as con:  # '*' now set by a person; the industries still carry the default
        (note,) = [n for n in potential.assumptions(con) if "US-dollar figure" in n]
    assert f"{before - 1} segment(s) still use it" in note
    with store.write(small_store) as con:
        world_q.set_currency(con, "USD", scope=OPERATOR)
    with store.read(small_store) as con:
        assert not any("US-dollar figure" in n for n in potential.assumptions(con))
    with pytest.raises(SystemExit):
        cli.main(["potential", "--help"])
    helptext = capsys.readouterr().out
    assert "USD" not in helptext and "in the store's currency" in helptext
