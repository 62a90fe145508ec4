"""Helpers shared by the tests (one module; tests never import each other).

AppTest drivers, the browser-test server and page helpers, signing in as a role, store checks.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import functools
import http.server
import io
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

from planner import store
from planner.coverage import report
from planner.scope import Scope
from planner.store import schema
from tests.stores import CRM_TRIO, CRM_TRIO_DIR

# Every new AppTest scans the metadata of every installed distribution for Streamlit components before its
# first run (0.1 CPU-s, hundreds of times a run); the installed packages do not change while the tests run, so
# each test process scans once.
_scan_installed = functools.cache(manifest_scanner.scan_component_manifests)


def _scan_once(max_workers: int | None = None) -> list[tuple[Any, Path]]:
    return list(_scan_installed())


manifest_scanner.scan_component_manifests = _scan_once

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"

# ---------------------------------------------------------------------------------------------
# AppTest


def _open(at: AppTest, name: str | None) -> AppTest:
    """Run app.py landing on pages/<name>.py, as a deep link does: st.navigation routes it and the sidebar runs,
    and Overview is not rendered first for nothing (each url_path is its file's stem, so the page's script hash
    is known before the first run). A page the navigation does not hold raises AppTest's ValueError, as a
    switch after a first run does; a run that landed elsewhere runs again on the page."""
    if not name or name in ("overview", "home"):  # the default page, or a hidden alias of its file
        return at.run()
    path = f"pages/{name}.py"
    at.switch_page(path).run()
    at.switch_page(path)  # resolved against the pages that run registered
    if at._page_hash != at._finished_page_script_hash:
        at.run()
    return at


def page(name: str, timeout: float = 60, query: dict[str, str] | None = None) -> AppTest:
    """An AppTest of app.py opened on pages/<name>.py, so routing and the sidebar run too (with a link's query)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return _open(at, name)


def errors(at: AppTest) -> list[str]:
    """Exceptions and st.error texts shown on the page."""
    return [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]


def shown(markdown: str) -> str:
    """The text a reader sees of Markdown escaped with md_text (backslash escapes removed)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def page_text(at: AppTest) -> str:
    """Every text a page shows, dataframe cells included."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "success", "error",
                 "code", "text"):  # fmt: skip
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    for df in at.dataframe:
        parts.append(shown_cells(df.value).to_string())
    for box in at.selectbox:
        parts += [str(o) for o in box.options]
    return "\n".join(parts)


def shown_cells(df: pd.DataFrame) -> pd.DataFrame:
    """A table's cells as the browser shows them: a missing value (None, NaN, NaT) as an empty cell, the
    rest as text. So a literal "None" or "nan" string is still caught, whatever pandas' astype(str) does
    with missing values (pandas 2 writes "None"/"nan"/"NaT", pandas 3 keeps them missing)."""
    return df.astype(str).where(df.notna(), "")


# Every page (Admin is not in a rep's navigation) and every CLI command, for tests that go through them all.
PAGES = ("overview", "coverage", "targets", "rebalance", "plan", "data", "model", "settings", "admin")
REP_PAGES = tuple(p for p in PAGES if p != "admin")  # a rep's navigation has no Admin page

# (id, argv after `--db PATH`; {rep} is the busiest rep, {tmp} a scratch folder)
COMMANDS: list[tuple[str, list[str]]] = [
    ("as-of", ["as-of"]),
    ("as-of-json", ["as-of", "--json"]),
    ("as-of-set", ["as-of", "2026-06-30"]),
    ("train", ["train"]),
    ("train-json", ["train", "--json"]),
    ("score", ["score", "--out", "{tmp}/scores.csv"]),
    ("metrics", ["metrics"]),
    ("metrics-json", ["metrics", "--json"]),
    ("metrics-rep", ["metrics", "--rep", "{rep}"]),
    ("balance-accounts", ["balance", "--metric", "accounts"]),
    ("balance", ["balance", "--json"]),
    ("balance-workload", ["balance", "--metric", "workload", "--out", "{tmp}/moves.csv"]),
    ("balance-expected-value", ["balance", "--metric", "expected_value"]),
    ("plan", ["plan", "--rep", "{rep}", "--out", "{tmp}/plan.md"]),
    ("potential", ["potential"]),
    ("potential-learn", ["potential", "learn"]),
    ("export-accounts", ["export", "accounts", "--out", "{tmp}/accounts.csv"]),
    ("export-deals", ["export", "deals", "--out", "{tmp}/deals.xlsx"]),
    ("export-reps", ["export", "reps", "--out", "{tmp}/reps.csv"]),
    ("import", ["import", *(str(CRM_TRIO_DIR / f) for f in CRM_TRIO)]),
    ("rep-home", ["rep-home", "{rep}", "Berlin, Germany"]),
    ("roles", ["roles", "list"]),
    ("roles-set", ["roles", "set", "lead@example.com", "leader"]),
    ("settings", ["settings"]),
    ("settings-set", ["settings", "--set", "reachable_km=150"]),
    ("model", ["model"]),
    ("model-json", ["model", "--json"]),
]

