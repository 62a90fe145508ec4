"""A role removed or narrowed while a page stays open (the Admin page or `python -m planner roles` in another
process) ends that page's downloads at once, not at its next rerun: a file made when clicked asks the current store
who is clicking (ui.auth.at_click, through ui.tables.download_button), and a /media/ file already made is refused
to an email whose role no longer covers the one it was made for (ui/media_guard.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.secrets import Secrets

from planner import roles
from planner.scope import OPERATOR, Scope
from tests.helpers import AUTH, ROOT, app_as, errors
from tests.test_media_guard import FILE, SECRET, _run, _scope, cookie
from ui import auth, media_guard
from ui.media_guard import MediaGuard

URL = f"/media/{FILE}.csv"
LEAD = "lead@example.com"


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch, small_store: Path) -> Path:
    """Sign-in configured over the small store (the app's, through PLANNER_DB), lead@ a leader: its path."""
    monkeypatch.setattr(media_guard, "_mode", lambda: "oidc")
    monkeypatch.setattr(media_guard, "_cookie_secret", lambda: SECRET)
    monkeypatch.setenv("PLANNER_DB", str(small_store))
    roles.set_role(small_store, LEAD, "leader", scope=OPERATOR)
    return small_store


def _granted(guard: MediaGuard, who: dict[str, str], url: str = URL) -> None:
    """The server sends `url` to `who` over its websocket."""
    _run(guard, _scope("websocket", "/_stcore/stream", who), sent=[url.encode()])


def test_a_file_is_refused_once_its_emails_role_is_removed(guarded: Path) -> None:
    guard = MediaGuard(None)  # type: ignore[arg-type]
    lead = cookie()
    _granted(guard, lead)
    assert _run(guard, _scope("http", URL, lead)) == 200
    assert _run(guard, _scope("http", URL, lead)) == 200, "the role unchanged: still the file"
    roles.remove_role(guarded, LEAD, scope=OPERATOR)
    assert _run(guard, _scope("http", URL, lead)) == 403
    _granted(guard, lead, URL.replace(FILE, "e" * 32))  # nor is a file sent with no role granted
    assert _run(guard, _scope("http", URL.replace(FILE, "e" * 32), lead)) == 403
    roles.set_role(guarded, LEAD, "leader", scope=OPERATOR)  # given back: what was made as a leader is theirs again
    assert _run(guard, _scope("http", URL, lead)) == 200


def test_a_leaders_file_is_refused_once_the_leader_is_made_a_rep(guarded: Path) -> None:
    guard = MediaGuard(None)  # type: ignore[arg-type]
    lead = cookie()
    _granted(guard, lead)
    roles.set_role(guarded, LEAD, "rep", "R001", scope=OPERATOR)
    assert _run(guard, _scope("http", URL, lead)) == 403
    rep_file = URL.replace(FILE, "f" * 32)  # made as rep R001: theirs while they are R001, not once moved to R002
    _granted(guard, lead, rep_file)
    assert _run(guard, _scope("http", rep_file, lead)) == 200
    roles.set_role(guarded, LEAD, "rep", "R002", scope=OPERATOR)
    assert _run(guard, _scope("http", rep_file, lead)) == 403
    roles.set_role(guarded, LEAD, "admin", scope=OPERATOR)  # a wider role covers both
    assert _run(guard, _scope("http", URL, lead)) == 200
    assert _run(guard, _scope("http", rep_file, lead)) == 200


def test_open_local_mode_still_serves_as_streamlit_does(guarded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media_guard, "_mode", lambda: "local")
    roles.remove_role(guarded, LEAD, scope=OPERATOR)
    assert _run(MediaGuard(None), _scope("http", URL, {})) == 200  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "granted", "ok"),
    [
        (Scope("admin", user=LEAD), Scope("leader", user=LEAD), True),
        (Scope("leader", user=LEAD), Scope("admin", user=LEAD), False),  # the Admin page's files: admins only
        (Scope("leader", user=LEAD), Scope("rep", "R001", user=LEAD), True),
        (Scope("rep", "R001", user=LEAD), Scope("leader", user=LEAD), False),
        (Scope("rep", "R001", user=LEAD), Scope("rep", "R001", user=LEAD), True),
        (Scope("rep", "R002", user=LEAD), Scope("rep", "R001", user=LEAD), False),
        (Scope("admin", user="other@example.com"), Scope("rep", "R001", user=LEAD), False),
    ],
)
def test_a_role_covers_what_was_made_for_it_or_a_narrower_one(now: Scope, granted: Scope, ok: bool) -> None:
    assert auth.covers(now, granted) is ok


def test_every_page_offers_files_through_the_guarded_button() -> None:
    """One place every download made when clicked goes through (ui.tables.download_button): none bypasses it."""
    direct = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in [*ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py"), ROOT / "app.py"]
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"(?<!tables)\.download_button\(", line) and path.name != "tables.py"
    ]
    assert direct == []


def test_a_stale_pages_download_made_when_clicked_is_refused_after_the_role_changed(
    app_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The explorer's case: a leader's coverage page of every territory stays open; the White space file is made
    when clicked, from the current store, with the scope the page was drawn with."""
    managers: list[MediaFileManager] = []

    def keep(storage: Any) -> MediaFileManager:
        managers.append(MediaFileManager(storage))
        return managers[-1]

    monkeypatch.setattr("streamlit.testing.v1.app_test.MediaFileManager", keep)
    roles.set_role(app_store, LEAD, "leader", scope=OPERATOR)
    at = app_as(LEAD, page="coverage", query={"rep": "all"})
    assert errors(at) == []
    button = next(b for b in at.get("download_button") if b.proto.label.startswith("White space, all"))
    build = managers[-1]._deferred_callables[button.proto.deferred_file_id]["callable"]
    secrets = Secrets()  # the server's secrets, as the click's thread reads them (AppTest restores its own)
    secrets._secrets = AUTH  # type: ignore[assignment]
    monkeypatch.setattr(st, "secrets", secrets)

    whole = build()
    assert whole != auth.REFUSED and len(whole.splitlines()) > 2, "the role unchanged: every rep's white space"
    roles.set_role(app_store, LEAD, "rep", "R001", scope=OPERATOR)
    assert build() == auth.REFUSED
    roles.remove_role(app_store, LEAD, scope=OPERATOR)
    assert build() == auth.REFUSED
    roles.set_role(app_store, LEAD, "leader", scope=OPERATOR)
    assert build() == whole
    monkeypatch.setattr(st, "secrets", Secrets())  # no [auth] any more: neither sign-in nor local mode as drawn
    assert build() == auth.REFUSED
