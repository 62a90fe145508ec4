"""Estimators of the propensity model, following scikit-learn's contract, and the bundle a version stores.

`PropensityModel` is calibrated gradient boosting over a DataFrame's categorical and numeric columns;
`FitScore` is the transparent firmographic baseline (and the fallback when history is too thin).
`Bundle` is what one model version needs to score accounts again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from planner.errors import BadInput, NotEnoughData
from planner.propensity.features import RADIUS_KM, WINDOW_DAYS, FeatureSpec
from planner.text import filled


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
        counts: dict[str, tuple[int, int]] = {}
        if len(target):
            ind = filled(X["industry"], "(none)")
            g = pd.DataFrame({"ind": ind.to_numpy(), "won": target}).groupby("ind")["won"].agg(["sum", "count"])
            m = self.prior_strength
            rates = ((g["sum"] + m * self.base_rate_) / (g["count"] + m)).to_dict()
            counts = {str(k): (int(w), int(n)) for k, w, n in zip(g.index, g["sum"], g["count"], strict=True)}
        # Smoothed toward the base rate (a small industry's 0 of 3 is no 0%): what the score uses. What happened
        # (won, closed deals) is kept apart: the reasons quote it, not the smoothed rate, as the company's record.
        self.industry_rates_ = {str(k): float(v) for k, v in rates.items()}
        self.industry_counts_ = counts
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
            rate = filled(X["industry"], "(none)").map(self.industry_rates_).fillna(self.base_rate_)
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
