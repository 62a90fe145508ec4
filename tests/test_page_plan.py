"""AppTest of the Territory plan page on the small demo store."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from planner import plan, store
from planner.scope import OPERATOR, Scope
from planner.store import plans as q
from tests.helpers import AVA, app_as, errors, page, page_text, shown_cells


def _open(rep: str | None = "R001", **params: str):  # type: ignore[no-untyped-def]
    """The plan page opened by a link naming the rep and the page's parameters."""
    return page("plan", query={**({"rep": rep} if rep else {}), **params})


def _shown(at) -> str:  # type: ignore[no-untyped-def]
    """Every text the page shows and every table cell (flags show as check boxes, so left out)."""
    parts: list[str] = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    hidden = ["suggested_offer_id", "start_week_choice", "_auto_start_week", "_auto_rationale"]  # the editor's
    for df in at.dataframe:
        shown = df.value.drop(columns=[c for c in hidden if c in df.value.columns]).select_dtypes(exclude="bool")
        parts.append(shown_cells(shown).to_csv(index=False))
    parts += [str(o) for box in at.selectbox for o in box.options]
    return "\n".join(parts)


def test_plan_page_asks_for_a_rep(app_store: Path) -> None:
    at = _open(rep=None)
    assert errors(at) == []
    assert any("Pick a rep" in str(i.value) for i in at.info)


def test_a_link_naming_no_rep_says_so_on_the_plan_page(app_store: Path) -> None:
    """The Plan page stops at "Pick a rep" when the link's rep is unknown; the sidebar still says what the link
    asked for that was ignored, and still offers the link to this view (a stopped page keeps its sidebar)."""
    at = app_as("boss@example.com", page="plan", query={"rep": "NOBODY"})
    assert errors(at) == []
    assert any("Pick a rep" in str(i.value) for i in at.info)
    notes = [str(i.value) for i in at.sidebar.info if "Ignored from this link" in str(i.value)]
    assert len(notes) == 1 and "rep=NOBODY" in notes[0]
    assert any("Link to this view" in str(c.value) for c in at.sidebar.caption)


def test_plan_page_shows_the_draft_plan(app_store: Path) -> None:
    at = _open()
    assert errors(at) == []
    today = date.today()
    with store.read(app_store) as con:
        expected = plan.load(con, scope=OPERATOR, rep_id="R001", today=today)
    assert expected.start > today and expected.start == at.date_input(key="plan_start").value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Targets"] == "20" == f"{expected.kpis['targets']}"
    assert metrics["Pipeline coverage"] == f"{expected.kpis['coverage']:.0%}"
    assert len(at.get("plotly_chart")) == 2
    assert "Every touch" in at.get("plotly_chart")[0].proto.spec
    assert len(at.get("download_button")) == 5
    assert any("draft" in c.value for c in at.caption)
    assert any("Working days: Mon-Fri" in c.value for c in at.caption)
    assert "company quota" in page_text(at)  # an admin (local mode) sees the company figures
    shown = _shown(at)
    assert re.findall(r"\b(?:None|NaT|nan|True|False)\b|00:00:00", shown) == []


def test_plan_page_edit_remove_and_save(app_store: Path) -> None:
    at = _open(start="2026-09-07")
    assert errors(at) == []
    assert at.query_params["start"] in ("2026-09-07", ["2026-09-07"])
    # Plan vs actual has numbers for a start in the past.
    with store.read(app_store) as con:
        summary = plan.actual_summary(
            plan.load(con, scope=OPERATOR, rep_id="R001", start=date(2026, 9, 7), today=date.today())
        )
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
        plan_id = q.plan_id_for(con, scope=OPERATOR, rep_id="R001", period_start=date(2026, 9, 7))
        assert plan_id is not None
        saved = q.plan_targets(con, scope=OPERATOR, plan_id=plan_id)
        assert len(saved) == 5
        assert q.count_rows(con, "offers") > 0
    # The saved plan's pill reads as a date, not a timestamp.
    assert "Mon 7 Sep 2026 · 6 weeks · 5 targets" in at.get("button_group")[0].proto.SerializeToString().decode(
        "utf-8", "ignore"
    )


def test_plan_page_shows_targets_added_elsewhere(app_store: Path) -> None:
    at = _open(rep="R002")
    assert errors(at) == []
    with store.write(app_store) as con:
        plan_id = plan.current_plan_id(con, scope=OPERATOR, rep_id="R002", today=date.today())
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


def test_a_rep_sees_their_plan_without_company_figures(app_store: Path) -> None:
    at = app_as(AVA, page="plan")
    assert errors(at) == []
    text = _shown(at)
    assert "Ava Garcia" in text and "company quota" not in text.lower()
    with store.read(app_store) as con:
        rows = con.execute("SELECT name, owner_rep_id FROM accounts").fetchall()
        mine = plan.load(con, scope=Scope(role="rep", rep_id="R001"), rep_id="R001", today=date.today())
    own = [n for n, o in rows if o == "R001"]
    assert all(n in text for n in mine.targets["name"])
    assert [n for n, o in rows if o != "R001" and n in text and not any(n in m for m in own)] == []
