"""Weekly CRM re-imports: a renamed or missing owner column is read or warned of."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from planner import ingest, optimize, scenarios, store
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
    with store.read(db) as con:
        result = scenarios.run(con, optimize.Options(metric="accounts", tolerance=0.1), scope=OPERATOR)
    sid = scenarios.save(db, "Even", result, "lead", scope=OPERATOR)
    assert scenarios.commit(db, sid, "boss", scope=OPERATOR)["moved"] >= 10
    return db, owner_names(db)


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
