"""A real PostgreSQL for DuckLake tests: one cluster per test process, in a temporary folder on 127.0.0.1.

The cluster runs as a non-root user (`postgres` when the tests run as root). scripts/test installs Debian's
`postgresql` when its binaries are missing; without them the lake tests fail and say so (never skipped).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from planner import store
from tests.helpers import free_port


def _bin_dir() -> Path:
    """The folder of initdb, pg_ctl and createdb (Debian keeps them per version; PATH may hold a link)."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[-3]))
    found = versions[-1] if versions else shutil.which("initdb")
    if not found:
        pytest.fail("PostgreSQL is not installed (no initdb); run scripts/test, which installs `postgresql`")
    return Path(found).resolve().parent


class Postgres:
    """A throwaway PostgreSQL cluster; `lake()` makes a new database for one DuckLake catalog."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="planner-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self.as_user, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-1000:]}")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def lake(self) -> str:
        """A new empty database; returns the DuckLake attach string naming it."""
        name = f"lake_{uuid.uuid4().hex[:12]}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"ducklake:postgres:dbname={name} host=127.0.0.1 port={self.port} user=postgres"

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    pg = Postgres()
    yield pg
    pg.close()


@pytest.fixture
def empty_lake(postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new DuckLake without a store: a PostgreSQL database for its catalog, a folder for its data."""
    data = tmp_path / "lake-data"
    data.mkdir()
    monkeypatch.setenv("PLANNER_LAKE_DATA", str(data))
    return Path(postgres.lake())


@pytest.fixture
def small_lake(empty_lake: Path, small_store_template: Path) -> Path:
    """The small demo store (600 accounts, 6 reps, seed 3) copied into a new lake."""
    store.copy_store(small_store_template, empty_lake)
    return empty_lake


@pytest.fixture(params=["file", "lake"])
def any_store(request: pytest.FixtureRequest) -> Path:
    """The small demo store on each backend: a DuckDB file, then a DuckLake on PostgreSQL."""
    name = "small_store" if request.param == "file" else "small_lake"
    path: Path = request.getfixturevalue(name)
    return path
