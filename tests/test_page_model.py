"""AppTest of the Model page: the card's numbers, retrain and roll back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import store
from planner.scope import Scope
from planner.store import scores as q
from tests.helpers import errors, page


def test_model_card_shows_the_stored_metrics(app_store: Path) -> None:
    at = page("model")
    assert errors(at) == []
    with store.read(app_store) as con:
        rec = q.model_record(con)
    assert rec is not None
    m = rec["metrics"]
    metrics = {x.label: x.value for x in at.metric}
    assert metrics["AUC"] == f"{m['auc']:.3f}"
    assert metrics["Top-decile lift"] == f"{m['lift_top_decile']:.2f}"
    assert metrics["Fit score AUC"] == f"{m['baselines']['fit_score']['auc']:.3f}"
    assert metrics["Intent AUC"] == f"{m['baselines']['intent_only']['auc']:.3f}"
    assert metrics["Ceiling AUC"] == f"{m['ceiling_auc']:.3f}"
    assert metrics["Accounts"] == "600"
    charts = at.get("plotly_chart")
    specs = [json.loads(c.proto.spec) for c in charts]
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert any("Calibration" in t for t in titles) and any("Permutation importance" in t for t in titles)
    frames = [d.value for d in at.dataframe]
    excluded = next(f for f in frames if "reason" in f.columns)
    assert excluded["name"].str.contains("account_type").any()


def test_retrain_then_roll_back(app_store: Path) -> None:
    at = page("model")
    with store.read(app_store) as con:
        first = q.active_version(con)
    at.button(key="md_retrain").click().run()
    assert errors(at) == []
    with store.read(app_store) as con:
        second = q.active_version(con)
    assert second is not None and first is not None and second > first
    assert any(f"version {second}" in str(s.value) for s in at.success)
    assert at.selectbox(key="md_version").options == [str(first)]
    at.selectbox(key="md_version").set_value(first)
    at.button(key="md_activate").click().run()
    assert errors(at) == []
    with store.read(app_store) as con:
        assert q.active_version(con) == first


def test_a_rep_sees_the_card_but_cannot_retrain(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import auth

    monkeypatch.setattr(auth, "current", lambda: Scope(role="rep", rep_id="R001", user="ava@example.com"))
    at = page("model")
    assert errors(at) == []
    assert "AUC" in {m.label for m in at.metric}
    assert not [b for b in at.button if b.key in ("md_retrain", "md_activate", "md_save_potential")]
    # How good the ranking is, not the whole book's size, its segments' counts or who trained it.
    assert not {m.label for m in at.metric} & {"Accounts", "Closed deals", "Train / test deals"}
    columns = {c for df in at.dataframe for c in df.value.columns}
    assert not columns & {"created_by", "n_train", "n_test", "accounts"}, columns
    active = next(str(c.value) for c in at.caption if str(c.value).startswith("Active:"))
    assert " by " not in active
    with store.read(app_store) as con:
        n_accounts = con.execute("SELECT count(*) FROM accounts").fetchone()[0]
    assert f"{n_accounts:,}" not in " ".join(str(x.value) for x in [*at.info, *at.warning])


def _train(path: Path, *sql: str) -> dict:
    from planner import propensity
    from planner.scope import OPERATOR

    with store.write(path) as con:
        for s in sql:
            con.execute(s)
        return propensity.train_and_score(con, scope=OPERATOR)


def test_the_card_names_the_real_reason_for_no_model(app_store: Path) -> None:
    _train(app_store, "UPDATE deals SET is_won = is_closed")  # an export of customers: every deal won
    at = page("model")
    assert errors(at) == []
    assert any("fit score, no model (no lost deals)" in str(c.value) for c in at.caption)
    warned = " ".join(str(w.value) for w in at.warning)
    assert "no deal was lost" in warned and "Only" not in warned and "fit, not a probability" in warned


def test_a_model_no_better_than_chance_is_said_to_be_unused(app_store: Path) -> None:
    with store.read(app_store) as con:
        good = q.active_version(con)
    flip = """UPDATE deals SET is_won = NOT is_won WHERE deal_id IN (
                  SELECT deal_id FROM deals WHERE is_closed ORDER BY close_date DESC
                  LIMIT (SELECT count(*) // 5 FROM deals WHERE is_closed))"""
    out = _train(app_store, flip)
    at = page("model")
    assert errors(at) == []
    assert any(f"version {good} ·" in str(c.value) for c in at.caption)  # the good model stays active
    warned = " ".join(str(w.value) for w in at.warning)
    assert f"Version {out['model_version']}" in warned and "is not used" in warned and "coin toss" in warned
    # Without a good model to keep, the fit score ranks, and the page says the model was not used.
    _train(app_store, "DELETE FROM scores", "DELETE FROM models")
    at = page("model")
    assert any("no model (the trained model ranked" in str(c.value) for c in at.caption)
    assert "AUC (model not used)" in {m.label for m in at.metric}


def test_potential_settings_say_the_default_price_is_in_dollars_in_a_yen_store(app_store: Path) -> None:
    """A yen store showed the dollar default as '¥600 per user' with no word; the settings now say so."""
    from planner.scope import OPERATOR
    from planner.store import world as world_q

    with store.write(app_store) as con:
        con.execute("UPDATE potential_settings SET learned = false")
        world_q.set_currency(con, "JPY", scope=OPERATOR)
    at = page("model")
    assert errors(at) == []
    shown = [i.value.replace("\\", "") for i in at.info]
    assert any("is a US-dollar figure, shown here in JPY without conversion" in t for t in shown), shown
    assert any("Set the price per user in JPY" in t and t.endswith("(`potential learn`).") for t in shown), shown
