"""`as-of [DATE|auto] [--json]`: show the store's as-of date and why, or set it.

Figures, point-in-time features and plans are computed as of this date. By default it is today, or
the newest activity in the data when that is more than 90 days old (an export from 2017 describes
2017); a date set here wins until `as-of auto`.
"""

from __future__ import annotations

import argparse
import json

from planner import ingest, store
from planner.scope import OPERATOR
from planner.store import world


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("as-of", help="show or set the date the data describes", description=__doc__)
    p.add_argument("date", nargs="?", metavar="DATE", help="YYYY-MM-DD to fix it, or 'auto' for the automatic rule")
    p.add_argument("--json", action="store_true", help="print {as_of, rule, text} as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.date is None:
        with store.read(args.db_path) as con:
            info = world.as_of_info(con)
    else:
        info = ingest.set_as_of(args.db_path, args.date, scope=OPERATOR)
    if args.json:
        print(json.dumps({"as_of": str(info["as_of"]), "rule": info["rule"], "text": info["text"]}))
    else:
        print(f"data as of {info['text']}")
    return 0
