"""The store in daily use, as its users meet it: a save that waits for another writer says so (the CLI's stderr line,
the page's note) and keeps the form's input when it fails; a page never shows the server's paths; `export` writes
CRM record IDs (never the importer's keys) and names the currency of its money."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from planner import cli, ingest, store
from planner.errors import StoreBusy, StoreError
from planner.scope import OPERATOR
from planner.store import waiting, world
from tests.helpers import app_as
from ui import data


@contextmanager
def lock_held(db: Path, release_after: float | None = None) -> Iterator[None]:
    """Hold the store's write lock as another writer would (`flock STORE.lock sleep ...`), released when the block
    ends or, given `release_after`, that many seconds after it began."""
    if store.is_lake(db):
        pytest.skip("a file store's lock")
    fd = os.open(db.with_name(db.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    timer = threading.Timer(release_after or 0, lambda: fcntl.flock(fd, fcntl.LOCK_UN))
    if release_after is not None:
        timer.start()
    try:
        yield
    finally:
        timer.cancel()
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@pytest.fixture
def notices(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The notices given and ended in this test, the notice shown a tenth of a second into a wait."""
    seen: list[str] = []
    monkeypatch.setattr(waiting, "NOTICE_AFTER_S", 0.1)

    def notice(timeout: float) -> object:
        seen.append(f"wait {timeout:.0f}")
        return lambda: seen.append("end")

    before = waiting.set_notice(notice)
    yield seen
    waiting.set_notice(before)


def test_a_writer_that_waits_says_so_once_and_ends_the_note_when_it_writes(empty_store: Path,
                                                                           notices: list[str]) -> None:  # fmt: skip
    with lock_held(empty_store, release_after=0.6), store.write(empty_store, timeout=5) as con:
        con.execute("SELECT 1").fetchall()
    assert notices == ["wait 5", "end"]


def test_a_writer_that_gets_the_lock_at_once_tells_nobody(empty_store: Path, notices: list[str]) -> None:
    with store.write(empty_store, timeout=5) as con:
        con.execute("SELECT 1").fetchall()
    assert notices == []


def test_a_wait_that_gives_up_ends_its_note_and_says_what_to_do(empty_store: Path, notices: list[str]) -> None:
    busy = pytest.raises(StoreBusy, match="another import or commit is writing .*; retry when it is done")
    with lock_held(empty_store), busy, store.write(empty_store, timeout=0.4):
        pass
    assert notices == ["wait 0", "end"]


