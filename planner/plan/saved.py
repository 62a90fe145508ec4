"""Saved plans: the plan in force for a rep and start, storing one, and listing a rep's plans."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from planner import store
from planner.errors import BadInput, Forbidden
from planner.plan.build import compose, rep_calendar
from planner.plan.calendar import next_working_day_after
from planner.plan.offers import seed_catalogue
from planner.plan.reps import rep_for
from planner.plan.rules import changed_company_targets, rules_json, rules_with_defaults
from planner.plan.spec import Plan, TargetSpec, missing
from planner.scope import Scope, require_view
from planner.store import plans as q


def default_start(
    con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str, rules: str | None = None, today: date | None = None
) -> date:
    """The start of the rep's current plan (one whose period has not ended by today), else the next
    working day after today on the rep's calendar."""
    require_view(scope, rep_id)
    today = today or date.today()
    plan_id = q.current_plan_id(con, scope=scope, rep_id=rep_id, create=False, today=today)
    row = q.plan_row(con, scope=scope, plan_id=plan_id) if plan_id is not None else None
    if row is not None:
        return row["period_start"]  # type: ignore[no-any-return]
    return next_working_day_after(
        rep_calendar(con, scope=scope, rep_id=rep_id, rules=rules_with_defaults(rules), start=today), today
    )


def current_plan_id(
    con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str, create: bool = True, today: date | None = None
) -> int | None:
    """The rep's current plan (latest start whose period has not ended by today); with create=True
    and none, a new empty plan starting on the next working day (needs a write connection). What
    other pages use to add targets to a rep's plan."""
    rep_for(con, scope=scope, rep_id=rep_id)
    today = today or date.today()
    found = q.current_plan_id(con, scope=scope, rep_id=rep_id, create=False, today=today)
    if found is not None or not create:
        return found
    start = next_working_day_after(
        rep_calendar(con, scope=scope, rep_id=rep_id, rules=rules_with_defaults(None), start=today), today
    )
    return q.current_plan_id(con, scope=scope, rep_id=rep_id, create=True, today=today, new_start=start)


def load(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    rep_id: str,
    start: date | None = None,
    weeks: int | None = None,
    rules: str | None = None,
    today: date | None = None,
) -> Plan:
    """The rep's saved plan for the period starting on `start` (default: the current plan, else the
    next working day after today), or a fresh draft from the ranking."""
    rep_for(con, scope=scope, rep_id=rep_id)
    today = today or date.today()
    start = start or default_start(con, scope=scope, rep_id=rep_id, rules=rules, today=today)
    plan_id = q.plan_id_for(con, scope=scope, rep_id=rep_id, period_start=start)
    row = q.plan_row(con, scope=scope, plan_id=plan_id) if plan_id is not None else None
    stored_rules = (row or {}).get("settings", {}).get("rules", {})
    merged = rules_with_defaults(rules if rules is not None else stored_rules)
    weeks = int(weeks or (row or {}).get("weeks") or q.DEFAULT_WEEKS)
    specs = stored_specs(q.plan_targets(con, scope=scope, plan_id=plan_id)) if plan_id is not None else None
    return compose(
        con, scope=scope, rep_id=rep_id, start=start, weeks=weeks, specs=specs, rules=rules_json(merged),
        plan_id=plan_id, today=today,
    )  # fmt: skip


def stored_specs(saved: pd.DataFrame) -> tuple[TargetSpec, ...]:
    """The rep's decisions as stored in plan_targets (empty cells: let the planner suggest)."""
    return tuple(
        TargetSpec(
            str(r.account_id),
            None if missing(r.offer_id) else str(r.offer_id),
            None if missing(r.start_week) else int(r.start_week),
            None if missing(r.rationale) else str(r.rationale),
            str(r.status) if not missing(r.status) else "planned",
        )
        for r in saved.itertuples(index=False)
    )


@store.retry_conflicts
def save(path: Path, *, scope: Scope, plan: Plan) -> int:
    """Store the plan (targets with the rep's choices, asks, dated steps, rules); returns its plan_id.

    The plan is composed again from its decisions inside the write, so what is stored is what the
    store says today. Refused, with the store left as it was: another rep's plan (by rep or by
    plan_id), and targets that are not in the rep's territory (any more).
    """
    with store.write(path) as con:
        return save_in(con, scope=scope, plan=plan)


