"""The CLI: commands, exports, one-line errors with exit status 2."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from planner.cli import main
from tests.conftest import ROOT


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "planner", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)  # fmt: skip


def test_demo_then_export_accounts_and_reps(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    res = run_cli("--db", str(db), "demo", "--accounts", "400", "--reps", "5", "--seed", "2")
    assert res.returncode == 0, res.stderr
    assert "400 accounts" in res.stdout
    assert run_cli("--db", str(db), "export", "accounts", "--out", str(tmp_path / "a.csv")).returncode == 0
    with open(tmp_path / "a.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 400
    for col in ["account_id", "name", "industry", "employees", "city", "state", "postal_code", "lat", "lon", "owner"]:
        assert col in rows[0]
    assert len(rows[0]["postal_code"]) == 5
    assert run_cli("--db", str(db), "export", "reps", "--out", str(tmp_path / "r.csv")).returncode == 0
    with open(tmp_path / "r.csv", encoding="utf-8-sig") as fh:
        reps = list(csv.DictReader(fh))
    assert len(reps) == 5
    for col in ["name", "email", "quota", "home_lat", "home_lon"]:
        assert col in reps[0]
    owners = {r["owner"] for r in rows} - {""}
    assert owners <= {r["name"] for r in reps}


def test_export_deals(small_store: Path, tmp_path: Path) -> None:
    assert main(["--db", str(small_store), "export", "deals", "--out", str(tmp_path / "d.xlsx")]) == 0
    assert (tmp_path / "d.xlsx").stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--accounts", "x"], "invalid int value"),
        (["demo", "--accounts", "3"], "out of range"),
        (["export", "nothing", "--out", "x.csv"], "invalid choice"),
        (["export", "accounts"], "required"),
        (["nosuchcommand"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    res = run_cli("--db", str(tmp_path / "x.duckdb"), *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.stderr
    assert "Traceback" not in res.stderr


def test_missing_and_corrupt_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(tmp_path / "none.duckdb"), "export", "accounts", "--out", str(tmp_path / "a.csv")]) == 2
    assert capsys.readouterr().err.startswith("error: no store at")
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"%PDF-1.4 not a store")
    assert main(["--db", str(bad), "export", "accounts", "--out", str(tmp_path / "a.csv")]) == 2
    assert "not a readable Territory Planner store" in capsys.readouterr().err


def test_export_refuses_unknown_suffix(small_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(small_store), "export", "accounts", "--out", "x.pdf"]) == 2
    assert "use a .csv or .xlsx" in capsys.readouterr().err


def test_every_command_has_help() -> None:
    from planner.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:
        res = run_cli(name, "--help")
        assert res.returncode == 0 and "usage:" in res.stdout, name


def test_env_var_selects_store(small_store: Path, tmp_path: Path) -> None:
    import os

    env = {**os.environ, "PLANNER_DB": str(small_store)}
    res = run_cli("export", "reps", "--out", str(tmp_path / "r.csv"), env=env)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "r.csv").read_text(encoding="utf-8-sig").count("\n") == 7
