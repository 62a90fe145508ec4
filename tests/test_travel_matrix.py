"""Travel from a matrix file (#15 point 4): rep/account and ZIP/ZIP rows, units, and one-line errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.errors import BadInput
from planner.optimize import matrix


def accounts() -> pd.DataFrame:
    return pd.DataFrame({"account_id": ["A1", "A2", "A3"], "postal_code": ["02139", "10001", None]})


def reps() -> pd.DataFrame:
    return pd.DataFrame(
        {"rep_id": ["R1", "R2", "R9"], "name": ["Ann", "Bo", "Gone"], "email": ["Ann@X.com", None, None],
         "crm_id": [None, "005B", None], "home_postal_code": ["02139", "10001", None],
         "active": [True, True, False]}
    )  # fmt: skip


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_rep_account_rows_win_over_zip_rows_in_either_direction(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "From,To,Minutes\n"
        "2139,2139,5\n"  # ZIPs without their leading zero, as a spreadsheet leaves them
        "02139,10001,240\n"  # one row serves both directions
        "10001,10001,7\n"
        "ann@x.com,A2,200\n"  # rep by email, account by id: wins over the ZIP row
        "A3,R1,30\n"  # account first, rep id second
        "005B,A3,33.5\n",  # rep by CRM user id
    )
    t = matrix.read_travel_matrix(path, accounts(), reps())
    assert t.attrs["unit"] == "minutes"
    assert list(t.index) == ["A1", "A2", "A3"] and list(t.columns) == ["R1", "R2", "R9"]
    np.testing.assert_allclose(t[["R1", "R2"]].to_numpy(), [[5, 240], [200, 7], [30, 33.5]])
    assert t["R9"].isna().all()  # an inactive rep's column may stay empty


def test_units_convert_from_seconds_and_meters() -> None:
    p = matrix.pairs_from_frame(pd.DataFrame({"from": ["a"], "to": ["b"], "seconds": ["90"]}))
    assert p.unit == "minutes" and p.value[0] == pytest.approx(1.5)
    p = matrix.pairs_from_frame(pd.DataFrame({"from": ["a"], "to": ["b"], "meters": ["2500"]}))
    assert p.unit == "km" and p.value[0] == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,c\n1,2,3\n", "has columns a, b, c; give a CSV with a header from,to,minutes"),
        ("from,to,minutes,seconds\n1,2,3,4\n", "has columns from, to, minutes, seconds: minutes and seconds are both"),
        ("from,to,km\n1,2,3\n,2,4\n", "line 3: the from or to cell is blank"),
        ("from,to,km\n1,2,3\n1,3,abc\n", "line 3: km 'abc' is not a number of 0 or more"),
        ("from,to,km\n1,2,-1\n", "line 2: km '-1' is not a number of 0 or more"),
        ("from,to,km\n1,2,3\n1,2,4\n", "gives 1 -> 2 twice with different values \\(lines 2, 3\\)"),
        ("from,to,km\n", "has no rows"),
        ("", "cannot be read as CSV"),
    ],
)
def test_bad_files_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as err:
        matrix.read_pairs(write(tmp_path, text))
    assert "\n" not in str(err.value)


def test_same_pair_twice_with_the_same_value_is_fine(tmp_path: Path) -> None:
    p = matrix.read_pairs(write(tmp_path, "from,to,km\n1,2,3\n1,2,3.0\n"))
    assert len(p.value) == 1


def test_a_missing_pair_names_the_account_the_rep_and_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "from,to,minutes\n02139,02139,5\n02139,10001,240\n10001,10001,7\n")
    # A3 has no ZIP and no account row.
    with pytest.raises(BadInput) as err:
        matrix.read_travel_matrix(path, accounts(), reps())
    text = str(err.value)
    assert "no minutes between account 'A3' and rep 'Ann' (R1, home ZIP 02139)" in text
    assert "(2 of 6 pairs missing)" in text and "add from,to,minutes rows" in text and "\n" not in text
    assert "the account's id or ZIP, or for both ZIPs" in text


def test_an_upload_reads_like_a_file() -> None:
    t = matrix.read_travel_matrix(
        b"\xef\xbb\xbffrom,to,km\nR1,A1,1\nR1,A2,2\nR1,A3,3\nR2,A1,4\nR2,A2,5\nR2,A3,6\n", accounts(), reps(), "m.csv"
    )
    np.testing.assert_allclose(t[["R1", "R2"]].to_numpy(), [[1, 4], [2, 5], [3, 6]])
    with pytest.raises(BadInput, match="travel matrix m.csv line 2: km 'x'"):
        matrix.read_pairs(b"from,to,km\nR1,A1,x\n", "m.csv")


def test_rep_to_zip_rows_cover_every_account_of_the_zip() -> None:
    # The usual routing export: each rep's home (by email) to each ZIP centroid; one account row overrides.
    p = matrix.pairs_from_frame(
        pd.DataFrame(
            {"from": ["ann@x.com", "ann@x.com", "R2", "R2", "005B", "A3", "A2"],
             "to": ["02139", "10001", "2139", "10001", "A3", "R1", "ann@x.com"],
             "minutes": ["4", "250", "245", "6", "35", "30", "199"]}
        )
    )  # fmt: skip
    acc = pd.concat([accounts(), pd.DataFrame({"account_id": ["A4"], "postal_code": ["10001"]})], ignore_index=True)
    t = matrix.travel_matrix(p, acc, reps())
    np.testing.assert_allclose(t[["R1", "R2"]].to_numpy(), [[4, 245], [199, 6], [30, 35], [250, 6]])


def test_a_postal_code_row_for_accounts_of_two_countries_is_refused() -> None:
    """75001 is Paris and Addison, Texas: one ZIP row cannot give both the same travel; rows by account id can."""
    acc = pd.DataFrame({"account_id": ["P1", "T1", "T2"], "postal_code": ["75001", "75001", "75001"],
                        "country": ["FR", "US", "US"]})  # fmt: skip
    rp = reps().iloc[:1]
    by_zip = matrix.pairs_from_frame(pd.DataFrame({"from": ["R1"], "to": ["75001"], "minutes": ["30"]}))
    with pytest.raises(BadInput, match=r"postal code 75001, which accounts in FR, US share .*rows by account id"):
        matrix.travel_matrix(by_zip, acc, rp)
    by_id = matrix.pairs_from_frame(
        pd.DataFrame({"from": ["R1"] * 3, "to": ["P1", "T1", "T2"], "minutes": ["900", "20", "25"]})
    )
    np.testing.assert_allclose(matrix.travel_matrix(by_id, acc, rp)["R1"].to_numpy(), [900, 20, 25])
    # One country per code: the ZIP row holds for all of them.
    us = acc.assign(country=["US", "US", "us "])
    np.testing.assert_allclose(matrix.travel_matrix(by_zip, us, rp)["R1"].to_numpy(), [30, 30, 30])


def test_route_pairs_filled_in_is_a_travel_matrix_for_hostile_keys() -> None:
    """The 'Pairs to route' file: active reps x destinations (a ZIP one country uses, else the account), the
    ZIP as the store writes it, keys that look like formulas kept apart by the export's apostrophe and read back."""
    from planner import export

    acc = pd.DataFrame({
        "account_id": ["=HYPERLINK(\"x\")", "A2", "A3", "A4", "P1", "T1"],
        "postal_code": ["02139", "02139", None, "10001", "75001", "75001"],
        "country": ["US", "US", "US", "US", "FR", "US"],
        "lat": [42.36, 42.37, 40.0, 40.75, 48.86, 32.96], "lon": [-71.1, -71.1, -80.0, -73.99, 2.34, -96.83],
    })  # fmt: skip
    rp = reps().assign(home_lat=[42.36, 40.75, 0.0], home_lon=[-71.1, -73.99, 0.0])
    t = matrix.route_pairs(acc, rp)
    assert ",".join(t.columns) == "from,to,to_kind,from_lat,from_lon,to_lat,to_lon,accounts,minutes"
    assert sorted(t["from"].unique()) == ["R1", "R2"]  # the inactive rep needs no travel
    assert sorted(t.loc[t["from"] == "R1", "to"]) == sorted(["02139", "10001", "A3", "P1", "T1"])
    assert t.loc[(t["from"] == "R1") & (t["to"] == "02139"), "accounts"].item() == 2
    assert t["minutes"].isna().all()
    text = export.to_csv_bytes(t)  # as the page and the CLI write it
    assert b"'=HYPERLINK" not in text  # the formula-like account sits inside 02139: no row of its own
    filled = pd.read_csv(io.BytesIO(text), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    filled["minutes"] = [str(10 + i) for i in range(len(filled))]
    got = matrix.travel_matrix(matrix.pairs_from_frame(filled), acc, rp)
    want = dict(zip(zip(filled["from"], filled["to"], strict=True), filled["minutes"].astype(float), strict=True))
    assert got.loc['=HYPERLINK("x")', "R2"] == want[("R2", "02139")] == got.loc["A2", "R2"]
    assert got.loc["T1", "R1"] == want[("R1", "T1")] and got.loc["P1", "R1"] == want[("R1", "P1")]
    # An account of its own whose id looks like a formula: written with an apostrophe, read back without.
    alone = acc.assign(postal_code=[None, "02139", None, "10001", "75001", "75001"])
    text = export.to_csv_bytes(matrix.route_pairs(alone, rp))
    assert b"'=HYPERLINK" in text
    filled = pd.read_csv(io.BytesIO(text), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    filled["minutes"] = "12"
    assert (matrix.travel_matrix(matrix.pairs_from_frame(filled), alone, rp)[["R1", "R2"]] == 12).all().all()


def test_the_page_counts_the_pairs_the_file_has(small_store: Path) -> None:
    """The Rebalance page counts the pairs to route in the store before it offers the file (and above
    ui.travel.PAGE_MAX_PAIRS points to the CLI): the count is the file's rows, codes two countries share and
    blank codes included, inactive reps left out."""
    from planner import scenarios, store
    from planner.scope import OPERATOR

    first = "SELECT account_id FROM accounts ORDER BY account_id"
    with store.write(small_store) as con:
        con.execute(
            f"UPDATE accounts SET postal_code = '75001', country_code = 'FR' WHERE account_id IN ({first} LIMIT 3)"
        )
        con.execute(
            f"UPDATE accounts SET postal_code = '75001', country_code = 'US' "
            f"WHERE account_id IN ({first} LIMIT 1 OFFSET 9)"
        )
        con.execute(f"UPDATE accounts SET postal_code = '  ' WHERE account_id IN ({first} DESC LIMIT 2)")
        con.execute("UPDATE reps SET active = FALSE WHERE rep_id = (SELECT min(rep_id) FROM reps)")
    with store.read(small_store) as con:
        n, _ = scenarios.route_pair_count(con, scope=OPERATOR)
        t = scenarios.route_pairs(con, scope=OPERATOR)
        active = con.execute("SELECT count(*) FROM reps WHERE coalesce(active, TRUE)").fetchone()[0]
    assert n == len(t) > 0
    assert t["from"].nunique() == active
    assert not (t["to"] == "75001").any()  # two countries: a row per account


def test_a_blank_country_does_not_split_a_postal_code() -> None:
    """An account whose country cell is blank names no country (as a missing one, and as the store's count for
    the page has it): its postal code stays one destination with the others' country."""
    acc = pd.DataFrame({"account_id": ["A1", "A2"], "postal_code": ["02139", "02139"], "country": ["US", "  "],
                        "lat": [42.36, 42.37], "lon": [-71.1, -71.1]})  # fmt: skip
    t = matrix.route_pairs(acc, reps().iloc[:1].assign(home_lat=42.0, home_lon=-71.0))
    assert t["to"].tolist() == ["02139"] and t["accounts"].tolist() == [2]


def test_the_count_compares_codes_as_the_file_does(small_store: Path) -> None:
    """02139, 2139 and 2139.0 are one postal code in the pairs file (a spreadsheet drops the zero): the page's
    count in the store agrees."""
    from planner import scenarios, store
    from planner.scope import OPERATOR

    first = "SELECT account_id FROM accounts ORDER BY account_id"
    with store.write(small_store) as con:
        for i, code in enumerate(["02139", "2139", "2139.0"]):
            con.execute(
                f"UPDATE accounts SET postal_code = ?, country_code = 'US' "
                f"WHERE account_id IN ({first} LIMIT 1 OFFSET ?)",
                [code, i],
            )
    with store.read(small_store) as con:
        n, _ = scenarios.route_pair_count(con, scope=OPERATOR)
        t = scenarios.route_pairs(con, scope=OPERATOR)
    assert n == len(t)
    assert t.loc[t["to"].isin(["02139", "2139", "2139.0"]), "to"].nunique() == 1
