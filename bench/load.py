"""Load benchmark: browser-like sessions that speak Streamlit's websocket protocol to real app servers.

    python bench/load.py --db /tmp/demo100k.duckdb                      # 1,5,10,20,40 sessions x 1,2 processes
    python bench/load.py --db /tmp/a.duckdb --db 'ducklake:...' --sessions 1 10 --processes 1 2

Each session is what a browser tab does: it opens `/_stcore/stream` (subprotocol `streamlit`), sends a
BackMsg `rerun_script` (the page's script hash, or its URL path on the first load, and the query string)
and waits for the ForwardMsg `script_finished`; then it asks for the next page, back to back: Overview,
Coverage, Targets, Rebalance, Overview, ... Like the browser, it tells the server which large messages it
already holds (`cached_message_hashes`), so repeated elements come back as references.

The script starts its own `streamlit run app.py` servers on free loopback ports (PLANNER_OPEN_LOCAL=1, the
given PLANNER_DB; PLANNER_LAKE_DATA and the rest of the environment pass through), spreads the sessions
evenly over them, primes each server with one render of every page, then measures each session count for
`--duration` seconds after `--warmup` seconds. It reports page renders/s, p50 and p95 (overall and per
process), and every exception or st.error the pages sent (a render with one is an error, not a success).
Results go to JSON (`--json`) and a Markdown table (`--markdown`). The load generator runs beside the
servers on the same machine: compare ratios measured in one run, not seconds across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
# URL paths of the pages a session cycles through ("" is the default page, Overview).
PAGES = ("", "coverage", "targets", "rebalance")
PAGE_NAMES = {"": "overview", "coverage": "coverage", "targets": "targets", "rebalance": "rebalance"}
RENDER_TIMEOUT_S = 600.0
# The process id of each app server app_servers started, by its URL: their CPU time is read from /proc.
SERVER_PIDS: dict[str, int] = {}


@dataclass
class Render:
    """One page render as a browser sees it: rerun_script sent until script_finished received."""

    session: int
    process: int
    page: str
    started: float
    finished: float
    status: str
    errors: list[str] = field(default_factory=list)
    elements: int = 0  # new elements and blocks the page sent (references to cached ones included)
    received_bytes: int = 0
    metrics: list[str] = field(default_factory=list)  # the values of the st.metric elements sent, in order

    @property
    def seconds(self) -> float:
        return self.finished - self.started


class ProtocolError(RuntimeError):
    """The server closed the stream or answered something a browser would not accept."""


def _element_errors(msg: ForwardMsg) -> list[str]:
    """Exceptions, st.error boxes, compile errors and page-not-found in one ForwardMsg."""
    kind = msg.WhichOneof("type")
    if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
        element = msg.delta.new_element
        which = element.WhichOneof("type")
        if which == "exception":
            return [f"exception {element.exception.type}: {element.exception.message}"[:300]]
        if which == "alert" and element.alert.format == Alert.ERROR:
            return [f"st.error: {element.alert.body}"[:300]]
    if kind == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
        return [f"compile error: {msg.session_event.script_compilation_exception.message}"[:300]]
    if kind == "page_not_found":
        return [f"page not found: {msg.page_not_found.page_name}"]
    return []


class Session:
    """One browser tab: a websocket to one app server, its page hashes and its message cache."""

    def __init__(self, index: int, process: int, base_url: str, query: str = "",
                 headers: dict[str, str] | None = None) -> None:  # fmt: skip
        self.index = index
        self.process = process
        self.ws_url = base_url.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        self.query = query
        self.headers = headers or {}
        self.response_headers: dict[str, str] = {}  # of the websocket upgrade, names in lower case
        self.page_hashes: dict[str, str] = {}
        self.cached: set[str] = set()
        self._ws: Any = None

    async def __aenter__(self) -> Session:
        # No websocket pings: a busy server may answer them late, and browsers keep sessions open regardless.
        self._ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"],  # type: ignore[list-item]
                                            additional_headers=self.headers, max_size=None, ping_interval=None,
                                            open_timeout=60)  # fmt: skip
        self.response_headers = {k.lower(): v for k, v in self._ws.response.headers.raw_items()}
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._ws.close()

    def _rerun(self, path: str) -> bytes:
        back = BackMsg()
        state = back.rerun_script
        state.query_string = self.query
        if path in self.page_hashes:
            state.page_script_hash = self.page_hashes[path]
        else:  # the first load of a URL: the server resolves the page from its path, as for a browser
            state.page_name = path
        state.cached_message_hashes.extend(sorted(self.cached))
        state.context_info.timezone = "UTC"
        state.context_info.timezone_offset = 0
        state.context_info.locale = "en-US"
        return back.SerializeToString()

    def _learn_pages(self, pages: Sequence[Any]) -> None:
        for page in pages:
            path = "" if page.is_default else page.url_pathname
            self.page_hashes[path] = page.page_script_hash

    async def render(self, path: str) -> Render:
        """Ask for one page and wait until the script finished (a server-side rerun keeps waiting)."""
        errors: list[str] = []
        metrics: list[str] = []
        elements = received = 0
        asked = self.page_hashes.get(path)
        started = time.perf_counter()
        await self._ws.send(self._rerun(path))
        while True:
            try:
                frame = await asyncio.wait_for(self._ws.recv(), RENDER_TIMEOUT_S)
            except websockets.ConnectionClosed as exc:
                raise ProtocolError(f"session {self.index}: the server closed the stream ({exc})") from exc
            if isinstance(frame, str):
                raise ProtocolError(f"session {self.index}: a text frame where protobufs were expected")
            received += len(frame)
            msg = ForwardMsg()
            msg.ParseFromString(frame)
            if msg.WhichOneof("type") in ("delta", "ref_hash"):
                elements += 1
            if msg.metadata.cacheable and msg.hash:
                self.cached.add(msg.hash)
            errors += _element_errors(msg)
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                if msg.delta.new_element.WhichOneof("type") == "metric":
                    metrics.append(msg.delta.new_element.metric.body)
            elif kind == "navigation":
                self._learn_pages(msg.navigation.app_pages)
            elif kind == "new_session":
                self._learn_pages(msg.new_session.app_pages)
                served = msg.new_session.page_script_hash
                if asked is not None and served != asked:
                    errors.append(f"asked for page {path or '/'} ({asked}), the server ran {served}")
            elif kind == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
                if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    metrics.clear()
                    continue  # st.rerun or a page switch: the run that follows is this render's
                if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    errors.append("compile error")
                return Render(self.index, self.process, PAGE_NAMES.get(path, path), started, time.perf_counter(),
                              status, errors, elements, received, metrics)  # fmt: skip


@dataclass
class Window:
    """The measuring window: open until `until` is known (it is set once every session rendered once)."""

    start: float = 0.0
    until: float | None = None

    def open(self) -> bool:
        return self.until is None or time.perf_counter() < self.until


async def _session_loop(session: Session, renders: list[Render], *, count: int | None, window: Window | None,
                        think_s: float, start_delay: float, first_done: asyncio.Queue[int]) -> None:  # fmt: skip
    await asyncio.sleep(start_delay)
    async with session:
        done = 0
        while (count is None or done < count) and (window is None or window.open()):
            renders.append(await session.render(PAGES[done % len(PAGES)]))
            if done == 0:
                first_done.put_nowait(session.index)
            done += 1
            if think_s:
                await asyncio.sleep(think_s)


def cpu_seconds(urls: Sequence[str]) -> float | None:
    """User + system CPU seconds the app servers at `urls` have used so far (Linux /proc; None elsewhere)."""
    total = 0.0
    for url in urls:
        pid = SERVER_PIDS.get(url)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), interpolated between closest ranks; None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarize(renders: Sequence[Render], seconds: float) -> dict[str, Any]:
    """Renders/s over the window, p50/p95 of render time, errors with a few examples."""
    times = [r.seconds for r in renders]
    failed = [r for r in renders if r.errors]
    return {
        "renders": len(renders),
        "renders_per_s": len(renders) / seconds if seconds > 0 else 0.0,
        "p50_s": percentile(times, 50),
        "p95_s": percentile(times, 95),
        "max_s": max(times) if times else None,
        "renders_with_errors": len(failed),
        "error_examples": sorted({e for r in failed for e in r.errors})[:5],
        "by_page": {p: len([r for r in renders if r.page == p]) for p in PAGE_NAMES.values()},
    }


async def run_sessions(urls: Sequence[str], sessions: int, *, renders: int | None = None,
                       duration_s: float | None = None, warmup_s: float = 0.0, think_s: float = 0.0,
                       query: str = "") -> dict[str, Any]:  # fmt: skip
    """Drive `sessions` tabs spread evenly over `urls`: `renders` each, or for a measured window.

    With a duration, the window opens once every session has finished its first render (a new session's
    set-up is not steady state) and at least `warmup_s` after the start, and lasts `duration_s`; only
    renders that finish inside it count, and sessions still rendering at its end are closed, as a browser
    tab is. Raises ProtocolError if a stream breaks.
    """
    if (renders is None) == (duration_s is None):
        raise ValueError("give renders or duration_s")
    begin = time.perf_counter()
    window = None if duration_s is None else Window()
    first_done: asyncio.Queue[int] = asyncio.Queue()
    cpu: list[float | None] = [None, None]
    log: list[Render] = []
    tasks = [
        asyncio.create_task(_session_loop(Session(i, i % len(urls), urls[i % len(urls)], query), log, count=renders,
                                          window=window, think_s=think_s, start_delay=min(1.0, 0.05 * i),
                                          first_done=first_done))
        for i in range(sessions)
    ]  # fmt: skip

    async def watch() -> None:
        if window is None or duration_s is None:
            await asyncio.gather(*tasks)
            return
        for _ in range(sessions):
            await first_done.get()
        await asyncio.sleep(max(0.0, begin + warmup_s - time.perf_counter()))
        cpu[0] = cpu_seconds(urls)
        window.start = time.perf_counter()
        window.until = window.start + duration_s
        await asyncio.sleep(window.until - time.perf_counter())
        cpu[1] = cpu_seconds(urls)

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.wait([watcher, *tasks], return_when=asyncio.FIRST_EXCEPTION)
        for task in [*tasks, watcher]:
            if task.done() and not task.cancelled() and task.exception():
                raise task.exception()  # type: ignore[misc]
        await watcher
    finally:
        for task in [*tasks, watcher]:
            task.cancel()
        await asyncio.gather(*tasks, watcher, return_exceptions=True)
    if window is None or window.until is None:
        counted = log
        seconds = (max(r.finished for r in log) - min(r.started for r in log)) if log else 0.0
    else:
        counted = [r for r in log if window.start <= r.finished <= window.until]
        seconds = window.until - window.start
    result = {"sessions": sessions, "processes": len(urls), "window_s": seconds, "think_s": think_s,
              "ramp_s": (window.start - begin) if window else 0.0, **summarize(counted, seconds)}  # fmt: skip
    # How much CPU the servers got: a process below one core was starved by the machine, not held by the GIL.
    used = cpu[1] - cpu[0] if cpu[0] is not None and cpu[1] is not None else None
    result["server_cpu_s"] = used
    result["cpu_s_per_render"] = used / len(counted) if used is not None and counted else None
    result["cores_per_process"] = used / seconds / len(urls) if used is not None and seconds else None
    result["per_process"] = [
        {"process": p, "sessions": len(range(p, sessions, len(urls))),
         **summarize([r for r in counted if r.process == p], seconds)}
        for p in range(len(urls))
    ]  # fmt: skip
    return result


# ---- servers ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
            return bool(resp.read().decode().strip() == "ok")
    except OSError:
        return False


@contextmanager
def app_servers(db: str, count: int, logs: Path, extra_env: dict[str, str] | None = None) -> Iterator[list[str]]:
    """`count` `streamlit run app.py` processes on free loopback ports, all on store `db`; stopped after."""
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PLANNER_DB": db, "PLANNER_OPEN_LOCAL": "1", **(extra_env or {})}
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for i in range(count):
            port = free_port()
            cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                   "--server.address", "127.0.0.1", "--server.port", str(port),
                   "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]  # fmt: skip
            log = (logs / f"server-{i}.log").open("wb")
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
            SERVER_PIDS[urls[-1]] = procs[-1].pid
        deadline = time.time() + 120
        for i, (proc, url) in enumerate(zip(procs, urls, strict=True)):
            while not _healthy(url):
                if proc.poll() is not None or time.time() > deadline:
                    tail = (logs / f"server-{i}.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"app server {i} did not answer /_stcore/health: {tail}")
                time.sleep(0.3)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ---- the benchmark ------------------------------------------------------------------------------------


def store_label(db: str) -> str:
    return "lake" if db.startswith("ducklake:") else "file"


def benchmark(dbs: Sequence[str], sessions: Sequence[int], processes: Sequence[int], *, duration_s: float,
              warmup_s: float, think_s: float = 0.0, query: str = "", repeat: int = 1) -> list[dict[str, Any]]:  # fmt: skip
    """Every (store, sessions, processes) combination, `repeat` times.

    The servers of every process count run side by side for the whole store (idle ones cost little), and
    for each session count the process counts take turns, so what other work the machine is doing weighs
    on both sides of a ratio alike.
    """
    runs: list[dict[str, Any]] = []
    for db in dbs:
        label = store_label(db)
        with ExitStack() as stack:
            sets = {n: stack.enter_context(app_servers(db, n, OUT / "load-logs" / f"{label}-{n}p")) for n in processes}
            for n, urls in sets.items():
                prime = asyncio.run(run_sessions(urls, n, renders=len(PAGES), query=query))
                print(f"[{label}, {n} process(es)] primed: {prime['renders']} renders", file=sys.stderr)
            for s in sessions:
                for round_ in range(repeat):
                    for n in processes:
                        res = asyncio.run(run_sessions(sets[n], s, duration_s=duration_s, warmup_s=warmup_s,
                                                       think_s=think_s, query=query))  # fmt: skip
                        res.update(store=label, round=round_)
                        runs.append(res)
                        print(f"[{label}, {n}p, {s} sessions, think {think_s:g} s] "
                              f"{fmt_rate(res['renders_per_s'])} renders/s, p50 {fmt_s(res['p50_s'])}, "
                              f"p95 {fmt_s(res['p95_s'])}, {res['renders_with_errors']} with errors, "
                              f"load {os.getloadavg()[0]:.1f}", file=sys.stderr)  # fmt: skip
                        time.sleep(2)  # closed sessions finish their last run before the next run starts
    return runs


def fmt_s(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def fmt_rate(value: float) -> str:
    return f"{value:.1f}"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _range(values: Sequence[float | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "–"
    low, high = min(known), max(known)
    return fmt_s(low) if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f}–{high:.1f} s"


def markdown(runs: Sequence[dict[str, Any]], header: str = "") -> str:
    """The results table: one row per run, per-process p50/p95 ranges, and 2-vs-1 process throughput."""
    lines = [header] if header else []
    lines += [
        "| store | sessions | app processes | page renders/s | p50 | p95 | p50 per process | p95 per process | renders (errors) "
        "| server CPU per render | cores each process got |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        lines.append(
            f"| {r['store']} | {r['sessions']} | {r['processes']} | {fmt_rate(r['renders_per_s'])} | "
            f"{fmt_s(r['p50_s'])} | {fmt_s(r['p95_s'])} | {_range([p['p50_s'] for p in r['per_process']])} | "
            f"{_range([p['p95_s'] for p in r['per_process']])} | {r['renders']} ({r['renders_with_errors']}) | "
            f"{_num(r.get('cpu_s_per_render'))} s | {_num(r.get('cores_per_process'))} |"
        )

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        return r["store"], r["sessions"], r.get("round", 0)

    base = {key(r): r["renders_per_s"] for r in runs if r["processes"] == 1}
    ratios = [
        f"{r['store']}, {r['sessions']} sessions: {r['renders_per_s'] / base[key(r)]:.2f}x"
        for r in runs
        if r["processes"] == 2 and base.get(key(r))
    ]
    if ratios:
        lines += ["", "Renders/s of 2 processes over 1, same sessions: " + "; ".join(ratios) + "."]
    return "\n".join(lines) + "\n"


def machine() -> dict[str, Any]:
    return {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform(),
            "load_average": os.getloadavg()}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", required=True,
                        help="a store: a file path or a ducklake: attach string (repeat for several)")  # fmt: skip
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20, 40])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=float, default=40.0, help="seconds measured per run (default 40)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before the window (default 10)")
    parser.add_argument("--think", type=float, default=0.0, help="seconds a session waits between pages")
    parser.add_argument("--repeat", type=int, default=1, help="rounds per combination, interleaved (default 1)")
    parser.add_argument("--query", default="", help="query string every session sends, e.g. rep=R002")
    parser.add_argument("--json", type=Path, default=OUT / "load.json")
    parser.add_argument("--markdown", type=Path, default=OUT / "load.md")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.sessions + args.processes):
        parser.error("sessions and processes must be at least 1")
    dbs = [db if db.startswith("ducklake:") else str(Path(db).resolve()) for db in args.db]
    for db in dbs:
        if not db.startswith("ducklake:") and not Path(db).is_file():
            parser.error(f"no store at {db}: build one first, e.g. python -m planner --db {db} demo --accounts 100000")
    info = machine()
    runs = benchmark(dbs, args.sessions, args.processes, duration_s=args.duration, warmup_s=args.warmup,
                     think_s=args.think, query=args.query, repeat=args.repeat)  # fmt: skip
    info["load_average_after"] = os.getloadavg()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": info, "settings": {k: (str(v) if isinstance(v, Path) else v)
                                     for k, v in vars(args).items()}, "runs": runs}, indent=2))  # fmt: skip
    header = (f"Load: `python bench/load.py` on {info['platform']}, {info['cpus']} cores, Python {info['python']}, "
              f"{info['when']}; {args.duration:.0f} s measured per run, from when every session has rendered once "
              f"(at least {args.warmup:.0f} s after the start); "
              f"think time {args.think:g} s; load average before {info['load_average'][0]:.1f}.\n")  # fmt: skip
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(markdown(runs, header))
    print(args.markdown.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
