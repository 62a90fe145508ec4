"""Stores shaped unlike the demo (issue #14 point 7): builders and pytest fixtures shared by every test.

Each odd store is the small demo world (one seed function, planner.demo.build_world) reshaped the way
real CRM data arrives, then written through the store's own writer: no reps; reps without homes;
accounts without owners; no geography at all; deals only; no closed deals; one rep; accounts outside
the US only; the demo world plus one unowned account; and the public "CRM sales opportunities" trio
imported as delivered. None but the last-but-one is a demo store (is_demo = 0, no model trained yet),
as after a real import. A few account names are hostile (HTML, a formula, a line break).

Use from a test module (the fixtures are registered in conftest.py through `pytest_plugins`):

    def test_page_on_every_store(odd_store: Path) -> None: ...      # parametrised over ODD_STORES
    def test_x(odd_store_factory) -> None: path = odd_store_factory("no_reps")
    def test_page(odd_app_store: Path) -> None: ...                 # also sets PLANNER_DB

The test id names the store (`odd_store.stem` too, on a file; under PLANNER_TEST_STORE=lake each is a lake).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import demo, potential, store
from planner.scope import OPERATOR
from planner.store import world as world_q

ROOT = Path(__file__).resolve().parents[1]
CRM_TRIO_DIR = ROOT / "data" / "samples" / "crm_sales_opportunities"
CRM_TRIO = ("accounts.csv", "sales_pipeline.csv", "sales_teams.csv")

ODD_STORES = (
    "no_reps",
    "reps_without_homes",
    "accounts_without_owners",
    "no_geography",
    "deals_only",
    "no_closed_deals",
    "one_rep",
    "outside_us",
    "demo_plus_unowned",
    "crm_trio",
)
BASE = {"n_accounts": 240, "n_reps": 5, "seed": 21}
HOSTILE_NAMES = ("<img src=x onerror=alert(1)> Labs", "=2+2 Holdings", '\r=HYPERLINK("http://x")\nBreak Co')

# Foreign cities (name, country code, country, lat, lon) for accounts outside the US.
FOREIGN_CITIES = [
    ("Berlin", "DE", "Germany", 52.52437, 13.41053), ("Munich", "DE", "Germany", 48.13743, 11.57549),
    ("Manila", "PH", "Philippines", 14.6042, 120.9822), ("Cebu City", "PH", "Philippines", 10.31672, 123.89071),
    ("London", "GB", "United Kingdom", 51.50853, -0.12574), ("Manchester", "GB", "United Kingdom", 53.48095, -2.23743),
    ("São Paulo", "BR", "Brazil", -23.5475, -46.63611), ("Bengaluru", "IN", "India", 12.97194, 77.59369),
    ("Tokyo", "JP", "Japan", 35.6895, 139.69171), ("Toronto", "CA", "Canada", 43.70011, -79.4163),
]  # fmt: skip
# Country-level places (a country centroid): country code, country, lat, lon.
FOREIGN_COUNTRIES = [("KE", "Kenya", 0.17, 37.9), ("NO", "Norway", 64.5, 11.5), ("AU", "Australia", -25.7, 134.5)]


def session_file(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """`name`, built by `build(path)` once per test run and shared by every xdist worker: the first worker that
    needs it builds it under a lock, the others wait and reuse it. Tests copy it and never write it."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    folder = root / "shared"
    folder.mkdir(exist_ok=True)
    path, done = folder / name, folder / f"{name}.done"
    with open(folder / f"{name}.building", "w") as lock:  # not <store>.lock: the store's writers lock that one
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this worker dies
        if not done.exists():
            if path.exists():  # a build that failed half-way
                path.unlink()
            build(path)
            done.touch()
    return path


@lru_cache(maxsize=1)
def base_world() -> demo.World:
    return demo.build_world(**BASE)


def _copy(w: demo.World) -> demo.World:
    return demo.World(
        accounts=w.accounts.copy(), deals=w.deals.copy(), reps=w.reps.copy(), truth=w.truth.copy(),
        activities=w.activities.copy(), today=w.today,
    )  # fmt: skip


def _hostile(w: demo.World) -> None:
    """A few account names an attacker or a careless export would write."""
    for i, name in enumerate(HOSTILE_NAMES):
        w.accounts.loc[i * 7, "name"] = name


def _no_homes(reps: pd.DataFrame) -> pd.DataFrame:
    """Reps as a CRM export names owners: no home location."""
    out = reps.copy()
    for col in ("home_city", "home_state"):
        out[col] = None
    for col in ("home_lat", "home_lon"):
        out[col] = np.nan
    return out


