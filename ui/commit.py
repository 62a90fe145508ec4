"""The Rebalance page's commit: its buttons, a stale scenario's conflict with the owners changed since it was
computed (and what keeping them does to balance), the message after a commit, and the owner history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from planner import export, scenarios, text
from planner.errors import PlannerError
from planner.scope import Scope
from ui import data, fmt, tables
from ui.auth import md_text

DONE_KEY = "rb_committed"


def commit_controls(pick: int, status: str, scope: Scope, cells: Sequence[Any], labels: Mapping[str, str]) -> None:
    """The commit buttons of scenario `pick` in `cells` (admins only), after the conflict when owners changed since
    it was computed: a plain commit is then refused, and 'Commit, keeping later changes' merges."""
    if status == "committed":
        cells[0].caption("Committed: this is (or was) today's assignment.")
        return
    try:
        with data.snapshot() as snap:
            plan = data.cached(scenarios.merge_plan, snap, pick, scope=scope)
    except PlannerError as exc:
        data.show_error(exc)
    if plan["later_changes_kept"]:
        show_conflict(pick, plan, labels)
    if not scope.is_admin:
        cells[0].caption("Only an admin can commit.")
        return
    if cells[0].button(f"Commit as today's territories (#{pick})", key="rb_commit", icon=":material/done_all:"):
        _commit(pick, scope, keep_later=False)
    if plan["later_changes_kept"] and cells[1].button(
        "Commit, keeping later changes", key="rb_commit_keep", icon=":material/merge:",
        help="Commit the scenario's own moves; every owner changed since it was computed stays as it is today.",
    ):  # fmt: skip
        _commit(pick, scope, keep_later=True)


def _commit(pick: int, scope: Scope, *, keep_later: bool) -> None:
    try:
        st.session_state[DONE_KEY] = scenarios.commit(
            data.db_path(), pick, scope.user, scope=scope, keep_later=keep_later
        )
    except PlannerError as exc:
        st.error(data.error_text(exc))
        return
    st.rerun()


def show_conflict(pick: int, plan: dict[str, Any], labels: Mapping[str, str]) -> None:
    """How many owners changed since scenario `pick` was computed, which of them it moves too (conflicts), the
    accounts (a table and its CSV) and the balance with and without those changes."""
    later, conflicts = plan["later_changes_kept"], plan["conflicts_kept_today"]
    st.warning(
        f"Since scenario #{pick} was computed, {later:,} {'account has' if later == 1 else 'accounts have'} changed "
        f"owner (an import or another commit); {conflicts:,} of {'it' if later == 1 else 'them'} the scenario "
        "moves too (conflicts). Committing it as saved would undo those changes. 'Commit, keeping later changes' "
        f"keeps today's owner of each and commits the scenario's other {plan['moves_applied']:,} moves.",
        icon=":material/merge:",
    )
    table = plan["table"]
    # An account imported without a CRM id is keyed by its name ('name:acme|boston'): no id to show, a blank cell.
    table = table.assign(account_id=table["account_id"].map(text.crm_record_id))
    table = table.drop(columns=[] if (table["account_id"] != "").any() else ["account_id"])
    st.dataframe(
        table, hide_index=True, width="stretch", key="rb_conflicts", placeholder=fmt.MISSING,
        column_config={"account_id": "Account ID", "account_name": "Account", "owner_when_computed":
                       "Owner when computed", "scenario_owner": "Scenario's owner", "today_owner": "Today's owner",
                       "conflict": st.column_config.CheckboxColumn(
                           "Conflict", help="The scenario moves this account too: today's owner is kept")},
    )  # fmt: skip
    tables.download_button(
        st,
        "Later changes (CSV)", export.to_csv_bytes(table), file_name=f"later_changes_{pick}.csv", mime="text/csv",
        key="rb_dl_conflicts", on_click="ignore",
    )  # fmt: skip
    balance = plan["balance"]
    if len(balance):
        st.caption(f"Balance (max / mean across reps): {balance_text(balance, labels)}.")
    for note in plan["notes"]:
        st.caption(md_text(note, limit=400))


def balance_text(rows: Any, labels: Mapping[str, str]) -> str:
    """'Potential 1.04 as computed, 1.08 keeping later changes; ...' of _merge_balance's rows (a frame or records)."""
    records = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    return "; ".join(
        f"{labels.get(r['metric'], md_text(r['metric']))} {fmt.ratio(r['scenario_max_mean'])} as computed, "
        f"{fmt.ratio(r['merged_max_mean'])} keeping later changes"
        for r in records
    )


def show_committed(labels: Mapping[str, str]) -> None:
    """The message of the commit just made (once, after the rerun that shows the new status)."""
    det = st.session_state.pop(DONE_KEY, None)
    if not det:
        return
    kept = ""
    if det.get("keep_later"):
        kept = (
            f", keeping {det['later_changes_kept']:,} later owner changes ({det['conflicts_kept_today']:,} conflicts "
            "resolved to today's owner)"
        )
    st.success(
        f"Committed scenario #{det['scenario_id']} ({md_text(det['name'])}){kept}: "
        f"{scenarios.describe_changes(det)}. The previous assignment is kept as version {det['previous_version']}.",
        icon=":material/done_all:",
    )
    if det.get("balance"):
        st.caption(f"Balance after the merge (max / mean across reps): {balance_text(det['balance'], labels)}.")
    for note in det.get("balance_notes") or []:
        st.caption(md_text(note, limit=400))
    for note in det.get("notes") or []:
        st.warning(md_text(note, limit=600), icon=":material/person_alert:")


def owner_history(scope: Scope) -> None:
    """Who changed the territories, when and how, newest first (scenarios saved, committed and restored, and the
    imports that changed owners, with what they kept from a plan), in an expander with its download."""
    with data.snapshot() as snap:
        log = data.cached(scenarios.history, snap, scope=scope)
    if log.empty:
        return
    with st.expander(f"Owner history ({len(log):,} changes)", icon=":material/manage_history:"):
        table = log.assign(logged_at=log["logged_at"].astype(str).str.slice(0, 16))[["logged_at", "actor", "summary"]]
        st.dataframe(table, hide_index=True, width="stretch", key="rb_history", placeholder=fmt.MISSING,
                     column_config={"logged_at": "When (UTC)", "actor": "By", "summary": "What changed"})  # fmt: skip
        tables.csv_download(table, "owner_history.csv", key="rb_history_dl")
