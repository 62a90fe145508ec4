"""Writing a territory plan out: Markdown, Excel, iCalendar (.ics), a sales-engagement CSV and a
printable HTML page. Every function takes a composed `planner.plan.Plan` and returns text or bytes.
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from icalendar import Calendar, Event

from planner import export
from planner.errors import BadInput
from planner.plan.spec import Plan
from planner.text import money

FORMATS = {".md": "Markdown", ".xlsx": "Excel", ".ics": "iCalendar", ".csv": "Salesloft/Outreach CSV", ".html": "HTML"}
DAY_START = time(9, 0)
CHANNEL_LABEL = {"email": "Email", "phone": "Phone", "social": "Social", "event": "Event", "decision": "Decision"}
# Salesloft step types (Email, Phone, Integration, Other) and Outreach task types (email, call, linkedin, ...).
SALESLOFT_TYPE = {"email": "Email", "phone": "Phone", "social": "Integration", "event": "Other"}
OUTREACH_TYPE = {"email": "manual_email", "phone": "call", "social": "linkedin_send_message", "event": "action_item"}


def _pct(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.0%}"


def _md_cell(value: Any) -> str:
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _md_table(df: pd.DataFrame) -> str:
    if not len(df):
        return "_none_\n"
    head = "| " + " | ".join(_md_cell(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


def targets_table(plan: Plan) -> pd.DataFrame:
    """The targets as exported: revenue maths, offer, needs and why."""
    t = plan.targets
    return pd.DataFrame(
        {
            "#": t["position"],
            "Account": t["name"],
            "Account ID": t["account_id"],
            "Industry": t["industry"],
            "State": t["state"],
            "Tier": t["tier"],
            "Est. users": t["est_users"].round(0).astype(int),
            "Price per user": t["price_per_user"].round(2),
            "Potential": t["potential"].round(0),
            "Propensity": t["propensity"].round(3),
            "Expected value": t["expected_value"].round(0),
            "Offer": t["offer"],
            "Offer reason": t["offer_reason"],
            "Start week": t["start_week"],
            "First touch": t["first_touch"],
            "Needs": t["needs"],
            "Rationale": t["rationale"],
            "Status": t["status"],
        }
    )


def steps_table(plan: Plan) -> pd.DataFrame:
    s = plan.steps
    return pd.DataFrame(
        {
            "Date": s["step_date"],
            "Week": s["week"],
            "Account": s["account_name"],
            "Account ID": s["account_id"],
            "Step": s["step_no"],
            "Channel": s["channel"].map(CHANNEL_LABEL),
            "Action": s["action"],
            "Decision point": s["is_decision"],
            "Hours": s["hours"],
        }
    ).sort_values(["Date", "Account", "Step"], kind="stable")


def needs_table(plan: Plan) -> pd.DataFrame:
    n = plan.needs
    return pd.DataFrame(
        {"Team": n["team"], "Due": n["due"], "Account": n["account_name"], "Ask": n["ask"], "Rule": n["rule"]}
    )


def kpi_table(plan: Plan) -> pd.DataFrame:
    k = plan.kpis
    rows = [
        ("Rep", plan.rep["name"]),
        ("Period", f"{plan.start} to {plan.end}"),
        ("Cadence (weeks)", plan.weeks),
        ("Ranking", plan.source),
        ("Targets", k["targets"]),
        ("Estimated users", round(k["est_users"])),
        ("Potential", round(k["potential"])),
        ("Expected value", round(k["expected_value"])),
        ("Quota", round(k["quota"])),
        ("Pipeline coverage (expected value / quota)", _pct(k["coverage"])),
        ("Coverage target", _pct(k["coverage_target"])),
        ("Gap to target", round(k["gap"])),
        ("Expected meetings per week", round(k["meetings_per_week"], 2)),
        ("Meetings per week target", k["meetings_per_week_target"]),
        ("Accounts per tier", ", ".join(f"{t}: {n}" for t, n in k["tiers"].items())),
        ("Plan hours per week available", round(k["capacity_per_week"], 1)),
        ("Overloaded weeks", ", ".join(map(str, k["overloaded_weeks"])) or "none"),
    ]
    if k.get("team_quota") is not None:
        rows.append(("Company quota (all reps)", round(k["team_quota"])))
    return pd.DataFrame(rows, columns=["Measure", "Value"]).astype({"Value": str})


def actual_table(plan: Plan) -> pd.DataFrame:
    a = plan.actual
    return pd.DataFrame(
        {
            "#": a["position"],
            "Account": a["name"],
            "Touches": a["touches"],
            "Last touch": a["last_touch"],
            "Touched": a["touched"],
            "Met": a["met"],
            "Opportunity created": a["opportunity"],
            "Opportunity amount": a["opportunity_amount"],
            "Steps due": a["steps_due"],
            "Nurture decision": a["nurture_decision"],
            "Drop decision": a["drop_decision"],
            "Status": a["status"],
        }
    )


def to_markdown(plan: Plan) -> str:
    """The whole plan as a Markdown document."""
    k = plan.kpis
    lines = [
        f"# Territory plan: {_md_cell(plan.rep['name'])}",
        "",
        f"Period {plan.start} to {plan.end} · {plan.weeks}-week cadence · data as of {plan.as_of} · "
        f"{'saved plan #' + str(plan.plan_id) if plan.saved else 'draft (not saved)'}",
        "",
        f"Ranking: {_md_cell(plan.source)}",
        "",
        "## Summary",
        "",
        f"- **{k['targets']} targets**, estimated users {k['est_users']:,.0f}, potential {money(k['potential'])}",
        f"- **Expected value {money(k['expected_value'])}** against quota {money(k['quota'])}: "
        f"coverage {_pct(k['coverage'])} (target {_pct(k['coverage_target'])})",
        f"- Expected meetings per week {k['meetings_per_week']:.1f} (target {k['meetings_per_week_target']:.1f})",
        f"- Accounts per tier: {', '.join(f'{t}: {n}' for t, n in k['tiers'].items())}",
    ]
    lines += [f"- **Warning:** {_md_cell(w)}" for w in k["warnings"]]
    lines += ["", "## Targets", "", _md_table(targets_table(plan).drop(columns=["Needs", "Rationale"]))]
    lines += ["### Why each target", ""]
    lines += [f"{r.position}. **{_md_cell(r.name)}**: {_md_cell(r.rationale)}" for r in plan.targets.itertuples()]
    if len(plan.gap):
        lines += [
            "",
            "## Accounts that would close the gap",
            "",
            _md_table(plan.gap[["name", "tier", "expected_value", "cumulative"]]),
        ]
    lines += ["", "## Asks of other teams", ""]
    for team, group in needs_table(plan).groupby("Team", sort=True):
        lines += [f"### {_md_cell(team)}", "", _md_table(group.drop(columns=["Team"]))]
    if not len(plan.needs):
        lines += ["_none_", ""]
    lines += ["## Engagement sequence", "", _md_table(steps_table(plan).drop(columns=["Account ID", "Hours"]))]
    lines += ["## Weekly load", "", _md_table(plan.load)]
    lines += ["## Plan vs actual", "", _md_table(actual_table(plan))]
    return "\n".join(lines) + "\n"


def to_excel(plan: Plan) -> bytes:
    """The whole plan as an .xlsx workbook (formulas neutralised)."""
    return export.to_excel_bytes(
        {
            "Summary": kpi_table(plan),
            "Targets": targets_table(plan),
            "Sequence": steps_table(plan),
            "Asks": needs_table(plan),
            "Weekly load": plan.load,
            "Plan vs actual": actual_table(plan),
            "Close the gap": plan.gap,
            "Offers": plan.offers,
        }
    )


def to_ics(plan: Plan, stamp: datetime | None = None) -> bytes:
    """One RFC 5545 VEVENT per touch (decision points are not touches), at times packed from 09:00."""
    cal = Calendar()
    cal.add("prodid", "-//Territory Planner//Territory plan//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Territory plan: {plan.rep['name']} from {plan.start}")
    stamp = stamp or datetime.now(UTC).replace(microsecond=0)
    touches = plan.steps[~plan.steps["is_decision"].astype(bool)].sort_values(["step_date", "position", "step_no"])
    next_free: dict[Any, datetime] = {}
    plan_key = f"plan{plan.plan_id}" if plan.plan_id is not None else f"draft-{plan.start.isoformat()}"
    offers = dict(zip(plan.targets["account_id"], plan.targets["offer"], strict=True))
    for s in touches.itertuples(index=False):
        begin = next_free.get(s.step_date, datetime.combine(s.step_date, DAY_START))
        minutes = max(15, int(round(float(s.hours) * 60 / 15)) * 15)
        end = begin + timedelta(minutes=minutes)
        next_free[s.step_date] = end
        ev = Event()
        ev.add("uid", f"{plan_key}-{plan.rep['rep_id']}-{s.account_id}-{s.step_no}@territory-planner")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", begin)  # floating local time: the rep's own working day
        ev.add("dtend", end)
        ev.add("summary", f"{CHANNEL_LABEL.get(s.channel, s.channel)}: {s.account_name}")
        ev.add(
            "description",
            f"{s.action}\nAccount {s.account_id}, step {s.step_no}, plan week {s.week}.\n"
            f"Offer: {offers.get(s.account_id) or 'none'}",
        )
        ev.add("categories", [CHANNEL_LABEL.get(s.channel, s.channel), "Territory plan"])
        ev.add("transp", "OPAQUE")
        cal.add_component(ev)
    return cal.to_ical()


ENGAGEMENT_COLUMNS = [
    "Company", "Account", "CRM ID", "Owner Email", "Cadence Name", "Sequence Name", "Step Number", "Day",
    "Due Date", "Step Type", "Task Type", "Subject", "Notes", "Offer", "Industry", "State",
]  # fmt: skip


def engagement_steps(plan: Plan) -> pd.DataFrame:
    """Touches as rows a sales-engagement tool imports: Company/Account and CRM ID to match the
    account, Owner Email for the user, Cadence Name (Salesloft) / Sequence Name (Outreach), step
    number, day, due date and type, in the names their import wizards map."""
    t = plan.targets.set_index("account_id")
    touches = plan.steps[~plan.steps["is_decision"].astype(bool)].sort_values(["position", "step_no"])
    name = f"Territory plan {plan.start.isoformat()} ({plan.weeks} weeks)"
    rows = []
    for s in touches.itertuples(index=False):
        acc = t.loc[s.account_id]
        first = acc["first_touch"]
        rows.append(
            {
                "Company": s.account_name, "Account": s.account_name, "CRM ID": s.account_id,
                "Owner Email": plan.rep.get("email") or "", "Cadence Name": name, "Sequence Name": name,
                "Step Number": s.step_no, "Day": (s.step_date - first).days + 1,
                "Due Date": s.step_date.isoformat(), "Step Type": SALESLOFT_TYPE.get(s.channel, "Other"),
                "Task Type": OUTREACH_TYPE.get(s.channel, "action_item"), "Subject": s.action,
                "Notes": acc["rationale"], "Offer": acc["offer"], "Industry": acc["industry"], "State": acc["state"],
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=ENGAGEMENT_COLUMNS)


def to_engagement_csv(plan: Plan) -> bytes:
    """The sales-engagement CSV (UTF-8, formulas neutralised)."""
    return export.to_csv_bytes(engagement_steps(plan))


def _html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            text = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def to_html(plan: Plan) -> str:
    """A printable page of the plan; every piece of text is escaped."""
    e = html.escape
    k = plan.kpis
    show = targets_table(plan).drop(columns=["Account ID", "Offer reason", "Needs", "Rationale"])
    for col in ("Potential", "Expected value"):
        show[col] = show[col].map(money)
    show["Propensity"] = show["Propensity"].map(lambda v: f"{v:.0%}")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e('Territory plan: ' + str(plan.rep['name']))}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
        "table{border-collapse:collapse;width:100%;margin:8px 0 20px;font-size:12px}"
        "th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}"
        "th{background:#f2f2f2}.warn{color:#a4161a;font-weight:600}"
        "h2{page-break-after:avoid;border-bottom:2px solid #00798c;padding-bottom:2px}"
        "@media print{body{margin:0}.noprint{display:none}tr{page-break-inside:avoid}}</style></head><body>",
        f"<h1>{e('Territory plan: ' + str(plan.rep['name']))}</h1>",
        f"<p>{e(f'Period {plan.start} to {plan.end} · {plan.weeks}-week cadence · data as of {plan.as_of}')}</p>",
        f"<p>{e('Ranking: ' + plan.source)}</p>",
        "<h2>Summary</h2><ul>",
    ]
    tiers = ", ".join(f"{t}: {n}" for t, n in k["tiers"].items())
    summary = [
        f"{k['targets']} targets · potential {money(k['potential'])} · expected value {money(k['expected_value'])}",
        f"Quota {money(k['quota'])} · coverage {_pct(k['coverage'])} (target {_pct(k['coverage_target'])})",
        f"Expected meetings per week {k['meetings_per_week']:.1f} (target {k['meetings_per_week_target']:.1f})",
        f"Accounts per tier: {tiers}",
    ]
    parts += [f"<li>{e(line)}</li>" for line in summary] + ["</ul>"]
    parts += [f"<p class='warn'>{e(w)}</p>" for w in k["warnings"]]
    parts += ["<h2>Targets</h2>", _html_table(show), "<h2>Why each target</h2><ol>"]
    parts += [f"<li><b>{e(str(r.name))}</b>: {e(str(r.rationale))}</li>" for r in plan.targets.itertuples()]
    parts += ["</ol>", "<h2>Asks of other teams</h2>", _html_table(needs_table(plan))]
    parts += ["<h2>Engagement sequence</h2>", _html_table(steps_table(plan).drop(columns=["Account ID", "Hours"]))]
    parts += [
        "<h2>Weekly load</h2>",
        _html_table(plan.load),
        "<h2>Plan vs actual</h2>",
        _html_table(actual_table(plan)),
    ]
    parts += ["</body></html>"]
    return "\n".join(parts)


def render(plan: Plan, suffix: str) -> bytes:
    """The plan in the format a file suffix picks (.md, .xlsx, .ics, .csv, .html)."""
    suffix = suffix.lower()
    if suffix == ".md":
        return to_markdown(plan).encode("utf-8")
    if suffix == ".xlsx":
        return to_excel(plan)
    if suffix == ".ics":
        return to_ics(plan)
    if suffix == ".csv":
        return to_engagement_csv(plan)
    if suffix in (".html", ".htm"):
        return to_html(plan).encode("utf-8")
    raise BadInput(f"cannot write a plan as {suffix or 'a file without a suffix'}: use .md, .xlsx, .ics, .csv or .html")


def write(plan: Plan, out: Path) -> None:
    """Write the plan to `out`, the format picked by its suffix."""
    data = render(plan, out.suffix)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
