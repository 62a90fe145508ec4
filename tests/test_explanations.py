"""Reasons with a direction (#16 point 2): every reason says whether it raised or lowered the score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from planner import store
from planner.propensity import explanations, registry
from planner.propensity.features import account_features, scoring_frame
from planner.propensity.training import load_inputs
from planner.scope import OPERATOR
from planner.store import scores as q


def _bundle_and_features(path: Path) -> tuple[object, pd.DataFrame, pd.DataFrame]:
    with store.read(path) as con:
        bundle = registry._loads(q.model_blob(con, q.active_version(con), scope=OPERATOR))
        inputs = load_inputs(con, scope=OPERATOR)
        scored = q.active_scores(con, scope=OPERATOR)
    feats = account_features(inputs.accounts, inputs.values, bundle.spec)
    X = scoring_frame(inputs.accounts, inputs.deals, feats, bundle.spec, inputs.as_of)
    X.index = feats.index
    return bundle, X, scored


def test_a_top_ranked_account_is_explained_by_what_raised_it(small_store: Path) -> None:
    bundle, X, scored = _bundle_and_features(small_store)
    best = str(scored.iloc[0]["account_id"])  # rank 1 of the store
    one = X.loc[[best]]
    contrib = explanations.contributions(bundle, one).iloc[0]
    text = explanations.reasons(bundle, one, currency="USD")[0]
    assert text == scored.iloc[0]["reasons"], "the stored reason is the one explained here"
    items = text.split("; ")
    ups = [i for i in items if i.startswith("▲ ")]
    downs = [i for i in items if i.startswith("▼ ")]
    assert ups and len(ups) + len(downs) == len(items), f"every reason has a direction: {text!r}"
    assert items[: len(ups)] == ups, "what raised the score comes first"
    assert all(d.endswith(" (lowers the score)") for d in downs), "a negative says so (it once read 'despite ...')"
    # Each reason's direction is the sign of its driver's effect, strongest raisers first; a driver much weaker than
    # the account's strongest is no reason.
    floor = max(explanations.MIN_EFFECT, explanations.SHARE_OF_TOP * contrib.abs().max())
    raising = contrib[contrib >= floor].sort_values(ascending=False)
    expected = [explanations._phrases(g, one, bundle, currency="USD").iloc[0] for g in raising.index[:3]]
    assert [u.removeprefix("▲ ") for u in ups] == expected
    lowering = contrib[contrib <= -floor].sort_values()
    for d, g in zip(downs, lowering.index, strict=False):
        phrase = explanations._phrases(g, one, bundle, currency="USD").iloc[0]
        assert d.removeprefix("▼ ").removesuffix(explanations.LOWERED) == phrase


def test_every_reason_of_every_account_points_one_way(small_store: Path) -> None:
    bundle, X, _ = _bundle_and_features(small_store)
    contrib = explanations.contributions(bundle, X)
    order, direction = explanations.drivers(contrib)
    picked = np.take_along_axis(contrib.to_numpy(), order, axis=1)
    assert (picked[direction == 1] > explanations.MIN_EFFECT).all()
    assert (picked[direction == -1] < -explanations.MIN_EFFECT).all()
    texts = explanations.reasons(bundle, X, currency="USD")
    for text, dirs in zip(texts, direction, strict=True):
        items = text.split("; ")
        if not (dirs != 0).any():
            assert text == "Close to a typical account on every driver"
            continue
        assert [("▲" if i.startswith("▲") else "▼") for i in items] == ["▲" if d == 1 else "▼" for d in dirs if d]
        assert all(i.endswith(" (lowers the score)") for i in items if i.startswith("▼"))


def test_a_negative_never_reads_as_a_reason_to_call() -> None:
    contrib = pd.DataFrame({"a": [0.5, -0.3, 0.01], "b": [-0.4, -0.5, 0.0], "c": [0.15, 0.0, -0.01]})
    order, direction = explanations.drivers(contrib, top=3)
    assert order.tolist()[0] == [0, 2, 1] and direction.tolist()[0] == [1, 1, -1]
    assert direction.tolist()[1] == [-1, -1, 0] and order.tolist()[1][:2] == [1, 0]
    assert direction.tolist()[2] == [0, 0, 0]
    # A driver under a quarter of the account's strongest is no reason (noise beside a real driver).
    weak = explanations.drivers(pd.DataFrame({"a": [2.0], "b": [0.45], "c": [-0.3]}), top=3)
    assert weak[0].tolist()[0][0] == 0 and weak[1].tolist() == [[1, 0, 0]]


def _active_reasons(path: Path) -> pd.DataFrame:
    with store.read(path) as con:
        return store.query_df(
            con, "SELECT a.account_id, a.industry, s.reasons FROM scores s JOIN accounts a USING (account_id) "
            "WHERE s.model_version = (SELECT max(model_version) FROM models WHERE active) ORDER BY 1")  # fmt: skip


def test_reasons_write_money_in_the_stores_currency_whoever_scores(small_store: Path) -> None:
    """A EUR store's stored reasons read 'Annual revenue $166.3M': training, rescoring and the import hook
    write reasons outside any page, with the default dollars. The store's currency is an input of the reasons."""
    from planner import cli
    from planner.store import world as world_q

    with store.write(small_store) as con:
        world_q.set_currency(con, "EUR", scope=OPERATOR)
    assert cli.main(["--db", str(small_store), "train"]) == 0
    revenue = _active_reasons(small_store)["reasons"].str.extract(r"(Annual revenue \S+)")[0].dropna()
    assert len(revenue) > 10 and revenue.str.startswith("Annual revenue €").all(), revenue.head().tolist()
    with store.write(small_store) as con:  # a rescore in a run that never named a currency
        world_q.set_currency(con, "CHF", scope=OPERATOR)
        registry.rescore(con, scope=OPERATOR)
    revenue = _active_reasons(small_store)["reasons"].str.extract(r"(Annual revenue \S+ \S+)")[0].dropna()
    assert len(revenue) > 10 and revenue.str.startswith("Annual revenue CHF ").all(), revenue.head().tolist()


