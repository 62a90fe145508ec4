"""A commit applies exactly the scenario the page shows, and never silently undoes owner changes made since it was
computed (explore-F items 2 and 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner import cli, optimize, scenarios, store
from planner.errors import BadInput
from planner.scope import OPERATOR
from tests.helpers import errors, page


def owners(path: Path) -> dict[str, str | None]:
    with store.read(path) as con:
        df = store.query_df(con, "SELECT account_id, owner_rep_id FROM accounts ORDER BY 1")
    return dict(zip(df["account_id"], df["owner_rep_id"], strict=True))


def save_today(path: Path, name: str) -> int:
    with store.read(path) as con:
        result = scenarios.run(con, optimize.Options(), scope=OPERATOR)
    return scenarios.save(path, name, result, "lead@example.com", scope=OPERATOR)


def move_owners(path: Path, sid: int, n: int) -> list[str]:
    """What a nightly CRM import of `account_id,owner` does: give `n` accounts a rep that is neither their owner
    when scenario `sid` was computed nor the one it gives them; returns their ids."""
    with store.write(path) as con:
        rows = store.query_df(
            con,
            """SELECT x.account_id, (SELECT min(r.rep_id) FROM reps r WHERE r.rep_id IS DISTINCT FROM x.previous_rep_id
                                       AND r.rep_id IS DISTINCT FROM x.rep_id) AS other
               FROM scenario_assignments x WHERE x.scenario_id = ? ORDER BY x.account_id LIMIT ?""",
            [sid, n],
        )
        for account, rep in zip(rows["account_id"], rows["other"], strict=True):
            con.execute("UPDATE accounts SET owner_rep_id = ? WHERE account_id = ?", [rep, account])
    return list(rows["account_id"])


def status(path: Path, sid: int) -> str:
    with store.read(path) as con:
        return str(store.scalar(con, "SELECT status FROM scenarios WHERE scenario_id = ?", [sid]))


def test_a_commit_refuses_a_scenario_whose_accounts_changed_owner_since(small_store: Path) -> None:
    sid = save_today(small_store, "Before the import")
    moved = move_owners(small_store, sid, 5)
    imported = owners(small_store)
    with store.read(small_store) as con:
        kept_versions = len(scenarios.versions(con, scope=OPERATOR))
    with pytest.raises(BadInput, match=rf"^5 accounts have changed owner since scenario #{sid} \(Before the import\)"):
        scenarios.commit(small_store, sid, "boss@example.com", scope=OPERATOR)
    # Nothing was written: the imported owners stand, the scenario is still a draft, no version was kept.
    assert owners(small_store) == imported and len(moved) == 5
    assert status(small_store, sid) == "draft"
    with store.read(small_store) as con:
        assert len(scenarios.versions(con, scope=OPERATOR)) == kept_versions
    # A scenario computed on today's book commits as before.
    fresh = save_today(small_store, "After the import")
    detail = scenarios.commit(small_store, fresh, "boss@example.com", scope=OPERATOR)
    assert detail["scenario_id"] == fresh and status(small_store, fresh) == "committed"


def test_one_changed_account_is_said_in_the_singular(small_store: Path) -> None:
    sid = save_today(small_store, "One")
    move_owners(small_store, sid, 1)
    with pytest.raises(BadInput, match=r"^1 account has changed owner since scenario #\d+ \(One\).*run the optimizer"):
        scenarios.commit(small_store, sid, "boss@example.com", scope=OPERATOR)


def test_committing_twice_or_after_a_restore_still_works(small_store: Path) -> None:
    sid = save_today(small_store, "Round trip")
    detail = scenarios.commit(small_store, sid, "boss@example.com", scope=OPERATOR)
    assert detail["accounts_changed"] > 0
    # Every account is where the scenario puts it: committing again touches nothing, so nothing is undone.
    assert scenarios.commit(small_store, sid, "boss@example.com", scope=OPERATOR)["accounts_changed"] == 0
    # Owners back to what the scenario was computed from: nothing changed since, so the commit goes through.
    scenarios.restore(small_store, detail["previous_version"], "boss@example.com", scope=OPERATOR)
    again = scenarios.commit(small_store, sid, "boss@example.com", scope=OPERATOR)
    assert again["accounts_changed"] == detail["accounts_changed"]


def test_cli_commit_still_commits_what_it_just_computed(small_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--db", str(small_store), "balance", "--commit", "--by", "ops"]) == 0
    assert "committed scenario" in capsys.readouterr().out


def _pick(at: object) -> object:
    return next(s for s in at.selectbox if s.label == "Scenario to export or commit")  # type: ignore[attr-defined]


def _save_on_page(name: str) -> object:
    at = page("rebalance")
    at.multiselect(key="rb_metric").set_value(["accounts"]).run()
    at.button(key="rb_run").click().run()
    at.text_input(key="rb_name").input(name)
    at.button(key="FormSubmitter:rb_save_form-Save scenario").click().run()
    assert errors(at) == []
    return at


@pytest.mark.parametrize("earlier", ["draft", "committed"])
def test_after_save_the_page_shows_and_commits_the_saved_scenario(app_store: Path, earlier: str) -> None:
    other = save_today(app_store, "Someone else's")  # the newest scenario when the page opens
    if earlier == "committed":
        scenarios.commit(app_store, other, "boss@example.com", scope=OPERATOR)
    at = _save_on_page("Mine")
    with store.read(app_store) as con:
        listed = scenarios.list_scenarios(con, scope=OPERATOR)
    mine = int(listed.loc[listed["name"] == "Mine", "scenario_id"].item())
    pick = _pick(at)
    assert pick.value == mine and pick.options[pick.index] == f"#{mine} Mine (draft)"  # type: ignore[attr-defined]
    button = at.button(key="rb_commit")  # there even when the one picked before was committed
    assert f"#{mine}" in button.label
    button.click().run()
    assert errors(at) == []
    assert any(f"Committed scenario #{mine} (Mine)" in str(s.value) for s in at.success)
    assert status(app_store, mine) == "committed" and status(app_store, other) == earlier


def test_the_page_refuses_a_stale_commit_in_one_line(app_store: Path) -> None:
    at = _save_on_page("Stale")
    move_owners(app_store, 1, 5)
    imported = owners(app_store)
    at.button(key="rb_commit").click().run()
    assert [e for e in errors(at) if "changed owner since scenario" in e] == errors(at)
    assert len(errors(at)) == 1 and "5 accounts have changed owner" in errors(at)[0]
    assert owners(app_store) == imported
