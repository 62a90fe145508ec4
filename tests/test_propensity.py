"""Propensity: point-in-time features, leakage guard, the estimator contract, evaluation, versions, CLI."""

from __future__ import annotations

import csv
import io
import json
import threading
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.base import clone
from sklearn.utils import parallel as sklearn_parallel
from threadpoolctl import threadpool_limits

from planner import cli, export, propensity, store
from planner.commands import score as score_cmd
from planner.errors import BadInput, NotEnoughData, NotFound
from planner.propensity import explanations, training
from planner.scope import OPERATOR, Scope
from planner.store import scores as q
from planner.store.core import query_df

# Four accounts: B is 11 km from A (same industry), C is beside A but Retail, D is 555 km north.
ACCOUNTS = pd.DataFrame(
    {
        "account_id": ["A", "B", "C", "D"],
        "industry": ["Software", "Software", "Retail", "Software"],
        "lat": [40.0, 40.1, 40.0, 45.0],
        "lon": [-74.0, -74.0, -74.0, -74.0],
    }
)
DEALS = pd.DataFrame(
    {
        "deal_id": ["d1", "d2", "d3", "d4", "d5"],
        "account_id": ["B", "C", "D", "A", "A"],
        "is_closed": [True, True, True, True, True],
        "is_won": [True, True, True, True, False],
        "created_date": pd.to_datetime(["2026-01-01"] * 5),
        "close_date": pd.to_datetime(["2026-03-01", "2026-03-01", "2026-03-01", "2026-02-01", "2026-03-15"]),
    }
)


def _query(account: str, as_of: str, sim_ref: str) -> pd.DataFrame:
    return pd.DataFrame({"account_id": [account], "as_of": [pd.Timestamp(as_of)], "sim_ref": [pd.Timestamp(sim_ref)]})


def test_similar_wins_count_only_earlier_nearby_same_industry_others() -> None:
    h = propensity.history_features(_query("A", "2026-04-10", "2026-04-01"), ACCOUNTS, DEALS)
    # B counts (11 km, Software, won before); C is Retail, D is too far, A itself never counts.
    assert h.loc[0, "similar_won"] == 1
    assert h.loc[0, "nearest_won_km"] == pytest.approx(11.1, abs=0.2)


def test_similar_wins_ignore_wins_on_or_after_the_reference_date() -> None:
    h = propensity.history_features(_query("A", "2026-03-01", "2026-03-01"), ACCOUNTS, DEALS)
    assert h.loc[0, "similar_won"] == 0  # B closed on the reference day: not yet known
    # A's own win (2026-02-01) is not a "similar" account; so no nearest win at all.
    assert np.isnan(h.loc[0, "nearest_won_km"])


def test_similar_wins_forget_wins_older_than_the_window() -> None:
    h = propensity.history_features(_query("A", "2026-10-01", "2026-10-01"), ACCOUNTS, DEALS)
    assert h.loc[0, "similar_won"] == 0  # 2026-03-01 is more than 182 days before


def test_prior_deals_count_strictly_before_as_of() -> None:
    h = propensity.history_features(_query("A", "2026-03-15", "2026-03-01"), ACCOUNTS, DEALS)
    assert (h.loc[0, "prior_wins"], h.loc[0, "prior_losses"]) == (1, 0)  # the loss closes that very day
    h = propensity.history_features(_query("A", "2026-03-16", "2026-03-01"), ACCOUNTS, DEALS)
    assert (h.loc[0, "prior_wins"], h.loc[0, "prior_losses"]) == (1, 1)


