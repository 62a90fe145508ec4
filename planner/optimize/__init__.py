"""Rebalancing: reassign accounts to reps under balance, travel, disruption and capacity budgets.

The assignment is solved as a linear program with HiGHS (a transportation problem with side
constraints): units (single accounts, or whole ZIP3s / counties / states) go to candidate reps (the
current owners, the nearest homes, and for every rep its nearest units), each rep's load on the
balance metric stays within the tolerance band around its target, capacity hours are respected
when the team has them, and an optional budget caps the share of the metric that moves. The
objective is lexicographic in practice: balance first, then disruption (metric and accounts moved),
then travel. A deterministic repair pass turns the LP's fractional units into whole accounts and
fixes any band violations; every result is reported next to the bounds that say what was possible.

Modules: options (what may change, the result), problem (arrays), lp (the model and its passes),
rounding (whole accounts and repair), report (measures and reasons), solve (the entry point), markets (a
book over several countries solved one country's market at a time, merged), team (team sizing), contiguity
(one connected region per territory) under adjacency (a stated one: from,to pairs of area codes, else
Delaunay), mipguard (every small MIP in a worker process that is killed when HiGHS overruns its time limit:
planner.mipworker).
"""

from planner.optimize.adjacency import read_adjacency
from planner.optimize.curve import disruption_curve
from planner.optimize.lp import HIGHS_VERSION
from planner.optimize.options import (
    METRICS,
    UNITS,
    WITHIN,
    NewRep,
    Options,
    Progress,
    Result,
    large_problem,
    noop,
    parse_metric,
    parse_tolerance,
)
from planner.optimize.problem import lock_ids, lock_lines, metric_values
from planner.optimize.report import tolerance_text
from planner.optimize.solve import rebalance
from planner.optimize.team import capacity_curve, team_of

__all__ = [
    "HIGHS_VERSION", "METRICS", "UNITS", "WITHIN", "NewRep", "Options", "Progress", "Result", "capacity_curve",
    "disruption_curve", "large_problem", "lock_ids", "lock_lines", "metric_values", "noop",
    "parse_metric", "parse_tolerance", "read_adjacency", "rebalance", "team_of", "tolerance_text",
]  # fmt: skip
