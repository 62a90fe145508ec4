"""Tables as pages show them: no column that is empty on every row, and a formula-safe CSV of any table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from planner import export


def drop_empty(df: pd.DataFrame, keep: tuple[str, ...] = ()) -> pd.DataFrame:
    """The table without columns that hold nothing on any row (a European book's Account ID and State): they
    pushed the useful columns off the screen. Columns in `keep` stay; an empty table keeps every column."""
    if df.empty:
        return df
    blank = [c for c in df.columns if c not in keep and df[c].map(_is_blank).all()]
    return df.drop(columns=blank)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT or (
        isinstance(value, str) and value.strip() in ("", "–"))  # fmt: skip


def csv_download(table: pd.DataFrame | Callable[[], pd.DataFrame], file_name: str, key: str, *,
                 label: str = "Download CSV", container: Any = st) -> None:  # fmt: skip
    """A table's CSV (planner.export: formula-safe cells), built when clicked (a callable builds the table then);
    the click does not rerun the page."""
    build = table if callable(table) else (lambda: table)
    container.download_button(label, lambda: export.to_csv_bytes(build()), file_name=file_name, mime="text/csv",
                              key=key, icon=":material/download:", on_click="ignore")  # fmt: skip
