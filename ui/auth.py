"""Sign-in: who is using the dashboard, as a planner Scope in st.session_state["_scope"].

Fails closed. Every run first decides the sign-in mode from the secrets and the server's bind address:
- "oidc": `[auth]` in `.streamlit/secrets.toml` is complete and sound; visitors sign in through
  `st.login`, and their verified email maps to a role through planner.roles (bootstrap admins from
  `[planner] admins`, then the roles table, then reps' CRM emails). Unknown emails get no data.
- "local": no `[auth]`, the server listens on loopback only, and open local mode was asked for
  explicitly (PLANNER_OPEN_LOCAL=1, which scripts/run sets, or `[planner] local_mode = true`): one
  local admin, and the sidebar says so.
- "error": anything else (an unreadable secrets file, an incomplete `[auth]`, a weak or example
  `cookie_secret`, no sign-in on a server reachable from other machines, no explicit local mode).
  A configuration error page names the problem and the fix; no data is read or shown.

Secret values are never shown or logged: only which sections and keys are present or wrong.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import streamlit as st
from streamlit import config
from streamlit.errors import StreamlitAuthError, StreamlitSecretNotFoundError

from planner import roles, settings, store
from planner.errors import BadInput, PlannerError, redact
from planner.scope import Scope
from planner.store.memo import Kept
from ui import data

SCOPE_KEY = "_scope"
MODE_KEY = "_auth_mode"
LOCAL = Scope(role="admin", user="local")
ROLE_TEXT = {
    "admin": "Admin: imports, commits scenarios, manages roles",
    "leader": "Leader: sees every territory, makes scenarios",
    "rep": "Rep: sees their own territory",
}
MIN_COOKIE_SECRET = 32
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
EXAMPLE_SECRETS = Path(__file__).resolve().parents[1] / ".streamlit" / "secrets.toml.example"
_EXAMPLE_COOKIE_SECRET = "replace-with-a-long-random-string"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$])")

_log = logging.getLogger("planner.auth")


def md_text(value: object, limit: int = 80) -> str:
    """Untrusted text made safe to embed in Streamlit markdown: shown literally, never as markup."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", text)


# ---------------------------------------------------------------------------------------------
# Deciding the mode (pure functions of the secrets, the settings and the bind address)


@dataclass(frozen=True)
class AuthConfig:
    """The sign-in mode this server runs in, and why it refuses to run when mode is "error"."""

    mode: str  # "oidc", "local" or "error"
    problems: tuple[str, ...] = ()


@functools.cache
def example_cookie_secrets() -> frozenset[str]:
    """Cookie secrets that are public: the one in secrets.toml.example (and its historic value)."""
    known = {_EXAMPLE_COOKIE_SECRET}
    try:
        example = tomllib.loads(EXAMPLE_SECRETS.read_text(encoding="utf-8"))
        value = example.get("auth", {}).get("cookie_secret")
        if isinstance(value, str):
            known.add(value)
    except (OSError, tomllib.TOMLDecodeError):
        pass
    return frozenset(known)


def is_loopback(address: str | None) -> bool:
    """True when a server bound to `address` is reachable from this machine only.

    No address (Streamlit's default) means every interface, so it is not loopback."""
    text = str(address or "").strip().strip("[]")
    if not text:
        return False
    if text.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _provider_problems(name: str, section: Mapping[str, Any]) -> list[str]:
    where = "[auth]" if name == "default" else f"[auth.{name}]"
    problems = [f"{where} has no {key}" for key in PROVIDER_KEYS if not _is_text(section.get(key))]
    url = section.get("server_metadata_url")
    if _is_text(url):
        parts = urlsplit(str(url))
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
            problems.append(f"{where} server_metadata_url must be an https:// address")
    if "_" in name:
        problems.append(f"[auth.{name}]: provider names cannot hold an underscore")
    return problems


