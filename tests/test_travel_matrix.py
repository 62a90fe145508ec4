"""Travel from a matrix file (#15 point 4): rep/account and ZIP/ZIP rows, units, and one-line errors."""

from __future__ import annotations

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
        ("from,to,minutes,km\n1,2,3,4\n", "has columns from, to, minutes, km"),
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
