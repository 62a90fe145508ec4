"""Real-browser tests: Playwright drives Debian's chromium against `streamlit run app.py`.

The server starts on a store path that does not exist yet, so the first request exercises the
embedded default (demo store built on first launch). The first page opened is a deep link, the
trap described in TESTING.md. A browser that cannot start is a failure, never a skip.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

ARTIFACTS = ROOT / "tests" / "artifacts"


def app_pages() -> list[tuple[str, str]]:
    """(url path, title) of every page app.py routes to, read from its source."""
    source = (ROOT / "app.py").read_text()
    pages = []
    for call in re.findall(r"st\.Page\((.*?)\)", source, flags=re.S):
        stem = re.search(r'"pages/(\w+)\.py"', call)
        title = re.search(r'title="([^"]+)"', call)
        url = re.search(r'url_path="([^"]*)"', call)
        assert stem and title
        path = "" if "default=True" in call else (url.group(1) if url else stem.group(1))
        pages.append((path, title.group(1)))
    return pages


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, log: Path, extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start the dashboard on a free loopback port and wait until /_stcore/health says ok."""
    port = _free_port()
    env = {**os.environ, "PLANNER_DB": str(db), **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.read().decode().strip() == "ok":
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"streamlit did not answer /_stcore/health in 90 s; log: {log.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("browser")
    db = tmp / "fresh.duckdb"
    assert not db.exists()
    proc, url = start_server(db, tmp / "server.log", {"PLANNER_DEMO_ACCOUNTS": "3000", "PLANNER_DEMO_REPS": "10"})
    yield url, db
    stop_server(proc)


def wait_rendered(page: Any, timeout_s: float = 90) -> None:
    """Wait until Streamlit has finished running the script (no 'Running...' widget, no skeletons)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    # Every page starts with st.title; the first-launch screen (demo build) has none.
    page.wait_for_selector("h1", timeout=timeout_s * 1000)
    deadline = time.time() + timeout_s
    quiet_since = None
    while time.time() < deadline:
        busy = (
            page.locator('[data-testid="stStatusWidget"]').count() > 0
            or page.locator('[data-testid="stSkeleton"]').count() > 0
        )
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since > 1.5:
            return
        page.wait_for_timeout(200)
    raise AssertionError("the page kept running for too long")


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


def test_deep_link_first_then_every_page(server: tuple[str, Path], browser: Any) -> None:
    url, db = server
    pages = app_pages()
    assert pages[0][0] == "", "Overview is the default page"
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    # 1. A deep link is the very first request of the freshly started server (and builds the demo store).
    deep_path, deep_title = pages[-1] if len(pages) > 1 else pages[0]
    page.goto(f"{url}/{deep_path}", wait_until="domcontentloaded")
    wait_rendered(page, 180)
    assert db.exists(), "the demo store was built on first launch"
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    for _, title in pages:
        assert title in nav, f"navigation lists {title!r} (not file names) after a deep link"
    assert page.locator("h1").first.inner_text().strip().startswith(deep_title)
    assert_no_exception(page, deep_path)
    screenshot(page, "deep-link-first")
    # 2. Every page, by its own address, renders without an exception.
    for path, title in pages:
        page.goto(f"{url}/{path}", wait_until="domcontentloaded")
        wait_rendered(page)
        assert page.locator("h1").first.inner_text().strip().startswith(title), path
        assert_no_exception(page, path or "overview")
        shot = screenshot(page, f"page-{path or 'overview'}")
        assert shot.stat().st_size > 10_000
    ctx.close()


def test_overview_says_demo_and_links_to_data(server: tuple[str, Path], browser: Any) -> None:
    url, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url, wait_until="domcontentloaded")
    wait_rendered(page)
    body = page.inner_text("body")
    assert "This is demo data" in body
    assert "3,000" in body  # accounts of the demo store built on first launch
    page.get_by_text("Upload your CRM exports").click()
    wait_rendered(page)
    assert page.locator("h1").first.inner_text().strip() == "Data"
    assert "/data" in page.url
    page.close()


def test_territory_choice_lives_in_the_link(server: tuple[str, Path], browser: Any) -> None:
    url, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?rep=R002", wait_until="domcontentloaded")
    wait_rendered(page)
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "All territories" not in sidebar.split("Territory", 1)[1].split("\n")[1]
    assert "rep=R002" in page.url
    assert_no_exception(page, "overview?rep=R002")
    page.close()
