"""`balance --out FILE --format F` (#15 point 7): owner-update files a CRM takes, shared with the Rebalance page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from planner import cli, crm_files, export, scenarios, store
from planner.errors import BadInput
from planner.scope import OPERATOR


def rows() -> pd.DataFrame:
    """Three accounts: one moves to a rep with a CRM id, one to a rep with only an email, one stays."""
    return pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "account_name": ['=HYPERLINK("x")', "Beta", None],
            "source": ["csv", None, None],
            "previous_owner_name": ["Ann Lee", "Bo Chu", "Bo Chu"],
            "previous_owner_email": ["ann@x.com", None, None],
            "owner_name": ["Cy Dow", "Di Eng", "Bo Chu"],
            "owner_email": ["cy@x.com", "di@x.com", None],
            "owner_crm_id": ["005A", None, None],
            "moved": [True, True, False],
            "changed": [True, True, False],
        }
    )


@pytest.mark.parametrize(
    ("fmt", "columns", "owner_col", "owners"),
    [
        ("salesforce", ["Id", "OwnerId", "Owner name", "Note"], "OwnerId", ["005A", ""]),
        ("hubspot", ["Record ID", "Company owner", "Owner name"], "Company owner", ["005A", "di@x.com"]),
        ("dynamics", ["accountid", "name", "ownerid", "owneridtype", "Owner", "Owner email", "Note"], "ownerid",
         ["005A", ""]),
        ("pipedrive", ["Organization - ID", "Organization - Name", "Organization - Owner", "Owner name"],
         "Organization - Owner", ["005A", "di@x.com"]),
    ],
)  # fmt: skip
def test_crm_formats_list_the_moves_with_what_the_crm_matches(
    fmt: str, columns: list[str], owner_col: str, owners: list[str]
) -> None:
    out = crm_files.owner_update(rows(), fmt)
    assert list(out.table.columns) == columns
    assert list(out.table.iloc[:, 0]) == ["A1", "A2"]
    assert list(out.table[owner_col]) == owners
    if "Note" in columns:
        # The file says which owner's id is unknown, and the notes say how to supply it.
        assert list(out.table["Note"] == "") == [True, False]
        assert "Di Eng unknown" in out.table["Note"].iloc[1]
        assert len(out.notes) == 1 and "1 of 2 accounts" in out.notes[0] and "Di Eng" in out.notes[0]
        assert "--kind reps" in out.notes[0]
    else:
        assert out.notes == ()
    assert not out.table.isna().any().any()


@pytest.mark.parametrize(
    ("fmt", "columns"),
    [
        ("salesforce", ["Id", "Account name", "OwnerId", "Owner name", "Note"]),
        ("hubspot", ["Record ID", "Account name", "Company owner", "Owner name", "Note"]),
        ("dynamics", ["accountid", "name", "ownerid", "owneridtype", "Owner", "Owner email", "Note"]),
        ("pipedrive", ["Organization - ID", "Organization - Name", "Organization - Owner", "Owner name", "Note"]),
    ],
)
def test_accounts_imported_without_ids_get_no_made_up_record_id(fmt: str, columns: list[str]) -> None:
    # A file without an ID column keys accounts by name ('name:beta|boston'): no CRM record has that id, so the
    # id cell stays blank, the row says to match it by name, and the account's name is in the file.
    r = rows()
    r.loc[1, "account_id"] = "name:beta|boston"
    out = crm_files.owner_update(r, fmt)
    assert list(out.table.columns) == columns
    assert list(out.table.iloc[:, 0]) == ["A1", ""]
    assert "Beta" in list(out.table.iloc[1])
    assert out.table["Note"].iloc[1].endswith("record id: match by name")
    assert any(n.startswith("1 of 2 accounts came from a file without a record ID column") for n in out.notes)
    assert "name:" not in out.table.to_csv()


@pytest.mark.parametrize("fmt", ["hubspot", "dynamics", "pipedrive"])
def test_another_crms_record_ids_are_not_written_as_this_ones(fmt: str) -> None:
    """Accounts imported from Salesforce files carried their 0015E... ids into HubSpot's Record ID, Dynamics'
    accountid and Pipedrive's Organization - ID: matching nothing, or the wrong record. The cell is blank, the row
    says to match by name, and the notes say why; Salesforce's own file keeps them."""
    r = rows()
    r["source"] = ["salesforce_dataloader", "salesforce", None]
    out = crm_files.owner_update(r, fmt)
    assert list(out.table.iloc[:, 0]) == ["", ""]
    assert all(n.endswith("record id: match by name") for n in out.table["Note"])
    assert any("carry another CRM's record ids (2) or none" in n for n in out.notes)
    assert list(crm_files.owner_update(r, "salesforce").table["Id"]) == ["A1", "A2"]


def test_plain_names_every_owner_by_name_and_email() -> None:
    out = crm_files.owner_update(rows(), "plain")
    t = out.table
    assert list(t.columns) == [
        "account_id", "account_name", "previous_owner", "previous_owner_email", "owner", "owner_email", "moved",
    ]  # fmt: skip
    assert list(t["owner"]) == ["Cy Dow", "Di Eng", "Bo Chu"]
    assert list(t["owner_email"]) == ["cy@x.com", "di@x.com", ""]
    assert list(t["moved"]) == [True, True, False]
    assert out.notes and "no email known for Bo Chu" in out.notes[0]
    r = rows()
    r.loc[1, "account_id"] = "name:beta|boston"  # an import's name key is no one's id
    assert list(crm_files.owner_update(r, "plain").table["account_id"]) == ["A1", "", "A3"]


