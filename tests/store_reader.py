"""A reader process for tests/test_concurrency.py: it reads the store in a loop and reports what it saw.

Kept apart and light (it imports planner.store only): each reader is a spawned process that imports this
module, and importing the test module (conftest, helpers, Streamlit's AppTest) cost 3 CPU-s per reader.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

from planner import store

# Allowed states of the store: the demo (600 accounts), after the first import (300), after the
# second (300 + 400). Anything else, or a count that disagrees with the demo flag, is a mixed view.
ALLOWED = {600: "1", 300: "0", 700: "0"}


def use_environment(planner_env: dict[str, str]) -> None:
    """In a child forked from a fork server (tests.helpers.forked_processes): the parent's PLANNER_* settings
    replace the ones the server started with."""
    for name in [k for k in os.environ if k.startswith("PLANNER_")]:
        del os.environ[name]
    os.environ.update(planner_env)


def read_in_a_loop(path: str, stop: mp.Event, ready: Any, out: mp.Queue,  # type: ignore[type-arg]
                   planner_env: dict[str, str]) -> None:  # fmt: skip
    use_environment(planner_env)
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
