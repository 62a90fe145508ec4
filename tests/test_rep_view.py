"""What a rep signed in sees: their own figures and no comparison of one territory with itself, no internal
territory ids, one plain word when nothing is assigned to them yet; and progress text that names what really
scores the accounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner import ingest, propensity, store
from planner.scope import OPERATOR, Scope
from planner.store import scores
from tests.helpers import AVA, app_as, errors, kpis, metrics, page_text, sidebar_text

LIAM = "liam.cohen@example.com"  # rep R002 of the small store
NOTHING_YET = "No accounts are assigned to you yet"


def _chart_keys(at: object) -> list[str]:
    return [c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")]  # type: ignore[attr-defined]


def test_a_reps_coverage_shows_their_own_figures_and_no_comparison(app_store: Path) -> None:
    """The page said a rep has no comparison, then drew a one-bar chart, a Lorenz curve (Gini 0.00) and a
    one-bubble quota scatter: now the rep's potential, quota and their ratio, and where their potential stands."""
    at = app_as(AVA, page="coverage")
    assert errors(at) == []
    assert _chart_keys(at) == ["cov_status"]
    text = page_text(at)
    assert "How unbalanced" not in text and "Gini" not in text and "Lorenz" not in text
    shown = metrics(at)
    assert {"Potential", "Quota", "Potential / quota", "Workload / capacity"} <= set(shown)
    own = kpis(app_store, Scope(role="rep", rep_id="R001", user=AVA))
    assert own["potential"] > 0 and shown["Potential"] != "–" and shown["Quota"] != "–"
    leader = app_as("boss@example.com", page="coverage")
    assert {"cov_bars", "cov_lorenz", "cov_scatter", "cov_status"} <= set(_chart_keys(leader))


def _nothing_for_liam(path: Path) -> None:
    """Liam Cohen (R002) keeps his seat and owns nothing: his accounts and deals go to Ava Garcia."""
    with store.write(path) as con:
        con.execute("UPDATE accounts SET owner_rep_id = 'R001' WHERE owner_rep_id = 'R002'")
        con.execute("UPDATE deals SET owner_rep_id = 'R001' WHERE owner_rep_id = 'R002'")


@pytest.mark.parametrize("path", [None, "coverage", "targets", "plan"])
def test_a_rep_with_no_accounts_is_told_so_once_on_every_page(app_store: Path, path: str | None) -> None:
    """A rep with nothing assigned saw four charts blaming the data ('every territory is at 0: no account has an
    employee count'), a map of nothing and a plan 'with no targets yet'; now one plain note with the next step."""
    _nothing_for_liam(app_store)
    at = app_as(LIAM, page=path)
    assert errors(at) == [] and [str(e.value) for e in at.exception] == []
    notes = [str(i.value) for i in at.info if NOTHING_YET in str(i.value)]
    assert len(notes) == 1 and "sales leader" in notes[0], [str(i.value) for i in at.info]
    assert at.get("plotly_chart") == [] and at.get("deck_gl_json_chart") == []
    assert at.metric == [] and at.dataframe == []
    assert "No potential to show" not in page_text(at)
    # A rep with accounts is not told so.
    assert not any(NOTHING_YET in str(i.value) for i in app_as(AVA, page=path).info)


def test_a_reps_overview_says_one_thing_and_customers_help_says_what_counts(app_store: Path) -> None:
    at = app_as(AVA)
    assert errors(at) == []
    text = page_text(at)
    assert "the comparison below shows every territory" not in text
    assert "shown to sales leaders" in text
    customers = next(m for m in at.metric if m.label == "Customers")
    assert "won deal" in str(customers.help)
    # A leader who picks a territory is told the comparison below shows every territory, and gets it.
    leader = app_as("boss@example.com", query={"rep": "R002"})
    assert "the comparison below shows every territory" in page_text(leader)
    assert _chart_keys(leader) == ["ov_potential_chart"]


def test_the_sidebar_names_the_reps_territory_by_name_never_by_id(app_store: Path) -> None:
    at = app_as(AVA)
    said = sidebar_text(at)
    assert "territory of Ava Garcia" in said and "R001" not in said
    # A leader's link naming another territory: not its id, nor whose it is.
    at = app_as(AVA, query={"rep": "R003"})
    warning = str(at.sidebar.warning[0].value)
    assert "another territory" in warning and "R003" not in warning and "Maya" not in warning
    assert "R00" not in sidebar_text(at)


def test_import_progress_and_report_name_the_fit_score_when_no_model_is_used(small_store: Path,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    """`planner train` said no model is used (too little history: the accounts are ranked by the transparent
    fit score) while an import said 'Scoring 600 accounts with model version 2'; now it names the fit score."""
    with store.write(small_store) as con:
        store.set_meta(con, "is_demo", "0")
        con.execute("DELETE FROM deals")
    propensity.train(small_store, scope=OPERATOR, created_by="test")
    with store.read(small_store) as con:
        assert scores.model_record(con)["kind"] == "fit_score"  # type: ignore[index]
    changed = tmp_path / "accounts.csv"
    with store.read(small_store) as con:
        some = store.query_df(con, "SELECT account_id, name FROM accounts ORDER BY account_id LIMIT 1")
    changed.write_text(f"Account ID,Account Name,Employees\n{some.account_id[0]},{some.name[0]},4321\n")
    seen: list[str] = []
    report = ingest.import_files(small_store, [changed], scope=OPERATOR, after=propensity.score_new_accounts,
                                 progress=lambda f, m: seen.append(m))  # fmt: skip
    said = [m for m in seen if "cor" in m] + [n for n in report.notes if "scored" in n]
    assert any("Scoring 600 accounts by the transparent fit score" in m for m in seen), seen
    assert any("scored again by the transparent fit score" in n for n in report.notes), report.notes
    assert not any("model version" in m for m in said), said
