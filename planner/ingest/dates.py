"""Which way round a file writes dates as day, month, year (03/04/2026: 3 April or March 4?).

One value with a number above 12 decides a column (26/11/2026 is day-first). A file whose dates never show one is
undecided: it is read in the order of the country most of its rows name (its locale's short date pattern, from
babel's CLDR data: dd/MM/y in the United Kingdom, M/d/yy in the United States), else in the US order, and the
import says which it chose and how to make it certain (ISO dates).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from babel import Locale, UnknownLocaleError
from babel.dates import get_date_format
from babel.languages import get_official_languages

from planner.text import listing

if TYPE_CHECKING:
    from planner.ingest import FileReport

ISO_ADVICE = "if that is wrong, export the dates as YYYY-MM-DD and import the file again"


@lru_cache(maxsize=512)
def day_first_in(code: str) -> bool | None:
    """True where a country writes the day before the month, False where the month comes first, None where its
    dates start with the year (that says nothing of D/M/Y files) or babel does not know it."""
    for lang in get_official_languages(code, de_facto=True):
        try:
            pattern = get_date_format("short", locale=Locale.parse(f"{lang}_{code}")).pattern
        except (ValueError, UnknownLocaleError):
            continue
        day, month, year = (pattern.find(ch) for ch in "dMy")
        if min(day, month) < 0 or 0 <= year < min(day, month):
            return None
        return day < month
    return None


def _country(code: str) -> str:
    return str(Locale("en").territories.get(code, code))


def day_first(evidence: dict[str, Any], columns: list[str], report: FileReport) -> bool:
    """The order to read the file's D/M/Y dates in, from planner.store.imports.date_order's `evidence`, saying on
    the report what decided it when the data alone did not."""
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
    report.warnings.append(f"{either}: read month-first (MM/DD/YYYY), the US order, as no country in the file "
                           f"says otherwise; {ISO_ADVICE}")  # fmt: skip
    return False