# ---------------------------------------------------------------------------------------------
# Signing in as a role (AppTest)

AUTH = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-cookie-secret-not-real-0123456789abcdef",
        "client_id": "client-id",
        "client_secret": "client-secret-not-real",
        "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
    },
    "planner": {"admins": ["Boss@Example.com"]},
}
AVA = "ava.garcia@example.com"  # rep R001 of the small store, by CRM email


def app_as(email: str | None, *, page: str | None = None, query: dict[str, str] | None = None,
           secrets: dict[str, Any] | None = AUTH, context: dict[str, Any] | None = None) -> AppTest:  # fmt: skip
    """app.py as a signed-in email (None: signed out), optionally on another page, with a URL query."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if secrets:
        at.secrets.update(secrets)
    at.user = (
        {"is_logged_in": False}
        if email is None
        else {"is_logged_in": True, "email": email, "name": email, "email_verified": True}
    )
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if context:
        at.context = context
    return _open(at, page)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def kpis(path: Path, scope: Scope, rep_id: str | None = None) -> dict[str, Any]:
    with store.read(path) as con:
        return report.overview(con, scope=scope, rep_id=rep_id)["kpis"]


def sidebar_text(at: AppTest) -> str:
    return " ".join(str(c.value) for c in at.sidebar.caption) + " ".join(str(w.value) for w in at.sidebar.warning)


# ---------------------------------------------------------------------------------------------
# A real browser against `streamlit run`

ARTIFACTS = ROOT / "tests" / "artifacts"


def app_pages() -> list[tuple[str, str]]:
    """(url path, title) of every page the app routes to, read from the source of app.py and ui/shell.py
    (where st.navigation is built); never empty, so tests parametrized on it cannot silently run nothing."""
    source = (ROOT / "app.py").read_text() + (ROOT / "ui" / "shell.py").read_text()
    pages = []
    for call in re.findall(r"st\.Page\((.*?)\)", source, flags=re.S):
        stem = re.search(r'"pages/(\w+)\.py"', call)
        title = re.search(r'title="([^"]+)"', call)
        url = re.search(r'url_path="([^"]*)"', call)
        assert stem and title
        path = "" if "default=True" in call else (url.group(1) if url else stem.group(1))
        pages.append((path, title.group(1)))
    assert len(pages) >= 8, f"found only {pages} in app.py and ui/shell.py: has the navigation moved?"
    return pages


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def forked_processes(module: str) -> Any:
    """A multiprocessing context whose processes fork from one server process of this test process (forkserver)
    that imported `module` (a light module of process targets, e.g. tests.store_reader) once: a spawned process
    starts Python and imports its target's module again (0.85 CPU-s for a reader, 1.5 for a lake writer). The
    server is started clean (no threads, no store open) and reused by later tests; it keeps the environment it
    started with, so hand the children the variables they need (`planner_environment()`)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([module])  # no effect once the server runs: its children import what they miss
    return ctx


def planner_environment() -> dict[str, str]:
    """This process's PLANNER_* settings, for a child forked from a server that started earlier (the child applies
    them with tests.store_reader.use_environment)."""
    return {k: v for k, v in os.environ.items() if k.startswith("PLANNER_")}


HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"  # Debian's haproxy; scripts/test installs it


def haproxy_config() -> str:
    """The load balancer's committed configuration (deploy/haproxy.cfg, as deploy/compose.yaml mounts it)."""
    return (ROOT / "deploy" / "haproxy.cfg").read_text()


