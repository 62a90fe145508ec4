"""The store file in daily use (explore-P): a damaged file, its mode and owner, upgrades, `store copy` of an old
store, a file-size limit, and the counters an old store's sequences become.

A point of the file's own mechanics uses a file in both runs of the suite (PLANNER_TEST_STORE=lake too): a
`file_store` mark on a fixture's store, or a file the test builds itself; the upgrade's notice and audit entry,
and `store copy` into a new store, run on a lake under PLANNER_TEST_STORE=lake.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from planner import store
from planner.cli import main
from planner.errors import StoreBusy, StoreError
from planner.store import core, schema, writable
from tests.conftest import ROOT
from tests.lake import TEST_STORE, store_state
from tests.test_cli import one_error_line

BLOCK = 262_144  # DuckDB's block size; the file starts with three 4 KB headers


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def damage(path: Path, offset: int, length: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\xff" * length)


def read_every_table(path: Path) -> None:
    with store.read(path) as con:
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall():
            con.execute(f"SELECT * FROM {store.quote_identifier(table)}").fetchall()


def damaged_after_opening(good: Path, path: Path) -> Path:
    """A copy of `good` with one block damaged that DuckDB opens fine and meets only in a query."""
    for block in range(1, good.stat().st_size // BLOCK):
        shutil.copyfile(good, path)
        damage(path, 12_288 + block * BLOCK + 64, 4096)
        try:
            duckdb.connect(str(path), read_only=True).close()
        except duckdb.Error:
            continue
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
                    con.execute(f'SELECT * FROM "{table}"').fetchall()
        except duckdb.Error as exc:
            if "Corrupt database file" in str(exc):
                return path
    raise AssertionError("no block of the store is read only by queries")


def old_store(path: Path) -> Path:
    """A store as the releases before #19 left it (schema 6): primary keys, and sequences that handed out
    imports 1-3 and audit entries 1-2 in an earlier session."""
    con = duckdb.connect(str(path))
    con.execute(schema._V1.replace("CREATE OR REPLACE VIEW", "CREATE VIEW"))
    for step in schema.MIGRATIONS[1:6]:
        step(con)
    con.execute("INSERT INTO meta VALUES ('schema_version', '6')")
    for _ in range(3):
        con.execute("INSERT INTO imports (import_id, file_name) VALUES (nextval('import_id_seq'), 'accounts.csv')")
    for action in ("import", "train"):
        con.execute("INSERT INTO audit_log (audit_id, action) VALUES (nextval('audit_id_seq'), ?)", [action])
    con.close()
    return path


# ---------------------------------------------------------------- 1: a damaged store


def test_a_store_damaged_where_duckdb_opens_it_is_said_to_be_damaged_at_once(
    empty_store_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "damaged.duckdb"
    shutil.copyfile(empty_store_template, path)
    damage(path, 12_288, path.stat().st_size - 12_288)  # every block, the catalog's included
    started = time.monotonic()
    assert main(["--db", str(path), "metrics"]) == 2
    line = one_error_line(capsys, f"the store {path} is damaged", "Corrupt database file", "Backup and restore")
    assert "locked" not in line
    assert time.monotonic() - started < 5  # no retrying for a lock that does not exist (was 10-26 s)
    with pytest.raises(StoreError, match="is damaged") as caught, store.read(path):
        pass
    assert not isinstance(caught.value, StoreBusy)


def test_a_store_damaged_where_only_a_query_reads_it_is_said_to_be_damaged(
    empty_store_template: Path, tmp_path: Path
) -> None:
    path = damaged_after_opening(empty_store_template, tmp_path / "damaged.duckdb")
    with pytest.raises(StoreError, match=r"is damaged and cannot be read .*Backup and restore"):
        read_every_table(path)
    before = sha(path)
    with pytest.raises(StoreError, match="is damaged"), store.write(path) as con:
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            con.execute(f'SELECT * FROM "{table}"').fetchall()
    assert sha(path) == before


def test_a_store_another_program_holds_for_writing_is_still_called_locked(
    empty_store_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "held.duckdb"
    shutil.copyfile(empty_store_template, path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
         "time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreBusy, match="is locked by another program"), store.read(path, retries=2):
            pass
    finally:
        holder.kill()
        holder.wait()


# ---------------------------------------------------------------- 3: mode and owner


@pytest.mark.file_store("the mode and owner of the store file and its lock file")
def test_a_write_keeps_the_store_files_mode_and_owner_and_the_lock_file_follows(
    small_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = small_store.with_name(small_store.name + ".lock")
    lock.touch(mode=0o644)  # as a root write before this fix left it
    owner = (10001, 10002) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    os.chown(small_store, *owner)
    small_store.chmod(0o600)
    assert main(["--db", str(small_store), "roles", "set", "q@example.com", "leader"]) == 0
    for path in (small_store, lock):
        st = path.stat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, *owner), path
    small_store.chmod(0o640)
    assert main(["--db", str(small_store), "roles", "remove", "q@example.com"]) == 0
    assert stat.S_IMODE(small_store.stat().st_mode) == 0o640


@pytest.mark.file_store("a store file's own permission bits")
def test_a_read_only_store_file_is_refused_in_one_line_and_left_as_it_is(
    small_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small_store.chmod(0o444)
    before, inode = sha(small_store), small_store.stat().st_ino
    assert main(["--db", str(small_store), "roles", "set", "q@example.com", "leader"]) == 2
    one_error_line(capsys, f"{small_store} is read-only", "mode 0444", "chmod u+w", "the store is unchanged")
    assert (sha(small_store), small_store.stat().st_ino, stat.S_IMODE(small_store.stat().st_mode)) == (
        before, inode, 0o444,
    )  # fmt: skip
    assert main(["--db", str(small_store), "roles", "list"]) == 0  # reading it still works


# ---------------------------------------------------------------- 4: upgrades say so and keep the old file


@pytest.fixture
def one_migration_more(monkeypatch: pytest.MonkeyPatch) -> int:
    """This code one schema version ahead of every store (one more, harmless migration); returns the old one."""
    old = schema.SCHEMA_VERSION

    def add_table(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE IF NOT EXISTS upgrade_test (x INTEGER)")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, add_table])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", old + 1)
    return old


def test_an_upgrade_is_told_once_on_stderr_and_recorded_in_the_audit_log(
    small_store: Path, one_migration_more: int, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = one_migration_more, one_migration_more + 1
    before = None if core.is_lake(small_store) else sha(small_store)
    assert main(["--db", str(small_store), "metrics", "--json"]) == 0
    out, err = capsys.readouterr()
    json.loads(out)  # stdout holds the JSON alone
    kept = small_store.with_name(f"{small_store.name}.schema{old}.bak")
    where = (
        "the lake keeps its earlier snapshots" if core.is_lake(small_store) else f"the previous file is kept at {kept}"
    )
    assert err.splitlines() == [f"upgraded the store from schema {old} to {new}; {where}"]
    with store.read(small_store) as con:
        assert store.get_meta(con, "schema_version") == str(new)
        rows = con.execute("SELECT actor, detail FROM audit_log WHERE action = 'store.upgrade'").fetchall()
    assert len(rows) == 1 and rows[0][0] == "planner"
    detail = json.loads(rows[0][1])
    assert (detail["from"], detail["to"]) == (old, new)
    if before is not None:
        assert sha(kept) == before and detail["previous_file"] == str(kept)
    assert main(["--db", str(small_store), "metrics", "--json"]) == 0
    assert capsys.readouterr().err == ""  # once


def test_an_old_release_store_is_kept_beside_it_before_its_upgrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = old_store(tmp_path / "planner.duckdb")
    path.chmod(0o640)
    before = sha(path)
    assert main(["--db", str(path), "roles", "list", "--json"]) == 0
    out, err = capsys.readouterr()
    assert out == ""  # JSON lines of no roles: the notice stays off stdout
    kept = tmp_path / "planner.duckdb.schema6.bak"
    assert err.splitlines() == [
        f"upgraded the store from schema 6 to {schema.SCHEMA_VERSION}; the previous file is kept at {kept}"
    ]
    assert sha(kept) == before and stat.S_IMODE(kept.stat().st_mode) == 0o640
    with duckdb.connect(str(kept), read_only=True) as con:
        assert schema.get_meta(con, "schema_version") == "6"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["planner.duckdb", "planner.duckdb.lock", kept.name]


# ---------------------------------------------------------------- 10: sequences become counters without a gap


def test_the_counters_of_an_old_store_continue_right_after_its_sequences(tmp_path: Path) -> None:
    path = old_store(tmp_path / "planner.duckdb")
    with store.write(path) as con:
        assert schema.get_meta(con, "counter:import_id") == "3"
        assert schema.next_id(con, "import_id") == 4  # not 5: import #4 exists
        assert schema.next_id(con, "scenario_id") == 1
        audit = con.execute("SELECT audit_id, action FROM audit_log ORDER BY 1").fetchall()
    assert audit == [(1, "import"), (2, "train"), (3, "store.upgrade")]  # no hole in the audit trail


# ---------------------------------------------------------------- 5: `store copy` never writes its source


@pytest.fixture
def new_target(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """Where `store copy` writes: a new file, or an empty lake under PLANNER_TEST_STORE=lake."""
    if TEST_STORE == "lake":
        lake: Path = request.getfixturevalue("empty_lake")
        return lake
    return tmp_path / "copy.duckdb"


def test_store_copy_of_an_old_store_upgrades_the_copy_and_never_writes_the_source(
    tmp_path: Path, new_target: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = old_store(tmp_path / "old.duckdb")
    before = sha(source)
    assert main(["store", "copy", "--from", str(source), "--to", str(new_target), "--json"]) == 0
    out, err = capsys.readouterr()
    figures = {f["table"]: f for f in json.loads(out)}
    assert figures["imports"]["rows"] == figures["imports"]["target_rows"] == 3
    assert err.splitlines() == [
        f"upgraded the copy from schema 6 to {schema.SCHEMA_VERSION}; the source {source} is unchanged"
    ]
    assert sha(source) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("old")) == ["old.duckdb"]
    assert not list(tmp_path.glob("*.tmp-*"))
    with store.write(new_target) as con:
        assert store.get_meta(con, "schema_version") == str(schema.SCHEMA_VERSION)
        assert schema.next_id(con, "import_id") == 4
        actions = [r[0] for r in con.execute("SELECT action FROM audit_log ORDER BY audit_id").fetchall()]
    assert actions == ["import", "train", "store.upgrade"]
    assert capsys.readouterr().err == ""  # the copy is current: nothing more to tell


def test_store_copy_of_a_current_store_says_nothing_of_upgrades(
    small_store_template: Path, new_target: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = store_state(small_store_template)
    assert main(["store", "copy", "--from", str(small_store_template), "--to", str(new_target), "--json"]) == 0
    assert capsys.readouterr().err == ""
    assert store_state(small_store_template) == before


# ---------------------------------------------------------------- 6: a file-size limit met by DuckDB


def test_duckdbs_failed_checkpoint_on_a_file_size_limit_is_one_os_line() -> None:
    fatal = duckdb.FatalException(
        'FATAL Error: Failed to create checkpoint because of error: Could not write file "/srv/p.duckdb.tmp-1-ab": '
        "File too large"
    )
    limit = r"^cannot write the store: .*file-size limit.*the store is unchanged$"
    with pytest.raises(StoreError, match=limit), writable.os_errors(Path("/srv/p.duckdb")):
        raise fatal
    full = duckdb.FatalException("FATAL Error: Failed to create checkpoint because of error: No space left on device")
    with pytest.raises(StoreError, match="no space left on the device"), writable.os_errors(Path("/srv/p.duckdb")):
        raise full


WRITE_UNDER_A_LIMIT = """
import resource, sys
from pathlib import Path
path, rows = Path(sys.argv[1]), int(sys.argv[2])
limit = path.stat().st_size + 100_000
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # Python ignores SIGXFSZ: writes fail with EFBIG
from planner.errors import PlannerError
from planner.store import core
try:
    with core.write(path) as con:
        con.execute(f"CREATE TABLE big AS SELECT repeat('x', 100) || range AS s FROM range({rows})")
