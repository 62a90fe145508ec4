"""pydeck layer builders shared by the map pages (Coverage, Rebalance, Territory plan).

Offline by design: no basemap tiles can load, so `deck()` sets an explicit empty style (EMPTY_STYLE, a
data: URL, so nothing is fetched; map_style=None would make Streamlit fall back to Carto's style on the
internet) and the state outlines shipped in data/ (planner.geo.us_states_geojson) are drawn as the
reference layer.

Tooltips: every pickable layer's rows carry the same four text fields (`t` the title, `l1`, `l2`,
`l3`) so one HTML template serves all layers. Streamlit (1.67) HTML-escapes each substituted
value before it sets the tooltip's innerHTML, so account and rep names from CRM files cannot inject
markup; the fields are therefore plain text here (escaping them again would show `&amp;`). The
browser check in tests/test_page_coverage.py opens a store holding a name with markup to prove it.
"""

from __future__ import annotations

import functools
import json
import math
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pydeck as pdk

from planner import geo, geo_world, text
from ui import fmt

TOOLTIP = {
    "html": "<b>{t}</b><br/>{l1}<br/>{l2}<br/>{l3}",
    "style": {"backgroundColor": "#1d2b36", "color": "white", "fontSize": "12px", "maxWidth": "320px"},
}

# Distinct, colour-blind-friendlier hues (Tableau 20 order); a territory keeps its colour on every map.
PALETTE: list[list[int]] = [
    [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75],
    [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207], [174, 199, 232], [255, 187, 120],
    [152, 223, 138], [255, 152, 150], [197, 176, 213], [196, 156, 148], [247, 182, 210], [199, 199, 199],
    [219, 219, 141], [158, 218, 229],
]  # fmt: skip
UNOWNED = [60, 60, 60]
POTENTIAL_RAMP = [[255, 247, 188], [254, 196, 79], [236, 112, 20], [153, 52, 4]]
WHITE_SPACE_RAMP = [[252, 187, 161], [251, 106, 74], [203, 24, 29], [103, 0, 13]]

LAYERS: dict[str, str] = {
    "states": "Borders",
    "accounts": "Accounts",
    "potential": "Potential hexagons",
    "white_space": "White space hexagons",
    "homes": "Rep homes",
    "outlines": "Territory outlines",
}
DEFAULT_LAYERS = ["states", "accounts", "white_space", "homes", "outlines"]


def territory_colors(rep_ids: Iterable[Any]) -> dict[str, list[int]]:
    """A stable colour per territory: reps in id order take the palette in turn."""
    ids = sorted({str(r) for r in rep_ids if r is not None and not (isinstance(r, float) and math.isnan(r))})
    return {rep: PALETTE[i % len(PALETTE)] for i, rep in enumerate(ids)}


def ramp(values: Any, stops: Sequence[Sequence[int]], alpha: int = 170, levels: int | None = None) -> list[list[int]]:
    """Colours along a sequential ramp, on a log scale (money spans orders of magnitude); with `levels`, one of that
    many + 1 evenly spaced colours (100: a step of ~2 in each channel, a colour table of a hundred entries)."""
    v = np.log1p(np.clip(np.nan_to_num(np.asarray(values, dtype=float)), 0, None))
    top = float(v.max()) if len(v) else 0.0
    t = v / top if top > 0 else np.zeros_like(v)
    if levels:
        t = np.round(t * levels) / levels
    pos = t * (len(stops) - 1)
    lo = np.clip(np.floor(pos).astype(int), 0, len(stops) - 2)
    frac = (pos - lo)[:, None]
    arr = np.asarray(stops, dtype=float)
    rgb = arr[lo] * (1 - frac) + arr[lo + 1] * frac
    return [[int(r), int(g), int(b), alpha] for r, g, b in rgb.round()]


def color_table(colors: Iterable[Sequence[int]], field: str = "c") -> tuple[list[int], str]:
    """Each colour's index in a table of the distinct colours, and the deck.gl expression that looks a row's colour
    up by that index in `field`: a row carries one small number instead of its RGBA list (a quarter of a dot's
    bytes), the table is sent once. (The parentheses are jsep's: it reads no index after a bare array.)"""
    table: dict[tuple[int, ...], int] = {}
    codes = [table.setdefault(tuple(int(v) for v in c), len(table)) for c in colors]
    return codes, f"({json.dumps([list(c) for c in table], separators=(',', ':'))})[{field}]"


