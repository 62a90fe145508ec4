"""What a re-import of a CRM export did to the records the store already held, in words: rows found by name and
place, records removed as deleted in the CRM, rows that changed nothing, a file imported before, and stored
accounts a full export leaves out (removed only when asked: `--remove-missing`, the Data page's checkbox)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb

from planner.errors import BadInput
from planner.ingest import fields as F
from planner.scope import Scope, require_admin
from planner.store.imports import sync as sq
from planner.text import one_line

if TYPE_CHECKING:
    from planner.ingest import FileReport, Plan

# A file that matches at least this share of the stored accounts of its CRM is taken for a full export: only then
# are the stored accounts it leaves out said (a regional or partial export leaves out most of them by design).
FULL_EXPORT_SHARE = 0.5
REMOVE_MISSING = "--remove-missing (or the Data page's 'Remove stored accounts missing from this file')"


def check_remove_missing(plans: Sequence[Plan]) -> None:
    """--remove-missing takes full exports, at most one of accounts and one of deals: refuse a batch with neither or
    with several of a kind (which of them would be the full export?)."""
    for kind in ("accounts", "deals"):
        tables = [p.table.name for p in plans if p.kind == kind]
        if len(tables) > 1:
            raise BadInput(f"{REMOVE_MISSING} needs one {kind} file, a full export of the CRM's {kind}, and this "
                           f"import has {len(tables)} ({', '.join(tables)}): import the full {kind} export alone "
                           "with it")  # fmt: skip
    if not any(p.kind in ("accounts", "deals") for p in plans):
        raise BadInput(f"{REMOVE_MISSING} needs one accounts file or one deals file, a full export of the CRM's "
                       "accounts or deals, and this import has no accounts file and no deals file: import the full "
                       "export with it")  # fmt: skip


def without_blank_id(con: duckdb.DuckDBPyConnection, by_field: dict[str, str], kind: str, report: FileReport, *,
                     scope: Scope) -> dict[str, str]:  # fmt: skip
    """`by_field` (field -> column) without its ID column when that column is blank in every row: such a file
    (a rebalance's owner file of a book imported without IDs) is read as one without the column, its records
    found by name as the first import found them; a column blank in some rows only keeps the ID rule (those
    rows are rejected: the importer needs an ID in every row of a file that has one)."""
    require_admin(scope)
    column = by_field.get("id")
    if kind not in ("accounts", "deals") or column is None or not sq.blank_in_every_row(con, column, scope=scope):
        return by_field
    report.notes.append(f"the ID column '{one_line(column)}' is blank in every row: the file is read as one "
                        "without it (no row is rejected for a blank ID)")  # fmt: skip
    return {f: c for f, c in by_field.items() if f != "id"}


def fill_repeated(con: duckdb.DuckDBPyConnection, mapping: dict[str, str], kind: str, report: FileReport, *,
                  scope: Scope) -> None:  # fmt: skip
    """A header written twice ('City' and 'City', read as 'City' and 'City (2)'): the column read as a field takes
    the repeat's value where it is blank, and a warning says so (the repeat stays a custom attribute or unread)."""
    require_admin(scope)
    for column, repeat in F.repeated_columns(mapping):
        filled, differ = sq.fill_from_repeat(con, column, repeat, scope=scope)
        what = f"{filled:,} blank cell(s) of the first were filled from the second" if filled else "nothing blank"
        clash = f"; {differ:,} row(s) where the two differ keep the first's value" if differ else ""
        report.warnings.append(f"the header '{one_line(column)}' appears twice: the first column was read as "
                               f"{F.FIELD_BY_NAME[kind][mapping[column]].label}, {what}{clash} (the second "
                               f"is '{one_line(repeat)}')")  # fmt: skip


def reconcile(con: duckdb.DuckDBPyConnection, report: FileReport, plan: Plan, remove_missing: bool, actor: str, *,
              scope: Scope) -> None:  # fmt: skip
    """After a table's merge: say what its rows did to stored records (report notes, warnings, `unchanged`),
    remove the stored accounts a full export leaves out when asked, and audit every removal."""
    require_admin(scope)
    kind = plan.kind
    if kind not in ("accounts", "deals"):
        report.unchanged = sq.count_unchanged(con, "reps", [], scope=scope)
        return
    if kind == "accounts":
        found = sq.by_name(con, scope=scope)
        if found["matched"]:
            report.notes.append(
                f"{found['matched']:,} row(s) matched stored accounts by name and place"
                + (
                    f" ({found['attached']:,} of those accounts had no CRM ID and now have the file's)"
                    if found["attached"]
                    else ""
                )  # fmt: skip
            )
    gone = sq.removed(con, scope=scope)
    if gone["count"]:
        with_deals = f" with their {gone['deals']:,} deal(s)" if kind == "accounts" else ""
        report.notes.append(f"{gone['count']:,} {kind} deleted in the CRM were removed from the store{with_deals} "
                            f"(counted as updated), e.g. {_names(gone['names'])}")  # fmt: skip
        sq.audit(con, actor, f"import_remove_deleted_{kind}",
                 {"import_id": report.import_id, "file": report.file, "ids": gone["ids"], "deals": gone["deals"]},
                 scope=scope)  # fmt: skip
    attrs = [F.attribute_key(c) for c, f in plan.mapping.items() if f == F.ATTR] if kind == "accounts" else []
    report.unchanged = sq.count_unchanged(con, kind, attrs, scope=scope)
    if report.import_id is not None and (before := sq.same_file(con, report.import_id, scope=scope)):
        report.notes.append(f"this file is identical to import #{before['import_id']} ('{one_line(before['file'])}' "
                            f"of {before['finished_at']:%Y-%m-%d %H:%M}): the same SHA-256")  # fmt: skip
    _missing(con, report, kind, plan.source, remove_missing, actor, scope)


def _missing(con: duckdb.DuckDBPyConnection, report: FileReport, kind: str, source: str, remove: bool, actor: str,
             scope: Scope) -> None:  # fmt: skip
    """Say (or, asked to, remove) the stored accounts or deals of this file's CRM that a full export leaves out
    (report.missing: count, examples, removed)."""
    m = (
        sq.missing_accounts(con, source, scope=scope)
        if kind == "accounts"
        else sq.missing_deals(con, source, scope=scope)
    )
    full = m["stored"] > 0 and m["matched"] >= FULL_EXPORT_SHARE * m["stored"]
    flag = REMOVE_MISSING if kind == "accounts" else "--remove-missing"  # the Data page offers it for accounts
    if remove and not full:
        raise BadInput(
            f"{flag}: {report.file} matches {m['matched']:,} of the {m['stored']:,} stored {kind} of its "
            f"CRM, so it is not a full export of {kind} and nothing was imported; export all {kind} (no filter) "
            "and import that file with it"
        )
    if not full:
        return
    report.missing = {"count": m["missing"], "examples": m["examples"][:3], "removed": 0}
    if not m["missing"]:
        return
    with_deals = " with their deals" if kind == "accounts" else ""
    if not remove:
        keep = "owners, deals and scores" if kind == "accounts" else "owners and amounts (pipeline, won history)"
        report.warnings.append(
            f"{m['missing']:,} stored {kind[:-1]}(s) are not in this file (e.g. {_names(m['examples'])}): deleted or "
            f"merged in the CRM? They keep their {keep} until removed: if this file is the full export of {kind}, "
            f"import it again with {flag} to remove them{with_deals}"
        )
        return
    done = sq.remove_missing(con, kind, scope=scope)
    report.missing["removed"] = done["count"]
    counted = f" with their {done['deals']:,} deal(s)" if kind == "accounts" else ""
    report.notes.append(f"removed {done['count']:,} stored {kind[:-1]}(s) missing from this full export (e.g. "
                        f"{_names(m['examples'])}){counted}, as asked")  # fmt: skip
    sq.audit(con, actor, f"import_remove_missing_{kind}",
             {"import_id": report.import_id, "file": report.file, "ids": done["ids"], "deals": done["deals"]},
             scope=scope)  # fmt: skip


def _names(names: Sequence[Any]) -> str:
    shown = [f"'{one_line(str(n))}'" for n in names[:3] if n is not None]
    return ", ".join(shown) + (" and more" if len(names) > 3 else "") if shown else "unnamed ones"
