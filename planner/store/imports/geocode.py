"""Offline geocoding by joins: coordinates in the file, US ZIP / city / ZIP area, world cities, country centres;
placement readers and fixes; reps' homes (inferred or set)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from planner.scope import Scope, require_admin
from planner.store.core import query_df, scalar
from planner.store.schema import now


def us_row(a: str) -> str:
    """SQL: the row aliased `a` (needs _geo_joins) is read by the US rules: it names the US or no country, unless it
    names no country and no US state and its postal code is a US ZIP of another city while its city is one abroad
    (a German export without a country column: Berlin 10115 is no New York ZIP, Graz 8010 no ZIP of Beverly, NJ)
    or no US ZIP at all (Bordeaux 33000: ZIP3 330 is Florida's, but nothing says the row is in the US)."""
    return f"""({a}.us AND NOT coalesce({a}.country IS NULL AND {a}.city IS NOT NULL AND {a}.postal_code IS NOT NULL
                                    AND ust.code IS NULL AND wa.code <> 'US'
                                    AND (z.lat IS NULL OR upper(tp_key(z.city)) <> upper(tp_key({a}.city))), false))"""


def _geo_cols(a: str, lat: str, lon: str, at: str = "NULL") -> str:
    (
        """Select-list of the geocoder for rows aliased `a` (needs _geo_joins): coordinates in the file win, then
    (US) ZIP > city and state > ZIP area > city alone (a row naming the US: the most populous US city of that
    name, as a Dynamics 'Active Accounts' view has city and country, no state), (elsewhere) city + country, then
    the country's centroid as the last resort. A row without a country that the US lookups leave unplaced (or
    that is abroad by us_row) is looked up as a city anywhere (_tp_wcity_any: the most populous of its name in a
    country the import's context uses, else anywhere, with a note when that choice is a guess: 'Singapore', 'Уфа'),
    then by a state that names a country ('UK'). `at`: the country the row's own coordinates lie in
    (coordinate_countries), which no postal code guess overrides."""
        ""
    )
    ok = f"{lat} BETWEEN -90 AND 90 AND {lon} BETWEEN -180 AND 180 AND NOT ({lat} = 0 AND {lon} = 0)"
    us = us_row(a)
    us_lat = f"CASE WHEN {us} THEN coalesce(z.lat, c.lat, z3.lat, wu.lat) END"
    us_lon = f"CASE WHEN {us} THEN coalesce(z.lon, c.lon, z3.lon, wu.lon) END"
    method = f"""CASE WHEN {ok} THEN 'file' WHEN {us} AND z.lat IS NOT NULL THEN 'zip'
                    WHEN {us} AND c.lat IS NOT NULL THEN 'city' WHEN {us} AND z3.lat IS NOT NULL THEN 'zip3'
                    WHEN {us} AND wu.lat IS NOT NULL THEN 'city'
                    WHEN wc.lat IS NOT NULL OR wa.lat IS NOT NULL THEN 'city'
                    WHEN cc.lat IS NOT NULL OR cs.lat IS NOT NULL THEN 'country' ELSE 'none' END"""
    return f"""coalesce({a}.city, CASE WHEN {us} THEN z.city END) AS geo_city,
               coalesce({a}.state, CASE WHEN {us} THEN z.state END) AS geo_state,
               CASE WHEN {us} THEN z.county END AS zip_county,
               CASE WHEN {ok} THEN {lat} ELSE coalesce({us_lat}, wc.lat, wa.lat, cc.lat, cs.lat) END AS lat,
               CASE WHEN {ok} THEN {lon} ELSE coalesce({us_lon}, wc.lon, wa.lon, cc.lon, cs.lon) END AS lon,
               {method} AS geo_method,
               CASE {method} WHEN 'file' THEN 'coordinates' WHEN 'zip' THEN 'postal_code' WHEN 'zip3' THEN 'region'
                    WHEN 'city' THEN 'city' WHEN 'country' THEN 'country' END AS geo_precision,
               coalesce(cc.code, CASE WHEN {ok} THEN {at} END, CASE WHEN {us_lat} IS NULL THEN wa.code END, cs.code,
                        CASE WHEN {us} AND ({a}.postal_code IS NOT NULL OR {a}.state IS NOT NULL) THEN 'US' END)
                   AS country_code,
               {us} AS geo_us,
               CASE WHEN {us} AND z.state IS NOT NULL AND {a}.state IS NOT NULL AND z.state <> {a}.state
                    THEN 'ZIP ' || {a}.postal_code || ' is in ' || z.state || ', not ' || {a}.state
                    WHEN NOT coalesce({ok}, false) AND {us_lat} IS NULL AND wa.ambiguous
                    THEN {a}.city || ': a city of that name is in ' || wa.codes || ' and the row names no country; '
                         || 'placed in ' || wa.code || ' (the most populous)' END AS geo_note"""


def country_values(con: duckdb.DuckDBPyConnection, values: str, *, scope: Scope) -> None:
    """Temp table _tp_cvals: each distinct country value of `values` (a query with a column `country`) with its
    country (code, lat, lon) from _tp_country and whether it names the US (us), for `_geo_joins(..., by_value=True)`
    and `_with_us(..., by_value=True)`: tp_key's regex and tp_is_us then run
    once per spelling in the file instead of once per row (a 1M-row file has a handful of spellings)."""
    require_admin(scope)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _tp_cvals AS
            SELECT v.country, c.code, c.lat, c.lon, tp_is_us(v.country) AS us
            FROM (SELECT DISTINCT country FROM ({values})) v
            LEFT JOIN _tp_country c ON c.key = tp_key(v.country) WHERE v.country IS NOT NULL"""
    )


def coordinate_countries(con: duckdb.DuckDBPyConnection, lat: str, lon: str, country: str,
                         locate: Callable[[np.ndarray, np.ndarray], np.ndarray], *, scope: Scope) -> None:  # fmt: skip
    """Temp table _tp_at (lat, lon, code): the country `locate` finds at each distinct pair of coordinates of _raw's
    rows that name no country (`lat`, `lon`, `country`: expressions over _raw), so that a row placed by its own
    coordinates gets their country, never a postal code's guess (Bordeaux 33000 at 44.84 N, -0.58 E is no Florida
    ZIP3); also the context of `namesake_context`."""
    require_admin(scope)
    ok = "lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180 AND NOT (lat = 0 AND lon = 0)"
    pts = con.execute(
        f"""SELECT DISTINCT lat, lon FROM (SELECT {lat} AS lat, {lon} AS lon FROM _raw WHERE {country} IS NULL)
            WHERE {ok}"""
    ).df()
    codes: list[object] = list(locate(pts["lat"].to_numpy(float), pts["lon"].to_numpy(float))) if len(pts) else []
    at = pts.assign(code=pd.Series(codes, index=pts.index, dtype=object))
    con.register("_tp_at_src", at.astype({"lat": float, "lon": float, "code": object}))
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _tp_at AS SELECT lat, lon, code::VARCHAR AS code FROM _tp_at_src")
    finally:
        con.unregister("_tp_at_src")


def namesake_context(con: duckdb.DuckDBPyConnection, locate: Callable[[np.ndarray, np.ndarray], np.ndarray],
                     *, scope: Scope) -> None:  # fmt: skip
    """Temp table _tp_ctx (code): the countries an import already knows of: those the file names (_tp_cvals), those
    its rows' coordinates lie in (_tp_at) and those of the reps' homes (`locate`); a city named with no country is
    placed at its namesake in one of them (Valencia in a Spanish and French book is Spain's, not Venezuela's)."""
    require_admin(scope)
    homes = con.execute("SELECT home_lat, home_lon FROM reps WHERE home_lat IS NOT NULL AND home_lon IS NOT NULL").df()
    codes: list[object] = []
    if len(homes):
        codes = list(locate(homes["home_lat"].to_numpy(float), homes["home_lon"].to_numpy(float)))
    con.register("_tp_ctx_src", pd.DataFrame({"code": pd.Series(codes, dtype=object)}))
    try:
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _tp_ctx AS
               SELECT code FROM _tp_ctx_src WHERE code IS NOT NULL
               UNION SELECT code FROM _tp_cvals WHERE code IS NOT NULL
               UNION SELECT code FROM _tp_at WHERE code IS NOT NULL"""
        )
    finally:
        con.unregister("_tp_ctx_src")


