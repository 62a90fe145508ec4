"""What a write changed, so that caches refresh for the writes that matter to them and not for the others.

Every write bumps meta's `write_id` (store/core.py: two overlapping lake writes cannot both commit). Caches keyed on
it, or on a lake's snapshot id, were thrown away by writes that change no figure: a sign-out's audit row made every
page of every replica compute afresh, and a scenario save re-ran the leader's optimizer. So a write declares what it
changed (`declare`, in its transaction; undeclared means everything) and bumps only the versions that depend on it:
- `data_version`: accounts, deals, owners, reps, scores, settings: what an optimizer run reads;
- `shown_version`: all of that and saved scenarios: what pages show.
An audit-only write (a sign-out) bumps neither; a read of the audit log keys on the snapshot (store.fingerprint).
"""

from __future__ import annotations

import duckdb

DATA, SCENARIOS, AUDIT = "data", "scenarios", "audit"  # what a write may change, from most to least
BUMPS = {DATA: ("data_version", "shown_version"), SCENARIOS: ("shown_version",), AUDIT: ()}
_VARIABLE = "planner_write_kind"  # a DuckDB variable: one per connection (a lake's cursor), gone with it


def declare(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """Say, in a write's transaction, that it changes no more than `kind` (SCENARIOS or AUDIT)."""
    if kind not in BUMPS:
        raise ValueError(f"unknown write kind {kind!r}: use one of {', '.join(BUMPS)}")
    con.execute(f"SET VARIABLE {_VARIABLE} = '{kind}'")


def bumped_by(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The meta keys this write bumps, by what it declared (nothing declared: every version)."""
    kind = con.execute(f"SELECT getvariable('{_VARIABLE}')").fetchall()[0][0]
    return BUMPS.get(str(kind), BUMPS[DATA]) if kind is not None else BUMPS[DATA]


def read(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The store's versions in this read's snapshot. A store last written before versions existed has none: its
    write_id stands in, until its next write."""
    rows = dict(con.execute(
        "SELECT key, value FROM meta WHERE key IN ('write_id', 'data_version', 'shown_version')"
    ).fetchall())  # fmt: skip
    fallback = str(rows.get("write_id", "none"))
    return {key: str(rows.get(key, fallback)) for key in ("data_version", "shown_version")}
