"""Report periods are whole local days: [start 00:00, end+1 00:00) in the agency's zone."""

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
