"""Reading real CRM exports into the store: detect source and kind, map columns, normalise,
validate, geocode offline and merge by CRM ID, all-or-nothing.

`inspect_file` proposes how a file would be read (for the Data page); `import_files` imports one
or more files in one store write; `ImportReport` says what happened to every row.

Counting: rows_read = inserted + updated + rejected for every file. Blank lines and report footers
("Grand Totals (12 records)", copyright lines) are not rows. A row whose CRM ID is already in the
store counts as updated whether or not a value changed (`unchanged` counts those that changed nothing: they keep
their stored values and updated_at), so importing the same file twice changes no data (only the history).
A record that cannot be read as CSV (more fields than the header, a stray or unclosed quote, a row
that is not UTF-8 after the encoding fallbacks) is rejected on its own with its row number and reason
and its text kept; the other rows are imported. A row with fewer fields than the header is read with
the missing cells empty. Only a field over 4 MB makes the whole file unusable.

Row numbers are what a spreadsheet shows for the file: the file's first line is row 1 (the header,
unless report title lines come before it), every record is one row even when a quoted value spans
several lines, and blank lines count as rows. For Excel sheets they are the sheet's own row numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from planner import geo_world, potential, store
from planner.errors import BadInput, ImportFileError
from planner.ingest import currency, dates, explain, owners, parse, reader, rules, sync
from planner.ingest import fields as F
from planner.ingest.edits import forget_mapping, locate, parse_as_of, rep_homes, set_as_of, set_rep_home
from planner.ingest.reader import Table, open_tables
from planner.scope import Scope, require_leader, require_role
from planner.store import imports as sq
from planner.store import world

__all__ = ["forget_mapping", "locate", "parse_as_of", "rep_homes", "set_as_of", "set_rep_home"]

Progress = Callable[[float, str], None]
AfterImport = Callable[..., list[str]]  # run once rows landed, e.g. propensity.score_new_accounts: its notes
KIND_ORDER = {"reps": 0, "accounts": 1, "deals": 2}
REVENUE_UNITS = {"units": 1.0, "thousands": 1e3, "millions": 1e6}


class _NothingLanded(Exception):
    """Raised inside the store write when no row of any file was inserted or updated (rolls it back)."""


def _noop(fraction: float, message: str) -> None:
    return None


@dataclass
class Plan:
    """How one table will be read: detected source and kind, and the column mapping."""

    table: Table
    source: str
    kind: str | None
    mapping: dict[str, str]
    kind_scores: dict[str, int]
    remembered: bool = False

    @property
    def signature(self) -> str:
        return column_signature(self.table.columns)


@dataclass
class FileReport:
    """What happened to one file (or one sheet)."""

    file: str
    source: str
    kind: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int | None = None  # of the updated rows, those that changed nothing
    rejected: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    attributes: list[dict[str, str]] = field(default_factory=list)
    geocoding: dict[str, Any] = field(default_factory=dict)
    reps_created: int = 0
    footer_rows: int = 0
    blank_rows: int = 0
    deleted: int = 0
    merged: int = 0
    owners_kept_from_plan: int = 0  # accounts that keep a committed scenario's owner (ingest.owners)
    owner_conflicts: list[dict[str, Any]] = field(default_factory=list)  # ... that the CRM changed since: taken
    owner_changes: int = 0  # stored accounts (open deals) whose owner this file changed, and of those given back
    owners_reverted: int = 0  # ... to their owner before a committed scenario (owners_from_file)
    missing: dict[str, Any] | None = None  # stored records a full export leaves out: count, examples, removed
    accounts_created: int = 0
    unlinked: int = 0
    import_id: int | None = None
    seconds: float = 0.0

    def contract(self) -> dict[str, Any]:
        """The CLI's --json entry for this file (the documented keys, the text report's notes, warnings; then how many
        of the updated rows changed nothing)."""
        return {
            "file": self.file, "source": self.source, "kind": self.kind, "rows_read": self.rows_read,
            "inserted": self.inserted, "updated": self.updated, "rejected": self.rejected,
            "rejects": self.rejects[:100], "notes": self.notes, "warnings": self.warnings,
            "owners_kept_from_plan": self.owners_kept_from_plan, "owner_conflicts": self.owner_conflicts,
            "unchanged": self.unchanged, "accounts_missing": self.missing if self.kind == "accounts" else None,
            "deals_missing": self.missing if self.kind == "deals" else None,
        }  # fmt: skip


@dataclass
class ImportReport:
    files: list[FileReport]
    cleared_demo: bool = False
    seconds: float = 0.0
    landed: bool = True  # False: no row could be imported and the store was left exactly as it was
    notes: list[str] = field(default_factory=list)

    def contract(self) -> dict[str, Any]:
        return {"files": [f.contract() for f in self.files], "notes": self.notes}


def column_signature(columns: Sequence[str]) -> str:
    """Files with the same set of columns share a remembered mapping."""
    key = "\n".join(sorted(F.normalize_header(c) + "|" + c.strip() for c in columns))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def plan_table(table: Table, kind: str = "auto", remembered: dict[str, Any] | None = None) -> Plan:
    """Detect source and kind and propose a mapping; a remembered mapping for these columns wins."""
    source = F.detect_source(table.columns)
    detected, scores = F.detect_kind(table.columns, table.name)
    detected = None if F.is_pivot(table.columns) else detected
    if remembered and (kind == "auto" or kind == remembered["kind"]):
        mapping = {c: remembered["mapping"].get(c, F.IGNORE) for c in table.columns}
        return Plan(table, remembered.get("source") or source, remembered["kind"], mapping, scores, remembered=True)
    chosen = detected if kind == "auto" else kind
    mapping = F.propose_mapping(table.columns, chosen) if chosen else {}
    return Plan(table, source, chosen, mapping, scores)


def check_plan(plan: Plan, requested: str = "auto") -> None:
    """Refuse tables that cannot be imported as their kind, with the reason and the fix."""
    t = plan.table
    if plan.kind is None:
        raise ImportFileError(F.unknown_kind(t.name, t.columns))
    mapped = set(plan.mapping.values())
    detected = max(plan.kind_scores, key=lambda k: plan.kind_scores[k])
    wrong_kind = requested != "auto" and detected != plan.kind and plan.kind_scores[detected] >= 3
    missing = [f for f in F.REQUIRED[plan.kind] if f not in mapped]
    if plan.kind == "reps" and not mapped & {"name", "email", "first_name", "last_name"}:
        missing.append("name or email")
    if plan.kind == "deals" and not mapped & {"account_id", "account_name", "account_domain", "owner", "owner_email"}:
        missing.append("account ID, account name or owner")
    elif plan.kind == "deals" and "id" not in mapped and (wrong_kind or not mapped & {"account_id", "account_name",
                                                                                     "name"}):  # fmt: skip
        missing.append("Deal ID")
    if plan.kind == "accounts" and not mapped & {"id", "name"}:
        missing.append("account ID or account name")
    if missing and wrong_kind:
        raise ImportFileError(
            f"{t.name} looks like an export of {detected}, not {plan.kind}; pass --kind {detected} (or --kind auto)"
        )
    if missing:
        what = ", ".join(F.FIELD_BY_NAME[plan.kind][m].label if m in F.FIELD_BY_NAME[plan.kind] else m for m in missing)
        hints = {
            "Deal ID": "the record ID (e.g. 'Opportunity ID', 'Id' or 'Record ID')",
            "account ID, account name or owner": "the deal's account ('Account Name' or 'Account ID') or its owner",
            "account ID or account name": "the account name or ID",
            "name or email": "names or emails",
        }  # what each missing field is exported as (the hint names only what is missing)
        hint = " and ".join(dict.fromkeys(hints.get(m, m) for m in missing))
        raise ImportFileError(
            f"{t.name} has no {what} column for {plan.kind}; export it with {hint}, or map a column to it "
            + explain.HOW_TO_MAP.format(field="FIELD")
        )  # fmt: skip
    if not t.sample:
        raise ImportFileError(f"{t.name} has a header but no data rows; export the report again with its rows")
    F.validate_mapping(plan.mapping, plan.kind)


def skip_reason(plan: Plan) -> str | None:
    """Why a table holds nothing to import as it is (a pivot table, a product list, a summary sheet), or None: a
    workbook's other sheets are imported without it."""
    if F.is_pivot(plan.table.columns):
        return "a pivot table"
    if plan.kind is None:
        return F.no_kind_reason(plan.table.columns)
    try:
        check_plan(plan)
    except ImportFileError as exc:
        return str(exc).removeprefix(plan.table.name).strip()
    return None


