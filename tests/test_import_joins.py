"""The import's joins are hash joins: a deals file linked by ID or by name to a million accounts must not compare
every deal with every account (a nested loop took 51 s at 100k accounts and never finished at 1M)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from planner import ingest
from planner.scope import OPERATOR
from planner.store import core
from tests.helpers import table

# Joins that compare each row of one side with each row of the other. One whose condition is `true` joins a
# one-row scalar subquery (a setting) and costs nothing; any other is quadratic in the tables' sizes.
LOOPS = {"NESTED_LOOP_JOIN", "BLOCKWISE_NL_JOIN", "PIECEWISE_MERGE_JOIN", "IE_JOIN"}
QUERY = re.compile(r"(?is)^\s*(CREATE\s+(OR\s+REPLACE\s+)?TEMP(ORARY)?\s+TABLE\s+\S+\s+AS\s+)?((SELECT|WITH)\b.*)")


def _loops(node: dict[str, Any]) -> Iterator[str]:
    info = node.get("extra_info") or {}
    if node.get("name") in LOOPS and str(info.get("Condition", "")).strip() != "true":
        yield f"{node['name']} ON {info.get('Condition') or info.get('Conditions')}"
    for child in node.get("children", []):
        yield from _loops(child)


class _Planned:
    """A store connection that plans every query that joins, before running it, and keeps the loop joins found."""

    def __init__(self, con: duckdb.DuckDBPyConnection, seen: list[tuple[str, list[str]]]) -> None:
        self._con, self._seen = con, seen

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        m = QUERY.match(str(sql))
        if m and " JOIN " in " ".join(m.group(4).split()).upper():
            plan = self._con.execute("EXPLAIN (FORMAT json) " + m.group(4), *args, **kwargs).fetchall()
            found = [loop for root in json.loads(plan[0][1]) for loop in _loops(root)]
            self._seen.append((" ".join(str(sql).split()), found))
        return self._con.execute(sql, *args, **kwargs)


def planned_import(monkeypatch: pytest.MonkeyPatch, db: Path, *files: tuple[Path, str]) -> list[tuple[str, list[str]]]:
    """Import each (file, kind) in a write of its own, planning every joining query: (statement, its loop joins)."""
    seen: list[tuple[str, list[str]]] = []
    real_open = core._open
    monkeypatch.setattr(core, "_open", lambda path, read_only, **kw: _Planned(real_open(path, read_only, **kw), seen))
    for path, kind in files:
        ingest.import_files(db, [path], kind, scope=OPERATOR)
    monkeypatch.setattr(core, "_open", real_open)
    return seen


def test_deals_find_their_accounts_by_hash_joins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deals that name their account by its 18-character ID, by the 15-character form of it (either way round) and
    by name alone: every one links where it should, and no query of the import joins in a loop."""
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "Account ID,Account Name,Billing City,Billing State\n"
        "0015g00000AAAAAAA1,Acme Corp,Boston,MA\n"
        "0015g00000BBBBBAA2,Beta LLC,Austin,TX\n"
        "0015g00000CCCCC,Gamma Inc,Denver,CO\n"
    )
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "Opportunity ID,Opportunity Name,Account ID,Account Name,Stage,Amount,Close Date\n"
        "0065g00000D0001,Exact,0015g00000AAAAAAA1,Acme Corp,Closed Won,100,2025-01-10\n"
        "0065g00000D0002,Short form,0015g00000BBBBB,,Closed Lost,200,2025-02-10\n"
        "0065g00000D0003,Long form,0015g00000CCCCCAA3,,Prospecting,300,2025-03-10\n"
        "0065g00000D0004,By name,,acme corp,Prospecting,400,2025-04-10\n"
        "0065g00000D0005,Unknown account,0015g00000ZZZZZ,Zeta GmbH,Prospecting,500,2025-05-10\n"
    )
    by_name = tmp_path / "deals_by_name.csv"  # no account ID column at all: every deal finds its account by name
    by_name.write_text(
        "Opportunity Name,Account Name,Stage,Amount,Close Date,Created Date\n"
        "Renewal,Beta LLC,Closed Won,150,2025-06-10,2025-01-02\n"
        "Upsell,Gamma Inc,Prospecting,250,2025-07-10,2025-01-03\n"
    )
    db = tmp_path / "store.duckdb"
    seen = planned_import(monkeypatch, db, (accounts, "accounts"), (deals, "deals"), (by_name, "deals"))

    assert table(db, "SELECT name, account_id FROM deals ORDER BY name") == [
        ("By name", "0015g00000AAAAAAA1"),
        ("Exact", "0015g00000AAAAAAA1"),
        ("Long form", "0015g00000CCCCC"),
        ("Renewal", "0015g00000BBBBBAA2"),
        ("Short form", "0015g00000BBBBBAA2"),
        ("Unknown account", "0015g00000ZZZZZ"),
        ("Upsell", "0015g00000CCCCC"),
    ]
    statements = [sql for sql, _ in seen]
    # The queries that link deals to accounts were planned (the check is not vacuous).
    assert any(s.startswith("CREATE OR REPLACE TEMP TABLE _aref") for s in statements)
    assert sum(s.startswith("CREATE OR REPLACE TEMP TABLE _p AS") for s in statements) >= 3
    assert [(sql[:120], loops) for sql, loops in seen if loops] == []


def test_the_deals_benchmark_links_every_deal(tmp_path: Path) -> None:
    """bench/import_speed.py's deals files (about two per account, by Account ID and by name) import whole."""
    from bench import import_speed as bench

    accounts = tmp_path / "accounts.csv"
    bench.write_salesforce_export(accounts, 300)
    res = bench.time_deals(300, tmp_path, accounts)
    for by in ("id", "name"):
        d = res[by]
        assert d["by"] == by and 400 < d["rows"] < 800, d
        assert (d["inserted"], d["rejected"], d["accounts_created"]) == (d["rows"], 0, 0), d
        assert d["import_s"] > 0 and d["baseline_s"] > 0
