"""What the importer tells the user about one table: notes on what it decided, warnings on what it could not
read (a field no column was read as is said, never left silently empty)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb

from planner.ingest import fields as F
from planner.scope import Scope, require_admin
from planner.store import imports as sq
from planner.text import listing, one_line

if TYPE_CHECKING:
    from planner.ingest import FileReport

# Fields a table of each kind is little use without: (kind, fields any of which will do, what is missing, the
# field to map, what the store holds without it).
EXPECTED = (
    ("deals", {"stage", "status", "is_won"}, "Stage (or Status, or Won)", "stage",
     "every deal counts as open: none won or lost"),
    ("deals", {"amount"}, "Amount", "amount", "deals have no value: pipeline and won amounts are 0"),
)  # fmt: skip
HOW_TO_MAP = "(`--map COLUMN={field}` on the command line, or the Data page's mapping)"


def _unread(columns: list[str], mapping: dict[str, str]) -> str:
    """The columns the mapping leaves unread, for a warning that asks which of them holds a field."""
    unread = [c for c in columns if mapping.get(c, F.IGNORE) in (F.IGNORE, F.ATTR)]
    if not unread:
        return ""
    return f"; columns not read as a field: {listing([repr(c) for c in unread], 10)}"


def missing_fields(report: FileReport, columns: list[str], mapping: dict[str, str], kind: str) -> None:
    """Warn of each field a deals file needs that no column was read as, naming the columns left unread."""
    mapped = set(mapping.values())
    for of_kind, fields, label, field, consequence in EXPECTED:
        if of_kind == kind and not mapped & fields:
            report.warnings.append(f"no column was read as {label}, so {consequence}; if the file has one, map "
                                   f"it {HOW_TO_MAP.format(field=field)}{_unread(columns, mapping)}")  # fmt: skip


def missing_owner(report: FileReport, columns: list[str], mapping: dict[str, str], ownerless: int,
                  kind: str) -> None:  # fmt: skip
    """Warn when a file without an owner column leaves accounts or deals without an owner (`ownerless` of them:
    deals take their account's owner, accounts their deals' owner, where those have one), and when an accounts file
    without one updates stored accounts, whose owners it keeps (its owner column may be one the importer missed)."""
    if set(mapping.values()) & {"owner", "owner_email"}:
        return
    if not ownerless:  # every one has an owner: a deal its account's, an account its deals' (said by the import)
        if kind == "deals":
            report.notes.append("no owner column: every deal took its account's owner")
        elif report.updated:  # a renamed owner column ('Account Owner Full Name') would drop the CRM's changes
            report.warnings.append(f"this file has no owner column: owners are kept as stored; if the file has one, "
                                   f"map it {HOW_TO_MAP.format(field='owner')}{_unread(columns, mapping)}")  # fmt: skip
        return
    where = "from this file" if kind == "deals" else "in the store"
    report.warnings.append(f"no column was read as Owner, so {ownerless:,} {kind} {where} have no owner (and no "
                           f"rep); if the file has one, map it {HOW_TO_MAP.format(field='owner')}"
                           f"{_unread(columns, mapping)}")  # fmt: skip


def explain(con: duckdb.DuckDBPyConnection, report: FileReport, result: dict[str, Any], kind: str, mapped: set[str],
            revenue_unit: str | None, *, scope: Scope) -> None:  # fmt: skip
    """Notes and warnings on what the importer decided for this table (its rows in _p, within the import)."""
    require_admin(scope)
    if report.deleted:
        report.notes.append(f"{report.deleted:,} row(s) deleted in the CRM were skipped (counted as rejected)")
    report.merged = result.get("merged", 0)
    if kind == "deals" and "id" not in mapped:
        report.notes.append("no deal ID column: deals are keyed by their account and deal name (plus created date "
                            "where present; deals sharing those by created time, owner and amount as written); "
                            "export the Opportunity ID to tell apart deals of one name")  # fmt: skip
    if kind == "accounts" and "id" not in mapped:
        report.notes.append("no account ID column: accounts are keyed by their normalised name (plus domain or "
                            "location where present)")  # fmt: skip
    if report.merged:
        report.notes.append(f"{report.merged:,} duplicate row(s) merged into the account of the same name "
                            "(counted as updated)")  # fmt: skip
    report.accounts_created = result.get("accounts_created", 0)
    if report.accounts_created:
        placed = int(result.get("accounts_placed") or 0)
        where = "no location" if not placed else f"{placed:,} placed by the address the deals give" + (
            ", the others without a location" if placed < report.accounts_created else "")  # fmt: skip
        report.notes.append(f"created {report.accounts_created:,} account(s) named only by deals (flagged "
                            f"'created from deals': {where}, no firmographics yet)")  # fmt: skip
    report.unlinked = result.get("unlinked", 0)
    if report.unlinked:
        report.notes.append(f"{report.unlinked:,} deal(s) have no account: kept as their owner's pipeline, "
                            "listed on the Data page as not linked to an account")  # fmt: skip
    if result.get("by_domain"):
        report.notes.append(f"{result['by_domain']:,} deal(s) linked to their account by its web domain (no account "
                            "ID or name in the file found it)")  # fmt: skip
    if result.get("joined"):
        joined, first = (one_line(str(v)) for v in result["joined_example"])
        report.notes.append(
            f"{result['joined']:,} deal(s) name several companies joined by ';' (e.g. '{joined}', as HubSpot writes "
            f"a deal's associated companies): each was linked to the first of them the store or file knows ('{first}'"
            "), and no account was made of the list; export 'Associated Company IDs (Primary)' to link the primary one"
        )
    if result.get("domain_shared"):
        report.warnings.append(
            f"{result['domain_shared']:,} deal(s) name a web domain several accounts share (e.g. "
            f"'{one_line(str(result['domain_example']))}'), so none was linked by it: export the deals with the "
            "associated company ID"
        )
    if kind == "deals":
        report.warnings += sq.implausible_deals(con, scope=scope)
    if kind == "accounts":
        contradictions = sq.geo_notes(con, scope=scope)
        if contradictions["count"]:
            report.warnings.append(
                f"{contradictions['count']:,} ZIP code(s) contradict their state (e.g. "
                f"{contradictions['example']}); the ZIP placed them: check those addresses"
            )
        if contradictions["ambiguous"]:
            report.warnings.append(
                f"{contradictions['ambiguous']:,} account(s) name only a city that several countries have, and no "
                f"country the file or the reps' homes use decides: {contradictions['ambiguous_example']}; add a "
                "country column to place them for sure"
            )
        unit = sq.revenue_scale(con, scope=scope)
        if unit and revenue_unit is None:
            revenue, employees = sq.median_revenue(con, scope=scope), sq.median_employees(con, scope=scope)
            report.warnings.append(
                f"annual revenue looks like it is written in {unit} (median {revenue:,.4g} for a "
                f"median of {employees:,.0f} employees); if so, import again with --revenue-unit "
                f"{unit} (or pick the unit on the Data page)"
            )


def owner_ids(mapping: dict[str, str]) -> bool:
    """True when the owner column says it holds user IDs ('OwnerId', 'manager_id', 'HubSpot Owner ID')."""
    words = [F.normalize_header(c).split() for c, f in mapping.items() if f == "owner"]
    return any(w and (w[-1] == "id" or w[-1].endswith("ownerid")) for w in words)


def user_label(source: str) -> str:
    """What a rep known only by a user ID of this CRM is called: 'Salesforce user', 'HubSpot user'..."""
    crm = F.SOURCE_LABELS.get(source, "").split(" ")[0]
    return f"{crm} user" if crm and not crm.startswith("Generic") else "CRM user"


def reps_created(report: FileReport, by_id: int, label: str, shared: Sequence[str] = ()) -> None:
    """Say how many reps the owners created, ask for the users file when owners were user IDs only, and warn of
    owner names several reps share (their accounts went to the first: a CRM tells its users apart by ID or email)."""
    if shared:
        shown = listing([f"'{one_line(n)}'" for n in shared], 5)
        report.warnings.append(
            f"owner names shared by several reps ({shown}): their rows went to the first such rep; export the "
            "owner's email or user ID with the file (or rename one rep) and import again"
        )
    if report.reps_created:
        report.notes.append(f"created {report.reps_created} rep(s) from owner names")
    if by_id:
        report.notes.append(
            f"{by_id} owner(s) are user IDs only (no name): each is a rep shown as '{label} <ID>' with the ID kept "
            "as their user ID; import a users file (User ID, Full Name) to name them"
        )
