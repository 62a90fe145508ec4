"""The dated sequence: a cadence per tier (its channel mix), laid on the rep's working days, each
account's start staggered so that every week stays within the rep's capacity and accounts do not
all get the same day; and the weekly load that results."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from planner.errors import BadInput
from planner.plan.calendar import WorkCalendar
from planner.plan.rules import MAX_WEEKS
from planner.plan.spec import missing

# Cadence templates by channel mix: (week 1-based, working day of that week 0-based, channel,
# action), written for 6 weeks of 5 working days; other lengths scale the weeks, other working
# weeks the days. A tier picks its mix in the rules (tier_mix).
MIXES: dict[str, list[tuple[int, int, str, str]]] = {
    "call-first": [
        (1, 0, "email", "Intro email with {offer}"),
        (1, 1, "phone", "Call: opener and qualification"),
        (1, 3, "social", "Connect on LinkedIn and engage with a recent post"),
        (2, 0, "phone", "Call #2, voicemail if no answer"),
        (2, 2, "email", "Follow-up email: {offer}"),
        (2, 4, "phone", "Call #3: ask for a discovery meeting"),
        (3, 1, "event", "Invite to {event}"),
        (3, 3, "phone", "Call #4: follow up on the invitation"),
        (4, 0, "email", "Value email: {story}"),
        (4, 2, "phone", "Call #5: ask for a meeting with the buying group"),
        (5, 0, "social", "Comment on or message about a recent post"),
        (5, 2, "phone", "Call #6"),
        (6, 0, "email", "Break-up email: last ask for a meeting"),
    ],
    "balanced": [
        (1, 0, "email", "Intro email with {offer}"),
        (1, 1, "social", "Connect on LinkedIn and engage with a recent post"),
        (1, 2, "phone", "Call: opener and qualification"),
        (2, 0, "email", "Follow-up email: {offer}"),
        (2, 2, "phone", "Call #2, voicemail if no answer"),
        (2, 4, "social", "LinkedIn message referring to the follow-up"),
        (3, 1, "event", "Invite to {event}"),
        (4, 0, "phone", "Call #3: ask for a meeting"),
        (4, 3, "email", "Value email: {story}"),
        (5, 0, "social", "Comment on or message about a recent post"),
        (5, 2, "phone", "Call #4"),
        (6, 0, "email", "Break-up email: last ask for a meeting"),
    ],
    "digital": [
        (1, 0, "email", "Intro email with {offer}"),
        (1, 2, "social", "Connect on LinkedIn and engage with a recent post"),
        (2, 1, "email", "Follow-up email: {offer}"),
        (3, 0, "phone", "Call: opener and qualification"),
        (3, 3, "event", "Invite to {event}"),
        (4, 2, "email", "Value email: {story}"),
        (5, 1, "social", "LinkedIn message: a relevant idea for their team"),
        (6, 0, "email", "Break-up email: last ask for a meeting"),
    ],
}
# Existing customers get an expansion play whatever their tier: review what they use, find new teams, propose more.
EXPANSION = "expansion"
EXPANSION_STEPS: list[tuple[int, int, str, str]] = [
    (1, 0, "email", "Check-in email to the sponsor: what changed since the last purchase, with {offer}"),
    (1, 2, "phone", "Call: account review (adoption, results, renewal date)"),
    (2, 1, "social", "Connect with new stakeholders and teams on LinkedIn"),
    (3, 0, "email", "Value email: {story}"),
    (3, 2, "event", "Invite to {event}"),
    (4, 1, "phone", "Call: expansion discovery with a new team's lead"),
    (5, 0, "email", "Expansion proposal: more users, new teams or an upgrade"),
    (6, 0, "phone", "Call: agree the expansion's next step"),
]
# A customer whose last win lies this many years or more before the plan's start is lapsed (planner.plan.book) and
# gets a win-back, not an expansion: the sponsor may have left and what they bought may be gone, so the rep finds
# today's people and needs before proposing a return.
LAPSED_YEARS = 3
WIN_BACK = "win-back"
WIN_BACK_STEPS: list[tuple[int, int, str, str]] = [
    (1, 0, "email", "Win-back email to the former sponsor or their successor: what is new since they last bought, "
                    "with {offer}"),
    (1, 2, "phone", "Call: find who owns the decision today and what they use now"),
    (2, 1, "social", "Connect with today's stakeholders on LinkedIn"),
    (3, 0, "email", "Value email: {story}"),
    (3, 2, "event", "Invite to {event}"),
    (4, 1, "phone", "Call: discovery of today's needs and why they stopped buying"),
    (5, 0, "email", "Win-back proposal sized to today's team"),
    (6, 0, "phone", "Call: agree the next step to come back"),
]  # fmt: skip
_TEMPLATES = {**MIXES, EXPANSION: EXPANSION_STEPS, WIN_BACK: WIN_BACK_STEPS}
MIX_LABELS = {
    "call-first": "call-first (13 touches, 6 of them calls)",
    "balanced": "balanced (12 touches across email, phone, LinkedIn and an event)",
    "digital": "digital (8 touches, mostly email and LinkedIn)",
    EXPANSION: "expansion (existing customers: 8 touches, account review to proposal)",
    WIN_BACK: f"win-back (lapsed customers, last win {LAPSED_YEARS}+ years before the plan: 8 touches, today's "
    "buyer to proposal)",
}


class Step(NamedTuple):
    """One step of a cadence: working days after the account's first step, channel, action."""

    offset: int
    channel: str
    action: str
    is_decision: bool