def _geo_joins(a: str, by_value: bool = False) -> str:
    # City and ZIP3 are fallbacks: their keys are only built for rows the ZIP did not place. Every condition is
    # one equality whose other side is the row's own expression, so each join is a hash join: `NOT us AND key =`
    # made the world-city join a nested loop that ran tp_key per pair (55 s for 20,000 rows).
    country = (
        f"_tp_cvals cc ON cc.country = {a}.country" if by_value else f"_tp_country cc ON cc.key = tp_key({a}.country)"
    )
    return f"""LEFT JOIN {country}
        LEFT JOIN _tp_wcity wc ON wc.city_key = CASE WHEN NOT {a}.us THEN upper(tp_key({a}.city)) || '|' || cc.code END
        LEFT JOIN geo_zip z ON z.postal_code = CASE WHEN {a}.us THEN {a}.postal_code END
        LEFT JOIN geo_city c ON c.city_key = CASE WHEN z.lat IS NULL THEN upper({a}.city) || '|' || {a}.state END
        LEFT JOIN _tp_zip3 z3 ON z3.zip3 = CASE WHEN z.lat IS NULL AND c.lat IS NULL
                                              AND regexp_full_match({a}.postal_code, '\\d{{5}}')
                                              THEN left({a}.postal_code, 3) END
        LEFT JOIN _tp_wcity wu ON wu.city_key = CASE WHEN {a}.us AND {a}.country IS NOT NULL AND {a}.state IS NULL
                                                      AND z.lat IS NULL AND c.lat IS NULL AND z3.lat IS NULL
                                                      THEN upper(tp_key({a}.city)) || '|US' END
        LEFT JOIN _tp_us_states ust ON ust.code = {a}.state
        LEFT JOIN _tp_wcity_any wa ON wa.name = CASE WHEN {a}.us AND {a}.country IS NULL
                                                      THEN upper(tp_key({a}.city)) END
        LEFT JOIN _tp_country cs ON cs.key = CASE WHEN {a}.us AND {a}.country IS NULL AND z.lat IS NULL
                                                   AND c.lat IS NULL AND z3.lat IS NULL
                                                   AND ust.code IS NULL
                                                   THEN tp_key({a}.state) END"""


