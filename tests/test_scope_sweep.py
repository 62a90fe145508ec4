"""The scope sweep (#17): every public planner function that touches the store, called as a rep.

Every public function of every planner module that takes a connection (or a store path) or calls
planner.store is found by inspection, whatever its signature. Each one must have an entry here:
- READS: called as rep R001 on a known store, once for the rep's own territory and once naming
  another rep's (rep ids, plan ids, account ids); whatever comes back (frames, dicts, dataclasses,
  text, files) must hold no other rep's account IDs or names, and no other rep's name, ID or email.
  A refusal (Forbidden or another one-line PlannerError) returns nothing, so it leaks nothing.
- WRITES: called as R001 with arguments outside the rep's scope (another rep's plan, territory or
  account, or an admin's or leader's action); each must be refused and leave the store byte-identical.
  An AUTO entry is a leader's or admin's call (a store-wide read, an admin write, an importer step):
  made as the rep it must raise Forbidden, before it touches anything.
- UNSCOPED: functions without a scope (no territory data by design: settings, dates, cache keys, sign-in
  itself): called, and held to the same no-leak check, so the claim is proven rather than trusted.
- EXEMPT: the CLI commands (run as OPERATOR) and plumbing that moves no territory data (SQL text, schema,
  connections, the offer catalogue), each with its reason. The web app must never reach an exempt
  function directly (checked by scanning ui/ and pages/).
A new public function without an entry fails test_every_store_function_has_an_entry, so the sweep
cannot rot.
"""

from __future__ import annotations

import contextlib
import dataclasses
import dis
import importlib
import inspect
import io
import pkgutil
import re
import types
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

import planner
from planner import geo, optimize, plan, store
from planner.coverage import facts as coverage_facts
from planner.coverage.facts import Filters
from planner.errors import Forbidden, PlannerError
from planner.scope import OPERATOR, Scope
from tests.conftest import ROOT
from tests.lake import store_state

OWN, OTHER = "R001", "R002"
OPTIONS = optimize.Options()
STORE_PARAMS = {"con", "db_path", "conn", "cur"}


# ---------------------------------------------------------------- finding every function


def _is_store(value: Any) -> bool:
    name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
    return isinstance(name, str) and (name == "planner.store" or name.startswith("planner.store."))


def _imports_store(code: types.CodeType) -> bool:
    """The function imports planner.store (or its modules) inside its body."""
    ops = list(dis.get_instructions(code))
    for op, following in zip(ops, ops[1:], strict=False):
        if op.opname == "IMPORT_NAME" and str(op.argval).startswith("planner.store"):
            return True
        if (
            op.opname == "IMPORT_NAME"
            and op.argval == "planner"
            and (following.opname, following.argval)
            == (
                "IMPORT_FROM",
                "store",
            )
        ):
            return True
    return any(_imports_store(c) for c in code.co_consts if isinstance(c, types.CodeType))


def touches_store(fn: Callable[..., Any]) -> bool:
    """Takes a connection or store path, or uses planner.store (store.write, q.counts...), imported at the
    top of its module or inside its body."""
    params = inspect.signature(fn).parameters
    if STORE_PARAMS & set(params):
        return True
    fn = inspect.unwrap(fn)  # a @contextmanager's own code, not contextlib's wrapper
    return any(_is_store(fn.__globals__.get(n)) for n in fn.__code__.co_names) or _imports_store(fn.__code__)


