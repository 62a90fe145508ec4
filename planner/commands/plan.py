"""`plan --rep NAME_OR_EMAIL [--weeks 6] [--start YYYY-MM-DD] --out FILE`: write a rep's territory plan.

The suffix of FILE picks the format: .md (Markdown), .xlsx (Excel), .ics (iCalendar: touches as
events, decision points and asks of other teams as all-day events), .csv (numbered steps for
Salesloft/Outreach, decision points and asks as tasks) or .html (printable). Without --start the plan
is the rep's current saved plan, else a draft starting on the next working day after today (the
rep's weekends and public holidays skipped). The rep's saved plan for that start is used when there
is one, else a draft from the rep's ranked accounts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from planner import plan, store
from planner.errors import BadInput
from planner.plan import exports as plan_export
from planner.scope import OPERATOR


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("plan", help="write a rep's territory plan (.md/.xlsx/.ics/.csv)", description=__doc__)
    p.add_argument("--rep", required=True, metavar="NAME_OR_EMAIL", help="rep id, email or full name")
    p.add_argument("--weeks", type=int, default=None, metavar="N", help="cadence length in weeks (default 6)")
    p.add_argument(
        "--start", default=None, metavar="YYYY-MM-DD",
        help="plan start (default: the rep's current plan, else the next working day after today)",
    )  # fmt: skip
    p.add_argument(
        "--out", required=True, type=Path, metavar="FILE", help="output file: .md, .xlsx, .ics, .csv or .html"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    suffix = args.out.suffix.lower()
    if suffix not in plan_export.FORMATS and suffix != ".htm":
        raise BadInput(f"cannot write a plan as {args.out.name}: use a .md, .xlsx, .ics, .csv or .html file name")
    start = plan.parse_start(args.start)
    if args.weeks is not None and not 1 <= args.weeks <= plan.MAX_WEEKS:
        raise BadInput(f"--weeks {args.weeks} is out of range; use 1 to {plan.MAX_WEEKS} (default 6)")
    with store.read(args.db_path) as con:
        rep_id = plan.resolve_rep(con, args.rep, scope=OPERATOR)
        result = plan.load(con, scope=OPERATOR, rep_id=rep_id, start=start, weeks=args.weeks)
    plan_export.write(result, args.out)
    for line in plan.summary_lines(result):
        print(line, file=sys.stderr)
    print(f"wrote {plan_export.FORMATS.get(suffix, 'HTML')} plan to {args.out}", file=sys.stderr)
    return 0
