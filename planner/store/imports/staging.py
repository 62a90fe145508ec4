"""Staging a file for the importer: read_csv into _raw with row numbers, unreadable records, report footers and
blank rows, number and date styles, per-field parse expressions, invalid values, counts."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

import duckdb

from planner.scope import Scope, require_admin
from planner.store import interrupts
from planner.store.core import scalar
from planner.store.dbconfig import duckdb_config
from planner.store.imports.macros import YEAR_LAST, insert_rows, lit, q

DELETED_REASON = "'deleted in the CRM: skipped'"


REJECT_TABLES = ("_tp_rej_errors", "_tp_rej_scans")


def stage(con: duckdb.DuckDBPyConnection, path: str, delimiter: str, skip: int, columns: list[str],
          has_row_column: bool, max_line_bytes: int, parallel: bool = True,
          keep_going: bool = True, direct: bool = False, *, scope: Scope) -> tuple[int, int]:  # fmt: skip
    """Read a delimited UTF-8 file into temp table _raw (every column text), row by row.

    Records DuckDB cannot read (more fields than the header, a stray quote) are left out of _raw and
    listed in temp table _parse_rejects (line = the record's row number in the file, header = row 1,
    blank lines counted, reason, text). Returns (rows in _raw, rows in _parse_rejects). __row is set
    by `number_rows` (or comes from the file for workbooks).

    `keep_going=False` reads strictly instead, which is faster, and raises duckdb.Error at the first
    record that cannot be read (the caller then reads the file again with keep_going).

    `direct=True` reads on `con` itself (strict reads only): no private reader and no hand-over of the rows,
    but a read that fails leaves `con` as a failed statement leaves it (on a lake, inside the write's one
    transaction, aborted: see `usable`)."""
    require_admin(scope)
    names = (["__row"] if has_row_column else []) + columns
    for t in ("_raw", "_parse_rejects", *REJECT_TABLES):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    con.execute("SET preserve_insertion_order = true")  # rowid = order in the file
    if direct:
        if keep_going:
            raise ValueError("a direct read is a strict read (keep_going=False)")
        _read_file(con, path, delimiter, skip, names, has_row_column, max_line_bytes, parallel, keep_going)
    else:
        _read_private(con, path, delimiter, skip, names, has_row_column, max_line_bytes, parallel, keep_going)
    n_raw = int(scalar(con, "SELECT count(*) FROM _raw"))
    n_rej = int(scalar(con, "SELECT count(*) FROM _parse_rejects"))
    return n_raw, n_rej


def usable(con: duckdb.DuckDBPyConnection) -> bool:
    """False when a failed statement aborted the connection's transaction (a lake's write), which then can only
    be rolled back."""
    try:
        con.execute("SELECT 1").fetchall()
    except duckdb.Error:
        return False
    return True


def _read_private(con: duckdb.DuckDBPyConnection, path: str, delimiter: str, skip: int, names: list[str],
                  has_row_column: bool, max_line_bytes: int, parallel: bool, keep_going: bool) -> None:  # fmt: skip
    """_read_file in a private in-memory database, then the tables handed over to `con` through Arrow."""
    # A read that fails (the caller then reads again with other options) must leave the store's connection
    # usable, and on a lake that connection is inside the write's one transaction, which any failed statement
    # aborts (DuckDB has no savepoints). Its spill files (a file larger than memory) go to a folder of its own.
    with (
        tempfile.TemporaryDirectory(prefix="planner-read-") as spill,
        duckdb.connect(config=duckdb_config(temp_directory=spill)) as reader,
    ):
        interrupts.watch(reader)  # Ctrl-C stops this read too (store/interrupts.py)
        reader.execute("SET preserve_insertion_order = true")
        _read_file(reader, path, delimiter, skip, names, has_row_column, max_line_bytes, parallel, keep_going)
        for table in ("_raw", "_parse_rejects"):
            batches = reader.execute(f"SELECT * FROM {table}").arrow()
            con.register("_tp_read", batches)
            try:
                con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM _tp_read")
            finally:
                con.unregister("_tp_read")


def _read_file(reader: duckdb.DuckDBPyConnection, path: str, delimiter: str, skip: int, names: list[str],
               has_row_column: bool, max_line_bytes: int, parallel: bool, keep_going: bool) -> None:  # fmt: skip
    """read_csv into _raw and the unreadable records into _parse_rejects, on `reader`."""
    # A workbook's row numbers (__row) are numbers: as text, its rejects would list row 11 before row 6.
    types = {"__row": "BIGINT"} if has_row_column else {}
    spec = "{" + ", ".join(f"{lit(c)}: '{types.get(c, 'VARCHAR')}'" for c in names) + "}"
    rejects = (
        f"ignore_errors = true, store_rejects = true, rejects_table = '{REJECT_TABLES[0]}', "
        f"rejects_scan = '{REJECT_TABLES[1]}',"
        if keep_going
        else ""
    )
    reader.execute(
        f"""CREATE TEMP TABLE _raw AS SELECT * FROM read_csv(?, header = false, skip = ?, delim = ?, quote = '"',
                escape = '"', columns = {spec}, null_padding = true, strict_mode = true, auto_detect = false,
                max_line_size = {int(max_line_bytes)}, {rejects}
                parallel = {"true" if parallel else "false"})""",
        [path, skip + 1, delimiter],
    )
    if not keep_going:
        reader.execute(f"CREATE TEMP TABLE {REJECT_TABLES[0]} (line BIGINT, error_type VARCHAR, error_message VARCHAR, "
                    "csv_line VARCHAR)")  # fmt: skip
    width = len(names)
    reader.execute(
        f"""CREATE TEMP TABLE _parse_rejects AS
            SELECT line::BIGINT AS line, error_type::VARCHAR AS error_type,
                   CASE error_type
                       WHEN 'TOO MANY COLUMNS' THEN 'row has '
                           || coalesce(regexp_extract(error_message, 'Found: (\\d+)', 1), 'more')
                           || ' fields where the header has {width - int(has_row_column)}: a delimiter inside an '
                           || 'unquoted value? quote that value or export the file again'
                       WHEN 'MISSING COLUMNS' THEN 'row has fewer fields than the header and cannot be read'
                       WHEN 'UNQUOTED VALUE' THEN 'stray quote: a quoted value is followed by more text or a quote '
                           || 'is never closed; fix the quoting of this row'
                       WHEN 'INVALID ENCODING' THEN 'text is not valid UTF-8; save the file as UTF-8 CSV'
                       WHEN 'LINE SIZE OVER MAXIMUM' THEN 'row is larger than 4 MB'
                       ELSE 'row cannot be read as CSV (' || error_type || '); fix its quoting'
                   END AS reason,
                   trim(csv_line, chr(10) || chr(13)) AS text
            FROM (SELECT line, min(error_type) AS error_type, min(error_message) AS error_message,
                         min(csv_line) AS csv_line FROM {REJECT_TABLES[0]} GROUP BY line)"""
    )
    for t in REJECT_TABLES:
        reader.execute(f"DROP TABLE IF EXISTS {t}")


def unordered(con: duckdb.DuckDBPyConnection, on: bool = True) -> None:
    """After staging, no statement needs rows in file order (row numbers are a column): letting DuckDB
    write tables in any order keeps every core busy and saves memory."""
    con.execute(f"SET preserve_insertion_order = {'false' if on else 'true'}")


def parse_reject_lines(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> list[int]:
    require_admin(scope)
    return [int(r[0]) for r in con.execute("SELECT line FROM _parse_rejects ORDER BY 1").fetchall()]


def oversized_line(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> int | None:
    """The first row longer than the line-size limit, if any."""
    require_admin(scope)
    row = con.execute("SELECT min(line) FROM _parse_rejects WHERE error_type = 'LINE SIZE OVER MAXIMUM'").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def has_encoding_errors(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> bool:
    require_admin(scope)
    return bool(scalar(con, "SELECT count(*) FROM _parse_rejects WHERE error_type = 'INVALID ENCODING'"))


def number_rows(
    con: duckdb.DuckDBPyConnection, first: int, segments: Sequence[tuple[int, int]], *, scope: Scope
) -> None:
    """Give _raw its row numbers: __row = rowid + `first`, then rowid + offset from each (start rowid, offset)
    segment on (rows after blank lines and unreadable records shift down)."""
    require_admin(scope)
    # Rows written inside an open transaction (a lake's write is one) get row ids from a high base until it
    # commits: count from the table's first rowid, not from 0.
    base = int(scalar(con, "SELECT coalesce(min(rowid), 0) FROM _raw"))
    first -= base
    segments = [(start + base, offset - base) for start, offset in segments]
    con.execute("ALTER TABLE _raw ADD COLUMN __row BIGINT")
    con.execute("UPDATE _raw SET __row = rowid + ?", [first])
    if not segments:
        return
    if len(segments) <= 16:
        for start, offset in segments:
            con.execute("UPDATE _raw SET __row = rowid + ? WHERE rowid >= ?", [offset, start])
        return
    con.execute("CREATE OR REPLACE TEMP TABLE _seg (start BIGINT, off BIGINT)")
    insert_rows(con, "_seg", list(segments), 2, scope=scope)
    con.execute(
        """UPDATE _raw SET __row = m.rid + m.off
           FROM (SELECT r.rowid AS rid, s.off FROM _raw r ASOF JOIN _seg s ON r.rowid >= s.start) m
           WHERE _raw.rowid = m.rid"""
    )
    con.execute("DROP TABLE _seg")


def add_parse_rejects(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> None:
    """Unreadable records count as rejected rows of _p (their other columns stay empty)."""
    require_admin(scope)
    con.execute("INSERT INTO _p (_row, _reject, _exists) SELECT line, reason, false FROM _parse_rejects")


class ReportRows(NamedTuple):
    """How a report's own rows look (the domain's rules): a footer line's first cell (Grand Totals, Copyright...),
    a subtotal row's first written cell, whole ('Subtotal'), and the labels of Excel's Data > Subtotal rows: the
    group's value followed by what `group_total` finds at a cell's end ('Maya Patel Total', 'Maya Patel Count'), and
    a whole cell matching `grand_total` ('Grand Total'). The patterns are matched ignoring case."""

    footer: re.Pattern[str]
    subtotal: re.Pattern[str]
    group_total: re.Pattern[str]
    grand_total: re.Pattern[str]
    error_value: re.Pattern[str]  # a whole cell: Excel's error value (#DIV/0!, #N/A...)


def drop_footer_and_blanks(con: duckdb.DuckDBPyConnection, columns: list[str], rule: ReportRows, *,
                           scope: Scope) -> tuple[int, int]:  # fmt: skip
    """Delete report footers (lines at the end whose first cell matches `rule.footer`: Grand Totals, Copyright...)
    and all-empty rows: (footer rows, blank rows). Subtotal rows above the footer move to _parse_rejects, to be
    counted as rejected rows ('report subtotal row')."""
    require_admin(scope)
    _reject_group_totals(con, columns, rule)  # before the footer: Excel's last 'Grand Total' is one of them
    footer_rule = rule.footer
    nonempty = " + ".join(f"(tp_text({q(c)}) IS NOT NULL)::INT" for c in columns)
    first_cell = f"coalesce({', '.join(f'tp_text({q(c)})' for c in columns)})"
    # The last row id as a constant: a filter on a subquery's value scans the whole table (in a lake's write
    # transaction, where _raw is not yet committed, all of it, 1-4 s at 1M rows; a constant skips to the tail).
    last = scalar(con, "SELECT max(rowid) FROM _raw")
    tail = con.execute(
        f"SELECT rowid, {nonempty} AS n, {first_cell} AS first FROM _raw WHERE rowid >= ? ORDER BY rowid DESC",
        [None if last is None else int(last) - 40],
    ).fetchall()
    footer: list[int] = []
    block: list[tuple[int, int, str | None]] = []
    for rowid, n, first in tail:
        if n >= 2 and not (first and footer_rule.match(first)):
            break
        block.append((rowid, n, first))
    if block and (any(f and footer_rule.match(f) for _, _, f in block) or sum(n == 0 for _, n, _ in block)):
        footer = [rowid for rowid, _, _ in block]
    elif block:
        # Trailing single-cell rows without a footer marker are data (and will be rejected as incomplete).
        footer = [rowid for rowid, n, _ in block if n == 0]
    if footer:
        con.execute("DELETE FROM _raw WHERE rowid IN (SELECT unnest(?))", [footer])
    _reject_subtotals(con, columns, rule.subtotal)
    # Blank lines read as rows of NULLs (",,,"); cells of spaces only are rare enough to be rows.
    all_blank = f"coalesce({', '.join(q(c) for c in columns)}) IS NULL"
    blanks = int(scalar(con, f"SELECT count(*) FROM _raw WHERE {all_blank}"))
    if blanks:
        con.execute(f"DELETE FROM _raw WHERE {all_blank}")
    n_footer = sum(1 for rowid, n, _ in block if rowid in set(footer) and n > 0)
    return n_footer, blanks


def _reject_group_totals(con: duckdb.DuckDBPyConnection, columns: list[str], rule: ReportRows) -> None:
    """Move the rows Excel's Data > Subtotal writes (kept by 'Save as CSV') from _raw to _parse_rejects, as
    'report subtotal row': after each group a row whose grouped column reads the group's value (that column's
    last value above) and the function's label ('Maya Patel Total', 'Maya Patel Average'), a last 'Grand Total'
    ('Grand Count'...), each with numbers (the results), Excel's error values or nothing in its other cells. A
    company called 'Total Wine & More', 'Grand Total Fitness' or 'Max Planck Institute' is no such row."""
    ends, error = lit(rule.group_total.pattern), lit(rule.error_value.pattern)
    # One scan finds the columns holding a label; it aggregates only the few rows that end so. One regex per cell
    # (1M rows of 20 columns: 1.3 s on one thread) is as fast as ten suffix() tests and finds any case and spacing.
    found_end = [f"regexp_matches({q(c)}, {ends}, 'i')" for c in columns]
    flags = con.execute(f"SELECT {', '.join(f'bool_or({e})' for e in found_end)} FROM _raw "
                        f"WHERE {' OR '.join(found_end)}").fetchone() or ()  # fmt: skip
    labelled = [c for c, flag in zip(columns, flags, strict=True) if flag]
    if not labelled:  # most files: one scan, nothing moved
        return

    def number_or_blank(c: str) -> str:  # a sum, a count, a date (a Max), an error (StdDev of one row), or nothing
        return (f"(tp_blank({q(c)}) OR NOT regexp_matches({q(c)}, '\\pL') OR tp_num({q(c)}, false) IS NOT NULL "
                f"OR regexp_full_match(trim({q(c)}), {error}))")  # fmt: skip

    hits = []
    for c in labelled:
        v = f"trim({q(c)})"
        is_label = f"regexp_matches({v}, {ends}, 'i')"
        above = (f"last_value(CASE WHEN NOT {is_label} THEN nullif(lower({v}), '') END IGNORE NULLS) "
                 "OVER (ORDER BY rowid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)")  # fmt: skip
        group = f"lower(rtrim(regexp_replace({v}, {ends}, '', 'i')))"
        label = f"(regexp_full_match({v}, {lit(rule.grand_total.pattern)}, 'i') OR {group} = {above})"
        others = " AND ".join(number_or_blank(o) for o in columns if o != c) or "true"
        hits.append(f"CASE WHEN {is_label} THEN {label} AND {others} ELSE false END")
    found = scalar(con, f"SELECT list(rid) FILTER (WHERE hit) FROM (SELECT rowid AS rid, {' OR '.join(hits)} AS hit "
                        "FROM _raw)")  # fmt: skip
    if found:
        _move_report_rows(con, columns, found)


def _move_report_rows(con: duckdb.DuckDBPyConnection, columns: list[str], rowids: list[int]) -> None:
    """Move rows of _raw to _parse_rejects as 'report subtotal row' (counted as rejected rows, cells kept)."""
    cells = "concat_ws(',', " + ", ".join(f"coalesce({q(c)}, '')" for c in columns) + ")"
    con.execute(
        f"""INSERT INTO _parse_rejects (line, error_type, reason, text)
            SELECT __row, 'REPORT ROW', 'report subtotal row', {cells} FROM _raw WHERE rowid IN (SELECT unnest(?))""",
        [rowids],
    )
    con.execute("DELETE FROM _raw WHERE rowid IN (SELECT unnest(?))", [rowids])


def _reject_subtotals(con: duckdb.DuckDBPyConnection, columns: list[str], rule: re.Pattern[str]) -> None:
    """Move a grouped report's subtotal rows (their first written cell is the whole of 'Subtotal')
    from _raw to _parse_rejects: they are the report's sums, not records."""
    # The first cell that is not NULL, spaces allowed around the label (tp_text on every cell takes twice as long).
    first = f"coalesce({', '.join(q(c) for c in columns)})"
    pattern = lit(rf"\s*({rule.pattern})\s*")
    found = scalar(con, f"SELECT list(rowid) FILTER (WHERE regexp_full_match({first}, {pattern}, 'i')) FROM _raw")
    if found:  # most files: one scan, nothing moved
        _move_report_rows(con, columns, found)


