"""Overview: the store's headline figures and how unbalanced today's territories are."""

from __future__ import annotations

import streamlit as st

from ui import shell

shell.ensure_routed()

from planner import export
from planner.coverage import report
from planner.coverage.imbalance import reps_only
from planner.errors import PlannerError
from ui import charts, data, fmt, sidebar

st.title("Overview")
try:
    with data.snapshot() as snap:
        ov = data.cached(report.overview, snap, scope=sidebar.scope(), rep_id=sidebar.selected_rep())
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

k = ov["kpis"]
if sidebar.selected_rep():
    st.caption("Figures for the territory chosen in the sidebar; the balance section compares all territories.")
cols = st.columns(3) + st.columns(3)
cols[0].metric("Accounts", f"{k['accounts']:,}", help="Accounts in the store (in your scope).")
cols[1].metric("Customers", f"{k['customers']:,}", help="Accounts whose CRM type is Customer.")
cols[2].metric("Reps", f"{k['reps']:,}", help="Active reps.")
cols[3].metric("Open pipeline", fmt.money(k["open_pipeline"]), help=f"{k['open_deals']:,} open deals.")
cols[4].metric(
    "Win rate, 12 months",
    fmt.pct(k["win_rate_12m"], 1),
    help=f"{k['won_12m']:,} won of {k['closed_12m']:,} deals closed in the 12 months to {ov['as_of']}.",
)
cols[5].metric("Total potential", fmt.money(k["potential"]), help="Sum of price per user x estimated users.")

imb = ov["imbalance"]["potential"]
st.subheader("How unbalanced are today's territories?")
c = st.columns(4)
c[0].metric("Potential max / mean", fmt.ratio(imb["max_mean"]), help="1.00 is perfectly even; 1.05 is a common target.")
c[1].metric("Potential min / mean", fmt.ratio(imb["min_mean"]))
c[2].metric("Coefficient of variation", fmt.ratio(imb["cv"]), help="Standard deviation / mean across territories.")
c[3].metric("Accounts max / mean", fmt.ratio(ov["imbalance"]["accounts"]["max_mean"]))

table = ov["territories"].copy()
table["territory"] = table["name"].fillna("Unassigned")
ranked = reps_only(table).sort_values("potential", ascending=False)
if len(ranked):
    fig = charts.band_bars(
        ranked["territory"],
        ranked["potential"],
        tolerance=0.05,
        title="Total potential by territory",
        yaxis_title="Potential (USD)",
        hover="%{x}<br>Potential $%{y:,.0f}<extra></extra>",
    )
    st.plotly_chart(fig, width="stretch", key="ov_potential_chart")

shown = table[
    ["territory", "accounts", "customers", "prospects", "potential", "open_pipeline", "won_12m", "quota",
     "potential_per_quota"]
]  # fmt: skip
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    key="ov_table",
    column_config={
        "territory": "Territory",
        "accounts": st.column_config.NumberColumn("Accounts", format="%d"),
        "customers": st.column_config.NumberColumn("Customers", format="%d"),
        "prospects": st.column_config.NumberColumn("Prospects", format="%d"),
        "potential": st.column_config.NumberColumn("Potential", format="dollar"),
        "open_pipeline": st.column_config.NumberColumn("Open pipeline", format="dollar"),
        "won_12m": st.column_config.NumberColumn("Won, 12 months", format="dollar"),
        "quota": st.column_config.NumberColumn("Quota", format="dollar"),
        "potential_per_quota": st.column_config.NumberColumn("Potential / quota", format="%.1f"),
    },
)
st.download_button(
    "Download territories (CSV)",
    export.to_csv_bytes(shown),
    file_name="territories.csv",
    mime="text/csv",
    key="ov_download",
)
st.caption(
    f"Data as of {fresh['as_of']} · last change {str(fresh['data_updated_at']).replace('T', ' ')} UTC · "
    f"last import {fresh['last_import'] or 'none'} · newest deal created {fresh['newest_deal'] or 'n/a'}"
)