def spawn_server(db: Path, log: Path, extra_env: dict[str, str] | None = None,
                 port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:  # fmt: skip
    """Start the dashboard on a loopback port (a free one unless given); wait_healthy says when it serves."""
    port = port or free_port()
    env = {**os.environ, "PLANNER_DB": str(db), **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}"


def wait_healthy(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Wait until the server at `url` says ok on /_stcore/health (90 s at most)."""
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with status {proc.returncode}; log: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.read().decode().strip() == "ok":
                    return
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"streamlit did not answer /_stcore/health in 90 s; log: {log.read_text()[-2000:]}")


def start_server(db: Path, log: Path, extra_env: dict[str, str] | None = None,
                 port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:  # fmt: skip
    """Start the dashboard on a loopback port (a free one unless given) and wait until /_stcore/health says ok."""
    proc, url = spawn_server(db, log, extra_env, port)
    wait_healthy(proc, url, log)
    return proc, url


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def read_until(proc: subprocess.Popen[str], word: str) -> list[str]:
    """The stderr lines of a running `--progress` command up to the first that says `word` (its own progress line
    is the signal to act on, not a guess at timing). Fails if it ended before saying it."""
    assert proc.stderr is not None
    said = []
    for line in proc.stderr:
        said.append(line)
        if word in line:
            break
    assert proc.poll() is None and any(word in line for line in said), "".join(said)
    return said


# True once the app is connected, its script is not running, the page has its title and nothing is still
# loading (no status widget, no skeleton), and has stayed so for `settle` ms. Polled inside the page.
_QUIET = """([settle]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const busy = !app || app.getAttribute('data-test-script-state') !== 'notRunning'
    || app.getAttribute('data-test-connection-state') !== 'CONNECTED' || !document.querySelector('h1')
    || document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]') !== null;
  const now = performance.now();
  if (busy) { window.__plannerQuietSince = undefined; return false; }
  if (window.__plannerQuietSince === undefined) window.__plannerQuietSince = now;
  return now - window.__plannerQuietSince >= settle;
}"""


def wait_rendered(page: Any, timeout_s: float = 90) -> None:
    """Wait until Streamlit has finished running the script: Streamlit's own run state on the app element says
    not running, every page's st.title is there, no status widget or skeleton shows (the first-launch screen
    of the demo build has no title), and it stays so for a moment. A page freshly loaded starts in the state
    'initial', so its first run cannot be missed: 0.5 s covers a st.rerun. After a click on a page already
    waited for, the rerun the click asks for may start late: 1.5 s of quiet then."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    waited_before = page.evaluate("() => { const w = window.__plannerWaited === true; "
                                  "window.__plannerQuietSince = undefined; return w; }")  # fmt: skip
    page.wait_for_function(_QUIET, arg=[1500 if waited_before else 500], polling=100, timeout=timeout_s * 1000)
    page.evaluate("() => { window.__plannerWaited = true; }")


def open_rendered(browser: Any, url: str) -> Any:
    """A fresh page on `url`, once rendered."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url, wait_until="domcontentloaded")
    wait_rendered(page)
    return page


def first_metric_of(page: Any) -> str:
    """The value of the first metric on the page as it is now."""
    value = page.locator('[data-testid="stMetric"]').first.locator('[data-testid="stMetricValue"]').inner_text()
    return str(value).strip()


_FIRST_METRIC = '[data-testid="stMetric"] [data-testid="stMetricValue"]'


def rerun_first_metric(page: Any) -> str:
    """Run the page's script again in the same tab, as Streamlit's R key does (the session's next render, without
    the 5-8 CPU-s of a new page load), and read the first metric then. A rerun that starts late on a busy machine
    is waited for (up to 30 s for the value to change); a value that never changes is returned as it is."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    before = first_metric_of(page)
    page.keyboard.press("r")
    wait_rendered(page)
    if first_metric_of(page) == before:
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(
                "([sel, old]) => { const e = document.querySelector(sel); return e && e.innerText.trim() !== old; }",
                arg=[_FIRST_METRIC, before],
                timeout=30_000,
            )
        wait_rendered(page)
    return first_metric_of(page)


def _distinct_colours(png: bytes) -> int:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        raw = im.convert("RGB").resize((300, 200)).tobytes()
    return len({raw[i : i + 3] for i in range(0, len(raw), 3)})


def wait_map_drawn(page: Any, timeout_s: float = 90) -> int:
    """Wait for deck.gl's canvas and until it shows a drawn map (many colours, not one blank fill): the colours."""
    canvas = page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=timeout_s * 1000)
    deadline = time.time() + timeout_s
    colours = 0
    while time.time() < deadline:
        colours = _distinct_colours(canvas.screenshot())
        if colours > 40:
            return colours
        page.wait_for_timeout(500)
    raise AssertionError(f"the map stayed blank ({colours} colours)")