def _money_list(values: Any) -> list[str]:
    """fmt.money over an array, a few times faster (one vectorised pick of the unit)."""
    v = np.asarray(values, dtype=float)
    size = np.abs(v)
    unit = np.select([size >= 1e9, size >= 1e6, size >= 1e3], ["B", "M", "k"], "")
    scaled = v / np.select([size >= 1e9, size >= 1e6, size >= 1e3], [1e9, 1e6, 1e3], 1.0)
    p = text.currency_prefix()
    return [
        "–" if x != x else (f"{p}{x:,.1f}{u}" if u else f"{p}{x:,.0f}")
        for x, u in zip(scaled.tolist(), unit.tolist(), strict=True)
    ]


def _s(value: Any) -> str:
    """Text of one value ('' for None/NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts, fast (DataFrame.to_dict is slow on pandas 3 string columns)."""
    cols = [df[c].tolist() for c in df.columns]
    names = list(df.columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*cols, strict=True)]


def _lon_extent(lon: np.ndarray) -> tuple[float, float]:
    """(west, east) of the narrowest arc of longitude holding every point: the circle less its widest empty gap,
    so a book across the date line (Fiji at 178 E, Samoa at 172 W) spans 10 degrees, not 350; east may then
    exceed 180."""
    ring = np.unique(np.mod(lon + 180.0, 360.0) - 180.0)
    if len(ring) == 1:
        return float(ring[0]), float(ring[0])
    gaps = np.diff(np.append(ring, ring[0] + 360.0))  # the last gap runs from the easternmost round to the first
    widest = int(np.argmax(gaps))
    west = float(ring[(widest + 1) % len(ring)])
    east = float(ring[widest])
    return (west, east) if west <= east else (west, east + 360.0)


def view_bounds(view: pdk.ViewState, width_px: int, height_px: int) -> tuple[float, float, float, float]:
    """(south, north, west, east) a view shows in a map of that size (east may exceed 180): the inverse of
    view_state's Web Mercator arithmetic, for tests and for checking that a view frames its points."""
    span_lon = width_px * 360 / (512 * 2**view.zoom)
    span_merc = height_px * 360 / (512 * 2**view.zoom)
    y = np.degrees(np.log(np.tan(np.radians(45 + float(view.latitude) / 2))))
    south, north = (
        float(np.degrees(2 * np.arctan(np.exp(np.radians(y + d)))) - 90) for d in (-span_merc / 2, span_merc / 2)
    )
    west = float(view.longitude) - span_lon / 2
    return south, north, west, west + span_lon


