"""The /media/ guard (ui/media_guard.py): the sign-in cookie check fails closed, a file goes only to the email
the server sent its address to, and a cookie whose sign-in a sign-out ended opens nothing (as in the app,
tests/test_signout.py). The real server and browser round trip is in tests/test_browser_security.py."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from streamlit.web.server.starlette.starlette_app_utils import create_signed_value

from planner import roles, store
from planner.scope import OPERATOR, Scope
from tests.helpers import run_async
from ui import media_guard
from ui.media_guard import MediaGuard, signed_in_email

SECRET = "s" * 40
FILE = "0123456789abcdef0123456789abcdef"


def cookie(secret: str = SECRET, name: str = "_streamlit_user", **claims: Any) -> dict[str, str]:
    payload = {"email": "Lead@Example.com", "email_verified": True, "is_logged_in": True, **claims}
    return {name: create_signed_value(secret, name, json.dumps(payload)).decode()}


def test_a_valid_cookie_names_its_verified_email() -> None:
    assert signed_in_email(cookie(), SECRET) == "lead@example.com"


@pytest.mark.parametrize(
    ("cookies", "secret"),
    [
        ({}, SECRET),  # no cookie
        (cookie(), None),  # no secret configured
        (cookie(), ""),
        (cookie(secret="x" * 10), "x" * 10),  # a secret too short to trust
        (cookie(secret="t" * 40), SECRET),  # forged: signed with another secret
        (cookie(name="_streamlit_xsrf"), SECRET),  # another cookie's signature (the name is the salt)
        ({"_streamlit_user": '{"email": "lead@example.com", "is_logged_in": true}'}, SECRET),  # unsigned
        (cookie(email_verified="true"), SECRET),  # only a real boolean true
        (cookie(is_logged_in=False), SECRET),
        (cookie(email="not an email"), SECRET),
    ],
    ids=[
        "none",
        "no-secret",
        "empty-secret",
        "short-secret",
        "forged",
        "other-salt",
        "unsigned",
        "unverified",
        "logged-out",
        "bad-email",
    ],  # fmt: skip
)
def test_anything_but_a_valid_signed_in_cookie_is_refused(cookies: dict[str, str], secret: object) -> None:
    assert signed_in_email(cookies, secret) is None


def test_an_expired_cookie_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 40 * 86400)  # signed 40 days ago; cookies live 30 (+1 grace)
    old = cookie()
    monkeypatch.setattr(time, "time", lambda: now)
    assert signed_in_email(old, SECRET) is None


def _run(guard: MediaGuard, scope: dict[str, Any], sent: list[bytes] | None = None) -> int:
    """One request through the guard (to an app that answers 200 and, on a websocket, sends `sent`): its status."""
    statuses: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        for data in sent or []:
            await send({"type": "websocket.send", "bytes": data})
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def receive() -> Any:
        return {}

    guard.app = app
    run_async(guard(scope, receive, send))  # not asyncio.run: a browser test may hold this thread's loop
    return statuses[0]


def _scope(kind: str, path: str, cookies: dict[str, str]) -> dict[str, Any]:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items()).encode("latin-1")
    return {"type": kind, "path": path, "headers": [(b"cookie", header)] if cookies else []}


@pytest.fixture
def oidc(monkeypatch: pytest.MonkeyPatch, empty_store: Path) -> Path:
    """Sign-in configured, over a store (the app's, through PLANNER_DB) where nobody has signed out and
    lead@example.com is a leader (a file goes only to an email that holds a role): its path."""
    monkeypatch.setattr(media_guard, "_mode", lambda: "oidc")
    monkeypatch.setattr(media_guard, "_cookie_secret", lambda: SECRET)
    monkeypatch.setenv("PLANNER_DB", str(empty_store))
    roles.set_role(empty_store, "lead@example.com", "leader", scope=OPERATOR)
    return empty_store


@pytest.mark.usefixtures("oidc")
def test_a_file_goes_only_to_the_email_it_was_sent_to() -> None:
    guard = MediaGuard(None)  # type: ignore[arg-type]
    lead, rep = cookie(), cookie(email="rep@example.com")
    url = f"/media/{FILE}.csv"
    assert _run(guard, _scope("http", url, {})) == 401
    assert _run(guard, _scope("http", url, lead)) == 403  # not sent to anyone yet
    _run(guard, _scope("websocket", "/_stcore/stream", lead), sent=[b"\x12\x08" + url.encode() + b"\x00"])
    assert _run(guard, _scope("http", url, lead)) == 200
    assert _run(guard, _scope("http", f"/media/{FILE}", lead)) == 200  # the same file without its extension
    assert _run(guard, _scope("http", url, rep)) == 403
    assert _run(guard, _scope("http", url, cookie(secret="t" * 40))) == 401  # forged as the leader
    assert _run(guard, _scope("http", f"/media/{FILE}.csv/../x", lead)) == 403  # nothing but <id>.<ext>
    # A websocket without a valid sign-in is granted nothing.
    _run(guard, _scope("websocket", "/_stcore/stream", {}), sent=[url.encode()])
    assert _run(guard, _scope("http", url, rep)) == 403
    assert _run(guard, _scope("http", "/static/media/font.woff2", {})) == 200  # the app's own assets stay open


def test_open_local_mode_serves_as_streamlit_does_and_an_error_mode_serves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    guard = MediaGuard(None)  # type: ignore[arg-type]
    monkeypatch.setattr(media_guard, "_cookie_secret", lambda: SECRET)
    monkeypatch.setattr(media_guard, "_mode", lambda: "local")
    assert _run(guard, _scope("http", f"/media/{FILE}.csv", {})) == 200
    monkeypatch.setattr(media_guard, "_mode", lambda: "error")
    assert _run(guard, _scope("http", f"/media/{FILE}.csv", cookie())) == 401


def test_the_base_url_path_is_guarded_too(oidc: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        media_guard.config, "get_option", lambda name: "planner/" if name == "server.baseUrlPath" else None
    )
    guard = MediaGuard(None)  # type: ignore[arg-type]
    assert _run(guard, _scope("http", f"/planner/media/{FILE}.csv", {})) == 401
    assert _run(guard, _scope("http", f"/media/{FILE}.csv", {})) == 401


def test_a_cookie_from_before_the_emails_sign_out_opens_nothing(oidc: Path) -> None:
    guard = MediaGuard(None)  # type: ignore[arg-type]
    url = f"/media/{FILE}.csv"
    before = cookie(iat=int(time.time()) - 60)  # copied before the sign-out
    _run(guard, _scope("websocket", "/_stcore/stream", before), sent=[url.encode()])
    assert _run(guard, _scope("http", url, before)) == 200, "nobody signed out yet"
    roles.sign_out(oidc, "lead@example.com", scope=Scope(role="admin", user="lead@example.com"))
    with store.read(oidc) as con:
        out = roles.last_sign_out(con, "lead@example.com")
    assert out is not None
    assert _run(guard, _scope("http", url, before)) == 401, "the sign-out ended this sign-in"
    assert _run(guard, _scope("http", url, cookie())) == 401, "no issue time after a sign-out: ended"
    again = cookie(iat=int(out) + 5)  # signed in again after it
    assert _run(guard, _scope("http", url, again)) == 200
    # An ended sign-in's websocket is granted nothing (the rep's file stays theirs alone).
    rep_file = url.replace(FILE, "f" * 32)
    _run(guard, _scope("websocket", "/_stcore/stream", before), sent=[rep_file.encode()])
    assert _run(guard, _scope("http", rep_file, again)) == 403
    _run(guard, _scope("websocket", "/_stcore/stream", again), sent=[rep_file.encode()])
    assert _run(guard, _scope("http", rep_file, again)) == 200


def test_a_store_that_cannot_be_read_serves_no_file(
    oidc: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    guard = MediaGuard(None)  # type: ignore[arg-type]
    url = f"/media/{FILE}.csv"
    lead = cookie(iat=int(time.time()))
    _run(guard, _scope("websocket", "/_stcore/stream", lead), sent=[url.encode()])
    assert _run(guard, _scope("http", url, lead)) == 200
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(b"not a database at all" * 100)
    monkeypatch.setenv("PLANNER_DB", str(broken))
    assert _run(guard, _scope("http", url, lead)) == 401
    monkeypatch.setenv("PLANNER_DB", str(tmp_path / "gone.duckdb"))
    assert _run(guard, _scope("http", url, lead)) == 401
