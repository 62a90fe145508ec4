"""Routing and the shared sidebar.

app.py builds the navigation. A page opened by a deep link on a freshly started server runs on
its own (Streamlit's legacy pages/ mode, app.py never ran): `ensure_routed()` then runs the app's
navigation itself, which renders the same page inside it, and stops the outer run.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import streamlit as st

from planner.errors import PlannerError

_local = threading.local()


def run(pages: Sequence[Any]) -> None:
    """Page config, navigation, shared set-up and sidebar, then the chosen page."""
    st.set_page_config(page_title="Territory Planner", page_icon=":material/map:", layout="wide")
    nav = st.navigation(list(pages))
    from ui import auth, data, sidebar

    auth.sign_in()  # stops the run here with a sign-in or no-access page when the caller may not see data
    try:
        data.ensure_store()
    except PlannerError as exc:
        data.show_error(exc)
    sidebar.render()
    _local.routed = True
    try:
        nav.run()
    finally:
        _local.routed = False
        sidebar.finish()


def ensure_routed() -> None:
    """Call first in every page: make sure the app's set-up and navigation ran."""
    if getattr(_local, "routed", False):
        return
    import app

    app.main()
    st.stop()