def view_state(lat: Any = None, lon: Any = None, width_px: int = 900, height_px: int = 620) -> pdk.ViewState:
    """A view that frames every given point (the continental US when there are none), a whole world's book too.

    Web Mercator: the world is 512 x 2^zoom pixels wide, so the zoom that fits a span of longitude
    into the map's width is log2(width x 360 / (512 x span)); latitude spans stretch by 1/cos(lat). Every point
    counts: trimming the extreme 1% each way left Tokyo, Osaka and Sydney out of a mostly American book.
    """
    lat = np.asarray([] if lat is None else lat, dtype=float)
    lon = np.asarray([] if lon is None else lon, dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return pdk.ViewState(latitude=38.5, longitude=-96.5, zoom=3.4, pitch=0)
    la, lo = np.clip(lat[ok], -80, 80), lon[ok]
    lat0, lat1 = float(la.min()), float(la.max())
    lon0, lon1 = _lon_extent(lo)
    lon_span = max(lon1 - lon0, 0.02) * 1.15
    # Mercator stretches latitude by 1/cos: the span's pixels are those of its two ends' Mercator y, and the
    # centre is the middle of those (the middle latitude would leave the poleward end out of a tall book).
    merc = np.degrees(np.log(np.tan(np.radians(45 + np.array([lat0, lat1]) / 2))))
    lat_span = max(float(merc[1] - merc[0]), 0.02) * 1.15
    mid = float(np.degrees(2 * np.arctan(np.exp(np.radians((merc[0] + merc[1]) / 2)))) - 90)
    zoom = min(math.log2(width_px * 360 / (512 * lon_span)), math.log2(height_px * 360 / (512 * lat_span)))
    centre = (lon0 + lon1) / 2
    return pdk.ViewState(
        latitude=mid, longitude=float(centre - 360 if centre > 180 else centre),
        zoom=float(np.clip(zoom, 0.0, 11.0)),
    )  # fmt: skip


def fit_points(payload: dict[str, Any]) -> tuple[Any, Any]:
    """(lat, lon) the Coverage map's first view frames: the dots, and when they are a sample of the located
    accounts the centre of every hexagon too (the hexagons hold them all), else the reps' homes."""
    points = payload.get("points", pd.DataFrame())
    sample = int(payload.get("located_accounts", len(points))) > len(points)
    keys = ("points", "hexes") if sample or not len(points) else ("points",)
    parts = [payload[k][["lat", "lon"]] for k in keys if len(payload.get(k, ()))]
    if not parts:
        homes = payload.get("homes")
        if homes is None or not len(homes):
            return None, None
        return homes["home_lat"], homes["home_lon"]
    both = pd.concat(parts, ignore_index=True)
    return both["lat"], both["lon"]


BULK_SHARE = 0.05
"""The first view fits the accounts between this share and its complement of each coordinate, widened by that span
(at least BULK_MARGIN_DEG) each way: a few accounts far from the rest do not shrink the book to a few pixels."""
BULK_MARGIN_DEG = 5.0


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, shares: Sequence[float]) -> list[float]:
    """np.quantile(values, shares, weights=weights, method="inverted_cdf"), which is numpy 2.0's (pyproject allows
    1.26, and numpy 2 would need higher floors for pandas, pyarrow and highspy too)."""
    order = np.argsort(values)
    cum = np.cumsum(weights[order]) / weights.sum()
    return [float(values[order][min(int(np.searchsorted(cum, s)), len(values) - 1)]) for s in shares]


def fit_bulk(payload: dict[str, Any]) -> tuple[Any, Any, int]:
    """fit_points, less the accounts far from the bulk of the book (49 accounts in Japan and Brazil zoomed a European
    book out to the whole world), and how many located accounts that leaves out of the first view (still drawn
    and counted; the page says so). The bulk: each coordinate's 5th to 95th percentile over every located account
    (the hexagons' counts when the dots are a sample), widened by its span (at least 5 degrees) each way; every
    account when leaving the far ones out would not bring the view at least twice as near."""
    lat, lon = fit_points(payload)
    points = payload.get("points", pd.DataFrame())
    sample = int(payload.get("located_accounts", len(points))) > len(points)
    hexes = payload.get("hexes", pd.DataFrame())
    if lat is None or not len(points) and not len(hexes):
        return lat, lon, 0
    every = hexes if (sample or not len(points)) and "accounts" in hexes and len(hexes) else points
    w = np.asarray(every["accounts"] if every is hexes else np.ones(len(every)), dtype=float)
    la, lo = np.asarray(every["lat"], dtype=float), np.asarray(every["lon"], dtype=float)
    ok = np.isfinite(la) & np.isfinite(lo) & (w > 0)
    if not ok.any():
        return lat, lon, 0
    west = _lon_extent(lo[ok])[0]

    def unwrap(x: Any) -> np.ndarray:
        return west + np.mod(np.asarray(x, dtype=float) - west, 360.0)

    box = []
    for values in (la[ok], unwrap(lo[ok])):
        low, high = _weighted_quantiles(values, w[ok], (BULK_SHARE, 1 - BULK_SHARE))
        margin = max(high - low, BULK_MARGIN_DEG)
        box.append((low - margin, high + margin))

    def inside(a: Any, o: Any) -> np.ndarray:
        a, o = np.asarray(a, dtype=float), unwrap(o)
        return (box[0][0] <= a) & (a <= box[0][1]) & (box[1][0] <= o) & (o <= box[1][1])

    outside = int(round(float(w[ok][~inside(la[ok], lo[ok])].sum())))
    if not outside:
        return lat, lon, 0
    keep = inside(lat, lon)
    bulk_lat, bulk_lon = np.asarray(lat, dtype=float)[keep], np.asarray(lon, dtype=float)[keep]
    if view_state(bulk_lat, bulk_lon).zoom < view_state(lat, lon).zoom + 1:  # less than twice as near: every one
        return lat, lon, 0
    return bulk_lat, bulk_lon, outside