def _no_geography(accounts: pd.DataFrame) -> pd.DataFrame:
    out = accounts.copy()
    for col in ("city", "state", "postal_code", "county"):
        out[col] = None
    for col in ("lat", "lon"):
        out[col] = np.nan
    out["geo_method"] = "none"
    return out


def _unowned(w: demo.World) -> None:
    w.accounts["owner_rep_id"] = None
    w.activities = w.activities.iloc[0:0]


def write_world(path: Path, w: demo.World, *, as_of: date | None = None) -> Path:
    """Write a (reshaped) world as an imported store: not a demo, no model, no catalogue."""
    adoption = {k: float(v) for k, v in potential.DEFAULT_ADOPTION.items()}
    with store.write(path) as con:
        world_q.replace_world(con, w, adoption, potential.default_price(), scope=OPERATOR)
        con.execute("DELETE FROM meta WHERE key IN ('demo_today', 'demo_seed')")
        con.execute("UPDATE accounts SET source = 'generic' WHERE source = 'demo'")
        con.execute("UPDATE deals SET source = 'generic' WHERE source = 'demo'")
        con.execute("UPDATE reps SET source = 'generic' WHERE source = 'demo'")
        store.set_meta(con, "is_demo", "0")
        if as_of is not None:
            store.set_meta(con, "data_updated_at", f"{as_of.isoformat()}T00:00:00")
    return path


def build_no_reps(path: Path) -> Path:
    w = _copy(base_world())
    _unowned(w)
    w.deals["owner_rep_id"] = None
    w.reps = w.reps.iloc[0:0]
    _hostile(w)
    return write_world(path, w)


def build_reps_without_homes(path: Path) -> Path:
    w = _copy(base_world())
    w.reps = _no_homes(w.reps)
    _hostile(w)
    return write_world(path, w)


def build_accounts_without_owners(path: Path) -> Path:
    """Reps with homes, deals with owners, but no account has an owner (the accounts file had none)."""
    w = _copy(base_world())
    _unowned(w)
    _hostile(w)
    return write_world(path, w)


def build_no_geography(path: Path) -> Path:
    w = _copy(base_world())
    w.accounts = _no_geography(w.accounts)
    w.reps = _no_homes(w.reps)
    _hostile(w)
    return write_world(path, w)


def build_deals_only(path: Path) -> Path:
    """What a deals file alone gives: accounts known by name only (no firmographics, no location),
    reps named by the deals' owners (no homes, emails or quotas), deals from 2016-2017."""
    w = _copy(base_world())
    a = w.accounts
    keep = ["account_id", "name", "owner_rep_id"]
    blank = {c: (np.nan if a[c].dtype.kind in "fi" else None) for c in a.columns if c not in keep}
    w.accounts = a.assign(**blank).assign(geo_method="none", locked=False, source="generic")
    w.accounts["employees"] = pd.array([pd.NA] * len(a), dtype="Int64")
    w.accounts["website_visits"] = pd.array([pd.NA] * len(a), dtype="Int64")
    w.accounts["new_executive"] = pd.array([pd.NA] * len(a), dtype="boolean")
    shift = w.today - date(2017, 12, 31)
    for col in ("created_date", "close_date"):
        w.deals[col] = [d - shift for d in w.deals[col]]
    w.reps = _no_homes(w.reps).assign(email=None, quota=np.nan)
    w.truth = w.truth.iloc[0:0]
    w.activities = w.activities.iloc[0:0]
    _hostile(w)
    return write_world(path, w, as_of=date(2018, 3, 1))


def build_no_closed_deals(path: Path) -> Path:
    w = _copy(base_world())
    d = w.deals
    d["is_closed"] = False
    d["is_won"] = False
    d["stage"] = np.array(demo.OPEN_STAGES, dtype=object)[np.arange(len(d)) % len(demo.OPEN_STAGES)]
    d["close_date"] = [w.today + timedelta(days=30 + i % 90) for i in range(len(d))]
    _hostile(w)
    return write_world(path, w)


def build_one_rep(path: Path) -> Path:
    w = _copy(base_world())
    first = w.reps["rep_id"].iloc[0]
    w.reps = w.reps.iloc[:1]
    for frame, col in ((w.accounts, "owner_rep_id"), (w.deals, "owner_rep_id"), (w.activities, "rep_id")):
        frame[col] = np.where(frame[col].notna(), first, None)
    return write_world(path, w)


