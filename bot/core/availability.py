"""Availability (ketersediaan) per service per day, week and month, with and without
maintenance, against the catalog's target.

Closed outages and finished maintenance windows are rolled up into `ServiceDay`
(agency-local days) when they end, so a figure is one SQL SUM … GROUP BY over a few
rows per service and day; what is still open is added from its own row. Periods are
half-open, [start, stop): a day only partly inside one (the first and last of a rolling
7 days, today so far) is read from its outage and window rows, not from the day's sum.

Two figures per period:
- without maintenance (the SLA figure): unplanned downtime over the period minus the
  time of maintenance windows;
- with maintenance (what users lived through): unplanned plus planned downtime (down
  inside a window) over the whole period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import (
    MaintenanceService,
    MaintenanceWindow,
    Outage,
    Service,
    ServiceDay,
    ServiceState,
)

COUNTERS = ("down_s", "planned_down_s", "maintenance_s", "checks", "failures", "latency_ms_sum")


def split_days(start: datetime, end: datetime, tz: str) -> list[tuple[date, int]]:
    """Seconds of [start, end) falling on each local day."""
    zone = ZoneInfo(tz)
    out: list[tuple[date, int]] = []
    cur = start.astimezone(zone)
    stop = end.astimezone(zone)
    while cur < stop:
        next_midnight = datetime.combine(cur.date() + timedelta(days=1), time(0), zone)
        piece_end = min(next_midnight, stop)
        seconds = int(round((piece_end - cur).total_seconds()))
        if seconds > 0:
            out.append((cur.date(), seconds))
        cur = piece_end
    return out


def bump_days(session: Session, rows: list[dict[str, object]]) -> None:
    """Add counters to (service, day) rows, creating them as needed, in one statement."""
    if not rows:
        return
    full = [
        {"service_id": r["service_id"], "day": r["day"], **{c: r.get(c, 0) for c in COUNTERS}}
        for r in rows
    ]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ServiceDay)
    table = ServiceDay.__table__  # type: ignore[attr-defined]
    stmt = stmt.on_conflict_do_update(
        index_elements=["service_id", "day"],
        set_={c: table.c[c] + stmt.excluded[c] for c in COUNTERS},
    )
    session.execute(stmt, full)


def add_interval(
    session: Session, service_id: str, start: datetime, end: datetime, column: str, tz: str
) -> None:
    bump_days(
        session,
        [{"service_id": service_id, "day": d, column: s} for d, s in split_days(start, end, tz)],
    )


@dataclass
class Figures:
    service_id: str
    target: float
    period_s: float = 0.0
    down_s: float = 0.0
    planned_down_s: float = 0.0
    maintenance_s: float = 0.0

    @property
    def without_maintenance(self) -> float | None:
        base = self.period_s - self.maintenance_s
        if base <= 0:
            return None
        return max(0.0, 100.0 * (1 - min(self.down_s, base) / base))

    @property
    def with_maintenance(self) -> float | None:
        if self.period_s <= 0:
            return None
        return max(
            0.0, 100.0 * (1 - min(self.down_s + self.planned_down_s, self.period_s) / self.period_s)
        )

    @property
    def meets_target(self) -> bool | None:
        value = self.without_maintenance
        return None if value is None else value >= self.target


@dataclass(frozen=True)
class Period:
    name: str  # day | week | month
    start: datetime
    end: datetime


def periods(now: datetime, tz: str) -> list[Period]:
    """Today, this week (from Monday) and this month, so far, in the agency's zone."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    midnight = datetime.combine(today, time(0), zone)
    return [
        Period("day", midnight, now),
        Period("week", midnight - timedelta(days=today.weekday()), now),
        Period("month", datetime.combine(today.replace(day=1), time(0), zone), now),
    ]


