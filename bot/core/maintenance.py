"""Maintenance windows (pemeliharaan): scheduled by coordinators, announced, and kept
out of the downtime figures.

Announcements go 24 h and 1 h before, at the start and at the end, to the operator
groups of the affected services and to their users (people who reported tickets for
them, on every chat they linked) and to the services' subscribers (who also hear when a
window more than a day ahead is scheduled), as outbox notices keyed per window, stage
and chat.
`maintenance_tick(now)` sends whichever stage is due; a stage missed while the
scheduler was stopped is skipped in favour of the latest one, so nobody is told
"in 24 hours" one hour before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core import alerts, notices, outages, subscriptions
from bot.core.availability import add_interval
from bot.core.errors import HelpdeskError, NotAllowed, NotFound
from bot.core.roles import Role, has_any
from bot.i18n import fmt_dt, t
from storage.db import saved_id, session_scope
from storage.models import (
    Identity,
    MaintenanceService,
    MaintenanceWindow,
    Person,
    Service,
    ServiceState,
    Ticket,
)

SCHEDULER_ROLES = frozenset({Role.KOORDINATOR_LAYANAN.value, Role.ADMIN.value})
STAGES = ("", "24h", "1h", "start", "end")
LEADS = {"24h": timedelta(hours=24), "1h": timedelta(hours=1), "start": timedelta(0)}


@dataclass(frozen=True)
class Recipient:
    channel: str
    target: str
    lang: str


def may_schedule(person: Person | None) -> bool:
    return has_any(person, SCHEDULER_ROLES)


def services_of(session: Session, window_id: int) -> list[Service]:
    return list(
        session.exec(
            select(Service)
            .join(MaintenanceService, col(MaintenanceService.service_id) == col(Service.id))
            .where(MaintenanceService.window_id == window_id)
            .order_by(col(Service.name))
        )
    )


def overlapping(
    session: Session, service_ids: Iterable[str], start: datetime, end: datetime
) -> list[tuple[MaintenanceWindow, str]]:
    rows = session.execute(
        select(MaintenanceWindow, MaintenanceService.service_id)
        .join(MaintenanceService, col(MaintenanceService.window_id) == col(MaintenanceWindow.id))
        .where(col(MaintenanceService.service_id).in_(list(service_ids)))
        .where(col(MaintenanceWindow.cancelled_at).is_(None))
        .where(col(MaintenanceWindow.starts_at) < end, col(MaintenanceWindow.ends_at) > start)
        .order_by(col(MaintenanceWindow.starts_at))
    ).all()
    return [(w, sid) for w, sid in rows]


def schedule(
    session: Session,
    by: Person | None,
    service_ids: list[str],
    start: datetime,
    end: datetime,
    impact: str,
    *,
    now: datetime,
    tz: str = "Asia/Jakarta",
) -> MaintenanceWindow:
    """`by=None` is the CLI. Refuses unknown services, times in the past and overlaps."""
    if by is not None and not may_schedule(by):
        raise NotAllowed("maintenance.not_allowed")
    if not service_ids:
        raise HelpdeskError("maintenance.no_service")
    for sid in service_ids:
        if session.get(Service, sid) is None:
            raise NotFound("maintenance.unknown_service", service=sid)
    if start <= now:
        raise HelpdeskError("maintenance.when.in_past")
    if end <= start:
        raise HelpdeskError("maintenance.when.end_before_start")
    clash = overlapping(session, service_ids, start, end)
    if clash:
        window, sid = clash[0]
        service = session.get(Service, sid)
        raise HelpdeskError(
            "maintenance.overlap",
            service=service.name if service else sid,
            id=window.id,
            start=fmt_dt(window.starts_at, tz=tz),
            end=fmt_dt(window.ends_at, tz=tz),
        )
    window = MaintenanceWindow(
        starts_at=start,
        ends_at=end,
        impact=impact.strip()[:500],
        created_by=by.id if by else None,
        created_at=now,
    )
    session.add(window)
    session.flush()
    for sid in dict.fromkeys(service_ids):
        session.add(MaintenanceService(window_id=saved_id(window), service_id=sid))
    session.flush()
    if start - now > LEADS["24h"]:  # subscribers hear early; nearer, the tick's stage comes
        _tell_subscribers(
            session,
            window,
            list(dict.fromkeys(service_ids)),
            "scheduled",
            "subscription.maintenance.scheduled",
            now,
            tz,
        )
    return window


def cancel(
    session: Session, by: Person | None, window_id: int, *, now: datetime, tz: str = "Asia/Jakarta"
) -> MaintenanceWindow:
    if by is not None and not may_schedule(by):
        raise NotAllowed("maintenance.not_allowed")
    window = session.get(MaintenanceWindow, window_id)
    if window is None or window.cancelled_at is not None or window.ends_at <= now:
        raise NotFound("maintenance.not_found", id=window_id)
    if window.starts_at <= now:
        raise HelpdeskError("maintenance.already_started", id=window_id)
    window.cancelled_at = now
    session.add(window)
    if window.announced:
        _announce(session, window, "cancelled", now, tz)
    return window


def upcoming(
    session: Session, now: datetime, *, service_id: str | None = None, limit: int = 20
) -> list[MaintenanceWindow]:
    """Windows not over yet (running ones first), soonest first."""
    stmt = select(MaintenanceWindow).where(
        col(MaintenanceWindow.cancelled_at).is_(None), col(MaintenanceWindow.ends_at) > now
    )
    if service_id:
        stmt = stmt.join(
            MaintenanceService, col(MaintenanceService.window_id) == col(MaintenanceWindow.id)
        ).where(MaintenanceService.service_id == service_id)
    return list(session.exec(stmt.order_by(col(MaintenanceWindow.starts_at)).limit(limit)))


def recipients(session: Session, service_ids: list[str]) -> list[Recipient]:
    """Operator groups of the services, then their users: reporters' chats and every chat
    those people linked. Each chat once."""
    seen: dict[tuple[str, str], Recipient] = {}
    for sid in service_ids:
        for dest in alerts.operator_channels(session, sid):
            seen.setdefault((dest.channel, dest.target), Recipient(dest.channel, dest.target, "id"))
    rows = session.execute(
        select(Ticket.reporter_id, Ticket.reporter_channel, Ticket.reporter_chat_id)
        .where(col(Ticket.service_id).in_(service_ids))
        .distinct()
    ).all()
    person_ids = {pid for pid, _, _ in rows if pid is not None}
    langs = (
        {
            p.id: p.lang or "id"
            for p in session.exec(select(Person).where(col(Person.id).in_(person_ids)))
        }
        if person_ids
        else {}
    )
    for pid, channel, chat_id in rows:
        if channel and chat_id:
            seen.setdefault((channel, chat_id), Recipient(channel, chat_id, langs.get(pid, "id")))
    if person_ids:
        for ident in session.exec(
            select(Identity)
            .where(col(Identity.person_id).in_(person_ids))
            .order_by(col(Identity.id))
        ):
            seen.setdefault(
                (ident.channel, ident.external_id),
                Recipient(ident.channel, ident.external_id, langs.get(ident.person_id, "id")),
            )
    return list(seen.values())


def describe(session: Session, window: MaintenanceWindow, lang: str, tz: str) -> dict[str, str]:
    names = ", ".join(s.name for s in services_of(session, window.id or 0))
    return {
        "id": str(window.id),
        "services": names,
        "start": fmt_dt(window.starts_at, lang, tz),
        "end": fmt_dt(window.ends_at, lang, tz),
        "impact": window.impact or "-",
    }


def _announce(
    session: Session, window: MaintenanceWindow, stage: str, now: datetime, tz: str
) -> int:
    service_ids = [s.id for s in services_of(session, window.id or 0)]
    # subscribers first: a chat that is also a recipient below gets the one notice with
    # its "Berhenti" button (the same dedupe key)
    sent = _tell_subscribers(
        session, window, service_ids, stage, f"maintenance.announce.{stage}", now, tz
    )
    for r in recipients(session, service_ids):
        text = t(f"maintenance.announce.{stage}", r.lang, **describe(session, window, r.lang, tz))
        sent += notices.enqueue(
            session,
            channel=r.channel,
            target=r.target,
            kind="maintenance",
            payload={"text": text},
            dedupe_key=f"maint:{window.id}:{stage}:{r.channel}:{r.target}",
            now=now,
        )
    return sent


def _tell_subscribers(
    session: Session,
    window: MaintenanceWindow,
    service_ids: list[str],
    stage: str,
    text_key: str,
    now: datetime,
    tz: str,
) -> int:
    names = ", ".join(s.name for s in services_of(session, window.id or 0))
    params = {
        "id": str(window.id),
        "services": names,
        "start": window.starts_at,
        "end": window.ends_at,
        "impact": window.impact or "-",
    }
    return sum(
        subscriptions.announce(
            session,
            service_id=sid,
            topic="maintenance",
            dedupe_key=f"maint:{window.id}:{stage}",
            text_key=text_key,
            params=params,
            now=now,
            tz=tz,
        )
        for sid in service_ids
    )


def due_stage(window: MaintenanceWindow, now: datetime) -> str:
    if now >= window.ends_at:
        return "end"
    stage = ""
    for name, lead in LEADS.items():
        if now >= window.starts_at - lead:
            stage = name
    return stage


def maintenance_tick(engine: Engine, now: datetime, tz: str = "Asia/Jakarta") -> int:
    """Send the announcements that are due and finish windows that ended; returns how
    many notices were queued. Safe to run on several replicas (dedupe keys)."""
    queued = 0
    with session_scope(engine) as s:
        windows = s.exec(
            select(MaintenanceWindow)
            .where(
                col(MaintenanceWindow.cancelled_at).is_(None),
                col(MaintenanceWindow.announced) != "end",
            )
            .where(col(MaintenanceWindow.starts_at) <= now + LEADS["24h"])
            .order_by(col(MaintenanceWindow.starts_at))
        )
        for window in list(windows):
            stage = due_stage(window, now)
            if STAGES.index(stage) <= STAGES.index(window.announced):
                continue
            queued += _announce(s, window, stage, now, tz)
            window.announced = stage
            s.add(window)
            if stage == "end":
                _finish(s, window, tz)
    return queued


def _finish(session: Session, window: MaintenanceWindow, tz: str) -> None:
    """Roll the window into the daily figures; a service still down when it ends was not
    brought back by the maintenance: its planned outage becomes an unplanned one."""
    end = window.ends_at
    for service in services_of(session, window.id or 0):
        if not window.rolled_up:
            add_interval(session, service.id, window.starts_at, end, "maintenance_s", tz)
        st = session.get(ServiceState, service.id)
        outage = outages.open_outage_of(session, service.id)
        if st is None or st.state != "down" or outage is None or not outage.planned:
            continue
        if outages.in_maintenance(session, [service.id], end):
            continue  # the next window carries on
        source, cause, keys = outage.source, outage.cause, list(outage.external_keys)
        outages.close_outage(session, st, end, tz=tz, recovered=False)
        new = outages.open_outage(session, st, end, source=source, cause=cause, planned=False)
        new.external_keys = keys
        session.add(new)
    window.rolled_up = True
    session.add(window)
