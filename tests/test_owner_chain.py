"""Weekly CRM re-imports after two committed rebalances the CRM never caught up with (the second computed on the book
the first committed): an account either commit moved keeps the plan's owner while the export names the owner before
any of them, an owner before none of them and not the plan's is a conflict, and no owner changes silently."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from planner import ingest, optimize, scenarios, store
from planner.scope import OPERATOR
from tests.test_import_sync import CRM, REPS, commit_even_accounts, owner_names, write_accounts, write_users
from tests.test_import_sync3 import deal_of, deal_owners, write_deals


def _third(*names: str) -> str:
    return next(n for n, *_ in REPS if n not in names)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Users, accounts and deals (an open deal on every account, owned by its owner) imported, a rebalance committed,
    then a second scenario computed on that book which moves three accounts the first moved on to a third owner
    (`both`), one back to its CRM owner (`back`) and two the first left (`second`), committed: (the store, {plan1,
    plan2, both, back, second, first_only})."""
    d = tmp_path_factory.mktemp("chain")
    db = d / "chain.duckdb"
    store.migrate(db)
    files = [write_users(d / "users.csv", REPS), write_accounts(d / "acc.csv", CRM), write_deals(d / "deals.csv", CRM)]
    ingest.import_files(db, files, scope=OPERATOR)
    plan1 = commit_even_accounts(db, allow_open_deals=True)
    moved1 = sorted(a for a in CRM if plan1[a] != CRM[a])
    both, back = moved1[:3], moved1[3]
    second = sorted(a for a in CRM if plan1[a] == CRM[a])[:2]
    with store.read(db) as con:
        result = scenarios.run(
            con, optimize.Options(metric="accounts", tolerance=0.5, allow_open_deals=True), scope=OPERATOR
        )
    ids = {name: rep for rep, name in zip(result.reps["rep_id"], result.reps["name"], strict=True)}
    a = result.assignments
    wanted = {**{x: _third(CRM[x], plan1[x]) for x in both}, back: CRM[back],
              **{x: _third(CRM[x]) for x in second}}  # fmt: skip
    for account, name in wanted.items():
        a.loc[a["account_id"] == account, ["owner", "moved", "reason"]] = [ids[name], True, "test"]
    sid = scenarios.save(db, "Again", result, "lead", scope=OPERATOR)
    scenarios.commit(db, sid, "boss", scope=OPERATOR)
    plan2 = owner_names(db)
    assert all(plan2[x] == n for x, n in wanted.items())
    first_only = [x for x in moved1 if plan2[x] == plan1[x]]
    assert len(first_only) >= 5  # the first commit's moves the second left alone
    return db, {"plan1": plan1, "plan2": plan2, "both": both, "back": back, "second": second,
                "first_only": first_only}  # fmt: skip


@pytest.fixture
def chained(template: tuple[Path, dict[str, Any]], tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    db = tmp_path / "store.duckdb"
    shutil.copy(template[0], db)
    return db, template[1]


def test_the_export_before_both_commits_keeps_every_move_of_either(chained: tuple[Path, dict[str, Any]],
                                                                   tmp_path: Path) -> None:  # fmt: skip
    db, t = chained
    plan1, plan2 = t["plan1"], t["plan2"]
    moved = sorted(a for a in CRM if plan1[a] != CRM[a] or plan2[a] != plan1[a])
    # The CRM never updated, but for one account given a third owner and one updated with the first commit only.
    third, halfway = t["first_only"][0], t["both"][0]
    other = _third(CRM[third], plan2[third])
    crm = {**CRM, third: other, halfway: plan1[halfway]}
    f = ingest.import_files(db, [write_accounts(tmp_path / "week.csv", crm)], scope=OPERATOR).files[0]
    assert owner_names(db) == {**plan2, third: other}  # every other move of either commit kept
    assert [(c["account_id"], c["before_plan"], c["plan_owner"], c["file_owner"]) for c in f.owner_conflicts] == [
        (third, CRM[third], plan2[third], other)]  # fmt: skip
    same = [a for a in moved if crm[a] == plan2[a]]  # the file already names the plan's owner (`back`)
    assert t["back"] in same
    assert f.owners_kept_from_plan == len(moved) - len(same) - 1  # every move is kept, taken as the file's or listed
    # Next week the same file: still kept (the chain stays), the conflict's owner is the file's now.
    again = ingest.import_files(db, [tmp_path / "week.csv"], scope=OPERATOR).files[0]
    assert again.owner_conflicts == [] and again.owners_kept_from_plan == f.owners_kept_from_plan
    assert owner_names(db) == {**plan2, third: other}


def test_owners_from_file_gives_back_the_moves_of_both_commits(chained: tuple[Path, dict[str, Any]],
                                                               tmp_path: Path) -> None:  # fmt: skip
    db, t = chained
    report = ingest.import_files(db, [write_accounts(tmp_path / "week.csv", CRM)], scope=OPERATOR,
                                 owners_from_file=True)  # fmt: skip
    assert owner_names(db) == CRM
    moved = [a for a in CRM if CRM[a] != t["plan2"][a]]
    assert report.files[0].owners_reverted == len(moved)
    with store.read(db) as con:
        status = scenarios.list_scenarios(con, scope=OPERATOR).set_index("scenario_id")["status"].to_dict()
    assert all(s.startswith(("reverted by import", "partly reverted by import")) for s in status.values()), status


def test_the_deals_export_before_both_commits_keeps_every_deal_either_moved(chained: tuple[Path, dict[str, Any]],
                                                                            tmp_path: Path) -> None:  # fmt: skip
    db, t = chained
    plan2 = t["plan2"]
    assert deal_owners(db) == {deal_of(x): plan2[x] for x in plan2}
    f = ingest.import_files(db, [write_deals(tmp_path / "deals.csv", CRM)], scope=OPERATOR).files[0]
    assert deal_owners(db) == {deal_of(x): plan2[x] for x in plan2}  # not one deal's move undone
    assert f.owner_conflicts == []
    assert f.owners_kept_from_plan == sum(CRM[x] != plan2[x] for x in plan2)
