"""`python -m planner ...` entry point."""

from planner.cli import main
from planner.store import interrupts

code = main()
if interrupts.stopping():
    # Stopped by Ctrl-C, the work is over: end now rather than spend seconds collecting the interpreter's objects.
    interrupts.leave(code)
raise SystemExit(code)
