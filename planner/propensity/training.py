"""Training and scoring: read the store's inputs, fit a version (or fall back to the fit score), score accounts.

The model is evaluated on a time split against the baselines, then refit on every closed deal to
score all accounts. With too little history it falls back to the transparent fit score, and says so.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import threadpool_limits

from planner.propensity.estimators import Bundle, FitScore, PropensityModel
from planner.propensity.evaluation import (
    TEST_SHARE,
    baselines,
    ceiling_auc,
    evaluate,
    firmographics,
    importance,
    time_split,
)
from planner.propensity.explanations import encoded, partial_dependence, reasons, reference
from planner.propensity.features import (
    ALWAYS_EXCLUDED,
    BASE_FEATURES,
    QUERY_THREADS,
    RADIUS_KM,
    WINDOW_DAYS,
    FeatureSpec,
    account_features,
    arrow_ids,
    drop_unlearnable,
    guard_leaks,
    history_features,
    plan_features,
    positions_of,
    scoring_frame,
    training_frame,
)
from planner.scope import Scope, require_leader
from planner.store import scores as q
from planner.store import world
from planner.text import currency_code, json_safe

Progress = Callable[[float, str], None]

MIN_CLOSED = 50  # below this many closed deals, or MIN_WINS wins, use the fit score
MIN_WINS = 10
BIG_DATA_ROWS = 50_000  # below this, one thread: OpenMP thread start-up and spinning cost more than they save
BIG_SCORE_ROWS = 200_000  # from this many accounts, predictions use QUERY_THREADS threads
MAX_TRAIN_ROWS = 150_000  # more closed deals than this: train on a stratified sample of this many (said on the card)

FIT_SCORE_INSTEAD = (
    "Accounts are ranked by the transparent fit score instead; it is a fit, not a probability of buying."
)

SCORE_COLUMNS = ["account_id", "propensity", "potential", "expected_value", "rank", "reasons", "similar_won",
                 "nearest_won_km"]  # fmt: skip


@dataclass
class Inputs:
    accounts: pd.DataFrame
    deals: pd.DataFrame
    defs: pd.DataFrame
    values: pd.DataFrame
    truth: pd.DataFrame
    as_of: date
    # The store's currency (ISO code): the reasons write money in it.
    currency: str = "USD"
    # Why annual revenue is left out ('' when it is not): a store of several currencies, where a yen or rupee
    # revenue would rank as a giant beside a pound one.
    revenue_left_out: str = ""
    # Every account's features as of today, computed while training (score_frame reuses them).
    current: pd.DataFrame | None = None


def _store_as_of(con: duckdb.DuckDBPyConnection) -> date:
    text = world.as_of(con)
    return date.fromisoformat(text) if text else date.today()


def load_as_of(con: duckdb.DuckDBPyConnection) -> str:
    """The date features are computed as of (ISO text, as a model card's data records it)."""
    return _store_as_of(con).isoformat()


def revenue_caveat(con: duckdb.DuckDBPyConnection) -> str:
    """Why annual revenue is left out of training and scoring ('' when it is not): a store of several currencies."""
    mixed = world.mixed_currencies(con) if world.currency(con) == world.NO_CURRENCY else None
    if not mixed:
        return ""
    return (
        f"amounts are in several currencies ({mixed}), not converted: a revenue in yen or rupees would rank as a "
        "giant beside one in pounds; set one currency in Settings to use it"
    )


def load_inputs(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> Inputs:
    """Accounts, deals, custom attributes and (demo only) true probabilities, as of the store's date
    (the whole book, which a model learns from: leaders and admins only)."""
    require_leader(scope)
    defs = q.load_attribute_defs(con, scope=scope)
    accounts = q.load_accounts(con, scope=scope)
    left_out = revenue_caveat(con)
    if left_out and "annual_revenue" in accounts:
        accounts = accounts.assign(annual_revenue=np.nan)
    return Inputs(
        accounts=accounts,
        deals=q.load_deals(con, scope=scope),
        defs=defs,
        values=q.load_attribute_values(con, defs["attr"].tolist(), scope=scope),
        truth=q.load_truth(con, scope=scope),
        as_of=_store_as_of(con),
        currency=currency_code(world.currency(con)) or "USD",
        revenue_left_out=left_out,
    )


def threads(rows: int) -> int:
    """OpenMP threads for the boosters: one. On a shared 2-core machine a second thread spins while it
    waits and cost three times the CPU in measurements, for little gain; set PLANNER_MODEL_THREADS to
    use more on a dedicated machine with large stores."""
    wanted = int(os.environ.get("PLANNER_MODEL_THREADS", "1") or 1)
    return max(1, min(wanted, os.cpu_count() or 1)) if rows >= BIG_DATA_ROWS else 1


# ---------------------------------------------------------------- fitting a version


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
    for left_out in spec.excluded if inputs.revenue_left_out else []:
        if left_out["field"] == "annual_revenue":
            left_out["reason"] = inputs.revenue_left_out
    feats = account_features(acc, inputs.values, spec)
    say(0.1, "Building point-in-time features from closed deals")
    X, y, closed_on, deal_accounts = training_frame(
        acc, inputs.deals, feats, spec, max_rows=MAX_TRAIN_ROWS, random_state=random_state
    )
    metrics: dict[str, Any] = {"data": _data_summary(inputs, y, closed_on), "baselines": {}}
    n_closed, n_wins = len(y), int(y.sum())
    test = None
    why_not = None  # why there is no model, when history is not the reason: (short phrase, sentence)
    if n_closed >= MIN_CLOSED and n_wins >= MIN_WINS and n_closed - n_wins >= MIN_WINS:
        guard_leaks(X, y, spec, deal_accounts)
        test = time_split(closed_on, y)
        if test is None:
            why_not = (
                "no fair test of a model",
                (
                    f"the newest {TEST_SHARE:.0%} of the {n_closed:,} closed deals, or the older ones, lack a won or a "
                    "lost deal, so a model could not be tested honestly"
                ),
            )
        else:
            # A column without values on the older deals would crash the booster: drop it and say so.
            drop_unlearnable(X[~test], spec, "older closed deals the model is fitted on")
            if not spec.columns:
                test = None
                why_not = "no feature to learn from", "no feature has values to learn from (see Excluded, and why)"
    X = X[spec.columns]
    if test is not None:
        metrics["data"]["split_date"] = str(closed_on[test].min())
        bundle = _fit_model(X, y, test, deal_accounts, spec, inputs, metrics, random_state, say)
    else:
        bundle = _fit_fallback(X, y, spec, metrics, why_not)
    population = scoring_frame(acc, inputs.deals, feats, spec, inputs.as_of) if len(acc) else X
    if len(acc):
        inputs.current = population.set_axis(feats.index)
    bundle.reference = reference(X if len(X) else population, spec, population, bundle.fit)
    if bundle.kind == "model" and bundle.model is not None:
        say(0.75, "Measuring each feature's effect for the reasons (partial dependence)")
        bundle.reference["effects"] = partial_dependence(
            bundle.model, X, spec.columns, spec.categorical, random_state=random_state
        )
    metrics["fit_score_rules"] = _fit_rules(bundle.fit)
    metrics["seconds_fit"] = round(time.perf_counter() - t0, 2)
    return bundle, {"metrics": json_safe(metrics), "features": json_safe(_feature_card(spec, bundle))}


def _data_summary(inputs: Inputs, y: np.ndarray, closed_on: np.ndarray) -> dict[str, Any]:
    """What the card says about the data: counts, the sample, the close-date range, the as-of date."""
    d = inputs.deals
    closed = d["is_closed"].fillna(False).astype(bool) & d["close_date"].notna()
    closed &= pd.Index(inputs.accounts["account_id"]).get_indexer(d["account_id"].to_numpy()) >= 0
    n = len(y)
    return {
        "accounts": int(len(inputs.accounts)),
        "deals": int(len(d)),
        "closed_deals": int(closed.sum()),
        "sampled_deals": n,
        "won_deals": int((closed & d["is_won"].fillna(False).astype(bool)).sum()),
        "sampled_won_deals": int(y.sum()),
        "first_close": str(closed_on.min()) if n else None,
        "last_close": str(closed_on.max()) if n else None,
        "as_of": inputs.as_of.isoformat(),
        "custom_attributes": int(len(inputs.defs)),
    }


def _fit_model(
    X: pd.DataFrame,
    y: np.ndarray,
    test: np.ndarray,
    deal_accounts: np.ndarray,
    spec: FeatureSpec,
    inputs: Inputs,
    metrics: dict[str, Any],
    random_state: int,
    say: Progress,
) -> Bundle:
    """Fit on the older deals, measure on the newest against the baselines, then refit on every deal."""
    train = ~test
    n_train, n_test = int(train.sum()), int(test.sum())
    say(0.25, f"Fitting on {n_train:,} older closed deals, testing on the newest {n_test:,}")
    Xtr, ytr, Xte, yte = X[train], y[train], X[test], y[test]
    model = PropensityModel(tuple(spec.categorical), tuple(spec.numeric), random_state=random_state).fit(Xtr, ytr)
    metrics.update(evaluate(yte, model.predict_proba(Xte)[:, 1]))
    metrics["baselines"] = baselines(Xtr, ytr, Xte, yte)
    ceiling = ceiling_auc(inputs.truth, deal_accounts[test], yte)
    if ceiling is not None:
        metrics["ceiling_auc"] = ceiling
    n_closed, n_all = len(y), metrics["data"]["closed_deals"]
    best_base = max([b.get("auc") or 0.0 for b in metrics["baselines"].values()] or [0.0])
    metrics["beats_baselines"] = bool((metrics.get("auc") or 0.0) > best_base)
    metrics["n_train"], metrics["n_test"] = n_train, n_test
    fit = FitScore().fit(firmographics(X), y)
    # Used only if it ranks the newest deals better than a coin toss and than the fit score, what would rank
    # them instead (intent alone is a baseline to report, not a ranking the pages can fall back to).
    fit_auc = (metrics["baselines"].get("fit_score") or {}).get("auc")
    auc = metrics.get("auc")
    if auc is None or auc <= 0.5 or (fit_auc is not None and auc <= fit_auc):
        _reject(metrics, fit_auc, n_train, n_test)
        return Bundle(kind="fit_score", spec=spec, fit=fit)
    say(0.5, "Measuring which features matter (permutation importance)")
    metrics["importance"] = importance(model, Xte, yte, spec, random_state=random_state)
    say(0.65, f"Refitting on all {n_closed:,} closed deals" if n_closed == n_all
        else f"Refitting on the {n_closed:,} sampled closed deals")  # fmt: skip
    final = PropensityModel(tuple(spec.categorical), tuple(spec.numeric), random_state=random_state).fit(X, y)
    metrics["calibration_method"] = final.calibration_method_
    split = metrics["data"]["split_date"]
    metrics["message"] = (
        f"Trained on {n_train:,} closed deals before {split} and tested on the {n_test:,} closed since; "
        f"scores come from a refit on all {n_closed:,}."
    )
    if n_closed < n_all:
        metrics["message"] = (
            f"Trained on {n_closed:,} of {n_all:,} closed deals (a random sample with the same share of every "
            f"month and outcome; more adds little and costs time): fitted on {n_train:,} closed before "
            f"{split}, tested on the {n_test:,} closed since; scores come from a refit on all "
            f"{n_closed:,} sampled deals."
        )
    interval = metrics.get("auc_interval")
    if interval and interval[0] <= 0.5:
        metrics["message"] += (
            f" On {n_test:,} test deals the AUC's 95% interval is {interval[0]:.2f}-{interval[1]:.2f}: the model is "
            "not yet shown to rank better than chance, so treat its ranks as tentative (more closed deals narrow it)."
        )
    if not metrics["beats_baselines"]:
        metrics["message"] += (
            f" Careful: on the newest deals it ranks no better than a baseline (AUC {metrics.get('auc')} vs "
            f"{best_base:.4f}); the data may hold little signal."
        )
    return Bundle(kind="model", spec=spec, fit=fit, model=final)


def _reject(metrics: dict[str, Any], fit_auc: float | None, n_train: int, n_test: int) -> None:
    """A model that ranks the newest deals no better than a coin toss or the fit score is not used: the card
    keeps its test figures and says why; the accounts are ranked by the transparent fit score instead."""
    auc = metrics.get("auc")
    chance = (auc or 0.0) <= 0.5
    metrics["model_rejected"] = True
    metrics["calibration"] = None  # the curve of a model that is not used
    than = "a coin toss" if chance else "the fit score"
    metrics["no_model_reason"] = f"the trained model ranked the newest deals no better than {than}"
    metrics["message"] = (
        f"Model not used: fitted on {n_train:,} older closed deals, it ranked the newest {n_test:,} no better "
        f"than {than} (AUC {_auc_text(auc)}; {'a coin toss 0.500, ' if chance else ''}fit score "
        f"{_auc_text(fit_auc)}). The data may hold little signal. " + FIT_SCORE_INSTEAD
    )


def _auc_text(auc: object) -> str:
    return "n/a" if auc is None else f"{float(auc):.3f}"  # type: ignore[arg-type]


def _deals(n: int, what: str = "closed deal") -> str:
    """'1 closed deal', '60 closed deals'."""
    return f"{n:,} {what}" + ("" if n == 1 else "s")


def _too_thin(n_closed: int, n_wins: int) -> tuple[str, str]:
    """Why the closed deals cannot train a model, the real cause first: (a short phrase, the full sentence)."""
    lost = n_closed - n_wins
    if n_closed == 0:
        return "no closed deals", "there are no closed deals yet, and a model learns from won and lost deals"
    if lost == 0:
        every = "the one closed deal was" if n_closed == 1 else f"all {_deals(n_closed)} were"
        return "no lost deals", (
            f"no deal was lost: {every} won, so nothing tells a buyer from a non-buyer (an export of customers "
            "only? import the lost deals too)"
        )
    if n_wins == 0:
        every = "the one closed deal was" if n_closed == 1 else f"all {_deals(n_closed)} were"
        return "no won deals", f"no deal was won: {every} lost, so nothing shows what a win looks like"
    if n_closed < MIN_CLOSED:
        return "too few closed deals", (
            f"there {'is' if n_closed == 1 else 'are'} only {_deals(n_closed)} ({n_wins:,} won, {lost:,} lost); "
            f"a model needs at least {MIN_CLOSED}"
        )
    few, count = ("won", n_wins) if n_wins < MIN_WINS else ("lost", lost)
    return f"too few {few} deals", (
        f"only {count:,} of the {_deals(n_closed)} {'was' if count == 1 else 'were'} {few}; a model needs at "
        f"least {MIN_WINS} won and {MIN_WINS} lost"
    )


def _fit_fallback(
    X: pd.DataFrame,
    y: np.ndarray,
    spec: FeatureSpec,
    metrics: dict[str, Any],
    why_not: tuple[str, str] | None = None,
) -> Bundle:
    """Too little history for an honest model: the transparent fit score, and a card that says why."""
    n_closed, n_wins = len(y), int(y.sum())
    fit = FitScore().fit(firmographics(X), y) if n_closed else FitScore().fit(firmographics(X.iloc[:0]), y[:0])
    metrics.update(auc=None, lift_top_decile=None, brier=None, calibration=None, n=0, wins=0)
    short, reason = why_not or _too_thin(n_closed, n_wins)
    metrics["no_model_reason"] = short
    metrics["message"] = (
        f"No model: {reason}" + (f" ({_deals(n_closed)}, {n_wins:,} won)" if why_not else "") + ". " + FIT_SCORE_INSTEAD
    )
    metrics["n_train"], metrics["n_test"] = n_closed, 0
    return Bundle(kind="fit_score", spec=spec, fit=fit)


def _feature_card(spec: FeatureSpec, bundle: Bundle) -> dict[str, Any]:
    """The card's lists: features used (kind and source) and every excluded field with its reason."""
    if bundle.kind == "model":
        used = spec.used()
    else:
        unused = {e["field"] for e in spec.excluded}
        used = [{"field": c, "name": BASE_FEATURES[c], "kind": "fit score", "source": "account"}
                for c in ("industry", "employees", "annual_revenue") if c not in unused]  # fmt: skip
    return {
        "used": used,
        "excluded": [{"name": n, "field": n, "reason": r} for n, r in ALWAYS_EXCLUDED] + spec.excluded,
        "radius_km": RADIUS_KM,
        "window_days": WINDOW_DAYS,
    }


def _fit_rules(fit: FitScore) -> dict[str, Any]:
    def band(b: tuple[float, float] | None) -> list[float] | None:
        return None if b is None else [round(10 ** b[0]), round(10 ** b[1])]

    return {
        "base_rate": round(fit.base_rate_, 4) if fit.industry_rates_ else None,  # no closed deals: no rate
        "industry_rates": {k: round(v, 4) for k, v in sorted(fit.industry_rates_.items(), key=lambda kv: -kv[1])},
        "employee_band": band(fit.employee_band_),
        "revenue_band": band(fit.revenue_band_),
        "points": "50 x industry win rate / best industry rate + 25 x employees in band + 25 x revenue in band "
        "(outside a band, points fall to 0 at 10x away)",
    }


# ---------------------------------------------------------------- scoring


def _predict(model: PropensityModel, X: pd.DataFrame) -> np.ndarray:
    """Win probabilities of every row. Big stores: the rows split in QUERY_THREADS parts, predicted side by side,
    each by one OpenMP thread (the booster's own threads meet after each of its trees and spin while they wait:
    three times the CPU and twice the time on a busy machine). Rows are independent: the same numbers."""
    if len(X) < BIG_SCORE_ROWS or QUERY_THREADS < 2:
        with threadpool_limits(limits=1):
            return np.asarray(model.predict_proba(X)[:, 1])

    def part(rows: np.ndarray) -> np.ndarray:
        with threadpool_limits(limits=1, user_api="openmp"):  # OpenMP's limit is this thread's own
            return np.asarray(model.predict_proba(X.iloc[rows])[:, 1])

    # scikit-learn's Parallel (the column transformer's, inside each thread) enters and leaves catch_warnings,
    # which swaps the process's one list of warning filters: two threads interleaved can leave one's temporary
    # filters in place. The calling thread's catch_warnings puts the list it saw back when both are done.
    with warnings.catch_warnings(), ThreadPoolExecutor(QUERY_THREADS) as pool:
        return np.concatenate(list(pool.map(part, np.array_split(np.arange(len(X)), QUERY_THREADS))))


def _potential_of(potential: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    """Each account's potential (0 where it has none), looked up by Arrow's hash of the ids."""
    values = potential["potential"].astype("float64").to_numpy()
    at = positions_of(pd.Index(potential["account_id"]), ids)
    pot = np.where(at >= 0, values[np.maximum(at, 0)] if len(values) else 0.0, 0.0)
    return np.where(np.isnan(pot), 0.0, pot)


def _best_first(out: pd.DataFrame) -> np.ndarray:
    """Positions of the rows by expected value, then propensity (highest first, unknown last), then account id:
    Arrow's stable sort of the three (pandas compared the ids as Python strings: three times the time)."""
    ids = arrow_ids(out["account_id"])
    if ids is None:
        keys = ["expected_value", "propensity", "account_id"]
        ranked = out.reset_index(drop=True).sort_values(keys, ascending=[False, False, True], kind="stable")
        return ranked.index.to_numpy()
    table = pa.table(
        {
            "e": pa.array(out["expected_value"].to_numpy(dtype=float), from_pandas=True),  # NaN: null, last
            "p": pa.array(out["propensity"].to_numpy(dtype=float), from_pandas=True),
            "a": ids,
        }
    )
    order = pc.sort_indices(table, sort_keys=[("e", "descending"), ("p", "descending"), ("a", "ascending")])
    return np.asarray(order.to_numpy(), dtype=np.intp)


def score_frame(bundle: Bundle, inputs: Inputs, potential: pd.DataFrame, only: Sequence[str] | None = None
                ) -> pd.DataFrame:  # fmt: skip
    """Propensity, potential, expected value, rank and reasons of every account (of the accounts `only` names,
    when given: what a full scoring gives them, ranked among themselves).

    A fit-score version (no model) stores the fit score / 100 as `propensity` and fit score x potential as
    `expected_value`: they rank the accounts, and are no probability (pages label them so). With `only`, the
    whole store still feeds what is measured across accounts: the history features (nearby wins of every
    account) and the fit score's reasons (each account against the mean of all)."""
    acc = inputs.accounts
    if only is not None:
        acc_in = positions_of(pd.Index(list(dict.fromkeys(only))), acc["account_id"]) >= 0
    mine = acc if only is None else acc.iloc[np.flatnonzero(acc_in)]
    if mine.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    cached = inputs.current
    if only is None and cached is not None and list(cached.columns) == bundle.spec.columns and len(cached) == len(acc):
        X = cached.copy()
    else:
        feats = account_features(mine, inputs.values, bundle.spec)
        X = scoring_frame(acc, inputs.deals, feats, bundle.spec, inputs.as_of)
        X.index = feats.index
    if inputs.revenue_left_out and "annual_revenue" in X and bundle.kind == "model":
        # A version that learned from revenue, scoring a store of several currencies: every account gets the typical
        # revenue it learned from, so revenue moves no score and is no reason (its missing-value branch would
        # lower everyone's score and read '▼ despite annual revenue unknown'). since_training says to retrain.
        X = X.assign(annual_revenue=bundle.reference.get("typical", {}).get("annual_revenue", np.nan))
    if bundle.kind == "model" and bundle.model is not None:
        # The reasons are written while the model predicts (the booster leaves the interpreter free). The reasons'
        # encoding is made here first: scikit-learn in two threads at once can empty the warning filters.
        encoded_x = encoded(bundle, X)
        with ThreadPoolExecutor(1) as pool:
            held = ("annual_revenue",) if inputs.revenue_left_out and "annual_revenue" in X else ()
            explained = pool.submit(reasons, bundle, X, 3, encoded_x, currency=inputs.currency, held=held)
            prop = _predict(bundle.model, X)
            why = explained.result()
    else:
        # The fit score, 0..1 (a fit, not a probability of buying: expected value does not read it, see
        # planner.coverage.value); the rank is fit x potential. Where every account fits the same (no
        # closed deals, one deal), nothing raises or lowers anyone: no reasons.
        everyone = X if only is None else account_features(acc, inputs.values, bundle.spec)
        for c in ("industry", "employees", "annual_revenue"):
            if c not in everyone:
                everyone[c] = acc.set_index("account_id")[c]
        prop = bundle.fit.fit_score(firmographics(everyone)) / 100.0
        same = len(prop) == 0 or float(np.ptp(prop)) < 1e-9
        why = (
            pd.Series([""] * len(everyone), dtype="str")
            if same
            else reasons(bundle, everyone, currency=inputs.currency)
        )
        if only is not None:  # the accounts asked for, out of everyone's figures
            at = positions_of(everyone.index, X.index.to_series())
            prop, why = prop[at], why.iloc[at].reset_index(drop=True)
    pot = _potential_of(potential, X.index)
    hist = history_features(
        pd.DataFrame({"account_id": X.index, "as_of": np.datetime64(inputs.as_of, "D"),
                      "sim_ref": np.datetime64(inputs.as_of, "D")}), acc, inputs.deals,
    ) if not {"similar_won", "nearest_won_km"} <= set(X.columns) else X[["similar_won", "nearest_won_km"]].reset_index(
        drop=True)  # the model may have dropped one of them as unlearnable (all accounts unplaced)  # fmt: skip
    out = pd.DataFrame(
        {
            "account_id": X.index.array,  # pandas' str: Arrow text all the way to DuckDB
            "propensity": np.round(prop, 5),
            "potential": np.round(pot, 2),
            "expected_value": np.round(prop * pot, 2),
            "reasons": why,
            "similar_won": hist["similar_won"].to_numpy(),
            "nearest_won_km": np.round(hist["nearest_won_km"].to_numpy(dtype=float), 1),
        }
    )
    out = out.take(_best_first(out))
    out["rank"] = np.arange(1, len(out) + 1)
    out["similar_won"] = out["similar_won"].astype("Int64")
    return out.reset_index(drop=True)
