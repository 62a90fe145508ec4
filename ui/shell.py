"""Routing and the shared sidebar.

app.py runs `main()`, which builds the navigation. A page opened by a deep link on a freshly started server runs on
its own (Streamlit's legacy pages/ mode, app.py never ran): `ensure_routed()` then runs the app's
navigation itself, which renders the same page inside it, and stops the outer run.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import streamlit as st

from planner.errors import PlannerError
from ui import auth, data, sidebar, upload

_local = threading.local()
ADMIN_PATH = "admin"


def pages() -> list[Any]:
    """Every page of the dashboard, in menu order."""
    return [
        # The default page lives at /. Streamlit reserves the default page's own path without routing it, so a
        # typed or shared /overview (its inferred path), then /home (the path it was given instead), showed 'Page
        # not found': the default page's path is empty (it reserves nothing), and the same page file, hidden from
        # the menu, answers /overview and /home.
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True, url_path=""),
        st.Page("pages/overview.py", title="Overview", url_path="overview", visibility="hidden"),
        st.Page("pages/overview.py", title="Overview", url_path="home", visibility="hidden"),
        st.Page("pages/coverage.py", title="Coverage map", icon=":material/map:", url_path="coverage"),
        st.Page("pages/targets.py", title="Targets", icon=":material/target:", url_path="targets"),
        st.Page("pages/rebalance.py", title="Rebalance", icon=":material/balance:", url_path="rebalance"),
        st.Page("pages/plan.py", title="Territory plan", icon=":material/event_note:", url_path="plan"),
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
        st.Page("pages/model.py", title="Model", icon=":material/model_training:", url_path="model"),
        st.Page("pages/settings.py", title="Settings", icon=":material/tune:", url_path="settings"),
        admin_page(),
    ]


def admin_page(visibility: Any = "visible") -> Any:
    """The Admin page; hidden from the menu of everyone but admins, where its link then says 'Only admins...'
    (left out of their navigation, a shared /admin link showed Streamlit's 'Page not found')."""
    return st.Page("pages/admin.py", title="Admin", icon=":material/admin_panel_settings:", url_path=ADMIN_PATH,
                   visibility=visibility)  # fmt: skip


def main() -> None:
    """The whole app: what app.py runs."""
    run(pages())


def run(menu: Sequence[Any]) -> None:
    """Page config, navigation, shared set-up and sidebar, then the chosen page."""
    # An emoji favicon: a Material icon here makes the browser fetch it from fonts.gstatic.com (not offline).
    st.set_page_config(page_title="Territory Planner", page_icon="🗺️", layout="wide")
    # The server checks every upload (any page's uploader, any role, signed in or not) against its
    # server.maxUploadSize: PLANNER_MAX_UPLOAD_MB from a session's first run, not from an admin's first Data page.
    upload.apply_upload_limit()

    # Sign-in first: it stops the run with a configuration error, sign-in or no-access page when the caller
    # may not see data (routing the URL first with a hidden navigation, so no page list shows and the sign-in
    # button keeps its widget id). Only admins see the Admin page.
    scope = auth.sign_in(route=lambda: st.navigation(list(menu), position="hidden"))
    shown = [p if scope.is_admin or p.url_path != ADMIN_PATH else admin_page("hidden") for p in menu]
    nav = st.navigation(shown)
    auth.return_to_kept_view(nav, shown)  # a link opened before signing in
    try:
        data.ensure_store()
    except PlannerError as exc:
        data.show_error(exc)
    sidebar.render()
    _local.routed = True
    ran_to_end = False
    try:
        nav.run()
        ran_to_end = True
    finally:
        _local.routed = False
        sidebar.finish(ran_to_end=ran_to_end)


def ensure_routed() -> None:
    """Call first in every page: make sure the app's set-up and navigation ran."""
    if getattr(_local, "routed", False):
        return
    main()
    st.stop()
