"""The Rebalance page's what-if for a rep who leaves: who takes over their book (a handover, no solver), as
`balance --remove-rep R --successor S` does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st


def successor(active: Sequence[str], remove: Sequence[str], names: Mapping[str, str]) -> str | None:
    """The rep who takes every account of the reps removed (None: share them out among the others)."""
    stay = [r for r in active if r not in set(remove)]
    return st.selectbox(
        "Their accounts go to", [None, *stay], key="rb_successor", disabled=not remove,
        format_func=lambda r: "Shared out by the optimizer" if r is None else names.get(r, r),
        help="One rep takes over the whole book of the reps removed (a handover: no other account moves).",
    )  # fmt: skip
