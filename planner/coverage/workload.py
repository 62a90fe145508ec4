"""The one workload model: the hours a year an account takes, and the assumptions behind it.

hours = touches_per_year x (meeting_hours + travel_share x 2 x distance_km / travel_kmh)

Every touch takes a meeting's time and the in-person share of touches adds a round trip from the
rep's home. Where the distance cannot be measured (no coordinates, or a location known only to the
country) the travel part is left out and the figure is the meeting time alone. Two more assumptions
travel with it: how far a rep will drive to an account (`reachable_km`) and the yearly selling hours
of a rep whose own capacity is unknown (`default_capacity_hours`).

Coverage, Rebalance, the rep's plan and the CLI all read these from one place, `load_workload(con)`:
values an admin saved in the store (Settings page, `planner settings`) win over the deployment's
`PLANNER_*` variables, which win over the defaults in planner/settings.py. SQL gets the model as
two numbers (`fixed_hours`, `hours_per_km`), never as its own formula.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

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
    "touches_per_year": Assumption(
        "Touches per account a year", "Calls, emails and visits one account gets in a year.", 0.5, 365, 1,
        "touches_per_year"),
    "meeting_hours": Assumption("Hours per touch", "Time of one touch, travel excluded.", 0, 24, 0.25, "meeting_hours"),
    "travel_kmh": Assumption(
        "Travel speed (km/h)", "Average door-to-door speed that turns distance into hours.", 5, 1000, 5, "travel_kmh"),
    "travel_share": Assumption(
        "In-person share of touches", "The rest are remote and take no travel.", 0, 1, 0.05, "travel_share"),
    "reachable_km": Assumption(
        "Reachable distance (km)", "Accounts farther than this from the owner's home count as not covered.",
        10, 20_000, 50, "reachable_km"),
    "default_capacity_hours": Assumption(
        "Default capacity (hours a year)", "Selling hours of a rep whose own capacity is not in the store.",
        100, 8_760, 100, "capacity_hours"),
}  # fmt: skip
"""The assumptions in display order (the keys are Workload's fields)."""


@dataclass(frozen=True)
class Workload:
    """The workload model's assumptions; build it with load_workload(con) to get the ones in force."""

    touches_per_year: float
    meeting_hours: float
    travel_kmh: float
    travel_share: float
    reachable_km: float
    default_capacity_hours: float

    def __post_init__(self) -> None:
        for name, spec in ASSUMPTIONS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise BadInput(f"{name} {value!r} is not a number; use {spec.low:g} to {spec.high:g}")
            if not (math.isfinite(value) and spec.low <= value <= spec.high):
                raise BadInput(f"{name} {value:g} is out of range; use {spec.low:g} to {spec.high:g}")
            if name == "touches_per_year" and value <= 0 or name == "travel_kmh" and value <= 0:
                raise BadInput(f"{name} {value:g} must be above 0")

    @property
    def fixed_hours(self) -> float:
        """Hours a year an account takes whatever its distance (the meetings)."""
        return self.touches_per_year * self.meeting_hours

    @property
    def hours_per_km(self) -> float:
        """Extra hours a year per km between the rep's home and the account (the in-person round trips)."""
        return self.touches_per_year * self.travel_share * 2.0 / self.travel_kmh

    def hours(self, distance_km: Any) -> np.ndarray:
        """Yearly hours of accounts at `distance_km` (scalar or array; NaN: travel not measurable)."""
        d = np.asarray(distance_km, dtype=float)
        if np.any(d < 0):
            raise BadInput("distance_km must not be negative")
        return self.fixed_hours + self.hours_per_km * np.nan_to_num(d, nan=0.0)

    def describe(self) -> str:
        """The formula with these numbers, for notes under tables and charts."""
        return (
            f"Workload = {self.touches_per_year:g} touches a year x ({self.meeting_hours:g} h + "
            f"{self.travel_share:.0%} in person x round trip at {self.travel_kmh:g} km/h); where travel cannot "
            f"be measured, the meetings only. Reach {self.reachable_km:,.0f} km; "
            f"{self.default_capacity_hours:,.0f} h a year for reps without their own capacity."
        )

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def defaults(cls) -> Workload:
        """The deployment's assumptions (PLANNER_* variables, else planner/settings.py), store aside."""
        values = {}
        for name, spec in ASSUMPTIONS.items():
            try:
                values[name] = float(settings.get(spec.setting))
            except ValueError:
                env = f"PLANNER_{spec.setting.upper()}"
                raise BadInput(f"{env} is not a number; set it to a number or unset it") from None
        return cls(**values)

    def with_overrides(self, **overrides: float | None) -> Workload:
        """These assumptions with some replaced (None keeps the current value)."""
        unknown = sorted(set(overrides) - set(ASSUMPTIONS))
        if unknown:
            raise BadInput(f"unknown workload setting {unknown[0]!r}; use one of {', '.join(ASSUMPTIONS)}")
        return replace(self, **{k: float(v) for k, v in overrides.items() if v is not None})


def _stored(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, text in q.read_assumptions(con).items():
        if name in ASSUMPTIONS:
            try:
                out[name] = float(text)
            except ValueError:  # a hand-edited store: ignore the bad row, the deployment's value stands
                continue
    return out


def load_workload(con: duckdb.DuckDBPyConnection, **overrides: float | None) -> Workload:
    """The assumptions in force: saved in the store, else the deployment's, with `overrides` on top."""
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
        if name in stored and stored[name] == getattr(current, name):
            source = "saved in the store"
        elif settings.get(spec.setting) != settings.SETTINGS[spec.setting].default:
            source = f"environment (PLANNER_{spec.setting.upper()})"
        else:
            source = "default"
        rows.append({"name": name, "label": spec.label, "value": float(getattr(current, name)), "source": source,
                     "help": spec.help})  # fmt: skip
    return rows


@store.retry_conflicts
def save_workload(path: Path, *, scope: Scope, values: dict[str, float | None], actor: str = "local") -> dict[str, Any]:
    """Save workload assumptions in the store (admins); None forgets a saved value. Returns the
    assumptions now in force and the names that changed."""
    require_admin(scope)
    unknown = sorted(set(values) - set(ASSUMPTIONS))
    if unknown:
        raise BadInput(f"unknown workload setting {unknown[0]!r}; use one of {', '.join(ASSUMPTIONS)}")
    Workload.defaults().with_overrides(**values)  # validate every given value before anything is written
    with store.write(path) as con:
        before = load_workload(con)
        q.write_assumptions(con, values, scope=scope)
        after = load_workload(con)
        changed = [f.name for f in fields(Workload) if getattr(before, f.name) != getattr(after, f.name)]
        forgotten = [k for k, v in values.items() if v is None]
        if changed or forgotten:
            audit(con, actor, "save_workload", {"changed": {k: getattr(after, k) for k in changed},
                                                "reset": forgotten}, scope=scope)  # fmt: skip
    return {"workload": after, "changed": changed}