def test_an_industry_reads_up_or_down_as_its_win_rate_compares_with_the_books(small_store: Path) -> None:
    """Every account was judged against the most common industry: the best industry read '▼ despite industry
    Technology: 64% of deals won' and the most common one never appeared. An industry is now judged against the
    book's mix, and its reason's direction is never against the rates it quotes."""
    bundle, X, _ = _bundle_and_features(small_store)
    rates, book = bundle.reference["industry_rates"], bundle.fit.base_rate_
    common = bundle.reference["typical"]["industry"]
    assert rates[common] > book  # (the small demo's most common industry wins more often than the book)
    shown = _active_reasons(small_store)
    found = shown["reasons"].str.extract(
        r"(▲|▼)[^;▲▼]*?ndustry ([^:;]+): (\d+)% of the company's deals won \([\d,]+ of [\d,]+\), (\d+)% overall"
    )
    found = found.dropna()
    assert len(found) > 50
    up = found[0] == "▲"
    rate, overall = found[2].astype(int), found[3].astype(int)
    assert (rate[up] > overall[up]).all() and (rate[~up] < overall[~up]).all()
    assert (overall == round(book * 100)).all()
    assert ((found[1] == common) & up).any(), "the most common industry raises scores too"


def test_an_industry_effect_against_its_win_rate_is_no_reason(small_store: Path) -> None:
    bundle, X, _ = _bundle_and_features(small_store)
    rates, book = bundle.reference["industry_rates"], bundle.fit.base_rate_
    best = max(rates, key=rates.get)
    worst = min(rates, key=rates.get)
    assert rates[best] > book > rates[worst]
    one = X[X["industry"].isin([best, worst])].groupby("industry").head(1)
    contrib = pd.DataFrame({"industry": np.where(one["industry"] == best, -0.5, 0.5), "employees": 0.1},
                           index=one.index)  # fmt: skip
    kept = explanations._agreeing(bundle, one, contrib)
    assert (kept["industry"] == 0).all() and (kept["employees"] == 0.1).all()
    assert (explanations._agreeing(bundle, one, -contrib)["industry"] == -contrib["industry"]).all()