def inspect_file(db_path: Path | None, path: Path, display: str | None = None, kind: str = "auto",
                 workdir: Path | None = None) -> list[Plan]:  # fmt: skip
    """Open a file and propose how each of its tables would be imported (nothing is written).

    The plans keep columns and sample rows; scratch copies made while reading are removed."""
    scratch = Path(tempfile.mkdtemp(prefix="planner-inspect-")) if workdir is None else workdir
    try:
        tables = open_tables(path, display, scratch)
    finally:
        if workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    plans = []
    remembered: dict[str, Any] = {}
    if db_path is not None and store.exists(db_path):
        with store.read(db_path) as con:
            for t in tables:
                remembered[t.name] = sq.remembered_mapping(con, column_signature(t.columns))
    for t in tables:
        plans.append(plan_table(t, kind, remembered.get(t.name)))
    return plans


@store.retry_conflicts
def import_files(
    db_path: Path,
    files: Sequence[Path | tuple[Path, str]],
    kind: str = "auto",
    *,
    overrides: dict[str, dict[str, Any]] | None = None,
    imported_by: str = "local",
    progress: Progress = _noop,
    scope: Scope,
    revenue_unit: str | None = None,
    as_of: Any = None,
    after: AfterImport | None = None,
    owners_from_file: bool = False,
    remove_missing: bool = False,
) -> ImportReport:
    """Import every table of every file in one all-or-nothing write (admins only).

    An import that lands no row (every row rejected) writes nothing: the store stays byte-identical, and
    the report says so (`landed` False). A demo world is replaced only by an import that lands rows.
    `revenue_unit` (units, thousands, millions) scales annual revenue the file writes in those units.
    `as_of` (a date, or "auto") fixes the store's as-of date in the same write. Owners a committed scenario set
    stay where the file still names the owner before it, unless `owners_from_file` (ingest.owners).

    `scope` is the caller: pages pass the signed-in user's; the CLI and scripts run as the local
    operator, an admin.

    `after(db_path, since, progress, actor=, scope=)` runs once rows have landed; its notes join the report's.
    `remove_missing` removes the stored records the accounts file and the deals file, full exports, leave out (sync).
    `overrides` maps a table name to {"kind": ..., "mapping": {...}} chosen in the UI. A detected table that
    cannot be used is skipped and named when others come with it; else ImportFileError, and nothing is written.
    """
    require_role(scope, "admin")
    if revenue_unit is not None and revenue_unit not in REVENUE_UNITS:
        raise BadInput(f"revenue unit {revenue_unit!r} is unknown; use one of {', '.join(REVENUE_UNITS)}")
    start, since, workdir = time.perf_counter(), store.now(), Path(tempfile.mkdtemp(prefix="planner-import-"))
    try:
        progress(0.02, "Reading files")
        plans, skipped = _plan_files(db_path, files, kind, overrides or {}, workdir)
        if remove_missing:
            sync.check_remove_missing(plans)
        job = _Job(
            imported_by, progress, workdir, revenue_unit, scope, remove_missing, owners_from_file=owners_from_file
        )
        try:
            try:
                reports, cleared, notes = _write_import(db_path, _fresh(plans), job, as_of)
            except _ReadAgain:
                job = dataclasses.replace(job, private_read=True)
                reports, cleared, notes = _write_import(db_path, _fresh(plans), job, as_of)
        except _NothingLanded as nothing:
            progress(1.0, "Nothing to import")
            report = ImportReport([nothing.args[0][i] for i in range(len(plans))], False,
                                  time.perf_counter() - start, landed=False)  # fmt: skip
            report.notes += ["no row could be imported (every row was rejected): the store is unchanged", *skipped]
            return report
        notes += after(db_path, since, progress, actor=imported_by, scope=scope) if after else []
        progress(1.0, "Done")
        report = ImportReport([reports[i] for i in range(len(plans))], cleared, time.perf_counter() - start,
                              notes=skipped + notes)  # fmt: skip
        if cleared:
            report.files[0].notes.insert(0, "the demo world was removed: the store now holds your data only")
        return report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class _Job:
    """What every table of one import shares: who imports, progress, scratch folder, revenue unit, scope."""

    imported_by: str
    progress: Progress
    workdir: Path
    revenue_unit: str | None
    scope: Scope
    remove_missing: bool = False
    private_read: bool = False  # every read in a private reader (after a ReadAgain), none on the write connection
    owners_from_file: bool = False  # take every owner from the file, even one a committed scenario changed


