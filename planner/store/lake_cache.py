"""A lake's small tables in this process's memory, one copy per lake snapshot (#19 performance bars).

Every reference to a lake table in a query costs catalog round trips to PostgreSQL (the table's data files,
their statistics, delete files, inlined rows: about five per reference, whatever the table's size), and a
page refers to a few small tables (meta, reps, potential settings, ...) many times: on the 100,000-account
demo an Overview render sent 106 statements to the catalog. So store/core.py copies those tables, and the
lake's views, into an in-memory database once per snapshot, and a read at that snapshot finds them there
first (its search path) and the big tables in the lake. A snapshot never changes, so the copy is exact and
needs no invalidation: a write makes a new snapshot, and the first read of it copies afresh. A copy that no
read uses any more, and that is not the newest, is dropped.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import suppress

import duckdb

# Small by nature (a row per setting, rep, segment, import, model, role, offer, partner, attribute) and read
# by pages over and over; every other table stays in the lake.
SMALL_TABLES = ("meta", "reps", "potential_settings", "imports", "models", "roles", "offers", "partners",
                "attribute_defs")  # fmt: skip


class SnapshotCopies:
    """The in-memory copies of one attached lake's small tables, by snapshot id (thread-safe)."""

    def __init__(self, root: duckdb.DuckDBPyConnection, lake: str) -> None:
        self.root = root
        self.lake = lake
        self._lock = threading.Lock()
        self._names: dict[int, str] = {}
        self._users: dict[int, int] = {}

    def acquire(self, snapshot: int) -> str | None:
        """The copy of `snapshot`'s small tables (made now when missing), or None when that snapshot is no
        longer the lake's newest and has no copy (the read then uses the lake's tables). Pair with release."""
        with self._lock:
            if snapshot not in self._names:
                name = self._build(snapshot)
                if name is None:
                    return None
                self._names[snapshot] = name
                self._drop_unused()
            self._users[snapshot] = self._users.get(snapshot, 0) + 1
            return self._names[snapshot]

    def release(self, snapshot: int) -> None:
        with self._lock:
            self._users[snapshot] -= 1
            self._drop_unused()

    def _drop_unused(self) -> None:
        newest = max(self._names, default=None)
        for snapshot in [s for s in self._names if s != newest and not self._users.get(s)]:
            name = self._names.pop(snapshot)
            self._users.pop(snapshot, None)
            with suppress(duckdb.Error):  # a lost attachment (store unavailable) took its copies with it
                cur = self.root.cursor()
                try:
                    cur.execute(f"DETACH {name}")
                finally:
                    cur.close()

    def _build(self, snapshot: int) -> str | None:
        """Copy the small tables and the views as of `snapshot`, in one transaction of the lake pinned to it."""
        name = f"{self.lake}_snapshot_{int(snapshot)}"
        cur = self.root.cursor()
        attached = committed = False
        try:
            cur.execute(f"ATTACH ':memory:' AS {name}")
            attached = True
            cur.execute("BEGIN TRANSACTION")
            if cur.execute(f"SELECT id FROM {self.lake}.current_snapshot()").fetchall()[0][0] != snapshot:
                return None  # a write landed meanwhile: its snapshot gets the next copy
            present = {r[0] for r in cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'", [self.lake]
            ).fetchall()}  # fmt: skip
            for table in [t for t in SMALL_TABLES if t in present]:
                cur.execute(f'CREATE TABLE {name}.main."{table}" AS SELECT * FROM {self.lake}.main."{table}"')
            views = cur.execute(
                "SELECT sql FROM duckdb_views() WHERE database_name = ? AND schema_name = 'main' AND NOT internal",
                [self.lake],
            ).fetchall()
            # A view made here reads the small tables here and the big ones in the lake (the search path).
            cur.execute(f"USE {name}")
            cur.execute(f"SET search_path = '{name}.main,{self.lake}.main'")
            for (ddl,) in views:
                cur.execute(ddl)
            cur.execute("COMMIT")
            committed = True
            return name
        finally:
            if not committed:
                with suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                if attached:
                    with suppress(duckdb.Error):
                        cur.execute(f"DETACH {name}")
            cur.close()


def data_folder_problem(exc: BaseException) -> str | None:
    """One line for a lake's data file that cannot be opened under PLANNER_LAKE_DATA (the shared folder is not
    mounted on this host, or not readable by this user), or None when `exc` is about something else."""
    data = os.environ.get("PLANNER_LAKE_DATA", "").strip()
    named = re.search(r'Cannot open file "([^"]+)"', str(exc))
    if not data or "://" in data or named is None or not named.group(1).startswith(data.rstrip("/") + "/"):
        return None
    return (
        f"the lake's data folder {data} is not there or not readable (no {named.group(1)[len(data.rstrip('/')) + 1 :]}"
        " in it): mount the shared folder there on this host, or set PLANNER_LAKE_DATA to where it is mounted"
    )
