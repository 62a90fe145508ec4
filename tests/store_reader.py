"""Processes the tests spawn: a reader for tests/test_concurrency.py that reads the store in a loop and reports
what it saw, and a writer for tests/test_lake_processes.py that makes 20 small writes.

Kept apart and light (planner's domain modules, no Streamlit): each is a spawned process that imports this
module, and importing a test module (conftest, helpers, Streamlit's AppTest) cost 1.5-3 CPU-s per process.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path
from typing import Any

from planner import roles, scenarios, store, targets
from planner.scope import OPERATOR

# Allowed states of the store: the demo (600 accounts), after the first import (300), after the
# second (300 + 400). Anything else, or a count that disagrees with the demo flag, is a mixed view.
ALLOWED = {600: "1", 300: "0", 700: "0"}


def read_in_a_loop(path: str, stop: mp.Event, ready: Any, out: mp.Queue) -> None:  # type: ignore[type-arg]
    seen: set[int] = set()
    reads = 0
    problems: list[str] = []
    while not stop.is_set():
        try:
            with store.read(Path(path)) as con:
                n = int(store.scalar(con, "SELECT count(*) FROM accounts"))
                demo_flag = store.get_meta(con, "is_demo")
                attrs = int(store.scalar(con, "SELECT count(DISTINCT account_id) FROM account_attributes"))
            reads += 1
            if reads == 1:
                with ready.get_lock():
                    ready.value += 1
            seen.add(n)
            if ALLOWED.get(n) != demo_flag or (demo_flag == "0" and attrs not in (0, n)):
                problems.append(f"mixed view: {n} accounts, is_demo={demo_flag}, {attrs} with attributes")
        except Exception as exc:  # any error is a failure of the design
            problems.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.25)
    out.put((reads, sorted(seen), problems))


def small_writes(db: str, worker: int, scenario_id: int, rep_id: str, account_ids: list[str], out: Any) -> None:
    import logging

    conflicts: list[str] = []

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            conflicts.append(record.getMessage())

    logging.getLogger("planner.store.retry").addHandler(Count())
    logging.getLogger("planner.store.retry").setLevel(logging.INFO)
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
    out.put((worker, done, problems, len(conflicts)))