def _clip(
    a: datetime, b: datetime, start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    lo, hi = max(a, start), min(b, end)
    return (lo, hi) if hi > lo else None


def _open_items(
    session: Session, service_ids: list[str], start: datetime, end: datetime, now: datetime
) -> list[tuple[str, str, datetime, datetime]]:
    """(service, counter, from, to) for what is not rolled up yet: open outages and
    maintenance windows not yet rolled up, clipped to the period and to now."""
    items: list[tuple[str, str, datetime, datetime]] = []
    stop = min(end, now)
    for o in session.exec(
        select(Outage).where(
            col(Outage.ended_at).is_(None),
            col(Outage.service_id).in_(service_ids),
            col(Outage.state) == "down",  # degraded time is no down time
        )
    ):
        span = _clip(o.started_at, stop, start, stop)
        if span:
            items.append((o.service_id, "planned_down_s" if o.planned else "down_s", *span))
    windows = session.execute(
        select(
            MaintenanceService.service_id, MaintenanceWindow.starts_at, MaintenanceWindow.ends_at
        )
        .join(MaintenanceWindow, col(MaintenanceWindow.id) == col(MaintenanceService.window_id))
        .where(
            col(MaintenanceWindow.rolled_up).is_(False),
            col(MaintenanceWindow.cancelled_at).is_(None),
        )
        .where(col(MaintenanceWindow.starts_at) < stop, col(MaintenanceWindow.ends_at) > start)
        .where(col(MaintenanceService.service_id).in_(service_ids))
    ).all()
    for sid, w_start, w_end in windows:
        span = _clip(w_start, w_end, start, stop)
        if span:
            items.append((sid, "maintenance_s", *span))
    return items


def _monitored(
    session: Session, service_ids: list[str] | None
) -> dict[str, tuple[float, datetime]]:
    stmt = (
        select(Service.id, Service.availability_target, ServiceState.monitored_since)
        .join(ServiceState, col(ServiceState.service_id) == col(Service.id))
        .where(col(Service.active))
    )
    if service_ids is not None:
        stmt = stmt.where(col(Service.id).in_(service_ids))
    return {sid: (target, since) for sid, target, since in session.execute(stmt).all()}


def _midnight(d: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(d, time(0), zone)


def _whole_days(start: datetime, stop: datetime, zone: ZoneInfo) -> tuple[date, date]:
    """The local days lying wholly inside [start, stop), as [first, after): the days the
    daily roll-up may be summed over. `first >= after` when there is none."""
    local_start = start.astimezone(zone)
    first = local_start.date()
    if local_start != _midnight(first, zone):
        first += timedelta(days=1)
    return first, stop.astimezone(zone).date()


def _edges(
    start: datetime, stop: datetime, first: date, after: date, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, stop) outside the whole days: the rest of the first day and
    the part of the last one up to `stop` (or all of it, inside a single day)."""
    if first >= after:
        return [(start, stop)] if stop > start else []
    spans = [(start, _midnight(first, zone)), (_midnight(after, zone), stop)]
    return [(a, b) for a, b in spans if b > a]


def _closed_items(
    session: Session, service_ids: list[str], spans: list[tuple[datetime, datetime]]
) -> list[tuple[str, str, datetime, datetime]]:
    """(service, counter, from, to) of what the roll-up already holds (closed outages,
    finished windows), clipped to `spans`: the days only partly inside a period cannot
    be read from the daily sums, so they are read from the records themselves."""
    items: list[tuple[str, str, datetime, datetime]] = []
    for lo, hi in spans:
        for o in session.exec(
            select(Outage).where(
                col(Outage.ended_at).is_not(None),
                col(Outage.service_id).in_(service_ids),
                col(Outage.started_at) < hi,
                col(Outage.ended_at) > lo,
                col(Outage.state) == "down",  # as the roll-up: degraded time is no down time
            )
        ):
            span = _clip(o.started_at, o.ended_at or hi, lo, hi)
            if span:
                items.append((o.service_id, "planned_down_s" if o.planned else "down_s", *span))
        windows = session.execute(
            select(
                MaintenanceService.service_id,
                MaintenanceWindow.starts_at,
                MaintenanceWindow.ends_at,
            )
            .join(MaintenanceWindow, col(MaintenanceWindow.id) == col(MaintenanceService.window_id))
            .where(
                col(MaintenanceWindow.rolled_up).is_(True),
                col(MaintenanceWindow.cancelled_at).is_(None),
            )
            .where(col(MaintenanceWindow.starts_at) < hi, col(MaintenanceWindow.ends_at) > lo)
            .where(col(MaintenanceService.service_id).in_(service_ids))
        ).all()
        for sid, w_start, w_end in windows:
            span = _clip(w_start, w_end, lo, hi)
            if span:
                items.append((sid, "maintenance_s", *span))
    return items


def figures(
    session: Session,
    start: datetime,
    end: datetime,
    now: datetime,
    tz: str,
    service_ids: list[str] | None = None,
) -> dict[str, Figures]:
    """Figures of every monitored service over the half-open period [start, end), cut
    at `now`: an outage at 00:00 of the day after a month is not the month's, one that
    crosses midnight counts on both sides with its own minutes. Whole local days come
    from the daily roll-up; the days only partly inside, from the records. Services
    never monitored are absent."""
    mon = _monitored(session, service_ids)
    if not mon:
        return {}
    zone = ZoneInfo(tz)
    stop = min(end, now)
    out = {
        sid: Figures(sid, target, period_s=max(0.0, (stop - max(start, since)).total_seconds()))
        for sid, (target, since) in mon.items()
    }
    if stop <= start:
        return out
    first, after = _whole_days(start, stop, zone)
    if first < after:
        sums = session.execute(
            sa.select(
                col(ServiceDay.service_id),
                sa.func.sum(ServiceDay.down_s),
                sa.func.sum(ServiceDay.planned_down_s),
                sa.func.sum(ServiceDay.maintenance_s),
            )
            .where(col(ServiceDay.service_id).in_(list(mon)))
            .where(col(ServiceDay.day) >= first, col(ServiceDay.day) < after)
            .group_by(ServiceDay.service_id)
        ).all()
        for sid, down, planned, maint in sums:
            f = out[sid]
            f.down_s, f.planned_down_s, f.maintenance_s = (
                float(down or 0),
                float(planned or 0),
                float(maint or 0),
            )
    edges = _closed_items(session, list(mon), _edges(start, stop, first, after, zone))
    for sid, counter, a, b in [*edges, *_open_items(session, list(mon), start, stop, now)]:
        f = out[sid]
        setattr(f, counter, getattr(f, counter) + (b - a).total_seconds())
    return out


@dataclass
class Day:
    day: date
    down_s: float = 0.0
    planned_down_s: float = 0.0
    maintenance_s: float = 0.0
    monitored_s: float = 0.0

    @property
    def availability(self) -> float | None:
        base = self.monitored_s - self.maintenance_s
        if self.monitored_s <= 0:
            return None
        if base <= 0:
            return 100.0
        return max(0.0, 100.0 * (1 - min(self.down_s, base) / base))


def daily(
    session: Session, now: datetime, tz: str, days: int = 90, service_ids: list[str] | None = None
) -> dict[str, list[Day]]:
    """The last `days` local days per monitored service, oldest first (status-page bars);
    days before monitoring began have `availability` None."""
    mon = _monitored(session, service_ids)
    if not mon:
        return {}
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    dates = [first + timedelta(days=i) for i in range(days)]
    bounds = [datetime.combine(d, time(0), zone) for d in [*dates, today + timedelta(days=1)]]
    full = [(min(bounds[i + 1], now) - bounds[i]).total_seconds() for i in range(days)]
    out: dict[str, dict[date, Day]] = {}
    for sid, (_, since) in mon.items():
        row: dict[date, Day] = {}
        for i, d in enumerate(dates):
            if since <= bounds[i]:
                seconds = full[i]
            else:
                seconds = max(0.0, (min(bounds[i + 1], now) - since).total_seconds())
            row[d] = Day(d, monitored_s=seconds)
        out[sid] = row
    rows = session.execute(
        sa.select(
            col(ServiceDay.service_id),
            col(ServiceDay.day),
            col(ServiceDay.down_s),
            col(ServiceDay.planned_down_s),
            col(ServiceDay.maintenance_s),
        ).where(col(ServiceDay.service_id).in_(list(mon)), col(ServiceDay.day) >= first)
    ).all()
    for sid, d, down, planned, maint in rows:
        if d in out[sid]:
            day = out[sid][d]
            day.down_s += down
            day.planned_down_s += planned
            day.maintenance_s += maint
    start = datetime.combine(first, time(0), zone)
    for sid, counter, a, b in _open_items(session, list(mon), start, now, now):
        for d, seconds in split_days(a, b, tz):
            if d in out[sid]:
                setattr(out[sid][d], counter, getattr(out[sid][d], counter) + seconds)
    return {sid: list(row.values()) for sid, row in out.items()}
