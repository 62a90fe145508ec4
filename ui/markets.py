"""The Rebalance page's markets: the 'Keep accounts within their country' control and the per-market table."""

from __future__ import annotations

from typing import Any

import streamlit as st

from planner import optimize
from ui import fmt, state

KEY = "rb_within"
PARAM = "within"  # ?within=none in the link when unticked (the default, ticked, is left out)
HELP = (
    "Ticked (the default): an account goes only to a rep whose home is in the account's country, and each country's "
    "market is balanced on its own: a rep's fair share is their market's total over its reps. Accounts with no known "
    "country, or in a country where no rep lives, stay in their owner's market (unowned ones: their nearest rep's); "
    "accounts that must stay with their owner stay. A book whose accounts and reps lie in one country is one market "
    "either way. Unticked: any rep may take any account, across borders (as `balance --within none`)."
)


def within_control(container: Any = st) -> str:
    """The checkbox, ticked unless the link says ?within=none; returns the Options.within it asks for."""
    if KEY not in st.session_state:
        wanted = st.query_params.get(PARAM)
        if wanted not in (None, "", *optimize.WITHIN):
            state.ignore(PARAM, wanted, "use " + " or ".join(optimize.WITHIN))
        st.session_state[KEY] = wanted != "none"
    ticked = bool(container.checkbox("Keep accounts within their country", key=KEY, help=HELP))
    state.set_param(PARAM, None if ticked else "none")
    return "country" if ticked else "none"


def headline(summary: dict[str, Any]) -> tuple[str, float, float]:
    """The 'Max / mean' headline's label, value and today's value: with several metrics the worst one after and
    that same metric today (the worst today may be another metric), named in the label."""
    bands = summary.get("metrics") or []
    if len(bands) <= 1:
        return "Max / mean", float(summary["max_mean_after"]), float(summary["max_mean_before"])
    worst = max(bands, key=lambda b: float(b["max_mean_after"]))
    return f"Max / mean ({worst['metric']})", float(worst["max_mean_after"]), float(worst["max_mean_before"])


def travel_bound_help(summary: dict[str, Any], unit: str) -> str:
    """What the travel bound is (as `balance` says it): the LP's at this result's balance and moved share, the one
    with any share moved where the solver computed it, and the nearest-rep assignment's travel."""
    free = summary.get("travel_km_best_in_band")
    any_share = f"; moving any share {free:,.0f} {unit}" if free is not None and free == free else ""
    return (
        f"LP bound for the same balance at this moved share ({summary['moved_share']:.1%}){any_share}; "
        f"nearest-rep assignment {summary['travel_km_nearest']:,.0f} {unit}."
    )


def market_table(summary: dict[str, Any], unit: str) -> None:
    """One row per market when the book was balanced within countries: its reps and accounts, each metric's max/mean
    today and after against its band, mean travel and moves. Nothing for a book of one market."""
    rows = summary.get("markets") or []
    if not rows:
        return
    st.caption(
        f"Balanced within each country: {len(rows)} markets, each rep against their market's fair share "
        "(untick 'Keep accounts within their country' to balance across borders)."
    )
    table = []
    for mk in rows:
        row: dict[str, Any] = {"Market": mk["name"], "Reps": mk["reps"], "Accounts": mk["accounts"]}
        for b in mk.get("metrics") or []:
            row[f"{b['metric']}: max / mean today"] = fmt.ratio(b["max_mean_before"])
            row[f"{b['metric']}: max / mean"] = fmt.ratio(b["max_mean_after"])
        met = mk.get("tolerance_met")
        row["Within band"] = "–" if met is None else ("yes" if met else "no")
        row[f"Mean travel today ({unit})"] = fmt.count(mk.get("travel_km_today"))
        row[f"Mean travel ({unit})"] = fmt.count(mk.get("travel_km_after"))
        row["Moved"] = mk.get("moved_accounts", 0)
        table.append(row)
    st.dataframe(table, hide_index=True, key="rb_markets_table", placeholder="–")
