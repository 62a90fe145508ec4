"""The rep's book, best first by the one expected value (the active model's propensity, else its
one fallback, x potential), with tiers and a rationale in words."""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from planner import text
from planner.coverage import value as expected
from planner.errors import PlannerError
from planner.plan.sequence import LAPSED_YEARS
from planner.plan.spec import missing
from planner.scope import Scope
from planner.store import plans as q
from planner.store import scores as scores_q

_BOOK_COLS = [
    "account_id", "name", "industry", "employees", "state", "city", "owner_rep_id", "scored", "propensity",
    "potential", "est_users", "price_per_user", "expected_value", "reasons", "open_deals", "intent_score",
    "new_executive", "similar_won", "employee_growth", "is_customer", "fit_score", "last_won",
]  # fmt: skip


def lapsed_before(start: date) -> date:
    """Customers whose last win is before this day are lapsed for a plan starting on `start`."""
    try:
        return start.replace(year=start.year - LAPSED_YEARS)
    except ValueError:  # 29 February
        return start.replace(year=start.year - LAPSED_YEARS, day=28)


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


def _signals(r: Any) -> str:
    """What the data says about an account the model has not scored (signals, not a score)."""
    out = []
    if float(r.intent_score) >= 60:
        out.append(f"high buying intent ({float(r.intent_score):.0f}/100)")
    if bool(r.new_executive):
        out.append("a new executive in the last 90 days")
    if float(r.employee_growth) >= 0.10:
        out.append(f"headcount +{float(r.employee_growth):.0%} in 12 months")
    if int(r.similar_won) > 0:
        n = int(r.similar_won)
        out.append(f"{n} similar {r.industry} account{'' if n == 1 else 's'} in {r.state} won in 2 years")
    if (deals := int(r.open_deals)) > 0:
        out.append(f"{deals} open deal{'' if deals == 1 else 's'}")
    return "; ".join(out)


def _active_scores(con: duckdb.DuckDBPyConnection, scope: Scope, rep_id: str) -> pd.DataFrame:
    """The active version's rank, score and reasons per scored account of the territory (empty without)."""
    try:
        scored = scores_q.active_scores(con, scope=scope, rep_id=rep_id)
    except (PlannerError, duckdb.Error):
        scored = pd.DataFrame(columns=["account_id", "rank", "propensity", "reasons"])
    return pd.DataFrame({"account_id": scored["account_id"].astype(str), "score_rank": scored["rank"],
                         "fit_score": scored["propensity"], "reasons": scored["reasons"].map(reason_text)})  # fmt: skip


