"""The rep's edits to a plan: add, remove and move targets, and the editable targets table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from planner.errors import BadInput
from planner.plan.spec import Plan, TargetSpec, missing


def add_target(specs: Sequence[TargetSpec], account_id: str, position: int | None = None) -> tuple[TargetSpec, ...]:
    """Add an account (at a 1-based position, default last); adding one already there is an error."""
    if any(s.account_id == account_id for s in specs):
        raise BadInput(f"{account_id} is already a target of this plan")
    out = list(specs)
    at = len(out) if position is None else min(max(1, position), len(out) + 1) - 1
    out.insert(at, TargetSpec(account_id))
    return tuple(out)


def remove_target(specs: Sequence[TargetSpec], account_id: str) -> tuple[TargetSpec, ...]:
    """Remove an account from the plan."""
    if not any(s.account_id == account_id for s in specs):
        raise BadInput(f"{account_id} is not a target of this plan")
    return tuple(s for s in specs if s.account_id != account_id)


def move_target(specs: Sequence[TargetSpec], account_id: str, position: int) -> tuple[TargetSpec, ...]:
    """Move an account to a 1-based position."""
    spec = next((s for s in specs if s.account_id == account_id), None)
    if spec is None:
        raise BadInput(f"{account_id} is not a target of this plan")
    rest = [s for s in specs if s.account_id != account_id]
    rest.insert(min(max(1, position), len(rest) + 1) - 1, spec)
    return tuple(rest)


def editor_table(plan: Plan) -> pd.DataFrame:
    """The targets as the page's editable table: keep, position, offer (by name), start week and
    rationale are editable; the hidden columns let `specs_from_table` tell edits from suggestions."""
    t = plan.targets
    return pd.DataFrame(
        {
            "keep": True,
            "position": t["position"].astype(int),
            "name": t["name"].fillna(""),
            "industry": t["industry"].fillna(""),
            "tier": t["tier"],
            "cadence": t["mix"],
            "est_users": t["est_users"],
            "price_per_user": t["price_per_user"],
            "propensity": t["propensity"],
            "expected_value": t["expected_value"].round(0),
            "offer": t["offer"].fillna(""),
            "start_week": t["start_week"].astype(int),
            "first_touch": pd.to_datetime(t["first_touch"]),
            "rationale": t["rationale"].fillna(""),
            "status": t["status"],
            "account_id": t["account_id"],
            "suggested_offer_id": t["suggested_offer_id"],
            "start_week_choice": t["start_week_choice"],
            "_auto_start_week": [
                None if not missing(c) else int(w) for c, w in zip(t["start_week_choice"], t["start_week"], strict=True)
            ],
            "_auto_rationale": [
                r if missing(c) else None for c, r in zip(t["rationale_choice"], t["rationale"], strict=True)
            ],
        }
    )


def specs_from_table(table: pd.DataFrame, offers: pd.DataFrame | None = None) -> tuple[TargetSpec, ...]:
    """The rep's decisions from an edited targets table: rows with keep=False go; 'position' orders;
    an offer (id or name) equal to the suggestion, an empty start week or rationale mean 'suggest'."""
    if not len(table):
        return ()
    df = table.copy().reset_index(drop=True)
    df["_row"] = np.arange(len(df))
    if "keep" in df.columns:
        df = df[df["keep"].fillna(True).astype(bool)]
    df["position"] = pd.to_numeric(df.get("position", df["_row"] + 1), errors="coerce").fillna(df["_row"] + 1)
    df = df.sort_values(["position", "_row"])
    by_name = dict(zip(offers["name"], offers["offer_id"], strict=True)) if offers is not None else {}
    out = []
    for r in df.to_dict("records"):
        offer = r.get("offer")
        offer_id = by_name.get(offer, offer) if not missing(offer) and offer != "" else None
        if offer_id is not None and offer_id == r.get("suggested_offer_id"):
            offer_id = None
        week = r.get("start_week")
        week_choice = r.get("start_week_choice")
        auto_week = r.get("_auto_start_week")
        if missing(week):
            start_week = None
        elif not missing(week_choice) and int(week) == int(week_choice) + 1:
            start_week = int(week_choice)
        elif not missing(auto_week) and int(week) == int(auto_week):
            start_week = None
        else:
            if int(week) < 1:
                raise BadInput(f"start week {week} of {r.get('name')} must be 1 or later")
            start_week = int(week) - 1
        rationale = r.get("rationale")
        auto_rationale = r.get("_auto_rationale")
        if missing(rationale) or rationale == "" or rationale == auto_rationale:
            rationale = None
        status = r.get("status")
        out.append(
            TargetSpec(
                str(r["account_id"]), offer_id, start_week, rationale, "planned" if missing(status) else str(status)
            )
        )
    return tuple(out)


def draft_specs(book: pd.DataFrame, n: int) -> tuple[TargetSpec, ...]:
    """The top n accounts of a ranked book, every choice left to the planner."""
    return tuple(TargetSpec(str(a)) for a in book["account_id"].head(n))
