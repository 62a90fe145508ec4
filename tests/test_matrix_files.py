"""Travel matrices as routing engines and spreadsheets write them: decimal commas, semicolon and tab files, the
engines' column names and units, wide tables; what cannot be read unambiguously is one line that says why."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import cli, geo, scenarios, store
from planner.errors import BadInput
from planner.optimize import matrix
from planner.scope import OPERATOR


def values(text: str) -> list[float]:
    p = matrix.read_pairs(text.encode(), "m.csv")
    return [round(float(v), 6) for v in p.value]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('from,to,minutes\nR1,01001,"131,03"\nR1,01002,"5,5"\n', [131.03, 5.5]),  # Excel de/fr, list separator ','
        ("from;to;minutes\nR1;01001;131,03\nR1;01002;1.234,5\n", [131.03, 1234.5]),  # Excel de/fr: ';' and ','
        ("from;to;minutes\nR1;01001;131.03\nR1;01002;7\n", [131.03, 7.0]),
        ("from\tto\tminutes\nR1\t01001\t131.03\nR1\t01002\t7\n", [131.03, 7.0]),
        ("from\tto\tminutes\nR1\t01001\t131,03\nR1\t01002\t7\n", [131.03, 7.0]),
        # a comma before three digits is a thousands separator where other values show a decimal point
        ('from,to,minutes\nR1,01001,"1,234"\nR1,01002,12.5\n', [1234.0, 12.5]),
        # ... and a decimal comma where others show one
        ('from,to,minutes\nR1,01001,"1,234"\nR1,01002,"12,5"\n', [1.234, 12.5]),
        ("from,to,minutes\nR1,01001,1.234\nR1,01002,7\n", [1.234, 7.0]),  # a comma file writes decimal points
    ],
)
def test_decimal_marks_and_separators_are_read_as_written(text: str, expected: list[float]) -> None:
    assert values(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('from,to,minutes\nR1,01001,"1,234"\nR1,01002,7\n', "line 2: minutes '1,234' may be 1234 or 1.234"),
        ("from;to;minutes\nR1;01001;7\nR1;01002;2.500\n", "line 3: minutes '2.500' may be 2500 or 2.500"),
        ('from,to,minutes\nR1,01001,"12,5"\nR1,01002,12.5\n', "both with a decimal comma \\('12,5', line 2\\) and"),
    ],
)
def test_a_column_either_style_could_have_written_is_refused(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as err:
        matrix.read_pairs(text.encode(), "m.csv")
    assert "\n" not in str(err.value)


def test_a_decimal_comma_file_gives_the_travel_of_its_decimal_point_twin() -> None:
    acc = pd.DataFrame({"account_id": ["A1", "A2"], "postal_code": ["01001", "01002"]})
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "active": [True, True]})
    dot = "from,to,minutes\nR1,01001,131.03\nR1,01002,5.25\nR2,01001,12\nR2,01002,1234.5\n"
    comma = 'from,to,minutes\nR1,01001,"131,03"\nR1,01002,"5,25"\nR2,01001,12\nR2,01002,"1.234,5"\n'
    semicolon = "from;to;minutes\nR1;01001;131,03\nR1;01002;5,25\nR2;01001;12\nR2;01002;1.234,5\n"
    want = matrix.read_travel_matrix(dot.encode(), acc, reps, "m.csv").to_numpy()
    np.testing.assert_allclose(want, [[131.03, 12], [5.25, 1234.5]])
    for text in (comma, semicolon):
        np.testing.assert_allclose(matrix.read_travel_matrix(text.encode(), acc, reps, "m.csv").to_numpy(), want)


@pytest.mark.parametrize(
    ("header", "unit", "factor"),
    [
        ("source,destination,duration", "minutes", 1 / 60),  # OSRM, flattened: seconds
        ("origin,destination,duration_value", "minutes", 1 / 60),  # Google Distance Matrix
        ("from,to,hours", "minutes", 60),
        ("from,to,travel_time_min", "minutes", 1),
        ("from,to,distance", "km", 1 / 1000),  # OSRM, ORS: metres
        ("origin,destination,distance_value", "km", 1 / 1000),
        ("from,to,distance_mi", "miles", 1),
    ],
)
def test_routing_engine_names_are_read_in_their_units(header: str, unit: str, factor: float) -> None:
    p = matrix.read_pairs(f"{header}\nR1,01001,3600\nR1,01002,7200\n".encode(), "m.csv")
    assert p.unit == unit and list(p.value) == pytest.approx([3600 * factor, 7200 * factor])


@pytest.mark.parametrize(
    "header",
    ["from,to,distance,duration", "from,to,distance_m,duration_s", "origin,destination,duration_value,distance_value"],
)
def test_time_wins_over_distance_and_a_note_says_so(header: str) -> None:
    first, second = header.split(",")[2:]
    rows = {"distance": "90000", "distance_m": "90000", "distance_value": "90000"}
    a, b = rows.get(first, "5400"), rows.get(second, "5400")
    text = f"{header}\nR1,A1,{a},{b}\n"
    acc = pd.DataFrame({"account_id": ["A1"], "postal_code": ["01001"]})
    t = matrix.read_travel_matrix(text.encode(), acc, pd.DataFrame({"rep_id": ["R1"]}), "m.csv")
    assert t.attrs["unit"] == "minutes" and t.iloc[0, 0] == pytest.approx(90)
    (note,) = t.attrs["notes"]
    assert "travel is its time" in note and "distance" in note


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("from,to,seconds,duration\nR1,A1,60,60\n", "seconds and duration are both times; keep one"),
        ("from,to,travel_time\nR1,A1,60\n", "Accepted columns: from \\(or source, origin.*duration is seconds"),
        ("from,to,duration\nR1,A1,5\nR1,A2,7\n", "duration is read as seconds .* likely in minutes; name the column"),
        ("from,to,distance\nR1,A1,12.5\nR1,A2,40\n", "likely in km; name the column km or metres"),
        ("from,01001,01002\nR1,5,7\nR2,8,9\n", "is a wide table .* flatten it to one row per pair"),
        (",01001,01002\nR1,5,7\nR2,8,9\n", "is a wide table"),
        ("rep,zip,drive\nR1,01001,5\n", "has columns rep, zip, drive; give a CSV with a header from,to,minutes"),
    ],
)
def test_what_cannot_be_read_says_what_would_work(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as err:
        matrix.read_pairs(text.encode(), "m.csv")
    assert "\n" not in str(err.value)


def test_a_wide_table_whose_corner_names_the_unit_is_read() -> None:
    p = matrix.read_pairs(b'seconds,01001,A2\nR1,60,"90,5"\nR2,120,30\n', "m.csv")
    got = {(f, t): v for f, t, v in zip(p.frm, p.to, p.value, strict=True)}
    assert p.unit == "minutes"
    assert got == pytest.approx({("R1", "1001"): 1, ("R1", "A2"): 90.5 / 60, ("R2", "1001"): 2, ("R2", "A2"): 0.5})
    with pytest.raises(BadInput, match="line 2: seconds 'x' is not a number"):  # the file's line, not the pair's
        matrix.read_pairs(b"seconds,01001,A2\nR1,60,x\nR2,120,30\n", "m.csv")


def test_balance_reads_a_semicolon_decimal_comma_matrix(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As a user would: road minutes saved by a German spreadsheet (';' and ','), then an OSRM table as it comes."""
    with store.read(small_store) as con:
        acc, reps = scenarios.inputs(con, scope=OPERATOR)
    active = reps[reps["active"].astype(bool)]
    lat, lon = acc["lat"].to_numpy(float), acc["lon"].to_numpy(float)
    t = pd.concat(
        [
            pd.DataFrame({"from": r["rep_id"], "to": acc["account_id"],
                          "minutes": np.round(geo.haversine_km(lat, lon, r["home_lat"], r["home_lon"]) * 0.9 + 5, 2)})
            for _, r in active.iterrows()
        ],
        ignore_index=True,
    )  # fmt: skip
    eu = t.assign(minutes=t["minutes"].map(lambda v: f"{v:,.2f}".translate(str.maketrans(",.", ".,"))))
    assert eu["minutes"].str.contains(r"\.\d{3},", regex=True).any()  # some values above 1,000: 1.234,56
    eu.to_csv(tmp_path / "eu.csv", index=False, sep=";")
    assert cli.main(["--db", str(small_store), "balance", "--travel-matrix", str(tmp_path / "eu.csv"), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    minutes = t.set_index(["to", "from"])["minutes"]
    owned = acc[acc["owner_rep_id"].isin(active["rep_id"])]
    today = np.mean([minutes[(a, o)] for a, o in zip(owned["account_id"], owned["owner_rep_id"], strict=True)])
    assert figures["travel_unit"] == "minutes" and figures["travel_km_today"] == pytest.approx(today, rel=1e-6)

    t.pivot(index="from", columns="to", values="minutes").to_csv(tmp_path / "wide.csv")  # OSRM's table, no unit
    assert cli.main(["--db", str(small_store), "balance", "--travel-matrix", str(tmp_path / "wide.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: travel matrix wide.csv is a wide table") and err.count("\n") == 1
    assert "from,to,minutes" in err
