"""`python -m planner [--db PATH] COMMAND ...`: the dashboard's operations for scripts and jobs.

Each command lives in a module of planner.commands that defines `register(subparsers)`.
Errors a user can fix print one line `error: ...` on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

import planner.commands
from planner import settings
from planner.errors import PlannerError


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line `error: ...` and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> Parser:
    parser = Parser(
        prog="python -m planner",
        description="Territory Planner: import CRM exports, score accounts, measure and rebalance territories.",
    )
    parser.add_argument("--db", metavar="PATH", help="store file (default: $PLANNER_DB, else data/planner.duckdb)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for info in sorted(pkgutil.iter_modules(planner.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"planner.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.db_path = settings.db_path(args.db)
    try:
        return int(args.func(args) or 0)
    except PlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line unless asked for detail
        if os.environ.get("PLANNER_DEBUG"):
            traceback.print_exc()
        print(
            f"error: unexpected {type(exc).__name__}: {exc}; nothing was written "
            "(set PLANNER_DEBUG=1 to see the traceback and report it)",
            file=sys.stderr,
        )
        return 1
