"""Failing closed on a store that is not there or not reachable: a mistyped --db (or a shell without PLANNER_DB)
makes no empty store for a command to write into; a malformed lake address is a bad setting, not an outage; a Sign
out click while the store is down still signs the browser out; an admin reads the paths a bad setting names."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from planner import roles, store
from planner.cli import main
from planner.errors import StoreError, StoreUnavailable
from planner.scope import Scope
from planner.store import core
from tests.helpers import AVA, app_as
from ui import auth, data

FIX = "check --db / PLANNER_DB, or create one with `python -m planner import` or `python -m planner demo`"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(
    "command",
    [
        ["roles", "set", "x@example.com", "admin"],
        ["roles", "remove", "fired.rep@corp.com"],
        ["settings", "--currency", "EUR"],
        ["as-of", "2026-01-31"],
        ["rep-home", "R001", "--clear"],
        ["potential", "reset", "Software"],
        ["store", "maintain"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_command_refuses_a_store_that_is_not_there(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "typo.duckdb"
    code, err = _run(capsys, "--db", str(typo), *command)
    assert (code, err) == (2, [f"error: no store at {typo}: {FIX}"])
    assert list(tmp_path.iterdir()) == []  # no store, no lock file


def test_without_planner_db_a_command_does_not_write_the_default_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A team host's admin shell without PLANNER_DB: data/planner.duckdb (beside the working folder) stays unmade."""
    monkeypatch.delenv("PLANNER_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    code, err = _run(capsys, "roles", "remove", "fired.rep@corp.com")
    assert code == 2 and len(err) == 1 and err[0].startswith("error: no store at ") and FIX in err[0]
    assert list(tmp_path.rglob("*")) == []


def test_a_lake_whose_local_catalog_is_missing_is_not_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PLANNER_LAKE_DATA", str(tmp_path / "data"))
    lake = f"ducklake:{tmp_path / 'catalog.ducklake'}"
    code, err = _run(capsys, "--db", lake, "roles", "set", "x@example.com", "admin")
    assert (code, err) == (2, [f"error: no store at {lake}: {FIX}"])
    assert list(tmp_path.iterdir()) == []


def test_an_empty_lake_is_refused_and_left_without_a_store(
    empty_lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(capsys, "--db", str(empty_lake), "roles", "set", "z@example.com", "admin")
    assert (code, err) == (2, [f"error: no store at {store.describe(empty_lake)}: {FIX}"])
    assert not store.exists(empty_lake)


@pytest.mark.parametrize("address", ["ducklake:", "ducklake:dbname=lake host=127.0.0.1 port=5432 user=planner"])
def test_a_malformed_lake_address_is_a_bad_setting_not_an_outage(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLANNER_LAKE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("PLANNER_DB", address)
    with pytest.raises(StoreError) as raised:
        store.exists(Path(address))
    assert not isinstance(raised.value, StoreUnavailable)  # the page would retry it forever
    code, err = _run(capsys, "roles", "list")
    assert (code, err) == (
        2,
        [f"error: PLANNER_DB '{address}' is not a lake address; use ducklake:postgres:dbname=... host=... user=..."],
    )
    assert list(tmp_path.iterdir()) == []  # no catalog file named after the PostgreSQL settings


def test_no_postgres_password_is_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = "ducklake:postgres:dbname=lake host=127.0.0.1 port=5432 user=planner"
    monkeypatch.setenv("PLANNER_LAKE_DATA", str(tmp_path))

    def refuse(path: Path) -> duckdb.DuckDBPyConnection:  # DuckDB's words when PGPASSWORD is unset
        raise duckdb.IOException(
            f'IO Error: Failed to attach DuckLake MetaData "__ducklake_metadata_lake" at path + "{lake[9:]}"'
            'Unable to connect to Postgres at "dbname=lake host=127.0.0.1": connection to server at "127.0.0.1", '
            "port 5432 failed: fe_sendauth: no password supplied"
        )

    monkeypatch.setattr(core, "_attach", refuse)
    code, err = _run(capsys, "--db", lake, "metrics")
    assert (code, err) == (
        2,
        ["error: the lake's PostgreSQL refused the connection: no password (set PGPASSWORD or a .pgpass file)"],
    )


def test_sign_out_while_the_store_is_down_signs_the_browser_out_and_says_so(
    app_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app_as(AVA)
    assert at.title[0].value != "Territory Planner" and at.session_state["_scope"].user == AVA
    recorded: list[str] = []

    def down(*args: object, **kwargs: object) -> None:
        recorded.append("tried")
        raise StoreUnavailable(
            "store unavailable: the lake does not answer; nothing was written, retry when it is back"
        )

    monkeypatch.setattr(data, "ensure_store", down)
    monkeypatch.setattr(roles, "sign_out", down)
    at.sidebar.button(key="sb_logout").click().run()
    assert recorded == ["tried"]  # the sign-out was tried first, and the store was not read
    assert [str(w.value) for w in at.warning] == [auth.UNRECORDED]
    assert not any("Store unavailable" in str(w.value) for w in at.warning)
    at.run()
    assert at.title[0].value == "Territory Planner"  # the sign-in page, though the store is still down
    assert [b.label for b in at.button] == ["Sign in"] and len(at.metric) == 0


def test_an_admin_reads_the_paths_a_bad_setting_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PLANNER_DB", "ducklake:postgres:dbname=lake host=db user=planner")
    exc = StoreError(
        f"PLANNER_LAKE_DATA {tmp_path}/nope/ is not the data path the lake ducklake:postgres:dbname=lake host=db "
        f"user=planner was made with ({tmp_path}/lakedata/); set it to that path on every host"
    )
    monkeypatch.setattr(data.st, "session_state", {"_scope": Scope(role="rep", rep_id="R001", user=AVA)})
    assert str(tmp_path) not in data.error_text(exc)
    for scope in (auth.LOCAL, Scope(role="admin", user="boss@example.com")):
        monkeypatch.setattr(data.st, "session_state", {"_scope": scope})
        assert data.error_text(exc) == str(exc)  # both paths, and which lake
        bad = StoreError("PLANNER_DB 'ducklake:' is not a lake address; use ducklake:postgres:dbname=... host=...")
        monkeypatch.setenv("PLANNER_DB", "ducklake:")
        assert data.error_text(bad) == str(bad)  # not "use a file beside the store"
