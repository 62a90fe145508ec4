"""What a plan is made of: the rep's decisions per target (`TargetSpec`) and a composed `Plan`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

import pandas as pd

from planner.plan.calendar import WorkCalendar


class TargetSpec(NamedTuple):
    """What the rep decided about one target; None means 'let the planner suggest'."""

    account_id: str
    offer_id: str | None = None
    start_week: int | None = None
    rationale: str | None = None
    status: str = "planned"


@dataclass
class Plan:
    """A composed plan: what the page shows and every export writes."""

    plan_id: int | None
    rep: dict[str, Any]
    start: date
    weeks: int
    end: date
    as_of: date
    rules: dict[str, Any]
    source: str
    targets: pd.DataFrame
    steps: pd.DataFrame
    needs: pd.DataFrame
    load: pd.DataFrame
    kpis: dict[str, Any]
    gap: pd.DataFrame
    actual: pd.DataFrame
    offers: pd.DataFrame
    book: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    partners: pd.DataFrame = field(default_factory=pd.DataFrame)
    made_on: date | None = None  # the day the plan was composed (asks are never due before it)
    calendar: WorkCalendar | None = None  # the rep's working days and public holidays
    # The store's currency (ISO code): every file of the plan writes money in it, wherever it is built.
    currency: str = "USD"

    @property
    def saved(self) -> bool:
        return self.plan_id is not None

    def specs(self) -> tuple[TargetSpec, ...]:
        """The rep's decisions, in order (what save() stores)."""
        return tuple(
            TargetSpec(
                str(r.account_id),
                None if missing(r.offer_choice) else str(r.offer_choice),
                None if missing(r.start_week_choice) else int(r.start_week_choice),
                None if missing(r.rationale_choice) else str(r.rationale_choice),
                str(r.status),
            )
            for r in self.targets.itertuples(index=False)
        )


def missing(value: Any) -> bool:
    """None, NaN, NaT or pd.NA (a cell the rep left empty)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


TARGET_FRAME_COLS = [
    "position", "account_id", "name", "industry", "state", "city", "employees", "tier", "book_rank", "est_users",
    "price_per_user", "potential", "propensity", "expected_value", "offer_id", "offer", "suggested_offer_id",
    "offer_reason", "mix", "start_week", "first_touch", "rationale", "needs", "status", "offer_choice",
    "start_week_choice", "rationale_choice",
]  # fmt: skip
STEP_FRAME_COLS = [
    "account_id", "account_name", "position", "step_no", "step_date", "week", "channel", "action", "is_decision",
    "hours",
]  # fmt: skip
