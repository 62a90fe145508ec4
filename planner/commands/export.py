"""`export accounts|deals|reps --out FILE.csv`: write a table of the store to CSV or Excel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from planner import export, store
from planner.scope import OPERATOR
from planner.store import world

TABLES = {"accounts": world.export_accounts, "deals": world.export_deals, "reps": world.export_reps}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("export", help="write accounts, deals or reps to CSV/XLSX", description=__doc__)
    p.add_argument("table", choices=sorted(TABLES), help="what to export")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="output file (.csv or .xlsx)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with store.read(args.db_path) as con:
        df = TABLES[args.table](con, scope=OPERATOR)
    export.write_table(df, args.out)
    print(f"wrote {len(df):,} {args.table} to {args.out}", file=sys.stderr)
    return 0
