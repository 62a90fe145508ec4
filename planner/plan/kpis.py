"""What the plan adds up to: KPIs against quota and company targets, the accounts that would close
the gap, plan vs actual from the activities and deals since the start, and short summaries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from planner.plan.rules import TEAMS
from planner.plan.spec import Plan
from planner.store import plans as q
from planner.text import money

REPLY_KINDS = {"meeting", "call"}
REPLY_OUTCOMES = {"replied", "reply", "connected", "held", "interested", "meeting booked"}


def kpi_alignment(
    targets: pd.DataFrame, load_df: pd.DataFrame, rep: dict[str, Any], rules: dict[str, Any], weeks: int,
    team_quota: float | None,
) -> dict[str, Any]:  # fmt: skip
    """Plan totals against quota and company targets: coverage, meetings per week, tiers, a verdict.
    `team_quota` is None when the asker may not see company-wide figures (a rep)."""
    quota = float(rep.get("quota") or 0.0)
    ev = float(targets["expected_value"].sum())
    needed = quota * float(rules["coverage_target"])
    meetings = len(targets) * float(rules["meeting_rate"])
    tiers = {f"tier {t}": int((targets["tier"] == t).sum()) for t in (1, 2, 3)}
    over = load_df[load_df["overloaded"]]
    out: dict[str, Any] = {
        "targets": len(targets),
        "est_users": float(targets["est_users"].sum()),
        "potential": float(targets["potential"].sum()),
        "expected_value": ev,
        "quota": quota,
        "coverage": ev / quota if quota > 0 else float("nan"),
        "coverage_target": float(rules["coverage_target"]),
        "gap": max(0.0, needed - ev),
        "reaches_quota": quota <= 0 or ev >= needed,
        "team_quota": team_quota,
        "share_of_team_quota": ev / team_quota if team_quota else None,
        "expected_meetings": meetings,
        "meetings_per_week": meetings / weeks if weeks else 0.0,
        "meetings_per_week_target": float(rules["meetings_per_week_target"]),
        "tiers": tiers,
        "capacity_per_week": float(load_df["capacity"].iloc[0]) if len(load_df) else 0.0,
        "peak_hours": float(load_df["hours"].max()) if len(load_df) else 0.0,
        "overloaded_weeks": [int(w) for w in over["week"]],
    }
    warnings = []
    if not out["reaches_quota"]:
        warnings.append(
            f"The plan's expected value {money(ev)} covers {out['coverage']:.0%} of quota {money(quota)} "
            f"(target {out['coverage_target']:.0%}): {money(out['gap'])} short."
        )
    if out["meetings_per_week"] + 1e-9 < out["meetings_per_week_target"]:
        warnings.append(
            f"{out['meetings_per_week']:.1f} expected meetings a week, below the target of "
            f"{out['meetings_per_week_target']:.1f}."
        )
    if out["overloaded_weeks"]:
        warnings.append(
            f"Weeks {', '.join(map(str, out['overloaded_weeks']))} need more than the "
            f"{out['capacity_per_week']:.1f} hours a week available for the plan."
        )
    out["warnings"] = warnings
    return out


def close_gap(book: pd.DataFrame, targets: pd.DataFrame, kpis: dict[str, Any], limit: int = 25) -> pd.DataFrame:
    """The best accounts not in the plan whose expected value closes the quota gap (fewest first)."""
    cols = [
        "account_id",
        "name",
        "industry",
        "state",
        "tier",
        "propensity",
        "expected_value",
        "cumulative",
        "rationale",
    ]
    gap = float(kpis["gap"])
    if gap <= 0:
        return pd.DataFrame(columns=cols)
    spare = book[~book["account_id"].isin(set(targets["account_id"]))]
    spare = spare.sort_values(["expected_value", "account_id"], ascending=[False, True]).copy()
    spare["cumulative"] = spare["expected_value"].cumsum()
    reach = spare["cumulative"] >= gap
    n = int(reach.to_numpy().argmax()) + 1 if reach.any() else len(spare)
    return spare.head(min(n, limit))[cols].reset_index(drop=True)


def plan_vs_actual(
    con: duckdb.DuckDBPyConnection, targets: pd.DataFrame, steps: pd.DataFrame, start: date, end: date, as_of_day: date
) -> pd.DataFrame:
    """Per target: touched, met, opportunity created since the plan started, and what each decision
    point says on the as-of date (a reply = a call or meeting, or an outcome like replied/connected)."""
    cols = [
        "position", "account_id", "name", "touches", "last_touch", "touched", "met", "opportunity",
        "opportunity_amount", "steps_due", "nurture_decision", "drop_decision", "status",
    ]  # fmt: skip
    if not len(targets):
        return pd.DataFrame(columns=cols)
    ids = list(targets["account_id"])
    until = min(as_of_day, end)
    acts = (
        q.activities_between(con, ids, start, until)
        if until >= start
        else pd.DataFrame(columns=["account_id", "kind", "activity_date", "outcome"])
    )
    deals = (
        q.deals_created_between(con, ids, start, until)
        if until >= start
        else pd.DataFrame(columns=["account_id", "amount", "created_date"])
    )
    if len(acts):
        acts["activity_date"] = pd.to_datetime(acts["activity_date"]).dt.date
        acts["reply"] = acts["kind"].isin(REPLY_KINDS) | acts["outcome"].fillna("").str.lower().isin(REPLY_OUTCOMES)
    rows = []
    for t in targets.itertuples(index=False):
        a = acts[acts["account_id"] == t.account_id] if len(acts) else acts
        d = deals[deals["account_id"] == t.account_id] if len(deals) else deals
        mine = steps[(steps["account_id"] == t.account_id)]
        decisions = mine[mine["is_decision"].astype(bool)].sort_values("step_date")
        met = bool(len(a) and (a["kind"] == "meeting").any())
        verdicts = []
        for k, dec in enumerate(decisions.itertuples(index=False)):
            when = dec.step_date
            is_final = k == len(decisions) - 1
            if when > as_of_day:
                verdicts.append(f"pending until {when.isoformat()}")
                continue
            upto = a[a["activity_date"] <= when] if len(a) else a
            if is_final:
                ok = bool(len(upto) and (upto["kind"] == "meeting").any())
                verdicts.append("keep: a meeting was held" if ok else "drop from targets: no meeting")
            else:
                ok = bool(len(upto) and upto["reply"].any())
                verdicts.append("continue: they replied" if ok else "move to automated nurture: no reply")
        nurture = verdicts[0] if verdicts else ""
        drop = verdicts[-1] if len(verdicts) > 1 else ""
        opp = bool(len(d))
        if opp:
            status = "opportunity created"
        elif drop.startswith("drop"):
            status = "drop"
        elif nurture.startswith("move"):
            status = "nurture"
        elif met:
            status = "met"
        elif len(a):
            status = "touched"
        elif start > as_of_day:
            status = "not started"
        else:
            status = "not touched yet"
        rows.append(
            {
                "position": t.position, "account_id": t.account_id, "name": t.name, "touches": len(a),
                "last_touch": a["activity_date"].max() if len(a) else None, "touched": bool(len(a)), "met": met,
                "opportunity": opp, "opportunity_amount": float(d["amount"].sum()) if opp else 0.0,
                "steps_due": int(((mine["step_date"] <= as_of_day) & ~mine["is_decision"].astype(bool)).sum()),
                "nurture_decision": nurture, "drop_decision": drop, "status": status,
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def offer_usage(plan: Plan) -> pd.DataFrame:
    """How many targets get each offer (the chosen or suggested one)."""
    t = plan.targets
    if not len(t):
        return pd.DataFrame(columns=["offer", "targets", "chosen_by_rep"])
    chosen = t["offer_choice"].notna()
    out = (
        t.assign(chosen_by_rep=chosen)
        .groupby("offer", dropna=False)
        .agg(targets=("account_id", "size"), chosen_by_rep=("chosen_by_rep", "sum"))
        .reset_index()
        .sort_values(["targets", "offer"], ascending=[False, True])
    )
    return out.reset_index(drop=True)


def needs_per_team(plan: Plan) -> dict[str, int]:
    """Number of asks per team, teams in a fixed order."""
    counts = plan.needs["team"].value_counts()
    return {team: int(counts[team]) for team in TEAMS if team in counts.index}


def actual_summary(plan: Plan) -> dict[str, Any]:
    """Totals of plan vs actual: touched, met, opportunities, and what the decision points say."""
    a = plan.actual
    return {
        "targets": len(a),
        "touched": int(a["touched"].sum()),
        "met": int(a["met"].sum()),
        "opportunities": int(a["opportunity"].sum()),
        "opportunity_amount": float(a["opportunity_amount"].sum()),
        "nurture": int(a["nurture_decision"].str.startswith("move").sum()),
        "drop": int(a["drop_decision"].str.startswith("drop").sum()),
    }


def summary_lines(plan: Plan) -> Iterable[str]:
    """A few lines that sum the plan up (CLI and headers)."""
    k = plan.kpis
    yield f"{plan.rep['name']}: {k['targets']} targets, {plan.start} to {plan.end} ({plan.weeks}-week cadence)"
    yield f"expected value {money(k['expected_value'])} = {k['coverage']:.0%} of quota {money(k['quota'])}"
    yield from k["warnings"]