def mix_for_tier(rules: dict[str, Any], tier: int) -> str:
    """The channel mix the rules give a tier (balanced when they name none)."""
    mix = str(dict(rules.get("tier_mix") or {}).get(str(tier), "balanced"))
    if mix not in MIXES:
        raise BadInput(f"channel mix {mix!r} of tier {tier} is not one of {', '.join(MIXES)}")
    return mix


def mix_for(rules: dict[str, Any], tier: int, is_customer: bool, lapsed: bool = False) -> str:
    """The cadence of one target: the win-back for a lapsed customer, the expansion play for an existing one,
    else its tier's channel mix."""
    if is_customer and lapsed:
        return WIN_BACK
    return EXPANSION if is_customer else mix_for_tier(rules, tier)


def cadence(weeks: int, rules: dict[str, Any], mix: str = "balanced", days_per_week: int = 5) -> list[Step]:
    """The sequence template for `weeks` weeks of `days_per_week` working days, decision points at
    the end of the nurture week and of the last week."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise BadInput(f"weeks {weeks} is out of range; use 1 to {MAX_WEEKS} (default 6)")
    if mix not in _TEMPLATES:
        raise BadInput(f"channel mix {mix!r} is not one of {', '.join(_TEMPLATES)}")
    n = max(1, int(days_per_week))
    steps = []
    for week, day, channel, action in _TEMPLATES[mix]:
        w = min(weeks, max(1, round(week * weeks / 6)))
        steps.append(Step((w - 1) * n + min(day, n - 1), channel, action, False))
    nurture = int(rules["nurture_week"] or max(1, math.ceil(weeks / 2)))
    nurture = min(max(1, nurture), weeks)
    if mix == EXPANSION:
        quiet = f"Decision: no reply by week {nurture} -> back to the customer-success rhythm"
        last = f"Decision: no expansion meeting by week {weeks} -> drop from this plan's targets"
    else:
        quiet = f"Decision: no reply by week {nurture} -> move to automated nurture"
        last = f"Decision: no meeting by week {weeks} -> drop from targets"
    steps.append(Step(nurture * n - 1, "decision", quiet, True))
    steps.append(Step(weeks * n - 1, "decision", last, True))
    steps.sort(key=lambda s: (s.offset, s.is_decision))
    return steps


def weekly_capacity(rep: dict[str, Any], rules: dict[str, Any], default_capacity_hours: float) -> float:
    """Hours a week the plan's touches may take: the rep's yearly selling hours (else the workload
    model's default capacity) / working weeks x plan share."""
    value = rep.get("capacity_hours")
    yearly = float(default_capacity_hours) if value is None or missing(value) else float(value)
    return yearly / float(rules["working_weeks"]) * float(rules["plan_share"])


@dataclass(frozen=True)
class Lane:
    """What the scheduler needs of one target: its cadence, the week the rep chose (0-based, None:
    let the planner pick) and the first day its first step may fall on (lead time of the asks)."""

    template: list[Step]
    fixed_week: int | None
    earliest: date


@dataclass
class _Load:
    start: date
    hours: dict[str, float]
    week: defaultdict[int, float]
    day: Counter[date]

    def week_of(self, day: date) -> int:
        return (day - self.start).days // 7

    def added(self, days: list[date], first: int, template: list[Step]) -> dict[int, float]:
        out: defaultdict[int, float] = defaultdict(float)
        for s in template:
            out[self.week_of(days[first + s.offset])] += float(self.hours.get(s.channel, 0.0))
        return out

    def peak(self, added: dict[int, float]) -> float:
        return max((self.week[w] + h for w, h in added.items()), default=0.0)

    def book(self, days: list[date], first: int, template: list[Step], added: dict[int, float]) -> None:
        for w, h in added.items():
            self.week[w] += h
        for s in template:
            self.day[days[first + s.offset]] += 1


def schedule(
    lanes: Sequence[Lane],
    calendar: WorkCalendar,
    start: date,
    hours: dict[str, float],
    capacity: float,
    max_stagger_weeks: int,
) -> list[list[date]]:
    """The date of every step of every lane. Chosen weeks stay (on their least busy day); the others
    take, in order of their `earliest`, the earliest working day from their `earliest` on whose weeks stay within
    capacity, the least busy day of a week first, looking `max_stagger_weeks` weeks ahead; if none
    fits, the start with the lowest peak week."""
    if not lanes:
        return []
    n = len(calendar.working_days)
    longest = max((s.offset for lane in lanes for s in lane.template), default=0)
    ahead = max(max((lane.earliest - start).days for lane in lanes), 0) // 7 + 1
    chosen = max((lane.fixed_week or 0 for lane in lanes), default=0)
    days = calendar.working_days_from(start, n * (max(0, max_stagger_weeks) + ahead + chosen + 2) + longest + 1)
    load = _Load(start, hours, defaultdict(float), Counter())
    firsts: list[int] = [0] * len(lanes)
    # Chosen weeks first; then the others in the order they may start (in plan order when equal),
    # so accounts free to start at once take the first weeks while others wait on their asks.
    order = [i for i, lane in enumerate(lanes) if lane.fixed_week is not None]
    auto = [i for i, lane in enumerate(lanes) if lane.fixed_week is None]
    order += sorted(auto, key=lambda i: (lanes[i].earliest, i))
    for i in order:
        lane = lanes[i]
        candidates = _candidates(lane, days, load, n, max_stagger_weeks)
        best, best_peak, best_added = candidates[0], math.inf, {}
        for first in candidates:
            added = load.added(days, first, lane.template)
            peak = load.peak(added)
            if lane.fixed_week is not None or peak <= capacity + 1e-9:
                best, best_added = first, added
                break
            if peak < best_peak - 1e-9:
                best, best_peak, best_added = first, peak, added
        load.book(days, best, lane.template, best_added)
        firsts[i] = best
    return [[days[firsts[i] + s.offset] for s in lane.template] for i, lane in enumerate(lanes)]


def _candidates(lane: Lane, days: list[date], load: _Load, n: int, max_stagger_weeks: int) -> list[int]:
    """Indexes of the working days the lane may start on, in the order they are tried."""
    last = len(days) - 1 - max(s.offset for s in lane.template)
    if lane.fixed_week is not None:
        week = [i for i in range(last + 1) if load.week_of(days[i]) == lane.fixed_week]
        if not week:  # a week without working days: the first working day after it
            week = [next((i for i in range(last + 1) if load.week_of(days[i]) > lane.fixed_week), last)]
        return sorted(week, key=lambda i: (load.day[days[i]], i))[:1]
    first = min(next((i for i, d in enumerate(days) if d >= lane.earliest), last), last)
    window = range(first, min(first + n * (max(0, max_stagger_weeks) + 1), last + 1))
    return sorted(window, key=lambda i: (load.week_of(days[i]), load.day[days[i]], i)) or [first]


def weekly_load(steps: pd.DataFrame, start: date, total_weeks: int, capacity: float) -> pd.DataFrame:
    """Hours and touches per plan week against the weekly capacity; overloaded weeks flagged."""
    weeks = np.arange(1, total_weeks + 1)
    touches = steps[~steps["is_decision"].astype(bool)] if len(steps) else steps
    hours = steps.groupby("week")["hours"].sum() if len(steps) else pd.Series(dtype=float)
    count = touches.groupby("week").size() if len(touches) else pd.Series(dtype=int)
    df = pd.DataFrame({"week": weeks})
    df["week_start"] = [start + timedelta(weeks=int(w) - 1) for w in weeks]
    df["touches"] = df["week"].map(count).fillna(0).astype(int)
    df["hours"] = df["week"].map(hours).fillna(0.0).round(2)
    df["capacity"] = round(capacity, 2)
    df["overloaded"] = df["hours"] > df["capacity"] + 1e-9
    return df
