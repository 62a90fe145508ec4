"""Every CLI command and every page, as an admin and as a rep, on a lake (#19 point 1: "every command, every
page ... run on both"). CI runs these on the small demo store in a DuckLake; the whole suite runs on lakes
with PLANNER_TEST_STORE=lake (README Development). A command exits 0 and prints no traceback; a page shows no
exception and no raw nan."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from planner import cli, roles
from planner.scope import OPERATOR
from tests.helpers import AUTH, COMMANDS, PAGES, REP_PAGES, app_as, errors, page, page_text

REP = "R001"
REP_EMAIL = "lake.rep@example.com"
# Beyond the matrix's commands: those that only make sense once per store, last the import (it replaces the
# demo world, and R001 with it).
MORE: list[tuple[str, list[str]]] = [
    ("balance-commit", ["balance", "--metric", "accounts", "--commit", "--name", "lake", "--by", "test"]),
    ("roles-remove", ["roles", "remove", "lead@example.com"]),
    ("store-copy", ["store", "copy", "--from", "{db}", "--to", "{tmp}/copy.duckdb"]),
    ("demo", ["demo", "--accounts", "300", "--reps", "4", "--force"]),
]


# Variants of a command that the matrix runs on file stores and that do the same store work again.
SAME_WORK = {"as-of-json", "train-json", "metrics-json", "balance-accounts", "balance-workload",
             "balance-expected-value", "export-reps", "model-json"}  # fmt: skip


def _top_level_commands() -> set[str]:
    parser = cli.build_parser()
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(found[0].choices)


def test_every_command_on_a_lake(small_lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    matrix = [c for c in COMMANDS if c[0] not in SAME_WORK]
    commands = [c for c in matrix if c[0] != "import"] + MORE + [c for c in matrix if c[0] == "import"]
    assert {args[0] for _, args in commands} == _top_level_commands()
    failures = []
    for command, args in commands:
        argv = [a.format(rep=REP, tmp=tmp_path, db=small_lake) for a in args]
        code = cli.main(["--db", str(small_lake), *argv])
        out, err = capsys.readouterr()
        raw = re.findall(r"\b(?:nan|None|NaT)\b%?", out if "--json" not in argv else "")
        if code != 0 or "Traceback" in out + err or raw:
            failures.append(f"{command}: exit {code}, {raw[:3]} {err.strip()[-400:]}")
    assert failures == []


def _check(at: object, where: str) -> None:
    assert errors(at) == [], f"{where}: {errors(at)}"  # type: ignore[arg-type]
    text = page_text(at)  # type: ignore[arg-type]
    for raw in ("Traceback", "nan%", "unexpected "):
        assert raw not in text, f"{where}: {raw!r} shown"


def test_every_page_on_a_lake_as_admin_and_as_a_rep(small_lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_DB", str(small_lake))
    for name in PAGES:
        _check(page(name), f"{name} as admin")
    roles.set_role(small_lake, REP_EMAIL, "rep", REP, scope=OPERATOR)
    for name in REP_PAGES:
        at = app_as(REP_EMAIL, secrets=AUTH, page=name)
        _check(at, f"{name} as rep {REP}")
        assert "Ava Garcia" in page_text(at) or name in ("data", "model", "settings"), f"{name}: not the rep's view"
