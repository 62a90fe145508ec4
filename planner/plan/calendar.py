"""The rep's working calendar: which days are working days (a rule) and which are holidays (the `holidays`
package's public holidays, and bank holidays where they close business (Japan), for the rep's country and state),
the rep's time zone, and the plan's default start, the next working day after today."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import holidays as holiday_lists

from planner.errors import BadInput
from planner.geo_world import name_key
from planner.plan.region_names import region_names
from planner.text import one_line

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MON_FRI = (0, 1, 2, 3, 4)
# The `holidays` categories a rep does not work on: public holidays, and bank holidays where the package lists them
# (Japan's 31 Dec and 2-3 Jan of the New Year closure); a country without a bank list keeps its public one.
DAYS_OFF = ("public", "bank")
# Countries whose bank holidays close business at large (Japan's New Year closure). Elsewhere a bank holiday closes
# the banks while reps work: NSW's August Bank Holiday, Belgium's Friday after Ascension.
BANK_DAYS_CLOSE_BUSINESS = frozenset({"JP"})


def parse_working_days(value: object) -> tuple[int, ...]:
    """Working weekdays (0 = Monday) from a list of numbers or names, or text like "Mon-Fri" or "Sun,Mon,Tue"."""
    items: list[object]
    if isinstance(value, str):
        text = value.replace(" ", "")
        if "-" in text and "," not in text:
            first, last = (_weekday(p) for p in text.split("-", 1))
            items = [(first + i) % 7 for i in range((last - first) % 7 + 1)]
        else:
            items = [p for p in text.split(",") if p]
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        raise BadInput(f"working days {value!r} are not a list of weekdays; use e.g. Mon-Fri or Sun,Mon,Tue,Wed,Thu")
    days = tuple(sorted({_weekday(i) for i in items}))
    if not days:
        raise BadInput("the rep needs at least one working day a week, e.g. Mon-Fri")
    return days


def _weekday(item: object) -> int:
    if isinstance(item, int | float) and not isinstance(item, bool) and int(item) == item and 0 <= item <= 6:
        return int(item)
    text = str(item).strip()[:3].title()
    if text in WEEKDAYS:
        return WEEKDAYS.index(text)
    if text.isdigit() and 0 <= int(text) <= 6:
        return int(text)
    raise BadInput(f"{item!r} is not a weekday; use Mon, Tue, Wed, Thu, Fri, Sat or Sun (or 0 = Monday to 6)")


def describe_days(days: Iterable[int]) -> str:
    """'Mon-Fri' for a run of days, across the week's end too ('Sun-Thu'), else 'Mon, Wed, Fri'."""
    days = sorted(set(days))
    if len(days) == 7:
        return "Mon-Sun"
    for first in days:  # a run starts at the one day whose eve is off
        run = [(first + i) % 7 for i in range(len(days))]
        if len(days) > 2 and (first - 1) % 7 not in days and sorted(run) == days:
            return f"{WEEKDAYS[run[0]]}-{WEEKDAYS[run[-1]]}"
    return ", ".join(WEEKDAYS[d] for d in days)


@dataclass(frozen=True)
class WorkCalendar:
    """Working weekdays and holidays (date -> name) of one rep, which `holidays` categories they are (public,
    bank) and the rep's IANA time zone ('' when not known); `note` says what is assumed."""

    working_days: tuple[int, ...]
    holidays: dict[date, str] = field(default_factory=dict)
    place: str = ""
    note: str = ""
    categories: tuple[str, ...] = ("public",)
    time_zone: str = ""

    @property
    def kinds(self) -> str:
        """'public' or 'public and bank': what the holidays are, in words."""
        return " and ".join(self.categories)

    def is_working(self, day: date) -> bool:
        return day.weekday() in self.working_days and day not in self.holidays

    def next_working(self, day: date) -> date:
        """`day` itself when it is a working day, else the next one."""
        for _ in range(3660):
            if self.is_working(day):
                return day
            day += timedelta(days=1)
        raise BadInput("no working day within ten years; check the working days and holidays")

    def previous_working(self, day: date) -> date:
        """`day` itself when it is a working day, else the working day before it."""
        for _ in range(3660):
            if self.is_working(day):
                return day
            day -= timedelta(days=1)
        raise BadInput("no working day within ten years; check the working days and holidays")

    def working_days_from(self, start: date, count: int) -> list[date]:
        """The first `count` working days on or after `start`."""
        out: list[date] = []
        day = self.next_working(start)
        while len(out) < count:
            out.append(day)
            day = self.next_working(day + timedelta(days=1))
        return out

    def holidays_between(self, first: date, last: date) -> list[tuple[date, str]]:
        """Holidays on working weekdays from first to last (what the plan skips)."""
        return sorted(
            (d, n) for d, n in self.holidays.items() if first <= d <= last and d.weekday() in self.working_days
        )


