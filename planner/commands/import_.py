"""`import FILE [FILE ...] [--kind auto|accounts|deals|reps] [--map COLUMN=FIELD ...] [--revenue-unit U]
[--as-of DATE] [--owners-from-file] [--remove-missing] [--json]`.

Salesforce (reports, Data Loader, API exports, warehouse syncs), HubSpot, Dynamics 365, Pipedrive and any
CSV/TSV/XLSX, with or without record IDs. All files of one command land in one write. A file that holds nothing
to import (a contacts or activities export, a header without rows) is skipped and named when other files come
with it; with --kind, or alone, it is an error and nothing is written. An import in which no row can be imported
leaves the store unchanged (exit status 2).

An account a committed rebalance moved, and its open deals, keep the plan's owner while the file still names the
owner before the commit (the CRM not updated yet); a third owner in the file is taken and listed as a conflict.
--owners-from-file takes every owner from the file. An import that changes owners keeps the owners before it as a
version first (restore it on the Rebalance page), and every import is in the audit log.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from planner import ingest, propensity
from planner.errors import ImportFileError, PlannerError, os_problem
from planner.ingest import limits
from planner.propensity.after_import import LATER
from planner.scope import OPERATOR
from planner.store import interrupts


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("import", help="import CRM exports (CSV, TSV or XLSX)", description=__doc__)
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="export files to import")
    p.add_argument("--kind", choices=["auto", "accounts", "deals", "reps"], default="auto",
                   help="what the files hold (default: detect per file)")  # fmt: skip
    p.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD", dest="column_map",
                   help="read a column as a field (repeat the flag), e.g. --map 'Firmenname=name' --map "
                        "PLZ=postal_code; FIELD 'ignore' skips a column, 'attribute' keeps it as a custom "
                        "attribute")  # fmt: skip
    p.add_argument("--revenue-unit", choices=["units", "thousands", "millions"], default=None,
                   help="the unit of the accounts' revenue (the import warns when it looks scaled)")  # fmt: skip
    p.add_argument("--as-of", metavar="DATE", default=None,
                   help="fix the store's as-of date (YYYY-MM-DD), or 'auto' for the automatic rule")  # fmt: skip
    p.add_argument("--owners-from-file", action="store_true",
                   help="take every owner from the file, even where it undoes a committed rebalance the CRM has "
                        "not caught up with (by default those accounts keep the plan's owner)")  # fmt: skip
    p.add_argument("--remove-missing", action="store_true",
                   help="remove the stored accounts (with their deals) that the accounts file, a full export of the "
                        "CRM's accounts, leaves out, and the stored deals a full deals export leaves out: deleted or "
                        "merged in the CRM (audited)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the per-file report as JSON")
    p.add_argument("--progress", action="store_true",
                   help="print progress lines on stderr even when not a terminal (scripts, logs)")  # fmt: skip
    p.set_defaults(func=run, makes_store=True)  # cli.py: it may find no store (it makes one)


def run(args: argparse.Namespace) -> int:
    """Import, then print the report; with --json a failure is a JSON object too ({"error": ...}, and the report
    when there is one), besides the one `error:` line on stderr. Ctrl-C stops the import within a second or so:
    nothing of it is written, and the command says so (exit status 130)."""
    landed: list[bool] = []  # the import's write committed (what is left is scoring the accounts)
    try:
        report = interrupts.run_interruptibly(lambda: _import(args, landed))
    except KeyboardInterrupt:
        stopped = (
            f"interrupted: the files were imported, not scored: {LATER}"
            if landed
            else "interrupted: nothing was imported"
        )
        if args.json:
            print(json.dumps({"error": stopped}))
        print(stopped, file=sys.stderr)
        return 130
    except (PlannerError, OSError) as exc:
        if args.json:
            print(json.dumps({"error": str(exc) if isinstance(exc, PlannerError) else os_problem(exc) or str(exc)}))
        raise
    nothing = None if report.landed else "no row could be imported (every row was rejected); the store is unchanged"
    if args.json:
        print(json.dumps({**report.contract(), **({"error": nothing} if nothing else {})}, default=str))
    else:
        _print(report)
    if nothing:
        raise ImportFileError(nothing)
    return 0


def _import(args: argparse.Namespace, landed: list[bool]) -> ingest.ImportReport:
    def progress(fraction: float, message: str) -> None:
        interrupts.check()  # Ctrl-C stops the Python steps between statements too
        if args.progress or (not args.json and sys.stderr.isatty()):
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    if args.as_of not in (None, "auto"):
        ingest.parse_as_of(args.as_of)  # a bad date fails before anything is read
    columns: dict[str, str] = {}
    for item in args.column_map:
        column, sep, field_name = item.partition("=")
        if not sep or not column.strip() or not field_name.strip():
            raise ImportFileError(f"--map '{item}': write COLUMN=FIELD, e.g. --map 'Firmenname=name'")
        columns[column.strip()] = field_name.strip()

    def after(*a: Any, **k: Any) -> list[str]:  # the import has landed: then scoring the accounts
        landed.append(True)
        interrupts.keep(f"the files were imported, not scored: {LATER}")  # should the scoring be left behind
        interrupts.check()
        notes = propensity.score_new_accounts(*a, **k)
        interrupts.check()  # an interrupted scoring is no note of the report: the command says it
        return notes

    # Files named here are no browser uploads: the upload size limit does not apply (the row and column ones do).
    with limits.local_files():
        return ingest.import_files(
            args.db_path, list(args.files), args.kind, progress=progress, scope=OPERATOR,
            revenue_unit=args.revenue_unit, as_of=args.as_of,
            overrides={"*": {"columns": columns}} if columns else None, after=after,
            owners_from_file=args.owners_from_file, remove_missing=args.remove_missing,
        )  # fmt: skip


def _placed_line(kind: str, g: dict) -> str:
    """How many of a file's accepted rows are on the map, how many only at their country's centre, how many not
    at all (a German PLZ is also a US ZIP's digits, so the US ZIP count is said of accounts in the US only)."""
    by = g["by_method"]
    total, none, country = sum(by.values()), by.get("none", 0), by.get("country", 0)
    line = f"placed {total - none:,} of {total:,} {kind} on the map"
    if kind == "accounts" and g.get("valid_zip"):
        line += f" ({g['valid_zip_placed']:,} of {g['valid_zip']:,} in the US with a valid ZIP)"
    if country:
        line += f"; {country:,} only at their country's centre"
    if none:
        line += f"; {none:,} not placed (no postal code, city or country that could be read: the Data page lists them)"
    return line


def _print(report: object) -> None:
    if report.cleared_demo:  # type: ignore[attr-defined]
        print("the demo world was removed: the store now holds your data only")
    for f in report.files:  # type: ignore[attr-defined]
        same = f", of which {f.unchanged:,} unchanged" if f.updated and f.unchanged is not None else ""
        print(
            f"{f.file}: {f.kind} from {f.source}: {f.rows_read:,} rows read, {f.inserted:,} inserted, "
            f"{f.updated:,} updated{same}, {f.rejected:,} rejected"
        )
        for note in f.notes:
            print(f"  note: {note}")
        for warning in f.warnings:
            print(f"  warning: {warning}")
        if f.geocoding.get("by_method"):
            print(f"  {_placed_line(f.kind, f.geocoding)}")
        for r in f.rejects[:10]:
            print(f"  row {r['row']}: {r['reason']}")
        if f.rejected > 10:
            print(f"  ... {f.rejected - 10:,} more rejected rows (see the Data page)")
    for note in report.notes:  # type: ignore[attr-defined]
        print(f"note: {note}")