def _with_us(table: str, country: str, by_value: bool = False, at: str | None = None) -> str:
    """Rows of `table` with `us`: no country, or a value the domain's rules call the US (macro tp_is_us); `by_value`
    looks it up in _tp_cvals (`country_values`: once per spelling, not per row). `at` (a column of `table`: the
    country of the row's own coordinates) makes a row whose coordinates lie abroad no US row."""
    if by_value:
        abroad = f" AND coalesce(t.{at}, 'US') = 'US'" if at else ""
        return (
            f"(SELECT t.*, coalesce(v.us, true){abroad} AS us FROM {table} t "
            f"LEFT JOIN _tp_cvals v ON v.country = t.{country})"
        )
    return f"(SELECT *, tp_is_us({country}) AS us FROM {table})"


def _geo_select(table: str, alias: str, lat: str, lon: str, country: str) -> str:
    """Geocode rows of `table` (with city, state, postal_code): the geocoder's columns next to the row's."""
    a = alias
    return f"""SELECT {a}.*, {_geo_cols(a, lat, lon)}
        FROM {_with_us(table, country)} {a}
        {_geo_joins(a)}"""


def placed_share(con: duckdb.DuckDBPyConnection, *, scope: Scope, us_only: bool = False) -> dict[str, Any]:
    """Geocoding of accepted rows in _p: by method, and coverage among rows with a valid US ZIP. `us_only`
    (accounts, which have a country): US rows only, as a German PLZ such as 80331 is also a US ZIP's digits."""
    require_admin(scope)
    rows = con.execute("SELECT geo_method, count(*) FROM _p WHERE _reject IS NULL GROUP BY 1").fetchall()
    by_method = {r[0]: int(r[1]) for r in rows}
    us = "AND coalesce(country_code, 'US') = 'US'" if us_only else ""
    valid = con.execute(
        f"""SELECT count(*), coalesce(count_if(geo_method <> 'none'), 0) FROM _p p
           WHERE _reject IS NULL AND postal_code IN (SELECT postal_code FROM geo_zip) {us}"""
    ).fetchone() or (0, 0)
    return {"by_method": by_method, "valid_zip": int(valid[0]), "valid_zip_placed": int(valid[1]),
            "geocoded": sum(v for k, v in by_method.items() if k != "none")}  # fmt: skip


