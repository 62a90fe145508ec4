"""The sidebar every page shares: which territory is in view, how fresh the data is, a link to
this view, and who is signed in."""

from __future__ import annotations

import threading
from typing import NoReturn
from urllib.parse import urlencode, urlsplit

import pandas as pd
import streamlit as st

from planner import text
from planner.errors import PlannerError
from planner.scope import Scope
from planner.store import world
from ui import auth, data, job_views, state

ALL = "__all__"
# All territories is written to a leader's link (`?rep=all`), so a rep who opens it is told it was narrowed; a
# link without rep= (older ones) still opens on the default territory.
ALL_IN_URL = "all"
_local = threading.local()


def scope() -> Scope:
    """Who is using the app (set by ui.auth.sign_in): local mode is an admin; sign-in narrows it."""
    return auth.current()


def selected_rep() -> str | None:
    """The rep_id chosen in the sidebar, or None for all territories (a rep always gets their own)."""
    who = scope()
    if who.is_rep:
        return who.rep_id
    value = st.session_state.get("sb_rep", ALL)
    return None if value in (None, ALL) else str(value)


def current_link() -> str:
    """The full address of this view: the page's URL plus every query parameter."""
    try:
        base = st.context.url or ""
    except Exception:  # no browser context (bare run)
        base = ""
    if base and not urlsplit(base).path:
        base += "/"
    pairs = [(k, v) for k in st.query_params for v in st.query_params.get_all(k)]
    query = urlencode(pairs)
    return f"{base}?{query}" if query else (base or "?")


def stop() -> NoReturn:
    """Stop the page here (st.stop) after finishing the sidebar: what a stopped page leaves after
    st.stop() is not shown, so the link to this view and the note on what the link asked for that was
    ignored (e.g. ?rep= naming no rep) would be lost."""
    finish()
    st.stop()


def finish(*, ran_to_end: bool = True) -> None:
    """After the page ran (its widgets have written the URL): fill in the link to this view. A page that ran
    to its end (or stopped on purpose) has read every parameter it uses: the others are dropped, with a note; a
    run cut short by st.rerun or an error keeps them for the next run."""
    slot = getattr(_local, "link_slot", None)
    _local.link_slot = None
    notice_slot = getattr(_local, "notice_slot", None)
    _local.notice_slot = None
    if notice_slot is not None:  # after the page: one that showed a job's outcome took it
        with notice_slot:
            job_views.notices(scope())
    if ran_to_end:
        state.drop_unused()
    state.show_ignored(st.sidebar)  # what a page's own note did not already report
    if slot is None:
        return
    with slot:
        st.caption("Link to this view (copy it with the button at its right)", help=_LINK_HELP)
        st.code(current_link(), language=None, wrap_lines=True)


_LINK_HELP = (
    "The address holds the page, the territory and the page's filters: whoever opens it sees this view, "
    "limited to what their own role allows."
)


def _refuse_foreign_rep(who: Scope) -> None:
    """A rep's link or edited URL naming another territory is ignored, and the sidebar says so."""
    wanted = st.query_params.get("rep")
    if who.is_rep and wanted == ALL_IN_URL:
        st.sidebar.warning(
            "This link shows all territories; you can only see your own, so it shows yours.", icon=":material/lock:"
        )
        state.set_param("rep", None)
    elif who.is_rep and wanted not in (None, "", who.rep_id):
        # Not the link's territory id (an internal R-number) nor whose it is: a rep may not learn other reps' names.
        st.sidebar.warning(
            "This link shows another territory; you can only see your own, so it shows yours.",
            icon=":material/lock:",
        )
        state.set_param("rep", None)


def render() -> None:
    _local.notice_slot = st.sidebar.container()  # the user's import or training that ended elsewhere (finish)
    job_views.reserve_sidebar(_local.notice_slot)
    _local.link_slot = None
    _local.own_name = None
    _local.own_accounts = None
    state.start_run()
    try:
        _render_territory()
    finally:
        auth.render_account(st.sidebar, own_territory=_local.own_name)


