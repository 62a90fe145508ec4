"""`balance`: rebalance territories with the optimizer; write the assignment, print the figures, commit.

  python -m planner balance [--reps K] [--metric potential|expected_value|accounts|workload[,...]]
      [--tolerance 0.05|potential=0.05,accounts=0.10] [--max-moved SHARE] [--compactness 1.5] [--time-limit 120]
      [--within country|none] [--out FILE.csv [--format plain|salesforce|hubspot|dynamics|pipedrive]]
      [--lock ACCOUNT] [--remove-rep REP [--successor REP]] [--json] [--commit [--keep-later]]

--within country (the default) balances each country's market on its own when the book's accounts and reps span
several countries: an account goes only to a rep whose home is in its country; --within none lets any rep take any
account. --reps K plans for a team of K reps: fewer than today drops the reps with the smallest books, more
adds hires where the most potential lies out of reach. --commit saves the result as a scenario and
makes it today's assignment (the previous one is kept as a version that can be restored). Owners changed
while it solved (an import) refuse the commit; with --keep-later those changes stay and the result's other
moves are committed (the JSON's committed.later_changes_kept, conflicts_kept_today and balance say what that did).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from planner import crm_files, export, optimize, scenarios, store
from planner.errors import BadInput
from planner.optimize import matrix
from planner.optimize.problem import lock_ids
from planner.optimize.report import handover
from planner.plan.reps import resolve_rep
from planner.scope import OPERATOR
from planner.store import interrupts
from planner.text import json_safe

# The --travel-matrix help (planner.optimize.matrix UNIT_NAMES has every accepted name).
TRAVEL_MATRIX_HELP = (
    "travel from a routing engine's CSV instead of great-circle km: from,to,minutes (or seconds, hours, km, "
    "metres, miles; OSRM's and ORS's duration is seconds and distance metres, Google's duration_value and "
    "distance_value too; the ends may be source or origin, destination or target); rep id/email to account id "
    "or ZIP, or ZIP to ZIP; comma, semicolon or tab separated, decimal commas read; time wins over distance. A "
    "wide table (a row per rep, a column per ZIP) needs the unit in its top-left cell"
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "balance", help="rebalance territories (optimizer), export or commit the result", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("--reps", type=int, metavar="K", help="team size to plan for (default: today's active reps)")
    p.add_argument(
        "--metric", default="potential", metavar="M[,M...]",
        help=f"what to balance, one or several at once each within its tolerance ({', '.join(optimize.METRICS)}, "
        "or column:NAME for a numeric custom column; default potential); workload is each account's own hours a "
        "year, its meetings plus travel from its nearest rep's home ('rep hours' in the report adds each rep's "
        "own travel, as metrics counts it)",
    )  # fmt: skip
    p.add_argument(
        "--tolerance", default="0.05", metavar="T",
        help="allowed deviation from the mean: one share for every metric (0.05) or one per metric "
        "(potential=0.05,accounts=0.10; unlisted metrics 0.05)",
    )  # fmt: skip
    p.add_argument(
        "--compactness", type=float, default=1.5, metavar="C",
        help="weight of travel squared next to travel: keeps far accounts near home "
        "(0 = least mean travel; default %(default)s)",
    )  # fmt: skip
    p.add_argument("--max-moved", type=float, metavar="SHARE", help="largest share of the metric that may move")
    p.add_argument(
        "--time-limit", type=float, default=120.0, metavar="SECONDS",
        help="the solver's time limit per step, in CPU seconds (default %(default)g); three metrics over 200 reps "
        "and 20,000 accounts take about 600",
    )  # fmt: skip
    p.add_argument(
        "--unit", choices=optimize.UNITS, default="account",
        help="move accounts or whole areas (ZIP3, county and state in the US; H3 hexagons anywhere: as fine as "
        "gives at most 25 a rep, finer where one would hold half a territory)",
    )  # fmt: skip
    p.add_argument(
        "--contiguous", action="store_true",
        help="with --unit zip3|county|state|h3: each territory's areas form one connected region (neighbours: "
        "Delaunay edges between area centroids, or the pairs of --adjacency)",
    )  # fmt: skip
    p.add_argument(
        "--adjacency", type=Path, metavar="FILE",
        help="with --contiguous: which areas are neighbours, a CSV from,to of area codes of the --unit (ZIP3 021, "
        "county 'MA · Middlesex County' or 'Middlesex County, MA', state MA), e.g. from the Census county "
        "adjacency file; areas with no neighbour in it are islands, exempt from contiguity",
    )  # fmt: skip
    p.add_argument(
        "--within", choices=optimize.WITHIN, default="country",
        help="country (default): an account goes only to a rep whose home is in its country, and each country's "
        "market is balanced on its own (a book in one country is one market); none: any rep may take any account",
    )  # fmt: skip
    p.add_argument("--allow-customers", action="store_true", help="customers may change owner")
    p.add_argument("--allow-open-deals", action="store_true", help="accounts with open deals may change owner")
    _handover_args(p)
    p.add_argument(
        "--out", type=Path, metavar="FILE", help="write the new owners (.csv/.xlsx) in the --format a CRM imports"
    )
    p.add_argument(
        "--format", choices=crm_files.FORMATS, default=None, dest="out_format",
        help="--out file: a CRM owner update of the accounts that move (salesforce, hubspot, dynamics, pipedrive) "
        "or plain (every account, previous and new owner by name and email); default plain",
    )  # fmt: skip
    p.add_argument(
        "--travel-matrix", type=Path, metavar="FILE",
        help=TRAVEL_MATRIX_HELP,
    )  # fmt: skip
    p.add_argument(
        "--travel-template", type=Path, metavar="FILE",
        help="write the rep-to-destination pairs a routing engine must price (with coordinates and an empty minutes "
        "column) to FILE.csv and stop; fill it in and give it back as --travel-matrix",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--commit", action="store_true", help="save as a scenario and make it today's assignment")
    p.add_argument(
        "--keep-later", action="store_true",
        help="with --commit: keep owners changed since the run began (an import meanwhile) instead of refusing; "
        "only the result's other moves are committed, and the report says what that does to balance",
    )  # fmt: skip
    p.add_argument("--name", default=None, help="scenario name when committing")
    p.add_argument("--by", default="cli", help="who commits (for the audit log)")
    p.set_defaults(func=run)


def _handover_args(p: argparse.ArgumentParser) -> None:
    """--lock, --remove-rep and --successor: what stays and who leaves."""
    p.add_argument(
        "--lock", action="append", default=[], metavar="ACCOUNT",
        help="keep this account with its owner: its id, or its name when the store has no CRM ids (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--remove-rep", action="append", default=[], metavar="REP",
        help="this rep (name, email or id) leaves: their accounts go to others, and no other account moves unless "
        "--max-moved allows (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--successor", metavar="REP",
        help="with --remove-rep: every account of the reps who leave goes to this rep (name, email or id); no other "
        "account moves",
    )  # fmt: skip


def _team(reps_now: int, k: int | None) -> int | None:
    if k is None:
        return None

    if not 1 <= k <= 5000:
        raise BadInput(f"--reps {k} is out of range; use 1 to 5000")
    return k


def _num(value: object, spec: str, unit: str = "") -> str:
    """A figure for the text report; 'n/a' where it cannot be measured (no account assigned today, say)."""
    return "n/a" if value is None else f"{value:{spec}}{unit}"


def _figures(res: optimize.Result) -> dict[str, Any]:
    s = res.summary

    keys = [
        "metric", "tolerance", "unit", "reps_before", "reps_after", "accounts", "max_mean_before", "max_mean_after",
        "lower_bound", "tolerance_met", "moved_accounts", "moved_share", "moved_potential_share", "min_moved_share",
        "travel_km_today", "travel_km_after", "travel_kept", "travel_km_nearest", "travel_km_lp_bound",
        "coverage_today", "coverage_after", "solve_seconds", "lp_seconds", "solver", "reasons", "notes",
        "travel_km_lp", "travel_km_p95_today", "travel_km_p95_after", "travel_km_p95_nearest", "top3_share_today",
        "top3_share_after", "overlap_today", "overlap_after", "tolerances", "metrics", "travel_unit", "contiguous",
        "adjacency", "adjacency_edges", "adjacency_islands", "adjacency_unknown", "adjacency_unknown_example",
        "contiguity_stopped_by_time", "adjacency_detached", "adjacency_groups", "h3_resolution", "units",
        "rep_hours_max_mean_before", "rep_hours_max_mean_after", "rep_hours_min_mean_after", "rep_hours_cv_after",
        "rep_hours_busiest", "rep_hours_busiest_hours", "rep_hours_busiest_km", "rep_hours_mean_km",
        "unplaced_accounts", "travel_pass_stopped_by_time", "bound_stopped_by_time", "band_hood_stopped_by_time",
    ]  # fmt: skip
    out = {k: json_safe(s.get(k)) for k in keys}
    # travel_km_lp_bound holds at this result's moved share; the solver bounds travel with any share moved too (null
    # only where no LP ran, a handover or nothing that could move, or its re-solve stopped at the time limit: the
    # reasons then say so).
    out["travel_lp_bound_moved_share"] = json_safe(s.get("moved_share"))
    out["travel_km_lp_bound_any_moved"] = json_safe(s.get("travel_km_lp_bound_any_moved"))
    counts = scenarios.result_changes(res)
    out["owner_leaves"] = counts["owner_leaves"]
    out["newly_assigned"] = counts["newly_assigned"]
    out["unassigned"] = counts["unassigned"]
    out["before"] = json_safe(s["before"])
    out["after"] = json_safe(s["after"])
    out["within"] = res.options.within
    out["markets"] = json_safe(s.get("markets") or [])
    out["set_apart_reps"] = list(s.get("set_apart_reps") or [])  # reps kept to their pinned book (optimize/overfull)
    return out


def _adjacency(args: argparse.Namespace) -> tuple[tuple[str, str], ...] | None:
    """The neighbour pairs of --adjacency FILE (None without it), after checking it goes with the other flags."""
    if args.adjacency is None:
        return None
    if not args.contiguous:
        raise BadInput("--adjacency FILE says which areas are neighbours for --contiguous; add --contiguous")
    if args.unit == "account":
        raise BadInput("--adjacency FILE pairs areas, not accounts; add --unit zip3, county or state")
    if not args.adjacency.is_file():
        raise BadInput(f"--adjacency {args.adjacency}: no such file; give the path of a from,to CSV")
    return optimize.read_adjacency(args.adjacency, args.unit)


def _options(args: argparse.Namespace) -> tuple[optimize.Options, float]:
    """The optimizer's options from the flags, each checked (and the single tolerance, for the scenario name)."""
    metric = optimize.parse_metric(args.metric)
    tolerance, tolerances = optimize.parse_tolerance(args.tolerance, metric)
    for name, t in ((None, tolerance), *tolerances):
        if not 0 <= t <= 1:
            what = f"--tolerance {t}" if name is None else f"--tolerance {name}={t}"
            raise BadInput(f"{what} is out of range; use a share such as 0.05")
    if args.max_moved is not None and not 0 <= args.max_moved <= 1:
        raise BadInput(f"--max-moved {args.max_moved} is out of range; use a share from 0 to 1")
    if not 1 <= args.time_limit <= 86_400:
        raise BadInput(f"--time-limit {args.time_limit:g} is out of range; use 1 to 86400 seconds")
    if args.successor is not None and not args.remove_rep:
        raise BadInput("--successor says who takes over a leaver's accounts; add --remove-rep NAME for the leaver")
    opts = optimize.Options(
        metric=metric, tolerance=tolerance, tolerances=tolerances, max_moved=args.max_moved, unit=args.unit,
        compactness=args.compactness, contiguous=args.contiguous, adjacency=_adjacency(args),
        allow_customers=args.allow_customers, allow_open_deals=args.allow_open_deals, locks=tuple(args.lock),
        time_limit_s=args.time_limit, within=args.within,
    )  # fmt: skip
    return opts, tolerance


