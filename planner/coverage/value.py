"""Expected value = propensity x potential: the one definition every page and command uses.

Propensity comes from the active model's scores. An account the model has not scored (no model
trained yet, or an account imported after the last scoring) takes ONE fallback: the store-wide win
rate of the deals closed in the 12 months to the as-of date. Why that one:

- it is measured, not made up: the same figure the Overview shows as "Win rate, 12 months";
- it claims nothing about one account that the data cannot back, so without a model accounts rank
  by potential, and the pages say so;
- it stays calibrated: the expected values add up to what the team would win at its own rate.

The alternatives it replaces each overstated what is known: fixed coefficients on intent and growth
(0.05 + 0.30 x intent ...; never fitted to any data, values up to 0.9), or plain potential (every
account certain to win, so expected value was 1 / win rate too high). The fit score is what `train`
makes with too little history (or when a model ranks no better than its baseline); it ranks the
accounts (Targets, the plan) but is no probability, so expected value then uses the fallback too.

The rate is store-wide on purpose, so an account has the same expected value whoever looks at it;
a rep's scope still hides the store-wide deal counts behind it. Without scores and without a deal
closed in the 12 months, expected value is not available (NaN), and the note says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from planner.scope import Scope, require_view
from planner.store import metrics as q
from planner.store import scores as scores_q
from planner.store import world

WINDOW_MONTHS = 12
"""The fallback rate's window: deals closed in the 12 months to the as-of date."""


def as_of_date(con: duckdb.DuckDBPyConnection) -> date:
    """The date figures are computed at: the demo's fixed today, else the data's, else today."""
    text = world.as_of(con)
    return date.fromisoformat(text) if text else date.today()


@dataclass(frozen=True)
class ExpectedValueBasis:
    """Where the propensity behind expected value comes from, and the fallback for unscored accounts.

    source: "model" (the active model's scores, the fallback for the rest), "fit_score" (the active
    version is the fit score, which ranks but is no probability: the fallback for every account),
    "win_rate" (no scores: the fallback for every account) or "none" (no scores and no closed deals:
    not available).
    won_12m / closed_12m are None for a rep (store-wide counts)."""

    source: str
    model_version: int | None
    scored_accounts: int
    win_rate: float | None
    won_12m: int | None
    closed_12m: int | None
    note: str

    @property
    def fallback_propensity(self) -> float | None:
        """The propensity of an account without a score (None: not available)."""
        return self.win_rate


def expected_value_basis(
    con: duckdb.DuckDBPyConnection, *, scope: Scope, as_of: date | None = None
) -> ExpectedValueBasis:
    """The active model's scores when there are any, else the store-wide 12-month win rate."""
    require_view(scope, None)
    as_of = as_of or as_of_date(con)
    won, closed = q.win_rate_12m(con, as_of)
    rate = won / closed if closed else None
    version, scored = q.active_model(con)
    rate_text = f"{rate:.1%}" if rate is not None else "not available"
    counts = "" if scope.is_rep else f", {won:,} won of {closed:,} closed"
    shown_won, shown_closed = (None, None) if scope.is_rep else (won, closed)
    kind, why = _kind(con, version) if version is not None else ("none", "")
    if kind == "fit_score":
        # No model ranks the accounts, the fit score does: it is no probability, so expected value takes
        # the measured 12-month win rate for every account (or is not available), like before any training.
        value = (
            f"expected value = potential x the company's win rate of deals closed in the 12 months to {as_of} "
            f"({rate_text}{counts})"
            if rate is not None
            else f"expected value is not available (no deal closed in the 12 months to {as_of})"
        )
        note = f"Ranked by fit score (no model: {why}), not a probability of buying; {value}."
        return ExpectedValueBasis("fit_score", None, 0, rate, shown_won, shown_closed, note)
    if version is not None:
        note = (
            f"Expected value = propensity from model v{version} x potential; accounts the model has not "
            f"scored use the company's 12-month win rate ({rate_text})."
        )
        return ExpectedValueBasis("model", version, scored, rate, shown_won, shown_closed, note)
    if rate is not None:
        note = (
            f"No model scores yet: expected value = potential x the company's win rate of deals closed in the 12 "
            f"months to {as_of} ({rate_text}{counts}). Train a model for account-level propensities."
        )
        return ExpectedValueBasis("win_rate", None, 0, rate, shown_won, shown_closed, note)
    note = (
        f"Expected value is not available: no model scores yet and no deal closed in the 12 months to {as_of}. "
        "Import closed deals or train a model."
    )
    return ExpectedValueBasis("none", None, 0, None, shown_won, shown_closed, note)


def _kind(con: duckdb.DuckDBPyConnection, version: int) -> tuple[str, str]:
    """The kind of a model version (model | fit_score) and, for a fit score, why there is no model."""
    rec = scores_q.model_record(con, version) or {}
    metrics = rec.get("metrics") or {}
    return str(rec.get("kind") or "model"), str(metrics.get("no_model_reason") or "too little history")


def account_values(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    rep_id: str | None = None,
    account_ids: Sequence[str] | None = None,
    basis: ExpectedValueBasis | None = None,
) -> pd.DataFrame:
    """account_id, scored, propensity, potential, expected_value for the accounts in view (the caller's
    scope, one territory when rep_id is given, only `account_ids` when given). Unscored accounts take
    the fallback propensity; NaN when there is none."""
    basis = basis or expected_value_basis(con, scope=scope)
    df = q.account_values(
        con, scope=scope, rep_id=rep_id, account_ids=account_ids, model_version=basis.model_version,
        fallback_propensity=basis.fallback_propensity,
    )  # fmt: skip
    for col in ("propensity", "potential", "expected_value"):
        df[col] = df[col].astype(float)
    df["scored"] = df["scored"].astype(bool)
    return df
