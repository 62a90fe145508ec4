"""Revenue potential: price per user x estimated users, users = employees x adoption share (an account with
annual revenue and no head count: revenue / an assumed revenue per employee, x the share).

Defaults are per industry; the store's potential_settings table holds the values in force (the
'*' row is the fallback for industries without their own row). Expected value = propensity x
potential.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from planner import settings, store
from planner.errors import BadInput
from planner.scope import Scope, require_leader
from planner.store import get_meta, scores, set_meta
from planner.store import potential as q
from planner.store import world as world_q

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
# Annual revenue per employee assumed where an account has revenue but no employee count (dollar terms; the
# store's meta revenue_per_employee overrides it).
REVENUE_PER_EMPLOYEE = q.REVENUE_PER_EMPLOYEE


def default_price() -> float:
    """The planning default price per user (setting price_per_user, a US-dollar figure)."""
    return float(settings.get("price_per_user"))


def assumptions(con: Any) -> list[str]:
    """What the potential figures rest on beyond the settings table, in plain words: users estimated from revenue
    where the head count is missing, no basis at all, and default prices (dollars) in a store in another currency."""
    notes: list[str] = []
    basis = q.users_basis(con)
    by_revenue, none = basis.get("revenue", 0), basis.get("none", 0)
    code = world_q.chosen_currency(con) or "USD"  # several currencies: said on every page
    if by_revenue:
        per = q.revenue_per_employee(con)
        notes.append(
            f"{by_revenue:,} account(s) have annual revenue but no employee count: their users are estimated as "
            f"one employee per {per:,.0f} of annual revenue (an assumption, in dollar terms), x the adoption share. "
            "Import employee counts to replace it."
        )
    if none and not basis.get("employees", 0) and not by_revenue:
        notes.append("No account has an employee count or annual revenue, so every potential is 0: import accounts "
                     "with Employees or Annual Revenue columns.")  # fmt: skip
    elif none:
        notes.append(f"{none:,} account(s) have neither employees nor annual revenue: their potential is 0.")
    if code != "USD":
        table = settings_table(con)
        default = table[~table["learned"] & ~table["manual"]]
        if len(default):
            notes.append(
                f"The default price per user ({default_price():,.0f}) is a US-dollar figure, shown here in {code} "
                f"without conversion; {len(default)} segment(s) still use it. Set the price per user in {code} "
                "(on the Model page, or `python -m planner potential set '*' --price N`), or learn it from won deals "
                "(`potential learn`)."
            )
    return notes


# Won deals a segment needs before its defaults are learned from them.
MIN_WON_DEALS = 10
_MANUAL_KEY = "potential_manual"  # meta: JSON list of segments a person edited (learning leaves them alone)


def _manual(con: Any) -> set[str]:
    return set(json.loads(get_meta(con, _MANUAL_KEY) or "[]"))


def _set_manual(con: Any, segments: set[str]) -> None:
    set_meta(con, _MANUAL_KEY, json.dumps(sorted(segments)))


def learned_defaults(won: pd.DataFrame, min_won: int = MIN_WON_DEALS) -> pd.DataFrame:
    """What won deals say: per industry (and '*' for all) the median users/employees and amount/users.

    `won` has industry, employees, users, amount. Segments with fewer than `min_won` usable won
    deals are left out (their planning defaults stay).
    """
    cols = ["segment", "adoption_share", "price_per_user", "won_deals"]
    if won.empty:
        return pd.DataFrame(columns=cols)
    w = won.copy()
    w["share"] = (pd.to_numeric(w["users"], errors="coerce") / pd.to_numeric(w["employees"], errors="coerce")).clip(
        upper=1.0
    )
    w["price"] = pd.to_numeric(w["amount"], errors="coerce") / pd.to_numeric(w["users"], errors="coerce")
    w = w[(w["share"] > 0) & (w["price"] > 0)]
    rows = []
    groups = [("*", w)] + [(str(k), g) for k, g in w.dropna(subset=["industry"]).groupby("industry")]
    for segment, g in groups:
        if len(g) >= min_won:
            rows.append((segment, round(float(g["share"].median()), 4), round(float(g["price"].median()), 2), len(g)))
    return pd.DataFrame(rows, columns=cols)


def learn_defaults(con: Any, min_won: int = MIN_WON_DEALS, *, scope: Scope) -> pd.DataFrame:
    """Replace defaults by values learned from won deals where there are enough; manual edits stay."""
    require_leader(scope)
    learned = learned_defaults(q.won_deal_sizes(con, scope=scope), min_won)
    manual = _manual(con)
    for r in learned.itertuples(index=False):
        if r.segment not in manual:
            q.upsert_setting(con, r.segment, float(r.adoption_share), float(r.price_per_user), True, scope=scope)
    return learned


def settings_table(con: Any) -> pd.DataFrame:
    """The settings in force: segment, adoption_share, price_per_user, learned, manual, accounts covered."""
    df = q.settings_table(con)
    df["manual"] = df["segment"].isin(_manual(con))
    return df


def update_setting(
    con: Any,
    segment: str,
    *,
    adoption_share: float | None = None,
    price_per_user: float | None = None,
    actor: str = "local",
    scope: Scope,
) -> None:
    """Set one segment's adoption share and/or price per user (a manual edit), and re-rank the scores."""
    require_leader(scope)

    segment = str(segment).strip()
    if segment != "*" and segment not in q.industries(con, scope=scope):
        raise BadInput(f"segment {segment!r} is not an industry in the store; use '*' or one of the industries")
    if adoption_share is not None and not 0 < adoption_share <= 1:
        raise BadInput(f"adoption share {adoption_share} must be in (0, 1]: the share of employees who use it")
    if price_per_user is not None and not 0 < price_per_user <= 1_000_000:
        raise BadInput(f"price per user {price_per_user} must be in (0, 1000000]")
    current = q.settings_table(con).set_index("segment")
    if segment in current.index:
        share = current.at[segment, "adoption_share"] if adoption_share is None else adoption_share
        price = current.at[segment, "price_per_user"] if price_per_user is None else price_per_user
    else:
        share = adoption_share if adoption_share is not None else DEFAULT_ADOPTION.get(segment, DEFAULT_SHARE)
        price = price_per_user if price_per_user is not None else default_price()
    q.upsert_setting(con, segment, float(share), float(price), False, scope=scope)
    _set_manual(con, _manual(con) | {segment})
    scores.refresh_values(con, scope=scope)
    scores.audit(
        con, actor, "potential_setting", {"segment": segment, "adoption_share": share, "price": price}, scope=scope
    )


