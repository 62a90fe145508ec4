"""Short human formats shared by reasons, plans, exports and the dashboard."""

from __future__ import annotations

import math


def money(value: float | None, missing: str = "n/a") -> str:
    """$1.2B / $1.2M / $350.0k / $900: short money for text and metrics."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"${value / size:,.1f}{unit}"
    return f"${value:,.0f}"