except PlannerError as exc:
    print(f"error: {exc}")
"""


@pytest.mark.parametrize("rows", [2_000, 400_000], ids=["at-the-checkpoint", "at-the-commit"])
def test_a_write_past_the_file_size_limit_is_one_line_and_changes_nothing(
    empty_store_template: Path, tmp_path: Path, rows: int
) -> None:
    path = tmp_path / "store.duckdb"
    shutil.copyfile(empty_store_template, path)
    before = sha(path)
    done = subprocess.run(
        [sys.executable, "-c", WRITE_UNDER_A_LIMIT, str(path), str(rows)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.stderr == "" and done.stdout.startswith("error: cannot write the store: "), done
    assert "file-size limit (`ulimit -f`)" in done.stdout and done.stdout.count("\n") == 1, done.stdout
    assert sha(path) == before
    assert not list(tmp_path.glob("*.tmp-*"))


@pytest.mark.file_store("a new connection reads the setting; a lake's connection is kept per process")
def test_duckdb_threads_follow_the_setting_and_a_bad_value_is_one_clear_error(
    empty_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_DUCKDB_THREADS", "3")
    with store.read(empty_store) as con:
        assert con.execute("SELECT current_setting('threads')").fetchone() == (3,)
    for bad in ("0", "two", "-1", "2.5"):
        monkeypatch.setenv("PLANNER_DUCKDB_THREADS", bad)
        with (
            pytest.raises(StoreError, match="PLANNER_DUCKDB_THREADS=.* is not a number of threads"),
            store.read(empty_store),
        ):
            pass
