"""Number formatting for the dashboard (money, ratios, percentages)."""

from __future__ import annotations

import math

from planner import text


def money(value: float | None) -> str:
    return text.money(value, missing="–")


def pct(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}%}"


def ratio(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.2f}"
