"""`export accounts|deals|reps --out FILE.csv`: write a table of the store to CSV or Excel.

Record IDs are the CRM's: a record imported without one gets a blank cell, and a column with no ID at all is left
out, so that the file imports again matched by name. Money is in the store's currency, named in its header.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from planner import export, store, text
from planner.scope import OPERATOR
from planner.store import world

TABLES = {"accounts": world.export_accounts, "deals": world.export_deals, "reps": world.export_reps}
OWN_ID = {"accounts": "account_id", "deals": "deal_id", "reps": ""}
MONEY = {"accounts": ("potential",), "deals": ("amount",), "reps": ()}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("export", help="write accounts, deals or reps to CSV/XLSX", description=__doc__)
    p.add_argument("table", choices=sorted(TABLES), help="what to export")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="output file (.csv or .xlsx)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    export.check_table_path(args.out)
    with store.read(args.db_path) as con:
        df = TABLES[args.table](con, scope=OPERATOR)
    df, blank = export.record_ids(df)
    currency = text.currency_in_use()
    df = df.rename(columns={c: export.money_header(c, currency) for c in MONEY[args.table] if c in df.columns})
    export.write_table(df, args.out)
    print(f"wrote {len(df):,} {args.table} to {args.out}", file=sys.stderr)
    for note in _id_notes(blank, df.columns, OWN_ID[args.table]):
        print(f"note: {note}", file=sys.stderr)
    if caveat := text.mixed_caveat():
        print(f"note: {caveat}", file=sys.stderr)
    return 0


def _id_notes(blank: dict[str, int], columns: Iterable[str], own: str) -> list[str]:
    """What the file's ID columns say of records imported without a CRM ID, and how the file imports again (`own`:
    the records' own ID column, which an import needs in every row once the file has it)."""
    kept = set(columns)
    gone = [c for c, n in blank.items() if n and c not in kept]
    part = {c: n for c, n in blank.items() if n and c in kept}
    notes = []
    if gone:
        which = "that column" if len(gone) == 1 else "those columns"
        notes.append(f"no record here has a CRM ID in {' or '.join(gone)} (imported without one), so the file leaves "
                     f"{which} out: it imports again matched by name")  # fmt: skip
    if part:
        cells = ", ".join(f"{n:,} in {c}" for c, n in part.items())
        again = (f"; importing this file again rejects the rows whose {own} is blank (import those from the CRM's "
                 "own export)") if own in part else ""  # fmt: skip
        notes.append(f"records imported without a CRM ID have a blank ID cell ({cells}){again}")
    return notes