# A whole amount's thousands: 'EUR 64.000' (decimal commas) or '64,000' (decimal dots), one group after the first.
_WHOLE_DOTS = r"^[+-]?\d{1,3}\.\d{3}$"
_WHOLE_COMMAS = r"^[+-]?\d{1,3},\d{3}$"


def number_style(con: duckdb.DuckDBPyConnection, columns: list[str], whole: Collection[str] = (), *,
                 scope: Scope) -> bool:  # fmt: skip
    """True when the numeric columns write decimal commas (1.234,56), judged on evidence in the data. In `whole`
    columns (money and head counts: no one writes 64 euros as 64.000), a dot or comma before exactly three last
    digits is a thousands separator, so it counts as evidence too ('EUR 64.000' was read as 64)."""
    require_admin(scope)
    if not columns:
        return False
    parts = []
    for c in columns:
        e = f"tp_clean({q(c)})"
        comma, dot = f"tp_comma_evidence({e})", f"tp_dot_evidence({e})"
        if c in whole:
            comma += f" OR regexp_matches({e}, {lit(_WHOLE_DOTS)})"
            dot += f" OR regexp_matches({e}, {lit(_WHOLE_COMMAS)})"
        parts += [f"count_if({comma})", f"count_if({dot})"]
    row = con.execute(f"SELECT {', '.join(parts)} FROM (SELECT * FROM _raw LIMIT 10000)").fetchone() or ()
    comma_n = sum(v or 0 for v in row[0::2])
    dot_n = sum(v or 0 for v in row[1::2])
    return comma_n > dot_n


