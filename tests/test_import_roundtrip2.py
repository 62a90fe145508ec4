"""Imports of what the planner wrote itself, and the import's lookups: a city named alone (its namesakes made once
per gazetteer), ..."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from planner import store
from planner.ingest import rules
from planner.store import imports as sq

CITIES = pd.DataFrame(
    {
        "city_key": ["VALENCIA|ES", "VALENCIA|VE", "VALENCIA|US", "GRAZ|AT", "SPRINGFIELD|US"],
        "lat": [39.47, 10.16, 34.44, 47.07, 39.80],
        "lon": [-0.38, -68.0, -118.6, 15.44, -89.64],
        "population": [792_000, 1_500_000, 5_000, 290_000, 114_000],
    }
)


@pytest.mark.parametrize("arrow", [False, True])
def test_a_city_named_alone_goes_to_its_namesake_in_the_import_s_countries(empty_store: Path, arrow: bool) -> None:
    """_tp_wcity_any: the most populous namesake, else the one in a country of the context (_tp_ctx), ambiguous
    unless exactly one context country has one; from the frame or from namesake tables made once beforehand."""
    cities = pa.Table.from_pandas(CITIES, preserve_index=False) if arrow else CITIES
    namesakes = sq.namesake_tables(cities) if arrow else None
    sql = "SELECT name, code, lat, ambiguous, codes FROM _tp_wcity_any ORDER BY name"
    with store.write(empty_store) as con:
        sq.install_macros(con, rules.RULES, None, cities, namesakes)
        assert con.execute(sql).fetchall() == [
            ("GRAZ", "AT", 47.07, False, None),
            ("SPRINGFIELD", "US", 39.80, False, None),
            ("VALENCIA", "VE", 10.16, True, "ES, US, VE"),
        ]
        con.execute("INSERT INTO _tp_ctx VALUES ('ES'), ('FR')")
        assert con.execute(sql).fetchall()[2] == ("VALENCIA", "ES", 39.47, False, "ES, US, VE")
        con.execute("INSERT INTO _tp_ctx VALUES ('US')")  # two of the context's countries have a Valencia
        assert con.execute(sql).fetchall()[2] == ("VALENCIA", "ES", 39.47, True, "ES, US, VE")
