"""The rep's book, best first: the active propensity model's scores, or a transparent heuristic
when no model has scored the accounts yet; with tiers and a rationale in words."""

from __future__ import annotations

import json
import math
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from planner.coverage import value as expected
from planner.errors import PlannerError
from planner.plan.spec import missing
from planner.scope import Scope
from planner.store import plans as q
from planner.store import scores as scores_q
from planner.text import money

_BOOK_COLS = [
    "account_id", "name", "industry", "employees", "state", "city", "owner_rep_id", "propensity", "potential",
    "est_users", "price_per_user", "expected_value", "rank", "reasons", "open_deals", "intent_score",
    "new_executive", "similar_won", "employee_growth",
]  # fmt: skip


def reason_text(value: Any) -> str:
    if missing(value):
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    text = str(value).strip()
    if text.startswith("["):
        try:
            return "; ".join(str(v) for v in json.loads(text))
        except json.JSONDecodeError:
            pass
    return text


def _heuristic_reasons(r: pd.Series) -> str:
    out = []
    if float(r["intent_score"]) >= 60:
        out.append(f"high buying intent ({float(r['intent_score']):.0f}/100)")
    if bool(r["new_executive"]):
        out.append("a new executive in the last 90 days")
    if float(r["employee_growth"]) >= 0.10:
        out.append(f"headcount +{float(r['employee_growth']):.0%} in 12 months")
    if int(r["similar_won"]) > 0:
        out.append(f"{int(r['similar_won'])} similar {r['industry']} accounts in {r['state']} won in 2 years")
    if int(r["open_deals"]) > 0:
        out.append(f"{int(r['open_deals'])} open deal(s)")
    if not out:
        out.append(f"large potential for its size ({int(r['employees'] or 0):,} employees)")
    return "; ".join(out)


def ranked_book(
    con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str, rules: dict[str, Any]
) -> tuple[pd.DataFrame, str]:
    """The rep's accounts, best first, with tier and rationale; and where the ranking came from."""
    df: pd.DataFrame | None = None
    source = "propensity model (active version)"
    try:
        df = scores_q.active_scores(con, scope=scope, rep_id=rep_id)
    except (PlannerError, duckdb.Error):
        df = None
    as_of_day = q.as_of(con)
    heur = q.heuristic_ranking(con, rep_id, as_of_day)
    if df is None or len(df) == 0:
        # No model: the one expected value without a model (planner.coverage.value), as on every page.
        basis = expected.expected_value_basis(con, scope=scope)
        source = basis.note
        vals = expected.account_values(con, scope=scope, rep_id=rep_id, basis=basis)
        df = heur.drop(columns=["propensity"]).merge(
            vals[["account_id", "propensity", "expected_value"]], on="account_id", how="left"
        )
        df["reasons"] = [_heuristic_reasons(r) for _, r in df.iterrows()]
        df = df.sort_values(["expected_value", "potential", "account_id"], ascending=[False, False, True],
                            na_position="last")  # fmt: skip
        df["rank"] = np.arange(1, len(df) + 1)
    else:
        df = df.copy()
        extra = heur.set_index("account_id")
        for col in _BOOK_COLS:
            if col not in df.columns:
                df[col] = df["account_id"].map(extra[col]) if col in extra.columns else np.nan
        if df["expected_value"].isna().all():
            df["expected_value"] = df["propensity"] * df["potential"]
        df = df.sort_values(["rank", "account_id"])
    df = df[_BOOK_COLS].reset_index(drop=True)
    for col in ("open_deals", "similar_won"):
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype(int)
    df["new_executive"] = df["new_executive"].fillna(False).astype(bool)
    df["intent_score"] = pd.to_numeric(df["intent_score"], errors="coerce").fillna(0.0)
    df["employee_growth"] = pd.to_numeric(df["employee_growth"], errors="coerce").fillna(0.0)
    n = len(df)
    df["book_rank"] = np.arange(1, n + 1)
    t1 = math.ceil(n * float(rules["tier1_share"]))
    t2 = t1 + math.ceil(n * float(rules["tier2_share"]))
    df["tier"] = np.where(df["book_rank"] <= t1, 1, np.where(df["book_rank"] <= t2, 2, 3))
    df["reasons"] = df["reasons"].map(reason_text)
    df["rationale"] = [
        f"#{r.book_rank} of {n} in the territory (tier {r.tier}): {r.propensity:.0%} propensity x "
        f"{money(r.potential)} potential ({int(r.est_users or 0):,} users x ${float(r.price_per_user or 0):,.0f}) "
        f"= {money(r.expected_value)} expected value. Why: {r.reasons or 'ranked by expected value'}."
        for r in df.itertuples(index=False)
    ]
    return df, source