class _ReadAgain(Exception):
    """A strict read failed on the write connection and aborted its transaction: roll back, read privately."""


def _fresh(plans: list[Plan]) -> list[Plan]:
    """Copies of the plans' tables, which an attempt changes (normalised or transcoded files), for each attempt."""
    return [dataclasses.replace(p, table=dataclasses.replace(p.table)) for p in plans]


def _plan_files(db_path: Path, files: Sequence[Path | tuple[Path, str]], kind: str,
                overrides: dict[str, dict[str, Any]], workdir: Path) -> tuple[list[Plan], list[str]]:  # fmt: skip
    """Open every table of every file and decide how to read it (the UI's overrides win); refuse any
    unusable table before anything is written. A workbook's sheets or a batch's files that hold nothing to import
    (a product list, a pivot table, a contacts export, a header alone) when their kind was not named, and tables
    the Data page skips, are left out: (plans, a note naming them)."""
    tables: list[Table] = []
    for item in files:
        path, display = item if isinstance(item, tuple) else (item, item.name)
        tables += open_tables(Path(path), display, workdir)
    remembered: dict[str, Any] = {}
    if store.exists(db_path):
        with store.read(db_path) as con:
            for t in tables:
                remembered[t.name] = sq.remembered_mapping(con, column_signature(t.columns))
    columns = dict(overrides.get("*", {}).get("columns") or {})
    F.check_column_map(columns, {c for t in tables for c in t.columns})
    plans: list[Plan] = []
    skipped: list[str] = []
    for t in tables:
        o = overrides.get(t.name, {})
        if o.get("kind") == F.SKIP:
            skipped.append(f"{t.name} (skipped on the Data page)")
            continue
        given = {c: f for c, f in columns.items() if c in t.columns}
        plan = plan_table(t, o.get("kind", kind), None if o.get("mapping") or given else remembered.get(t.name))
        if o.get("mapping"):
            plan.mapping = {c: o["mapping"].get(c, F.IGNORE) for c in t.columns}
            plan.kind = o.get("kind", plan.kind)
        if given and plan.kind is None and o.get("kind", kind) == "auto":
            plan.kind = F.kind_of_fields(given.values())  # fields of one kind only decide it
            plan.mapping = F.propose_mapping(t.columns, plan.kind) if plan.kind else {}
        if given and plan.kind:
            plan.mapping = F.apply_column_map(plan.mapping, plan.kind, plan.table.name, given)
        auto = o.get("kind", kind) == "auto" and not o.get("mapping")
        if (t.sheet is not None or len(tables) > 1) and auto and (why := skip_reason(plan)):
            skipped.append(f"{t.name}: {why}")
            continue
        check_plan(plan, o.get("kind", kind))
        plans.append(plan)
    if not plans:
        raise ImportFileError(f"no table to import: {'; '.join(skipped)}")
    return plans, [f"skipped {len(skipped)} table(s) that hold no accounts, deals or reps: {'; '.join(skipped)}"
                   ] if skipped else []  # fmt: skip


