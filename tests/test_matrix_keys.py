"""Travel matrix keys and values (explore-R F4, F5, F9): account ids are no postal codes, absurd values are refused,
and the Rebalance page says when the matrix of the result shown is not the one uploaded."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import export, scenarios, store
from planner.errors import BadInput
from planner.optimize import matrix
from planner.scope import OPERATOR
from tests.helpers import errors, page

REPS = pd.DataFrame({"rep_id": ["R1", "R2"], "active": [True, True], "home_lat": [42.36, 52.5],
                     "home_lon": [-71.1, 13.4]})  # fmt: skip


def filled(table: pd.DataFrame, values: dict[tuple[str, str], float]) -> pd.DataFrame:
    """The 'Pairs to route' file as a user gets it back from a routing engine: written, read as text, filled."""
    back = pd.read_csv(io.BytesIO(export.to_csv_bytes(table)), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    back["minutes"] = [str(values[(f, t)]) for f, t in zip(back["from"], back["to"], strict=True)]
    return back


def test_numeric_account_ids_are_no_postal_codes() -> None:
    """Pipedrive-style ids: account 1001 sits in ZIP 01002 and takes that ZIP's row, not ZIP 01001's; a key that
    a spreadsheet left as both an id and a code of the book is refused instead of guessed."""
    acc = pd.DataFrame({"account_id": ["1000", "1001", "1002"], "postal_code": ["01001", "01002", "01060"],
                        "country": ["US"] * 3, "lat": [42.07, 42.37, 42.32], "lon": [-72.6, -72.5, -72.6]})  # fmt: skip
    rp = REPS.iloc[:1]
    text = b"from,to,minutes\nR1,01001,131\nR1,01002,114\nR1,01060,127\n"  # the old template's rows: ZIPs
    np.testing.assert_allclose(matrix.read_travel_matrix(text, acc, rp, "m.csv")["R1"], [131, 114, 127])
    stripped = b"from,to,minutes\nR1,1001,131\nR1,1002,114\nR1,1060,127\n"  # a spreadsheet dropped the zeros
    with pytest.raises(BadInput, match=r"m.csv line 2: '1001' is both an account id and a postal code .* to_kind"):
        matrix.read_travel_matrix(stripped, acc, rp, "m.csv")
    # Said in a to_kind column, either reading is taken as said.
    kinds = b"from,to,minutes,to_kind\nR1,1001,131,postal_code\nR1,1002,114,zip\nR1,1060,127,postal_code\n"
    np.testing.assert_allclose(matrix.read_travel_matrix(kinds, acc, rp, "m.csv")["R1"], [131, 114, 127])
    ids = b"from,to,minutes,to_kind\nR1,1000,5,account\nR1,1001,6,account\nR1,1002,7,account\n"
    np.testing.assert_allclose(matrix.read_travel_matrix(ids, acc, rp, "m.csv")["R1"], [5, 6, 7])
    with pytest.raises(BadInput, match=r"line 2: to_kind 'city' is not account, postal_code or rep"):
        matrix.read_travel_matrix(b"from,to,minutes,to_kind\nR1,1000,5,city\n", acc, rp, "m.csv")


def test_the_pairs_to_route_file_keeps_ids_and_codes_apart() -> None:
    """Munich account 10115 beside Berlin's postal code 10115, and accounts 0042 and 42: filled in, the product's own
    template gives each account its own place's travel."""
    acc = pd.DataFrame({
        "account_id": ["10115", "B1", "0042", "42"],
        "postal_code": ["80331", "10115", "03301", None],
        "country": ["DE", "DE", "US", "US"],
        "lat": [48.14, 52.52, 43.22, 42.35], "lon": [11.58, 13.41, -71.53, -71.04],
    })  # fmt: skip
    t = matrix.route_pairs(acc, REPS)
    kinds = {("80331", "postal_code"), ("10115", "postal_code"), ("03301", "postal_code"), ("42", "account")}
    assert set(zip(t["to"], t["to_kind"], strict=True)) == kinds and len(t) == 8
    minutes = {"80331": 461.4, "10115": 7.0, "03301": 19.0, "42": 12.0}
    back = filled(t, {(r, k): v + (100 if r == "R2" else 0) for r in ("R1", "R2") for k, v in minutes.items()})
    got = matrix.travel_matrix(matrix.pairs_from_frame(back, "pairs.csv"), acc, REPS)
    assert got.loc["10115"].tolist() == [461.4, 561.4]  # Munich's own, not Berlin 10115's 7 minutes
    assert got.loc["B1"].tolist() == [7.0, 107.0]
    assert got.loc["0042"].tolist() == [19.0, 119.0]  # its ZIP's row, not account 42's
    assert got.loc["42"].tolist() == [12.0, 112.0]
    # The template before to_kind (rows by code, unmarked): 10115 could be either, and is refused.
    old = back.drop(columns="to_kind")
    with pytest.raises(BadInput, match=r"'10115' is both an account id and a postal code"):
        matrix.travel_matrix(matrix.pairs_from_frame(old, "pairs.csv"), acc, REPS)