def build_outside_us(path: Path) -> Path:
    """Accounts in Germany, the Philippines, the UK, Brazil... placed by city, a few by country only;
    half the reps live abroad, the other half have no home."""
    w = _copy(base_world())
    a = w.accounts
    n = len(a)
    rng = np.random.default_rng(5)
    by_city = rng.random(n) >= 0.1
    city = rng.integers(0, len(FOREIGN_CITIES), n)
    country = rng.integers(0, len(FOREIGN_COUNTRIES), n)
    rows = [FOREIGN_CITIES[c] if ok else (None, *FOREIGN_COUNTRIES[k]) for ok, c, k in zip(by_city, city, country,
                                                                                           strict=True)]  # fmt: skip
    a["city"] = [r[0] for r in rows]
    a["country"] = [r[2] for r in rows]
    a["lat"] = [round(r[3] + (rng.normal(0, 0.05) if r[0] else 0), 5) for r in rows]
    a["lon"] = [round(r[4] + (rng.normal(0, 0.05) if r[0] else 0), 5) for r in rows]
    a["state"] = None
    a["postal_code"] = None
    a["county"] = None
    a["geo_method"] = np.where(by_city, "city", "country")
    reps = _no_homes(w.reps)
    for i in range(0, len(reps), 2):
        c = FOREIGN_CITIES[i % len(FOREIGN_CITIES)]
        reps.loc[i, ["home_city", "home_lat", "home_lon"]] = [c[0], c[3], c[4]]
    w.reps = reps
    _hostile(w)
    return write_world(path, w)


def build_demo_plus_unowned(path: Path) -> Path:
    """The small demo store, then one account nobody owns, with no location, no score and no deals."""
    demo.build_store(path, BASE["n_accounts"], BASE["n_reps"], BASE["seed"], scope=OPERATOR)
    with store.write(path) as con:
        con.execute(
            """INSERT INTO accounts (account_id, source, name, industry, employees, geo_method, owner_rep_id, locked,
                                     created_at, updated_at)
               VALUES ('X0000001', 'generic', ?, 'Software', 40, 'none', NULL, false, ?, ?)""",
            [HOSTILE_NAMES[0], store.now(), store.now()],
        )
    return path


def build_crm_trio(path: Path) -> Path:
    """The public CRM sales opportunities files imported as delivered, in one command's write."""
    from planner import ingest

    ingest.import_files(path, [CRM_TRIO_DIR / f for f in CRM_TRIO], scope=OPERATOR)
    return path


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "no_reps": build_no_reps,
    "reps_without_homes": build_reps_without_homes,
    "accounts_without_owners": build_accounts_without_owners,
    "no_geography": build_no_geography,
    "deals_only": build_deals_only,
    "no_closed_deals": build_no_closed_deals,
    "one_rep": build_one_rep,
    "outside_us": build_outside_us,
    "demo_plus_unowned": build_demo_plus_unowned,
    "crm_trio": build_crm_trio,
}
assert tuple(BUILDERS) == ODD_STORES


def build(name: str, path: Path) -> Path:
    """Build odd store `name` at `path` (a new file)."""
    if name not in BUILDERS:
        raise KeyError(f"no odd store {name!r}; pick one of {', '.join(ODD_STORES)}")
    return BUILDERS[name](path)


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def odd_store_templates(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """name -> a template store built once per run and shared by the xdist workers (lazily: only the stores a
    run uses). Copy it, never write it."""
    built: dict[str, Path] = {}

    def template(name: str) -> Path:
        if name not in built:
            built[name] = session_file(tmp_path_factory, f"odd-{name}.duckdb", lambda path: build(name, path))
        return built[name]

    return template


@pytest.fixture
def odd_store_factory(
    odd_store_templates: Callable[[str], Path], tmp_path: Path, store_for_test: Callable[[Path, Path], Path]
) -> Callable[[str], Path]:
    """name -> a private copy of that odd store for this test (a file named <name>.duckdb, or a lake when the
    suite runs with PLANNER_TEST_STORE=lake)."""

    def make(name: str) -> Path:
        return store_for_test(odd_store_templates(name), tmp_path / f"{name}.duckdb")

    return make


@pytest.fixture(params=ODD_STORES)
def odd_store(request: pytest.FixtureRequest, odd_store_factory: Callable[[str], Path]) -> Path:
    """Each odd store in turn (a private copy), named by the test id."""
    return odd_store_factory(str(request.param))


@pytest.fixture
def odd_app_store(odd_store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each odd store in turn, made the app's store through PLANNER_DB (for AppTest)."""
    monkeypatch.setenv("PLANNER_DB", str(odd_store))
    yield odd_store