def _write_import(db_path: Path, plans: list[Plan], job: _Job, as_of: Any) -> tuple[dict[int, FileReport], bool,
                                                                                      list[str]]:  # fmt: skip
    """The one store write of an import: (reports by table, demo cleared, notes). Raises _NothingLanded
    (with the reports) and rolls back when no row landed."""
    order = sorted(range(len(plans)), key=lambda i: (KIND_ORDER[plans[i].kind or "accounts"], i))
    scope = job.scope
    with store.write(db_path) as con:
        rules.install(con)
        cleared = sq.clear_demo_if_needed(con, potential.DEFAULT_ADOPTION, potential.DEFAULT_SHARE,
                                          potential.default_price(), scope=scope)  # fmt: skip
        reports = _import_tables(con, plans, order, job)
        if not any(r.inserted + r.updated for r in reports.values()):
            raise _NothingLanded(reports)
        notes = owners.after_tables(con, plans, reports, job, scope=scope)  # owners from deals..., reps left out, audit
        if as_of is not None:
            world.set_as_of(con, parse_as_of(as_of), scope=scope)
        sq.mark_updated(con, scope=scope)
        job.progress(0.97, "Saving the store")
    return reports, cleared, notes


def _import_tables(con: duckdb.DuckDBPyConnection, plans: list[Plan], order: list[int],
                   job: _Job) -> dict[int, FileReport]:  # fmt: skip
    """Import each table in `order` (reps, then accounts, then deals) on the write connection."""
    reports: dict[int, FileReport] = {}
    for step, i in enumerate(order):
        base, span = 0.05 + 0.9 * step / len(order), 0.9 / len(order)

        def sub(f: float, m: str, base: float = base, span: float = span, name: str = plans[i].table.name) -> None:
            job.progress(min(0.99, base + span * f), f"{name}: {m}")

        reports[i] = _import_table(con, plans[i], dataclasses.replace(job, progress=sub))
    return reports


