"""Import speed against DuckDB's own read_csv, for the benchmark script and the README.

`write_salesforce_export` writes a demo world as a Salesforce account report (labels, formatted
currency, footer; `write_salesforce_report` does it for any accounts). `time_import` loads the same
file once with plain `read_csv` into a table and once through the importer (normalised, geocoded,
merged) into a fresh store, side by side in one process, and returns both times.
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from planner import demo, store
from planner.scope import OPERATOR

HEADER = ["Account ID", "Account Name", "Industry", "Type", "Billing City", "Billing State/Province",
          "Billing Zip/Postal Code", "Billing Country", "Employees", "Annual Revenue", "Account Owner",
          "Intent Score", "Employee Growth (12m) %", "New Executive (90d)", "Website Visits (30d)",
          "Created Date"]  # fmt: skip


def write_salesforce_export(path: Path, n_accounts: int, seed: int = 11, n_reps: int = 40) -> int:
    """Write a demo world of `n_accounts` as a Salesforce account report CSV; returns the data rows."""
    w = demo.build_world(n_accounts, n_reps, seed, deals_per_account=0.01)
    names = dict(zip(w.reps["rep_id"], w.reps["name"], strict=True))
    owners = w.accounts["owner_rep_id"].map(names)
    return write_salesforce_report(path, w.accounts.assign(owner=owners), seed)


def write_salesforce_report(path: Path, accounts: pd.DataFrame, seed: int = 11) -> int:
    """Write accounts (the store's columns, plus `owner` as a name) the way a Salesforce report export
    writes them: every value quoted, formatted numbers and currency, some ZIP+4 and ZIPs that lost their
    leading zero, and the report's footer. Returns the data rows."""
    a = accounts.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    # Real exports lose leading zeros and carry ZIP+4 now and then.
    zips = a["postal_code"].fillna("").to_numpy(dtype=object).copy()
    plus4 = rng.random(len(a)) < 0.1
    zips[plus4] = [z + "-0001" if z else z for z in zips[plus4]]
    lost = rng.random(len(a)) < 0.1
    zips[lost] = [z.lstrip("0") or z for z in zips[lost]]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, quoting=csv.QUOTE_ALL)
        out.writerow(HEADER)
        for i, r in enumerate(a.itertuples(index=False)):
            out.writerow([
                r.account_id, r.name, r.industry, r.account_type, r.city, r.state, zips[i], "United States",
                f"{r.employees:,}", f"${r.annual_revenue:,.2f}", r.owner if isinstance(r.owner, str) else "",
                f"{r.intent_score:.0f}", f"{r.employee_growth * 100:.1f}", "Yes" if r.new_executive else "No",
                r.website_visits, f"{1 + i % 12}/{1 + i % 28}/2025",
            ])  # fmt: skip
        out.writerow([])
        out.writerow([f"Grand Totals ({len(a):,} records)"])
        out.writerow(["Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."])
    return len(a)


def time_import(csv_path: Path, workdir: Path | None = None) -> dict[str, Any]:
    """Seconds for DuckDB read_csv into a table, and for the full import into a fresh store."""
    from planner import ingest

    load_before = os.getloadavg()[0]  # the machine's 1-minute load: figures from a busy machine say so
    workdir = workdir or Path(tempfile.mkdtemp(prefix="planner-bench-"))
    baseline_db = workdir / "baseline.duckdb"
    baseline_db.unlink(missing_ok=True)
    con = duckdb.connect(str(baseline_db))  # a scratch database for the baseline, not a store
    con.execute("SET enable_progress_bar = false")
    t0 = time.perf_counter()
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, null_padding = true)", [str(csv_path)])
    con.execute("CHECKPOINT")
    read_csv_s = time.perf_counter() - t0
    con.close()
    baseline_db.unlink(missing_ok=True)
    db = workdir / "bench.duckdb"
    db.unlink(missing_ok=True)
    store.migrate(db)  # schema and gazetteer exist before the clock starts
    t0 = time.perf_counter()
    report = ingest.import_files(db, [csv_path], "accounts", scope=OPERATOR)
    import_s = time.perf_counter() - t0
    f = report.files[0]
    return {
        "rows": f.rows_read, "inserted": f.inserted, "rejected": f.rejected,
        "geocoded_valid_zip": f.geocoding.get("valid_zip_placed"), "valid_zip": f.geocoding.get("valid_zip"),
        "read_csv_s": round(read_csv_s, 3), "import_s": round(import_s, 3), "ratio": round(import_s / read_csv_s, 2),
        "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
    }  # fmt: skip


def write_xlsx(csv_path: Path, xlsx_path: Path) -> None:
    """The same export as an Excel workbook (every value as the text the report shows)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Accounts")
    with open(csv_path, newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            ws.append(row)
    wb.save(xlsx_path)


def time_xlsx(csv_path: Path, workdir: Path) -> dict[str, Any]:
    """The export as .xlsx: the reader with calamine (where its scan allows) against openpyxl, side by side in one
    process, then the whole import of the workbook against that of the CSV."""
    from planner import ingest
    from planner.ingest import reader, xlsx

    load_before = os.getloadavg()[0]
    book = workdir / f"{csv_path.stem}.xlsx"
    write_xlsx(csv_path, book)
    out: dict[str, Any] = {"xlsx_mb": round(book.stat().st_size / 1e6, 1)}
    real = xlsx.calamine_sheets
    for engine in ("calamine", "openpyxl"):
        xlsx.calamine_sheets = real if engine == "calamine" else (lambda path: None)  # type: ignore[assignment]
        t0, c0 = time.perf_counter(), time.process_time()
        tables = reader.open_tables(book, workdir=Path(tempfile.mkdtemp(dir=workdir)))
        out[f"read_{engine}_s"] = round(time.perf_counter() - t0, 2)
        out[f"read_{engine}_cpu_s"] = round(time.process_time() - c0, 2)
        assert tables
    xlsx.calamine_sheets = real
    for kind, path in (("csv", csv_path), ("xlsx", book), ("csv", csv_path)):  # the first warms the process
        db = workdir / f"bench-{kind}.duckdb"
        db.unlink(missing_ok=True)
        store.migrate(db)
        t0 = time.perf_counter()
        report = ingest.import_files(db, [path], "accounts", scope=OPERATOR)
        out[f"import_{kind}_s"] = round(time.perf_counter() - t0, 2)
        out[f"import_{kind}_inserted"] = report.files[0].inserted
    out["read_speedup"] = round(out["read_openpyxl_cpu_s"] / out["read_calamine_cpu_s"], 1)
    out["load_before"], out["load_after"] = round(load_before, 2), round(os.getloadavg()[0], 2)
    return out


if __name__ == "__main__":  # python -m bench.import_speed [xlsx] N [existing export.csv]
    import json
    import sys

    xlsx = sys.argv[1:2] == ["xlsx"]  # the same export as a workbook: calamine vs openpyxl, .xlsx vs .csv
    args = sys.argv[2:] if xlsx else sys.argv[1:]
    n = int(args[0]) if args else 100_000
    tmp = Path(tempfile.mkdtemp(prefix="planner-bench-"))
    path = Path(args[1]) if len(args) > 1 else tmp / f"salesforce_accounts_{n}.csv"
    if len(args) <= 1:
        write_salesforce_export(path, n)
    print(json.dumps(time_xlsx(path, tmp) if xlsx else time_import(path, tmp)))