def _render_territory() -> None:
    _local.rep_count = 1  # unknown until read: no notice
    who = scope()
    _refuse_foreign_rep(who)
    try:
        with data.snapshot() as snap:
            reps = data.cached(world.rep_options, snap, scope=who)
            fresh = data.cached(world.freshness, snap)
            counts = data.cached(world.counts, snap, scope=who)
            # every money figure of this run
            text.use_currency(data.cached(world.currency, snap), data.cached(world.mixed_currencies, snap))
    except PlannerError as exc:
        st.sidebar.error(data.error_text(exc))
        return
    names = dict(zip(reps["rep_id"], reps["name"], strict=True))
    _local.rep_count = len(names)
    if who.is_rep:
        _local.own_name = names.get(who.rep_id)
        _local.own_accounts = int(counts["accounts"])
    options = ([] if who.is_rep else [ALL]) + list(names)
    with st.sidebar:
        state.selectbox(
            "Territory",
            options,
            param="rep",
            key="sb_rep",
            default=options[0] if options else None,
            format_func=lambda r: "All territories" if r == ALL else names.get(r, r),
            url_text=lambda r: ALL_IN_URL if r == ALL else str(r),
            # Always written, a rep's own territory too: their link then opens the same territory for their leader
            # (a rep's id names nobody they may not know); a leader's All territories is written as rep=all.
            keep_default=True,
            help="Scope every page to one rep's territory.",
        )
        if fresh["is_demo"]:
            st.caption(":orange-badge[Demo data] synthetic accounts and deals")
        updated = fresh.get("data_updated_at") or "never"
        # Store-wide totals describe other territories too: a rep sees only the dates.
        totals = "" if who.is_rep else (
            f"{counts['accounts']:,} accounts · {counts['deals']:,} deals · {reps_text(counts)}  \n"
        )  # fmt: skip
        st.caption(f"{totals}Data as of {fresh.get('as_of') or 'n/a'} · updated {str(updated).replace('T', ' ')} UTC")
        _local.link_slot = st.container()


def reps_text(counts: dict[str, int]) -> str:
    """'15 reps', or '15 active reps (+1 inactive)': the active ones, as Overview counts them."""
    active, inactive = counts["active_reps"], counts["reps"] - counts["active_reps"]
    return f"{active:,} active reps (+{inactive:,} inactive)" if inactive else f"{active:,} reps"


def no_reps(what: str) -> bool:
    """With no reps in the store (an accounts or deals file without owners), say what needs them and how to
    add them; True when it said so. A rep always has a territory, so this never shows to one."""
    if getattr(_local, "rep_count", 1) or scope().is_rep:
        return False
    st.info(
        f"**No reps yet**: {what} needs reps. Import a team file (users or owners, one row per rep with a name "
        "and email), or accounts and deals files with an owner column, on the Data page.",
        icon=":material/group_add:",
    )
    st.page_link("pages/data.py", label="Import a team file", icon=":material/upload_file:")
    return True


def no_accounts() -> bool:
    """For a rep who owns no account yet, say so once, plainly, with the next step, instead of empty charts and
    tables (and causes that are not theirs); True when it said so. Leaders and admins see every territory."""
    if not scope().is_rep or getattr(_local, "own_accounts", None) != 0:
        return False
    st.info(
        "**No accounts are assigned to you yet**: ask your sales leader to assign you a territory. Once your "
        "accounts are in the CRM under your name and imported here, every page shows them.",
        icon=":material/person_search:",
    )
    return True


def rep_name(rep_id: str | None, reps: pd.DataFrame) -> str:
    if rep_id is None:
        return "All territories"
    match = reps.loc[reps["rep_id"] == rep_id, "name"]
    return str(match.iloc[0]) if len(match) else rep_id
