"""Settings' default capacity reaches every rep without a capacity of their own (explore-X X1): an import and the
demo create reps with NULL capacity, which each reader takes as the store's setting; a reps file's own capacity
wins, and `export reps` shows a default capacity blank."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

from planner import cli, ingest
from planner.scope import OPERATOR
from tests.helpers import table

ACCOUNTS = """Account Name,Billing City,Billing Country,Employees,Account Owner
Bau KG,Stuttgart,Germany,200,Anna Klein
Medien GmbH,Berlin,Germany,300,Lena Schulz
"""
USERS = """Full Name,Email,Capacity Hours,Home City,Country
Felix Wagner,felix@vertrieb.example,900,Kiel,Germany
Jana Roth,jana@vertrieb.example,,Bremen,Germany
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _cli(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(list(args)) == 0
    return out.getvalue()


def _territories(path: Path) -> dict[str, dict[str, float]]:
    data = json.loads(_cli("--db", str(path), "metrics", "--json"))
    return {t["name"]: t for t in data["territories"] if t["name"]}


def test_imported_reps_take_the_saved_default_capacity(empty_store: Path, tmp_path: Path) -> None:
    ingest.import_files(empty_store, [_write(tmp_path / "accounts.csv", ACCOUNTS)], scope=OPERATOR)
    _cli("--db", str(empty_store), "settings", "--set", "default_capacity_hours=1000")
    new = "Account Name,Billing City,Billing Country,Employees,Account Owner\nWerft AG,Kiel,Germany,100,Neue Kollegin\n"
    ingest.import_files(empty_store, [_write(tmp_path / "new.csv", new)], scope=OPERATOR)  # after the setting
    ingest.import_files(empty_store, [_write(tmp_path / "users.csv", USERS)], scope=OPERATOR)
    terr = _territories(empty_store)
    assert set(terr) >= {"Anna Klein", "Lena Schulz", "Neue Kollegin", "Felix Wagner", "Jana Roth"}
    for name in ("Anna Klein", "Lena Schulz", "Neue Kollegin", "Jana Roth"):
        t = terr[name]
        assert t["capacity_hours"] == 1000
        assert t["utilisation"] == t["book_hours"] / 1000
    assert terr["Anna Klein"]["book_hours"] > 0
    assert terr["Felix Wagner"]["capacity_hours"] == 900  # the file's own capacity wins
    _cli("--db", str(empty_store), "settings", "--set", "default_capacity_hours=1200")
    assert _territories(empty_store)["Anna Klein"]["capacity_hours"] == 1200

    # export shows a default capacity blank, and importing the export back keeps it so
    out = tmp_path / "reps.csv"
    _cli("--db", str(empty_store), "export", "reps", "--out", str(out))
    with out.open(encoding="utf-8-sig") as f:
        caps = {r["name"]: r["capacity_hours"] for r in csv.DictReader(f)}
    assert caps["Anna Klein"] == "" and caps["Jana Roth"] == "" and float(caps["Felix Wagner"]) == 900
    ingest.import_files(empty_store, [out], scope=OPERATOR)
    assert table(empty_store, "SELECT name, capacity_hours FROM reps WHERE capacity_hours IS NOT NULL") == [
        ("Felix Wagner", 900.0)
    ]


def test_demo_reps_take_the_saved_default_capacity(small_store: Path) -> None:
    _cli("--db", str(small_store), "settings", "--set", "default_capacity_hours=1000")
    terr = _territories(small_store)
    busy = max(terr.values(), key=lambda t: t["book_hours"])
    assert busy["book_hours"] > 0 and busy["utilisation"] == busy["book_hours"] / 1000
    assert terr and all(t["capacity_hours"] == 1000 for t in terr.values())
    assert table(small_store, "SELECT count(*) FROM reps WHERE capacity_hours IS NOT NULL") == [(0,)]
