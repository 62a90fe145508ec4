"""Pipedrive exports (Persons, Deals, Organizations) and batches with a file that holds nothing to import: a few rows
of each shape, with Pipedrive's 'Record - Field' headers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from planner import cli, ingest
from planner.errors import ImportFileError
from planner.ingest import fields as F
from planner.scope import OPERATOR
from tests.helpers import errors, page, table, table_kinds

ORGS = ("Organization - ID,Organization - Name,Organization - Owner,Organization - City/town/village/locality of "
        "Address,Organization - Country of Address\n"
        "101,Bolt Logistics OÜ,Kristjan Tamm,Tallinn,Estonia\n"
        "102,Wise Kontor AS,Mari Kask,Tallinn,Estonia\n")  # fmt: skip
PERSONS = ("Person - ID,Person - Name,Person - First name,Person - Last name,Person - Organization,"
           "Person - Email - Work,Person - Phone - Work,Person - Owner,Person - Job title\n"
           "9001,Anu Saar,Anu,Saar,Bolt Logistics OÜ,anu@bolt.example,+372 555 0100,Kristjan Tamm,CFO\n"
           "9002,Peeter Mets,Peeter,Mets,Wise Kontor AS,peeter@wise.example,+372 555 0101,Mari Kask,CEO\n")  # fmt: skip


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "columns",
    [
        PERSONS.splitlines()[0].split(","),
        ["Contact ID", "First Name", "Last Name", "Title", "Account Name", "Mailing City", "Email", "Contact Owner"],
        ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Contact owner", "Associated Company"],
        ["Id", "AccountId", "FirstName", "LastName", "Email", "MailingCity", "OwnerId"],
    ],
    ids=["pipedrive-persons", "salesforce-contacts", "hubspot-contacts", "dataloader-contacts"],
)
def test_contacts_exports_are_no_kind(columns: list[str]) -> None:
    """Customers' people (first and last name, email, linked to an organization) are not reps."""
    kind, _ = F.detect_kind(columns, "export.csv")
    assert kind is None and F.is_contacts(columns)
    assert "contacts export" in F.unknown_kind("export.csv", columns)


@pytest.mark.parametrize(
    "columns",
    [
        ["User ID", "Full Name", "Email", "Role", "Profile", "Title", "Active"],
        ["Id", "Username", "FirstName", "LastName", "Email", "IsActive", "UserRoleId"],
        ["first name", "last name", "email", "home city", "quota"],
    ],
)
def test_user_exports_stay_reps(columns: list[str]) -> None:
    assert F.detect_kind(columns)[0] == "reps" and not F.is_contacts(columns)


