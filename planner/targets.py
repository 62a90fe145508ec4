"""Target lists: the ranked accounts of a territory, filtered, and sending chosen ones to a rep's plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from planner import store
from planner.coverage import value
from planner.errors import BadInput, Forbidden, NotFound
from planner.plan.saved import current_plan_id, load, save_in
from planner.scope import Scope, require_actor
from planner.store import scores as q

# Company-size bands for the filter: label -> (min employees, max employees).
SIZE_BANDS: dict[str, tuple[int | None, int | None]] = {
    "any": (None, None),
    "1-49": (1, 49),
    "50-199": (50, 199),
    "200-999": (200, 999),
    "1000-4999": (1000, 4999),
    "5000+": (5000, None),
}

# The Why of an account the active model has no score for (imported after the training, or the model unreadable).
NOT_SCORED = "Not scored yet: added after the model was trained; listed last until the model scores it"
# ...and of every account before any model was trained: the list is ranked by revenue potential meanwhile.
NO_MODEL = "Not scored yet: no model has been trained, so ranked by revenue potential"


def targets(
    con: duckdb.DuckDBPyConnection,
    rep_id: str | None = None,
    industries: tuple[str, ...] = (),
    states: tuple[str, ...] = (),
    size: str = "any",
    min_propensity: float = 0.0,
    limit: int = 500,
    *,
    scope: Scope,
) -> dict[str, Any]:
    """The best `limit` accounts matching the filters (from the active model) and totals over all matches. Before
    any model was trained every account is listed, by revenue potential (`model_version` None)."""
    if size not in SIZE_BANDS:
        raise BadInput(f"size band {size!r} is unknown; use one of {', '.join(SIZE_BANDS)}")
    if not 0 <= min_propensity <= 1:
        raise BadInput(f"minimum propensity {min_propensity} must be between 0 and 1")
    lo, hi = SIZE_BANDS[size]
    out = q.target_list(
        con, rep_id, scope=scope, industries=list(industries), states=list(states), min_employees=lo, max_employees=hi,
        min_propensity=min_propensity, limit=limit,
    )  # fmt: skip
    rows = out["rows"]
    unscored = ~rows["scored"].astype(bool)
    out["model_version"] = q.active_version(con)
    rows.loc[unscored, "reasons"] = NOT_SCORED if out["model_version"] is not None else NO_MODEL
    if unscored.any():  # the value every page gives an account the model has not scored: the win-rate fallback
        fallback = value.expected_value_basis(con, scope=scope).fallback_propensity
        ev = pd.to_numeric(rows.loc[unscored, "potential"], errors="coerce") * (
            float("nan") if fallback is None else fallback)  # fmt: skip
        rows["expected_value"] = pd.to_numeric(rows["expected_value"], errors="coerce")
        rows.loc[unscored, "expected_value"] = ev
    return out


@store.retry_conflicts
def add_to_plan(
    path: Path, rep_id: str, account_ids: list[str], actor: str = "local", *, scope: Scope
) -> dict[str, Any]:
    """Append accounts to the rep's current plan (without one, the draft the Plan page shows is saved as the plan
    first), rationale = the score's reasons."""
    if not rep_id:
        raise BadInput("choose a territory in the sidebar: a plan belongs to one rep")
    if not scope.allows_rep(rep_id):
        raise Forbidden(f"you may only add targets to your own plan, not {rep_id!r}")
    require_actor(scope, actor)
    ids = [str(a) for a in dict.fromkeys(account_ids)]
    if not ids:
        raise BadInput("select at least one account in the table first")
    with store.write(path) as con:  # one transaction: a refused add leaves no trace, not even the draft saved
        _check_accounts(con, ids, rep_id, scope)
        drafted = 0
        if current_plan_id(con, scope=scope, rep_id=rep_id, create=False) is None:
            draft = load(con, scope=scope, rep_id=rep_id)  # what the Plan page showed: it becomes the plan, then grows
            save_in(con, scope=scope, plan=draft)
            drafted = len(draft.targets)
        reasons = q.score_reasons(con, ids, rep_id, scope=scope)
        rationale = [reasons.get(a, "") for a in ids]
        plan_id = current_plan_id(con, scope=scope, rep_id=rep_id, create=True)
        assert plan_id is not None
        added = q.add_plan_targets(con, plan_id, pd.DataFrame({"account_id": ids, "rationale": rationale}), scope=scope)
        q.audit(con, actor, "add_plan_targets", {"plan_id": plan_id, "rep_id": rep_id, "accounts": ids}, scope=scope)
    return {"plan_id": plan_id, "added": added, "already_planned": len(ids) - added, "from_draft": drafted}


def _check_accounts(con: duckdb.DuckDBPyConnection, ids: list[str], rep_id: str, scope: Scope) -> None:
    owners = q.accounts_owned_by(con, ids, scope=scope).set_index("account_id")["owner_rep_id"]
    unknown = [a for a in ids if a not in owners.index]
    if unknown and scope.is_rep:  # a rep is not told whether another rep's account exists
        raise BadInput(f"account {unknown[0]!r} is not in your territory; pick accounts from your own list")
    if unknown:
        raise NotFound(f"account {unknown[0]!r} is not in the store; refresh the page")
    foreign = [a for a in ids if owners.get(a) != rep_id]
    if foreign:
        raise BadInput(
            f"account {foreign[0]!r} is not in {rep_id}'s territory; pick that rep in the sidebar to plan it"
        )


def filter_options(con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str | None = None) -> dict[str, Any]:
    """Industries, states and the employee range among the scored accounts in scope (the page's filters)."""
    return q.filter_options(con, rep_id, scope=scope)


def model_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The active model's version, None before any training."""
    return q.active_version(con)
