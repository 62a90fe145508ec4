"""Data: where CRM exports come in, and the way back to the demo store."""

from __future__ import annotations

import streamlit as st

from ui import shell

shell.ensure_routed()

from planner import demo, settings  # noqa: E402
from planner.errors import PlannerError  # noqa: E402
from ui import data  # noqa: E402

st.title("Data")
st.write("Import CRM exports (Salesforce, HubSpot, Dynamics 365, Pipedrive, CSV or Excel) here.")

with st.expander("Back to the demo store", icon=":material/restart_alt:"):
    st.write("Replace everything in the store with a freshly built demo world.")
    if st.button("Rebuild the demo store", key="data_rebuild_demo", type="secondary"):
        bar = st.progress(0.0, text="Starting")
        try:
            demo.build_store(
                data.db_path(),
                int(settings.get("demo_accounts")),
                int(settings.get("demo_reps")),
                int(settings.get("demo_seed")),
                force=True,
                progress=lambda f, m: bar.progress(min(1.0, f), text=m),
            )
        except PlannerError as exc:
            data.show_error(exc)
        st.success("The demo store is back.")
