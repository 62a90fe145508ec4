"""AppTest of the Rebalance page on the small demo store: run, result vs bounds, save, commit, restore."""

from __future__ import annotations

import json
from pathlib import Path

from planner import optimize, scenarios, store
from planner.scope import OPERATOR
from tests.helpers import errors, page


def frame_with(at: object, column: str) -> object:
    """The first st.dataframe showing `column` (read-only frames carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)  # type: ignore[attr-defined]


def metrics(at: object) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}  # type: ignore[attr-defined]


def test_page_runs_the_optimizer_and_shows_the_bounds(app_store: Path) -> None:
    at = page("rebalance")
    assert errors(at) == []
    assert any("run the optimizer" in str(i.value) for i in at.info)
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    with store.read(app_store) as con:
        expected = scenarios.run(con, optimize.Options(), scope=OPERATOR).summary
    got = metrics(at)
    assert got["Max / mean"] == f"{expected['max_mean_after']:.2f}"
    assert got["Lower bound"] == f"{expected['lower_bound']:.2f}"
    assert got["Moved"] == f"{expected['moved_accounts']:,} accounts"
    assert got["Mean travel"] == f"{expected['travel_km_after']:,.1f} km"
    # On the small store balance needs more travel than today's: the page says so with both figures.
    warnings = [str(w.value) for w in at.warning]
    assert any(f"{expected['travel_km_today']:,.1f} km today" in w for w in warnings), warnings
    assert any(c.value.startswith("Capacity is") for c in at.caption)
    assert len(at.get("deck_gl_json_chart")) == 2  # before and after maps
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["name"] for t in spec["data"]] == ["Before", "After"]
    moves = frame_with(at, "reason")
    assert len(moves) == expected["moved_accounts"] + expected["assigned_unowned"]


def test_page_saves_commits_and_restores(app_store: Path) -> None:
    at = page("rebalance")
    at.selectbox(key="rb_metric").set_value("accounts").run()
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    assert at.query_params["metric"] in ("accounts", ["accounts"])
    at.text_input(key="rb_name").input("Even accounts")
    at.button(key="FormSubmitter:rb_save_form-Save scenario").click().run()
    assert errors(at) == []
    with store.read(app_store) as con:
        saved = scenarios.list_scenarios(con, scope=OPERATOR)
        before = store.query_df(con, "SELECT account_id, owner_rep_id FROM accounts ORDER BY 1")
    assert list(saved["name"]) == ["Even accounts"]
    at.button(key="rb_commit").click().run()
    assert errors(at) == []
    assert any("Committed scenario" in str(s.value) for s in at.success)
    with store.read(app_store) as con:
        after = store.query_df(con, "SELECT account_id, owner_rep_id FROM accounts ORDER BY 1")
        assert scenarios.list_scenarios(con, scope=OPERATOR)["status"].item() == "committed"
    assert not before.equals(after)
    at.button(key="rb_restore").click().run()
    assert errors(at) == []
    with store.read(app_store) as con:
        restored = store.query_df(con, "SELECT account_id, owner_rep_id FROM accounts ORDER BY 1")
    assert restored.equals(before)


def test_page_what_if_remove_a_rep(app_store: Path) -> None:
    at = page("rebalance")
    at.multiselect(key="rb_remove").set_value(["R001"]).run()
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    table = frame_with(at, "moved_in")
    assert table["label"].str.contains("(leaves)", regex=False).sum() == 1
    assert any("owner leaves the team" in r for r in frame_with(at, "reason")["reason"])


def test_page_capacity_curve(app_store: Path) -> None:
    at = page("rebalance")
    at.slider(key="rb_team_sizes").set_value((5, 7)).run()
    at.button(key="rb_curve_btn").click().run()
    assert errors(at) == []
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    curve = [c for c in charts if len(c["data"]) == 3]
    assert curve and list(curve[0]["data"][0]["x"]) == [5, 6, 7]
