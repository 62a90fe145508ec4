"""Downloads only for the signed-in user they were made for (streamlit/streamlit#8148).

Streamlit serves every st.download_button file (and st.image...) at /media/<id>.<ext> to anyone who asks while the
file lives, without looking at the sign-in. app.py hands this ASGI middleware to st.App, so it sees every request
first. With sign-in configured ("oidc"), a /media/ request is served only when it carries Streamlit's own signed
sign-in cookie (checked with the `[auth] cookie_secret`, as the websocket checks it) for a verified email, whose
sign-in no later sign-out of that email ended (the app's rule, ui.auth.sign_in: a copied cookie stops working), and
the server sent that file's address to that same email over its websocket; otherwise 401 (no valid sign-in) or 403
(another user's file). Fails closed: a configuration error, a missing secret, a forged, expired or unsigned cookie,
a store that cannot be read all get no file. Open local mode (one local admin on loopback) serves files as
Streamlit does.
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

from planner import roles, store
from planner.errors import BadInput, redact
from planner.store.memo import Kept
from ui import auth, data

USER_COOKIE = "_streamlit_user"  # Streamlit's signed sign-in cookie (its name is the signature's salt)
MAX_GRANTS = 50_000  # (file, email) pairs remembered; the oldest are forgotten first
MAX_SIGN_OUTS = 10_000  # emails whose last sign-out is remembered (per store version); the oldest are forgotten
# A media address as Streamlit writes it into its messages: /media/ then a 32-hex-digit content hash and an extension.
_SENT_MEDIA = re.compile(rb"/media/([0-9a-f]{32})(?:\.[A-Za-z0-9]{1,16})?")
_REQUESTED = re.compile(r"([0-9a-f]{32})(?:\.[A-Za-z0-9]{1,16})?")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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


def _cookies(scope: Scope) -> dict[str, str]:
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
    """ASGI middleware: /media/ files only for the signed-in email the server sent them to (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.grants: OrderedDict[tuple[str, str], None] = OrderedDict()
        # (email, the store and its version) -> its last sign-out: read again after any write
        self.sign_outs: Kept[float | None] = Kept(MAX_SIGN_OUTS)  # filled from the threadpool: locked

    def grant(self, file_id: str, email: str) -> None:
        self.grants[(file_id, email)] = None
        self.grants.move_to_end((file_id, email))
        while len(self.grants) > MAX_GRANTS:
            self.grants.popitem(last=False)

    def ended(self, email: str, issued_at: object) -> bool:
        """Whether this sign-in of `email` was ended by its sign-out (roles.signed_out, as ui.auth.sign_in rules),
        the last sign-out read once per store version; True when the store cannot be read. Blocking: a thread."""
        try:
            path = data.db_path()
            version = f"{path}@{store.fingerprint(path)}"  # changes with every write, a sign-out's too

            def read() -> float | None:
                with store.read(path) as con:
                    return roles.last_sign_out(con, email)

            last_out = self.sign_outs.get((email, version), read)
        except Exception as exc:  # whatever keeps the store from answering: no file (fails closed)
            _log.warning("a sign-in was refused its downloads: the store could not be read (%s)", redact(str(exc)))
            return True
        return roles.signed_out(last_out, issued_at)

    async def _user(self, scope: Scope, mode: str) -> str | None:
        """The signed-in email of this request (oidc mode only) whose sign-in no sign-out ended, or None."""
        if mode != "oidc" or (found := signed_in(_cookies(scope), _cookie_secret())) is None:
            return None
        email, issued_at = found
        return None if await run_in_threadpool(self.ended, email, issued_at) else email

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "http" and (tail := _media_file(str(scope.get("path") or ""))) is not None:
            await self._media(scope, receive, send, tail)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _media(self, scope: Scope, receive: Receive, send: Send, tail: str) -> None:
        mode = _mode()
        if mode == "local":
            await self.app(scope, receive, send)
            return
        email = await self._user(scope, mode)
        if email is None:
            await _refuse(send, 401, "Sign in to Territory Planner to download this file.")
            return
        found = _REQUESTED.fullmatch(tail)
        if found is None or (found.group(1), email) not in self.grants:
            await _refuse(send, 403, "This file was made for another user; open the page and download it again.")
            return
        await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Remember which media files the server sends to this signed-in user (none when nobody is signed in, or
        when a sign-out ended this sign-in)."""
        email = await self._user(scope, _mode())
        if email is None:
            await self.app(scope, receive, send)
            return

        async def noting(message: Message) -> None:
            sent = message.get("bytes") if message.get("type") == "websocket.send" else None
            if sent and b"/media/" in sent:
                for found in _SENT_MEDIA.finditer(sent):
                    self.grant(found.group(1).decode(), email)
            await send(message)

        await self.app(scope, receive, noting)


def _mode() -> str:
    """The sign-in mode (oidc, local or error) as every run decides it, decided again per request."""
    return auth.auth_config().mode


def _cookie_secret() -> object:
    section = auth.load_secrets()[0].get("auth")
    return section.get("cookie_secret") if isinstance(section, Mapping) else None