def _leavers(args: argparse.Namespace, reps: pd.DataFrame, opts: optimize.Options) -> tuple[optimize.Options, set[str]]:
    """--remove-rep: the reps who leave (ids), the active ones removed from the team, and no other account moving
    unless --max-moved says otherwise."""
    if not args.remove_rep:
        return opts, set()
    with store.read(args.db_path) as con:
        leaving = {resolve_rep(con, r, scope=OPERATOR) for r in args.remove_rep}
    active = set(reps.loc[reps["active"].fillna(True).astype(bool), "rep_id"])
    budget = 0.0 if args.max_moved is None else args.max_moved
    return replace(opts, remove_reps=tuple(sorted(leaving & active)), max_moved=budget), leaving


def _print_text(f: dict[str, Any], res: optimize.Result) -> None:
    """The figures as a short text report."""
    print(
        f"balanced {f['metric']} over {f['reps_after']} reps ({f['accounts']:,} accounts), "
        f"tolerance {optimize.tolerance_text(res.summary)}"
    )
    print(
        f"  max/mean  {_num(f['max_mean_before'], '.3f')} -> {_num(f['max_mean_after'], '.3f')}  "
        f"(lower bound {_num(f['lower_bound'], '.3f')})"
    )
    left = f["owner_leaves"]
    print(
        f"  moved     {f['moved_accounts'] - left:,} accounts to another rep"
        + (f" and gave {left:,} accounts a new owner because their owner leaves" if left else "")
        + f", {f['moved_share']:.1%} of the metric (at least {f['min_moved_share']:.1%} had to move); "
        f"{f['newly_assigned']:,} unowned accounts get an owner, {f['unassigned']:,} lose theirs"
    )
    lp, u = f["travel_km_lp_bound"], f["travel_unit"]  # travel_km_* hold the matrix's unit when one is given
    free = f["travel_km_lp_bound_any_moved"]
    print(
        f"  travel    {_num(f['travel_km_today'], '.1f', f' {u}')} today -> "
        f"{_num(f['travel_km_after'], '.1f', f' {u}')} "
        f"(nearest rep {_num(f['travel_km_nearest'], '.0f', f' {u}')}, LP bound at this moved share "
        f"({f['moved_share']:.1%}) {lp:.0f} {u}" + ("" if free is None else f", moving any share {free:.0f} {u}") + ")"
        if lp is not None
        else ""
    )
    if f["travel_km_p95_after"] is not None:

        def _v(key: str, spec: str) -> str:
            return "–" if f[key] is None else format(f[key], spec)

        print(
            f"  compact   p95 travel {_v('travel_km_p95_today', ',.0f')} -> {_v('travel_km_p95_after', ',.0f')} "
            f"{u} (nearest rep {_v('travel_km_p95_nearest', ',.0f')}); {_v('top3_share_after', '.0%')} of accounts "
            f"with one of their 3 nearest reps (today "
            f"{_v('top3_share_today', '.0%')}); {_v('overlap_after', '.0%')} inside another territory's outline "
            f"(today {_v('overlap_today', '.0%')})"
        )
    if len(f["metrics"] or []) > 1:
        for m in f["metrics"]:
            print(
                f"  {m['metric']:<9} max/mean {m['max_mean_before']:.3f} -> {m['max_mean_after']:.3f} "
                f"(bound {m['lower_bound']:.3f}, ±{m['tolerance']:.0%} {'met' if m['met'] else 'not met'})"
            )
    if f.get("rep_hours_max_mean_after") is not None:
        print(
            f"  rep hours max/mean {_num(f['rep_hours_max_mean_before'], '.3f')} -> "
            f"{_num(f['rep_hours_max_mean_after'], '.3f')} (meetings and each rep's own travel, as Coverage counts "
            "workload)"
        )
    if f["contiguous"] is not None:
        how = "Delaunay edges between area centres" if f["adjacency"] == "delaunay" else "the adjacency file"
        what = "islands" if f["adjacency"] != "delaunay" else "areas of accounts without a place of their own"
        islands = f" ({f['adjacency_islands']:,} {what}, exempt)" if f["adjacency_islands"] else ""
        if f["adjacency_detached"]:
            islands += f"; {f['adjacency_detached']:,} areas in groups linked to no other, exempt"
        if f["adjacency_unknown"]:
            islands += (
                f"; {f['adjacency_unknown']:,} code(s) of the file unknown, their pairs ignored "
                f"(e.g. {f['adjacency_unknown_example']!r})"
            )
        print(
            f"  regions   {'every' if f['contiguous'] else 'NOT every'} territory one connected region under "
            f"{how}: {f['adjacency_edges']:,} pairs{islands}"
            + ("; bands restored until its time budget ran out" if f["contiguity_stopped_by_time"] else "")
        )
    for mk in f["markets"]:
        print(f"  market    {_market_line(mk, f['travel_unit'])}")
    if f["h3_resolution"] is not None:
        print(f"  units     {f['units']:,} H3 hexagons of resolution {f['h3_resolution']}")
    print(f"  solved in {f['solve_seconds']:.2f} s")
    for reason in f["reasons"] or []:
        print(f"  why: {reason}")
    for note in res.summary.get("notes", []):
        print(f"  note: {note}")
    if "committed" in f:
        _print_committed(f["committed"])


