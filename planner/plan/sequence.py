"""The dated sequence: the cadence template, staggered starts that keep weeks under capacity, the
asks of other teams with their due dates, and the weekly load."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from planner import settings
from planner.errors import BadInput
from planner.plan.offers import json_list
from planner.plan.rules import MAX_WEEKS
from planner.plan.spec import missing

# The 6-week cadence: (week 1-based, weekday 0=Monday, channel, action). Other lengths scale the weeks.
CADENCE: list[tuple[int, int, str, str]] = [
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
]


def cadence(weeks: int, rules: dict[str, Any]) -> list[tuple[int, str, str, bool]]:
    """The sequence template for `weeks` weeks: (day offset from the start Monday, channel, action,
    is_decision). The 6-week template's weeks scale to other lengths; decision points close it."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise BadInput(f"weeks {weeks} is out of range; use 1 to {MAX_WEEKS} (default 6)")
    steps: list[tuple[int, str, str, bool]] = []
    for week, weekday, channel, action in CADENCE:
        w = min(weeks, max(1, round(week * weeks / 6)))
        steps.append(((w - 1) * 7 + weekday, channel, action, False))
    nurture = int(rules["nurture_week"] or max(1, math.ceil(weeks / 2)))
    nurture = min(max(1, nurture), weeks)
    steps.append(
        ((nurture - 1) * 7 + 4, "decision", f"Decision: no reply by week {nurture} -> move to automated nurture", True)
    )
    steps.append(((weeks - 1) * 7 + 4, "decision", f"Decision: no meeting by week {weeks} -> drop from targets", True))
    steps.sort(key=lambda s: (s[0], s[3]))
    return steps


def weekly_hours(template: list[tuple[int, str, str, bool]], weeks: int, hours: dict[str, float]) -> np.ndarray:
    """Hours of one account's sequence in each week of its cadence."""
    h = np.zeros(weeks)
    for day, channel, _, _ in template:
        h[day // 7] += float(hours.get(channel, 0.0))
    return h


def weekly_capacity(rep: dict[str, Any], rules: dict[str, Any]) -> float:
    """Hours a week the plan's touches may take: yearly selling hours / working weeks x plan share."""
    value = rep.get("capacity_hours")
    yearly = float(settings.get("capacity_hours")) if value is None or missing(value) else float(value)
    return yearly / float(rules["working_weeks"]) * float(rules["plan_share"])


def stagger(fixed: Sequence[int | None], per_week: np.ndarray, capacity: float, max_stagger: int) -> list[int]:
    """Start weeks (0-based) for each target: given ones stay; the others take the earliest week that
    keeps every week under capacity, else the week with the lowest peak."""
    weeks = len(per_week)
    horizon = weeks + max(max_stagger, max((f or 0) for f in fixed) if fixed else 0) + 1
    load = np.zeros(horizon)
    out: list[int] = [0] * len(fixed)
    for i, s in enumerate(fixed):
        if s is not None:
            out[i] = int(s)
            load[s : s + weeks] += per_week
    for i, s in enumerate(fixed):
        if s is not None:
            continue
        best, best_peak = 0, math.inf
        for cand in range(max_stagger + 1):
            peak = float((load[cand : cand + weeks] + per_week).max())
            if peak <= capacity + 1e-9:
                best = cand
                break
            if peak < best_peak - 1e-9:
                best, best_peak = cand, peak
        out[i] = best
        load[best : best + weeks] += per_week
    return out


def suggest_needs(
    account: dict[str, Any],
    tier: int,
    partners: pd.DataFrame,
    rules: dict[str, Any],
    first_touch: date,
    cold: bool,
) -> list[dict[str, Any]]:
    """What the plan asks of marketing, partners and BDR/SDR for one account, with due dates."""
    out: list[dict[str, Any]] = []
    if tier in [int(t) for t in rules["abm_tiers"]]:
        out.append(
            {
                "team": "Marketing",
                "ask": f"ABM campaign for {account['name']} ({account['industry']}): targeted ads and content "
                f"live {int(rules['abm_lead_days'])} days before the first touch",
                "due": first_touch - timedelta(days=int(rules["abm_lead_days"])),
                "rule": f"tier {tier} account",
            }
        )
    if rules["partner_intro"]:
        for p in partners.itertuples(index=False):
            industries = json_list(p.industries)
            states = [s.upper() for s in json_list(p.states)]
            by_industry = account.get("industry") in industries
            by_state = str(account.get("state") or "").upper() in states
            if by_industry or by_state:
                covers = account["industry"] if by_industry else account["state"]
                out.append(
                    {
                        "team": "Partners",
                        "ask": f"Introduction to {account['name']} via {p.name} (covers {covers})",
                        "due": first_touch + timedelta(days=int(rules["partner_intro_day"])),
                        "rule": f"partner covers the {'industry' if by_industry else 'region'}",
                    }
                )
                break
    mode = rules["sdr_warmup"]
    if mode == "all" or (mode == "cold" and cold):
        out.append(
            {
                "team": "BDR/SDR",
                "ask": f"Warm-up of {account['name']}: map contacts and make two touches before the rep's first",
                "due": first_touch - timedelta(days=int(rules["sdr_lead_days"])),
                "rule": "every target" if mode == "all" else f"no activity in {int(rules['sdr_cold_days'])} days",
            }
        )
    return out


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