def ranked_book(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    rep_id: str,
    rules: dict[str, Any],
    currency: str,
    start: date | None = None,
) -> tuple[pd.DataFrame, str]:
    """Every account of the rep's territory, best expected value first (the one expected value of
    planner.coverage.value: the model's propensity, else its one fallback, x potential), with tier
    and rationale; and where the ranking came from. Without a model the fit score ranks (fit x potential,
    the order of the Targets page); expected value then takes the fallback rate, as the fit is no probability.
    The rationale writes money in `currency` (the store's). A customer whose last win is LAPSED_YEARS or more
    before `start` (the plan's; default the as-of date) is `lapsed`."""
    as_of = q.as_of(con)
    basis = expected.expected_value_basis(con, scope=scope, as_of=as_of)  # the plan's as-of date, said once
    values = expected.account_values(con, scope=scope, rep_id=rep_id, basis=basis)
    feats = q.book_features(con, scope=scope, rep_id=rep_id, as_of_day=as_of)
    df = feats.merge(values[["account_id", "scored", "propensity", "expected_value"]], on="account_id", how="left")
    fit = basis.source == "fit_score"
    if basis.source in ("model", "fit_score"):
        df = df.merge(_active_scores(con, scope, rep_id), on="account_id", how="left")
    else:
        df = df.assign(score_rank=np.nan, fit_score=np.nan, reasons="")
    df["reasons"] = df["reasons"].fillna("").astype(str)
    if not fit:
        df["fit_score"] = np.nan
    order = ["score_rank", "potential", "account_id"] if fit else ["expected_value", "potential", "account_id"]
    df = df.sort_values(order, ascending=[fit, False, True], na_position="last")[_BOOK_COLS].reset_index(drop=True)
    for col in ("open_deals", "similar_won"):
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype(int)
    df["new_executive"] = df["new_executive"].fillna(False).astype(bool)
    df["is_customer"] = df["is_customer"].fillna(False).astype(bool)
    df["last_won"] = pd.to_datetime(df["last_won"], errors="coerce").dt.date
    cutoff = lapsed_before(start or as_of)
    pairs = zip(df["is_customer"], df["last_won"], strict=True)
    df["lapsed"] = [bool(c) and not missing(w) and w < cutoff for c, w in pairs]
    df["scored"] = df["scored"].fillna(False).astype(bool)
    for col in ("intent_score", "employee_growth", "potential", "est_users", "price_per_user"):
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0.0)
    n = len(df)
    df["book_rank"] = np.arange(1, n + 1)
    t1 = math.ceil(n * float(rules["tier1_share"]))
    t2 = t1 + math.ceil(n * float(rules["tier2_share"]))
    df["tier"] = np.where(df["book_rank"] <= t1, 1, np.where(df["book_rank"] <= t2, 2, 3))
    df["rationale"] = [_rationale(r, n, currency, fit) for r in df.itertuples(index=False)]
    return df, basis.note


def _rationale(r: Any, n: int, currency: str, fit: bool = False) -> str:
    """Why the account ranks where it does, with the revenue maths, in words."""

    def money(value: float | None) -> str:
        return text.money(value, currency=currency)

    users = f"{int(r.est_users):,} user{'' if int(r.est_users) == 1 else 's'}" if r.est_users > 0 else ""
    price = f"{text.currency_prefix(currency)}{float(r.price_per_user):,.0f}"  # exact, as the user set it
    if not r.est_users > 0 and not missing(r.employees) and float(r.employees) > 0:
        # A head count too small for one user at the adoption rate (3 x 8% rounds to 0): not missing data.
        heads = float(r.employees)
        few = f"{heads:,.0f} employee{'' if heads == 1 else 's'}: too few for one estimated user"
        size = f"{money(r.potential)} potential ({few})"
    elif not r.est_users > 0:
        size = f"{money(r.potential)} potential (no employee count or annual revenue, so no estimated users)"
    elif missing(r.employees):
        size = f"{money(r.potential)} potential ({users}, estimated from annual revenue, x {price})"
    else:
        size = f"{money(r.potential)} potential ({users} x {price})"
    if fit and not missing(r.fit_score):
        # Ranked by the fit score (no model): a fit, not a probability; expected value at the measured rate.
        at = (
            f"; {money(r.expected_value)} expected value at the company's {r.propensity:.0%} 12-month win rate"
            if not missing(r.expected_value)
            else "; expected value not available (no deal closed in 12 months)"
        )
        value = f"fit score {float(r.fit_score) * 100:.0f}/100 (no model) x {size}{at}"
    elif missing(r.expected_value):
        value = f"{size}; expected value not available (no model and no closed deals), so ranked by potential"
    else:
        source = "model propensity" if r.scored else "propensity (the company's 12-month win rate, no model score)"
        value = f"{r.propensity:.0%} {source} x {size} = {money(r.expected_value)} expected value"
    why = r.reasons or (f"signals: {_signals(r)}" if _signals(r) else "")
    if r.lapsed:
        play = (
            f" A lapsed customer (last win {r.last_won.isoformat()}, {LAPSED_YEARS}+ years before the plan): "
            "a win-back play."
        )
    else:
        play = " An existing customer: an expansion play, not a first contact." if r.is_customer else ""
    return f"#{r.book_rank} of {n} in the territory (tier {r.tier}): {value}.{play}" + (f" Why: {why}." if why else "")
