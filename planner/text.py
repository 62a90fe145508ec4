"""Short human formats shared by reasons, plans, exports and the dashboard."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def money(value: float | None, missing: str = "n/a") -> str:
    """$1.2B / $1.2M / $350.0k / $900: short money for text and metrics."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"${value / size:,.1f}{unit}"
    return f"${value:,.0f}"


def json_safe(value: Any) -> Any:
    """A value made JSON-ready: NaN, inf, pd.NA and NaT become None; numpy scalars become Python ones.

    Dicts, lists and tuples are cleaned recursively (tuples become lists). The one cleaner for the CLI's
    --json output, stored scenario and model records, and the pages' downloads.
    """
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
