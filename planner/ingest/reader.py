"""Opening an export file: size and type checks, encoding and delimiter sniffing, header row,
workbooks with several sheets. The result is a delimited UTF-8 text file DuckDB reads as text.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import numpy as np

from planner.errors import ImportFileError
from planner.ingest import containers, limits, xlsx
from planner.text import listing

SAMPLE_BYTES = 256 * 1024
MAX_LINE_BYTES = 4 * 1024 * 1024  # no CRM record is longer; a longer one means a damaged or foreign file
csv.field_size_limit(MAX_LINE_BYTES)
DELIMITERS = (",", ";", "\t", "|")
ROW_COLUMN = "__row"


@dataclass
class Table:
    """One table to import: a file, or one sheet of a workbook."""

    name: str  # shown to people: 'accounts.csv' or 'book.xlsx [Accounts]'
    file_name: str
    path: Path  # UTF-8 delimited text
    delimiter: str
    skip: int  # records before the header
    columns: list[str]
    sample: list[list[str]]  # up to 200 data records, as text
    digest: Future[str]  # the file's sha256, computed in the background while the file is read
    has_row_column: bool = False  # a leading __row column carries the sheet's row numbers
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    sheet: str | None = None  # the sheet's title when the table is one of a workbook's several sheets

    @property
    def sha256(self) -> str:
        return self.digest.result()


_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planner-sha256")


def sha256_later(path: Path) -> Future[str]:
    """sha256_of(path) in a background thread (hashing and reading release the GIL): an import stages
    the file in DuckDB meanwhile."""
    return _HASHER.submit(sha256_of, path)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_size(path: Path, display: str) -> int:
    """The file size in bytes; an upload over the upload limit is an error naming the limit and the fix."""
    if not path.exists():
        raise ImportFileError(f"{display}: no such file; check the path")
    size = path.stat().st_size
    limit = limits.upload_mb()
    if limit is not None and size > limit * limits.MB:
        raise ImportFileError(
            f"{display} is {size / 1024 / 1024:,.0f} MB, over the {limit} MB upload limit; "
            "split the export into smaller files, raise PLANNER_MAX_UPLOAD_MB, or import it on the server with "
            "`python -m planner import FILE` (a file named there is no upload)"
        )
    if size == 0:
        raise ImportFileError(f"{display} is empty; export the report again with its rows")
    return size


def open_tables(path: Path, display: str | None = None, workdir: Path | None = None, *,
                archive: bool = True) -> list[Table]:  # fmt: skip
    """Every importable table in a CSV/TSV/TXT/XLSX/XLS file, or in the CSV and Excel files of a zip archive
    (`archive` False: inside one, where a zip is refused); raises ImportFileError when there is none."""
    display = display or path.name
    check_size(path, display)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="planner-import-"))
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if head.startswith(b"%PDF"):
        raise ImportFileError(f"{display} is a PDF, not a table; export the report as CSV or Excel (.xlsx)")
    if head.startswith(containers.OLE_MAGIC):  # a legacy .xls, or an .xlsx saved with a password
        return _workbook_tables(path, display, workdir, containers.legacy_sheets(path, display))
    if head.startswith(b"PK\x03\x04"):
        if archive and not _is_workbook(path):
            return _open_archive(path, display, workdir)
        limits.check_workbook(path, display)  # unpacked size, before any XML is read
        return _open_workbook(path, display, workdir)
    limits.check_lines(path, display)
    return [_open_text(path, display, head, workdir)]


def _is_workbook(path: Path) -> bool:
    """A zip that is an .xlsx package (or too damaged to tell: the workbook reader reports it)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return containers.is_workbook(set(zf.namelist()))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return True


