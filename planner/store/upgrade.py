"""Upgrading an older store to this code's schema, not silently: the store as it was stays at hand (a file kept
beside it, a lake's earlier snapshots, or the untouched source of `store copy`), the audit log records the
upgrade (action `store.upgrade`, from and to), and the person whose command or page triggered it is told once,
on stderr (the CLI's --json output on stdout stays clean; the app's server log gets the line).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from planner.store import fileops, schema


@dataclass(frozen=True)
class Upgrade:
    """One store brought from schema `old` to `new`; `kept` is the previous file kept beside it, if any."""

    old: int
    new: int
    kept: Path | None = None


def migrate(con: duckdb.DuckDBPyConnection, path: Path, *, keep: bool) -> Upgrade | None:
    """Apply the migrations the open store `con` (a write's private copy of `path`, or a lake's transaction)
    has not seen; for a store that already held data, keep the live file `path` first when `keep` (a file
    store, under its write lock) and record the upgrade in its audit log. None when nothing was upgraded."""
    old = schema.current_version(con, path)
    if not 0 < old < schema.SCHEMA_VERSION:
        schema.migrate(con, path)  # a new store gets its schema; a current one is left as it is
        return None
    kept = fileops.keep_previous(path, old) if keep else None
    schema.migrate(con, path)
    detail = {"from": old, "to": schema.SCHEMA_VERSION, "previous_file": None if kept is None else str(kept)}
    con.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
        [schema.next_id(con, "audit_id"), schema.now(), "planner", "store.upgrade", json.dumps(detail)],
    )
    return Upgrade(old, schema.SCHEMA_VERSION, kept)


def announce(upgrade: Upgrade, where: str, *, subject: str = "the store") -> None:
    """Say once, on stderr, that a store was upgraded and where its previous state is."""
    print(f"upgraded {subject} from schema {upgrade.old} to {upgrade.new}; {where}", file=sys.stderr, flush=True)
