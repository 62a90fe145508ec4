"""Rebuild data/us_states.geojson from the Census shapefile shipped by `plotly-geo`.

Run once by a maintainer (needs `pip install plotly-geo pyshp shapely`); the app only reads the
simplified GeoJSON it writes, so maps work offline with no tile server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import _plotly_geo
import shapefile  # pyshp
from shapely.geometry import mapping, shape

SRC = Path(os.path.dirname(_plotly_geo.__file__)) / "package_data" / "cb_2016_us_state_500k"
OUT = Path(__file__).resolve().parents[1] / "data" / "us_states.geojson"


def main() -> None:
    reader = shapefile.Reader(str(SRC))
    fields = [f[0] for f in reader.fields[1:]]
    features = []
    for rec in reader.shapeRecords():
        props = dict(zip(fields, rec.record, strict=True))
        geom = shape(rec.shape.__geo_interface__).simplify(0.03, preserve_topology=True)
        # Drop slivers that vanish at dashboard zoom levels; they only bloat the file.
        if geom.geom_type == "MultiPolygon":
            parts = [g for g in geom.geoms if g.area > 0.01]
            geom = parts[0] if len(parts) == 1 else type(geom)(parts)
        gj = mapping(geom)
        gj = json.loads(json.dumps(gj), parse_float=lambda s: round(float(s), 3))
        features.append(
            {"type": "Feature", "properties": {"state": props["STUSPS"], "name": props["NAME"]}, "geometry": gj}
        )
    features.sort(key=lambda f: f["properties"]["state"])
    OUT.write_text(json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")))
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB, {len(features)} states)")


if __name__ == "__main__":
    main()
