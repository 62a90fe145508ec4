"""The DuckDB extensions a DuckLake store needs, found in the Python packages that ship them (the `team` extra).

DuckDB loads extensions only from a directory laid out by DuckDB version and platform; this builds one once
per process whose files link to the packages' files, so nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

import duckdb

from planner.errors import StoreError

# Each extension's package, and the name its file has there, keyed by the name DuckDB expects on disk.
_EXTENSIONS = {"ducklake": ("duckdb_extension_ducklake", "ducklake"),
               "postgres_scanner": ("duckdb_extension_postgres", "postgres")}  # fmt: skip
_dir: Path | None = None


def directory() -> Path:
    """A private extension directory whose files link to the extension packages' files."""
    global _dir
    if _dir is not None:
        return _dir
    version = duckdb.__version__
    platform = duckdb.execute("PRAGMA platform").fetchall()[0][0]
    folder = Path(tempfile.mkdtemp(prefix="planner-duckdb-ext-"))
    target = folder / f"v{version}" / platform
    target.mkdir(parents=True)
    for name, (package, shipped) in _EXTENSIONS.items():
        spec = importlib.util.find_spec(package)
        source = None
        for root in (spec.submodule_search_locations or []) if spec else []:
            found = Path(root) / "extensions" / f"v{version}" / f"{shipped}.duckdb_extension"
            source = found if found.exists() else source
        if source is None:
            shutil.rmtree(folder, ignore_errors=True)
            raise StoreError(
                f"a DuckLake store needs the {package} package built for DuckDB {version}; "
                'install the team setup with `pip install ".[team]"`'
            )
        (target / f"{name}.duckdb_extension").symlink_to(source)
    _dir = folder
    return folder
