"""Weekly CRM re-imports after a committed rebalance: owners merge three ways (the CRM not caught up keeps the plan's
owner, a third owner is taken and listed), a version is kept before owners change, every import is audited; a
users export that leaves a rep out says so; a renamed or missing owner column is read or warned of."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from planner import cli, ingest, optimize, scenarios, store
from planner.ingest import fields as F
from planner.scope import OPERATOR

HEADER = ["Account ID", "Account Name", "Type", "Industry", "Employees", "Annual Revenue", "Billing City",
          "Billing State/Province", "Billing Country", "Account Owner"]  # fmt: skip
REPS = [("Ann Lee", "ann@x.com", "Boston", "US"), ("Bob Ray", "bob@x.com", "Chicago", "US"),
        ("Cy Fox", "cy@x.com", "Denver", "US")]  # fmt: skip
CITIES = [("Boston", "MA"), ("Chicago", "IL"), ("Denver", "CO")]


def write_users(path: Path, reps: list[tuple[str, ...]], header: tuple[str, ...] = ("Full Name", "Email", "City",
                                                                                      "Country")) -> Path:  # fmt: skip
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([header, *reps])
    return path


def write_accounts(path: Path, owners: dict[str, str], header: list[str] = HEADER) -> Path:
    """One row per account of `owners` (account id -> owner name), in three cities."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i, (account, owner) in enumerate(owners.items()):
            city, state = CITIES[i % 3]
            w.writerow([account, f"Acme {account[-3:]}", "Prospect", "Technology", 100 + i, 1_000_000 * (i + 1),
                        city, state, "United States", owner][: len(header)])  # fmt: skip
    return path


CRM = {f"001A{i:04d}": "Ann Lee" if i < 24 else ("Bob Ray" if i < 27 else "Cy Fox") for i in range(30)}


def commit_even_accounts(db: Path, **options: object) -> dict[str, str]:
    """Save and commit a rebalance of the account counts (within 10%; `options` for optimize.Options, such as
    allow_open_deals) that moves at least 10 accounts: the owners it committed (owner_names)."""
    with store.read(db) as con:
        result = scenarios.run(con, optimize.Options(metric="accounts", tolerance=0.1, **options), scope=OPERATOR)  # type: ignore[arg-type]
    sid = scenarios.save(db, "Even", result, "lead", scope=OPERATOR)
    assert scenarios.commit(db, sid, "boss", scope=OPERATOR)["moved"] >= 10
    return owner_names(db)


def owner_names(path: Path) -> dict[str, str]:
    with store.read(path) as con:
        df = store.query_df(con, "SELECT a.account_id, r.name FROM accounts a JOIN reps r ON r.rep_id = a.owner_rep_id")
    return dict(zip(df["account_id"], df["name"], strict=True))