def store_functions() -> dict[str, Callable[..., Any]]:
    found = {}
    for info in pkgutil.walk_packages(planner.__path__, "planner."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, fn in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != info.name:
                continue
            if touches_store(fn):
                found[f"{info.name}.{name}"] = fn
    return found


# ---------------------------------------------------------------- the known store


@dataclasses.dataclass
class World:
    path: Path
    rep: dict[str, Scope]  # rep_id -> that rep's scope
    names: dict[str, str]  # rep_id -> name
    emails: dict[str, str]  # rep_id -> email
    account: dict[str, str]  # rep_id -> one account the rep owns
    plan_id: dict[str, int]  # rep_id -> the rep's saved plan
    plans: dict[str, plan.Plan]  # rep_id -> that plan, as composed for the rep
    scenario_id: int
    result: optimize.Result
    upload: Path
    stack: contextlib.ExitStack = dataclasses.field(default_factory=contextlib.ExitStack)


@pytest.fixture(scope="module")
def base(
    small_store_template: Path, tmp_path_factory: pytest.TempPathFactory, module_store: Callable[[Path, Path], Path]
) -> World:
    """The small demo store with a committed assignment version, a draft scenario and a saved plan for
    R001 and R002; built once per worker, read by every read test (a lake under PLANNER_TEST_STORE=lake)."""
    from planner import scenarios

    tmp = tmp_path_factory.mktemp("sweep")
    path = module_store(small_store_template, tmp / "sweep.duckdb")
    with store.read(path) as con:
        result = scenarios.run(con, optimize.Options(), scope=OPERATOR)
    sid = scenarios.save(path, "sweep", result, "operator", scope=OPERATOR)
    scenarios.commit(path, sid, "operator", scope=OPERATOR)
    sid = scenarios.save(path, "sweep draft", result, "operator", scope=OPERATOR)
    for rep_id in (OWN, OTHER):
        with store.read(path) as con:
            p = plan.load(con, scope=OPERATOR, rep_id=rep_id)
        plan.save(path, scope=OPERATOR, plan=p)
    upload = tmp / "accounts.csv"
    upload.write_text("Account ID,Account Name,City,State\nX1,Upload Co,Austin,TX\n")
    with store.read(path) as con:
        reps = con.execute("SELECT rep_id, name, email FROM reps").fetchall()
        acc = dict(
            con.execute(
                "SELECT owner_rep_id, min(account_id) FROM accounts WHERE owner_rep_id IN (?, ?) GROUP BY 1",
                [OWN, OTHER],
            ).fetchall()
        )
        plan_ids = dict(con.execute("SELECT rep_id, max(plan_id) FROM plans GROUP BY 1").fetchall())
        scopes = {r: Scope(role="rep", rep_id=r, user=str(e)) for r, _, e in reps}
        plans = {r: plan.load(con, scope=scopes[r], rep_id=r) for r in (OWN, OTHER)}
    return World(
        path=path, rep=scopes, names={r: str(n) for r, n, _ in reps}, emails={r: str(e) for r, _, e in reps},
        account=acc, plan_id={str(k): int(v) for k, v in plan_ids.items()}, plans=plans, scenario_id=sid,
        result=result, upload=upload,
    )  # fmt: skip


@pytest.fixture
def world(base: World, tmp_path: Path, store_for_test: Callable[[Path, Path], Path]) -> World:
    """A private copy of the base store, for a test that tries to write."""
    path = store_for_test(base.path, tmp_path / "store.duckdb")
    return dataclasses.replace(base, path=path, stack=contextlib.ExitStack())


@pytest.fixture(scope="module")
def foreign(base: World) -> tuple[set[str], set[str]]:
    """(IDs, names): what rep R001 must never be shown. IDs are other reps' account and rep IDs,
    compared as whole tokens; names are other reps' account names, rep names and emails, found
    anywhere in the text (except those that are part of one of R001's own names)."""
    with store.read(base.path) as con:
        accounts = con.execute("SELECT account_id, name, owner_rep_id FROM accounts").fetchall()
        reps = con.execute("SELECT rep_id, name, email FROM reps").fetchall()
    mine = [str(n) for _, n, o in accounts if o == OWN] + [str(x) for r, n, e in reps if r == OWN for x in (n, e)]
    ids = {str(a) for a, _, o in accounts if o != OWN} | {str(r) for r, _, _ in reps if r != OWN}
    names = {str(n) for _, n, o in accounts if o != OWN} | {str(x) for r, n, e in reps if r != OWN for x in (n, e)}
    return ids, {n for n in names if n and n != "None" and not any(n in m for m in mine)}


# ---------------------------------------------------------------- what counts as a leak


def text_of(value: Any, seen: set[int] | None = None) -> Iterator[str]:
    """Every value a caller could show, as text: frames and series whole, containers, dataclasses,
    text, bytes (workbooks unpacked), and any other object's public attributes."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, pd.DataFrame | pd.Series):
        yield value.to_csv()
        yield " ".join(map(str, value.attrs.values()))
    elif isinstance(value, str | int | float | bool | date) or value is None:
        yield str(value)
    elif isinstance(value, bytes):
        if value[:2] == b"PK":
            book = openpyxl.load_workbook(io.BytesIO(value))
            yield from (str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value is not None)
        else:
            yield value.decode("utf-8", errors="replace")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from text_of(k, seen)
            yield from text_of(v, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            yield from text_of(v, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from text_of(getattr(value, f.name), seen)
    elif hasattr(value, "__dict__"):
        for k, v in vars(value).items():
            if not k.startswith("_"):
                yield from text_of(v, seen)
    else:
        yield str(value)


def leaks(value: Any, foreign: tuple[set[str], set[str]]) -> list[str]:
    ids, names = foreign
    text = "\n".join(text_of(value))
    found = sorted(ids & set(re.findall(r"[\w-]+", text)))
    return found + sorted(n for n in names if n in text)


# ---------------------------------------------------------------- the table

# Argument builders: (con, world, rep_id in view) -> (args, kwargs), without the connection or store
# path (given first) and without scope (given as scope=). Reads run for rep_id OWN and OTHER.
Args = Callable[[Any, World, str], tuple[tuple[Any, ...], dict[str, Any]]]


def kw(**fixed: Any) -> Args:
    return lambda con, w, rep: ((), dict(fixed))


def _plausible(param: str, w: World) -> Any:
    """Another rep's (or a store-wide) value for a parameter, chosen by its name; None for the rest."""
    other = {
        "rep_id": OTHER, "rep_ids": [OTHER], "account_id": w.account[OTHER], "account_ids": [w.account[OTHER]],
        "plan_id": w.plan_id[OTHER], "scenario_id": w.scenario_id, "version": 1, "actor": w.emails[OTHER],
        "created_by": w.emails[OTHER], "email": w.emails[OTHER], "role": "admin", "action": "sweep", "detail": {},
        "segment": "*", "import_id": 1, "note": "sweep", "origin": "sweep", "value": None, "attrs": ["x"],
    }  # fmt: skip
    return other.get(param)


def auto(fn: Callable[..., Any], w: World) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Arguments for a call that only a leader or an admin may make: another rep's values where the
    name says what it holds. The call must be refused with Forbidden before it touches anything, so
    the values never matter (a BadInput on a placeholder would not pass: Forbidden is asserted)."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    args = tuple(_plausible(p.name, w) for p in params if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty)
    kwargs = {p.name: _plausible(p.name, w) for p in params
              if p.kind is p.KEYWORD_ONLY and p.default is p.empty and p.name != "scope"}  # fmt: skip
    return args, kwargs


# An entry of AUTO: only leaders or admins may call it (reads of the whole store, admin writes, the
# importer's steps); called as a rep with `auto` arguments it must raise Forbidden.
AUTO: Args = lambda con, w, rep: ((), {})  # noqa: E731


def _ctx(con: Any) -> coverage_facts.Context:
    return coverage_facts.context(con, scope=OPERATOR, workload=None)


def _facts_table(con: Any, w: World) -> str:
    """A facts table of every account (built as the operator), kept open for the rest of the test."""
    cm = coverage_facts.account_facts(con, scope=OPERATOR, filters=Filters(), ctx=_ctx(con))
    return str(w.stack.enter_context(cm))


def _store_facts_args(con: Any, w: World, rep: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    from planner.coverage.facts import CAPACITY_ORDER, STATUS_CODES

    ctx = _ctx(con)
    wl = ctx.workload
    return (), dict(
        as_of=ctx.as_of, predicate=Filters(rep_id=rep).predicate(),
        fixed_hours=(float(wl.fixed_hours(True)), float(wl.fixed_hours(False))),
        hours_per_km=(float(wl.hours_per_km(True)), float(wl.hours_per_km(False))),
        reachable_km=wl.reachable_km, default_capacity=wl.default_capacity_hours,
        fallback_propensity=ctx.basis.fallback_propensity, model_version=ctx.basis.model_version,
        statuses=STATUS_CODES, capacity_order=CAPACITY_ORDER,
    )  # fmt: skip


def _owner(rep: str) -> str | None:
    """The territory named: none for the rep's own run (the scope alone must narrow), another rep's otherwise."""
    return None if rep == OWN else rep


def _cells_table(con: Any, w: World) -> str:
    """Every account's H3 cell (as the operator), registered for the rest of the test."""
    from planner.coverage import hexmap
    from planner.store import metrics

    return str(w.stack.enter_context(metrics.registered(con, hexmap.account_cells(con, scope=OPERATOR))))


def _facts_cells(con: Any, w: World, rep: str) -> tuple[Any, ...]:
    return _facts_table(con, w), _cells_table(con, w), geo.h3_parent_masks(4)


def _hex(con: Any, w: World, rep: str) -> str:
    lat, lon = con.execute("SELECT lat, lon FROM accounts WHERE account_id = ?", [w.account[rep]]).fetchone()
    return str(geo.h3_cells([lat], [lon], 4)[0])


def _as_of(con: Any) -> date:
    from planner.coverage.value import as_of_date

    return as_of_date(con)


def _statuses() -> Any:
    from planner.coverage.facts import STATUS_CODES

    return STATUS_CODES


def _plan_window(w: World, rep: str) -> dict[str, Any]:
    p = w.plans[rep]
    return {"start": p.start, "end": p.start + timedelta(weeks=p.weeks)}


READS: dict[str, Args] = {
    "planner.coverage.facts.context": kw(workload=None),
    "planner.coverage.facts.account_facts": lambda c, w, rep: ((), {"filters": Filters(rep_id=rep), "ctx": _ctx(c)}),
    "planner.coverage.hexmap.hexagon_detail": lambda c, w, rep: (
        (),
        {"filters": Filters(rep_id=rep), "hex_id": _hex(c, w, rep), "resolution": 4},
    ),
    "planner.coverage.report.overview": lambda c, w, rep: ((), {"rep_id": rep}),
    "planner.coverage.report.territory_metrics": lambda c, w, rep: ((), {"filters": Filters(rep_id=rep)}),
    "planner.coverage.report.coverage_report": lambda c, w, rep: ((), {"filters": Filters(rep_id=rep)}),
    "planner.coverage.report.coverage_view": lambda c, w, rep: ((), {"filters": Filters(rep_id=rep)}),
    "planner.coverage.report.coverage_map": lambda c, w, rep: ((), {"filters": Filters(rep_id=rep)}),
    "planner.coverage.report.account_card": lambda c, w, rep: ((), {"account_id": w.account[rep]}),
    "planner.coverage.report.filter_options": kw(),
    "planner.coverage.markets.store_markets": kw(),
    "planner.coverage.value.expected_value_basis": kw(),
    "planner.coverage.value.account_values": lambda c, w, rep: ((), {"rep_id": rep}),
    "planner.ingest.history": kw(),
    "planner.ingest.rejected_rows": lambda c, w, rep: ((1,), {}),
    "planner.ingest.unplaced_accounts": kw(),
    "planner.ingest.unlinked_deals": kw(),
    "planner.ingest.placement_groups": kw(),
    "planner.ingest.geocoding_coverage": kw(),
    "planner.ingest.edits.rep_homes": kw(),
    "planner.plan.book.ranked_book": lambda c, w, rep: (
        (),
        {"rep_id": rep, "rules": plan.DEFAULT_RULES, "currency": "USD"},
    ),
    "planner.plan.build.rep_calendar": lambda c, w, rep: (
        (),
        {"rep_id": rep, "rules": plan.DEFAULT_RULES, "start": w.plans[rep].start},
    ),
    "planner.plan.build.compose": lambda c, w, rep: (
        (),
        {"rep_id": OWN, "start": w.plans[OWN].start, "specs": w.plans[rep].specs()},
    ),
    # The targets are the caller's own plan (its input, echoed); what the store adds is what is checked.
    "planner.plan.kpis.plan_vs_actual": lambda c, w, rep: (
        (),
        {"targets": w.plans[OWN].targets, "steps": w.plans[OWN].steps, "as_of_day": _as_of(c), **_plan_window(w, OWN)},
    ),  # fmt: skip
    "planner.plan.reps.resolve_rep": lambda c, w, rep: ((w.emails[rep],), {}),
    "planner.plan.reps.rep_for": lambda c, w, rep: ((), {"rep_id": rep}),
    "planner.plan.saved.default_start": lambda c, w, rep: ((), {"rep_id": rep}),
    "planner.plan.saved.current_plan_id": lambda c, w, rep: ((), {"rep_id": rep, "create": False}),
    "planner.plan.saved.load": lambda c, w, rep: ((), {"rep_id": rep}),
    "planner.plan.saved.saved_plans": lambda c, w, rep: ((), {"rep_id": rep}),
    "planner.propensity.training.load_inputs": kw(),
    "planner.propensity.registry.rescore_reason": lambda c, w, rep: ((1, date(2020, 1, 1)), {}),
    "planner.roles.list_roles": kw(),
    "planner.roles.role_changes": kw(),
    "planner.scenarios.team": kw(),
    "planner.scenarios.inputs": kw(),
    "planner.scenarios.route_pairs": kw(),
    "planner.scenarios.route_pair_count": kw(),
    "planner.scenarios.run": lambda c, w, rep: ((optimize.Options(),), {}),
    "planner.scenarios.capacity_curve": lambda c, w, rep: ((optimize.Options(), (5, 6)), {}),
    "planner.scenarios.disruption_curve": lambda c, w, rep: ((optimize.Options(),), {}),
    "planner.scenarios.list_scenarios": kw(),
    "planner.scenarios.compare": lambda c, w, rep: (([w.scenario_id],), {}),
    "planner.scenarios.versions": kw(),
    "planner.scenarios.history": kw(),
    "planner.scenarios.moves_report": lambda c, w, rep: ((w.scenario_id,), {}),
    "planner.scenarios.merge_plan": lambda c, w, rep: ((w.scenario_id,), {}),
    "planner.scenarios.crm_file": lambda c, w, rep: ((w.scenario_id, "plain"), {}),
    "planner.scenarios.as_committed": lambda c, w, rep: (
        (w.scenario_id, store.scenarios.scenario_assignments(c, w.scenario_id, scope=OPERATOR)),
        {},
    ),
    "planner.scenarios.crm_update": lambda c, w, rep: ((w.scenario_id, "salesforce"), {}),
    "planner.store.imports.deals.unlinked_deals": kw(),
    "planner.store.imports.geocode.unplaced_accounts": kw(),
    "planner.store.imports.geocode.geocoding_coverage": kw(),
    "planner.store.imports.geocode.placement_groups": kw(),
    "planner.store.imports.geocode.rep_homes": kw(),
    "planner.store.metrics.territory_totals": lambda c, w, rep: ((_as_of(c),), {}),
    "planner.store.metrics.store_kpis": lambda c, w, rep: ((_as_of(c),), {"rep_id": rep}),
    "planner.store.metrics.account_values": lambda c, w, rep: (
        (),
        {"rep_id": rep, "account_ids": None, "model_version": None, "fallback_propensity": 0.1},
    ),
    "planner.store.facts.account_facts": _store_facts_args,
    "planner.store.metrics.facts_book_hours": lambda c, w, rep: ((_facts_table(c, w),), {}),
    "planner.store.metrics.facts_by_territory": lambda c, w, rep: ((_facts_table(c, w),), {"statuses": _statuses()}),
    "planner.store.metrics.facts_potential_quantile": lambda c, w, rep: ((_facts_table(c, w), 0.5), {}),
    "planner.store.metrics.book_potential_quantile": lambda c, w, rep: ((0.5,), {}),
    "planner.store.metrics.active_rep_homes": kw(),
    "planner.store.metrics.facts_by_status": lambda c, w, rep: ((_facts_table(c, w), 0.0, _owner(rep)), {}),
    "planner.store.metrics.facts_white_space": lambda c, w, rep: (
        (_facts_table(c, w), 0.0, 100_000, _owner(rep)),
        {"statuses": _statuses()},
    ),
    "planner.store.metrics.facts_sample": lambda c, w, rep: ((_facts_table(c, w), 100_000, _owner(rep)), {}),
    "planner.store.metrics.facts_hexagons": lambda c, w, rep: (
        (*_facts_cells(c, w, rep), 0.0, _owner(rep)),
        {"statuses": _statuses()},
    ),
    # the hexagon of another rep's account: what a rep must not see into
    "planner.store.metrics.facts_in_cell": lambda c, w, rep: (
        (*_facts_cells(c, w, rep), int(_hex(c, w, OTHER), 16), 1000, _owner(rep)),
        {},
    ),
    "planner.store.metrics.account_locations": kw(),
    "planner.store.scenarios.route_destinations": kw(),
    "planner.coverage.hexmap.account_cells": kw(),
    "planner.store.metrics.account_detail": lambda c, w, rep: ((), {"account_id": w.account[rep]}),
    "planner.store.metrics.account_deals": lambda c, w, rep: ((), {"account_id": w.account[rep]}),
    "planner.store.metrics.filter_options": kw(),
    "planner.store.plans.rep_row": lambda c, w, rep: ((), {"rep_id": rep}),
    "planner.store.plans.rep_place": lambda c, w, rep: ((), {"rep_id": rep}),
    "planner.store.plans.account_states": lambda c, w, rep: ((), {"rep_id": rep, "country": "US"}),
    "planner.store.plans.team_quota": kw(),
    "planner.store.plans.book_features": lambda c, w, rep: ((), {"rep_id": rep, "as_of_day": _as_of(c)}),
    "planner.store.plans.plan_row": lambda c, w, rep: ((), {"plan_id": w.plan_id[rep]}),
    "planner.store.plans.plan_id_for": lambda c, w, rep: ((), {"rep_id": rep, "period_start": w.plans[rep].start}),
    "planner.store.plans.rep_plans": lambda c, w, rep: ((), {"rep_id": rep}),
    "planner.store.plans.current_plan_id": lambda c, w, rep: ((), {"rep_id": rep, "create": False}),
    "planner.store.plans.plan_targets": lambda c, w, rep: ((), {"plan_id": w.plan_id[rep]}),
    "planner.store.plans.plan_steps": lambda c, w, rep: ((), {"plan_id": w.plan_id[rep]}),
    "planner.store.plans.last_activity": lambda c, w, rep: (
        (),
        {"account_ids": [w.account[rep]], "before": _as_of(c) + timedelta(days=1)},
    ),
    "planner.store.plans.activities_between": lambda c, w, rep: (
        (),
        {"account_ids": [w.account[rep]], "start": date(2000, 1, 1), "end": _as_of(c)},
    ),
    "planner.store.plans.deals_created_between": lambda c, w, rep: (
        (),
        {"account_ids": [w.account[rep]], "start": date(2000, 1, 1), "end": _as_of(c)},
    ),
    "planner.store.scores.active_scores": lambda c, w, rep: ((rep,), {}),
    "planner.store.scores.accounts_owned_by": lambda c, w, rep: (([w.account[OWN], w.account[OTHER]],), {}),
    # Asked for the rep's own account and another rep's: only the own one may come back.
    "planner.store.scores.score_reasons": lambda c, w, rep: (([w.account[OWN], w.account[OTHER]], rep), {}),
    "planner.store.scores.target_list": lambda c, w, rep: ((rep,), {}),
    "planner.store.scores.filter_options": lambda c, w, rep: ((rep,), {}),
    "planner.store.world.export_accounts": kw(),
    "planner.store.world.export_deals": kw(),
    "planner.store.world.export_reps": kw(),
    "planner.store.world.rep_options": kw(),
    "planner.store.world.counts": kw(),
    "planner.store.world.contents": kw(),
    "planner.demo.store_contents": kw(),
    "planner.store.world.find_rep": lambda c, w, rep: ((w.emails[rep],), {}),
    "planner.targets.targets": lambda c, w, rep: ((rep,), {}),
    "planner.targets.filter_options": lambda c, w, rep: ((), {"rep_id": rep}),
    "planner.world.counts": kw(),
    "planner.world.rep_options": kw(),
}


def _other_plan_frame(w: World, part: str) -> pd.DataFrame:
    return getattr(w.plans[OTHER], part)


def _fixes(w: World) -> pd.DataFrame:
    return pd.DataFrame({"account_id": [w.account[OTHER]], "city": ["Austin"], "state": ["TX"]})


# Writes outside rep R001's scope: (con or store path first) -> refused, store byte-identical.
WRITES: dict[str, Args] = {
    "planner.coverage.workload.save_workload": kw(values={"fixed_hours": 3.0}),
    "planner.demo.build_store": kw(force=True),
    "planner.demo.empty_store": kw(actor="rep"),
    "planner.store.world.start_empty": kw(),
    "planner.ingest.import_files": lambda c, w, rep: (([w.upload],), {}),
    "planner.ingest.place_accounts": lambda c, w, rep: ((_fixes(w),), {}),
    "planner.ingest.edits.set_as_of": lambda c, w, rep: (("2024-01-31",), {}),
    "planner.ingest.currency.set_currency": lambda c, w, rep: (("EUR",), {}),
    "planner.ingest.currency.apply": AUTO,
    "planner.ingest.explain.explain": AUTO,
    **{
        f"planner.ingest.owners.{n}": AUTO
        for n in ("merge_accounts", "merge_deals", "merge_reps", "implied", "after_tables")
    },
    "planner.ingest.sync.reconcile": AUTO,
    "planner.ingest.sync.without_blank_id": AUTO,
    "planner.ingest.sync.fill_repeated": AUTO,
    "planner.ingest.currency.file_currencies": AUTO,
    "planner.ingest.edits.set_rep_home": lambda c, w, rep: ((OTHER,), {"lat": 40.7, "lon": -74.0}),
    "planner.ingest.edits.forget_mapping": lambda c, w, rep: (("any-signature",), {}),
    "planner.plan.offers.save_catalogue": lambda c, w, rep: ((), {"offers": plan.catalogue(c)}),
    "planner.plan.saved.save": lambda c, w, rep: ((), {"plan": w.plans[OTHER]}),
    "planner.plan.saved.save_in": lambda c, w, rep: ((), {"plan": w.plans[OTHER]}),
    "planner.plan.saved.current_plan_id": lambda c, w, rep: ((), {"rep_id": OTHER, "create": True}),
    "planner.potential.learn_defaults": kw(),
    "planner.potential.save_settings": lambda c, w, rep: (([("*", 0.5, 10.0)],), {"actor": "rep"}),
    "planner.propensity.registry.train": kw(created_by="rep"),
    "planner.propensity.registry.activate": lambda c, w, rep: ((1,), {"actor": "rep"}),
    "planner.potential.update_setting": lambda c, w, rep: (("*",), {"price_per_user": 1.0}),
    "planner.potential.reset_setting": lambda c, w, rep: (("*",), {}),
    "planner.propensity.registry.train_and_score": kw(),
    "planner.propensity.registry.rescore": kw(),
    "planner.propensity.registry.score_accounts": lambda c, w, rep: (([w.account[OTHER]],), {}),
    "planner.propensity.registry.score_imported": lambda c, w, rep: ((date(2020, 1, 1),), {}),
    "planner.propensity.after_import.score_new_accounts": lambda c, w, rep: (
        (date(2020, 1, 1), lambda f, m: None),
        {"actor": "rep"},
    ),
    "planner.propensity.registry.activate_version": lambda c, w, rep: ((1,), {}),
    "planner.roles.set_role": lambda c, w, rep: ((w.rep[OWN].user, "admin"), {}),
    "planner.roles.remove_role": lambda c, w, rep: ((w.rep[OTHER].user,), {}),
    "planner.roles.sign_out": lambda c, w, rep: ((w.rep[OTHER].user,), {}),
    "planner.store.auth.log_sign_out": lambda c, w, rep: ((w.rep[OTHER].user,), {}),
    "planner.scenarios.save": lambda c, w, rep: (("mine", w.result, w.rep[OWN].user), {}),
    "planner.scenarios.commit": lambda c, w, rep: ((w.scenario_id, w.rep[OWN].user), {}),
    "planner.scenarios.save_and_commit": lambda c, w, rep: (("mine", w.result, w.rep[OWN].user), {}),
    "planner.scenarios.restore": lambda c, w, rep: ((1, w.rep[OWN].user), {}),
    "planner.store.plans.current_plan_id": lambda c, w, rep: ((), {"rep_id": OTHER, "create": True}),
    "planner.store.plans.create_plan": lambda c, w, rep: (
        (),
        {"rep_id": OTHER, "period_start": date(2030, 1, 7), "weeks": 4, "settings": {}},
    ),
    "planner.store.plans.update_plan": lambda c, w, rep: (
        (),
        {"plan_id": w.plan_id[OTHER], "period_end": date(2030, 2, 1), "weeks": 4, "settings": {}},
    ),
    "planner.store.plans.replace_targets": lambda c, w, rep: (
        (),
        {"plan_id": w.plan_id[OTHER], "targets": _other_plan_frame(w, "targets")},
    ),
    "planner.store.plans.replace_steps": lambda c, w, rep: (
        (),
        {"plan_id": w.plan_id[OTHER], "steps": _other_plan_frame(w, "steps")},
    ),
    "planner.targets.add_to_plan": lambda c, w, rep: ((OTHER, [w.account[OTHER]]), {}),
    "planner.store.scores.add_plan_targets": lambda c, w, rep: (
        (w.plan_id[OTHER], pd.DataFrame({"account_id": [w.account[OTHER]], "rationale": ["x"]})),
        {},
    ),
}


# The store's reads of the whole book and its admin or leader writes: a rep is refused (Forbidden).
READS.update({f"planner.store.{n}": AUTO for n in (
    "auth.list_roles", "auth.reps_with_email", "auth.role_changes",
    "potential.won_deal_sizes", "potential.industries",
    "scenarios.rebalance_accounts", "scenarios.rebalance_reps", "scenarios.list_scenarios", "scenarios.scenario_record",
    "scenarios.scenario_reps", "scenarios.scenario_assignments", "scenarios.list_versions",
    "scenarios.version_owners", "scenarios.audit_log", "scenarios.owner_history",
    "scores.load_accounts", "scores.load_deals", "scores.load_attribute_defs", "scores.load_attribute_values",
    "scores.load_truth", "scores.account_potential", "scores.model_blob", "scores.scores_for_export",
    "scores.scores_for_export_table", "scores.accounts_to_score", "scores.import_changes",
    "imports.history.import_history", "imports.history.rejected_rows",
)})  # fmt: skip
WRITES.update(
    {
        f"planner.store.{n}": AUTO
        for n in (
            "assumptions.write_assumptions",
            "auth.upsert_role",
            "auth.delete_role",
            "auth.log",
            "potential.upsert_setting",
            "potential.delete_setting",
            "scenarios.insert_scenario",
            "scenarios.snapshot_assignment",
            "scenarios.add_reps",
            "scenarios.deactivate_reps",
            "scenarios.set_capacities",
            "scenarios.apply_owners",
            "scenarios.record_deal_owners",
            "scores.merge_scores",
            "scenarios.mark_committed",
            "scenarios.mark_reverted",
            "scenarios.reps_in_use",
            "scenarios.audit",
            "scores.insert_model",
            "scores.replace_scores",
            "scores.activate",
            "scores.prune_scores",
            "model_inputs.prune",
            "scores.refresh_values",
            "scores.audit",
            "world.empty_world",
            "world.insert_frame",
            "world.replace_world",
            "world.fill_derived",
            "world.set_as_of",
            "world.set_currency",
            "world.note_mixed_store",
        )
    }
)
WRITES["planner.store.model_inputs.snapshot"] = lambda con, w, rep: ((1, {"used": [{"field": "industry"}]}), {})
# The importer's steps: each refuses anyone but an admin before it touches a table (its temporary ones included).
WRITES.update({f"planner.store.imports.{n}": AUTO for n in (
    "accounts.build_accounts", "accounts.merge_accounts", "accounts.infer_attribute_types",
    "accounts.save_attributes", "accounts.median_revenue", "accounts.median_employees", "accounts.revenue_scale",
    "accounts.customers_from_deals", "accounts.owners_from_deals", "accounts.ownerless_accounts",
    "deals.build_deals", "deals.merge_deals", "deals.create_accounts_from_deals", "deals.implausible_deals",
    "deals.ownerless_deals",
    "geocode.placed_share", "geocode.geo_notes", "geocode.place_accounts", "geocode.infer_rep_homes",
    "geocode.set_rep_home", "geocode.country_values", "geocode.geocode_addresses", "geocode.coordinate_countries",
    "geocode.namesake_context",
    "history.clear_demo_if_needed", "history.mark_updated", "history.new_import", "history.finish_import",
    "history.save_rejects", "history.first_rejects", "history.reject_reasons", "history.remember_mapping",
    "history.forget_mapping",
    "macros.insert_rows",
    "reps.resolve_owners", "reps.build_reps", "reps.merge_reps", "reps.remember_listed_reps", "reps.unlisted_reps",
    "reps.listed_reps", "reps.inactive_owners", "reps.owners_by_former_name", "reps.shared_rep_names",
    "plan_owners.plan_owners", "plan_owners.version_before_import", "plan_owners.import_version",
    "staging.stage", "staging.parse_reject_lines", "staging.oversized_line", "staging.has_encoding_errors",
    "staging.number_rows", "staging.add_parse_rejects", "staging.drop_footer_and_blanks", "staging.number_style",
    "staging.date_order", "staging.invalid_values", "staging.counts", "staging.drop_temps", "staging.currency_evidence",
    "sync.match_stored", "sync.by_name", "sync.take_deleted", "sync.removed", "sync.snapshot", "sync.count_unchanged",
    "sync.same_file", "sync.missing_accounts", "sync.missing_deals", "sync.remove_missing", "sync.audit",
    "sync.blank_in_every_row", "sync.fill_from_repeat", "staging.unquote_formulas",
    "deal_owners.plan_deal_owners",
)})  # fmt: skip


def _stored_targets(w: World, rep: str) -> pd.DataFrame:
    from planner.store import plans

    with store.read(w.path) as con:
        return plans.plan_targets(con, scope=OPERATOR, plan_id=w.plan_id[rep])


# A rep's own plan may be written; the sweep also tries the rep's own plan with another rep's account.
WRITES_OF_OWN_PLAN = {
    "planner.store.plans.replace_targets": lambda w: {
        "plan_id": w.plan_id[OWN],
        "targets": pd.concat([_stored_targets(w, OWN), _stored_targets(w, OTHER).head(1)], ignore_index=True),
    },
    "planner.store.scores.add_plan_targets": lambda w: {
        "plan_id": w.plan_id[OWN],
        "targets": pd.DataFrame({"account_id": [w.account[OTHER]], "rationale": ["x"]}),
    },
}


def _own_email(con: Any, w: World, rep: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (w.rep[OWN].user,), {}


def _own_rep(con: Any, w: World, rep: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (w.rep[OWN].rep_id,), {}


# No scope by design: called, and their results held to the same check. (reason, arguments)
UNSCOPED: dict[str, tuple[str, Args]] = {
    "planner.coverage.value.as_of_date": ("the store's as-of date", kw()),
    "planner.coverage.workload.load_workload": ("the workload assumptions (settings)", kw()),
    "planner.coverage.workload.workload_sources": ("where each workload setting comes from", kw()),
    "planner.ingest.inspect_file": (
        "reads an uploaded file and the column mapping remembered for its shape",
        lambda c, w, rep: ((w.upload,), {}),
    ),
    "planner.plan.build.start_window": ("the plan starts accepted: from the as-of date and today (dates only)", kw()),
    "planner.plan.offers.catalogue": ("the offer catalogue (no territory data)", kw()),
    "planner.plan.offers.partner_table": ("the partner list (no territory data)", kw()),
    "planner.potential.settings_table": ("adoption and price per industry (no territory data)", kw()),
    "planner.potential.assumptions": ("notes on what potential rests on: store-wide counts, no account", kw()),
    "planner.propensity.registry.card": ("the model card: metrics and feature effects", kw()),
    "planner.propensity.registry.history": ("model versions and their metrics", kw()),
    "planner.propensity.training.load_as_of": ("the store's as-of date (a setting, no territory data)", kw()),
    "planner.store.assumptions.read_assumptions": ("the workload assumptions (settings)", kw()),
    "planner.store.potential.settings_table": ("adoption and price per industry (no territory data)", kw()),
    "planner.store.potential.users_basis": ("accounts per basis of their users: counts, no account", kw()),
    "planner.store.potential.revenue_per_employee": ("the assumed revenue per employee (a setting)", kw()),
    "planner.store.auth.role_of": ("sign-in: the stored role of the email given", _own_email),
    "planner.store.auth.rep_by_email": ("sign-in: the rep of the email given", _own_email),
    "planner.store.auth.rep_active": ("sign-in: whether the rep the email's role names is active", _own_rep),
    "planner.roles.resolve": ("sign-in: who is asking, from their own email", _own_email),
    "planner.store.auth.last_sign_out": ("sign-in: when the email given last signed out", _own_email),
    "planner.roles.last_sign_out": ("sign-in: when the email given last signed out", _own_email),
    "planner.scenarios.with_workload": ("options with the workload settings", lambda c, w, r: ((OPTIONS,), {})),
    "planner.store.world.freshness": ("the store's dates and sources (the sidebar shows them)", kw()),
    "planner.store.world.as_of": ("the as-of date set by hand", kw()),
    "planner.store.world.as_of_info": ("the as-of date and where it comes from", kw()),
    "planner.store.world.as_of_date": ("the as-of date", kw()),
    "planner.store.world.is_demo": ("whether the store is the demo", kw()),
    "planner.store.metrics.win_rate_12m": ("won and closed deals of the store", lambda c, w, r: ((_as_of(c),), {})),
    "planner.store.metrics.active_model": ("the active model's version and how many accounts it scored", kw()),
    "planner.store.core.exists": ("whether the store exists", kw()),
    "planner.store.core.fingerprint": ("the store's version token for the cache key", kw()),
    "planner.store.schema.current_version": ("the schema version", lambda c, w, r: ((w.path,), {})),
    "planner.store.schema.get_meta": ("one meta value (the schema version)", lambda c, w, r: (("schema_version",), {})),
    "planner.store.schema.table_ddl": ("a table's CREATE statement", lambda c, w, r: (("accounts",), {})),
    "planner.store.schema.duplicate_keys": ("counts of duplicate keys per table", kw()),
    "planner.store.metrics.store_version": ("a cache key: the write id and the account count", kw()),
    "planner.store.world.newest_activity": ("the newest date in the data, the base of the as-of date", kw()),
    "planner.store.plans.as_of": ("the as-of date", kw()),
    "planner.store.plans.offers": ("the offer catalogue (no territory data)", kw()),
    "planner.store.plans.partners": ("the partner list (no territory data)", kw()),
    "planner.store.plans.count_rows": ("how many offers the catalogue holds", lambda c, w, r: (("offers",), {})),
    "planner.store.imports.history.remembered_mapping": (
        "the column mapping remembered for a file's columns (names, no rows)",
        lambda c, w, r: (("any-signature",), {}),
    ),
    "planner.store.scores.active_version": ("the active model's version number", kw()),
    "planner.store.scores.previous_version": ("the model version before the active one", kw()),
    "planner.store.scores.model_history": ("model versions and their metrics", kw()),
    "planner.store.scores.model_record": ("the model card: metrics and feature effects", kw()),
    "planner.store.scores.changes_since": (
        "counts of accounts and deals changed since a date (no account)", lambda c, w, r: ((date(2020, 1, 1),), {})
    ),
    "planner.store.model_inputs.changes": (
        "counts of what a model version read that changed since its training (no account)",
        lambda c, w, r: ((1,), {}),
    ),
    "planner.propensity.registry.since_training": ("counts of what changed since the training (no account)", kw()),
    "planner.targets.model_version": ("the active model's version number", kw()),
    "planner.world.freshness": ("the store's dates and sources (the sidebar shows them)", kw()),
    "planner.world.currency": ("the store's currency code (no territory data)", kw()),
    "planner.store.world.currency": ("the store's currency code (no territory data)", kw()),
    "planner.store.world.mixed_currencies": ("the currency codes an import found mixed (no territory data)", kw()),
    "planner.world.mixed_currencies": ("the currency codes an import found mixed (no territory data)", kw()),
    "planner.store.world.chosen_currency": ("the store's currency code (no territory data)", kw()),
    "planner.store.world.currency_chosen_by_person": ("whether a person set the currency (no territory data)", kw()),
    "planner.ingest.currency.mixed_caveat": ("the caveat naming the store's currencies (no territory data)", kw()),
    "planner.propensity.training.revenue_caveat": ("why revenue is left out: the store's currencies (no territory "
                                                   "data)", kw()),
    "planner.ingest.currency.store_currency": ("the store's currency code (no territory data)", kw()),
}  # fmt: skip

CLI = "a CLI command: runs as the local operator (OPERATOR) on the machine that holds the store, never from the app"
SQL_TEXT = (
    "the importer's SQL plumbing: writes SQL text, installs parsing macros or sets a session option on a "
    "connection; moves no row in or out of the store"
)
CATALOGUE = "writes the offer catalogue or the partner list (no territory data: no account, rep or plan)"
SCHEMA = "schema and connection plumbing: no territory data in or out"
EXEMPT: dict[str, str] = {
    **{f"planner.commands.{m}.run": CLI for m in (
        "as_of", "balance", "export", "metrics", "plan", "potential", "rep_home", "roles", "score", "settings",
        "store", "train", "model", "import_")},
    "planner.ingest.rules.install": "installs the import's SQL macros on a connection; reads and returns nothing",
    "planner.plan.offers.seed_catalogue": "writes the default offer catalogue when it is empty (no territory data), "
    "inside plan.save and demo.build_store",
    **{f"planner.store.core.{n}": SCHEMA for n in ("query_df", "query_one", "scalar", "read",
                                                   "migrate", "write", "detach")},
    **{f"planner.store.core.{n}": "moves a whole store (the CLI's `store copy`, as the local operator); "
       "table_figures counts and checksums its tables" for n in ("copy_store", "table_figures")},
    **{f"planner.store.interrupts.{n}": "Ctrl-C for the CLI: registers connections and interrupts them, gates a "
       "write's landing, removes a stopped write's temporary file; reads nothing" for n in (
        "watch", "run_interruptibly", "land", "discard", "leave")},
    "planner.cli.main": CLI + " (the dispatcher: runs the command named on the command line)",
    **{f"planner.store.schema.{n}": SCHEMA for n in ("migrate", "set_meta", "bump_write_id", "now", "next_id")},
    **{f"planner.commands.store.{n}": CLI for n in ("register", "run_maintain")},
    "planner.store.maintenance.maintain": "cleans a lake's files and snapshots (the CLI's `store maintain`, as the "
    "local operator); reads and returns no territory data",
    **{f"planner.store.versions.{n}": SCHEMA + " (what a write changed, for cache keys)" for n in (
        "declare", "bumped_by", "read")},
    "planner.store.metrics.registered": "exposes the caller's DataFrame to SQL under a fresh name; reads nothing",
    "planner.store.imports.staging.usable": SCHEMA + " (runs SELECT 1: is the write's transaction still usable?)",
    "planner.store.writable.os_errors": "turns an OS error met writing the store file into one line; no data",
    **{f"planner.store.fileops.{n}": "the store file's own care (an error line, the file kept before an upgrade); "
       "no data in or out" for n in ("open_error", "keep_previous", "refuse_read_only")},
    "planner.store.waiting.stderr_notice": "prints the CLI's one line that a write waits for another; no data",
    "planner.store.upgrade.migrate": SCHEMA + " (brings an older store's schema up, and logs that it did)",
    "planner.store.plans.replace_offers": CATALOGUE,
    "planner.store.plans.replace_partners": CATALOGUE,
    "planner.store.imports.macros.namesake_tables": "builds the city-alone lookup from the world gazetteer in a "
    "private in-memory database (store.dbconfig's settings); no store, no territory data",
    **{f"planner.store.imports.{n}": SQL_TEXT for n in (
        "macros.install_macros", "macros.sql_parse", "macros.macros_sql", "staging.field_expr", "staging.unordered",
    )},
}  # fmt: skip


# ---------------------------------------------------------------- the tests

FUNCTIONS = store_functions()
ENTRIES = {*READS, *WRITES, *UNSCOPED, *EXEMPT}


def test_every_store_function_has_an_entry() -> None:
    missing = sorted(set(FUNCTIONS) - ENTRIES)
    assert missing == [], f"public functions that touch the store with no entry in the sweep's tables: {missing}"
    stale = sorted(ENTRIES - set(FUNCTIONS))
    assert stale == [], f"entries for functions that no longer exist (or no longer touch the store): {stale}"


def test_every_scoped_function_is_called_and_exempt_ones_take_no_scope() -> None:
    """A function with a scope is read or written by the sweep, never exempted or left unscoped."""
    for name, fn in FUNCTIONS.items():
        scope = inspect.signature(fn).parameters.get("scope")
        if scope is not None:
            assert name in READS or name in WRITES, f"{name} takes a scope: give it a READS or WRITES entry"
            assert scope.kind is scope.KEYWORD_ONLY and scope.default is scope.empty, (
                f"{name}: scope= must be a required keyword"
            )
        else:
            assert name not in READS and name not in WRITES, (
                f"{name} takes no scope, so the sweep cannot call it as a rep"
            )


def test_the_known_leakers_of_issue_17_are_swept() -> None:
    for name in ("planner.ingest.placement_groups", "planner.ingest.history", "planner.plan.build.compose",
                 "planner.plan.saved.save", "planner.store.world.counts"):  # fmt: skip
        assert name in READS or name in WRITES


def _first(fn: Callable[..., Any]) -> str:
    return next(iter(inspect.signature(fn).parameters))


def _call(fn: Callable[..., Any], con: Any, path: Path, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    first = (con,) if _first(fn) in STORE_PARAMS - {"db_path"} else (path,)
    return fn(*first, *args, **kwargs)


def _unwrap(result: Any, con: Any, w: World) -> Any:
    """A context manager's value (a facts table is read whole)."""
    if isinstance(result, contextlib.AbstractContextManager):
        inner = w.stack.enter_context(result)
        return con.execute(f'SELECT * FROM "{inner}"').df() if isinstance(inner, str) else inner
    return result


@pytest.mark.parametrize("rep", [OWN, OTHER], ids=["own-territory", "other-territory"])
@pytest.mark.parametrize("name", sorted(READS))
def test_reads_as_a_rep_leak_nothing(base: World, foreign: tuple[set[str], set[str]], name: str, rep: str) -> None:
    fn = FUNCTIONS[name]
    world = dataclasses.replace(base)
    with store.read(world.path) as con, contextlib.ExitStack() as world.stack:
        args, kwargs = auto(fn, world) if READS[name] is AUTO else READS[name](con, world, rep)
        try:
            result = _unwrap(_call(fn, con, world.path, args, {**kwargs, "scope": world.rep[OWN]}), con, world)
        except PlannerError as refused:
            assert READS[name] is not AUTO or isinstance(refused, Forbidden), f"{name}: {refused}"
            return  # refused: nothing returned, nothing leaked
        assert READS[name] is not AUTO, f"{name} is for leaders and admins, yet a rep was answered"
        assert leaks(result, foreign) == [], f"{name} showed rep {OWN} another rep's data"


def _sha(path: Path) -> str:
    return store_state(path)  # a lake's snapshot id under PLANNER_TEST_STORE=lake


def _refused_unchanged(world: World, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    fn = FUNCTIONS[name]
    before = _sha(world.path)
    with pytest.raises(PlannerError) as refused:
        if _first(fn) in STORE_PARAMS - {"db_path"}:
            with store.write(world.path) as con:
                fn(con, *args, **kwargs, scope=world.rep[OWN])
        else:
            fn(world.path, *args, **kwargs, scope=world.rep[OWN])
    assert "\n" not in str(refused.value), f"{name}: the refusal is one line"
    if WRITES.get(name) is AUTO:
        assert isinstance(refused.value, Forbidden), f"{name} was not refused for the rep's scope: {refused.value}"
    assert _sha(world.path) == before, f"{name} changed the store although it refused"


def _on_a_connection(name: str) -> bool:
    return _first(FUNCTIONS[name]) in STORE_PARAMS - {"db_path"}


# AUTO writes that take a connection run on a read-only connection to the shared store: refused before
# anything, they touch nothing; one that went on to write would fail on the read-only connection (not
# with Forbidden), so the check loses nothing and no store is copied per call.
SHARED = sorted(n for n, b in WRITES.items() if b is AUTO and _on_a_connection(n))


@pytest.mark.parametrize("name", sorted(set(WRITES) - set(SHARED)))
def test_writes_outside_the_reps_scope_are_refused_and_change_nothing(world: World, name: str) -> None:
    with store.read(world.path) as con:
        args, kwargs = auto(FUNCTIONS[name], world) if WRITES[name] is AUTO else WRITES[name](con, world, OTHER)
    _refused_unchanged(world, name, args, kwargs)


@pytest.mark.parametrize("name", SHARED)
def test_admin_and_leader_store_calls_refuse_a_rep_before_touching_anything(base: World, name: str) -> None:
    before = _sha(base.path)
    args, kwargs = auto(FUNCTIONS[name], base)
    with store.read(base.path) as con, pytest.raises(Forbidden) as refused:
        FUNCTIONS[name](con, *args, **kwargs, scope=base.rep[OWN])
    assert "\n" not in str(refused.value), f"{name}: the refusal is one line"
    assert _sha(base.path) == before, f"{name} changed the store although it refused"


@pytest.mark.parametrize("name", sorted(WRITES_OF_OWN_PLAN))
def test_the_reps_own_plan_takes_no_other_reps_account(world: World, name: str) -> None:
    _refused_unchanged(world, name, (), WRITES_OF_OWN_PLAN[name](world))


def test_refusals_are_forbidden_not_crashes(base: World) -> None:
    """A rep asking for another rep's territory is told so (Forbidden), not given an empty answer."""
    from planner.coverage import report

    with store.read(base.path) as con, pytest.raises(Forbidden, match="only view your own territory"):
        report.overview(con, scope=base.rep[OWN], rep_id=OTHER)


@pytest.mark.parametrize("name", sorted(UNSCOPED))
def test_unscoped_reads_hold_no_territory_data(base: World, foreign: tuple[set[str], set[str]], name: str) -> None:
    fn = FUNCTIONS[name]
    with store.read(base.path) as con:
        args, kwargs = UNSCOPED[name][1](con, base, OWN)
        result = _call(fn, con, base.path, args, kwargs)
    assert leaks(result, foreign) == [], f"{name} has no scope yet returned another rep's data"


def test_locations_and_cells_hold_only_the_reps_accounts(base: World) -> None:
    """Coordinates and H3 cells are not names or IDs, so the leak check cannot see them: count them instead."""
    from planner.coverage import hexmap
    from planner.store import metrics

    with store.read(base.path) as con:
        own = store.scalar(con, "SELECT count(*) FROM accounts WHERE owner_rep_id = ?", [OWN])
        everyone = store.scalar(con, "SELECT count(*) FROM accounts")
        assert len(metrics.account_locations(con, scope=base.rep[OWN])["rid"]) == own < everyone
        assert len(hexmap.account_cells(con, scope=base.rep[OWN])) == own
        assert len(hexmap.account_cells(con, scope=OPERATOR)) == everyone


def test_the_leak_check_sees_a_leak(base: World, foreign: tuple[set[str], set[str]]) -> None:
    """The check itself: the operator's answers do hold other reps' data, so an empty finding means something."""
    from planner.store import world as world_q

    with store.read(base.path) as con:
        everything = world_q.export_accounts(con, scope=OPERATOR)
        others_plan = plan.load(con, scope=OPERATOR, rep_id=OTHER)
    assert leaks(everything, foreign) and leaks(others_plan, foreign)
    assert leaks({"x": [b"", f"see {base.names[OTHER]}"]}, foreign)
    assert leaks(_zip_book(base.account[OTHER]), foreign)


def _zip_book(text: str) -> bytes:
    book = openpyxl.Workbook()
    book.active["A1"] = text  # type: ignore[index]
    out = io.BytesIO()
    book.save(out)
    assert zipfile.is_zipfile(io.BytesIO(out.getvalue()))
    return out.getvalue()


def _app_references() -> set[str]:
    """planner.<module>.<function> names that ui/ and pages/ reference (calls and functions handed to cached)."""
    import ast

    found = set()
    for path in [ROOT / "app.py", *sorted((ROOT / "ui").rglob("*.py")), *sorted((ROOT / "pages").rglob("*.py"))]:
        tree = ast.parse(path.read_text())
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("planner"):
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("planner"):
                        aliases[a.asname or a.name] = a.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                found.add(f"{aliases[node.value.id]}.{node.attr}")
            elif isinstance(node, ast.Name) and node.id in aliases:
                found.add(aliases[node.id])
    return found


def _resolve(name: str) -> str | None:
    """The defining module's name for a reference like planner.plan.load (re-exported from planner.plan.saved)."""
    module_name, _, attr = name.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        return None
    return f"{obj.__module__}.{obj.__name__}" if inspect.isfunction(obj) else None


APP_MAY_OPEN = {
    "planner.store.core.read": "the app's read connection (ui/data.snapshot), handed only to scoped functions",
    "planner.store.core.write": "the Model page's writer, handed only to scoped writes",
    "planner.store.core.fingerprint": "the store's version for the cache key",
    "planner.store.core.exists": "whether there is a store yet (first launch builds the demo)",
}


def test_the_app_reaches_no_exempt_function() -> None:
    reached = {r for r in map(_resolve, _app_references()) if r in FUNCTIONS}
    assert "planner.store.world.counts" in reached  # the scan does see what the app calls
    bad = sorted(r for r in reached if r in EXEMPT and r not in APP_MAY_OPEN)
    assert bad == [], f"the app calls store functions the sweep exempts (give them a scope): {bad}"
