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
from planner.propensity.training import (
    FIT_SCORE_INSTEAD,
    Progress,
    fit_bundle,
    load_as_of,
    load_inputs,
    revenue_caveat,
    score_frame,
    threads,
)
from planner.scope import Scope, require_leader
from planner.store import scores as q
from planner.store import world


def _dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    pickle.dump(obj, buf, protocol=pickle.HIGHEST_PROTOCOL)
    return buf.getvalue()


def scored_with(kind: str | None, version: int) -> str:
    """What ranks the accounts, as progress text and the import report name it: a model version, or the
    transparent fit score when that version is one (no model used: too little history, or it ranked no better)."""
    if kind == "model":
        return f"with model version {version}"
    return "by the transparent fit score (no model is used)"


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
    previous = _good_model(con, q.active_version(con), scope) if m.get("model_rejected") else None
    if previous is not None:
        m["message"] = m["message"].removesuffix(FIT_SCORE_INSTEAD) + (
            f"Model version {previous[0]} stays active and ranks the accounts: it beat a coin toss and the fit "
            "score when it was trained."
        )
    version = q.insert_model(
        con, kind=bundle.kind, created_by=created_by, n_train=int(m["n_train"]), n_test=int(m["n_test"]),
        metrics=m, features=card_data["features"], blob=_dumps(bundle), scope=scope,
    )  # fmt: skip
    say(0.8, f"Scoring {len(inputs.accounts):,} accounts")
    with threadpool_limits(limits=threads(len(inputs.accounts))):
        scored = score_frame(bundle, inputs, q.account_potential(con, scope=scope))
    q.replace_scores(con, version, scored, scope=scope)
    active = version
    if previous is not None:
        # The new model ranks no better than its baseline, the active one did: it stays, rescored for today.
        active, old = previous
        with threadpool_limits(limits=threads(len(inputs.accounts))):
            q.replace_scores(con, active, score_frame(old, inputs, q.account_potential(con, scope=scope)), scope=scope)
    q.activate(con, active, scope=scope)
    q.prune_scores(con, scope=scope)
    q.audit(con, created_by, "train", {"model_version": version, "kind": bundle.kind, "auc": m.get("auc"),
                                       "active_version": active}, scope=scope)  # fmt: skip
    say(1.0, f"Model version {active} is active")
    result = summary(version, m, kind=bundle.kind, active_version=active)
    # Fields of this store left out for lack of data (empty, constant, too sparse, leaky), named with why.
    result["features_dropped"] = [{"name": e["name"], "reason": e["reason"]} for e in bundle.spec.excluded]
    return result


def _good_model(con: duckdb.DuckDBPyConnection, version: int | None, scope: Scope) -> tuple[int, Bundle] | None:
    """The active version and its bundle when it is a model that ranked better than a coin toss and the fit
    score (what a rejected new model leaves in place); None otherwise, or when it cannot be read."""
    rec = q.model_record(con, version) if version is not None else None
    if rec is None or rec["kind"] != "model" or version is None:
        return None
    m = rec["metrics"] or {}
    fit_auc = ((m.get("baselines") or {}).get("fit_score") or {}).get("auc")
    auc = m.get("auc") or 0.0
    if m.get("model_rejected") or auc <= 0.5 or (fit_auc is not None and auc <= fit_auc):
        return None  # (versions trained before the gate may have ranked no better than the fit score)
    try:
        return version, _loads(q.model_blob(con, version, scope=scope))
    except NotFound:
        return None


