"""Propensity: the probability that an account converts, learned from closed deals, with reasons.

- `features`: what feeds the model, point-in-time history, and the leakage guard;
- `estimators`: the calibrated boosting model, the transparent fit score, and the stored `Bundle`;
- `evaluation`: the time split, AUC, lift, calibration, baselines and importance;
- `explanations`: each account's top drivers in plain words;
- `training`: reading the store's inputs, fitting a version, scoring accounts;
- `registry`: versions in the store (train, rescore, activate, cards, history).

Stored models are pickles that name `planner.propensity.Bundle` and friends (versions written before the
package split): those names stay importable from here.
"""

from planner.propensity.after_import import score_new_accounts
from planner.propensity.estimators import Bundle, FitScore, PropensityModel
from planner.propensity.evaluation import evaluate, lift_top_decile
from planner.propensity.explanations import contributions, reasons
from planner.propensity.features import (
    FeatureSpec,
    guard_leaks,
    history_features,
    plan_features,
    stratified_sample,
)
from planner.propensity.registry import (
    activate,
    activate_version,
    card,
    history,
    rescore,
    score_accounts,
    score_imported,
    since_training,
    summary,
    train,
    train_and_score,
)
from planner.propensity.training import Inputs, fit_bundle, load_inputs, score_frame

__all__ = [
    "score_new_accounts",
    "activate",
    "train",
    "Bundle",
    "FeatureSpec",
    "FitScore",
    "Inputs",
    "PropensityModel",
    "activate_version",
    "card",
    "contributions",
    "evaluate",
    "fit_bundle",
    "guard_leaks",
    "history",
    "history_features",
    "lift_top_decile",
    "load_inputs",
    "plan_features",
    "reasons",
    "rescore",
    "score_accounts",
    "score_frame",
    "score_imported",
    "since_training",
    "stratified_sample",
    "summary",
    "train_and_score",
]
