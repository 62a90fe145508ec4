"""Composing a plan from the rep's decisions: the targets with their offers, the dated steps and
asks, the weekly load, the KPIs and plan vs actual, all derived from the specs and the rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from planner.plan.book import ranked_book
from planner.plan.edits import draft_specs
from planner.plan.kpis import close_gap, kpi_alignment, plan_vs_actual
from planner.plan.offers import catalogue, partner_table, suggest_offer, valid_offers
from planner.plan.reps import rep_for
from planner.plan.rules import rules_with_defaults
from planner.plan.sequence import cadence, stagger, suggest_needs, weekly_capacity, weekly_hours, weekly_load
from planner.plan.spec import STEP_FRAME_COLS, TARGET_FRAME_COLS, Plan, TargetSpec, missing
from planner.scope import Scope, narrow
from planner.store import plans as q

Template = list[tuple[int, str, str, bool]]


@dataclass(frozen=True)
class _Catalogue:
    """The offers and partners in force, with lookups by offer id."""

    offers: pd.DataFrame
    partners: pd.DataFrame
    names: dict[str, str]
    kinds: dict[str, str]
    first_event: str | None

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, start: date) -> _Catalogue:
        offers = catalogue(con)
        events = valid_offers(offers, start)
        events = events[events["kind"] == "event"]["name"]
        return cls(
            offers,
            partner_table(con),
            dict(zip(offers["offer_id"], offers["name"], strict=True)),
            dict(zip(offers["offer_id"], offers["kind"], strict=True)),
            str(events.iloc[0]) if len(events) else None,
        )


def compose(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    rep_id: str,
    start: date,
    weeks: int = q.DEFAULT_WEEKS,
    specs: Sequence[TargetSpec] | None = None,
    rules: str | None = None,
    plan_id: int | None = None,
) -> Plan:
    """Build the whole plan from the rep's decisions (specs; None = a draft of the top n_targets)."""
    rep = rep_for(con, scope=scope, rep_id=rep_id)
    r = rules_with_defaults(rules)
    template = cadence(int(weeks), r)
    book, source = ranked_book(con, scope=narrow(scope, rep_id), rep_id=rep_id, rules=r)
    notes: list[str] = []
    chosen = _in_territory(book, _unique(draft_specs(book, int(r["n_targets"])) if specs is None else specs), scope,
                           notes)  # fmt: skip
    by_id = book.set_index("account_id")
    cat = _Catalogue.read(con, start)
    capacity = weekly_capacity(rep, r)
    starts = stagger([s.start_week for s in chosen], weekly_hours(template, int(weeks), r["hours"]), capacity,
                     int(r["max_stagger_weeks"]))  # fmt: skip
    targets, steps, needs = _lay_out(con, chosen, starts, by_id, cat, template, r, start, notes)
    total_weeks = int(weeks) + max(starts, default=0)
    end = start + timedelta(weeks=total_weeks) - timedelta(days=1)
    load_df = weekly_load(steps, start, total_weeks, capacity)
    # A rep sees their own numbers only: the company quota is for leaders and admins.
    kpis = kpi_alignment(targets, load_df, rep, r, int(weeks), None if scope.is_rep else q.team_quota(con))
    spare = book[~book["account_id"].isin(set(targets["account_id"]))]
    return Plan(
        plan_id=plan_id, rep=rep, start=start, weeks=int(weeks), end=end, as_of=q.as_of(con), rules=r, source=source,
        targets=targets, steps=steps, needs=needs, load=load_df, kpis=kpis, gap=close_gap(book, targets, kpis),
        actual=plan_vs_actual(con, targets, steps, start, end, q.as_of(con)), offers=cat.offers,
        book=spare[_SPARE_COLS].reset_index(drop=True), notes=notes, partners=cat.partners,
    )  # fmt: skip


_SPARE_COLS = ["account_id", "name", "industry", "state", "tier", "propensity", "expected_value", "book_rank"]


def _unique(specs: Sequence[TargetSpec]) -> list[TargetSpec]:
    """The specs in order, each account once (the first decision wins)."""
    seen: set[str] = set()
    out = []
    for s in (TargetSpec(*s) for s in specs):
        if s.account_id not in seen:
            seen.add(s.account_id)
            out.append(s)
    return out


def _in_territory(book: pd.DataFrame, specs: list[TargetSpec], scope: Scope, notes: list[str]) -> list[TargetSpec]:
    """The specs whose accounts the rep owns today; the others (moved by a rebalance, deleted, or
    never theirs) are left out with a note that names them only to an asker who may see them."""
    owned = set(book["account_id"])
    gone = [s.account_id for s in specs if s.account_id not in owned]
    if gone:
        which = "" if scope.is_rep else f": {', '.join(gone[:5])}{' ...' if len(gone) > 5 else ''}"
        notes.append(
            f"{len(gone)} saved target(s) are no longer in this territory (moved to another owner or removed) "
            f"and are left out of the plan{which}"
        )
    return [s for s in specs if s.account_id in owned]