def auth_problems(auth: Mapping[str, Any]) -> list[str]:
    """Why an `[auth]` section cannot be used safely ([] when it can). Names keys, never values."""
    problems: list[str] = []
    redirect = auth.get("redirect_uri")
    if not _is_text(redirect):
        problems.append("[auth] has no redirect_uri")
    elif not str(redirect).rstrip().endswith("/oauth2callback"):
        problems.append("[auth] redirect_uri must end with /oauth2callback")
    secret = auth.get("cookie_secret")
    if not _is_text(secret):
        problems.append("[auth] has no cookie_secret")
    elif str(secret) in example_cookie_secrets():
        problems.append("[auth] cookie_secret is the public example value: anyone could forge a sign-in cookie")
    elif len(str(secret)) < MIN_COOKIE_SECRET:
        problems.append(f"[auth] cookie_secret is shorter than {MIN_COOKIE_SECRET} characters")
    named = {k: v for k, v in auth.items() if isinstance(v, Mapping)}
    if any(k in auth for k in PROVIDER_KEYS):
        problems += _provider_problems("default", auth)
    elif not named:
        problems.append("[auth] names no identity provider (client_id, client_secret, server_metadata_url)")
    for name, section in named.items():
        problems += _provider_problems(name, section)
    return problems


def decide(
    secrets: Mapping[str, Any], secrets_error: str | None, *, open_local: bool, address: str | None
) -> AuthConfig:
    """The sign-in mode for these secrets, the explicit local-mode setting and the bind address."""
    if secrets_error:
        return AuthConfig("error", (secrets_error,))
    auth = secrets.get("auth")
    if auth is not None:
        if not isinstance(auth, Mapping) or not auth:
            return AuthConfig("error", ("[auth] in secrets.toml is not a table of sign-in settings",))
        problems = auth_problems(auth)
        return AuthConfig("error", tuple(problems)) if problems else AuthConfig("oidc")
    planner_section = secrets.get("planner")
    asked = open_local or (isinstance(planner_section, Mapping) and planner_section.get("local_mode") is True)
    if not is_loopback(address):
        where = str(address or "").strip() or "every network interface"
        return AuthConfig(
            "error",
            (f"the server listens on {where}, beyond this computer, and no sign-in ([auth]) is configured",),
        )
    if not asked:
        return AuthConfig(
            "error",
            ("no sign-in ([auth]) is configured and open local mode was not asked for (PLANNER_OPEN_LOCAL=1)",),
        )
    return AuthConfig("local")


# ---------------------------------------------------------------------------------------------
# Reading the secrets and settings


def _secrets_error(exc: Exception) -> str | None:
    """A secrets file exists but cannot be read: say which and where, without its content."""
    present = [str(p) for p in config.get_option("secrets.files") or [] if os.path.exists(p)]
    if not present:
        return None  # no secrets file at all: not an error by itself
    reason = str(exc)
    where = re.search(r"\(at line \d+, column \d+\)|at line \d+", reason)
    detail = f"TOML syntax error {where.group(0)}" if where else type(exc).__name__
    return f"the secrets file {', '.join(present)} cannot be read ({detail}); fix it or remove it"


def load_secrets() -> tuple[dict[str, Any], str | None]:
    """The secrets as a dict, and a one-line reason when a secrets file exists but cannot be read."""
    try:
        return dict(st.secrets.to_dict()), None
    except StreamlitSecretNotFoundError as exc:
        return {}, _secrets_error(exc)
    except (OSError, ValueError, TypeError) as exc:
        return {}, f"the secrets cannot be read ({type(exc).__name__}); fix .streamlit/secrets.toml"


def auth_config() -> AuthConfig:
    """Decide this run's sign-in mode (cheap; secrets may change while the server runs)."""
    secrets, error = load_secrets()
    try:
        open_local = bool(settings.get("open_local"))
    except BadInput as exc:
        return AuthConfig("error", (str(exc),))
    return decide(secrets, error, open_local=open_local, address=config.get_option("server.address"))