def _market_line(mk: dict[str, Any], unit: str) -> str:
    """One market of a book balanced within countries: reps, accounts, each metric's max/mean, travel, moves."""
    head = f"{mk['name']}: {mk['reps']} rep(s), {mk['accounts']:,} accounts"
    if not mk["accounts"]:
        return f"{head} (nothing to balance)"
    bands = ", ".join(
        f"{b['metric']} {_num(b['max_mean_before'], '.3f')} -> {_num(b['max_mean_after'], '.3f')}"
        f" ({'met' if b['met'] else 'not met'})"
        for b in mk["metrics"]
    )
    return (
        f"{head}; max/mean {bands}; mean travel {_num(mk['travel_km_today'], ',.1f')} -> "
        f"{_num(mk['travel_km_after'], ',.1f')} {unit}; {mk['moved_accounts']:,} moved"
    )


def _print_committed(c: dict[str, Any]) -> None:
    """The commit's lines: what changed, and with --keep-later the owner changes kept and the balance after."""
    print(
        f"committed scenario {c['scenario_id']}: {scenarios.describe_changes(c)}; "
        f"the previous assignment is version {c['previous_version']}"
    )
    if c.get("keep_later"):
        print(
            f"  kept {c['later_changes_kept']:,} later owner changes ({c['conflicts_kept_today']:,} of them "
            "accounts the result moved too: today's owner kept)"
        )
        for b in c.get("balance") or []:
            print(f"  {b['metric']:<9} max/mean {_num(b['scenario_max_mean'], '.3f')} as computed -> "
                  f"{_num(b['merged_max_mean'], '.3f')} with the later changes")  # fmt: skip
        for note in c.get("balance_notes") or []:
            print(f"  note: {note}")
    for note in c.get("notes") or []:
        print(f"  note: {note}")


