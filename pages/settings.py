"""Settings: the workload assumptions every page and command shares (admins change them)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import shell, tables

shell.ensure_routed()

from planner import export, text
from planner.coverage import workload
from planner.errors import BadInput, PlannerError
from planner.ingest import currency
from ui import data, sidebar
from ui.auth import md_text

COMMON_CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "CHF", "JPY", "SEK", "NOK", "DKK", "PLN", "INR", "BRL", "MXN",
                     "SGD", "NZD", "ZAR")  # fmt: skip

st.title("Settings")
scope = sidebar.scope()
try:
    with data.snapshot() as snap:
        rows = data.cached(workload.workload_sources, snap)
        current = data.cached(workload.load_workload, snap)
        money_in = data.cached(currency.store_currency, snap)
except PlannerError as exc:
    data.show_error(exc)

st.subheader("Workload, reach and capacity")
if message := st.session_state.pop("set_message", None):
    st.success(message, icon=":material/check:")
st.caption(
    "One set of assumptions for the whole product: the Coverage map, Rebalance (the optimizer's workload metric, "
    "capacity and reach) and `planner metrics` / `planner balance` read these values; the rep's plan reads the "
    "capacity (its weekly hours), while the hours of each step of its sequence are the plan's own rules (Territory "
    "plan, Rules). Values saved here are kept in the store; the others come from the deployment (PLANNER_* "
    "variables) or the defaults."
)
st.markdown(md_text(current.describe(), 600))
table = pd.DataFrame(rows)[["label", "value", "source", "help"]]
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    key="set_table",
    column_config={
        "label": st.column_config.TextColumn("Assumption", width="medium"),
        "value": st.column_config.NumberColumn("Value", format="%,.2f"),
        "source": st.column_config.TextColumn("Comes from", width="medium"),
        "help": st.column_config.TextColumn("Meaning", width="large"),
    },
    placeholder="–",
)
tables.download_button(
    st,
    "Download the assumptions (CSV)",
    lambda: export.to_csv_bytes(
        table.rename(columns={"label": "Assumption", "value": "Value", "source": "Comes from", "help": "Meaning"})
    ),
    file_name="workload_assumptions.csv",
    mime="text/csv",
    key="set_download",
    on_click="ignore",
)


def _currency_section() -> None:
    """What currency money is shown in; admins change it."""
    st.subheader("Currency")
    mixed = money_in == text.MIXED
    st.caption(
        (f"Money is shown with no currency sign: {text.mixed_caveat()}." if mixed else
         f"Money is shown in **{money_in}** on every page, plan and export.")
        + " The first import whose amounts name a currency (EUR 1.200,00, £900, or a Currency column) sets it; "
        "amounts are never converted."
    )  # fmt: skip
    if not scope.is_admin:
        return
    with st.form("set_currency_form", border=True):
        codes = sorted({*([] if mixed else [money_in]), *COMMON_CURRENCIES})
        chosen = st.selectbox("Currency of the store's amounts", codes, index=None if mixed else codes.index(money_in),
                              key="set_currency", placeholder="several: choose one")  # fmt: skip
        if st.form_submit_button("Save currency", key="set_currency_save"):
            if chosen is None:
                data.show_error(BadInput("no currency chosen; choose the one the store's amounts are in, then save"))
            try:
                code = currency.set_currency(data.db_path(), chosen, scope=scope)
            except PlannerError as exc:
                data.show_error(exc)
            st.session_state["set_message"] = f"Money is now shown in {code}; amounts are not converted."
            st.rerun()


if not scope.is_admin:
    st.info("Only an admin can change these assumptions.", icon=":material/lock:")
    _currency_section()
    sidebar.stop()


def _fresh_form() -> None:
    """Show the store's values on the next run (the form's values and what it was opened with are dropped)."""
    for name in [*workload.ASSUMPTIONS, "seen"]:
        st.session_state.pop(f"set_{name}", None)


# What each box showed when it was first drawn: only the boxes the admin changed are saved, and a value another
# admin (or the CLI) changed meanwhile is refused, so a save never puts back values the admin did not touch.
seen: dict[str, float] = st.session_state.setdefault("set_seen", {})
with st.form("set_form", border=True):
    cols = st.columns(3)
    values: dict[str, float] = {}
    for i, (name, spec) in enumerate(workload.ASSUMPTIONS.items()):
        if f"set_{name}" not in st.session_state or name not in seen:
            seen[name] = float(getattr(current, name))
        values[name] = cols[i % 3].number_input(
            spec.label,
            min_value=float(spec.low),
            max_value=float(spec.high),
            value=seen[name],
            step=float(spec.step),
            help=spec.help,
            key=f"set_{name}",
        )
    saved = st.form_submit_button("Save for everyone", type="primary", key="set_save")
if saved:
    edited = {name: value for name, value in values.items() if value != seen[name]}
    try:
        result = workload.save_workload(
            data.db_path(), scope=scope, values=edited, actor=scope.user, seen={n: seen[n] for n in edited}
        )
    except PlannerError as exc:
        data.show_error(exc)
    changed = result["changed"]
    labels = ", ".join(workload.ASSUMPTIONS[c].label.lower() for c in changed)
    st.session_state["set_message"] = f"Saved: {labels}." if changed else "Nothing changed."
    _fresh_form()
    st.rerun()
stored = workload.saved_names(rows)
if stored and st.button("Forget the saved values (back to the deployment's)", key="set_reset"):
    try:
        workload.save_workload(data.db_path(), scope=scope, values=dict.fromkeys(stored), actor=scope.user)
    except PlannerError as exc:
        data.show_error(exc)
    st.session_state["set_message"] = "Back to the deployment's values."
    _fresh_form()
    st.rerun()

_currency_section()