def geo_notes(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> dict[str, Any]:
    """Accepted account rows whose ZIP contradicts their state (count, example), and those placed at one of several
    cities of their name in different countries with nothing to choose by (ambiguous, ambiguous_example)."""
    require_admin(scope)
    row = con.execute(
        """SELECT count_if(geo_note LIKE 'ZIP %'), min(geo_note) FILTER (WHERE geo_note LIKE 'ZIP %'),
                  count_if(geo_note NOT LIKE 'ZIP %'), min(geo_note) FILTER (WHERE geo_note NOT LIKE 'ZIP %')
           FROM _p WHERE _reject IS NULL"""
    ).fetchone() or (0, None, 0, None)
    return {"count": int(row[0] or 0), "example": row[1], "ambiguous": int(row[2] or 0), "ambiguous_example": row[3]}


def unplaced_accounts(con: duckdb.DuckDBPyConnection, *, scope: Scope, limit: int = 5000) -> pd.DataFrame:
    """Accounts the geocoder could not place, or placed only by their country, with the address they came
    with (a rep gets their own)."""
    where, params = scope.owner_filter("owner_rep_id")
    return query_df(
        con,
        f"""SELECT account_id, name, city, state, postal_code, country,
                   CASE WHEN lat IS NULL THEN 'not placed' ELSE 'country only' END AS placed, source
            FROM accounts WHERE (geo_method IN ('none', 'country') OR lat IS NULL) AND {where}
            ORDER BY lat IS NOT NULL, account_id LIMIT ?""",
        [*params, limit],
    )


def geocoding_coverage(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Accounts by how they were placed (file, zip, zip3, city, country, none): a rep counts their own."""
    where, params = scope.owner_filter("owner_rep_id")
    return query_df(
        con,
        f"""SELECT coalesce(geo_method, 'none') AS method, count(*) AS accounts FROM accounts WHERE {where}
            GROUP BY 1 ORDER BY 2 DESC""",
        params,
    )


def place_accounts(con: duckdb.DuckDBPyConnection, fixes: pd.DataFrame, *, scope: Scope) -> int:
    """Apply corrected ZIP / city / state to accounts and geocode them again; returns how many were placed."""
    require_admin(scope)
    fixes = fixes.assign(country=fixes.get("country"))
    frame = fixes[["account_id", "city", "state", "postal_code", "country"]].astype(object).where(fixes.notna(), None)
    con.register("_fix_src", frame)
    try:
        return geocode_addresses(con, "_fix_src", now(), scope=scope)
    finally:
        con.unregister("_fix_src")


def geocode_addresses(con: duckdb.DuckDBPyConnection, source: str, stamp: Any, *, scope: Scope) -> int:
    """Place the accounts of `source` (a table or subquery with account_id, city, state, postal_code, country as
    written) by that address, as the importer would; returns how many are now placed."""
    require_admin(scope)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _fix AS
            SELECT f.account_id, tp_text(f.city) AS city, tp_state(f.state) AS state,
                   CASE WHEN tp_is_us(f.country) THEN coalesce(tp_zip(f.postal_code), tp_text(f.postal_code))
                        ELSE tp_text(f.postal_code) END AS postal_code,
                   tp_text(f.country) AS country
            FROM {source} f"""
    )
    con.execute(
        f"""UPDATE accounts AS a SET city = coalesce(g.geo_city, a.city), state = coalesce(g.geo_state, a.state),
                   postal_code = g.postal_code, county = coalesce(g.zip_county, a.county), lat = g.lat, lon = g.lon,
                   geo_method = g.geo_method, geo_precision = g.geo_precision, geo_note = g.geo_note,
                   country = coalesce(g.country, a.country), country_code = coalesce(g.country_code, a.country_code),
                   updated_at = ?
            FROM ({_geo_select("_fix", "f", "NULL", "NULL", "country")}) g
            WHERE a.account_id = g.account_id""",
        [stamp],
    )
    return int(
        scalar(con, "SELECT count(*) FROM _fix f JOIN accounts a USING (account_id) WHERE a.geo_method <> 'none'")
    )


def infer_rep_homes(
    con: duckdb.DuckDBPyConnection,
    pick: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[float, float]],
    *,
    scope: Scope,
) -> int:
    """Reps without a home (or with an inferred one) get `pick(lat, lon, weight)` of their placed accounts'
    distinct places (planner.geo.weighted_medoid: the place with the least weighted travel to the others;
    weights: revenue potential, at least 1, summed per place; accounts placed only by their country count only
    when the rep has no better-placed ones), marked home_inferred. Returns how many reps got one."""
    require_admin(scope)
    places = query_df(
        con,
        """WITH a AS (
               SELECT a.owner_rep_id AS rep_id, a.lat, a.lon, greatest(coalesce(p.potential, 0), 1) AS w,
                      coalesce(a.geo_precision, '') <> 'country' AS precise
               FROM accounts a LEFT JOIN account_potential p USING (account_id)
               JOIN reps r ON r.rep_id = a.owner_rep_id
               WHERE a.lat IS NOT NULL AND a.lon IS NOT NULL
                 AND (r.home_lat IS NULL OR r.home_lon IS NULL OR coalesce(r.home_inferred, false))),
           k AS (SELECT *, bool_or(precise) OVER (PARTITION BY rep_id) AS any_precise FROM a)
           SELECT rep_id, lat, lon, sum(w) AS w FROM k WHERE precise OR NOT any_precise
           GROUP BY ALL ORDER BY rep_id, lat, lon""",
    )
    rows = []
    for rep_id, g in places.groupby("rep_id", sort=True):
        lat, lon = pick(g["lat"].to_numpy(float), g["lon"].to_numpy(float), g["w"].to_numpy(float))
        rows.append((rep_id, round(lat, 5), round(lon, 5)))
    if not rows:  # an empty frame's object column reads as INTEGER, and a lake's join then casts 'R001' to it
        return 0
    homes = pd.DataFrame(rows, columns=["rep_id", "lat", "lon"]).astype({"rep_id": object, "lat": float, "lon": float})
    con.register("_homes_src", homes)
    try:
        n = int(
            scalar(
                con,
                """SELECT count(*) FROM _homes_src h JOIN reps r USING (rep_id)
                   WHERE NOT (coalesce(r.home_inferred, false) AND r.home_lat = h.lat AND r.home_lon = h.lon)""",
            )
        )
        if n:
            con.execute(
                """UPDATE reps AS r SET home_lat = h.lat, home_lon = h.lon, home_inferred = true,
                       home_city = NULL, home_state = NULL, home_postal_code = NULL
                   FROM _homes_src h WHERE r.rep_id = h.rep_id
                     AND NOT (coalesce(r.home_inferred, false) AND r.home_lat = h.lat AND r.home_lon = h.lon)"""
            )
    finally:
        con.unregister("_homes_src")
    return n


