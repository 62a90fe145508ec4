"""Tables as pages show them: no column that is empty on every row, a formula-safe CSV of any table, and the one
download button every page uses (its data made when clicked asks the store again who is clicking: ui.auth.at_click)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from planner import export
from ui import auth


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
    download_button(container, label, lambda: export.to_csv_bytes(build()), file_name=file_name, mime="text/csv",
                    key=key, icon=":material/download:", on_click="ignore")  # fmt: skip


def download_button(container: Any, label: str, data: Any, *args: Any, **kwargs: Any) -> Any:
    """`container.download_button(label, data, ...)`, the way every page offers a file. Data made when clicked
    (a callable) runs after the page's run ended, with the scope it was drawn with: it is guarded (ui.auth.at_click),
    so a role removed or narrowed since gets a refusal, never the data."""
    return container.download_button(label, auth.at_click(data) if callable(data) else data, *args, **kwargs)
