"""Propensity: the probability that an account converts, learned from closed deals, with reasons.

One training row per closed deal: the account's firmographics, growth, intent and typed custom
attributes, plus what was known *when the deal was created* about nearby wins (same industry,
within RADIUS_KM, in the WINDOW_DAYS before) and the account's own earlier deals. Fields known only
after an outcome are excluded by a leakage guard that records why. The model is evaluated on a
time split (train on older closed deals, test on the newest) against two baselines, a transparent
firmographic fit score and intent alone, then refit on every closed deal to score all accounts.
With too little history it falls back to the fit score, and says so.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import permutation_importance
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neighbors import KDTree
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from planner.errors import BadInput, NotEnoughData, NotFound
from planner.scope import EVERYONE, Scope, require_role
from planner.text import json_safe, money

Progress = Callable[[float, str], None]

EARTH_KM = 6371.0088
RADIUS_KM = 100.0  # "nearby": how far a recent win counts as similar
WINDOW_DAYS = 182  # "recent": six months
MIN_CLOSED = 50  # below this many closed deals, or MIN_WINS wins, use the fit score
MIN_WINS = 10
TEST_SHARE = 0.2  # the newest fifth of closed deals is the test set
MAX_TEXT_LEVELS = 20  # a text attribute with more distinct values is free text, not a category
MIN_COVERAGE = 0.05  # an attribute present on fewer accounts than this share is not used
BIG_DATA_ROWS = 50_000  # below this, one thread: OpenMP thread start-up and spinning cost more than they save
MIN_EFFECT = 0.02  # a driver must move the log-odds at least this much to count as raising or lowering
LEAK_AUC = 0.9  # a single field separating won from lost deals this well was recorded after the outcome
_QUERY_THREADS = max(1, min(2, os.cpu_count() or 1))  # threads for neighbour queries on big stores
BIG_SCORE_ROWS = 200_000  # from this many accounts, predictions use _QUERY_THREADS threads
MAX_TRAIN_ROWS = 150_000  # more closed deals than this: train on a stratified sample of this many (said on the card)
IMPORTANCE_ROWS = 5_000  # permutation importance on at most this many test deals
PD_ROWS = 300  # background deals over which the model's partial dependence (for reasons) is averaged
PD_GRID = 32  # values per numeric feature at which the partial dependence is evaluated
LEAK_ACCOUNT_AUC = 0.97  # ... or telling accounts that ever won from the others this well

BASE_FEATURES: dict[str, str] = {
    "industry": "Industry",
    "employees": "Employees",
    "annual_revenue": "Annual revenue",
    "employee_growth": "Employee growth, 12 months",
    "intent_score": "Intent score",
    "new_executive": "New executive, last 90 days",
    "website_visits": "Website visits, last 30 days",
}
HISTORY_FEATURES: dict[str, str] = {
    "similar_won": "Similar wins nearby, 6 months",  # same industry, within RADIUS_KM, before the deal
    "nearest_won_km": "Distance to nearest similar win",
    "prior_wins": "Earlier deals won",
    "prior_losses": "Earlier deals lost",
}
# Fields that exist in every store but must never feed the model, and why.
ALWAYS_EXCLUDED: list[tuple[str, str]] = [
    ("deals.stage", "the deal's own stage: 'Closed Won' or 'Closed Lost' is the outcome itself"),
    ("deals.is_won, deals.is_closed", "the outcome the model learns (its label)"),
    ("deals.amount, deals.users", "set or revised when the deal closes: known only after the outcome"),
    ("deals.close_date", "known only after the outcome; used only to order deals in time for the split"),
    ("accounts.account_type", "the CRM marks an account 'Customer' after it wins: known only after the outcome"),
    (
        "accounts.owner_rep_id, deals.owner_rep_id",
        "who owns an account records who worked and won it, and changes with rebalancing",
    ),
    ("account_id, deal_id, name", "identifiers carry no meaning and would let the model memorise accounts"),
    (
        "lat, lon, city, state, postal_code, county",
        "raw location would memorise places; geography enters only as similarity to recent nearby wins",
    ),
    ("activities", "touches are logged mostly while a deal is worked and after it: they trail the outcome"),
    ("created_at, updated_at, source, geo_method, locked", "bookkeeping of imports, not facts about the account"),
]
# Words in a custom attribute's name that mean it is recorded at or after the outcome.
LEAKY_WORDS = {
    "stage", "won", "win", "lost", "loss", "close", "closed", "churn", "churned", "customer", "owner", "renewal",
    "contract", "amount", "booking", "bookings", "arr", "mrr", "acv", "tcv", "status", "id", "crm", "converted",
}  # fmt: skip


# ---------------------------------------------------------------- estimators


class PropensityModel(ClassifierMixin, BaseEstimator):
    """Calibrated gradient boosting over categorical and numeric columns of a DataFrame.

    A Pipeline (ColumnTransformer + HistGradientBoostingClassifier) wrapped in CalibratedClassifierCV,
    so predict_proba returns probabilities that match observed win rates.
    """

    def __init__(
        self,
        categorical: tuple[str, ...] = (),
        numeric: tuple[str, ...] = (),
        max_iter: int = 150,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 8,
        min_samples_leaf: int = 50,
        l2_regularization: float = 1.0,
        calibration: str = "auto",
        cv: int = 3,
        holdout_above: int = 20_000,
        random_state: int = 0,
    ) -> None:
        self.categorical = categorical
        self.numeric = numeric
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.cv = cv
        self.holdout_above = holdout_above
        self.random_state = random_state

    def _columns(self) -> list[str]:
        return list(self.categorical) + list(self.numeric)

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise BadInput("PropensityModel needs a DataFrame with named feature columns")
        missing = [c for c in self._columns() if c not in X.columns]
        if missing:
            raise BadInput(f"feature columns {missing} are missing; build features with planner.propensity")
        out = X[self._columns()].copy()
        for c in self.categorical:
            present = out[c].notna().to_numpy()
            text = np.full(len(out), np.nan, dtype=object)
            text[present] = out[c][present].astype(str).to_numpy(dtype=object)
            out[c] = text
        for c in self.numeric:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
        return out

    def _pipeline(self, n: int) -> Pipeline:
        cat, num = list(self.categorical), list(self.numeric)
        pre = ColumnTransformer(
            [
                (
                    "categories",
                    OrdinalEncoder(
                        handle_unknown="use_encoded_value",
                        unknown_value=np.nan,
                        encoded_missing_value=np.nan,
                        max_categories=40,
                    ),
                    cat,
                ),
                ("numbers", "passthrough", num),
            ],
            verbose_feature_names_out=False,
        )
        hgb = HistGradientBoostingClassifier(
            categorical_features=np.array([True] * len(cat) + [False] * len(num)),
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=min(self.min_samples_leaf, max(5, n // 20)),
            l2_regularization=self.l2_regularization,
            early_stopping=n >= 1000,
            validation_fraction=0.15,
            n_iter_no_change=25,
            random_state=self.random_state,
        )
        return Pipeline([("features", pre), ("boosting", hgb)])

    def fit(self, X: pd.DataFrame, y: Any) -> PropensityModel:
        """Validate, fit and calibrate; returns self."""
        if not self._columns():
            raise BadInput("PropensityModel needs at least one feature column")
        frame = self._frame(X)
        target = np.asarray(y).astype(int)
        if len(target) != len(frame):
            raise BadInput(f"X has {len(frame)} rows but y has {len(target)}")
        check_classification_targets(target)
        counts = np.bincount(target, minlength=2)
        if len(counts) != 2 or counts.min() < 2:
            raise NotEnoughData("need both won and lost deals (at least 2 of each) to fit a propensity model")
        method = self.calibration
        if method == "auto":
            method = "isotonic" if len(target) >= 2000 else "sigmoid"
        if len(target) > self.holdout_above:
            # Plenty of data: one booster on 80%, calibrated on the other 20% (a fifth of the cost of CV).
            fit_idx, cal_idx = train_test_split(
                np.arange(len(target)), test_size=0.2, stratify=target, random_state=self.random_state
            )
            pipe = self._pipeline(len(fit_idx)).fit(frame.iloc[fit_idx], target[fit_idx])
            self.calibrated_ = CalibratedClassifierCV(FrozenEstimator(pipe), method=method)
            self.calibrated_.fit(frame.iloc[cal_idx], target[cal_idx])
            self.boosters_ = [pipe]
        else:
            folds = int(min(self.cv, counts.min()))
            self.calibrated_ = CalibratedClassifierCV(
                self._pipeline(len(target)),
                method=method,
                cv=StratifiedKFold(folds, shuffle=True, random_state=self.random_state),
                ensemble=True,
            ).fit(frame, target)
            self.boosters_ = [c.estimator for c in self.calibrated_.calibrated_classifiers_]
        self.classes_ = self.calibrated_.classes_
        self.feature_names_in_ = np.array(self._columns(), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.calibration_method_ = method
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "calibrated_")
        return np.asarray(self.calibrated_.predict_proba(self._frame(X)))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.classes_)[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def encode(self, X: pd.DataFrame) -> np.ndarray:
        """The feature matrix as the first booster sees it (for fast explanations and importances)."""
        check_is_fitted(self, "calibrated_")
        return np.asarray(self.boosters_[0][:-1].transform(self._frame(X)), dtype=float)

    def raw_encoded(self, A: np.ndarray) -> np.ndarray:
        """Log-odds of the first (uncalibrated) booster for an encoded matrix."""
        return np.asarray(self.boosters_[0][-1].decision_function(A))


class FitScore(ClassifierMixin, BaseEstimator):
    """A transparent firmographic fit score, 0..100: the industry's win rate (half the points), and
    employees and annual revenue inside the band (middle half) of won deals (a quarter each).

    predict_proba scales it to the base win rate, so it can stand in for the model's probability.
    """

    def __init__(self, prior_strength: float = 20.0, default_rate: float = 0.2) -> None:
        self.prior_strength = prior_strength
        self.default_rate = default_rate

    @staticmethod
    def _band(values: pd.Series, won: np.ndarray) -> tuple[float, float] | None:
        logs = np.log10(pd.to_numeric(values, errors="coerce").astype(float).clip(lower=1))
        ref = logs[won] if won.sum() >= 5 else logs
        ref = ref[np.isfinite(ref)]
        if len(ref) < 5:
            return None
        return float(np.quantile(ref, 0.25)), float(np.quantile(ref, 0.75))

    def fit(self, X: pd.DataFrame, y: Any) -> FitScore:
        target = np.asarray(y).astype(int)
        if len(target) != len(X):
            raise BadInput(f"X has {len(X)} rows but y has {len(target)}")
        won = target == 1
        self.base_rate_ = float(target.mean()) if len(target) else float(self.default_rate)
        rates: dict[str, float] = {}
        if len(target):
            ind = X["industry"].fillna("(none)").astype(str)
            g = pd.DataFrame({"ind": ind.to_numpy(), "won": target}).groupby("ind")["won"].agg(["sum", "count"])
            m = self.prior_strength
            rates = ((g["sum"] + m * self.base_rate_) / (g["count"] + m)).to_dict()
        self.industry_rates_ = {str(k): float(v) for k, v in rates.items()}
        self.employee_band_ = self._band(X["employees"], won) if len(target) else None
        self.revenue_band_ = self._band(X["annual_revenue"], won) if len(target) else None
        train = self.fit_score(X) if len(target) else np.array([50.0])
        self.mean_score_ = float(np.mean(train)) if len(train) else 50.0
        self.classes_ = np.array([0, 1])
        return self

    def components(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points (0..1) of each part of the score: industry, employees, annual_revenue."""
        check_is_fitted(self, "industry_rates_")
        n = len(X)
        if self.industry_rates_:
            top = max(self.industry_rates_.values()) or 1.0
            rate = X["industry"].fillna("(none)").astype(str).map(self.industry_rates_).fillna(self.base_rate_)
            ind = (rate / top).to_numpy(dtype=float)
        else:
            ind = np.full(n, 0.5)

        def band(col: str, bounds: tuple[float, float] | None) -> np.ndarray:
            if bounds is None:
                return np.full(n, 0.5)
            logs = np.log10(pd.to_numeric(X[col], errors="coerce").astype(float).clip(lower=1)).to_numpy()
            lo, hi = bounds
            dist = np.where(logs < lo, lo - logs, np.where(logs > hi, logs - hi, 0.0))
            return np.where(np.isfinite(logs), np.clip(1.0 - dist, 0.0, 1.0), 0.5)

        return pd.DataFrame(
            {
                "industry": ind,
                "employees": band("employees", self.employee_band_),
                "annual_revenue": band("annual_revenue", self.revenue_band_),
            },
            index=X.index,
        )

    def fit_score(self, X: pd.DataFrame) -> np.ndarray:
        c = self.components(X)
        return np.asarray(100.0 * (0.5 * c["industry"] + 0.25 * c["employees"] + 0.25 * c["annual_revenue"]))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = np.clip(self.base_rate_ * self.fit_score(X) / max(self.mean_score_, 1e-9), 0.005, 0.95)
        return np.c_[1 - p, p]

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


