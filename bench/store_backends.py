"""The store on a DuckDB file and on a DuckLake (#19 performance bars), side by side in one run.

    python bench/store_backends.py --sizes 100000            # starts a throwaway PostgreSQL (tests/lake.py)
    python bench/store_backends.py --sizes 100000 1000000 --lake-pg "host=127.0.0.1 port=5432 user=postgres"
    python bench/store_backends.py --sizes 1000000 --only import --work /tmp/benchwork   # the import alone

For each size: the demo store is built as a file and copied into a new lake (`planner store copy`); the
Overview and Coverage figures are read from each (best of 5 after a warm-up, file and lake taking turns, in
one process that keeps its lake attached, as an app process does); a one-account edit is committed 7 times
on each (median); and a Salesforce export of the same size is imported into a new file and into a new lake,
twice each in the order file, lake, lake, file (the best of each, with its CPU time, which load on the machine
changes less than wall-clock time). Prints a Markdown table and writes bench/out/store_backends.json
(`--only import`: the imports alone, bench/out/store_backends-import.json). Numbers for the README come from here.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.import_speed import write_salesforce_export  # noqa: E402
from planner import demo, ingest, store  # noqa: E402
from planner.coverage import report  # noqa: E402
from planner.scope import OPERATOR  # noqa: E402

OUT = ROOT / "bench" / "out"
REPS = {10_000: 24, 100_000: 200, 1_000_000: 200}


def best_of_both(fn: Callable[[Path], Any], file_db: Path, lake: Path, runs: int = 5) -> tuple[float, float]:
    """Best time of `fn(store)` on the file and on the lake, run alternately (file, lake, file, ...) after a
    warm-up of each (the lake's attachment, the catalog, DuckDB's caches), so that load from other work on the
    machine falls on both alike."""
    fn(file_db)
    fn(lake)
    times: dict[Path, list[float]] = {file_db: [], lake: []}
    for _ in range(runs):
        for path in (file_db, lake):
            start = time.perf_counter()
            fn(path)
            times[path].append(time.perf_counter() - start)
    return min(times[file_db]), min(times[lake])


def overview(path: Path) -> None:
    with store.read(path) as con:
        report.overview(con, scope=OPERATOR)


def coverage(path: Path) -> None:
    with store.read(path) as con:
        report.territory_metrics(con, scope=OPERATOR)


def page_reads(file_db: Path, lake: Path) -> tuple[dict[str, float], dict[str, float]]:
    """The Overview and Coverage figures of each store: (file's, lake's) best times."""
    file_out: dict[str, float] = {}
    lake_out: dict[str, float] = {}
    for key, fn in (("overview_s", overview), ("coverage_s", coverage)):
        file_out[key], lake_out[key] = best_of_both(fn, file_db, lake)
    return file_out, lake_out


def edit_commit(path: Path) -> float:
    with store.read(path) as con:
        account = str(store.scalar(con, "SELECT min(account_id) FROM accounts"))
    times = []
    for _ in range(7):
        start = time.perf_counter()
        with store.write(path) as con:
            con.execute("UPDATE accounts SET locked = NOT coalesce(locked, false) WHERE account_id = ?", [account])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_s() -> float:
    """This process's CPU time so far (every DuckDB thread; the lake's PostgreSQL server is another process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def import_time(path: Path, csv_file: Path) -> tuple[float, float]:
    """(wall-clock s, CPU s) of importing `csv_file` into the new store `path`."""
    start, cpu = time.perf_counter(), cpu_s()
    report_ = ingest.import_files(path, [csv_file], scope=OPERATOR)
    assert report_.landed, report_
    return time.perf_counter() - start, cpu_s() - cpu


def imports(pg: str, work: Path, csv_file: Path, runs: int) -> dict[str, dict[str, float]]:
    """Import the export into a new file and a new lake `runs` times each, in the order file, lake, lake, file,
    ... (so that load rising or falling over the runs falls on both alike): the best wall-clock time of each, and
    the CPU time of that run."""
    best: dict[str, tuple[float, float]] = {}
    for i in range(runs):
        for kind in ("file", "lake") if i % 2 == 0 else ("lake", "file"):
            if kind == "file":
                target = work / f"import-{uuid.uuid4().hex[:6]}.duckdb"
                took = import_time(target, csv_file)
                target.unlink()
                target.with_name(target.name + ".lock").unlink(missing_ok=True)
            else:
                took = import_time(lake_for(pg, work / "lake-data"), csv_file)
            best[kind] = min(best.get(kind, took), took)
    return {kind: {"import_s": wall, "import_cpu_s": cpu} for kind, (wall, cpu) in best.items()}


