"""After an import commits: the accounts whose features it may have changed get scores from the active model.

A target list that leaves out what was just imported looks broken, a score that ignores a deal just won nearby
is stale, and a retrain is a leader's choice, not a side effect of every import. So the active model scores the
new accounts, and every account when the import touched deals or existing accounts, in a write of its own
(the import has already landed and stands either way). When it cannot, the report says so and Targets lists
those accounts last as "not scored yet".

The CLI's import and the Data page pass `score_new_accounts` to `planner.ingest.import_files` (its `after`), so
planner.ingest does not load scikit-learn: every command that reads a store imports it (metrics took 2.1 s
instead of 1.1 s when it did).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb

from planner import store
from planner.errors import PlannerError
from planner.propensity.registry import score_imported, scored_with
from planner.scope import Scope, require_leader
from planner.store import scores

LATER = "they are listed last on Targets, not scored yet, until `python -m planner score` or a retrain scores them"


def score_new_accounts(db_path: Path, since: datetime, progress: Callable[[float, str], None], *, actor: str,
                       scope: Scope) -> list[str]:  # fmt: skip
    """Score what the import that started at `since` may have changed (every account when it touched deals or
    existing accounts: their neighbours' features read them); the import report's notes about it."""
    require_leader(scope)

    def step(fraction: float, message: str) -> None:  # the import's bar is at 97% once its rows have landed
        progress(0.975 + 0.02 * min(1.0, max(0.0, fraction)), message)

    try:
        with store.read(db_path) as con:
            version = scores.active_version(con)
            kind = (scores.model_record(con, version) or {}).get("kind") if version is not None else None
        if version is None:  # no model yet: nothing to score with
            return []
        step(0.0, f"Finding the accounts to score again {scored_with(kind, version)}")
        done = score_imported(db_path, since, scope=scope, actor=actor, progress=step)
    except PlannerError as exc:
        return [f"the accounts imported could not be scored ({exc}); {LATER}"]
    except (duckdb.Error, ValueError) as exc:
        return [f"the accounts imported could not be scored ({type(exc).__name__}); {LATER}"]
    if not done:
        return []
    by = scored_with(done["kind"], done["model_version"])
    if done["all"]:
        reads = (", and an account's score reads its own deals and the recent wins of similar accounts nearby"
                 if done["kind"] == "model" else "")  # fmt: skip
        return [
            f"all {done['accounts']:,} accounts were scored again {by}: {done['why']}{reads}; the Model page says "
            "when so much has changed that a retrain is due"
        ]
    return [
        f"{done['accounts']:,} account(s) new or changed since the last training were scored {by}; the Model page "
        "says when so much has changed that a retrain is due"
    ]
