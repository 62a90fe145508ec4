"""`balance --travel-matrix FILE` (#15 point 4): the solver minimises the file's travel, not great-circle km."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import cli, geo, optimize, scenarios, store
from planner.scope import OPERATOR


def inputs(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with store.read(path) as con:
        return scenarios.inputs(con, scope=OPERATOR)


def swapped_minutes(acc: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """Road minutes that disagree with the map: each rep's travel is measured from another rep's home."""
    active = reps[reps["active"].astype(bool)].reset_index(drop=True)
    lat, lon = acc["lat"].to_numpy(float), acc["lon"].to_numpy(float)
    order = np.roll(np.arange(len(active)), 1)
    rows = []
    for j, rep in active.iterrows():
        h = active.iloc[order[j]]
        km = geo.haversine_km(lat, lon, float(h["home_lat"]), float(h["home_lon"]))
        rows.append(pd.DataFrame({"from": rep["email"], "to": acc["account_id"], "minutes": np.round(km * 0.8, 1)}))
    return pd.concat(rows, ignore_index=True)


def test_matrix_drives_the_solver_and_the_cli_reports_minutes(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acc, reps = inputs(small_store)
    table = swapped_minutes(acc, reps)
    file = tmp_path / "minutes.csv"
    table.to_csv(file, index=False)
    opts = optimize.Options(metric="accounts", tolerance=0.05)
    by_matrix = optimize.rebalance(acc, reps, opts, distance=scenarios.travel_table(file, acc, reps, opts))
    by_map = optimize.rebalance(acc, reps, opts)
    email = dict(zip(reps["rep_id"], reps["email"], strict=True))
    minutes = table.set_index(["to", "from"])["minutes"]

    def mean_minutes(res: optimize.Result) -> float:
        a = res.assignments
        return float(np.mean([minutes[(x, email[o])] for x, o in zip(a["account_id"], a["owner"], strict=True)]))

    # The matrix's assignment travels clearly less by the matrix than the great-circle one does.
    assert mean_minutes(by_matrix) < 0.9 * mean_minutes(by_map)
    assert by_matrix.summary["travel_km_after"] == pytest.approx(mean_minutes(by_matrix), rel=1e-6)

    # The page's path (an upload's bytes through scenarios.run) gives the same assignment.
    with store.read(small_store) as con:
        page = scenarios.run(con, opts, scope=OPERATOR, travel_matrix=file.read_bytes(), matrix_name="minutes.csv")
    assert list(page.assignments["owner"]) == list(by_matrix.assignments["owner"])

    code = cli.main(["--db", str(small_store), "balance", "--metric", "accounts", "--travel-matrix", str(file),
                     "--json"])  # fmt: skip
    assert code == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["travel_unit"] == "minutes"
    assert figures["travel_km_after"] == pytest.approx(mean_minutes(by_matrix), rel=1e-6)
    assert cli.main(["--db", str(small_store), "balance", "--metric", "accounts", "--travel-matrix", str(file)]) == 0
    assert " minutes today -> " in capsys.readouterr().out


def test_missing_pairs_and_hires_are_one_line_errors(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acc, reps = inputs(small_store)
    table = swapped_minutes(acc, reps)
    file = tmp_path / "partial.csv"
    table.iloc[1:].to_csv(file, index=False)
    assert cli.main(["--db", str(small_store), "balance", "--travel-matrix", str(file)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: travel matrix partial.csv has no minutes between account")
    assert "(1 of" in err and "\n" not in err
    table.to_csv(file, index=False)
    assert cli.main(["--db", str(small_store), "balance", "--reps", "9", "--travel-matrix", str(file)]) == 2
    assert "no rows for new hires" in capsys.readouterr().err
    missing = tmp_path / "nope.csv"
    assert cli.main(["--db", str(small_store), "balance", "--travel-matrix", str(missing)]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_a_zip_level_export_from_rep_homes_works_end_to_end(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One row per rep and ZIP (a routing engine's home-to-ZIP-centroid export), account rows where a ZIP is
    missing: every account's travel comes from its ZIP's row, and the result is measured in that matrix."""
    acc, reps = inputs(small_store)
    active = reps[reps["active"].astype(bool)]
    acc = acc.assign(zip5=acc["postal_code"].astype("string").str.strip())
    zips = acc.dropna(subset=["zip5"]).groupby("zip5")[["lat", "lon"]].mean()
    rows = []
    for _, rep in active.iterrows():
        km = geo.haversine_km(zips["lat"].to_numpy(), zips["lon"].to_numpy(), rep["home_lat"], rep["home_lon"])
        rows.append(pd.DataFrame({"from": rep["email"], "to": zips.index, "minutes": np.round(km * 0.9 + 5, 1)}))
        no_zip = acc[acc["zip5"].isna()]
        km = geo.haversine_km(no_zip["lat"].to_numpy(), no_zip["lon"].to_numpy(), rep["home_lat"], rep["home_lon"])
        rows.append(pd.DataFrame({"from": rep["rep_id"], "to": no_zip["account_id"], "minutes": np.round(km, 1)}))
    table = pd.concat(rows, ignore_index=True)
    assert len(table) < len(acc) * len(active)  # ZIP rows cover several accounts each
    file = tmp_path / "zip_minutes.csv"
    table.to_csv(file, index=False)
    out = tmp_path / "plain.csv"
    code = cli.main(["--db", str(small_store), "balance", "--travel-matrix", str(file), "--out", str(out), "--json"])
    assert code == 0, capsys.readouterr().err
    figures = json.loads(capsys.readouterr().out)
    assert figures["travel_unit"] == "minutes"
    lookup = table.assign(to=table["to"].astype(str)).set_index(["from", "to"])["minutes"]
    email = dict(zip(active["rep_id"], active["email"], strict=True))
    plain = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    owner_email = dict(zip(plain["account_id"], plain["owner_email"], strict=True))
    zip_of = dict(zip(acc["account_id"], acc["zip5"], strict=True))
    rep_of_email = {v: k for k, v in email.items()}
    minutes = [
        lookup[(owner_email[a], zip_of[a])] if pd.notna(zip_of[a]) else lookup[(rep_of_email[owner_email[a]], a)]
        for a in acc["account_id"]
    ]
    assert figures["travel_km_after"] == pytest.approx(float(np.mean(minutes)), rel=1e-6)


