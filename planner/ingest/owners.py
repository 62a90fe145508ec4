"""Owners across one import: a committed plan's owners met again by a CRM export (a three-way merge, with a version
kept before any owner changes), reps a users export leaves out or deactivates while they own accounts, what the
tables together imply (owners from deals, customers, rep homes) and the import's audit entry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb

from planner import geo
from planner.ingest import explain
from planner.ingest.fields import IGNORE
from planner.scope import Scope, require_admin
from planner.store import imports as sq
from planner.store import scenarios as sc
from planner.store.imports import sync as ss
from planner.text import listing, one_line

if TYPE_CHECKING:
    from planner.ingest import FileReport, Plan, _Job

OWNER_RULE = "the owner of the account's most recent open deal, else of its most recent won deal"
FROM_FILE = "`--owners-from-file` on the command line, 'Take every owner from the file' on the Data page"
RETIRE = ("list them with Active = false in the users file and import it, or pick them in 'Remove reps' on the "
          "Rebalance page and commit")  # fmt: skip


def merge_accounts(con: duckdb.DuckDBPyConnection, mapped: set[str], source: str, report: FileReport, job: _Job, *,
                   scope: Scope) -> dict[str, int]:  # fmt: skip
    """Merge an accounts table (sq.merge_accounts), its owners three-way with the owners committed scenarios set
    (sq.plan_owners); keep a version of today's owners first when it changes any; say what it kept and took, and
    mark the scenarios whose moves it reverts (every owner taken from the file)."""
    require_admin(scope)
    if mapped & {"owner", "owner_email"}:
        _say_former_names(con, report, scope)
        merged = sq.plan_owners(con, job.owners_from_file, scope=scope)
        _before_owner_changes(con, merged, report, job, scope)
        _say_plan_owners(report, merged, "account(s)")
        sc.mark_reverted(con, merged["reverted_by_scenario"], report.import_id, scope=scope)
    return sq.merge_accounts(con, mapped, source, scope=scope)


def merge_deals(con: duckdb.DuckDBPyConnection, mapped: set[str], source: str, report: FileReport, job: _Job, *,
                scope: Scope) -> dict[str, Any]:  # fmt: skip
    """Merge a deals table (sq.merge_deals), the owners of open deals three-way with the owners committed scenarios
    gave their accounts (sq.plan_deal_owners, the accounts' rule); keep a version first when it changes any open
    deal's owner; say what it kept and took."""
    require_admin(scope)
    if mapped & {"owner", "owner_email"}:
        _say_former_names(con, report, scope)
        merged = sq.plan_deal_owners(con, job.owners_from_file, scope=scope)
        _before_owner_changes(con, merged, report, job, scope)
        _say_plan_owners(report, merged, "open deal(s)")
    return sq.merge_deals(con, mapped, source, scope=scope)


def _say_former_names(con: duckdb.DuckDBPyConnection, report: FileReport, scope: Scope) -> None:
    """Note the owners written by the name a rep had before a users file renamed them (the export is older)."""
    if found := sq.owners_by_former_name(con, scope=scope):
        shown = listing([f"'{one_line(old)}' is {one_line(now)}" for old, now in found], 5, "; ")
        report.notes.append(f"{len(found):,} owner(s) matched by a former name ({shown}): the rep was renamed "
                            "by a users file; export this file again to write the names of today")  # fmt: skip


def _before_owner_changes(con: duckdb.DuckDBPyConnection, merged: dict[str, Any], report: FileReport, job: _Job,
                          scope: Scope) -> None:  # fmt: skip
    """Count the owners this table changes (for the audit) and keep a version of today's owners before the first."""
    report.owner_changes, report.owners_reverted = merged["owner_changes"], merged["reverted"]
    if merged["owner_changes"]:
        sq.version_before_import(con, job.imported_by, f"before import #{report.import_id} ({report.file})",
                                 scope=scope)  # fmt: skip


def _scenario_names(merged: dict[str, Any]) -> str:
    return ", ".join(f"#{s['scenario_id']} {one_line(str(s['name']))} (committed {str(s['committed_at'])[:10]})"
                     for s in merged["scenarios"])  # fmt: skip


def _owner(name: Any) -> str:
    """An owner's name in a line of text; an account or deal left without one (a scenario may unassign it) says so."""
    return one_line(str(name)) if name is not None else "no owner"


def _say_plan_owners(report: FileReport, merged: dict[str, Any], what: str) -> None:
    """Say what the three-way merge of `what` (accounts, open deals) kept and took."""
    kept, conflicts, reverted = merged["kept"], merged["conflicts"], merged["reverted"]
    report.owners_kept_from_plan, report.owner_conflicts = kept, conflicts
    which = _scenario_names(merged)
    if kept:
        report.notes.append(
            f"{kept:,} {what} keep the owner scenario {which} gave them: this file still names their owner "
            f"before the commit (the CRM was not updated yet?); to take every owner from the file instead, import "
            f"again with {FROM_FILE}"
        )
    if reverted:
        report.warnings.append(
            f"{reverted:,} {what} moved by scenario {which} got their owner before the commit back from this "
            "file (every owner taken from the file); the owners before this import are kept as a version: restore "
            "it on the Rebalance page"
        )
    if conflicts:
        shown = listing([f"{one_line(str(c.get('deal') or c['account']))}: plan {_owner(c['plan_owner'])}, "
                         f"file {_owner(c['file_owner'])}" for c in conflicts], 5, "; ")  # fmt: skip
        report.warnings.append(
            f"{len(conflicts):,} {what} moved by scenario {which} have a third owner in this file (the CRM "
            f"changed them after the commit): the file's owner was taken ({shown})"
        )


def merge_reps(con: duckdb.DuckDBPyConnection, mapped: set[str], source: str, *, scope: Scope) -> dict[str, int]:
    """Merge a users table (sq.merge_reps) and remember which reps it lists, for `after_tables` to name the active
    reps no users file of the import lists (a fingerprint of the stored reps first: sync counts those unchanged)."""
    ss.snapshot(con, "reps", scope=scope)
    result = sq.merge_reps(con, mapped, source, scope=scope)
    sq.remember_listed_reps(con, scope=scope)
    return result


def implied(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> list[str]:
    """What the files together imply: owners from deals, customers from won deals, inferred rep homes."""
    require_admin(scope)
    notes = []
    owned = sq.owners_from_deals(con, scope=scope)
    if owned:
        notes.append(f"{owned:,} account(s) without an owner got one from their deals: {OWNER_RULE}")
    customers = sq.customers_from_deals(con, scope=scope)
    if customers:
        notes.append(f"{customers:,} account(s) count as customers because they have won deals")
    homes = sq.infer_rep_homes(con, geo.weighted_medoid, scope=scope)
    if homes:
        notes.append(f"{homes:,} rep(s) without a home got one at the place of their accounts with the least "
                     "travel to the others (set it on the Data page or with `python -m planner rep-home`)")  # fmt: skip
    return notes


def after_tables(con: duckdb.DuckDBPyConnection, plans: list[Plan], reports: dict[int, FileReport], job: _Job, *,
                 scope: Scope) -> list[str]:  # fmt: skip
    """Once every table landed: what they imply (notes returned), an accounts file without an owner column, reps
    left out of the users files or deactivated while they own accounts, and the audit entry."""
    require_admin(scope)
    notes = implied(con, scope=scope)
    for i, r in reports.items():
        if r.kind == "accounts":
            ownerless = sq.ownerless_accounts(con, scope=scope)
            explain.missing_owner(r, plans[i].table.columns, plans[i].mapping, ownerless, "accounts")
    people = [r for r in reports.values() if r.kind == "reps"] or [r for r in reports.values() if r.kind == "accounts"]
    said = people[-1].warnings if people else notes
    if any(r.kind == "reps" for r in reports.values()):
        _say_unlisted(sq.unlisted_reps(con, scope=scope), sq.listed_reps(con, scope=scope), said, notes)
        _say_shared_names(sq.shared_rep_names(con, scope=scope), said)
    for i, r in reports.items():
        if r.kind == "reps" and (unread := [c for c in plans[i].table.columns if plans[i].mapping.get(c) == IGNORE]):
            r.notes.append(f"columns not used: {listing([repr(one_line(c)) for c in unread], 10)} (map one to a "
                           "field on the Data page, or with `--map COLUMN=field`, to keep it)")  # fmt: skip
    if people and (inactive := sq.inactive_owners(con, scope=scope)):
        said.append(
            f"{_who(inactive)} {'is' if len(inactive) == 1 else 'are'} inactive and still own"
            f"{'s' if len(inactive) == 1 else ''} accounts, which are in no active territory (the optimizer and "
            "Coverage leave them out): give them new owners (import the accounts with their new owner, or run the "
            "optimizer on the Rebalance page and commit)"
        )
    _audit(con, reports, job)
    return notes


def _who(reps: list[tuple[str, int]], limit: int = 10) -> str:
    """'Paul Wagner (0 accounts), Mia Becker (41 accounts) and 3 more'."""
    return listing([f"{one_line(name)} ({n:,} account{'s' * (n != 1)})" for name, n in reps], limit)


def _say_shared_names(shared: list[tuple[str, list[str]]], warnings: list[str]) -> None:
    """Warn of names several active reps share: accounts and deals that name their owner only so go to the first."""
    if shared:
        shown = listing([f"'{one_line(n)}' ({', '.join(one_line(w) for w in who)})" for n, who in shared], 5, "; ")
        warnings.append(
            f"owner names shared by several reps: {shown}; an accounts or deals file that names the owner only by "
            "this name gives the rows to the first: export the owner's email or user ID with it (or rename one rep)"
        )


def _say_unlisted(unlisted: list[tuple[str, int]], listed: int, warnings: list[str], notes: list[str]) -> None:
    """Name the active reps the users files leave out: a warning (a rep who left keeps sign-in and territory until
    retired); a note when the files list fewer reps than they leave out (an update of some reps, not the team)."""
    if not unlisted:
        return
    if listed < len(unlisted):
        notes.append(f"the users file(s) list {listed:,} of {listed + len(unlisted):,} reps (an update of some "
                     f"reps, not a full export?): the others are kept as they are: {_who(unlisted, 5)}")  # fmt: skip
        return
    owning = any(n for _, n in unlisted)
    if len(unlisted) == 1:
        lead = f"{one_line(unlisted[0][0])} is not in this users file and owns {unlisted[0][1]:,} account(s)"
    else:
        lead = f"{len(unlisted):,} active reps are not in this users file: {_who(unlisted)}"
    warnings.append(
        f"{lead}: a rep who left keeps their sign-in and a territory until retired: "
        + ("give their accounts new owners, then " if owning else "")
        + f"retire them ({RETIRE})"
    )


def _audit(con: duckdb.DuckDBPyConnection, reports: dict[int, FileReport], job: _Job) -> None:
    """One audit entry per import: its files and counts, and what it did to owners (the version kept before)."""
    files = [{"file": r.file, "kind": r.kind, "import_id": r.import_id, "rows_read": r.rows_read,
              "inserted": r.inserted, "updated": r.updated, "rejected": r.rejected,
              "owners_kept_from_plan": r.owners_kept_from_plan, "owner_conflicts": len(r.owner_conflicts),
              "owner_changes": r.owner_changes, "reverted": r.owners_reverted}
             for r in reports.values()]  # fmt: skip
    detail = {"files": files, "owners_from_file": job.owners_from_file,
              "previous_version": sq.import_version(con, scope=job.scope),
              "owner_changes": sum(r.owner_changes for r in reports.values()),
              "reverted": sum(r.owners_reverted for r in reports.values())}  # fmt: skip
    sc.audit(con, job.imported_by, "import", detail, scope=job.scope)