def test_unknown_format_is_one_line() -> None:
    with pytest.raises(BadInput, match="unknown CRM format 'zoho'; use one of salesforce, hubspot"):
        crm_files.owner_update(rows(), "zoho")


def test_cli_formats_match_the_page_files_and_say_what_is_unknown(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with store.write(small_store) as con:
        con.execute("UPDATE reps SET crm_id = '005XX0000001', name = '=cmd|calc' WHERE rep_id = 'R001'")
        con.execute("UPDATE reps SET email = NULL WHERE rep_id = 'R002'")
    sf = tmp_path / "sf.csv"
    args = ["--db", str(small_store), "balance", "--metric", "accounts", "--out", str(sf), "--format", "salesforce"]
    assert cli.main([*args, "--commit", "--by", "ops"]) == 0
    err = capsys.readouterr().err
    assert f"to {sf} (salesforce)" in err
    assert "note: " in err and "Salesforce user id is unknown" in err and "--kind reps" in err
    text = sf.read_bytes().decode("utf-8-sig")
    assert "'=cmd|calc" in text and ",=cmd" not in text  # formulas neutralised
    cli_file = pd.read_csv(sf, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    with store.read(small_store) as con:
        sid = int(store.query_df(con, "SELECT max(scenario_id) AS s FROM scenarios")["s"].iloc[0])
        page_file = scenarios.crm_update(con, sid, "salesforce", scope=OPERATOR)
    # One implementation: the CLI's file is byte for byte the page's download for the same result.
    assert sf.read_bytes() == export.to_csv_bytes(page_file)
    assert len(cli_file) > 0 and set(cli_file["OwnerId"]) <= {"005XX0000001", ""}
    assert (cli_file["Note"] != "").eq(cli_file["OwnerId"] == "").all()

    plain = tmp_path / "plain.xlsx"
    assert cli.main(["--db", str(small_store), "balance", "--out", str(plain), "--format", "plain"]) == 0
    err = capsys.readouterr().err
    t = pd.read_excel(plain, dtype=str, keep_default_na=False, engine="openpyxl")
    assert len(t) == 600 and not t["owner"].str.fullmatch(r"R\d+").any()
    assert not t["previous_owner"].str.fullmatch(r"R\d+").any()
    assert t["owner_email"].str.contains("@").any()
    assert "no email known for" in err  # R002's email was removed


def test_cli_unknown_format_is_refused(small_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--db", str(small_store), "balance", "--out", "x.csv", "--format", "zoho"])
    assert exit_.value.code == 2
    assert "invalid choice: 'zoho'" in capsys.readouterr().err


def test_cli_format_without_out_says_what_to_add(small_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--db", str(small_store), "balance", "--format", "hubspot"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --format hubspot says how to write --out FILE; add --out FILE.csv (or .xlsx)"


def test_cli_bad_out_file_is_refused_before_the_solve(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long solve must not end in "use a .csv file name": the name is checked before anything is read.
    def no_solve(*_a: object, **_k: object) -> None:
        raise AssertionError("the solver ran")

    monkeypatch.setattr(scenarios, "inputs", no_solve)
    assert cli.main(["--db", str(small_store), "balance", "--out", str(tmp_path / "moves.txt")]) == 2
    assert capsys.readouterr().err.strip() == "error: cannot write moves.txt: use a .csv or .xlsx file name"
    (tmp_path / "dir.csv").mkdir()
    assert cli.main(["--db", str(small_store), "balance", "--out", str(tmp_path / "dir.csv")]) == 2
    assert "it is a folder" in capsys.readouterr().err


def test_a_user_id_counts_only_for_the_crm_the_rep_came_from() -> None:
    r = rows().assign(owner_source=["salesforce_dataloader", None, None])
    assert list(crm_files.owner_update(r, "salesforce").table["OwnerId"]) == ["005A", ""]
    # Pipedrive and HubSpot cannot use a Salesforce user id: they get the owner's email instead.
    assert list(crm_files.owner_update(r, "pipedrive").table["Organization - Owner"]) == ["cy@x.com", "di@x.com"]
    assert list(crm_files.owner_update(r, "hubspot").table["Company owner"]) == ["cy@x.com", "di@x.com"]
    dyn = crm_files.owner_update(r, "dynamics")
    assert list(dyn.table["ownerid"]) == ["", ""] and "2 of 2 accounts" in dyn.notes[0]


def test_cli_time_limit_reaches_the_solver_and_is_checked(
    small_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """balance --time-limit SECONDS is the solver's time limit (three metrics over 200 reps need more than the
    120 s default); out of range, one line says what to give; the time-limit error names the flag."""
    from planner import optimize

    seen: list[float] = []
    real = optimize.rebalance

    def spy(acc: pd.DataFrame, reps: pd.DataFrame, options: optimize.Options, *a: object, **k: object) -> object:
        seen.append(options.time_limit_s)
        return real(acc, reps, options, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(optimize, "rebalance", spy)
    assert cli.main(["--db", str(small_store), "balance", "--time-limit", "900"]) == 0
    assert seen == [900.0]
    capsys.readouterr()
    assert cli.main(["--db", str(small_store), "balance", "--time-limit", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --time-limit 0 is out of range; use 1 to 86400 seconds"
    from planner.optimize.options import time_limit_message

    assert "balance --time-limit" in time_limit_message(optimize.Options())
