"""Benchmarks at 10k, 100k and 1M accounts, each next to a baseline measured in the same run.

    python bench/run.py                      # all sizes, writes bench/RESULTS.md (load average 5-9: 10k 4 min,
                                             # 100k 6 min, 1M 13.5 min; 4.4 GB peak)
    python bench/run.py --sizes 10000 100000 # a quicker subset
    python bench/run.py --sizes 1000000 --steps balance baseline_greedy  # re-measure some steps, keep the rest
    python bench/run.py --render             # rewrite RESULTS.md from bench/out without measuring

Every measurement runs in its own process, so its peak memory (ru_maxrss) is its own. Machines
are noisy: compare the ratio to the baseline of the same run, not absolute seconds across runs.
Numbers in the README come from this script, never from timed tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS.md"
PAGES = ["overview", "coverage", "targets", "rebalance", "plan", "data", "model"]
REPS = {10_000: 24, 100_000: 200, 1_000_000: 200}
BALANCE_KEYS = ["max_mean_before", "max_mean_after", "lower_bound", "moved_share", "min_moved_share",
                "travel_km_today", "travel_km_after", "solve_seconds"]  # fmt: skip

# ---- steps: each runs in a child process and returns a dict ----------------------------------


def step_build(size: int, work: Path) -> dict[str, Any]:
    from planner import demo
    from planner.scope import OPERATOR

    db = work / f"world-{size}.duckdb"
    start, cpu = time.perf_counter(), _cpu()
    # Regional territories: today's books drift around a fair share, none many times it, so the rebalance's
    # lower bound is near 1 (with whole states to 200 reps, one rep's customers alone were 13x a fair share).
    counts = demo.build_store(
        db, size, REPS.get(size, 24), seed=1, force=True, deals_per_account=2.0, scope=OPERATOR, territories="regions"
    )
    return {"seconds": time.perf_counter() - start, "cpu_seconds": _cpu() - cpu, **counts}


def step_default_demo(size: int, work: Path) -> dict[str, Any]:
    """The embedded default: 5,000 accounts, 12 reps, as built on first launch (incl. training)."""
    from planner import demo
    from planner.scope import OPERATOR

    start = time.perf_counter()
    counts = demo.build_store(work / "default-demo.duckdb", 5000, 12, seed=7, force=True, scope=OPERATOR)
    return {"seconds": time.perf_counter() - start, **counts}


def step_write_export(size: int, work: Path) -> dict[str, Any]:
    """A Salesforce report export of the world's accounts, as Salesforce writes it (every value quoted,
    "$1,200,000.00", "1,792", ZIP+4 and lost leading zeros, the Grand Totals footer)."""
    from bench import import_speed as bench
    from planner import store
    from planner.scope import OPERATOR
    from planner.store import world

    with store.read(work / f"world-{size}.duckdb") as con:
        df = world.export_accounts(con, scope=OPERATOR)
    path = work / f"sf-accounts-{size}.csv"
    rows = bench.write_salesforce_report(path, df)
    return {"rows": rows, "mb": path.stat().st_size / 1e6}


def step_import(size: int, work: Path) -> dict[str, Any]:
    """DuckDB's read_csv of the export into a table, then our import of it into a fresh store (schema and
    gazetteer made before the clock starts): side by side in one process, so the ratio is fair."""
    from bench import import_speed as bench

    res = bench.time_import(work / f"sf-accounts-{size}.csv", work)
    return {"seconds": res["import_s"], "read_csv_s": res["read_csv_s"], "ratio": res["ratio"],
            "rows_read": res["rows"], "inserted": res["inserted"], "rejected": res["rejected"],
            "valid_zip_placed": res["geocoded_valid_zip"], "valid_zip": res["valid_zip"]}  # fmt: skip


def step_import_deals(size: int, work: Path) -> dict[str, Any]:
    """About two deals per account of the export, linked by Account ID and (another file) by name alone, each
    imported into a store of the accounts; DuckDB reading the same file joined to the accounts side by side."""
    from bench import import_speed as bench

    res = bench.time_deals(size, work, work / f"sf-accounts-{size}.csv")
    return {"seconds": res["id"]["import_s"] + res["name"]["import_s"], **res}


def step_baseline_pandas_read_csv(size: int, work: Path) -> dict[str, Any]:
    import pandas as pd

    start = time.perf_counter()
    df = pd.read_csv(work / f"sf-accounts-{size}.csv", dtype={"Billing Zip/Postal Code": str}, thousands=",")
    return {"seconds": time.perf_counter() - start, "rows": len(df)}


def step_train(size: int, work: Path) -> dict[str, Any]:
    start, cpu = time.perf_counter(), _cpu()
    out = json.loads(_cli(["--db", str(work / f"world-{size}.duckdb"), "train", "--json"]))
    return {"seconds": time.perf_counter() - start, "cpu_seconds": _cpu() - cpu, "auc": out.get("auc"), "n_train": out.get("n_train"),
            "baselines": out.get("baselines")}  # fmt: skip


def step_score(size: int, work: Path) -> dict[str, Any]:
    start, cpu = time.perf_counter(), _cpu()
    _cli(["--db", str(work / f"world-{size}.duckdb"), "score", "--out", str(work / f"scores-{size}.csv")])
    return {"seconds": time.perf_counter() - start, "cpu_seconds": _cpu() - cpu}


def step_baseline_intent_rank(size: int, work: Path) -> dict[str, Any]:
    from planner import store

    start = time.perf_counter()
    with store.read(work / f"world-{size}.duckdb") as con:
        df = store.query_df(con, "SELECT account_id, intent_score FROM accounts")
    df["rank"] = df["intent_score"].rank(ascending=False, method="first")
    df.to_csv(work / f"intent-{size}.csv", index=False)
    return {"seconds": time.perf_counter() - start}


def step_metrics(size: int, work: Path) -> dict[str, Any]:
    start, cpu = time.perf_counter(), _cpu()
    _cli(["--db", str(work / f"world-{size}.duckdb"), "metrics", "--json"])
    return {"seconds": time.perf_counter() - start, "cpu_seconds": _cpu() - cpu}


def step_baseline_pandas_metrics(size: int, work: Path) -> dict[str, Any]:
    """Per-rep account counts and potential with a plain pandas groupby over all accounts."""
    from planner import store

    start = time.perf_counter()
    with store.read(work / f"world-{size}.duckdb") as con:
        df = store.query_df(
            con, "SELECT a.owner_rep_id, p.potential FROM accounts a JOIN account_potential p USING (account_id)"
        )
    df.groupby("owner_rep_id")["potential"].agg(["count", "sum"])
    return {"seconds": time.perf_counter() - start}


def step_balance(size: int, work: Path) -> dict[str, Any]:
    start, cpu = time.perf_counter(), _cpu()
    out = json.loads(_cli(["--db", str(work / f"world-{size}.duckdb"), "balance", "--json"]))
    return {"seconds": time.perf_counter() - start, "cpu_seconds": _cpu() - cpu, "result": _pick(out, BALANCE_KEYS)}


def step_baseline_greedy(size: int, work: Path) -> dict[str, Any]:
    """The same inputs as the CLI's optimizer, assigned by the greedy baseline."""
    from bench import optimizer
    from planner import optimize, scenarios, store
    from planner.scope import OPERATOR

    start, cpu = time.perf_counter(), _cpu()
    with store.read(work / f"world-{size}.duckdb") as con:
        acc, reps = scenarios.inputs(con, scope=OPERATOR)
    res = optimizer.greedy_rebalance(acc, reps, optimize.Options())
    return {"seconds": time.perf_counter() - start, "cpu_seconds": _cpu() - cpu,
            "result": _pick(res.summary, BALANCE_KEYS)}  # fmt: skip