def save_in(con: duckdb.DuckDBPyConnection, *, scope: Scope, plan: Plan) -> int:
    """save() within a write transaction the caller holds (Targets' add saves a draft and adds to it in one)."""
    rep_id = str(plan.rep.get("rep_id"))
    rep_for(con, scope=scope, rep_id=rep_id)
    plan_id = _plan_id_to_write(con, scope, rep_id, plan)
    if scope.is_rep:
        _keep_company_targets(con, scope, plan_id, plan.rules)
    fresh = compose(
        con, scope=scope, rep_id=rep_id, start=plan.start, weeks=plan.weeks, specs=plan.specs(),
        rules=rules_json(plan.rules), plan_id=plan_id, today=plan.made_on,
    )  # fmt: skip
    foreign = sorted(set(plan.targets["account_id"].astype(str)) - set(fresh.targets["account_id"]))
    if foreign:
        raise (Forbidden if scope.is_rep else BadInput)(
            f"{len(foreign)} target(s) of this plan are not in the territory of {rep_id} today "
            f"({', '.join(foreign[:3])}); reload the plan and save again"
        )
    seed_catalogue(con)
    settings = {"rules": fresh.rules, "source": fresh.source}
    if plan_id is None:
        plan_id = q.create_plan(
            con,
            scope=scope,
            rep_id=rep_id,
            period_start=fresh.start,
            weeks=fresh.weeks,
            settings=settings,
            period_end=fresh.end,
        )
    else:
        q.update_plan(con, scope=scope, plan_id=plan_id, period_end=fresh.end, weeks=fresh.weeks, settings=settings)
    q.replace_targets(con, scope=scope, plan_id=plan_id, targets=_stored_targets(fresh))
    q.replace_steps(con, scope=scope, plan_id=plan_id, steps=fresh.steps)
    return plan_id


def _plan_id_to_write(con: duckdb.DuckDBPyConnection, scope: Scope, rep_id: str, plan: Plan) -> int | None:
    """The saved plan this one replaces: its own plan_id when that is the rep's plan for the same
    start, else the rep's plan for that start, else None (a new plan). Another rep's plan_id is refused."""
    row = q.plan_row(con, scope=scope, plan_id=int(plan.plan_id)) if plan.plan_id is not None else None
    if row is not None and str(row["rep_id"]) != rep_id:
        raise Forbidden(f"plan #{plan.plan_id} is not a plan of {rep_id}; {scope.user} may not replace it")
    if row is not None and row["period_start"] == plan.start:
        return int(row["plan_id"])
    return q.plan_id_for(con, scope=scope, rep_id=rep_id, period_start=plan.start)


def _keep_company_targets(con: duckdb.DuckDBPyConnection, scope: Scope, plan_id: int | None, rules: dict) -> None:
    """A rep's save keeps the company targets a leader or admin set on the plan (the defaults on a new one)."""
    row = q.plan_row(con, scope=scope, plan_id=plan_id) if plan_id is not None else None
    changed = changed_company_targets(rules, rules_with_defaults((row or {}).get("settings", {}).get("rules", {})))
    if changed:
        raise Forbidden(
            f"a rep may not change the plan's company targets ({'; '.join(changed)}); a leader or admin sets them"
        )


def _stored_targets(plan: Plan) -> pd.DataFrame:
    """plan_targets rows: the rep's choices, the asks as JSON, and the rationale in words."""
    t = plan.targets
    needs_json = [
        json.dumps(
            [
                {"team": n.team, "ask": n.ask, "due": n.due.isoformat(), "rule": n.rule}
                for n in plan.needs[plan.needs["account_id"] == a].itertuples(index=False)
            ]
        )
        for a in t["account_id"]
    ]
    # The rationale shown is kept in words even when it was generated, so the plan remembers why.
    return pd.DataFrame(
        {
            "account_id": t["account_id"].astype(str),
            "position": t["position"].astype(int),
            "rationale": [g if missing(c) else c for c, g in zip(t["rationale_choice"], t["rationale"], strict=True)],
            "offer_id": [c if not missing(c) else None for c in t["offer_choice"]],
            "needs": needs_json,
            "status": t["status"].astype(str),
            "start_week": pd.array([None if missing(c) else int(c) for c in t["start_week_choice"]], dtype="Int64"),
        }
    )


def saved_plans(con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str) -> pd.DataFrame:
    """The rep's saved plans (newest period first)."""
    rep_for(con, scope=scope, rep_id=rep_id)
    return q.rep_plans(con, scope=scope, rep_id=rep_id)