def _outline_layer(data: dict[str, Any], layer_id: str, fill: list[int]) -> pdk.Layer:
    return pdk.Layer(
        "GeoJsonLayer",
        data=data,
        id=layer_id,
        stroked=True,
        filled=True,
        get_fill_color=fill,
        get_line_color=[150, 160, 170, 255],
        line_width_min_pixels=1,
        pickable=False,
    )


@functools.cache
def _bare(name: str) -> dict[str, Any] | None:
    """A shipped outline file's geometries without their properties (names and codes no one reads on a map whose
    borders are not pickable), read once per process. Not to be mutated: every map shares it."""
    collection = geo.us_states_geojson() if name == "states" else geo_world.world_countries_geojson()
    if collection is None:
        return None
    features = [{"type": "Feature", "geometry": f["geometry"], "properties": {}} for f in collection["features"]]
    return {"type": "FeatureCollection", "features": features}


def states_layer() -> pdk.Layer:
    """US state outlines from data/us_states.geojson."""
    return _outline_layer(_bare("states") or {}, "states", [241, 244, 247, 255])


def borders_layers() -> list[pdk.Layer]:
    """The map's reference geography offline (no tiles): the world's countries (data/world_countries.geojson),
    then US states over them, so a book in Germany or Japan is drawn on a map too, not on a blank page."""
    countries = _bare("countries")
    base = [_outline_layer(countries, "countries", [235, 238, 242, 255])] if countries is not None else []
    return [*base, states_layer()]


def accounts_layer(points: pd.DataFrame, colors: dict[str, list[int]], layer_id: str = "accounts") -> pdk.Layer:
    """Accounts as dots coloured by owner (dark grey: no active owner); `id` carries the account id.

    Needs columns account_id, name, lat, lon, owner_rep_id, owner_name, status, potential, city,
    state; optional expected_value. A dot's row is what its tooltip and a click need and no more: `p` its
    [lon, lat] (to 4 decimals, ~10 m), `c` its colour's index in the layer's colour table, `r` its radius in
    tens of metres (radius_scale), `t`/`l1`-`l3` the tooltip's text.
    """
    # Plain comprehensions: ten thousand rows of pandas string arithmetic cost several times more.
    ev = points["expected_value"] if "expected_value" in points else pd.Series(np.nan, index=points.index)
    radius = np.clip(np.sqrt(np.nan_to_num(points["potential"].to_numpy(dtype=float))) * 0.4, 80, 1200).round()
    owners = points["owner_rep_id"].tolist()
    codes, color = color_table(
        [*colors.get(rep, UNOWNED), 210] if isinstance(rep, str) else [*UNOWNED, 210] for rep in owners
    )
    rows = zip(
        points["account_id"].tolist(),
        points["lon"].astype(float).round(4).tolist(),
        points["lat"].astype(float).round(4).tolist(),
        codes,
        points["owner_name"].tolist(),
        points["status"].tolist(),
        _money_list(points["potential"]),
        _money_list(ev),
        points["name"].tolist(),
        points["city"].tolist(),
        points["state"].tolist(),
        radius.astype(int).tolist(),
        strict=True,
    )
    data = [
        {
            "id": str(aid),
            "p": [x, y],
            "c": code,
            "r": r,
            "t": _s(name),
            "l1": f"{_s(owner) or 'No active owner'} · {_s(status).replace('_', ' ')}",
            "l2": f"{pot} potential · {e} expected",
            "l3": f"{_s(city)}, {_s(state)}",
        }
        for aid, x, y, code, owner, status, pot, e, name, city, state, r in rows
    ]
    return pdk.Layer(
        "ScatterplotLayer",
        data=data,
        id=layer_id,
        get_position="p",
        get_fill_color=color,
        get_radius="r",
        radius_scale=10,
        radius_min_pixels=2,
        radius_max_pixels=14,
        stroked=False,
        pickable=True,
        auto_highlight=True,
    )


