"""Writes check the caller's role below the UI: imports and demo rebuilds are for admins,
saving scenarios for admins and leaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner import demo, ingest, store
from planner.errors import Forbidden
from planner.scope import Scope

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
LEADER = Scope(role="leader", user="lee@example.com")
REP = Scope(role="rep", rep_id="R001", user="rep@example.com")


def test_only_admins_import(small_store: Path) -> None:
    before = store.fingerprint(small_store)
    for who in (LEADER, REP):
        with pytest.raises(Forbidden, match="needs the admin role"):
            ingest.import_files(small_store, [SAMPLES / "hubspot_companies.csv"], scope=who)
        with pytest.raises(Forbidden, match="needs the admin role"):
            ingest.place_accounts(small_store, [], scope=who)
    assert store.fingerprint(small_store) == before


def test_only_admins_rebuild_the_demo(small_store: Path) -> None:
    with pytest.raises(Forbidden, match="needs the admin role"):
        demo.build_store(small_store, 100, 2, force=True, scope=LEADER)


def test_reps_cannot_save_scenarios(small_store: Path) -> None:
    from planner import scenarios

    with pytest.raises(Forbidden, match="admin or leader"):
        scenarios.save(small_store, "mine", None, "rep@example.com", scope=REP)  # type: ignore[arg-type]


def test_only_admins_and_leaders_train_or_edit_potential(small_store: Path) -> None:
    from planner import potential, propensity

    with store.write(small_store) as con:
        with pytest.raises(Forbidden, match="admin or leader"):
            propensity.train_and_score(con, scope=REP)
        with pytest.raises(Forbidden, match="admin or leader"):
            propensity.activate_version(con, 1, scope=REP)
        with pytest.raises(Forbidden, match="admin or leader"):
            potential.update_setting(con, "*", price_per_user=1.0, scope=REP)
        with pytest.raises(Forbidden, match="admin or leader"):
            potential.reset_setting(con, "*", scope=REP)