def _open_archive(path: Path, display: str, workdir: Path) -> list[Table]:
    """The tables of every CSV and Excel file in a zip archive (an archive inside it is refused)."""
    members, skipped = containers.archive_members(path, display, workdir / f"{path.stem}.unzipped")
    tables = [t for member, name in members for t in open_tables(member, name, workdir, archive=False)]
    if skipped:
        tables[0].notes.append(f"not read from {display} (not CSV or Excel): {listing(skipped, 5)}")
    return tables


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _decode_sample(head: bytes, display: str) -> tuple[str, str]:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore"), "utf-16"
    if b"\x00" in head[:4096]:
        raise ImportFileError(f"{display} is a binary file, not a CSV table; export the report as CSV or Excel")
    try:
        return head.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut by the sample's end
            return head[: exc.start].decode("utf-8-sig"), "utf-8"
    if _UTF8_MULTIBYTE.search(head):  # real UTF-8 characters next to bytes that are not: files pasted together
        return head.decode("utf-8-sig", errors="planner-cp1252"), "mixed"
    try:
        text, encoding = head.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, encoding = head.decode("latin-1"), "latin-1"
    # Mac Roman only on clear evidence: a cp1252 file read as Mac Roman corrupts far more than the reverse.
    if re.search(rb"[\x80-\x9f]", head) and _word_score(mac := head.decode("mac_roman")) >= _word_score(text) + 2:
        return mac, "mac_roman"  # Excel for Mac's 'CSV (Macintosh)': é is 0x8E, ü 0x9F (cp1252's Ž and Ÿ)
    return text, encoding


# cp1252's typographic characters (Excel on Windows autocorrects ' - " into ’ – “ ”): real text, not letters.
_TYPOGRAPHIC = frozenset("’‘“”–—…•™€«»°£§©®")
_AFTER_APOSTROPHE = re.compile(r"(?:s|t|d|ll|re|ve|m)(?![^\W\d_])")  # McDonald’s, don’t, we’ll


