"""Reading CRM exports: value parsers (Python reference and SQL twins), sniffing, detection, mapping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import geo_world, store
from planner.errors import BadInput, ImportFileError
from planner.ingest import fields as F
from planner.ingest import parse, reader, rules
from planner.store import imports as sq

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """A write connection on a scratch store with the parsing macros installed."""
    path = tmp_path_factory.mktemp("crm") / "s.duckdb"
    with store.write(path) as c:
        rules.install(c, world=False)
        yield c


# ---- Python reference parsers: hand-computed examples


@pytest.mark.parametrize(
    ("text", "comma", "expected"),
    [
        ("$1,200,000.00", False, 1_200_000.0),
        ("USD 1,200,000", False, 1_200_000.0),
        ("1.200.000,00 €", True, 1_200_000.0),
        ("1 200 000,50", True, 1_200_000.5),
        ("(1,200)", False, -1200.0),
        ("12.5%", False, 0.125),
        ("3.4M", False, 3_400_000.0),
        ("$1.2B", False, 1_200_000_000.0),
        ("1.2E+09", False, 1.2e9),
        ("42", False, 42.0),
        ("N/A", False, None),
        ("-", False, None),
        ("", False, None),
        ("lots", False, None),
        ("1,2,3", False, None),
        # Other countries' exports: Indian grouping (lakh, crore), other codes, signs and local abbreviations.
        ("₹12,00,000", False, 1_200_000.0),
        ("INR 1,20,00,000.00", False, 12_000_000.0),
        ("Rs. 5,00,000", False, 500_000.0),
        ("₩1,200,000", False, 1_200_000.0),
        ("CHF 1'200'000", False, 1_200_000.0),
        ("1 200 000 zł", True, 1_200_000.0),
        ("R$ 1.200.000,00", True, 1_200_000.0),
        ("1.5M EUR", False, 1_500_000.0),
        ("1.5 Mio", False, None),  # not a code: never read as 1.5
        # A value only the other style writes, in a file of one style (a '€60.000.000' quota among '£1,200,000'
        # ones was left empty); an ambiguous one keeps the file's style.
        ("€60.000.000", False, 60_000_000.0),
        ("EUR 1.234,56", False, 1234.56),
        ("60,000,000", True, 60_000_000.0),
        ("$1,234.56", True, 1234.56),
        ("€900.000", False, 900.0),
        ("1.2.3", False, None),
    ],
)
def test_parse_number(text: str, comma: bool, expected: float | None) -> None:
    assert parse.parse_number(text, comma) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("51-200", 126), ("10,001+", 10001), ("1,250", 1250), ("250", 250), ("1 to 10", 6), ("many", None)],
)
def test_parse_employees(text: str, expected: int | None) -> None:
    assert parse.parse_employees(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Yes", True), ("no", False), ("TRUE", True), ("0", False), ("1", True), ("Y", True), ("x", True),
     ("", None), ("maybe", None)],
)  # fmt: skip
def test_parse_bool(text: str, expected: bool | None) -> None:
    assert parse.parse_bool(text) is expected


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("3/15/2026", False, date(2026, 3, 15)),
        ("15/3/2026", True, date(2026, 3, 15)),
        ("15.03.2026", True, date(2026, 3, 15)),
        ("01-03-17", True, date(2017, 3, 1)),
        ("01-03-17", False, date(2017, 1, 3)),
        ("2026-03-15", False, date(2026, 3, 15)),
        ("2025-11-02T14:22:00.000Z", False, date(2025, 11, 2)),
        ("11/26/2026 9:15 AM", False, date(2026, 11, 26)),
        ("2/30/2026", False, None),
        ("3/15/26", False, date(2026, 3, 15)),
        ("soon", False, None),
        # Excel's serial day numbers, as a date column not formatted as a date holds them (time as a fraction)
        ("45000", False, date(2023, 3, 15)),
        ("45292.75", True, date(2024, 1, 1)),
        (" 45000 ", False, date(2023, 3, 15)),
        ("4500", False, None),
        ("450000", False, None),
        ("-45000", False, None),
        # compact YYYYMMDD, as ERP and warehouse exports write dates
        ("20240115", False, date(2024, 1, 15)),
        ("20241315", False, None),
        ("12152024", False, None),
    ],
)
def test_parse_date(text: str, day_first: bool, expected: date | None) -> None:
    assert parse.parse_date(text, day_first) == expected


@pytest.mark.parametrize(
    ("stage", "expected"),
    [("Closed Won", "won"), ("ClosedWon", "won"), ("closed-won", "won"), ("Won", "won"), ("Closed Lost", "lost"),
     ("Closed", "lost"), ("Closed - No Decision", "lost"), ("Lost to competitor", "lost"),
     ("Negotiation/Review", "open"), ("Won't buy", "open"), ("Abgeschlossen und gewonnen", "won"),
     ("Geschlossen und verloren", "lost"),
     ("Geschlossen", "lost"), ("Fermée gagnée", "won"), ("Fermée/Perdue", "lost"), ("Cerrada ganada", "won"),
     ("Cerrada perdida", "lost"), ("Fechado ganho", "won"), ("Chiusa vinta", "won"), ("Chiusa persa", "lost"),
     ("Gesloten gewonnen", "won"), ("Stängd vunnen", "won"), ("Stängd förlorad", "lost"), ("Verhandlung", "open"),
     ("Angebot", "open"), ("Organisation", "open"), (" ", None), ("", None),
     ("Успешно реализовано", "won"), ("Закрыто и не реализовано", "lost"), ("Сделка успешна", "won"),
     ("Сделка провалена", "lost"), ("Переговоры", "open"), ("Vyhráno", "won"), ("Kaybedildi", "lost"),
     ("成約", "won"), ("クローズ済み成立", "won"), ("失注", "lost"), ("不成立", "lost"), ("成約見込み", "open"),
     ("商談中", "open"), ("已结束/已赢得", "won"), ("赢单", "won"), ("已成交", "won"), ("預計成交", "open"),
     ("已结束/已丢失", "lost"), ("输单", "lost"), ("已關閉", "lost"), ("谈判", "open"), ("계약 성사", "won"),
     ("성사됨", "won"), ("성사 가능성 높음", "open"), ("계약 실패", "lost"), ("종료", "lost"), ("협상", "open"),
     ("WON", "won"), ("LOSE", "lost"), ("C1:WON", "won"), ("C1:LOSE", "lost"), ("C3:APOLOGY", "lost"),
     ("C1:PREPARATION", "open"), ("WAIT_CLIENT", "open")],
)  # fmt: skip
def test_stage_outcome_in_the_crms_languages(stage: str, expected: str | None) -> None:
    assert parse.stage_outcome(stage) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("02134", "02134"), ("2134", "02134"), ("10001-2345", "10001"), ("100012345", "10001"), ("2134.0", "02134"),
     ("501", "00501"), ("M5V 3L9", None), ("", None)],
)  # fmt: skip
def test_parse_zip(text: str, expected: str | None) -> None:
    assert parse.parse_zip(text) == expected


def test_parse_state() -> None:
    assert parse.parse_state("Massachusetts") == "MA"
    assert parse.parse_state(" ny ") == "NY"
    assert parse.parse_state("Ontario") is None


# ---- SQL twins agree with the reference on hand-picked and generated values

NUMBER_TEXT = st.one_of(
    st.text(alphabet="0123456789.,-+()$€%KMB USDE ", max_size=14),
    st.text(alphabet="0123456789.,₹₩'RSINCHFzł ", max_size=14),
)
DATE_TEXT = st.one_of(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)).map(lambda d: f"{d.month}/{d.day}/{d.year}"),
    st.dates().map(lambda d: d.isoformat()),
    st.dates(min_value=date(1970, 1, 1), max_value=date(2069, 12, 31)).map(lambda d: d.strftime("%d-%m-%y")),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
    st.integers(0, 120_000).map(str),
    st.from_regex(r" ?[1-9]\d{4}\.\d{1,3} ?", fullmatch=True),
    st.text(alphabet="0123456789/-.T: ", max_size=12),
)
ZIP_TEXT = st.one_of(st.text(alphabet="0123456789-. ", max_size=11), st.from_regex(r"\d{3,5}(-\d{4})?", fullmatch=True))
BOOL_TEXT = st.one_of(st.sampled_from(sorted(parse.TRUE_WORDS | parse.FALSE_WORDS | parse.BLANKS)),
                      st.text(alphabet="yesnotrufalYESNO01 ", max_size=6))  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(NUMBER_TEXT, min_size=1, max_size=30), comma=st.booleans())
def test_sql_number_matches_reference(con: duckdb.DuckDBPyConnection, values: list[str], comma: bool) -> None:
    got = sq.sql_parse(con, "number", values, decimal_comma=comma)
    want = [parse.parse_number(v, comma) for v in values]
    # Blank and unparsable texts are None on both sides; compare those exactly, numbers approximately
    # (pytest.approx rejects None inside a list since pytest 9.2).
    seen = list(zip(values, got, want, strict=True))
    assert [g is None for g in got] == [w is None for w in want], seen
    pairs = [(g, w) for g, w in zip(got, want, strict=True) if w is not None]
    assert [g for g, _ in pairs] == pytest.approx([w for _, w in pairs], rel=1e-12), seen


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(DATE_TEXT, min_size=1, max_size=30), day_first=st.booleans())
def test_sql_date_matches_reference(con: duckdb.DuckDBPyConnection, values: list[str], day_first: bool) -> None:
    assert sq.sql_parse(con, "date", values, day_first=day_first) == [parse.parse_date(v, day_first) for v in values]


# Names in the scripts CRM exports are written in, Latin letters without an ASCII base, fullwidth forms, marks.
NAME_TEXT = st.text(
    alphabet=st.one_of(*(st.characters(min_codepoint=a, max_codepoint=b, exclude_categories=("Cs",)) for a, b in (
        (0x20, 0x7E), (0xA0, 0x2FF), (0x370, 0x52F), (0x600, 0x6FF), (0x900, 0x97F), (0x1E00, 0x1EFF),
        (0x3040, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAFFF), (0xFB00, 0xFB06), (0xFF01, 0xFF5E)))),
    max_size=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(NAME_TEXT, min_size=1, max_size=30))
def test_sql_name_key_matches_reference(con: duckdb.DuckDBPyConnection, values: list[str]) -> None:
    """The importer keys names (accounts without IDs, deals to accounts, cities, countries) as geo_world.name_key
    does: the gazetteer's keys and a file's meet only if both agree, in every script."""
    assert [g or "" for g in sq.sql_parse(con, "key", values)] == [geo_world.name_key(v) for v in values]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(ZIP_TEXT, min_size=1, max_size=30))
def test_sql_zip_matches_reference(con: duckdb.DuckDBPyConnection, values: list[str]) -> None:
    assert sq.sql_parse(con, "zip", values) == [parse.parse_zip(v) for v in values]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(BOOL_TEXT, min_size=1, max_size=30))
def test_sql_bool_matches_reference(con: duckdb.DuckDBPyConnection, values: list[str]) -> None:
    assert sq.sql_parse(con, "bool", values) == [parse.parse_bool(v) for v in values]


STAGE_TEXT = st.one_of(
    st.lists(st.sampled_from([*parse.WON_WORDS, *parse.LOST_WORDS, *parse.CLOSED_WORDS, *parse.WON_WHOLE,
                              *parse.LOST_WHOLE, "見込み", "und", "Offer", "won't", "-",
                              "/", " ", "Closed", "GEWONNEN", "Fermée"]), max_size=4).map("".join),
    st.text(alphabet="wonlstcdé -/", max_size=12),
)  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(STAGE_TEXT, min_size=1, max_size=30))
def test_sql_stage_matches_reference(con: duckdb.DuckDBPyConnection, values: list[str]) -> None:
    assert sq.sql_parse(con, "stage", values) == [parse.stage_outcome(v) for v in values]


TEXT_TEXT = st.one_of(
    st.text(alphabet=" -naulNAULob#/()kxé", max_size=12), st.sampled_from(sorted(parse.BLANKS)).map(lambda b: f" {b}  ")
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(TEXT_TEXT, min_size=1, max_size=30))
def test_sql_text_matches_reference(con: duckdb.DuckDBPyConnection, values: list[str]) -> None:
    """Blank placeholders (any case, any spaces around) are empty; other text is trimmed of spaces."""
    expected = [None if parse.is_blank(v) else v.strip(parse.WS) for v in values]
    assert sq.sql_parse(con, "text", values) == expected


@given(value=st.text(max_size=40))
def test_reference_parsers_never_raise(value: str) -> None:
    parse.parse_number(value)
    parse.parse_number(value, True)
    parse.parse_employees(value)
    parse.parse_date(value)
    parse.parse_date(value, True)
    parse.parse_zip(value)
    parse.parse_bool(value)
    parse.parse_state(value)
    parse.stage_outcome(value)


# ---- Files: sniffing, header row, sheets, bad files


def test_sniffs_semicolons_cp1252_and_bom(tmp_path: Path) -> None:
    t = reader.open_tables(SAMPLES / "messy_cp1252_semicolon.csv", workdir=tmp_path)[0]
    assert t.delimiter == ";" and t.encoding == "cp1252"
    assert t.columns[:2] == ["Account ID", "Account Name"]
    assert t.sample[0][1] == "Café Müller GmbH"
    t = reader.open_tables(SAMPLES / "messy_utf8_bom_crlf.csv", workdir=tmp_path)[0]
    assert t.columns[0] == "Account ID" and t.encoding == "utf-8"
    assert reader.open_tables(SAMPLES / "generic_accounts.tsv", workdir=tmp_path)[0].delimiter == "\t"


def test_workbook_sheets_and_title_rows(tmp_path: Path) -> None:
    tables = reader.open_tables(SAMPLES / "workbook_accounts_opportunities.xlsx", workdir=tmp_path)
    assert [t.name for t in tables] == [
        "workbook_accounts_opportunities.xlsx [Accounts]",
        "workbook_accounts_opportunities.xlsx [Opportunities]",
    ]
    accounts = tables[0]
    assert accounts.columns[0] == "Account ID"  # the title rows above the header were skipped
    assert accounts.sample[0][:5] == ["X-1", "Summit Bancorp", "Hartford", "CT", "6103"]
    assert "Notes" in accounts.notes[0]
    assert tables[1].sample[0][5] == "2026-03-01"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"%PDF-1.7 binary", "is a PDF"),
        (b"\x00\x01\x02\x03" * 100, "binary"),
        (b"\xd0\xcf\x11\xe0 old excel", "cannot be read as an Excel workbook; open it in Excel and save it as .xlsx"),
        (b"just one column\nvalue\n", "single column"),
        (b"PK\x03\x04 not really a workbook", "not a readable Excel workbook"),
    ],
)
def test_bad_files_give_one_clear_error(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=match):
        reader.open_tables(path, workdir=tmp_path)


def test_upload_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_MAX_UPLOAD_MB", "1")
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 400_000)
    with pytest.raises(ImportFileError, match="over the 1 MB upload limit"):
        reader.open_tables(path, workdir=tmp_path)


# ---- Detection and mapping


@pytest.mark.parametrize(
    ("name", "source", "kind"),
    [
        ("salesforce_accounts_report.csv", "salesforce", "accounts"),
        ("salesforce_opportunities_report.csv", "salesforce", "deals"),
        ("dataloader_accounts.csv", "salesforce_dataloader", "accounts"),
        ("dataloader_opportunities.csv", "salesforce_dataloader", "deals"),
        ("dataloader_users.csv", "salesforce_dataloader", "reps"),
        ("hubspot_companies.csv", "hubspot", "accounts"),
        ("hubspot_deals.csv", "hubspot", "deals"),
        ("dynamics_accounts.csv", "dynamics365", "accounts"),
        ("pipedrive_organizations.csv", "pipedrive", "accounts"),
        ("pipedrive_deals.csv", "pipedrive", "deals"),
        ("users_reps.csv", "generic", "reps"),
        ("generic_accounts.tsv", "generic", "accounts"),
    ],
)
def test_detects_source_and_kind(tmp_path: Path, name: str, source: str, kind: str) -> None:
    t = reader.open_tables(SAMPLES / name, workdir=tmp_path)[0]
    assert F.detect_source(t.columns) == source
    assert F.detect_kind(t.columns, name)[0] == kind


def test_mapping_of_vendor_columns() -> None:
    m = F.propose_mapping(
        ["Account ID", "Account Name", "Billing Zip/Postal Code", "Shipping City", "Billing City", "Intent Score",
         "Employee Growth (12m) %", "New Executive (90d)", "Tech Stack", "Phone"],
        "accounts",
    )  # fmt: skip
    assert m["Account ID"] == "id" and m["Billing City"] == "city" and m["Shipping City"] == F.IGNORE
    assert m["Billing Zip/Postal Code"] == "postal_code"
    assert m["Intent Score"] == "intent_score" and m["Employee Growth (12m) %"] == "employee_growth"
    assert m["New Executive (90d)"] == "new_executive"
    assert m["Tech Stack"] == F.ATTR and m["Phone"] == F.IGNORE
    d = F.propose_mapping(
        ["Deal - ID", "Deal - Title", "Deal - Organization", "Deal - Value", "Deal - Status"], "deals"
    )
    assert d == {"Deal - ID": "id", "Deal - Title": "name", "Deal - Organization": "account_name",
                 "Deal - Value": "amount", "Deal - Status": "status"}  # fmt: skip
    assert F.normalize_header("Intent_Score__c") == "intent score"
    assert F.attribute_key("Employee Growth (12m) %") == "employee_growth_12m_pct"


def test_validate_mapping_rejects_bad_targets() -> None:
    with pytest.raises(BadInput, match="not a accounts field|not a accounts"):
        F.validate_mapping({"X": "stage"}, "accounts")
    with pytest.raises(BadInput, match="both mapped to id"):
        F.validate_mapping({"A": "id", "B": "id"}, "accounts")


def test_sql_twins_on_hand_examples(con: duckdb.DuckDBPyConnection) -> None:
    assert sq.sql_parse(con, "number", ["$1,200,000.00", "USD 1,200,000", "(1,200)", "12.5%", "3.4M", "x", None]) == [
        1_200_000.0, 1_200_000.0, -1200.0, 0.125, 3_400_000.0, None, None]  # fmt: skip
    assert sq.sql_parse(con, "number", ["1.200.000,00 €", "950.000,00"], decimal_comma=True) == [1_200_000.0, 950_000.0]
    assert sq.sql_parse(con, "date", ["3/15/2026", "2025-11-02T14:22:00.000Z", "2/30/2026"]) == [
        date(2026, 3, 15), date(2025, 11, 2), None]  # fmt: skip
    assert sq.sql_parse(con, "zip", ["2134", "10001-2345", "M5V 3L9"]) == ["02134", "10001", None]
    assert sq.sql_parse(con, "bool", ["Yes", "0", "maybe"]) == [True, False, None]


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_blank_lines_found_in_big_files(tmp_path: Path, ending: str) -> None:
    """Blank lines are looked for from the end, a block at a time: ones far from the end are still found,
    and a quoted line break far from the end still falls back to the quote-aware count."""
    rows = [f"A{i},Name {i}" for i in range(400_000)]  # about 6 MB: more than one block
    lines = ["id,name", *rows[:10], "", *rows[10:], "", "Grand Totals (400,000 records)"]
    path = tmp_path / "big.csv"
    path.write_text(ending.join(lines) + ending, newline="")
    assert reader.blank_records(path, 1, 400_001) == [12, 400_003]
    quoted = ["id,name", *rows[:10], 'A-1,"two\nlines"', *rows[10:], "", "Grand Totals"]
    path.write_text(ending.join(quoted) + ending, newline="")
    assert reader.blank_records(path, 1, 400_002) == [400_003]  # the quoted record is one row
    plain = ["id,name", *rows]
    path.write_text(ending.join(plain) + ending, newline="")
    assert reader.blank_records(path, 1, 400_000) == []