def currency_evidence(con: duckdb.DuckDBPyConnection, money: list[str], codes: list[str], patterns: dict[str, str],
                      iso: tuple[str, ...] = (), *, scope: Scope) -> tuple[dict[str, int], list[str]]:  # fmt: skip
    """How many staged rows write a money column with each currency's marker (`patterns`: code -> regex) or its
    ISO code (`iso`: one pattern for them all, not one pass per code), and the distinct values (at most 20) of
    the columns that name a currency per row."""
    require_admin(scope)
    counts: dict[str, int] = {}
    if money and patterns:
        parts = [" OR ".join(f"regexp_matches({q(c)}, {lit(rx)})" for c in money) for rx in patterns.values()]
        row = con.execute(f"SELECT {', '.join(f'count_if({p})' for p in parts)} FROM _raw").fetchone() or ()
        counts = {code: int(n or 0) for code, n in zip(patterns, row, strict=False)}
    if money and iso:
        rx = lit(rf"\b({'|'.join(iso)})\b")
        named_codes = " UNION ALL ".join(f"SELECT regexp_extract({q(c)}, {rx}, 1) AS code FROM _raw" for c in money)
        for code, n in con.execute(
            f"SELECT code, count(*) FROM ({named_codes}) WHERE code <> '' GROUP BY 1"
        ).fetchall():
            counts[str(code)] = counts.get(str(code), 0) + int(n)
    named: list[str] = []
    for c in codes:
        rows = con.execute(f"SELECT DISTINCT trim({q(c)}) FROM _raw WHERE trim({q(c)}) <> '' LIMIT 20").fetchall()
        named += [str(r[0]) for r in rows]
    return counts, named