def assert_no_exception(page: Any, name: str) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{name}: {exceptions.first.inner_text()[:500]}"
    body = page.inner_text("body")
    assert "Traceback" not in body, f"{name}: traceback shown"


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    return out


# What a person sees (#16): read a page as laid out, and keep pictures of it.

WIDTHS = (1400, 1100)
# A Python value that leaked into the page: None, nan, NaT, <NA>, True/False, or a float nobody rounded.
RAW = re.compile(r"(?<![\w-])(None|nan|NaN|NaT|<NA>|True|False)(?![\w-])|\d\.\d{5,}")

# Elements whose text must be read whole. An element (or a child) clips when its content is wider than
# its box and it hides the rest (overflow not visible, or an ellipsis).
SCAN = """() => {
  const sels = ['[data-testid="stWidgetLabel"]', '[data-testid="stMetricLabel"]', '[data-testid="stMetricValue"]',
    '[data-testid="stMetricDelta"]', '[data-testid="stSelectbox"] input', '[data-testid="stMultiSelect"]',
    'button[data-variant="pills"]', '[data-testid="stButtonGroup"] [role="toolbar"]', '[data-testid="stButton"] button',
    '[data-testid="stDownloadButton"] button', '[data-testid="stFormSubmitButton"] button', '[data-testid="stTab"]',
    '[data-testid="stExpander"] summary', '[data-testid="stSidebarNav"] a', '[data-testid="stPageLink"]'];
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const seen = new Set();
  const clipped = [];
  for (const sel of sels) {
    for (const root of document.querySelectorAll(sel)) {
      if (!visible(root)) continue;
      for (const el of [root, ...root.querySelectorAll('*')]) {
        if (seen.has(el) || !visible(el)) continue;
        seen.add(el);
        const cs = getComputedStyle(el);
        const hides = cs.overflowX !== 'visible' || cs.textOverflow === 'ellipsis' || el.tagName === 'INPUT';
        if (hides && el.scrollWidth > el.clientWidth + 1) {
          const text = (el.tagName === 'INPUT' ? el.value : el.innerText || '').trim().slice(0, 80);
          clipped.push(`${sel}: ${JSON.stringify(text)} (${el.scrollWidth} px in ${el.clientWidth} px)`);
        }
      }
    }
  }
  // Text a person reads. A dataframe is drawn on a canvas (its hidden accessible table holds raw values),
  // chart ticks run together, code is code: hide those for a moment and read the rest as laid out.
  const skip = [...document.querySelectorAll('[data-testid="stDataFrame"], [data-testid="stPlotlyChart"], ' +
    '[data-testid="stDeckGlJsonChart"], [data-testid="stCode"], textarea')];
  const before = skip.map(el => el.style.display);
  skip.forEach(el => { el.style.display = 'none'; });
  const text = document.body.innerText;
  skip.forEach((el, i) => { el.style.display = before[i]; });
  return {clipped, text};
}"""


def full_shot(page: Any, name: str) -> Path:
    """A screenshot of the whole page: Streamlit scrolls inside its main block, so grow the window to fit."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = page.evaluate(
        """() => { const m = document.querySelector('[data-testid="stMain"]');
                   return m ? m.scrollHeight : document.body.scrollHeight; }"""
    )
    page.set_viewport_size({"width": size["width"], "height": min(max(int(height), size["height"]), 9000)})
    page.wait_for_timeout(300)  # one frame for the layout to settle at the new size
    out = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(out))
    page.set_viewport_size(size)
    assert out.stat().st_size > 10_000, f"{name}: blank screenshot"
    return out


def view(page: Any, name: str) -> Path:
    """What the window shows (1400 x 1000 unless resized): the README's pictures are these."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(out))
    return out


def reads_right(page: Any, where: str) -> None:
    """No clipped text and no raw token on the page as it is now."""
    assert_no_exception(page, where)
    seen = page.evaluate(SCAN)
    problems = [f"clipped text: {c}" for c in seen["clipped"]]
    for m in list(RAW.finditer(seen["text"]))[:5]:
        problems.append(f"raw token {m.group(0)!r} in {seen['text'][max(0, m.start() - 60) : m.end() + 60]!r}")
    if problems:
        shot = full_shot(page, "FAILED-" + re.sub(r"\W+", "-", where))
        raise AssertionError(f"{where} (see {shot.name}): " + "; ".join(problems))