def _stage(con: duckdb.DuckDBPyConnection, t: Table, report: FileReport, job: _Job) -> int:
    """Load table `t` into _raw with row numbers; returns how many records could not be read (kept in
    _parse_rejects as rejected rows). A file whose records DuckDB cannot read at all raises ImportFileError.

    Rows are numbered as a spreadsheet shows the file: its first line is row 1 (normally the header),
    a quoted value spanning lines stays one row, blank lines count (Excel sheets keep their own numbers)."""

    def read(**options: bool) -> tuple[int, int]:
        return sq.stage(con, str(t.path), t.delimiter, t.skip, t.columns, t.has_row_column, reader.MAX_LINE_BYTES,
                        **options, scope=scope)  # fmt: skip

    workdir, scope = job.workdir, job.scope

    def load() -> tuple[int, int]:
        # Most exports read cleanly, and a strict read is faster, on the write connection itself (no hand-over
        # of the rows from a private reader): an unreadable record means reading again with the reader that
        # skips and lists such records; where the failure aborted the write (a lake), the import starts again.
        try:
            return read(keep_going=False, direct=not job.private_read)
        except duckdb.Error:
            if not sq.usable(con):
                raise _ReadAgain() from None
        try:
            return read()
        except duckdb.Error:
            # The parallel reader gives up on some files it can read in one thread (quoted line breaks
            # with short rows, a ragged row near a quoted line break): read them in one thread.
            return read(parallel=False)

    try:
        try:
            n_raw, n_rej = load()
        except duckdb.Error as exc:
            if "invalid state" not in str(exc).lower():
                raise
            # Line breaks of several kinds (a lone CR inside an LF file): normalise them and read again.
            t.path = reader.normalise_newlines(t.path, workdir)
            report.notes.append("line breaks normalised (the file mixes CR, LF and CRLF)")
            n_raw, n_rej = load()
        if n_rej and t.encoding == "utf-8" and sq.has_encoding_errors(con, scope=scope):
            # Mostly UTF-8 with some cp1252 bytes (files pasted together): read those bytes as cp1252.
            t.path = reader.transcode(t.path, "mixed", workdir)
            t.encoding = "mixed"
            report.notes.append("read as UTF-8 with some cp1252 text (mixed encodings)")
            n_raw, n_rej = load()
    except duckdb.Error as exc:
        raise reader.stage_error(t.name, exc) from None
    line = sq.oversized_line(con, scope=scope) if n_rej else None
    if line is not None:
        raise ImportFileError(
            f"{t.name}: row {line} holds a field larger than 4 MB, which no CRM export has; the file is "
            "damaged or not a CRM export: export it again"
        )
    if not t.has_row_column:
        header_row = t.skip + 1
        excluded = sq.parse_reject_lines(con, scope=scope) if n_rej else []
        excluded += reader.blank_records(t.path, header_row, n_raw + n_rej)
        sq.number_rows(con, header_row + 1, reader.row_segments(header_row + 1, excluded), scope=scope)
    if n_rej:
        report.notes.append(f"{n_rej:,} row(s) could not be read as CSV and were rejected")
    sq.unordered(con)
    return n_rej


