"""Weekly CRM re-imports against the book the store holds: exports with and without IDs find the same accounts,
records deleted in the CRM leave the book, a full export names what it leaves out, and 'updated' says how many
rows changed nothing (explore-I items 1, 3 and 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import ingest
from planner.errors import BadInput
from planner.scope import OPERATOR
from tests.helpers import table
from tests.lake import store_state

WITH_IDS = """Account ID,Account Name,Billing City,Billing Country,Industry,Employees,Account Owner
0015g00000Ac0001,Rheinsol Werke AG,Hamburg,Germany,Energy,120,Anna Schmidt
0015g00000Ac0002,Logiblau Werke B.V.,Utrecht,Netherlands,Logistics,45,Anna Schmidt
0015g00000Ac0003,Ibergrün Media S.L.,Madrid,Spain,Media,300,Jan de Vries
"""
WITHOUT_IDS = """Account Name,Billing City,Billing Country,Industry,Employees,Account Owner
Rheinsol Werke AG,Hamburg,Germany,Energy,120,Anna Schmidt
Logiblau Werke B.V.,Utrecht,Netherlands,Logistics,45,Anna Schmidt
Ibergrün Media S.L.,Madrid,Spain,Retail,300,Jan de Vries
"""
DEALS = """Opportunity ID,Opportunity Name,Account ID,Account Name,Stage,Amount,Close Date,Opportunity Owner
0065g00000Op0001,Rheinsol - New business,0015g00000Ac0001,Rheinsol Werke AG,Prospecting,264000,2027-03-31,Anna Schmidt
0065g00000Op0002,Rheinsol - Expansion,0015g00000Ac0001,Rheinsol Werke AG,Closed Won,50000,2026-03-31,Anna Schmidt
0065g00000Op0003,Logiblau - New business,0015g00000Ac0002,Logiblau Werke B.V.,Prospecting,90000,2027-02-28,Anna Schmidt
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _import(db: Path, *files: Path, **kw: object) -> ingest.ImportReport:
    return ingest.import_files(db, list(files), scope=OPERATOR, **kw)  # type: ignore[arg-type]


def test_an_export_without_ids_updates_the_accounts_stored_under_ids(empty_store: Path, tmp_path: Path) -> None:
    _import(empty_store, _write(tmp_path / "w1.csv", WITH_IDS), _write(tmp_path / "deals.csv", DEALS))
    f = _import(empty_store, _write(tmp_path / "w4.csv", WITHOUT_IDS)).files[0]
    assert (f.rows_read, f.inserted, f.updated, f.unchanged, f.rejected) == (3, 0, 3, 2, 0)
    assert "3 row(s) matched stored accounts by name and place" in f.notes
    rows = table(empty_store, "SELECT account_id, industry FROM accounts ORDER BY 1")
    assert rows == [("0015g00000Ac0001", "Energy"), ("0015g00000Ac0002", "Logistics"), ("0015g00000Ac0003", "Retail")]
    assert table(empty_store, "SELECT is_customer FROM accounts WHERE account_id = '0015g00000Ac0001'") == [(True,)]


def test_an_export_with_ids_gives_them_to_the_accounts_stored_without(empty_store: Path, tmp_path: Path) -> None:
    # Deals naming an account ID the store does not know link to the one account of that name stored without an
    # ID (they created a second account under the ID); a report without IDs links by name alone.
    by_name = tmp_path / "by_name.csv"
    _write(by_name, "Opportunity Name,Account Name,Stage,Amount\nIbergrün - Renewal,Ibergrün Media S.L.,Closed Won,"
                    "7000\n")  # fmt: skip
    _import(empty_store, _write(tmp_path / "w1.csv", WITHOUT_IDS), _write(tmp_path / "deals.csv", DEALS), by_name)
    assert table(empty_store, "SELECT count(*), count_if(account_id LIKE 'name:%') FROM accounts") == [(3, 3)]
    f = _import(empty_store, _write(tmp_path / "w2.csv", WITH_IDS)).files[0]
    assert (f.inserted, f.updated, f.rejected) == (0, 3, 0)
    assert any("3 of those accounts had no CRM ID and now have the file's" in n for n in f.notes), f.notes
    assert table(empty_store, "SELECT count(*) FROM accounts") == [(3,)]
    assert table(empty_store, "SELECT account_id, count(*) FROM deals GROUP BY 1 ORDER BY 1") == [
        ("0015g00000Ac0001", 2), ("0015g00000Ac0002", 1), ("0015g00000Ac0003", 1)]  # fmt: skip
    assert table(empty_store, "SELECT count(*) FROM assignments WHERE account_id LIKE 'name:%'") == [(0,)]


def test_a_name_two_stored_accounts_share_is_rejected_not_guessed(empty_store: Path, tmp_path: Path) -> None:
    two = "Account ID,Account Name,Billing City\nA1,Rheinsol Werke AG,Hamburg\nA2,Rheinsol Werke AG,Bremen\n"
    _import(empty_store, _write(tmp_path / "w1.csv", two))
    f = _import(empty_store, _write(tmp_path / "w2.csv", "Account Name,Industry\nRheinsol Werke AG,Energy\n")).files[0]
    assert (f.inserted, f.updated, f.rejected) == (0, 0, 1)
    assert f.rejects[0]["reason"].startswith("account name 'Rheinsol Werke AG' matches 2 stored accounts by name")
    assert table(empty_store, "SELECT count(*), count(industry) FROM accounts") == [(2, 0)]