def lake_for(pg: str, data_root: Path) -> Path:
    """A new lake: a new PostgreSQL database and data folder (PLANNER_LAKE_DATA points at it)."""
    import subprocess

    name = f"bench_{uuid.uuid4().hex[:10]}"
    parts = dict(p.split("=", 1) for p in pg.split())
    cmd = ["createdb", "-h", parts.get("host", "127.0.0.1"), "-p", parts.get("port", "5432"),
           "-U", parts.get("user", "postgres"), name]  # fmt: skip
    subprocess.run(cmd, check=True, env={**os.environ, "PATH": os.environ["PATH"] + ":" + PG_BIN})
    data = data_root / name
    data.mkdir(parents=True)
    os.environ["PLANNER_LAKE_DATA"] = str(data)
    return Path(f"ducklake:postgres:dbname={name} {pg}")


PG_BIN = ""


def run(size: int, pg: str, work: Path, only: str = "all", import_runs: int = 2) -> dict[str, Any]:
    """One size: the page figures, the edit and the imports (`only="import"`: the imports alone)."""
    out: dict[str, Any] = {"accounts": size, "load_before": round(os.getloadavg()[0], 1), "file": {}, "lake": {}}
    if only == "all":
        file_db = work / f"world-{size}.duckdb"
        if not file_db.exists():
            start = time.perf_counter()
            demo.build_store(file_db, size, REPS.get(size, 200), 7, scope=OPERATOR)
            out["build_file_s"] = time.perf_counter() - start
        lake = lake_for(pg, work / "lake-data")
        start = time.perf_counter()
        store.copy_store(file_db, lake)
        out["copy_to_lake_s"] = time.perf_counter() - start
        out["file"], out["lake"] = page_reads(file_db, lake)
        out["file"]["edit_commit_s"] = edit_commit(file_db)
        out["lake"]["edit_commit_s"] = edit_commit(lake)
    csv_file = work / f"export-{size}.csv"
    if not csv_file.exists():
        write_salesforce_export(csv_file, size, seed=11, n_reps=REPS.get(size, 200))
    for kind, figures in imports(pg, work, csv_file, import_runs).items():
        out[kind].update(figures)
    out["load_after"] = round(os.getloadavg()[0], 1)
    return out


def table(results: list[dict[str, Any]]) -> str:
    """The Markdown table, with the machine's 1-minute load average before and after each size (2 cores: a
    load far above 2 means other work shared the cores, and only the ratios of one run compare)."""
    rows = ["| accounts | measure | file (s) | lake (s) | lake / file |", "|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r['accounts']:,} | load average before / after | {r['load_before']} | {r['load_after']} | |")
        for key, label in [("overview_s", "Overview figures"), ("coverage_s", "Coverage figures"),
                           ("edit_commit_s", "one-account edit, commit"), ("import_s", "import of an export"),
                           ("import_cpu_s", "CPU time of that import")]:  # fmt: skip
            if key not in r["file"]:
                continue
            f, lk = r["file"][key], r["lake"][key]
            rows.append(f"| {r['accounts']:,} | {label} | {f:.3f} | {lk:.3f} | {lk / f:.2f}x |")
    return "\n".join(rows)


def main() -> None:
    global PG_BIN
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--lake-pg", help="libpq settings of a PostgreSQL to use (default: start one)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the stores (default: a temporary one)")
    parser.add_argument("--only", choices=("all", "import"), default="all",
                        help="import: only the imports of the export, into new files and new lakes")  # fmt: skip
    parser.add_argument("--import-runs", type=int, default=2,
                        help="imports into a new file and a new lake, each (best of them; default 2)")  # fmt: skip
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="planner-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    pg_server = None
    if args.lake_pg:
        pg = args.lake_pg
    else:
        from tests.lake import Postgres

        pg_server = Postgres()
        pg = f"host=127.0.0.1 port={pg_server.port} user=postgres"
        PG_BIN = str(pg_server.bin)
    try:
        results = [run(size, pg, work, args.only, args.import_runs) for size in args.sizes]
    finally:
        if pg_server is not None:
            pg_server.close()
    OUT.mkdir(parents=True, exist_ok=True)
    name = "store_backends.json" if args.only == "all" else f"store_backends-{args.only}.json"
    (OUT / name).write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
