"""What the plan adds up to: KPIs against quota and company targets, the accounts that would close
the gap, plan vs actual from the activities and deals since the start, and short summaries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from planner import text
from planner.plan.rules import TEAMS
from planner.plan.spec import Plan, missing
from planner.plan.tables import cell_text
from planner.scope import Scope
from planner.store import plans as q

REPLY_KINDS = {"meeting", "call"}
REPLY_OUTCOMES = {"replied", "reply", "connected", "held", "interested", "meeting booked"}


def kpi_alignment(
    targets: pd.DataFrame, load_df: pd.DataFrame, rep: dict[str, Any], rules: dict[str, Any], weeks: int,
    team_quota: float | None, currency: str, mixed: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Plan totals against quota and company targets: coverage, meetings per week, tiers, a verdict.
    `team_quota` is None when the asker may not see company-wide figures (a rep); warnings write money in
    `currency` (the store's). In a store of several currencies (`mixed` names them) quota and expected value are
    not comparable: no coverage, share or gap, and `quota_caveat` says why."""

    def money(value: float | None) -> str:
        return text.money(value, currency=currency)

    quota = 0.0 if missing(rep.get("quota")) else float(rep.get("quota") or 0.0)
    # Expected value is unknown without model scores and without deals closed in 12 months: say so.
    known = bool(targets["expected_value"].notna().any()) or not len(targets)
    why_not = text.quota_caveat(mixed, currency)  # '' when quota and expected value are in one currency
    comparable = known and not why_not
    ev = float(targets["expected_value"].sum()) if known else float("nan")
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
        "coverage": ev / quota if quota > 0 and comparable else None,
        "coverage_target": float(rules["coverage_target"]),
        "gap": max(0.0, needed - ev) if comparable else 0.0,
        "reaches_quota": quota <= 0 or not comparable or ev >= needed,
        "team_quota": team_quota,
        "share_of_team_quota": ev / team_quota if team_quota and comparable else None,
        "quota_caveat": why_not if quota > 0 or team_quota else "",
        "expected_meetings": meetings,
        "meetings_per_week": meetings / weeks if weeks else 0.0,
        "meetings_per_week_target": float(rules["meetings_per_week_target"]),
        "tiers": tiers,
        "capacity_per_week": float(load_df["capacity"].iloc[0]) if len(load_df) else 0.0,
        "peak_hours": float(load_df["hours"].max()) if len(load_df) else 0.0,
        "overloaded_weeks": [int(w) for w in over["week"]],
    }
    warnings = []
    if out["quota_caveat"]:
        warnings.append(f"Coverage of quota is not comparable: {why_not}.")
    elif not known:
        warnings.append(
            "Expected value is not available for these accounts (no model scores and no deal closed in the "
            "12 months to the as-of date), so coverage of quota cannot be measured; targets rank by potential."
        )
    # Users come from employees, else from annual revenue (the account_potential view): only a target with neither
    # has no potential.
    unsized = _unsized(targets)
    if unsized:
        warnings.append(
            f"{unsized} of {len(targets)} targets {'has' if unsized == 1 else 'have'} neither an employee count nor "
            f"an annual revenue, so {'its' if unsized == 1 else 'their'} potential and expected value count as "
            f"{money(0.0)} (users are estimated from employees, else from revenue): add either to the CRM export "
            "and import it again."
        )
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


def _unsized(targets: pd.DataFrame) -> int:
    """Targets with no users for want of data: neither a head count nor a revenue that makes one. A head count too
    small for one user (3 employees at 8% adoption) is sized, at nothing: no data is missing."""
    if not len(targets):
        return 0
    no_users = pd.to_numeric(targets["est_users"], errors="coerce").fillna(0) <= 0
    heads = targets.get("employees", pd.Series(float("nan"), index=targets.index))
    return int((no_users & ~(pd.to_numeric(heads, errors="coerce").fillna(0) > 0)).sum())


def close_gap(book: pd.DataFrame, targets: pd.DataFrame, kpis: dict[str, Any], limit: int = 25) -> pd.DataFrame:
    """The accounts not in the plan, in the ranking's order (book_rank, as the plan's targets are chosen), until
    their expected value closes the quota gap, at most `limit` of them (gap_note says what is left)."""
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
    spare = spare.sort_values(["book_rank", "account_id"]).copy()
    spare["cumulative"] = spare["expected_value"].fillna(0.0).cumsum()
    reach = spare["cumulative"] >= gap
    n = int(reach.to_numpy().argmax()) + 1 if reach.any() else len(spare)
    return spare.head(min(n, limit))[cols].reset_index(drop=True)