def step_page(size: int, work: Path, name: str) -> dict[str, Any]:
    _local_app(size, work)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    start, cpu = time.perf_counter(), time.process_time()
    at.run()  # the default page (Overview), with the sidebar and the app's set-up
    if name != "overview":
        if name == "plan":  # a plan is per rep: pick the first one, as a rep would
            at.sidebar.selectbox(key="sb_rep").set_value("R001").run()
        # Time the page itself: its first render, its queries not cached yet.
        at.switch_page(f"pages/{name}.py")
        start, cpu = time.perf_counter(), time.process_time()
        at.run()
    first, cpu = time.perf_counter() - start, time.process_time() - cpu
    problems = _problems(at)
    title = at.title[0].value if len(at.title) else None
    start = time.perf_counter()
    at.run()
    rerun = time.perf_counter() - start
    # AppTest runs the page in this process: its CPU time (every thread, DuckDB's too) is the page's.
    out = {"seconds": first, "cpu_seconds": cpu, "rerun_seconds": rerun, "title": title, "exceptions": problems}
    # A filter change: one industry on the pages that filter by it.
    key = {"coverage": "cov_ind", "targets": "tg_industry"}.get(name)
    if key:
        start, cpu = time.perf_counter(), time.process_time()
        at.multiselect(key=key).set_value(["Software"]).run()
        out["filter_seconds"], out["filter_cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu
        problems += _problems(at)
    return out


def _local_app(size: int, work: Path) -> None:
    """The app on this world in open local mode (one local admin, as scripts/run starts it): without it every
    page shows only the 'not configured safely' screen."""
    os.environ["PLANNER_DB"] = str(work / f"world-{size}.duckdb")
    os.environ["PLANNER_OPEN_LOCAL"] = "1"


def _problems(at: Any) -> list[str]:
    """What went wrong on a rendered AppTest page: exceptions and error boxes, each cut to 200 characters."""
    return [str(e.value)[:200] for e in at.exception] + [str(e.value)[:200] for e in at.error]


def step_browser(size: int, work: Path) -> dict[str, Any]:
    """Time to a finished render of each page in Debian's chromium (real browser, loopback server)."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.helpers import start_server, stop_server, wait_rendered

    _local_app(size, work)
    proc, url = start_server(work / f"world-{size}.duckdb", work / f"browser-{size}.log")
    out: dict[str, Any] = {}
    try:
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = b.new_page(viewport={"width": 1400, "height": 900})
            for name in PAGES:
                start = time.perf_counter()
                page.goto(f"{url}/{'' if name == 'overview' else name}", wait_until="domcontentloaded")
                wait_rendered(page, 300)
                # wait_rendered waits for 0.5 s of quiet on a freshly loaded page: not part of the render.
                out[name] = round(time.perf_counter() - start - 0.5, 2)
                title = page.locator("h1").first.inner_text()
                if name != "overview" and "not configured" in title.lower():
                    raise RuntimeError(f"page {name} shows {title!r}, not the page")
            b.close()
    finally:
        stop_server(proc)
    out["seconds"] = max(out[n] for n in PAGES)
    return out


STEPS = {name[5:]: fn for name, fn in globals().items() if name.startswith("step_")}


def _pick(d: Any, keys: list[str]) -> Any:
    return {k: d[k] for k in keys if isinstance(d, dict) and k in d}


def _cpu() -> float:
    """CPU seconds of this process and of the children it waited for: under load, what a quiet machine's
    wall clock would read (roughly; DuckDB and HiGHS may use both cores)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _cli(args: list[str]) -> str:
    res = subprocess.run([sys.executable, "-m", "planner", *args], cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(res.stderr.strip()[-500:])
    return res.stdout


# ---- orchestration -----------------------------------------------------------------------------


def run_step(step: str, size: int, work: Path, *extra: str) -> dict[str, Any]:
    """Run one step in a child process; add its peak memory (MB)."""
    cmd = [sys.executable, __file__, "--child", step, str(size), str(work), *extra]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        return {"error": (res.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def child(step: str, size: int, work: Path, extra: list[str]) -> None:
    try:
        out = STEPS[step](size, work, *extra)
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    # ru_maxrss of this process and of the CLI children it waited for (Linux: KiB).
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    out["peak_mb"] = round(peak / 1024)
    print(json.dumps(out, default=str))


def fmt_s(r: dict[str, Any], key: str = "seconds") -> str:
    if "error" in r:
        return "error: " + r["error"]
    cpu_key = "cpu_seconds" if key == "seconds" else key.removesuffix("_seconds") + "_cpu_seconds"
    cpu = f" ({r[cpu_key]:.1f} CPU-s)" if key.endswith("seconds") and cpu_key in r else ""
    return f"{r[key]:.2f} s{cpu}"


def ratio(a: dict[str, Any], b: dict[str, Any]) -> str:
    if "error" in a or "error" in b or not b.get("seconds"):
        return "–"
    return f"{a['seconds'] / b['seconds']:.2f}x"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--work", type=Path, default=OUT)
    ap.add_argument("--steps", nargs="+", help="re-measure only these steps (e.g. train score page), keeping the rest")
    ap.add_argument("--render", action="store_true", help="measure nothing: rewrite RESULTS.md from the work folder")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        step, size, work, *extra = args.child
        child(step, int(size), Path(work), extra)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    for size in [] if args.render else args.sizes:
        print(f"== {size:,} accounts", file=sys.stderr)
        saved = args.work / f"raw-{size}.json"
        r: dict[str, Any] = json.loads(saved.read_text()) if args.steps and saved.exists() else {}
        # When and how busy (the 1-minute load average at the start and end); a re-measure of some steps is
        # noted next to the run's.
        began, load = datetime.now(UTC), os.getloadavg()[0]
        for step in ["build", "write_export", "import", "baseline_pandas_read_csv", "import_deals",
                     "train", "score", "baseline_intent_rank", "metrics", "baseline_pandas_metrics", "balance",
                     "baseline_greedy"]:  # fmt: skip
            if args.steps and step not in args.steps:
                continue
            r[step] = run_step(step, size, args.work)
            print(f"   {step}: {json.dumps(r[step], default=str)[:300]}", file=sys.stderr)
        for page in PAGES if not args.steps or "page" in args.steps else []:
            r[f"page_{page}"] = run_step("page", size, args.work, page)
            print(f"   page {page}: {r[f'page_{page}']}", file=sys.stderr)
        if not args.steps or "browser" in args.steps:
            r["browser"] = run_step("browser", size, args.work)
            print(f"   browser: {r['browser']}", file=sys.stderr)
        span = f"{began:%Y-%m-%d %H:%M}–{datetime.now(UTC):%H:%M} UTC, load average {load:.1f}–{os.getloadavg()[0]:.1f}"
        if args.steps and "measured_at" in r:
            r["remeasured"] = [*r.get("remeasured", []), f"{' '.join(args.steps)} {span}"]
        else:
            r["measured_at"] = span
        (args.work / f"raw-{size}.json").write_text(json.dumps(r, indent=1, default=str))
    # The table covers every size measured into this work folder (each size with its own same-run baselines).
    raw = {int(f.stem.split("-")[1]): json.loads(f.read_text()) for f in args.work.glob("raw-*.json")}
    # The sections from the territory quality table on are written by their own scripts (bench/optimizer.py,
    # bench/pfizer.py): keep them.
    text = RESULTS.read_text() if RESULTS.exists() else ""
    cut = min((i for i in (text.find("\n## Territory quality"), text.find("\n## Published instances")) if i >= 0),
              default=len(text))  # fmt: skip
    RESULTS.write_text(render(raw) + text[cut:])
    print(RESULTS.read_text())


def render(raw: dict[int, dict[str, Any]]) -> str:
    rows: list[str] = []
    for size in sorted(raw):
        r = raw[size]
        n = f"{size:,}"
        rows += [
            f"| {n} | build demo world (regional territories, 2 deals/account, incl. training) | {fmt_s(r['build'])} | – | – | {r['build'].get('peak_mb', '–')} |",
            f"| {n} | import Salesforce export ({r['write_export'].get('mb', 0):.0f} MB), normalised and geocoded | "
            f"{fmt_s(r['import'])} | DuckDB read_csv into a table {fmt_s(r['import'], 'read_csv_s')} (side by side); "
            f"pandas read_csv {fmt_s(r['baseline_pandas_read_csv'])} | "
            f"{_num(r['import'].get('ratio'), '{:.2f}x')} vs DuckDB | {r['import'].get('peak_mb', '–')} |",
            *_deals_rows(n, r.get("import_deals")),
            f"| {n} | train (AUC {_num(r['train'].get('auc'))}) + score | {fmt_s(r['train'])} + {fmt_s(r['score'])} | "
            f"intent-only ranking {fmt_s(r['baseline_intent_rank'])} | – | "
            f"{max(r['train'].get('peak_mb', 0), r['score'].get('peak_mb', 0))} |",
            f"| {n} | territory metrics (CLI) | {fmt_s(r['metrics'])} | pandas groupby {fmt_s(r['baseline_pandas_metrics'])} | "
            f"{ratio(r['metrics'], r['baseline_pandas_metrics'])} | {r['metrics'].get('peak_mb', '–')} |",
            f"| {n} | rebalance ({REPS.get(size, 24)} reps, CLI) | {fmt_s(r['balance'])}{_mm(r['balance'])} | "
            f"greedy {fmt_s(r['baseline_greedy'])}{_mm(r['baseline_greedy'])} | {ratio(r['balance'], r['baseline_greedy'])} | {r['balance'].get('peak_mb', '–')} |",
        ]
        for page in PAGES:
            p = r[f"page_{page}"]
            extra = "" if "error" in p else f"rerun {p['rerun_seconds']:.2f} s" + (
                f"; filter change {fmt_s(p, 'filter_seconds')}" if "filter_seconds" in p else ""
            ) + (
                f"; EXCEPTION {p['exceptions'][0]}" if p.get("exceptions") else "")  # fmt: skip
            rows.append(
                f"| {n} | page {page} (AppTest, first render) | {fmt_s(p)} | {extra} | – | {p.get('peak_mb', '–')} |"
            )
        b = r.get("browser", {"error": "not measured"})
        if "error" in b:
            rows.append(f"| {n} | pages in chromium | {fmt_s(b)} | – | – | – |")
        else:
            rows.append(f"| {n} | pages in chromium, load to finished render | "
                        + ", ".join(f"{p} {b[p]:.1f} s" for p in PAGES) + f" | – | – | {b.get('peak_mb', '–')} |")  # fmt: skip
    when = "; ".join(
        f"{s:,}: {raw[s].get('measured_at', '?')}"
        + "".join(f" (re-measured {m})" for m in raw[s].get("remeasured", []))
        for s in sorted(raw)
    )
    header = [
        f"Benchmarks: `python bench/run.py` on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()} (measured {when}).",
        "Wall-clock seconds; CLI steps include the Python start-up (about 1 s). CPU-s: the CPU time of the step's process "
        "tree over the same span (under load, nearer what a quiet machine's clock reads). Peak = its peak memory.",
        "",
        "| accounts | what | ours | baseline (same run) | ratio | peak MB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    return "\n".join(header + rows) + "\n"


def _deals_rows(n: str, r: dict[str, Any] | None) -> list[str]:
    """A row per deals file (linked by ID, by name) of the import_deals step, when it was measured."""
    if not r or "error" in r:
        return [f"| {n} | import deals (~2 per account) | {fmt_s(r)} | – | – | – |"] if r else []
    return [
        f"| {n} | import {d['rows']:,} deals linked by {'Account ID' if by == 'id' else 'account name'} into the "
        f"accounts' store | {d['import_s']:.2f} s | DuckDB read_csv joined to the accounts {d['baseline_s']:.2f} s "
        f"(side by side) | {d['ratio']:.2f}x | {r.get('peak_mb', '–')} |"
        for by, d in ((k, r[k]) for k in ("id", "name") if k in r)
    ]


def _mm(r: dict[str, Any]) -> str:
    """' (max/mean 1.85 -> 1.05, bound 1.00; moved 15.6%)' from a balance result."""
    res = r.get("result") or {}
    before, after, bound = res.get("max_mean_before"), res.get("max_mean_after"), res.get("lower_bound")
    if None in (before, after, bound):
        return ""
    return f" (max/mean {before:.2f} → {after:.2f}, bound {bound:.2f}; moved {res.get('moved_share', 0):.1%})"


def _num(x: Any, pattern: str = "{:.3f}") -> str:
    return pattern.format(x) if isinstance(x, (int, float)) else "–"


if __name__ == "__main__":
    main()
