"""Importing CRM exports into the store: counts, upserts, links, owners, geocoding, all-or-nothing, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from bench import import_speed as bench
from planner import cli, ingest, store
from planner.errors import ImportFileError
from planner.ingest import fields as F
from planner.ingest import rules
from planner.scope import OPERATOR
from planner.store.imports.geocode import _geo_select
from tests.helpers import assert_one_row_per_key, table

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def s(name: str) -> Path:
    return SAMPLES / name


def test_salesforce_report_replaces_demo_world(small_store: Path) -> None:
    report = ingest.import_files(
        small_store, [s("salesforce_accounts_report.csv"), s("salesforce_opportunities_report.csv")], scope=OPERATOR
    )
    assert report.cleared_demo
    acc, opp = report.files
    assert (acc.source, acc.kind, acc.rows_read, acc.inserted, acc.updated, acc.rejected) == (
        "salesforce",
        "accounts",
        6,
        4,
        0,
        2,
    )
    assert acc.rejects == [
        {"row": 6, "reason": "Account ID is empty"},
        {"row": 7, "reason": "duplicate Account ID '0015g00000AbCdF' (first on row 3)"},
    ]
    assert acc.footer_rows == 5
    # A deal naming an account the files lack creates it, flagged as created from deals.
    assert (opp.kind, opp.rows_read, opp.inserted, opp.rejected, opp.accounts_created) == ("deals", 4, 4, 0, 1)
    assert table(small_store, "SELECT count(*) FROM accounts") == [(5,)]
    assert table(small_store, "SELECT account_id, from_deals, geo_method FROM accounts WHERE from_deals") == [
        ("0015g00000ZZZZZ", True, "none")
    ]
    assert table(small_store, "SELECT value FROM meta WHERE key = 'is_demo'") == [("0",)]
    assert table(small_store, "SELECT count(*) FROM meta WHERE key = 'demo_today'") == [(0,)]
    acme = table(small_store, """SELECT annual_revenue, employees, employee_growth, intent_score, new_executive,
                                        postal_code, state, geo_method, owner_rep_id FROM accounts
                                 WHERE account_id = '0015g00000AbCdE'""")[0]  # fmt: skip
    assert acme[:8] == (12_500_000.0, 250, 0.125, 78.0, True, "02134", "MA", "zip")
    reps = dict(table(small_store, "SELECT name, rep_id FROM reps"))
    assert set(reps) == {"Maya Patel", "Noah Kim"} and acme[8] == reps["Maya Patel"]
    assert table(small_store, "SELECT rep_id FROM assignments WHERE account_id = '0015g00000AbCdE'") == [
        (reps["Maya Patel"],)
    ]
    # Springfield, IL has no ZIP in the file: placed by city and state.
    assert table(small_store, "SELECT geo_method FROM accounts WHERE account_id = '0015g00000AbCdH'") == [("city",)]
    assert table(
        small_store, "SELECT attr, text_value FROM account_attributes WHERE account_id = '0015g00000AbCdE'"
    ) == [("tech_stack", "Snowflake")]
    won = table(
        small_store,
        "SELECT is_won, is_closed, amount, close_date::VARCHAR FROM deals WHERE deal_id = '0065g00000XyZ01'",
    )
    assert won == [(True, True, 120_000.0, "2026-03-15")]
    hist = table(
        small_store,
        "SELECT file_name, kind, rows_read, inserted, updated, rejected, length(sha256) FROM imports ORDER BY 1",
    )
    assert hist == [("salesforce_accounts_report.csv", "accounts", 6, 4, 0, 2, 64),
                    ("salesforce_opportunities_report.csv", "deals", 4, 4, 0, 0, 64)]  # fmt: skip
    assert table(small_store, "SELECT count(*) FROM rejected_rows") == [(2,)]


def test_reimport_changes_nothing(empty_store: Path) -> None:
    files = [s("salesforce_accounts_report.csv"), s("salesforce_opportunities_report.csv")]
    ingest.import_files(empty_store, files, scope=OPERATOR)
    snapshot = "SELECT * FROM accounts ORDER BY account_id"
    before = table(empty_store, snapshot), table(empty_store, "SELECT * FROM deals ORDER BY deal_id")
    again = ingest.import_files(empty_store, files, scope=OPERATOR)
    for f in again.files:
        assert f.inserted == 0 and f.rows_read == f.updated + f.rejected  # matched rows count as updated
    assert (table(empty_store, snapshot), table(empty_store, "SELECT * FROM deals ORDER BY deal_id")) == before
    assert table(empty_store, "SELECT count(*) FROM reps") == [(2,)]


def test_update_changes_only_the_mapped_columns(empty_store: Path, tmp_path: Path) -> None:
    ingest.import_files(empty_store, [s("salesforce_accounts_report.csv")], scope=OPERATOR)
    update = tmp_path / "update.csv"
    update.write_text("Account ID,Account Name,Employees\n0015g00000AbCdE,Acme Analytics Inc,300\n")
    rep = ingest.import_files(empty_store, [update], "accounts", scope=OPERATOR).files[0]
    assert (rep.inserted, rep.updated) == (0, 1)
    row = table(
        empty_store,
        "SELECT name, employees, annual_revenue, postal_code FROM accounts WHERE account_id = '0015g00000AbCdE'",
    )
    assert row == [("Acme Analytics Inc", 300, 12_500_000.0, "02134")]


def test_any_unusable_file_writes_nothing(small_store: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"%PDF-1.4 not a table")
    before = store.fingerprint(small_store)
    with pytest.raises(ImportFileError, match="bad.csv is a PDF"):
        ingest.import_files(small_store, [s("salesforce_accounts_report.csv"), bad], scope=OPERATOR)
    assert store.fingerprint(small_store) == before
    assert table(small_store, "SELECT value FROM meta WHERE key = 'is_demo'") == [("1",)]


@pytest.mark.parametrize(
    ("content", "kind", "match"),
    [
        ("Billing City,Employees,Industry\nBoston,5,Retail\n", "accounts", "has no account ID or account name column"),
        ("Account ID,Account Name,Billing City\n", "auto", "header but no data rows"),
        ("Account ID,Account Name,Billing City,Employees,Industry\n1,Acme,Boston,5,Retail\n", "deals",
         "looks like an export of accounts, not deals"),
        ("Foo,Bar\n1,2\n", "auto", "cannot tell whether"),
    ],
)  # fmt: skip
def test_bad_files(empty_store: Path, tmp_path: Path, content: str, kind: str, match: str) -> None:
    path = tmp_path / "file.csv"
    path.write_text(content)
    with pytest.raises(ImportFileError, match=match):
        ingest.import_files(empty_store, [path], kind, scope=OPERATOR)


def test_single_huge_field_is_a_clear_error(empty_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text('Account ID,Account Name\n1,"' + "x" * 10_000_000 + '"\n')
    with pytest.raises(ImportFileError, match="larger than 4 MB"):
        ingest.import_files(empty_store, [path], scope=OPERATOR)


def test_hubspot_companies_and_deals(empty_store: Path) -> None:
    r = ingest.import_files(empty_store, [s("hubspot_deals.csv"), s("hubspot_companies.csv")], scope=OPERATOR)
    deals, companies = r.files  # reported in the order given, imported companies first
    # A deal with no company is kept as its owner's pipeline, not linked to an account.
    assert (companies.inserted, deals.inserted, deals.rejected, deals.unlinked) == (3, 3, 0, 1)
    # 'Associated Company IDs' = '9001;9002': the first is the deal's company.
    assert table(empty_store, "SELECT account_id, is_won, is_closed FROM deals WHERE deal_id = '5001'") == [
        ("9001", True, True)
    ]
    owners = table(empty_store, "SELECT name, email FROM reps ORDER BY name")
    assert owners == [("Jamal Ali", "jamal.ali@example.com"), ("Leah Cohen", None)]
    # Canada is not geocoded with US data (its centre places it); Florida / California full names become codes.
    assert table(empty_store, "SELECT state, geo_method, country_code FROM accounts ORDER BY account_id") == [
        ("FL", "zip", "US"), ("CA", "zip", "US"), ("ZZ", "country", "CA")]  # fmt: skip


def test_pipedrive_deals_link_by_unambiguous_name(empty_store: Path) -> None:
    ingest.import_files(empty_store, [s("pipedrive_organizations.csv")], scope=OPERATOR)
    deals = ingest.import_files(empty_store, [s("pipedrive_deals.csv")], scope=OPERATOR).files[0]
    assert (deals.inserted, deals.rejected) == (1, 1)
    assert deals.rejects[0]["reason"] == "account name 'Pioneer Plastics' matches 2 accounts; add the account ID column"
    assert table(empty_store, "SELECT account_id, is_won, is_closed FROM deals") == [("303", True, True)]


def test_data_loader_owner_ids_enriched_by_user_export(empty_store: Path) -> None:
    r = ingest.import_files(
        empty_store, [s("dataloader_accounts.csv"), s("dataloader_opportunities.csv")], scope=OPERATOR
    )
    assert [f.inserted for f in r.files] == [3, 2]
    # An OwnerId is no one's name: the rep keeps it as its user ID, is shown as a Salesforce user, and the note
    # asks for the users file.
    assert table(empty_store, "SELECT crm_id, name FROM reps ORDER BY crm_id") == [
        ("0055g00000UsR01AAA", "Salesforce user 0055g00000UsR01AAA"),
        ("0055g00000UsR02AAA", "Salesforce user 0055g00000UsR02AAA")]  # fmt: skip
    assert any("user IDs only" in n and "users file (User ID, Full Name)" in n for n in r.files[0].notes)
    users = ingest.import_files(empty_store, [s("dataloader_users.csv")], scope=OPERATOR).files[0]
    assert (users.kind, users.inserted, users.updated) == ("reps", 0, 2)
    assert table(empty_store, "SELECT name, email, quota, home_state FROM reps ORDER BY crm_id") == [
        ("Grace Okafor", "grace.okafor@example.com", 1_200_000.0, "WA"),
        ("Kenji Tanaka", "kenji.tanaka@example.com", 900_000.0, "OR"),
    ]
    # Coordinates in the file win over the ZIP centroid.
    assert table(empty_store, "SELECT lat, geo_method FROM accounts WHERE account_id = '0015g00000DlA01AAA'") == [
        (47.6101, "file")]  # fmt: skip
    assert table(empty_store, "SELECT users FROM deals WHERE deal_id = '0065g00000DlO01AAA'") == [(150,)]


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        (["EUR 64.000", "EUR 158.000", "EUR 5.000"], [64_000.0, 158_000.0, 5_000.0]),
        (["$64,000", "$158,000", "$5,000"], [64_000.0, 158_000.0, 5_000.0]),
        (["64.5", "158.25", "64.000"], [64.5, 158.25, 64.0]),  # decimal dots shown elsewhere: 64.000 is 64
    ],
)
def test_whole_amounts_with_one_thousands_group_are_thousands(
    empty_store: Path, tmp_path: Path, amounts: list[str], expected: list[float]
) -> None:
    """'EUR 64.000' in a deals file whose every amount is a whole thousand gave 64 (nothing else in the file told
    the decimal comma): in money and head counts, a separator before exactly three last digits is thousands, unless
    the file's other values show decimal dots."""
    rows = [f'D{i},Acme {i},Qualification,"{a}",2026-10-01' for i, a in enumerate(amounts)]
    path = tmp_path / "deals.csv"
    path.write_text("Opportunity Name,Account Name,Stage,Amount,Close Date\n" + "\n".join(rows) + "\n")
    f = ingest.import_files(empty_store, [path], scope=OPERATOR).files[0]
    assert (f.rows_read, f.inserted) == (3, 3)
    assert [a for (a,) in table(empty_store, "SELECT amount FROM deals ORDER BY name")] == expected


