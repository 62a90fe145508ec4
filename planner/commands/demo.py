"""`demo`: build the demo world into the store."""

from __future__ import annotations

import argparse
import json
import sys
import time

from planner import demo, settings
from planner.errors import BadInput
from planner.scope import OPERATOR
from planner.store import interrupts


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="build the demo world into the store", description=__doc__)
    p.add_argument(
        "--accounts", type=int, default=settings.get("demo_accounts"), metavar="N", help="accounts (default 5000)"
    )
    p.add_argument("--reps", type=int, default=settings.get("demo_reps"), metavar="K", help="reps (default 12)")
    p.add_argument("--seed", type=int, default=settings.get("demo_seed"), metavar="S", help="random seed (default 7)")
    p.add_argument(
        "--deals-per-account", type=float, default=1.0, metavar="X", help="mean deals per account (default 1)"
    )
    p.add_argument("--force", action="store_true", help="replace a store that holds imported data")
    p.add_argument("--json", action="store_true", help="print counts as JSON")
    p.set_defaults(func=run, makes_store=True)  # cli.py: it may find no store (it makes one)


def run(args: argparse.Namespace) -> int:
    if not 10 <= args.accounts <= 5_000_000:
        raise BadInput(f"--accounts {args.accounts} is out of range; use 10 to 5000000")
    if not 1 <= args.reps <= 2000:
        raise BadInput(f"--reps {args.reps} is out of range; use 1 to 2000")
    if not 0 < args.deals_per_account <= 20:
        raise BadInput(f"--deals-per-account {args.deals_per_account} is out of range; use a number in (0, 20]")
    start = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        interrupts.check()  # Ctrl-C stops the work between its steps (planner/store/interrupts.py)
        if not args.json:
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

    counts = demo.build_store(
        args.db_path, args.accounts, args.reps, args.seed, force=args.force,
        deals_per_account=args.deals_per_account, progress=progress,scope=OPERATOR
    )  # fmt: skip
    counts_out = {**counts, "seconds": round(time.perf_counter() - start, 2), "db": str(args.db_path)}
    if args.json:
        print(json.dumps(counts_out))
    else:
        print(
            f"built demo store {args.db_path}: {counts['accounts']:,} accounts, {counts['deals']:,} deals, "
            f"{counts['reps']} reps in {counts_out['seconds']} s"
        )
    return 0
