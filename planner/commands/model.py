"""`model [--json]`: the active model version, when it was trained, and how much data changed since.

Counts the accounts added or changed and the deals added or changed since the training (a rebalance's owner
changes aside), and the accounts the model has no score for. Suggests a retrain (`python -m planner train`)
when the accounts or the deals that changed reach 10% of those the model learned from.
"""

from __future__ import annotations

import argparse
import json

from planner import store
from planner.errors import NotFound
from planner.propensity import registry

NO_MODEL = (
    "no model has been trained in this store yet: Targets lists accounts as not scored; "
    "run `python -m planner train` once it holds won and lost deals"
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("model", help="the active model and how much data changed since it was trained",
                       description=__doc__)  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not store.exists(args.db_path):
        raise NotFound(f"there is no store at {args.db_path}; run `python -m planner demo` or import a CRM export")
    with store.read(args.db_path) as con:
        status = registry.since_training(con)
    if status is None:  # a state to report, not an error: a new store has no model yet
        status = {"model_version": None, "trained_at": None, "retrain_suggested": True, "note": NO_MODEL}
    if args.json:
        print(json.dumps(status, default=str))
        return 0
    if status["model_version"] is None:
        print(NO_MODEL)
        return 0
    print(f"model version {status['model_version']}, trained {str(status['trained_at'])[:16]}")
    print(f"  {status['note'] or 'no account or deal changed since'}")
    return 0
