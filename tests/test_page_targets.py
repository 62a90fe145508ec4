"""AppTest of the Targets page on the small demo store (scored at build)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from planner import plan, store, targets
from planner.errors import BadInput, Forbidden
from planner.scope import OPERATOR, Scope
from planner.store import plans as plans_q
from tests.helpers import errors, page


def test_targets_page_shows_ranked_accounts(app_store: Path) -> None:
    at = page("targets")
    assert errors(at) == []
    with store.read(app_store) as con:
        expected = targets.targets(con, scope=OPERATOR)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Matching accounts"] == "600" == f"{expected['matches']:,}"
    table = at.dataframe(key="tg_table").value
    assert len(table) == 500  # top 500 of 600 by default
    assert table["rank"].tolist() == list(range(1, 501))
    assert table["account_id"].iloc[0] == expected["rows"]["account_id"].iloc[0]
    assert at.button(key="tg_add").disabled  # no territory chosen, nothing selected
    assert "country" not in table  # a book without countries has no empty Country column


def test_targets_name_each_accounts_country(app_store: Path) -> None:
    """A worldwide book's accounts say their country (a Munich in Bavaria, DE), in the table and its files."""
    with store.read(app_store) as con:
        top = str(targets.targets(con, scope=OPERATOR)["rows"]["account_id"].iloc[0])
    with store.write(app_store) as con:
        con.execute("UPDATE accounts SET country = 'DE', city = 'Munich', state = 'Bavaria' WHERE account_id = ?",
                    [top])  # fmt: skip
    at = page("targets")
    table = at.dataframe(key="tg_table").value.set_index("account_id")
    assert table.loc[top, "country"] == "DE" and table["country"].isna().sum() == len(table) - 1


