"""A writer process for tests/test_lake_processes.py: 20 small writes of three kinds on one store.

Kept apart and light (the planner modules it writes with, no Streamlit), as tests/store_reader.py is: a spawned
process imports its target's module, and the test module (conftest, helpers, AppTest) cost 1.6 CPU-s more.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from planner import roles, scenarios, targets
from planner.scope import OPERATOR


def small_writes(db: str, worker: int, scenario_id: int, rep_id: str, account_ids: list[str], out: Any) -> None:
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
