"""Weekly CRM re-imports after a committed rebalance, continued: a commit keeps the owner each open deal had before
it, so a deal owned apart from its account merges against its own owner, not the account's; an account the scenario
left without an owner merges like any other owner change (the CRM not caught up keeps it unowned, a third owner is
taken, --owners-from-file gives it back)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from planner import cli, ingest, optimize, scenarios, store
from planner.scope import OPERATOR
from tests.test_import_sync import CRM, REPS, owner_names, write_accounts, write_users
from tests.test_import_sync3 import deal_of, deal_owners, write_deals

FIRST = next(iter(CRM))  # the account the scenario leaves without an owner; its won deal names its CRM owner


def _third(*names: str) -> str:
    return next(n for n, *_ in REPS if n not in names)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Users, accounts and deals imported (an open deal on every account, owned by the account's owner, and one won
    deal), a rebalance computed; then the CRM gives one account the scenario moves a deal owner of its own (`split`:
    neither its owner before nor after the plan), and the scenario, which also leaves FIRST without an owner, is
    committed: (the store, {plan, split, crm_deals, detail})."""
    d = tmp_path_factory.mktemp("sync4")
    db = d / "committed.duckdb"
    store.migrate(db)
    files = [write_users(d / "users.csv", REPS), write_accounts(d / "acc.csv", CRM), write_deals(d / "deals.csv", CRM)]
    ingest.import_files(db, files, scope=OPERATOR)
    opts = optimize.Options(metric="accounts", tolerance=0.1, allow_open_deals=True, allow_customers=True)
    with store.read(db) as con:
        result = scenarios.run(con, opts, scope=OPERATOR)
    a = result.assignments
    names = dict(zip(result.reps["rep_id"], result.reps["name"], strict=True))
    moved = sorted(x for x, m in zip(a["account_id"], a["moved"], strict=True) if m and x != FIRST)
    split = moved[0]
    after = names[a.loc[a["account_id"] == split, "owner"].item()]
    crm_deals = {**CRM, split: _third(CRM[split], after)}
    ingest.import_files(db, [write_deals(d / "deals_split.csv", crm_deals)], scope=OPERATOR)
    a.loc[a["account_id"] == FIRST, ["owner", "moved", "reason"]] = [None, False, "no one covers it"]
    sid = scenarios.save(db, "Even", result, "lead", scope=OPERATOR)
    detail = scenarios.commit(db, sid, "boss", scope=OPERATOR)
    return db, {"plan": owner_names(db), "split": split, "crm_deals": crm_deals, "detail": detail}


@pytest.fixture
def committed(template: tuple[Path, dict[str, Any]], tmp_path: Path,
              store_for_test: Callable[[Path, Path], Path]) -> tuple[Path, dict[str, Any]]:  # fmt: skip
    """A private copy of the template: a file, or a lake under PLANNER_TEST_STORE=lake."""
    return store_for_test(template[0], tmp_path / "store.duckdb"), template[1]


