"""The `column:NAME` metric on an imported file's own numeric column, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import cli, store
from planner.errors import BadInput
from planner.scope import OPERATOR
from planner.store import scenarios as q

ACCOUNTS = """id,name,owner,visits,other_score,tier
A1,Alpha,Ann,40,1,gold
A2,Beta,Ann,35,2,gold
A3,Gamma,Ann,30,3,silver
A4,Delta,Ann,25,4,silver
A5,Epsilon,Bob,5,5,bronze
A6,Zeta,Bob,5,6,bronze
A7,Eta,Bob,5,7,bronze
A8,Theta,Bob,5,8,bronze
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store from one tiny accounts file whose custom columns came in as attributes (two numbers, one text); the
    tests only read it (balance without --commit)."""
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    db = folder / "tiny.duckdb"
    maps = [a for c in ("visits", "other_score", "tier") for a in ("--map", f"{c}=attribute")]
    assert cli.main(["--db", str(db), "import", str(folder / "accounts.csv"), "--kind", "accounts", *maps]) == 0
    return db


def test_balance_on_an_imported_numeric_column(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--db", str(tiny), "balance", "--metric", "column:visits", "--tolerance", "0.1", "--max-moved", "1"]
    assert cli.main([*args, "--json"]) == 0
    f = json.loads(capsys.readouterr().out)
    # Ann holds 130 of 150 visits today (1.73x the mean); after, each rep within 10% of 75.
    assert f["max_mean_before"] == pytest.approx(130 / 75)
    assert f["max_mean_after"] <= 1.1 + 1e-9 and f["tolerance_met"]
    assert f["moved_accounts"] >= 1


def test_only_the_named_attributes_are_read(tiny: Path) -> None:
    with store.read(tiny) as con:
        plain = q.rebalance_accounts(con, scope=OPERATOR)
        acc = q.rebalance_accounts(con, scope=OPERATOR, attributes=("visits", "potential"))
        with pytest.raises(BadInput, match="'tier' is a text column"):
            q.rebalance_accounts(con, scope=OPERATOR, attributes=("tier",))
    assert "visits" in acc and "other_score" not in acc and "visits" not in plain
    assert list(acc["potential"]) == list(plain["potential"])  # a built-in column wins
    assert dict(zip(acc["name"], acc["visits"], strict=True))["Beta"] == 35


@pytest.mark.parametrize(
    ("metric", "says"),
    [
        ("column:nosuch", "no column is named 'nosuch'; the numeric custom columns are other_score, visits"),
        ("column:tier", "'tier' is a text column, not a number"),
    ],
)
def test_a_column_metric_naming_no_number_is_one_error_line(
    tiny: Path, capsys: pytest.CaptureFixture[str], metric: str, says: str
) -> None:
    assert cli.main(["--db", str(tiny), "balance", "--metric", metric]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says in err and err.count("\n") == 1
