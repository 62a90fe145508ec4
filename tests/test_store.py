"""The store: schema and migrations, path resolution, snapshot reads, all-or-nothing writes."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import duckdb
import pytest

from planner import settings, store
from planner.errors import StoreError
from planner.scope import OPERATOR
from planner.store import schema


def test_db_path_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PLANNER_DB", raising=False)
    assert settings.db_path() == (settings.DATA_DIR / "planner.duckdb").resolve()
    monkeypatch.setenv("PLANNER_DB", str(tmp_path / "env.duckdb"))
    assert settings.db_path() == tmp_path / "env.duckdb"
    assert settings.db_path(tmp_path / "flag.duckdb") == tmp_path / "flag.duckdb"


def test_new_store_gets_schema_and_version(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with store.write(path):
        pass
    with store.read(path) as con:
        assert store.get_meta(con, "schema_version") == str(schema.SCHEMA_VERSION)
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    for table in ["accounts", "deals", "reps", "assignments", "imports", "rejected_rows", "scores", "scenarios",
                  "plans", "geo_zip"]:  # fmt: skip
        assert table in tables
    with store.read(path) as con:
        assert store.scalar(con, "SELECT count(*) FROM geo_zip WHERE postal_code = '02108'") == 1


def test_forward_migration_applies_new_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.duckdb"
    with store.write(path):
        pass

    def add_table(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE extra_test (x INTEGER)")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, add_table])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with store.read(path) as con:  # reading an older store migrates it first
        assert store.get_meta(con, "schema_version") == str(schema.SCHEMA_VERSION)
        assert store.scalar(con, "SELECT count(*) FROM extra_test") == 0


def test_failed_write_leaves_store_unchanged(small_store: Path) -> None:
    with store.read(small_store) as con:
        before = store.scalar(con, "SELECT count(*) FROM accounts")
    with pytest.raises(RuntimeError, match="boom"), store.write(small_store) as con:
        con.execute("DELETE FROM accounts")
        raise RuntimeError("boom")
    with store.read(small_store) as con:
        assert store.scalar(con, "SELECT count(*) FROM accounts") == before
    assert not list(small_store.parent.glob("*.tmp-*"))


def test_reader_keeps_its_snapshot_while_a_writer_swaps(small_store: Path) -> None:
    with store.read(small_store) as old:
        with store.write(small_store) as con:
            con.execute("DELETE FROM deals")
        # The open reader still sees the complete old store...
        assert store.scalar(old, "SELECT count(*) FROM deals") > 0
    # ...and the next reader the complete new one.
    with store.read(small_store) as con:
        assert store.scalar(con, "SELECT count(*) FROM deals") == 0


def _slow_write(path: str) -> None:
    with store.write(Path(path)) as con:
        con.execute("DELETE FROM accounts")
        time.sleep(60)


def test_killed_writer_leaves_store_as_before(small_store: Path) -> None:
    with store.read(small_store) as con:
        before = store.scalar(con, "SELECT count(*) FROM accounts")
    proc = mp.get_context("spawn").Process(target=_slow_write, args=(str(small_store),))
    proc.start()
    deadline = time.time() + 30
    while not list(small_store.parent.glob("*.tmp-*")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    with store.read(small_store) as con:
        assert store.scalar(con, "SELECT count(*) FROM accounts") == before
    with store.write(small_store) as con:  # the next write works and cleans up
        con.execute("DELETE FROM activities")
    assert not list(small_store.parent.glob("*.tmp-*"))


def test_garbage_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.duckdb"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a readable Territory Planner store"), store.read(path):
        pass


def test_foreign_duckdb_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "foreign.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (x INTEGER)")
    con.close()
    with pytest.raises(StoreError, match="not a Territory Planner store"), store.read(path):
        pass


def test_missing_store_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="python -m planner demo"), store.read(tmp_path / "none.duckdb"):
        pass


def test_quote_identifier() -> None:
    assert store.quote_identifier('we"ird') == '"we""ird"'


def test_a_new_store_has_no_key_constraints_nor_sequences(small_store: Path) -> None:
    """#19 point 3: a DuckLake holds neither, so no store relies on them; MERGE INTO keeps one row per key."""
    with store.read(small_store) as con:
        keys = "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
        assert store.scalar(con, keys) == 0
        assert store.scalar(con, "SELECT count(*) FROM duckdb_sequences()") == 0
        assert store.scalar(con, "SELECT count(*) FROM duckdb_indexes()") == 0
        assert schema.duplicate_keys(con) == {}
    with store.write(small_store) as con:
        store.set_meta(con, "k", "1")
        store.set_meta(con, "k", "2")
    with store.read(small_store) as con:
        assert store.query_df(con, "SELECT value FROM meta WHERE key = 'k'")["value"].tolist() == ["2"]


def test_old_keys_and_sequences_migrate_to_counters() -> None:
    """A store made with primary keys and sequences loses them; numbers continue where the sequences were."""
    con = duckdb.connect()
    con.execute(schema._V1.replace("CREATE OR REPLACE VIEW", "CREATE VIEW"))
    for _ in range(3):
        con.execute("SELECT nextval('scenario_id_seq')")
    con.execute("INSERT INTO scenarios (scenario_id) VALUES (1), (2)")  # scenario 3 was deleted
    con.execute("INSERT INTO meta VALUES ('schema_version', '6')")
    schema._v_keys_by_code(con)
    assert con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
    ).fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM duckdb_sequences()").fetchone() == (0,)
    assert schema.next_id(con, "scenario_id") == 4  # never a number handed out before
    assert schema.next_id(con, "scenario_id") == 5
    assert schema.next_id(con, "plan_id") == 1
    con.execute("INSERT INTO models (model_version) VALUES (7)")
    assert schema.next_id(con, "model_version") == 8


def test_merge_upserts_keep_one_row_per_key(small_store: Path) -> None:
    from planner.store import potential as potential_q
    from planner.store.imports import history

    with store.write(small_store) as con:
        for share in (0.1, 0.2):
            potential_q.upsert_setting(con, 'Odd "segment"; DROP', share, 500.0, False, scope=OPERATOR)
            history.remember_mapping(con, "sig", "crm", "accounts", {"A": "name"}, scope=OPERATOR)
    with store.read(small_store) as con:
        assert store.scalar(con, "SELECT adoption_share FROM potential_settings WHERE segment LIKE 'Odd%'") == 0.2
        assert schema.duplicate_keys(con) == {}


def test_every_view_replays_from_its_own_ddl(tmp_path: Path) -> None:
    """A store is copied (to a lake, `store copy`) by replaying DuckDB's DDL of each table and view. DuckDB writes a
    view's CROSS JOIN back as a comma join that binds looser than the LEFT JOINs after it: the potential view of
    a migration failed to replay ('Non-inner join on correlated columns'), and every lake test with it."""
    path = tmp_path / "s.duckdb"
    store.migrate(path)
    src = duckdb.connect(str(path), read_only=True)
    tables = src.execute("SELECT sql FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()
    views = src.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND schema_name = 'main'"
    ).fetchall()
    src.close()
    con = duckdb.connect()
    for (ddl,) in tables:
        con.execute(ddl)
    assert views
    for name, ddl in views:
        con.execute(ddl)
        con.execute(f"SELECT * FROM {name} LIMIT 1").fetchall()