def _word_score(text: str) -> int:
    """How much a decoding reads like real text, one point per non-ASCII character: lower-case letters in a word
    ('Soci|é|té') and typographic punctuation where text has it (O’Brien, Smith – Jones, “Best”) count for it;
    upper-case letters after a lower-case one ('SociŽtŽ', 'CafÈ'), lower-case ones before an upper-case one
    ('OíBrien', cp1252's ’ read as Mac Roman), symbols inside a word and control characters count against it."""
    score = 0
    for m in re.finditer(r"[^\x00-\x7f]", text):
        i, c = m.start(), m.group()
        before, after = text[i - 1 : i] or " ", text[i + 1 : i + 2] or " "
        kind = unicodedata.category(c)
        if kind == "Ll":
            score += -1 if after.isupper() else 1 if before.isalpha() or after.isalpha() else 0
        elif kind == "Lu":
            if before.islower() or (before.isupper() and after.islower()):
                score -= 1  # 'SociŽtŽ', 'MŸller'
            elif after.isalpha() or before.isupper():
                score += 1  # 'École', 'SOCIÉTÉ'
        elif kind[0] == "C" or c == "\ufffd":
            score -= 2  # C1 controls: bytes cp1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D)
        elif before.isalpha() and after.isalpha():
            if c == "’":  # O’Brien, McDonald’s: not 'Mart’n' (Mac Roman's í)
                single = i < 2 or not text[i - 2].isalpha()
                score += 1 if single or _AFTER_APOSTROPHE.match(text, i + 1) else 0
            elif c not in "–—":
                score -= 1  # a symbol inside a word: 'Soci‡t‡'
        elif c in _TYPOGRAPHIC:
            score += 1
    return score


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8 are read as cp1252 (mixed-encoding files)."""
    assert isinstance(exc, UnicodeDecodeError)
    return exc.object[exc.start : exc.end].decode("cp1252", errors="replace"), exc.end


codecs.register_error("planner-cp1252", _cp1252_fallback)


def transcode(path: Path, encoding: str, workdir: Path) -> Path:
    """A UTF-8 copy of a cp1252 / latin-1 / Mac Roman / UTF-16 file, for DuckDB. For encoding 'mixed', UTF-8 text
    stays as it is and only the bytes that are not UTF-8 are read as cp1252 (files pasted together)."""
    out = workdir / (path.stem + ".utf8.csv")
    data = path.read_bytes()
    if encoding == "mixed":
        text = data.decode("utf-8-sig", errors="planner-cp1252")
    else:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    out.write_text(text, encoding="utf-8")
    return out


def normalise_newlines(path: Path, workdir: Path) -> Path:
    """A copy with every line break as LF (a file mixing CR, LF and CRLF confuses the CSV reader)."""
    out = workdir / (path.stem + ".lf.csv")
    out.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
    return out


def _blank_line_ends(data: bytes, lo: int = 0, hi: int | None = None) -> list[int]:
    """Offsets of the line break ending each blank line that starts in data[lo:hi] (bytes.find runs at
    memory speed; a regex does not)."""
    hi = len(data) if hi is None else hi
    hits: set[int] = set()
    if lo == 0:
        hits = {0} if data.startswith(b"\n") else {1} if data.startswith(b"\r\n") else set()
    for pattern in (b"\n\n", b"\n\r\n"):
        stop = min(len(data), hi + len(pattern) - 1)
        i = data.find(pattern, lo, stop)
        while i != -1:
            hits.add(i + len(pattern) - 1)
            i = data.find(pattern, i + 1, stop)
    return sorted(hits)


def blank_records(path: Path, header_row: int, data_records: int) -> list[int]:
    """Row numbers (1 = the file's first record) of the blank lines of a delimited file: CSV readers skip
    them, yet a spreadsheet shows them as rows, so rows after a blank line are numbered past it.

    `header_row` is the header's row number and `data_records` how many non-blank records the CSV
    reader saw after it. When every physical line is a record (no line breaks inside quoted values),
    counting line breaks is enough; otherwise line breaks inside quotes are told apart by quote parity."""
    data = path.read_bytes()
    newlines = data.count(b"\n")
    lines = newlines + (0 if data.endswith(b"\n") else 1)
    extra = lines - header_row - data_records  # lines past the header that are not records
    if extra <= 0:
        return []
    header_end = -1
    for _ in range(header_row):
        header_end = data.find(b"\n", header_end + 1)
        if header_end == -1:
            return []
    # Blank lines sit mostly near the end (before a report footer): look from the end, a block at a time,
    # until they account for every extra line. Then no line break can hide inside a quoted value.
    hits: list[int] = []
    end, step = len(data), 1 << 22
    while end > 0:
        lo = max(0, end - step)
        hits = _blank_line_ends(data, lo, end) + hits
        end = lo
        if sum(1 for h in hits if h > header_end) == extra:
            break
    if not hits:
        return []
    # Row of a hit = line breaks before it + 1, counted from whichever end of the file is nearer.
    out: list[int] = []
    if hits[0] > len(data) // 2:
        after, pos = 0, len(data)
        for h in reversed(hits):
            after += data.count(b"\n", h, pos)
            pos = h
            out.append(newlines - after + 1)
        out.reverse()
    else:
        count, pos = 0, 0
        for h in hits:
            count += data.count(b"\n", pos, h)
            pos = h
            out.append(count + 1)
    if lines == header_row + data_records + sum(1 for r in out if r > header_row):
        return out
    # Line breaks inside quoted values: a record ends at a line break preceded by an even number of quotes.
    arr = np.frombuffer(data, dtype=np.uint8)
    ends_parts: list[np.ndarray] = []
    carry = 0
    step = 1 << 26
    for lo in range(0, len(arr), step):
        chunk = arr[lo : lo + step]
        quotes = np.flatnonzero(chunk == 34)
        nl = np.flatnonzero(chunk == 10)
        parity = (np.searchsorted(quotes, nl) + carry) & 1
        carry = (carry + len(quotes)) & 1
        ends_parts.append(nl[parity == 0] + lo)
    ends = np.concatenate(ends_parts) if ends_parts else np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1] + 1])
    length = ends - starts
    blank = (length == 0) | ((length == 1) & (arr[np.minimum(starts, len(arr) - 1)] == 13))
    return [int(i) + 1 for i in np.flatnonzero(blank)]


def row_segments(first: int, excluded: list[int]) -> list[tuple[int, int]]:
    """Row numbering of the records a CSV reader kept, in order: rowid k gets `first` + k, shifted past
    every excluded row number (blank lines, unreadable records) at or after `first`. Returns
    (start rowid, offset) pairs: from `start` on, row = rowid + offset."""
    segments: list[tuple[int, int]] = []
    for i, e in enumerate(sorted({x for x in excluded if x >= first})):
        start, offset = e - first - i, first + i + 1
        if segments and segments[-1][0] == start:
            segments[-1] = (start, offset)
        else:
            segments.append((start, offset))
    return segments


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the first lines into the most cells in rows of one width."""
    best, best_score = ",", (-1.0, 0)
    for delim in DELIMITERS:
        try:
            rows = [r for r in csv.reader(lines, delimiter=delim) if any(x.strip() for x in r)]
        except csv.Error:
            continue
        if not rows:
            continue
        widths = [len(r) for r in rows]
        # Of widths found equally often, the widest: a few rows where one is long (a stray quote, extra cells)
        # must not lose to a delimiter that cuts a record in two at a line break inside a quoted value.
        mode = max(set(widths), key=lambda w: (widths.count(w), w))
        if mode < 2:
            continue
        # Cells in rows of the usual width: a delimiter that also occurs inside values (a '|' or ';' in a
        # comma file) splits fewer rows into fewer cells.
        score = (float(widths.count(mode) * mode), mode)
        if score > best_score:
            best, best_score = delim, score
    return best


def find_header(rows: list[list[str]]) -> int:
    """Index of the header record: the first wide row of text cells (report titles come before it)."""
    widths = [sum(1 for x in r if str(x).strip()) for r in rows[:30]]
    if not widths:
        return 0
    # The typical width of table rows, the lower median: a ragged row far wider than the header must not hide
    # it, even when the file has only the header and that one row.
    wide = sorted(w for w in widths if w >= 2) or widths
    widest = wide[(len(wide) - 1) // 2]
    for i, row in enumerate(rows[:30]):
        cells = [str(x).strip() for x in row if str(x).strip()]
        if len(cells) >= max(2, widest * 0.6) and not any(re.fullmatch(r"[-+$]?[\d.,]+", c) for c in cells):
            return i
    return 0


def dedupe_columns(header: list[str]) -> list[str]:
    """Unique, non-empty column names: blanks become 'Column 3', repeats get ' (2)'."""
    out: list[str] = []
    taken: set[str] = set()  # lower case: DuckDB's names are (a repeat's name must not be a real header's either)
    for i, name in enumerate(header):
        base = name = str(name or "").replace("\ufeff", "").strip() or f"Column {i + 1}"
        if name == ROW_COLUMN:
            base = name = "_row"
        n = 1
        while name.lower() in taken:
            n += 1
            name = f"{base} ({n})"
        taken.add(name.lower())
        out.append(name)
    return out


def _open_text(path: Path, display: str, head: bytes, workdir: Path) -> Table:
    if len(head) == SAMPLE_BYTES and head.count(b"\n") < 2:
        # Not even one data record in the sample: read on to the line size DuckDB accepts.
        with open(path, "rb") as fh:
            head = fh.read(MAX_LINE_BYTES + 1)
        if len(head) > MAX_LINE_BYTES and head.count(b"\n") < 2:
            raise ImportFileError(
                f"{display}: line 2 holds a field larger than 4 MB, which no CRM export has; the file is damaged "
                "or not a CRM export: export it again"
            )
    text, encoding = _decode_sample(head, display)
    if not text.strip():
        raise ImportFileError(f"{display} is empty; export the report again with its rows")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text[:8192])
    if printable < 0.95 * min(len(text), 8192):
        raise ImportFileError(f"{display} is not a text table (binary content); export the report as CSV or Excel")
    lines = text.splitlines()
    complete = lines[:-1] if len(head) >= SAMPLE_BYTES and len(lines) > 1 else lines
    delim = sniff_delimiter(complete[:50])
    try:
        rows = list(csv.reader(io.StringIO("\n".join(complete)), delimiter=delim))
    except csv.Error as exc:
        raise ImportFileError(f"{display} is not a readable CSV table ({exc}); export it again as CSV") from None
    rows = [r for r in rows if any(x.strip() for x in r)]
    if not rows or max(len(r) for r in rows) < 2:
        raise ImportFileError(
            f"{display} has a single column, so it is not a CRM table; export a report with its ID, "
            "name and address columns (CSV or Excel)"
        )
    limits.check_columns(len(rows[0]), display, "its first line")
    h = find_header(rows)
    limits.check_columns(len(rows[h]), display)
    columns = dedupe_columns(rows[h])
    sample = [r + [""] * (len(columns) - len(r)) for r in rows[h + 1 : h + 201]]
    # The header's position counted in records of the real file (blank lines before it are skipped).
    try:
        raw_rows = list(csv.reader(io.StringIO("\n".join(complete)), delimiter=delim))
    except csv.Error as exc:
        raise ImportFileError(f"{display} is not a readable CSV table ({exc}); export it again as CSV") from None
    skip, seen = 0, -1
    for i, r in enumerate(raw_rows):
        if any(x.strip() for x in r):
            seen += 1
        if seen == h:
            skip = i
            break
    target = path
    if encoding != "utf-8":
        target = transcode(path, encoding, workdir)
    table = Table(display, path.name, target, delim, skip, columns, [[x for x in r[: len(columns)]] for r in sample],
                  sha256_later(path), encoding=encoding)  # fmt: skip
    if encoding == "mixed":
        table.notes.append("read as UTF-8 with some cp1252 text (mixed encodings)")
    elif encoding == "mac_roman":
        table.notes.append("read as Mac Roman (Excel for Mac's 'CSV (Macintosh)'), not UTF-8: its accented "
                           "letters read as such; save it as 'CSV UTF-8' to be sure")  # fmt: skip
    elif encoding != "utf-8":
        table.notes.append(f"read as {encoding} (not UTF-8)")
    _cut_off(table)
    return table


def _cut_off(table: Table, tail_bytes: int = 1 << 16) -> None:
    """Warn of a file that seems cut off (a partial download): its last line has no line end and fewer fields
    than the header, while the line before it has them all (a file whose rows all omit trailing empty fields
    is only ragged). Only the file's end is read, and the whole file only to number that line."""
    with open(table.path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - tail_bytes))
        tail = fh.read()
    if not tail or tail.endswith((b"\n", b"\r")):
        return
    lines = re.split(r"\r\n|\r|\n", tail.decode("utf-8", errors="replace"))
    if len(lines) < 2 or (len(lines) < 3 and size > len(tail)):
        return  # no whole line before the last one in the tail: nothing to compare it with
    fields = [len(r) for r in csv.reader(lines[-2:], delimiter=table.delimiter) if lines[-1].count('"') % 2 == 0]
    n = len(table.columns)
    if len(fields) != 2 or fields[1] >= n or fields[0] < n:
        return
    breaks, eol = 0, b"\n" if b"\n" in tail else b"\r"
    with open(table.path, "rb") as fh:
        while block := fh.read(1 << 24):
            breaks += block.count(eol)
    table.warnings.append(f"the file seems cut off at line {breaks + 1:,} (its last line has {fields[1]} of {n} "
                          "fields and no line end): export it again")  # fmt: skip


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _sheet_rows(rows: Iterable[tuple[int, list[object]]], name: str) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a sheet as text with their row numbers, within the row and column limits."""
    lim = limits.upload_limits()
    numbered: list[tuple[int, list[str]]] = []
    for i, row in rows:
        while row and (row[-1] is None or row[-1] == ""):
            row.pop()  # rows are as wide as their last cell
        if len(row) > lim.columns:
            limits.check_columns(len(row), name, f"row {i}")
        if any(v is not None and str(v).strip() for v in row):
            numbered.append((i, [_cell_text(v) for v in row]))
            if len(numbered) > lim.rows + 1:  # the header and the data rows
                limits.check_rows(len(numbered) - 1, name)
    return numbered


def _open_workbook(path: Path, display: str, workdir: Path) -> list[Table]:
    from openpyxl import load_workbook

    wb = None
    sheets = xlsx.calamine_sheets(path)
    try:
        if sheets is None:
            try:
                wb = load_workbook(path, read_only=True, data_only=True)
            except Exception:  # a zip that is not a workbook, or a damaged one
                raise ImportFileError(
                    f"{display} is not a readable Excel workbook (damaged, or another program's file); open it in "
                    "Excel and save it again as .xlsx, or export it as CSV"
                ) from None
            sheets = xlsx.openpyxl_sheets(wb)
        return _workbook_tables(path, display, workdir, sheets)
    finally:
        if wb is not None:
            wb.close()


def _workbook_tables(path: Path, display: str, workdir: Path, sheets: list[xlsx.Sheet]) -> list[Table]:
    digest = sha256_later(path)
    tables: list[Table] = []
    skipped: list[str] = []
    try:
        for title, part, rows, merges in sheets:
            numbered = _sheet_rows(rows, f"{display} [{title}]")
            if len(numbered) < 2 or max(len([x for x in r if x.strip()]) for _, r in numbered) < 2:
                skipped.append(title)
                continue
            h = find_header([r for _, r in numbered])
            columns = dedupe_columns(numbered[h][1])
            width = len(columns)
            filled = _fill_groups(path, part, merges, numbered, h)
            out = workdir / f"{path.stem}.{len(tables)}.csv"
            with open(out, "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow([ROW_COLUMN, *columns])
                for number, row in numbered[h + 1 :]:
                    writer.writerow([number, *(row + [""] * (width - len(row)))[:width]])
            sample = [(r + [""] * (width - len(r)))[:width] for _, r in numbered[h + 1 : h + 201]]
            name = f"{display} [{title}]" if len(sheets) > 1 else display
            tables.append(Table(name, path.name, out, ",", 0, columns, sample, digest, has_row_column=True,
                                sheet=title if len(sheets) > 1 else None))  # fmt: skip
            if filled:
                named = ", ".join(columns[c] for c in filled if c < width)
                one = len(filled) == 1
                tables[-1].notes.append(f"{named} filled down {'its' if one else 'their'} groups, as a grouped "
                                        f"report writes {'it' if one else 'them'} once")  # fmt: skip
            if part:
                _unsaved_formulas(path, part, tables[-1], display)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, KeyError, SyntaxError):
        # A part that inflates beyond its recorded size fails its CRC check here; so does a damaged one.
        raise ImportFileError(
            f"{display} is not a readable Excel workbook (a damaged sheet); open it in Excel and save it again as "
            ".xlsx, or export it as CSV"
        ) from None
    if not tables:
        raise ImportFileError(f"{display} has no sheet with a table (a header row and data rows); check the workbook")
    if skipped:
        tables[0].notes.append(f"skipped sheets without a table: {', '.join(skipped)}")
    return tables


def _fill_groups(path: Path, part: str | None, merges: list[xlsx.Merge] | None,
                 numbered: list[tuple[int, list[str]]], h: int) -> list[int]:  # fmt: skip
    """A grouped report's group values on every row of their group (xlsx.fill_groups): in cells merged down
    several rows, and in a report (a title above the header, or subtotal rows) in leading columns written once
    per group. Returns the columns filled."""
    if merges is None:
        merges = xlsx.merged_ranges(path, part) if part else []
    data = numbered[h + 1 :]
    report = h > 0 or any(xlsx.is_total(cells) for _, cells in data)
    return xlsx.fill_groups(data, numbered[h][0], merges, report)


def _unsaved_formulas(path: Path, part: str, table: Table, display: str, rows: int = 200) -> None:
    """Warn of formulas without a saved value in a sheet's first `rows` rows: a workbook written by a program
    (never opened and saved in Excel) has none, and such a cell reads as empty (a name made by =HYPERLINK(...)
    was rejected as 'name is empty'). Read from the sheet's XML (openpyxl's part name for it): opening the
    workbook again with formulas loads every shared string once more (19 s for 200,000 rows)."""
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    found: list[str] = []
    with zipfile.ZipFile(path) as z, z.open(part) as xml:
        for _, el in ElementTree.iterparse(xml):
            if el.tag == f"{ns}c" and el.find(f"{ns}f") is not None and not el.findtext(f"{ns}v", "").strip():
                found.append(str(el.get("r", "?")))  # no value, or <v/> (openpyxl writes that)
            elif el.tag == f"{ns}row":
                if int(el.get("r", 0) or 0) >= rows:
                    break
                el.clear()
    if found:
        table.warnings.append(
            f"{len(found):,} cell(s) in the first {rows} rows hold a formula without a saved value (first {found[0]}) "
            f"and read as empty: open {display} in Excel and save it, or paste the values, then import again"
        )


def stage_error(name: str, exc: duckdb.Error) -> ImportFileError:
    """The one-line error for a file DuckDB cannot read at all."""
    text = str(exc)
    found = re.search(r"CSV Error on Line: (\d+)", text)
    line = found.group(1) if found else ""
    if "maximum line size" in text.lower() or "line size" in text.lower():
        return ImportFileError(
            f"{name}: line {line or '?'} holds a field larger than 4 MB, which no CRM export has; the file is "
            "damaged or not a CRM export: export it again"
        )
    m = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if m:
        return ImportFileError(
            f"{name}: line {line or '?'} has {m.group(2)} fields where the header has {m.group(1)}; fix the quoting "
            "of that line (a stray quote or delimiter) or export the file again"
        )
    if "unicode" in text.lower():
        return ImportFileError(f"{name}: mixed text encodings on line {line or '?'}; save it again as UTF-8 CSV")
    first = text.splitlines()[0] if text else type(exc).__name__
    if re.search(r"\.xls[xm]?\b", name, re.IGNORECASE):  # a workbook's sheet: not 'a CSV table', not 'as Excel'
        return ImportFileError(f"{name}: cannot be read as a table ({first[:160]}); save it again in Excel or "
                               "export it as CSV")  # fmt: skip
    return ImportFileError(f"{name}: cannot be read as a CSV table ({first[:160]}); export it again as CSV or Excel")
