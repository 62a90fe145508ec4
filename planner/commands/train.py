"""`train [--json]`: fit a new propensity model version on the store's closed deals and score every account.

Prints the model version, training size, test AUC and top-decile lift, and the baselines (transparent
fit score, intent alone) measured on the same time split. The new version becomes active.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from planner import propensity, store
from planner.scope import OPERATOR
from planner.store import interrupts


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("train", help="train the propensity model and score all accounts", description=__doc__)
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random_state of the model (default 0)")
    p.set_defaults(func=run)


def _fmt(value: object) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


@store.retry_conflicts
def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        interrupts.check()  # Ctrl-C stops the work between its steps (planner/store/interrupts.py)
        if not args.json:
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

    with store.write(args.db_path) as con:
        result = propensity.train_and_score(
            con, created_by="cli", random_state=args.seed, progress=progress, scope=OPERATOR
        )
    result["seconds"] = round(time.perf_counter() - start, 2)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"model version {result['model_version']} ({result['kind']}), trained on {result['n_train']:,} deals")
    ci = result.get("auc_interval")
    between = f" (95% interval {ci[0]:.3f}-{ci[1]:.3f})" if ci else ""
    print(f"  AUC {_fmt(result['auc'])}{between}, top-decile lift {_fmt(result['lift_top_decile'])}")
    for name, b in result["baselines"].items():
        print(f"  baseline {name}: AUC {_fmt(b['auc'])}, top-decile lift {_fmt(b['lift_top_decile'])}")
    if result.get("ceiling_auc") is not None:
        print(f"  ceiling (demo generator's true probabilities): AUC {_fmt(result['ceiling_auc'])}")
    print(f"  {result['message']}")
    for dropped in result.get("features_dropped") or []:
        print(f"  not used: {dropped['name']} ({dropped['reason']})")
    print(f"  {result['seconds']} s")
    return 0