def reset_setting(con: Any, segment: str, *, actor: str = "local", scope: Scope) -> None:
    """Forget a manual edit: the segment goes back to its learned (or planning) default."""
    require_leader(scope)

    manual = _manual(con)
    manual.discard(segment)
    _set_manual(con, manual)
    learned = learned_defaults(q.won_deal_sizes(con, scope=scope)).set_index("segment")
    if segment in learned.index:
        row = learned.loc[segment]
        q.upsert_setting(con, segment, float(row["adoption_share"]), float(row["price_per_user"]), True, scope=scope)
    elif segment == "*":
        q.upsert_setting(con, "*", DEFAULT_SHARE, default_price(), False, scope=scope)
    elif segment in DEFAULT_ADOPTION:
        q.upsert_setting(con, segment, DEFAULT_ADOPTION[segment], default_price(), False, scope=scope)
    else:
        q.delete_setting(con, segment, scope=scope)
    scores.refresh_values(con, scope=scope)
    scores.audit(con, actor, "potential_reset", {"segment": segment}, scope=scope)


@store.retry_conflicts
def save_settings(
    path: Path,
    changes: Iterable[tuple[str, float | None, float | None]],
    *,
    scope: Scope,
    actor: str,
) -> int:
    """Save edited (segment, adoption share, price per user) rows in one write; returns how many.

    Each row needs both values; one bad row refuses the whole save and leaves the store as it was.
    """
    require_leader(scope)
    rows: list[tuple[str, float, float]] = []
    for segment, share, price in changes:
        if share is None or price is None or pd.isna(share) or pd.isna(price):
            raise BadInput(f"segment {segment!r} needs both an adoption share and a price per user")
        rows.append((segment, float(share), float(price)))
    if not rows:
        return 0
    with store.write(path) as con:
        for segment, share, price in rows:
            update_setting(con, segment, adoption_share=share, price_per_user=price, actor=actor, scope=scope)
    return len(rows)