# ---------------------------------------------------------------- features


@dataclass
class FeatureSpec:
    """Which columns feed the model (and how), which were excluded and why."""

    categorical: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    attr_kinds: dict[str, str] = field(default_factory=dict)  # column -> number | boolean | text
    excluded: list[dict[str, str]] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return self.categorical + self.numeric

    def exclude(self, name: str, reason: str) -> None:
        for col_list in (self.categorical, self.numeric):
            if name in col_list:
                col_list.remove(name)
        self.excluded.append({"name": self.labels.get(name, name), "field": name, "reason": reason})

    def used(self) -> list[dict[str, str]]:
        kinds = {**{c: "category" for c in self.categorical}, **{c: "number" for c in self.numeric}}
        source = {c: ("history" if c in HISTORY_FEATURES else "import" if c.startswith("attr:") else "account")
                  for c in self.columns}  # fmt: skip
        return [
            {"field": c, "name": self.labels.get(c, c), "kind": kinds[c], "source": source[c]} for c in self.columns
        ]


def _tokens(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t}


def plan_features(accounts: pd.DataFrame, defs: pd.DataFrame) -> FeatureSpec:
    """Decide the candidate features from what the store holds (before the data-driven leak check)."""
    spec = FeatureSpec(labels={**BASE_FEATURES, **HISTORY_FEATURES})
    n = max(len(accounts), 1)
    for col in BASE_FEATURES:
        if col not in accounts.columns or accounts[col].notna().sum() == 0:
            spec.excluded.append({"name": BASE_FEATURES[col], "field": col, "reason": "no values in this store"})
        elif col == "industry":
            spec.categorical.append(col)
        else:
            spec.numeric.append(col)
    spec.numeric += list(HISTORY_FEATURES)
    for d in defs.itertuples(index=False):
        col = f"attr:{d.attr}"
        label = str(d.label or d.attr)
        spec.labels[col] = label
        reason = None
        leaky = _tokens(str(d.attr)) & LEAKY_WORDS or _tokens(label) & LEAKY_WORDS
        if leaky:
            reason = f"its name ({', '.join(sorted(leaky))}) suggests it is recorded at or after the outcome"
        elif d.dtype == "date":
            reason = "a date needs a reference point to mean anything: not used"
        elif d.n_values / n < MIN_COVERAGE:
            reason = f"present on only {d.n_values / n:.0%} of accounts"
        elif d.dtype == "text" and d.n_text > MAX_TEXT_LEVELS:
            reason = f"free text with {d.n_text:,} distinct values: too many to learn from"
        elif d.dtype not in ("number", "boolean", "text"):
            reason = f"unknown type {d.dtype!r}"
        if reason:
            spec.excluded.append({"name": label, "field": col, "reason": reason})
            continue
        spec.attr_kinds[col] = str(d.dtype)
        (spec.categorical if d.dtype == "text" else spec.numeric).append(col)
    return spec


