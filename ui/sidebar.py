"""The sidebar every page shares: which territory is in view, and how fresh the data is."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from planner.errors import PlannerError
from planner.scope import Scope
from planner.store import world
from ui import data, state

ALL = "__all__"


def scope() -> Scope:
    """Who is using the app. Local single-user mode is an admin; sign-in narrows it."""
    return st.session_state.get("_scope") or Scope(role="admin", user="local")


def selected_rep() -> str | None:
    """The rep_id chosen in the sidebar, or None for all territories."""
    value = st.session_state.get("sb_rep", ALL)
    return None if value in (None, ALL) else str(value)


def render() -> None:
    try:
        with data.snapshot() as snap:
            reps = data.cached(world.rep_options, snap, scope())
            fresh = data.cached(world.freshness, snap)
            counts = data.cached(world.counts, snap)
    except PlannerError as exc:
        st.sidebar.error(str(exc))
        return
    names = dict(zip(reps["rep_id"], reps["name"], strict=True))
    options = ([] if scope().is_rep else [ALL]) + list(names)
    with st.sidebar:
        state.selectbox(
            "Territory",
            options,
            param="rep",
            key="sb_rep",
            default=options[0] if options else None,
            format_func=lambda r: "All territories" if r == ALL else names.get(r, r),
            help="Scope every page to one rep's territory.",
        )
        if fresh["is_demo"]:
            st.caption(":orange-badge[Demo data] synthetic accounts and deals")
        updated = fresh.get("data_updated_at") or "never"
        st.caption(
            f"{counts['accounts']:,} accounts · {counts['deals']:,} deals · {counts['reps']} reps  \n"
            f"Data as of {fresh.get('as_of') or 'n/a'} · updated {str(updated).replace('T', ' ')} UTC"
        )


def rep_name(rep_id: str | None, reps: pd.DataFrame) -> str:
    if rep_id is None:
        return "All territories"
    match = reps.loc[reps["rep_id"] == rep_id, "name"]
    return str(match.iloc[0]) if len(match) else rep_id
