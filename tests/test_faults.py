"""Faults: an import killed with SIGKILL half-way leaves the store exactly as before, and the next
import works; a corrupt store is one clear error in the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from planner import cli, store
from tests.conftest import ROOT
from tests.helpers import read_until


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.file_store(
    "the file's copy-and-swap: its private .tmp copy and the live file's bytes (a lake: test_lake_processes)"
)
def test_import_killed_halfway_leaves_store_as_before(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.import_speed import write_salesforce_export

    # 20,000 rows: the merge into the private copy lasts long enough to be killed in (a second or more here).
    export = tmp_path / "big.csv"
    write_salesforce_export(export, 20_000, seed=5, n_reps=8)
    before = _sha(small_store)
    cmd = [sys.executable, "-m", "planner", "--db", str(small_store), "import", str(export), "--json"]
    proc = subprocess.Popen([*cmd, "--progress"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Kill it when the importer says it is merging rows into its private copy of the store (the half-way
    # point that matters): its own progress line is the signal, not a guess at timing.
    read_until(proc, "merging")
    assert list(small_store.parent.glob(small_store.name + ".tmp-*")), "the private copy exists while it merges"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _sha(small_store) == before, "the live store was not touched"
    with store.read(small_store) as con:
        assert store.scalar(con, "SELECT count(*) FROM accounts") == 600
    # The next import works and replaces the demo world completely (in-process: the process is not the point
    # here, and the test's worker has the city index loaded already or keeps it for the next test).
    code = cli.main(cmd[3:])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)["files"][0]
    assert report["rows_read"] == report["inserted"] + report["updated"] + report["rejected"] == 20_000
    with store.read(small_store) as con:
        assert store.scalar(con, "SELECT count(*) FROM accounts") == report["inserted"] + report["updated"]
    assert not list(small_store.parent.glob(small_store.name + ".tmp-*"))


def test_corrupt_store_is_one_clear_cli_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "planner.duckdb"
    bad.write_bytes(os.urandom(64 * 1024))
    code = cli.main(["--db", str(bad), "metrics", "--json"])  # in-process: the entry point's own run is test_cli's
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "not a readable Territory Planner store" in lines[0]
