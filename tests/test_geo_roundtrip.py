"""Places survive a round trip (explore-Q F8): `export accounts` writes each account's country, and the importer
gives a row placed by its own coordinates their country, never a postal code's US guess; a city named alone is
placed at its namesake in a country the book already uses, or said to be a guess (explore-Q F1)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from planner import ingest
from planner.cli import main
from planner.scope import OPERATOR
from tests.helpers import table

BOOK = """Account Name,Billing City,Billing State,Billing Zip,Billing Country,Employees
Acme Inc,Boston,MA,02110,United States,120
Hoboken Co,Hoboken,NJ,07030,,40
Berliner GmbH,Berlin,,10115,Germany,300
Muenchen AG,München,,80331,DE,80
Bordeaux SA,Bordeaux,,33000,France,60
Lyon SARL,Lyon,,69002,FR,25
London Ltd,London,,EC1A 1BB,UK,75
Graz GmbH,Graz,,8010,Österreich,30
Tokyo KK,Tokyo,,100-0005,Japan,500
Madrid SL,Madrid,,28013,España,20
Valencia SL,Valencia,,,,12
Nowhere Co,,,,,5
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _places(db: Path) -> dict[str, tuple[object, ...]]:
    rows = table(db, "SELECT name, country_code, round(lat, 4), round(lon, 4), city, postal_code FROM accounts")
    return {r[0]: r[1:] for r in rows}


@pytest.fixture
def second_store(empty_store_template: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    private: Callable[[Path, Path], Path] = request.getfixturevalue("store_for_test")
    return private(empty_store_template, tmp_path / "second.duckdb")


def test_export_then_import_into_a_new_store_keeps_every_country_and_place(
    empty_store: Path, second_store: Path, tmp_path: Path
) -> None:
    """Bordeaux 33000 came back in the US (ZIP3 330 is Florida's) though its own coordinates are in France."""
    ingest.import_files(empty_store, [_write(tmp_path / "book.csv", BOOK)], scope=OPERATOR)
    before = _places(empty_store)
    assert {k: v[0] for k, v in before.items()} == {
        "Acme Inc": "US", "Hoboken Co": "US", "Berliner GmbH": "DE", "Muenchen AG": "DE", "Bordeaux SA": "FR",
        "Lyon SARL": "FR", "London Ltd": "GB", "Graz GmbH": "AT", "Tokyo KK": "JP", "Madrid SL": "ES",
        "Valencia SL": "ES",
        "Nowhere Co": None,
    }  # fmt: skip
    out = tmp_path / "accounts_out.csv"
    assert main(["--db", str(empty_store), "export", "accounts", "--out", str(out)]) == 0
    with open(out, encoding="utf-8-sig") as fh:
        exported = {r["name"]: r["country"] for r in csv.DictReader(fh)}
    assert exported["Hoboken Co"] == "US" and exported["Bordeaux SA"] == "France" and exported["Nowhere Co"] == ""
    report = ingest.import_files(second_store, [out], scope=OPERATOR)
    assert report.files[0].inserted == len(before)
    assert _places(second_store) == before


def test_coordinates_in_the_file_decide_the_country_over_a_postal_code(empty_store: Path, tmp_path: Path) -> None:
    """No country column, coordinates given: a 5-digit postal code abroad is no US ZIP (and keeps its own form:
    Graz 8010 is not 08010); a US row with coordinates stays in the US."""
    text = (
        "Account Name,city,postal_code,lat,lon,Employees\nBordeaux SA,Bordeaux,33000,44.84124,-0.58046,5\n"
        "Graz GmbH,Graz,8010,47.06667,15.45,5\nMunich AG,München,80331,48.13743,11.57549,5\n"
        "Hoboken Co,Hoboken,07030,40.744,-74.0324,5\n"
    )
    ingest.import_files(empty_store, [_write(tmp_path / "coords.csv", text)], scope=OPERATOR)
    got = table(empty_store, "SELECT name, country_code, postal_code, state, geo_method FROM accounts ORDER BY 1")
    assert got == [
        ("Bordeaux SA", "FR", "33000", None, "file"), ("Graz GmbH", "AT", "8010", None, "file"),
        ("Hoboken Co", "US", "07030", "NJ", "file"), ("Munich AG", "DE", "80331", None, "file"),
    ]  # fmt: skip


def test_a_city_named_alone_goes_to_a_country_the_book_uses(empty_store: Path, tmp_path: Path) -> None:
    """Valencia and Zaragoza with no postal code or country went to Venezuela and Mexico in a European book."""
    text = (
        "Account Name,city,country,Employees\nA SL,Madrid,Spain,5\nB SAS,Paris,France,5\nV SL,Valencia,,5\n"
        "Z SL,Zaragoza,,5\n"
    )
    report = ingest.import_files(empty_store, [_write(tmp_path / "eu.csv", text)], scope=OPERATOR)
    got = table(empty_store, "SELECT name, country_code, round(lat), round(lon), geo_note FROM accounts ORDER BY 1")
    assert got[2:] == [("V SL", "ES", 39, 0, None), ("Z SL", "ES", 42, -1, None)]
    assert not any("several countries" in w for w in report.files[0].warnings)


def test_reps_homes_decide_a_city_named_alone(empty_store: Path, tmp_path: Path) -> None:
    reps = "rep_id,name,email,home_lat,home_lon\nR1,Ana Ruiz,ana@x.es,40.4165,-3.70256\n"
    ingest.import_files(empty_store, [_write(tmp_path / "reps.csv", reps)], scope=OPERATOR)
    ingest.import_files(
        empty_store, [_write(tmp_path / "v.csv", "Account Name,city,Employees\nV SL,Valencia,5\n")], scope=OPERATOR
    )
    assert table(empty_store, "SELECT country_code, geo_note FROM accounts") == [("ES", None)]


def test_a_city_nothing_decides_is_placed_but_said_to_be_a_guess(empty_store: Path, tmp_path: Path) -> None:
    alone = _write(tmp_path / "v.csv", "Account Name,city,Employees\nV SL,Valencia,5\n")
    report = ingest.import_files(empty_store, [alone], scope=OPERATOR)
    code, note = table(empty_store, "SELECT country_code, geo_note FROM accounts")[0]
    assert code == "VE"  # the most populous Valencia
    assert note.startswith("Valencia: a city of that name is in ") and "ES" in note and "VE" in note
    assert any("several countries" in w and "Valencia" in w for w in report.files[0].warnings)
