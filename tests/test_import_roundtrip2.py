"""Imports of what the planner wrote itself, and the import's lookups: a city named alone (its namesakes made once
per gazetteer), our own accounts export coming back unchanged, our deals export giving the names back (the
accounts it creates too); a travel matrix's account ids a spreadsheet turned into floats."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from planner import export, store
from planner.cli import main
from planner.errors import BadInput
from planner.ingest import parse, rules
from planner.optimize import matrix
from planner.scope import OPERATOR
from planner.store import imports as sq
from tests.helpers import table

CITIES = pd.DataFrame(
    {
        "city_key": ["VALENCIA|ES", "VALENCIA|VE", "VALENCIA|US", "GRAZ|AT", "SPRINGFIELD|US"],
        "lat": [39.47, 10.16, 34.44, 47.07, 39.80],
        "lon": [-0.38, -68.0, -118.6, 15.44, -89.64],
        "population": [792_000, 1_500_000, 5_000, 290_000, 114_000],
    }
)


@pytest.mark.parametrize("arrow", [False, True])
def test_a_city_named_alone_goes_to_its_namesake_in_the_import_s_countries(empty_store: Path, arrow: bool) -> None:
    """_tp_wcity_any: the most populous namesake, else the one in a country of the context (_tp_ctx), ambiguous
    unless exactly one context country has one; from the frame or from namesake tables made once beforehand."""
    cities = pa.Table.from_pandas(CITIES, preserve_index=False) if arrow else CITIES
    namesakes = sq.namesake_tables(cities) if arrow else None
    sql = "SELECT name, code, lat, ambiguous, codes FROM _tp_wcity_any ORDER BY name"
    with store.write(empty_store) as con:
        sq.install_macros(con, rules.RULES, None, cities, namesakes)
        assert con.execute(sql).fetchall() == [
            ("GRAZ", "AT", 47.07, False, None),
            ("SPRINGFIELD", "US", 39.80, False, None),
            ("VALENCIA", "VE", 10.16, True, "ES, US, VE"),
        ]
        con.execute("INSERT INTO _tp_ctx VALUES ('ES'), ('FR')")
        assert con.execute(sql).fetchall()[2] == ("VALENCIA", "ES", 39.47, False, "ES, US, VE")
        con.execute("INSERT INTO _tp_ctx VALUES ('US')")  # two of the context's countries have a Valencia
        assert con.execute(sql).fetchall()[2] == ("VALENCIA", "ES", 39.47, True, "ES, US, VE")


NAMES = ['=HYPERLINK("http://evil.example/x","Click me")', "+SUM(A1:A9) SARL", "@cmd Consulting", "-5 Corp",
         "Plain Inc", "'-5"]  # fmt: skip
BOOK = [
    ["Account ID", "Account Name", "Industry", "Billing City", "Billing State", "Billing Zip", "Employees",
     "Account Owner"],
    ["001A", NAMES[0], "Software", "Austin", "TX", "78701", "126", "Ann Lee"],
    ["001B", NAMES[1], "Healthcare", "Boston", "MA", "02110", "536", "Ann Lee"],
    ["001C", NAMES[2], "Logistics", "Denver", "CO", "", "118", "Bo Chen"],
    ["001D", NAMES[3], "Retail", "Austin", "TX", "78701", "40", "Bo Chen"],
    ["001E", NAMES[4], "Retail", "Boston", "MA", "02110", "30", "Bo Chen"],
    ["001F", NAMES[5], "Retail", "Boston", "MA", "02110", "30", "Bo Chen"],
]  # fmt: skip


def _import(db: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["--db", str(db), "import", "--json", str(path)]) == 0
    return dict(json.loads(capsys.readouterr().out)["files"][0])


def test_our_own_accounts_export_imports_again_changing_nothing(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hostile names, accounts placed by ZIP and city -> export accounts -> import: no apostrophe of ours in a name,
    none of the export's derived columns a custom attribute, no account changed (coordinates the store gave come
    back as the store placed them); every export neutralises the names again, byte for byte the same."""
    book = tmp_path / "book.csv"
    with open(book, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(BOOK)
    _import(empty_store, book, capsys)
    methods = dict(table(empty_store, "SELECT name, geo_method FROM accounts"))
    assert methods[NAMES[0]] == "zip" and methods[NAMES[2]] == "city"
    first = tmp_path / "first.csv"
    assert main(["--db", str(empty_store), "export", "accounts", "--out", str(first)]) == 0
    text = first.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and ",'@cmd Consulting," in text and ",'-5," in text
    report = _import(empty_store, first, capsys)
    assert (report["inserted"], report["updated"], report["unchanged"], report["rejected"]) == (0, 6, 6, 0), report
    assert sorted(str(r[0]) for r in table(empty_store, "SELECT name FROM accounts")) == sorted(NAMES)
    assert dict(table(empty_store, "SELECT name, geo_method FROM accounts")) == methods
    assert table(empty_store, "SELECT attr FROM attribute_defs") == []
    again = tmp_path / "again.csv"
    assert main(["--db", str(empty_store), "export", "accounts", "--out", str(again)]) == 0
    assert again.read_bytes() == first.read_bytes()


def test_our_own_deals_export_imports_again_with_the_names_as_written(
    empty_store: Path,
    empty_store_template: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    """Deals naming their accounts by hostile names -> export deals -> import into a fresh store, where the deals
    create the accounts (merge_deals, after the apostrophe is read back off), and into the same store: account and
    deal names as first written (a genuine "'-5", "'Q3" keeps its apostrophe), no account made twice, no deal
    changed."""
    deals = tmp_path / "deals.csv"
    deal_names = [f"{n} deal" for n in NAMES[:-1]] + ["'Q3 renewal"]  # "'-5 deal" is how '-5 deal' exports
    pairs = list(zip(deal_names, NAMES, strict=True))
    rows = [[f"006{i}", d, n, "Prospecting", "1000", "2026-03-10"] for i, (d, n) in enumerate(pairs)]
    with open(deals, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["Opportunity ID", "Opportunity Name", "Account Name", "Stage", "Amount",
                                   "Close Date"], *rows])  # fmt: skip
    _import(empty_store, deals, capsys)
    out = tmp_path / "out.csv"
    assert main(["--db", str(empty_store), "export", "deals", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and ",'@cmd Consulting,'@cmd Consulting deal," in text
    fresh = request.getfixturevalue("store_for_test")(empty_store_template, tmp_path / "fresh.duckdb")
    assert _import(fresh, out, capsys)["inserted"] == len(NAMES)
    report = _import(empty_store, out, capsys)
    assert (report["inserted"], report["unchanged"], report["rejected"]) == (0, len(NAMES), 0), report
    for db in (fresh, empty_store):
        assert sorted(str(r[0]) for r in table(db, "SELECT name FROM accounts")) == sorted(NAMES)
        assert sorted(table(db, "SELECT d.name, a.name FROM deals d JOIN accounts a USING (account_id)")) == sorted(
            pairs
        )


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("'=x", "=x"), ("'+SUM(A1) SARL", "+SUM(A1) SARL"), ("'@cmd", "@cmd"), ("'-5 Corp", "-5 Corp"),
     ("' \t=x", " \t=x"), ("'=a\nb", "=a\nb"), ("'-5", "'-5"), ("'1,234.5%", "'1,234.5%"), ("'-", "'-"),
     ("'abc", "'abc"), ("O'Brien", "O'Brien"), ("'", "'"), ("''=x", "''=x"), (None, None)],
)  # fmt: skip
def test_only_the_apostrophe_our_exports_write_is_read_back(cell: str | None, expected: str | None) -> None:
    """planner.export.neutralise's inverse, exactly: what it would never prefix keeps its apostrophe."""
    with duckdb.connect() as con:
        con.execute("CREATE TEMP TABLE _p AS SELECT ?::VARCHAR AS name, 'x' AS other", [cell])
        sq.unquote_formulas(con, "_p", ["name", "city"], parse.QUOTED_FORMULA, parse.QUOTED_PLAIN, scope=OPERATOR)
        assert con.execute("SELECT name FROM _p").fetchone() == (expected,)
    if cell is not None and cell != expected:
        assert export.neutralise(expected) == cell


def test_an_id_a_spreadsheet_turned_into_a_float_is_still_the_account() -> None:
    """Account 1001 written as 1001.0 in a travel matrix: that account (ids first, as written); 0042.0 is no
    spelling of account 0042; and where the whole number is also a postal code of the book it is refused, as
    1001 itself is, instead of guessed."""
    reps = pd.DataFrame({"rep_id": ["R1"], "active": [True], "home_lat": [42.36], "home_lon": [-71.1]})
    acc = pd.DataFrame({"account_id": ["1001", "0042", "7"], "postal_code": ["02110", "02111", "02112"],
                        "country": ["US"] * 3, "lat": [42.35] * 3, "lon": [-71.05] * 3})  # fmt: skip
    text = b"from,to,minutes\nR1,1001.0,31\nR1,0042,14\nR1,7.00,27\n"
    np.testing.assert_allclose(matrix.read_travel_matrix(text, acc, reps, "m.csv")["R1"], [31, 14, 27])
    with pytest.raises(BadInput, match="0042"):  # 0042.0 is not account 0042: that account has no row
        matrix.read_travel_matrix(b"from,to,minutes\nR1,1001,31\nR1,0042.0,14\nR1,7,27\n", acc, reps, "m.csv")
    zips = acc.assign(postal_code=["01001", "02111", "02112"])
    with pytest.raises(BadInput, match=r"'1001.0' is both an account id and a postal code"):
        matrix.read_travel_matrix(text, zips, reps, "m.csv")
