"""What each page costs in a real browser: seconds to a finished render, and what the server sends for it.

    python bench/browser.py --db /tmp/world-100000.duckdb                 # every page, twice
    python bench/browser.py --db STORE --pages data coverage --json out.json

The app runs on the store in open local mode (one local admin, as scripts/run starts it) on a loopback port;
Debian's chromium (tests.conftest.CHROMIUM) opens each page in turn in one tab, as a user clicking through the
menu would, then opens every page a second time. Per page it records:

- seconds: navigation to a finished render (tests.helpers.wait_rendered, less its 0.5 s of required quiet);
- ws_mb: the websocket bytes the browser received for it (Streamlit's ForwardMsgs: every element, table and
  chart of the page; download buttons' files are fetched over HTTP on a click, so they are not in it);
- run_s: the page's script run as the browser saw it: its first ForwardMsg to script_finished;
- browser_cpu_s, gpu_cpu_s, server_cpu_s: CPU seconds chromium (all its processes; of them its GPU process,
  where SwiftShader draws WebGL maps without a GPU) and the Streamlit server used for the page. On a shared
  machine these are the figures to compare: wall-clock seconds swing 2-3x with the load;
- by_type: those bytes by element type (dataframe, deck_gl_json_chart, plotly_chart...) and the largest
  messages, to tell what makes a page heavy.

The first pass includes the app's JavaScript download (first page) and every query's first run (cold caches);
the second pass is what a user opening a page again sees. Run it on a quiet machine and note the load average
(printed). Numbers in the README's performance section come from this script.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAGES = ["overview", "coverage", "targets", "rebalance", "plan", "data", "model"]


def _descendants(root: int) -> list[int]:
    """Every process below `root` (Linux /proc)."""
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        kids = [c for c, p in parent.items() if p == pid]
        found += kids
        todo += kids
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each of these processes has used so far: what a page cost them, however busy
    the machine is (wall-clock seconds on a shared machine swing by 2-3x between runs; CPU seconds much less)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def chromium_pids() -> list[int]:
    """This script's chromium processes (browser, renderers, GPU/SwiftShader), not Playwright's driver."""
    return [p for p in _descendants(os.getpid()) if _comm(p).startswith("chrom")]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def used_since(before: dict[int, float], pids: list[int]) -> float:
    """CPU seconds `pids` used since `before` (a process started since counts from zero)."""
    return sum(v - before.get(pid, 0.0) for pid, v in cpu_seconds(pids).items())


def gpu_pids() -> list[int]:
    """Chromium's GPU process: with --disable-gpu, SwiftShader draws every WebGL map there, on the CPU."""
    out = []
    for pid in chromium_pids():
        try:
            if b"--type=gpu-process" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(pid)
        except OSError:
            continue
    return out


def _kind(msg: Any) -> str:
    """What one ForwardMsg carries: an element's type, a block, or the message's own kind."""
    which = msg.WhichOneof("type")
    if which != "delta":
        return which or "empty"
    delta = msg.delta
    part = delta.WhichOneof("type")
    if part == "new_element":
        return delta.new_element.WhichOneof("type") or "element"
    return part or "delta"


