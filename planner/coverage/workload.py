"""The one workload model: the hours a year an account takes, and the assumptions behind it.

hours = touches x (meeting_hours + travel_share x 2 x distance_km / travel_kmh)

where touches is `touches_per_year_customer` for a customer and `touches_per_year_prospect` for every other
account, as commercial territory tools set call frequency per segment. A customer is what Coverage's "Cust."
column counts: `accounts.is_customer` (marked customer in the CRM, or with a won deal); unknown is a prospect.
Every touch takes a meeting's time and the in-person share of touches adds a round trip from the
rep's home. Where the distance cannot be measured (no coordinates, or a location known only to the
country) the travel part is left out and the figure is the meeting time alone. Two more assumptions
travel with it: how far a rep will drive to an account (`reachable_km`) and the yearly selling hours
of a rep whose own capacity is unknown (`default_capacity_hours`).

Coverage, Rebalance, the rep's plan and the CLI all read these from one place, `load_workload(con)`:
values an admin saved in the store (Settings page, `planner settings`) win over the deployment's
`PLANNER_*` variables, which win over the defaults in planner/settings.py. SQL gets the model as
two numbers per segment (`fixed_hours(customer)`, `hours_per_km(customer)`), never as its own formula.

Earlier versions had one `touches_per_year` for every account. It still works and means both segments:
at each level (saved in the store, then the deployment's PLANNER_* variables, then the defaults) a
segment's own value wins over the single one, and any value of a higher level wins over a lower level.
So a store that saved touches_per_year=10 keeps 10 for both until an admin saves a segment's value, and
PLANNER_TOUCHES_PER_YEAR=10 applies to both unless PLANNER_TOUCHES_PER_YEAR_CUSTOMER/_PROSPECT say
otherwise. Saving `touches_per_year` (CLI) saves both segments; any save turns a stored single value into
the two segment values it stood for.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from planner import settings, store
from planner.errors import BadInput
from planner.scope import Scope, require_admin
from planner.store import assumptions as q
from planner.store.scenarios import audit


@dataclass(frozen=True)
class Assumption:
    """One workload assumption: its label, help text, allowed range and planner/settings.py name."""

    label: str
    help: str
    low: float
    high: float
    step: float
    setting: str


ASSUMPTIONS: dict[str, Assumption] = {
    "touches_per_year_customer": Assumption(
        "Touches per customer a year",
        "Calls, emails and visits one customer (an account marked customer or with a won deal, Coverage's Cust.) "
        "gets in a year. Default 12: a touch a month keeps an account that pays.", 0.5, 365, 1,
        "touches_per_year_customer"),
    "touches_per_year_prospect": Assumption(
        "Touches per prospect a year",
        "Calls, emails and visits one prospect (every other account) gets in a year. Default 4: a touch a quarter, "
        "a usual nurture cadence for accounts that have not bought.", 0.5, 365, 1, "touches_per_year_prospect"),
    "meeting_hours": Assumption("Hours per touch", "Time of one touch, travel excluded.", 0, 24, 0.25, "meeting_hours"),
    "travel_kmh": Assumption(
        "Travel speed (km/h)", "Average door-to-door speed that turns distance into hours.", 5, 1000, 5, "travel_kmh"),
    "travel_share": Assumption(
        "In-person share of touches", "The rest are remote and take no travel.", 0, 1, 0.05, "travel_share"),
    "reachable_km": Assumption(
        "Reachable distance (km)", "Accounts farther than this from the owner's home count as not covered.",
        10, 20_000, 50, "reachable_km"),
    "default_capacity_hours": Assumption(
        "Default capacity (hours a year)",
        "Selling hours of a rep without a capacity of their own: every rep an import "
        "or the demo creates, unless a reps file gives one.",
        100, 8_760, 100, "capacity_hours"),
}  # fmt: skip
"""The assumptions in display order (the keys are Workload's fields)."""

LEGACY = "touches_per_year"
"""Earlier versions' single touches a year: stands for both segments where no segment value is set."""
SEGMENTS = ("touches_per_year_customer", "touches_per_year_prospect")


def _check(name: str, value: Any, spec: Assumption) -> None:
    """A one-line error unless `value` is a finite number in the assumption's range."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise BadInput(f"{name} {value!r} is not a number; use {spec.low:g} to {spec.high:g}")
    if not (math.isfinite(value) and spec.low <= value <= spec.high):
        raise BadInput(f"{name} {value:g} is out of range; use {spec.low:g} to {spec.high:g}")
    if (name.startswith(LEGACY) or name == "travel_kmh") and value <= 0:
        raise BadInput(f"{name} {value:g} must be above 0")


@dataclass(frozen=True)
class Workload:
    """The workload model's assumptions; build it with load_workload(con) to get the ones in force."""

    touches_per_year_customer: float
    touches_per_year_prospect: float
    meeting_hours: float
    travel_kmh: float
    travel_share: float
    reachable_km: float
    default_capacity_hours: float

    def __post_init__(self) -> None:
        for name, spec in ASSUMPTIONS.items():
            _check(name, getattr(self, name), spec)

    @property
    def touches_per_year(self) -> float | None:
        """The touches a year of every account when customers and prospects get the same (the single setting
        of earlier versions), else None."""
        same = self.touches_per_year_customer == self.touches_per_year_prospect
        return float(self.touches_per_year_customer) if same else None

    def touches(self, customer: Any) -> np.ndarray:
        """Touches a year of accounts by segment (`customer`: a bool or an array of them; None/NaN: a prospect)."""
        raw = np.asarray(customer, dtype=object)
        c = np.where(pd.isna(raw), False, raw).astype(bool)
        return np.where(c, float(self.touches_per_year_customer), float(self.touches_per_year_prospect))

    def fixed_hours(self, customer: Any) -> np.ndarray:
        """Hours a year an account of the segment takes whatever its distance (the meetings)."""
        return self.touches(customer) * self.meeting_hours

    def hours_per_km(self, customer: Any) -> np.ndarray:
        """Extra hours a year per km between the rep's home and an account of the segment (in-person round trips)."""
        return self.touches(customer) * self.travel_share * 2.0 / self.travel_kmh

    def hours(self, distance_km: Any, customer: Any) -> np.ndarray:
        """Yearly hours of accounts at `distance_km` (scalar or array; NaN: travel not measurable) that are
        customers or not (`customer`, a bool or an array of the same length)."""
        d = np.asarray(distance_km, dtype=float)
        if np.any(d < 0):
            raise BadInput("distance_km must not be negative")
        c = np.broadcast_to(np.asarray(customer, dtype=object), d.shape)
        return self.fixed_hours(c) + self.hours_per_km(c) * np.nan_to_num(d, nan=0.0)

    def describe(self) -> str:
        """The formula with these numbers, for notes under tables and charts."""
        return (
            f"Workload = touches a year ({self.touches_per_year_customer:g} per customer, "
            f"{self.touches_per_year_prospect:g} per prospect) x ({self.meeting_hours:g} h + "
            f"{self.travel_share:.0%} in person x round trip at {self.travel_kmh:g} km/h); where travel cannot "
            f"be measured, the meetings only. Reach {self.reachable_km:,.0f} km; "
            f"{self.default_capacity_hours:,.0f} h a year for reps without their own capacity."
        )

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Workload:
        """Assumptions as as_dict wrote them; a dict of earlier versions (one `touches_per_year`) gives it to both
        segments."""
        d = dict(data)
        legacy = d.pop(LEGACY, None)
        for name in SEGMENTS:
            if d.get(name) is None and legacy is not None:
                d[name] = legacy
        missing = sorted(set(ASSUMPTIONS) - set(d))
        if missing:
            raise BadInput(f"the saved workload assumptions lack {missing[0]!r}; save the scenario again")
        return cls(**{k: d[k] for k in ASSUMPTIONS})

    @classmethod
    def defaults(cls) -> Workload:
        """The deployment's assumptions (PLANNER_* variables, else planner/settings.py), store aside; a set
        PLANNER_TOUCHES_PER_YEAR stands for each segment whose own variable is not set."""
        values = {name: _setting(spec.setting) for name, spec in ASSUMPTIONS.items()}
        if settings.is_set(LEGACY):
            legacy = _setting(LEGACY)
            _check(f"PLANNER_{LEGACY.upper()}", legacy, ASSUMPTIONS[SEGMENTS[0]])
            values.update({s: legacy for s in SEGMENTS if not settings.is_set(ASSUMPTIONS[s].setting)})
        return cls(**values)

    def with_overrides(self, **overrides: float | None) -> Workload:
        """These assumptions with some replaced (None keeps the current value); `touches_per_year` sets each
        segment not given its own value."""
        unknown = sorted(set(overrides) - set(ASSUMPTIONS) - {LEGACY})
        if unknown:
            raise BadInput(f"unknown workload setting {unknown[0]!r}; use one of {', '.join(ASSUMPTIONS)}")
        given = dict(overrides)
        legacy = given.pop(LEGACY, None)
        if legacy is not None:
            _check(LEGACY, legacy, ASSUMPTIONS[SEGMENTS[0]])
            given.update({s: legacy for s in SEGMENTS if given.get(s) is None})
        return replace(self, **{k: float(v) for k, v in given.items() if v is not None})


def _setting(name: str) -> float:
    """A deployment setting as a number (PLANNER_<NAME>, else the default)."""
    try:
        return float(settings.get(name))
    except ValueError:
        raise BadInput(f"PLANNER_{name.upper()} is not a number; set it to a number or unset it") from None


def _stored(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, text in q.read_assumptions(con).items():
        if name in ASSUMPTIONS or name == LEGACY:
            try:
                out[name] = float(text)
            except ValueError:  # a hand-edited store: ignore the bad row, the deployment's value stands
                continue
    return out


def load_workload(con: duckdb.DuckDBPyConnection, **overrides: float | None) -> Workload:
    """The assumptions in force: saved in the store, else the deployment's, with `overrides` on top (a saved
    touches_per_year stands for each segment not saved itself: the store's level wins over the deployment's)."""
    base = Workload.defaults()
    try:
        saved = base.with_overrides(**_stored(con))
    except BadInput:  # a stored value out of range (hand-edited store): keep the deployment's values
        saved = base
    return saved.with_overrides(**overrides)


def workload_sources(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Each assumption with its value in force and where it comes from (store, environment or default)."""
    stored = _stored(con)
    current = load_workload(con)
    rows = []
    for name, spec in ASSUMPTIONS.items():
        value = getattr(current, name)
        rows.append({"name": name, "label": spec.label, "value": float(value), "source": _source(name, value, stored),
                     "help": spec.help})  # fmt: skip
    return rows


def _source(name: str, value: float, stored: dict[str, float]) -> str:
    """Where an assumption's value in force comes from, in the order load_workload applies them."""
    legacy = name in SEGMENTS
    if name in stored:
        if stored[name] == value:
            return "saved in the store"
    elif legacy and LEGACY in stored and stored[LEGACY] == value:
        return f"saved in the store ({LEGACY}, both segments)"
    setting = ASSUMPTIONS[name].setting
    if settings.is_set(setting) and _setting(setting) == value:
        return f"environment (PLANNER_{setting.upper()})"
    if legacy and settings.is_set(LEGACY) and _setting(LEGACY) == value:
        return f"environment (PLANNER_{LEGACY.upper()}, both segments)"
    return "default"


def saved_names(rows: list[dict[str, Any]]) -> list[str]:
    """The assumptions of workload_sources' rows whose value in force is saved in the store."""
    return [r["name"] for r in rows if str(r["source"]).startswith("saved in the store")]


@store.retry_conflicts
def save_workload(path: Path, *, scope: Scope, values: dict[str, float | None], actor: str = "local",
                  seen: dict[str, float] | None = None) -> dict[str, Any]:  # fmt: skip
    """Save workload assumptions in the store (admins); None forgets a saved value. `touches_per_year` saves
    (or forgets) both segments' touches. With `seen` (the values a form showed), a value someone else changed
    since is refused and nothing is written. Returns the assumptions now in force and the names that changed."""
    require_admin(scope)
    unknown = sorted(set(values) - set(ASSUMPTIONS) - {LEGACY})
    if unknown:
        raise BadInput(f"unknown workload setting {unknown[0]!r}; use one of {', '.join(ASSUMPTIONS)}")
    Workload.defaults().with_overrides(**values)  # validate every given value before anything is written
    with store.write(path) as con:
        before = load_workload(con)
        _refuse_moved(before, values, seen or {})
        q.write_assumptions(con, _segment_writes(values, _stored(con)), scope=scope)
        after = load_workload(con)
        changed = [f.name for f in fields(Workload) if getattr(before, f.name) != getattr(after, f.name)]
        forgotten = [k for k, v in values.items() if v is None]
        if changed or forgotten:
            audit(con, actor, "save_workload", {"changed": {k: getattr(after, k) for k in changed},
                                                "reset": forgotten}, scope=scope)  # fmt: skip
    return {"workload": after, "changed": changed}


def _refuse_moved(before: Workload, values: dict[str, float | None], seen: dict[str, float]) -> None:
    """Refuse a value the caller edited that someone else changed since the caller read it (to another value)."""
    for name, shown in seen.items():
        now, wanted = float(getattr(before, name)), values.get(name)
        if wanted is not None and not math.isclose(now, shown) and not math.isclose(now, wanted):
            raise BadInput(f"{ASSUMPTIONS[name].label.lower()} changed to {now:g} since you opened the page; reload "
                           "to see it")  # fmt: skip


def _segment_writes(values: dict[str, float | None], stored: dict[str, float]) -> dict[str, float | None]:
    """The rows to write for `values`: a given touches_per_year becomes both segments' rows, and a stored one
    (earlier versions) the rows of the segments it stood for, so that no single value is left to shadow them."""
    writes = {k: v for k, v in values.items() if k != LEGACY}
    if LEGACY in values:
        both: float | None = values[LEGACY]
    elif LEGACY in stored:
        try:
            both = Workload.defaults().with_overrides(**{LEGACY: stored[LEGACY]}).touches_per_year
        except BadInput:  # a hand-edited value out of range never applied: drop it
            both = None
    else:
        return writes
    for name in SEGMENTS:
        if name not in writes and (LEGACY in values or name not in stored):
            writes[name] = both
    writes[LEGACY] = None
    return writes
