"""Scope is enforced below the UI: planner reads called with a rep's Scope return only that rep's rows.

Explicit checks on the read functions the pages use, plus a sweep: every public function in planner
and planner.store that needs only (con, scope) is called as rep R001, and no DataFrame it returns
may hold another rep's rep_id / owner_rep_id.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import planner
import planner.coverage
import planner.store
from planner import store
from planner.coverage import report, value
from planner.errors import Forbidden, PlannerError
from planner.scope import OPERATOR, Scope
from planner.store import metrics, world

REP = Scope(role="rep", rep_id="R001", user="ava.garcia@example.com")
REP_COLUMNS = ("rep_id", "owner_rep_id")


def own_accounts(path: Path, rep_id: str = "R001") -> set[str]:
    with store.read(path) as con:
        df = store.query_df(con, "SELECT account_id FROM accounts WHERE owner_rep_id = ?", [rep_id])
    return set(df["account_id"])


def frames(value: Any) -> Iterator[pd.DataFrame]:
    """Every DataFrame inside a result (dicts, lists, tuples, dataclasses)."""
    if isinstance(value, pd.DataFrame):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from frames(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from frames(v)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from frames(getattr(value, f.name))


def foreign_reps(value: Any, rep_id: str = "R001") -> set[str]:
    found: set[str] = set()
    for df in frames(value):
        for col in REP_COLUMNS:
            if col in df.columns:
                found |= {str(v) for v in df[col].tolist() if v != rep_id}
    return found


def test_overview_as_a_rep(small_store: Path) -> None:
    with store.read(small_store) as con:
        mine = report.overview(con, scope=REP)
        everyone = report.overview(con, scope=OPERATOR)
        with pytest.raises(Forbidden, match="only view your own territory, not 'R002'"):
            report.overview(con, scope=REP, rep_id="R002")
        assert report.overview(con, scope=REP, rep_id="R001")["kpis"] == mine["kpis"]
    assert mine["kpis"]["accounts"] == len(own_accounts(small_store)) < everyone["kpis"]["accounts"] == 600
    assert list(mine["territories"]["rep_id"]) == ["R001"]
    assert foreign_reps(mine) == set()
    assert foreign_reps(everyone) != set()  # the check does see other reps when they are there


def test_exports_as_a_rep(small_store: Path) -> None:
    with store.read(small_store) as con:
        accounts = world.export_accounts(con, scope=REP)
        deals = world.export_deals(con, scope=REP)
        reps = world.export_reps(con, scope=REP)
        options = world.rep_options(con, scope=REP)
        all_deals = world.export_deals(con, scope=OPERATOR)
    assert set(accounts["account_id"]) == own_accounts(small_store)
    assert set(accounts["owner_rep_id"]) == {"R001"}
    assert set(deals["account_id"]) <= own_accounts(small_store)
    assert len(deals) == int(all_deals["account_id"].isin(own_accounts(small_store)).sum()) > 0
    assert list(reps["rep_id"]) == ["R001"] == list(options["rep_id"])


def test_kpis_as_a_rep(small_store: Path) -> None:
    with store.read(small_store) as con:
        as_of = value.as_of_date(con)
        kpis = metrics.store_kpis(con, as_of, scope=REP)
        totals = metrics.territory_totals(con, as_of, scope=REP)
    assert kpis["accounts"] == len(own_accounts(small_store))
    assert list(totals["rep_id"]) == ["R001"]


def test_rep_scope_needs_a_rep() -> None:
    with pytest.raises(ValueError, match="a rep scope needs the rep's id"):
        Scope(role="rep")
    with pytest.raises(ValueError, match="unknown role 'owner'"):
        Scope(role="owner")


def scoped_reads() -> list[tuple[str, Callable[..., Any]]]:
    """Public functions of planner and planner.store that take (con, scope, <only defaults>)."""
    found = []
    for pkg in (planner, planner.store, planner.coverage):
        for info in pkgutil.iter_modules(pkg.__path__):
            name = f"{pkg.__name__}.{info.name}"
            if name.endswith("__main__") or info.ispkg:
                continue
            module = importlib.import_module(name)
            for fname, fn in inspect.getmembers(module, inspect.isfunction):
                if fn.__module__ != name or fname.startswith("_"):
                    continue
                params = list(inspect.signature(fn).parameters.values())
                if len(params) < 2 or [p.name for p in params[:2]] != ["con", "scope"]:
                    continue
                if all(p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                       for p in params[2:]):  # fmt: skip
                    found.append((f"{name}.{fname}", fn))
    return found


def test_the_sweep_finds_the_known_reads() -> None:
    names = {n for n, _ in scoped_reads()}
    known_reads = (
        "planner.coverage.report.overview",
        "planner.store.world.export_accounts",
        "planner.store.world.rep_options",
    )
    for known in known_reads:
        assert known in names


@pytest.mark.parametrize("name,fn", scoped_reads(), ids=[n for n, _ in scoped_reads()])
def test_every_scoped_read_returns_only_the_reps_rows(small_store: Path, name: str, fn: Callable[..., Any]) -> None:
    with store.read(small_store) as con:
        try:
            result = fn(con, scope=REP)
        except PlannerError:
            return  # refusing (Forbidden, NotEnoughData...) returns nothing, so leaks nothing
    assert foreign_reps(result) == set(), f"{name} leaked other reps' rows to rep R001"