def hexagon_layer(hexes: pd.DataFrame, value: str, layer_id: str, stops: Sequence[Sequence[int]]) -> pdk.Layer:
    """An H3 hexagon layer coloured by `value` (hexes with value 0 are left out).

    Needs columns hex, accounts, potential, white_space_potential, white_space_accounts,
    covered_potential, top_name; optional nearest_rep, nearest_rep_km.
    """
    h = hexes[hexes[value].fillna(0) > 0]
    near_rep = h["nearest_rep"].tolist() if "nearest_rep" in h else [None] * len(h)
    near_km = h["nearest_rep_km"].astype(float).tolist() if "nearest_rep_km" in h else [float("nan")] * len(h)
    codes, color = color_table(ramp(h[value], stops, levels=100))
    rows = zip(
        h["hex"].tolist(),
        codes,
        h["accounts"].tolist(),
        h["potential"].astype(float).tolist(),
        h["covered_potential"].astype(float).tolist(),
        h["white_space_potential"].astype(float).tolist(),
        h["white_space_accounts"].tolist(),
        h["top_name"].tolist(),
        near_rep,
        near_km,
        strict=True,
    )
    data = [
        {
            "hex": str(cell),
            "c": code,
            "t": f"{int(n):,} accounts",
            "l1": f"Potential {fmt.money(pot)} · covered {fmt.pct(cov / pot if pot > 0 else None)}",
            "l2": f"White space {fmt.money(ws)} in {int(wn):,} high-potential accounts",
            "l3": f"Mostly {_s(top) or 'nobody'}" + _nearest(top, rep, km),
        }
        for cell, code, n, pot, cov, ws, wn, top, rep, km in rows
    ]
    return pdk.Layer(
        "H3HexagonLayer",
        data=data,
        id=layer_id,
        get_hexagon="hex",
        get_fill_color=color,
        get_line_color=[255, 255, 255, 120],
        line_width_min_pixels=0.5,
        stroked=True,
        filled=True,
        extruded=False,
        pickable=True,
        auto_highlight=True,
        high_precision=False,
    )


def _nearest(top: Any, rep: Any, km: float) -> str:
    """The tooltip's nearest rep after 'Mostly <top>', the name said once when it is the same rep."""
    if rep is None:
        return ""
    away = "" if km != km else f" ({km:,.0f} km away)"  # no distance: another rep's, not shown to a rep
    if _s(rep) == _s(top):
        return f", the nearest rep{away}" if away else ""
    return f" · nearest rep {_s(rep)}{away}"


def _flag(value: Any) -> bool:
    """True only for a real true value (None, NaN and pd.NA are false)."""
    return value is True or (isinstance(value, np.bool_) and bool(value))


def homes_layer(homes: pd.DataFrame, colors: dict[str, list[int]], layer_id: str = "homes") -> pdk.Layer:
    """Rep homes as large dots: filled and ringed in white when known, hollow (ringed in the rep's colour)
    when inferred from the rep's accounts. Needs rep_id, name, home_lat, home_lon; optional home_city,
    home_inferred, accounts, potential, utilisation, coverage. Reps without a home are left out."""
    data = []
    for r in records(homes):
        lat, lon = geo.finite(r.get("home_lat")), geo.finite(r.get("home_lon"))
        if lat is None or lon is None:
            continue
        rgb = colors.get(str(r.get("rep_id")), UNOWNED)
        inferred = _flag(r.get("home_inferred"))
        accounts, potential = geo.finite(r.get("accounts")), geo.finite(r.get("potential"))
        utilisation, coverage = r.get("utilisation"), r.get("coverage")
        data.append(
            {
                "rep_id": _s(r.get("rep_id")),
                "lon": lon,
                "lat": lat,
                "fill": [*rgb, 70] if inferred else [*rgb, 255],
                "line": [*rgb, 255] if inferred else [255, 255, 255, 255],
                "t": f"{_s(r.get('name')) or _s(r.get('rep_id'))} "
                + ("(home inferred from their accounts)" if inferred else "(home)"),
                "l1": _s(r.get("home_city")),
                "l2": " · ".join(
                    ([f"{int(accounts):,} accounts"] if accounts is not None else [])
                    + ([f"potential {fmt.money(potential)}"] if potential is not None else [])
                ),
                "l3": f"Workload {fmt.pct(utilisation)} of capacity · covers {fmt.pct(coverage)} of potential"
                if "utilisation" in r and "coverage" in r
                else "",
            }
        )
    return pdk.Layer(
        "ScatterplotLayer",
        data=data,
        id=layer_id,
        get_position=["lon", "lat"],
        get_fill_color="fill",
        get_line_color="line",
        get_radius=20000,
        radius_min_pixels=7,
        radius_max_pixels=16,
        line_width_min_pixels=2.5,
        stroked=True,
        pickable=True,
    )