@pytest.mark.parametrize("as_of", ["2026-01-01", "2026-03-15", "2026-03-16", "2026-04-10"])
def test_history_on_one_date_for_all_is_the_history_of_each_row(as_of: str) -> None:
    """Scoring asks on one date for every account (counted per account at once); mixed dates go row by row;
    ids that are not text are looked up by pandas instead of Arrow. The same figures every way."""
    one = pd.DataFrame({"account_id": ["A", "B", "C", "D", "Z"], "as_of": pd.Timestamp(as_of),
                        "sim_ref": pd.Timestamp(as_of)})  # fmt: skip
    mixed = pd.concat([one, _query("A", "2026-02-02", "2026-02-02")], ignore_index=True)
    want = propensity.history_features(one, ACCOUNTS, DEALS)
    pd.testing.assert_frame_equal(propensity.history_features(mixed, ACCOUNTS, DEALS).iloc[:5], want)
    number = {"A": 1, "B": 2, "C": 3, "D": 4, "Z": 9}
    as_numbers = [frame.assign(account_id=frame["account_id"].map(number)) for frame in (one, ACCOUNTS, DEALS)]
    pd.testing.assert_frame_equal(propensity.history_features(*as_numbers), want)
    march = float(as_of > "2026-03-01")  # B, C and D won on 2026-03-01, A on 2026-02-01
    assert want["prior_wins"].tolist() == [float(as_of > "2026-02-01"), march, march, march, 0]


def test_lift_and_evaluate_by_hand() -> None:
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    p = np.array([0.9, 0.1, 0.2, 0.3, 0.1, 0.2, 0.1, 0.2, 0.3, 0.4])
    # Top decile = 1 row (the 0.9, a win): win rate 1.0 / overall 0.2 = 5.
    assert propensity.lift_top_decile(y, p) == pytest.approx(5.0)
    out = propensity.evaluate(y, p)
    # Wins score 0.9 and 0.4; 0.9 beats all 8 losses, 0.4 beats all 8: AUC 1.0.
    assert out["auc"] == 1.0 and out["n"] == 10 and out["wins"] == 2
    assert propensity.evaluate(np.zeros(5), np.arange(5))["auc"] is None


def _toy(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "industry": rng.choice(["a", "b", "c"], n).astype(object),
            "intent_score": rng.uniform(0, 100, n),
            "employees": rng.integers(5, 5000, n).astype(float),
        }
    )
    logit = -2 + 0.04 * X["intent_score"] + (X["industry"] == "a") * 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def test_model_follows_the_sklearn_contract_and_is_deterministic() -> None:
    X, y = _toy()
    # The boosters' OpenMP threads as the app limits them around every fit (training.threads): left at the
    # default, a second thread spinning on a busy 2-core machine made each 400-row fit 16 s instead of 1 s.
    with threadpool_limits(limits=training.threads(len(X))):
        _sklearn_contract(X, y)


def _sklearn_contract(X: pd.DataFrame, y: np.ndarray) -> None:
    est = propensity.PropensityModel(categorical=("industry",), numeric=("intent_score", "employees"), random_state=3)
    assert est.get_params()["random_state"] == 3
    assert not hasattr(est, "classes_")  # __init__ only stores parameters
    assert est.fit(X, y) is est
    assert list(est.classes_) == [0, 1] and est.n_features_in_ == 3
    p1 = est.predict_proba(X)[:, 1]
    p2 = clone(est).fit(X, y).predict_proba(X)[:, 1]
    assert np.allclose(p1, p2)
    assert ((p1 > 0) & (p1 < 1)).all()
    # Learned something: intent drives the toy outcome.
    assert np.corrcoef(p1, X["intent_score"])[0, 1] > 0.5


def test_model_rejects_bad_input() -> None:
    X, y = _toy(60)
    est = propensity.PropensityModel(categorical=("industry",), numeric=("intent_score",))
    with pytest.raises(NotEnoughData, match="both won and lost"):
        est.fit(X, np.zeros(len(X)))
    with pytest.raises(BadInput, match="missing"):
        propensity.PropensityModel(numeric=("nope",)).fit(X, y)
    with pytest.raises(BadInput, match="rows"):
        est.fit(X, y[:10])


