"""`potential [list|set|reset|learn]`: show or edit revenue-potential settings (adoption share, price per user).

Potential = employees x adoption share x price per user, per industry ('*' covers the rest); an account with
annual revenue and no employee count is counted as revenue / 250,000 employees (an assumption). Prices are in
the store's currency: the planning default (600) is a US-dollar figure, so set it in any other currency.
`set` is a manual edit that learning leaves alone; `reset` returns a segment to its learned or
planning default; `learn` re-learns defaults from won deals. Scores' expected values follow at once.
"""

from __future__ import annotations

import argparse
import json
import sys

from planner import potential, store
from planner.errors import BadInput
from planner.scope import OPERATOR
from planner.store import scores


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("potential", help="show or edit revenue-potential settings", description=__doc__)
    p.add_argument("action", nargs="?", default="list", choices=["list", "set", "reset", "learn"])
    p.add_argument("segment", nargs="?", help="an industry, or '*' for the default (set, reset)")
    p.add_argument("--share", type=float, metavar="X", help="adoption share of employees, in (0, 1]")
    p.add_argument("--price", type=float, metavar="AMOUNT", help="annual price per user, in the store's currency")
    p.add_argument("--json", action="store_true", help="print the settings as JSON")
    p.set_defaults(func=run)


@store.retry_conflicts
def run(args: argparse.Namespace) -> int:
    if args.action in ("set", "reset") and not args.segment:
        raise BadInput(f"`potential {args.action}` needs a segment: an industry name or '*'")
    if args.action == "set" and args.share is None and args.price is None:
        raise BadInput("`potential set` needs --share and/or --price")
    if args.action != "list":
        with store.write(args.db_path) as con:
            if args.action == "set":
                potential.update_setting(con, args.segment, adoption_share=args.share, price_per_user=args.price,
                                         actor="cli", scope=OPERATOR)  # fmt: skip
            elif args.action == "reset":
                potential.reset_setting(con, args.segment, actor="cli", scope=OPERATOR)
            else:
                learned = potential.learn_defaults(con, scope=OPERATOR)
                scores.refresh_values(con, scope=OPERATOR)
                print(f"learned {len(learned)} segments from won deals", file=sys.stderr)
    with store.read(args.db_path) as con:
        table = potential.settings_table(con)
        notes = potential.assumptions(con)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(table.drop(columns=["updated_at"]).to_dict(orient="records")))
    else:
        print(table.drop(columns=["updated_at"]).to_string(index=False))
    return 0