def date_order(con: duckdb.DuckDBPyConnection, columns: list[str], country: str | None = None, *,
               scope: Scope) -> dict[str, Any]:  # fmt: skip
    """What the staged rows say about dates written day, month, year (26/11/2026, 26.11.2026, 20-10-16): how many
    values have a first (`first`) or second (`second`) number above 12, which decides the order for the column,
    how many are dotted (`dotted`, a day-first style) and how many could be read either way (`either`: both
    numbers 12 or less and not equal). With a `country` column and such values, `countries` counts the rows per
    country code it names (the most common first): what the domain decides an undecided order by."""
    require_admin(scope)
    out: dict[str, Any] = {"first": 0, "second": 0, "dotted": 0, "either": 0, "countries": []}
    if not columns:
        return out
    shape = lit("^" + YEAR_LAST + "$")  # the parser's day-month-year shape, whatever the separator
    above_12 = "(" + ", ".join(f"'{n}'" for n in range(13, 32)) + ")"
    parts = []
    for c in columns:
        v = f"trim({q(c)})"
        a, b = (f"TRY_CAST(regexp_extract({v}, {shape}, {i}) AS INTEGER)" for i in (1, 2))
        parts += [f"count_if(regexp_extract({v}, {shape}, 1) IN {above_12})",
                  f"count_if(regexp_extract({v}, {shape}, 2) IN {above_12})",
                  f"count_if(regexp_matches({v}, '^\\d{{1,2}}\\.\\d{{1,2}}\\.\\d{{2,4}}'))",
                  f"count_if({a} BETWEEN 1 AND 12 AND {b} BETWEEN 1 AND 12 AND {a} <> {b})"]  # fmt: skip
    row = con.execute(f"SELECT {', '.join(parts)} FROM (SELECT * FROM _raw LIMIT 50000)").fetchone() or ()
    for i, key in enumerate(("first", "second", "dotted", "either")):
        out[key] = sum(v or 0 for v in row[i::4])
    if country and out["either"] and not (out["first"] or out["second"]):
        out["countries"] = con.execute(
            f"""SELECT c.code, count(*) AS n FROM (SELECT {q(country)} AS v FROM _raw LIMIT 50000) r
                JOIN (SELECT DISTINCT key, code FROM _tp_country) c ON c.key = tp_key(r.v)
                GROUP BY 1 ORDER BY n DESC, c.code"""
        ).fetchall()
    return out


