"""One declarative settings table: name, default, help.

Values come from (first wins) an explicit argument, an environment variable `PLANNER_<NAME>`,
then the default here. Secrets never live here; they are read on the UI side only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.errors import BadInput, redact

ROOT = Path(__file__).resolve().parents[1]


def _data_dir() -> Path:
    """Shipped reference data: data/ in a checkout, planner/reference/ in an installed package."""
    checkout = ROOT / "data"
    if (checkout / "us_states.geojson").exists():
        return checkout
    return Path(__file__).resolve().parent / "reference"


def _default_db() -> Path:
    """data/planner.duckdb in a checkout; in an installed package, the user's data folder."""
    if (ROOT / "data" / "us_states.geojson").exists():
        return ROOT / "data" / "planner.duckdb"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "territory-planner" / "planner.duckdb"


DATA_DIR = _data_dir()


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting(
            "db",
            str(_default_db()),
            "The store (or PLANNER_DB): a DuckDB file path, or a DuckLake attach string "
            "`ducklake:postgres:dbname=... host=... port=... user=...` with its data path in PLANNER_LAKE_DATA.",
        ),
        Setting("demo_accounts", 5000, "Accounts in the embedded demo world."),
        Setting("demo_reps", 12, "Reps in the embedded demo world."),
        Setting("demo_seed", 7, "Seed of the embedded demo world."),
        Setting("price_per_user", 600.0, "Default annual price per user (USD)."),
        Setting(
            "touches_per_year_customer",
            12,
            "Touches a year per customer (an account marked customer or with a won deal): one a month keeps an "
            "account that pays.",
        ),
        Setting(
            "touches_per_year_prospect",
            4,
            "Touches a year per prospect (every other account): one a quarter, a usual nurture cadence.",
        ),
        Setting(
            "touches_per_year",
            12,
            "Earlier versions' single touches a year, for customers and prospects alike: when set (here or saved "
            "in the store) it stands for both segments at its level; a segment's own setting at the same level wins.",
        ),
        Setting("meeting_hours", 1.0, "Hours per touch, travel excluded."),
        Setting("travel_kmh", 60.0, "Average travel speed used to turn distance into hours."),
        Setting("travel_share", 0.25, "Share of touches that are in person (the rest are remote)."),
        Setting("reachable_km", 400.0, "Accounts farther than this from the owner's home count as not covered."),
        Setting("capacity_hours", 1400.0, "Default yearly selling hours a rep can spend on accounts."),
        Setting("lock_timeout_s", 120.0, "How long a writer waits for another writer to finish."),
        Setting(
            "write_attempts",
            6,
            "How many times a write that another process beat to the commit is tried in all (jittered backoff) "
            "before it is reported.",
        ),
        Setting(
            "lake_lock",
            True,
            "Lake writers take turns through a PostgreSQL advisory lock (PLANNER_LAKE_LOCK=0: they commit "
            "optimistically and retry conflicts; for tests and measurements).",
        ),
        Setting(
            "max_upload_mb",
            200,
            "Largest CRM file the importer and the Data page's uploader accept (MB as stored); the app sets "
            "Streamlit's server.maxUploadSize from it.",
        ),
        Setting("max_unpacked_mb", 1000, "Largest unpacked content of an .xlsx workbook (MB), checked first."),
        Setting("max_rows", 5_000_000, "Most data rows (lines) one imported file or sheet may hold."),
        Setting("max_columns", 2000, "Most columns one imported file or sheet may hold."),
        Setting(
            "open_local",
            False,
            "Run without sign-in as one local admin (PLANNER_OPEN_LOCAL=1); only when bound to 127.0.0.1 and "
            "no [auth] is configured. scripts/run sets it.",
        ),
    ]
}


def get(name: str, override: Any = None) -> Any:
    """Return a setting: the override if given, else PLANNER_<NAME>, else the default."""
    if override is not None:
        return override
    setting = SETTINGS[name]
    env = os.environ.get(f"PLANNER_{name.upper()}")
    if env is None or env == "":
        return setting.default
    kind = type(setting.default)
    if kind is bool:
        if env.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if env.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise BadInput(f"PLANNER_{name.upper()}={env!r} is not a yes/no value; set it to 1 or 0")
    if kind in (int, float):
        try:
            return kind(env.replace("_", ""))
        except ValueError:
            raise BadInput(f"PLANNER_{name.upper()}={env!r} is not a number; set it like {setting.default!r}") from None
    return env


def is_set(name: str) -> bool:
    """Whether the deployment sets PLANNER_<NAME> (a non-empty value), as opposed to leaving the default."""
    if name not in SETTINGS:
        raise KeyError(name)
    return bool(os.environ.get(f"PLANNER_{name.upper()}", ""))


def db_path(override: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the store: `--db PATH`, else PLANNER_DB, else data/planner.duckdb.

    A DuckLake attach string (`ducklake:...`) is kept as written; planner.store.core tells the kinds apart.
    """
    value = str(get("db", override))
    bare = value.strip().strip("\"'").strip()  # quotes an env file kept, a space before
    if bare.lower().startswith("ducklake:"):
        return Path("ducklake:" + bare[len("ducklake:") :])
    if "ducklake:" in value.lower():  # never a file named after a lake's attach string (and its password)
        raise BadInput(
            f"the store setting {redact(value)!r} names a DuckLake, but not at its start; write it as "
            "ducklake:postgres:dbname=... (PLANNER_DB or --db)"
        )
    return Path(value).expanduser().resolve()
