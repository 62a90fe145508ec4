"""Evaluation of the propensity model: an honest time split, AUC, lift, calibration, baselines, importance.

The model is evaluated on a time split (train on older closed deals, test on the newest) against two
baselines, the transparent firmographic fit score and intent alone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.metrics import brier_score_loss, roc_auc_score

from planner.propensity.estimators import FitScore, PropensityModel
from planner.propensity.features import FeatureSpec

TEST_SHARE = 0.2  # the newest fifth of closed deals is the test set
MIN_TRAIN_WINS = 5  # a split whose older part has fewer wins than this cannot be evaluated
IMPORTANCE_ROWS = 5_000  # permutation importance on at most this many test deals
FIRMOGRAPHICS = ("industry", "employees", "annual_revenue")  # what the fit score reads


def lift_top_decile(y: np.ndarray, p: np.ndarray) -> float:
    """Win rate among the top 10% by score divided by the overall win rate."""
    y = np.asarray(y, dtype=float)
    if len(y) == 0 or y.mean() == 0:
        return float("nan")
    k = max(1, math.ceil(len(y) * 0.1))
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")[:k]
    return float(y[order].mean() / y.mean())


def _auc(won: np.ndarray, lost: np.ndarray, axis: int = -1) -> np.ndarray:
    """AUC of won against lost scores along `axis`: the Mann-Whitney U over the pairs (ties count half)."""
    return np.asarray(stats.mannwhitneyu(won, lost, axis=axis).statistic) / (won.shape[axis] * lost.shape[axis])


def auc_interval(y: np.ndarray, p: np.ndarray, seed: int = 0) -> list[float] | None:
    """The AUC's 95% interval over the test deals: a bootstrap that resamples won and lost deals apart (each
    resample keeps the test's mix). On 28 deals an AUC of 0.59 spans about 0.37-0.80: no evidence either way.
    Fewer resamples on big test sets, whose interval is narrow anyway (20,000 deals in about a second)."""
    y = np.asarray(y).astype(bool)
    won, lost = np.asarray(p, dtype=float)[y], np.asarray(p, dtype=float)[~y]
    if not len(won) or not len(lost):
        return None
    boot = stats.bootstrap((won, lost), _auc, vectorized=True, n_resamples=999 if len(y) <= 5_000 else 199,
                           batch=100, method="percentile", rng=np.random.default_rng(seed))  # fmt: skip
    ci = boot.confidence_interval
    return [round(float(ci.low), 4), round(float(ci.high), 4)]


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """AUC, top-decile lift, Brier score and a 10-bin calibration curve of scores p for outcomes y."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    out: dict[str, Any] = {"n": int(len(y)), "wins": int(y.sum())}
    if len(np.unique(y)) < 2:
        out.update(auc=None, lift_top_decile=None, brier=None, calibration=None)
        return out
    out["auc"] = round(float(roc_auc_score(y, p)), 4)
    out["auc_interval"] = auc_interval(y, p)
    out["lift_top_decile"] = round(lift_top_decile(y, p), 3)
    if np.all((p >= 0) & (p <= 1)):
        out["brier"] = round(float(brier_score_loss(y, p)), 4)
        observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
        out["calibration"] = {"predicted": [round(float(v), 4) for v in predicted],
                              "observed": [round(float(v), 4) for v in observed]}  # fmt: skip
    else:
        out["brier"] = None
        out["calibration"] = None
    return out


def time_split(closed_on: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """The test rows (a boolean mask): the newest TEST_SHARE of closed deals by close date.

    None when the split cannot be evaluated: one side lacks a won or a lost deal, or the older part has
    fewer than MIN_TRAIN_WINS wins.
    """
    if not len(y):
        return None
    cutoff = np.sort(closed_on)[int(len(closed_on) * (1 - TEST_SHARE))]
    test = closed_on >= cutoff
    if test.all() or (~test).all():
        test = np.arange(len(y)) >= int(len(y) * (1 - TEST_SHARE))
    train = ~test
    if len(np.unique(y[test])) < 2 or len(np.unique(y[train])) < 2 or y[train].sum() < MIN_TRAIN_WINS:
        return None
    return np.asarray(test)


def firmographics(X: pd.DataFrame) -> pd.DataFrame:
    """The columns the fit score reads (NaN where the frame lacks one)."""
    return pd.DataFrame({c: X[c] if c in X.columns else np.nan for c in FIRMOGRAPHICS}, index=X.index)


def baselines(Xtr: pd.DataFrame, ytr: np.ndarray, Xte: pd.DataFrame, yte: np.ndarray) -> dict[str, Any]:
    """The fit score (fitted on the older deals) and intent alone, measured on the same test deals."""
    fit = FitScore().fit(firmographics(Xtr), ytr)
    out = {"fit_score": evaluate(yte, fit.predict_proba(firmographics(Xte))[:, 1])}
    if "intent_score" in Xte:
        intent = pd.to_numeric(Xte["intent_score"], errors="coerce").fillna(-1).to_numpy()
        out["intent_only"] = evaluate(yte, intent)
    return out


def ceiling_auc(truth: pd.DataFrame, test_accounts: np.ndarray, yte: np.ndarray) -> float | None:
    """AUC of the demo generator's true probabilities on the test deals (None for real data)."""
    if not len(truth):
        return None
    p_true = truth.set_index("account_id")["p_true"].reindex(test_accounts).to_numpy(dtype=float)
    ok = np.isfinite(p_true)
    if not ok.sum() or len(np.unique(yte[ok])) != 2:
        return None
    return round(float(roc_auc_score(yte[ok], p_true[ok])), 4)


def importance(
    model: PropensityModel, Xte: pd.DataFrame, yte: np.ndarray, spec: FeatureSpec, random_state: int = 0
) -> list[dict[str, Any]]:
    """Permutation importance (AUC lost when a feature is shuffled), most important first.

    On the first booster's encoded matrix and at most IMPORTANCE_ROWS test deals: the same ranking signal,
    a fraction of the cost."""
    rows = np.random.default_rng(random_state).permutation(len(yte))[:IMPORTANCE_ROWS]
    booster = model.boosters_[0][-1]
    imp = permutation_importance(booster, model.encode(Xte.iloc[rows]), yte[rows], scoring="roc_auc",
                                 n_repeats=3, random_state=random_state)  # fmt: skip
    return sorted(
        [{"field": c, "name": spec.labels.get(c, c), "mean": round(float(m), 5), "std": round(float(s), 5)}
         for c, m, s in zip(spec.columns, imp.importances_mean, imp.importances_std, strict=True)],
        key=lambda r: -r["mean"],
    )  # fmt: skip