SQL_TYPES = {"id": "VARCHAR", "text": "VARCHAR", "owner": "VARCHAR", "zip": "VARCHAR", "state": "VARCHAR",
             "number": "DOUBLE", "employees": "DOUBLE", "fraction": "DOUBLE", "coord": "DOUBLE", "bool": "BOOLEAN",
             "date": "DATE"}  # fmt: skip


def null_expr(dtype: str) -> str:
    """A typed empty value for a field the file does not have (an untyped NULL is INTEGER in DuckDB 1.5)."""
    return f"NULL::{SQL_TYPES[dtype]}"


def field_expr(column: str, dtype: str, decimal_comma: bool, day_first: bool, percent: bool = False) -> str:
    """The SQL expression that parses one raw text column as a field of type `dtype`."""
    c = q(column)
    dc = "true" if decimal_comma else "false"
    if dtype in ("id", "text", "owner"):
        return f"tp_text({c})"
    if dtype == "number":
        return f"tp_num({c}, {dc})"
    if dtype == "coord":
        return f"tp_num({c}, {dc})"
    if dtype == "fraction":
        # A percent sign in the value or the header means percent units; so do values above 1.5.
        # tp_num already turns '12%' into 0.12; plain numbers in a % column, or above 1.5, are percent units.
        if percent:  # one parse per cell: no lambda needed when the header says %
            return f"tp_num({c}, {dc}) / CASE WHEN suffix(trim({c}), '%') THEN 1 ELSE 100 END"
        rule = "abs(x) > 1.5"
        return (
            f"list_transform([tp_num({c}, {dc})], lambda x: CASE WHEN NOT suffix(trim({c}), '%') AND ({rule}) "
            f"THEN x / 100 ELSE x END)[1]"
        )
    if dtype == "employees":  # a head count: '-5' or 900 billion is none (left empty and warned)
        # Whole: '1,000-5,000' and '10,001+' group thousands whatever the file's decimal mark (tp_count). Only what
        # tp_head refuses is read again without a size's word ('51-200 employees'), by tp_head_slow.
        return (
            f"CASE WHEN regexp_full_match({c}, '\\d{{1,7}}') THEN {c}::DOUBLE ELSE list_transform([CASE "
            f"WHEN regexp_full_match({c}, '\\d{{1,3}}(,\\d{{3}})+') THEN replace({c}, ',', '')::DOUBLE ELSE "
            f"list_transform([replace(trim({c}), ' ', '')], "
            f"lambda s: coalesce(tp_head(s, {dc}), tp_head_slow(s, {dc})))[1] END], "
            f"lambda n: CASE WHEN n BETWEEN 0 AND tp_max_employees() THEN n END)[1] END"
        )
    if dtype == "bool":
        return f"tp_bool({c})"
    if dtype == "date":
        return f"tp_date({c}, {'true' if day_first else 'false'})"
    if dtype == "zip":
        return f"tp_zip({c})"
    if dtype == "state":
        return f"tp_state({c})"
    raise ValueError(dtype)


