"""The plan as tables a person reads: human headers, values kept typed (numbers, dates) with the
kind of each column (money, percent, date ...), and one way to turn a value into text. The page,
Markdown, HTML and Excel exports all start from these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from planner.plan.calendar import describe_days
from planner.plan.sequence import EXPANSION, MIX_LABELS, WIN_BACK
from planner.plan.spec import Plan, missing
from planner.text import crm_record_id, currency_prefix

CHANNEL_LABEL = {"email": "Email", "phone": "Phone", "social": "LinkedIn", "event": "Event", "decision": "Decision"}

# The kind of every column that is not plain text, by header (the same header means the same kind).
KINDS: dict[str, str] = {
    "#": "int", "Tier": "int", "Est. users": "int", "Price per user": "money", "Potential": "money",
    "Propensity": "pct", "Expected value": "money", "Cumulative expected value": "money", "Start week": "int",
    "First touch": "date", "Date": "date", "Due": "date", "Serves touch on": "date", "Week": "int", "Step": "int",
    "Hours": "hours", "Week starting": "date", "Touches": "int", "Capacity (hours)": "hours", "Over capacity": "bool",
    "Last touch": "date", "Touched": "bool", "Met": "bool", "Opportunity created": "bool",
    "Opportunity amount": "money", "Steps due": "int", "Valid until": "date", "Active": "bool", "Targets": "int",
    "Chosen by the rep": "int",
}  # fmt: skip


@dataclass(frozen=True)
class Section:
    """One table of the plan: its title, the table, and the sentence to show when it is empty."""

    title: str
    table: pd.DataFrame
    empty: str


def cell_text(value: Any, kind: str = "text", currency: str | None = None) -> str:
    """A value as a person reads it: $12,345, 69%, Mon 7 Dec 2026, yes; empty for a missing value. Money in
    `currency` (a plan's: Plan.currency), else in this run's currency."""
    if missing(value):
        return ""
    if kind == "money":
        return f"{currency_prefix(currency)}{float(value):,.0f}"
    if kind == "pct":
        return f"{float(value):.0%}"
    if kind == "hours":
        return f"{float(value):.1f} h"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "bool" or isinstance(value, bool):
        return "yes" if bool(value) else "no"
    if kind == "date" or isinstance(value, date):
        day = value.date() if isinstance(value, datetime) else value if isinstance(value, date) else None
        day = day or pd.Timestamp(value).date()
        return f"{day:%a} {day.day} {day:%b %Y}"
    return str(value)


def text_table(df: pd.DataFrame, currency: str | None = None) -> pd.DataFrame:
    """Every cell of a table as text, by the kind of its column (money in `currency`, see cell_text)."""
    return pd.DataFrame({c: [cell_text(v, KINDS.get(str(c), "text"), currency) for v in df[c]] for c in df.columns})


def targets_table(plan: Plan) -> pd.DataFrame:
    """The targets: revenue maths, channel mix, offer, asks and why. CRM ID is the account's id in its CRM, blank
    for an account keyed by its name (as in the sales-engagement CSV): the importer's key is no record's id."""
    t = plan.targets
    return pd.DataFrame(
        {
            "#": t["position"], "Account": t["name"], "CRM ID": t["account_id"].map(crm_record_id),
            "Industry": t["industry"], "State": t["state"], "Tier": t["tier"], "Channel mix": t["mix"],
            "Est. users": t["est_users"].round(0), "Price per user": t["price_per_user"], "Potential": t["potential"],
            "Propensity": t["propensity"], "Expected value": t["expected_value"], "Offer": t["offer"],
            "Offer reason": t["offer_reason"], "Start week": t["start_week"], "First touch": t["first_touch"],
            "Asks of other teams": t["needs"], "Why this account": t["rationale"], "Status": t["status"],
        }
    )  # fmt: skip


def steps_table(plan: Plan) -> pd.DataFrame:
    """Every touch and decision point by date."""
    s = plan.steps.sort_values(["step_date", "position", "step_no"], kind="stable")
    return pd.DataFrame(
        {
            "Date": s["step_date"], "Week": s["week"], "Account": s["account_name"],
            "CRM ID": s["account_id"].map(crm_record_id),
            "Step": s["step_no"], "Kind": s["is_decision"].map({True: "decision point", False: "touch"}),
            "Channel": s["channel"].map(CHANNEL_LABEL), "Action": s["action"], "Hours": s["hours"],
        }
    ).reset_index(drop=True)  # fmt: skip


def needs_table(plan: Plan) -> pd.DataFrame:
    """The asks of other teams by due date, with the touch each one serves."""
    n = plan.needs
    return pd.DataFrame(
        {
            "Due": n["due"], "Team": n["team"], "Account": n["account_name"], "Ask": n["ask"],
            "Serves touch on": n["serves_date"], "Serves": n["serves"], "Rule": n["rule"],
        }
    )  # fmt: skip


def summary_rows(plan: Plan) -> list[tuple[str, Any, str]]:
    """(measure, value, kind) rows of the plan's summary."""
    k = plan.kpis
    cal = plan.calendar
    # Quota and expected value in several currencies: no coverage and no gap (kpi_alignment's quota_caveat).
    coverage = ("not comparable", "text") if k["quota_caveat"] else (k["coverage"], "pct")
    gap = ("not comparable", "text") if k["quota_caveat"] else (k["gap"], "money")
    rows: list[tuple[str, Any, str]] = [
        ("Rep", plan.rep["name"], "text"),
        ("Period", f"{cell_text(plan.start, 'date')} to {cell_text(plan.end, 'date')}", "text"),
        ("Cadence (weeks)", plan.weeks, "int"),
        ("Composed on", plan.made_on, "date"),
        ("Data as of", plan.as_of, "date"),
        ("Ranking", plan.source, "text"),
        ("Targets", k["targets"], "int"),
        ("Accounts per tier", ", ".join(f"{t}: {n}" for t, n in k["tiers"].items()), "text"),
        ("Channel mix per tier", mixes_text(plan), "text"),
        ("Estimated users", k["est_users"], "int"),
        ("Potential", k["potential"], "money"),
        ("Expected value", k["expected_value"], "money"),
        ("Quota", k["quota"] if k["quota"] else None, "money"),
        ("Pipeline coverage (expected value / quota)", *coverage),
        ("Coverage target", k["coverage_target"], "pct"),
        ("Gap to the coverage target", *gap),
        ("Expected meetings per week", round(k["meetings_per_week"], 1), "text"),
        ("Meetings per week target", k["meetings_per_week_target"], "text"),
        ("Plan hours per week available", k["capacity_per_week"], "hours"),
        ("Busiest week (hours)", k["peak_hours"], "hours"),
        ("Weeks over capacity", ", ".join(map(str, k["overloaded_weeks"])) or "none", "text"),
    ]
    if k.get("team_quota") is not None:
        rows.append(("Company quota (all reps)", k["team_quota"], "money"))
    if cal is not None:
        rows.append(("Working days", calendar_text(plan), "text"))
    return rows


def mixes_text(plan: Plan) -> str:
    """Which cadence each tier in the plan follows, in words."""
    tiers = sorted({int(t) for t in plan.targets["tier"]}) if len(plan.targets) else [1, 2, 3]
    mixes = dict(plan.rules.get("tier_mix") or {})
    text = "; ".join(f"tier {t} {MIX_LABELS.get(mixes.get(str(t), 'balanced'), 'balanced')}" for t in tiers)
    for mix, who in ((EXPANSION, "existing customer(s)"), (WIN_BACK, "lapsed customer(s)")):
        n = int((plan.targets["mix"] == mix).sum()) if len(plan.targets) else 0
        text += f"; {n} {who}: {MIX_LABELS[mix]}" if n else ""
    return text


def calendar_text(plan: Plan) -> str:
    """The working days and the public holidays the plan skips, in one line (what the calendar could not tell is
    among the plan's notes, said once)."""
    cal = plan.calendar
    if cal is None:
        return ""
    skipped = cal.holidays_between(plan.start, plan.end)
    where = f" ({cal.place} {cal.kinds} holidays)" if cal.place else ""
    days = f"{describe_days(cal.working_days)}{where}"
    if skipped:
        days += "; skipped: " + ", ".join(f"{name} {cell_text(d, 'date')}" for d, name in skipped)
    return days


def load_table(plan: Plan) -> pd.DataFrame:
    """Hours and touches per week against the plan's share of the rep's capacity."""
    w = plan.load
    return pd.DataFrame(
        {
            "Week": w["week"], "Week starting": w["week_start"], "Touches": w["touches"], "Hours": w["hours"],
            "Capacity (hours)": w["capacity"], "Over capacity": w["overloaded"],
        }
    )  # fmt: skip


def actual_table(plan: Plan) -> pd.DataFrame:
    """Plan vs actual per target."""
    a = plan.actual
    return pd.DataFrame(
        {
            "#": a["position"], "Account": a["name"], "Touches": a["touches"], "Last touch": a["last_touch"],
            "Touched": a["touched"], "Met": a["met"], "Opportunity created": a["opportunity"],
            "Opportunity amount": a["opportunity_amount"], "Steps due": a["steps_due"],
            "Nurture decision": a["nurture_decision"], "Drop decision": a["drop_decision"], "Status": a["status"],
        }
    )  # fmt: skip


def gap_table(plan: Plan) -> pd.DataFrame:
    """Accounts not in the plan toward the gap to the coverage target, in the ranking's order (may not close it)."""
    g = plan.gap
    return pd.DataFrame(
        {
            "Account": g["name"], "Industry": g["industry"], "State": g["state"], "Tier": g["tier"],
            "Propensity": g["propensity"], "Expected value": g["expected_value"],
            "Cumulative expected value": g["cumulative"], "Why this account": g["rationale"],
        }
    )  # fmt: skip


def offers_table(plan: Plan) -> pd.DataFrame:
    """The offer catalogue in force."""
    o = plan.offers
    return pd.DataFrame(
        {
            "Offer ID": o["offer_id"], "Offer": o["name"], "Kind": o["kind"].str.replace("_", " "),
            "Industry": o["industry"], "Description": o["description"], "Valid until": o["valid_until"],
            "Active": o["active"].fillna(True).astype(bool),
        }
    )  # fmt: skip


def sections(plan: Plan) -> list[Section]:
    """Every table of the plan, in reading order, with why it would be empty."""
    if plan.kpis["quota_caveat"]:
        reach = "Quota and expected value are not comparable (several currencies), so there is no gap to measure."
    elif plan.kpis["quota"]:
        reach = "The plan's expected value reaches the coverage target: no more accounts are needed."
    else:
        reach = "The rep has no quota in the store, so there is no gap to close."
    return [
        Section("Targets", targets_table(plan), "No targets yet: add accounts from the rep's ranked book."),
        Section("Sequence", steps_table(plan), "No targets, so no touches or decision points."),
        Section("Asks of other teams", needs_table(plan), "The rules ask nothing of other teams for these targets."),
        Section("Weekly load", load_table(plan), "No weeks: the plan has no targets."),
        Section("Plan vs actual", actual_table(plan), "No targets to compare with what happened."),
        Section("Close the gap", gap_table(plan), reach),
        Section("Offers", offers_table(plan), "The offer catalogue is empty: a leader can add offers on the page."),
    ]