def outlines_layer(
    features: list[dict[str, Any]], colors: dict[str, list[int]], layer_id: str = "outlines"
) -> pdk.Layer:
    """Territory outlines: GeoJSON features with properties rep_id, name and cells (e.g. coverage_map's). Each
    sends its ring to 3 decimals (~100 m: the hull of hexagon centres tens of km apart), its rep_id (a click names
    the territory), its colour's index and its tooltip; line and fill are looked up in one colour table."""
    feats, rgbs = [], []
    for f in features:
        props = f.get("properties", {})
        rgbs.append(colors.get(str(props.get("rep_id")), UNOWNED))
        geometry = f["geometry"]
        if geometry.get("type") == "Polygon":
            rings = [[[round(float(x), 3), round(float(y), 3)] for x, y in ring] for ring in geometry["coordinates"]]
            geometry = {"type": "Polygon", "coordinates": rings}
        feats.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "rep_id": props.get("rep_id"),
                    "t": f"Territory of {props.get('name', '')}",
                    "l1": "Around the hexagons where this rep holds the most accounts",
                    "l2": f"{props.get('cells', 0):,} such hexagons",
                    "l3": "",
                },
            }
        )
    codes, _ = color_table(rgbs)
    table = [list(c) for c in dict.fromkeys(tuple(c) for c in rgbs)]
    for feat, code in zip(feats, codes, strict=True):
        feat["properties"]["c"] = code
    line = f"({json.dumps([[*c, 255] for c in table], separators=(',', ':'))})[properties.c]"
    fill = f"({json.dumps([[*c, 28] for c in table], separators=(',', ':'))})[properties.c]"
    return pdk.Layer(
        "GeoJsonLayer",
        data={"type": "FeatureCollection", "features": feats},
        id=layer_id,
        stroked=True,
        filled=True,
        get_line_color=line,
        get_fill_color=fill,
        line_width_min_pixels=2,
        pickable=True,
    )


# A basemap style with no sources and no layers, inline: the browser fetches nothing for it. (A dict style
# breaks Streamlit's frontend, which tests the style's text for "cartocdn".)
EMPTY_STYLE = "data:application/json;charset=utf-8," + urllib.parse.quote(
    json.dumps({"version": 8, "sources": {}, "layers": []}, separators=(",", ":"))
)


class CompactDeck(pdk.Deck):  # type: ignore[misc]
    """A Deck whose JSON has no indentation: pydeck indents by 2, which doubles what a map with
    twenty thousand dots sends to the browser."""

    def to_json(self) -> str:
        from pydeck.bindings.json_tools import default_serialize

        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"), ensure_ascii=False)


def deck(layers: list[pdk.Layer], view: pdk.ViewState, height: int = 620) -> pdk.Deck:
    """A Deck with no basemap (offline) and the shared tooltip."""
    # repeat: copies of the world side by side, so a view across the date line (a book in California, Tokyo and
    # Sydney is framed from Sydney eastwards) draws the accounts west of it too.
    views = [pdk.View(type="MapView", controller=True, repeat=True)]
    return CompactDeck(layers=layers, initial_view_state=view, map_provider="mapbox", map_style=EMPTY_STYLE,
                       tooltip=TOOLTIP, height=height, views=views)  # fmt: skip