def summary(
    version: int, m: dict[str, Any], *, kind: str | None = None, active_version: int | None = None
) -> dict[str, Any]:
    """The `train --json` answer: version, training size, AUC, lift and the baselines' figures, and what
    ranks the accounts now (`ranking`: model, fit_score or previous_model; `model_used`; `why_no_model`)."""
    kind = kind or ("model" if m.get("auc") is not None else "fit_score")
    active_version = version if active_version is None else active_version
    ranking = "previous_model" if active_version != version else kind
    return {
        "model_version": version,
        "kind": kind,
        "n_train": m.get("n_train"),
        "n_test": m.get("n_test"),
        "auc": m.get("auc"),
        "auc_interval": m.get("auc_interval"),
        "lift_top_decile": m.get("lift_top_decile"),
        "baselines": {
            name: {"auc": b.get("auc"), "lift_top_decile": b.get("lift_top_decile")}
            for name, b in (m.get("baselines") or {}).items()
        },
        "ceiling_auc": m.get("ceiling_auc"),
        "message": m.get("message"),
        "active_version": active_version,
        "ranking": ranking,
        "model_used": kind == "model",
        "model_rejected": bool(m.get("model_rejected")),
        "why_no_model": None if kind == "model" else m.get("no_model_reason"),
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
    say(0.4, f"Scoring {len(inputs.accounts):,} accounts {scored_with(bundle.kind, version)}")
    with threadpool_limits(limits=threads(len(inputs.accounts))):
        scored = score_frame(bundle, inputs, q.account_potential(con, scope=scope))
    say(0.9, f"Saving the scores of {len(scored):,} accounts")
    q.replace_scores(con, version, scored, scope=scope)
    q.audit(con, actor, "score", {"model_version": version, "accounts": len(scored)}, scope=scope)
    say(1.0, "Scores updated")
    return {"model_version": version, "kind": bundle.kind, "accounts": int(len(scored))}


def score_accounts(
    con: duckdb.DuckDBPyConnection, account_ids: list[str], *, actor: str = "local", scope: Scope
) -> dict[str, Any]:
    """Score some accounts with the active model (what a full rescore gives them: the whole store feeds their
    history features), keep every other account's score, and rank the version again."""
    require_leader(scope)
    version = q.active_version(con)
    if version is None:
        raise NotFound("no model has been trained in this store; run `python -m planner train` first")
    bundle = _loads(q.model_blob(con, version, scope=scope))
    inputs = load_inputs(con, scope=scope)
    with threadpool_limits(limits=threads(len(account_ids))):
        scored = score_frame(bundle, inputs, q.account_potential(con, scope=scope), only=account_ids)
    q.merge_scores(con, version, scored, scope=scope)
    q.audit(con, actor, "score_new", {"model_version": version, "accounts": len(scored)}, scope=scope)
    return {"model_version": version, "kind": bundle.kind, "accounts": int(len(scored))}


RETRAIN_SHARE = 0.10  # accounts or deals added or changed since the training, as a share of those it learned from


def since_training(con: duckdb.DuckDBPyConnection, version: int | None = None) -> dict[str, Any] | None:
    """How the data changed since a version (the active one) was trained: accounts added and changed, deals
    added or changed (a rebalance's owner changes aside), accounts it has no score for, and whether to retrain:
    when the accounts or the deals that changed reach RETRAIN_SHARE of those it was trained on. None before
    any training."""
    rec = q.model_record(con, version)
    if rec is None:
        return None
    out: dict[str, Any] = {"model_version": rec["model_version"], "trained_at": rec["created_at"]}
    out.update(q.changes_since(con, rec["created_at"], rec["model_version"]))
    data = (rec["metrics"] or {}).get("data") or {}
    base_accounts, base_deals = int(data.get("accounts") or 0), int(data.get("deals") or 0)
    accounts = out["accounts_added"] + out["accounts_changed"]
    out["share_accounts"] = accounts / base_accounts if base_accounts else (1.0 if accounts else 0.0)
    out["share_deals"] = out["deals_changed"] / base_deals if base_deals else (1.0 if out["deals_changed"] else 0.0)
    out["retrain_share"] = RETRAIN_SHARE
    out["retrain_suggested"] = max(out["share_accounts"], out["share_deals"]) >= RETRAIN_SHARE
    out["note"] = _since_note(out, base_accounts, base_deals)
    if left_out := _revenue_left_out(con, rec):
        out["revenue_left_out"] = left_out
        out["retrain_suggested"] = True
        out["note"] = f"{out['note']} {left_out}" if out["note"] else left_out
    return out


def _revenue_left_out(con: duckdb.DuckDBPyConnection, rec: dict[str, Any]) -> str:
    """What a version that learned from annual revenue does in a store that now holds several currencies, and to
    retrain ('' when it did not learn from revenue, or the store has one currency)."""
    used = {f.get("field") for f in (rec.get("features") or {}).get("used") or []}
    if "annual_revenue" not in used or not revenue_caveat(con):
        return ""
    return (
        f"Version {rec['model_version']} learned from annual revenue, which the store now holds in several "
        f"currencies ({world.mixed_currencies(con)}): its scores leave revenue out (every account counts as a "
        "typical one), so revenue moves no score and gives no reason; retrain (`python -m planner train`) for a "
        "version that learns without it."
    )


def _since_note(s: dict[str, Any], base_accounts: int, base_deals: int) -> str | None:
    """What the Model page and `planner model` say of the data since the training; None when nothing changed."""
    added, changed, deals, unscored = (s["accounts_added"], s["accounts_changed"], s["deals_changed"],
                                       s["accounts_unscored"])  # fmt: skip
    if not (added or changed or deals or unscored):
        return None
    trained = str(s["trained_at"])[:16]
    text = (
        f"Data changed since version {s['model_version']} was trained ({trained}): {added:,} account(s) added, "
        f"{changed:,} changed and {deals:,} deal(s) added or changed ({s['share_accounts']:.1%} of the "
        f"{base_accounts:,} accounts and {s['share_deals']:.1%} of the {base_deals:,} deals it learned from)."
    )
    if unscored:
        text += (f" {unscored:,} account(s) have no score from it yet and are listed last on Targets: run "
                 "`python -m planner score` or retrain.")  # fmt: skip
    elif added or changed:
        text += " Imports since were scored with this version; it has not learned from them."
    if s["retrain_suggested"]:
        text += f" That is {RETRAIN_SHARE:.0%} or more of what it learned from: retrain."
    return text


def activate_version(con: duckdb.DuckDBPyConnection, version: int, *, actor: str = "local",
                     progress: Progress | None = None, scope: Scope) -> dict[str, Any]:  # fmt: skip
    """Roll back (or forward) to an earlier model version that still has its scores, and score every account
    with it on today's data: its stored scores date from when it was last active, and leave out the accounts
    imported since (Targets listed them as not scored yet). Returns rescore's answer."""
    require_leader(scope)
    q.activate(con, version, scope=scope)
    q.audit(con, actor, "activate_model", {"model_version": version}, scope=scope)
    return rescore(con, actor=actor, progress=progress, scope=scope)


@store.retry_conflicts
def train(path: Path, *, scope: Scope, created_by: str, progress: Progress | None = None) -> dict[str, Any]:
    """Train, score and activate a new version in the store at `path` (one all-or-nothing write)."""
    require_leader(scope)  # refused before any writer opens
    with store.write(path) as con:
        return train_and_score(con, created_by=created_by, progress=progress, scope=scope)


def rescore_reason(con: duckdb.DuckDBPyConnection, version: int, since: Any, *, scope: Scope) -> str | None:
    """Why an import that started at `since` may have changed the features of accounts it did not add, so that
    every account is scored again; None when it only added accounts (new accounts without deals feed nobody
    else's features, and a model's reasons read only the account's own). Measured at 100,000 accounts a full
    rescore takes about 4 s; at a million about 50 s, and there a won deal changes the similar-wins count of
    thousands of same-industry accounts within the radius (20 won deals: 97,000), a deal that moves to another
    account or a custom attribute changes without a timestamp: no smaller set is sure to hold them all."""
    changed = q.import_changes(con, since, scope=scope)
    if changed["deals_changed"]:
        return "the import added or changed deals"
    if changed["accounts_changed"] or changed["accounts_named"]:
        return "the import changed existing accounts"
    rec = q.model_record(con, version)
    if rec is not None and _revenue_left_out(con, rec):
        return "the store's amounts are now in several currencies, so annual revenue moves no score"
    if rec is None or rec["kind"] != "model":
        return "the fit score's reasons compare every account with all of them"
    trained_as_of = ((rec["metrics"] or {}).get("data") or {}).get("as_of")
    if trained_as_of != load_as_of(con):
        return "the store's as-of date moved since the training, and with it every account's recent history"
    return None


@store.retry_conflicts
def score_imported(
    path: Path, since: Any, *, scope: Scope, actor: str = "local", progress: Progress | None = None
) -> dict[str, Any] | None:
    """After an import: score with the active model every account whose features it may have changed, in one
    write of its own. The whole book when it touched deals or existing accounts (see rescore_reason), else the
    accounts it added (and any the active model has no score for). None when there is no model or nothing to
    score; else rescore's answer with `all` (True: every account) and `why`."""
    require_leader(scope)
    with store.read(path) as con:
        if q.active_version(con) is None:
            return None
    with store.write(path) as con:
        version = q.active_version(con)
        if version is None:
            return None
        why = rescore_reason(con, version, since, scope=scope)
        if why is not None:
            return {**rescore(con, actor=actor, progress=progress, scope=scope), "all": True, "why": why}
        ids = q.accounts_to_score(con, version, since, scope=scope)
        if not ids:
            return None
        if progress:
            kind = (q.model_record(con, version) or {}).get("kind")
            progress(0.4, f"Scoring {len(ids):,} new account(s) {scored_with(kind, version)}")
        return {**score_accounts(con, ids, actor=actor, scope=scope), "all": False, "why": None}


@store.retry_conflicts
def activate(path: Path, version: int, *, scope: Scope, actor: str, progress: Progress | None = None
             ) -> dict[str, Any]:  # fmt: skip
    """Make an earlier version that still has its scores the active one and score every account with it, in
    one write to the store at `path`."""
    require_leader(scope)
    with store.write(path) as con:
        return activate_version(con, version, actor=actor, progress=progress, scope=scope)


def card(con: duckdb.DuckDBPyConnection, version: int | None = None) -> dict[str, Any] | None:
    """The model card of a version (the active one by default), or None before any training."""
    return q.model_record(con, version)


def history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every model version, newest first, with its headline metrics and whether it can be restored."""
    return q.model_history(con)
