"""Who is a customer, through imports and our own export: HubSpot's Lifecycle Stage beside its Type (the stage says
customer, Evangelist too), the accounts export carrying the flag so that it imports again changing nothing, and an
update whose file has the type but no customer status keeping a customer flag its type never gave."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from planner.cli import main
from tests.helpers import table

HUBSPOT = [
    ["Record ID", "Company name", "Lifecycle Stage", "Type", "City", "Country/Region", "Company owner"],
    ["101", "Acme Kft", "Customer", "", "Budapest", "Hungary", "Anna Kovacs"],
    ["102", "Bolt Oy", "customer", "Partner", "Espoo", "Finland", "Anna Kovacs"],
    ["103", "Corvo Srl", "Evangelist", "", "Milano", "Italy", "Ben Ito"],
    ["104", "Dune SA", "Other", "Customer", "Lyon", "France", "Ben Ito"],
    ["105", "Echo AB", "Lead", "Prospect", "Malmö", "Sweden", "Anna Kovacs"],
    ["106", "Fjord AS", "Opportunity", "Former Customer", "Bergen", "Norway", "Ben Ito"],
    ["107", "Gale Ltd", "CUSTOMER ", "Vendor", "Cork", "Ireland", "Ben Ito"],
    ["108", "Hale plc", "Subscriber", "Reseller", "Leeds", "United Kingdom", "Anna Kovacs"],
]  # fmt: skip
CUSTOMERS = {"101", "102", "103", "104", "107"}


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _import(db: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["--db", str(db), "import", "--json", str(path)]) == 0
    return dict(json.loads(capsys.readouterr().out)["files"][0])


def _customers(db: Path) -> set[str]:
    return {str(r[0]) for r in table(db, "SELECT account_id FROM accounts WHERE is_customer")}


def test_our_export_of_hubspot_customers_imports_again_changing_nothing(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lifecycle Stage + Type -> export accounts -> import into the same store: every row unchanged, the same
    customers (the export's is_customer column read as the customer status); the export imports into a new store
    with the same customers too."""
    _import(empty_store, _write(tmp_path / "hs.csv", HUBSPOT), capsys)
    assert _customers(empty_store) == CUSTOMERS
    out = tmp_path / "out.csv"
    assert main(["--db", str(empty_store), "export", "accounts", "--out", str(out)]) == 0
    exported = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert set(exported.loc[exported["is_customer"] == "True", "account_id"]) == CUSTOMERS
    report = _import(empty_store, out, capsys)
    assert (report["inserted"], report["updated"], report["unchanged"], report["rejected"]) == (0, 8, 8, 0), report
    assert _customers(empty_store) == CUSTOMERS
    fresh = tmp_path / "fresh.duckdb"
    _import(fresh, out, capsys)
    assert _customers(fresh) == CUSTOMERS


def test_a_file_with_the_type_and_no_customer_status_clears_only_what_the_type_said(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After the stage made customers, a file with the Type alone (an export from before the is_customer column, a
    Type-only report) keeps them; an account whose stored type made it a customer and whose type now says
    otherwise is one no more."""
    _import(empty_store, _write(tmp_path / "hs.csv", HUBSPOT), capsys)
    type_only = [[r[0], r[1], r[3]] for r in HUBSPOT]
    report = _import(empty_store, _write(tmp_path / "type.csv", type_only), capsys)
    assert (report["updated"], report["unchanged"]) == (8, 8), report
    assert _customers(empty_store) == CUSTOMERS
    type_only[4][2] = "Prospect"  # Dune SA: a customer by its type alone
    _import(empty_store, _write(tmp_path / "type2.csv", type_only), capsys)
    assert _customers(empty_store) == CUSTOMERS - {"104"}


@pytest.mark.parametrize("with_type", [True, False])
def test_hubspot_s_evangelist_stage_is_a_customer(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], with_type: bool
) -> None:
    """Evangelist (after Customer in HubSpot's stages) is a customer, read as the customer status beside a Type
    column or as the account type without one; the stages before Customer are not."""
    rows = HUBSPOT if with_type else [r[:3] + r[4:] for r in HUBSPOT]
    _import(empty_store, _write(tmp_path / "hs.csv", rows), capsys)
    assert _customers(empty_store) == (CUSTOMERS if with_type else {"101", "102", "103", "107"})
