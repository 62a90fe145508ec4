"""Keeping a lake small: every write adds a snapshot and files, a killed or cancelled import leaves files the
catalog never listed, and nothing removed them. `maintain` merges small files, expires old snapshots and deletes
the files no snapshot needs any more (DuckLake's own functions), with margins for the reads and writes running.
A file store needs none: every write rewrites it whole (store/core.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planner.errors import BadInput
from planner.store import core

RUNNING_MARGIN_H = 1  # a file unlisted since less than this may still be read by a running read
UNLISTED_MARGIN_H = 24  # a file no snapshot lists, younger than this, may be a running import's (not committed yet)


def maintain(path: Path, older_than_days: float) -> dict[str, Any]:
    """Merge adjacent small files, expire the snapshots older than `older_than_days` (never the newest), delete the
    files only expired snapshots used and the orphans of killed writers; returns what each step did."""
    if not older_than_days >= 0:
        raise BadInput(f"--older-than-days {older_than_days} is not a number of days; pass e.g. 7")
    if not core.is_lake(path):
        return {"store": core.describe(path), "kind": "file", "note": "a file store needs no maintenance"}
    lake = core.LAKE
    days, running, unlisted = float(older_than_days), RUNNING_MARGIN_H, UNLISTED_MARGIN_H
    with core._lake_errors(path), core._lake_lock(path, core.lock_timeout_s()):
        cur = core._lake_cursor(path, use=False)
        try:
            steps = {
                "merged_files": f"SELECT count(*) FROM ducklake_merge_adjacent_files('{lake}')",
                "expired_snapshots": f"SELECT count(*) FROM ducklake_expire_snapshots('{lake}', "
                f"older_than => now() - INTERVAL {days * 86400:.0f} SECOND)",
                "deleted_old_files": f"SELECT count(*) FROM ducklake_cleanup_old_files('{lake}', "
                f"older_than => now() - INTERVAL {running} HOUR)",
                "deleted_orphaned_files": f"SELECT count(*) FROM ducklake_delete_orphaned_files('{lake}', "
                f"older_than => now() - INTERVAL {unlisted} HOUR)",
            }
            out: dict[str, Any] = {"store": core.describe(path), "kind": "lake", "older_than_days": days}
            for name, sql in steps.items():
                out[name] = int(cur.execute(sql).fetchall()[0][0])  # counted here: rows hold TIMESTAMPTZ
            out["snapshots_left"] = int(cur.execute(f"SELECT count(*) FROM {lake}.snapshots()").fetchall()[0][0])
            return out
        finally:
            cur.close()