ALIASES = {
    "lat": "file_lat",
    "lon": "file_lon",
    "is_closed": "closed_flag",
    "is_won": "won_flag",
    "is_deleted": "deleted_flag",
}


CHECKED_TYPES = ("number", "non_negative", "employees", "fraction", "bool", "date", "coord")


def _create_parsed(con: duckdb.DuckDBPyConnection | None, items: list[tuple[str, str]], typed: dict[str, str],
                   attrs: Sequence[str] = ()) -> str:  # fmt: skip
    """Create _parsed from _raw: `items` are (expression, alias); `typed` maps an alias to its raw column,
    so that a flag __bad_<alias> marks cells that held text but could not be read; `attrs` are carried."""
    inner = ["__row AS _row"] + [f"{expr} AS {q(alias)}" for expr, alias in items]
    inner += [f"{q(col)} AS {q('__raw_' + alias)}" for alias, col in typed.items()]
    inner += [f"{q(col)} AS {q('__attr_' + str(i))}" for i, col in enumerate(attrs)]
    outer = ["_row"] + [q(alias) for _, alias in items]
    outer += [f"CASE WHEN {q(a)} IS NULL THEN NOT tp_blank({q('__raw_' + a)}) ELSE false END AS {q('__bad_' + a)}"
              for a in typed]  # fmt: skip
    outer += [q(f"__attr_{i}") for i in range(len(attrs))]
    sql = f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM _raw)"
    if con is not None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _parsed AS {sql}")
    return sql