def _section(name: str) -> Mapping[str, Any]:
    value = load_secrets()[0].get(name)
    return value if isinstance(value, Mapping) else {}


def auth_configured() -> bool:
    """True when secrets configure OIDC sign-in (an `[auth]` section)."""
    return bool(_section("auth"))


def bootstrap_admins() -> tuple[str, ...]:
    """Emails that are always admins, from `[planner] admins = [...]` in secrets (valid addresses only)."""
    admins = _section("planner").get("admins", [])
    if isinstance(admins, str):
        admins = [admins]
    found = set()
    for value in admins if isinstance(admins, list | tuple) else []:
        try:
            found.add(roles.normalize_email(str(value)))
        except BadInput:
            continue
    return tuple(sorted(found))


def providers() -> list[str]:
    """Named OIDC providers (`[auth.google]`...), or ["default"] when `[auth]` holds one directly."""
    section = _section("auth")
    named = [k for k, v in section.items() if isinstance(v, Mapping) and "client_id" in v]
    return named if named or "client_id" not in section else ["default"]


# ---------------------------------------------------------------------------------------------
# Each run


def current() -> Scope:
    """The scope of this session: what sign_in() established in this run.

    When no scope is established, nothing is readable unless this server runs in open local mode.
    """
    scope = st.session_state.get(SCOPE_KEY)
    if isinstance(scope, Scope):
        return scope
    if auth_config().mode != "local":
        st.error("Sign in to see this page.", icon="🔒")
        st.stop()
    return LOCAL


def mode() -> str:
    return str(st.session_state.get(MODE_KEY, "error"))


def _user() -> dict[str, Any]:
    try:
        return dict(st.user.to_dict())
    except Exception:  # no script context (bare mode): nobody is signed in
        return {}


def sign_in(route: Callable[[], object] = lambda: None) -> Scope:
    """Run first in every render: establish the caller's Scope, or show a configuration error, the
    sign-in or the no-access page and stop.

    `route` runs before anything is drawn when the run stops here: the app routes the URL with a hidden
    navigation, and a widget drawn after routing keeps its id on the next run (the first click counts).
    """
    before = st.session_state.pop(SCOPE_KEY, None)  # nothing is readable until this run proves who is asking
    cfg = auth_config()
    st.session_state[MODE_KEY] = cfg.mode
    if cfg.mode == "error":
        route()
        _config_error_page(cfg.problems)
        st.stop()
    if cfg.mode == "local":
        st.session_state[SCOPE_KEY] = LOCAL
        return LOCAL
    user = _user()
    if not user.get("is_logged_in"):
        here = route()
        _login_page()
        _keep_view(here)
        st.stop()
    try:
        email = roles.normalize_email(str(user.get("email") or ""))
    except BadInput:
        _stop_no_access(route, str(user.get("email") or "(no email)"), "Your identity provider sent no valid email.")
    if user.get("email_verified") is not True:  # only a real boolean true: "false", "true", missing all fail
        _stop_no_access(route, email, "Your identity provider did not confirm that this email address is yours.")
    if any(st.session_state.get(key) is True for key in SIGN_OUT_KEYS):
        _sign_out_now(route, email, before)
    admins = bootstrap_admins()
    scope: Scope | None
    ended = False
    try:
        data.ensure_store()
        with data.snapshot() as snap:
            ended = roles.signed_out(data.cached(roles.last_sign_out, snap, email), user.get("iat"))
            scope = None if ended else data.cached(roles.resolve, snap, email, admins)
    except PlannerError as exc:
        if email not in admins:  # before any role is known: the store's details (catalog host, user) for admins only
            _log.warning("the store could not be read for %s: %s", email, data.error_text(exc))
            route()
            hidden = "the store cannot be read right now; tell your admin (the details are in the app's log)"
            data.show_error(type(exc)(hidden))  # stops the run (a store that does not answer: retried)
        scope = Scope(role="admin", user=email)  # a bootstrap admin must be able to repair a broken store
    if ended:  # a cookie from before this user's sign-out (a copy, another tab): it signs nobody in
        st.logout()
        route()
        _login_page()
        st.stop()
    if scope is None:
        _stop_no_access(route, email, "No role is set up for this address yet.")
    st.session_state[SCOPE_KEY] = scope
    return scope


