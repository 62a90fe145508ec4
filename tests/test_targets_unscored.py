"""Targets before any model was trained: the accounts are listed, ranked by revenue potential, with the downloads."""

from __future__ import annotations

from pathlib import Path

from planner import roles, store, targets
from planner.scope import OPERATOR, Scope
from tests.helpers import AVA, app_as, errors, page_text


def _untrained(path: Path) -> None:
    """The small store as a first import leaves it: no model, no scores."""
    with store.write(path) as con:
        con.execute("DELETE FROM scores")
        con.execute("DELETE FROM models")


def test_a_rep_sees_their_accounts_by_potential_before_any_model(app_store: Path) -> None:
    """Targets showed a rep only 'No scores yet' (no list, no download) until someone trained a model (explore-S
    F6): their own accounts are ranked by potential, said so, with the CSV and Excel and the way to a model."""
    _untrained(app_store)
    at = app_as(AVA, page="targets")
    assert errors(at) == []
    text = page_text(at)
    assert "Ask your sales-ops lead or an admin to train it on the Model page" in text
    assert "ranked by revenue potential" in text and "no model has been trained" in text
    with store.read(app_store) as con:
        mine = targets.targets(con, "R001", limit=1000, scope=Scope(user=AVA, role="rep", rep_id="R001"))
        owned = con.execute("SELECT count(*) FROM accounts WHERE owner_rep_id = 'R001'").fetchone()
    assert mine["model_version"] is None and mine["matches"] == owned[0] > 0
    table = at.dataframe(key="tg_table").value
    assert len(table) == min(500, mine["matches"])
    assert set(table["account_id"]) <= set(mine["rows"]["account_id"])  # the rep's own accounts only
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert table["potential"].is_monotonic_decreasing and table["potential"].nunique() > 1
    assert "propensity" not in table and "expected_value" not in table and "fit_score" not in table
    assert set(table["reasons"]) == {targets.NO_MODEL}  # labelled, never read as a score
    assert [m.label for m in at.metric] == ["Matching accounts", "Potential", "Open deals"]
    labels = [str(b.proto.label) for b in at.get("download_button")]
    assert any("(CSV)" in b for b in labels) and any("(Excel)" in b for b in labels), labels
    assert [p for p in at.get("page_link") if "model" in str(p.proto.page)]
    assert not [b for b in at.button if b.key == "tg_train"]  # a rep cannot train


def test_a_leader_sees_the_list_and_can_rank_it(app_store: Path) -> None:
    _untrained(app_store)
    roles.set_role(app_store, "lead@example.com", "leader", scope=OPERATOR)
    at = app_as("lead@example.com", page="targets")
    assert errors(at) == []
    assert "No scores yet: train the propensity model to rank the accounts" in page_text(at)
    assert at.button(key="tg_train")
    table = at.dataframe(key="tg_table").value
    assert len(table) == 500 and table["rank"].tolist()[:3] == [1, 2, 3]
    assert table["potential"].is_monotonic_decreasing