def test_targets_downloads_never_carry_name_keys(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An account imported without an ID is keyed 'name:...': the table showed its Account ID blank, but the CSV
    and Excel downloads carried the key. They show the table's blank too."""
    from planner import export

    with store.read(app_store) as con:
        top = str(targets.targets(con, scope=OPERATOR)["rows"]["account_id"].iloc[0])
    key = "name:top co|boston united states"
    with store.write(app_store) as con:
        for name in ("accounts", "scores", "deals", "activities", "assignments", "account_attributes"):
            con.execute(f"UPDATE {name} SET account_id = ? WHERE account_id = ?", [key, top])
    seen: list[pd.DataFrame] = []
    real = export.readable  # the one table both files are built from, when clicked
    monkeypatch.setattr(export, "readable", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    at = page("targets")
    assert errors(at) == []
    assert at.dataframe(key="tg_table").value["account_id"].iloc[0] == ""
    (table,) = seen
    assert not table["Account ID"].astype(str).str.startswith("name:").any()
    assert table["Account ID"].iloc[0] == ""


def test_targets_filters_live_in_the_url(app_store: Path) -> None:
    at = page("targets")
    at.sidebar.selectbox(key="sb_rep").set_value("R001").run()
    at.multiselect(key="tg_industry").set_value(["Software"]).run()
    at.number_input(key="tg_minp").set_value(0.3).run()
    assert errors(at) == []
    with store.read(app_store) as con:
        expected = targets.targets(con, scope=OPERATOR, rep_id="R001", industries=("Software",), min_propensity=0.3)
    table = at.dataframe(key="tg_table").value
    assert len(table) == expected["matches"] > 0
    assert set(table["industry"]) == {"Software"} and (table["propensity"] >= 0.3).all()
    assert at.query_params["ind"] in ("Software", ["Software"])
    assert at.query_params["minp"] in ("0.3", ["0.3"])


def test_selected_rows_go_to_the_reps_plan(app_store: Path) -> None:
    at = page("targets")
    at.sidebar.selectbox(key="sb_rep").set_value("R001").run()
    table = at.dataframe(key="tg_table").value
    at.session_state["tg_table"] = {"selection": {"rows": [0, 2], "columns": [], "cells": []}}
    at.run()
    button = at.button(key="tg_add")
    assert not button.disabled and button.label.startswith("Add 2 selected to")
    button.click().run()
    assert errors(at) == []
    with store.read(app_store) as con:
        plan_id = plans_q.current_plan_id(con, scope=OPERATOR, rep_id="R001", create=False, today=date.today())
        assert plan_id is not None
        saved = plans_q.plan_targets(con, scope=OPERATOR, plan_id=plan_id).set_index("account_id")
    # No saved plan before: the draft Plan showed became the plan, the two selected rows in it.
    (said,) = [str(s.value) for s in at.success]
    assert said.startswith("Saved the draft plan of ") and f"as plan {plan_id};" in said
    picked = [table["account_id"].iloc[0], table["account_id"].iloc[2]]
    assert set(picked) <= set(saved.index) and set(saved["status"]) == {"planned"}
    assert saved["position"].tolist() == list(range(1, len(saved) + 1)) and len(saved) > 2


def test_add_to_plan_checks_territory_and_input(small_store: Path) -> None:
    with store.read(small_store) as con:
        mine = targets.targets(con, scope=OPERATOR, rep_id="R001")["rows"]["account_id"].head(2).tolist()
        other = targets.targets(con, scope=OPERATOR, rep_id="R002")["rows"]["account_id"].head(1).tolist()
    with pytest.raises(Forbidden, match="your own plan"):
        targets.add_to_plan(small_store, "R001", mine, scope=Scope(role="rep", rep_id="R002"))
    with pytest.raises(BadInput, match="not in R001's territory"):
        targets.add_to_plan(small_store, "R001", other, scope=OPERATOR)
    with pytest.raises(BadInput, match="select at least one"):
        targets.add_to_plan(small_store, "R001", [], scope=OPERATOR)
    first = targets.add_to_plan(small_store, "R001", mine, scope=OPERATOR)  # the draft (top accounts) saved first
    again = targets.add_to_plan(small_store, "R001", mine, scope=OPERATOR)
    assert first["from_draft"] > 2 and first["already_planned"] == 2
    assert again == {"plan_id": first["plan_id"], "added": 0, "already_planned": 2, "from_draft": 0}
    rep = Scope(role="rep", rep_id="R001", user="r001@example.com")
    with pytest.raises(BadInput, match="not in your territory"):
        targets.add_to_plan(small_store, "R001", other, actor=rep.user, scope=rep)
    with pytest.raises(Forbidden, match="own name"):
        targets.add_to_plan(small_store, "R001", mine, actor="someone.else@example.com", scope=rep)
    with store.read(small_store) as con:
        third = targets.targets(con, scope=rep, rep_id="R001")["rows"]["account_id"].iloc[-1]  # not in the draft
    assert targets.add_to_plan(small_store, "R001", [third], actor=rep.user, scope=rep)["added"] == 1


def test_targets_rejects_bad_filters(small_store: Path) -> None:
    with store.read(small_store) as con:
        with pytest.raises(BadInput, match="size band 'huge'"):
            targets.targets(con, scope=OPERATOR, size="huge")
        with pytest.raises(BadInput, match="minimum propensity 2"):
            targets.targets(con, scope=OPERATOR, min_propensity=2)


def test_a_rep_sees_only_their_own_targets(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import auth

    monkeypatch.setattr(auth, "current", lambda: Scope(role="rep", rep_id="R002", user="rep@example.com"))
    at = page("targets")
    assert errors(at) == []
    with store.read(app_store) as con:
        expected = targets.targets(con, scope=OPERATOR, rep_id="R002")
    table = at.dataframe(key="tg_table").value
    assert len(table) == expected["matches"] > 0
    assert set(table["account_id"]) == set(expected["rows"]["account_id"])
    # Ranked within the rep's territory: no store-wide rank reaches a rep (#17 point 12).
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert expected["rows"]["rank"].max() > len(table), "the store-wide rank would have shown gaps"
    # Every reason says which way it points (#16 point 2).
    for why in table["reasons"]:
        assert all(line.startswith(("▲ ", "▼ ")) or line.startswith("Close to a typical") for line in why.split("\n"))


def test_a_first_import_is_ranked_from_the_targets_page(
    empty_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a first import Targets said 'No scores yet' and sent the user to the Model page; a leader or admin
    now ranks the accounts where the ranking is wanted (the fit score, as there are no deals)."""
    from planner import ingest

    src = tmp_path / "companies.csv"
    src.write_text("Company name,Company owner,Industry,Number of Employees\nA,ann@example.com,Software,500\n"
                   "B,ann@example.com,Retail,40\nC,bo@example.com,Software,90\n")  # fmt: skip
    ingest.import_files(empty_store, [src], scope=OPERATOR)
    monkeypatch.setenv("PLANNER_DB", str(empty_store))
    at = page("targets")
    assert any("No scores yet" in i.value for i in at.info)
    at.button(key="tg_train").click().run(timeout=120)
    assert errors(at) == []
    table = at.dataframe(key="tg_table").value
    assert table["name"].tolist()[0] == "A" and len(table) == 3


def test_a_fit_score_ranking_is_no_model_and_no_probability(app_store: Path) -> None:
    from planner import propensity

    with store.write(app_store) as con:
        con.execute("UPDATE deals SET is_won = is_closed")  # every deal won: no model can be trained
        propensity.train_and_score(con, scope=OPERATOR)
    at = page("targets", query={"rep": "R001"})
    assert errors(at) == []
    caption = " ".join(str(c.value) for c in at.caption)
    assert "ranked by fit score (no model: no lost deals)" in caption and "model version" not in caption
    labels = {m.label: m.value for m in at.metric}
    assert "Mean propensity" not in labels and "Expected value" not in labels
    assert labels["Mean fit score"].endswith("/100")
    table = at.dataframe(key="tg_table").value
    assert "propensity" not in table and "expected_value" not in table
    assert table["fit_score"].between(0, 100).all() and table["fit_score"].nunique() > 1
    assert not [n for n in at.number_input if n.key == "tg_minp"]  # no minimum propensity to filter on


def test_adding_targets_without_a_saved_plan_keeps_the_draft_the_rep_was_shown(small_store: Path) -> None:
    """Plan shows a rep with no saved plan a draft of their top accounts; adding two accounts from Targets made a plan
    of those two alone (the other draft targets gone). Now the draft is saved as the plan and the two join it; a
    refused add saves nothing."""
    rep = Scope(role="rep", rep_id="R001", user="r001@example.com")
    with store.read(small_store) as con:
        draft = plan.load(con, scope=rep, rep_id="R001")
        ranked = targets.targets(con, scope=rep, rep_id="R001")["rows"]["account_id"].tolist()
    shown = draft.targets["account_id"].astype(str).tolist()
    outside = [a for a in ranked if a not in shown][:1]
    assert len(shown) > 2 and outside
    with pytest.raises(Forbidden, match="own name"):
        targets.add_to_plan(small_store, "R001", shown[:2], actor="someone.else@example.com", scope=rep)
    with store.read(small_store) as con:
        assert plan.current_plan_id(con, scope=rep, rep_id="R001", create=False) is None
    done = targets.add_to_plan(small_store, "R001", [shown[0], *outside], actor=rep.user, scope=rep)
    assert done["added"] == 1 and done["already_planned"] == 1
    with store.read(small_store) as con:
        saved = plans_q.plan_targets(con, scope=rep, plan_id=done["plan_id"])["account_id"].astype(str).tolist()
    assert saved == [*shown, *outside]
