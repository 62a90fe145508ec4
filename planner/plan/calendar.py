"""The rep's working calendar: which days are working days (a rule) and which are public holidays
(the `holidays` package, for the rep's country and state), and the plan's default start, the next
working day after today."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays as holiday_lists

from planner.errors import BadInput

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MON_FRI = (0, 1, 2, 3, 4)


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
    """Working weekdays and public holidays (date -> name) of one rep; `note` says what is assumed."""

    working_days: tuple[int, ...]
    holidays: dict[date, str] = field(default_factory=dict)
    place: str = ""
    note: str = ""

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
        """Public holidays on working weekdays from first to last (what the plan skips)."""
        return sorted(
            (d, n) for d, n in self.holidays.items() if first <= d <= last and d.weekday() in self.working_days
        )


def work_calendar(
    working_days: object, country: str | None, subdiv: str | None, first_year: int, last_year: int
) -> WorkCalendar:
    """The calendar for a country (ISO code, e.g. US, DE) and optional state or province; an unknown
    country or state is not an error: the plan then skips what is known and says so. No working days given
    (None, [] or ''): the country's working week (Sun-Thu in Saudi Arabia, Mon-Fri in Germany), else Mon-Fri."""
    given = parse_working_days(working_days) if working_days not in (None, "", [], ()) else None
    days = given or MON_FRI
    years = range(first_year, last_year + 1)
    code = (country or "").strip().upper()
    sub = (subdiv or "").strip().upper() or None
    if not code:
        return WorkCalendar(days, {}, "", "Public holidays are not skipped: the rep's country is not known.")
    try:
        table = holiday_lists.country_holidays(code, subdiv=sub, years=years)
        note = ""
    except NotImplementedError:
        if sub is None:
            note = f"Public holidays of {code!r} are not known; only the days off in the working week are skipped."
            return WorkCalendar(days, {}, code, note)
        table = holiday_lists.country_holidays(code, years=years)
        note = f"No holiday list for {sub!r} in {code}; the national holidays of {code} are skipped."
        sub = None
    if given is None:
        days = tuple(d for d in range(7) if d not in set(getattr(table, "weekend", ()) or (5, 6))) or MON_FRI
    place = f"{code}-{sub}" if sub else code
    return WorkCalendar(days, {d: str(n) for d, n in table.items()}, place, note)


def next_working_day_after(calendar: WorkCalendar, today: date) -> date:
    """The plan's default start: the first working day after today."""
    return calendar.next_working(today + timedelta(days=1))
