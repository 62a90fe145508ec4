"""A real PostgreSQL for DuckLake tests: one cluster per test process, in a temporary folder on 127.0.0.1.

The cluster runs as a non-root user (`postgres` when the tests run as root). scripts/test installs Debian's
`postgresql` when its binaries are missing; without them the lake tests fail and say so (never skipped).

`PLANNER_TEST_STORE=lake` runs the whole suite on lakes (#19 point 1, "every test on both"): the store
fixtures (small_store, app_store, the odd stores) then hand out a DuckLake instead of a file. Each is a clone
of a template lake built once per session (`createdb -T`, which copies the catalog in milliseconds where a
fresh copy of a store takes seconds); the clones share the template's data folder, which is safe because
DuckLake never rewrites a data file, and each clone names its new files afresh. A test of the file's own
mechanics (copy-and-swap, the file's lock, its bytes) carries `@pytest.mark.file_store("why")` and gets a
file in both runs.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from planner import store
from planner.store import core
from tests.helpers import free_port

_MODES = ("file", "lake")
TEST_STORE = os.environ.get("PLANNER_TEST_STORE", "").strip() or "file"
if TEST_STORE not in _MODES:
    raise pytest.UsageError(f"PLANNER_TEST_STORE={TEST_STORE!r}: set it to file (the default) or lake")


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

    def lake(self, template: str | None = None) -> str:
        """A new database, empty or a copy of `template`'s; returns the DuckLake attach string naming it."""
        name = f"lake_{uuid.uuid4().hex[:12]}"
        like = ["-T", _dbname(template)] if template else []
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", *like, name)
        return f"ducklake:postgres:dbname={name} host=127.0.0.1 port={self.port} user=postgres"

    def drop(self, lake: str) -> None:
        """Drop a lake's catalog database (after this process let go of it; --force ends other sessions)."""
        core.detach(Path(lake))
        self._run("dropdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "--force", _dbname(lake))

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def store_state(path: Path) -> str:
    """What stays the same while nothing is written: a file's bytes (SHA-256), a lake's snapshot id (every commit
    makes a new one; a lake has no bytes of its own to compare)."""
    if core.is_lake(path):
        return core.fingerprint(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dbname(lake: str) -> str:
    found = re.search(r"dbname=(\S+)", lake)
    assert found, lake
    return found.group(1)


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
def small_lake(lake_clones: LakeClones, small_store_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The small demo store (600 accounts, 6 reps, seed 3) in a new lake (a clone of a template lake)."""
    monkeypatch.setenv("PLANNER_LAKE_DATA", str(lake_clones.data))
    lake = lake_clones(small_store_template)
    yield Path(lake)
    with contextlib.suppress(RuntimeError):
        lake_clones.postgres.drop(lake)


@pytest.fixture(params=["file", "lake"])
def any_store(request: pytest.FixtureRequest) -> Path:
    """The small demo store on each backend: a DuckDB file, then a DuckLake on PostgreSQL."""
    name = "small_store" if request.param == "file" else "small_lake"
    path: Path = request.getfixturevalue(name)
    return path


@pytest.fixture(params=["file", "lake"])
def any_empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A new store with the schema and no rows on each backend: a DuckDB file, then a DuckLake on PostgreSQL
    (a file in both runs of the suite, as any_store's "file" is)."""
    path: Path = tmp_path / "empty.duckdb" if request.param == "file" else request.getfixturevalue("empty_lake")
    store.migrate(path)
    return path


class LakeClones:
    """File stores -> new lakes holding the same store; each file is copied into a template lake once (a lake
    is cloned directly)."""

    def __init__(self, postgres: Postgres, data: Path) -> None:
        self.postgres = postgres
        self.data = data  # PLANNER_LAKE_DATA of every clone
        self.templates: dict[Path, str] = {}

    def __call__(self, file: Path) -> str:
        if core.is_lake(file):  # a lake a fixture built (say a module's base store): cloned as it is now
            core.detach(file)  # createdb -T refuses a template that has sessions
            return self.postgres.lake(template=str(file))
        if file not in self.templates:
            template = self.postgres.lake()
            store.copy_store(file, Path(template))
            core.detach(Path(template))  # createdb -T refuses a template that has sessions
            self.templates[file] = template
        return self.postgres.lake(template=self.templates[file])


@pytest.fixture(scope="session")
def lake_clones(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> LakeClones:
    return LakeClones(postgres, tmp_path_factory.mktemp("lake-data"))


def _maker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, Path], Path]:
    """(a template file store, a new file path) -> a copy of the template at that path, or under
    PLANNER_TEST_STORE=lake a lake cloned from it, dropped when the requesting fixture's scope ends."""

    def as_file(template: Path, path: Path) -> Path:
        shutil.copyfile(template, path)
        return path

    if TEST_STORE == "file" or request.node.get_closest_marker("file_store"):
        return as_file
    clones: LakeClones = request.getfixturevalue("lake_clones")
    made: list[str] = []

    def as_lake(template: Path, path: Path) -> Path:
        monkeypatch.setenv("PLANNER_LAKE_DATA", str(clones.data))
        made.append(clones(template))
        return Path(made[-1])

    _drop_after(request, clones, made)
    return as_lake


def _drop_after(request: pytest.FixtureRequest, clones: LakeClones, made: list[str]) -> None:
    """Drop the lakes a fixture made (listed in `made` as it makes them) when its test or module ends."""

    def let_go() -> None:
        for lake in made:
            with contextlib.suppress(RuntimeError):
                clones.postgres.drop(lake)

    request.addfinalizer(let_go)


@pytest.fixture
def store_for_test(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, Path], Path]:
    """(a template file store, a new file path) -> the store this test runs on: a copy of the template at that
    path, or under PLANNER_TEST_STORE=lake a lake cloned from it (dropped after the test).

    A test marked `file_store` gets the file in both runs.
    """
    return _maker(request, monkeypatch)


@pytest.fixture(scope="module")
def module_store(request: pytest.FixtureRequest) -> Iterator[Callable[[Path, Path], Path]]:
    """store_for_test for a store a module shares (a server it starts once): under PLANNER_TEST_STORE=lake a
    lake, which with its PLANNER_LAKE_DATA lasts until the module ends. A module marked `file_store` gets files."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield _maker(request, monkeypatch)


@pytest.fixture
def new_store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """file name -> where this test builds a store of its own: that file under tmp_path (not there yet), or under
    PLANNER_TEST_STORE=lake a new empty lake (dropped after the test). A test marked `file_store` gets the file."""
    if TEST_STORE == "file" or request.node.get_closest_marker("file_store"):
        return lambda name: tmp_path / name
    clones: LakeClones = request.getfixturevalue("lake_clones")
    made: list[str] = []

    def lake(name: str) -> Path:
        monkeypatch.setenv("PLANNER_LAKE_DATA", str(clones.data))
        made.append(clones.postgres.lake())
        return Path(made[-1])

    _drop_after(request, clones, made)
    return lake