def test_messy_files(empty_store: Path) -> None:
    r = ingest.import_files(
        empty_store, [s("messy_cp1252_semicolon.csv"), s("messy_utf8_bom_crlf.csv")], scope=OPERATOR
    )
    assert [f.rows_read for f in r.files] == [3, 2]
    assert any("decimal commas" in n for n in r.files[0].notes)
    rows = table(empty_store, "SELECT account_id, name, employees, annual_revenue, postal_code, state, geo_method "
                              "FROM accounts ORDER BY account_id")  # fmt: skip
    assert rows == [
        ("B-1", "“Quoted” Widgets", 1100, 2_500_000.0, "06103", "CT", "zip"),
        ("B-2", "Ünïcode Systems", 50, None, "04101", "ME", "zip"),
        ("K-1", "Café Müller GmbH", 1250, 1_200_000.5, "07102", "NJ", "zip"),
        ("K-2", "Société Générale Ltd", 80, 950_000.0, "06103", "CT", "zip"),
        ("K-3", "Señor Taco's", 12, 45_000.0, "79901", "TX", "zip"),
    ]


def test_workbook_with_several_sheets(empty_store: Path) -> None:
    r = ingest.import_files(empty_store, [s("workbook_accounts_opportunities.xlsx")], scope=OPERATOR)
    assert [(f.file, f.kind, f.inserted) for f in r.files] == [
        ("workbook_accounts_opportunities.xlsx [Accounts]", "accounts", 2),
        ("workbook_accounts_opportunities.xlsx [Opportunities]", "deals", 2),
    ]
    assert table(empty_store, "SELECT postal_code FROM accounts WHERE account_id = 'X-1'") == [("06103",)]


