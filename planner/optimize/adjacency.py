"""A stated adjacency between area units (Options.adjacency): which ZIP3s, counties or states are neighbours.

The file is a CSV with a header `from,to` and one row per pair of neighbouring areas, written in the codes
of the chosen unit:

- zip3: the first three digits of the ZIP ("021"; a spreadsheet's "21" reads as "021"),
- county: as the planner names it, "MA · Middlesex County", or as the Census county adjacency file does,
  "Middlesex County, MA" (the store holds county names, not FIPS codes),
- state: the two-letter code ("MA").

A pair holds both ways; a pair given twice (either way round) counts once. Codes compare without case,
accents or repeated spaces. A blank end or an area paired with itself is one line that says which and how
to fix it. Areas the file lists that hold no account of the book are ignored (a national file serves any
book). Codes that name no area of this book and none of the US ZIP gazetteer are unknown: up to 1% of
the file's codes (a national file a little newer or older than the gazetteer) their pairs are ignored and
the report counts them (summary "adjacency_unknown"); more is an error that says how many, with an example.

Islands: an area of the book with no neighbour in the file (an island, or a code the file lacks, or the
accounts with no ZIP or county, each its own area) is its own piece. Islands are exempt from
contiguity: any territory may hold them, and a territory is one connected region when its other areas
are. The result reports how many there are (summary "adjacency_islands"). Likewise groups of areas that the
file links to no other group (Hawaii's or Alaska's beside the lower 48): every group but the largest is exempt
(summary "adjacency_detached" areas, "adjacency_groups"), since a territory holding one beside its main region
could never be one piece.
"""

from __future__ import annotations

import io
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import BadInput
from planner.store.reference import zip_gazetteer

HOW = "a CSV with a header from,to and one row per pair of neighbouring areas"
CODES = {
    "zip3": "three-digit ZIP prefixes such as 021",
    "county": "counties as 'MA · Middlesex County' or 'Middlesex County, MA'",
    "state": "two-letter state codes such as MA",
}

Pairs = tuple[tuple[str, str], ...]
# Up to this share of a file's distinct codes may name no area known here (a national file a little newer or
# older than the ZIP gazetteer: Connecticut's planning regions, a renamed county): their pairs are ignored and
# counted in the report. More is the wrong file or the wrong codes (FIPS numbers for counties, say): an error.
UNKNOWN_SHARE = 0.01


def codes(values: pd.Series, unit: str) -> pd.Series:
    """Area codes as the planner keys its units: trimmed; ZIP3 zero-padded; states upper-cased; Census
    county names ('Middlesex County, MA') turned into the planner's ('MA · Middlesex County')."""
    s = values.astype("string").str.strip()
    if unit == "zip3":
        s = s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
        s = s.where(~s.str.fullmatch(r"\d{1,2}", na=False), s.str.zfill(3))
    elif unit == "state":
        s = s.str.upper()
    elif unit == "county":
        census = s.str.extract(r"^(.*\S)\s*,\s*([A-Za-z]{2})$")
        s = s.where(census[0].isna(), census[1].str.upper() + " · " + census[0])
    return s.where(s != "")


