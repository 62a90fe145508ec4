"""Downloads only for the signed-in user they were made for (streamlit/streamlit#8148).

Streamlit serves every st.download_button file (and st.image...) at /media/<id>.<ext> to anyone who asks while the
file lives, without looking at the sign-in. app.py hands this ASGI middleware to st.App, so it sees every request
first. With sign-in configured ("oidc"), a /media/ request is served only when it carries Streamlit's own signed
sign-in cookie (checked with the `[auth] cookie_secret`, as the websocket checks it) for a verified email, whose
sign-in no later sign-out of that email ended (the app's rule, ui.auth.sign_in: a copied cookie stops working), and
the server sent that file's address to that same email over its websocket, and that email still holds a role (in the
current store, ui.auth.standing: read once per store version) that covers the one it held when the file was sent
(ui.auth.covers: a role removed, or a leader made a rep, gets no file made before); otherwise 401 (no valid sign-in)
or 403 (another user's file, or access changed since). Fails closed: a configuration error, a missing secret, a
forged, expired or unsigned cookie, a store that cannot be read all get no file. Open local mode (one local admin on
loopback) serves files as Streamlit does.
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from streamlit import config
from streamlit.auth_util import get_cookie_with_chunks
from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value

from planner import roles
from planner.errors import BadInput, redact
from planner.scope import Scope
from ui import auth

USER_COOKIE = "_streamlit_user"  # Streamlit's signed sign-in cookie (its name is the signature's salt)
MAX_GRANTS = 50_000  # (file, email) pairs remembered; the oldest are forgotten first
# A media address as Streamlit writes it into its messages: /media/ then a 32-hex-digit content hash and an extension.
_SENT_MEDIA = re.compile(rb"/media/([0-9a-f]{32})(?:\.[A-Za-z0-9]{1,16})?")
_REQUESTED = re.compile(r"([0-9a-f]{32})(?:\.[A-Za-z0-9]{1,16})?")

ASGIScope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[ASGIScope, Receive, Send], Awaitable[None]]


_log = logging.getLogger("planner.auth")


def signed_in_email(cookies: Mapping[str, str], secret: object) -> str | None:
    """The verified email of a valid, unexpired sign-in cookie signed with `secret`; None for anything else."""
    found = signed_in(cookies, secret)
    return None if found is None else found[0]


def signed_in(cookies: Mapping[str, str], secret: object) -> tuple[str, object] | None:
    """The verified email of a valid, unexpired sign-in cookie signed with `secret` and its sign-in's issue time
    (the ID token's `iat`, as the cookie holds it); None for anything else."""
    if not isinstance(secret, str) or len(secret) < auth.MIN_COOKIE_SECRET:
        return None

    def single(name: str) -> bytes | None:
        raw = cookies.get(name)
        return None if raw is None else decode_signed_value(secret, name, raw.encode("latin-1"))

    try:
        payload = json.loads(get_cookie_with_chunks(single, USER_COOKIE) or b"null")
        if not isinstance(payload, dict) or payload.get("is_logged_in") is not True:
            return None
        if payload.get("email_verified") is not True:  # as ui.auth.sign_in: only a real boolean true
            return None
        return roles.normalize_email(str(payload.get("email") or "")), payload.get("iat")
    except (ValueError, UnicodeError, BadInput):
        return None


def _cookies(scope: ASGIScope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers") or []:
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header: no cookies
                return {}
    return {k: m.value for k, m in jar.items()}


def _media_file(path: str) -> str | None:
    """What follows /media/ (or /<baseUrlPath>/media/) in a request path, or None when the path is not media."""
    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    for prefix in ("/media/", f"/{base}/media/") if base else ("/media/",):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return None


async def _refuse(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def middleware() -> list[Middleware]:
    """The middleware list for st.App(..., middleware=...)."""
    return [Middleware(MediaGuard)]


class MediaGuard:
    """ASGI middleware: /media/ files only for the signed-in email the server sent them to, while it still holds a
    role that covers the one it held then (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # (file, email) -> the email's Scope when the server sent it the file's address
        self.grants: OrderedDict[tuple[str, str], Scope] = OrderedDict()

    def grant(self, file_id: str, email: str, scope: Scope) -> None:
        self.grants[(file_id, email)] = scope
        self.grants.move_to_end((file_id, email))
        while len(self.grants) > MAX_GRANTS:
            self.grants.popitem(last=False)

    def standing(self, email: str, issued_at: object) -> tuple[bool, Scope | None]:
        """Whether this sign-in of `email` was ended by its sign-out (roles.signed_out, as ui.auth.sign_in rules),
        and the Scope it holds now (None: no role), read once per store version (ui.auth.standing); ended when the
        store cannot be read. Blocking: a thread."""
        try:
            last_out, now = auth.standing(email)
        except Exception as exc:  # whatever keeps the store from answering: no file (fails closed)
            _log.warning("a sign-in was refused its downloads: the store could not be read (%s)", redact(str(exc)))
            return True, None
        return roles.signed_out(last_out, issued_at), now

    async def _user(self, scope: ASGIScope, mode: str) -> tuple[str, object] | None:
        """The signed-in email of this request (oidc mode only) and its sign-in's issue time, or None."""
        return signed_in(_cookies(scope), _cookie_secret()) if mode == "oidc" else None

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "http" and (tail := _media_file(str(scope.get("path") or ""))) is not None:
            await self._media(scope, receive, send, tail)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _media(self, scope: ASGIScope, receive: Receive, send: Send, tail: str) -> None:
        mode = _mode()
        if mode == "local":
            await self.app(scope, receive, send)
            return
        found_user = await self._user(scope, mode)
        ended, now = (True, None) if found_user is None else await run_in_threadpool(self.standing, *found_user)
        if found_user is None or ended:
            await _refuse(send, 401, "Sign in to Territory Planner to download this file.")
            return
        found = _REQUESTED.fullmatch(tail)
        granted = None if found is None else self.grants.get((found.group(1), found_user[0]))
        if granted is None:
            await _refuse(send, 403, "This file was made for another user; open the page and download it again.")
            return
        if now is None or not auth.covers(now, granted):  # the role was removed or narrowed since the file was made
            await _refuse(send, 403, "Your access changed since this file was made; open the page again.")
            return
        await self.app(scope, receive, send)

    async def _websocket(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        """Remember which media files the server sends to this signed-in user, and the role they held then (none
        when nobody is signed in, a sign-out ended this sign-in, or the email holds no role)."""
        found_user = await self._user(scope, _mode())
        if found_user is None or (await run_in_threadpool(self.standing, *found_user))[0]:
            await self.app(scope, receive, send)
            return
        email = found_user[0]

        async def noting(message: Message) -> None:
            sent = message.get("bytes") if message.get("type") == "websocket.send" else None
            if sent and b"/media/" in sent:
                ended, now = await run_in_threadpool(self.standing, *found_user)  # the role as the file is sent
                for found in _SENT_MEDIA.finditer(sent) if now is not None and not ended else ():
                    self.grant(found.group(1).decode(), email, now)
            await send(message)

        await self.app(scope, receive, noting)


def _mode() -> str:
    """The sign-in mode (oidc, local or error) as every run decides it, decided again per request."""
    return auth.auth_config().mode


def _cookie_secret() -> object:
    section = auth.load_secrets()[0].get("auth")
    return section.get("cookie_secret") if isinstance(section, Mapping) else None
