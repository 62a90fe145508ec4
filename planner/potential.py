"""Revenue potential: price per user x estimated users, users = employees x adoption share.

Defaults are per industry; the store's potential_settings table holds the values in force (the
'*' row is the fallback for industries without their own row). Expected value = propensity x
potential.
"""

from __future__ import annotations

from planner import settings

# Share of an account's employees who would use the product, by industry (a planning default;
# replaced by values learned from won deals where there are enough of them).
DEFAULT_ADOPTION: dict[str, float] = {
    "Software": 0.5,
    "Financial Services": 0.35,
    "Healthcare": 0.18,
    "Manufacturing": 0.12,
    "Retail": 0.08,
    "Professional Services": 0.45,
    "Education": 0.1,
    "Logistics": 0.15,
    "Media": 0.3,
    "Energy": 0.1,
    "Telecommunications": 0.2,
}
DEFAULT_SHARE = 0.2


def default_price() -> float:
    return float(settings.get("price_per_user"))