def read_adjacency(source: Path | bytes, unit: str, name: str | None = None) -> Pairs:
    """The neighbour pairs of an adjacency CSV (a file or an upload's bytes), each once, sorted."""
    label = name or (source.name if isinstance(source, Path) else "upload")
    if unit == "h3":
        raise BadInput(
            "an adjacency file pairs ZIP3s, counties or states; H3 hexagons are neighbours by the Delaunay edges "
            "between their centres: leave out the file"
        )
    if unit not in CODES:
        raise BadInput(f"an adjacency file needs area units; pick zip3, county or state as the unit (not {unit})")
    data = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        raw = pd.read_csv(data, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(f"adjacency file {label} cannot be read as CSV ({first}); give {HOW}") from exc
    if not isinstance(raw.index, pd.RangeIndex):  # every row has a cell more than the header: pandas made it an index
        raise BadInput(
            f"adjacency file {label} has more cells per row than its header; quote names with commas "
            '("Suffolk County, MA") and give ' + HOW
        )
    cols = {str(c).strip().lower(): c for c in raw.columns}
    missing = [c for c in ("from", "to") if c not in cols]
    if missing:
        got = ", ".join(str(c) for c in raw.columns) or "no columns"
        raise BadInput(f"adjacency file {label} has no {' or '.join(missing)} column (it has {got}); give {HOW}")
    frm, to = codes(raw[cols["from"]], unit), codes(raw[cols["to"]], unit)
    blank = (frm.isna() | to.isna()).to_numpy()
    if blank.any():
        line = int(np.flatnonzero(blank)[0]) + 2  # the header is line 1
        raise BadInput(f"adjacency file {label} line {line}: the from or to cell is blank; fill both areas")
    same = (frm == to).to_numpy()
    if same.any():
        i = int(np.flatnonzero(same)[0])
        raise BadInput(f"adjacency file {label} line {i + 2} pairs {frm.iloc[i]} with itself; remove the row")
    if len(raw) == 0:
        raise BadInput(f"adjacency file {label} has no rows; give {HOW}")
    pairs = {(a, b) if a < b else (b, a) for a, b in zip(frm.tolist(), to.tolist(), strict=True)}
    return tuple(sorted(pairs))


@lru_cache(maxsize=1)
def real_zip3() -> frozenset[str]:
    """The ZIP3 prefixes that exist: those of the US ZIP gazetteer's codes (no 000, 001 or 002; 005 and 999 are
    real). A code of five digits under any other prefix (00000, 00123) is in no ZIP3 area."""
    return frozenset(zip_gazetteer()["postal_code"].astype(str).str[:3])


def _known(unit: str) -> set[str]:
    """Every area code of the US ZIP gazetteer in the unit's codes."""
    g = zip_gazetteer()
    if unit == "zip3":
        return set(real_zip3())
    if unit == "state":
        return set(g["state"].astype(str))
    c = g.dropna(subset=["county"])
    return set(c["state"].astype(str) + " · " + c["county"].astype(str))


def match_key(code: str) -> str:
    """Codes compare without case, accents or repeated spaces ('Doña Ana County' matches 'Dona Ana County')."""
    text = unicodedata.normalize("NFKD", str(code))
    return " ".join("".join(ch for ch in text if not unicodedata.combining(ch)).casefold().split())


def unit_edges(labels: np.ndarray, pairs: Pairs, unit: str) -> tuple[np.ndarray, int, list[str]]:
    """(n_edges, 2) neighbour pairs of units (indices into `labels`, the units' codes) under the stated
    pairs, how many units are islands (no neighbour), and the file's codes that name no area of the book or
    of the gazetteer (their pairs ignored). BadInput when more than UNKNOWN_SHARE of its codes are unknown."""
    index: dict[str, list[int]] = {}
    for i, c in enumerate(labels):
        index.setdefault(match_key(c), []).append(i)
    ends = {c for pair in pairs for c in pair}
    outside = {c for c in ends if match_key(c) not in index}
    unknown: list[str] = []
    if outside:
        known = {match_key(c) for c in _known(unit)}
        unknown = sorted(c for c in outside if match_key(c) not in known)
    if len(unknown) > UNKNOWN_SHARE * len(ends):
        raise BadInput(
            f"{len(unknown):,} of the adjacency file's {len(ends):,} area codes are unknown {unit} codes (e.g. "
            f"{unknown[0]!r}); write {CODES.get(unit, 'area codes')}"
        )
    inside = [
        (i, j) for a, b in pairs for i in index.get(match_key(a), []) for j in index.get(match_key(b), []) if i != j
    ]
    edges = np.array(inside, dtype=np.int64).reshape(-1, 2)
    degree = np.bincount(edges.ravel(), minlength=len(labels))
    return edges, int((degree == 0).sum()), unknown