def test_fit_score_is_transparent() -> None:
    X = pd.DataFrame({"industry": ["a"] * 10 + ["b"] * 10, "employees": [100.0] * 20, "annual_revenue": [1e7] * 20})
    y = np.array([1] * 8 + [0] * 2 + [1] * 2 + [0] * 8)
    fit = propensity.FitScore(prior_strength=0).fit(X, y)
    assert fit.industry_rates_ == {"a": 0.8, "b": 0.2}
    s = fit.fit_score(X)
    # Industry a: 50 points (best rate); b: 50 x 0.2/0.8 = 12.5; both sizes are inside the band: +25 +25.
    assert s[0] == pytest.approx(100.0) and s[-1] == pytest.approx(62.5)


def test_a_book_with_no_industry_at_all_scores_as_one_group() -> None:
    """A deals-only import has no industry: the column is all missing and reads as float64, which pandas 3 warns
    about filling with text and pandas 4 refuses (pytest turns Pandas4Warning into an error: tests/conftest.py)."""
    X = pd.DataFrame({"industry": [np.nan] * 20, "employees": [100.0] * 20, "annual_revenue": [1e7] * 20})
    y = np.array([1] * 6 + [0] * 14)
    fit = propensity.FitScore(prior_strength=0).fit(X, y)
    assert fit.industry_rates_ == {"(none)": pytest.approx(0.3)}
    assert len(set(fit.fit_score(X))) == 1


def test_leakage_guard_excludes_outcome_fields_and_says_why() -> None:
    accounts = pd.DataFrame({"account_id": ["A", "B"], "industry": ["x", "y"], "employees": [1, 2],
                             "annual_revenue": [None, None]})  # fmt: skip
    defs = pd.DataFrame(
        {
            "attr": ["deal_stage", "ChurnFlag", "tech_stack", "founded", "seats", "notes"],
            "label": ["Deal Stage", "Churn flag", "Tech stack", "Founded", "Seats", "Notes"],
            "dtype": ["text", "boolean", "text", "date", "number", "text"],
            "n_values": [2, 2, 2, 2, 2, 2],
            "n_text": [2, 2, 3, 0, 0, 500],
        }
    )
    spec = propensity.plan_features(accounts, defs)
    why = {e["field"]: e["reason"] for e in spec.excluded}
    assert "outcome" in why["attr:deal_stage"] and "outcome" in why["attr:ChurnFlag"]
    assert "date" in why["attr:founded"] and "free text" in why["attr:notes"]
    assert why["annual_revenue"] == "no values in this store"
    assert "attr:tech_stack" in spec.categorical and "attr:seats" in spec.numeric
    for banned in ("account_type", "owner_rep_id", "stage", "amount", "close_date", "account_id"):
        assert banned not in spec.columns


def test_guard_drops_an_attribute_that_is_the_answer() -> None:
    X, y = _toy(200)
    X["attr:renewed"] = y.astype(float)  # perfectly separates wins from losses
    spec = propensity.FeatureSpec(categorical=["industry"], numeric=["intent_score", "attr:renewed"])
    propensity.guard_leaks(X, y, spec)
    assert "attr:renewed" not in spec.columns
    assert "AUC 1.00" in spec.excluded[0]["reason"]


def test_demo_store_is_scored_at_build(small_store: Path) -> None:
    with store.read(small_store) as con:
        version = q.active_version(con)
        df = q.active_scores(con, scope=OPERATOR)
        rec = q.model_record(con)
    assert version is not None and rec is not None and rec["kind"] == "model"
    assert list(df.columns) == q.ACTIVE_COLUMNS
    assert len(df) == 600 and sorted(df["rank"]) == list(range(1, 601))
    assert df["expected_value"].iloc[0] == pytest.approx(df["expected_value"].max())
    assert np.allclose(df["expected_value"], df["propensity"] * df["potential"])
    assert df["reasons"].str.len().gt(0).all()
    assert df["reasons"].str.count("; ").le(2).all()
    m = rec["metrics"]
    assert set(m["baselines"]) == {"fit_score", "intent_only"}
    assert 0.5 < m["auc"] <= 1 and m["ceiling_auc"] is not None
    assert m["n_train"] + m["n_test"] == m["data"]["closed_deals"]
    assert m["data"]["split_date"] > m["data"]["first_close"]
    used = {f["field"] for f in rec["features"]["used"]}
    assert {"similar_won", "intent_score", "industry"} <= used and "account_type" not in used