def invalid_values(
    con: duckdb.DuckDBPyConnection, typed: dict[str, tuple[str, str]], *, scope: Scope
) -> list[dict[str, Any]]:
    """Cells of typed columns that could not be read (left empty): column, count, example, first row.

    `typed` maps an alias in _parsed to (raw column, type)."""
    require_admin(scope)
    if not typed:
        return []
    parts = [f"count_if({q('__bad_' + a)}), min(CASE WHEN {q('__bad_' + a)} THEN _row END)" for a in typed]
    row = con.execute(f"SELECT {', '.join(parts)} FROM _p").fetchone() or ()
    out = []
    for i, (column, dtype) in enumerate(typed.values()):
        n, first = row[2 * i], row[2 * i + 1]
        if not n:
            continue
        example = scalar(con, f"SELECT {q(column)} FROM _raw WHERE __row = ?", [first])
        word = {"bool": "yes/no", "date": "a date", "employees": "a head count", "coord": "a coordinate",
                "non_negative": "a number of 0 or more"}.get(dtype, "a number")  # fmt: skip
        out.append({"column": column, "count": int(n), "example": example, "row": int(first),
                    "message": f"{column}: {n:,} value(s) could not be read as {word} and were left empty "
                               f"(e.g. {example!r} on row {first}); correct them in the CRM or the file and import "
                               "it again"})  # fmt: skip
    return out