def gap_note(book: pd.DataFrame, targets: pd.DataFrame, gap: pd.DataFrame, kpis: dict[str, Any], currency: str) -> str:
    """One line when the accounts of close_gap do not close the gap: what is left after them, and whether the
    rest of the territory could close it at all; '' when they close it (or there is no gap)."""
    want = float(kpis["gap"])
    added = float(gap["cumulative"].iloc[-1]) if len(gap) else 0.0
    if want <= 0 or added >= want:
        return ""

    def money(value: float) -> str:
        return text.money(value, currency=currency)

    spare = book[~book["account_id"].isin(set(targets["account_id"]))]
    held = float(pd.to_numeric(spare["expected_value"], errors="coerce").fillna(0.0).sum())
    listed = f"the {len(gap)} accounts listed add {money(added)}, leaving {money(want - added)}"
    if held < want:
        return (
            f"No choice of accounts closes the {money(want)} gap: the rest of the territory holds {money(held)} of "
            f"expected value in all, and {listed}. Reaching the coverage target needs more accounts in the "
            "territory, a higher win rate or a lower quota."
        )
    return f"The accounts listed do not close the {money(want)} gap: {listed} (more of the territory would)."


_ACTUAL_COLS = [
    "position", "account_id", "name", "touches", "last_touch", "touched", "met", "opportunity", "opportunity_amount",
    "steps_due", "nurture_decision", "drop_decision", "status",
]  # fmt: skip


def plan_vs_actual(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    targets: pd.DataFrame,
    steps: pd.DataFrame,
    start: date,
    end: date,
    as_of_day: date,
    activities_known: bool = True,
) -> pd.DataFrame:
    """Per target: touched, met, opportunity created since the plan started, and what each decision
    point says on the as-of date (a reply = a call or meeting, or an outcome like replied/connected).
    Without activities on record (`activities_known` False: none imported) touches, replies and meetings cannot
    be known: those cells stay empty and the decisions unmade, not taken as 'no reply' or 'no meeting'."""
    if not len(targets):
        return pd.DataFrame(columns=_ACTUAL_COLS)
    ids = list(targets["account_id"])
    until = min(as_of_day, end)
    acts: dict[str, list[tuple[date, str, bool]]] = {}
    opps: dict[str, list[float]] = {}
    if until >= start and activities_known:
        for r in q.activities_between(con, scope=scope, account_ids=ids, start=start, end=until).itertuples(
            index=False
        ):
            reply = r.kind in REPLY_KINDS or str(r.outcome or "").lower() in REPLY_OUTCOMES
            acts.setdefault(r.account_id, []).append((pd.Timestamp(r.activity_date).date(), str(r.kind), reply))
    if until >= start:
        for r in q.deals_created_between(con, scope=scope, account_ids=ids, start=start, end=until).itertuples(
            index=False
        ):
            opps.setdefault(r.account_id, []).append(0.0 if pd.isna(r.amount) else float(r.amount))
    by_account: dict[str, list[tuple[date, bool]]] = {}
    for s in steps[["account_id", "step_date", "is_decision"]].itertuples(index=False):
        by_account.setdefault(s.account_id, []).append((s.step_date, bool(s.is_decision)))
    rows = [
        _actual_row(t, acts.get(t.account_id, []), opps.get(t.account_id), by_account.get(t.account_id, []),
                    start, as_of_day)
        for t in targets.itertuples(index=False)
    ]  # fmt: skip
    out = pd.DataFrame(rows, columns=_ACTUAL_COLS)
    if not activities_known:
        out = _without_activities(out, start, as_of_day)
    return out


NO_ACTIVITIES = "unknown: no activities on record"


def _without_activities(actual: pd.DataFrame, start: date, as_of_day: date) -> pd.DataFrame:
    """Plan vs actual when no activity is on record: touches, meetings and the decisions they drive are unknown
    (empty, or NO_ACTIVITIES for a decision that is due); opportunities created are still known."""
    out = actual.astype({c: object for c in ("touches", "touched", "met")})
    out[["touches", "last_touch", "touched", "met"]] = None
    for col in ("nurture_decision", "drop_decision"):
        out[col] = out[col].where(out[col].str.startswith("pending") | (out[col] == ""), NO_ACTIVITIES)
    unknown = "not started" if start > as_of_day else "unknown: no activities on record"
    out["status"] = out["status"].where(out["opportunity"], unknown)
    return out