def test_active_scores_respect_scope(small_store: Path) -> None:
    with store.read(small_store) as con:
        mine = q.active_scores(con, scope=Scope(role="rep", rep_id="R002"))
        narrowed = q.active_scores(con, scope=OPERATOR, rep_id="R002")
        with pytest.raises(Exception, match="own territory"):
            q.active_scores(con, scope=Scope(role="rep", rep_id="R002"), rep_id="R001")
    assert len(mine) == len(narrowed) > 0 and set(mine["owner_rep_id"]) == {"R002"}


def test_fallback_to_fit_score_with_little_history(small_store: Path) -> None:
    with store.write(small_store) as con:
        con.execute("DELETE FROM deals WHERE deal_id NOT IN (SELECT deal_id FROM deals ORDER BY deal_id LIMIT 30)")
        out = propensity.train_and_score(con, scope=OPERATOR)
    assert out["kind"] == "fit_score" and out["auc"] is None
    assert "fit score" in out["message"] and "at least 50" in out["message"]
    with store.read(small_store) as con:
        df = q.active_scores(con, scope=OPERATOR)
    assert len(df) == 600 and df["propensity"].between(0, 1).all() and df["reasons"].str.len().gt(0).all()


def test_custom_attributes_are_used_and_leaky_ones_dropped(small_store: Path) -> None:
    with store.write(small_store) as con:
        con.execute(
            """INSERT INTO attribute_defs VALUES ('it_budget', 'IT budget', 'number', 'test', NULL),
               ('uses_cloud', 'Uses cloud', 'boolean', 'test', NULL), ('tier', 'Tier', 'text', 'test', NULL),
               ('became_client', 'Became client', 'boolean', 'test', NULL)"""
        )
        con.execute(
            """INSERT INTO account_attributes
               SELECT account_id, 'it_budget', employees * 100.0, NULL FROM accounts UNION ALL
               SELECT account_id, 'uses_cloud', NULL, CASE WHEN intent_score > 50 THEN 'yes' ELSE 'no' END
                 FROM accounts UNION ALL
               SELECT account_id, 'tier', NULL, CASE WHEN employees > 500 THEN 'A' ELSE 'B' END FROM accounts
               UNION ALL
               SELECT a.account_id, 'became_client', CASE WHEN bool_or(d.is_won) THEN 1 ELSE 0 END, NULL
                 FROM accounts a LEFT JOIN deals d USING (account_id) GROUP BY a.account_id"""
        )
        propensity.train_and_score(con, scope=OPERATOR)
    with store.read(small_store) as con:
        rec = q.model_record(con)
    assert rec is not None
    used = {f["field"] for f in rec["features"]["used"]}
    assert {"attr:it_budget", "attr:uses_cloud", "attr:tier"} <= used
    excluded = {e["field"]: e["reason"] for e in rec["features"]["excluded"]}
    assert "attr:became_client" in excluded


def test_versions_activate_and_roll_back(small_store: Path) -> None:
    with store.read(small_store) as con:
        first = q.active_version(con)
    assert first is not None
    with store.write(small_store) as con:
        second = propensity.train_and_score(con, created_by="test", scope=OPERATOR)["model_version"]
    with store.read(small_store) as con:
        assert q.active_version(con) == second > first
        assert q.previous_version(con) == first
        hist = q.model_history(con)
    assert hist["model_version"].tolist()[:2] == [second, first] and hist["active"].tolist()[:2] == [True, False]
    with store.write(small_store) as con:
        propensity.activate_version(con, first, scope=OPERATOR)
        with pytest.raises(NotFound, match="version 999"):
            propensity.activate_version(con, 999, scope=OPERATOR)
    with store.read(small_store) as con:
        assert q.active_version(con) == first
        assert len(q.active_scores(con, scope=OPERATOR)) == 600


