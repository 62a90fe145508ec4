"""AppTest of the Territory plan page on the small demo store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from planner import plan, store
from planner.scope import OPERATOR
from planner.store import plans as q
from tests.helpers import errors, page


def _open(rep: str | None = "R001", **params: str):  # type: ignore[no-untyped-def]
    at = page("overview")
    for key, value in params.items():
        at.query_params[key] = value
    if rep:
        at.sidebar.selectbox(key="sb_rep").set_value(rep).run()
    at.switch_page("pages/plan.py")
    at.run()
    return at


def test_plan_page_asks_for_a_rep(app_store: Path) -> None:
    at = _open(rep=None)
    assert errors(at) == []
    assert any("Pick a rep" in str(i.value) for i in at.info)


def test_plan_page_shows_the_draft_plan(app_store: Path) -> None:
    at = _open()
    assert errors(at) == []
    with store.read(app_store) as con:
        expected = plan.load(con, scope=OPERATOR, rep_id="R001")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Targets"] == "20" == f"{expected.kpis['targets']}"
    assert metrics["Pipeline coverage"] == f"{expected.kpis['coverage']:.0%}"
    assert len(at.get("plotly_chart")) == 2
    timeline = at.get("plotly_chart")[0].proto.spec
    assert "Every touch" in timeline
    assert len(at.get("download_button")) == 5
    assert "draft" in at.caption[0].value or any("draft" in c.value for c in at.caption)


def test_plan_page_edit_remove_and_save(app_store: Path) -> None:
    at = _open(start="2026-09-07")
    assert errors(at) == []
    assert at.query_params["start"] in ("2026-09-07", ["2026-09-07"])
    # Plan vs actual has numbers for a start in the past.
    with store.read(app_store) as con:
        summary = plan.actual_summary(plan.load(con, scope=OPERATOR, rep_id="R001", start=date(2026, 9, 7)))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Touched"] == f"{summary['touched']} / {summary['targets']}"
    assert metrics["Met"] == str(summary["met"])
    assert metrics["Opportunities"] == str(summary["opportunities"])
    assert metrics["To drop"] == str(summary["drop"])
    at.number_input(key="plan_rule_n_targets").set_value(5).run()
    at.button(key="plan_reset").click().run()
    assert errors(at) == []
    assert {m.label: m.value for m in at.metric}["Targets"] == "5"
    at.button(key="plan_save").click().run()
    assert errors(at) == []
    with store.read(app_store) as con:
        plan_id = q.plan_id_for(con, "R001", date(2026, 9, 7))
        assert plan_id is not None
        saved = q.plan_targets(con, plan_id)
        assert len(saved) == 5
        assert q.count_rows(con, "offers") > 0


def test_plan_page_shows_targets_added_elsewhere(app_store: Path) -> None:
    at = _open(rep="R002")
    assert errors(at) == []
    with store.write(app_store) as con:
        plan_id = q.current_plan_id(con, "R002")
        account = con.execute("SELECT account_id FROM accounts WHERE owner_rep_id = 'R002' LIMIT 1").fetchone()[0]
        con.execute(
            "INSERT INTO plan_targets (plan_id, account_id, position, rationale, status) "
            "VALUES (?, ?, 1, 'x', 'planned')",
            [plan_id, account],
        )
    at.run()
    assert errors(at) == []
    assert {m.label: m.value for m in at.metric}["Targets"] == "1"
    assert any(f"saved plan #{plan_id}" in c.value for c in at.caption)