_TRUE = {"true", "yes", "y", "1", "x", "t"}
_FALSE = {"false", "no", "n", "0", "f", ""}


def account_features(accounts: pd.DataFrame, values: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """One row per account (indexed by account_id): base fields and typed custom attributes."""
    base = accounts.set_index("account_id")
    out = pd.DataFrame(index=base.index)
    for col in BASE_FEATURES:
        if col in spec.columns:
            out[col] = base[col].astype(float) if col != "industry" else base[col].astype(object)
    if spec.attr_kinds and len(values):
        vals = values[values["attr"].isin([c[5:] for c in spec.attr_kinds])]
        for col, kind in spec.attr_kinds.items():
            v = vals[vals["attr"] == col[5:]].drop_duplicates("account_id").set_index("account_id")
            if kind == "number":
                s = pd.to_numeric(v["num_value"], errors="coerce")
            elif kind == "boolean":
                text = v["text_value"].astype(str).str.strip().str.lower()
                from_text = np.where(text.isin(_TRUE), 1.0, np.where(text.isin(_FALSE), 0.0, np.nan))
                s = pd.to_numeric(v["num_value"], errors="coerce").fillna(pd.Series(from_text, index=v.index))
            else:
                s = v["text_value"].astype(object)
            out[col] = s.reindex(out.index)
    for col in spec.attr_kinds:
        if col not in out.columns:
            out[col] = np.nan
    return out


def _days(values: Any) -> np.ndarray:
    return pd.to_datetime(pd.Series(values)).to_numpy(dtype="datetime64[D]")


def _unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """Points on the unit sphere (NaN rows where the location is unknown)."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.c_[np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]


def history_features(
    queries: pd.DataFrame,
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    radius_km: float = RADIUS_KM,
    window_days: int = WINDOW_DAYS,
) -> pd.DataFrame:
    """Point-in-time history for each query row (account_id, as_of, sim_ref): nothing on or after the date.

    similar_won / nearest_won_km: distinct other accounts of the same industry with a deal won in
    [sim_ref - window_days, sim_ref), within radius_km / the nearest one (haversine BallTree).
    prior_wins / prior_losses: the account's own deals closed before as_of.
    """
    n = len(queries)
    acct = accounts.set_index("account_id")[["industry", "lat", "lon"]]
    acct = acct[~acct.index.duplicated(keep="first")]
    index = pd.Index(acct.index)
    q_ids = queries["account_id"].to_numpy()
    if len(q_ids) == len(index) and bool((q_ids == index.to_numpy()).all()):
        q_code = np.arange(n)  # every account in order (scoring): no hashing of a million ids
    else:
        q_code = index.get_indexer(q_ids)  # -1: not a known account
    q_ref = _days(queries["sim_ref"])
    q_asof = _days(queries["as_of"])
    industry = pd.Series(acct["industry"].to_numpy(), dtype=object).fillna("(none)").astype(str).to_numpy()
    xyz = _unit_vectors(acct["lat"].to_numpy(dtype=float), acct["lon"].to_numpy(dtype=float))

    closed = deals[deals["is_closed"].fillna(False).astype(bool) & deals["close_date"].notna()]
    c_code = index.get_indexer(closed["account_id"].to_numpy())
    c_day = _days(closed["close_date"])
    c_won = closed["is_won"].fillna(False).astype(bool).to_numpy()
    keep = c_code >= 0
    c_code, c_day, c_won = c_code[keep], c_day[keep], c_won[keep]

    # Own earlier deals: sort queries before same-day events so only strictly earlier closes count.
    m = len(c_code)
    code = np.r_[c_code, q_code]
    day = np.r_[c_day, q_asof].astype("datetime64[D]").astype(np.int64)
    kind = np.r_[np.ones(m, dtype=np.int8), np.zeros(n, dtype=np.int8)]
    won = np.r_[c_won.astype(np.int64), np.zeros(n, dtype=np.int64)]
    lost = np.r_[(~c_won).astype(np.int64), np.zeros(n, dtype=np.int64)]
    order = np.lexsort((kind, day, code))
    code_s, won_s, lost_s = code[order], np.cumsum(won[order]), np.cumsum(lost[order])
    first = np.r_[True, code_s[1:] != code_s[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(code_s)), 0))
    before_w = np.where(start > 0, won_s[start - 1], 0)
    before_l = np.where(start > 0, lost_s[start - 1], 0)
    is_q = kind[order] == 0
    qid = order[is_q] - m
    prior_wins = np.zeros(n)
    prior_losses = np.zeros(n)
    prior_wins[qid] = (won_s - before_w)[is_q]
    prior_losses[qid] = (lost_s - before_l)[is_q]
    prior_wins[q_code < 0] = 0.0
    prior_losses[q_code < 0] = 0.0

    # Similar recent wins, per (industry, reference date): one small KD-tree on unit vectors each
    # (chord distance orders points exactly as the great-circle distance does, and is far cheaper).
    similar = np.full(n, np.nan)
    nearest = np.full(n, np.nan)
    w_code = c_code[c_won]
    w_day = c_day[c_won]
    w_ok = np.isfinite(xyz[w_code, 0])
    w_code, w_day = w_code[w_ok], w_day[w_ok]
    w_ind = industry[w_code]
    by_ind: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for ind, idx in pd.Series(w_ind).groupby(w_ind, sort=False).indices.items():
        o = idx[np.argsort(w_day[idx], kind="stable")]
        by_ind[str(ind)] = (w_code[o], w_day[o])
    has_geo = (q_code >= 0) & np.isfinite(xyz[np.maximum(q_code, 0), 0])
    similar[has_geo] = 0.0
    window = np.timedelta64(int(window_days), "D")
    chord = 2.0 * math.sin(min(radius_km / EARTH_KM, math.pi) / 2.0)
    geo_rows = np.flatnonzero(has_geo)
    keys = pd.DataFrame({"ind": industry[q_code[geo_rows]], "ref": q_ref[geo_rows]})

    def one_group(item: tuple[tuple[str, Any], np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        (ind, ref), idx = item
        rows = geo_rows[idx]
        w = by_ind.get(ind)
        if w is None:
            return None
        wc, wd = w
        ref_d = np.datetime64(ref, "D")
        lo, hi = (int(i) for i in np.searchsorted(wd, np.array([ref_d - window, ref_d]), "left"))
        if hi <= lo:
            return None
        sub = pd.unique(wc[lo:hi][::-1])  # distinct accounts (latest win first)
        tree = KDTree(xyz[sub], leaf_size=40)
        codes = q_code[rows]
        pts = xyz[codes]
        count = tree.query_radius(pts, r=chord, count_only=True).astype(float)
        is_self = np.isin(codes, sub)
        near = np.full(len(rows), np.nan)
        others = ~is_self
        if others.any():
            near[others] = tree.query(pts[others], k=1)[0][:, 0]
        if is_self.any() and len(sub) >= 2:
            dist, ind_ = tree.query(pts[is_self], k=2)
            first_self = sub[ind_[:, 0]] == codes[is_self]
            near[is_self] = np.where(first_self, dist[:, 1], dist[:, 0])
        return rows, count - is_self, 2.0 * np.arcsin(np.clip(near / 2.0, 0.0, 1.0)) * EARTH_KM

    groups = list(keys.groupby(["ind", "ref"], sort=False).indices.items())
    # KD-tree queries release the GIL: big stores use both cores (results land in a fixed order).
    workers = min(_QUERY_THREADS, len(groups)) if n >= 50_000 else 1
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one_group, groups))
    else:
        results = [one_group(g) for g in groups]
    for res in results:
        if res is not None:
            rows, sim, near_km = res
            similar[rows] = sim
            nearest[rows] = near_km
    return pd.DataFrame(
        {"similar_won": similar, "nearest_won_km": nearest, "prior_wins": prior_wins, "prior_losses": prior_losses}
    )


def _month_start(values: Any) -> np.ndarray:
    return _days(values).astype("datetime64[M]").astype("datetime64[D]")


def training_frame(
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    feats: pd.DataFrame,
    spec: FeatureSpec,
    max_rows: int | None = None,
    random_state: int = 0,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Closed deals as training rows (features as of each deal's creation), labels, close dates and account ids.

    With more than max_rows closed deals, a sample of max_rows of them: the same share of every
    (close month, outcome) stratum, so the time split and the win rate stay as they are.
    """
    closed = deals[deals["is_closed"].fillna(False).astype(bool) & deals["close_date"].notna()].copy()
    known = feats.index.get_indexer(closed["account_id"].to_numpy()) >= 0  # hashing, unlike isin; reused below
    closed = closed[known]
    if closed["deal_id"].is_monotonic_increasing:  # as load_deals returns them: a stable sort by date suffices
        closed = closed.sort_values("close_date", kind="stable")
    else:
        closed = closed.sort_values(["close_date", "deal_id"], kind="stable")
    if max_rows is not None and len(closed) > max_rows:
        closed = closed.iloc[np.sort(stratified_sample(closed, max_rows, random_state))]
    created = closed["created_date"].fillna(closed["close_date"])
    # Similarity uses wins before the first of the creation month: a slightly older picture, never a later one.
    queries = pd.DataFrame(
        {"account_id": closed["account_id"].to_numpy(), "as_of": _days(created), "sim_ref": _month_start(created)}
    )
    hist = history_features(queries, accounts, deals)
    X = feats.reindex(closed["account_id"].to_numpy()).reset_index(drop=True)
    X = pd.concat([X, hist], axis=1)[spec.columns]
    y = closed["is_won"].fillna(False).astype(bool).to_numpy().astype(int)
    return X, y, _days(closed["close_date"]), closed["account_id"].to_numpy()


def stratified_sample(closed: pd.DataFrame, size: int, random_state: int = 0) -> np.ndarray:
    """Positions of `size` rows of closed deals: the same share of every (close month, outcome) stratum,
    chosen at random (deterministic for a random_state)."""
    month = _days(closed["close_date"]).astype("datetime64[M]").astype(np.int64)
    stratum = month * 2 + closed["is_won"].fillna(False).astype(bool).to_numpy().astype(np.int64)
    key = np.random.default_rng(random_state).random(len(closed))
    order = np.lexsort((key, stratum))
    s_sorted = stratum[order]
    first = np.r_[True, s_sorted[1:] != s_sorted[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    rank_in = np.arange(len(order)) - start
    sizes = np.diff(np.r_[np.flatnonzero(first), len(order)])
    # Exactly `size` rows: each stratum its share rounded down, the rest to the largest remainders.
    exact = sizes * (size / len(closed))
    quota = np.floor(exact).astype(np.int64)
    extra = np.argsort(-(exact - quota), kind="stable")[: max(0, size - int(quota.sum()))]
    quota[extra] += 1
    return order[rank_in < np.repeat(quota, sizes)]


def scoring_frame(accounts: pd.DataFrame, deals: pd.DataFrame, feats: pd.DataFrame, spec: FeatureSpec,
                  as_of: date) -> pd.DataFrame:  # fmt: skip
    """Every account's features as of today (the store's as-of date)."""
    ids = feats.index.to_numpy()
    queries = pd.DataFrame(
        {"account_id": ids, "as_of": np.datetime64(as_of, "D"), "sim_ref": np.datetime64(as_of, "D")}
    )
    hist = history_features(queries, accounts, deals)
    return pd.concat([feats.reset_index(drop=True), hist], axis=1)[spec.columns]


def single_feature_auc(x: pd.Series, y: np.ndarray) -> float:
    """How well one column alone separates wins from losses (0.5 = not at all; symmetric)."""
    if x.dtype == object:
        codes = x.fillna("(none)").astype(str)
        rate = pd.Series(y).groupby(codes.to_numpy()).mean()
        values = codes.map(rate).to_numpy(dtype=float)
    else:
        values = pd.to_numeric(x, errors="coerce").astype(float)
        values = values.fillna(values.median() if values.notna().any() else 0.0).to_numpy()
    if len(np.unique(y)) < 2 or np.nanstd(values) == 0:
        return 0.5
    auc = float(roc_auc_score(y, values))
    return max(auc, 1 - auc)


def guard_leaks(X: pd.DataFrame, y: np.ndarray, spec: FeatureSpec, account_ids: np.ndarray | None = None) -> None:
    """Drop constant columns, and any custom attribute that gives the outcome away: alone it separates
    won from lost deals (AUC >= LEAK_AUC), or it tells accounts that ever won from the others almost
    exactly (a status set after a win, like 'customer since')."""
    for col in list(spec.columns):
        s = X[col]
        if s.nunique(dropna=True) <= 1 and col not in HISTORY_FEATURES:
            spec.exclude(col, "the same value (or none) on every closed deal: nothing to learn")
            continue
        if not col.startswith("attr:"):
            continue
        auc = single_feature_auc(s, y)
        if auc >= LEAK_AUC:
            spec.exclude(col, f"separates won from lost deals almost perfectly on its own (AUC {auc:.2f}): "
                         "it is most likely recorded after the outcome")  # fmt: skip
            continue
        if account_ids is not None:
            per = (
                pd.DataFrame({"a": account_ids, "won": y, "v": s.to_numpy()})
                .groupby("a")
                .agg(won=("won", "max"), v=("v", "first"))
            )
            acc_auc = single_feature_auc(per["v"], per["won"].to_numpy())
            if acc_auc >= LEAK_ACCOUNT_AUC:
                spec.exclude(col, f"tells accounts that won from the rest almost exactly (AUC {acc_auc:.2f}): "
                             "it is most likely set after a win")  # fmt: skip


# ---------------------------------------------------------------- evaluation


def lift_top_decile(y: np.ndarray, p: np.ndarray) -> float:
    """Win rate among the top 10% by score divided by the overall win rate."""
    y = np.asarray(y, dtype=float)
    if len(y) == 0 or y.mean() == 0:
        return float("nan")
    k = max(1, math.ceil(len(y) * 0.1))
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")[:k]
    return float(y[order].mean() / y.mean())


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """AUC, top-decile lift, Brier score and a 10-bin calibration curve of scores p for outcomes y."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    out: dict[str, Any] = {"n": int(len(y)), "wins": int(y.sum())}
    if len(np.unique(y)) < 2:
        out.update(auc=None, lift_top_decile=None, brier=None, calibration=None)
        return out
    out["auc"] = round(float(roc_auc_score(y, p)), 4)
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


# ---------------------------------------------------------------- reasons


@dataclass
class Bundle:
    """What a model version needs to score accounts again: estimator, fit score, features, references."""

    kind: str  # model | fit_score
    spec: FeatureSpec
    fit: FitScore
    model: PropensityModel | None = None
    reference: dict[str, Any] = field(default_factory=dict)
    radius_km: float = RADIUS_KM
    window_days: int = WINDOW_DAYS


# Features explained together (one reason each).
_GROUPS: dict[str, list[str]] = {
    "similar": ["similar_won", "nearest_won_km"],
    "history": ["prior_wins", "prior_losses"],
}


def _groups(spec: FeatureSpec) -> dict[str, list[str]]:
    grouped = {c for cols in _GROUPS.values() for c in cols}
    out = {g: [c for c in cols if c in spec.columns] for g, cols in _GROUPS.items()}
    out = {g: cols for g, cols in out.items() if cols}
    for c in spec.columns:
        if c not in grouped:
            out[c] = [c]
    return out


_TOP = np.array([f", top {i}%" for i in range(101)], dtype=object)
_BOTTOM = np.array([f", bottom {i}%" for i in range(101)], dtype=object)


def _rank_phrase(values: pd.Series, population: pd.Series) -> pd.Series:
    """'top 10%' / 'bottom 20%' of each value among all accounts."""
    pop = np.sort(pd.to_numeric(population, errors="coerce").dropna().to_numpy(dtype=float))
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    if len(pop) == 0:
        return pd.Series([""] * len(v), index=values.index)
    at_or_above = 1 - np.searchsorted(pop, v, "left") / len(pop)
    at_or_below = np.searchsorted(pop, v, "right") / len(pop)
    top = np.clip(np.ceil(at_or_above * 100), 1, 100).astype(int)
    bottom = np.clip(np.ceil(at_or_below * 100), 1, 100).astype(int)
    text = np.where(top <= 50, _TOP[top], _BOTTOM[bottom])
    return pd.Series(np.where(np.isnan(v), "", text), index=values.index)


def _formatted(values: pd.Series, fmt: Callable[[Any], str]) -> pd.Series:
    """fmt applied once per distinct value (a million accounts share far fewer values)."""
    uniq, inverse = np.unique(values.to_numpy(), return_inverse=True)
    return pd.Series(np.array([fmt(u) for u in uniq], dtype=object)[inverse], index=values.index)


def _phrases(group: str, X: pd.DataFrame, bundle: Bundle) -> pd.Series:
    """One plain-words description per account of the feature group's value."""
    spec = bundle.spec
    idx = X.index

    def num(col: str) -> pd.Series:
        return pd.to_numeric(X[col], errors="coerce").astype(float)

    if group == "similar":
        n = num("similar_won") if "similar_won" in X else pd.Series(np.nan, index=idx)
        d = num("nearest_won_km") if "nearest_won_km" in X else pd.Series(np.nan, index=idx)
        ind = X["industry"].fillna("").astype(str) + " " if "industry" in X else pd.Series("", index=idx)
        months = round(bundle.window_days / 30.4)
        many = ("Similar to " + n.fillna(0).astype(int).astype(str) + " " + ind + "accounts won within "
                + f"{bundle.radius_km:.0f} km in the last {months} months")  # fmt: skip
        one = "Similar to 1 " + ind + f"account won within {bundle.radius_km:.0f} km in the last {months} months"
        near = (
            "Nearest "
            + ind
            + "win of the last "
            + f"{months} months is "
            + _formatted(d.round(0).fillna(0).astype(int), "{:,}".format)
            + " km away"
        )
        none = "No " + ind + f"wins in the last {months} months nearby"
        out = np.where(n >= 2, many, np.where(n == 1, one, np.where(d.notna(), near, none)))
        out = np.where(n.isna() & d.isna(), "Location unknown: no similarity to recent wins", out)
        return pd.Series(out, index=idx)
    if group == "history":
        w = num("prior_wins").fillna(0).astype(int) if "prior_wins" in X else pd.Series(0, index=idx)
        lo = num("prior_losses").fillna(0).astype(int) if "prior_losses" in X else pd.Series(0, index=idx)
        won = "Won " + w.astype(str) + np.where(w == 1, " deal", " deals") + " before"
        lost = "Lost " + lo.astype(str) + np.where(lo == 1, " earlier deal", " earlier deals")
        return pd.Series(np.where(w > 0, won, np.where(lo > 0, lost, "No earlier deals")), index=idx)
    col = group
    label = spec.labels.get(col, col)
    if col == "industry":
        rates = bundle.reference.get("industry_rates", {})
        ind = X[col].fillna("(none)").astype(str)
        rate = ind.map(rates)
        name = ("Industry " + ind).where(ind != "(none)", "Industry unknown")
        with_rate = name + ": " + (rate * 100).round(0).fillna(0).astype(int).astype(str) + "% of deals won"
        return pd.Series(np.where(rate.notna(), with_rate, name), index=idx)
    if col in spec.categorical:
        val = X[col].astype(object)
        return pd.Series(np.where(val.notna(), label + ": " + val.astype(str), label + " unknown"), index=idx)
    v = num(col)
    pop = bundle.reference.get("population", {}).get(col)
    rank = _rank_phrase(v, pd.Series(pop if pop is not None else v))
    kind = spec.attr_kinds.get(col)
    if col == "new_executive" or kind == "boolean":
        yes = "New executive in the last 90 days" if col == "new_executive" else label + ": yes"
        no = "No new executive in the last 90 days" if col == "new_executive" else label + ": no"
        text = np.where(v >= 0.5, yes, no)
    elif col == "intent_score":
        text = "Intent score " + v.round(0).fillna(0).astype(int).astype(str) + rank
    elif col == "employees":
        text = _formatted(v.fillna(0).astype(int), "{:,}".format) + " employees" + rank
    elif col == "annual_revenue":
        text = "Annual revenue " + _formatted(v.fillna(0), money) + rank
    elif col == "employee_growth":
        text = "Employee growth " + _formatted(v.fillna(0), "{:+.0%}".format) + " in 12 months" + rank
    elif col == "website_visits":
        text = _formatted(v.fillna(0).astype(int), "{:,}".format) + " website visits in 30 days" + rank
    else:
        text = label + " " + _formatted(v, lambda x: f"{x:,.4g}") + rank
    return pd.Series(np.where(v.isna(), label + " unknown", text), index=idx)


def partial_dependence(
    model: PropensityModel,
    X: pd.DataFrame,
    columns: list[str],
    categorical: list[str],
    rows: int = PD_ROWS,
    grid: int = PD_GRID,
    random_state: int = 0,
) -> dict[str, dict[str, Any]]:
    """The model's average log-odds (first booster) as each feature alone takes each of its values.

    Per column: `grid` (encoded values: category codes, or quantiles of a number), `value` (mean log-odds
    over `rows` background deals with the column set to that value) and `missing` (the same for an unknown
    value). Computed once at training; explaining an account is then a lookup, whatever the store size.
    """
    A = model.encode(X)
    sel = np.sort(np.random.default_rng(random_state).permutation(len(A))[:rows])
    background = A[sel]
    blocks: list[np.ndarray] = []
    grids: dict[str, np.ndarray] = {}
    for i, c in enumerate(columns):
        v = A[:, i][np.isfinite(A[:, i])]
        if c in categorical:
            g = np.unique(v)
        else:
            g = np.unique(np.quantile(v, np.linspace(0.0, 1.0, grid))) if len(v) else np.array([])
        grids[c] = g
        for value in np.r_[g, np.nan]:
            b = background.copy()
            b[:, i] = value
            blocks.append(b)
    means = model.raw_encoded(np.vstack(blocks)).reshape(-1, len(background)).mean(axis=1)
    out: dict[str, dict[str, Any]] = {}
    at = 0
    for c in columns:
        k = len(grids[c])
        out[c] = {"grid": grids[c], "value": means[at : at + k], "missing": float(means[at + k])}
        at += k + 1
    return out


def _effect(table: dict[str, Any], values: np.ndarray, categorical: bool) -> np.ndarray:
    """Look up a column's partial dependence at encoded values (linear between numeric grid points)."""
    grid, value = table["grid"], table["value"]
    out = np.full(len(values), table["missing"], dtype=float)
    ok = np.isfinite(values)
    if not len(grid) or not ok.any():
        return out
    if categorical:
        pos = np.clip(np.searchsorted(grid, values[ok]), 0, len(grid) - 1)
        hit = grid[pos] == values[ok]
        out[np.flatnonzero(ok)[hit]] = value[pos[hit]]
    else:
        out[ok] = np.interp(values[ok], grid, value)
    return out


def contributions(bundle: Bundle, X: pd.DataFrame) -> pd.DataFrame:
    """How much each feature group moves each account's score, vs the typical value.

    Models store the partial dependence of each feature (see partial_dependence): a group's contribution is
    the change of its features' partial dependence from the typical value to the account's. Older model
    versions without it fall back to occlusion (one prediction per group).
    """
    groups = _groups(bundle.spec)
    if bundle.kind == "model" and bundle.model is not None:
        model = bundle.model
        A = model.encode(X)
        typical = pd.DataFrame([{c: bundle.reference["typical"].get(c, np.nan) for c in bundle.spec.columns}])
        ref = model.encode(typical)[0]
        pos = {c: i for i, c in enumerate(bundle.spec.columns)}
        effects = bundle.reference.get("effects")
        out = {}
        if effects is not None:
            for g, cols in groups.items():
                total = np.zeros(len(A))
                for c in cols:
                    cat = c in bundle.spec.categorical
                    total += _effect(effects[c], A[:, pos[c]], cat) - _effect(effects[c], ref[pos[c] : pos[c] + 1], cat)
                out[g] = total
            return pd.DataFrame(out, index=X.index)
        base = model.raw_encoded(A)
        for g, cols in groups.items():
            saved = {pos[c]: A[:, pos[c]].copy() for c in cols}
            for i in saved:
                A[:, i] = ref[i]
            out[g] = base - model.raw_encoded(A)
            for i, col in saved.items():
                A[:, i] = col
        return pd.DataFrame(out, index=X.index)
    comp = bundle.fit.components(X)
    comp = comp - comp.mean()
    return pd.DataFrame({g: comp[g] for g in ("industry", "employees", "annual_revenue") if g in groups}, index=X.index)


def reasons(bundle: Bundle, X: pd.DataFrame, top: int = 3) -> list[str]:
    """Each account's top drivers in plain words, strongest first, joined by '; '."""
    contrib = contributions(bundle, X)
    if contrib.empty:
        return [""] * len(X)
    mag = contrib.to_numpy(dtype=float)
    # Drivers that clearly raise the score come first; then the strongest ones that hold it back.
    key = np.where(mag > MIN_EFFECT, mag + 1e6, np.where(mag < -MIN_EFFECT, -mag, -1e6 + np.abs(mag)))
    order = np.argsort(-key, axis=1, kind="stable")[:, :top]
    # Words only where a driver is among an account's top ones (a third of the text building).
    picked: np.ndarray[Any, Any] = np.empty(order.shape, dtype=object)
    for gi, g in enumerate(contrib.columns):
        hit = order == gi
        rows = hit.any(axis=1)
        if not rows.any():
            continue
        words = _phrases(g, X[rows], bundle).to_numpy(dtype=object)
        at = np.cumsum(rows) - 1
        r, j = np.nonzero(hit)
        picked[r, j] = words[at[r]]
    text = picked[:, 0]
    for col in range(1, picked.shape[-1]):  # the top drivers (columns) of each account
        text = text + "; " + picked[:, col]
    return list(text)


# ---------------------------------------------------------------- training and scoring


def _distribution(values: np.ndarray, points: int = 2001) -> np.ndarray:
    """Sorted values, or their quantiles when there are many (enough for 'top 10%', a fraction of the size)."""
    values = np.sort(values)
    return values if len(values) <= points else np.quantile(values, np.linspace(0.0, 1.0, points))


def _reference(X: pd.DataFrame, spec: FeatureSpec, population: pd.DataFrame, fit: FitScore) -> dict[str, Any]:
    typical: dict[str, Any] = {}
    for c in spec.numeric:
        med = pd.to_numeric(X[c], errors="coerce").median()
        typical[c] = float(med) if pd.notna(med) else np.nan
    for c in spec.categorical:
        mode = X[c].dropna().astype(str).mode()
        typical[c] = str(mode.iloc[0]) if len(mode) else np.nan
    pop = {c: _distribution(pd.to_numeric(population[c], errors="coerce").dropna().to_numpy(dtype=float))
           for c in spec.numeric if c in population.columns}  # fmt: skip
    return {"typical": typical, "population": pop, "industry_rates": dict(fit.industry_rates_)}


def _dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    pickle.dump(obj, buf, protocol=pickle.HIGHEST_PROTOCOL)
    return buf.getvalue()


def _loads(blob: bytes) -> Bundle:
    obj = pickle.loads(blob)  # our own model, written by this code into this store
    if not isinstance(obj, Bundle):
        raise NotFound("the stored model is not readable by this version; retrain with `python -m planner train`")
    return obj


def _store_as_of(con: duckdb.DuckDBPyConnection) -> date:
    from planner.store import world

    text = world.as_of(con)
    return date.fromisoformat(text) if text else date.today()


@dataclass
class Inputs:
    accounts: pd.DataFrame
    deals: pd.DataFrame
    defs: pd.DataFrame
    values: pd.DataFrame
    truth: pd.DataFrame
    as_of: date
    # Every account's features as of today, computed while training (score_frame reuses them).
    current: pd.DataFrame | None = None


def load_inputs(con: duckdb.DuckDBPyConnection) -> Inputs:
    from planner.store import scores as q

    defs = q.load_attribute_defs(con)
    return Inputs(
        accounts=q.load_accounts(con),
        deals=q.load_deals(con),
        defs=defs,
        values=q.load_attribute_values(con, defs["attr"].tolist()),
        truth=q.load_truth(con),
        as_of=_store_as_of(con),
    )


def fit_bundle(
    inputs: Inputs, random_state: int = 0, progress: Progress | None = None
) -> tuple[Bundle, dict[str, Any]]:
    """Build features, evaluate on a time split against the baselines, refit on all closed deals.

    Returns the bundle to score with and the model card's metrics and feature lists.
    """
    say = progress or (lambda f, m: None)
    t0 = time.perf_counter()
    acc = inputs.accounts
    spec = plan_features(acc, inputs.defs)
    feats = account_features(acc, inputs.values, spec)
    say(0.1, "Building point-in-time features from closed deals")
    n_all, wins_all = _closed_count(inputs)
    X, y, closed_on, deal_accounts = training_frame(
        acc, inputs.deals, feats, spec, max_rows=MAX_TRAIN_ROWS, random_state=random_state
    )
    n_closed, n_wins = len(y), int(y.sum())
    data: dict[str, Any] = {
        "accounts": int(len(acc)),
        "deals": int(len(inputs.deals)),
        "closed_deals": n_all,
        "sampled_deals": n_closed,
        "won_deals": wins_all,
        "sampled_won_deals": n_wins,
        "first_close": str(closed_on.min()) if n_closed else None,
        "last_close": str(closed_on.max()) if n_closed else None,
        "as_of": inputs.as_of.isoformat(),
        "custom_attributes": int(len(inputs.defs)),
    }
    metrics: dict[str, Any] = {"data": data, "baselines": {}}
    enough = n_closed >= MIN_CLOSED and n_wins >= MIN_WINS and n_closed - n_wins >= MIN_WINS
    if enough:
        guard_leaks(X, y, spec, deal_accounts)
    X = X[spec.columns]

    # Time split: the newest TEST_SHARE of closed deals (by close date) is the test set.
    n_test = 0
    if enough:
        cutoff = np.sort(closed_on)[int(len(closed_on) * (1 - TEST_SHARE))]
        test = closed_on >= cutoff
        if test.all() or (~test).all():
            test = np.arange(len(y)) >= int(len(y) * (1 - TEST_SHARE))
        train = ~test
        if len(np.unique(y[test])) < 2 or len(np.unique(y[train])) < 2 or y[train].sum() < 5:
            enough = False
        else:
            n_test = int(test.sum())
            data["split_date"] = str(closed_on[test].min())
    truth = inputs.truth.set_index("account_id")["p_true"] if len(inputs.truth) else None
    train_accounts = None

    if enough:
        say(0.25, f"Fitting on {int(train.sum()):,} older closed deals, testing on the newest {n_test:,}")
        Xtr, ytr, Xte, yte = X[train], y[train], X[test], y[test]
        cols = spec.columns
        model = PropensityModel(tuple(spec.categorical), tuple(spec.numeric), random_state=random_state)
        model.fit(Xtr, ytr)
        p_test = model.predict_proba(Xte)[:, 1]
        metrics.update(evaluate(yte, p_test))
        fit_split = FitScore().fit(_firmo(Xtr), ytr)
        metrics["baselines"]["fit_score"] = evaluate(yte, fit_split.predict_proba(_firmo(Xte))[:, 1])
        if "intent_score" in Xte:
            intent = pd.to_numeric(Xte["intent_score"], errors="coerce").fillna(-1).to_numpy()
            metrics["baselines"]["intent_only"] = evaluate(yte, intent)
        if truth is not None:
            test_accounts = deal_accounts[test]
            p_true = truth.reindex(test_accounts).to_numpy(dtype=float)
            ok = np.isfinite(p_true)
            if ok.sum() and len(np.unique(yte[ok])) == 2:
                metrics["ceiling_auc"] = round(float(roc_auc_score(yte[ok], p_true[ok])), 4)
        say(0.5, "Measuring which features matter (permutation importance)")
        # On the first booster's encoded matrix: the same ranking signal, a fraction of the cost.
        rows = np.random.default_rng(random_state).permutation(len(yte))[:IMPORTANCE_ROWS]
        booster = model.boosters_[0][-1]
        imp = permutation_importance(booster, model.encode(Xte.iloc[rows]), yte[rows], scoring="roc_auc",
                                     n_repeats=3, random_state=random_state)  # fmt: skip
        metrics["importance"] = sorted(
            [{"field": c, "name": spec.labels.get(c, c), "mean": round(float(m), 5), "std": round(float(s), 5)}
             for c, m, s in zip(cols, imp.importances_mean, imp.importances_std, strict=True)],
            key=lambda r: -r["mean"],
        )  # fmt: skip
        say(0.65, f"Refitting on all {n_closed:,} closed deals" if n_closed == n_all
            else f"Refitting on the {n_closed:,} sampled closed deals")  # fmt: skip
        final = PropensityModel(tuple(spec.categorical), tuple(spec.numeric), random_state=random_state).fit(X, y)
        fit_all = FitScore().fit(_firmo(X), y)
        bundle = Bundle(kind="model", spec=spec, fit=fit_all, model=final)
        metrics["calibration_method"] = final.calibration_method_
        best_base = max([b.get("auc") or 0.0 for b in metrics["baselines"].values()] or [0.0])
        metrics["beats_baselines"] = bool((metrics.get("auc") or 0.0) > best_base)
        metrics["message"] = (
            f"Trained on {int(train.sum()):,} closed deals before {data['split_date']} and tested on the "
            f"{n_test:,} closed since; scores come from a refit on all {n_closed:,}."
        )
        if n_closed < n_all:
            metrics["message"] = (
                f"Trained on {n_closed:,} of {n_all:,} closed deals (a random sample with the same share of every "
                f"month and outcome; more adds little and costs time): fitted on {int(train.sum()):,} closed before "
                f"{data['split_date']}, tested on the {n_test:,} closed since; scores come from a refit on all "
                f"{n_closed:,} sampled deals."
            )
        n_train = int(train.sum())
        if not metrics["beats_baselines"]:
            metrics["message"] += (
                f" Careful: on the newest deals it ranks no better than a baseline (AUC {metrics.get('auc')} vs "
                f"{best_base:.4f}); the data may hold little signal."
            )
    else:
        fit_all = FitScore().fit(_firmo(X), y) if n_closed else FitScore().fit(_firmo(X.iloc[:0]), y[:0])
        bundle = Bundle(kind="fit_score", spec=spec, fit=fit_all)
        metrics.update(auc=None, lift_top_decile=None, brier=None, calibration=None, n=0, wins=0)
        metrics["message"] = (
            f"Only {n_closed:,} closed deals ({n_wins:,} won): a model needs at least {MIN_CLOSED} closed deals "
            f"with {MIN_WINS} wins and {MIN_WINS} losses, and both outcomes in the newest {TEST_SHARE:.0%}. "
            "Accounts are ranked by the transparent fit score instead."
        )
        n_train = n_closed
        spec_cols = ["industry", "employees", "annual_revenue"]
        train_accounts = spec_cols
    population = scoring_frame(acc, inputs.deals, feats, spec, inputs.as_of) if len(acc) else X
    if len(acc):
        inputs.current = population.set_axis(feats.index)
    bundle.reference = _reference(X if len(X) else population, spec, population, bundle.fit)
    if bundle.kind == "model" and bundle.model is not None:
        say(0.75, "Measuring each feature's effect for the reasons (partial dependence)")
        bundle.reference["effects"] = partial_dependence(
            bundle.model, X, spec.columns, spec.categorical, random_state=random_state
        )
    metrics["fit_score_rules"] = _fit_rules(bundle.fit)
    metrics["seconds_fit"] = round(time.perf_counter() - t0, 2)
    features = {
        "used": spec.used() if bundle.kind == "model" else
        [{"field": c, "name": BASE_FEATURES[c], "kind": "fit score", "source": "account"}
         for c in (train_accounts or []) if c in BASE_FEATURES],
        "excluded": [{"name": n, "field": n, "reason": r} for n, r in ALWAYS_EXCLUDED] + spec.excluded,
        "radius_km": RADIUS_KM,
        "window_days": WINDOW_DAYS,
    }  # fmt: skip
    metrics["n_train"] = n_train
    metrics["n_test"] = n_test
    return bundle, {"metrics": json_safe(metrics), "features": json_safe(features)}


def _closed_count(inputs: Inputs) -> tuple[int, int]:
    """Closed deals of known accounts, and how many of them were won."""
    d = inputs.deals
    closed = d["is_closed"].fillna(False).astype(bool) & d["close_date"].notna()
    closed &= pd.Index(inputs.accounts["account_id"]).get_indexer(d["account_id"].to_numpy()) >= 0
    return int(closed.sum()), int((closed & d["is_won"].fillna(False).astype(bool)).sum())


def _firmo(X: pd.DataFrame) -> pd.DataFrame:
    cols = ("industry", "employees", "annual_revenue")
    return pd.DataFrame({c: X[c] if c in X.columns else np.nan for c in cols}, index=X.index)


def _fit_rules(fit: FitScore) -> dict[str, Any]:
    def band(b: tuple[float, float] | None) -> list[float] | None:
        return None if b is None else [round(10 ** b[0]), round(10 ** b[1])]

    return {
        "base_rate": round(fit.base_rate_, 4),
        "industry_rates": {k: round(v, 4) for k, v in sorted(fit.industry_rates_.items(), key=lambda kv: -kv[1])},
        "employee_band": band(fit.employee_band_),
        "revenue_band": band(fit.revenue_band_),
        "points": "50 x industry win rate / best industry rate + 25 x employees in band + 25 x revenue in band "
        "(outside a band, points fall to 0 at 10x away)",
    }


def score_frame(bundle: Bundle, inputs: Inputs, potential: pd.DataFrame) -> pd.DataFrame:
    """Propensity, potential, expected value, rank and reasons of every account."""
    acc = inputs.accounts
    if acc.empty:
        return pd.DataFrame(columns=["account_id", "propensity", "potential", "expected_value", "rank", "reasons",
                                     "similar_won", "nearest_won_km"])  # fmt: skip
    cached = inputs.current
    if cached is not None and list(cached.columns) == bundle.spec.columns and len(cached) == len(acc):
        X = cached.copy()
    else:
        feats = account_features(acc, inputs.values, bundle.spec)
        X = scoring_frame(acc, inputs.deals, feats, bundle.spec, inputs.as_of)
        X.index = feats.index
    if bundle.kind == "model" and bundle.model is not None:
        # Prediction keeps every thread busy (no waiting to spin through): both cores for big stores.
        with threadpool_limits(limits=_QUERY_THREADS if len(X) >= BIG_SCORE_ROWS else 1):
            prop = bundle.model.predict_proba(X)[:, 1]
    else:
        prop = bundle.fit.predict_proba(_firmo(X) if "industry" in X else _firmo(acc.set_index("account_id")))[:, 1]
        for c in ("industry", "employees", "annual_revenue"):
            if c not in X:
                X[c] = acc.set_index("account_id")[c]
    why = reasons(bundle, X)
    pot = potential.set_index("account_id")["potential"].reindex(X.index).fillna(0.0).to_numpy(dtype=float)
    hist = history_features(
        pd.DataFrame({"account_id": X.index, "as_of": np.datetime64(inputs.as_of, "D"),
                      "sim_ref": np.datetime64(inputs.as_of, "D")}), acc, inputs.deals,
    ) if "similar_won" not in X else X[["similar_won", "nearest_won_km"]].reset_index(drop=True)  # fmt: skip
    out = pd.DataFrame(
        {
            "account_id": X.index.to_numpy(),
            "propensity": np.round(prop, 5),
            "potential": np.round(pot, 2),
            "expected_value": np.round(prop * pot, 2),
            "reasons": why,
            "similar_won": hist["similar_won"].to_numpy(),
            "nearest_won_km": np.round(hist["nearest_won_km"].to_numpy(dtype=float), 1),
        }
    )
    out = out.sort_values(["expected_value", "propensity", "account_id"], ascending=[False, False, True],
                          kind="stable")  # fmt: skip
    out["rank"] = np.arange(1, len(out) + 1)
    out["similar_won"] = out["similar_won"].astype("Int64")
    return out.reset_index(drop=True)


def _threads(rows: int) -> int:
    """OpenMP threads for the boosters: one. On a shared 2-core machine a second thread spins while it
    waits and cost three times the CPU in measurements, for little gain; set PLANNER_MODEL_THREADS to
    use more on a dedicated machine with large stores."""
    wanted = int(os.environ.get("PLANNER_MODEL_THREADS", "1") or 1)
    return max(1, min(wanted, os.cpu_count() or 1)) if rows >= BIG_DATA_ROWS else 1


def train_and_score(
    con: duckdb.DuckDBPyConnection,
    *,
    created_by: str = "local",
    random_state: int = 0,
    progress: Progress | None = None,
    scope: Scope = EVERYONE,
) -> dict[str, Any]:
    """Train a new model version on a write connection, score every account with it and activate it.

    Also refreshes the learned revenue-potential defaults first. Returns the CLI summary.
    Admins and leaders only (the CLI and the demo build run as the local operator).
    """
    require_role(scope, "admin", "leader")
    from planner import potential
    from planner.store import scores as q

    say = progress or (lambda f, m: None)
    say(0.02, "Reading accounts, deals and custom attributes")
    potential.learn_defaults(con)
    inputs = load_inputs(con)
    if inputs.accounts.empty:
        raise NotEnoughData("the store has no accounts to score; import a CRM export or run `python -m planner demo`")
    with threadpool_limits(limits=_threads(len(inputs.deals))):
        bundle, card = fit_bundle(inputs, random_state=random_state, progress=say)
    m = card["metrics"]
    version = q.insert_model(
        con, kind=bundle.kind, created_by=created_by, n_train=int(m["n_train"]), n_test=int(m["n_test"]),
        metrics=m, features=card["features"], blob=_dumps(bundle),
    )  # fmt: skip
    say(0.8, f"Scoring {len(inputs.accounts):,} accounts")
    with threadpool_limits(limits=_threads(len(inputs.accounts))):
        scored = score_frame(bundle, inputs, q.account_potential(con))
    q.replace_scores(con, version, scored)
    q.activate(con, version)
    q.prune_scores(con)
    q.audit(con, created_by, "train", {"model_version": version, "kind": bundle.kind, "auc": m.get("auc")})
    say(1.0, f"Model version {version} is active")
    return summary(version, m)


def summary(version: int, m: dict[str, Any]) -> dict[str, Any]:
    """The `train --json` answer: version, training size, AUC, lift and the baselines' figures."""
    return {
        "model_version": version,
        "kind": "model" if m.get("auc") is not None else "fit_score",
        "n_train": m.get("n_train"),
        "n_test": m.get("n_test"),
        "auc": m.get("auc"),
        "lift_top_decile": m.get("lift_top_decile"),
        "baselines": {
            name: {"auc": b.get("auc"), "lift_top_decile": b.get("lift_top_decile")}
            for name, b in (m.get("baselines") or {}).items()
        },
        "ceiling_auc": m.get("ceiling_auc"),
        "message": m.get("message"),
    }


def rescore(
    con: duckdb.DuckDBPyConnection, *, actor: str = "local", progress: Progress | None = None
) -> dict[str, Any]:
    """Score every account again with the active model (after an import or a settings change)."""
    from planner.store import scores as q

    say = progress or (lambda f, m: None)
    version = q.active_version(con)
    if version is None:
        raise NotFound("no model has been trained in this store; run `python -m planner train` first")
    bundle = _loads(q.model_blob(con, version))
    say(0.1, "Reading accounts and deals")
    inputs = load_inputs(con)
    say(0.4, f"Scoring {len(inputs.accounts):,} accounts with model version {version}")
    with threadpool_limits(limits=_threads(len(inputs.accounts))):
        scored = score_frame(bundle, inputs, q.account_potential(con))
    q.replace_scores(con, version, scored)
    q.audit(con, actor, "score", {"model_version": version, "accounts": len(scored)})
    say(1.0, "Scores updated")
    return {"model_version": version, "accounts": int(len(scored))}


def activate_version(
    con: duckdb.DuckDBPyConnection, version: int, *, actor: str = "local", scope: Scope = EVERYONE
) -> None:
    """Roll back (or forward) to an earlier model version that still has its scores."""
    require_role(scope, "admin", "leader")
    from planner.store import scores as q

    q.activate(con, version)
    q.audit(con, actor, "activate_model", {"model_version": version})


def card(con: duckdb.DuckDBPyConnection, version: int | None = None) -> dict[str, Any] | None:
    """The model card of a version (the active one by default), or None before any training."""
    from planner.store import scores as q

    return q.model_record(con, version)


def history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    from planner.store import scores as q

    return q.model_history(con)


def card_json(con: duckdb.DuckDBPyConnection) -> str:
    return json.dumps(card(con), default=str)
