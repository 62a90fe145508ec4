"""Writing a territory plan out: Markdown and a printable HTML page here; the calendar (.ics) and the
sales-engagement CSV in `plan.engagement`; the Excel workbook in `plan.workbook`. Every function
takes a composed `Plan`. Text from the store is escaped: in Markdown, HTML tags and link syntax
come out as plain characters (`<img onerror=...>`, `[x](javascript:...)` stay inert)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

from planner import text
from planner.errors import BadInput
from planner.export import file_stem
from planner.plan.engagement import to_engagement_csv, to_ics
from planner.plan.spec import Plan
from planner.plan.tables import (
    CHANNEL_LABEL,
    calendar_text,
    cell_text,
    gap_table,
    mixes_text,
    needs_table,
    sections,
    steps_table,
    targets_table,
    text_table,
)
from planner.plan.workbook import to_excel

FORMATS = {".md": "Markdown", ".xlsx": "Excel", ".ics": "iCalendar", ".csv": "Salesloft/Outreach CSV", ".html": "HTML"}
_MD_SPECIAL = "\\`*_[]|~<"
# An ampersand that would start a character reference (&amp; &#60; &#x3c;): the one place Markdown reads '&' as
# more than itself.
_MD_ENTITY = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};)")

__all__ = ["CHANNEL_LABEL", "FORMATS", "file_name", "render", "to_engagement_csv", "to_excel", "to_html", "to_ics",
           "to_markdown", "write"]  # fmt: skip


def md_text(value: object) -> str:
    """Text that Markdown shows as written, and that reads as written in the file too ('Ledger & Co', '-> drop',
    not 'Ledger &amp; Co'): '<' backslash-escaped (no HTML, no autolinks), '&' only where it would start a
    character reference, '>' only where it would start a quote, the characters of links, emphasis, code and
    table cells backslash-escaped, line breaks as spaces."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    text = "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)
    text = _MD_ENTITY.sub(r"\\&", text)
    return "\\" + text if text.startswith(">") else text


def md_note(sentence: str) -> str:
    """A warning or note of the plan in Markdown: the commands it names as code, the rest (names from the store
    included) shown as written."""
    return text.markdown_with_code(sentence, md_text)


