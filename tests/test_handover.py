"""A leaver's book: the CRM files of a scenario committed keeping later changes hold what the commit wrote; balance
--remove-rep / --successor / --lock by name; the leaver's accounts counted apart; hires based anywhere in the world."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from planner import cli, geo, store
from planner.errors import BadInput
from planner.optimize import lock_ids, lock_lines
from planner.scope import OPERATOR
from tests.test_commit_merge import import_owners, owners, save_today


def book(path: Path) -> pd.DataFrame:
    with store.read(path) as con:
        return store.query_df(
            con,
            "SELECT a.account_id, a.owner_rep_id, r.name FROM accounts a LEFT JOIN reps r ON r.rep_id = a.owner_rep_id",
        )


def test_files_of_a_commit_keeping_later_changes_hold_what_it_wrote(small_store: Path) -> None:
    from planner import scenarios

    sid = save_today(small_store)
    later = import_owners(small_store, sid)
    before = owners(small_store)
    detail = scenarios.commit(small_store, sid, "boss", scope=OPERATOR, keep_later=True)
    after = owners(small_store)
    wrote = {a for a in after if after[a] != before[a]}
    assert detail["accounts_changed"] == len(wrote) > 0
    with store.read(small_store) as con:
        sf = scenarios.crm_file(con, sid, "salesforce", scope=OPERATOR).table
        plain = scenarios.crm_file(con, sid, "plain", scope=OPERATOR).table
        mv = scenarios.moves_report(con, sid, scope=OPERATOR)
    assert len(sf) == len(mv) == len(wrote)  # the scenario as computed moves more (the later changes' accounts)
    assert set(mv["account_id"]) == wrote and not set(later) & set(mv["account_id"])
    names = book(small_store).set_index("account_id")["name"]
    assert (plain["owner"].to_numpy() == names.reindex(plain["account_id"]).fillna("").to_numpy()).all()
    assert "keeping 5 later owner changes" in mv.attrs["basis"]


def test_a_draft_keeps_its_computed_moves(small_store: Path) -> None:
    from planner import scenarios

    sid = save_today(small_store)
    with store.read(small_store) as con:
        mv = scenarios.moves_report(con, sid, scope=OPERATOR)
    assert mv.attrs["basis"] == "" and len(mv) > 0


def accounts_frame() -> pd.DataFrame:
    return pd.DataFrame({"account_id": ["a1", "a2", "a3"], "name": ["Fischer Bau KG", "Müller AG", "Müller AG"],
                         "city": ["Kiel", "Köln", "Bonn"]})  # fmt: skip


def test_lock_takes_an_id_or_a_name() -> None:
    assert lock_ids(accounts_frame(), ["a2", "fischer bau kg "]) == ("a2", "a1")
    with pytest.raises(BadInput, match=r"'Müller AG' names 2 accounts \(Müller AG \(Köln\), Müller AG \(Bonn\)\)"):
        lock_ids(accounts_frame(), ["Müller AG"])
    with pytest.raises(BadInput, match="no account has this id or name"):
        lock_ids(accounts_frame(), ["Nobody GmbH"])


def leaver(path: Path) -> tuple[str, str, str]:
    """The rep with the most accounts (the leaver), by name, and another rep (the successor), by name, and the
    leaver's id."""
    b = book(path)
    counts = b["name"].value_counts()
    return str(counts.index[0]), str(counts.index[1]), str(b.loc[b["name"] == counts.index[0], "owner_rep_id"].iloc[0])


