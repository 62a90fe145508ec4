"""`rep-home REP (PLACE | --lat LAT --lon LON | --clear) [--json]`: set where a rep works from.

A rep without a home gets one inferred from the weighted centre of their accounts at import; set the
real one here (by coordinates, or a place: 'Berlin, Germany', 'Denver, CO', a US ZIP, a country).
REP is a rep ID, email or name.
"""

from __future__ import annotations

import argparse
import json

from planner import ingest, plan, store
from planner.errors import BadInput
from planner.scope import OPERATOR


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("rep-home", help="set a rep's home location", description=__doc__)
    p.add_argument("rep", metavar="REP", help="rep ID, email or name")
    p.add_argument("place", nargs="?", metavar="PLACE", help="'City, Country', 'City, ST', a US ZIP or a country")
    p.add_argument("--lat", type=float, help="home latitude")
    p.add_argument("--lon", type=float, help="home longitude")
    p.add_argument("--clear", action="store_true", help="remove the home (the next import infers one again)")
    p.add_argument("--json", action="store_true", help="print what was set as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.clear and args.place is None and (args.lat is None or args.lon is None):
        raise BadInput("give the home as PLACE, or as --lat and --lon, or pass --clear")

    with store.read(args.db_path) as con:
        rep_id = plan.resolve_rep(con, args.rep, scope=OPERATOR)  # the one rep lookup
    done = ingest.set_rep_home(args.db_path, rep_id, scope=OPERATOR, lat=args.lat, lon=args.lon, place=args.place,
                               clear=args.clear)  # fmt: skip
    if args.json:
        print(json.dumps(done))
    elif args.clear:
        print(f"{rep_id}: home cleared")
    else:
        print(f"{rep_id}: home set to {done['lat']:.4f}, {done['lon']:.4f} (by {done['placed_by']})")
    return 0