def run_cli(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> dict:
    assert cli.main(["--db", str(db), "import", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)["files"][0]


def test_a_commit_keeps_each_open_deals_owner_before_it(committed: tuple[Path, dict[str, Any]]) -> None:
    db, t = committed
    plan, split = t["plan"], t["split"]
    with store.read(db) as con:
        kept = store.query_df(con, "SELECT deal_id, previous_rep_id, rep_id FROM scenario_deals ORDER BY deal_id")
        rep = dict(store.query_df(con, "SELECT name, rep_id FROM reps").itertuples(index=False))
    before = dict(zip(kept["deal_id"], kept["previous_rep_id"], strict=True))
    # The split deal's own owner before the commit, not its account's.
    assert before[deal_of(split)] == rep[t["crm_deals"][split]] != rep[CRM[split]]
    moved = {deal_of(x) for x in CRM if plan.get(x) != CRM[x]}  # FIRST (unowned now) among them
    assert set(before) == moved and t["detail"]["deals_moved"] == len(moved)
    assert deal_owners(db) == {deal_of(x): plan[x] for x in plan}  # FIRST's open deal lost its owner too


def test_a_deal_owned_apart_from_its_account_is_no_conflict(committed: tuple[Path, dict[str, Any]], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    db, t = committed
    plan, split, crm_deals = t["plan"], t["split"], t["crm_deals"]
    # The CRM has not caught up: the split deal unchanged, one other moved deal given to a third owner.
    changed = next(x for x in sorted(plan) if x != split and plan[x] != CRM[x])
    other = _third(CRM[changed], plan[changed])
    out = run_cli(capsys, db, str(write_deals(tmp_path / "week2.csv", {**crm_deals, changed: other})))
    assert [(c["deal_id"], c["before_plan"], c["plan_owner"], c["file_owner"]) for c in out["owner_conflicts"]] == [
        (deal_of(changed), CRM[changed], plan[changed], other)]  # fmt: skip
    assert out["owners_kept_from_plan"] == t["detail"]["deals_moved"] - 1
    assert deal_owners(db) == {**{deal_of(x): plan[x] for x in plan}, deal_of(changed): other}
    # The account the plan left without an owner keeps none: the won deal does not give it one back.
    assert owner_names(db) == plan and FIRST not in plan


def test_the_split_deal_given_to_its_accounts_old_owner_is_a_third_owner(
    committed: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    db, t = committed
    split = t["split"]
    f = ingest.import_files(db, [write_deals(tmp_path / "w.csv", {**t["crm_deals"], split: CRM[split]})],
                            scope=OPERATOR).files[0]  # fmt: skip
    assert [(c["deal_id"], c["before_plan"], c["file_owner"]) for c in f.owner_conflicts] == [
        (deal_of(split), t["crm_deals"][split], CRM[split])]  # fmt: skip
    assert deal_owners(db)[deal_of(split)] == CRM[split]


def test_a_commit_that_kept_no_deal_owners_merges_on_the_accounts(committed: tuple[Path, dict[str, Any]],
                                                                  tmp_path: Path) -> None:  # fmt: skip
    db, t = committed
    with store.write(db) as con:  # as a store committed before commits kept deal owners
        con.execute("DELETE FROM scenario_deals")
        con.execute("UPDATE audit_log SET detail = json_object('scenario_id', 1, 'previous_version', "
                    "json_extract(detail, '$.previous_version')) WHERE action = 'scenario.commit'")  # fmt: skip
    f = ingest.import_files(db, [write_deals(tmp_path / "w.csv", t["crm_deals"])], scope=OPERATOR).files[0]
    assert [c["deal_id"] for c in f.owner_conflicts] == [deal_of(t["split"])]  # its account's owner was the base


def test_an_account_the_plan_left_unowned_merges_like_a_move(committed: tuple[Path, dict[str, Any]], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    db, t = committed
    plan = t["plan"]
    moves = sum(plan.get(x) != CRM[x] for x in CRM)
    # The CRM not caught up: FIRST still names its owner before the commit, and stays without one.
    f = ingest.import_files(db, [write_accounts(tmp_path / "w2.csv", CRM)], scope=OPERATOR).files[0]
    assert (f.owners_kept_from_plan, f.owner_conflicts) == (moves, [])
    assert owner_names(db) == plan
    # A third owner is taken and listed.
    other = _third(CRM[FIRST])
    f = ingest.import_files(db, [write_accounts(tmp_path / "w3.csv", {**CRM, FIRST: other})], scope=OPERATOR).files[0]
    assert [(c["account_id"], c["before_plan"], c["plan_owner"], c["file_owner"]) for c in f.owner_conflicts] == [
        (FIRST, CRM[FIRST], None, other)]  # fmt: skip
    assert any("third owner" in w and f"plan no owner, file {other}" in w for w in f.warnings), f.warnings
    assert owner_names(db) == {**plan, FIRST: other}


def test_owners_from_file_gives_an_unowned_account_its_owner_back(committed: tuple[Path, dict[str, Any]],
                                                                  tmp_path: Path) -> None:  # fmt: skip
    db, t = committed
    moves = sum(t["plan"].get(x) != CRM[x] for x in CRM)
    f = ingest.import_files(db, [write_accounts(tmp_path / "w.csv", CRM)], scope=OPERATOR,
                            owners_from_file=True).files[0]  # fmt: skip
    assert f.owners_reverted == moves and owner_names(db) == CRM
    with store.read(db) as con:  # every move of the scenario given back, the account it left unowned among them
        assert scenarios.list_scenarios(con, scope=OPERATOR)["status"].item() == f"reverted by import #{f.import_id}"