@lru_cache(maxsize=256)
def subdivisions(country: str) -> dict[str, str]:
    """The states or provinces the `holidays` package has a list for in a country (ISO code): every way it
    names one ('BY', 'DE-BY', 'Bayern', 'Bavaria', 'Baden-Württemberg', 'São Paulo', 'New South Wales'), as `name_key`
    writes it, to its code; {} for a country it knows no regions of (or does not know at all). A spelling that
    two regions share is left out: it names neither."""
    try:
        table = holiday_lists.country_holidays(country.strip().upper(), years=())
    except NotImplementedError:
        return {}
    codes = [str(c) for c in getattr(table, "subdivisions", ()) or ()]
    names: dict[str, set[str]] = {}
    for alias, code in (getattr(table, "subdivisions_aliases", None) or {}).items():
        names.setdefault(name_key(alias), set()).add(str(code))
    found = {k: next(iter(v)) for k, v in names.items() if len(v) == 1 and k}
    # The ISO and English names ('Bavaria', 'Lower Saxony') of the regions it has a list for, where its own
    # names say nothing of that spelling.
    more: dict[str, set[str]] = {}
    for code, spelled in region_names(country).items():
        if code in codes:
            for name in spelled:
                more.setdefault(name_key(name), set()).add(code)
    found.update({k: next(iter(v)) for k, v in more.items() if len(v) == 1 and k and k not in names})
    for code in codes:  # a code is itself, before any name that reads like it
        found[name_key(code)] = code
        found[name_key(f"{country}-{code}")] = code
    return found


def subdivision_code(country: str | None, region: object) -> str | None:
    """The `holidays` code of a state or province as an export writes it, compared without case or accents:
    ('DE', 'BAYERN') -> 'BY', ('IN', 'Maharashtra') -> 'MH', ('AU', 'NSW') -> 'NSW'; None when none matches."""
    if not country or region is None:
        return None
    return subdivisions(str(country).strip().upper()).get(name_key(region))


def work_calendar(
    working_days: object, country: str | None, subdiv: str | None, first_year: int, last_year: int
) -> WorkCalendar:
    """The calendar for a country (ISO code, e.g. US, DE) and optional state or province, by its code or its
    name ('BY', 'Bayern'): its public holidays, and its bank holidays where they close business at large and
    `holidays` lists them (JP; not AU-NSW's or BE's, which close only banks, nor GB's, which are its public ones).
    An unknown country or state is not an error: the plan then skips what is known and says so. No working days
    given (None, [] or ''): the country's working week (Sun-Thu in Saudi Arabia, Mon-Fri in Germany), else
    Mon-Fri."""
    given = parse_working_days(working_days) if working_days not in (None, "", [], ()) else None
    days = given or MON_FRI
    years = range(first_year, last_year + 1)
    code = (country or "").strip().upper()
    region = one_line(subdiv or "", 40)
    if not code:
        return WorkCalendar(days, {}, "", "Public holidays are not skipped: the rep's country is not known.")
    sub = subdivision_code(code, region) if region else None
    try:
        table = holiday_lists.country_holidays(code, subdiv=sub, years=())
        listed = set(getattr(table, "supported_categories", ()) or ())
        kinds = tuple(c for c in DAYS_OFF if c in listed and (c != "bank" or code in BANK_DAYS_CLOSE_BUSINESS))
        kinds = kinds or ("public",)
        table = holiday_lists.country_holidays(code, subdiv=sub, years=years, categories=kinds)
    except NotImplementedError:
        note = f"Public holidays of {code!r} are not known; only the days off in the working week are skipped."
        return WorkCalendar(days, {}, code, note)
    note = ""
    if region and sub is None and subdivisions(code):
        # Only a country whose holidays differ by region: one with a single list for all needs no region.
        known = sorted(set(subdivisions(code).values()))
        shown = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
        note = (
            f"The region '{region}' is not one {code} has its own public holidays for ({shown}); only the "
            f"national holidays of {code} are skipped. Set the holidays' state in the plan's rules to change this."
        )
    if given is None:
        days = tuple(d for d in range(7) if d not in set(getattr(table, "weekend", ()) or (5, 6))) or MON_FRI
    place = f"{code}-{sub}" if sub else code
    return WorkCalendar(days, {d: str(n) for d, n in table.items()}, place, note, kinds)


def next_working_day_after(calendar: WorkCalendar, today: date) -> date:
    """The plan's default start: the first working day after today."""
    return calendar.next_working(today + timedelta(days=1))
