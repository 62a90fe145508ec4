"""Corrections a person makes to imported data: the store's as-of date, a rep's home, a remembered column
mapping that turned out wrong. Each is one write, admins only, and returns what it did."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from planner import geo, geo_world, store
from planner.errors import BadInput, NotFound
from planner.scope import Scope, require_admin
from planner.store import imports as sq
from planner.store import world


def parse_as_of(value: Any) -> date | None:
    """A date, 'YYYY-MM-DD', or 'auto'/None (the automatic rule) -> date or None; anything else is BadInput."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "auto")):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise BadInput(f"as-of date {value!r} is not a date; write it as YYYY-MM-DD, or 'auto'") from None


@store.retry_conflicts
def set_as_of(db_path: Path, value: Any, *, scope: Scope) -> dict[str, object]:
    """Fix the store's as-of date (None or 'auto': back to the automatic rule); returns the new as-of info."""
    require_admin(scope)
    day = parse_as_of(value)
    if day is not None and not date(1990, 1, 1) <= day <= date(2100, 12, 31):
        raise BadInput(f"as-of date {day.isoformat()} is out of range; use a date between 1990 and 2100")
    with store.write(db_path) as con:
        world.set_as_of(con, day, scope=scope)
        info = world.as_of_info(con)
    return info


def rep_homes(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> Any:
    """Reps with their home and whether it was inferred from their accounts (a rep gets their own row)."""
    return sq.rep_homes(con, scope=scope)


@store.retry_conflicts
def set_rep_home(db_path: Path, rep_id: str, *, scope: Scope, lat: float | None = None, lon: float | None = None,
                 place: str | None = None, clear: bool = False) -> dict[str, Any]:  # fmt: skip
    """Set a rep's home by coordinates or by a place ('Berlin, Germany', 'Denver, CO', 'Kenya'); `clear`
    removes it (the next import infers one again). Returns rep_id, lat, lon and how the place was read."""
    require_admin(scope)
    how = "coordinates"
    city = None
    if clear:
        lat = lon = None
        how = "cleared"
    elif place:
        lat, lon, how, city = locate(place)
    # 'Munich, Bavaria, Germany': what stands between the city and the country is the home's state or province
    # (its public holidays), kept as written.
    parts = [p.strip() for p in (place or "").split(",") if p.strip()]
    region = parts[-2] if city and len(parts) >= 3 else None
    if not clear and (lat is None or lon is None):
        raise BadInput("give a home as --lat and --lon, or as a place such as 'Berlin, Germany'")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadInput(f"home {lat}, {lon} is not a coordinate; latitude is -90..90 and longitude -180..180")
    with store.write(db_path) as con:
        if not sq.set_rep_home(con, rep_id, lat, lon, city, region, scope=scope):
            raise NotFound(f"no rep {rep_id!r}; see the reps with `python -m planner export reps --out reps.csv`")
    return {"rep_id": rep_id, "lat": lat, "lon": lon, "placed_by": how}


def locate(place: str) -> tuple[float, float, str, str | None]:
    """'City, Country', 'City, ST' (US), a US ZIP, or a country -> (lat, lon, precision, city)."""
    text = place.strip()
    if not text:
        raise BadInput("the place is empty; write e.g. 'Berlin, Germany', 'Denver, CO' or '80202'")
    zips = geo.zip_gazetteer()
    if text.isdigit():
        hit = zips[zips["postal_code"] == text.zfill(5)]
        if len(hit):
            return float(hit["lat"].iloc[0]), float(hit["lon"].iloc[0]), "postal_code", str(hit["city"].iloc[0])
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) >= 2:
        city, where = parts[0], parts[-1]
        state = geo.normalize_state(where)
        if state:
            key = geo_world.name_key(city).upper()
            hit = zips[(zips["state"] == state) & (zips["city"].map(lambda c: geo_world.name_key(c).upper()) == key)]
            if len(hit):
                return float(hit["lat"].mean()), float(hit["lon"].mean()), "city", city
        code = geo_world.country_code(where)
        if code:
            cities = geo_world.city_index()
            hit = cities[cities["city_key"] == f"{geo_world.name_key(city).upper()}|{code}"]
            if len(hit):
                return float(hit["lat"].iloc[0]), float(hit["lon"].iloc[0]), "city", city
    code = geo_world.country_code(parts[-1] if parts else text)
    if code:
        row = geo_world.countries().loc[lambda d: d["code"] == code].iloc[0]
        return float(row["lat"]), float(row["lon"]), "country", None
    raise BadInput(f"cannot place {place!r}; write 'City, Country', 'City, ST' (US), a US ZIP, or a country")


@store.retry_conflicts
def forget_mapping(db_path: Path, signature: str, *, scope: Scope) -> bool:
    """Forget the column mapping remembered for files with these columns (a wrong one never poisons later
    imports). True when there was one."""
    require_admin(scope)
    with store.write(db_path) as con:
        return sq.forget_mapping(con, signature, scope=scope)