class Recorder:
    """Websocket frames the page receives, parsed as Streamlit ForwardMsgs."""

    def __init__(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._msg = ForwardMsg
        self.reset()

    def reset(self) -> None:
        self.bytes = 0
        self.frames = 0
        self.by_type: collections.Counter[str] = collections.Counter()
        self.largest: list[tuple[int, str]] = []
        self.first_at: float | None = None
        self.finished_at: float | None = None

    def frame(self, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else str(payload).encode()
        now = time.perf_counter()
        self.bytes += len(data)
        self.frames += 1
        try:
            msg = self._msg.FromString(data)
            kind = _kind(msg)
        except Exception:  # a frame that is not a ForwardMsg: counted, not classified
            kind = "other"
        if self.first_at is None:
            self.first_at = now
        if kind == "script_finished":
            self.finished_at = now
        self.by_type[kind] += len(data)
        self.largest = sorted([*self.largest, (len(data), kind)], reverse=True)[:5]

    def attach(self, page: Any) -> None:
        page.on("websocket", lambda ws: ws.on("framereceived", self.frame))

    def result(self, seconds: float, browser_cpu: float, gpu_cpu: float, server_cpu: float) -> dict[str, Any]:
        run = None if self.first_at is None or self.finished_at is None else self.finished_at - self.first_at
        return {
            "seconds": round(seconds, 2),
            "browser_cpu_s": round(browser_cpu, 2),
            "gpu_cpu_s": round(gpu_cpu, 2),
            "server_cpu_s": round(server_cpu, 2),
            "ws_mb": round(self.bytes / 1e6, 3),
            "frames": self.frames,
            "run_s": None if run is None else round(run, 2),
            "by_type": {k: round(v / 1e6, 3) for k, v in self.by_type.most_common(6)},
            "largest_kb": [(round(n / 1e3, 1), k) for n, k in self.largest],
        }


def measure(db: Path, pages: list[str], passes: int = 2, port: int | None = None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.helpers import start_server, stop_server, wait_rendered

    os.environ["PLANNER_OPEN_LOCAL"] = "1"
    log = Path(tempfile.mkdtemp(prefix="bench-browser-")) / "server.log"
    proc, url = start_server(db, log, {"PLANNER_OPEN_LOCAL": "1"}, port=port)
    out: dict[str, Any] = {"db": str(db), "loadavg_before": _loadavg(), "passes": []}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            rec = Recorder()
            rec.attach(page)
            for _ in range(passes):
                done: dict[str, Any] = {}
                for name in pages:
                    rec.reset()
                    cpu0, server0 = cpu_seconds(chromium_pids()), cpu_seconds([proc.pid])
                    start = time.perf_counter()
                    page.goto(f"{url}/{'' if name == 'overview' else name}", wait_until="domcontentloaded")
                    wait_rendered(page, 600)
                    # wait_rendered waits for 0.5 s of quiet on a freshly loaded page: not part of the render.
                    seconds = time.perf_counter() - start - 0.5
                    done[name] = rec.result(
                        seconds,
                        used_since(cpu0, chromium_pids()),
                        used_since(cpu0, gpu_pids()),
                        used_since(server0, [proc.pid]),
                    )
                    title = page.locator("h1").first.inner_text()
                    if name != "overview" and "not configured" in title.lower():
                        raise RuntimeError(f"page {name} shows {title!r}, not the page")
                    print(f"{name:10s} {json.dumps(done[name])}", file=sys.stderr)
                out["passes"].append(done)
            browser.close()
    finally:
        stop_server(proc)
    out["loadavg_after"] = _loadavg()
    return out


def _loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def table(result: dict[str, Any]) -> str:
    """A Markdown table: per page, seconds and websocket MB of each pass."""
    passes = result["passes"]
    head = "| Page | " + " | ".join(f"pass {i + 1}: s | MB | browser CPU s (GPU) | server CPU s"
                                    for i in range(len(passes))) + " |"  # fmt: skip
    rule = "|---|" + "---|---|---|---|" * len(passes)
    lines = [head, rule]
    for name in passes[0]:
        cells = []
        for p in passes:
            r = p[name]
            cells += [
                f"{r['seconds']:.1f}",
                f"{r['ws_mb']:.2f}",
                f"{r['browser_cpu_s']:.1f} ({r['gpu_cpu_s']:.1f})",
                f"{r['server_cpu_s']:.1f}",
            ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="the store to open (not written)")
    parser.add_argument("--pages", nargs="+", default=PAGES, choices=PAGES)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = parser.parse_args()
    result = measure(args.db, args.pages, args.passes, args.port)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(f"load average before {result['loadavg_before']}, after {result['loadavg_after']}")
    print(table(result))


if __name__ == "__main__":
    main()
