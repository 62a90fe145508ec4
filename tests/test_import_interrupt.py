"""Ctrl-C stops a CLI import at once, even inside a long DuckDB statement: nothing is written, no temporary file
is left, one line says so, exit status 130."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from planner.store import core
from tests.helpers import press_ctrl_c

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"

# The import, with one statement that would run for hours (a join of 10^8 x 10^8 rows) where deals find their
# accounts: as the quadratic join did on 2M deals and 1M accounts.
STUCK = textwrap.dedent(
    """
    import faulthandler, signal, sys
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the test asks for every thread's stack if it hangs
    # As at a terminal: a process started in the background by a shell without job control (`(cmd &)`, as CI may
    # be launched) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler: Ctrl-C cannot
    # reach it, by design (nohup'd jobs), and this test would hang on the runner's launch, not on the product.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from planner import cli
    from planner.store.imports import deals

    def stuck(con):
        print("STUCK", file=sys.stderr, flush=True)
        con.execute("SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range < 0")

    deals._account_lookups = stuck
    sys.exit(cli.main(sys.argv[1:]))
    """
)


def test_ctrl_c_stops_a_stuck_import_and_writes_nothing(small_store_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    shutil.copyfile(small_store_template, db)
    before = core.fingerprint(db)
    scratch = tmp_path / "tmp"  # the import's scratch folder lands here: it must be gone afterwards
    scratch.mkdir()
    script = tmp_path / "stuck_import.py"
    script.write_text(STUCK)
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(script), "--db", str(db), "import", str(SAMPLES / "salesforce_opportunities_report.csv")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.strip() == "STUCK", line + proc.stderr.read()
        out, err, took = press_ctrl_c(proc, "the import")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # Within seconds even on a loaded machine (the statement itself stops in milliseconds).
    assert took < 15
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["interrupted: nothing was imported"]
    assert out == ""
    assert core.fingerprint(db) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("store.duckdb")) == [
        "store.duckdb",
        "store.duckdb.lock",
    ]
    assert list(scratch.iterdir()) == []
