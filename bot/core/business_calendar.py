"""Working hours of a service, as the SLA clock counts them.

A service's `business_hours` is a short string from the catalog: "24x7", or day ranges
with opening times in the agency's time zone, e.g. "senin-jumat 07:30-16:00" or
"senin-kamis 07:30-16:00; jumat 07:30-16:30". Business calendars are closed on
Indonesian national holidays (the `holidays` package) and on cuti bersama days
(configured; optionally also the package's own list); a 24x7 calendar never closes.

Arithmetic is exact (timedelta, microseconds), so tests can write expected times by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

DAYS = {
    "senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "jum'at": 4, "sabtu": 5, "minggu": 6,
    "ahad": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6, "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
}  # fmt: skip
ALWAYS = frozenset({"24x7", "24/7", "24 x 7", "setiap saat"})
EVERY_DAY = frozenset({"setiap hari", "tiap hari", "harian", "daily", "every day"})
_TIME_RANGE = re.compile(r"^(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})$")
ZERO = timedelta(0)
DAY = timedelta(days=1)


class CalendarError(ValueError):
    """A business_hours string that cannot be read; the message quotes it."""


def _minutes(h: str, m: str, spec: str) -> int:
    value = int(h) * 60 + int(m)
    if int(m) >= 60 or value > 24 * 60:
        raise CalendarError(f"bad time in business hours {spec!r}")
    return value


def _days(text: str, spec: str) -> list[int]:
    text = text.strip().lower()
    if text in EVERY_DAY:
        return list(range(7))
    out: list[int] = []
    for part in re.split(r"\s*,\s*", text):
        ends = [p.strip() for p in part.split("-")]
        if len(ends) == 1 and ends[0] in DAYS:
            out.append(DAYS[ends[0]])
        elif len(ends) == 2 and ends[0] in DAYS and ends[1] in DAYS:
            first, last = DAYS[ends[0]], DAYS[ends[1]]
            out.extend((first + i) % 7 for i in range((last - first) % 7 + 1))
        else:
            raise CalendarError(f"unknown days {part!r} in business hours {spec!r}")
    return out


def parse_hours(spec: str) -> tuple[tuple[tuple[int, int], ...], ...] | None:
    """Weekly opening intervals in minutes after local midnight, Monday first; None is 24x7.
    Intervals that pass midnight ("22:00-06:00") continue on the next day."""
    text = " ".join(spec.strip().lower().split())
    if text in ALWAYS:
        return None
    week: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for segment in filter(None, (s.strip() for s in text.split(";"))):
        m = re.match(r"^(.*?)\s+(\d{1,2}[:.]\d{2}\s*-.*)$", segment)
        if not m:
            raise CalendarError(f"expected 'days HH:MM-HH:MM' in business hours {spec!r}")
        days = _days(m.group(1), spec)
        for rng in re.split(r"\s*,\s*", m.group(2)):
            t = _TIME_RANGE.match(rng.strip())
            if not t:
                raise CalendarError(f"bad time range {rng!r} in business hours {spec!r}")
            start, end = _minutes(t[1], t[2], spec), _minutes(t[3], t[4], spec)
            if start == end:
                raise CalendarError(f"empty time range {rng!r} in business hours {spec!r}")
            for d in days:
                if start < end:
                    week[d].append((start, end))
                else:
                    week[d].append((start, 24 * 60))
                    if end:
                        week[(d + 1) % 7].append((0, end))
    if not any(week):
        raise CalendarError(f"no opening hours in business hours {spec!r}")
    return tuple(tuple(_merge(day)) for day in week)


def _merge(intervals: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    current: tuple[int, int] | None = None
    for start, end in sorted(intervals):
        if current and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current:
            yield current
        current = (start, end)
    if current:
        yield current


@dataclass(frozen=True)
class Holidays:
    """Closed days of business calendars: national holidays plus cuti bersama."""

    cuti_bersama: frozenset[date] = frozenset()
    #: also close on the cuti bersama days the `holidays` package knows (its "government" list)
    package_cuti_bersama: bool = True
    _years: dict[int, frozenset[date]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    def closed(self, day: date) -> bool:
        days = self._years.get(day.year)
        if days is None:
            categories = ("public", "government") if self.package_cuti_bersama else ("public",)
            known = holidays.country_holidays("ID", years=day.year, categories=categories)
            days = frozenset(known) | {d for d in self.cuti_bersama if d.year == day.year}
            self._years[day.year] = days
        return day in days

    def name(self, day: date) -> str | None:
        if day in self.cuti_bersama:
            return "Cuti Bersama"
        categories = ("public", "government") if self.package_cuti_bersama else ("public",)
        return holidays.country_holidays(
            "ID", years=day.year, categories=categories, language="id"
        ).get(day)


@dataclass(frozen=True)
class Calendar:
    """Opening hours in one time zone; `week=None` is 24x7 (holidays do not close it)."""

    week: tuple[tuple[tuple[int, int], ...], ...] | None
    tz: ZoneInfo
    closed_days: Holidays
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    @property
    def always(self) -> bool:
        return self.week is None

    def _day(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's opening intervals in UTC, computed once per day (every ticket hook uses them)."""
        found = self._days.get(day)
        if found is None:
            assert self.week is not None
            found = (
                ()
                if self.closed_days.closed(day)
                else tuple(
                    (self._at(day, a), self._at(day, b)) for a, b in self.week[day.weekday()]
                )
            )
            if len(self._days) > 50_000:
                self._days.clear()
            self._days[day] = found
        return found

    def _open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening intervals (UTC) from the local day of `start` on; ends when none remain."""
        day = start.astimezone(self.tz).date() - timedelta(days=1)  # catch the overnight tail
        idle = 0
        while idle < 800:  # a calendar closed for two years has no hours at all
            found = False
            for lo, hi in self._day(day):
                if hi > start:
                    found = True
                    yield max(lo, start), hi
            idle = 0 if found else idle + 1
            day += timedelta(days=1)
        raise CalendarError("calendar has no opening hours in two years")

    def _at(self, day: date, minutes: int) -> datetime:
        if minutes >= 24 * 60:
            return datetime.combine(day + DAY, time(0), tzinfo=self.tz).astimezone(UTC)
        return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.tz).astimezone(
            UTC
        )

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        """Open time in [start, end); zero when end is not after start."""
        if end <= start:
            return ZERO
        if self.always:
            return end - start
        total = ZERO
        for lo, hi in self._open_intervals(start):
            if lo >= end:
                break
            total += min(hi, end) - lo
        return total

    def signed_business_time(self, start: datetime, end: datetime) -> timedelta:
        if end >= start:
            return self.business_time(start, end)
        return -self.business_time(end, start)

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The first instant at which `amount` of open time has passed since `start`.
        Landing exactly on a closing time gives the closing time ("due Friday 16:00")."""
        if amount <= ZERO:
            return start
        if self.always:
            return start + amount
        left = amount
        for lo, hi in self._open_intervals(start):
            if hi - lo >= left:
                return lo + left
            left -= hi - lo
        raise CalendarError("unreachable")  # _open_intervals raises first

    def is_open(self, at: datetime) -> bool:
        return self.business_time(at, at + timedelta(microseconds=1)) > ZERO


@lru_cache(maxsize=256)
def calendar(
    spec: str,
    tz: str = "Asia/Jakarta",
    cuti_bersama: frozenset[date] = frozenset(),
    package_cuti_bersama: bool = True,
) -> Calendar:
    """Parsed once per (string, zone, closed days): the hooks in every ticket change use it."""
    return Calendar(parse_hours(spec), ZoneInfo(tz), _holidays(cuti_bersama, package_cuti_bersama))


@lru_cache(maxsize=16)
def _holidays(cuti_bersama: frozenset[date], package_cuti_bersama: bool) -> Holidays:
    return Holidays(cuti_bersama, package_cuti_bersama)


def check(specs: Iterable[str]) -> list[str]:
    """Problems of the given business_hours strings (for catalog checks)."""
    problems = []
    for spec in specs:
        try:
            parse_hours(spec)
        except CalendarError as exc:
            problems.append(str(exc))
    return problems