@dataclass
class _Parsing:
    """How one table's columns become fields: SQL per field, the typed columns to check, custom attributes."""

    exprs: dict[str, str]
    labels: dict[str, str]
    typed: dict[str, tuple[str, str]]
    attr_cols: list[str]
    decimal_comma: bool
    day_first: bool

    @property
    def mapped(self) -> set[str]:
        return set(self.labels)


def _parsing(con: duckdb.DuckDBPyConnection, plan: Plan, kind: str, report: FileReport, revenue_unit: str | None,
             scope: Scope) -> _Parsing:  # fmt: skip
    """Detect number and date styles in the staged rows and write the SQL that parses each field."""
    fdefs = F.FIELD_BY_NAME[kind]
    by_field = {target: col for col, target in plan.mapping.items() if target in fdefs}
    sync.fill_repeated(con, plan.mapping, kind, report, scope=scope)  # 'City' twice: the second fills the first
    by_field = sync.without_blank_id(con, by_field, kind, report, scope=scope)  # blank even so: as none
    numeric_cols = [c for f, c in by_field.items() if fdefs[f].dtype in ("number", "employees", "fraction", "coord")]
    attr_cols = [c for c, target in plan.mapping.items() if target == F.ATTR]
    whole = [c for f, c in by_field.items() if f in currency.MONEY_FIELDS or fdefs[f].dtype == "employees"]
    decimal_comma = sq.number_style(con, numeric_cols + attr_cols, whole, scope=scope)
    date_cols = [c for f, c in by_field.items() if fdefs[f].dtype == "date"]
    order = sq.date_order(con, date_cols + attr_cols, by_field.get("country"), scope=scope)
    if decimal_comma:
        report.notes.append("numbers use decimal commas (1.234,56)")
    money_in = functools.partial(currency.file_currencies, con, plan.table.columns, by_field, scope=scope)
    day_first = dates.day_first(order, date_cols, report, money_in)  # undecided and no country: the amounts' currency
    exprs: dict[str, str] = {}
    typed: dict[str, tuple[str, str]] = {}  # noqa: E702
    for f, col in by_field.items():
        dtype = fdefs[f].dtype
        exprs[f] = sq.field_expr(col, dtype, decimal_comma, day_first, percent="%" in col)
        if dtype == "number" and f in ("annual_revenue", "quota", "capacity_hours"):  # '-5' is none: empty, warned
            exprs[f], dtype = f"list_transform([{exprs[f]}], lambda x: CASE WHEN x >= 0 THEN x END)[1]", "non_negative"
        if dtype in sq.CHECKED_TYPES:
            typed[sq.ALIASES.get(f, f)] = (col, dtype)
    if revenue_unit and "annual_revenue" in exprs:
        exprs["annual_revenue"] = f"({exprs['annual_revenue']}) * {REVENUE_UNITS[revenue_unit]}"
    F.fold_close_dates(exprs, by_field)  # Pipedrive's won and lost times: the actual close date
    F.fold_address(exprs, by_field, plan.table.columns, plan.table.sample, report.warnings)  # one-line addresses
    for f, fdef in fdefs.items():
        exprs.setdefault(f, sq.null_expr(fdef.dtype))
    return _Parsing(exprs, dict(by_field), typed, attr_cols, decimal_comma, day_first)


