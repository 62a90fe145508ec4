"""Uploading on the Data page (ui/upload.py): two files of one name, identical files, .xls, .zip and
password-protected uploads, the upload limit in force, the importer's advice in the page's words (and no progress
bar left frozen), and starting again (demo or empty) with a counted confirmation, audited."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from streamlit import config

from planner import demo, ingest, store
from planner.errors import ImportFileError
from planner.ingest import reader
from planner.scope import OPERATOR
from tests.helpers import AVA, app_as, errors, page, page_text

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "upload"
EU = "Kontoname;Ort;Land;Besitzer;Umsatz;Mitarbeiter\nBäckerei Schulz;Köln;Deutschland;Petra Lang;1.234,50;12\n"


def _set(at: Any, files: list[tuple[str, bytes]]) -> Any:
    at.get("file_uploader")[0].set_value([(n, b, "application/octet-stream") for n, b in files])
    return at.run()


def _texts(elements: Any) -> str:
    return " ".join(str(e.value) for e in elements)


# ---- Wording


def test_the_page_names_its_own_controls_not_cli_flags() -> None:
    from ui import upload  # here: the other tests run (and fail) on a tree without it

    table = reader.Table("eu.csv", "eu.csv", Path("eu.csv"), ";", 0, ["Kontoname", "Ort"], [["a", "b"]], None)  # type: ignore[arg-type]
    plan = ingest.Plan(table, "generic", "accounts", {"Kontoname": "ignore", "Ort": "city"}, {"accounts": 1})
    with pytest.raises(ImportFileError) as e:
        ingest.check_plan(plan)
    assert "--map COLUMN=FIELD" in str(e.value)  # the CLI's words stay in the domain's message
    said = upload.page_wording(str(e.value))
    assert "--map" not in said and "in the table's 'Maps to' column above" in said
    kind = upload.page_wording("x looks like an export of deals, not accounts; pass --kind deals (or --kind auto)")
    assert kind == "x looks like an export of deals, not accounts; pick 'deals' in 'This table holds' above"


# ---- The Data page


def test_two_files_of_one_name_keep_their_own_mapping(app_store: Path) -> None:
    """Salesforce's and Dynamics' exports both named Account.csv: two tables, each imported with its own columns."""
    at = _set(page("data"), [("Account.csv", (SAMPLES / "dataloader_accounts.csv").read_bytes()),
                             ("Account.csv", (SAMPLES / "dynamics_accounts.csv").read_bytes())])  # fmt: skip
    assert errors(at) == []
    assert at.button(key="data_import").label == "Import 2 tables"
    assert "this one is shown and imported as Account (2).csv" in _texts(at.info).replace("\\", "")
    at.button(key="data_import").click().run()
    assert errors(at) == [] and any("from 2 table(s)" in str(s.value) for s in at.success)
    with store.read(app_store) as con:
        names = {r[0] for r in con.execute("SELECT name FROM accounts").fetchall()}
        files = [r[0] for r in con.execute("SELECT file_name FROM imports ORDER BY import_id").fetchall()]
    assert {"Evergreen Logistics", "Lakeside Clinics"} <= names
    assert files == ["Account.csv", "Account (2).csv"]


def test_an_identical_file_twice_is_flagged_and_imported_once(app_store: Path) -> None:
    body = (SAMPLES / "hubspot_companies.csv").read_bytes()
    at = _set(page("data"), [("hubspot_companies.csv", body), ("copy.csv", body)])
    assert errors(at) == []
    assert "copy.csv is identical to hubspot_companies.csv (same content, SHA-256" in _texts(at.info).replace("\\", "")
    assert "it is imported once" in _texts(at.info)
    assert at.button(key="data_import").label == "Import 1 table"
    at.button(key="data_import").click().run()
    assert errors(at) == []
    assert [m.value for m in at.metric if m.label == "Rows read"] == ["3"]


def test_the_uploader_takes_xls_and_zip_and_the_page_explains_them(app_store: Path) -> None:
    at = page("data")
    types = list(at.get("file_uploader")[0].proto.type)
    assert ".xls" in types and ".zip" in types
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("accounts.csv", "Account Name,City\nZip Co,Boston\n")
    at = _set(at, [("old.xls", (FIXTURES / "old.xls").read_bytes()), ("crm_export.zip", archive.getvalue()),
                   ("protected.xlsx", (FIXTURES / "protected.xlsx").read_bytes())])  # fmt: skip
    said = _texts(at.error).replace("\\", "")
    assert "protected.xlsx is password-protected" in said and len(at.error) == 1
    shown = _texts(at.markdown).replace("\\", "")
    assert "**old.xls**" in shown and "**crm_export.zip/accounts.csv**" in shown
    assert at.button(key="data_import").label == "Import 2 tables"


def test_the_upload_limit_shown_is_the_one_enforced(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_MAX_UPLOAD_MB", "500")
    before = config.get_option("server.maxUploadSize")
    try:
        at = page("data")
        assert errors(at) == []
        assert at.get("file_uploader")[0].proto.max_upload_size_mb == 500
        assert config.get_option("server.maxUploadSize") == 500  # what the server checks at each upload
        assert "Up to 500 MB per file" in _texts(at.caption) and "over 500 MB is refused" in _texts(at.caption)
    finally:
        config.set_option("server.maxUploadSize", before)


@pytest.mark.parametrize("who", [None, AVA], ids=["signed-out", "rep"])
def test_the_upload_limit_is_enforced_before_any_data_page(app_store: Path, monkeypatch: pytest.MonkeyPatch,
                                                           who: str | None) -> None:  # fmt: skip
    """The server checks every upload (Rebalance's adjacency file, the travel matrix, a hand-made request) against
    server.maxUploadSize: the setting's, from the first page anyone opens; it was Streamlit's until an admin
    opened the Data page."""
    monkeypatch.setenv("PLANNER_MAX_UPLOAD_MB", "321")
    before = config.get_option("server.maxUploadSize")
    try:
        config.set_option("server.maxUploadSize", 200)  # as the server starts: .streamlit/config.toml's value
        at = app_as(who)
        assert errors(at) == []
        assert config.get_option("server.maxUploadSize") == 321
    finally:
        config.set_option("server.maxUploadSize", before)


def test_a_table_without_a_name_column_is_flagged_before_import(app_store: Path) -> None:
    at = _set(page("data"), [("eu_semicolon.csv", EU.encode("cp1252"))])
    warned = _texts(at.warning).replace("\\", "")
    assert (
        "eu_semicolon.csv has no account ID or account name column for accounts; export it with the account "
        "name or ID, or map a column to it in the table's 'Maps to' column above"
    ) in warned
    assert "in the table's 'Maps to' column above" in warned and "--map" not in warned
    assert at.button(key="data_import").disabled


def test_an_import_error_speaks_of_the_page_and_leaves_no_frozen_bar(
    app_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*args: Any, progress: Any, **kwargs: Any) -> None:
        progress(0.02, "Reading files")
        raise ImportFileError("a.csv has no Name column for accounts; map a column to it (`--map COLUMN=FIELD` on "
                              "the command line, or the Data page's mapping)")  # fmt: skip

    at = _set(page("data"), [("hubspot_companies.csv", (SAMPLES / "hubspot_companies.csv").read_bytes())])
    monkeypatch.setattr(ingest, "import_files", failing)
    at.button(key="data_import").click().run()
    assert [str(e.value) for e in at.error] == [
        "a.csv has no Name column for accounts; map a column to it in the table's 'Maps to' column above"
    ]
    assert not at.get("progress")


def test_starting_again_says_what_is_deleted_and_asks_first(app_store: Path) -> None:
    with store.read(app_store) as con:
        before = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("accounts", "deals", "reps")}
    at = page("data")
    text = page_text(at).replace("\\", "")
    assert f"{before['accounts']:,} accounts, {before['deals']:,} deals, {before['reps']:,} reps" in text
    assert at.button(key="data_empty_store").disabled and at.button(key="data_rebuild_demo").disabled
    at.checkbox(key="data_reset_confirm").check().run()
    at.button(key="data_empty_store").click().run()
    assert errors(at) == []
    assert any("The store is empty" in str(s.value) for s in at.success)
    with store.read(app_store) as con:
        assert [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("accounts", "deals", "reps")] == [
            0, 0, 0]  # fmt: skip
        action, detail = con.execute("SELECT action, detail FROM audit_log ORDER BY audit_id DESC").fetchone()
    assert action == "store.empty" and json.loads(detail)["deleted"]["accounts"] == before["accounts"]
    assert at.button(key="data_empty_store").disabled  # the confirmation is asked again


def test_rebuilding_the_demo_is_audited_with_what_it_deleted(small_store: Path) -> None:
    held = demo.store_contents(small_store, scope=OPERATOR)
    demo.build_store(small_store, 300, 4, 1, force=True, scope=OPERATOR, actor="ava@example.com")
    with store.read(small_store) as con:
        actor, action, detail = con.execute(
            "SELECT actor, action, detail FROM audit_log WHERE action LIKE 'store.%'"
        ).fetchone()
        assert con.execute("SELECT count(*) FROM accounts").fetchone() == (300,)
    assert (actor, action, json.loads(detail)["deleted"]) == ("ava@example.com", "store.rebuild_demo", held)