def test_typed_custom_attributes(empty_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "custom.csv"
    path.write_text(
        "Account ID,Account Name,Funding Rounds,Uses Competitor,Renewal Date,Segment Code,Bad Numbers\n"
        "1,A,3,Yes,2026-01-31,ENT,5\n2,B,,No,2026-02-28,SMB,abc\n"
    )
    rep = ingest.import_files(empty_store, [path], scope=OPERATOR).files[0]
    assert {a["attr"]: a["dtype"] for a in rep.attributes} == {
        "funding_rounds": "number", "uses_competitor": "boolean", "renewal_date": "date", "segment_code": "text",
        "bad_numbers": "text"}  # fmt: skip
    sql = "SELECT attr, num_value, text_value FROM account_attributes WHERE account_id = '1' ORDER BY attr"
    assert table(empty_store, sql) == [
        ("bad_numbers", None, "5"), ("funding_rounds", 3.0, "3"), ("renewal_date", 20484.0, "2026-01-31"),
        ("segment_code", None, "ENT"), ("uses_competitor", 1.0, "Yes")]  # fmt: skip


def test_overlapping_imports_keep_one_row_per_key(empty_store: Path, tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_text(
        "Account ID,Account Name,Account Owner,Intent Score,Renewal Date\n"
        "1,A,Ann Lee,50,2026-01-31\n2,B,Bo Chen,60,2026-02-28\n2,B again,Bo Chen,61,2026-03-01\n"
    )
    second = tmp_path / "second.csv"
    second.write_text(
        "Account ID,Account Name,Account Owner,Intent Score,Renewal Date\n"
        "2,B,Ann Lee,70,2026-04-30\n3,C,Cy Diaz,80,2026-05-31\n"
    )
    for files in ([first], [first], [second], [first, second]):
        ingest.import_files(empty_store, files, scope=OPERATOR)
        assert_one_row_per_key(empty_store)
    assert table(empty_store, "SELECT count(*) FROM accounts") == [(3,)]
    assert table(empty_store, "SELECT count(*) FROM account_attributes WHERE attr = 'renewal_date'") == [(3,)]


def test_invalid_values_are_warned_and_left_empty(empty_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "warn.csv"
    # A negative revenue is no revenue (a CRM's sign error, or a hostile value): left empty and said, like text.
    path.write_text("Account ID,Account Name,Employees,Annual Revenue\n1,A,lots,$5\n2,B,7,cheap\n3,C,9,-5\n4,D,2,0\n")
    rep = ingest.import_files(empty_store, [path], scope=OPERATOR).files[0]
    assert rep.inserted == 4 and rep.rejected == 0
    assert rep.warnings[:2] == [
        "Employees: 1 value(s) could not be read as a head count and were left empty (e.g. 'lots' on row 2); "
        "correct them in the CRM or the file and import it again",
        "Annual Revenue: 2 value(s) could not be read as a number of 0 or more and were left empty (e.g. 'cheap' on "
        "row 3); correct them in the CRM or the file and import it again",
    ]
    assert len(rep.warnings) == 3 and rep.warnings[2].startswith("no column was read as Owner")
    assert table(empty_store, "SELECT name, annual_revenue FROM accounts ORDER BY name") == [
        ("A", 5.0), ("B", None), ("C", None), ("D", 0.0),
    ]  # fmt: skip


def test_remembered_mapping_is_used_next_time(empty_store: Path) -> None:
    plans = ingest.inspect_file(empty_store, s("salesforce_accounts_report.csv"))
    mapping = dict(plans[0].mapping, **{"Tech Stack": F.IGNORE})
    name = plans[0].table.name
    ingest.import_files(
        empty_store,
        [s("salesforce_accounts_report.csv")],
        overrides={name: {"kind": "accounts", "mapping": mapping}},
        scope=OPERATOR,
    )
    again = ingest.inspect_file(empty_store, s("salesforce_accounts_report.csv"))[0]
    assert again.remembered and again.mapping["Tech Stack"] == F.IGNORE
    assert table(empty_store, "SELECT count(*) FROM account_attributes") == [(0,)]


def test_geocoding_coverage_and_benchmark_helper(tmp_path: Path) -> None:
    path = tmp_path / "sf.csv"
    assert bench.write_salesforce_export(path, 1500, seed=5) == 1500
    result = bench.time_import(path, tmp_path)
    assert result["rows"] == result["inserted"] == 1500
    assert result["geocoded_valid_zip"] >= 0.995 * result["valid_zip"] and result["valid_zip"] >= 1450
    assert result["read_csv_s"] > 0 and result["import_s"] > 0


def test_world_cities_place_accounts_by_hash_join(empty_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "world.csv"
    path.write_text("Account ID,Account Name,Billing City,Billing Country,Billing Zip/Postal Code\n"
                    "W1,Maple Ltd,Toronto,Canada,\nW2,Isar GmbH,München,Germany,\nW3,Nowhere Inc,Nowhere,Canada,\n"
                    "W4,Empire LLC,New York,USA,10001\n")  # fmt: skip
    assert ingest.import_files(empty_store, [path], scope=OPERATOR).files[0].inserted == 4
    assert table(empty_store, "SELECT account_id, geo_method, country_code FROM accounts ORDER BY 1") == [
        ("W1", "city", "CA"), ("W2", "city", "DE"), ("W3", "country", "CA"), ("W4", "zip", "US")]  # fmt: skip
    # Every geocoder join is a hash join: a nested loop over 90,000 world cities cost minutes per 1M accounts (the
    # tenth and eleventh: the namesake view's shared city names with the import's countries, _tp_ctx).
    con = duckdb.connect()
    con.execute("CREATE TABLE geo_zip (postal_code VARCHAR, city VARCHAR, state VARCHAR, county VARCHAR, lat DOUBLE, "
                "lon DOUBLE)")  # fmt: skip
    con.execute("CREATE TABLE geo_city (city_key VARCHAR, lat DOUBLE, lon DOUBLE, county VARCHAR)")
    rules.install(con)
    rows = "SELECT 'Toronto' AS city, NULL::VARCHAR AS state, NULL::VARCHAR AS postal_code, 'Canada' AS country"
    plan = "".join(
        r[1] for r in con.execute("EXPLAIN " + _geo_select(f"({rows})", "x", "NULL", "NULL", "country")).fetchall()
    )
    assert plan.count("HASH_JOIN") == 11 and "NESTED_LOOP" not in plan and "BLOCKWISE" not in plan
    con.close()


def test_place_unplaced_accounts(empty_store: Path) -> None:
    ingest.import_files(empty_store, [s("hubspot_companies.csv")], scope=OPERATOR)
    with store.read(empty_store) as con:
        unplaced = ingest.unplaced_accounts(con, scope=OPERATOR)
    # Canada is known but 'Nowhere' is no city: placed only by its country, so listed to be placed better.
    assert list(unplaced["account_id"]) == ["9003"] and list(unplaced["placed"]) == ["country only"]
    unplaced.loc[0, ["city", "state", "postal_code", "country"]] = ["Buffalo", "New York", "14202", "USA"]
    assert ingest.place_accounts(empty_store, unplaced, scope=OPERATOR) == 1
    assert table(empty_store, "SELECT state, postal_code, geo_method FROM accounts WHERE account_id = '9003'") == [
        ("NY", "14202", "zip")]  # fmt: skip


def test_cli_json_contract(empty_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["--db", str(empty_store), "import", str(s("salesforce_accounts_report.csv")), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["files", "notes"]
    f = out["files"][0]
    assert list(f) == ["file", "source", "kind", "rows_read", "inserted", "updated", "rejected", "rejects", "notes",
                       "warnings", "owners_kept_from_plan", "owner_conflicts", "unchanged", "accounts_missing",
                       "deals_missing"]  # fmt: skip
    assert all(isinstance(w, str) for w in f["notes"] + f["warnings"] + out["notes"])
    assert (f["rows_read"], f["inserted"], f["updated"], f["rejected"]) == (6, 4, 0, 2)
    assert f["rejects"][0] == {"row": 6, "reason": "Account ID is empty"}


def test_cli_unusable_file_exits_2_with_one_line(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    before = store.fingerprint(empty_store)
    code = cli.main(["--db", str(empty_store), "import", str(s("hubspot_companies.csv")), str(empty), "--kind", "auto"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: empty.csv is empty")
    assert store.fingerprint(empty_store) == before


def test_cli_text_output(small_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--db", str(small_store), "import", str(s("users_reps.csv"))]) == 0
    out = capsys.readouterr().out
    assert "the demo world was removed" in out and "users_reps.csv: reps from generic: 3 rows read, 3 inserted" in out


def test_salesforce_18_character_ids_find_15_character_accounts(empty_store: Path, tmp_path: Path) -> None:
    ingest.import_files(empty_store, [s("salesforce_accounts_report.csv")], scope=OPERATOR)
    opp = tmp_path / "opps.csv"
    opp.write_text(
        "Id,Name,AccountId,StageName,Amount,CloseDate\n"
        "0065g00000Zz001AAA,Renewal,0015g00000AbCdEAAA,Closed Won,100,2026-01-05\n"
    )
    rep = ingest.import_files(empty_store, [opp], scope=OPERATOR).files[0]
    assert (rep.inserted, rep.rejected) == (1, 0)
    assert table(empty_store, "SELECT account_id, is_won FROM deals") == [("0015g00000AbCdE", True)]


def test_ragged_and_badly_quoted_rows_are_rejected_one_by_one(any_empty_store: Path, tmp_path: Path) -> None:
    """Ragged and badly quoted rows on each backend: the strict read fails and the importer reads again, keeping
    going and numbering rows as a spreadsheet does. On a lake the import is one transaction, and the failed
    read once aborted it ('cannot be read as a CSV table')."""
    # Spreadsheet rows: 1 header, 2 A1, 3 A2 (4 fields), 4 blank, 5-6 A3 (a quoted line break, one row),
    # 6 A4 (stray quote), 7 A5 (short row, padded), 8 blank, 9 A1 again (duplicate), 10 blank, 11 footer.
    path = tmp_path / "ragged.csv"
    path.write_bytes(
        b"Account ID,Account Name,Billing Zip/Postal Code\r\nA1,Acme,02134\r\nA2,Beta,10001,EXTRA\r\n\r\n"
        b'A3,"Multi\r\nline",60601\r\nA4,"bad"q,60601\r\nA5,Short\r\n\r\nA1,Acme again,02134\r\n\r\n'
        b"Grand Totals (6 records)\r\n"
    )
    f = ingest.import_files(any_empty_store, [path], scope=OPERATOR).files[0]
    assert (f.rows_read, f.inserted, f.updated, f.rejected) == (6, 3, 0, 3)
    assert [(r["row"], r["reason"].split(":")[0]) for r in f.rejects] == [
        (3, "row has 4 fields where the header has 3"),
        (6, "stray quote"),
        (9, "duplicate Account ID 'A1' (first on row 2)"),
    ]
    assert table(any_empty_store, "SELECT account_id, name FROM accounts ORDER BY 1") == [
        ("A1", "Acme"), ("A3", "Multi\r\nline"), ("A5", "Short")
    ]  # fmt: skip
    kept = table(any_empty_store, "SELECT row_number, raw FROM rejected_rows ORDER BY 1")
    assert kept[0] == (3, '{"line":"A2,Beta,10001,EXTRA"}')
    assert [r[0] for r in kept] == [3, 6, 9]


def test_rows_after_blank_lines_keep_their_spreadsheet_numbers(empty_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("Account ID,Account Name\n\nA1,Acme\n\n\nA2,\nA3,Gamma\n")
    f = ingest.import_files(empty_store, [path], scope=OPERATOR).files[0]
    assert (f.rows_read, f.inserted, f.rejected) == (3, 2, 1)
    assert f.rejects == [{"row": 6, "reason": "Account Name is empty"}]


def test_mixed_encodings_and_mixed_line_breaks(empty_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        "Account ID,Account Name\nA1,Zürich AG\n".encode() + "A2,Café Lyon\r".encode("cp1252") + b"A3,Plain\n"
    )
    f = ingest.import_files(empty_store, [path], scope=OPERATOR).files[0]
    assert (f.rows_read, f.inserted, f.rejected) == (3, 3, 0)
    assert table(empty_store, "SELECT name FROM accounts ORDER BY 1") == [("Café Lyon",), ("Plain",), ("Zürich AG",)]


def test_cp1252_row_past_the_sniffed_sample(empty_store: Path, tmp_path: Path) -> None:
    """The sample (256 kB) is UTF-8; a cp1252 row after it is read as cp1252, the UTF-8 rows stay intact."""
    path = tmp_path / "late.csv"
    rows = ["Account ID,Account Name"] + [f"A{i},Zürich {i}" for i in range(20000)]
    path.write_bytes(("\n".join(rows) + "\n").encode() + "B1,Café Lyon\n".encode("cp1252"))
    f = ingest.import_files(empty_store, [path], scope=OPERATOR).files[0]
    assert (f.rows_read, f.inserted, f.rejected) == (20001, 20001, 0)
    assert "mixed encodings" in " ".join(f.notes)
    names = table(empty_store, "SELECT name FROM accounts WHERE account_id IN ('A5', 'B1') ORDER BY 1")
    assert names == [("Café Lyon",), ("Zürich 5",)]


def test_excel_serial_and_compact_dates_read_as_dates(empty_store: Path, tmp_path: Path) -> None:
    """A workbook whose date columns are not formatted as dates holds Excel's serial day numbers (45000, with
    the time as a fraction); a warehouse export writes YYYYMMDD. Both are dates, not unreadable values."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["Opportunity ID", "Account ID", "Account Name", "Opportunity Name", "Stage", "Amount", "Close Date",
               "Created Date"])  # fmt: skip
    ws.append(["D-1", "A-1", "Acme", "Renewal", "Closed Won", 1000, 45000, 44927.5])
    ws.append(["D-2", "A-1", "Acme", "Upsell", "Prospecting", 2000, "20240115", "20231201"])
    path = tmp_path / "serial_dates.xlsx"
    wb.save(path)
    r = ingest.import_files(empty_store, [path], scope=OPERATOR, kind="deals")
    f = r.files[0]
    assert (f.rows_read, f.inserted, f.rejected) == (2, 2, 0)
    assert not [n for n in f.notes if "date" in n.lower()], f.notes
    rows = table(empty_store, "SELECT deal_id, close_date::VARCHAR, created_date::VARCHAR FROM deals ORDER BY 1")
    assert rows == [("D-1", "2023-03-15", "2023-01-01"), ("D-2", "2024-01-15", "2023-12-01")]