def _travel_template(args: argparse.Namespace) -> int:
    """`balance --travel-template FILE`: the pairs to route (planner.optimize.matrix.route_pairs), no solve."""
    if args.travel_template.suffix.lower() != ".csv":
        raise BadInput(f"--travel-template {args.travel_template}: use a .csv file name (routing tools read CSV)")
    export.check_table_path(args.travel_template)
    with store.read(args.db_path) as con:
        table = scenarios.route_pairs(con, scope=OPERATOR)
    export.write_table(table, args.travel_template)
    left_out = int(table.attrs.get("left_out", 0))
    print(
        f"wrote {len(table):,} pairs ({table['from'].nunique():,} reps x {table['to'].nunique():,} destinations) to "
        f"{args.travel_template}: fill the minutes column from a routing engine, then run balance --travel-matrix "
        f"{args.travel_template}",
        file=sys.stderr,
    )
    if left_out:
        print(f"note: {matrix.LEFT_OUT_NOTE.format(n=f'{left_out:,}')}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.out_format is not None and args.out is None:
        raise BadInput(f"--format {args.out_format} says how to write --out FILE; add --out FILE.csv (or .xlsx)")
    args.out_format = args.out_format or "plain"
    if args.keep_later and not args.commit:
        raise BadInput("--keep-later says how to --commit when owners changed meanwhile; add --commit")
    if args.travel_template is not None:
        return _travel_template(args)
    if args.out is not None:
        export.check_table_path(args.out)
    opts, tolerance = _options(args)
    with store.read(args.db_path) as con:
        acc, reps = scenarios.inputs(con, scope=OPERATOR, metric=opts.metric)  # with its column: metrics
        opts = scenarios.with_workload(con, opts)  # the workload assumptions saved in the store
        successor = None if args.successor is None else resolve_rep(con, args.successor, scope=OPERATOR)
    opts = replace(opts, locks=lock_ids(acc, args.lock))  # names to ids here: the errors name --lock
    opts, leaving = _leavers(args, reps, opts)
    k_now = int(reps["active"].fillna(True).astype(bool).sum())
    k = _team(k_now, args.reps)
    if k is not None and k != k_now:
        opts = optimize.team_of(acc, reps, opts, k)

    def progress(fraction: float, message: str) -> None:
        interrupts.check()  # Ctrl-C stops the optimizer between its steps (HiGHS stops inside its own)
        if not args.json:
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

    distance = None
    if args.travel_matrix is not None:
        distance = scenarios.travel_table(args.travel_matrix, acc, reps, opts)
    if successor is not None:
        if distance is not None:
            raise BadInput("--successor hands the accounts over without solving: drop --travel-matrix")
        res = handover(acc, reps, opts, leaving, successor)
    else:
        res = optimize.rebalance(acc, reps, opts, progress, distance=distance)
    res.summary["notes"] = [*reps.attrs.get("notes", []), *res.summary.get("notes", [])]
    if args.out:
        out = scenarios.result_file(res, reps, args.out_format)
        export.write_table(out.table, args.out)
        interrupts.keep(f"{args.out} was written")
        print(f"wrote {len(out.table):,} accounts to {args.out} ({args.out_format})", file=sys.stderr)
        for note in out.notes:
            print(f"note: {note}", file=sys.stderr)
    figures = _figures(res)
    figures["travel_unit"] = res.summary.get("travel_unit", "km")
    if args.commit:
        name = args.name or f"CLI {res.summary['metric']} ±{tolerance:.0%}"
        # One write: a Ctrl-C leaves no draft scenario behind a commit that did not happen.
        committed = scenarios.save_and_commit(args.db_path, name, res, args.by, scope=OPERATOR,
                                              keep_later=args.keep_later)  # fmt: skip
        figures["committed"] = committed
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    else:
        _print_text(figures, res)
    return 0
