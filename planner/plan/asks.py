"""What the plan asks of other teams (marketing ABM, partner introductions, BDR/SDR warm-up) for one
account: each ask serves one touch of the sequence and is due before it, never before today."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, NamedTuple

import pandas as pd

from planner.plan.calendar import WorkCalendar
from planner.plan.offers import json_list

NEED_COLS = ["team", "account_id", "account_name", "ask", "due", "serves_step", "serves_date", "serves", "rule"]


class Touch(NamedTuple):
    """A dated touch of an account's sequence, as the asks see it."""

    step_no: int
    when: date
    channel: str
    action: str


def abm(tier: int, rules: dict[str, Any]) -> bool:
    """Whether the account's tier gets an ABM campaign."""
    return tier in [int(t) for t in rules["abm_tiers"]]


def warm_up(cold: bool, rules: dict[str, Any]) -> bool:
    """Whether BDR/SDR warm the account up before the rep's first touch."""
    mode = rules["sdr_warmup"]
    return bool(mode == "all" or (mode == "cold" and cold))


def lead_days(tier: int, cold: bool, rules: dict[str, Any]) -> int:
    """Days the asks that serve the first touch need before it (0 when none does)."""
    leads = [0]
    if abm(tier, rules):
        leads.append(int(rules["abm_lead_days"]))
    if warm_up(cold, rules):
        leads.append(int(rules["sdr_lead_days"]))
    return max(leads)


def _due(want: date, serves: date, calendar: WorkCalendar, floor: date | None) -> date:
    """A working day on or before `want` and before `serves`, and not before `floor` (today) when given."""
    day = calendar.previous_working(min(want, serves - timedelta(days=1)))
    if floor is not None and day < floor:
        nearest = calendar.next_working(floor)
        day = nearest if nearest < serves else floor
    return day


def partner_records(partners: pd.DataFrame) -> list[tuple[str, list[str], list[str]]]:
    """Partners as (name, industries, upper-case states), in order."""
    return [
        (str(p.name), json_list(p.industries), [s.upper() for s in json_list(p.states)])
        for p in partners.itertuples(index=False)
    ]


def region_key(account: dict[str, Any]) -> str:
    """The account's region as a partner lists it: a bare state code in the US (or where the country is unknown),
    else country-region ('AU-WA'): Perth, WA, Australia is no Washington-state account."""
    state = str(account.get("state") or "").strip().upper()
    country = account.get("country_code")
    country = "" if country is None or (isinstance(country, float) and country != country) else str(country).upper()
    if not state:
        return ""
    return state if country in ("", "US") else f"{country}-{state}"


def _partner(account: dict[str, Any], partners: list[tuple[str, list[str], list[str]]]) -> tuple[str, str, str] | None:
    """The first partner covering the account's industry or region: (name, what it covers, why). A partner's
    regions are US state codes ('WA') or a country's region ('AU-WA')."""
    region = region_key(account)
    for name, industries, states in partners:
        by_industry = account.get("industry") in industries
        if by_industry or (region and region in states):
            covers = account["industry"] if by_industry else region
            return name, str(covers), f"partner covers the {'industry' if by_industry else 'region'}"
    return None


def suggest_needs(
    account: dict[str, Any],
    tier: int,
    partners: pd.DataFrame | list[tuple[str, list[str], list[str]]],
    rules: dict[str, Any],
    touches: Sequence[Touch],
    cold: bool,
    calendar: WorkCalendar,
    floor: date | None = None,
) -> list[dict[str, Any]]:
    """The asks for one account: team, ask, due, the touch it serves (step, date, words) and the rule."""
    if not touches:
        return []
    first = touches[0]
    name = account["name"]
    out: list[dict[str, Any]] = []

    def ask(team: str, text: str, want: date, serves: Touch, rule: str) -> None:
        out.append(
            {
                "team": team, "ask": text, "due": _due(want, serves.when, calendar, floor),
                "serves_step": serves.step_no, "serves_date": serves.when,
                "serves": f"step {serves.step_no}: {serves.action} ({serves.when.isoformat()})", "rule": rule,
            }
        )  # fmt: skip

    if abm(tier, rules):
        lead = int(rules["abm_lead_days"])
        ask("Marketing", f"ABM campaign for {name} ({account.get('industry') or 'any industry'}): targeted ads "
            f"and content live {lead} days before the first touch", first.when - timedelta(days=lead), first,
            f"tier {tier} account")  # fmt: skip
    rows = partner_records(partners) if isinstance(partners, pd.DataFrame) else partners
    partner = _partner(account, rows) if rules["partner_intro"] else None
    if partner is not None:
        after = first.when + timedelta(days=int(rules["partner_intro_day"]))
        later = [t for t in touches if t.when > after] or [touches[-1]]
        serves = next((t for t in later if t.channel == "phone"), later[0])
        ask("Partners", f"Introduction to {name} via {partner[0]} (covers {partner[1]})", serves.when, serves,
            partner[2])  # fmt: skip
    if warm_up(cold, rules):
        lead = int(rules["sdr_lead_days"])
        rule = "every target" if rules["sdr_warmup"] == "all" else f"no activity in {int(rules['sdr_cold_days'])} days"
        ask("BDR/SDR", f"Warm-up of {name}: map contacts and make two touches in the {lead} days before the rep's "
            "first", first.when - timedelta(days=1), first, rule)  # fmt: skip
    return out
