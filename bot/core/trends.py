"""Trends: the evaluation figures of several periods side by side, per service, with the
change against the period before.

The guideline asks that performance is measured and followed period after period (ch. 8,
10: "mengukur tingkat keberhasilan", "pengukuran Faktor Kunci Keberhasilan"), so the
evaluation report shows twelve periods and `/ringkasan` this week against last week. Both
read this module, so a figure means the same in chat and on paper.

Cost: the ticket figures of all periods and services come from one grouped query (the
period is a CASE over `created_at`), whatever the number of periods; availability is
`availability.figures` once per period (its rolled-up days are a few rows per service).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col

from bot.core import availability
from bot.core.ticket_states import DIBATALKAN
from storage.models import Ticket

#: how many periods the evaluation report shows
PERIODS: Final = 12
#: the figures a trend follows, in the order reports show them
MEASURES: Final = (
    "tickets",
    "response_sla_pct",
    "resolution_sla_pct",
    "availability",
    "mean_response_h",
    "mean_resolution_h",
)


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; `first` and `last` are its local days, for labels."""

    start: datetime
    end: datetime
    first: date
    last: date


@dataclass
class Figures:
    """What a period's tickets (created in it) and availability amount to. Sums, not
    averages, so that services add up to a total."""

    tickets: int = 0
    response_met: int = 0
    response_known: int = 0
    resolution_met: int = 0
    resolution_known: int = 0
    ack_seconds: float = 0.0
    acked: int = 0
    resolve_seconds: float = 0.0
    resolved: int = 0
    #: availability without maintenance (%), None when not monitored in the period
    availability: float | None = None

    @property
    def response_sla_pct(self) -> float | None:
        """Acknowledged in time, of the tickets whose outcome is known (as the evaluation
        report counts: acknowledged, or not and past due)."""
        return _share(self.response_met, self.response_known)

    @property
    def resolution_sla_pct(self) -> float | None:
        return _share(self.resolution_met, self.resolution_known)

    @property
    def mean_response_h(self) -> float | None:
        return _hours(self.ack_seconds, self.acked)

    @property
    def mean_resolution_h(self) -> float | None:
        return _hours(self.resolve_seconds, self.resolved)

    def value(self, measure: str) -> float | int | None:
        if measure not in MEASURES:
            raise ValueError(f"unknown measure {measure!r}")
        result: float | int | None = getattr(self, measure)
        return result

    def add(self, other: Figures) -> None:
        """Count `other` in (availability is per service: it does not add up)."""
        for name in (
            "tickets",
            "response_met",
            "response_known",
            "resolution_met",
            "resolution_known",
            "ack_seconds",
            "acked",
            "resolve_seconds",
            "resolved",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _hours(seconds: float, n: int) -> float | None:
    return round(seconds / n / 3600, 2) if n else None


def change(current: float | int | None, previous: float | int | None) -> float | int | None:
    """current − previous; None when either is unknown (a period without tickets has no
    SLA figure to compare)."""
    if current is None or previous is None:
        return None
    diff = current - previous
    return diff if isinstance(diff, int) else round(diff, 2)


@dataclass
class Trend:
    periods: list[Period]
    #: service id (None: tickets without a service) → one `Figures` per period
    services: dict[str | None, list[Figures]] = field(default_factory=dict)
    #: all services together, per period (availability left out: it does not add up)
    total: list[Figures] = field(default_factory=list)

    def changes(self, series: list[Figures], measure: str) -> list[float | int | None]:
        """Per period, the change against the one before (None for the first)."""
        values = [f.value(measure) for f in series]
        return [None] + [change(values[i], values[i - 1]) for i in range(1, len(values))]


# --- periods ------------------------------------------------------------------------------


def _local(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def _months_later(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def report_periods(start: date, end: date, tz: str, n: int = PERIODS) -> list[Period]:
    """The report's period [start, end] (local days) and the n − 1 before it, oldest
    first, each as long as it: whole calendar months when the report covers whole months
    (a month, a quarter), otherwise the same number of days (a week)."""
    zone = ZoneInfo(tz)
    spans: list[tuple[date, date]] = []
    if start.day == 1 and (end + timedelta(days=1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        for k in range(n - 1, -1, -1):
            first = _months_later(start, -k * months)
            spans.append((first, _months_later(first, months) - timedelta(days=1)))
    else:
        days = (end - start).days + 1
        for k in range(n - 1, -1, -1):
            shift = timedelta(days=k * days)
            spans.append((start - shift, end - shift))
    return [Period(_local(a, zone), _local(b + timedelta(days=1), zone), a, b) for a, b in spans]


def week_to_date(now: datetime, tz: str) -> list[Period]:
    """Last week and this week, like for like: this week from Monday 00:00 (local) to
    `now`, and the same stretch of last week (Monday 00:00 to `now` − 7 days). A whole
    last week against a week just begun would always look like a drop."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    before = monday - timedelta(days=7)
    return [
        Period(_local(before, zone), now - timedelta(days=7), before, today - timedelta(days=7)),
        Period(_local(monday, zone), now, monday, today),
    ]


# --- figures ------------------------------------------------------------------------------


def _seconds(session: Session, later: Any, earlier: Any) -> Any:
    """later − earlier in seconds, in the dialect's own arithmetic."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def compute(
    session: Session,
    periods: list[Period],
    now: datetime,
    tz: str,
    service_ids: list[str] | None = None,
    *,
    with_availability: bool = True,
) -> Trend:
    """The figures of each period, per service and in total. `service_ids` narrows to
    those services (None: all, and tickets without a service too)."""
    trend = Trend(periods, total=[Figures() for _ in periods])
    if not periods:
        return trend
    created = col(Ticket.created_at)
    which = sa.case(
        *[(sa.and_(created >= p.start, created < p.end), i) for i, p in enumerate(periods)],
        else_=None,
    ).label("period")
    acked, due = col(Ticket.acknowledged_at), col(Ticket.response_due_at)
    resolved, rdue = col(Ticket.resolved_at), col(Ticket.resolution_due_at)
    no_target = sa.or_(rdue.is_(None), col(Ticket.state) == DIBATALKAN)

    def count(*whens: tuple[Any, int]) -> Any:
        return sa.func.sum(sa.case(*whens, else_=0))

    stmt = (
        sa.select(
            which,
            col(Ticket.service_id),
            sa.func.count(),
            count((due.is_(None), 0), (sa.and_(acked.is_not(None), acked <= due), 1)),
            count((due.is_(None), 0), (acked.is_not(None), 1), (due < now, 1)),
            count((no_target, 0), (sa.and_(resolved.is_not(None), resolved <= rdue), 1)),
            count((no_target, 0), (resolved.is_not(None), 1), (rdue < now, 1)),
            sa.func.sum(_seconds(session, acked, created)),
            sa.func.count(acked),
            sa.func.sum(_seconds(session, resolved, created)),
            sa.func.count(resolved),
        )
        .where(created >= min(p.start for p in periods), created < max(p.end for p in periods))
        .group_by(which, col(Ticket.service_id))
    )
    if service_ids is not None:
        stmt = stmt.where(col(Ticket.service_id).in_(service_ids))
    for i, sid, n, r_met, r_known, s_met, s_known, a_s, a_n, s_s, s_n in session.execute(stmt):
        if i is None:
            continue  # between two periods that do not touch (week_to_date)
        figures = _series(trend, sid)[int(i)]
        figures.tickets += int(n)
        figures.response_met += int(r_met or 0)
        figures.response_known += int(r_known or 0)
        figures.resolution_met += int(s_met or 0)
        figures.resolution_known += int(s_known or 0)
        figures.ack_seconds += float(a_s or 0)
        figures.acked += int(a_n or 0)
        figures.resolve_seconds += float(s_s or 0)
        figures.resolved += int(s_n or 0)
    for series in trend.services.values():
        for total, figures in zip(trend.total, series, strict=True):
            total.add(figures)
    if with_availability:
        for i, p in enumerate(periods):
            if p.start >= now:
                continue
            for sid, f in availability.figures(
                session, p.start, p.end, now, tz, service_ids
            ).items():
                _series(trend, sid)[i].availability = f.without_maintenance
    return trend


def _series(trend: Trend, service_id: str | None) -> list[Figures]:
    if service_id not in trend.services:
        trend.services[service_id] = [Figures() for _ in trend.periods]
    return trend.services[service_id]