# ---------------------------------------------------------------------------------------------
# The hostile small store that test_browser_security's pages, test_deep_links and the Coverage tooltip test share
# (one server and one tab for the three modules: conftest's hostile_server and hostile_tab)

XSS = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://x","y")'
MARKDOWN = "[click me](javascript:alert(3)) **bold** <script>alert(4)</script>"
# An account alone in state ZZ (owned by R005, whose name stays plain), named with markup that would retitle the
# page: Coverage's tooltip must show it as text (tests/test_page_coverage.py).
EVIL = "<img src=x onerror=\"document.title='pwned'\">Evil & Co"
EVIL_ACCOUNT = "A0000001"


def make_hostile(path: Path) -> None:
    """Hostile names on reps R001-R003 and on R001's top accounts of (a copy of) the small demo store, and the
    lone account EVIL in state ZZ."""
    with store.write(path) as con:
        for rep_id, name in (("R001", XSS), ("R002", FORMULA), ("R003", MARKDOWN)):
            con.execute("UPDATE reps SET name = ? WHERE rep_id = ?", [name, rep_id])
        top = con.execute(
            """SELECT a.account_id FROM accounts a JOIN account_potential p USING (account_id)
               WHERE a.owner_rep_id = 'R001' ORDER BY p.potential DESC LIMIT 6"""
        ).fetchall()
        for (account_id,), name in zip(top, [XSS, FORMULA, MARKDOWN] * 2, strict=True):
            con.execute("UPDATE accounts SET name = ? WHERE account_id = ?", [name, account_id])
        owner = con.execute("SELECT owner_rep_id FROM accounts WHERE account_id = ?", [EVIL_ACCOUNT]).fetchone()
        assert owner == ("R005",), f"{EVIL_ACCOUNT} is owned by {owner}, not by R005 whose name stays plain"
        con.execute(
            "UPDATE accounts SET name = ?, state = 'ZZ', lat = 41.0, lon = -100.0 WHERE account_id = ?",
            [EVIL, EVIL_ACCOUNT],
        )


# ---------------------------------------------------------------------------------------------
# Store checks


