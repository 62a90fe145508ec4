"""The store: every SQL string and every DuckDB call of the app lives in this package.

`core` opens the store, a file or a DuckLake (snapshot reads, all-or-nothing writes); `schema` owns tables and
migrations; the other modules hold the queries of one area each and return DataFrames or plain values.
"""

from planner.store import versions
from planner.store.core import (
    copy_store,
    describe,
    exists,
    fingerprint,
    is_lake,
    migrate,
    query_df,
    query_one,
    quote_identifier,
    read,
    scalar,
    write,
)
from planner.store.retry import retry_conflicts
from planner.store.schema import SCHEMA_VERSION, get_meta, now, set_meta

__all__ = [
    "SCHEMA_VERSION",
    "copy_store",
    "describe",
    "exists",
    "fingerprint",
    "is_lake",
    "get_meta",
    "migrate",
    "now",
    "query_df",
    "query_one",
    "quote_identifier",
    "read",
    "retry_conflicts",
    "scalar",
    "set_meta",
    "versions",
    "write",
]
