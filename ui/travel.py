"""The Rebalance page's travel from a routing engine: the matrix file to upload and the pairs to route."""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from planner import export, scenarios
from planner.errors import PlannerError
from planner.optimize.matrix import LEFT_OUT_NOTE
from planner.scope import Scope
from ui import data, tables

# Above this many rep x destination pairs the page does not offer the file: about 80 bytes a row, so 2,000,000
# rows is some 160 MB made and held in the app for one click (200 reps x 30,000 ZIPs of a 1M-account book would be
# 6M); `balance --travel-template` writes any size.
PAGE_MAX_PAIRS = 2_000_000


def matrix_identity(matrix: tuple[str, bytes] | None) -> tuple[str, str] | None:
    """Which travel matrix a run used or the uploader holds: its name and a hash of its bytes (a file swapped
    for another, even of the same name, or removed, changes the run's settings)."""
    return None if matrix is None else (matrix[0], hashlib.blake2b(matrix[1], digest_size=16).hexdigest())


def matrix_inputs(scope: Scope) -> Any:
    """The expander with the travel matrix uploader and the 'Pairs to route' download; returns the uploaded file."""
    with st.expander("Travel from a routing engine (optional)", icon=":material/route:"):
        matrix_file = st.file_uploader(
            "Travel matrix (CSV: from,to and minutes, seconds, hours, km, metres or miles)", type=["csv"],
            key="rb_matrix",
            help="Rows between rep (id or email) and account id, or between postal codes, as a routing engine "
            "exports them; the ends may be named source/origin and destination/target, OSRM's `duration` is read as "
            "seconds and `distance` as metres. The filled 'Pairs to route' file is one. Without it, travel is "
            "great-circle km from rep homes.",
        )  # fmt: skip
        try:
            with data.snapshot() as snap:
                pairs, left_out = data.cached(scenarios.route_pair_count, snap, scope=scope)
        except PlannerError as exc:
            data.show_error(exc)
            return matrix_file
        if pairs > PAGE_MAX_PAIRS:
            st.caption(
                f"Pairs to route: {pairs:,} rep x destination pairs, too many to download here; "
                "`python -m planner balance --travel-template pairs.csv` writes them."
            )
            return matrix_file
        tables.download_button(
            st,
            "Pairs to route (CSV)",
            data=lambda: export.to_csv_bytes(data.fresh(scenarios.route_pairs, scope=scope)),
            file_name="pairs_to_route.csv", mime="text/csv", key="rb_dl_pairs", on_click="ignore",
            help="Every rep x postal code (or account) pair with both ends' coordinates and an empty minutes column: "
            "fill it from a routing engine and upload it here (or `balance --travel-matrix`).",
        )  # fmt: skip
        st.caption(f"{pairs:,} rep x destination pairs to price.")
        if left_out:
            st.caption(LEFT_OUT_NOTE.format(n=f"{left_out:,}"))
    return matrix_file
