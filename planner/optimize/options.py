"""What a rebalance may change (Options, NewRep) and what it returns (Result)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from planner.coverage.workload import Workload
from planner.errors import BadInput

METRICS = ("potential", "expected_value", "accounts", "workload")
UNITS = ("account", "zip3", "county", "state", "h3")
# Where accounts may go: "country" keeps each account with reps whose home is in its country (markets balanced each on
# its own: planner.optimize.markets; a book whose accounts and reps lie in one country is one market), "none" lets
# any rep take any account.
WITHIN = ("country", "none")
COLUMN = "column:"  # a metric named column:NAME balances the accounts' own numeric column NAME

Progress = Callable[[float, str], None]


def noop(fraction: float, message: str) -> None:
    """A progress callback that reports nothing."""
    return None


def parse_metric(text: str) -> str:
    """'potential,accounts,workload' -> the same, checked (each a known metric, named once)."""
    names = [m.strip() for m in str(text).split(",") if m.strip()]
    Options(metric=",".join(names)).metric_list()
    return ",".join(names)


def parse_tolerance(text: str, metric: str) -> tuple[float, tuple[tuple[str, float], ...]]:
    """'0.05' (every metric) or 'potential=0.05,accounts=0.10' (per metric; the others get 0.05) ->
    (tolerance, per-metric tolerances)."""
    raw = str(text).strip()
    listed = [m.strip() for m in str(metric).split(",") if m.strip()]
    try:
        if "=" not in raw:
            return float(raw), ()
        own: list[tuple[str, float]] = []
        for part in raw.split(","):
            name, _, value = part.partition("=")
            own.append((name.strip(), float(value)))
    except ValueError:
        raise BadInput(
            f"tolerance {raw!r} is not a share; give one number such as 0.05 or one per metric such as "
            "potential=0.05,accounts=0.10"
        ) from None
    for name, _ in own:
        if name not in listed:
            raise BadInput(
                f"tolerance given for {name!r}, which is not a balanced metric; use one of {', '.join(listed)}"
            )
    return 0.05, tuple(own)


@dataclass(frozen=True)
class NewRep:
    """A rep to add in a what-if: a name and a home location (capacity defaults to the setting)."""

    name: str
    home_lat: float
    home_lon: float
    capacity_hours: float | None = None
    rep_id: str | None = None


@dataclass(frozen=True)
class Options:
    """What to balance and what may change. Hashable, so results can be cached per option set."""

    metric: str = "potential"  # one metric, or several separated by commas, each kept within its own band
    weights: tuple[tuple[str, float], ...] = ()  # a weighted mix of metrics; overrides `metric`
    tolerance: float = 0.05
    tolerances: tuple[tuple[str, float], ...] = ()  # per-metric tolerance (metric, share); else `tolerance`
    max_moved: float | None = None  # share of the balance metric that may move; None = as little as needed
    unit: str = "account"
    allow_customers: bool = False
    allow_open_deals: bool = False
    locks: tuple[str, ...] = ()
    add_reps: tuple[NewRep, ...] = ()
    remove_reps: tuple[str, ...] = ()
    successor: str | None = None  # with remove_reps: every account of theirs goes to this rep, nothing else moves
    capacities: tuple[tuple[str, float], ...] = ()
    contiguous: bool = False  # whole units only: each territory's units one connected region
    # The neighbour pairs of area codes contiguity uses (optimize.adjacency reads them from a from,to CSV);
    # None = the Delaunay edges between the units' centroids.
    adjacency: tuple[tuple[str, str], ...] | None = None
    compactness: float = 1.5  # weight of travel squared next to travel: keeps far accounts near home (0 = off)
    candidates: int = 4  # starting columns per unit (nearest reps); pricing adds every other pair that helps
    aggregate_above: int = 12_000  # movable accounts; above this, the smaller ones are grouped by ZIP3 x owner
    time_limit_s: float = 120.0
    workload: Workload | None = None  # the workload assumptions (scenarios.with_workload passes the store's)
    within: str = "country"  # one of WITHIN: balance each country's market on its own, or the book as one

    def leavers_only(self) -> bool:
        """A rep removed with a moved budget of 0 (balance --remove-rep without --max-moved): only their accounts
        move."""
        return bool(self.remove_reps) and self.max_moved is not None and self.max_moved <= 1e-12

    @property
    def workload_model(self) -> Workload:
        """The workload assumptions this run uses: the given ones, else the deployment's."""
        return self.workload or Workload.defaults()

    def metric_list(self) -> list[str]:
        """The metrics balanced each within its own band (one unless `metric` lists several)."""
        names = [m.strip() for m in str(self.metric).split(",") if m.strip()]
        if not names:
            raise BadInput("no metric given; use one or more of " + ", ".join(METRICS))
        for m in names:
            if m not in METRICS and not (m.startswith(COLUMN) and len(m) > len(COLUMN)):
                raise BadInput(f"unknown metric {m!r}; use one of {', '.join(METRICS)} (or column:NAME)")
        if len(set(names)) != len(names):
            raise BadInput(f"metric {self.metric!r} lists a metric twice; name each once")
        return names

    def metric_weights(self) -> dict[str, float]:
        """The blend of metrics the moved share is measured on: the weighted mix, else the listed
        metrics in equal parts."""
        if not self.weights:
            return {m: 1.0 for m in self.metric_list()}
        weights = {m: float(w) for m, w in self.weights if float(w) > 0}
        for m in weights:
            if m not in METRICS:
                raise BadInput(f"unknown metric {m!r}; use one of {', '.join(METRICS)}")
        if not weights:
            raise BadInput("metric weights are all zero; give at least one metric a positive weight")
        return weights

    def bands(self) -> list[tuple[str, dict[str, float], float]]:
        """(label, weights, tolerance) of every balance band: the weighted mix as one band, else one
        band per listed metric with its own tolerance."""
        if self.weights:
            return [(self.label(), self.metric_weights(), self.tolerance)]
        own = {str(m): float(t) for m, t in self.tolerances}
        return [(m, {m: 1.0}, own.get(m, self.tolerance)) for m in self.metric_list()]

    def label(self) -> str:
        if not self.weights:
            return ", ".join(self.metric_list())
        w = self.metric_weights()
        if len(w) == 1:
            return next(iter(w))
        total = sum(w.values())
        return " + ".join(f"{v / total:.0%} {k}" for k, v in w.items())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Options:
        d = dict(data)
        d["weights"] = tuple((str(k), float(v)) for k, v in d.get("weights") or ())
        d["tolerances"] = tuple((str(k), float(v)) for k, v in d.get("tolerances") or ())
        d["locks"] = tuple(d.get("locks") or ())
        d["remove_reps"] = tuple(d.get("remove_reps") or ())
        d["capacities"] = tuple((str(k), float(v)) for k, v in d.get("capacities") or ())
        d["add_reps"] = tuple(NewRep(**r) for r in d.get("add_reps") or ())
        adj = d.get("adjacency")
        d["adjacency"] = None if adj is None else tuple((str(a), str(b)) for a, b in adj)
        d["workload"] = Workload.from_dict(d["workload"]) if isinstance(d.get("workload"), dict) else None
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def validate(self) -> None:
        self.metric_weights()
        if not 0 <= self.tolerance <= 1:
            raise BadInput(f"tolerance {self.tolerance} is out of range; use a share such as 0.05 (0 to 1)")
        listed = set(self.metric_list()) if not self.weights else set()
        for m, t in self.tolerances:
            if m not in listed:
                raise BadInput(
                    f"tolerance given for {m!r}, which is not a balanced metric; use one of {', '.join(sorted(listed))}"
                )
            if not 0 <= t <= 1:
                raise BadInput(f"tolerance {t} for {m} is out of range; use a share such as 0.05 (0 to 1)")
        if self.max_moved is not None and not 0 <= self.max_moved <= 1:
            raise BadInput(f"max moved {self.max_moved} is out of range; use a share of the metric from 0 to 1")
        if self.within not in WITHIN:
            raise BadInput(f"within {self.within!r} is not a market; use one of {', '.join(WITHIN)}")
        if self.unit not in UNITS:
            raise BadInput(f"unknown unit {self.unit!r}; use one of {', '.join(UNITS)}")
        if not 0 <= self.compactness <= 100:
            raise BadInput(f"compactness {self.compactness} is out of range; use 0 (off) to 100")
        if self.contiguous and self.unit == "account":
            raise BadInput("contiguous territories need area units; pick zip3, county, state or h3 as the unit")
        if self.adjacency is not None and not self.contiguous:
            raise BadInput("an adjacency says which areas are neighbours for contiguous territories; ask for those too")
        if not 0 < self.time_limit_s <= 86_400:
            raise BadInput(f"time limit {self.time_limit_s:g} s is out of range; use up to 86400 seconds")
        if self.candidates < 1:
            raise BadInput(f"candidates {self.candidates} is too small; use at least 1")
        for rep in self.add_reps:
            if not str(rep.name).strip():
                raise BadInput("a new rep needs a name")
            if not (-90 <= rep.home_lat <= 90 and -180 <= rep.home_lon <= 180):
                raise BadInput(f"home of new rep {rep.name!r} ({rep.home_lat}, {rep.home_lon}) is not a lat/lon")
        for rep_id, cap in self.capacities:
            if not cap > 0:
                raise BadInput(f"capacity {cap} for {rep_id} must be positive hours per year")


