"""The worker process of planner.optimize.mipguard: `python -m planner.mipworker` reads (model arrays, HiGHS
options, start) tasks pickled on stdin and writes (column values or None, model status, CPU seconds) on stdout,
until stdin closes. Imports only numpy and highspy, so a worker that replaces a killed one starts at once."""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from typing import Any

import highspy
import numpy as np

# The model's arrays beside its size, matrix and integrality (mipguard._arrays).
LP_FIELDS = ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_")


def _model(d: dict[str, Any]) -> highspy.HighsLp:
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = d["num_col"], d["num_row"]
    for k in LP_FIELDS:
        setattr(model, k, d[k])
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = d["start"]
    model.a_matrix_.index_ = d["index"]
    model.a_matrix_.value_ = d["value"]
    kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
    model.integrality_ = [kinds[int(i)] for i in d["integer"]]
    return model


def new_solver() -> Any:
    """A quiet HiGHS instance. highspy.Highs() turns callbacks on in its constructor, which prints the
    HiGHS banner on stdout before output can be switched off (and would corrupt `balance --json`);
    the plain binding underneath does not, so output is off before anything can print. Here, not in
    planner.optimize.lp, so that the worker imports no more than numpy and highspy."""
    h = highspy._Highs()  # type: ignore[attr-defined]
    h.setOptionValue("output_flag", False)
    return h


def _solve(
    d: dict[str, Any], options: tuple[tuple[str, object], ...], start: np.ndarray | None
) -> tuple[np.ndarray | None, str, float]:
    """Solve the MIP from `start` (column values) when given: mipguard.MipAnswer's fields, in plain types."""
    clock = time.process_time()
    h = new_solver()
    for key, value in options:
        h.setOptionValue(key, value)
    if h.passModel(_model(d)) != highspy.HighsStatus.kOk:
        return None, "model rejected", time.process_time() - clock
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=float).tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    x = np.asarray(h.getSolution().col_value) if h.getInfo().primal_solution_status == 2 else None
    return x, status, time.process_time() - clock


def _serve() -> None:
    """The worker's loop: a task on stdin, its answer on stdout, until stdin closes. HiGHS's own output (and any
    other) goes to stderr, so nothing but answers reaches the pipe."""
    # Ctrl-C at a terminal reaches the whole process group: the planner that started this worker stops it (and
    # says so in one line); left to Python, the worker would die printing a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tasks, answers = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    while True:
        try:
            task = pickle.load(tasks)
        except EOFError:
            return
        pickle.dump(_solve(*task), answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()


if __name__ == "__main__":
    _serve()