def test_the_travel_template_round_trips_through_the_cli(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`balance --travel-template FILE`: the pairs to route, no solve; filled in, it is the --travel-matrix."""
    tpl = tmp_path / "pairs.csv"
    assert cli.main(["--db", str(small_store), "balance", "--travel-template", str(tpl)]) == 0
    err = capsys.readouterr().err
    assert "fill the minutes column" in err and "--travel-matrix" in err
    t = pd.read_csv(tpl, dtype={"from": str, "to": str}, encoding="utf-8-sig")
    acc, reps = inputs(small_store)
    assert set(t["from"]) == set(reps.loc[reps["active"].astype(bool), "rep_id"])
    assert t.groupby("from")["accounts"].sum().eq(len(acc)).all()  # every account once per rep
    km = geo.haversine_km(
        t["from_lat"].to_numpy(), t["from_lon"].to_numpy(), t["to_lat"].to_numpy(), t["to_lon"].to_numpy()
    )
    t["minutes"] = np.round(km * 0.75 + 3, 1)
    t.to_csv(tpl, index=False)
    code = cli.main(["--db", str(small_store), "balance", "--travel-matrix", str(tpl), "--json"])
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["travel_unit"] == "minutes"
    assert cli.main(["--db", str(small_store), "balance", "--travel-template", str(tmp_path / "p.xlsx")]) == 2
    assert "use a .csv file name" in capsys.readouterr().err