def table(path: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with store.read(path) as con:
        return con.execute(sql, params or []).fetchall()


def assert_one_row_per_key(path: Path) -> None:
    """No table has key constraints (a lake has none, #19 point 3): every writer keeps one row per key."""
    with store.read(path) as con:
        assert schema.duplicate_keys(con) == {}


# ---------------------------------------------------------------------------------------------
# A fake OpenID Connect provider on 127.0.0.1, for a real st.login in a browser test


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeOIDC:
    """The smallest identity provider st.login accepts: discovery, /authorize, /token (an RS256 id_token)
    and /jwks. `email` (and `email_verified`) say who signs in next; every /authorize is logged."""

    client_id = "planner-test-client"
    client_secret = "planner-test-client-secret"

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.email = ""
        self.email_verified: object = True
        self.codes: dict[str, dict[str, Any]] = {}
        self.authorized: list[str] = []
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOIDC:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def secrets_toml(self, redirect_uri: str, cookie_secret: str, admins: list[str]) -> str:
        return (
            "[auth]\n"
            f'redirect_uri = "{redirect_uri}"\n'
            f'cookie_secret = "{cookie_secret}"\n'
            f'client_id = "{self.client_id}"\n'
            f'client_secret = "{self.client_secret}"\n'
            f'server_metadata_url = "{self.issuer}/.well-known/openid-configuration"\n'
            "[planner]\n"
            f"admins = {json.dumps(admins)}\n"
        )

    def _jwk(self) -> dict[str, str]:
        numbers = self.key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        return {"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "n": _b64url(n), "e": _b64url(e)}

    def _id_token(self, claims: dict[str, Any]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}).encode())
        body = _b64url(json.dumps(claims).encode())
        signature = self.key.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{body}.{_b64url(signature)}"

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        idp = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                return

            def _json(self, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json({
                        "issuer": idp.issuer, "authorization_endpoint": f"{idp.issuer}/authorize",
                        "token_endpoint": f"{idp.issuer}/token", "jwks_uri": f"{idp.issuer}/jwks",
                        "response_types_supported": ["code"], "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                    })  # fmt: skip
                elif url.path == "/jwks":
                    self._json({"keys": [idp._jwk()]})
                elif url.path == "/authorize":
                    query = dict(urllib.parse.parse_qsl(url.query))
                    code = uuid.uuid4().hex
                    idp.codes[code] = {"nonce": query.get("nonce"), "email": idp.email,
                                       "email_verified": idp.email_verified}  # fmt: skip
                    idp.authorized.append(idp.email)
                    back = urllib.parse.urlencode({"code": code, "state": query.get("state", "")})
                    self.send_response(302)
                    self.send_header("Location", f"{query['redirect_uri']}?{back}")
                    self.end_headers()
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                grant = idp.codes.pop(form.get("code", ""), None)
                if self.path != "/token" or grant is None:
                    self.send_error(400)
                    return
                now = int(time.time())
                claims = {"iss": idp.issuer, "aud": idp.client_id, "sub": grant["email"], "iat": now,
                          "exp": now + 3600, "nonce": grant["nonce"], "email": grant["email"],
                          "email_verified": grant["email_verified"], "name": grant["email"]}  # fmt: skip
                self._json({"access_token": uuid.uuid4().hex, "token_type": "Bearer", "expires_in": 3600,
                            "id_token": idp._id_token(claims)})  # fmt: skip

        return Handler


@contextlib.contextmanager
def signed_in_app(
    db: Path, tmp_path: Path, cookie_secret: str, admins: tuple[str, ...] = ("boss@example.com",)
) -> Iterator[tuple[FakeOIDC, str]]:
    """The dashboard on `db` with sign-in through a FakeOIDC provider (its secrets in a HOME of its own under
    tmp_path): yields (provider, app url); set `provider.email` to say who signs in next."""
    home = tmp_path / "home"
    (home / ".streamlit").mkdir(parents=True)
    port = free_port()
    with FakeOIDC() as idp:
        (home / ".streamlit" / "secrets.toml").write_text(
            idp.secrets_toml(f"http://127.0.0.1:{port}/oauth2callback", cookie_secret, list(admins))
        )
        proc, url = start_server(db, tmp_path / "server.log", {"HOME": str(home)}, port=port)
        try:
            yield idp, url
        finally:
            stop_server(proc)


def sign_in_in_new_context(browser: Any, idp: FakeOIDC, url: str, email: str) -> tuple[Any, Any]:
    """A new browser context (a browser of its own: its own cookies) on `url`, signed in as `email` through the
    fake provider, the page rendered: (context, page)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(url, wait_until="domcontentloaded")
    wait_rendered(page)
    idp.email = email
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").first.wait_for(timeout=90_000)
    wait_rendered(page)
    return ctx, page


def record_foreign_requests(context: Any) -> list[str]:
    """Record every request of a browser context to a host other than 127.0.0.1/localhost. The browser cannot
    reach one anyway (conftest's CHROMIUM_ARGS resolve no other host name). A listener, not a route: routing
    hands every request to Python and turns the browser's cache off, which cost 40% of a page load's CPU."""
    foreign: list[str] = []

    def check(request: Any) -> None:
        host = urllib.parse.urlsplit(request.url).hostname or ""
        if host not in ("127.0.0.1", "localhost") and not request.url.startswith(("data:", "blob:")):
            foreign.append(request.url)

    context.on("request", check)
    return foreign


def run_async(coro: Any) -> Any:
    """asyncio.run in a thread of its own: Playwright's sync API keeps an event loop running on the test's
    thread once a browser fixture has started in this worker, and asyncio.run refuses to nest in it."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def table_kinds(at: Any) -> list[Any]:
    """What the Data page's preview says each uploaded table holds, in the order shown."""
    return [s.value for s in at.selectbox if s.label == "This table holds"]


def press_ctrl_c(proc: subprocess.Popen[str], what: str, timeout: float = 30.0) -> tuple[str, str, float]:
    """Ctrl-C (SIGINT) to a child that said it is stuck inside a statement: its stdout, stderr and the seconds it
    took to end. A child still running after `timeout` has every thread's stack dumped (SIGUSR1, faulthandler)
    into the failure, which says where it hangs."""
    time.sleep(0.5)  # inside the statement
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    try:
        out, err = proc.communicate(timeout=timeout)  # hours without the interrupt
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1)
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"Ctrl-C did not stop {what} in {timeout:.0f} s:\n{err}\n{out}") from None
    return out, err, time.monotonic() - sent
