"""A small HiGHS MIP in a worker process that is killed when it overruns: a rebalance always ends.

HiGHS 1.16 does not always keep its own time_limit. From a start solution its sub-MIP heuristics nest (RENS, RINS,
root reduced cost, each a MIP with its own presolve) and a sub-MIP's presolve (strengthenInequalities) does not
look at the clock: a neighbourhood MIP of 20,000 x 200 with three metrics ran 20+ CPU-minutes against a limit of
10 s (RENS five deep), one of 100,000 x 200 15+ minutes (RINS > root reduced cost > presolve). Options make it
rarer; only a process boundary makes it impossible. So the optimizer's small MIPs (a neighbourhood, the rounding of
the LP's fractional accounts, whole units) run in a worker process: a fresh interpreter (`python -m
planner.mipworker`), never a fork of the threaded app, and without multiprocessing's re-import of the caller's main
module. It is killed after the MIP's time limit times KILL_FACTOR plus KILL_GRACE_S wall seconds, and the next MIP
gets a new one. A killed MIP counts as one that found no solution, which every caller already handles. Tasks and
answers are pickled over the worker's stdin and stdout (our own process on both ends).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

import highspy
import numpy as np

from planner.mipworker import LP_FIELDS, _solve
from planner.store import interrupts

log = logging.getLogger(__name__)

# A worker gets its time limit this many times over, plus this many seconds (a loaded machine, a worker's start),
# before it is killed: HiGHS keeps its limit nearly always, the kill is for when it does not.
KILL_FACTOR = 2.0
KILL_GRACE_S = 10.0


@dataclass(frozen=True)
class MipAnswer:
    """A MIP's column values (None when it found no solution), HiGHS's model status, the CPU seconds the worker
    spent on it (the wall seconds waited when it was killed) and whether it was killed."""

    x: np.ndarray | None
    status: str
    seconds: float
    killed: bool = False


def _arrays(model: highspy.HighsLp) -> dict[str, Any]:
    """The model as plain arrays (a HighsLp does not pickle); the matrix column-wise."""
    out: dict[str, Any] = {k: np.asarray(getattr(model, k), dtype=float) for k in LP_FIELDS}
    out["num_col"], out["num_row"] = int(model.num_col_), int(model.num_row_)
    a = model.a_matrix_
    if a.format_ != highspy.MatrixFormat.kColwise:
        raise ValueError("mipguard: the model's matrix must be column-wise")
    out["start"] = np.asarray(a.start_, dtype=np.int32)
    out["index"] = np.asarray(a.index_, dtype=np.int32)
    out["value"] = np.asarray(a.value_, dtype=float)
    out["integer"] = np.array([v == highspy.HighsVarType.kInteger for v in model.integrality_], dtype=bool)
    return out


# The worker: this interpreter running planner.mipworker.
WORKER_ARGS: tuple[str, ...] = ("-m", "planner.mipworker")


class _Worker:
    """One worker process; one MIP at a time."""

    def __init__(self) -> None:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, *WORKER_ARGS]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def ask(self, task: tuple[Any, ...], wall_s: float) -> tuple[str, MipAnswer | None]:
        """("answer", the worker's answer); ("killed", None) when it took longer than wall_s seconds and was
        killed; ("died", None) when it ended without an answer before that."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        box: list[tuple[np.ndarray | None, str, float]] = []
        reader = threading.Thread(target=_read, args=(self.proc.stdout, box), daemon=True)
        try:
            pickle.dump(task, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.flush()
        except OSError:  # it had died before the task: a broken pipe
            self.kill()
            return "died", None
        reader.start()
        deadline = time.monotonic() + wall_s
        while reader.is_alive() and time.monotonic() < deadline and not interrupts.stopping():
            reader.join(0.1)  # in slices: Ctrl-C stops the MIP at once (planner/store/interrupts.py)
        if box:
            return "answer", MipAnswer(*box[0])
        if interrupts.stopping():
            self.kill()
            reader.join()
            raise KeyboardInterrupt
        state = "killed" if reader.is_alive() else "died"
        self.kill()
        reader.join()
        return state, None

    def kill(self) -> None:
        """End the worker and close its pipes (left open, each killed worker leaked two file descriptors until
        the garbage collector found them: a ResourceWarning in a long-running app)."""
        self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def _read(stream: IO[bytes], box: list[tuple[np.ndarray | None, str, float]]) -> None:
    with contextlib.suppress(Exception):  # a dead worker: EOF, a cut pickle; the caller sees no answer
        box.append(pickle.load(stream))


_lock = threading.Lock()
_idle: list[_Worker] = []  # started and waiting; several rebalances at once take one each
_spent = [0.0]  # the workers' CPU seconds (a killed one's wall seconds) since this process started


def worker_seconds() -> float:
    """The CPU seconds this process's MIP workers have spent so far (a killed one's: the wall seconds waited), for
    the benchmarks: time.process_time() does not count them."""
    return _spent[0]


def _take() -> _Worker:
    with _lock:
        while _idle:
            worker = _idle.pop()
            if worker.proc.poll() is None:
                return worker
            worker.kill()  # ended by itself: reap it and close its pipes
    return _Worker()


@atexit.register
def _stop() -> None:
    with _lock:
        while _idle:
            _idle.pop().kill()


def solve_mip(
    model: highspy.HighsLp,
    options: tuple[tuple[str, object], ...],
    start: np.ndarray | None = None,
    wall_s: float | None = None,
) -> MipAnswer:
    """Solve `model` with `options` (among them a time_limit), from `start` when given, in a worker process;
    kill it after wall_s seconds (default: that limit times KILL_FACTOR plus KILL_GRACE_S). A killed MIP answers
    x=None, status "killed". Where no worker can run (it cannot start, or it ends without an answer: a broken
    install, a sandbox without processes), the MIP is solved here instead, with a warning, never skipped."""
    if wall_s is None:
        wall_s = float(dict(options).get("time_limit", 60.0)) * KILL_FACTOR + KILL_GRACE_S  # type: ignore[arg-type]
    begin = time.perf_counter()
    task = (_arrays(model), tuple(options), start)
    try:
        worker = _take()
    except OSError as exc:
        return _here(task, f"cannot start a MIP worker ({exc})")
    state, answer = worker.ask(task, wall_s)
    if state == "killed":
        answer = MipAnswer(None, "killed", time.perf_counter() - begin, killed=True)
    elif answer is None:
        return _here(task, f"the MIP worker ended without an answer (exit status {worker.proc.returncode})")
    with _lock:
        _spent[0] += answer.seconds
        if not answer.killed:
            _idle.append(worker)
    return answer


def _here(task: tuple[Any, ...], why: str) -> MipAnswer:
    log.warning("%s; solving the MIP in this process, without a hard time limit", why)
    return MipAnswer(*_solve(*task))