SIGN_OUT_KEYS = ("sb_logout", "auth_noaccess_logout")  # the Sign out buttons (sign_out_button's keys)
SIGN_OUT_COOKIE = "planner_signout"
UNRECORDED = (
    "You are signed out in this browser, but the store could not record the sign-out: a copy of this sign-in "
    "(another tab or computer, a copied cookie) still works until it expires. Sign out there too, or sign in and "
    "out again here once the store is back."
)


def _sign_out_now(route: Callable[[], object], email: str, before: object) -> NoReturn:
    """A Sign out click, honoured before the store is read (a store that does not answer must not keep the run in
    its retry loop with the user signed in): recorded in the store when it can be, so that every copy of the
    cookie stops working; the browser's cookie is deleted either way, and a sign-out not recorded says so."""
    recorded = True
    if isinstance(before, Scope) and before.user == email:  # the scope the clicked page was drawn with
        try:
            roles.sign_out(data.db_path(), email, scope=before)
        except PlannerError as exc:
            _log.warning("the sign-out of %s could not be recorded: %s", email, data.error_text(exc))
            recorded = False
    route()
    if not recorded:
        st.warning(UNRECORDED, icon="⚠️")
        _cookie_script("unrecorded", KEPT_VIEW_SECONDS, name=SIGN_OUT_COOKIE)  # for the sign-in page after logout
    st.logout()
    st.stop()


def _stop_no_access(route: Callable[[], object], email: str, why: str) -> NoReturn:
    route()
    _no_access(email, why)
    st.stop()


def _config_error_page(problems: tuple[str, ...]) -> None:
    st.title("Territory Planner is not configured safely")
    st.error(
        "The dashboard shows no data until this is fixed:\n\n" + "\n".join(f"- {md_text(p, 300)}" for p in problems),
        icon="⛔",
    )
    st.markdown(
        "**To fix it**, either\n"
        "- configure sign-in: an `[auth]` section in `.streamlit/secrets.toml` with `redirect_uri`, a random "
        "`cookie_secret` of 32 or more characters, `client_id`, `client_secret` and `server_metadata_url` "
        "(see `.streamlit/secrets.toml.example` and docs/DEPLOY.md); or\n"
        "- for one person on this computer only: start it with `scripts/run`, which listens on 127.0.0.1 and sets "
        "`PLANNER_OPEN_LOCAL=1` (open local mode: you are the admin)."
    )


def _login_page() -> None:
    st.title("Territory Planner")
    st.write("Sign in to see territories, targets and plans. Your role decides what you can see.")
    if _cookies().get(SIGN_OUT_COOKIE) == "unrecorded":  # the sign-out just made while the store was down
        st.warning(UNRECORDED, icon="⚠️")
        _cookie_script("", 0, name=SIGN_OUT_COOKIE)
    for name in providers():
        label = "Sign in" if name == "default" else f"Sign in with {name.capitalize()}"
        if st.button(label, key=f"auth_login_{name}", type="primary"):
            try:
                st.login(None if name == "default" else name)
            except StreamlitAuthError as exc:
                st.error(f"Sign-in is not set up correctly: {exc} See docs/DEPLOY.md.", icon="⚠️")


# ---------------------------------------------------------------------------------------------
# A shared link opened while signed out: the identity provider returns every sign-in to the app's home address
# (Streamlit's /oauth2callback redirects to "/"), so the sign-in page keeps the link's page and query in a
# short-lived cookie, and the first run after signing in goes on to it: only to a page of this app's navigation.

