"""Territory Planner dashboard: routing only. Run with `streamlit run app.py`."""

from __future__ import annotations

import streamlit as st

from ui import shell


def pages() -> list[st.Page]:
    return [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/coverage.py", title="Coverage map", icon=":material/map:", url_path="coverage"),
        st.Page("pages/targets.py", title="Targets", icon=":material/target:", url_path="targets"),
        st.Page("pages/rebalance.py", title="Rebalance", icon=":material/balance:", url_path="rebalance"),
        st.Page("pages/plan.py", title="Territory plan", icon=":material/event_note:", url_path="plan"),
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
        st.Page("pages/model.py", title="Model", icon=":material/model_training:", url_path="model"),
        st.Page("pages/settings.py", title="Settings", icon=":material/tune:", url_path="settings"),
        st.Page("pages/admin.py", title="Admin", icon=":material/admin_panel_settings:", url_path="admin"),
    ]


def main() -> None:
    shell.run(pages())


if __name__ == "__main__":
    main()
