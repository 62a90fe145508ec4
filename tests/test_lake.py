"""The store on both backends (#19): a DuckDB file and a DuckLake on a real PostgreSQL, through one setting."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest

from planner import settings, store
from planner.cli import main
from planner.errors import StoreError, WriteConflict
from planner.scope import OPERATOR
from planner.store import schema
from tests.helpers import assert_one_row_per_key

# These tests put a file store beside a lake themselves (any_store's "file", file against lake): under
# PLANNER_TEST_STORE=lake their file fixtures stay files.
pytestmark = pytest.mark.file_store("compares a file store with a lake")


class Done(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Done]:
    """`planner --db DB ARGS` in this process (planner.cli.main; a process of its own cost 2-4 CPU-s of imports
    and a fresh attach of the lake each time): its exit code and what it printed, with `env` set for the run."""

    def run(db: Path | str, *args: str, env: dict[str, str] | None = None) -> Done:
        capsys.readouterr()
        with monkeypatch.context() as m:
            for name, value in (env or {}).items():
                m.setenv(name, value)
            code = main(["--db", str(db), *args])
        out, err = capsys.readouterr()
        return Done(code, out, err)

    return run


def counts(path: Path) -> dict[str, int]:
    with store.read(path) as con:
        return {t: int(store.scalar(con, f"SELECT count(*) FROM {t}")) for t in ("accounts", "deals", "reps")}


def test_one_setting_picks_the_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lake = "ducklake:postgres:dbname=x host=127.0.0.1 port=1 user=postgres"
    monkeypatch.setenv("PLANNER_DB", lake)
    assert str(settings.db_path()) == lake and store.is_lake(settings.db_path())
    assert not store.is_lake(settings.db_path(tmp_path / "s.duckdb"))


def test_read_write_and_all_or_nothing(any_store: Path) -> None:
    before = counts(any_store)
    with pytest.raises(RuntimeError, match="boom"), store.write(any_store) as con:
        con.execute("DELETE FROM accounts")
        raise RuntimeError("boom")
    assert counts(any_store) == before
    with store.read(any_store) as old:
        key = store.fingerprint(any_store)
        with store.write(any_store) as con:
            con.execute("DELETE FROM deals")
        assert store.scalar(old, "SELECT count(*) FROM deals") == before["deals"]  # the reader keeps its snapshot
    assert counts(any_store)["deals"] == 0
    assert store.fingerprint(any_store) != key  # caches keyed on it refresh
    with store.read(any_store) as con:
        assert store.get_meta(con, "schema_version") == str(schema.SCHEMA_VERSION)
        assert schema.duplicate_keys(con) == {}


def test_cli_import_on_both_backends(any_store: Path, tmp_path: Path, cli: Callable[..., Done]) -> None:
    from bench.import_speed import write_salesforce_export

    csv_file = tmp_path / "crm.csv"
    write_salesforce_export(csv_file, 150, seed=5, n_reps=4)
    done = cli(any_store, "import", str(csv_file), "--json")
    assert done.returncode == 0, done.stderr
    assert counts(any_store)["accounts"] == 150
    again = cli(any_store, "import", str(csv_file), "--json")  # the same rows again: updated, not duplicated
    assert again.returncode == 0, again.stderr
    assert counts(any_store)["accounts"] == 150
    assert_one_row_per_key(any_store)


def test_a_first_file_without_locations_lands_on_a_demo_store_of_both_kinds(any_empty_store: Path, tmp_path: Path,
                                                            cli: Callable[..., Done]) -> None:  # fmt: skip
    """On a lake holding the first launch's demo, a first file without locations failed 'Could not convert string
    R001 to INT32' and imported nothing (no rep got an inferred home, and the empty lookup's rep_id was typed
    INTEGER)."""
    assert cli(any_empty_store, "demo", "--accounts", "300").returncode == 0  # what a first launch builds
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("Company,Owner,Industry\nAcme GmbH,Jane Roe,Software\nBeta SARL,John Doe,Retail\n")
    done = cli(any_empty_store, "import", str(accounts))
    assert done.returncode == 0 and "2 inserted" in done.stdout, done.stderr
    assert counts(any_empty_store) == {"accounts": 2, "deals": 0, "reps": 2}


def test_lake_without_data_path_is_one_line_exit_2(empty_lake: Path, cli: Callable[..., Done]) -> None:
    done = cli(empty_lake, "metrics", env={"PLANNER_LAKE_DATA": ""})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "PLANNER_LAKE_DATA is not set" in done.stderr


def test_empty_lake_says_how_to_fill_it(empty_lake: Path) -> None:
    assert not store.exists(empty_lake)
    with pytest.raises(StoreError, match="no store in the lake"), store.read(empty_lake):
        pass


def test_store_copy_both_ways(
    small_store_template: Path, empty_lake: Path, tmp_path: Path, cli: Callable[..., Done]
) -> None:
    """#19 point 6: file -> lake -> file, row counts and a checksum per table printed and equal."""
    to_lake = cli(empty_lake, "store", "copy", "--from", str(small_store_template), "--to", str(empty_lake))
    assert to_lake.returncode == 0, to_lake.stderr
    assert "accounts" in to_lake.stdout and to_lake.stdout.rstrip().endswith("equal")
    back = tmp_path / "back.duckdb"
    done = cli(empty_lake, "store", "copy", "--from", str(empty_lake), "--to", str(back), "--json")
    assert done.returncode == 0, done.stderr
    figures = {f["table"]: f for f in json.loads(done.stdout)}
    assert figures["accounts"]["rows"] == 600 and figures["accounts"]["target_rows"] == 600
    assert all(f["checksum"] == f["target_checksum"] and f["rows"] == f["target_rows"] for f in figures.values())
    with store.read(small_store_template) as a, store.read(back) as b:
        for table in ("accounts", "scores", "meta", "geo_zip"):
            assert a.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() == b.execute(
                f"SELECT * FROM {table} ORDER BY ALL").fetchall()  # fmt: skip
    refused = cli(empty_lake, "store", "copy", "--from", str(back), "--to", str(empty_lake))
    assert refused.returncode == 2 and "already holds a store" in refused.stderr