KEPT_VIEW_COOKIE = "planner_view"
KEPT_VIEW_SECONDS = 600
MAX_KEPT_VIEW = 2000
_KEPT_VIEW_STATE = "_kept_view"


def _cookie_script(value: str, seconds: int, container: Any = st, name: str = KEPT_VIEW_COOKIE) -> None:
    """Set (or, with seconds=0, delete) a cookie of ours (the kept view's) in the browser; `value` is already
    URL-quoted."""
    path = quote("/" + str(config.get_option("server.baseUrlPath") or "").strip("/"), safe="/")
    container.html(
        f'<script>document.cookie = "{name}={value}; path={path}; max-age={seconds}; samesite=lax"'
        ' + (location.protocol === "https:" ? "; secure" : "");</script>',
        unsafe_allow_javascript=True,  # the value is quoted to [A-Za-z0-9%._~-]; nothing else varies
    )


def _cookies() -> Mapping[str, str]:
    try:
        return dict(st.context.cookies)
    except Exception:  # no browser context (bare run)
        return {}


def _keep_view(page: object) -> None:
    """On the sign-in page: keep the page this link opened and its query for the run after signing in."""
    name = str(getattr(page, "url_path", "") or "")
    pairs = [(k, v) for k in st.query_params for v in st.query_params.get_all(k)]
    view = name + (f"?{urlencode(pairs)}" if pairs else "")
    if len(view) > MAX_KEPT_VIEW:
        view = name  # an overlong query: the page at least
    if view:
        _cookie_script(quote(view, safe=""), KEPT_VIEW_SECONDS)
    elif KEPT_VIEW_COOKIE in _cookies():
        _cookie_script("", 0)  # the home page: an older link kept is no longer wanted


def return_to_kept_view(here: Any, pages: Sequence[Any]) -> None:
    """Once per session, right after signing in: a run on the bare home address goes on to the view the sign-in
    page kept (one of `pages`, the navigation's own), and the cookie is deleted on the next run."""
    status = st.session_state.get(_KEPT_VIEW_STATE)
    st.session_state[_KEPT_VIEW_STATE] = "done"
    if status == "forget":
        _cookie_script("", 0, st.sidebar)
    kept = _cookies().get(KEPT_VIEW_COOKIE)
    if status is not None or not kept:
        return
    name, _, query = unquote(kept)[:MAX_KEPT_VIEW].partition("?")
    target = next((p for p in pages if name and p.url_path == name), None)
    if target is None or getattr(here, "url_path", None) != "" or len(st.query_params):
        _cookie_script("", 0, st.sidebar)  # opened elsewhere, or kept no page of this app: forget it
        return
    st.session_state[_KEPT_VIEW_STATE] = "forget"
    st.switch_page(target, query_params=parse_qsl(query))


def _no_access(email: str, why: str) -> None:
    st.title("Ask an admin for access")
    st.warning(
        f"You are signed in as **{md_text(email)}**. {why} "
        "Ask an admin of Territory Planner to give this address a role (Admin page, or "
        "`python -m planner roles set EMAIL ROLE`). Reps whose CRM email matches get access automatically.",
        icon="🔒",
    )
    sign_out_button(st, key="auth_noaccess_logout")


def sign_out_button(container: Any, key: str) -> None:
    """Sign out: recorded in the store first, so the sign-in cookie (this browser's, or any copy of it) signs no one
    in again; then the browser's copy is deleted. A sign-out the store cannot record is not half done: it says so."""
    if container.button("Sign out", key=key):
        scope = st.session_state.get(SCOPE_KEY)
        if isinstance(scope, Scope) and scope.user and mode() == "oidc":
            try:
                roles.sign_out(data.db_path(), scope.user, scope=scope)
            except PlannerError as exc:
                container.error(f"Signing out failed: {data.error_text(exc)}. Try again in a moment.", icon="⚠️")
                return
        st.session_state.pop(SCOPE_KEY, None)
        st.logout()