def test_pipedrive_persons_are_skipped_in_a_batch_and_refused_alone(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Persons export imported with the organizations creates no rep: it is skipped and named; alone it is
    refused with what it is and what to do."""
    orgs, persons = _write(tmp_path / "orgs.csv", ORGS), _write(tmp_path / "persons.csv", PERSONS)
    report = ingest.import_files(empty_store, [orgs, persons], scope=OPERATOR)
    assert [f.file for f in report.files] == ["orgs.csv"]
    assert any("persons.csv: a contacts export" in n for n in report.notes)
    assert table(empty_store, "SELECT name FROM reps ORDER BY 1") == [("Kristjan Tamm",), ("Mari Kask",)]
    code = cli.main(["--db", str(empty_store), "import", str(persons), "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and "persons.csv is a contacts export" in json.loads(out)["error"] and "--kind reps" in err


def test_pipedrive_won_and_lost_times_are_the_close_date(empty_store: Path, tmp_path: Path) -> None:
    """Won time for won deals, lost time for lost ones, 'Deal closed on' for either; open deals keep their
    expected close date (a reopened deal's old won time is not its close date)."""
    deals = _write(tmp_path / "deals.csv", "\n".join([
        "Deal - ID,Deal - Title,Deal - Value,Deal - Status,Deal - Owner,Deal - Organization,Deal - Won time,"
        "Deal - Lost time,Deal - Expected close date",
        "1,Won deal,100,Won,Kristjan Tamm,Bolt Logistics OÜ,2025-01-04 16:26:00,,2024-11-21",
        "2,Lost deal,100,Lost,Kristjan Tamm,Bolt Logistics OÜ,,2024-03-16 14:54:00,2024-05-01",
        "3,Open deal,100,Open,Kristjan Tamm,Bolt Logistics OÜ,2023-01-01 10:00:00,,2027-04-02",
        "4,Won then lost,100,Lost,Kristjan Tamm,Bolt Logistics OÜ,2023-01-01 10:00:00,2024-06-30 09:00:00,",
    ]) + "\n")  # fmt: skip
    f = ingest.import_files(empty_store, [deals], scope=OPERATOR).files[0]
    assert (f.mapping["Deal - Won time"], f.mapping["Deal - Lost time"]) == ("won_time", "lost_time")
    assert table(empty_store, "SELECT deal_id, is_won, is_closed, close_date FROM deals ORDER BY 1") == [
        ("1", True, True, date(2025, 1, 4)), ("2", False, True, date(2024, 3, 16)),
        ("3", False, False, date(2027, 4, 2)), ("4", False, True, date(2024, 6, 30))]  # fmt: skip
    header = "Deal - ID,Deal - Title,Deal - Status,Deal - Deal closed on,Deal - Expected close date,Deal - Owner"
    closed_on = _write(tmp_path / "deals2.csv", f"{header}\n1,Won deal,Won,2025-01-05,2024-11-21,Kristjan Tamm\n")
    f = ingest.import_files(empty_store, [closed_on], scope=OPERATOR).files[0]
    assert f.mapping["Deal - Deal closed on"] == "actual_close_date" and f.updated == 1
    assert table(empty_store, "SELECT close_date FROM deals WHERE deal_id = '1'") == [(date(2025, 1, 5),)]


def test_pipedrive_won_and_lost_times_that_are_no_dates_are_warned_of(empty_store: Path, tmp_path: Path) -> None:
    """'yesterday', '31/31/2024' or 'n/a' in Won time / Lost time left the close date empty without a word: each
    column gets the importer's one unreadable-value warning (count, example, what to do), and every row lands.
    'n/a' is an empty cell to the importer, in this column as in every other: no warning."""
    deals = _write(tmp_path / "deals.csv", "\n".join([
        "Deal - ID,Deal - Title,Deal - Value,Deal - Status,Deal - Owner,Deal - Organization,Deal - Won time,"
        "Deal - Lost time",
        "1,Won deal,100,Won,Kristjan Tamm,Bolt Logistics OÜ,yesterday,",
        "2,Won too,100,Won,Kristjan Tamm,Bolt Logistics OÜ,31/31/2024,",
        "3,Lost deal,100,Lost,Kristjan Tamm,Bolt Logistics OÜ,,last spring",
        "6,Lost too,100,Lost,Kristjan Tamm,Bolt Logistics OÜ,,n/a",
        "4,Read,100,Won,Kristjan Tamm,Bolt Logistics OÜ,2025-01-04 16:26:00,",
        "5,Open deal,100,Open,Kristjan Tamm,Bolt Logistics OÜ,,",
    ]) + "\n")  # fmt: skip
    f = ingest.import_files(empty_store, [deals], scope=OPERATOR).files[0]
    assert (f.rows_read, f.inserted, f.updated, f.rejected) == (6, 6, 0, 0)
    said = " value(s) could not be read as a date and were left empty (e.g. "
    tail = "; correct them in the CRM or the file and import it again"
    assert [w for w in f.warnings if "could not be read" in w] == [
        f"Deal - Won time: 2{said}'yesterday' on row 2){tail}",
        f"Deal - Lost time: 1{said}'last spring' on row 4){tail}",
    ]
    assert table(empty_store, "SELECT deal_id, is_won, is_closed, close_date FROM deals ORDER BY 1") == [
        ("1", True, True, None), ("2", True, True, None), ("3", False, True, None),
        ("4", True, True, date(2025, 1, 4)), ("5", False, False, None), ("6", False, True, None)]  # fmt: skip


def test_pipedrive_deal_organization_id_and_name_link_the_account(empty_store: Path, tmp_path: Path) -> None:
    """In a deals file 'Organization - ID' / 'Organization - Name' are the deal's account, not its own ID and title;
    'Organization - Owner' is the account's owner, not the deal's."""
    orgs = _write(tmp_path / "orgs.csv", ORGS)
    deals = _write(tmp_path / "deals.csv", "\n".join([
        "Organization - Owner,Deal - ID,Deal - Title,Deal - Value,Deal - Status,Deal - Owner,Organization - ID,"
        "Organization - Name",
        "Mari Kask,9001,Bolt renewal,12000,Won,Kristjan Tamm,101,Bolt Logistics OÜ",
        "Kristjan Tamm,9002,Wise upsell,8000,Open,Mari Kask,,Wise Kontor AS",
    ]) + "\n")  # fmt: skip
    f = ingest.import_files(empty_store, [orgs, deals], scope=OPERATOR).files[1]
    assert f.mapping["Organization - ID"] == "account_id" and f.mapping["Organization - Name"] == "account_name"
    assert f.mapping["Deal - ID"] == "id" and f.mapping["Deal - Owner"] == "owner"
    assert f.mapping["Organization - Owner"] == F.IGNORE
    assert table(empty_store, "SELECT d.deal_id, d.account_id, d.name, r.name FROM deals d JOIN reps r "
                              "ON r.rep_id = d.owner_rep_id ORDER BY 1") == [
        ("9001", "101", "Bolt renewal", "Kristjan Tamm"), ("9002", "102", "Wise upsell", "Mari Kask")]  # fmt: skip
    # In an organizations file the same headers are the account's own.
    assert F.propose_mapping(["Organization - ID", "Organization - Name"], "accounts") == {
        "Organization - ID": "id", "Organization - Name": "name"}  # fmt: skip


def test_a_batch_skips_a_header_only_or_unknown_file_unless_its_kind_is_named(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI imports the usable files of a batch and names the ones it skipped (a header without rows, an
    activities export); with --kind the bad file is an error and nothing is written."""
    orgs = _write(tmp_path / "orgs.csv", ORGS)
    empty = _write(tmp_path / "header_only.csv", "Account ID,Account Name,Billing City\n")
    activities = _write(tmp_path / "activities.csv", "Activity - ID,Activity - Subject,Activity - Type\n"
                        "7001,Follow-up call,Email\n")  # fmt: skip
    code = cli.main(["--db", str(empty_store), "import", str(orgs), str(empty), str(activities), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and [f["file"] for f in out["files"]] == ["orgs.csv"]
    assert any("header_only.csv: has a header but no data rows" in n and "activities.csv" in n for n in out["notes"])
    with pytest.raises(ImportFileError, match="header_only.csv has a header but no data rows"):
        ingest.import_files(empty_store, [orgs, empty], "accounts", scope=OPERATOR)


def test_data_page_preselects_skip_for_a_header_only_file_and_a_contacts_export(app_store: Path) -> None:
    """The preview says before Import that a header without rows and a Persons export will be skipped (neither
    offered as Accounts or Reps), and Import brings in the organizations alone."""
    at = page("data")
    at.get("file_uploader")[0].set_value([
        ("orgs.csv", ORGS.encode(), "text/csv"), ("persons.csv", PERSONS.encode(), "text/csv"),
        ("header_only.csv", b"Account ID,Account Name,Billing City\n", "text/csv"),
    ])  # fmt: skip
    at.run()
    assert errors(at) == []
    assert table_kinds(at) == ["accounts", "skip", "skip"]
    captions = " ".join(str(c.value) for c in at.caption)
    assert "a contacts export" in captions and "has a header but no data rows" in captions
    assert at.button(key="data_import").label == "Import 1 table"
    at.button(key="data_import").click().run()
    assert errors(at) == [] and any("Imported 2 new" in str(s.value) for s in at.success)


def test_pipedrive_one_line_address_gives_postal_code_city_and_country(empty_store: Path, tmp_path: Path) -> None:
    """An organizations file whose only location is 'Organization - Address' is placed from it; what cannot be
    read is warned of, not silently left."""
    orgs = _write(tmp_path / "orgs.csv", "\n".join([
        "Organization - ID,Organization - Name,Organization - Owner,Organization - Address",
        '201,Acme Holzbau GmbH,Jonas Becker,"Leopoldstraße 28, 80802 München, Germany"',
        '202,Bluewave Marine Ltd,Jonas Becker,"Queen\'s Road 3, Belfast BT3 9DT, United Kingdom"',
        '203,Cedar Dental LLC,Jonas Becker,"1 Broadway, Cambridge, MA 02139, USA"',
        '204,Nowhere Ltd,Jonas Becker,"Somewhere street 5"',
    ]) + "\n")  # fmt: skip
    f = ingest.import_files(empty_store, [orgs], scope=OPERATOR).files[0]
    assert f.mapping["Organization - Address"] == "address"
    assert table(empty_store, "SELECT account_id, city, state, postal_code, country, geo_method <> 'none' "
                              "FROM accounts ORDER BY 1") == [
        ("201", "München", None, "80802", "Germany", True), ("202", "Belfast", None, "BT3 9DT", "United Kingdom", True),
        ("203", "Cambridge", "MA", "02139", "USA", True), ("204", None, None, None, None, False)]  # fmt: skip
    assert [w for w in f.warnings if "1 of the first 4 addresses" in w and "'Somewhere street 5'" in w]


def test_pipedrive_address_parts_of_any_address_field_are_read() -> None:
    """2026 exports name the parts '<part> of Company Address': read as city, postal code, state and country."""
    columns = ["Organization - Name", "Organization - City/town/village/locality of Company Address",
               "Organization - ZIP/Postal code of Company Address", "Organization - Region of Company Address",
               "Organization - Country of Company Address"]  # fmt: skip
    mapping = F.propose_mapping(columns, "accounts")
    assert [mapping[c] for c in columns] == ["name", "city", "postal_code", "state", "country"]
