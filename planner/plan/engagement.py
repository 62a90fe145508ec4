"""The plan for the rep's tools: an iCalendar file (touches as timed events, decision points and
asks of other teams as all-day events) and a CSV that Salesloft or Outreach imports (touches,
decision points and asks as numbered steps, no gaps)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from icalendar import Calendar, Event

from planner import export
from planner.plan.spec import Plan
from planner.plan.tables import CHANNEL_LABEL
from planner.text import account_label, crm_record_id, one_line

DAY_START = time(9, 0)
# Salesloft step types (Email, Phone, Integration, Other) and Outreach task types (email, call, linkedin, ...).
SALESLOFT_TYPE = {"email": "Email", "phone": "Phone", "social": "Integration", "event": "Other"}
OUTREACH_TYPE = {"email": "manual_email", "phone": "call", "social": "linkedin_send_message", "event": "action_item"}

ENGAGEMENT_COLUMNS = [
    "Company", "Account", "CRM ID", "Owner Email", "Cadence Name", "Sequence Name", "Step Number", "Day",
    "Due Date", "Step Type", "Task Type", "Subject", "Notes", "Offer", "Industry", "State", "Step Kind", "Team",
]  # fmt: skip


def _plan_key(plan: Plan) -> str:
    return f"plan{plan.plan_id}" if plan.plan_id is not None else f"draft-{plan.start.isoformat()}"


def _uid(*parts: object) -> str:
    """An event's UID: the same for the same plan, rep, account and step in every export (a calendar that imports
    the file again updates its events), and RFC 5545-safe whatever the keys hold (an account keyed by its name
    'name:sa firma 16|الرياض saudi arabia', a rep id with spaces): a hash of them, ASCII letters and digits."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:32]
    return f"{digest}@territory-planner"


def _all_day(day: date, uid: str, stamp: datetime, summary: str, description: str, categories: list[str]) -> Event:
    ev = Event()
    ev.add("uid", uid)
    ev.add("dtstamp", stamp)
    ev.add("dtstart", day)
    ev.add("dtend", day + timedelta(days=1))
    ev.add("summary", summary)
    ev.add("description", description)
    ev.add("categories", categories)
    ev.add("transp", "TRANSPARENT")  # a reminder, not a busy slot
    return ev


def _zone(plan: Plan) -> ZoneInfo | None:
    """The rep's time zone (the calendar's), None when not known: their times are then floating."""
    name = plan.calendar.time_zone if plan.calendar is not None else ""
    return ZoneInfo(name) if name else None


def to_ics(plan: Plan, stamp: datetime | None = None) -> bytes:
    """RFC 5545 calendar: one timed event per touch (packed from 09:00 on its day, in the rep's time zone with
    its VTIMEZONE, so a leader in another zone sees the rep's 09:00 at their own hour), one all-day event per
    decision point and per ask of another team (on its due date)."""
    zone = _zone(plan)
    cal = Calendar()
    cal.add("prodid", "-//Territory Planner//Territory plan//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Territory plan: {plan.rep['name']} from {plan.start}")
    stamp = stamp or datetime.now(UTC).replace(microsecond=0)
    key = (_plan_key(plan), plan.rep["rep_id"])
    offers = dict(zip(plan.targets["account_id"], plan.targets["offer"], strict=True))
    next_free: dict[Any, datetime] = {}
    for s in plan.steps.sort_values(["step_date", "position", "step_no"]).itertuples(index=False):
        uid = _uid(*key, s.account_id, s.step_no)
        if s.is_decision:
            cal.add_component(
                _all_day(
                    s.step_date,
                    uid,
                    stamp,
                    f"Decision: {one_line(s.account_name)}",
                    f"{s.action}\nAccount {account_label(s.account_id, s.account_name)}, step {s.step_no}, "
                    f"plan week {s.week}.",
                    ["Decision point", "Territory plan"],
                )  # fmt: skip
            )
            continue
        begin = next_free.get(s.step_date, datetime.combine(s.step_date, DAY_START, tzinfo=zone))
        end = begin + timedelta(minutes=max(15, int(round(float(s.hours) * 60 / 15)) * 15))
        next_free[s.step_date] = end
        ev = Event()
        ev.add("uid", uid)
        ev.add("dtstamp", stamp)
        ev.add("dtstart", begin)  # the rep's zone; floating (their own clock) when it is not known
        ev.add("dtend", end)
        ev.add("summary", f"{CHANNEL_LABEL.get(s.channel, s.channel)}: {one_line(s.account_name)}")
        ev.add(
            "description",
            f"{s.action}\nAccount {account_label(s.account_id, s.account_name)}, step {s.step_no}, "
            f"plan week {s.week}.\n"
            f"Offer: {offers.get(s.account_id) or 'none'}",
        )
        ev.add("categories", [CHANNEL_LABEL.get(s.channel, s.channel), "Territory plan"])
        ev.add("transp", "OPAQUE")
        cal.add_component(ev)
    for n in plan.needs.itertuples(index=False):
        uid = _uid(*key, n.account_id, "ask", n.team)
        cal.add_component(
            _all_day(
                n.due,
                uid,
                stamp,
                f"Ask {n.team}: {one_line(n.account_name)}",
                f"{n.ask}\nDue {n.due.isoformat()}, before {n.serves}.\nRule: {n.rule}.",
                ["Ask of another team", str(n.team), "Territory plan"],
            )  # fmt: skip
        )
    if zone is not None:  # the zone's rules over the plan's years, before the events that name it
        cal.add_missing_timezones(date(plan.start.year - 1, 1, 1), date(plan.end.year + 2, 1, 1))
    return cal.to_ical()  # type: ignore[no-any-return]