def counts(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> dict[str, int]:
    """Rows read, rejected and (among those) deleted in the CRM, in _p (after footers and blank lines), and rows
    that removed a stored record deleted in the CRM."""
    require_admin(scope)
    row = con.execute("SELECT count(*), count(_reject), count_if(_reject = ?) FROM _p",
                      [DELETED_REASON.strip("'")]).fetchone() or (0, 0, 0)  # fmt: skip
    # Rows that removed a stored record deleted in the CRM left _p for _removed (sync.take_deleted): updated.
    removed = con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = '_removed'").fetchone()
    n_removed = int(scalar(con, "SELECT count(*) FROM _removed")) if removed and removed[0] else 0
    return {
        "rows_read": int(row[0]) + n_removed,
        "rejected": int(row[1]),
        "deleted": int(row[2] or 0),
        "removed": n_removed,
    }


def drop_temps(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> None:
    require_admin(scope)
    for t in (
        "_raw",
        "_parsed",
        "_p",
        "_dups",
        "_names",
        "_owner_map",
        "_newids",
        "_aref",
        "_parse_rejects",
        "_new_accounts",
        "_tp_cvals",
        "_removed",
        "_before",
        "_missing",
        "_cand",
    ):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    unordered(con, False)


def unquote_formulas(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], formula: str, plain: str,
                     *, scope: Scope) -> None:  # fmt: skip
    """Take the apostrophe a spreadsheet-safe export put before a formula-like text off `columns` of `table` (those
    it has): values matching RE2 `formula` and not `plain`. One UPDATE of the rows with a leading apostrophe."""
    require_admin(scope)
    have = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    cols = [q(c) for c in columns if c in have]
    if not cols:
        return
    apostrophe = lit("'")
    sets = ", ".join(
        f"""{c} = CASE WHEN prefix({c}, {apostrophe}) AND regexp_full_match({c}, {lit(formula)})
                     AND NOT regexp_full_match({c}, {lit(plain)}) THEN substr({c}, 2) ELSE {c} END"""
        for c in cols
    )
    con.execute(f"UPDATE {table} SET {sets} WHERE {' OR '.join(f'prefix({c}, {apostrophe})' for c in cols)}")