def no_activities_note() -> str:
    """Why plan vs actual and the BDR warm-ups cannot use activities when none are on record."""
    return (
        "No activities (calls, emails, meetings) are on record for this territory: an import brings accounts, "
        "deals and reps, not activities. So whether a target was touched, replied or met cannot be known: "
        "BDR/SDR warm-ups count every prospect as cold, and plan vs actual shows only the opportunities created, "
        "leaving the nurture and drop decisions to the rep."
    )


def _verdicts(acts: list[tuple[date, str, bool]], decisions: list[date], as_of_day: date) -> list[str]:
    """What each decision point says: pending, or (first) nurture vs continue, (last) drop vs keep."""
    out = []
    for k, when in enumerate(decisions):
        if when > as_of_day:
            out.append(f"pending until {when.isoformat()}")
        elif k == len(decisions) - 1:
            met = any(kind == "meeting" for day, kind, _ in acts if day <= when)
            out.append("keep: a meeting was held" if met else "drop from targets: no meeting")
        else:
            replied = any(reply for day, _, reply in acts if day <= when)
            out.append("continue: they replied" if replied else "move to automated nurture: no reply")
    return out


def _actual_row(
    t: Any, acts: list[tuple[date, str, bool]], opps: list[float] | None, steps: list[tuple[date, bool]],
    start: date, as_of_day: date,
) -> dict[str, Any]:  # fmt: skip
    verdicts = _verdicts(acts, sorted(d for d, is_dec in steps if is_dec), as_of_day)
    nurture = verdicts[0] if verdicts else ""
    drop = verdicts[-1] if len(verdicts) > 1 else ""
    met = any(kind == "meeting" for _, kind, _ in acts)
    if opps:
        status = "opportunity created"
    elif drop.startswith("drop"):
        status = "drop"
    elif nurture.startswith("move"):
        status = "nurture"
    elif met:
        status = "met"
    elif acts:
        status = "touched"
    elif start > as_of_day:
        status = "not started"
    else:
        status = "not touched yet"
    return {
        "position": t.position, "account_id": t.account_id, "name": t.name, "touches": len(acts),
        "last_touch": max(d for d, _, _ in acts) if acts else None, "touched": bool(acts), "met": met,
        "opportunity": bool(opps), "opportunity_amount": float(sum(opps or [])),
        "steps_due": sum(1 for d, is_dec in steps if d <= as_of_day and not is_dec),
        "nurture_decision": nurture, "drop_decision": drop, "status": status,
    }  # fmt: skip


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
    """Totals of plan vs actual: touched, met, opportunities, and what the decision points say (None for what
    activities would tell, when none are on record)."""
    a = plan.actual
    known = not len(a) or bool(a["touched"].notna().all())  # None throughout: no activities on record

    def count(flags: pd.Series) -> int | None:
        return int(flags.sum()) if known else None

    return {
        "targets": len(a),
        "activities_known": known,
        "touched": count(a["touched"]),
        "met": count(a["met"]),
        "opportunities": int(a["opportunity"].sum()),
        "opportunity_amount": float(a["opportunity_amount"].sum()),
        "nurture": count(a["nurture_decision"].str.startswith("move")),
        "drop": count(a["drop_decision"].str.startswith("drop")),
    }


def inactive_note(name: str) -> str:
    """What a plan of a rep who left the team (inactive in the store) says first."""
    return (
        f"{name} is inactive (left the team, or deactivated in the CRM): their accounts need a new owner "
        "rather than a plan (give them one on the Rebalance page, or import them with their new owner)."
    )


def summary_lines(plan: Plan) -> Iterable[str]:
    """A few lines that sum the plan up (CLI and headers)."""
    k = plan.kpis

    def money(value: float | None) -> str:
        return text.money(value, currency=plan.currency)

    yield (
        f"{plan.rep['name']}: {k['targets']} targets, {cell_text(plan.start, 'date')} to "
        f"{cell_text(plan.end, 'date')} ({plan.weeks}-week cadence)"
    )
    left = [] if plan.rep.get("active", True) else [inactive_note(plan.rep["name"])]
    yield from left  # before the numbers: a plan for someone who left is the first thing to know
    if k["coverage"] is not None:
        yield f"expected value {money(k['expected_value'])} = {k['coverage']:.0%} of quota {money(k['quota'])}"
    elif k["quota"] and k["quota_caveat"]:
        yield f"expected value {money(k['expected_value'])} against quota {money(k['quota'])}: not comparable"
    elif k["quota"]:
        yield f"expected value {money(k['expected_value'])} against quota {money(k['quota'])}"
    else:
        yield f"expected value {money(k['expected_value'])} (no quota in the store for this rep)"
    yield from k["warnings"]
    yield from (n for n in plan.notes if n not in left)
