"""The published instances through the command line alone (README "Reproduce the published instances"), and the
`column:NAME` metric on an imported file's own numeric column."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from planner import cli, store
from planner.errors import BadInput
from planner.scope import OPERATOR
from planner.store import scenarios as q

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Reproduce the published instances"
NO_PLACE = "Travel cannot be measured"


def readme_commands() -> list[str]:
    """The lines of the first bash block of the README's section on the published instances (Pfizer Turkey)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    part = text[text.index(SECTION) :]
    start = part.index("```bash\n") + len("```bash\n")
    return [line for line in part[start : part.index("\n```", start)].splitlines() if line.strip()]


def run_line(line: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run one README line as a shell would (`python -m planner ...`, `python -c ...`, `> FILE`), in process."""
    args = shlex.split(line)
    target = None
    if ">" in args:
        target, args = args[args.index(">") + 1], args[: args.index(">")]
    assert args[0] == "python", line
    if args[1:3] == ["-m", "planner"]:
        assert cli.main(args[3:]) == 0, capsys.readouterr().err
    else:
        assert args[1] == "-c", line
        exec(compile(args[2], "<README>", "exec"), {})  # noqa: S102 - the README's own one-liner
    out = capsys.readouterr().out
    if target:
        Path(target).write_text(out, encoding="utf-8")
    return out


def test_readme_commands_reproduce_pfizer_154_60_km(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "bench" / "instances" / "pfizer", tmp_path / "bench" / "instances" / "pfizer")
    monkeypatch.chdir(tmp_path)
    lines = readme_commands()
    outs = [run_line(line, capsys) for line in lines]
    today, after = (float(x) for x in re.findall(r"\d+\.\d+|\d+", outs[-1])[:2])
    assert after == pytest.approx(154.60, abs=0.01)
    assert today == pytest.approx(187.41, abs=0.01)
    balance = json.loads(Path("pfizer.json").read_text(encoding="utf-8"))
    assert balance["metric"] == "column:index_value" and balance["tolerance_met"]
    assert 0.8 - 1e-6 <= balance["max_mean_after"] <= 1.2 + 1e-6
    # The matrix prices every brick: no note that travel cannot be measured (no brick has a place).
    assert not any(NO_PLACE in n for n in balance["notes"])
    # Without the matrix the note is true, and stays.
    assert cli.main(["--db", "pfizer.duckdb", "balance", "--metric", "column:index_value", "--json"]) == 0
    assert any(NO_PLACE in n for n in json.loads(capsys.readouterr().out)["notes"])


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
