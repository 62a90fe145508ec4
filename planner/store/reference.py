"""Reference tables the store seeds itself with: the US ZIP gazetteer (offline, from `zipcodes`)."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd


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
