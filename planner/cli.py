"""`python -m planner [--db PATH] COMMAND ...`: the dashboard's operations for scripts and jobs.

Each command lives in a module of planner.commands that defines `register(subparsers)`.
Errors a user can fix print one line `error: ...` on stderr and exit with status 2: bad input, and every
operating-system problem (a missing, unreadable or read-only file or folder, a folder given for a file, a
full disk). A bug of ours is one line too, with exit status 1. Ctrl-C stops any command within about a second: one
line says what stays written (nothing, unless the command says what), exit status 130 (planner/store/interrupts.py).
Only `demo`, `import` and `store copy` make stores: every other command refuses a store that is not there (exit 2),
so a mistyped --db, or a shell without PLANNER_DB, writes nothing into a new empty store.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import planner.commands
from planner import settings
from planner.errors import PlannerError, StoreError, os_problem
from planner.store import interrupts, waiting


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line `error: ...` and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def _command_name(module: str) -> str:
    return module.rstrip("_").replace("_", "-")


def _all_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(planner.commands.__path__))


def _modules_for(argv: Sequence[str] | None) -> list[str] | None:
    """The command modules to load: only the one named on the command line when there is one,
    so `python -m planner export ...` does not pay for importing scikit-learn or the LP solver;
    all of them for `--help`; None for a name that is no command (nothing to import to refuse it)."""
    names = _all_modules()
    args = list(argv or [])
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--db":
            i += 2
            continue
        if not token.startswith("-"):
            wanted = [n for n in names if _command_name(n) == token]
            return wanted or None
        i += 1
    return names


def build_parser(argv: Sequence[str] | None = None) -> Parser:
    parser = Parser(
        prog="python -m planner",
        description="Territory Planner: import CRM exports, score accounts, measure and rebalance territories.",
    )
    parser.add_argument("--db", metavar="PATH", help="store file (default: $PLANNER_DB, else data/planner.duckdb)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    modules = _modules_for(argv if argv is not None else [])
    if modules is None:
        # A typo: argparse refuses it and lists the commands by name, without importing any of them.
        for name in _all_modules():
            sub.add_parser(_command_name(name))
        return parser
    for name in modules:
        module = importlib.import_module(f"planner.commands.{name}")
        module.register(sub)
    return parser


def _store_there(args: argparse.Namespace) -> bool:
    """Whether the store is there. A command that does not make stores (all but `demo`, `import`, `store copy`)
    refuses one that is not: a mistyped --db, or a team host's shell without PLANNER_DB, must not create an empty
    store, write a role into it and say it worked while the real store stays as it was."""
    from planner import store

    there = store.exists(args.db_path)
    if not there and not getattr(args, "makes_store", False):
        raise StoreError(
            f"no store at {store.describe(args.db_path)}: check --db / PLANNER_DB, or create one with "
            "`python -m planner import` or `python -m planner demo`"
        )
    return there


def _use_store_currency(path: Path) -> None:
    """Money printed by this command is in the store's currency (US dollars when the store cannot be read: the
    command itself then says what is wrong)."""
    import duckdb

    from planner import store, text, world

    try:
        with store.read(path) as con:
            text.use_currency(world.currency(con), world.mixed_currencies(con))
    except (PlannerError, duckdb.Error):
        pass


def _run(args: argparse.Namespace) -> int:
    args.db_path = settings.db_path(args.db)
    if _store_there(args):
        _use_store_currency(args.db_path)
    return int(args.func(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args: argparse.Namespace | None = None
    before = waiting.set_notice(waiting.stderr_notice)  # a write that waits for another says so on stderr
    try:
        args = build_parser(argv).parse_args(argv)  # seconds of importing libraries: Ctrl-C may come here too
        # In a worker thread, so that Ctrl-C is heard while DuckDB, HiGHS or scikit-learn run in C.
        return interrupts.run_interruptibly(lambda: _run(args))
    except PlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`... | head`): not an error of ours; silence the flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except KeyboardInterrupt as exc:
        print(interrupts.summary(), file=sys.stderr)
        if getattr(args, "json", False):  # a script reading --json output gets an object, not an empty stdout
            print(json.dumps({"error": interrupts.summary()}), flush=True)
        if isinstance(exc, interrupts.Stopped) and exc.abandoned:
            interrupts.leave(130)  # the work still runs in C: end now (nothing of it can land any more)
        return 130
    except Exception as exc:  # an OS problem is the user's to fix (exit 2); anything else is a bug of ours
        problem = os_problem(exc)
        if problem is not None:
            print(f"error: {problem}; the store is unchanged", file=sys.stderr)
            return 2
        if os.environ.get("PLANNER_DEBUG"):
            traceback.print_exc()
        print(
            f"error: unexpected {type(exc).__name__}: {exc}; nothing was written "
            "(set PLANNER_DEBUG=1 to see the traceback and report it)",
            file=sys.stderr,
        )
        return 1
    finally:
        waiting.set_notice(before)  # main() run in-process (tests, scripts) leaves the process as it was