def test_figures_are_the_same_on_both(small_store: Path, small_lake: Path) -> None:
    """A lake is a store like a file: the Overview and Coverage figures of one store agree to the cent."""
    from pandas.testing import assert_frame_equal

    from planner.coverage import report

    out = []
    for path in (small_store, small_lake):
        with store.read(path) as con:
            out.append((report.overview(con, scope=OPERATOR), report.territory_metrics(con, scope=OPERATOR)))
    (file_view, file_table), (lake_view, lake_table) = out
    assert file_view["kpis"] == lake_view["kpis"]
    assert_frame_equal(file_view["territories"], lake_view["territories"])
    assert_frame_equal(file_table, lake_table)


def test_a_foreign_change_to_the_live_file_is_not_swapped_away(
    small_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's conflict: a program that writes the live file in place during a write would lose its change
    to the swap; the write is refused instead (and retried by the domain's writers)."""
    monkeypatch.setenv("PLANNER_WRITE_ATTEMPTS", "2")

    @store.retry_conflicts
    def doomed(path: Path) -> None:
        with store.write(path) as con:
            con.execute("UPDATE accounts SET name = 'half written'")
            foreign = duckdb.connect(str(path))  # a foreign program, writing the live file in place
            foreign.execute("DELETE FROM meta WHERE key = 'foreign'")
            foreign.execute("INSERT INTO meta VALUES ('foreign', 'kept')")
            foreign.close()

    with pytest.raises(WriteConflict, match="another program changed .* on each of 2 tries; nothing was written"):
        doomed(small_store)
    with store.read(small_store) as con:
        assert store.scalar(con, "SELECT count(*) FROM accounts WHERE name = 'half written'") == 0
        assert store.get_meta(con, "foreign") == "kept"


def test_write_attempts_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from planner.store import retry

    monkeypatch.delenv("PLANNER_WRITE_ATTEMPTS", raising=False)
    assert retry.write_attempts() == settings.get("write_attempts") == retry.DEFAULT_WRITE_ATTEMPTS
    monkeypatch.setenv("PLANNER_WRITE_ATTEMPTS", "0")
    with pytest.raises(StoreError, match=r"PLANNER_WRITE_ATTEMPTS='0' is not a positive whole number; set it to"):
        retry.write_attempts()


def test_a_lake_setting_that_fails_never_shows_its_password(
    empty_lake: Path, cli: Callable[..., Done], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A password written in the attach string reached the page and stderr inside DuckDB's error; a wrong database
    name read 'store unavailable ... retry when it is back' forever, its reason cut off; a quoted PLANNER_DB (an env
    file keeps the quotes) became a new file store named after the string, password included, with the demo in it."""
    lake = str(empty_lake)
    port = re.search(r"port=(\d+)", lake).group(1)  # type: ignore[union-attr]
    unreachable = lake.replace(f"port={port}", "port=1") + " password=secretpw"
    done = cli(unreachable, "metrics")
    assert done.returncode == 2 and "store unavailable" in done.stderr and "secretpw" not in done.stderr
    assert "password=***" in done.stderr
    missing = re.sub(r"dbname=\S+", "dbname=no_such_lake", lake) + " password=secretpw"
    done = cli(missing, "metrics")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "secretpw" not in done.stderr, done.stderr
    assert "refused the connection" in lines[0] and 'database "no_such_lake" does not exist' in lines[0], lines[0]
    monkeypatch.chdir(tmp_path)
    quoted = cli(f'"{lake}"', "demo", "--accounts", "200")
    assert quoted.returncode == 0, quoted.stderr
    assert counts(empty_lake)["accounts"] == 200 and list(tmp_path.glob("*ducklake*")) == []
    for bad in (f"x {lake} password=secretpw", f"./{lake} password=secretpw"):
        done = cli(bad, "metrics")
        assert done.returncode == 2 and "names a DuckLake, but not at its start" in done.stderr
        assert "secretpw" not in done.stderr and list(tmp_path.glob("*ducklake*")) == []


def test_a_lake_data_path_other_than_its_own_is_one_line(
    empty_lake: Path, cli: Callable[..., Done], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second host mounting the share elsewhere (PLANNER_LAKE_DATA not the lake's own data path) crashed every
    page and printed 'unexpected Error ... report it' with exit 1; a folder the lake cannot write did the same."""
    from planner.errors import os_problem
    from planner.store import core

    assert cli(empty_lake, "demo", "--accounts", "200").returncode == 0
    core.detach(empty_lake)  # as a process of its own would attach
    other = tmp_path / "mounted-elsewhere"
    other.mkdir()
    done = cli(empty_lake, "metrics", env={"PLANNER_LAKE_DATA": str(other)})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert f"PLANNER_LAKE_DATA {other}/ is not the data path the lake" in lines[0] and "unexpected" not in lines[0]
    core.detach(empty_lake)
    assert cli(empty_lake, "metrics").returncode == 0  # the right path works again
    denied = duckdb.IOException('IO Error: Cannot open file "/lake/main/x.parquet": Operation not permitted')
    assert os_problem(denied) == (
        "operation not permitted on /lake/main/x.parquet; check its permissions, or run as a user who may use it"
    )
