"""The model registry: versions in the store. Train and activate a version, rescore, read cards and history.

Each version keeps its fitted bundle (pickled), its card (metrics and features) and, for the newest
few, its scores; exactly one version is active and every page shows its scores.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from threadpoolctl import threadpool_limits

from planner import potential, store
from planner.errors import NotEnoughData, NotFound
from planner.propensity.estimators import Bundle
from planner.propensity.training import Progress, fit_bundle, load_inputs, score_frame, threads
from planner.scope import Scope, require_leader
from planner.store import scores as q


def _dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    pickle.dump(obj, buf, protocol=pickle.HIGHEST_PROTOCOL)
    return buf.getvalue()


def _loads(blob: bytes) -> Bundle:
    try:
        obj = pickle.loads(blob)  # our own model, written by this code into this store
    except (AttributeError, ImportError, pickle.UnpicklingError, EOFError, TypeError, ValueError):
        obj = None
    if not isinstance(obj, Bundle):
        raise NotFound("the stored model is not readable by this version; retrain with `python -m planner train`")
    return obj


def train_and_score(
    con: duckdb.DuckDBPyConnection,
    *,
    created_by: str = "local",
    random_state: int = 0,
    progress: Progress | None = None,
    scope: Scope,
) -> dict[str, Any]:
    """Train a new model version on a write connection, score every account with it and activate it.

    Also refreshes the learned revenue-potential defaults first. Returns the CLI summary.
    Admins and leaders only (the CLI and the demo build run as the local operator).
    """
    require_leader(scope)
    say = progress or (lambda f, m: None)
    say(0.02, "Reading accounts, deals and custom attributes")
    potential.learn_defaults(con, scope=scope)
    inputs = load_inputs(con, scope=scope)
    if inputs.accounts.empty:
        raise NotEnoughData("the store has no accounts to score; import a CRM export or run `python -m planner demo`")
    with threadpool_limits(limits=threads(len(inputs.deals))):
        bundle, card_data = fit_bundle(inputs, random_state=random_state, progress=say)
    m = card_data["metrics"]
    version = q.insert_model(
        con, kind=bundle.kind, created_by=created_by, n_train=int(m["n_train"]), n_test=int(m["n_test"]),
        metrics=m, features=card_data["features"], blob=_dumps(bundle), scope=scope,
    )  # fmt: skip
    say(0.8, f"Scoring {len(inputs.accounts):,} accounts")
    with threadpool_limits(limits=threads(len(inputs.accounts))):
        scored = score_frame(bundle, inputs, q.account_potential(con, scope=scope))
    q.replace_scores(con, version, scored, scope=scope)
    q.activate(con, version, scope=scope)
    q.prune_scores(con, scope=scope)
    q.audit(con, created_by, "train", {"model_version": version, "kind": bundle.kind, "auc": m.get("auc")}, scope=scope)
    say(1.0, f"Model version {version} is active")
    result = summary(version, m)
    # Fields of this store left out for lack of data (empty, constant, too sparse, leaky), named with why.
    result["features_dropped"] = [{"name": e["name"], "reason": e["reason"]} for e in bundle.spec.excluded]
    return result


def summary(version: int, m: dict[str, Any]) -> dict[str, Any]:
    """The `train --json` answer: version, training size, AUC, lift and the baselines' figures."""
    return {
        "model_version": version,
        "kind": "model" if m.get("auc") is not None else "fit_score",
        "n_train": m.get("n_train"),
        "n_test": m.get("n_test"),
        "auc": m.get("auc"),
        "lift_top_decile": m.get("lift_top_decile"),
        "baselines": {
            name: {"auc": b.get("auc"), "lift_top_decile": b.get("lift_top_decile")}
            for name, b in (m.get("baselines") or {}).items()
        },
        "ceiling_auc": m.get("ceiling_auc"),
        "message": m.get("message"),
    }


def rescore(
    con: duckdb.DuckDBPyConnection, *, actor: str = "local", progress: Progress | None = None, scope: Scope
) -> dict[str, Any]:
    """Score every account again with the active model (after an import or a settings change)."""
    require_leader(scope)
    say = progress or (lambda f, m: None)
    version = q.active_version(con)
    if version is None:
        raise NotFound("no model has been trained in this store; run `python -m planner train` first")
    bundle = _loads(q.model_blob(con, version, scope=scope))
    say(0.1, "Reading accounts and deals")
    inputs = load_inputs(con, scope=scope)
    say(0.4, f"Scoring {len(inputs.accounts):,} accounts with model version {version}")
    with threadpool_limits(limits=threads(len(inputs.accounts))):
        scored = score_frame(bundle, inputs, q.account_potential(con, scope=scope))
    q.replace_scores(con, version, scored, scope=scope)
    q.audit(con, actor, "score", {"model_version": version, "accounts": len(scored)}, scope=scope)
    say(1.0, "Scores updated")
    return {"model_version": version, "accounts": int(len(scored))}


def activate_version(con: duckdb.DuckDBPyConnection, version: int, *, actor: str = "local", scope: Scope) -> None:
    """Roll back (or forward) to an earlier model version that still has its scores."""
    require_leader(scope)
    q.activate(con, version, scope=scope)
    q.audit(con, actor, "activate_model", {"model_version": version}, scope=scope)


@store.retry_conflicts
def train(path: Path, *, scope: Scope, created_by: str, progress: Progress | None = None) -> dict[str, Any]:
    """Train, score and activate a new version in the store at `path` (one all-or-nothing write)."""
    require_leader(scope)  # refused before any writer opens
    with store.write(path) as con:
        return train_and_score(con, created_by=created_by, progress=progress, scope=scope)


@store.retry_conflicts
def activate(path: Path, version: int, *, scope: Scope, actor: str) -> None:
    """Make an earlier version that still has its scores the active one, in the store at `path`."""
    require_leader(scope)
    with store.write(path) as con:
        activate_version(con, version, actor=actor, scope=scope)


def card(con: duckdb.DuckDBPyConnection, version: int | None = None) -> dict[str, Any] | None:
    """The model card of a version (the active one by default), or None before any training."""
    return q.model_record(con, version)


def history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every model version, newest first, with its headline metrics and whether it can be restored."""
    return q.model_history(con)