def test_is_deleted_removes_the_stored_account_and_its_deals(empty_store: Path, tmp_path: Path) -> None:
    _import(empty_store, _write(tmp_path / "w1.csv", WITH_IDS), _write(tmp_path / "deals.csv", DEALS))
    api = "Id,IsDeleted,Name\n0015g00000Ac0001,true,Rheinsol Werke AG\n0015g00000Ac0009,true,Never Stored GmbH\n"
    f = _import(empty_store, _write(tmp_path / "api.csv", api), kind="accounts").files[0]
    assert (f.rows_read, f.inserted, f.updated, f.rejected, f.deleted) == (2, 0, 1, 1, 1)
    assert any("1 accounts deleted in the CRM were removed from the store with their 2 deal(s)" in n for n in f.notes)
    assert table(empty_store, "SELECT account_id FROM accounts ORDER BY 1") == [("0015g00000Ac0002",),
                                                                                 ("0015g00000Ac0003",)]  # fmt: skip
    assert table(empty_store, "SELECT deal_id FROM deals") == [("0065g00000Op0003",)]
    assert table(empty_store, "SELECT count(*) FROM assignments WHERE account_id = '0015g00000Ac0001'") == [(0,)]
    action, detail = table(empty_store, "SELECT action, detail FROM audit_log WHERE action LIKE 'import_remove%'")[0]
    assert action == "import_remove_deleted_accounts" and json.loads(str(detail))["ids"] == ["0015g00000Ac0001"]


def test_is_deleted_removes_a_stored_deal(empty_store: Path, tmp_path: Path) -> None:
    _import(empty_store, _write(tmp_path / "w1.csv", WITH_IDS), _write(tmp_path / "deals.csv", DEALS))
    api = "Id,IsDeleted,Name,AccountId,StageName,Amount\n0065g00000Op0001,true,Rheinsol,0015g00000Ac0001,x,1\n"
    f = _import(empty_store, _write(tmp_path / "api.csv", api), kind="deals").files[0]
    assert (f.rows_read, f.updated, f.rejected) == (1, 1, 0)
    assert table(empty_store, "SELECT deal_id FROM deals ORDER BY 1") == [("0065g00000Op0002",), ("0065g00000Op0003",)]


def test_a_full_export_names_what_it_leaves_out_and_removes_it_when_asked(empty_store: Path, tmp_path: Path) -> None:
    _import(empty_store, _write(tmp_path / "w1.csv", WITH_IDS), _write(tmp_path / "deals.csv", DEALS))
    w2 = _write(tmp_path / "w2.csv", WITH_IDS.replace("0015g00000Ac0001,Rheinsol Werke AG,Hamburg,Germany,Energy,120,"
                                                      "Anna Schmidt\n", ""))  # fmt: skip
    f = _import(empty_store, w2).files[0]
    assert any(w.startswith("1 stored account(s) are not in this file (e.g. 'Rheinsol Werke AG')") for w in f.warnings)
    assert table(empty_store, "SELECT count(*) FROM accounts") == [(3,)]
    # A file that is no full export is refused with the flag, and nothing is written.
    part = _write(tmp_path / "part.csv", "Account ID,Account Name\n0015g00000Ac0003,Ibergrün Media S.L.\n")
    before = store_state(empty_store)
    with pytest.raises(BadInput, match="matches 1 of the 3 stored accounts of its CRM, so it is not a full export"):
        _import(empty_store, part, remove_missing=True)
    with pytest.raises(BadInput, match="needs one accounts file"):
        _import(empty_store, w2, part, remove_missing=True)
    assert store_state(empty_store) == before
    f = _import(empty_store, w2, remove_missing=True).files[0]
    assert any("removed 1 stored account(s) missing from this full export" in n and "2 deal(s)" in n for n in f.notes)
    assert table(empty_store, "SELECT count(*) FROM accounts") == [(2,)]
    assert table(empty_store, "SELECT count(*), sum(amount) FROM deals WHERE NOT is_closed") == [(1, 90000.0)]
    assert table(empty_store, "SELECT count(*) FROM audit_log WHERE action = 'import_remove_missing_accounts'") == [
        (1,)
    ]


def test_updated_says_how_many_changed_nothing_and_a_file_seen_before(empty_store: Path, tmp_path: Path) -> None:
    first = _import(empty_store, _write(tmp_path / "w1.csv", WITH_IDS)).files[0]
    again = _import(empty_store, tmp_path / "w1.csv").files[0]
    assert (again.inserted, again.updated, again.unchanged) == (0, 3, 3)
    assert any(f"this file is identical to import #{first.import_id} ('w1.csv' of " in n for n in again.notes)
    assert again.contract()["unchanged"] == 3
    owner = _write(tmp_path / "w2.csv", WITH_IDS.replace("Madrid,Spain,Media,300,Jan de Vries", "Madrid,Spain,Media,"
                                                         "300,Anna Schmidt"))  # fmt: skip
    f = _import(empty_store, owner).files[0]
    assert (f.updated, f.unchanged) == (3, 2) and not any("identical" in n for n in f.notes)
    deals = _import(empty_store, _write(tmp_path / "deals.csv", DEALS)).files[0]
    deals_again = _import(empty_store, tmp_path / "deals.csv").files[0]
    assert (deals.unchanged, deals_again.updated, deals_again.unchanged) == (0, 3, 3)
