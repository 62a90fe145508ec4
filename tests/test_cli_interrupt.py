"""Ctrl-C stops every CLI command within seconds, even inside a long DuckDB statement, a HiGHS solve or a
computation in C that never looks at Ctrl-C: one line says so, exit status 130, and the store is as it was (no
model version, no scenario, no owner changed; no new store file, no temporary file left)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import highspy
import numpy as np
import pytest

from planner.optimize import lp, mipguard
from planner.store import core, interrupts
from tests.helpers import press_ctrl_c

ROOT = Path(__file__).resolve().parents[1]

# `python -m planner ...` with one step made to run for hours: STUCK_AT names it (module:function), STUCK_HOW
# says how: "sql" runs a statement of 10^16 rows on the step's own (watched) connection, "c" one on a connection
# of its own that nothing interrupts (as a scikit-learn fit in C that never looks at Ctrl-C).
STUCK = textwrap.dedent(
    """
    import faulthandler, importlib, os, runpy, signal, sys
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the test asks for every thread's stack if it hangs
    # As at a terminal: a process started in the background by a shell without job control (`(cmd &)`, as CI may
    # be launched) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler: Ctrl-C cannot
    # reach it, by design (nohup'd jobs), and this test would hang on the runner's launch, not on the product.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import duckdb

    HOURS = "SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range < 0"
    module, name = os.environ["STUCK_AT"].split(":")
    target = importlib.import_module(module)

    def stuck(*args, **kwargs):
        print("STUCK", file=sys.stderr, flush=True)
        con = args[0] if os.environ["STUCK_HOW"] == "sql" else duckdb.connect()
        con.execute(HOURS)

    setattr(target, name, stuck)
    sys.argv = ["planner", *sys.argv[1:]]
    runpy.run_module("planner", run_name="__main__")
    """
)


def _ctrl_c(tmp_path: Path, args: list[str], stuck_at: str, how: str = "sql") -> tuple[int, str, str, float]:
    """Run the CLI with `stuck_at` stuck, press Ctrl-C once it is: (exit status, stdout, stderr, seconds to stop)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    script = tmp_path / "stuck_cli.py"
    script.write_text(STUCK)
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(ROOT), "STUCK_AT": stuck_at, "STUCK_HOW": how}
    proc = subprocess.Popen([sys.executable, str(script), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stderr is not None
        seen = []
        while not seen or seen[-1].strip() != "STUCK":
            seen.append(proc.stderr.readline())
            assert seen[-1], "".join(seen)  # the command ended before it got stuck
        out, err, took = press_ctrl_c(proc, str(args))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert list(scratch.iterdir()) == []
    return proc.returncode, out, err, took


def _state(db: Path) -> dict[str, object]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            "models": con.execute("SELECT model_version, active FROM models ORDER BY 1").fetchall(),
            "scenarios": con.execute("SELECT scenario_id, status FROM scenarios ORDER BY 1").fetchall(),
            "owners": con.execute("SELECT account_id, owner_rep_id FROM accounts ORDER BY 1").fetchall(),
            "versions": con.execute("SELECT count(*) FROM assignment_versions").fetchall(),
        }


@pytest.fixture
def store(small_store_template: Path, tmp_path: Path) -> Path:
    db = tmp_path / "store.duckdb"
    shutil.copyfile(small_store_template, db)
    return db


def _files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("store.duckdb"))


@pytest.mark.parametrize(
    ("stuck_at", "how"),
    [
        ("planner.store.schema:bump_write_id", "sql"),  # the write's last statement, before it lands
        ("planner.propensity.training:_fit_model", "c"),  # a fit that never looks at Ctrl-C
    ],
)
def test_ctrl_c_stops_train_and_no_model_version_lands(store: Path, tmp_path: Path, stuck_at: str, how: str) -> None:
    before, state = core.fingerprint(store), _state(store)
    code, out, err, took = _ctrl_c(tmp_path, ["--db", str(store), "train", "--json"], stuck_at, how)
    # --json: a script reading stdout gets an error object too
    assert (code, out, err.strip().splitlines()) == (
        130,
        '{"error": "interrupted: nothing was written"}\n',
        ["interrupted: nothing was written"],
    )
    assert took < 15  # about a second; seconds on a loaded machine
    assert (core.fingerprint(store), _state(store)) == (before, state)
    assert _files(tmp_path) == ["store.duckdb", "store.duckdb.lock"]


def test_ctrl_c_stops_balance_commit_and_no_scenario_lands(store: Path, tmp_path: Path) -> None:
    """Stuck in the commit: no draft scenario is left behind either (the old save landed before the commit)."""
    before, state = core.fingerprint(store), _state(store)
    code, out, err, took = _ctrl_c(
        tmp_path, ["--db", str(store), "balance", "--commit", "--json"], "planner.store.scenarios:mark_committed"
    )
    assert (code, out) == (130, '{"error": "interrupted: nothing was written"}\n')
    assert err.strip().splitlines()[-1] == "interrupted: nothing was written"
    assert took < 15
    assert (core.fingerprint(store), _state(store)) == (before, state)
    assert _files(tmp_path) == ["store.duckdb", "store.duckdb.lock"]


def test_ctrl_c_stops_demo_and_leaves_no_store(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    code, out, err, took = _ctrl_c(
        tmp_path,
        ["--db", str(db), "demo", "--accounts", "200", "--reps", "4", "--json"],
        "planner.store.world:set_currency",
    )
    assert (code, out, err.strip().splitlines()) == (
        130,
        '{"error": "interrupted: nothing was written"}\n',
        ["interrupted: nothing was written"],
    )
    assert took < 15
    assert _files(tmp_path) == ["store.duckdb.lock"]  # the writers' lock file; no store, no temporary copy


def _slow_lp() -> highspy.HighsLp:
    """A dense random LP that takes HiGHS many simplex iterations (presolve off)."""
    rng = np.random.default_rng(0)
    n = 300
    a = rng.random((n, n))
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n, n
    model.col_cost_ = -rng.random(n)
    model.col_lower_, model.col_upper_ = np.zeros(n), np.full(n, highspy.kHighsInf)
    model.row_lower_, model.row_upper_ = np.full(n, -highspy.kHighsInf), np.ones(n)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = np.arange(0, n * n + 1, n)
    model.a_matrix_.index_ = np.tile(np.arange(n), n)
    model.a_matrix_.value_ = a.T.ravel()
    return model


def test_the_optimizers_lp_stops_inside_highs_on_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    h = lp._new_highs(_slow_lp(), 60.0)
    h.setOptionValue("presolve", "off")
    monkeypatch.setattr(interrupts, "_stopping", _pressed())
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kInterrupt
    assert h.getInfo().simplex_iteration_count < 5


def test_a_mip_in_its_worker_is_killed_on_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _slow_lp()
    model.integrality_ = [highspy.HighsVarType.kInteger] * model.num_col_
    monkeypatch.setattr(interrupts, "_stopping", _pressed())
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        mipguard.solve_mip(model, (("time_limit", 60.0), ("presolve", "off")))
    assert time.monotonic() - start < 5


def _pressed() -> threading.Event:
    """Ctrl-C as the CLI's main thread records it."""
    event = threading.Event()
    event.set()
    return event