def test_successor_takes_the_leavers_book_and_nothing_else_moves(small_store: Path, capsys) -> None:
    gone, heir, gone_id = leaver(small_store)
    before = book(small_store)
    assert cli.main(["--db", str(small_store), "balance", "--remove-rep", gone, "--successor", heir, "--commit",
                     "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    after = book(small_store).set_index("account_id")
    theirs = before["owner_rep_id"] == gone_id
    assert (after.loc[before.loc[theirs, "account_id"], "name"] == heir).all()
    others = before[~theirs].set_index("account_id")["owner_rep_id"]
    assert after.loc[others.index, "owner_rep_id"].equals(others)
    assert out["owner_leaves"] == int(theirs.sum()) and out["committed"]["owner_leaves"] == int(theirs.sum())
    assert out["committed"]["moved"] == 0


def test_remove_rep_moves_only_the_leavers_book_and_counts_it_apart(small_store: Path, capsys) -> None:
    gone, _, gone_id = leaver(small_store)
    before = book(small_store).set_index("account_id")["owner_rep_id"]
    assert (
        cli.main(
            ["--db", str(small_store), "balance", "--remove-rep", gone, "--out", str(small_store.parent / "o.csv")]
        )
        == 0
    )
    text = capsys.readouterr().out
    n = int((before == gone_id).sum())
    assert f"moved     0 accounts to another rep and gave {n:,} accounts a new owner because their owner leaves" in text
    out = pd.read_csv(small_store.parent / "o.csv")
    moved = out[out["moved"]]
    assert len(moved) == n and (moved["previous_owner"] == gone).all()


def test_a_budget_below_the_leavers_share_says_so(small_store: Path, capsys) -> None:
    gone, _, _ = leaver(small_store)
    assert cli.main(["--db", str(small_store), "balance", "--remove-rep", gone, "--max-moved", "0.01"]) == 0
    text = capsys.readouterr().out
    assert "whose owner leaves the team hold" in text and "over the moved budget of 1.0%" in text
    assert "hold accounts of several owners" not in text


def test_hires_can_be_based_anywhere_in_the_world() -> None:
    labels = set(geo.hire_cities()["label"])
    assert {"Bremen, DE", "Hamburg, DE", "Tokyo, JP", "São Paulo, BR", "London, GB", "London, CA",
            "Boston, MA, US"} <= labels  # fmt: skip
    assert geo.hire_cities()["label"].is_unique


def test_the_page_locks_accounts_by_name_too(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's 'Lock accounts' box took ids only (a book imported without CRM ids has none to type): a line is
    an id list or one account's name, commas and all, and the optimizer reads names as the CLI does."""
    from tests.helpers import errors, page
    from tests.test_page_rebalance import record

    assert lock_lines("001A, 001B\nAcme, Inc.\n\n  Beta GmbH ") == ("001A", "001B", "Acme, Inc.", "Beta GmbH")
    with store.read(app_store) as con:
        named = con.execute(
            "SELECT account_id, name FROM accounts WHERE name IN (SELECT name FROM accounts GROUP BY name "
            "HAVING count(*) = 1) AND owner_rep_id IS NOT NULL ORDER BY account_id LIMIT 1"
        ).fetchone()
    calls = record(monkeypatch, "run")
    at = page("rebalance")
    at.text_area(key="rb_locks").input(named[1].upper()).run()
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    row = calls[-1][1].assignments.set_index("account_id").loc[named[0]]
    assert row["reason"] == "locked" and row["owner"] == row["previous_owner"]
    at.text_area(key="rb_locks").input("No Such Account Ltd").run()
    at.button(key="rb_run").click().run()
    assert "'No Such Account Ltd': no account has this id or name" in " ".join(str(e.value) for e in at.error)


def test_the_page_hands_a_leavers_book_to_a_successor(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's 'Remove reps' could only share a leaver's book out: 'Their accounts go to' names a successor who
    takes all of it, and no other account moves (as balance --remove-rep --successor)."""
    from tests.helpers import errors, page
    from tests.test_page_rebalance import record

    calls = record(monkeypatch, "run")
    at = page("rebalance")
    assert at.selectbox(key="rb_successor").disabled  # no one leaves: no one to take over
    at.multiselect(key="rb_remove").set_value(["R001"]).run()
    at.selectbox(key="rb_successor").set_value("R002").run()
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    opts, result = calls[-1]
    assert (opts.remove_reps, opts.successor) == (("R001",), "R002")
    a = result.assignments
    theirs = a["previous_owner"] == "R001"
    assert theirs.any() and (a.loc[theirs, "owner"] == "R002").all()
    assert (a.loc[~theirs, "owner"].fillna("") == a.loc[~theirs, "previous_owner"].fillna("")).all()