def test_the_cli_prints_one_line_while_it_waits(empty_store: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(waiting, "NOTICE_AFTER_S", 0.2)
    monkeypatch.setenv("PLANNER_LOCK_TIMEOUT_S", "30")
    before = waiting.set_notice(None)
    with lock_held(empty_store, release_after=1.0):
        assert cli.main(["--db", str(empty_store), "roles", "set", "q@example.com", "leader"]) == 0
    err = capsys.readouterr().err
    assert err.count("waiting for another import or commit to finish (up to 30 s)...") == 1
    assert waiting.set_notice(before) is None  # the CLI left the process's notice as it found it


def test_the_app_notes_a_wait_where_the_save_was_asked_for() -> None:
    def page() -> None:
        from ui import data

        data._waiting_note(120)

    at = AppTest.from_function(page).run()
    assert "Waiting for another import or commit to finish (up to 120 s)" in at.info[0].value
    assert data._waiting_note(5) is None  # no page to tell (a background job's write)


def test_a_save_that_met_another_writer_keeps_the_form_and_shows_no_server_path(
    app_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_LOCK_TIMEOUT_S", "0.3")
    at = app_as("boss@example.com", page="admin")
    at.text_input(key="adm_email").input("new.person@example.com")
    at.selectbox(key="adm_role").set_value("leader")
    with lock_held(app_store):
        at.button(key="adm_save").click().run()
    assert [e.value for e in at.error] == ["another import or commit is writing the store; retry when it is done"]
    assert at.text_input(key="adm_email").value == "new.person@example.com"
    assert at.selectbox(key="adm_role").value == "leader"
    at.button(key="adm_save").click().run()  # the other writer is done: the same click saves, then the form empties
    assert at.error == [] and "new.person@example.com is now leader" in at.success[0].value.replace("\\", "")
    assert at.text_input(key="adm_email").value == ""


@pytest.mark.parametrize(
    "message",
    [
        "another import or commit is writing {p}; retry when it is done",
        "store {p} is locked by another program that opened it for writing; close it, or wait and retry",
        "cannot write the store: permission denied on the folder {d} (which holds the store {n}); check its "
        "permissions, or run as a user who may use it; the store is unchanged",
        "cannot write the store: permission denied on {p}.lock (the store's lock file); check its permissions",
        'cannot write the store: no space left on the device holding "{p}.tmp-12-ab"; free some space and retry',
        "another program changed {p} while this write was being made; nothing was written, retry",
        "{p} was written by a newer Territory Planner (schema 99 > 10); upgrade the app",
    ],
)
def test_a_page_never_shows_where_the_store_lives_on_the_server(
    message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "srv" / "planner.duckdb"
    monkeypatch.setenv("PLANNER_DB", str(db))
    said = data.error_text(StoreError(message.format(p=db, d=db.parent, n=db.name)))
    assert str(tmp_path) not in said and "planner.duckdb" not in said and "the store" in said


def test_an_unreadable_store_gets_the_apps_words_not_the_clis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "planner.duckdb"
    db.write_bytes(b"not a store at all" * 100)
    monkeypatch.setenv("PLANNER_DB", str(db))
    with pytest.raises(StoreError) as raised, store.read(db):
        pass
    said = data.error_text(raised.value)
    assert said == data.UNREADABLE
    assert "--db" not in said and "demo" not in said and "move the file" not in said and str(db) not in said


ACCOUNTS = "Account Name,City,Country,Industry\nFirma 10 KK,Osaka,Japan,Handel\nZeta AG,Berlin,Germany,Software\n"
DEALS = (
    "Opportunity Name,Account Name,Stage,Amount,Created Date,Close Date\n"
    "Deal 1,Firma 10 KK,Closed Won,EUR 1200,2025-01-05,2025-03-01\n"
    "Deal 2,Zeta AG,Prospecting,EUR 900,2025-02-05,2025-06-01\n"
)


def _book_without_ids(db: Path, tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    (tmp_path / "deals.csv").write_text(DEALS)
    ingest.import_files(db, [tmp_path / "accounts.csv", tmp_path / "deals.csv"], scope=OPERATOR)


def _export(db: Path, table: str, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[pd.DataFrame, str]:
    assert cli.main(["--db", str(db), "export", table, "--out", str(out)]) == 0
    frame = (
        pd.read_csv(out, dtype=str, encoding="utf-8-sig")
        if out.suffix == ".csv"
        else pd.read_excel(out, dtype=str, engine="openpyxl")
    )
    return frame, capsys.readouterr().err


def test_an_export_of_a_book_without_ids_has_no_made_up_ids_and_imports_again_as_nothing_new(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _book_without_ids(empty_store, tmp_path)
    accounts, said = _export(empty_store, "accounts", tmp_path / "a.csv", capsys)
    assert "account_id" not in accounts.columns and "potential (EUR)" in accounts.columns
    assert "no record here has a CRM ID in account_id" in said
    deals, said = _export(empty_store, "deals", tmp_path / "d.xlsx", capsys)
    assert {"deal_id", "account_id"}.isdisjoint(deals.columns) and "amount (EUR)" in deals.columns
    assert not deals.apply(lambda col: col.astype(str).str.contains("name:|deal:")).any().any()
    assert sorted(deals["amount (EUR)"].astype(float)) == [900.0, 1200.0]
    again = ingest.import_files(empty_store, [tmp_path / "a.csv", tmp_path / "d.xlsx"], scope=OPERATOR).files
    assert [(f.inserted, f.rejected) for f in again] == [(0, 0), (0, 0)]
    with store.read(empty_store) as con:
        assert con.execute("SELECT count(*), sum(amount) FROM deals").fetchall() == [(2, 2100.0)]
        assert world.currency(con) == "EUR"


def test_a_book_with_and_without_ids_gets_blank_cells_beside_the_crm_ids(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _book_without_ids(empty_store, tmp_path)
    (tmp_path / "more.csv").write_text("Account ID,Account Name,City,Country\n001Z1,Neue GmbH,Hamburg,Germany\n")
    ingest.import_files(empty_store, [tmp_path / "more.csv"], scope=OPERATOR)
    accounts, said = _export(empty_store, "accounts", tmp_path / "a.csv", capsys)
    assert dict(zip(accounts["name"], accounts["account_id"].fillna(""), strict=True)) == {
        "Firma 10 KK": "",
        "Zeta AG": "",
        "Neue GmbH": "001Z1",
    }
    assert "blank ID cell (2 in account_id)" in said and "rejects the rows whose account_id is blank" in said


def test_money_of_a_store_in_several_currencies_has_no_one_currency_in_its_header(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _book_without_ids(empty_store, tmp_path)
    with store.write(empty_store) as con:
        world.note_mixed_store(con, "EUR, JPY", scope=OPERATOR)
    deals, said = _export(empty_store, "deals", tmp_path / "d.csv", capsys)
    assert "amount" in deals.columns and not any("(" in c for c in deals.columns)
    assert "note: amounts are in several currencies (EUR, JPY)" in said


def test_a_store_that_cannot_be_read_shows_its_details_to_admins_only(
    app_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before any role is known, every signed-in email saw the store's error whole (for a lake: the catalog's
    database, host, port and user): a non-admin reads that the store cannot be read and to tell the admin."""
    from tests.helpers import AVA, app_as

    junk = tmp_path / "secret-folder" / "planner.duckdb"
    junk.parent.mkdir()
    junk.write_bytes(b"not a database at all, 4096 bytes of junk " * 100)
    monkeypatch.setenv("PLANNER_DB", str(junk))
    rep = app_as(AVA, page="targets")
    shown = " ".join(str(e.value) for e in rep.error)
    assert "tell your admin" in shown and "secret-folder" not in shown and "junk" not in shown, shown
    boss = app_as("boss@example.com", page="data")  # a bootstrap admin: signed in, to repair the store
    assert not [e for e in boss.error if "tell your admin" in str(e.value)]
