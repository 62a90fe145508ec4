"""Settings every DuckDB database the planner opens shares (store files, lakes, the importer's private readers)."""

from __future__ import annotations

import os
from typing import Any

from planner.errors import StoreError

THREADS_ENV = "PLANNER_DUCKDB_THREADS"


def duckdb_config(**config: Any) -> dict[str, Any]:
    """`config` for duckdb.connect, with the threads each DuckDB database of this process may use when
    PLANNER_DUCKDB_THREADS says (unset: DuckDB's default, every core). Several app processes on one host, or a
    test run with more workers than cores, set it so their queries do not fight over the cores."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        if not raw.isdigit() or not 1 <= int(raw) <= 1024:
            raise StoreError(
                f"{THREADS_ENV}={raw!r} is not a number of threads: set a whole number from 1 (e.g. 2), "
                "or unset it to use every core"
            )
        config["threads"] = int(raw)
    return config
