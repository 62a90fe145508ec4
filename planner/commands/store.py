"""`store copy --from PATH_OR_LAKE --to PATH_OR_LAKE [--json]`: move a whole store between a file and a lake.

A store is a DuckDB file path or a DuckLake attach string (`ducklake:postgres:dbname=... host=... port=...
user=...`, data path in PLANNER_LAKE_DATA). The target must be new (a file that does not exist, or a lake
without a store); the copy lands whole or not at all. Rows and a checksum of every table are printed for
the source and the copy, and the command fails unless they are equal.
"""

from __future__ import annotations

import argparse
import json

from planner import settings, store
from planner.store import maintenance


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("store", help="move a store between a file and a DuckLake; clean a lake", description=__doc__)
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    actions.required = True
    c = actions.add_parser("copy", help="copy a whole store into a new file or an empty lake", description=__doc__)
    c.add_argument("--from", dest="source", required=True, metavar="PATH_OR_LAKE", help="the store to copy")
    c.add_argument("--to", dest="target", required=True, metavar="PATH_OR_LAKE", help="the new store")
    c.add_argument("--json", action="store_true", help="print [{table, rows, checksum, target_rows, ...}] as JSON")
    c.set_defaults(func=run, makes_store=True)  # cli.py: it may find no store (it makes one)
    m = actions.add_parser("maintain", help="clean a lake: merge small files, expire old snapshots, delete unused "
                           "files (run it daily)", description=maintenance.__doc__)  # fmt: skip
    m.add_argument("--older-than-days", type=float, default=7.0, metavar="DAYS",
                   help="expire the snapshots older than this (default 7; the newest is always kept)")  # fmt: skip
    m.add_argument("--json", action="store_true", help="print what each step did as one JSON object")
    m.set_defaults(func=run_maintain)


def run(args: argparse.Namespace) -> int:
    source, target = settings.db_path(args.source), settings.db_path(args.target)
    figures = store.copy_store(source, target)
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"copied {store.describe(source)} to {store.describe(target)}")
    width = max(len(f["table"]) for f in figures)
    print(f"{'table':<{width}}  {'rows':>10}  {'checksum':<16}  {'copy rows':>10}  {'copy checksum':<16}")
    for f in figures:
        print(f"{f['table']:<{width}}  {f['rows']:>10,}  {f['checksum']:<16}  {f['target_rows']:>10,}  "
              f"{f['target_checksum']:<16}")  # fmt: skip
    print(f"{len(figures)} tables, {sum(f['rows'] for f in figures):,} rows: equal")
    return 0


def run_maintain(args: argparse.Namespace) -> int:
    done = maintenance.maintain(args.db_path, args.older_than_days)
    if args.json:
        print(json.dumps(done))
    elif done["kind"] == "file":
        print(f"{done['store']}: {done['note']}")
    else:
        print(f"{done['store']}: merged {done['merged_files']} files, expired {done['expired_snapshots']} snapshots "
              f"(older than {done['older_than_days']:g} days), deleted {done['deleted_old_files']} old and "
              f"{done['deleted_orphaned_files']} orphaned files; {done['snapshots_left']} snapshots left")  # fmt: skip
    return 0