def _import_table(con: duckdb.DuckDBPyConnection, plan: Plan, job: _Job) -> FileReport:
    """Stage, parse, merge and record one table on the import's write connection."""
    t, kind, scope, started = plan.table, plan.kind, job.scope, time.perf_counter()
    assert kind is not None
    report = FileReport(t.name, plan.source, kind, mapping=dict(plan.mapping), notes=list(t.notes),
                        warnings=list(t.warnings))  # fmt: skip
    job.progress(0.0, "loading")
    n_rejected_at_read = _stage(con, t, report, job)
    report.footer_rows, report.blank_rows = sq.drop_footer_and_blanks(con, t.columns, rules.REPORT, scope=scope)
    if report.footer_rows:
        report.notes.append(f"skipped {report.footer_rows} report footer line(s)")
    if not store.scalar(con, "SELECT count(*) FROM _raw") and not n_rejected_at_read:
        raise ImportFileError(f"{t.name} has a header but no data rows; export the report again with its rows")
    job.progress(0.3, "parsing")
    p = _parsing(con, plan, kind, report, job.revenue_unit, scope)
    currency.apply(con, t.columns, p.labels, report, scope=scope)
    import_id = sq.new_import(con, t.name, plan.source, kind, t.sha256, store.now(), job.imported_by, scope=scope)
    report.import_id = import_id
    raw_of = {alias: col for alias, (col, _) in p.typed.items()}
    if kind == "accounts":
        report.warnings += sq.build_accounts(con, p.exprs, p.labels, p.attr_cols, raw_of, geo_world.countries_at,
                                             scope=scope)  # fmt: skip
    elif kind == "deals":
        sq.build_deals(con, p.exprs, p.labels, raw_of, scope=scope)
    else:
        sq.build_reps(con, p.exprs, p.labels, raw_of, scope=scope)
    # Our CSV exports' apostrophe before a formula-like name read back off (the store keeps names raw; every
    # export neutralises them again): once over the parsed rows, not in the per-cell text macro.
    sq.unquote_formulas(con, "_p", parse.NAME_FIELDS, parse.QUOTED_FORMULA, parse.QUOTED_PLAIN, scope=scope)
    sq.add_parse_rejects(con, scope=scope)  # unreadable records, and a report's subtotal rows
    for w in sq.invalid_values(con, p.typed, scope=scope):
        report.warnings.append(w["message"])
    job.progress(0.6, "merging")
    result = _merge(con, plan, kind, p.mapped, report, job)
    explain.explain(con, report, result, kind, p.mapped, job.revenue_unit, scope=scope)
    sync.reconcile(con, report, plan, job.remove_missing, job.imported_by, scope=scope)
    explain.missing_fields(report, t.columns, plan.mapping, kind)
    if kind == "deals":
        explain.missing_owner(report, t.columns, plan.mapping, sq.ownerless_deals(con, scope=scope), kind)
    if kind in ("accounts", "reps") and p.mapped & F.PLACE_FIELDS:  # an owner-only update says nothing of places
        report.geocoding = sq.placed_share(con, scope=scope, us_only=kind == "accounts")
    if kind == "accounts" and p.attr_cols:
        job.progress(0.8, "custom attributes")
        types = sq.infer_attribute_types(con, p.attr_cols, p.decimal_comma, p.day_first, scope=scope)
        keys = {c: F.attribute_key(c) for c in types}
        report.attributes = sq.save_attributes(con, types, keys, p.decimal_comma, p.day_first, plan.source, import_id,
                                               scope=scope)  # fmt: skip
    _record(con, plan, report, import_id, scope)
    report.seconds = time.perf_counter() - started
    job.progress(1.0, "done")
    return report


