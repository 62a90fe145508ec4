"""The plan's editable rules: defaults, validation, canonical JSON, and the plan start a user types."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from planner.errors import BadInput
from planner.plan.calendar import parse_working_days
from planner.text import one_line

TEAMS = ("Marketing", "Partners", "BDR/SDR")
MAX_WEEKS = 26

DEFAULT_RULES: dict[str, Any] = {
    "n_targets": 20,  # accounts a fresh plan starts with
    "tier1_share": 0.10,  # top 10% of the rep's book by expected value is tier 1
    "tier2_share": 0.30,  # the next 30% tier 2, the rest tier 3
    "abm_tiers": [1],  # tiers that get an ABM campaign with marketing
    "abm_lead_days": 14,  # the campaign runs this long before the first touch
    "partner_intro": True,  # ask a partner covering the industry or state for an introduction
    "partner_intro_day": 7,  # ... this many days after the first touch
    "sdr_warmup": "cold",  # BDR/SDR warm-up before the first touch: cold | all | never
    "sdr_cold_days": 90,  # cold = no activity in this many days before the first touch
    "sdr_lead_days": 7,  # the warm-up starts this many days before the first touch
    "trial_min_intent": 60,  # a free trial for accounts at least this interested (or growing fast)
    "trial_min_growth": 0.15,
    "discount_with_open_deal": True,  # a time-limited discount where a deal is already open
    "nurture_week": None,  # decision: no reply by this week -> automated nurture (None: half the cadence)
    "plan_share": 0.5,  # share of the rep's weekly selling hours the plan's touches may take
    "working_weeks": 46,  # selling weeks per year (capacity_hours is yearly)
    "max_stagger_weeks": 4,  # how far the planner may push a sequence's start to keep weeks under capacity
    "hours": {"email": 0.25, "phone": 0.5, "social": 0.15, "event": 0.5, "decision": 0.1},
    "meeting_rate": 0.35,  # share of targets expected to take a meeting within the cadence
    "meetings_per_week_target": 1.0,  # company target: first meetings a week from the plan
    "coverage_target": 1.0,  # company target: plan expected value / quota
    "working_days": [],  # the rep's working weekdays, 0 = Monday ([]: the holiday country's week, else Mon-Fri)
    "holiday_country": "",  # ISO country whose public holidays are skipped ("": where the rep lives, else accounts)
    "holiday_subdiv": "",  # state or province, its code or name: BY, Bayern ("": the rep's home's, see rep_calendar)
    "time_zone": "",  # IANA zone of the calendar file's times: Asia/Tokyo ("": the rep's home's, see rep_calendar)
    "tier_mix": {"1": "call-first", "2": "balanced", "3": "digital"},  # the cadence's channel mix per tier
}
# Rules a leader or admin sets on a plan; a rep's plan keeps them (see changed_company_targets).
COMPANY_TARGETS = {"coverage_target": "coverage target", "meetings_per_week_target": "meetings per week target"}


def rules_with_defaults(rules: dict[str, Any] | str | None) -> dict[str, Any]:
    """Rules merged over the defaults, validated; accepts a dict or its JSON text."""
    if isinstance(rules, str):
        try:
            rules = json.loads(rules) if rules.strip() else {}
        except json.JSONDecodeError as exc:
            raise BadInput(f"plan rules are not valid JSON ({exc.msg}); fix or clear them") from None
    if rules is not None and not isinstance(rules, dict):
        raise BadInput('plan rules must be a JSON object such as {"n_targets": 20}')
    out = json.loads(json.dumps(DEFAULT_RULES))
    for key, value in (rules or {}).items():
        if key not in DEFAULT_RULES:
            continue  # a rule from another version: ignore rather than fail
        if key == "tier_mix" and isinstance(value, dict):
            out["tier_mix"].update({str(k): str(v) for k, v in value.items()})
        elif key == "hours":
            try:
                out["hours"].update({k: float(v) for k, v in dict(value).items() if k in out["hours"]})
            except (TypeError, ValueError):
                raise BadInput('hours must map a channel to hours, e.g. {"email": 0.25}') from None
        else:
            out[key] = value
    _check(out)
    return out


def changed_company_targets(rules: dict[str, Any], allowed: dict[str, Any]) -> list[str]:
    """The company targets in `rules` that differ from `allowed`, in words: 'coverage target 1 -> 0'."""
    out = []
    for name, label in COMPANY_TARGETS.items():
        try:
            new, old = float(rules[name]), float(allowed[name])
        except (TypeError, ValueError):
            raise BadInput(f"{label} must be a number, e.g. 1.0") from None
        if abs(new - old) > 1e-9:
            out.append(f"{label} {old:g} -> {new:g}")
    return out


def _check(out: dict[str, Any]) -> None:
    try:
        shares = float(out["tier1_share"]), float(out["tier2_share"])
        n_targets, plan_share = int(out["n_targets"]), float(out["plan_share"])
    except (TypeError, ValueError):
        raise BadInput("tier shares, n_targets and plan_share must be numbers") from None
    if not all(0 <= s <= 1 for s in shares):
        raise BadInput("tier shares must be between 0 and 1, e.g. tier1_share 0.1 and tier2_share 0.3")
    days = out["working_days"]
    out["working_days"] = list(parse_working_days(days)) if days not in (None, "", [], ()) else []
    out["holiday_country"] = "" if out["holiday_country"] is None else str(out["holiday_country"]).strip().upper()
    # The state as written ('Bayern', 'BY'): the calendar matches it without case, and a note quotes it as given.
    out["holiday_subdiv"] = "" if out["holiday_subdiv"] is None else " ".join(str(out["holiday_subdiv"]).split())
    out["time_zone"] = _time_zone(out["time_zone"])
    if out["sdr_warmup"] not in ("cold", "all", "never"):
        raise BadInput(f"sdr_warmup {out['sdr_warmup']!r} is not one of cold, all, never")
    if n_targets < 0:
        raise BadInput(f"n_targets {out['n_targets']} must be 0 or more")
    if plan_share <= 0:
        raise BadInput(f"plan_share {out['plan_share']} must be above 0 (share of weekly selling hours)")


def _time_zone(value: object) -> str:
    """An IANA time zone name as zoneinfo knows it ('' for none)."""
    name = "" if value is None else str(value).strip()
    if not name:
        return ""
    if name not in _zones():
        raise BadInput(
            f"time zone {one_line(name, 60)!r} is not known; use an IANA name such as Asia/Tokyo, Europe/London "
            "or America/New_York, or leave it empty for the rep's home's"
        )
    return name


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def rules_json(rules: dict[str, Any]) -> str:
    """Canonical JSON of rules (hashable, for caching and storing)."""
    return json.dumps(rules, sort_keys=True)


def parse_start(text: str | None) -> date | None:
    """A YYYY-MM-DD start date (None passes through)."""
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise BadInput(f"start {text!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-02") from None