def _md_table(df: pd.DataFrame, currency: str, empty: str = "None.") -> str:
    if not len(df):
        return f"_{md_text(empty)}_\n"
    shown = text_table(df, currency)
    head = "| " + " | ".join(md_text(c) for c in shown.columns) + " |"
    sep = "|" + "|".join("---" for _ in shown.columns) + "|"
    body = ["| " + " | ".join(md_text(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


def _status(plan: Plan) -> str:
    return f"saved plan #{plan.plan_id}" if plan.saved else "draft (not saved)"


def _header(plan: Plan) -> str:
    made = f"composed {cell_text(plan.made_on, 'date')} · " if plan.made_on else ""
    left = "" if plan.rep.get("active", True) else "INACTIVE REP (left the team) · "
    return (
        f"{left}{cell_text(plan.start, 'date')} to {cell_text(plan.end, 'date')} · {plan.weeks}-week cadence · "
        f"{made}data as of {cell_text(plan.as_of, 'date')} · {_status(plan)}"
    )


def _summary(plan: Plan) -> list[str]:
    """The summary in sentences (the same for Markdown and HTML)."""
    k = plan.kpis

    def money(value: float | None) -> str:
        return text.money(value, currency=plan.currency)

    if k["coverage"] is not None:
        quota = (
            f"against quota {money(k['quota'])}: coverage {cell_text(k['coverage'], 'pct')} "
            f"(target {cell_text(k['coverage_target'], 'pct')})"
        )
    elif k["quota"] and k["quota_caveat"]:
        quota = f"against quota {money(k['quota'])}: coverage not comparable (several currencies)"
    elif k["quota"]:
        quota = f"against quota {money(k['quota'])}: coverage not measurable"
    else:
        quota = "(no quota in the store for this rep)"
    return [
        f"{k['targets']} targets ({', '.join(f'{t}: {n}' for t, n in k['tiers'].items())}), "
        f"{k['est_users']:,.0f} estimated users, potential {money(k['potential'])}",
        f"Expected value {money(k['expected_value'])} {quota}",
        f"Expected meetings per week {k['meetings_per_week']:.1f} (target {k['meetings_per_week_target']:.1f})",
        f"Channel mix per tier: {mixes_text(plan)}",
        f"Busiest week {k['peak_hours']:.1f} h of {k['capacity_per_week']:.1f} h available for the plan",
        f"Working days: {calendar_text(plan)}",
    ]


_MD_TARGET_COLS = ["#", "Account", "Tier", "Channel mix", "Potential", "Propensity", "Expected value", "Offer",
                   "First touch", "Status"]  # fmt: skip
_SEQUENCE_COLS = ["Date", "Account", "Step", "Kind", "Channel", "Action"]


def to_markdown(plan: Plan) -> str:
    """The whole plan as a Markdown document (money in the plan's currency)."""
    cur = plan.currency
    lines = [f"# Territory plan: {md_text(plan.rep['name'])}", "", md_text(_header(plan)), ""]
    lines += [f"Ranking: {md_text(plan.source)}", "", "## Summary", ""]
    lines += [f"- {md_text(s)}" for s in _summary(plan)]
    lines += [f"- **Warning:** {md_note(w)}" for w in [*plan.kpis["warnings"], *plan.notes]]
    parts = {s.title: s for s in sections(plan)}
    lines += ["", "## Targets", "", _md_table(targets_table(plan)[_MD_TARGET_COLS], cur, parts["Targets"].empty)]
    lines += ["### Why each target", ""]
    lines += [f"{r.position}. **{md_text(r.name)}**: {md_text(r.rationale)}" for r in plan.targets.itertuples()]
    lines += ["", "## Asks of other teams", ""]
    asks = needs_table(plan)
    for team, group in asks.groupby("Team", sort=True):
        lines += [f"### {md_text(team)}", "", _md_table(group.drop(columns=["Team"]), cur)]
    if not len(asks):
        lines += [f"_{md_text(parts['Asks of other teams'].empty)}_", ""]
    lines += ["## Engagement sequence (touches and decision points)", ""]
    lines += [_md_table(steps_table(plan)[_SEQUENCE_COLS], cur, parts["Sequence"].empty)]
    lines += ["## Weekly load", "", _md_table(parts["Weekly load"].table, cur, parts["Weekly load"].empty)]
    lines += ["## Accounts toward the gap", "", _md_table(gap_table(plan).drop(columns=["Why this account"]),
                                                                    cur, parts["Close the gap"].empty)]  # fmt: skip
    lines += ["## Plan vs actual", "", _md_table(parts["Plan vs actual"].table, cur, parts["Plan vs actual"].empty)]
    return "\n".join(lines) + "\n"


def _html_table(df: pd.DataFrame, empty: str, currency: str) -> str:
    if not len(df):
        return f"<p class='empty'>{html.escape(empty)}</p>"
    shown = text_table(df, currency)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in shown.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = (
    "<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;width:100%;margin:8px 0 20px;font-size:12px}"
    "th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}"
    "th{background:#f2f2f2}.warn{color:#a4161a;font-weight:600}.empty{color:#555;font-style:italic}"
    "h2{page-break-after:avoid;border-bottom:2px solid #00798c;padding-bottom:2px}"
    "@media print{body{margin:0}.noprint{display:none}tr{page-break-inside:avoid}}</style>"
)


def to_html(plan: Plan) -> str:
    """A printable page of the plan (money in the plan's currency); every piece of text is escaped."""
    e = html.escape
    title = e(f"Territory plan: {plan.rep['name']}")
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>{_STYLE}</head><body>",
        f"<h1>{title}</h1>", f"<p>{e(_header(plan))}</p>", f"<p>{e('Ranking: ' + plan.source)}</p>",
        "<h2>Summary</h2><ul>", *[f"<li>{e(s)}</li>" for s in _summary(plan)], "</ul>",
        *[f"<p class='warn'>{e(text.without_code_marks(w))}</p>" for w in [*plan.kpis["warnings"], *plan.notes]],
    ]  # fmt: skip
    for s in sections(plan):
        table = s.table
        if s.title == "Targets":
            table = table[_MD_TARGET_COLS]
        elif s.title == "Sequence":
            table = table[_SEQUENCE_COLS]
        elif s.title == "Close the gap":
            table = table.drop(columns=["Why this account"])
        parts += [f"<h2>{e(s.title)}</h2>", _html_table(table, s.empty, plan.currency)]
        if s.title == "Targets" and len(plan.targets):
            parts += ["<h3>Why each target</h3><ol>"]
            parts += [f"<li><b>{e(str(r.name))}</b>: {e(str(r.rationale))}</li>" for r in plan.targets.itertuples()]
            parts += ["</ol>"]
    parts += ["</body></html>"]
    return "\n".join(parts)


def file_name(plan: Plan, suffix: str) -> str:
    """The download's file name: 'plan-José-Álvarez-2026-12-07.md', the rep by name (a rep id says nothing to
    whoever the file is sent to), in file-name-safe characters."""
    return f"plan-{file_stem(plan.rep.get('name'), str(plan.rep['rep_id']))}-{plan.start.isoformat()}{suffix}"


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
