"""Travel from a matrix file: road minutes or km exported from a routing engine, instead of great-circle km.

The file is a CSV with a header `from,to,<unit>`, one row per pair, as OSRM, Valhalla, GraphHopper,
ORS or a GIS tool export it (comma, semicolon or tab separated; decimal commas read as the CRM importer reads
them). The ends may be named as the engines name them (source, origin; destination, target), the unit column
is one of UNIT_NAMES: minutes, km, miles (kept as given), seconds or hours (read as minutes), metres (read as
km); of a time and a distance column, the time one. A wide table (a row per rep, a column per destination) is
read when its top-left cell names the unit. A pair is either

- a rep and an account: the rep's id, email or CRM user id and the account's id,
- a rep and a postal code: the rep (as above) and the account's ZIP (one row covers every account of
  the ZIP; the usual export from rep homes to ZIP centroids), or a rep's home ZIP and an account id,
- two postal codes: the rep's home ZIP and the account's ZIP.

An account id is matched as written (0042 and 42 are two accounts), a postal code with its leading zeros
dropped. An end that is both an account id and a postal code of the book (Pipedrive's account 1001 and ZIP 01001)
must say which in a to_kind (or from_kind) column: account or postal_code, as the 'Pairs to route' file does.

Either end may come first (a row holds for both directions unless the file gives the other direction
too). For each account and rep the most specific row wins, in the order above. Every pair of an active rep
and an account with a location must be covered; a missing pair, a blank end, a value that is not a number of 0
or more, a value above MAX_VALUE (an "unreachable" sentinel), a file of zeros, or a pair given twice with
different values is one line that says which and how to fix it.

An account without a location has no pair to route (route_pairs leaves it out: no routing engine can price a
place nobody knows). Unless the file gives its rows anyway, it is treated as without a matrix, where it sits at
its state's centroid, else the book's: its travel to each rep is the mean of that rep's travel to the placed
accounts of its state, else of the book. It counts toward balance like any other account.

travel_matrix() returns the table optimize.rebalance(..., distance=) takes: rows account_id, columns
rep_id, in the file's unit (attrs["unit"]).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import BadInput
from planner.geo import US_NAMES
from planner.ingest import parse, reader

# The unit columns a file may have, by what its numbers are: (unit reported, factor to it) -> header names. Routing
# engines leave the unit out of some names: OSRM, ORS, Mapbox and GraphHopper write `duration` in seconds and
# `distance` in metres, Google's Distance Matrix `duration_value` and `distance_value` the same.
UNIT_NAMES: dict[tuple[str, float], tuple[str, ...]] = {
    ("minutes", 1.0): ("minutes", "min", "mins", "duration_min", "travel_time_min", "travel_time_minutes"),
    ("minutes", 1 / 60): ("seconds", "secs", "duration_s", "travel_time_s", "duration", "duration_value"),
    ("minutes", 60.0): ("hours", "hrs", "duration_h"),
    ("km", 1.0): ("km", "kilometres", "kilometers", "distance_km"),
    ("km", 1 / 1000): ("metres", "meters", "distance_m", "distance", "distance_value"),
    ("miles", 1.0): ("miles", "mi", "distance_mi"),
}  # fmt: skip
# header name -> (unit reported, factor to that unit)
UNITS: dict[str, tuple[str, float]] = {n: unit for unit, names in UNIT_NAMES.items() for n in names}
FROM_NAMES = ("from", "source", "origin", "from_id", "origin_id")
TO_NAMES = ("to", "destination", "target", "dest", "to_id", "destination_id")
# A name that does not say its unit, and the median below which its numbers cannot be that unit (under a minute
# or a kilometre from a rep to the typical account): a file in minutes or km named so is refused, not read 60x off.
UNNAMED = {"duration": (60.0, "seconds", "minutes"), "distance": (1000.0, "metres", "km")}
SNIFF_BYTES = 64 * 1024  # the start of a file that decides its separator
HOW = "a CSV with a header from,to,minutes (or km) and one row per rep/account or postal-code pair"
ACCEPTED = (
    f"from (or {', '.join(FROM_NAMES[1:])}), to (or {', '.join(TO_NAMES[1:])}) and one unit column: "
    + "; ".join(f"{ns[0]} ({', '.join(ns[1:])})" if len(ns) > 1 else ns[0] for ns in UNIT_NAMES.values())
    + "; duration is seconds and distance metres, as OSRM and ORS write them"
)
# What a from_kind / to_kind column may say an end is (the 'Pairs to route' file writes to_kind): an account id is
# matched as written, a postal code as canonical() and against postal codes only. A blank cell: either.
KINDS = {"account": "account", "account_id": "account", "rep": "rep", "rep_id": "rep",
         **dict.fromkeys(("postal_code", "postal code", "postcode", "zip", "zip_code"), "postal_code")}  # fmt: skip
# The most any pair on earth can take (30 days of travel, once round the earth; a coast-to-coast US pair is some
# 45 hours and 4,500 km, Lisbon to Vladivostok 12,000 km): a bigger value is a sentinel for "unreachable"
# (2147483647, 1e12), and would swamp every other pair or overflow the solver.
MAX_VALUE = {"minutes": 30 * 24 * 60.0, "km": 40_000.0, "miles": 40_000 / 1.609344}
# How precise an account's place is (the store's geo_precision), finest first: a destination of the pairs to route
# takes the mean point of its finest rows only (a Berlin code's city rows, not the centre of Germany).
PRECISION_RANK = {"coordinates": 0, "postal_code": 1, "city": 2, "region": 3, "country": 4}


@dataclass(frozen=True)
class PairTable:
    """The rows of a travel matrix file: both ends as canonical keys and the value in `unit`; each end also as
    written (an account id's key) and its kind when the file says it (KINDS: '' when it does not)."""

    frm: np.ndarray
    to: np.ndarray
    value: np.ndarray
    unit: str
    name: str  # the file's name, for messages
    notes: tuple[str, ...] = ()  # what the reading chose (a time column over a distance one)
    frm_written: np.ndarray | None = None  # None: as frm
    to_written: np.ndarray | None = None
    frm_kind: np.ndarray | None = None  # None: no kind column
    to_kind: np.ndarray | None = None
    line: np.ndarray | None = None  # each row's line in the file, for messages


def written(values: pd.Series) -> pd.Series:
    """A key as written: trimmed, and without the apostrophe our own files (route_pairs, and every export) put
    before a key that starts like a formula (planner.export.neutralise). Account ids compare so: 0042 and 42 are
    two accounts, and a numeric id is no postal code."""
    s = values.astype("string").str.strip().str.replace(r"^'(?=[=+\-@])", "", regex=True)
    return s.where(s != "")


def canonical(values: pd.Series) -> pd.Series:
    """Postal codes and rep keys compared across the file and the store: written(), emails lower-cased, a purely
    numeric key without leading zeros (a spreadsheet turns ZIP 02139 into 2139), a trailing '.0' dropped."""
    s = written(values)
    s = s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    s = s.where(~s.str.contains("@", na=False), s.str.lower())
    digits = s.str.fullmatch(r"\d+", na=False)
    s = s.where(~digits, s.str.lstrip("0").replace("", "0"))
    return s.where(s != "")


def read_pairs(source: Path | bytes, name: str | None = None) -> PairTable:
    """Read and check a travel matrix CSV, a file or its bytes (an upload), see the module docstring. The
    separator (comma, semicolon, tab, |) is sniffed as the CRM importer does."""
    label = name or (source.name if isinstance(source, Path) else "upload")
    data: Path | io.BytesIO = io.BytesIO(source) if isinstance(source, bytes) else source
    if isinstance(source, bytes):
        start = source[: SNIFF_BYTES + 1]
    else:
        with open(source, "rb") as fh:
            start = fh.read(SNIFF_BYTES + 1)
    head = start[:SNIFF_BYTES].decode("utf-8-sig", errors="replace").splitlines()
    sep = reader.sniff_delimiter(head[:-1] if len(start) > SNIFF_BYTES else head)
    try:
        raw = pd.read_csv(data, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                          skipinitialspace=True)  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(f"travel matrix {label} cannot be read as CSV ({first}); give {HOW}") from exc
    return pairs_from_frame(raw, label, sep)


def pairs_from_frame(raw: pd.DataFrame, name: str = "travel matrix", sep: str = ",") -> PairTable:
    """Check the rows of a travel matrix table (from,to,<unit>, or a wide one: see _flatten_wide) and return them
    canonical. `sep`: the file's separator (a semicolon file writes decimal commas, so '1.234' is ambiguous)."""
    raw = _flatten_wide(raw, name)
    frm_col, to_col, unit_col, notes = _columns(raw, name)
    unit, factor = UNITS[unit_col.strip().lower()]
    frm = _canonical_many(raw[frm_col])
    to = _canonical_many(raw[to_col])
    line = raw.attrs.get("lines", np.arange(len(raw)) + 2)  # the header is line 1
    frm_kind, to_kind = (_kinds(raw, f"{end}_kind", name, line) for end in ("from", "to"))
    text = raw[unit_col].astype("string").str.strip().fillna("")
    value = _numbers(text, f"travel matrix {name}", str(unit_col).strip(), sep, line)
    blank = (frm.isna() | to.isna()).to_numpy()
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        raise BadInput(f"travel matrix {name} line {line[i]}: the from or to cell is blank; fill both ends of the pair")
    bad = ~np.isfinite(value) | (value < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadInput(
            f"travel matrix {name} line {line[i]}: {unit_col} {str(text.iloc[i])!r} is not a number of 0 or more; "
            f"fix the value ({int(bad.sum()):,} such rows)"
        )
    _check_unnamed_unit(name, str(unit_col).strip(), value)
    f_arr, t_arr, v_arr = frm.to_numpy(dtype=object), to.to_numpy(dtype=object), value * factor
    if len(v_arr) == 0:
        raise BadInput(f"travel matrix {name} has no rows; give {HOW}")
    f_wr = _canonical_many(raw[frm_col], written).to_numpy(dtype=object)
    t_wr = _canonical_many(raw[to_col], written).to_numpy(dtype=object)
    # A pair's identity: an end marked as an account by its id as written (0042 and 42 are two), else canonical.
    f_code, _ = pd.factorize(np.where(frm_kind == "account", account_key(f_wr), f_arr))
    t_code, t_uniq = pd.factorize(np.where(to_kind == "account", account_key(t_wr), t_arr))
    key = f_code.astype(np.int64) * max(len(t_uniq), 1) + t_code
    dup = pd.Index(key).duplicated(keep=False)
    if dup.any():
        d = pd.DataFrame({"k": key[dup], "v": v_arr[dup], "line": line[dup], "pos": np.flatnonzero(dup)})
        spread = d.groupby("k")["v"].agg(lambda v: float(v.max() - v.min()))
        clash = spread[spread > 1e-9]
        if len(clash):
            rows = d.loc[d["k"] == clash.index[0], "line"].to_numpy()
            i = int(d.loc[d["k"] == clash.index[0], "pos"].iloc[0])
            raise BadInput(
                f"travel matrix {name} gives {f_arr[i]} -> {t_arr[i]} twice with different values (lines "
                f"{', '.join(str(r) for r in rows[:3])}); keep one row per pair"
            )
        first = ~pd.Index(key).duplicated(keep="first")
        f_arr, t_arr, v_arr = f_arr[first], t_arr[first], v_arr[first]
        f_wr, t_wr, frm_kind, to_kind, line = f_wr[first], t_wr[first], frm_kind[first], to_kind[first], line[first]
    return PairTable(
        f_arr, t_arr, np.asarray(v_arr, dtype=float), unit, name, tuple(notes),
        frm_written=f_wr, to_written=t_wr, frm_kind=frm_kind, to_kind=to_kind, line=np.asarray(line),
    )  # fmt: skip


def _kinds(raw: pd.DataFrame, col: str, name: str, line: np.ndarray) -> np.ndarray:
    """What the file's from_kind or to_kind column says each end is (KINDS), '' where it says nothing."""
    cols = {str(c).strip().lower(): c for c in raw.columns}
    if col not in cols:
        return np.full(len(raw), "", dtype=object)
    said = raw[cols[col]].astype("string").str.strip().str.lower().fillna("")
    kind = said.map(lambda v: KINDS.get(v, "" if v == "" else None))
    bad = kind.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadInput(
            f"travel matrix {name} line {line[i]}: {col} {said.iloc[i]!r} is not account, postal_code or rep; "
            "say which the end is, or leave the cell blank"
        )
    return kind.to_numpy(dtype=object)


def _figure(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0") if value < 1e13 else f"{value:.3g}"


def _check_plausible(pairs: PairTable) -> None:
    """Refuse a value above MAX_VALUE (an 'unreachable' sentinel such as 2147483647 would swamp the plan, a huge
    one overflow the solver) and a file whose every pair is 0 (no travel is nothing to plan on)."""
    cap = MAX_VALUE.get(pairs.unit, np.inf)
    big = pairs.value > cap
    if big.any():
        i = int(np.flatnonzero(big)[0])
        where = f" line {pairs.line[i]}" if pairs.line is not None else ""
        raise BadInput(
            f"travel matrix {pairs.name}{where}: {_figure(pairs.value[i])} {pairs.unit} is more than any pair can "
            f"take ({cap:,.0f} {pairs.unit}; {int(big.sum()):,} such rows); leave unreachable pairs out or give a real "
            "figure"
        )
    if len(pairs.value) and not pairs.value.any():
        raise BadInput(f"travel matrix {pairs.name}: every pair is 0 {pairs.unit}; give the real travel of each pair")


def _columns(raw: pd.DataFrame, name: str) -> tuple[str, str, str, list[str]]:
    """The from, to and unit columns (as the frame names them) and the notes on the choice: of a time and a
    distance column, the time one (travel time is what reps feel)."""
    cols = {str(c).strip().lower(): c for c in raw.columns}
    frm = next((cols[n] for n in FROM_NAMES if n in cols), None)
    to = next((cols[n] for n in TO_NAMES if n in cols), None)
    times = [c for c in cols if UNITS.get(c, ("",))[0] == "minutes"]
    dists = [c for c in cols if c in UNITS and c not in times]
    got = ", ".join(str(c) for c in raw.columns) or "no columns"
    if frm is None or to is None or not (times or dists):
        raise BadInput(f"travel matrix {name} has columns {got}; give {HOW}. Accepted columns: {ACCEPTED}")
    pick, kind = (times, "time") if times else (dists, "distance")
    if len(pick) > 1:
        raise BadInput(
            f"travel matrix {name} has columns {got}: {' and '.join(str(cols[c]) for c in pick)} are both {kind}s; "
            "keep one"
        )
    notes = []
    if times and dists:
        notes.append(
            f"the travel matrix gives time ({cols[times[0]]}) and distance ({', '.join(str(cols[c]) for c in dists)}): "
            "travel is its time, as travel time is what reps feel (give a file without the time column to plan "
            "on distance)."
        )
    return frm, to, cols[pick[0]], notes


def _flatten_wide(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    """A wide matrix (a row per rep, a column per ZIP or account: OSRM's table) as from,to,<unit> rows, when its
    top-left cell names the unit; a file that looks wide without one is refused (its numbers could be anything).
    A file with a to column (or a synonym), or whose column names are mostly words without digits, is not wide."""
    cols = [str(c).strip() for c in raw.columns]
    low = [c.lower() for c in cols]
    if len(cols) < 3 or any(c in TO_NAMES for c in low) or any(c in UNITS for c in low[1:]):
        return raw
    corner = low[0]
    if sum(any(ch.isdigit() for ch in c) for c in cols[1:]) * 2 <= len(cols) - 1:
        return raw  # its columns are no destinations (ZIPs, account ids): words such as zip, drive
    if corner not in UNITS:
        cells = raw.iloc[:50, 1:].astype("string").stack()
        numeric = cells.str.fullmatch(r"\s*[\d.,]+\s*|", na=True).all()
        if not (numeric and (corner in FROM_NAMES or corner in ("", "rep", "rep_id") or corner.startswith("unnamed"))):
            return raw
        raise BadInput(
            f"travel matrix {name} is a wide table (a row per rep, {len(cols) - 1:,} columns: {cols[1]}, {cols[2]}, "
            "...) that does not say its unit; flatten it to one row per pair with a header from,to,minutes (or km), or "
            "name the unit in its top-left cell (minutes, seconds, km, metres, miles)"
        )
    long = raw.melt(id_vars=[raw.columns[0]], var_name="to", value_name="value")
    long.columns = pd.Index(["from", "to", cols[0]])
    long.attrs["lines"] = np.tile(np.arange(len(raw)) + 2, len(cols) - 1)  # messages name the file's own lines
    return long


# A value with one comma or dot before exactly three digits: 1,234 is a thousand or one, as the column's style says.
_AMBIGUOUS = {",": r"[+-]?\d{1,3},\d{3}", ".": r"[+-]?\d{1,3}\.\d{3}"}
_NUMBER_TEXT = r"[+-]?[\d.,' \u00a0\u202f]+"  # digits and separators only: no units, currency or percent


def _numbers(text: pd.Series, what: str, col: str, sep: str, line: np.ndarray) -> np.ndarray:
    """The column's numbers (NaN where a cell is not one). Plain numbers are read as they are; otherwise the
    column's style (decimal comma or point) is judged on its values as the CRM importer judges a column
    (planner.ingest.parse COMMA_EVIDENCE, DOT_EVIDENCE) and each value read by its parse_number. A column whose
    values write both styles, or only ones such as '1,234' (in a semicolon file also '1.234') that either
    could have written, is refused: reading the wrong one is 1,000 times off."""
    value = pd.to_numeric(text, errors="coerce").to_numpy(float, na_value=np.nan)
    odd = np.isnan(value)  # cells to_numeric cannot read that hold a digit (blanks and 'N/A' stay refused)
    odd[odd] = text[odd].str.contains(r"\d", regex=True).to_numpy(bool)
    if not odd.any() and sep != ";":
        return value
    marked = text[text.str.contains(r"[.,]", regex=True)]
    uniq = pd.Series(pd.unique(marked), dtype=object)
    clean = uniq.str.replace(r"[ '\u00a0\u202f]", "", regex=True)
    comma = uniq[clean.str.match(parse.COMMA_EVIDENCE)]
    dot = uniq[clean.str.match(parse.DOT_EVIDENCE)]

    def at(v: str) -> str:
        return f"line {line[np.flatnonzero(text.to_numpy(object) == v)[0]]}"

    if len(comma) and len(dot):
        raise BadInput(
            f"{what} writes {col} both with a decimal comma ({comma.iloc[0]!r}, {at(comma.iloc[0])}) and with a "
            f"decimal point ({dot.iloc[0]!r}, {at(dot.iloc[0])}); write every value the same way"
        )
    if not len(comma) and not len(dot):
        marks = [","] + (["."] if sep == ";" else [])
        either = uniq[clean.str.fullmatch("|".join(_AMBIGUOUS[m] for m in marks))]
        if len(either):
            v = str(either.iloc[0])
            whole, part = v.replace(".", ",").split(",")
            raise BadInput(
                f"{what} {at(v)}: {col} {v!r} may be {whole}{part} or {whole}.{part}, and no other value shows "
                f"whether its {'comma' if ',' in v else 'dot'} marks thousands or decimals; write it as "
                f"{whole}{part} or {whole}.{part}"
            )
    decimal_comma = bool(len(comma))
    redo = odd | (text.str.contains(r"[.,]", regex=True).to_numpy(bool) if decimal_comma else False)
    todo = pd.Series(pd.unique(text[redo]), dtype=object)
    ok = todo.str.fullmatch(_NUMBER_TEXT)
    read = {v: parse.parse_number(v, decimal_comma) if good else None for v, good in zip(todo, ok, strict=True)}
    value[redo] = text[redo].map(read).astype(float).to_numpy()
    return value


def _check_unnamed_unit(name: str, col: str, value: np.ndarray) -> None:
    """A column named duration or distance holds seconds or metres (what OSRM and ORS write): refuse one whose
    typical pair is under a minute or a kilometre that way, as it is surely minutes or km."""
    if col.lower() not in UNNAMED or not len(value):
        return
    floor, said, likely = UNNAMED[col.lower()]
    median = float(np.median(value))
    if median < floor:
        raise BadInput(
            f"travel matrix {name}: {col} is read as {said} (what OSRM and ORS write), but the typical pair is "
            f"{median:g} {said}, so the file is likely in {likely}; name the column {likely} or {said}"
        )


def _canonical_many(values: pd.Series, key: Callable[[pd.Series], pd.Series] = canonical) -> pd.Series:
    """canonical() (or `key`) computed once per distinct value (a matrix repeats each rep and account many times)."""
    codes, uniq = pd.factorize(values.astype(object), use_na_sentinel=True)
    canon = key(pd.Series(uniq, dtype=object)).to_numpy(dtype=object, na_value=None)
    out = np.where(codes >= 0, canon[np.maximum(codes, 0)], None) if len(canon) else np.full(len(codes), None)
    return pd.Series(out, index=values.index, dtype=object)


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series(pd.NA, index=df.index, dtype="string")


def travel_matrix(pairs: PairTable, accounts: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """The accounts x reps travel table from the file's pairs: rows account_id, columns rep_id.

    `accounts` has account_id and postal_code; `reps` has rep_id, active and optionally email, crm_id
    and home_postal_code. Every pair of an active rep and an account must be covered (BadInput names the
    first missing one); an inactive rep's column may stay partly empty (it only measures today's travel).
    """
    _check_plausible(pairs)
    acc = accounts.reset_index(drop=True)
    rp = reps.reset_index(drop=True)
    n, k = len(acc), len(rp)
    out = np.full((n, k), np.nan)
    # Every key as an integer code of one vocabulary; a pair (a, b) as the integer a * V + b. An account id is a
    # key of its own ("\x00" + the id as written): never a postal code, and 0042 is not 42.
    ends = [_end_keys(pairs, end, acc, rp) for end in ("frm", "to")]
    vocab = pd.Index(pd.unique(np.concatenate([k for e in ends for k in e])))
    vocab = vocab[vocab.notna()]
    size = np.int64(len(vocab) + 1)

    def code(values: pd.Series | np.ndarray) -> np.ndarray:
        return np.asarray(vocab.get_indexer(np.asarray(values, dtype=object)), dtype=np.int64)  # -1: not in the file

    (f_gen, f_acc), (t_gen, t_acc) = ((code(g), code(a)) for g, a in ends)
    # A row is a pair of postal code / rep keys, or one of them and an account id (never two account ids).
    rows, combos = [], []
    for a, b in ((f_gen, t_gen), (f_gen, t_acc), (f_acc, t_gen)):
        rows.append(np.flatnonzero((a >= 0) & (b >= 0)))
        combos.append((a[rows[-1]], b[rows[-1]]))
    # Each row holds in its direction, and in the other where the file does not give that one.
    keys = np.concatenate([a * size + b for a, b in combos] + [b * size + a for a, b in combos])
    vals = np.concatenate([pairs.value[r] for r in rows] * 2)
    keep = ~pd.Index(keys).duplicated(keep="first")
    lookup = pd.Index(keys[keep])
    vals = vals[keep]
    acc_id = code(account_key(written(acc["account_id"].astype(object)).to_numpy(dtype=object, na_value=None)))
    acc_zip = code(canonical(_col(acc, "postal_code")).astype(object).to_numpy())
    # Rep keys in priority order: id, email, CRM user id (the first one the file knows wins).
    rep_ids = [code(canonical(_col(rp, c)).astype(object).to_numpy()) for c in ("rep_id", "email", "crm_id")]
    rep_zip = [code(canonical(_col(rp, "home_postal_code")).astype(object).to_numpy())]
    by_zip = np.zeros(n, dtype=bool)  # accounts that some row reaches through their postal code
    # The most specific row wins: rep to account, rep to the account's ZIP, home ZIP to account, ZIP to ZIP.
    for acc_keys, rep_keys in ((acc_id, rep_ids), (acc_zip, rep_ids), (acc_id, rep_zip), (acc_zip, rep_zip)):
        for rk in rep_keys:
            for j in np.flatnonzero(rk >= 0):
                todo = np.isnan(out[:, j]) & (acc_keys >= 0)
                if not todo.any():
                    continue
                hit = lookup.get_indexer(rk[j] * size + acc_keys[todo])
                rows = np.flatnonzero(todo)[hit >= 0]
                out[rows, j] = vals[hit[hit >= 0]]
                by_zip[rows] |= acc_keys is acc_zip
    _one_country_per_zip(pairs.name, acc, by_zip)
    active = active_reps(rp)
    unplaced = _unplaced(acc)
    imputed = unplaced & np.isnan(out[:, active]).any(axis=1)
    missing = np.isnan(out[:, active]) & ~unplaced[:, None]
    if missing.any():
        a, r = np.argwhere(missing)[0]
        r = int(np.flatnonzero(active)[r])
        total = int((~unplaced).sum()) * int(active.sum())
        raise BadInput(_missing_message(pairs, acc, acc.iloc[a], rp.iloc[r], int(missing.sum()), total))
    _impute_unplaced(out, acc, imputed)
    table = pd.DataFrame(out, index=acc["account_id"].astype(str).to_numpy(), columns=rp["rep_id"].astype(str))
    table.index.name, table.columns.name = "account_id", "rep_id"
    table.attrs["unit"] = pairs.unit
    table.attrs["unplaced"] = int(imputed.sum())
    table.attrs["imputed_accounts"] = acc["account_id"].astype(str).to_numpy()[imputed].tolist()  # problem.py
    table.attrs["notes"] = [
        *pairs.notes,
        *([UNPLACED_NOTE.format(n=f"{int(imputed.sum()):,}")] if imputed.any() else []),
    ]
    return table


def _end_keys(pairs: PairTable, end: str, acc: pd.DataFrame, rp: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """One end of every row as a postal code / rep key (canonical) and as an account key ("\x00" + the id as
    written), None where the end cannot be that. An end the file does not mark (no kind column) is an account
    where its text is an account id of the book; one that is also a postal code of the book could be either
    (Pipedrive's account 1001 and ZIP 01001, account 10115 in Munich and Berlin's 10115) and is refused."""
    canon = getattr(pairs, end)
    text = getattr(pairs, f"{end}_written")
    text = canon if text is None else text
    kind = getattr(pairs, f"{end}_kind")
    kind = np.full(len(canon), "", dtype=object) if kind is None else kind
    ids = pd.Index(written(acc["account_id"].astype(object)).dropna().unique())
    is_id = ids.get_indexer(text) >= 0
    # A spreadsheet that turned the id column into numbers writes account 1001 as 1001.0: that account, where the
    # end as written is no id (a float has no leading zeros: 0042.0 is no spelling of account 0042).
    whole = pd.Series(text, dtype=object).astype("string").str.extract(r"^([1-9]\d*|0)\.0+$")[0]
    whole = whole.to_numpy(dtype=object, na_value=None)
    as_float = ~is_id & (kind != "postal_code") & (ids.get_indexer(whole) >= 0)
    shown, text = text, np.where(as_float, whole, text)
    is_id |= as_float
    account = (kind == "account") | ((kind == "") & is_id)
    codes = pd.concat([canonical(_col(acc, "postal_code")), canonical(_col(rp, "home_postal_code"))]).dropna()
    both = (kind == "") & is_id & (pd.Index(codes.unique()).get_indexer(canon) >= 0)
    if both.any():
        i = int(np.flatnonzero(both)[0])
        where = f" line {pairs.line[i]}" if pairs.line is not None else ""
        col = "from_kind" if end == "frm" else "to_kind"
        raise BadInput(
            f"travel matrix {pairs.name}{where}: {shown[i]!r} is both an account id and a postal code of the book "
            f"({int(both.sum()):,} such rows); add a {col} column saying account or postal_code (the 'Pairs to "
            "route' file has one: write it anew)"
        )
    gen, acc_key = canon.copy(), account_key(text)
    gen[kind == "account"] = None
    acc_key[~account] = None
    return gen, acc_key


def account_key(ids: np.ndarray) -> np.ndarray:
    """An account id as a key of the travel lookup: apart from every postal code and rep key (None stays None)."""
    return np.array([None if v is None else "\x00" + str(v) for v in ids], dtype=object)


UNPLACED_NOTE = (
    "{n} account(s) without a location have no rows in the travel matrix (no routing engine can price them): they "
    "count toward balance, and their travel to each rep is the mean of that rep's travel to the placed accounts "
    "of their state (else of the book), as without a matrix they sit at that centroid."
)


def _unplaced(acc: pd.DataFrame) -> np.ndarray:
    """Accounts without a location (no lat or lon); none when the table has no coordinates."""
    if "lat" not in acc or "lon" not in acc:
        return np.zeros(len(acc), dtype=bool)
    lat, lon = pd.to_numeric(acc["lat"], errors="coerce"), pd.to_numeric(acc["lon"], errors="coerce")
    return (lat.isna() | lon.isna()).to_numpy()


def _impute_unplaced(out: np.ndarray, acc: pd.DataFrame, rows: np.ndarray) -> None:
    """Fill the travel of accounts without a location (`rows`) as the optimizer places them without a matrix: the
    mean over the placed accounts of their state, else of the book, per rep (0 when no account is placed)."""
    if not rows.any():
        return
    placed = ~_unplaced(acc)
    state = _col(acc, "state").astype("string").str.strip().str.upper().fillna("").to_numpy(dtype=str)  # "": none
    with np.errstate(all="ignore"):
        book = np.nanmean(np.where(placed[:, None], out, np.nan), axis=0) if placed.any() else np.zeros(out.shape[1])
    book = np.nan_to_num(book, nan=0.0)
    for i in np.flatnonzero(rows):
        same = placed & (state == state[i]) & (state[i] != "")
        with np.errstate(all="ignore"):
            fill = np.nanmean(out[same], axis=0) if same.any() else book
        gap = np.isnan(out[i])
        out[i, gap] = np.where(np.isnan(fill), book, fill)[gap]


def active_reps(reps: pd.DataFrame) -> np.ndarray:
    """The reps who need travel: active ones (no column: all)."""
    return reps["active"].fillna(True).astype(bool).to_numpy() if "active" in reps else np.ones(len(reps), dtype=bool)


def _zip_countries(acc: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each account's postal code as a key (canonical) and, per code, how many countries its accounts name
    (accounts without a country do not count)."""
    zips = canonical(_col(acc, "postal_code"))
    country = _col(acc, "country").astype("string").str.strip().str.upper().replace("", pd.NA)  # blank: none
    frame = pd.DataFrame({"zip": zips, "country": country}).dropna()
    return zips, frame.groupby("zip")["country"].agg(lambda c: ", ".join(sorted(c.unique())))


def _one_country_per_zip(name: str, acc: pd.DataFrame, by_zip: np.ndarray) -> None:
    """A postal-code row holds for every account with that code, and codes repeat across countries (75001 is
    Paris and Addison, Texas): refuse a row that reaches accounts of two countries instead of giving both one
    travel."""
    if not by_zip.any() or "country" not in acc:
        return
    zips, countries = _zip_countries(acc)
    many = countries[countries.index.isin(zips[by_zip].dropna()) & countries.str.contains(",", regex=False)]
    if len(many):
        raise BadInput(
            f"travel matrix {name} gives travel to postal code {many.index[0]}, which accounts in {many.iloc[0]} share "
            f"({len(many):,} such codes); give those accounts rows by account id (the 'Pairs to route' file does)"
        )


def route_pairs(accounts: pd.DataFrame, reps: pd.DataFrame, unit: str = "minutes") -> pd.DataFrame:
    """The pairs a routing engine must price for read_travel_matrix(), as a CSV to fill in: every active rep
    (by rep_id) to every destination with a place, with both ends' coordinates and an empty `unit` column
    (`from,to,to_kind,from_lat,from_lon,to_lat,to_lon,accounts,minutes`). A destination is a postal code when its
    accounts share one country, else one account by id (no postal code, or a code several countries use); to_kind
    says which, so account 10115 is never read as postal code 10115 (nor 42 as 0042). Its
    point is the mean of its accounts' finest places (PRECISION_RANK: a code's city rows, not a country centroid
    some of its rows got). A destination whose accounts have no place at all is left out: no routing engine can
    price it, and travel_matrix() treats those accounts as without a matrix. attrs["left_out"]: how many accounts.
    The filled file is a travel matrix as it is; the other columns are ignored."""
    if unit not in UNITS:
        raise BadInput(f"unknown travel unit {unit!r}; use one of {', '.join(sorted(set(UNITS)))}")
    acc = accounts.reset_index(drop=True)
    zips, countries = _zip_countries(acc)
    by_zip = zips.notna() & ~zips.map(countries).str.contains(",", regex=False).fillna(False).astype(bool)
    shown = _col(acc, "postal_code").astype("string").str.strip()  # as the store has it (02139, not 2139)
    lat, lon = pd.to_numeric(acc["lat"], errors="coerce"), pd.to_numeric(acc["lon"], errors="coerce")
    placed = lat.notna() & lon.notna()
    precision = _col(acc, "geo_precision").astype("string").str.strip().str.lower()
    dest = pd.DataFrame({
        "key": zips.where(by_zip, "\x00" + acc["account_id"].astype(str)).astype(object),
        "to": shown.where(by_zip, acc["account_id"].astype("string")).astype(object),
        "to_kind": np.where(by_zip, "postal_code", "account"),
        "lat": lat.where(placed), "lon": lon.where(placed),
        # unknown precision ranks with a postal code's; no place at all never counts
        "rank": precision.map(PRECISION_RANK).astype("Float64").fillna(1.0).where(placed, np.inf).astype(float),
    })  # fmt: skip
    finest = dest["rank"] == dest.groupby("key")["rank"].transform("min")
    point = dest[finest & placed].groupby("key")[["lat", "lon"]].mean()
    dest = dest.groupby("key", sort=True).agg(
        to=("to", "first"), to_kind=("to_kind", "first"), accounts=("lat", "size")
    )
    dest = dest.join(point.rename(columns={"lat": "to_lat", "lon": "to_lon"}), how="left")
    left_out = int(dest.loc[dest["to_lat"].isna(), "accounts"].sum())
    dest = dest[dest["to_lat"].notna()]
    rp = reps.reset_index(drop=True)
    rp = rp[active_reps(rp)]
    src = pd.DataFrame({"from": rp["rep_id"].astype(str).to_numpy(),
                        "from_lat": pd.to_numeric(rp["home_lat"], errors="coerce").to_numpy(),
                        "from_lon": pd.to_numeric(rp["home_lon"], errors="coerce").to_numpy()})  # fmt: skip
    out = src.merge(dest.reset_index(drop=True), how="cross")
    out[["from_lat", "from_lon", "to_lat", "to_lon"]] = out[["from_lat", "from_lon", "to_lat", "to_lon"]].round(5)
    out[unit] = pd.Series(pd.NA, index=out.index, dtype="Float64")
    out = out[["from", "to", "to_kind", "from_lat", "from_lon", "to_lat", "to_lon", "accounts", unit]]
    out.attrs["left_out"] = left_out
    return out


LEFT_OUT_NOTE = (
    "{n} account(s) without a location are left out: no routing engine can price them. They count toward balance "
    "as without a matrix (travel from their state's or the book's placed accounts)."
)


def code_word(countries: object) -> str:
    """'ZIP' for US codes, 'postal code' once a country other than the US is named (a Berlin 10115 is no ZIP).
    `countries`: one country or several (a book's); none named reads as the US, as a US book's rows rarely name it."""
    named = {str(c).strip().upper() for c in np.atleast_1d(np.asarray(countries, dtype=object)) if pd.notna(c)}
    return "ZIP" if named - {""} <= set(US_NAMES) else "postal code"


def _missing_message(
    pairs: PairTable, acc: pd.DataFrame, account: pd.Series, rep: pd.Series, missing: int, total: int
) -> str:
    zip_a = account.get("postal_code")
    zip_r = rep.get("home_postal_code")
    book = code_word(_col(acc, "country").dropna().unique())  # a rep's home names no country: the book's word
    word = book if pd.isna(account.get("country")) or not str(account.get("country")).strip() else code_word(
        account.get("country"))  # fmt: skip
    acc_txt = f"account {account['account_id']!r}" + (f" ({word} {zip_a})" if pd.notna(zip_a) and zip_a else "")
    name = rep.get("name")
    rep_txt = f"rep {name if pd.notna(name) else rep['rep_id']!r} ({rep['rep_id']}" + (
        f", home {book} {zip_r})" if pd.notna(zip_r) and zip_r else f", no home {book})"
    )
    return (
        f"travel matrix {pairs.name} has no {pairs.unit} between {acc_txt} and {rep_txt} ({missing:,} of "
        f"{total:,} pairs missing); add from,to,{pairs.unit} rows for the rep (id or email) and the account's id "
        f"or {word}, or for both {word}s"
    )


def read_travel_matrix(
    source: Path | bytes, accounts: pd.DataFrame, reps: pd.DataFrame, name: str | None = None
) -> pd.DataFrame:
    """read_pairs() then travel_matrix(): the table optimize.rebalance(..., distance=) takes."""
    return travel_matrix(read_pairs(source, name), accounts, reps)
