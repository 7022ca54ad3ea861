"""Report periods are whole local days: [start 00:00, end+1 00:00) in the agency's zone,
by default whole calendar months, quarters or years."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    return datetime.combine(start, time(0), zone), datetime.combine(
        end + timedelta(days=1), time(0), zone
    )


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


#: the calendar periods a report can be asked for, by the words the CLI and chat take
CALENDAR_PERIODS = ("month", "quarter", "year")
PERIOD_WORDS = {
    "month": "month",
    "bulan": "month",
    "quarter": "quarter",
    "triwulan": "quarter",
    "kuartal": "quarter",
    "year": "year",
    "tahun": "year",
}


def last_full(period: str, today: date) -> tuple[date, date]:
    """The last whole calendar month, quarter or year before `today` (first and last
    day): what an SPBE report covers, not a rolling 30 days ending today."""
    if period == "month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if period == "quarter":
        first_month = 3 * ((today.month - 1) // 3) + 1
        end = today.replace(month=first_month, day=1) - timedelta(days=1)
        return end.replace(month=end.month - 2, day=1), end
    if period == "year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    raise ValueError(period)


def containing(period: str, day: date) -> tuple[date, date]:
    """The calendar month, quarter or year that `day` lies in (first and last day)."""
    if period == "month":
        first = day.replace(day=1)
    elif period == "quarter":
        first = day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    elif period == "year":
        first = date(day.year, 1, 1)
    else:
        raise ValueError(period)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    total = first.month - 1 + months
    after = date(first.year + total // 12, total % 12 + 1, 1)
    return first, after - timedelta(days=1)
