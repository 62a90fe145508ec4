"""Committing a scenario whose accounts changed owner since it was computed, keeping the later changes: only its own
moves are written, the later changes stay (a conflict keeps today's owner), and the leader sees what that does to
balance (page, CLI, audit log)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from planner import cli, optimize, roles, scenarios, store
from planner.errors import BadInput, Forbidden
from planner.scope import OPERATOR, Scope
from tests.helpers import app_as, errors, page

BOSS = "boss@example.com"


def owners(path: Path) -> dict[str, str | None]:
    with store.read(path) as con:
        df = store.query_df(con, "SELECT account_id, owner_rep_id FROM accounts ORDER BY 1")
    return dict(zip(df["account_id"], df["owner_rep_id"], strict=True))


def save_today(path: Path, name: str = "Signed off") -> int:
    with store.read(path) as con:
        result = scenarios.run(con, optimize.Options(), scope=OPERATOR)
    return scenarios.save(path, name, result, "lead@example.com", scope=OPERATOR)


def scenario_rows(path: Path, sid: int) -> dict[str, tuple[str | None, str | None]]:
    """account -> (owner the scenario was computed from, the scenario's owner)."""
    with store.read(path) as con:
        df = store.query_df(
            con, "SELECT account_id, previous_rep_id, rep_id FROM scenario_assignments WHERE scenario_id = ?", [sid]
        )
    return {a: (p, r) for a, p, r in zip(df["account_id"], df["previous_rep_id"], df["rep_id"], strict=True)}


def import_owners(path: Path, sid: int, moved: int = 3, unmoved: int = 2) -> dict[str, str]:
    """What a CRM import does after the scenario was saved: `moved` accounts the scenario moves and `unmoved` ones it
    leaves get a rep that is neither their owner then nor the scenario's; returns account -> new owner."""
    rows = scenario_rows(path, sid)
    with store.read(path) as con:
        reps = sorted(store.query_df(con, "SELECT rep_id FROM reps")["rep_id"])
    moves = sorted(a for a, (p, r) in rows.items() if p is not None and r is not None and p != r)[:moved]
    stays = sorted(a for a, (p, r) in rows.items() if p is not None and p == r)[:unmoved]
    assert len(moves) == moved and len(stays) == unmoved
    new = {a: next(x for x in reps if x not in rows[a]) for a in moves + stays}
    with store.write(path) as con:
        for account, rep in new.items():
            con.execute("UPDATE accounts SET owner_rep_id = ? WHERE account_id = ?", [rep, account])
    return new


def test_a_stale_commit_is_refused_naming_the_merge(small_store: Path) -> None:
    sid = save_today(small_store)
    import_owners(small_store, sid)
    imported = owners(small_store)
    with pytest.raises(BadInput, match=r"^5 accounts have changed owner since .*Commit, keeping later changes.*"
                       r"--keep-later.*run the optimizer again"):  # fmt: skip
        scenarios.commit(small_store, sid, BOSS, scope=OPERATOR)
    assert owners(small_store) == imported


def test_keep_later_applies_the_scenarios_moves_and_keeps_the_later_changes(small_store: Path) -> None:
    sid = save_today(small_store)
    rows = scenario_rows(small_store, sid)
    imported_now = import_owners(small_store, sid)
    imported = owners(small_store)
    with store.read(small_store) as con:
        plan = scenarios.merge_plan(con, sid, scope=OPERATOR)
    assert (plan["later_changes_kept"], plan["conflicts_kept_today"]) == (5, 3)
    assert list(plan["table"]["conflict"]) == [True, True, True, False, False]  # conflicts first
    assert set(plan["table"]["account_id"]) == set(imported_now)

    detail = scenarios.commit(small_store, sid, BOSS, scope=OPERATOR, keep_later=True)
    after = owners(small_store)
    for account, (_, scenario_owner) in rows.items():
        # A later change stays (conflict or not); every other account is where the scenario puts it.
        assert after[account] == imported_now.get(account, scenario_owner), account
    moves = sum(p != r for p, r in rows.values())
    assert detail["accounts_changed"] == moves - 3 == plan["moves_applied"]
    assert detail["keep_later"] is True
    assert (detail["later_changes_kept"], detail["conflicts_kept_today"]) == (5, 3)
    # What the merge does to balance: the scenario's own max/mean next to the merged one, per balanced metric.
    assert [b["metric"] for b in detail["balance"]] == ["potential"]
    own, merged = detail["balance"][0]["scenario_max_mean"], detail["balance"][0]["merged_max_mean"]
    assert own == pytest.approx(plan["balance"]["scenario_max_mean"].iloc[0])
    assert merged == pytest.approx(plan["balance"]["merged_max_mean"].iloc[0]) and merged != pytest.approx(own)
    with store.read(small_store) as con:
        log = scenarios.history(con, scope=OPERATOR)
        status = store.scalar(con, "SELECT status FROM scenarios WHERE scenario_id = ?", [sid])
    logged = json.loads(log["detail"].iloc[0])
    assert log["action"].iloc[0] == "scenario.commit" and status == "committed"
    assert (logged["later_changes_kept"], logged["conflicts_kept_today"], logged["keep_later"]) == (5, 3, True)
    assert logged["balance"] == detail["balance"]
    # Undoable: the version kept first is the imported assignment.
    scenarios.restore(small_store, detail["previous_version"], BOSS, scope=OPERATOR)
    assert owners(small_store) == imported


def test_a_fresh_scenario_commits_the_same_either_way(small_store: Path) -> None:
    sid = save_today(small_store)
    rows = scenario_rows(small_store, sid)
    detail = scenarios.commit(small_store, sid, BOSS, scope=OPERATOR, keep_later=True)
    assert (detail["later_changes_kept"], detail["conflicts_kept_today"]) == (0, 0)
    assert owners(small_store) == {a: r for a, (_, r) in rows.items()}
    plain = scenarios.commit(small_store, save_today(small_store, "Again"), BOSS, scope=OPERATOR)
    assert (plain["keep_later"], plain["later_changes_kept"], plain["conflicts_kept_today"]) == (False, 0, 0)


@pytest.mark.parametrize("who", [Scope(role="rep", rep_id="R001", user="rep@example.com"),
                                 Scope(role="leader", user="lead@example.com")])  # fmt: skip
def test_only_an_admin_commits_keeping_later_changes(small_store: Path, who: Scope) -> None:
    sid = save_today(small_store)
    import_owners(small_store, sid)
    imported = owners(small_store)
    with pytest.raises(Forbidden, match="ask an admin"):
        scenarios.commit(small_store, sid, who.user, scope=who, keep_later=True)
    assert owners(small_store) == imported
    with store.read(small_store) as con:
        assert store.scalar(con, "SELECT status FROM scenarios WHERE scenario_id = ?", [sid]) == "draft"
        if who.is_rep:  # the conflict itself is the whole book's: a rep does not see it
            with pytest.raises(Forbidden):
                scenarios.merge_plan(con, sid, scope=who)


def _save_on_page() -> Any:
    at = page("rebalance")
    at.button(key="rb_run").click().run()
    at.text_input(key="rb_name").input("Signed off")
    at.button(key="FormSubmitter:rb_save_form-Save scenario").click().run()
    assert errors(at) == []
    return at


def test_the_page_shows_the_conflict_and_commits_keeping_later_changes(app_store: Path) -> None:
    at = _save_on_page()
    assert not [b for b in at.button if b.key == "rb_commit_keep"]  # nothing changed since: no merge offered
    rows = scenario_rows(app_store, 1)
    imported_now = import_owners(app_store, 1)
    at.run()
    warning = [str(w.value) for w in at.warning if "changed owner" in str(w.value)]
    assert warning and "5 accounts have changed owner" in warning[0] and "3 of them" in warning[0]
    table = next(d.value for d in at.dataframe if "today_owner" in d.value.columns)
    assert list(table.columns) == ["account_id", "account_name", "owner_when_computed", "scenario_owner",
                                   "today_owner", "conflict"]  # fmt: skip
    assert set(table["account_id"]) == set(imported_now) and int(table["conflict"].sum()) == 3
    assert "Later changes (CSV)" in [str(b.proto.label) for b in at.get("download_button")]
    at.button(key="rb_commit_keep").click().run()
    assert errors(at) == []
    done = [str(s.value) for s in at.success if "Committed scenario #1" in str(s.value)]
    assert done and "keeping 5 later owner changes (3 conflicts resolved to today's owner)" in done[0]
    assert any("Balance after the merge" in str(c.value) and "Potential" in str(c.value) for c in at.caption)
    after = owners(app_store)
    assert all(after[a] == imported_now.get(a, r) for a, (_, r) in rows.items())


def test_a_leader_sees_the_conflict_but_no_commit_button(app_store: Path) -> None:
    sid = save_today(app_store)
    import_owners(app_store, sid)
    roles.set_role(app_store, "lead@example.com", "leader", scope=OPERATOR)
    at = app_as("lead@example.com", page="rebalance")
    assert errors(at) == []
    assert any("5 accounts have changed owner" in str(w.value) for w in at.warning)
    assert not [b for b in at.button if b.key in ("rb_commit", "rb_commit_keep")]


def test_cli_commit_keeps_an_import_made_while_it_solved(
    small_store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    solve = optimize.rebalance
    changed: dict[str, str] = {}

    def solve_then_import(acc: Any, reps: Any, *args: Any, **kwargs: Any) -> optimize.Result:
        """The solve, with a CRM import landing before it ends: two accounts get another owner."""
        result = solve(acc, reps, *args, **kwargs)
        before = dict(zip(acc["account_id"], acc["owner_rep_id"], strict=True))
        changed.clear()
        with store.write(small_store) as con:
            for account, owner in list(zip(result.assignments["account_id"], result.assignments["owner"], strict=True))[
                :2
            ]:
                changed[account] = next(r for r in sorted(reps["rep_id"]) if r not in (owner, before[account]))
                con.execute("UPDATE accounts SET owner_rep_id = ? WHERE account_id = ?", [changed[account], account])
        return result

    monkeypatch.setattr(optimize, "rebalance", solve_then_import)
    db = ["--db", str(small_store), "balance", "--commit", "--by", "ops"]
    assert cli.main(db) == 2
    assert "--keep-later" in capsys.readouterr().err
    assert cli.main([*db, "--keep-later", "--json"]) == 0
    committed = json.loads(capsys.readouterr().out)["committed"]
    assert (committed["later_changes_kept"], committed["keep_later"]) == (2, True)
    assert {"scenario_id", "accounts_changed", "previous_version", "conflicts_kept_today", "balance"} <= set(committed)
    after = owners(small_store)
    assert all(after[a] == r for a, r in changed.items())
    assert cli.main([*db, "--keep-later"]) == 0  # the text report says it too
    text = capsys.readouterr().out
    assert "kept 2 later owner changes" in text and "max/mean" in text and "with the later changes" in text
    assert cli.main(["--db", str(small_store), "balance", "--keep-later"]) == 2
    assert "add --commit" in capsys.readouterr().err


def test_a_removed_rep_who_got_accounts_since_stays_on_the_team(small_store: Path) -> None:
    """An account given since the scenario was computed to a rep it removes kept an inactive owner: it belonged to
    no territory. That rep stays active, and the commit says why; a removed rep left without accounts retires."""
    with store.read(small_store) as con:
        reps = sorted(store.query_df(con, "SELECT rep_id FROM reps")["rep_id"])
        result = scenarios.run(con, optimize.Options(remove_reps=(reps[0], reps[1])), scope=OPERATOR)
    sid = scenarios.save(small_store, "Two fewer", result, "lead@example.com", scope=OPERATOR)
    with store.write(small_store) as con:  # an import since gives one account to the first removed rep
        con.execute("UPDATE accounts SET owner_rep_id = ? WHERE account_id = (SELECT min(account_id) FROM accounts "
                    "WHERE owner_rep_id <> ?)", [reps[0], reps[0]])  # fmt: skip
    detail = scenarios.commit(small_store, sid, BOSS, scope=OPERATOR, keep_later=True)
    with store.read(small_store) as con:
        active = dict(store.query_df(con, "SELECT rep_id, active FROM reps").itertuples(index=False))
        name = store.query_df(con, "SELECT name FROM reps WHERE rep_id = ?", [reps[0]])["name"].iloc[0]
        owned = store.query_df(con, "SELECT count(*) AS n FROM accounts WHERE owner_rep_id = ?", [reps[0]])["n"][0]
    assert owned == 1 and active[reps[0]] and not active[reps[1]]
    assert detail["reps_kept_active"] == {name: 1}
    assert detail["notes"] and name in detail["notes"][0] and "1 account)" in detail["notes"][0]


def test_the_conflict_table_shows_no_name_keys() -> None:
    """Accounts imported without a CRM id are keyed 'name:acme|boston': the later-changes table showed that key as
    the 'Account ID' (and in its CSV); such a cell is blank, and the column goes when no account has an id."""
    from streamlit.testing.v1 import AppTest

    def show(ids: list[str]) -> Any:
        def app(ids: list[str]) -> None:
            import pandas as pd

            from ui import commit

            table = pd.DataFrame({"account_id": ids, "account_name": ["Acme", "Beta"], "owner_when_computed": "Ann",
                                  "scenario_owner": "Bob", "today_owner": "Cy", "conflict": [True, False]})  # fmt: skip
            plan = {"later_changes_kept": 2, "conflicts_kept_today": 1, "moves_applied": 5, "table": table,
                    "balance": pd.DataFrame(), "notes": []}  # fmt: skip
            commit.show_conflict(1, plan, {})

        at = AppTest.from_function(app, args=(ids,)).run()
        assert not at.exception
        return next(d.value for d in at.dataframe if "today_owner" in d.value.columns)

    none = show(["name:acme|boston", "name:beta|paris"])
    assert (
        "account_id" not in none.columns and not none.astype(str).apply(lambda c: c.str.contains("name:")).any().any()
    )
    some = show(["001A", "name:beta|paris"])
    assert list(some["account_id"]) == ["001A", ""]