@pytest.mark.parametrize(
    ("header", "value", "said"),
    [
        ("minutes", "1e12", "1,000,000,000,000 minutes"),
        ("minutes", "2147483647", "2,147,483,647 minutes"),  # the usual 'unreachable' sentinel
        ("seconds", "2147483647", "35,791,394.1 minutes"),
        ("minutes", "1e150", "1e+150 minutes"),  # overflowed the solver, whose error blamed the tolerance
        ("km", "50000", "50,000 km"),
    ],
)
def test_absurd_values_are_refused_naming_the_line(header: str, value: str, said: str) -> None:
    acc = pd.DataFrame({"account_id": ["A1", "A2"], "postal_code": ["01001", "01002"]})
    text = f"from,to,{header}\nR1,01001,30\nR1,01002,{value}\n".encode()
    with pytest.raises(
        BadInput, match=rf"m.csv line 3: {re.escape(said)} is more than .*leave unreachable pairs out"
    ) as err:
        matrix.read_travel_matrix(text, acc, REPS.iloc[:1], "m.csv")
    assert "\n" not in str(err.value)


def test_a_matrix_of_zeros_is_refused_and_real_far_pairs_are_not() -> None:
    acc = pd.DataFrame({"account_id": ["A1", "A2"], "postal_code": ["01001", "99501"]})
    with pytest.raises(BadInput, match="every pair is 0 minutes"):
        matrix.read_travel_matrix(b"from,to,minutes\nR1,01001,0\nR1,99501,0\n", acc, REPS.iloc[:1], "m.csv")
    far = b"from,to,minutes\nR1,01001,0\nR1,99501,4100\n"  # Boston to Anchorage by road: some 68 hours
    assert matrix.read_travel_matrix(far, acc, REPS.iloc[:1], "m.csv")["R1"].tolist() == [0, 4100]


def test_the_page_says_when_the_matrix_changed_since_the_run(app_store: Path) -> None:
    """Another travel matrix (even of the same name) or none in place of the run's: the result shown is the old
    file's, and the page says so as it does for any other setting."""
    with store.read(app_store) as con:
        t = scenarios.route_pairs(con, scope=OPERATOR)
    first = t.assign(minutes=np.arange(len(t)) % 97 + 10.0)
    second = first.assign(minutes=first["minutes"] * 2)
    at = page("rebalance")
    uploader = next(u for u in at.get("file_uploader") if "rb_matrix" in u.proto.id)
    uploader.set_value(("m.csv", export.to_csv_bytes(first), "text/csv")).run()
    at.button(key="rb_run").click().run(timeout=120)
    assert errors(at) == []

    def changed() -> bool:
        return any("Settings changed" in str(c.value) for c in at.caption)

    assert not changed()
    uploader = next(u for u in at.get("file_uploader") if "rb_matrix" in u.proto.id)
    uploader.set_value(("m.csv", export.to_csv_bytes(second), "text/csv")).run()
    assert changed()
    uploader = next(u for u in at.get("file_uploader") if "rb_matrix" in u.proto.id)
    uploader.set_value(("m.csv", export.to_csv_bytes(first), "text/csv")).run()
    assert not changed()  # the run's own file again
    uploader = next(u for u in at.get("file_uploader") if "rb_matrix" in u.proto.id)
    uploader.set_value(None).run()
    assert changed()


def test_the_pages_crm_downloads_are_named_as_accounts() -> None:
    """The Rebalance page's CRM files: a name with 'owner' in it made the importer guess reps (and nothing for the
    HubSpot and Dynamics files); named as they are, the files read back as accounts, never reps."""
    from planner import crm_files
    from planner.ingest.fields import detect_kind

    source = (Path(__file__).parents[1] / "pages" / "rebalance.py").read_text()
    names = re.findall(r'file_name=f"\{f\}(\w+)\{pick\}\.csv"', source)
    assert len(names) == 1, names
    rows = pd.DataFrame({c: ["A1"] for c in crm_files.ROW_COLUMNS})
    for fmt in ("salesforce", "hubspot", "dynamics", "pipedrive", "plain"):
        columns = list(crm_files.owner_update(rows, fmt).table.columns)
        kind, _ = detect_kind(columns, f"{fmt}{names[0]}S3.csv")
        assert kind == ("accounts" if fmt != "salesforce" else None), (fmt, kind)  # Id, OwnerId: no kind either way