def set_rep_home(con: duckdb.DuckDBPyConnection, rep_id: str, lat: float | None, lon: float | None,
                 city: str | None = None, state: str | None = None, *, scope: Scope) -> int:  # fmt: skip
    """Set (or, with lat None, clear) a rep's home by hand: no longer inferred. Returns rows changed."""
    require_admin(scope)
    n = int(scalar(con, "SELECT count(*) FROM reps WHERE rep_id = ?", [rep_id]))
    con.execute(
        """UPDATE reps SET home_lat = ?, home_lon = ?, home_city = ?, home_state = ?, home_postal_code = NULL,
                  home_inferred = false, updated_at = ? WHERE rep_id = ?""",
        [lat, lon, city, state, now(), rep_id],
    )
    return n


def rep_homes(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Reps with their home, manager, region and whether the home was inferred (a rep gets their own row)."""
    where, params = scope.owner_filter("r.rep_id")
    return query_df(
        con,
        f"""SELECT r.rep_id, r.name, r.manager, r.region, r.home_city, r.home_lat, r.home_lon,
                   CASE WHEN r.home_lat IS NULL THEN 'none' WHEN coalesce(r.home_inferred, false) THEN 'inferred'
                        ELSE 'set' END AS home,
                   (SELECT count(*) FROM accounts a WHERE a.owner_rep_id = r.rep_id) AS accounts
            FROM reps r WHERE {where} ORDER BY r.name""",
        params,
    )


def placement_groups(
    con: duckdb.DuckDBPyConnection, *, scope: Scope, grid_degrees: float = 0.25, limit: int = 20000
) -> pd.DataFrame:
    """Placed accounts gathered for a map: one row per how they were placed and square of `grid_degrees` (about
    25 km at 0.25), at the mean of its accounts' places, with how many accounts it holds and one of them (the
    lowest id: its name, city, state, postal code, country). Every placed account counts (a rep: their own);
    at most `limit` squares, the fullest first, so a map of a million accounts stays a few thousand dots."""
    where, params = scope.owner_filter("owner_rep_id")
    return query_df(
        con,
        f"""SELECT avg(lat) AS lat, avg(lon) AS lon, coalesce(geo_method, 'none') AS geo_method, count(*) AS accounts,
                   arg_min(name, account_id) AS name, arg_min(city, account_id) AS city,
                   arg_min(state, account_id) AS state, arg_min(postal_code, account_id) AS postal_code,
                   arg_min(country, account_id) AS country
            FROM accounts WHERE lat IS NOT NULL AND lon IS NOT NULL AND {where}
            GROUP BY floor(lat / ?), floor(lon / ?), coalesce(geo_method, 'none')
            ORDER BY accounts DESC, min(account_id) LIMIT ?""",
        [*params, grid_degrees, grid_degrees, limit],
    )