@pytest.fixture(scope="module")
def committed_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A store imported from a users and an accounts export (Ann owns 24 of 30), then a committed rebalance of the
    account counts: (the store, the owners it committed)."""
    d = tmp_path_factory.mktemp("sync")
    db = d / "committed.duckdb"
    store.migrate(db)
    ingest.import_files(db, [write_users(d / "users.csv", REPS), write_accounts(d / "acc.csv", CRM)], scope=OPERATOR)
    return db, commit_even_accounts(db)


@pytest.fixture
def committed(committed_template: tuple[Path, dict[str, str]], tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "store.duckdb"
    shutil.copy(committed_template[0], db)
    return db, committed_template[1]


def audit(path: Path, action: str) -> list[dict]:
    with store.read(path) as con:
        df = store.query_df(con, "SELECT detail FROM audit_log WHERE action = ? ORDER BY audit_id", [action])
    return [json.loads(d) for d in df["detail"]]


def versions(path: Path) -> list[str]:
    with store.read(path) as con:
        return list(store.query_df(con, "SELECT note FROM assignment_versions ORDER BY version")["note"])


def test_a_crm_export_not_yet_updated_keeps_the_committed_owners(committed: tuple[Path, dict[str, str]],
                                                                 tmp_path: Path) -> None:  # fmt: skip
    db, plan = committed
    moved = sorted(a for a in CRM if plan[a] != CRM[a])
    report = ingest.import_files(db, [write_accounts(tmp_path / "week2.csv", CRM)], scope=OPERATOR)
    f = report.files[0]
    assert owner_names(db) == plan  # not one move undone
    assert (f.owners_kept_from_plan, f.owner_conflicts) == (len(moved), [])
    assert f"{len(moved)} account(s) keep the owner scenario #1 Even" in " ".join(f.notes)
    assert f.contract()["owners_kept_from_plan"] == len(moved)
    assert versions(db) == ["before scenario 1 (Even)"]  # no owner changed: no version needed
    entries = audit(db, "import")  # the first import's, then this one's
    assert len(entries) == 2 and entries[-1]["files"][0]["file"] == "week2.csv"
    assert entries[-1]["files"][0]["owners_kept_from_plan"] == len(moved) and entries[-1]["previous_version"] is None
    # Next week the same: the kept owners are still the plan's (their assignment still says so).
    again = ingest.import_files(db, [tmp_path / "week2.csv"], scope=OPERATOR)
    assert again.files[0].owners_kept_from_plan == len(moved) and owner_names(db) == plan


def test_a_third_owner_is_taken_as_a_conflict_and_a_version_is_kept(committed: tuple[Path, dict[str, str]],
                                                                    tmp_path: Path) -> None:  # fmt: skip
    db, plan = committed
    moved = sorted(a for a in CRM if plan[a] != CRM[a])
    third, caught_up = moved[0], moved[1]
    other = next(n for n, *_ in REPS if n not in (CRM[third], plan[third]))
    crm = {**CRM, third: other, caught_up: plan[caught_up]}
    f = ingest.import_files(db, [write_accounts(tmp_path / "week3.csv", crm)], scope=OPERATOR).files[0]
    assert owner_names(db) == {**plan, third: other}
    assert f.owners_kept_from_plan == len(moved) - 2
    assert [(c["account_id"], c["before_plan"], c["plan_owner"], c["file_owner"]) for c in f.owner_conflicts] == [
        (third, CRM[third], plan[third], other)]  # fmt: skip
    assert any(w.startswith("1 account(s) moved by scenario #1 Even") and "third owner" in w for w in f.warnings)
    assert versions(db)[-1] == f"before import #{f.import_id} (week3.csv)"
    restored = scenarios.restore(db, len(versions(db)), "boss", scope=OPERATOR)
    assert restored["accounts_changed"] == 1 and owner_names(db) == plan


def test_owners_from_file_takes_every_owner_and_says_so(committed: tuple[Path, dict[str, str]], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    db, plan = committed
    moved = [a for a in CRM if plan[a] != CRM[a]]
    path = write_accounts(tmp_path / "week2.csv", CRM)
    assert cli.main(["--db", str(db), "import", str(path), "--owners-from-file", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["files"][0]
    assert (out["owners_kept_from_plan"], out["owner_conflicts"]) == (0, [])
    assert any(w.startswith(f"{len(moved)} account(s) moved by scenario #1 Even (committed ")
               and "got their owner before the commit back from this file" in w for w in out["warnings"])  # fmt: skip
    assert owner_names(db) == CRM
    assert audit(db, "import")[-1]["owners_from_file"] is True
    scenarios.restore(db, len(versions(db)), "boss", scope=OPERATOR)  # the plan is one step away
    assert owner_names(db) == plan


def test_a_users_export_without_a_stored_rep_names_them(committed: tuple[Path, dict[str, str]],
                                                        tmp_path: Path) -> None:  # fmt: skip
    db, plan = committed
    # Cy's accounts go to Bob in the CRM, and the users export no longer lists Cy.
    crm = {a: "Bob Ray" if o == "Cy Fox" else o for a, o in plan.items()}
    files = [write_users(tmp_path / "users.csv", REPS[:2]), write_accounts(tmp_path / "acc.csv", crm)]
    report = ingest.import_files(db, files, scope=OPERATOR, owners_from_file=True)
    users = report.files[0]
    assert any(w.startswith("Cy Fox is not in this users file and owns 0 account(s): a rep who left keeps their "
                            "sign-in and a territory until retired: retire them") for w in users.warnings)  # fmt: skip
    with store.read(db) as con:
        assert store.scalar(con, "SELECT active FROM reps WHERE name = 'Cy Fox'") is True  # not retired silently


def test_a_rep_deactivated_while_owning_accounts_is_named(committed: tuple[Path, dict[str, str]],
                                                          tmp_path: Path) -> None:  # fmt: skip
    db, plan = committed
    rows = [(*r, "false" if r[0] == "Bob Ray" else "true") for r in REPS]
    path = write_users(tmp_path / "users.csv", rows, ("Full Name", "Email", "City", "Country", "Active"))
    users = ingest.import_files(db, [path], scope=OPERATOR).files[0]
    n = sum(o == "Bob Ray" for o in plan.values())
    assert f"Bob Ray ({n} accounts) is inactive and still owns accounts, which are in no active territory" in " ".join(
        users.warnings)  # fmt: skip
    assert not any("not in this users file" in w for w in users.warnings)


def test_a_users_file_of_some_reps_is_a_note_not_a_warning(committed: tuple[Path, dict[str, str]],
                                                           tmp_path: Path) -> None:  # fmt: skip
    db, _ = committed
    report = ingest.import_files(db, [write_users(tmp_path / "one.csv", REPS[:1])], scope=OPERATOR)
    assert report.files[0].warnings == []
    assert any(n.startswith("the users file(s) list 1 of 3 reps") for n in report.notes)


@pytest.mark.parametrize(("column", "kind"), [
    ("Account Owner Full Name", "accounts"), ("Account Owner: Full Name", "accounts"), ("Owner: Full Name", "accounts"),
    ("Owner Full Name", "accounts"), ("Owning User", "accounts"), ("Opportunity Owner: Full Name", "deals"),
    ("Owner: Full Name", "deals"),
])  # fmt: skip
def test_renamed_owner_columns_are_read_as_the_owner(column: str, kind: str) -> None:
    first = ["Account ID", "Account Name"] if kind == "accounts" else ["Opportunity ID", "Opportunity Name"]
    assert F.propose_mapping([*first, column], kind)[column] == "owner"


def test_a_renamed_owner_column_lands_the_crms_owner_changes(committed: tuple[Path, dict[str, str]],
                                                             tmp_path: Path) -> None:  # fmt: skip
    db, plan = committed
    account = next(a for a in CRM if plan[a] == CRM[a] == "Ann Lee")
    header = [*HEADER[:-1], "Account Owner: Full Name"]
    path = write_accounts(tmp_path / "renamed.csv", {**plan, account: "Cy Fox"}, header)
    f = ingest.import_files(db, [path], scope=OPERATOR).files[0]
    assert f.mapping["Account Owner: Full Name"] == "owner"
    assert owner_names(db)[account] == "Cy Fox"


def test_a_file_without_an_owner_column_warns_that_owners_are_kept(committed: tuple[Path, dict[str, str]],
                                                                   tmp_path: Path) -> None:  # fmt: skip
    db, plan = committed
    header = [*HEADER[:-1], "Account Owner Nickname"]  # not an owner field: kept as an attribute
    f = ingest.import_files(db, [write_accounts(tmp_path / "x.csv", plan, header)], scope=OPERATOR).files[0]
    assert any(w.startswith("this file has no owner column: owners are kept as stored; if the file has one, map it")
               and "'Account Owner Nickname'" in w for w in f.warnings)  # fmt: skip
    assert owner_names(db) == plan