@dataclass
class Result:
    """An assignment and how it measures up: per-account rows, per-rep rows and a summary."""

    assignments: pd.DataFrame  # account_id, name, previous_owner, owner, moved, reason, km_before, km_after, ...
    reps: pd.DataFrame  # rep_id, name, home, capacity, target share, before/after loads, hours, is_new, removed
    summary: dict[str, Any]
    options: Options = field(default_factory=Options)

    def moves(self) -> pd.DataFrame:
        return self.assignments[self.assignments["moved"] | self.assignments["previous_owner"].isna()]


# Several metrics over LARGE_TEAM reps or more make LPs that may need minutes a step (200 reps x 3 metrics: 20,000
# accounts about 3 minutes in all, each step within the default 120 s; 100,000 about 15, its travel pass's first solve
# 170 s): under LARGE_TIME_S seconds a step, the Rebalance page says so before the run.
LARGE_TEAM = 100
LARGE_TIME_S = 600


def large_problem(n_metrics: int, n_reps: int, time_limit_s: float) -> bool:
    """Several metrics over a large team with a time limit that such runs may exceed."""
    return n_metrics > 1 and n_reps >= LARGE_TEAM and time_limit_s < LARGE_TIME_S


def time_limit_message(opts: Options) -> str:
    """What a solve that stopped at its time limit says (it has no solution to round: never a result)."""
    return (
        f"the solver hit its time limit of {opts.time_limit_s:g} s on this scenario; make it smaller: move whole "
        "areas (unit zip3 or county; with 100+ reps one ZIP3 can hold several territories' worth) or balance fewer "
        "metrics at once (several metrics over many reps make the largest problems), give it more time (the "
        "Rebalance page's 'Solver time', or balance --time-limit), or run it again when the machine is less busy"
    )