def render_account(container: Any, own_territory: str | None = None) -> None:
    """Who is signed in and as what, with sign-out; or that this is open local mode. A rep's territory is named
    by the rep's name (`own_territory`), never by its internal id."""
    scope = current()
    if mode() == "local":
        container.caption(
            ":gray-badge[Local mode] one user with full (admin) access on this computer; no sign-in is configured. "
            "Add an `[auth]` section to secrets.toml to require sign-in (docs/DEPLOY.md)."
        )
        return
    rep = f" · territory of {md_text(own_territory, 80)}" if scope.is_rep and own_territory else ""
    container.caption(f"Signed in as **{md_text(scope.user)}**  \n{ROLE_TEXT[scope.role]}{rep}")
    sign_out_button(container, key="sb_logout")


# ---------------------------------------------------------------------------------------------
# After the page's run: a download made when clicked, and a /media/ file fetched later, ask the store again. A role
# removed or narrowed (by the Admin page or `python -m planner roles`, in any process) ends what the page was drawn
# with at once, not at the page's next rerun.

MAX_STANDINGS = 10_000  # (email, store version) lookups remembered; the oldest are forgotten first
_RANK = {"rep": 0, "leader": 1, "admin": 2}
_standings: Kept[tuple[float | None, Scope | None]] = Kept(MAX_STANDINGS)
REFUSED = b"error: your access changed since this page was opened; reload the page (or ask an admin for access)\n"
T = TypeVar("T")


def standing(email: str) -> tuple[float | None, Scope | None]:
    """`email`'s last sign-out and the Scope it signs in with in the current store (None: no role), read once per
    store version (any write changes it) and bootstrap admins. Raises whatever keeps the store from answering."""
    path = data.db_path()
    version = f"{path}@{store.fingerprint(path)}"
    admins = bootstrap_admins()

    def read() -> tuple[float | None, Scope | None]:
        with store.read(path) as con:
            return roles.last_sign_out(con, email), roles.resolve(con, email, admins)

    return _standings.get((email, version, admins), read)


def covers(now: Scope, granted: Scope) -> bool:
    """Whether a user who now has `now` may still have what was made for them as `granted`: the same rep's
    territory, or a role at least as wide (admin > leader > rep)."""
    if now.user != granted.user:
        return False
    if granted.is_rep:
        return not now.is_rep or now.rep_id == granted.rep_id
    return _RANK[now.role] >= _RANK[granted.role]


def still_allowed(granted: Scope, issued_at: object, granted_mode: str) -> bool:
    """Whether what was made for `granted` (signed in at `issued_at`, in `granted_mode`) may still be handed over:
    open local mode still on, or the email not signed out since and still holding a role that covers it. Fails
    closed: a store that cannot be read, or a mode changed since, hands nothing over."""
    try:
        now_mode = auth_config().mode
        if granted_mode != now_mode or now_mode == "error":
            return False
        if now_mode == "local":
            return True
        last_out, now = standing(granted.user)
    except Exception as exc:  # whatever keeps the store or the secrets from answering: nothing (fails closed)
        _log.warning("a download was refused: the store could not be read (%s)", redact(str(exc)))
        return False
    return not roles.signed_out(last_out, issued_at) and now is not None and covers(now, granted)


def at_click(build: Callable[[], T]) -> Callable[[], T | bytes]:
    """`build` (a download's data, made when clicked: after this run ended, without its session) guarded by the
    scope of this run: the click asks the current store again (still_allowed) and gets REFUSED, never the data,
    when the user's role was removed or narrowed meanwhile."""
    granted, granted_mode, issued_at = current(), mode(), _user().get("iat")

    def guarded() -> T | bytes:
        return build() if still_allowed(granted, issued_at, granted_mode) else REFUSED

    return guarded
