"""A lake's small tables in memory per snapshot (store/lake_cache.py): exact, isolated, refreshed, let go."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner import store
from planner.store import core

pytestmark = pytest.mark.file_store("a lake's own read path, on a lake in both runs")

COPIES = "SELECT count(*) FROM duckdb_databases() WHERE database_name LIKE 'lake_snapshot_%'"


def _rep_and_price(con: object) -> tuple[str, float, float]:
    name = store.scalar(con, "SELECT name FROM reps WHERE rep_id = (SELECT min(rep_id) FROM reps)")  # type: ignore[arg-type]
    price = store.scalar(con, "SELECT price_per_user FROM potential_settings WHERE segment = '*'")  # type: ignore[arg-type]
    total = store.scalar(con, "SELECT sum(potential) FROM account_potential")  # type: ignore[arg-type]
    return str(name), float(price), float(total)


def test_small_tables_follow_each_snapshot(small_lake: Path) -> None:
    with store.read(small_lake) as con:
        # reps and the view come from this snapshot's copy; accounts from the lake
        where = "SELECT database_name FROM duckdb_tables() WHERE table_name = ? AND database_name <> 'lake'"
        assert str(store.scalar(con, where, ["reps"])).startswith("lake_snapshot_")
        assert store.scalar(con, where, ["accounts"]) is None
        name, price, total = _rep_and_price(con)
    with store.read(small_lake) as old:
        with store.write(small_lake) as con:
            con.execute("UPDATE reps SET name = 'Renamed <b>' WHERE rep_id = (SELECT min(rep_id) FROM reps)")
            con.execute("UPDATE potential_settings SET price_per_user = price_per_user * 2")
        with store.read(small_lake) as new:
            new_name, new_price, new_total = _rep_and_price(new)
            assert store.scalar(new, COPIES) == 2  # old's and new's
        assert _rep_and_price(old) == (name, price, total)  # the older read keeps its snapshot
    assert (new_name, new_price, new_total) == ("Renamed <b>", price * 2, pytest.approx(total * 2))
    with store.read(small_lake) as con:
        assert _rep_and_price(con) == (new_name, new_price, new_total)
        assert store.scalar(con, COPIES) == 1  # the old snapshot's copy was let go


def test_a_read_outlives_its_lake_attachment(small_lake: Path) -> None:
    """The attachment is dropped (as after a lost catalog connection) while a read holds a copy: the read
    ends quietly and the next read attaches and copies afresh."""
    with store.read(small_lake) as con:
        reps = store.scalar(con, "SELECT count(*) FROM reps")
        core.detach(small_lake)
    with store.read(small_lake) as con:
        assert store.scalar(con, "SELECT count(*) FROM reps") == reps
        assert store.scalar(con, COPIES) == 1
