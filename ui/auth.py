"""Sign-in: who is using the dashboard, as a planner Scope in st.session_state["_scope"].

With an `[auth]` section in `.streamlit/secrets.toml`, visitors sign in through OIDC (`st.login`);
their email maps to a role through planner.roles (bootstrap admins from `[planner] admins`, then the
roles table, then reps' CRM emails). Unknown emails see an "ask an admin" page and no data. Without
`[auth]` the app runs in local single-user mode: the one user is an admin, and the sidebar says so.

Secret values are never shown or logged: only which sections and keys are present.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAuthError, StreamlitSecretNotFoundError

from planner import roles
from planner.errors import PlannerError
from planner.scope import Scope
from ui import data

SCOPE_KEY = "_scope"
MODE_KEY = "_auth_mode"
LOCAL = Scope(role="admin", user="local")
ROLE_TEXT = {
    "admin": "Admin: imports, commits scenarios, manages roles",
    "leader": "Leader: sees every territory, makes scenarios",
    "rep": "Rep: sees their own territory",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$])")


def md_text(value: object, limit: int = 80) -> str:
    """Untrusted text made safe to embed in Streamlit markdown: shown literally, never as markup."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", text)


def _section(name: str) -> Mapping[str, Any]:
    try:
        if name in st.secrets:
            value = st.secrets[name]
            return value if isinstance(value, Mapping) else {}
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        pass
    return {}


def auth_configured() -> bool:
    """True when secrets configure OIDC sign-in (an `[auth]` section)."""
    return bool(_section("auth"))


def bootstrap_admins() -> tuple[str, ...]:
    """Emails that are always admins, from `[planner] admins = [...]` in secrets."""
    admins = _section("planner").get("admins", [])
    if isinstance(admins, str):
        admins = [admins]
    return tuple(sorted({str(a).strip().lower() for a in admins if str(a).strip()}))


def providers() -> list[str]:
    """Named OIDC providers (`[auth.google]`...), or ["default"] when `[auth]` holds one directly."""
    section = _section("auth")
    named = [k for k, v in section.items() if isinstance(v, Mapping) and "client_id" in v]
    return named if named or "client_id" not in section else ["default"]


def current() -> Scope:
    """The scope of this session: what sign_in() established in this run.

    With sign-in configured and no scope established, nothing is readable: the run stops.
    """
    scope = st.session_state.get(SCOPE_KEY)
    if isinstance(scope, Scope):
        return scope
    if auth_configured():
        st.error("Sign in to see this page.", icon=":material/lock:")
        st.stop()
    return LOCAL


def mode() -> str:
    return str(st.session_state.get(MODE_KEY, "local"))


def _user() -> dict[str, Any]:
    try:
        return dict(st.user.to_dict())
    except Exception:  # no script context (bare mode): nobody is signed in
        return {}


def sign_in(before_stop: Callable[[], object] = lambda: None) -> Scope:
    """Run first in every render: establish the caller's Scope, or show sign-in / no-access and stop
    (calling `before_stop` first: the app routes the URL even when it shows only the sign-in)."""

    def halt() -> None:
        before_stop()
        st.stop()

    if not auth_configured():
        st.session_state[MODE_KEY] = "local"
        st.session_state[SCOPE_KEY] = LOCAL
        return LOCAL
    st.session_state[MODE_KEY] = "oidc"
    st.session_state.pop(SCOPE_KEY, None)  # nothing is readable until this run proves who is asking
    user = _user()
    if not user.get("is_logged_in"):
        _login_page()
        halt()
    email = str(user.get("email") or "").strip().lower()
    if not email or user.get("email_verified") is False:
        _no_access(email or "(no email)", "Your identity provider did not confirm an email address for you.")
        halt()
    admins = bootstrap_admins()
    scope: Scope | None
    try:
        data.ensure_store()
        with data.snapshot() as snap:
            scope = data.cached(roles.resolve, snap, email, admins)
    except PlannerError as exc:
        if email not in admins:
            before_stop()
            data.show_error(exc)  # stops the run
        scope = Scope(role="admin", user=email)  # a bootstrap admin must be able to repair a broken store
    if scope is None:
        _no_access(email, "No role is set up for this address yet.")
        halt()
    st.session_state[SCOPE_KEY] = scope
    return scope


def _login_page() -> None:
    st.title("Territory Planner")
    st.write("Sign in to see territories, targets and plans. Your role decides what you can see.")
    for name in providers():
        label = "Sign in" if name == "default" else f"Sign in with {name.capitalize()}"
        if st.button(label, key=f"auth_login_{name}", type="primary", icon=":material/login:"):
            try:
                st.login(None if name == "default" else name)
            except StreamlitAuthError as exc:
                st.error(f"Sign-in is not set up correctly: {exc} See docs/DEPLOY.md.", icon=":material/error:")


def _no_access(email: str, why: str) -> None:
    st.title("Ask an admin for access")
    st.warning(
        f"You are signed in as **{md_text(email)}**. {why} "
        "Ask an admin of Territory Planner to give this address a role (Admin page, or "
        "`python -m planner roles set EMAIL ROLE`). Reps whose CRM email matches get access automatically.",
        icon=":material/lock:",
    )
    sign_out_button(st, key="auth_noaccess_logout")


def sign_out_button(container: Any, key: str) -> None:
    if container.button("Sign out", key=key, icon=":material/logout:"):
        st.session_state.pop(SCOPE_KEY, None)
        st.logout()


def render_account(container: Any) -> None:
    """Who is signed in and as what, with sign-out; or that this is local single-user mode."""
    scope = current()
    if mode() == "local":
        container.caption(
            ":gray-badge[Local mode] single user with full (admin) access; no sign-in is configured. "
            "Add an `[auth]` section to secrets.toml to require sign-in (docs/DEPLOY.md)."
        )
        return
    rep = f" · territory {md_text(scope.rep_id)}" if scope.rep_id else ""
    container.caption(f"Signed in as **{md_text(scope.user)}**  \n{ROLE_TEXT[scope.role]}{rep}")
    sign_out_button(container, key="sb_logout")