def _merge(con: duckdb.DuckDBPyConnection, plan: Plan, kind: str, mapped: set[str], report: FileReport,
           job: _Job) -> dict[str, Any]:  # fmt: skip
    """Create reps named only as owners, merge the parsed rows by CRM ID, and count every row once."""
    scope = job.scope  # a rep created without a capacity keeps NULL: the store's default capacity applies
    if kind in ("accounts", "deals") and mapped & {"owner", "owner_email"}:
        label = explain.user_label(plan.source)
        report.reps_created, by_id, shared = sq.resolve_owners(
            con, plan.source, explain.owner_ids(plan.mapping), label, scope=scope)  # fmt: skip
        explain.reps_created(report, by_id, label, shared)
    if kind == "reps":
        result = owners.merge_reps(con, mapped, plan.source, scope=scope)
    elif kind == "accounts":
        result = owners.merge_accounts(con, mapped, plan.source, report, job, scope=scope)
    else:
        result = owners.merge_deals(con, mapped, plan.source, report, job, scope=scope)
    c = sq.counts(con, scope=scope)
    report.rows_read, report.rejected, report.deleted = c["rows_read"], c["rejected"], c["deleted"]
    report.inserted, report.updated = result["inserted"], result["updated"] + c["removed"]
    assert report.rows_read == report.inserted + report.updated + report.rejected
    return result


def _record(con: duckdb.DuckDBPyConnection, plan: Plan, report: FileReport, import_id: int, scope: Scope) -> None:
    """Keep the table's rejected rows, its counts in the import history and its column mapping."""
    t = plan.table
    assert report.kind is not None
    report.rejects = sq.first_rejects(con, 100, scope=scope)
    report.reasons = sq.reject_reasons(con, scope=scope)
    sq.save_rejects(con, import_id, t.columns, scope=scope)
    sq.finish_import(con, import_id, {"rows_read": report.rows_read, "inserted": report.inserted,
                                      "updated": report.updated, "rejected": report.rejected,
                                      "geocoded": report.geocoding.get("geocoded", 0)}, scope=scope)  # fmt: skip
    sq.remember_mapping(con, column_signature(t.columns), plan.source, report.kind, plan.mapping, scope=scope)
    sq.drop_temps(con, scope=scope)


def history(con: duckdb.DuckDBPyConnection, *, scope: Scope, limit: int = 200) -> Any:
    """Past imports, newest first: store-wide, so leaders and admins only (a rep is refused)."""
    require_leader(scope)
    return sq.import_history(con, limit, scope=scope)


def rejected_rows(con: duckdb.DuckDBPyConnection, import_id: int, *, scope: Scope) -> Any:
    """One import's rejected rows with row number, reason and original values: the raw rows may be anyone's,
    so leaders and admins only."""
    require_leader(scope)
    return sq.rejected_rows(con, import_id, scope=scope)


def unplaced_accounts(con: duckdb.DuckDBPyConnection, *, scope: Scope, limit: int = 5000) -> Any:
    """Accounts not placed, or placed only by their country (a rep gets their own)."""
    return sq.unplaced_accounts(con, scope=scope, limit=limit)


def unlinked_deals(con: duckdb.DuckDBPyConnection, *, scope: Scope, limit: int = 5000) -> Any:
    """Deals not linked to an account, kept as their owner's pipeline (a rep gets their own)."""
    return sq.unlinked_deals(con, scope=scope, limit=limit)


def placement_groups(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> Any:
    """Placed accounts gathered into ~25 km squares per placement method, for a map: every account the caller may
    see counts (a rep: their own), in a few thousand dots however large the store."""
    return sq.placement_groups(con, scope=scope)


def geocoding_coverage(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> Any:
    """Accounts by how they were placed (a rep counts their own)."""
    return sq.geocoding_coverage(con, scope=scope)


@store.retry_conflicts
def place_accounts(db_path: Path, fixes: Any, *, scope: Scope) -> int:
    """Save corrected addresses for unplaced accounts and geocode them again (one write; admins only)."""
    require_role(scope, "admin")
    with store.write(db_path) as con:
        rules.install(con)
        placed = sq.place_accounts(con, fixes, scope=scope)
        sq.mark_updated(con, scope=scope)
    return placed
