"""Travel from a matrix file: road minutes or km exported from a routing engine, instead of great-circle km.

The file is a CSV with a header `from,to,<unit>`, one row per pair, as OSRM, Valhalla, GraphHopper,
ORS or a GIS tool export it. The unit column is one of minutes, km, miles (kept as given), seconds
(read as minutes) or meters (read as km). A pair is either

- a rep and an account: the rep's id, email or CRM user id and the account's id,
- a rep and a postal code: the rep (as above) and the account's ZIP (one row covers every account of
  the ZIP; the usual export from rep homes to ZIP centroids), or a rep's home ZIP and an account id,
- two postal codes: the rep's home ZIP and the account's ZIP.

Either end may come first (a row holds for both directions unless the file gives the other direction
too). For each account and rep the most specific row wins, in the order above. Every pair of an active rep
and an account with a location must be covered; a missing pair, a blank end, a value that is not a number of 0
or more, or a pair given twice with different values is one line that says which and how to fix it.

An account without a location has no pair to route (route_pairs leaves it out: no routing engine can price a
place nobody knows). Unless the file gives its rows anyway, it is treated as without a matrix, where it sits at
its state's centroid, else the book's: its travel to each rep is the mean of that rep's travel to the placed
accounts of its state, else of the book. It counts toward balance like any other account.

travel_matrix() returns the table optimize.rebalance(..., distance=) takes: rows account_id, columns
rep_id, in the file's unit (attrs["unit"]).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import BadInput
from planner.geo import US_NAMES

# header name -> (unit reported, factor to that unit)
UNITS: dict[str, tuple[str, float]] = {
    "minutes": ("minutes", 1.0), "min": ("minutes", 1.0), "mins": ("minutes", 1.0),
    "duration_min": ("minutes", 1.0), "seconds": ("minutes", 1 / 60), "duration_s": ("minutes", 1 / 60),
    "km": ("km", 1.0), "kilometers": ("km", 1.0), "kilometres": ("km", 1.0), "distance_km": ("km", 1.0),
    "meters": ("km", 1 / 1000), "metres": ("km", 1 / 1000), "distance_m": ("km", 1 / 1000),
    "miles": ("miles", 1.0), "mi": ("miles", 1.0),
}  # fmt: skip
HOW = "a CSV with a header from,to,minutes (or km) and one row per rep/account or postal-code pair"
# How precise an account's place is (the store's geo_precision), finest first: a destination of the pairs to route
# takes the mean point of its finest rows only (a Berlin code's city rows, not the centre of Germany).
PRECISION_RANK = {"coordinates": 0, "postal_code": 1, "city": 2, "region": 3, "country": 4}


@dataclass(frozen=True)
class PairTable:
    """The rows of a travel matrix file: both ends as canonical keys and the value in `unit`."""

    frm: np.ndarray
    to: np.ndarray
    value: np.ndarray
    unit: str
    name: str  # the file's name, for messages


def canonical(values: pd.Series) -> pd.Series:
    """Keys compared across the file and the store: trimmed, emails lower-cased, a purely numeric key
    without leading zeros (a spreadsheet turns ZIP 02139 into 2139), a trailing '.0' dropped."""
    s = values.astype("string").str.strip()
    # Our own files (route_pairs, and every export) write a key that starts like a formula with an apostrophe
    # before it (planner.export.neutralise), so a spreadsheet shows it as text: the key is what follows.
    s = s.str.replace(r"^'(?=[=+\-@])", "", regex=True)
    s = s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    s = s.where(~s.str.contains("@", na=False), s.str.lower())
    digits = s.str.fullmatch(r"\d+", na=False)
    s = s.where(~digits, s.str.lstrip("0").replace("", "0"))
    return s.where(s != "")


def read_pairs(source: Path | bytes, name: str | None = None) -> PairTable:
    """Read and check a travel matrix CSV, a file or its bytes (an upload), see the module docstring."""
    label = name or (source.name if isinstance(source, Path) else "upload")
    data = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        raw = pd.read_csv(data, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(f"travel matrix {label} cannot be read as CSV ({first}); give {HOW}") from exc
    return pairs_from_frame(raw, label)


def pairs_from_frame(raw: pd.DataFrame, name: str = "travel matrix") -> PairTable:
    """Check the rows of a travel matrix table (from,to,<unit>) and return them canonical."""
    cols = {str(c).strip().lower(): c for c in raw.columns}
    unit_cols = [c for c in cols if c in UNITS]
    if "from" not in cols or "to" not in cols or len(unit_cols) != 1:
        got = ", ".join(str(c) for c in raw.columns) or "no columns"
        raise BadInput(f"travel matrix {name} has columns {got}; give {HOW}")
    unit, factor = UNITS[unit_cols[0]]
    frm = _canonical_many(raw[cols["from"]])
    to = _canonical_many(raw[cols["to"]])
    text = raw[cols[unit_cols[0]]].astype("string").str.strip()
    value = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").to_numpy(float, na_value=np.nan)
    line = np.arange(len(raw)) + 2  # the header is line 1
    blank = (frm.isna() | to.isna()).to_numpy()
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        raise BadInput(f"travel matrix {name} line {line[i]}: the from or to cell is blank; fill both ends of the pair")
    bad = ~np.isfinite(value) | (value < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadInput(
            f"travel matrix {name} line {line[i]}: {unit_cols[0]} {str(text.iloc[i])!r} is not a number of 0 or more; "
            f"fix the value ({int(bad.sum()):,} such rows)"
        )
    f_arr, t_arr, v_arr = frm.to_numpy(dtype=object), to.to_numpy(dtype=object), value * factor
    if len(v_arr) == 0:
        raise BadInput(f"travel matrix {name} has no rows; give {HOW}")
    f_code, _ = pd.factorize(f_arr)
    t_code, t_uniq = pd.factorize(t_arr)
    key = f_code.astype(np.int64) * max(len(t_uniq), 1) + t_code
    dup = pd.Index(key).duplicated(keep=False)
    if dup.any():
        d = pd.DataFrame({"k": key[dup], "v": v_arr[dup], "line": line[dup]})
        spread = d.groupby("k")["v"].agg(lambda v: float(v.max() - v.min()))
        clash = spread[spread > 1e-9]
        if len(clash):
            rows = d.loc[d["k"] == clash.index[0], "line"].to_numpy()
            i = int(rows[0]) - 2
            raise BadInput(
                f"travel matrix {name} gives {f_arr[i]} -> {t_arr[i]} twice with different values (lines "
                f"{', '.join(str(r) for r in rows[:3])}); keep one row per pair"
            )
        first = ~pd.Index(key).duplicated(keep="first")
        f_arr, t_arr, v_arr = f_arr[first], t_arr[first], v_arr[first]
    return PairTable(f_arr, t_arr, np.asarray(v_arr, dtype=float), unit, name)


def _canonical_many(values: pd.Series) -> pd.Series:
    """canonical() computed once per distinct value (a matrix repeats each rep and account many times)."""
    codes, uniq = pd.factorize(values.astype(object), use_na_sentinel=True)
    canon = canonical(pd.Series(uniq, dtype=object)).to_numpy(dtype=object)
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
    acc = accounts.reset_index(drop=True)
    rp = reps.reset_index(drop=True)
    n, k = len(acc), len(rp)
    out = np.full((n, k), np.nan)
    # Every key as an integer code of one vocabulary; a pair (a, b) as the integer a * V + b.
    vocab = pd.Index(pd.unique(np.concatenate([pairs.frm, pairs.to])))
    size = np.int64(len(vocab) + 1)

    def code(values: pd.Series) -> np.ndarray:
        got = vocab.get_indexer(canonical(values).astype(object).to_numpy())
        return np.asarray(got, dtype=np.int64)  # -1 where the file never names the key

    f, t = vocab.get_indexer(pairs.frm).astype(np.int64), vocab.get_indexer(pairs.to).astype(np.int64)
    # Each row holds in its direction, and in the other where the file does not give that one.
    keys = np.concatenate([f * size + t, t * size + f])
    vals = np.concatenate([pairs.value, pairs.value])
    keep = ~pd.Index(keys).duplicated(keep="first")
    lookup = pd.Index(keys[keep])
    vals = vals[keep]
    acc_id, acc_zip = code(acc["account_id"]), code(_col(acc, "postal_code"))
    # Rep keys in priority order: id, email, CRM user id (the first one the file knows wins).
    rep_ids = [code(_col(rp, c)) for c in ("rep_id", "email", "crm_id")]
    rep_zip = [code(_col(rp, "home_postal_code"))]
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
    table.attrs["notes"] = [UNPLACED_NOTE.format(n=f"{int(imputed.sum()):,}")] if imputed.any() else []
    return table


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
    (`from,to,from_lat,from_lon,to_lat,to_lon,accounts,minutes`). A destination is a postal code when its
    accounts share one country, else one account by id (no postal code, or a code several countries use). Its
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
        "lat": lat.where(placed), "lon": lon.where(placed),
        # unknown precision ranks with a postal code's; no place at all never counts
        "rank": precision.map(PRECISION_RANK).astype("Float64").fillna(1.0).where(placed, np.inf).astype(float),
    })  # fmt: skip
    finest = dest["rank"] == dest.groupby("key")["rank"].transform("min")
    point = dest[finest & placed].groupby("key")[["lat", "lon"]].mean()
    dest = dest.groupby("key", sort=True).agg(to=("to", "first"), accounts=("lat", "size"))
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
    out = out[["from", "to", "from_lat", "from_lon", "to_lat", "to_lon", "accounts", unit]]
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
