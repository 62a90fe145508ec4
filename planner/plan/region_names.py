"""Names of states and provinces beyond the ones the `holidays` package knows (its aliases are the local names:
'Bayern', 'Niedersachsen'): the ISO 3166-2 names and their English names ('Bavaria', 'Lower Saxony', 'Vienna',
'Lombardy'), from the data file the `iso3166-2` package ships. Read offline, once, and only when a region's name
is not one of the holidays package's own."""

from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path

# 'Lower Saxony (eng), Neddersassen (nds), Läichsaksen (stq)': the names marked English.
_ENGLISH = re.compile(r"\s*([^,]+?)\s*\(eng\)")


def _data_file() -> Path:
    # Located without importing the package, whose module imports an HTTP client and fuzzy matching it is not
    # needed for here.
    spec = importlib.util.find_spec("iso3166_2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the iso3166-2 package is not installed; run pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "iso3166-2.json"


@lru_cache(maxsize=1)
def _all() -> dict[str, dict[str, dict[str, object]]]:
    data: dict[str, dict[str, dict[str, object]]] = json.loads(_data_file().read_text(encoding="utf-8"))
    return data


def region_names(country: str) -> dict[str, list[str]]:
    """A country's (ISO alpha-2) subdivisions: the code after the country's ('BY' of DE-BY) to its ISO name and
    English names, e.g. {'BY': ['Bayern', 'Bavaria', 'Free State of Bavaria'], ...}; {} for a country not listed."""
    out: dict[str, list[str]] = {}
    for code, entry in _all().get(country.strip().upper(), {}).items():
        names = [str(entry.get("name") or "")] + _ENGLISH.findall(str(entry.get("localOtherName") or ""))
        out[code.split("-", 1)[-1]] = [n for n in names if n]
    return out
