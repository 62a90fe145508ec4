"""Import speed against DuckDB's own read_csv, for the benchmark script and the README.

`write_salesforce_export` writes a demo world as a Salesforce account report (labels, formatted
currency, footer; `write_salesforce_report` does it for any accounts). `time_import` loads the same
file once with plain `read_csv` into a table and once through the importer (normalised, geocoded,
merged) into a fresh store, side by side in one process, and returns both times. `write_salesforce_deals` writes
an opportunity report of about two deals per account of such an export, linked by Account ID or by account name
alone; `time_deals_import` times their import into a store holding the accounts against DuckDB reading the file
and joining it to the accounts, side by side.
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


DEALS_HEADER = ["Opportunity ID", "Opportunity Name", "Account ID", "Account Name", "Stage", "Amount",
                "Close Date", "Created Date", "Opportunity Owner"]  # fmt: skip
STAGES = ["Closed Won", "Closed Lost", "Closed Lost", "Prospecting", "Negotiation/Review"]


def _export_accounts(accounts_csv: Path) -> pd.DataFrame:
    """The account rows of a Salesforce report export (its footer left out)."""
    con = duckdb.connect()
    try:
        return con.execute(
            """SELECT "Account ID" AS id, "Account Name" AS name, "Account Owner" AS owner
               FROM read_csv(?, all_varchar = true, null_padding = true) WHERE "Account Name" IS NOT NULL""",
            [str(accounts_csv)],
        ).df()
    finally:
        con.close()


def write_salesforce_deals(path: Path, accounts_csv: Path, by: str = "id", per_account: float = 2.0,
                           seed: int = 12) -> int:  # fmt: skip
    """An opportunity report of the accounts in `accounts_csv` (a Poisson number per account, `per_account` on
    average, as a CRM holds them): linked by Account ID (`by` "id") or by the account's name alone ("name", no
    Account ID column). Returns the data rows."""
    acc = _export_accounts(accounts_csv)
    rng = np.random.default_rng(seed)
    of = np.repeat(np.arange(len(acc)), rng.poisson(per_account, len(acc)))
    n = len(of)
    created = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 1800, n), unit="D")
    closed = created + pd.to_timedelta(rng.integers(10, 240, n), unit="D")
    deals = pd.DataFrame({
        "Opportunity ID": [f"006B{i:011d}" for i in range(n)],
        "Opportunity Name": acc["name"].to_numpy()[of] + " - " + pd.Series(np.arange(n) % 7).astype(str).to_numpy(),
        "Account ID": acc["id"].to_numpy()[of], "Account Name": acc["name"].to_numpy()[of],
        "Stage": np.array(STAGES, dtype=object)[rng.integers(0, len(STAGES), n)],
        "Amount": [f"${x:,.2f}" for x in rng.lognormal(10, 1.2, n)],
        "Close Date": closed.strftime("%-m/%-d/%Y"), "Created Date": created.strftime("%-m/%-d/%Y"),
        "Opportunity Owner": acc["owner"].to_numpy()[of],
    })  # fmt: skip
    if by == "name":
        deals = deals.drop(columns=["Account ID"])
    deals.to_csv(path, index=False, quoting=csv.QUOTE_ALL)
    return n


def time_deals_import(accounts_csv: Path, deals_csv: Path, workdir: Path) -> dict[str, Any]:
    """Seconds to import `deals_csv` into a store that holds the accounts of `accounts_csv` (imported before the
    clock starts), and, side by side in one process, for DuckDB to read the same file into a table joined to
    the accounts by the same link (Account ID, or the name where the file has no ID): the least any import does."""
    from planner import ingest
    from planner.ingest import limits

    load_before = os.getloadavg()[0]
    by_id = "Account ID" in pd.read_csv(deals_csv, nrows=0).columns
    con = duckdb.connect(str(workdir / "baseline-deals.duckdb"))
    con.execute("SET enable_progress_bar = false")
    con.execute(
        """CREATE OR REPLACE TABLE acc AS SELECT "Account ID" AS id, lower("Account Name") AS name
           FROM read_csv(?, all_varchar = true, null_padding = true) WHERE "Account Name" IS NOT NULL""",
        [str(accounts_csv)],
    )
    on = 'a.id = d."Account ID"' if by_id else 'a.name = lower(d."Account Name")'
    t0 = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TABLE t AS SELECT d.*, a.id AS account_id FROM read_csv(?) d LEFT JOIN acc a ON {on}",
                [str(deals_csv)])  # fmt: skip
    con.execute("CHECKPOINT")
    baseline_s = time.perf_counter() - t0
    con.close()
    (workdir / "baseline-deals.duckdb").unlink(missing_ok=True)
    db = workdir / "bench-deals.duckdb"
    db.unlink(missing_ok=True)
    with limits.local_files():  # files on this machine, as the CLI reads them: 2M deals are 300 MB
        ingest.import_files(db, [accounts_csv], "accounts", scope=OPERATOR)
        t0 = time.perf_counter()
        report = ingest.import_files(db, [deals_csv], "deals", scope=OPERATOR)
        import_s = time.perf_counter() - t0
    f = report.files[0]
    return {
        "by": "id" if by_id else "name", "rows": f.rows_read, "inserted": f.inserted, "rejected": f.rejected,
        "accounts_created": f.accounts_created, "baseline_s": round(baseline_s, 3), "import_s": round(import_s, 3),
        "ratio": round(import_s / baseline_s, 2), "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }  # fmt: skip


def time_deals(n: int, workdir: Path, accounts_csv: Path | None = None) -> dict[str, Any]:
    """An accounts export of `n` (written unless given), its deals by ID and by name: both imports timed."""
    if accounts_csv is None:
        accounts_csv = workdir / f"salesforce_accounts_{n}.csv"
        write_salesforce_export(accounts_csv, n)
    out: dict[str, Any] = {}
    for by in ("id", "name"):
        deals_csv = workdir / f"salesforce_deals_by_{by}_{n}.csv"
        write_salesforce_deals(deals_csv, accounts_csv, by)
        out[by] = time_deals_import(accounts_csv, deals_csv, workdir)
    return out


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


if __name__ == "__main__":  # python -m bench.import_speed [xlsx | deals] N [existing export.csv]
    import json
    import sys

    mode = sys.argv[1] if sys.argv[1:2] in (["xlsx"], ["deals"]) else ""
    args = sys.argv[2:] if mode else sys.argv[1:]
    n = int(args[0]) if args else 100_000
    tmp = Path(tempfile.mkdtemp(prefix="planner-bench-"))
    path = Path(args[1]) if len(args) > 1 else tmp / f"salesforce_accounts_{n}.csv"
    if len(args) <= 1:
        write_salesforce_export(path, n)
    if mode == "deals":  # about two deals per account, linked by Account ID and by name, into the accounts' store
        print(json.dumps(time_deals(n, tmp, path)))
    else:
        print(json.dumps(time_xlsx(path, tmp) if mode == "xlsx" else time_import(path, tmp)))