def _lay_out(
    con: duckdb.DuckDBPyConnection,
    specs: list[TargetSpec],
    starts: list[int],
    by_id: pd.DataFrame,
    cat: _Catalogue,
    template: Template,
    rules: dict[str, Any],
    start: date,
    notes: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Targets, dated steps and asks of other teams, one account after the other."""
    ids = [s.account_id for s in specs]
    last = q.last_activity(con, ids, start + timedelta(weeks=max(starts, default=0) + 1)) if ids else pd.DataFrame()
    last_by = dict(zip(last.get("account_id", []), last.get("last_activity", []), strict=True))
    target_rows: list[dict[str, Any]] = []
    step_rows: list[dict[str, Any]] = []
    need_rows: list[dict[str, Any]] = []
    for pos, (spec, s_week) in enumerate(zip(specs, starts, strict=True), start=1):
        acc = by_id.loc[spec.account_id].to_dict()
        acc["account_id"] = spec.account_id
        target = _target(pos, spec, s_week, acc, cat, template, rules, start, notes)
        step_rows += _steps(pos, spec, acc, target, cat, template, rules, start)
        cold = _is_cold(last_by.get(spec.account_id), target["first_touch"], int(rules["sdr_cold_days"]))
        needs = suggest_needs(acc, int(acc.get("tier", 3)), cat.partners, rules, target["first_touch"], cold)
        need_rows += [{"account_id": spec.account_id, "account_name": acc["name"], **n} for n in needs]
        target["needs"] = "; ".join(f"{n['team']}: {n['ask']}" for n in needs)
        target_rows.append(target)
    targets = pd.DataFrame(target_rows, columns=TARGET_FRAME_COLS)
    steps = pd.DataFrame(step_rows, columns=STEP_FRAME_COLS)
    needs_df = pd.DataFrame(need_rows, columns=["team", "account_id", "account_name", "ask", "due", "rule"])
    return targets, steps, needs_df.sort_values(["team", "due", "account_name"]).reset_index(drop=True)


def _is_cold(last_touch: Any, first_touch: date, cold_days: int) -> bool:
    """No activity within `cold_days` before the first touch."""
    return last_touch is None or missing(last_touch) or (first_touch - pd.Timestamp(last_touch).date()).days > cold_days


def _target(
    pos: int,
    spec: TargetSpec,
    s_week: int,
    acc: dict[str, Any],
    cat: _Catalogue,
    template: Template,
    rules: dict[str, Any],
    start: date,
    notes: list[str],
) -> dict[str, Any]:
    """One target row: the account, its offer (chosen or suggested) and its first touch."""
    suggested, why = suggest_offer(acc, cat.offers, rules, start)
    chosen = spec.offer_id if spec.offer_id in cat.names else None
    if spec.offer_id and chosen is None:
        notes.append(f"offer {spec.offer_id!r} of {acc['name']} is no longer in the catalogue; suggesting one")
    offer_id = chosen or suggested
    first_touch = start + timedelta(weeks=s_week) + timedelta(days=template[0][0])
    return {
        "position": pos, "account_id": spec.account_id, "name": acc["name"], "industry": acc["industry"],
        "state": acc["state"], "city": acc["city"], "employees": acc["employees"], "tier": int(acc["tier"]),
        "book_rank": int(acc["book_rank"]), "est_users": float(acc["est_users"] or 0),
        "price_per_user": float(acc["price_per_user"] or 0), "potential": float(acc["potential"] or 0),
        "propensity": float(acc["propensity"] or 0), "expected_value": float(acc["expected_value"] or 0),
        "offer_id": offer_id, "offer": cat.names.get(offer_id, "") if offer_id else "",
        "suggested_offer_id": suggested, "offer_reason": why if chosen in (None, suggested) else "chosen by the rep",
        "start_week": s_week + 1, "first_touch": first_touch, "rationale": spec.rationale or acc["rationale"],
        "needs": "", "status": spec.status, "offer_choice": chosen, "start_week_choice": spec.start_week,
        "rationale_choice": spec.rationale,
    }  # fmt: skip


def _steps(
    pos: int,
    spec: TargetSpec,
    acc: dict[str, Any],
    target: dict[str, Any],
    cat: _Catalogue,
    template: Template,
    rules: dict[str, Any],
    start: date,
) -> list[dict[str, Any]]:
    """The account's dated steps: the template from its start week, the offer in the wording."""
    offer_id, offer_name = target["offer_id"], target["offer"]
    kind = cat.kinds.get(offer_id) if offer_id else None
    fill = {
        "offer": offer_name or "a short note on why now",
        "event": offer_name if kind == "event" else (cat.first_event or "our next webinar"),
        "story": offer_name if kind == "case_study" else "a short ROI summary for their industry",
    }
    account_start = start + timedelta(weeks=int(target["start_week"]) - 1)
    rows = []
    for no, (day, channel, action, decision) in enumerate(template, start=1):
        when = account_start + timedelta(days=day)
        rows.append(
            {
                "account_id": spec.account_id, "account_name": acc["name"], "position": pos, "step_no": no,
                "step_date": when, "week": (when - start).days // 7 + 1, "channel": channel,
                "action": action.format(**fill), "is_decision": decision,
                "hours": float(rules["hours"].get(channel, 0.0)),
            }
        )  # fmt: skip
    return rows