def _rows(plan: Plan) -> list[dict[str, Any]]:
    """Every touch, decision point and ask as (account, date, order) rows, before numbering."""
    rows: list[dict[str, Any]] = []
    for s in plan.steps.itertuples(index=False):
        kind = "decision point" if s.is_decision else "touch"
        rows.append(
            {
                "account_id": s.account_id, "when": s.step_date, "order": (2 if s.is_decision else 1, s.step_no),
                "Step Type": "Other" if s.is_decision else SALESLOFT_TYPE.get(s.channel, "Other"),
                "Task Type": "action_item" if s.is_decision else OUTREACH_TYPE.get(s.channel, "action_item"),
                "Subject": s.action, "Step Kind": kind, "Team": "",
            }
        )  # fmt: skip
    for n in plan.needs.itertuples(index=False):
        rows.append(
            {
                "account_id": n.account_id, "when": n.due, "order": (0, 0), "Step Type": "Other",
                "Task Type": "action_item", "Subject": f"Ask {n.team}: {n.ask}", "Step Kind": "ask", "Team": n.team,
                "note": f"Due {n.due.isoformat()}, before {n.serves}. Rule: {n.rule}.",
            }
        )  # fmt: skip
    return rows


def engagement_steps(plan: Plan) -> pd.DataFrame:
    """Touches, decision points (as tasks) and asks of other teams (as tasks for the rep to follow
    up) as rows a sales-engagement tool imports: Company/Account (one line) and CRM ID (blank for accounts keyed
    by name: no CRM record has that id) to match the account,
    Owner Email for the user, Cadence Name (Salesloft) / Sequence Name (Outreach), then step number
    (1..n per account in date order, no gaps), day, due date and type."""
    t = plan.targets.set_index("account_id")
    name = f"Territory plan {plan.start.isoformat()} ({plan.weeks} weeks)"
    rows = sorted(_rows(plan), key=lambda r: (int(t.loc[r["account_id"], "position"]), r["when"], r["order"]))
    out = []
    number: dict[str, int] = {}
    first: dict[str, date] = {}
    for r in rows:
        acc = t.loc[r["account_id"]]
        number[r["account_id"]] = number.get(r["account_id"], 0) + 1
        first.setdefault(r["account_id"], r["when"])
        out.append(
            {
                "Company": one_line(acc["name"], None), "Account": one_line(acc["name"], None),
                "CRM ID": crm_record_id(r["account_id"]),
                "Owner Email": plan.rep.get("email") or "", "Cadence Name": name, "Sequence Name": name,
                "Step Number": number[r["account_id"]], "Day": (r["when"] - first[r["account_id"]]).days + 1,
                "Due Date": r["when"].isoformat(), "Step Type": r["Step Type"], "Task Type": r["Task Type"],
                "Subject": r["Subject"], "Notes": r.get("note", acc["rationale"]), "Offer": acc["offer"],
                "Industry": acc["industry"], "State": acc["state"], "Step Kind": r["Step Kind"], "Team": r["Team"],
            }
        )  # fmt: skip
    return pd.DataFrame(out, columns=ENGAGEMENT_COLUMNS)


def to_engagement_csv(plan: Plan) -> bytes:
    """The sales-engagement CSV (UTF-8, formulas neutralised)."""
    return export.to_csv_bytes(engagement_steps(plan))