def test_train_and_score_cli(small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--db", str(small_store), "train", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"model_version", "n_train", "auc", "lift_top_decile", "baselines"} <= set(out)
    assert set(out["baselines"]) == {"fit_score", "intent_only"} and out["n_train"] > 0
    target = tmp_path / "scores.csv"
    assert cli.main(["--db", str(small_store), "score", "--out", str(target)]) == 0
    df = pd.read_csv(target, encoding="utf-8-sig")
    assert list(df.columns) == ["account_id", "propensity", "potential", "expected_value", "rank", "reasons"]
    assert len(df) == 600 and df["rank"].tolist() == list(range(1, 601))


def test_scores_are_point_in_time_as_of_the_store_date(small_store: Path) -> None:
    with store.read(small_store) as con:
        inputs = propensity.load_inputs(con, scope=OPERATOR)
    assert inputs.as_of == date(2026, 11, 1)
    # No deal is closed after the as-of date, so scoring sees the same history training would.
    closed = inputs.deals[inputs.deals["is_closed"]]
    assert pd.to_datetime(closed["close_date"]).max() <= pd.Timestamp(inputs.as_of)


def test_stratified_sample_keeps_each_month_and_outcome_share() -> None:
    # 40 deals: March 10 won + 10 lost, April 15 won + 5 lost. Half of them: 5+5 in March; in April 7.5 and
    # 2.5 round down to 7 + 2, and the 20th row goes to the first of the equal remainders (April's losses).
    closed = pd.DataFrame(
        {
            "close_date": pd.to_datetime(["2026-03-10"] * 20 + ["2026-04-10"] * 20),
            "is_won": [True] * 10 + [False] * 10 + [True] * 15 + [False] * 5,
        }
    )
    pick = propensity.stratified_sample(closed, 20, random_state=0)
    got = closed.iloc[np.sort(pick)].groupby([closed["close_date"].dt.month, "is_won"]).size().to_dict()
    assert got == {(3, False): 5, (3, True): 5, (4, False): 3, (4, True): 7}
    assert len(set(pick)) == len(pick)
    assert np.array_equal(pick, propensity.stratified_sample(closed, 20, random_state=0))  # deterministic


def test_effect_lookup_matches_categories_interpolates_numbers_and_handles_missing() -> None:
    table = {"grid": np.array([0.0, 10.0]), "value": np.array([1.0, 3.0]), "missing": -1.0}
    got = explanations._effect(table, np.array([0.0, 5.0, 20.0, np.nan]), categorical=False)
    assert got.tolist() == [1.0, 2.0, 3.0, -1.0]  # between grid points: linear; beyond: the last value
    cats = {"grid": np.array([0.0, 2.0]), "value": np.array([0.5, 0.7]), "missing": 0.1}
    got = explanations._effect(cats, np.array([2.0, 1.0, np.nan]), categorical=True)
    assert got.tolist() == [0.7, 0.1, 0.1]  # an unseen category counts as missing


def test_large_history_trains_on_a_sample_and_says_so(small_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "MAX_TRAIN_ROWS", 400)
    with store.write(small_store) as con:
        out = propensity.train_and_score(con, scope=OPERATOR)
        closed = int(con.execute("SELECT count(*) FROM deals WHERE is_closed AND close_date IS NOT NULL").fetchone()[0])
        card = propensity.card(con)
    assert closed > 400
    assert card is not None and card["metrics"]["data"]["closed_deals"] == closed
    assert card["metrics"]["data"]["sampled_deals"] == 400
    assert f"Trained on 400 of {closed:,} closed deals" in out["message"] and out["n_train"] + out["n_test"] == 400


def test_rescoring_replaces_a_version_in_place(small_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """...and scikit-learn's Parallel runs only in the scoring thread (the reasons are written in another one, from
    an encoding made before): its catch_warnings is not thread-safe, and the reasons' encoding running beside the
    prediction could reorder or empty the process's warning filters (then every later Parallel warned
    "`sklearn.utils.parallel.delayed` should be used with `sklearn.utils.parallel.Parallel`")."""
    threads: set[str] = set()
    call = sklearn_parallel.Parallel.__call__

    def spy(self: Any, iterable: Any) -> Any:
        threads.add(threading.current_thread().name)
        return call(self, iterable)

    monkeypatch.setattr(sklearn_parallel.Parallel, "__call__", spy)
    with store.write(small_store) as con:
        version = q.active_version(con)
        propensity.rescore(con, scope=OPERATOR)
        propensity.rescore(con, scope=OPERATOR)
        n, distinct = con.execute(
            "SELECT count(*), count(DISTINCT account_id) FROM scores WHERE model_version = ?", [version]
        ).fetchone()
    assert n == distinct == 600
    assert threads == {threading.current_thread().name}


def test_inputs_read_through_arrow_have_query_dfs_values_and_dtypes() -> None:
    """load_accounts/load_deals bring text over by Arrow and the rest by DuckDB: the frame query_df would make,
    nulls of every type included."""
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE t AS SELECT * FROM (VALUES
               (1::BIGINT, TRUE, 1.5::DOUBLE, 'a', DATE '2024-01-01', 3::INTEGER, 1.25::DECIMAL(10, 2), 'x'),
               (NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'ü\n='),
               (2, FALSE, -0.0, '', DATE '1999-12-31', -4, 0, NULL)) v(i, b, d, s, dt, i4, dec, s2)"""
    )
    queries = ["SELECT * FROM t", "SELECT * FROM t WHERE false", "SELECT i, d FROM t", "SELECT s, NULL::TEXT n FROM t"]
    for sql in queries:
        pd.testing.assert_frame_equal(q._frame(con, sql), query_df(con, sql))


def test_big_stores_predict_in_parts_with_the_same_numbers(small_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with store.read(small_store) as con:
        bundle = propensity.registry._loads(q.model_blob(con, q.active_version(con), scope=OPERATOR))
        inputs = training.load_inputs(con, scope=OPERATOR)
    feats = training.account_features(inputs.accounts, inputs.values, bundle.spec)
    X = training.scoring_frame(inputs.accounts, inputs.deals, feats, bundle.spec, inputs.as_of)
    whole = training._predict(bundle.model, X)
    monkeypatch.setattr(training, "BIG_SCORE_ROWS", 10)
    monkeypatch.setattr(training, "QUERY_THREADS", 2)
    assert len(X) > 10 and np.array_equal(training._predict(bundle.model, X), whole)
    # Each thread's scikit-learn Parallel enters and leaves catch_warnings, which swaps the process's one filter
    # list: two threads interleaved once left a thread's temporary filters in place (8 of 20 runs; 12 runs miss
    # that with odds under 1 in 400). The filters are the same after every prediction.
    before = list(warnings.filters)
    for _ in range(12):
        training._predict(bundle.model, X)
        assert warnings.filters == before


@pytest.mark.parametrize("ids", [["b", "a", "c", "a2", "d", "e"], [2, 1, 3, 12, 4, 5]])
def test_ranking_is_by_expected_value_then_propensity_then_account(ids: list[object]) -> None:
    out = pd.DataFrame({"account_id": ids, "propensity": [0.2, 0.2, 0.5, np.nan, 0.1, 0.3],
                        "expected_value": [10.0, 10.0, 10.0, 5.0, 50.0, np.nan]})  # fmt: skip
    order = training._best_first(out)
    want = out.sort_values(["expected_value", "propensity", "account_id"], ascending=[False, False, True])
    assert order.tolist() == want.index.tolist() == [4, 2, 1, 0, 3, 5]


def test_the_score_csv_neutralises_hostile_ids(tmp_path: Path) -> None:
    """`score --out x.csv` writes DuckDB's Arrow result directly: formula cells still get their apostrophe."""
    ids = ['=HYPERLINK("x")', " @SUM(A1)", "\r\n-2+3", "A1", "-5"]
    table = pa.table({"account_id": ids, "rank": list(range(1, 6)), "reasons": ["▲ x", "+y", "ok", "z", "=1"]})
    score_cmd._write_csv(table, tmp_path / "s.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "s.csv").read_bytes().decode("utf-8-sig"), newline="")))
    assert rows[0] == ["account_id", "rank", "reasons"]
    assert [r[0] for r in rows[1:]] == [str(export.neutralise(i)) for i in ids]
    assert [r[0] for r in rows[1:]][:3] == ["'" + i for i in ids[:3]] and rows[5][0] == "-5"
    assert [r[2] for r in rows[1:]] == ["▲ x", "'+y", "ok", "z", "'=1"]


def _flip_newest_outcomes(path: Path) -> None:
    """Turn the newest fifth of closed deals' outcomes around: a model fitted on the older ones then ranks
    the newest worse than a coin toss."""
    with store.write(path) as con:
        con.execute(
            """UPDATE deals SET is_won = NOT is_won WHERE deal_id IN (
                   SELECT deal_id FROM deals WHERE is_closed AND close_date IS NOT NULL
                   ORDER BY close_date DESC LIMIT (SELECT count(*) // 5 FROM deals WHERE is_closed))"""
        )


def test_a_model_worse_than_chance_is_not_used_and_the_good_one_stays(small_store: Path) -> None:
    with store.read(small_store) as con:
        good = q.active_version(con)
    _flip_newest_outcomes(small_store)
    with store.write(small_store) as con:
        out = propensity.train_and_score(con, scope=OPERATOR)
        active = q.active_version(con)
        newest = q.model_record(con, out["model_version"])
        scores = q.active_scores(con, scope=OPERATOR)
    assert out["auc"] is not None and out["auc"] <= 0.5
    assert out["model_rejected"] and not out["model_used"] and out["ranking"] == "previous_model"
    assert active == good == out["active_version"] != out["model_version"]
    assert newest is not None and newest["metrics"]["model_rejected"]
    assert "Model not used" in out["message"] and f"Model version {good} stays active and ranks" in out["message"]
    assert len(scores) == 600  # the good model scored today's accounts again


def test_a_model_worse_than_chance_falls_back_to_the_fit_score(small_store: Path) -> None:
    with store.write(small_store) as con:
        con.execute("DELETE FROM scores")
        con.execute("DELETE FROM models")
    _flip_newest_outcomes(small_store)
    assert cli.main(["--db", str(small_store), "train", "--json"]) == 0
    with store.read(small_store) as con:
        rec = q.model_record(con)
        scores = q.active_scores(con, scope=OPERATOR)
    assert rec is not None and rec["kind"] == "fit_score" and rec["metrics"]["model_rejected"]
    assert "no better than a coin toss" in rec["metrics"]["message"]
    # The rejected model's reasons are not shown: the fit score's parts are (industry, size, revenue).
    assert not scores["reasons"].str.contains("earlier deal|Intent|similar", case=False).any()
    assert scores["reasons"].str.contains("employees|Industry|revenue").any()


def test_train_json_says_what_ranks(small_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _flip_newest_outcomes(small_store)
    with store.write(small_store) as con:
        con.execute("DELETE FROM scores")
        con.execute("DELETE FROM models")
    assert cli.main(["--db", str(small_store), "train", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "fit_score" and out["ranking"] == "fit_score" and out["model_rejected"] is True
    assert out["active_version"] == out["model_version"] and out["model_used"] is False
    assert out["why_no_model"] == "the trained model ranked the newest deals no better than a coin toss"


@pytest.mark.parametrize(
    ("sql", "short", "words"),
    [
        ("UPDATE deals SET is_won = is_closed", "no lost deals", "no deal was lost: all "),
        ("UPDATE deals SET is_won = FALSE", "no won deals", "no deal was won: all "),
        ("DELETE FROM deals", "no closed deals", "there are no closed deals yet"),
        ("DELETE FROM deals WHERE deal_id NOT IN (SELECT min(deal_id) FROM deals WHERE is_closed)",
         "no lost deals|no won deals", "the one closed deal was"),
        ("DELETE FROM deals WHERE deal_id NOT IN (SELECT deal_id FROM deals WHERE is_closed ORDER BY deal_id "
         "LIMIT 30)", "too few closed deals", "there are only 30 closed deals ("),
    ],
)  # fmt: skip
def test_the_card_names_the_real_reason_for_no_model(small_store: Path, sql: str, short: str, words: str) -> None:
    with store.write(small_store) as con:
        con.execute(sql)
        out = propensity.train_and_score(con, scope=OPERATOR)
    assert out["kind"] == "fit_score" and out["why_no_model"] in short.split("|")
    assert words in out["message"] and "Only" not in out["message"]
    assert "closed deals (" not in out["message"] or "lost)" in out["message"]


def test_the_fit_score_is_no_probability_and_gives_no_reasons_when_all_fit_the_same(small_store: Path) -> None:
    with store.write(small_store) as con:
        con.execute("DELETE FROM deals")
        propensity.train_and_score(con, scope=OPERATOR)
        scores = q.active_scores(con, scope=OPERATOR)
    # Every account fits the same without deals: the same score, no "raises it" or "lowers it".
    assert scores["propensity"].nunique() == 1 and scores["propensity"].iloc[0] == pytest.approx(0.5)
    assert (scores["reasons"] == "").all()
    # Ranked by potential then (the fit is the same), not by a made-up rate.
    assert scores["potential"].is_monotonic_decreasing


def test_the_auc_comes_with_its_interval_over_the_test_deals() -> None:
    """A model tested on 28 deals at AUC 0.59 ranked the Targets page as if proven: its 95% interval spans chance.
    The interval is a bootstrap over the won and the lost test deals; it narrows with more deals."""
    from planner.propensity.evaluation import auc_interval, evaluate

    rng = np.random.default_rng(3)
    y_small = np.array([1] * 11 + [0] * 17)
    p_small = rng.random(28) + 0.1 * y_small
    small = evaluate(y_small, p_small)
    lo, hi = small["auc_interval"]
    assert lo <= small["auc"] <= hi and lo < 0.5 < hi and hi - lo > 0.3
    y_big = rng.random(4000) < 0.3
    big = evaluate(y_big, rng.random(4000) + 0.5 * y_big)
    lo_big, hi_big = big["auc_interval"]
    assert 0.5 < lo_big <= big["auc"] <= hi_big and hi_big - lo_big < 0.05
    assert auc_interval(np.ones(5), rng.random(5)) is None  # one class: no AUC, no interval


def test_a_model_not_yet_shown_better_than_chance_is_called_tentative(
    small_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["--db", str(small_store), "train", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    lo, hi = out["auc_interval"]
    assert lo <= out["auc"] <= hi and "tentative" not in out["message"]
    from planner.propensity import evaluation

    monkeypatch.setattr(evaluation, "auc_interval", lambda y, p, seed=0: [0.41, 0.83])
    assert cli.main(["--db", str(small_store), "train"]) == 0
    printed = capsys.readouterr().out
    assert "(95% interval 0.410-0.830)" in printed
    assert "the AUC's 95% interval is 0.41-0.83: the model is not yet shown to rank better than chance" in printed


def test_custom_field_values_in_reasons_are_written_as_people_write_them() -> None:
    """Targets' reasons read 'potential 4.274e+05' for a custom number."""
    from planner.propensity.explanations import _plain

    assert [_plain(x) for x in (427_400.0, 1_234_567.8, 12.5, 0.0031, -2_500.0)] == [
        "427,400", "1,234,568", "12.5", "0.0031", "-2,500"]  # fmt: skip
