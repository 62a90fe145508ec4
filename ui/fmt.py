"""Number formatting for the dashboard (money, ratios, percentages) and tables with no raw cells.

`table(df, kinds)` gives st.dataframe a Styler whose cells read as people write them: money as $1.2M,
shares as 38%, counts with separators, dates as 2026-11-01, and "–" where a value is missing (never
None, nan or NaT). The numbers underneath stay numbers, so columns still sort by value; downloads
take the plain frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from planner import text

MISSING = "–"


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def currency() -> str:
    """What money starts with in this run: the store's currency symbol."""
    return text.currency_prefix()


# Streamlit's own money formats, by the store's currency symbol; any other currency is written "accounting"
# style (1,234.00) with its symbol in the column's label.
_MONEY_FORMATS = {"$": "dollar", "€": "euro", "¥": "yen"}


def money_format(label: str) -> tuple[str, str]:
    """(label, NumberColumn format) for a money column in the store's currency: ("Potential", "euro") for EUR,
    ("Potential (CHF)", "accounting") for a currency Streamlit has no format of its own for."""
    symbol = currency().strip()
    if not symbol:  # a store of several currencies: the amounts as written (currency_caveat says so)
        return f"{label} (several currencies)", "accounting"
    if symbol in _MONEY_FORMATS:
        return label, _MONEY_FORMATS[symbol]
    return f"{label} ({symbol})", "accounting"


def money_column(label: str, **options: Any) -> Any:
    """A st.dataframe NumberColumn of money in the store's currency (see money_format)."""
    shown, kind = money_format(label)
    return st.column_config.NumberColumn(shown, format=kind, **options)


def money(value: float | None) -> str:
    return text.money(value, missing=MISSING)


def currency_caveat() -> None:
    """Where a page's totals are read, in a store of several currencies: they add the amounts as written (nothing
    in a store of one currency)."""
    if caveat := text.mixed_caveat():
        st.warning(f"**Money:** {caveat}.", icon=":material/currency_exchange:")


def pct(value: float | None, digits: int = 0) -> str:
    if _missing(value):
        return MISSING
    return f"{value:.{digits}%}"


def ratio(value: float | None) -> str:
    if _missing(value):
        return MISSING
    return f"{value:.2f}"


def count(value: float | None) -> str:
    if _missing(value):
        return MISSING
    return f"{float(value):,.0f}"  # type: ignore[arg-type]


def day(value: Any) -> str:
    """A date (or timestamp) as YYYY-MM-DD."""
    if _missing(value):
        return MISSING
    if isinstance(value, datetime | pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def plain(value: Any) -> str:
    """Text as it is; '–' when missing; True/False as Yes/No."""
    if _missing(value):
        return MISSING
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


FORMATTERS: dict[str, Callable[[Any], str]] = {
    "money": money,
    "pct": pct,
    "pct1": lambda v: pct(v, 1),
    "ratio": ratio,
    "count": count,
    "hours": count,
    "km": lambda v: MISSING if _missing(v) else f"{float(v):,.0f} km",
    "date": day,
    "text": plain,
}
"""How each kind of column reads."""


def table(df: pd.DataFrame, kinds: Mapping[str, str] | None = None) -> Styler:
    """A Styler for st.dataframe: each column formatted by its kind (text for the unnamed ones)."""
    kinds = kinds or {}
    unknown = sorted(set(kinds.values()) - set(FORMATTERS))
    if unknown:
        raise ValueError(f"unknown column kind {unknown[0]!r}; use one of {', '.join(FORMATTERS)}")
    formats = {c: FORMATTERS[kinds.get(c, "text")] for c in df.columns}
    return df.style.format(formats, na_rep=MISSING)  # type: ignore[arg-type]
