"""The demo world: deterministic, realistic, uneven, learnable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree
from sklearn.metrics import roc_auc_score

from planner import demo, store
from planner.coverage import report
from planner.errors import BadInput
from planner.scope import OPERATOR


@pytest.fixture(scope="module")
def world() -> demo.World:
    return demo.build_world(3000, 10, seed=11)


def test_same_seed_same_world() -> None:
    a = demo.build_world(300, 4, seed=5)
    b = demo.build_world(300, 4, seed=5)
    assert a.accounts.equals(b.accounts)
    assert a.deals.equals(b.deals)
    assert not a.accounts.equals(demo.build_world(300, 4, seed=6).accounts)


def test_accounts_sit_at_real_zips_weighted_to_metros(world: demo.World) -> None:
    from planner import geo

    zips = set(geo.zip_gazetteer()["postal_code"])
    assert world.accounts["postal_code"].isin(zips).all()
    top_states = world.accounts["state"].value_counts().head(4).index
    assert {"CA", "TX", "NY"} & set(top_states)
    assert world.accounts["account_id"].is_unique


def test_fields_are_in_realistic_ranges(world: demo.World) -> None:
    a = world.accounts
    assert a["employees"].between(3, 250_000).all()
    assert a["intent_score"].between(0, 100).all()
    assert 0.03 < a["new_executive"].mean() < 0.2
    d = world.deals
    closed = d[d["is_closed"]]
    assert 0.15 < closed["is_won"].mean() < 0.55
    assert (~d["is_closed"]).sum() > 0
    assert (d["close_date"] >= d["created_date"]).all()
    span = (d["created_date"].max() - d["created_date"].min()).days
    assert span > 600


def test_outcomes_are_learnable_but_noisy(world: demo.World) -> None:
    closed = world.deals[world.deals["is_closed"]].merge(world.truth, on="account_id")
    auc = roc_auc_score(closed["is_won"], closed["p_true"])
    assert 0.68 < auc < 0.95
    intent = closed.merge(world.accounts[["account_id", "intent_score"]], on="account_id")
    assert roc_auc_score(intent["is_won"], intent["intent_score"]) > 0.55


def test_territories_are_geographic_uneven_with_named_exceptions(world: demo.World) -> None:
    a = world.accounts
    pot = a["employees"] * 100.0
    by_rep = pot.groupby(a["owner_rep_id"]).sum()
    assert by_rep.max() / by_rep.min() > 3
    # Mostly one owner per state, with exceptions (named accounts).
    per_state = (
        a.dropna(subset=["owner_rep_id"])
        .groupby("state")["owner_rep_id"]
        .agg(lambda s: s.value_counts().iloc[0] / len(s))
    )
    assert per_state.median() > 0.9
    assert (per_state < 1).any()
    assert a["owner_rep_id"].isna().mean() < 0.05


def test_build_store_5000_accounts(demo_store_template: Path, tmp_path: Path) -> None:
    # Its speed (under 10 s) is measured by bench/run.py and the README, not by a timed test. The default demo
    # (5,000 accounts, 12 reps, seed 7) is built once per run (conftest); what build_store returned is beside it.
    counts = json.loads(demo_store_template.with_name(f"{demo_store_template.name}.counts.json").read_text())
    assert counts["accounts"] == 5000 and counts["reps"] == 12
    shutil.copyfile(demo_store_template, tmp_path / "d.duckdb")
    with store.read(tmp_path / "d.duckdb") as con:
        ov = report.overview(con, scope=OPERATOR)
    assert ov["kpis"]["accounts"] == 5000
    assert ov["imbalance"]["potential"]["max_mean"] > 1.3


def test_store_with_imported_data_is_not_overwritten(small_store: Path) -> None:
    with store.write(small_store) as con:
        store.set_meta(con, "is_demo", "0")
    with pytest.raises(BadInput, match="--force"):
        demo.build_store(small_store, 100, 2, scope=OPERATOR)
    demo.build_store(small_store, 100, 2, force=True, scope=OPERATOR)


def test_rejects_tiny_worlds() -> None:
    with pytest.raises(ValueError, match="at least 10 accounts"):
        demo.build_world(5, 1)


def test_potential_is_employees_times_share_times_price(small_store: Path) -> None:
    with store.read(small_store) as con:
        row = con.execute(
            """SELECT a.employees, p.adoption_share, p.price_per_user, p.est_users, p.potential
               FROM accounts a JOIN account_potential p USING (account_id) LIMIT 1"""
        ).fetchone()
    employees, share, price, users, pot = row
    assert users == np.round(employees * share)
    assert pot == pytest.approx(users * price)


def test_regional_territories_are_compact_comparable_books() -> None:
    # The benchmarks' big worlds: with many reps, whole states leave most reps nearly empty and one rep
    # many times a fair share; regions give every rep a drifted but comparable book near one place.
    def books(w: demo.World) -> tuple[float, int]:
        a = w.accounts
        adoption = a["industry"].map(dict(zip(demo.INDUSTRIES["industry"], demo.INDUSTRIES["adoption"], strict=True)))
        by_rep = (a["employees"] * adoption).groupby(a["owner_rep_id"]).sum()
        return by_rep.max() / by_rep.mean(), len(by_rep)

    w = demo.build_world(3000, 40, seed=11, territories="regions")
    ratio, owners = books(w)
    assert owners == 40 and 1.1 < ratio < 3  # 2.3 (a few named accounts weigh in 75-account books)
    assert books(demo.build_world(3000, 40, seed=11))[0] > 4  # 4.3: whole states to 40 reps
    a = w.accounts.dropna(subset=["owner_rep_id"])
    _, nn = cKDTree(a[["lat", "lon"]].to_numpy()).query(a[["lat", "lon"]].to_numpy(), k=2)
    owner = a["owner_rep_id"].to_numpy()
    assert (owner == owner[nn[:, 1]]).mean() > 0.8  # an account's nearest neighbour mostly shares its rep
    with pytest.raises(ValueError, match="territories 'zip' is unknown"):
        demo.build_world(300, 4, territories="zip")
