"""Overview: the store's headline figures and how unbalanced today's territories are."""

from __future__ import annotations

from datetime import date

import streamlit as st

from ui import shell, tables

shell.ensure_routed()

from planner import export, plan, text
from planner.coverage import markets, report
from planner.coverage.imbalance import KINDS, reps_only
from planner.errors import PlannerError
from ui import charts, data, fmt, sidebar

# As the store decides it on import (planner.store.imports.accounts, customers_from_deals): the CRM's type, or a win.
CUSTOMERS_HELP = (
    "Accounts the CRM marks as customers (a type such as Customer, or a customer status), or that have a won deal."
)

st.title("Overview")
scope = sidebar.scope()
try:
    with data.snapshot() as snap:
        of_rep = data.cached(markets.store_markets, snap, scope=scope)  # once per store version, not per territory
        ov = data.cached(report.overview, snap, scope=scope, rep_id=sidebar.selected_rep(), of_rep=of_rep)
except PlannerError as exc:
    data.show_error(exc)

fresh = ov["freshness"]
if fresh["is_demo"]:
    st.info(
        "**This is demo data**: a synthetic US B2B world of accounts, deals and reps, built on first launch "
        "so that every page has something to show. Bring your own CRM exports (Salesforce, HubSpot, "
        "Dynamics 365, Pipedrive, any CSV or Excel) on the Data page.",
        icon=":material/science:",
    )
    st.page_link("pages/data.py", label="Upload your CRM exports", icon=":material/upload_file:")

sidebar.no_reps("Comparing territories")
if sidebar.no_accounts():  # a rep with nothing assigned: no row of zeros to read as a result
    sidebar.stop()
k = ov["kpis"]
if scope.is_rep:
    st.caption("Your territory's figures. How territories compare with each other is shown to sales leaders.")
elif sidebar.selected_rep():
    st.caption("Figures for the territory chosen in the sidebar; the comparison below shows every territory.")
fmt.currency_caveat()
cols = st.columns(3) + st.columns(3)
cols[0].metric("Accounts", f"{k['accounts']:,}", help="Accounts in the store (in your scope).")
cols[1].metric("Customers", f"{k['customers']:,}", help=CUSTOMERS_HELP)
cols[2].metric("Reps", f"{k['reps']:,}", help="Active reps.")
cols[3].metric("Open pipeline", fmt.money(k["open_pipeline"]), help=f"{k['open_deals']:,} open deals.")
# Data over a year old: the label names the window, so the rate does not read as this year's.
old = plan.data_is_stale(ov["as_of"], date.today())
cols[4].metric(
    f"Win rate, 12 months to {fmt.day(ov['as_of'])}" if old else "Win rate, 12 months",
    fmt.pct(k["win_rate_12m"], 1),
    help=f"{k['won_12m']:,} won of {k['closed_12m']:,} deals closed in the 12 months to {ov['as_of']}.",
)
cols[5].metric("Total potential", fmt.money(k["potential"]), help="Sum of price per user x estimated users.")

COLUMNS = {
    "territory": "Territory", "accounts": "Accounts", "customers": "Customers", "prospects": "Prospects",
    "potential": "Potential", "open_pipeline": "Open pipeline", "won_12m": "Won, 12 months", "quota": "Quota",
    "potential_per_quota": "Potential / quota",
}  # fmt: skip
table = ov["territories"].copy()
table["territory"] = table["name"].fillna("No active owner")
shown = table[list(COLUMNS)]

if not scope.is_rep:
    imb = ov["imbalance"]["potential"]
    by_market = ov["market_imbalance"]  # empty unless the optimizer balances this book within countries
    book = " (whole book)" if len(by_market) else ""
    st.subheader("How unbalanced are today's territories?")
    c = st.columns(4)
    c[0].metric(
        f"Potential max / mean{book}",
        fmt.ratio(imb["max_mean"]),
        help="1.00 is perfectly even; 1.05 is a common target.",
    )
    c[1].metric(f"Potential min / mean{book}", fmt.ratio(imb["min_mean"]))
    c[2].metric(
        f"Potential spread (CV){book}",
        fmt.ratio(imb["cv"]),
        help="Coefficient of variation: standard deviation / mean across territories.",
    )
    c[3].metric(f"Accounts max / mean{book}", fmt.ratio(ov["imbalance"]["accounts"]["max_mean"]))
    if len(by_market):
        shown_metrics = {"potential": "Potential max / mean", "accounts": "Accounts max / mean"}
        per = markets.market_table(by_market, shown_metrics)
        w = st.columns(4)
        for col, (key, label) in zip(w, shown_metrics.items(), strict=False):
            worst = markets.worst(by_market, key)
            col.metric(
                f"{label}, worst country", fmt.ratio(worst["max_mean"] if worst else None),
                help=f"{worst['name']}: its territories against its own country's mean." if worst else None,
            )  # fmt: skip
        st.caption(
            f"This book spans {len(per)} countries, and Rebalance balances each on its own (a rep's fair share is "
            "their country's total over its reps). Whole book: every territory against the mean of all, so a rep "
            "who holds a whole small country reads far from a country of many reps. Worst country: each territory "
            "against its own country's mean, as Rebalance measures it."
        )
        kinds = {"reps": "count", **{label: "ratio" for label in shown_metrics.values()}}
        st.dataframe(
            fmt.table(per, kinds),
            hide_index=True,
            key="ov_markets",
            column_config={"market": "Country", "reps": "Reps"},
            placeholder="–",
        )
    ranked = reps_only(table).sort_values("potential", ascending=False)
    if len(ranked):
        fig = charts.band_bars(
            ranked["territory"], ranked["potential"], tolerance=0.05,
            title="Total potential by territory" + (" (against the whole book's mean)" if book else ""),
            yaxis_title="Potential", kind="money",
        )  # fmt: skip
        st.plotly_chart(fig, width="stretch", key="ov_potential_chart")

st.dataframe(
    fmt.table(shown, KINDS), hide_index=True, width="stretch", key="ov_table", column_config=COLUMNS, placeholder="–"
)
# As the table names them, money to the cent with the store's currency in its header; built when clicked.
download = export.readable(shown, COLUMNS, currency=text.currency_in_use(), digits={"potential_per_quota": 2},
                           money=("potential", "open_pipeline", "won_12m", "quota"))  # fmt: skip
tables.download_button(
    st,
    "Download territories (CSV)",
    lambda: export.to_csv_bytes(download),
    file_name="territories.csv",
    mime="text/csv",
    key="ov_download",
    on_click="ignore",
)
when = str(fresh["data_updated_at"] or "never").replace("T", " ")
details = "" if scope.is_rep else (
    f" · last import {fmt.day(fresh['last_import']) if fresh['last_import'] else 'none'}"
    + (f" · newest deal created {fmt.day(fresh['newest_deal'])}" if fresh["newest_deal"]
       else f" · {fresh['deals']:,} deals, none with a created date" if fresh["deals"] else " · no deals")
)  # fmt: skip
st.caption(f"Data as of {fmt.day(fresh['as_of'])} · last change {when} UTC{details}")
