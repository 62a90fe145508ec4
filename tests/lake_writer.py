"""A writer process for tests/test_lake_processes.py: rounds of 20 small writes of three kinds on a store.

Kept apart and light (the planner modules it writes with, no Streamlit), as tests/store_reader.py is: a spawned
process imports its target's module, and the test module (conftest, helpers, AppTest) cost 1.6 CPU-s more.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path
from typing import Any

from planner import cli, roles, scenarios, targets
from planner.scope import OPERATOR
from tests.store_reader import use_environment


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.conflicts = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.conflicts += 1


def small_writes(rounds: list[tuple[str, int, dict[str, str]]], worker: int, rep_id: str, account_ids: list[str],
                 start: Any, out: Any, planner_env: dict[str, str]) -> None:  # fmt: skip
    """For each round (a store, a saved scenario on it, the settings of that round): wait until every writer is
    ready (`start`, a barrier), make 20 small writes, and report (worker, round, writes done, problems, conflicts
    retried). One process serves every round: each start imports the planner (about 1.5 CPU-s)."""
    use_environment(planner_env)
    count = _Count()
    logging.getLogger("planner.store.retry").addHandler(count)
    logging.getLogger("planner.store.retry").setLevel(logging.INFO)
    for number, (db, scenario_id, settings) in enumerate(rounds):
        os.environ.update(settings)
        start.wait(timeout=600)
        count.conflicts = 0
        done, problems = 0, []
        for i in range(20):
            try:
                if i % 3 == 0:
                    roles.set_role(Path(db), f"w{worker}-{i}@example.com", "leader", scope=OPERATOR)
                elif i % 3 == 1:
                    targets.add_to_plan(Path(db), rep_id, [account_ids[worker * 20 + i]], "test", scope=OPERATOR)
                else:
                    scenarios.commit(Path(db), scenario_id, f"w{worker}", scope=OPERATOR)
                done += 1
            except Exception as exc:  # every failure is a lost write
                problems.append(f"{type(exc).__name__}: {exc}")
        out.put((worker, number, done, problems, count.conflicts))


def cli_in_a_process(argv: list[str], planner_env: dict[str, str], out: Any) -> None:
    """`python -m planner ARGV` in a process of its own (forked from a fork server: no Python start and no
    imports of its own): reports (exit code, what it wrote to stderr)."""
    use_environment(planner_env)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    out.put((code, err.getvalue()))
