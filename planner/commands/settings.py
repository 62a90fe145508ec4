"""`settings [--set NAME=VALUE ...] [--reset [NAME ...]] [--currency CODE] [--json]`: the workload assumptions
in the store, and the currency its money is shown in.

They drive Coverage, Rebalance, `metrics` and `balance` alike, and the capacity of the rep's plan (its steps'
hours are the plan's own rules); the Settings page shows the same. Without --set or --reset, prints them with
where each value comes from. Touches a year are set per segment (touches_per_year_customer,
touches_per_year_prospect); touches_per_year, earlier versions' one figure, sets or resets both.
"""

from __future__ import annotations

import argparse
import json

from planner import store
from planner.coverage import workload
from planner.errors import BadInput
from planner.ingest import currency
from planner.scope import OPERATOR


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("settings", help="show or change the workload assumptions", description=__doc__)
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help=f"save one assumption ({', '.join(workload.ASSUMPTIONS)}; {workload.LEGACY} saves both "
                        "segments' touches); repeatable")  # fmt: skip
    p.add_argument("--reset", nargs="*", metavar="NAME", help="forget saved values (all of them when no name is given)")
    p.add_argument("--currency", metavar="CODE", help="the store's currency (EUR, GBP, USD...): how money is shown")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def _parse(pairs: list[str]) -> dict[str, float | None]:
    values: dict[str, float | None] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise BadInput(f"--set {pair!r} needs NAME=VALUE, e.g. touches_per_year_prospect=4")
        try:
            values[name.strip()] = float(text)
        except ValueError:
            raise BadInput(f"--set {pair!r}: {text!r} is not a number") from None
    return values


def run(args: argparse.Namespace) -> int:
    values = _parse(args.set)
    if args.reset is not None:
        names = args.reset or list(workload.ASSUMPTIONS)
        values.update(dict.fromkeys(names))
    if args.currency is not None:
        code = currency.set_currency(args.db_path, args.currency, scope=OPERATOR)
        if not args.json:
            print(f"currency: {code} (amounts are shown in it as they are, not converted)")
    if values:
        done = workload.save_workload(args.db_path, scope=OPERATOR, values=values, actor="cli")
        if not args.json:
            print(f"changed: {', '.join(done['changed']) or 'nothing'}")
    with store.read(args.db_path) as con:
        rows = workload.workload_sources(con)
        current = workload.load_workload(con)
        code = currency.store_currency(con)
        caveat = currency.mixed_caveat(con)
    if args.json:
        sources = {r["name"]: r["source"] for r in rows}
        shown = {"workload": current.as_dict(), "sources": sources, "currency": code}
        print(json.dumps({**shown, **({"currency_caveat": caveat} if caveat else {})}, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['value']:>10,.2f}  {r['source']}")
    print(current.describe())
    print(f"Money: {caveat}." if caveat else f"Money is shown in {code}.")
    return 0
