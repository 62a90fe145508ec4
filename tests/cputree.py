"""The CPU time of a command's whole process tree, chromium's renderers included.

`/usr/bin/time` counts only the descendants that their own parents reaped. Chromium's renderer and GPU
processes end as orphans (re-parented to init), so their CPU time never reaches the test run's figure: on
tests/test_browser.py `time` said 34 CPU-s where the whole tree used 84. This runs the command as a child
subreaper (Linux's PR_SET_CHILD_SUBREAPER), so every orphan is re-parented to it and reaped here, and prints
wall time, the tree's CPU time, the part `time` would have seen, and the orphans' CPU time by process name:

    python -m tests.cputree scripts/test tests/test_browser.py
"""

from __future__ import annotations

import collections
import ctypes
import os
import resource
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
LINGER_S = 20  # seconds orphans that outlive the command may take to end (then the figures leave them out)


def _give_up(*_: object) -> None:
    raise TimeoutError


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m tests.cputree COMMAND [ARG...]", file=sys.stderr)
        return 2
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("error: this kernel does not let a process reap its orphans (Linux only)", file=sys.stderr)
        return 2
    start = time.time()
    child = os.fork()
    if child == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    signal.signal(signal.SIGALRM, _give_up)  # ends the wait for orphans that linger
    seen_by_time = 0.0
    code = 1
    wall = 0.0
    orphans: collections.Counter[str] = collections.Counter()
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
        except (ChildProcessError, TimeoutError):
            break
        if info is None:
            continue
        try:
            with open(f"/proc/{info.si_pid}/comm") as f:
                name = f.read().strip()
        except OSError:
            name = "?"
        pid, status, usage = os.wait4(info.si_pid, 0)
        if pid == child:
            seen_by_time = usage.ru_utime + usage.ru_stime
            code = os.waitstatus_to_exitcode(status)
            wall = time.time() - start
            signal.alarm(LINGER_S)
        else:
            orphans[name] += usage.ru_utime + usage.ru_stime
    tree = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = tree.ru_utime + tree.ru_stime
    named = ", ".join(f"{name} {cpu:.1f}" for name, cpu in orphans.most_common(5)) or "none"
    print(
        f"cputree: wall {wall:.1f} s, CPU {total:.1f} s (user {tree.ru_utime:.1f}, sys {tree.ru_stime:.1f}); "
        f"/usr/bin/time would say {seen_by_time:.1f}; orphans: {named}; load average {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
    )
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
