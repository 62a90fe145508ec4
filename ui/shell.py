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
ADMIN_PATH = "admin"


def run(pages: Sequence[Any]) -> None:
    """Page config, navigation, shared set-up and sidebar, then the chosen page."""
    # An emoji favicon: a Material icon here makes the browser fetch it from fonts.gstatic.com (not offline).
    st.set_page_config(page_title="Territory Planner", page_icon="🗺️", layout="wide")
    from ui import auth, data, sidebar

    # Sign-in first: it stops the run with a configuration error, sign-in or no-access page when the caller
    # may not see data (routing the URL first with a hidden navigation, so no page list shows and the sign-in
    # button keeps its widget id). Only admins see the Admin page.
    scope = auth.sign_in(route=lambda: st.navigation(list(pages), position="hidden"))
    nav = st.navigation([p for p in pages if scope.role == "admin" or p.url_path != ADMIN_PATH])
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
